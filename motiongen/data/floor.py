"""Putting a clip on the floor (y = 0) by its feet, or by whatever else rests on the floor."""

from __future__ import annotations

import numpy as np

from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX

_J = JOINT_INDEX

# Rough distance from a joint centre to the skin, for putting lying / crawling bodies on the floor.
_BODY_RADIUS = np.full(22, 0.05)
_BODY_RADIUS[[_J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "head")]] = 0.09
_BODY_RADIUS[[_J[n] for n in ("left_wrist", "right_wrist", "left_elbow", "right_elbow")]] = 0.03
# Height of the foot joints above the sole in our rest pose (ankle, toes).
_SOLE = {_J["left_ankle"]: 0.07, _J["right_ankle"]: 0.07, _J["left_foot"]: 0.02, _J["right_foot"]: 0.02}


def floor_height(positions: np.ndarray) -> float:
    """Where the floor is for a (T, 22, 3) clip.

    Under the soles in the frames where the feet are lowest (a low percentile, so one frame on
    tiptoe does not leave the standing frames floating), never more than 1 cm above the lowest
    foot joint, and under whatever else touches the floor (crawling, rolling, lying).
    """
    feet = list(_SOLE)
    soles = (positions[:, feet, 1] - np.array([_SOLE[j] for j in feet])).min(axis=1)
    floor = min(float(np.percentile(soles, 5)), float(positions[:, feet, 1].min()) + 0.01)
    body = [j for j in range(positions.shape[1]) if j not in _SOLE]
    return min(floor, float((positions[:, body, 1] - _BODY_RADIUS[body]).min()))


def put_on_floor(motion: Motion) -> Motion:
    low = floor_height(motion.positions())
    return Motion(motion.quats, motion.root - np.array([0.0, low, 0.0], np.float32), motion.fps, motion.meta)
