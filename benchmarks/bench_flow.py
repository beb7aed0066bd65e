"""Rectified-flow student vs its diffusion teacher, in one run: speed and quality.

    .venv/bin/python benchmarks/bench_flow.py [--teacher checkpoints/t2m] [--student checkpoints/t2m-flow]
        [--repeats 3] [--samples 64] [--threads 1] [--no-doc] [--quiet]

Rows: the teacher with DDIM 50 steps and its default guidance (two model calls per step; three for a
prompt that side guidance applies to, not the speed prompt "a person walks forward"),
and the student with 1, 2 and 4 Euler steps (one call per step, guidance baked in).

- Speed: wall time of one 4-s clip (a single prompt) through `TextToMotionPipeline.__call__`,
  end to end (text encoding, not cached, + sampling + decoding to a Motion) and sampling only; the median over rounds in
  which all rows take turns, so that load from other processes on the machine hits every row
  alike. Speed-up = teacher time / student time from the same rounds.
- Quality: the text-to-motion protocol of `motiongen.metrics.text_to_motion` (FID, R-precision,
  MM-Dist, Diversity, MultiModality with the shipped evaluator, physical metrics), with a real-data
  row, on the corpus test split.

Writes the tables into docs/benchmarks.md under "Rectified-flow student" (between markers, so a
rerun replaces only that block) and the raw results to runs/benchmarks/flow.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BEGIN = "<!-- bench_flow.py: rectified-flow results (generated; edit benchmarks/bench_flow.py instead) -->"
END = "<!-- end of bench_flow.py results -->"
HEADING = "## Rectified-flow student"
GOAL_MS_ONE_STEP = 30.0
GOAL_SPEEDUP_FOUR_STEPS = 10.0
GOAL_QUALITY = 0.15  # FID and R-precision within 15% of the teacher at 4 steps


def rows(teacher_steps: int, guidance: float, students: list[str], steps: list[int]) -> list[dict]:
    """The teacher row, then one row per student and number of Euler steps."""
    from motiongen.sampling.guidance import DEFAULT_SIDE, PROJECTED_BY_DEFAULT

    mode = ("projected" if PROJECTED_BY_DEFAULT else "plain") + (f", side {DEFAULT_SIDE:g}" if DEFAULT_SIDE else "")
    teacher = {"name": f"teacher, DDIM {teacher_steps} steps, guidance {guidance:g} {mode}", "model": "teacher"}
    teacher.update(sampler="ddim", steps=teacher_steps, guidance=guidance)
    out = [teacher]
    for student in students:
        prefix = "student" if len(students) == 1 else f"student {student}"
        for n in steps:
            name = f"{prefix}, Euler {n} step{'s' if n > 1 else ''}"
            out.append({"name": name, "model": student, "sampler": "flow", "steps": n})
    return out


def call(pipe, row: dict, prompts: list[str], seed: int, seconds: float = 4.0):
    return pipe(
        prompts, seconds=seconds, num_inference_steps=row["steps"], guidance_scale=row.get("guidance", 1.0),
        seed=seed, sampler=row["sampler"], progress=False,
    )  # fmt: skip


def measure_speed(pipes: dict, table: list[dict], prompt: str, rounds: int) -> None:
    """Median ms per 4-s clip, end to end and sampling only, rows interleaved round by round."""
    for row in table:  # warm-up
        call(pipes[row["model"]], row, [prompt], 0)
    totals = {row["name"]: [] for row in table}
    models = {row["name"]: [] for row in table}
    for r in range(rounds):
        for row in table:
            pipe = pipes[row["model"]]
            # Every call pays for encoding its prompt; the caption bank (retrieval) stays encoded,
            # as it does in a process after its first prompt.
            pipe.text_conditioner.cache.memory.pop(prompt, None)
            start = time.perf_counter()
            call(pipe, row, [prompt], r + 1)
            totals[row["name"]].append(1000 * (time.perf_counter() - start))
            models[row["name"]].append(1000 * pipe.last_timing["model_s"])
    teacher = table[0]["name"]
    for row in table:
        ratios = [t / s for t, s in zip(totals[teacher], totals[row["name"]], strict=True)]
        row["ms_per_clip"] = statistics.median(totals[row["name"]])
        row["ms_sampling"] = statistics.median(models[row["name"]])
        row["speedup"] = statistics.median(ratios)


def measure_quality(pipes, table, evaluator, clips, args) -> dict:
    from motiongen.metrics.text_to_motion import evaluate_text_to_motion

    real = None
    for row in table:
        pipe = pipes[row["model"]]

        def generate(prompts, seed, pipe=pipe, row=row):
            return [
                m
                for start in range(0, len(prompts), 64)
                for m in call(pipe, row, prompts[start : start + 64], seed + start)
            ]

        start = time.perf_counter()
        result = evaluate_text_to_motion(
            evaluator, clips, generate, samples=args.samples, repeats=args.repeats, mm_prompts=args.mm_prompts,
            mm_samples=args.mm_samples, frames=80, seed=args.seed, progress=not args.quiet,
        )  # fmt: skip
        row["metrics"] = result["model"]
        row["eval_seconds"] = time.perf_counter() - start
        real = result
        print(f"   {row['name']}: evaluated in {row['eval_seconds']:.0f} s", flush=True)
    return real


def relative_change(value: float, reference: float) -> float:
    if reference == 0:
        return 0.0 if value == 0 else float("inf") * (1 if value > 0 else -1)
    return value / reference - 1


def verdicts(table: list[dict]) -> dict:
    """The goals, for the first student."""
    teacher = table[0]
    one = next((r for r in table[1:] if r["steps"] == 1), None)
    four = next((r for r in table[1:] if r["steps"] == 4), None)
    if one is None or four is None:
        return {}
    out = {
        "one_step_ms": (one["ms_per_clip"], one["ms_per_clip"] <= GOAL_MS_ONE_STEP),
        "four_step_speedup": (four["speedup"], four["speedup"] >= GOAL_SPEEDUP_FOUR_STEPS),
    }
    if "metrics" in four:
        t, s = teacher["metrics"], four["metrics"]
        fid = relative_change(s["fid"]["mean"], t["fid"]["mean"])
        out["fid_change"] = (fid, fid <= GOAL_QUALITY)
        for k in ("top1", "top2", "top3"):
            change = relative_change(s[k]["mean"], t[k]["mean"])
            out[f"{k}_change"] = (change, change >= -GOAL_QUALITY)
    return out


def markdown(table, real, verdict, args, info) -> str:
    from motiongen.metrics.report import GENERATION_COLUMNS, PHYSICS_COLUMNS, markdown_table, row

    speed = markdown_table(
        ["sampler", "model calls", "ms per 4-s clip (end to end)", "ms sampling only", "speed-up vs teacher"],
        [
            [
                r["name"],
                str(r["steps"] * (2 if r["model"] == "teacher" else 1)),
                f"{r['ms_per_clip']:.1f}",
                f"{r['ms_sampling']:.1f}",
                f"{r['speedup']:.1f}x",
            ]
            for r in table
        ],
    )
    lines = [
        f"Measured {info['date']} on this machine's CPU ({info['cpu']}, 2 cores shared with other jobs; "
        f"torch threads {info['threads']}, load average {info['load']:.1f} at the start). Teacher "
        f"`{info['teacher']}`, student `{info['student']}`.",
        "",
        f"Speed: one 4-s clip (80 frames) per call, median of {args.rounds} rounds in which the rows take turns "
        "(the speed-up is the median of the per-round ratios). End to end includes encoding the prompt, which is "
        "new to every call; the caption bank that retrieval draws from is encoded once per process.",
        "",
        speed,
    ]
    if real is not None:
        label = lambda r: r["name"]  # noqa: E731
        lines += [
            "",
            f"Quality: corpus test split, {args.repeats} runs x {args.samples} items of 4 s, mean ± 95% interval; "
            f"MultiModality from {args.mm_samples} samples of {args.mm_prompts} prompts per run. Chance R@1/2/3: "
            + ", ".join(f"{c:.3f}" for c in real["chance"])
            + "; a perfect evaluator reaches "
            + ", ".join(f"{c:.3f}" for c in real["ceiling"])
            + " on these pools.",
            "",
            markdown_table(
                ["", *(n for n, _ in GENERATION_COLUMNS.values())],
                [["real test data", *row(real["real"], GENERATION_COLUMNS)]]
                + [[label(r), *row(r["metrics"], GENERATION_COLUMNS)] for r in table],
            ),
            "",
            markdown_table(
                ["", *(n for n, _ in PHYSICS_COLUMNS.values())],
                [["real test data", *row(real["real"], PHYSICS_COLUMNS)]]
                + [[label(r), *row(r["metrics"], PHYSICS_COLUMNS)] for r in table],
            ),
        ]
    goal = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    if verdict:
        ms, ok = verdict["one_step_ms"]
        lines += ["", "Goals:", "", f"- 1 step ≤ {GOAL_MS_ONE_STEP:g} ms per 4-s clip: {ms:.1f} ms, {goal(ok)}."]
        ratio, ok = verdict["four_step_speedup"]
        lines.append(f"- ≥ {GOAL_SPEEDUP_FOUR_STEPS:g}x faster than the teacher at 4 steps: {ratio:.1f}x, {goal(ok)}.")
    if "fid_change" in verdict:
        fid, ok_fid = verdict["fid_change"]
        rp = [verdict[f"top{k}_change"] for k in (1, 2, 3)]
        lines.append(
            f"- FID and R-precision within {GOAL_QUALITY:.0%} of the teacher at 4 steps: FID {fid:+.0%} "
            f"({goal(ok_fid)}); R@1/2/3 " + ", ".join(f"{c:+.0%}" for c, _ in rp) + f" ({goal(all(o for _, o in rp))})."
        )
    lines += ["", f"Reproduce: `{info['command']}` (raw numbers in runs/benchmarks/flow.json)."]
    return "\n".join(lines)


def write_section(doc: Path, body: str) -> None:
    """Replace this benchmark's block in `doc`, or append it under its own heading."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + f"\n\n{HEADING}\n\nSee docs/flow.md for how the student is made.\n\n{block}\n"
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, default=ROOT / "checkpoints" / "t2m")
    parser.add_argument(
        "--student", type=Path, action="append", help="flow student (repeatable; default checkpoints/t2m-flow)"
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4], help="Euler steps of the student rows")
    parser.add_argument("--evaluator", type=Path, default=ROOT / "checkpoints" / "evaluator")
    parser.add_argument("--teacher-steps", type=int, default=50)
    parser.add_argument("--guidance", type=float, default=None, help="teacher guidance (default: the pipeline's)")
    parser.add_argument("--rounds", type=int, default=15, help="speed rounds (all rows per round)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--mm-prompts", type=int, default=8)
    parser.add_argument("--mm-samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--speed-only", action="store_true", help="skip the evaluator metrics")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    args.student = args.student or [ROOT / "checkpoints" / "t2m-flow"]

    import os

    import torch

    from motiongen.pipelines.text2motion import TextToMotionPipeline
    from motiongen.sampling.guidance import DEFAULT_SCALE

    if args.guidance is None:
        args.guidance = DEFAULT_SCALE

    torch.set_num_threads(args.threads)
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "load": os.getloadavg()[0],
        "teacher": os.path.relpath(args.teacher, ROOT),
        "student": ", ".join(os.path.relpath(s, ROOT) for s in args.student),
        "command": ".venv/bin/python benchmarks/bench_flow.py " + " ".join(sys.argv[1:]),
    }
    pipes = {"teacher": TextToMotionPipeline.from_pretrained(args.teacher)}
    for student in args.student:
        pipes[str(student)] = TextToMotionPipeline.from_pretrained(student)
    for pipe in pipes.values():
        pipe.set_progress_bar_config(disable=True)
    table = rows(args.teacher_steps, args.guidance, [str(s) for s in args.student], args.steps)

    from motiongen.data.corpus import load_corpus

    clips = load_corpus("test")
    print("== speed", flush=True)
    measure_speed(pipes, table, clips[0].captions[0], args.rounds)
    for r in table:
        print(
            f"   {r['name']}: {r['ms_per_clip']:.1f} ms/clip, sampling {r['ms_sampling']:.1f} ms, {r['speedup']:.1f}x"
        )
    real = None
    if not args.speed_only:
        from motiongen.models.evaluator import load_evaluator

        print("== quality", flush=True)
        real = measure_quality(pipes, table, load_evaluator(args.evaluator), clips, args)
    verdict = verdicts(table)
    body = markdown(table, real, verdict, args, info)
    print(body)
    out = ROOT / "runs" / "benchmarks" / "flow.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"info": info, "rows": table, "real": real, "verdict": verdict}, indent=1) + "\n")
    if not args.no_doc:
        write_section(args.doc, body)
        print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
