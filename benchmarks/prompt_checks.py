"""Does each prompt give the motion it asks for? Measured, per prompt, over several seeds.

For every corpus action, a few paraphrases that never occur in the captions, left/right prompts
and a two-part prompt, the generated motion is measured with `motiongen.metrics.descriptors`
(speed, foot lift, time upside down, turning, which foot or hand does more, hands overhead, how
busy the arms are) and checked against a threshold chosen from the real clips of that action
(shown beside it). A film strip of the first seed of every prompt is written for looking at.

    .venv/bin/python benchmarks/prompt_checks.py [--checkpoint checkpoints/t2m] [--seeds 5]
        [--sampler ddim --steps 50] [--strips docs/img/prompts] [--json runs/prompt_checks.json]
        [--extra | --v2]

Prints a Markdown table (prompt, measure, threshold, median over seeds, seeds passing, real clips).
Prompts in parts ("..., then ...") are made part by part, the pipeline's default; `--whole` makes
them in one pass.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from tqdm import tqdm

from motiongen.data.corpus import load_corpus
from motiongen.metrics.descriptors import DESCRIPTORS, UNITS
from motiongen.motion.motion import Motion
from motiongen.pipelines.text2motion import TextToMotionPipeline, default_checkpoint
from motiongen.sampling.guidance import DEFAULT_SCALE, DEFAULT_SIDE


def first_half(motion: Motion) -> Motion:
    return motion.slice(0, len(motion) // 2)


def second_half(motion: Motion) -> Motion:
    return motion.slice(len(motion) // 2)


# (prompt, seconds, measure, part of the clip, test (">", "<" or "in" a range), threshold,
#  corpus action for reference)
CHECKS = [
    ("a person walks forward", 4, "speed", None, ">", 0.5, "walk"),
    ("a person runs forward", 4, "speed", None, ">", 1.8, "run"),
    ("a person sprints", 4, "speed", None, ">", 1.8, "run"),  # paraphrase
    ("a person jumps", 4, "foot_lift", None, ">", 0.12, "jump"),
    ("a person hops up and down", 4, "foot_lift", None, ">", 0.12, "jump"),  # paraphrase
    ("a person does a backflip", 4, "inverted", None, ">", 0.1, "backflip"),
    ("a person does a backward somersault", 4, "inverted", None, ">", 0.1, "backflip"),  # paraphrase
    ("a person does a cartwheel", 4, "inverted", None, ">", 0.1, "cartwheel"),
    ("a person crawls on hands and knees", 4, "head_height", None, "<", 0.9, "crawl"),
    ("a person gets up from the floor", 4, "rise", None, ">", 0.6, "get_up"),
    ("a person rolls on the ground", 4, "head_height", None, "<", 1.1, "roll"),
    ("a person spins around", 4, "turn", "abs", ">", 270, "spin"),
    # a turn, not a spin: more than 20 degrees, less than half a circle
    ("a person turns left", 4, "turn", None, "in", (20, 180), "turn_left"),
    ("a person turns right", 4, "turn", None, "in", (-180, -20), "turn_right"),
    ("a person kicks with the left leg", 4, "kick_side", None, ">", 0.2, "kick"),
    ("a person kicks with the right leg", 4, "kick_side", None, "<", -0.2, "kick"),
    ("a person punches with the left hand", 4, "punch_side", None, ">", 0.1, "punch"),
    ("a person punches with the right hand", 4, "punch_side", None, "<", -0.1, "punch"),
    ("a person throws a punch", 4, "punch_side", "abs", ">", 0.1, "punch"),  # paraphrase
    ("a person walks forward, then jumps", 6, "speed", "first", ">", 0.5, "walk"),
    ("a person walks forward, then jumps", 6, "foot_lift", "second", ">", 0.12, "jump"),
    ("a person runs forward, then does a cartwheel", 6, "speed", "first", ">", 1.8, "run"),
    ("a person runs forward, then does a cartwheel", 6, "inverted", "second", ">", 0.1, "cartwheel"),
]

# With --extra only: corpus actions the checks above leave out (kept apart, so the totals above
# stay comparable from checkpoint to checkpoint).
EXTRA_CHECKS = [
    ("a person turns around and jumps", 4, "turn", "abs", "in", (120, 270), "turn_and_jump"),
    ("a person turns around and jumps", 4, "foot_lift", None, ">", 0.12, "turn_and_jump"),
    ("a person does a spin kick", 4, "turn", "abs", ">", 270, "spin_kick"),
    ("a person does a spin kick", 4, "kick_side", "abs", ">", 0.2, "spin_kick"),
    ("a person dances", 4, "arm_speed", None, ">", 1.2, "dance"),
    ("a person dances", 4, "speed", None, "<", 0.8, "dance"),  # on the spot, not running
    ("a person hangs from a bar and swings", 4, "hands_overhead", None, ">", 1.0, "hang_swing"),  # paraphrase
    ("a person walks around in a half circle to the right", 4, "turn", None, "in", (-270, -90), "walk_turn"),
    ("a person walks around in a half circle to the right", 4, "pace", None, ">", 0.5, "walk_turn"),
]


# With --v2 only: the actions corpus v2 added (real CMU motion capture, data/mocap_segments.yaml).
# Thresholds sit below most of the real segments of the action (the "real clips" column) and above
# what walking or standing gives; they tell the actions apart, they do not judge style.
V2_CHECKS = [
    ("a person dances salsa", 4, "step_swing", None, ">", 0.1, "salsa"),
    ("a person dances salsa", 4, "speed", None, "<", 0.5, "salsa"),  # around one spot
    ("a person does an indian dance", 4, "arm_speed", None, ">", 0.6, "indian_dance"),
    ("a person does an indian dance", 4, "speed", None, "<", 0.6, "indian_dance"),
    ("a person does a karate form in a low stance", 4, "lowest_head", None, "<", 1.38, "karate"),
    ("a person kicks high with the right leg", 4, "kick_side", None, "<", -0.3, "kick"),
    ("a person kicks a soccer ball with the right foot", 4, "kick_side", None, "<", -0.1, "kick"),
    ("a person dribbles a basketball sideways", 4, "pace", None, ">", 0.6, "basketball_dribble"),
    ("a person runs and ducks under an obstacle", 4, "lowest_head", None, "<", 1.1, "duck"),
    ("a person runs and ducks under an obstacle", 4, "pace", None, ">", 0.8, "duck"),
    ("a person runs and dives into a forward roll", 4, "lowest_head", None, "<", 0.6, "dive_roll"),
    ("a person does a breakdance flip onto the hands", 4, "inverted", None, ">", 0.1, "breakdance"),
    ("a person does a handstand", 4, "inverted", None, ">", 0.5, "handstand"),
    ("a person walks in michael jackson style", 4, "pace", None, ">", 0.15, "styled_walk"),
    ("a person gets up from lying face down", 4, "rise", None, ">", 0.6, "get_up"),
    ("a person hops on one foot", 4, "kick_height", None, ">", 0.45, "hop"),
    ("a person runs and jumps over an obstacle", 4, "foot_lift", None, ">", 0.3, "jump_over"),
    ("a person runs and jumps over an obstacle", 4, "pace", None, ">", 1.2, "jump_over"),
]


def measure(motion: Motion, name: str, part: str | None) -> float:
    if part == "first":
        motion = first_half(motion)
    elif part == "second":
        motion = second_half(motion)
    value = DESCRIPTORS[name](motion)
    return abs(value) if part == "abs" else value


def passes(value: float, test: str, threshold) -> bool:
    if test == "in":
        low, high = threshold
        return low < value < high
    return value > threshold if test == ">" else value < threshold


def describe_test(test: str, threshold) -> str:
    return f"{threshold[0]:g} .. {threshold[1]:g}" if test == "in" else f"{test} {threshold:g}"


def real_range(clips, action: str, name: str, part: str | None, prompt: str) -> str:
    """Range of the measure over the corpus clips of `action` (whole clips). The corpus kicks and
    punches are right-sided; for a left-sided prompt their mirror images are measured."""
    mirror = name in ("kick_side", "punch_side") and " left " in f" {prompt} "
    whole = None if part in ("first", "second") else part
    values = [measure(c.motion.mirrored() if mirror else c.motion, name, whole) for c in clips if c.action == action]
    if not values:
        return "-"
    return f"{min(values):.2f} .. {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--guidance", type=float, default=DEFAULT_SCALE)
    parser.add_argument("--projected", action=argparse.BooleanOptionalAction, default=None,
                        help="projected guidance on/off (default: the pipeline's)")  # fmt: skip
    parser.add_argument("--side-guidance", type=float, default=DEFAULT_SIDE,
                        help="side guidance scale (0: off)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--whole", action="store_true", help="make '..., then ...' prompts in one pass")
    parser.add_argument("--extra", action="store_true", help="run only the checks of actions left out above")
    parser.add_argument("--v2", action="store_true", help="run only the checks of the actions corpus v2 added")
    parser.add_argument("--strips", type=Path, default=None, help="folder for one film strip per prompt")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    pipe = TextToMotionPipeline.from_pretrained(args.checkpoint)
    clips = load_corpus(None, corpus="v2" if args.v2 else "builtin")
    motions: dict[str, list[Motion]] = {}
    guidance_mode = {} if args.projected is None else {"projected_guidance": args.projected}
    checks = V2_CHECKS if args.v2 else EXTRA_CHECKS if args.extra else CHECKS
    start = time.perf_counter()
    for prompt, seconds, *_ in tqdm(checks, desc="prompts"):
        if prompt not in motions:
            motions[prompt] = pipe(
                [prompt] * args.seeds, seconds=seconds, num_inference_steps=args.steps,
                guidance_scale=args.guidance, side_guidance=args.side_guidance, seed=0, sampler=args.sampler,
                progress=False, sequential=not args.whole, **guidance_mode,
            )  # fmt: skip
    seconds_taken = time.perf_counter() - start

    rows = []
    for prompt, _, name, part, test, threshold, action in checks:
        values = [measure(m, name, part) for m in motions[prompt]]
        label = name + {"first": " (1st half)", "second": " (2nd half)", "abs": " (abs)"}.get(part, "")
        rows.append({
            "prompt": prompt, "measure": label, "unit": UNITS[name], "test": describe_test(test, threshold),
            "median": statistics.median(values), "passed": sum(passes(v, test, threshold) for v in values),
            "seeds": len(values), "real": real_range(clips, action, name, part, prompt), "values": values,
        })  # fmt: skip

    mode = {None: "", True: " (projected)", False: " (plain)"}[args.projected]
    print(f"\ncheckpoint {args.checkpoint}, {args.sampler} {args.steps} steps, guidance {args.guidance}{mode}, "
          f"side guidance {args.side_guidance}, "
          f"seeds 0..{args.seeds - 1}; {seconds_taken:.0f} s of sampling\n")  # fmt: skip
    print("| prompt | measure | pass if | median | seeds passing | real clips |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['prompt']} | {r['measure']} ({r['unit']}) | {r['test']} | {r['median']:.2f} | "
              f"{r['passed']}/{r['seeds']} | {r['real']} |")  # fmt: skip
    total = sum(r["passed"] for r in rows)
    print(f"\n{total}/{sum(r['seeds'] for r in rows)} checks passed; "
          f"{sum(r['passed'] * 2 > r['seeds'] for r in rows)}/{len(rows)} prompts pass for most seeds")  # fmt: skip

    if args.strips:
        from motiongen.io import save_motion

        args.strips.mkdir(parents=True, exist_ok=True)
        for prompt, batch in motions.items():
            name = prompt.removeprefix("a person ").replace(",", "").replace(" ", "_")
            save_motion(batch[0], args.strips / f"{name}.png", force=True, frames=6, size=(200, 240))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"checkpoint": str(args.checkpoint), "sampler": args.sampler,
                                         "steps": args.steps, "rows": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
