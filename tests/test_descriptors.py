"""Action descriptors: known values on synthetic motion and on real corpus clips."""

from __future__ import annotations

import numpy as np
import pytest
from motion_samples import synthetic_walk, t_pose

from motiongen.data.corpus import load_corpus
from motiongen.metrics import descriptors as d
from motiongen.motion.motion import Motion


def test_walk_speed_and_travel_are_the_root_path():
    walk = synthetic_walk(frames=41, speed=1.2, heading=0.7)
    assert d.travel(walk) == pytest.approx(1.2 * 40 / 20, abs=1e-4)
    assert d.speed(walk) == pytest.approx(1.2 * 40 / 41, abs=1e-4)  # duration counts every frame
    assert d.foot_lift(walk) < 0.05 and d.inverted(walk) == 0


def test_a_lifted_body_is_a_foot_lift_of_that_height():
    motion = t_pose(frames=20)
    motion.root[8:12, 1] += 0.3
    assert d.foot_lift(motion) == pytest.approx(0.3, abs=1e-5)
    assert d.rise(motion) == pytest.approx(0.0, abs=1e-6)


def test_upside_down_frames_count_as_inverted_seconds():
    motion = t_pose(frames=20)
    flip = np.array([0.0, 1.0, 0.0, 0.0], np.float32)  # 180 degrees about X
    motion.quats[5:15, 0] = flip
    assert d.inverted(motion) == pytest.approx(10 / 20)


def test_turning_left_is_positive_and_mirroring_flips_it():
    frames = 21
    angles = np.linspace(0, np.pi, frames)  # heading 0 -> 180 deg: a left turn, seen from above
    quats = np.zeros((frames, 22, 4), np.float32)
    quats[..., 0] = 1
    quats[:, 0] = np.stack([np.cos(angles / 2), 0 * angles, np.sin(angles / 2), 0 * angles], -1)
    root = np.tile(t_pose().root[:1], (frames, 1))
    motion = Motion(quats, root, 20.0)
    assert d.turn(motion) == pytest.approx(180, abs=1e-3)
    assert d.turn(motion.mirrored()) == pytest.approx(-180, abs=1e-3)


def test_corpus_clips_have_the_signatures_of_their_actions():
    clips = {c.name: c.motion for c in load_corpus(None)}
    assert d.speed(clips["run"]) > 2 * d.speed(clips["walk"]) > 1.0
    assert d.foot_lift(clips["jump"]) > 0.15 > d.foot_lift(clips["walk"])
    assert d.inverted(clips["backflip"]) > 0.2 and d.inverted(clips["walk"]) == 0
    assert d.turn(clips["turn_left0"]) > 20 and d.turn(clips["turn_right0"]) < -20
    assert d.head_height(clips["crawl"]) < 0.6 < 1.4 < d.head_height(clips["walk"])
    assert d.rise(clips["getup_faceup"]) > 1.0
    # The corpus kick and punch are right-sided (their captions say so); mirrored, left-sided.
    assert d.side_reach(clips["kick"], "foot") < -1.0 < 1.0 < d.side_reach(clips["kick"].mirrored(), "foot")
    assert d.side_reach(clips["punch"], "wrist") < -0.1 < 0.1 < d.side_reach(clips["punch"].mirrored(), "wrist")


def test_step_swing_is_the_ankles_sway_about_the_pelvis_whatever_the_heading():
    standing = t_pose(frames=20)
    assert d.step_swing(standing) == pytest.approx(0.0, abs=1e-6)
    # the same synthetic walk facing two directions swings the same
    assert d.step_swing(synthetic_walk(heading=0.0)) == pytest.approx(
        d.step_swing(synthetic_walk(heading=2.0)), abs=1e-4
    )
    clips = {c.name: c.motion for c in load_corpus(None)}
    assert 0.18 < d.step_swing(clips["walk"]) < 0.25 < d.step_swing(clips["run"])


def _arms_up(motion: Motion, frames: slice) -> Motion:
    """Both arms raised straight up (shoulders turned 90 degrees about the forward axis) in `frames`."""
    from motiongen.motion.skeleton import JOINT_INDEX

    c = s = np.sqrt(0.5)
    motion.quats[frames, JOINT_INDEX["left_shoulder"]] = [c, 0, 0, s]  # left arm (+X) up
    motion.quats[frames, JOINT_INDEX["right_shoulder"]] = [c, 0, 0, -s]  # right arm (-X) up
    return motion


def test_raised_arms_count_as_hands_overhead_and_their_move_as_arm_speed():
    still = t_pose(frames=20)
    assert d.hands_overhead(still) == 0 and d.arm_speed(still) == pytest.approx(0.0, abs=1e-6)
    moved = t_pose(frames=20, x=0.5)
    moved.root[:, 2] += np.linspace(0, 2, 20)  # walking the whole body does not move the arms about it
    assert d.arm_speed(moved) == pytest.approx(0.0, abs=1e-5)
    raised = _arms_up(t_pose(frames=20), slice(10, 20))
    assert d.hands_overhead(raised) == pytest.approx(10 / 20)
    positions = raised.positions()
    wrists = [d.WRISTS[0], d.WRISTS[1]]
    jump = np.linalg.norm(positions[10, wrists] - positions[9, wrists], axis=-1).mean()  # one move, at frame 10
    assert jump > 0.5
    assert d.arm_speed(raised) == pytest.approx(jump * 20 / 19, rel=1e-5)


def test_hanging_and_dancing_clips_have_their_signatures():
    clips = {c.name: c.motion for c in load_corpus(None)}
    for name in ("cmu_hang_swing", "cmu_hang_swing_2"):
        assert d.hands_overhead(clips[name]) > 3.0, name
    assert d.hands_overhead(clips["walk"]) == 0 and d.hands_overhead(clips["jump"]) == 0
    assert d.arm_speed(clips["dance_a"]) > 4 * d.arm_speed(clips["walk"])
    assert d.arm_speed(clips["dance_b"]) > 1.2 > d.arm_speed(clips["walk"])


def test_pace_follows_a_curved_path_where_speed_sees_only_start_and_end():
    motion = t_pose(frames=41)  # 2 s at 20 fps, the pelvis on a circle of 1 m at 1 rad/s
    angle = np.arange(41) / 20.0
    motion.root[:, 0] = np.sin(angle)
    motion.root[:, 2] = 1 - np.cos(angle)
    chord = 2 * np.sin(0.25)  # the straight line between points half a second (0.5 rad) apart
    assert d.pace(motion) == pytest.approx(chord / 0.5, abs=1e-5)
    assert d.speed(motion) == pytest.approx(2 * np.sin(1.0) / (41 / 20), abs=1e-4)
    assert d.pace(t_pose(frames=1)) == 0.0
    clips = {c.name: c.motion for c in load_corpus(None)}
    walk_half_circle = clips["cmu_walk_turn_right"]
    assert d.pace(walk_half_circle) > 0.75 > d.speed(walk_half_circle) > 0.5


def test_kick_height_and_lowest_head_on_a_body_lowered_for_two_frames():
    from motiongen.motion.skeleton import JOINT_INDEX, rest_positions

    motion = t_pose(frames=20)
    rest = rest_positions() + motion.root[0] - rest_positions()[0]
    assert d.kick_height(motion) == pytest.approx(rest[JOINT_INDEX["left_ankle"], 1], abs=1e-5)
    motion.root[5:7, 1] -= 0.5  # a duck: the whole body 0.5 m lower for two frames
    assert d.lowest_head(motion) == pytest.approx(rest[JOINT_INDEX["head"], 1] - 0.5, abs=1e-5)
    assert d.kick_height(motion) == pytest.approx(rest[JOINT_INDEX["left_ankle"], 1], abs=1e-5)
