"""Motion controls (`motiongen complete`, motiongen/pipelines/complete.py) on held-out real motion.

    .venv/bin/python benchmarks/bench_controls.py [--checkpoint checkpoints/t2m] [--sampler ddim]
        [--steps 20] [--clips 8] [--long-minutes 1,10] [--threads 1] [--json FILE] [--strips docs/img]

On the test split of corpus v2 (the built-in corpus's when the mocap cache is missing), clips of
at least 4 s, each moved to its own place and heading in the world (so placement is measured),
prompted with its own caption; what is measured is the command's output (placement, blending
and clean-up included):

- continuation: the clip's first 2 s as --prefix, 3 s more. Seam: distance of the first new frame
  from where the prefix's last two frames lead (constant speed), for the root and the worst joint
  (cm); the same for the real clip's own next frame, as the reference. Jerk at the seam (mean over
  joints of the third difference, the largest stencil that spans the seam) over the median jerk of
  the clip, for the output and the real clip.
- in-between: the clip's first frame and its frame at 3 s as --inbetween A B; keyframes: its poses
  at 1, 2 and 3 s as --keyframes, 4 s long. Joint and root error at the given times (cm); what the
  model itself missed before the blending (its neighbours' pose against the key's); the root
  distance at the later key with the path left unbent; jerk within 3 frames of a key over the
  median jerk.
- kept parts: --keep upper and --keep lower with another clip's caption: the largest difference
  of a kept joint's rotation (quaternion component) and of the root (m).
- path: the clip's own root path (its first 6 s, with its headings) as --path: how far the
  output's root is from it (cm), and the output's foot skating and jitter beside the real clip's
  (motiongen/metrics/physics.py).
- path checks (`--only path_checks`, not in the default set): the prompt checks of
  benchmarks/prompt_checks.py whose measure is about the body, not where it goes (foot lift,
  time upside down, head height, kicks and punches, arms; plus the legs' swing for walks and runs),
  each prompt once with the root path of a real clip of its action (corpus v2, any split: a path
  the action really takes) as --path, and once without a path, over --seeds seeds: does the body
  still do what the text says while it follows the path?
- long motion: a timeline of --long-minutes each (in a fresh process each): peak resident memory,
  its growth over the memory after the first window, wall time, and the jerk at window seams over
  the median jerk.
With --strips DIR, writes a film strip per control (controls_*.png) from the built-in corpus's
clips (which may be shipped; the corpus v2 mocap may not be).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LONG_PROMPTS = [
    (6, "a person walks forward"),
    (4, "a person turns left"),
    (3, "a person jumps"),
    (5, "a person runs forward"),
    (4, "a person waves the right hand"),
    (3, "a person kicks with the right foot"),
]
TEXT_CACHE = ROOT / "data" / "cache" / "text_states"


def jerk(positions: np.ndarray, fps: float) -> np.ndarray:
    """Mean over joints of |third difference| (m/s^3), one value per stencil start."""
    return np.linalg.norm(np.diff(positions, n=3, axis=0), axis=-1).mean(-1) * fps**3


def seam_jerk_ratio(positions: np.ndarray, seam: int, fps: float, span=None) -> float:
    """Largest jerk of a stencil holding both frame seam-1 and seam, over the median jerk of `span`."""
    j = jerk(positions, fps)
    lo, hi = span or (0, len(j))
    return float(j[max(0, seam - 3) : seam].max() / np.median(j[lo:hi]))


def near_key_jerk_ratio(positions: np.ndarray, keys, fps: float) -> float:
    j = jerk(positions, fps)
    near = [j[max(0, k - 3) : k + 1].max() for k in keys if k >= 1]
    return float(max(near) / np.median(j))


def lead_error(positions: np.ndarray, frame: int) -> tuple[float, float]:
    """(root, worst joint) distance of `frame` from 2*previous - the one before (cm)."""
    guess = 2 * positions[frame - 1] - positions[frame - 2]
    d = np.linalg.norm(positions[frame] - guess, axis=-1)
    return 100 * float(d[0]), 100 * float(d.max())


def load_pipe(args):
    import torch

    from motiongen.pipelines.text2motion import TextToMotionPipeline

    torch.set_num_threads(args.threads)
    pipe = TextToMotionPipeline.from_pretrained(ROOT / args.checkpoint)
    pipe.text_conditioner.use_disk_cache(TEXT_CACHE)  # the caption bank is encoded once, not per run
    return pipe


def held_out(count: int):
    from motiongen.data.corpus import load_corpus
    from motiongen.data.mocap_corpus import CACHE_DIR

    corpus = "v2" if Path(CACHE_DIR).exists() else "builtin"
    clips = [c for c in load_corpus("test", corpus=corpus, progress=False) if c.motion.duration >= 4.0]
    by_action = {}
    for clip in clips:  # one clip per action first, so the set is varied
        by_action.setdefault(clip.action, clip)
    chosen = list(by_action.values()) + [c for c in clips if c not in by_action.values()]
    return corpus, chosen[:count]


def placed(motion, k: int):
    """The clip moved to a place and heading of its own in the world."""
    from motiongen.motion.placement import align

    rng = np.random.default_rng(k)
    return align(motion, 0, rng.uniform(-5, 5, 2), float(rng.uniform(-np.pi, np.pi)))


def bench_continuation(pipe, clips, sampling, fps):
    from motiongen.pipelines.complete import Controls, complete

    rows = []
    for k, clip in enumerate(clips):
        real = placed(clip.motion, k)
        prefix = real.slice(0, round(2 * fps))
        out = complete(pipe, clip.captions[0], Controls(prefix=prefix), 3.0, sampling)
        p, r = out.positions(), real.positions()
        seam = len(prefix)
        rows.append(
            {
                "clip": clip.name,
                "prefix_exact": bool(
                    np.array_equal(out.quats[:seam], prefix.quats) and np.array_equal(out.root[:seam], prefix.root)
                ),
                "seam_root_cm": lead_error(p, seam)[0],
                "seam_joint_cm": lead_error(p, seam)[1],
                "real_root_cm": lead_error(r, seam)[0],
                "real_joint_cm": lead_error(r, seam)[1],
                "seam_jerk_ratio": seam_jerk_ratio(p, seam, fps),
                "real_jerk_ratio": seam_jerk_ratio(r, seam, fps),
            }
        )
    return rows


def bench_keys(pipe, clips, sampling, fps):
    from motiongen.pipelines.complete import Controls, complete

    rows = []
    for k, clip in enumerate(clips):
        real = placed(clip.motion, k)
        pos = real.positions()
        b = round(3 * fps)
        out = complete(pipe, clip.captions[0], Controls(prefix=real.slice(0, 1), end=real.slice(b, b + 1)),
                       (b - 1) / fps, sampling)  # fmt: skip
        rows.append(_key_row("inbetween", clip.name, out, pos, [0, b], [0, b], fps))
        times = (1.0, 2.0, 3.0)
        out = complete(pipe, clip.captions[0], Controls(keyframes=real, key_times=times), 4.0, sampling)
        frames = [round(t * fps) for t in times]
        rows.append(_key_row("keyframes", clip.name, out, pos, frames, frames, fps))
    return rows


def _key_row(kind, name, out, real_positions, out_frames, real_frames, fps):
    p = out.positions()
    d = np.linalg.norm(p[out_frames] - real_positions[real_frames], axis=-1)
    done = out.meta["controls"]
    return {
        "kind": kind,
        "clip": name,
        "joint_cm": 100 * float(d.max()),
        "root_cm": 100 * float(d[:, 0].max()),
        "model_joint_cm": 100 * done["model_miss_joints_m"],
        "model_root_cm": 100 * done["model_miss_root_m"],
        "unbent_root_cm": 100 * done["unbent_root_m"],
        "key_jerk_ratio": near_key_jerk_ratio(p, out_frames, fps),
    }


def bench_keep(pipe, clips, sampling):
    from motiongen.conditioning.partial import GROUP_JOINTS
    from motiongen.motion.skeleton import JOINT_INDEX
    from motiongen.pipelines.complete import Controls, complete, parse_parts

    rows = []
    for k, clip in enumerate(clips):
        source = placed(clip.motion, k)
        other = clips[(k + 1) % len(clips)].captions[0]
        for part in ("upper", "lower"):
            groups = parse_parts(part)
            out = complete(pipe, other, Controls(keep=groups, source=source), None, sampling)
            joints = [JOINT_INDEX[j] for g in groups for j in GROUP_JOINTS[g]]
            rows.append(
                {
                    "clip": clip.name,
                    "part": part,
                    "kept_rotation_err": float(np.abs(out.quats[:, joints] - source.quats[:, joints]).max()),
                    "root_err_m": float(np.abs(out.root - source.root).max()) if part == "lower" else None,
                    "rest_changed": float(
                        np.abs(np.delete(out.quats, joints, 1) - np.delete(source.quats, joints, 1)).max()
                    ),
                }
            )
    return rows


def bench_path(pipe, clips, sampling, fps):
    from motiongen.metrics.physics import motion_physics
    from motiongen.pipelines.complete import Controls, complete
    from motiongen.pipelines.path import path_motion

    rows = []
    for k, clip in enumerate(clips):
        real = placed(clip.motion, k).resampled(fps)
        real = real.slice(0, min(len(real), round(6 * fps) + 1))
        table = np.column_stack([np.arange(len(real)) / fps, real.root[:, 0], real.root[:, 2],
                                 np.degrees(np.unwrap(real.heading()))])  # fmt: skip
        path = path_motion(table, fps)
        out = complete(pipe, clip.captions[0], Controls(path=path), None, sampling)
        off = np.linalg.norm(out.root[:, [0, 2]] - path.root[:, [0, 2]], axis=-1)
        made, truth = motion_physics(out), motion_physics(real)
        rows.append(
            {
                "clip": clip.name,
                "caption": clip.captions[0],
                "path_cm_mean": 100 * float(off.mean()),
                "path_cm_max": 100 * float(off.max()),
                "skating": made["skating_ratio"],
                "real_skating": truth["skating_ratio"],
                "jitter": made["jitter"],
                "real_jitter": truth["jitter"],
                "speed_m_s": float(np.linalg.norm(np.diff(real.root[:, [0, 2]], axis=0), axis=-1).mean() * fps),
            }
        )
    return rows


# Measures a path decides (how far and which way the body goes), left out of the path checks.
PATH_DECIDES = ("speed", "pace", "travel", "turn")
# Walks and runs on a path: the legs swing as in walking (real walks 0.20-0.28 m, runs 0.19-0.34).
LEG_CHECKS = [
    ("a person walks forward", 4, "step_swing", None, ">", 0.15, "walk"),
    ("a person runs forward", 4, "step_swing", None, ">", 0.15, "run"),
    ("a person sprints", 4, "step_swing", None, ">", 0.15, "run"),
]


def path_checks() -> list[tuple]:
    """The prompt checks about the body, one part per prompt (no "..., then ..." halves)."""
    from prompt_checks import CHECKS, EXTRA_CHECKS, V2_CHECKS

    return LEG_CHECKS + [
        check
        for check in CHECKS + EXTRA_CHECKS + V2_CHECKS
        if check[2] not in PATH_DECIDES and check[3] not in ("first", "second")
    ]


def action_path(clips, action: str, seconds: float, fps: float, k: int):
    """The root path (with headings) of the first `seconds` of the longest real clip of `action`,
    placed somewhere of its own."""
    from motiongen.pipelines.path import path_motion

    clip = max((c for c in clips if c.action == action), key=lambda c: c.motion.duration)
    real = placed(clip.motion, k).resampled(fps)
    real = real.slice(0, min(len(real), round(seconds * fps) + 1))
    table = np.column_stack([np.arange(len(real)) / fps, real.root[:, 0], real.root[:, 2],
                             np.degrees(np.unwrap(real.heading()))])  # fmt: skip
    return path_motion(table, fps), clip.name


def bench_path_checks(pipe, sampling, fps, seeds: int):
    from dataclasses import replace

    from prompt_checks import measure, passes

    from motiongen.data.corpus import load_corpus
    from motiongen.pipelines.complete import Controls, complete

    clips = load_corpus(None, corpus="v2", progress=False)
    checks = path_checks()
    made: dict[str, dict] = {}
    for k, (prompt, seconds, _, _, _, _, action) in enumerate(checks):
        if prompt in made:
            continue
        path, source = action_path(clips, action, seconds, fps, k)
        runs = {"free": [], "path": [], "path_cm": []}
        for seed in range(seeds):
            seeded = replace(sampling, seed=seed)
            runs["free"].append(complete(pipe, prompt, Controls(), float(seconds), seeded))
            out = complete(pipe, prompt, Controls(path=path), None, seeded)
            runs["path"].append(out)
            runs["path_cm"].append(
                100 * float(np.linalg.norm(out.root[:, [0, 2]] - path.root[:, [0, 2]], axis=-1).mean())
            )
        made[prompt] = {**runs, "source": source}
        print(f"path checks: {prompt}", file=sys.stderr)
    rows = []
    for prompt, _, name, part, test, threshold, _ in checks:
        runs = made[prompt]
        free = [measure(m, name, part) for m in runs["free"]]
        on_path = [measure(m, name, part) for m in runs["path"]]
        rows.append(
            {
                "prompt": prompt,
                "measure": name,
                "test": f"{test} {threshold}",
                "path_from": runs["source"],
                "free_passed": sum(passes(v, test, threshold) for v in free),
                "path_passed": sum(passes(v, test, threshold) for v in on_path),
                "seeds": seeds,
                "free_median": statistics.median(free),
                "path_median": statistics.median(on_path),
                "path_cm_mean": statistics.mean(runs["path_cm"]),
            }
        )
    return rows


def status_mb(key: str = "VmRSS") -> float:
    """A memory line of /proc/self/status (VmRSS: resident now; VmHWM: peak since start or reset), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Start VmHWM again from the current resident size (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def long_child(args) -> None:
    """One timeline of --long-child minutes in this process; prints a JSON line."""
    from motiongen.pipelines.complete import Controls, complete
    from motiongen.pipelines.timeline import CONTEXT_SECONDS, Sampling, window_spans

    pipe = load_pipe(args)
    sampling = Sampling(args.steps, args.sampler)
    total, story = 0.0, []
    while total < args.long_child * 60 - 1e-6:
        seconds, prompt = LONG_PROMPTS[len(story) % len(LONG_PROMPTS)]
        seconds = min(seconds, args.long_child * 60 - total)
        story.append((seconds, prompt))
        total += seconds
    complete(pipe, story[:2], Controls(), None, sampling)  # warm up: weights, text states, first windows
    after_first = status_mb()
    reset_peak()  # loading the model and text encoder peaks higher than generating; measure generating
    start = time.perf_counter()
    out = complete(pipe, story, Controls(), None, sampling, progress=False)
    wall = time.perf_counter() - start
    peak_generating = status_mb("VmHWM")
    fps = pipe.fps
    window = int(pipe.denoiser.config.max_frames)
    ends = np.round(np.cumsum([seconds for seconds, _ in story]) * fps).astype(int)
    texts = [(int(a), int(b), p) for a, b, (_, p) in zip([0, *ends[:-1]], ends, story, strict=True)]
    spans = window_spans(texts, len(out), window, min(int(CONTEXT_SECONDS * fps), window // 2))
    p = out.positions()
    seams = [done for _, done, _ in spans if done > 3]
    ratios = [seam_jerk_ratio(p, s, fps) for s in seams]
    print(
        json.dumps(
            {
                "minutes": args.long_child,
                "frames": len(out),
                "windows": len(spans),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "peak_generating_mb": peak_generating,
                "rss_after_first_mb": after_first,
                "wall_s": wall,
                "seam_jerk_ratio_median": float(np.median(ratios)),
                "seam_jerk_ratio_max": float(np.max(ratios)),
            }
        )
    )


def bench_long(args) -> list[dict]:
    rows = []
    for minutes in args.long_minutes:
        command = [sys.executable, __file__, "--long-child", str(minutes), "--checkpoint", args.checkpoint,
                   "--steps", str(args.steps), "--sampler", args.sampler, "--threads", str(args.threads)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"long {minutes} min: {rows[-1]}", file=sys.stderr)
    return rows


def write_strips(pipe, sampling, folder: Path) -> list[Path]:
    """One film strip per control, from the built-in corpus (shippable) clips."""
    from motiongen.data.corpus import load_corpus
    from motiongen.motion.placement import align
    from motiongen.pipelines.complete import Controls, complete, parse_parts, read_controls
    from motiongen.pipelines.timeline import parse_timeline
    from motiongen.render.strip import write

    folder.mkdir(parents=True, exist_ok=True)
    clips = {c.name: c.motion for c in load_corpus(corpus="builtin", progress=False)}
    walk = align(clips["walk"], 0, np.array([2.0, -1.0]), np.pi / 2)
    jump = clips.get("jump", walk)
    cases = {
        "prefix": ("a person jumps", Controls(prefix=walk), 3.0),
        "inbetween": (
            "a person walks forward",
            Controls(
                prefix=walk.slice(0, 1), end=align(jump.slice(0, 1), 0, walk.root[0, [0, 2]] + [3.0, 1.0], np.pi / 2)
            ),
            3.0,
        ),  # fmt: skip
        "keyframes": ("a person walks forward", Controls(keyframes=walk, key_times=(0.0, 0.6, 1.2)), 3.0),
        "keep_upper": ("a person jumps", Controls(keep=parse_parts("upper"), source=walk), None),
        "timeline": (
            parse_timeline("a person walks forward 3s; a person jumps 2s; a person turns left 3s"),
            Controls(),
            None,
        ),
        "path": ("a person walks", read_controls(waypoints="0,0; 3,0; 3,3", seconds=6.0), 6.0),
    }
    written = []
    for name, (prompt, controls, seconds) in cases.items():
        out = complete(pipe, prompt, controls, seconds, sampling)
        path = folder / f"controls_{name}.png"
        write(out, path)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="checkpoints/t2m")
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--long-minutes", default="1,10", type=lambda s: [float(x) for x in s.split(",") if x])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--strips", type=Path)
    parser.add_argument("--only", default="continuation,keys,keep,path,long",
                        help="sections, comma-separated; path_checks is also one")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=5, help="seeds per prompt for path_checks")
    parser.add_argument("--long-child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.long_child:
        return long_child(args)
    from motiongen.pipelines.timeline import Sampling

    pipe = load_pipe(args)
    sampling = Sampling(args.steps, args.sampler)
    fps = pipe.fps
    corpus, clips = held_out(args.clips)
    results = {"corpus": corpus, "sampler": args.sampler, "steps": args.steps, "clips": [c.name for c in clips]}
    only = set(args.only.split(","))
    timings = {}
    for name, run in (
        ("continuation", lambda: bench_continuation(pipe, clips, sampling, fps)),
        ("keys", lambda: bench_keys(pipe, clips, sampling, fps)),
        ("keep", lambda: bench_keep(pipe, clips, sampling)),
        ("path", lambda: bench_path(pipe, clips, sampling, fps)),
        ("path_checks", lambda: bench_path_checks(pipe, sampling, fps, args.seeds)),
        ("long", lambda: bench_long(args)),
    ):
        if name in only:
            start = time.perf_counter()
            results[name] = run()
            timings[name] = time.perf_counter() - start
            print(f"{name}: {timings[name]:.0f} s", file=sys.stderr)
    results["wall_s"] = timings
    if args.strips:
        results["strips"] = [str(p) for p in write_strips(pipe, sampling, args.strips)]
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


def _mean_max(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return f"{statistics.mean(values):.2f} / {max(values):.2f}"


def report(results: dict) -> str:
    lines = [
        f"corpus {results['corpus']} test split, {len(results['clips'])} clips; {results['sampler']} {results['steps']} steps",
        "",
    ]
    if "continuation" in results:
        rows = results["continuation"]
        lines += [
            "| continuation (mean / max over clips) | output | real clip |",
            "| --- | --- | --- |",
            f"| prefix kept exactly | {sum(r['prefix_exact'] for r in rows)}/{len(rows)} | |",
            f"| first new frame off the prefix's lead, root (cm) | {_mean_max(rows, 'seam_root_cm')} | {_mean_max(rows, 'real_root_cm')} |",
            f"| same, worst joint (cm) | {_mean_max(rows, 'seam_joint_cm')} | {_mean_max(rows, 'real_joint_cm')} |",
            f"| seam jerk / median jerk | {_mean_max(rows, 'seam_jerk_ratio')} | {_mean_max(rows, 'real_jerk_ratio')} |",
            "",
        ]
    if "keys" in results:
        lines += ["| keys (mean / max over clips) | joints at keys (cm) | root at keys (cm) | model alone, joints (cm) | "
                  "model alone, root (cm) | root with unbent path (cm) | jerk near keys / median |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for kind in ("inbetween", "keyframes"):
            rows = [r for r in results["keys"] if r["kind"] == kind]
            keys = ("joint_cm", "root_cm", "model_joint_cm", "model_root_cm", "unbent_root_cm", "key_jerk_ratio")
            lines.append(f"| {kind} | " + " | ".join(_mean_max(rows, k) for k in keys) + " |")
        lines.append("")
    if "keep" in results:
        lines += [
            "| keep | kept rotations, max abs diff | root, max abs diff (m) | other joints, max abs diff |",
            "| --- | --- | --- | --- |",
        ]
        for part in ("upper", "lower"):
            rows = [r for r in results["keep"] if r["part"] == part]
            root = max(r["root_err_m"] for r in rows) if part == "lower" else None
            lines.append(
                f"| {part} | {max(r['kept_rotation_err'] for r in rows):.1e} | "
                f"{'' if root is None else f'{root:.1e}'} | {min(r['rest_changed'] for r in rows):.2f} (smallest) |"
            )
        lines.append("")
    if "path" in results:
        rows = results["path"]
        lines += [
            "| path (mean / max over clips) | output | real clip |",
            "| --- | --- | --- |",
            f"| root off the path (cm), mean over frames | {_mean_max(rows, 'path_cm_mean')} | |",
            f"| root off the path (cm), worst frame | {_mean_max(rows, 'path_cm_max')} | |",
            f"| foot skating ratio | {_mean_max(rows, 'skating')} | {_mean_max(rows, 'real_skating')} |",
            f"| jitter (m/s^3) | {_mean_max(rows, 'jitter')} | {_mean_max(rows, 'real_jitter')} |",
            "",
            "| clip | caption | speed (m/s) | skating out / real | jitter out / real |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [f"| {r['clip']} | {r['caption']} | {r['speed_m_s']:.2f} | {r['skating']:.2f} / {r['real_skating']:.2f} | "
                  f"{r['jitter']:.0f} / {r['real_jitter']:.0f} |" for r in rows]  # fmt: skip
        lines.append("")
    if "path_checks" in results:
        rows = results["path_checks"]
        free, on_path = sum(r["free_passed"] for r in rows), sum(r["path_passed"] for r in rows)
        total = sum(r["seeds"] for r in rows)
        lines += [
            "| prompt | measure | pass if | path from | seeds passing, no path | on the path | median, no path | on the path |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [f"| {r['prompt']} | {r['measure']} | {r['test']} | {r['path_from']} | {r['free_passed']}/{r['seeds']} | "
                  f"{r['path_passed']}/{r['seeds']} | {r['free_median']:.2f} | {r['path_median']:.2f} |" for r in rows]  # fmt: skip
        lines += [
            f"\nseed checks passed: {free}/{total} without a path, {on_path}/{total} on the path; root off the path "
            f"{statistics.mean(r['path_cm_mean'] for r in rows):.2f} cm on average",
            "",
        ]
    if "long" in results:
        lines += ["| timeline | frames | windows | peak RSS of the process (MB) | RSS after warm-up (MB) | peak RSS while "
                  "generating (MB) | wall (s) | seam jerk / median (median, max) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for r in results["long"]:
            lines.append(
                f"| {r['minutes']:g} min | {r['frames']} | {r['windows']} | {r['peak_rss_mb']:.0f} | {r['rss_after_first_mb']:.0f} "
                f"| {r['peak_generating_mb']:.0f} | {r['wall_s']:.0f} | {r['seam_jerk_ratio_median']:.2f}, {r['seam_jerk_ratio_max']:.2f} |"
            )
        if len(results["long"]) > 1:
            first, last = results["long"][0], results["long"][-1]
            lines.append(
                f"\npeak memory, longest over shortest: {last['peak_rss_mb'] / first['peak_rss_mb']:.3f}x (process), "
                f"{last['peak_generating_mb'] / first['peak_generating_mb']:.3f}x (while generating)"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
