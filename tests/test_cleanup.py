"""The physical clean-up (motiongen/motion/cleanup.py): planted feet, nothing through the floor,
root path and bone lengths kept, clean motion left alone, several people, the pipeline default."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from motion_samples import synthetic_walk

from motiongen.metrics.physics import bone_length_drift, foot_skating_ratio
from motiongen.motion import rotations as R
from motiongen.motion.cleanup import FLOOR_RADIUS, SINK_TOLERANCE, cleanup, foot_contacts
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import FOOT_JOINTS, JOINT_INDEX, PARENTS, bone_lengths

FPS = 20.0
X_AXIS = torch.tensor([1.0, 0.0, 0.0])


def _about_x(angle) -> np.ndarray:
    """Quaternions for rotations by `angle` (array, radians) about +X."""
    return R.axis_angle_to_quat(torch.as_tensor(np.asarray(angle, np.float32))[..., None] * X_AXIS).numpy()


def _on_floor(quats: np.ndarray, root: np.ndarray) -> Motion:
    """The motion moved up or down as a whole so that its lowest sole just touches the floor."""
    motion = Motion(quats, root, FPS)
    feet = list(FOOT_JOINTS)
    low = (motion.positions()[:, feet, 1] - FLOOR_RADIUS[feet]).min()
    return Motion(quats, root - np.array([0, low, 0], np.float32), FPS)


def _bend_legs(quats: np.ndarray, angle, legs=("left", "right")) -> None:
    """Bend hips, knees and ankles so that the thigh leans forward by `angle` and the foot stays
    level (a crouch, or a knee lifted when only one leg bends)."""
    angle = np.asarray(angle, np.float32)
    for side in legs:
        quats[:, JOINT_INDEX[f"{side}_hip"]] = _about_x(-angle)
        quats[:, JOINT_INDEX[f"{side}_knee"]] = _about_x(2 * angle)
        quats[:, JOINT_INDEX[f"{side}_ankle"]] = _about_x(-angle)


def gliding_crouch(frames: int = 20, speed: float = 0.2) -> Motion:
    """Knees bent, the whole body gliding forward: both feet slide over the floor."""
    quats = Motion.rest(frames).quats
    _bend_legs(quats, np.full(frames, 0.4))
    root = np.zeros((frames, 3), np.float32)
    root[:, 2] = speed * np.arange(frames) / FPS
    return _on_floor(quats, root)


def stepping_in_place(frames: int = 60) -> Motion:
    """A clean motion: one knee lifted high, then the other, the standing foot still on the floor,
    the arms waving; nothing slides, sinks or floats."""
    quats = Motion.rest(frames).quats
    t = np.arange(frames)
    for side, (start, stop) in (("right", (5, 21)), ("left", (35, 51))):
        u = np.clip((t - start) / (stop - start), 0, 1)
        _bend_legs(quats, 0.7 * np.sin(np.pi * u), legs=(side,))
    quats[:, JOINT_INDEX["left_shoulder"]] = _about_x(0.5 * np.sin(t / 4))
    quats[:, JOINT_INDEX["right_elbow"]] = _about_x(0.8 * np.sin(t / 3))
    return _on_floor(quats, np.zeros((frames, 3), np.float32))


def sinking_body(frames: int = 40, depth: float = 0.25) -> Motion:
    """Standing, then sinking `depth` metres into the floor and back up."""
    motion = Motion.rest(frames)
    root = motion.root.copy()
    root[:, 1] -= depth * np.sin(np.pi * np.arange(frames) / (frames - 1)) ** 2
    return Motion(motion.quats, root, FPS)


def lying_through_the_floor(frames: int = 30) -> Motion:
    """Lying on the back with the pelvis at floor level: the back, head and arms are in the floor."""
    quats = Motion.rest(frames).quats
    quats[:, 0] = _about_x(np.full(frames, -np.pi / 2))
    root = np.zeros((frames, 3), np.float32)
    root[:, 2] = 0.05 * np.sin(np.arange(frames) / 5)  # a little squirming
    return Motion(quats, root, FPS)


def _speed(positions: np.ndarray, joint: int) -> np.ndarray:
    return np.linalg.norm(np.diff(positions[:, joint], axis=0), axis=-1) * FPS


def _lowest_surface(motion: Motion) -> float:
    return float((motion.positions()[..., 1] - FLOOR_RADIUS).min())


def test_a_sliding_foot_is_locked():
    motion = gliding_crouch()
    before, after = motion.positions(), cleanup(motion).positions()
    contact = foot_contacts(before[:, list(FOOT_JOINTS)].astype(np.float64), before[:, 0], FPS)
    assert contact.all(axis=1).mean() > 0.9  # low and slow: in contact nearly throughout
    for k, joint in enumerate(FOOT_JOINTS):
        in_contact = contact[1:, k] & contact[:-1, k]
        assert _speed(before, joint)[in_contact].min() > 0.19  # it slid at 0.2 m/s...
        assert _speed(after, joint)[in_contact].max() < 0.01  # ...and now stands still
    np.testing.assert_array_equal(cleanup(motion).root[:, [0, 2]], motion.root[:, [0, 2]])


def test_the_knees_bend_to_keep_a_locked_foot_while_the_body_moves_on():
    motion = gliding_crouch()
    cleaned = cleanup(motion)
    knee = JOINT_INDEX["left_knee"]
    changed = np.abs(R.quat_to_axis_angle(torch.from_numpy(cleaned.quats[:, knee])).numpy()[:, 0] - 0.8)
    assert changed.max() > 0.03  # the knee angle follows the hip over the planted foot
    untouched = [j for j in range(22) if j not in (1, 2, 4, 5, 7, 8)]  # all but hips, knees, ankles
    np.testing.assert_array_equal(cleaned.quats[:, untouched], motion.quats[:, untouched])


def test_a_walk_keeps_its_root_path_and_speed_and_skates_less():
    walk = synthetic_walk(80, heading=0.7)
    cleaned = cleanup(walk)
    np.testing.assert_array_equal(cleaned.root[:, [0, 2]], walk.root[:, [0, 2]])
    speed = np.linalg.norm(np.diff(cleaned.root[:, [0, 2]], axis=0), axis=-1).mean() * FPS
    raw_speed = np.linalg.norm(np.diff(walk.root[:, [0, 2]], axis=0), axis=-1).mean() * FPS
    assert abs(speed / raw_speed - 1) < 0.1
    assert np.abs(cleaned.root[:, 1] - walk.root[:, 1]).max() < 0.05  # only a small vertical shift
    assert foot_skating_ratio(cleaned.positions(), FPS) < foot_skating_ratio(walk.positions(), FPS)
    assert cleaned.meta["cleanup"]["locked_frames"] > 0 and cleaned.meta["cleanup"]["frames"] == 80


@pytest.mark.parametrize("make", [sinking_body, lying_through_the_floor])
def test_nothing_goes_below_the_floor(make):
    motion = make()
    assert _lowest_surface(motion) < -0.1
    cleaned = cleanup(motion)
    assert _lowest_surface(cleaned) >= -SINK_TOLERANCE - 1e-4
    assert cleaned.positions()[..., 1].min() > -0.03  # no joint centre more than 3 cm below the floor
    assert cleaned.meta["cleanup"]["max_root_shift_m"] > 0.05


def test_the_floor_correction_is_smooth():
    cleaned = cleanup(sinking_body())
    root_y = cleaned.root[:, 1].astype(np.float64)
    # no steps: the vertical root jerk stays in the range of the motion it corrects
    assert np.abs(np.diff(root_y, n=3)).max() * FPS**3 < 20.0


def test_a_hovering_body_comes_down_to_the_floor():
    motion = stepping_in_place()
    floating = Motion(motion.quats, motion.root + np.array([0, 0.15, 0], np.float32), FPS)
    cleaned = cleanup(floating)
    np.testing.assert_allclose(cleaned.positions(), motion.positions(), atol=0.025)


def test_a_clean_motion_comes_out_unchanged():
    for motion in (stepping_in_place(), Motion.rest(30)):
        cleaned = cleanup(motion)
        np.testing.assert_allclose(cleaned.positions(), motion.positions(), atol=1e-3)
        np.testing.assert_allclose(cleaned.root, motion.root, atol=1e-3)


def test_cleaning_twice_changes_little():
    once = cleanup(stepping_in_place())
    np.testing.assert_allclose(cleanup(once).positions(), once.positions(), atol=1e-3)


def test_bone_lengths_are_unchanged():
    for motion in (gliding_crouch(), synthetic_walk(80), lying_through_the_floor()):
        pos = cleanup(motion).positions()
        assert bone_length_drift(pos) < 1e-5
        child = np.arange(1, 22)
        lengths = np.linalg.norm(pos[:, child] - pos[:, list(PARENTS[1:])], axis=-1)
        np.testing.assert_allclose(lengths, np.broadcast_to(bone_lengths()[1:], lengths.shape), atol=1e-4)


def test_several_people_are_each_cleaned():
    people = [gliding_crouch(), sinking_body(20), synthetic_walk(20)]
    cleaned = cleanup(people)
    assert isinstance(cleaned, list) and len(cleaned) == 3
    for person, alone in zip(people, cleaned, strict=True):
        np.testing.assert_array_equal(alone.quats, cleanup(person).quats)
        np.testing.assert_array_equal(alone.root, cleanup(person).root)
        assert "cleanup" in alone.meta and "cleanup" not in person.meta  # the input is not changed
    assert _lowest_surface(cleaned[1]) >= -SINK_TOLERANCE - 1e-4


def test_kept_frames_stay_exactly_as_given():
    motion = sinking_body()
    keep = np.zeros(len(motion), bool)
    keep[:10] = True
    cleaned = cleanup(motion, keep=keep)
    np.testing.assert_array_equal(cleaned.quats[:10], motion.quats[:10])
    np.testing.assert_array_equal(cleaned.root[:10], motion.root[:10])
    # the frame next to them goes on from them as it was placed; the rest is fixed after a short fade
    np.testing.assert_allclose(cleaned.positions()[10], motion.positions()[10], atol=1e-6)
    assert _lowest_surface(cleaned.slice(20)) >= -SINK_TOLERANCE - 1e-4
    with pytest.raises(ValueError, match="one entry per frame"):
        cleanup(motion, keep=keep[:5])


def test_long_clips_are_cleaned_in_chunks_with_the_same_result(monkeypatch):
    """Forward kinematics in chunks of frames (flat memory for clips of minutes) gives the same
    positions as in one piece, across chunk boundaries."""
    from motiongen.motion import cleanup as module
    from motiongen.motion import motion as motion_module

    walk = synthetic_walk()
    positions, glob = module._kinematics(walk, chunk=7)
    np.testing.assert_allclose(positions, walk.positions(), atol=1e-5)
    _, whole = module._kinematics(walk, chunk=len(walk))
    np.testing.assert_array_equal(glob, whole)
    monkeypatch.setattr(motion_module, "POSITION_CHUNK", 5)
    chunked = walk.positions()
    monkeypatch.setattr(motion_module, "POSITION_CHUNK", len(walk))
    np.testing.assert_array_equal(chunked, walk.positions())
    whole_clip = cleanup(walk)
    in_one_piece = module._kinematics
    monkeypatch.setattr(module, "_kinematics", lambda motion: in_one_piece(motion, chunk=7))
    in_chunks = cleanup(walk)
    np.testing.assert_allclose(in_chunks.quats, whole_clip.quats, atol=1e-6)
    np.testing.assert_allclose(in_chunks.root, whole_clip.root, atol=1e-6)


def test_short_and_still_clips():
    for frames in (1, 2, 3):
        cleaned = cleanup(Motion.rest(frames))
        np.testing.assert_allclose(cleaned.positions(), Motion.rest(frames).positions(), atol=1e-5)


def test_it_is_fast():
    walk = synthetic_walk(80)
    cleanup(walk)  # warm-up
    times = []
    for _ in range(5):
        start = time.process_time()  # CPU time: wall time on a loaded test machine says little
        cleanup(walk)
        times.append(time.process_time() - start)
    # The goal is 20 ms per 4-s clip (benchmarks/bench_cleanup.py measures wall time); slack here.
    assert min(times) < 0.1


# -- the text-to-motion pipeline ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    from motiongen.paths import CHECKPOINT_DIR
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    folder = CHECKPOINT_DIR / "t2m"
    if not (folder / "model_index.json").exists():
        pytest.skip("the shipped checkpoint is not there")
    return TextToMotionPipeline.from_pretrained(folder)


def test_the_pipeline_cleans_its_output_by_default(shipped):
    kwargs = dict(seconds=2.0, num_inference_steps=5, seed=3, progress=False)
    cleaned = shipped(["a person walks forward"], **kwargs)[0]
    assert shipped.last_timing["cleanup_s"] < 1.0
    raw = shipped(["a person walks forward"], cleanup=False, **kwargs)[0]
    assert "cleanup" in cleaned.meta and "cleanup" not in raw.meta
    again = cleanup(raw)
    np.testing.assert_allclose(cleaned.quats, again.quats, atol=1e-6)
    np.testing.assert_allclose(cleaned.root, again.root, atol=1e-6)
    assert not np.allclose(cleaned.positions(), raw.positions(), atol=1e-3)
    np.testing.assert_array_equal(cleaned.root[:, [0, 2]], raw.root[:, [0, 2]])  # same path


def test_the_pipeline_keeps_known_frames(shipped):
    from motiongen.conditioning.partial import KnownMotion
    from motiongen.motion.features import motion_to_features

    prefix = synthetic_walk(10)
    known = KnownMotion.prefix(prefix, 30)
    out = shipped(["a person walks forward"], seconds=1.5, known=known, num_inference_steps=5, progress=False)[0]
    assert "cleanup" in out.meta
    torch.testing.assert_close(motion_to_features(out)[:10], known.features[:10], atol=1e-4, rtol=0)


def test_generate_cleans_unless_told_not_to(shipped, monkeypatch, capsys, tmp_path):
    import sys

    from motiongen.cli.app import main
    from motiongen.io import load_motion
    from motiongen.paths import CHECKPOINT_DIR

    def generate(*extra):
        args = ["generate", "a person walks forward", "-s", "1.5", "--steps", "3", "--threads", "1", *extra]
        monkeypatch.setattr(sys, "argv", ["motiongen", *args, "--checkpoint", str(CHECKPOINT_DIR / "t2m")])
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, capsys.readouterr().err
        return capsys.readouterr().out

    out = generate("-o", str(tmp_path / "clean.npz"))
    assert "clean-up: feet planted in" in out
    assert "clean-up" not in generate("--no-cleanup", "-o", str(tmp_path / "raw.npz"))
    clean, raw = load_motion(tmp_path / "clean.npz"), load_motion(tmp_path / "raw.npz")
    np.testing.assert_allclose(cleanup(raw).positions(), clean.positions(), atol=1e-4)
    assert not np.allclose(raw.positions(), clean.positions(), atol=1e-3)


def test_shaking_is_smoothed_and_calm_motion_left_alone():
    from motiongen.data.corpus import load_corpus
    from motiongen.metrics.physics import jitter
    from motiongen.motion.cleanup import smooth_shaking

    walk = next(c.motion for c in load_corpus() if c.name == "walk_forward")  # real, calm: jerk <= 96 m/s^3
    calm, touched = smooth_shaking(walk, np.ones(len(walk)))
    assert touched == 0 and calm is walk
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.03, walk.quats.shape)  # about 3 degrees of shake in every joint
    shaky = Motion(walk.quats + noise.astype(np.float32), walk.root, walk.fps)
    steady, touched = smooth_shaking(shaky, np.ones(len(walk)))
    assert touched > 0.9 * len(walk)
    assert jitter(steady.positions(), walk.fps) < 0.5 * jitter(shaky.positions(), walk.fps)
    np.testing.assert_array_equal(steady.root[:, [0, 2]], shaky.root[:, [0, 2]])
    kept, _ = smooth_shaking(shaky, np.zeros(len(walk)))  # nothing free to change
    np.testing.assert_array_equal(kept.quats, shaky.quats)
