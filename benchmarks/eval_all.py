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
        "--threads", str(args.threads), "--json", str(out), "--force",
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


def corpus_name() -> str:
    """The corpus the shipped evaluator was trained on: its real clips are the reference."""
    from motiongen.metrics.t2m_benchmark import evaluator_corpus
    from motiongen.paths import CHECKPOINT_DIR

    return evaluator_corpus(CHECKPOINT_DIR / "evaluator")


def corpus_physics() -> str:
    """Physical metrics of the whole real clips of each corpus split (frame-weighted means)."""
    from motiongen.data.corpus import load_corpus
    from motiongen.metrics.physics import average_physics, motion_physics
    from motiongen.metrics.report import PHYSICS_COLUMNS, markdown_table, physics_row

    rows = []
    for split in ("train", "test"):
        clips = load_corpus(split, corpus=corpus_name())
        mean = average_physics([motion_physics(c.motion) for c in clips], [len(c.motion) for c in clips])
        rows.append([f"corpus {split} clips ({len(clips)}, whole)", *physics_row(mean)])
    return markdown_table(["real data", *(name for name, _ in PHYSICS_COLUMNS.values())], rows)


def baseline_results(args) -> list[tuple[str, dict]]:
    """The same protocol for two reference generators (in this process, no checkpoint needed)."""
    import torch

    from motiongen.data.corpus import load_corpus
    from motiongen.metrics.baselines import retrieval_baseline, still_baseline
    from motiongen.metrics.text_to_motion import evaluate_text_to_motion
    from motiongen.models.evaluator import load_evaluator
    from motiongen.paths import CHECKPOINT_DIR

    torch.set_num_threads(max(1, args.threads))
    evaluator = load_evaluator(CHECKPOINT_DIR / "evaluator")
    corpus = corpus_name()
    clips = load_corpus(None if args.split == "all" else args.split, corpus=corpus)
    retrieval = retrieval_baseline(load_corpus("train", corpus=corpus), evaluator.sentence_embeddings)
    out = []
    for label, generate in (
        ("baseline: nearest train clip by caption", retrieval),
        ("baseline: standing still", still_baseline()),
    ):
        print(f"== {label}", flush=True)
        result = evaluate_text_to_motion(
            evaluator, clips, generate, samples=args.samples, repeats=args.repeats, mm_prompts=args.mm_prompts,
            mm_samples=args.mm_samples, progress=not args.quiet,
        )  # fmt: skip
        out.append((label, result))
    return out


def run_label(result: dict) -> str:
    from motiongen.metrics.report import guidance_label

    s = result["settings"]
    path = Path(s["checkpoint"])
    name = path.name if path.parent.name == "checkpoints" else f"{path.parent.name}/{path.name}"
    return f"{name}, {s['sampler']} {s['steps']} steps{guidance_label(s)}"


def results_section(results: list[dict], baselines: list[tuple[str, dict]], args) -> str:
    from motiongen.metrics.report import GENERATION_COLUMNS, PHYSICS_COLUMNS, markdown_table, row

    reference = "Physical metrics of the real corpus clips (frame-weighted means):\n\n" + corpus_physics()
    rows = [(run_label(r), r) for r in results] + baselines
    first = rows[0][1]
    split = args.split
    gen_rows = [[f"real {split} data", *row(first["real"], GENERATION_COLUMNS)]]
    phys_rows = [[f"real {split} data", *row(first["real"], PHYSICS_COLUMNS)]]
    for label, r in rows:
        gen_rows.append([label, *row(r["model"], GENERATION_COLUMNS)])
        phys_rows.append([label, *row(r["model"], PHYSICS_COLUMNS)])
    chance = ", ".join(f"{c:.3f}" for c in first["chance"])
    ceiling = ", ".join(f"{c:.3f}" for c in first["ceiling"])
    parts = []
    if not results:
        parts += ["No text-to-motion checkpoint was found under checkpoints/ when this was generated.", ""]
    parts += [
        f"Split: **{split}** ({', '.join(first['clips'])}); {first['repeats']} runs x {first['items']} items of "
        f"{first['frames']} frames ({first['frames'] / 20:g} s) per run; mean ± 95% interval (1.96 std / sqrt(runs)). "
        f"MultiModality: {args.mm_samples} samples for each of {args.mm_prompts} prompts per run. R@1/2/3 chance: "
        f"{chance}; on the real windows a perfect evaluator reaches {ceiling} (windows of the same clip cannot be "
        "told apart). Generated rows can exceed that: different captions of one clip may give different motions. "
        "The baselines are not models: *nearest train clip* returns a window of the training clip whose caption "
        "is closest to the prompt (what pure memorisation of the training set scores; the evaluator was trained "
        "on those very clip-caption pairs, so it rates them highly); *standing still* is the rest pose.",
        "",
        "Generation metrics (motiongen evaluator):",
        "",
        markdown_table(["", *(name for name, _ in GENERATION_COLUMNS.values())], gen_rows),
        "",
        "Physical metrics (mean over clips):",
        "",
        markdown_table(["", *(name for name, _ in PHYSICS_COLUMNS.values())], phys_rows),
        "",
        reference,
    ]
    if results:
        speed_rows = [
            [run_label(r), f"{sp['ms_per_clip']:.0f}", f"{sp['motion_seconds_per_second']:.1f}",
             f"{sp['batched_ms_per_clip']:.0f}", f"{sp['peak_memory_mb']:.0f}"]
            for r in results
            for sp in [r["speed"]]
        ]  # fmt: skip
        parts += [
            "",
            f"Speed on this machine's CPU (2 cores, shared with other work; {results[0]['speed']['torch_threads']} "
            "torch thread(s)): one 4-s clip per call (median of 3 after a warm-up), the same in the evaluation's "
            "batches, and the peak resident memory of a process that loaded the pipeline and generated a clip. "
            "On this shared machine one thread is much faster than two: with two, each thread waits for a core "
            "that other work holds (DDIM 50 steps, one clip: 0.5-1.1 s with one thread, 8-50 s with two, "
            "measured side by side).",
            "",
            markdown_table(
                ["model / sampler", "ms per 4-s clip", "s of motion per s", "ms per clip (batched)", "peak memory MB"],
                speed_rows,
            ),
        ]
    parts += [
        "",
        f"Reproduce: `.venv/bin/python benchmarks/eval_all.py --repeats {args.repeats} --samples {args.samples} "
        f"--mm-prompts {args.mm_prompts} --mm-samples {args.mm_samples} --split {split} --threads {args.threads}` "
        "(JSON per run in runs/benchmarks/).",
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
    parser.add_argument("--mm-prompts", type=int, default=4)
    parser.add_argument("--mm-samples", type=int, default=8)
    parser.add_argument("--split", default="test", choices=("test", "train", "all"))
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        help="another folder of checkpoints to run beside them (e.g. an earlier release's)",
    )
    parser.add_argument("--compare-json", type=Path, action="append", default=[],
                        help="a result `motiongen eval t2m --json` wrote earlier, shown beside them")  # fmt: skip
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (1: see the docs)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="take runs already in runs/benchmarks/ instead of rerunning"
    )
    args = parser.parse_args()

    out_dir = ROOT / "runs" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    found = text_to_motion_checkpoints(args.checkpoints)
    if not found:
        print(f"no text-to-motion checkpoint under {args.checkpoints}; nothing to run")
    for folder in args.compare:
        found += text_to_motion_checkpoints(folder)
    for checkpoint, runs in found:
        for sampler, steps in runs:
            out = out_dir / f"{checkpoint.parent.name}_{checkpoint.name}_{sampler}{steps}_{args.split}.json"
            if args.reuse and out.exists():  # measured earlier in this folder: take it as it is
                results.append(json.loads(out.read_text()))
                continue
            result = run_one(checkpoint, sampler, steps, args, out)
            if result is not None:
                results.append(result)
    results += [json.loads(path.read_text()) for path in args.compare_json]
    write_section(args.doc, results_section(results, baseline_results(args), args))
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
