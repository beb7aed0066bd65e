"""Holding hands (motion/hand_hold.py): two people in the rest pose side by side, arms out, so
that one's right wrist is near the other's left wrist."""

from __future__ import annotations

import numpy as np
import pytest

from motiongen.motion import hand_hold
from motiongen.motion.hand_hold import JOIN, hold_hands, hold_weight
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX, PARENTS, rest_positions

LEFT_WRIST, RIGHT_WRIST = JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]


def standing(frames: int, x, bent: bool = False, z: float = 0.0) -> Motion:
    """The rest pose (arms out) facing +Z, its pelvis at (x, z); `bent`: the right elbow bent 60
    degrees forward, so that the arm can reach further."""
    rest = rest_positions()
    quats = np.zeros((frames, 22, 4), np.float32)
    quats[..., 0] = 1
    if bent:
        quats[:, JOINT_INDEX["right_elbow"]] = [np.cos(np.pi / 6), 0.0, -np.sin(np.pi / 6), 0.0]
    root = np.zeros((frames, 3), np.float32)
    root[:, 0] = x
    root[:, 1] = rest[0, 1]
    root[:, 2] = z
    return Motion(quats, root, 20.0)


def side_by_side(gap: float, frames: int = 40):
    """The leader at the origin, arms out; the partner to its left (+X), its right elbow bent,
    its right wrist `gap` from the leader's left wrist along X."""
    leader = standing(frames, 0.0)
    partner = standing(frames, 0.0, bent=True)
    shift = leader.positions()[0, LEFT_WRIST] - partner.positions()[0, RIGHT_WRIST]
    return leader, standing(frames, shift[0] + gap, bent=True, z=shift[2])


def bones(positions):
    return np.linalg.norm(positions[:, 1:] - positions[:, list(PARENTS[1:])], axis=-1)


def test_a_hand_held_near_is_taken_and_nothing_else_moves():
    leader, partner = side_by_side(0.15)  # the held wrists 8 cm apart are within the arm's reach
    held = hold_hands(partner, leader)
    p, q, other = partner.positions(), held.positions(), leader.positions()
    gap = np.linalg.norm(q[:, RIGHT_WRIST] - other[:, LEFT_WRIST], axis=-1)
    np.testing.assert_allclose(gap, JOIN, atol=0.005)  # every frame is inside the span: held all along
    np.testing.assert_allclose(bones(q), bones(p), atol=1e-5)  # rotations only
    np.testing.assert_array_equal(held.root, partner.root)
    left_arm = [JOINT_INDEX[f"left_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
    np.testing.assert_allclose(q[:, left_arm], p[:, left_arm], atol=1e-6)  # the far hand is not moved
    assert held.meta["hand_hold"] == {"left_frames": 0, "right_frames": 40}


def test_a_hand_out_of_reach_goes_as_far_as_the_arm_does():
    leader, partner = side_by_side(0.2)  # 3.9 cm beyond the straightened arm
    held = hold_hands(partner, leader)
    gap = np.linalg.norm(held.positions()[:, RIGHT_WRIST] - leader.positions()[:, LEFT_WRIST], axis=-1)
    assert (gap < 0.2 - 0.07).all() and (gap > JOIN).all()


def test_hands_too_far_or_near_too_briefly_are_left_alone():
    leader, partner = side_by_side(hand_hold.REACH + 0.05)
    assert np.allclose(hold_hands(partner, leader).quats, partner.quats)
    gap = np.full(40, 0.5)
    gap[10:14] = 0.1  # 0.2 s near: shorter than HOLD_SECONDS
    assert not hold_weight(gap, 20.0).any()
    gap[10:20] = 0.1  # 0.5 s near: held, easing in and out around it
    weight = hold_weight(gap, 20.0)
    assert (weight[10:20] == 1).all() and 0 < weight[8] < weight[9] < 1 and weight[0] == 0 and weight[-1] == 0


def test_the_people_must_have_the_same_frames():
    leader, partner = side_by_side(0.15)
    with pytest.raises(ValueError, match="frames"):
        hold_hands(partner, leader.slice(0, 10))
