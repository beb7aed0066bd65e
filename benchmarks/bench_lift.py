"""Lifting benchmark: accuracy on held-out projections and speed per frame.

    .venv/bin/python benchmarks/bench_lift.py [--cameras 32] [--speed-frames 100] [--json out.json]

Accuracy: the corpus test split, each clip seen by `--cameras` random cameras with detector-like
2D noise, both drawn from ranges and a seed the lifter was not trained with
(motiongen/lifting/evaluate.py). MPJPE and PA-MPJPE in mm for the shipped temporal lifter and the
per-frame baseline (the same network with a one-frame window, trained the same way), with noisy
and with exact 2D. World placement (static cameras): root trajectory error, foot skating, jitter,
next to the same figures for the real motion.

Real detector: the test clips rendered as skeleton videos, detected by MediaPipe, lifted and
compared in the renderer's camera (MPJPE) and per frame after Procrustes alignment (PA-MPJPE).

Speed: MediaPipe detection per frame (on OpenCV's vtest.avi when installed, else on a synthetic
video), lifting and world placement per frame.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
VTEST_FIRST = 165  # from here on MediaPipe follows one walker for 15 s


def accuracy(cameras: int) -> dict:
    from motiongen.lifting.evaluate import (
        CLEAN,
        EVAL_CAMERAS,
        evaluate_lifter,
        evaluate_world,
        test_sequences,
    )
    from motiongen.lifting.world import WorldOptions
    from motiongen.models.lifter import TemporalLifter
    from motiongen.training.train_lifter import corpus_tracks

    models = {
        "temporal": TemporalLifter.from_pretrained(ROOT / "checkpoints/lifter/lifter"),
        "per_frame": TemporalLifter.from_pretrained(ROOT / "checkpoints/lifter/per_frame"),
    }
    tracks = corpus_tracks("test", loop_frames=0)
    noisy = test_sequences(tracks, cameras)
    clean = test_sequences(tracks, cameras, noise=CLEAN)
    static = test_sequences(tracks, cameras, ranges=replace(EVAL_CAMERAS, moving=0.0, follow=0.0))
    out = {"clips": len(tracks), "sequences": len(noisy), "frames": int(sum(len(s.keypoints) for s in noisy))}
    for name, model in models.items():
        out[name] = {
            "noisy_2d": evaluate_lifter(model, noisy),
            "exact_2d": evaluate_lifter(model, clean),
            "world_static_camera": evaluate_world(model, static),
        }
        if name == "temporal":  # what foot pinning does
            out[name]["world_static_camera_unpinned"] = evaluate_world(
                model, static, options=WorldOptions(pin_feet=False)
            )
        out[name]["window"] = model.config.window
    return out


def rendered_accuracy(workdir: Path) -> dict:
    """Real detector noise: each test clip is rendered as a skeleton video (motiongen.render.video),
    MediaPipe finds the figure, and the lifted pose is compared with the clip in the renderer's
    camera coordinates (MPJPE) and after per-frame Procrustes alignment (PA-MPJPE)."""
    from motiongen.data.corpus import load_corpus
    from motiongen.lifting.evaluate import mpjpe, pa_mpjpe
    from motiongen.models.lifter import TemporalLifter, lift_sequence
    from motiongen.pipelines.lift import LiftPipeline
    from motiongen.render.video import Scene, write

    models = {
        name: TemporalLifter.from_pretrained(ROOT / "checkpoints/lifter" / folder)
        for name, folder in (("temporal", "lifter"), ("per_frame", "per_frame"))
    }
    pipe = LiftPipeline(models["temporal"])
    errors = {name: ([], []) for name in models}
    detected, frames, sides_right = 0, 0, 0
    for clip in load_corpus("test"):
        video = workdir / f"{clip.name}.mp4"
        if not video.exists():
            write([clip.motion], video, progress=False)
        camera = Scene([clip.motion]).camera
        world = clip.motion.positions()
        cam = np.einsum("ij,tkj->tki", camera.rotation, world - camera.positions[: len(world), None])
        result = pipe(video, progress=False)
        n = min(len(cam), len(result.points))
        detected += int(result.detected[:n].sum())
        frames += n
        # A faceless figure gives the detector no clue which way it faces: count the frames where its
        # left and right hips are the right way round in the image.
        hips = np.stack([camera.project(world[t, 1:3], t)[0] for t in range(n)])
        sides_right += int(
            (np.sign(hips[:, 0, 0] - hips[:, 1, 0]) == np.sign(result.points[:n, 1, 0] - result.points[:n, 2, 0])).sum()
        )
        for name, model in models.items():
            pred, _ = lift_sequence(model, result.points[:n], result.confidence[:n])
            errors[name][0].append(mpjpe(pred, cam[:n]))
            errors[name][1].append(pa_mpjpe(pred, cam[:n]))
    out = {"frames": frames, "detected_frames": detected, "left_right_correct_frames": sides_right}
    for name, (e, pa) in errors.items():
        out[name] = {
            "mpjpe_mm": 1000 * float(np.concatenate(e).mean()),
            "pa_mpjpe_mm": 1000 * float(np.concatenate(pa).mean()),
        }
    return out


def _frames_for_speed(count: int):
    if VTEST.exists():
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(VTEST))
        width, height = next(reader)["size"]
        for i, raw in enumerate(reader):
            if i < VTEST_FIRST:
                continue
            if i >= VTEST_FIRST + count:
                break
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
        reader.close()
        return
    rng = np.random.default_rng(0)
    for _ in range(count):
        yield rng.integers(0, 255, (576, 768, 3), dtype=np.uint8)


def speed(frames: int) -> dict:
    import torch

    from motiongen.lifting.detect import detect_mediapipe
    from motiongen.lifting.world import to_world
    from motiongen.models.lifter import TemporalLifter, lift_sequence

    source = f"{VTEST} frames {VTEST_FIRST}+" if VTEST.exists() else "random 768x576"
    out = {"threads": torch.get_num_threads(), "detect_source": source}
    pictures = list(_frames_for_speed(frames + 5))
    detect_mediapipe(pictures[:5], progress=False)  # model load and warm-up, not counted
    began = time.perf_counter()
    detect_mediapipe(pictures[5:], progress=False)
    out["detect_ms_per_frame"] = 1000 * (time.perf_counter() - began) / frames

    # Lifting a 60 s track of 2D keypoints at 20 fps (what the lifter sees after resampling).
    from motiongen.lifting.evaluate import test_sequences
    from motiongen.training.train_lifter import corpus_tracks

    track = corpus_tracks("test", loop_frames=0)[0]
    reps = int(np.ceil(1200 / len(track.positions)))
    track = replace(
        track,
        positions=np.tile(track.positions, (reps, 1, 1))[:1200],
        head_rotation=np.tile(track.head_rotation, (reps, 1, 1))[:1200],
    )
    seq = test_sequences([track], 1)[0]
    for name in ("lifter", "per_frame"):
        model = TemporalLifter.from_pretrained(ROOT / "checkpoints/lifter" / name)
        lift_sequence(model, seq.keypoints[:100], seq.confidence[:100])
        began = time.perf_counter()
        relative, contacts = lift_sequence(model, seq.keypoints, seq.confidence)
        out[f"lift_{name}_ms_per_frame"] = 1000 * (time.perf_counter() - began) / len(seq.keypoints)
    began = time.perf_counter()
    to_world(relative, seq.keypoints, seq.confidence, seq.focal, seq.center, 20.0, contact_probabilities=contacts)
    out["world_ms_per_frame"] = 1000 * (time.perf_counter() - began) / len(seq.keypoints)
    return out


def table(acc: dict) -> str:
    rows = [
        "| model | window | MPJPE noisy 2D | PA-MPJPE noisy 2D | MPJPE exact 2D | PA-MPJPE exact 2D |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("temporal", "per_frame"):
        r = acc[name]
        rows.append(
            f"| {name} | {r['window']} | {r['noisy_2d']['mpjpe_mm']:.1f} | {r['noisy_2d']['pa_mpjpe_mm']:.1f} "
            f"| {r['exact_2d']['mpjpe_mm']:.1f} | {r['exact_2d']['pa_mpjpe_mm']:.1f} |"
        )
    if "rendered" in acc:
        r = acc["rendered"]
        rows += [
            "",
            f"MediaPipe on rendered test clips ({r['detected_frames']}/{r['frames']} frames detected, left/right "
            f"the right way round in {r['left_right_correct_frames']}):",
            "",
            "| model | MPJPE | PA-MPJPE |",
            "| --- | ---: | ---: |",
        ]
        rows += [f"| {n} | {r[n]['mpjpe_mm']:.1f} | {r[n]['pa_mpjpe_mm']:.1f} |" for n in ("temporal", "per_frame")]
    rows += [
        "",
        "| model | root error (mm) | foot skating | jitter (m/s³) | real skating | real jitter |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, key in (
        ("temporal", "world_static_camera"),
        ("temporal, feet not pinned", "world_static_camera_unpinned"),
        ("per_frame", "world_static_camera"),
    ):
        w = acc[name.split(",")[0]][key]
        rows.append(
            f"| {name} | {w['root_error_mm']:.0f} | {w['skating_ratio']:.3f} | {w['jitter']:.1f} "
            f"| {w['skating_ratio_real']:.3f} | {w['jitter_real']:.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=32, help="cameras per test clip")
    parser.add_argument("--speed-frames", type=int, default=100, help="frames for the detection timing")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-rendered", action="store_true", help="skip the MediaPipe-on-rendered-clips test")
    parser.add_argument("--workdir", type=Path, default=None, help="keep rendered clips and detections here")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    results = {}
    if not args.skip_accuracy:
        results["accuracy"] = accuracy(args.cameras)
        if not args.skip_rendered:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                workdir = args.workdir or Path(tmp)
                workdir.mkdir(parents=True, exist_ok=True)
                results["accuracy"]["rendered"] = rendered_accuracy(workdir)
        print(table(results["accuracy"]))
        print(f"({results['accuracy']['sequences']} sequences, {results['accuracy']['frames']} frames)")
    if not args.skip_speed:
        results["speed"] = speed(args.speed_frames)
        print(json.dumps(results["speed"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
