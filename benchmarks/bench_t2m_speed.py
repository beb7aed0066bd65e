"""Text-to-motion speed on this machine: milliseconds per 4-second clip (model time and with text
encoding), seconds of motion per wall-clock second, and peak memory, for DDIM 50 steps and
DPM-Solver 10/20 steps, with classifier-free guidance (two model passes per step, batched), and
DDIM 50 for prompts naming no side whose retrieved captions name one (side guidance: three passes).

    .venv/bin/python benchmarks/bench_t2m_speed.py [--checkpoint checkpoints/t2m] [--threads 2] [--repeats 5]

Prints a Markdown table and writes it, with the machine's load average, to --json if given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import torch

from motiongen.pipelines.text2motion import TextToMotionPipeline, default_checkpoint

PROMPTS = [
    "a person walks forward",
    "a person jumps forward with both feet",
    "someone does a backflip",
    "a person walks forward, then jumps",
    "a person kicks with the left leg",
]
# Prompts that name no side, are no training caption, and retrieve captions that name one: side
# guidance adds a third model pass (TextConditioner.sides_to_commit).
SIDELESS_PROMPTS = [
    "a person throws a punch",
    "a person cartwheels",
    "a person kicks high",
    "a person turns around and jumps",
    "a person strikes with the fist",
]
CASES = [("ddim", 50, PROMPTS), ("dpm", 20, PROMPTS), ("dpm", 10, PROMPTS), ("ddim", 50, SIDELESS_PROMPTS)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="clips per case (different prompts and seeds)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rss_before = peak_rss_mb()
    start = time.perf_counter()
    pipe = TextToMotionPipeline.from_pretrained(args.checkpoint)
    pipe(["warm up"], seconds=1.0, num_inference_steps=2, progress=False)  # loads the text encoder
    load_s = time.perf_counter() - start
    params = sum(p.numel() for p in pipe.denoiser.parameters())

    rows = []
    for sampler, steps, prompts in CASES:
        model_ms, total_ms = [], []
        for i in range(args.repeats):
            prompt = prompts[i % len(prompts)] + ("" if i < len(prompts) else f" (take {i})")
            t0 = time.perf_counter()
            pipe([prompt], seconds=args.seconds, num_inference_steps=steps, seed=i, sampler=sampler, progress=False)
            total_ms.append((time.perf_counter() - t0) * 1000)
            model_ms.append(pipe.last_timing["model_s"] * 1000)
        rows.append(
            {
                "sampler": sampler,
                "steps": steps,
                "prompts": "naming no side" if prompts is SIDELESS_PROMPTS else "mixed",
                "model_ms": statistics.median(model_ms),
                "total_ms": statistics.median(total_ms),
                "motion_s_per_s": args.seconds / (statistics.median(total_ms) / 1000),
            }
        )

    result = {
        "checkpoint": str(args.checkpoint),
        "parameters": params,
        "threads": args.threads,
        "clip_seconds": args.seconds,
        "repeats": args.repeats,
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_before_load_mb": round(rss_before, 1),
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    print(f"checkpoint {args.checkpoint} ({params / 1e6:.2f} M parameters), {args.threads} threads, "
          f"load average {result['load_average'][0]:.2f}")  # fmt: skip
    print(f"pipeline + text encoder load: {load_s:.2f} s; peak memory (RSS) {result['peak_rss_mb']:.0f} MB")
    print()
    print(
        f"| sampler | steps | prompts | model ms / {args.seconds:g}-s clip | with text encoding ms | motion s per wall s |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['sampler']} | {r['steps']} | {r['prompts']} | {r['model_ms']:.0f} | {r['total_ms']:.0f} | "
            f"{r['motion_s_per_s']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
