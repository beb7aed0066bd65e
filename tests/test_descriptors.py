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
