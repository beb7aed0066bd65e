"""Lifting benchmark: what `motiongen lift` writes, on held-out real motion seen by real-looking cameras.

    .venv/bin/python benchmarks/bench_lift.py [--cameras 1] [--ablations] [--threads 1] [--json out.json]

Each clip of the corpus v2 test split (motion capture the lifter never saw, loaded through
motiongen.data) is filmed by `--cameras` random static pinhole cameras like a person would set up:
1.0-1.8 m high, 3-8 m from the person, aimed at them (pitch follows, +-3 degrees), focal length
0.6-1.6 image widths, 1920x1080, the whole body in the picture. The COCO-17 keypoints (ears and
eyes placed on the head) are written as a 30 fps keypoint file, exact or with 3 px Gaussian noise,
and lifted by `LiftPipeline` exactly as `motiongen lift FILE --focal F` does (the file carries its
frame rate and image size). Scored at the output's 20 fps against the clip:

- MPJPE: 14 joints COCO also has, root-relative, after the best yaw of the whole sequence (a
  monocular camera cannot know which way is north); PA-MPJPE: after a per-frame Procrustes fit;
- root path: length of the horizontal pelvis path (points 0.25 s apart) against the truth's, for
  sequences whose truth travels at least 1 m (mean and median of |ratio - 1|);
- foot skating and jitter (motiongen.metrics.physics) beside the truth's.

Rows: `lift` as shipped (known focal length; and without --focal, the default guess), `lift` with
feet not cleaned up, the raw lifter before the world stage (turned into the world by the TRUE
camera, so only its pose counts), and the other shipped model for comparison (checkpoints/lifter/
lifter is the per-frame model, temporal/ the 27-frame one: its raw output and what `lift` writes
with it). Speed: lifting + world stage in input frames per second, detection excluded.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 23_2026
IMAGE_SIZE = (1920, 1080)
FPS = 30.0
NOISE_PX = (0.0, 3.0)
MIN_PATH = 1.0  # m: root-path error only where the truth travels this far
# Ears and eyes in the head joint's frame (metres; x = the person's left, y up, z forward).
FACE = {
    "left_ear": (0.075, 0.04, 0.0),
    "right_ear": (-0.075, 0.04, 0.0),
    "left_eye": (0.032, 0.06, 0.09),
    "right_eye": (-0.032, 0.06, 0.09),
}


@dataclass
class Camera:
    rotation: np.ndarray  # (3, 3) world -> camera (OpenCV: x right, y down, z forward)
    position: np.ndarray  # (3,)
    focal: float


def coco_points(track) -> np.ndarray:
    """World positions (T, 17, 3) of the COCO-17 keypoints of a Track."""
    from motiongen.lifting.keypoints import COCO17, LIFT_INDEX, lift_joints_from_smpl

    lift = lift_joints_from_smpl(track.positions, track.head_rotation)
    head = track.positions[:, 15]
    out = np.zeros((len(lift), len(COCO17), 3), np.float32)
    for i, name in enumerate(COCO17):
        if name in FACE:
            out[:, i] = head + track.head_rotation @ np.array(FACE[name], np.float32)
        else:
            out[:, i] = lift[:, LIFT_INDEX[name]]
    return out


def real_camera(points: np.ndarray, rng: np.random.Generator) -> Camera:
    """A static camera that sees every keypoint of `points` (T, J, 3) inside the picture."""
    from motiongen.lifting.cameras import look_at

    centre = points[:, 0].mean(0)
    width, height = IMAGE_SIZE
    for attempt in range(200):
        distance = rng.uniform(3.0, 8.0) + 0.03 * attempt  # move back if nothing fits
        yaw = rng.uniform(-np.pi, np.pi)
        position = np.array(
            [centre[0] + distance * np.sin(yaw), rng.uniform(1.0, 1.8), centre[2] + distance * np.cos(yaw)]
        )
        target = np.array([centre[0], rng.uniform(0.7, 1.1), centre[2]])
        target[1] += np.tan(np.radians(rng.uniform(-3, 3))) * distance  # aimed a little high or low
        rot = look_at(position[None], target[None], roll=np.radians(rng.normal(0, 1.0)))[0]
        focal = rng.uniform(0.6, 1.6) * width
        cam = (points - position) @ rot.T
        uv = cam[..., :2] / cam[..., 2:] * focal + np.array(IMAGE_SIZE) / 2
        inside = (uv[..., 0] > 0.02 * width) & (uv[..., 0] < 0.98 * width)
        inside &= (uv[..., 1] > 0.02 * height) & (uv[..., 1] < 0.98 * height)
        if (cam[..., 2] > 0.5).all() and inside.all():
            return Camera(rot, position, float(focal))
    raise RuntimeError("no camera sees the whole clip")


def keypoint_file(points: np.ndarray, camera: Camera, noise_px: float, rng, path: Path) -> Path:
    cam = (points - camera.position) @ camera.rotation.T
    uv = cam[..., :2] / cam[..., 2:] * camera.focal + np.array(IMAGE_SIZE) / 2
    uv = uv + rng.normal(0, noise_px, uv.shape) if noise_px else uv
    scores = np.full(uv.shape[:2] + (1,), 0.9)
    np.savez(path, keypoints=np.concatenate([uv, scores], -1), fps=FPS, image_size=np.array(IMAGE_SIZE))
    return path


def score(pred: np.ndarray, truth: np.ndarray) -> dict:
    from motiongen.lifting.evaluate import path_length, world_pose_errors
    from motiongen.metrics.physics import foot_skating_ratio, jitter

    n = min(len(pred), len(truth))
    pred, truth = pred[:n], truth[:n]
    err, pa = world_pose_errors(pred, truth)
    out = {"mpjpe": err.tolist(), "pa": pa.tolist()}
    true_path = path_length(truth[:, 0], 20.0)
    out["path"] = (path_length(pred[:, 0], 20.0), true_path)
    out["skating"] = (foot_skating_ratio(pred, 20.0), foot_skating_ratio(truth, 20.0))
    out["jitter"] = (jitter(pred, 20.0), jitter(truth, 20.0))
    return out


def summarise(scores: list[dict]) -> dict:
    if not scores:
        return {}
    out = {
        "mpjpe_mm": 1000 * float(np.mean(np.concatenate([s["mpjpe"] for s in scores]))),
        "pa_mpjpe_mm": 1000 * float(np.mean(np.concatenate([s["pa"] for s in scores]))),
    }
    if "path" in scores[0]:
        moving = [s["path"] for s in scores if s["path"][1] >= MIN_PATH]
        ratio = np.array([p / t for p, t in moving]) if moving else np.array([np.nan])
        out |= {
            "path_error_mean": float(np.mean(np.abs(ratio - 1))),
            "path_error_median": float(np.median(np.abs(ratio - 1))),
            "path_sequences": len(moving),
            "skating": float(np.mean([s["skating"][0] for s in scores])),
            "skating_truth": float(np.mean([s["skating"][1] for s in scores])),
            "jitter": float(np.mean([s["jitter"][0] for s in scores])),
            "jitter_truth": float(np.mean([s["jitter"][1] for s in scores])),
        }
    return out


def run(
    cameras: int,
    limit: int | None = None,
    ablations: bool = False,
    model: Path | None = None,
    other_model: Path | None = None,
) -> dict:
    from motiongen.data.corpus import load_corpus
    from motiongen.lifting.synthetic import Track
    from motiongen.lifting.world import WorldOptions
    from motiongen.models.lifter import TemporalLifter
    from motiongen.pipelines.lift import LiftPipeline

    clips = load_corpus("test", corpus="v2", progress=False)[:limit]
    shipped = LiftPipeline(TemporalLifter.from_pretrained(model or ROOT / "checkpoints/lifter/lifter"))
    other = LiftPipeline(TemporalLifter.from_pretrained(other_model or ROOT / "checkpoints/lifter/temporal"))
    other_name = f"other model (window {other.lifter.config.window})"
    rows = {}  # (row, noise) -> list of per-sequence scores
    by_action = {}  # action -> list of the default row's scores with noise
    seconds, frames30 = 0.0, 0
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            motion = clip.motion.slice(
                0, len(clip.motion) - (1 - len(clip.motion) % 2)
            )  # odd: 30 fps maps back exactly
            truth = Track.from_motion(motion).positions
            points = coco_points(Track.from_motion(motion.resampled(FPS)))
            for c in range(cameras):
                camera = real_camera(points, rng)
                to_world = camera.rotation  # camera -> world for row vectors: cam @ rotation
                for noise in NOISE_PX:
                    path = keypoint_file(points, camera, noise, rng, Path(tmp) / f"{clip.name}_{c}_{noise:g}.npz")
                    result = shipped(path, focal=camera.focal, progress=False)
                    seconds += result.timing["lift"] + result.timing["world"]
                    frames30 += len(result.points)
                    written = score(result.motion.positions(), truth)
                    rows.setdefault(("lift (known focal)", noise), []).append(written)
                    if noise:
                        by_action.setdefault(clip.action, []).append(written)
                    raw = result.lifted @ to_world
                    rows.setdefault(("raw lifter (true camera)", noise), []).append(_pose_only(raw, truth))
                    if ablations:
                        guessed = shipped(path, progress=False)
                        rows.setdefault(("lift (no --focal)", noise), []).append(
                            score(guessed.motion.positions(), truth)
                        )
                        plain = shipped(path, focal=camera.focal, progress=False, world=WorldOptions(clean_feet=False))
                        rows.setdefault(("lift, feet not cleaned up", noise), []).append(
                            score(plain.motion.positions(), truth)
                        )
                    base = other(path, focal=camera.focal, progress=False)
                    rows.setdefault((other_name + ": lift", noise), []).append(score(base.motion.positions(), truth))
                    rows.setdefault((other_name + ": raw (true camera)", noise), []).append(
                        _pose_only(base.lifted @ to_world, truth)
                    )
    out = {
        "clips": len(clips),
        "sequences_per_noise": len(clips) * cameras,
        "frames_20fps_per_noise": int(sum(len(s["mpjpe"]) for s in rows[("lift (known focal)", 0.0)])),
        "lift_and_world_frames_per_second": frames30 / seconds,
        "rows": {f"{name} | {noise:g} px": summarise(s) for (name, noise), s in rows.items()},
        "lift_3px_by_action": {a: summarise(s) for a, s in sorted(by_action.items())},
    }
    return out


def _pose_only(raw: np.ndarray, truth: np.ndarray) -> dict:
    from motiongen.lifting.evaluate import world_pose_errors

    n = min(len(raw), len(truth))
    err, pa = world_pose_errors(raw[:n], truth[:n])
    return {"mpjpe": err.tolist(), "pa": pa.tolist()}


def table(result: dict) -> str:
    lines = [
        "| row | noise | MPJPE | PA-MPJPE | root path error (mean / median) | skating (truth) | jitter m/s³ (truth) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, r in result["rows"].items():
        name, noise = key.split(" | ")
        if "skating" in r:
            rest = (
                f"{100 * r['path_error_mean']:.0f}% / {100 * r['path_error_median']:.0f}% "
                f"| {r['skating']:.3f} ({r['skating_truth']:.3f}) | {r['jitter']:.0f} ({r['jitter_truth']:.0f})"
            )
        else:
            rest = "– | – | –"
        lines.append(f"| {name} | {noise} | {r['mpjpe_mm']:.1f} | {r['pa_mpjpe_mm']:.1f} | {rest} |")
    lines += [
        "",
        "| action (lift, 3 px) | MPJPE | PA-MPJPE | skating (truth) | jitter (truth) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for action, r in result["lift_3px_by_action"].items():
        lines.append(
            f"| {action} | {r['mpjpe_mm']:.0f} | {r['pa_mpjpe_mm']:.0f} | {r['skating']:.3f} ({r['skating_truth']:.3f}) "
            f"| {r['jitter']:.0f} ({r['jitter_truth']:.0f}) |"
        )
    lines.append(
        f"\n{result['clips']} clips x {result['sequences_per_noise'] // max(result['clips'], 1)} cameras, "
        f"{result['frames_20fps_per_noise']} output frames per noise level; lifting + world stage "
        f"{result['lift_and_world_frames_per_second']:.0f} input frames/s"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=1, help="cameras per test clip")
    parser.add_argument(
        "--ablations", action="store_true", help="also lift without --focal and with feet not cleaned up"
    )
    parser.add_argument("--clips", type=int, default=None, help="only the first N test clips (quick checks)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", type=Path, default=None, help="lifter model folder (default: the shipped one)")
    parser.add_argument("--other-model", type=Path, default=None, help="model to compare (default: shipped temporal/)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    result = run(args.cameras, args.clips, args.ablations, args.model, args.other_model)
    result["seconds"] = time.perf_counter() - began
    print(table(result))
    print(f"({result['seconds']:.0f} s, torch threads {args.threads})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
