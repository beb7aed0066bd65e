"""Benchmark every shipped text-to-motion model and sampler; write the tables into docs/benchmarks.md.

    .venv/bin/python benchmarks/eval_all.py [--repeats 3] [--samples 64] [--split test] [--quiet]

For each folder under checkpoints/ holding a `TextToMotionPipeline` (model_index.json), runs
`motiongen eval t2m` once per sampler setting that applies to it (diffusion models: DDIM 50 and
DPM-Solver 20 steps; rectified-flow students: Euler 4 and 1 steps), each in its own process so that
peak memory is per run. Missing checkpoints are skipped. The results (JSON per run, under
runs/benchmarks/) are written into the marked text-to-motion section of docs/benchmarks.md; other
sections of that file are left as they are.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIFFUSION_RUNS = (("ddim", 50), ("dpm", 20))
FLOW_RUNS = (("flow", 4), ("flow", 1))
BEGIN = "<!-- eval_all.py: text-to-motion results (generated; edit benchmarks/eval_all.py instead) -->"
END = "<!-- end of eval_all.py results -->"


def text_to_motion_checkpoints(folder: Path) -> list[tuple[Path, tuple]]:
    """(checkpoint folder, sampler runs) for every text-to-motion pipeline under `folder`."""
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.exists() else []:
        index = path / "model_index.json"
        if not index.exists() or json.loads(index.read_text()).get("_class_name") != "TextToMotionPipeline":
            continue
        scheduler = path / "scheduler" / "scheduler_config.json"
        kind = json.loads(scheduler.read_text()).get("_class_name", "") if scheduler.exists() else ""
        found.append((path, FLOW_RUNS if "FlowMatch" in kind else DIFFUSION_RUNS))
    return found


def run_one(checkpoint: Path, sampler: str, steps: int, args, out: Path) -> dict | None:
    command = [
        sys.executable, "-m", "motiongen.cli.app", "eval", "t2m", "--checkpoint", str(checkpoint),
        "--sampler", sampler, "--steps", str(steps), "--repeats", str(args.repeats), "--samples", str(args.samples),
        "--mm-prompts", str(args.mm_prompts), "--mm-samples", str(args.mm_samples), "--split", args.split,
        "--json", str(out), "--force",
    ]  # fmt: skip
    if args.quiet:
        command.append("--quiet")
    print(f"== {checkpoint.name}: {sampler} {steps} steps", flush=True)
    start = time.time()
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        print(f"   failed (exit {result.returncode}); skipped", flush=True)
        return None
    print(f"   done in {time.time() - start:.0f} s", flush=True)
    return json.loads(out.read_text())


def corpus_physics() -> str:
    """Physical metrics of the whole real clips of each corpus split (frame-weighted means)."""
    from motiongen.data.corpus import load_corpus
    from motiongen.metrics.physics import average_physics, motion_physics
    from motiongen.metrics.report import PHYSICS_COLUMNS, markdown_table, physics_row

    rows = []
    for split in ("train", "test"):
        clips = load_corpus(split)
        mean = average_physics([motion_physics(c.motion) for c in clips], [len(c.motion) for c in clips])
        rows.append([f"corpus {split} clips ({len(clips)}, whole)", *physics_row(mean)])
    return markdown_table(["real data", *(name for name, _ in PHYSICS_COLUMNS.values())], rows)


def results_section(results: list[dict], args) -> str:
    from motiongen.metrics.report import GENERATION_COLUMNS, PHYSICS_COLUMNS, markdown_table, row

    reference = "Physical metrics of the real corpus clips (frame-weighted means):\n\n" + corpus_physics()
    if not results:
        return (
            "No text-to-motion checkpoint was found under checkpoints/ when `benchmarks/eval_all.py` last ran; "
            "run it again once one is trained.\n\n" + reference
        )
    first = results[0]
    header_gen = ["", *(name for name, _ in GENERATION_COLUMNS.values())]
    header_phys = ["", *(name for name, _ in PHYSICS_COLUMNS.values())]
    gen_rows = [["real test data", *row(first["real"], GENERATION_COLUMNS)]]
    phys_rows = [["real test data", *row(first["real"], PHYSICS_COLUMNS)]]
    speed_rows = []
    for r in results:
        s, sp = r["settings"], r["speed"]
        label = f"{Path(s['checkpoint']).name}, {s['sampler']} {s['steps']} steps" + (
            f", guidance {s['guidance']:g}" if s["sampler"] != "flow" else ""
        )
        gen_rows.append([label, *row(r["model"], GENERATION_COLUMNS)])
        phys_rows.append([label, *row(r["model"], PHYSICS_COLUMNS)])
        speed_rows.append(
            [
                label,
                f"{sp['ms_per_clip']:.0f}",
                f"{sp['motion_seconds_per_second']:.1f}",
                f"{sp['batched_ms_per_clip']:.0f}",
                f"{sp['peak_memory_mb']:.0f}",
            ]
        )
    chance = ", ".join(f"{c:.3f}" for c in first["chance"])
    ceiling = ", ".join(f"{c:.3f}" for c in first["ceiling"])
    parts = [
        f"Split: **{first['settings']['split']}** ({', '.join(first['clips'])}); {first['repeats']} runs x "
        f"{first['items']} items of {first['frames']} frames ({first['frames'] / 20:g} s) per run; mean ± 95% interval "
        f"(1.96 std / sqrt(runs)). MultiModality: {first['settings']['mm_samples']} samples for each of "
        f"{first['settings']['mm_prompts']} prompts per run. R@1/2/3 chance: {chance}; a perfect evaluator "
        f"reaches {ceiling} on these pools (windows of the same clip cannot be told apart).",
        "",
        "Generation metrics (motiongen evaluator):",
        "",
        markdown_table(header_gen, gen_rows),
        "",
        "Physical metrics (mean over clips):",
        "",
        markdown_table(header_phys, phys_rows),
        "",
        reference,
        "",
        "Speed on this machine's CPU (2 cores, shared; torch threads "
        f"{first['speed']['torch_threads']}): one {first['settings']['seconds']:g}-s clip per call (median of 3 after "
        "a warm-up), the same in batches of the evaluation, and the peak resident memory of a process that "
        "loaded the pipeline and generated a clip.",
        "",
        markdown_table(
            ["model / sampler", "ms per 4-s clip", "s of motion per s", "ms per clip (batched)", "peak memory MB"],
            speed_rows,
        ),
        "",
        f"Reproduce: `.venv/bin/python benchmarks/eval_all.py --repeats {args.repeats} --samples {args.samples} "
        f"--split {args.split}` (JSON per run in runs/benchmarks/).",
    ]
    return "\n".join(parts)


def write_section(doc: Path, body: str) -> None:
    """Replace the generated block in `doc` (or append it under its own heading)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Text-to-motion: results\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--mm-prompts", type=int, default=8)
    parser.add_argument("--mm-samples", type=int, default=8)
    parser.add_argument("--split", default="test", choices=("test", "train", "all"))
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    out_dir = ROOT / "runs" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    found = text_to_motion_checkpoints(args.checkpoints)
    if not found:
        print(f"no text-to-motion checkpoint under {args.checkpoints}; nothing to run")
    for checkpoint, runs in found:
        for sampler, steps in runs:
            out = out_dir / f"{checkpoint.name}_{sampler}{steps}_{args.split}.json"
            result = run_one(checkpoint, sampler, steps, args, out)
            if result is not None:
                results.append(result)
    write_section(args.doc, results_section(results, args))
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
