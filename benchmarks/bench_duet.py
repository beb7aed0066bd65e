"""Reactive partner vs real held-out couples: interaction statistics, baselines, solo realism, speed.

    .venv/bin/python benchmarks/bench_duet.py [--checkpoint checkpoints/partner] [--seeds 2]
        [--sampler ddim] [--steps 50] [--seconds 6] [--couples N] [--threads 1]
        [--json runs/benchmarks/duet.json] [--quiet]
    (the flow student: --checkpoint checkpoints/partner-flow --sampler flow --steps 1)

Cases: every held-out couple segment of corpus v2 (couples 05/20 and 12/27), both ways round
(each dancer once the leader), cut to --seconds. For each case the partner comes from:
- the model (--seeds samples, DDIM --steps, default guidance), cleaned up as `motiongen react` does;
- the real partner (the reference every row is compared with, and a row of its own: a second
  real sample is not available, so its distances are 0 by construction and only its values count);
- the nearest training partner: the training couple whose leader moves most like this leader
  (heading-invariant features, best offset), its partner placed relative to this leader as it
  stood relative to its own;
- the leader mirrored: the leader reflected through a vertical plane in front of it, half the
  median training hip distance away (a partner who copies every move, face to face).

Interaction statistics (motiongen/metrics/duet.py): hip distance, relative facing, hand distance,
hand contact, capsule penetration, reaction lag; each a 1-D Wasserstein distance to the real
partners' distribution, with the mean (median lag) beside it. Solo realism: foot skating and
jitter of the partner alone, and the FID of the shipped evaluator's embeddings of the partners
against the real held-out partners'. Speed: one 4-s partner with DDIM 50 (a flow student: its own
sampler and steps; median of 3), and the same in streaming mode, as a share of real time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from motiongen.conditioning.partner import relative_placement  # noqa: E402
from motiongen.metrics import duet as D  # noqa: E402
from motiongen.metrics.physics import foot_skating_ratio, jitter  # noqa: E402
from motiongen.motion import rotations as R  # noqa: E402
from motiongen.motion.features import motion_to_features  # noqa: E402
from motiongen.motion.motion import Motion  # noqa: E402

FPS = 20.0


def cases(pairs, frames: int) -> list[tuple[Motion, Motion, str]]:
    """(leader, real partner, name) for both directions of every couple, cut to `frames`."""
    out = []
    for a, b in pairs:
        n = min(frames, len(a.motion))
        out.append((a.motion.slice(0, n), b.motion.slice(0, n), f"{a.name}->{b.name}"))
        out.append((b.motion.slice(0, n), a.motion.slice(0, n), f"{b.name}->{a.name}"))
    return out


def moved(motion: Motion, yaw: float, shift: np.ndarray) -> Motion:
    """`motion` turned by `yaw` about the origin's vertical axis, then shifted by (x, z)."""
    turn = R.yaw_matrix(torch.tensor(float(yaw)))
    rot = motion.matrices()
    rot[:, 0] = turn @ rot[:, 0]
    root = (torch.from_numpy(motion.root) @ turn.T).numpy()
    root[:, [0, 2]] += shift
    return Motion.from_matrices(rot, root, motion.fps, motion.meta)


def mirrored_partner(leader: Motion, distance: float) -> Motion:
    """The leader reflected through the vertical plane `distance` / 2 ahead of its first frame."""
    yaw, origin = float(leader.heading()[0]), leader.root[0, [0, 2]]
    local = moved(moved(leader, 0.0, -origin), -yaw, np.zeros(2))  # its first frame at the origin, facing +Z
    # Mirror x (Motion.mirrored) then turn half a circle: together a reflection of z, then step ahead.
    reflected = moved(local.mirrored(), np.pi, np.array([0.0, distance]))
    return moved(reflected, yaw, origin)


def nearest_partner(leader: Motion, library: list[tuple[Motion, Motion, torch.Tensor]], stride: int = 10) -> Motion:
    """The training partner whose leader's features are nearest this leader's (any offset)."""
    query = motion_to_features(leader)
    n = len(query)
    best = (np.inf, None, None, 0)
    for train_leader, train_partner, features in library:
        for start in range(0, len(features) - n + 1, stride):
            d = float(((features[start : start + n] - query) ** 2).mean())
            if d < best[0]:
                best = (d, train_leader, train_partner, start)
    _, train_leader, train_partner, start = best
    if train_leader is None:
        raise SystemExit("no training leader is as long as the test clips; lower --seconds")
    tl, tp = train_leader.slice(start, start + n), train_partner.slice(start, start + n)
    # Place it as it stood: turn and move so that its leader's first frame lands on this leader's.
    yaw = float(leader.heading()[0] - tl.heading()[0])
    turned = moved(tp, yaw, np.zeros(2))
    turned_leader_root = moved(tl, yaw, np.zeros(2)).root[0, [0, 2]]
    return moved(turned, 0.0, leader.root[0, [0, 2]] - turned_leader_root)


def solo(motions: list[Motion]) -> dict:
    positions = [m.positions() for m in motions]
    return {
        "skating_ratio": float(np.mean([foot_skating_ratio(p, FPS) for p in positions])),
        "jitter": float(np.mean([jitter(p, FPS) for p in positions])),
    }


def speed(pipe, leader: Motion, steps: int, streaming: bool, repeats: int = 3, sampler: str = "ddim") -> float:
    clip = leader.slice(0, int(4 * FPS))
    pipe(clip, num_inference_steps=steps, seed=0, progress=False, streaming=streaming, sampler=sampler)  # warm-up
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        pipe(clip, num_inference_steps=steps, seed=r + 1, progress=False, streaming=streaming, sampler=sampler)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def markdown(results: dict) -> str:
    rows = results["rows"]
    keys = (*D.METRICS, "hand_contact", "reaction_lag")
    head = "| partner | " + " | ".join(f"{k} ({D.UNITS[k] or 'share'})" for k in keys) + " | skating | jitter | FID |"
    lines = [head, "|" + " --- |" * (len(keys) + 4)]
    for name, row in rows.items():
        cells = [f"{row['stats'][k]['distance']:.3f} ({row['stats'][k]['generated']:.2f})" for k in keys]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {row['solo']['skating_ratio']:.3f} | {row['solo']['jitter']:.1f} | {row['solo'].get('fid', 0.0):.3f} |"
        )
    real = next(iter(rows.values()))["stats"]
    lines.append("| real (values) | " + " | ".join(f"{real[k]['real']:.2f}" for k in keys) + " | "
                 f"{results['real_solo']['skating_ratio']:.3f} | {results['real_solo']['jitter']:.1f} | 0 |")  # fmt: skip
    lines.append("")
    lines.append("Cells: distance between distributions (the generated mean, median for the lag).")
    s = results["speed"]
    lines.append(f"Speed: 4-s partner, {s.get('sampler', 'ddim')} {s['steps']} steps: {s['offline_s']:.2f} s; "
                 f"streaming: {s['streaming_s']:.2f} s "
                 f"({s['streaming_s'] / 4.0:.2f} s per second of motion).")  # fmt: skip
    lines.append(f"Model beats both baselines on: {', '.join(results['beats_baselines']) or 'none'}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--sampler", default="ddim", choices=("ddim", "dpm", "flow"))
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--couples", type=int, default=None, help="only the first N held-out couples (a quick check)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=ROOT / "runs" / "benchmarks" / "duet.json")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="only the speed rows (on a held-out leader)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from motiongen.data.pairs import load_couples
    from motiongen.pipelines.react import ReactivePartnerPipeline, clean_up, default_checkpoint

    pipe = ReactivePartnerPipeline.from_pretrained(args.checkpoint or default_checkpoint())
    frames = int(round(args.seconds * FPS))
    test = cases(load_couples("test", limit=args.couples, progress=not args.quiet), frames)
    speed_steps = args.steps if args.sampler == "flow" else 50  # the diffusion goal is stated for DDIM 50
    if args.speed_only:
        leader = next(leader for leader, _, _ in test if len(leader) >= 4 * FPS)
        result = {f"{kind}_s": speed(pipe, leader, speed_steps, kind == "streaming", repeats=5, sampler=args.sampler)
                  for kind in ("offline", "streaming")}  # fmt: skip
        result.update(sampler=args.sampler, steps=speed_steps, threads=args.threads)
        print(json.dumps(result))
        return result
    train_pairs = load_couples("train", progress=not args.quiet)
    library = [(a.motion, b.motion, motion_to_features(a.motion)) for x, y in train_pairs for a, b in ((x, y), (y, x))]
    hip = np.median(np.concatenate([np.linalg.norm(relative_placement(a.motion, b.motion)[:, :2], axis=-1)
                                    for a, b in train_pairs]))  # fmt: skip

    partners: dict[str, list[tuple[Motion, Motion]]] = {
        "model": [],
        "nearest training partner": [],
        "leader mirrored": [],
    }
    real = []
    for leader, partner, name in test:
        real.append((leader, partner))
        for seed in range(args.seeds):
            made = pipe(leader, seed=seed, num_inference_steps=args.steps, sampler=args.sampler, progress=False)
            made = clean_up(made, leader)
            partners["model"].append((leader, made))
        partners["nearest training partner"].append((leader, nearest_partner(leader, library)))
        partners["leader mirrored"].append((leader, mirrored_partner(leader, float(hip))))
        if not args.quiet:
            print(f"done {name}", flush=True)

    def stats(couples):
        return [D.interaction(a.positions(), b.positions(), FPS) for a, b in couples]

    real_stats = stats(real)
    from motiongen.metrics.generation import fid
    from motiongen.models.evaluator import load_evaluator
    from motiongen.paths import CHECKPOINT_DIR

    evaluator = load_evaluator(CHECKPOINT_DIR / "evaluator")
    real_embeddings = evaluator.encode_motions([p for _, p in real])
    rows = {"real partner": {"stats": D.compare(real_stats, real_stats), "solo": solo([p for _, p in real])}}
    for name, couples in partners.items():
        rows[name] = {"stats": D.compare(stats(couples), real_stats), "solo": solo([p for _, p in couples])}
        rows[name]["solo"]["fid"] = fid(real_embeddings, evaluator.encode_motions([p for _, p in couples]))
    model, near, mirror = (
        rows["model"]["stats"],
        rows["nearest training partner"]["stats"],
        rows["leader mirrored"]["stats"],
    )
    beats = [k for k in model if model[k]["distance"] < min(near[k]["distance"], mirror[k]["distance"])]
    leader4 = test[0][0] if len(test[0][0]) >= 4 * FPS else None
    results = {
        "checkpoint": str(args.checkpoint or default_checkpoint()),
        "cases": len(test),
        "seeds": args.seeds,
        "steps": args.steps,
        "seconds": args.seconds,
        "median_training_hip_distance": float(hip),
        "rows": rows,
        "real_solo": solo([p for _, p in real]),
        "beats_baselines": beats,
        "sampler": args.sampler,
        "speed": {
            "sampler": args.sampler,
            "steps": speed_steps,
            "offline_s": speed(pipe, leader4, speed_steps, False, sampler=args.sampler) if leader4 else float("nan"),
            "streaming_s": speed(pipe, leader4, speed_steps, True, sampler=args.sampler) if leader4 else float("nan"),
            "threads": args.threads,
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
