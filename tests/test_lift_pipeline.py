"""The lift pipeline and command: keypoint files end to end, detection cache, no-person error, round trips.

A tiny untrained lifter keeps these tests fast and independent of the shipped weights; what is
tested is the plumbing (inputs, cache, world placement, export), not the accuracy (benchmarks/bench_lift.py).
"""

from __future__ import annotations

import json
import os

import imageio_ffmpeg
import numpy as np
import pytest
from cli_helpers import run_fd
from lift_helpers import IMAGE_SIZE, coco_keypoints
from motion_samples import synthetic_walk

from motiongen.errors import UserError
from motiongen.io import load_motion
from motiongen.lifting import detect
from motiongen.lifting.keypoints import COCO17, LIFT_INDEX, MEDIAPIPE33
from motiongen.models.lifter import TemporalLifter, lift_sequence
from motiongen.paths import CHECKPOINT_DIR
from motiongen.pipelines.lift import LiftPipeline, resample_track, save_pipeline


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "lifter"
    return save_pipeline(TemporalLifter(window=9, width=16, depth=1, heads=2), path)


@pytest.fixture(scope="module")
def coco_json(tmp_path_factory):
    kp = coco_keypoints(synthetic_walk(30))
    frames = [{"image_id": i, "keypoints": kp[i].ravel().tolist(), "score": 0.9} for i in range(len(kp))]
    path = tmp_path_factory.mktemp("kp") / "walk.json"
    path.write_text(json.dumps({"fps": 30, "image_size": list(IMAGE_SIZE), "frames": frames}))
    return path


def _write_video(path, frames):
    writer = imageio_ffmpeg.write_frames(
        str(path), frames[0].shape[1::-1], fps=10, macro_block_size=1, ffmpeg_log_level="error"
    )
    writer.send(None)
    for f in frames:
        writer.send(np.ascontiguousarray(f))
    writer.close()


def test_lifter_shapes_and_sliding_windows():
    import torch

    torch.manual_seed(0)
    model = TemporalLifter(window=9, width=16, depth=1, heads=2)
    out, contacts = model(torch.zeros(2, 9, 18, 3))
    assert out.shape == (2, 9, 22, 3) and (out[:, :, 0] == 0).all()
    assert contacts.shape == (2, 9, 4)
    rng = np.random.default_rng(0)
    for frames in (1, 5, 37):  # shorter than, and several times the window
        kp = rng.uniform(0, 300, (frames, 18, 2)).astype(np.float32)
        pose, contacts = lift_sequence(model, kp, np.ones((frames, 18), np.float32))
        assert pose.shape == (frames, 22, 3) and np.isfinite(pose).all()
        assert contacts.shape == (frames, 4) and ((contacts >= 0) & (contacts <= 1)).all()
    # each window is lifted on its own: a frame far away cannot change an early one
    kp = rng.uniform(0, 300, (40, 18, 2)).astype(np.float32)
    a, _ = lift_sequence(model, kp, np.ones((40, 18), np.float32))
    kp[-1] += 50
    b, _ = lift_sequence(model, kp, np.ones((40, 18), np.float32))
    np.testing.assert_array_equal(a[:10], b[:10])
    assert not np.array_equal(a[-1], b[-1])


def test_resampling_a_track_keeps_its_duration():
    pts = np.linspace(0, 30, 31, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    conf = np.ones((31, 2), np.float32)
    conf[15, 1] = 0
    new, c = resample_track(pts, conf, 30.0, 20.0)
    assert len(new) == 21
    np.testing.assert_allclose(new[:, 0, 0], np.arange(21) * 1.5, atol=1e-5)
    assert c[10, 1] == 0 and c[10, 0] == 1  # frame 15 of the original was unseen


def test_coco_json_lifts_to_bvh_and_reads_back(tiny_checkpoint, coco_json, tmp_path, capfd):
    out = tmp_path / "walk.bvh"
    code, err = run_fd(capfd, "lift", coco_json, "-o", out, "--checkpoint", tiny_checkpoint, "--quiet")
    assert code == 0 and err == "", err
    motion = load_motion(out)
    assert abs(motion.duration - 30 / 30) < 0.1  # 1 s of input at 30 fps
    pipe = LiftPipeline.from_pretrained(tiny_checkpoint)
    lifted = pipe(coco_json, progress=False).motion
    np.testing.assert_allclose(motion.resampled(lifted.fps).positions(), lifted.positions(), atol=0.02)
    np.testing.assert_array_equal(pipe(coco_json, progress=False).motion.quats, lifted.quats)  # deterministic


def test_npz_keypoints_to_npz_motion_round_trip(tiny_checkpoint, tmp_path):
    kp = coco_keypoints(synthetic_walk(25))
    src = tmp_path / "walk_kp.npz"
    np.savez(src, keypoints=kp, fps=20.0, image_size=np.array(IMAGE_SIZE))
    pipe = LiftPipeline.from_pretrained(tiny_checkpoint)
    result = pipe(src, progress=False)
    assert len(result.motion) == 25 and result.detected.all()
    from motiongen.io import save_motion

    save_motion(result.motion, tmp_path / "out.npz")
    back = load_motion(tmp_path / "out.npz")
    np.testing.assert_allclose(back.positions(), result.motion.positions(), atol=1e-4)
    assert result.motion.fps == 20.0 and result.motion.meta["source"] == "walk_kp.npz"


def test_missing_frames_are_filled_and_flagged(tiny_checkpoint, tmp_path):
    kp = coco_keypoints(synthetic_walk(20))
    kp[5:9, :, 2] = 0.0  # nobody detected in four frames
    src = tmp_path / "gappy.npz"
    np.savez(src, keypoints=kp, fps=20.0, image_size=np.array(IMAGE_SIZE))
    result = LiftPipeline.from_pretrained(tiny_checkpoint)(src, progress=False)
    assert result.detected.tolist() == [i not in range(5, 9) for i in range(20)]
    assert np.isfinite(result.points).all() and len(result.motion) == 20
    mid = (kp[4, :, :2] + kp[9, :, :2]) / 2  # interpolated halfway between the neighbours
    wrist = LIFT_INDEX["left_wrist"]
    np.testing.assert_allclose(
        (result.points[6, wrist] + result.points[7, wrist]) / 2, mid[COCO17.index("left_wrist")], atol=1e-3
    )


def _fake_detections(frames: int):
    """A MediaPipe-33 track made from the synthetic COCO track (toes a little ahead of the ankles)."""
    coco = coco_keypoints(synthetic_walk(frames))
    pts = np.zeros((frames, 33, 2), np.float32)
    for i, name in enumerate(MEDIAPIPE33):
        source = {"left_foot_index": "left_ankle", "right_foot_index": "right_ankle"}.get(name, name)
        if source in COCO17:
            pts[:, i] = coco[:, COCO17.index(source), :2]
    return pts, np.where(pts[..., 0] != 0, 0.9, 0.0).astype(np.float32)


def test_detections_are_cached_beside_the_video(tiny_checkpoint, tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    _write_video(video, [np.full((48, 64, 3), i * 20, np.uint8) for i in range(6)])
    calls = []

    def fake(frames, total=None, progress=True):
        frames = list(frames)
        calls.append(len(frames))
        return _fake_detections(len(frames))

    monkeypatch.setattr(detect, "detect_mediapipe", fake)
    pipe = LiftPipeline.from_pretrained(tiny_checkpoint)
    first = pipe(video, progress=False)
    assert calls == [6]
    assert (tmp_path / "clip.mp4.keypoints.npz").exists()
    second = pipe(video, progress=False)
    assert calls == [6]  # read from the cache
    np.testing.assert_array_equal(first.motion.quats, second.motion.quats)
    pipe(video, progress=False, use_cache=False)
    assert calls == [6, 6]
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the video changed
    pipe(video, progress=False)
    assert calls == [6, 6, 6]


def test_a_video_without_a_person_is_a_one_line_error(tiny_checkpoint, tmp_path, capfd):
    pytest.importorskip("mediapipe")
    video = tmp_path / "black.mp4"
    _write_video(video, [np.zeros((64, 64, 3), np.uint8)] * 5)
    code, err = run_fd(capfd, "lift", video, "-o", tmp_path / "out.bvh", "--checkpoint", tiny_checkpoint, "--quiet")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err  # MediaPipe's own logging is kept out
    assert err.startswith("error: no person found in black.mp4")
    assert not (tmp_path / "out.bvh").exists()


def test_bad_arguments_fail_fast(tiny_checkpoint, coco_json, tmp_path, capfd):
    existing = tmp_path / "exists.bvh"
    existing.write_text("keep me")
    code, err = run_fd(capfd, "lift", coco_json, "-o", existing, "--checkpoint", tiny_checkpoint)
    assert code == 2 and "--force" in err
    assert existing.read_text() == "keep me"
    code, err = run_fd(capfd, "lift", coco_json, "-o", tmp_path / "x.bvh", "--checkpoint", tmp_path / "nowhere")
    assert code == 2 and "no lifter checkpoint" in err
    code, err = run_fd(capfd, "lift", coco_json, "-o", tmp_path / "x.bvh", "--image-size", "large")
    assert code == 2 and "1920x1080" in err
    code, err = run_fd(capfd, "lift", coco_json, "-o", tmp_path / "x.txt")
    assert code == 2 and "cannot write" in err
    with pytest.raises(UserError, match="not found"):
        LiftPipeline.from_pretrained(tiny_checkpoint)(tmp_path / "missing.mp4")


def test_overlay_of_a_keypoint_file(tiny_checkpoint, coco_json, tmp_path):
    from motiongen.lifting.overlay import write_overlay

    result = LiftPipeline.from_pretrained(tiny_checkpoint)(coco_json, progress=False)
    path = write_overlay(result, tmp_path / "overlay.mp4", progress=False)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = sum(1 for _ in reader)
    assert frames == len(result.points) == 30
    width, height = meta["size"]
    assert height == IMAGE_SIZE[1] and width > IMAGE_SIZE[0]  # input beside the 3D view


def test_the_shipped_lifters_load():
    pipe = LiftPipeline.from_pretrained(CHECKPOINT_DIR / "lifter")
    assert pipe.lifter.config.window == 1  # the per-frame model measured best on held-out motion
    assert TemporalLifter.from_pretrained(CHECKPOINT_DIR / "lifter" / "temporal").config.window > 1


def test_an_image_folder_is_read_in_natural_order(tiny_checkpoint, tmp_path, monkeypatch):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (1, 2, 10):  # frame10 sorts after frame2; one image of another size is resized
        size = (64, 48) if i != 2 else (32, 24)
        Image.new("RGB", size, (i * 20, 0, 0)).save(folder / f"frame{i}.png")
    (folder / "notes.txt").write_text("not an image")
    seen = []

    def fake(frames, total=None, progress=True):
        for f in frames:
            seen.append((f.shape, int(f[0, 0, 0])))
        return _fake_detections(len(seen))

    monkeypatch.setattr(detect, "detect_mediapipe", fake)
    result = LiftPipeline.from_pretrained(tiny_checkpoint)(folder, fps=10, progress=False)
    assert seen == [((48, 64, 3), 20), ((48, 64, 3), 40), ((48, 64, 3), 200)]
    assert result.keypoints.fps == 10 and result.image_size == (64, 48)
    assert (tmp_path / "frames.keypoints.npz").exists()
