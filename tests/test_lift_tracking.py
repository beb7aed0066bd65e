"""One person followed through a keypoint file or video, what `lift` says it assumed, and
truncated videos. Synthetic data only; a tiny untrained lifter (the plumbing is tested, not accuracy)."""

from __future__ import annotations

import json

import imageio_ffmpeg
import numpy as np
import pytest
from cli_helpers import run_fd
from lift_helpers import IMAGE_SIZE, coco_keypoints
from motion_samples import synthetic_walk

from motiongen.errors import UserError
from motiongen.lifting import detect
from motiongen.lifting.keypoints import COCO17, LIFT_INDEX
from motiongen.lifting.sources import FrameSource, read_keypoint_file
from motiongen.lifting.tracking import MAX_GAP_SECONDS, track_person
from motiongen.models.lifter import TemporalLifter
from motiongen.pipelines.lift import LiftPipeline, save_pipeline

FPS = 20.0


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    return save_pipeline(TemporalLifter(window=9, width=16, depth=1, heads=2), tmp_path_factory.mktemp("ckpt") / "l")


def _person(frames: int, x: float, scale: float = 1.0) -> np.ndarray:
    """COCO-17 keypoints (T, 17, 3) of a walker, moved to image column `x` and scaled."""
    kp = coco_keypoints(synthetic_walk(frames)).copy()
    centre = kp[:, :, :2].mean((0, 1))
    kp[..., :2] = (kp[..., :2] - centre) * scale + np.array([x, 240.0])
    return kp


# -- tracking ---------------------------------------------------------------------------------


def test_the_largest_central_person_is_followed_even_when_the_detector_reorders_people():
    big, small = _person(30, 320.0, 1.0), _person(30, 560.0, 0.5)
    frames = [[small[t], big[t]] if t % 2 else [big[t], small[t]] for t in range(30)]
    tracked = track_person(frames, FPS, IMAGE_SIZE)
    assert tracked.found.all() and tracked.first == 0 and tracked.notes == []
    np.testing.assert_array_equal(tracked.points, big[..., :2])


def test_person_picks_by_position_from_the_left_and_a_missing_one_is_a_user_error():
    left, right = _person(10, 150.0), _person(10, 480.0)
    frames = [[right[t], left[t]] for t in range(10)]
    np.testing.assert_array_equal(track_person(frames, FPS, IMAGE_SIZE, position=1).points, left[..., :2])
    np.testing.assert_array_equal(track_person(frames, FPS, IMAGE_SIZE, position=2).points, right[..., :2])
    with pytest.raises(UserError, match="--person 3: only 2 people"):
        track_person(frames, FPS, IMAGE_SIZE, position=3)


def test_the_track_never_jumps_to_someone_else_and_a_long_gap_ends_the_clip():
    a, b = _person(60, 200.0), _person(60, 500.0)
    frames = [[a[t], b[t]] if t < 20 else [b[t]] for t in range(60)]  # a leaves after frame 19
    tracked = track_person(frames, FPS, IMAGE_SIZE, position=1)
    assert len(tracked.points) == 20 and tracked.found.all()  # b is never taken for a
    np.testing.assert_array_equal(tracked.points, a[:20, :, :2])
    assert any("ends there" in n and "frames 20-59 not lifted" in n for n in tracked.notes), tracked.notes


def test_short_gaps_are_kept_and_stated_and_leading_frames_without_the_person_are_left_out():
    a = _person(40, 320.0)
    short = int(MAX_GAP_SECONDS * FPS) - 2
    frames = [[] if t < 5 or 20 <= t < 20 + short else [a[t]] for t in range(40)]
    tracked = track_person(frames, FPS, IMAGE_SIZE)
    assert tracked.first == 5 and len(tracked.points) == 35
    assert (~tracked.found).sum() == short and (tracked.scores[~tracked.found] == 0).all()
    assert any(f"{short} frames in 1 short gap" in n for n in tracked.notes), tracked.notes
    assert any("lifting frames 5-39 of 40" in n for n in tracked.notes), tracked.notes


def test_a_file_with_two_people_lifts_the_chosen_one_only(tiny_checkpoint, tmp_path):
    left, right = _person(30, 150.0), _person(30, 480.0, 0.8)
    results = []
    for t in range(30):
        for person in (right, left) if t % 3 else (left, right):
            results.append({"image_id": t, "keypoints": person[t].ravel().tolist(), "score": 0.9})
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"fps": FPS, "image_size": list(IMAGE_SIZE), "frames": results}))
    pipe = LiftPipeline.from_pretrained(tiny_checkpoint)
    for position, person in ((1, left), (2, right), (None, left)):
        result = pipe(path, progress=False, person=position)
        wrist = COCO17.index("left_wrist")
        np.testing.assert_allclose(result.points[:, LIFT_INDEX["left_wrist"]], person[:, wrist, :2], atol=1e-3)
        assert result.detected.all()


# -- what was assumed -----------------------------------------------------------------------------


def test_keypoint_files_say_what_they_assume_and_the_command_prints_it(tiny_checkpoint, tmp_path, capfd):
    kp = coco_keypoints(synthetic_walk(30))
    bare = tmp_path / "bare.npz"
    np.savez(bare, keypoints=kp)
    track = read_keypoint_file(bare)
    assert track.fps == 30.0 and len(track.notes) == 1 and "--fps" in track.notes[0]
    assert read_keypoint_file(bare, fps=25.0).notes == []
    full = tmp_path / "full.npz"
    np.savez(full, keypoints=kp, fps=20.0, image_size=np.array(IMAGE_SIZE))
    assert read_keypoint_file(full).notes == []

    code, err = run_fd(capfd, "lift", bare, "-o", tmp_path / "a.bvh", "--checkpoint", tiny_checkpoint)
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert code == 0 and len(notes) == 3, err
    assert "assumed 30 fps" in notes[0] and "--fps" in notes[0]
    assert "image size unknown" in notes[1] and "--image-size" in notes[1]
    assert "focal length unknown" in notes[2] and "--focal" in notes[2]
    code, err = run_fd(capfd, "lift", full, "-o", tmp_path / "b.bvh", "--checkpoint", tiny_checkpoint, "--focal", "600")
    assert code == 0 and "note:" not in err, err
    code, err = run_fd(capfd, "lift", bare, "-o", tmp_path / "c.bvh", "--checkpoint", tiny_checkpoint, "--quiet")
    assert code == 0 and err == "", err


# -- truncated videos -------------------------------------------------------------------------


def _video(path, frames: int):
    writer = imageio_ffmpeg.write_frames(
        str(path), (64, 48), fps=10, macro_block_size=1, ffmpeg_log_level="error",
        output_params=["-movflags", "+faststart"],
    )  # fmt: skip
    writer.send(None)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.send(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))  # noise: every frame costs bytes
    writer.close()


def test_a_truncated_video_gives_one_warning_saying_how_much_was_read(tiny_checkpoint, tmp_path, monkeypatch, capfd):
    whole, cut = tmp_path / "whole.mp4", tmp_path / "cut.mp4"
    _video(whole, 40)
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    def fake(frames, total=None, progress=True):  # a person in every frame that could be read
        count = len(list(frames))
        kp = coco_keypoints(synthetic_walk(count))
        points = np.zeros((count, 33, 2), np.float32)
        points[:, [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]] = kp[:, 5:17, :2]
        return points, np.where(points[..., 0] != 0, 0.9, 0.0).astype(np.float32)

    monkeypatch.setattr(detect, "detect_mediapipe", fake)
    assert FrameSource(whole).read_report(40) is None
    code, err = run_fd(capfd, "lift", cut, "-o", tmp_path / "out.bvh", "--checkpoint", tiny_checkpoint, "--quiet")
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert code == 0 and len(warnings) == 1, err
    read = int(warnings[0].split("read ")[1].split(" frames")[0])
    assert 5 < read < 35 and "of the 40 its header promises" in warnings[0] and "truncated" in warnings[0]
    code, err = run_fd(capfd, "lift", cut, "-o", tmp_path / "again.bvh", "--checkpoint", tiny_checkpoint, "--quiet")
    assert code == 0 and err.count("warning:") == 1  # detections come from the cache: still said


def test_person_must_count_from_one(tiny_checkpoint, tmp_path, capfd):
    path = tmp_path / "k.npz"
    np.savez(path, keypoints=coco_keypoints(synthetic_walk(10)), fps=20.0)
    code, err = run_fd(capfd, "lift", path, "-o", tmp_path / "o.bvh", "--checkpoint", tiny_checkpoint, "--person", "0")
    assert code == 2 and "--person" in err
