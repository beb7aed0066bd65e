"""Two-person interaction metrics on couples whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from motion_samples import synthetic_walk

from motiongen.metrics import duet as D
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX, rest_positions


def standing(x: float, z: float, heading: float, frames: int = 4) -> np.ndarray:
    motion = Motion.rest(frames)
    motion.quats[:, 0] = [np.cos(heading / 2), 0, np.sin(heading / 2), 0]
    motion.root[:, 0], motion.root[:, 2] = x, z
    return motion.positions()


def test_face_to_face_one_metre_apart():
    a, b = standing(0, 0, 0), standing(0, 1, np.pi)
    np.testing.assert_allclose(D.hip_distance(a, b), 1.0, atol=1e-6)
    np.testing.assert_allclose(D.relative_facing(a, b), 180.0, atol=1e-3)
    np.testing.assert_allclose(D.relative_facing(a, standing(3, 0, np.pi / 2)), 90.0, atol=1e-3)
    # T-pose arms straight out: A's left wrist is opposite B's right wrist, 1 m minus twice its reach ahead.
    reach = rest_positions()[JOINT_INDEX["left_wrist"], 2]
    np.testing.assert_allclose(D.hand_distance(a, b), 1.0 - 2 * reach, atol=1e-5)
    assert (D.penetration(a, b) == 0).all()


def test_segment_distance():
    p = np.array([0.0, 0, 0])
    # parallel, 1 m apart; crossing; end to end along a line; a point against a segment
    assert D.segment_distance(p, np.array([1.0, 0, 0]), np.array([0.0, 1, 0]), np.array([1.0, 1, 0])) == pytest.approx(
        1
    )
    assert D.segment_distance(p, np.array([2.0, 0, 0]), np.array([1.0, -1, 0]), np.array([1.0, 1, 0])) == pytest.approx(
        0
    )
    assert D.segment_distance(p, np.array([1.0, 0, 0]), np.array([3.0, 0, 0]), np.array([4.0, 0, 0])) == pytest.approx(
        2
    )
    assert D.segment_distance(p, p, np.array([-1.0, 2, 0]), np.array([1.0, 2, 0])) == pytest.approx(2)
    # skew: x-axis segment against a z-direction segment 0.5 above its middle
    assert D.segment_distance(
        p, np.array([1.0, 0, 0]), np.array([0.5, 0.5, -1]), np.array([0.5, 0.5, 1])
    ) == pytest.approx(0.5)


def test_penetration_of_two_bodies_in_one_place():
    a = standing(0, 0, 0)
    # The same pose 20 cm behind: torso capsules of 13 cm radius each. The spine2-spine3 bone leans
    # forward (6 cm up, 2 cm ahead), so its two copies are 20 * 6 / sqrt(40) = 19 cm apart across
    # it: 26 - 19 = 7 cm of overlap.
    np.testing.assert_allclose(D.penetration(a, standing(0, 0.2, 0)), 0.07, atol=0.002)
    assert (D.penetration(a, standing(0, 0.6, 0)) == 0).all()


def test_reaction_lag_of_a_follower_five_frames_behind():
    walk = synthetic_walk(80).positions()
    rng = np.random.default_rng(0)
    wobble = np.cumsum(rng.normal(0, 0.02, (85, 1, 3)), 0)  # speeds that vary over time
    lead = walk[:80] + wobble[5:]
    follow = walk[:80] + wobble[:80]  # does at t + 5 what the leader did at t
    assert D.reaction_lag(lead, follow, 20.0) == pytest.approx(0.25)
    assert D.reaction_lag(follow, lead, 20.0) == pytest.approx(-0.25)


def test_compare_puts_the_real_value_beside_the_distance():
    real = [D.interaction(standing(0, 0, 0, 20), standing(0, 1, np.pi, 20), 20.0)]
    far = [D.interaction(standing(0, 0, 0, 20), standing(0, 3, np.pi, 20), 20.0)]
    out = D.compare(far, real)
    assert out["hip_distance"] == pytest.approx({"distance": 2.0, "generated": 3.0, "real": 1.0})
    assert D.compare(real, real)["hip_distance"]["distance"] == 0
    assert set(out) == {*D.METRICS, "reaction_lag", "hand_contact"}
