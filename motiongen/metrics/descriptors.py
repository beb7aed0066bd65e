"""Measurable signatures of actions, for checking that a prompt gave the motion it asked for.

Each descriptor is a number computed from a `Motion` in metres, seconds and degrees, so that "a
person runs" can be checked as "moves faster than 2 m/s" and "kicks with the left leg" as "the
left foot goes higher than the right". They are deliberately simple: they tell actions of the
corpus apart, they do not judge style. `benchmarks/prompt_checks.py` applies them to generated
motion and to the real clips of each action.
"""

from __future__ import annotations

import numpy as np

from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX

FEET = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
ANKLES = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]
WRISTS = [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]]
PELVIS, HEAD = JOINT_INDEX["pelvis"], JOINT_INDEX["head"]


def travel(motion: Motion) -> float:
    """Straight-line distance (m) on the floor from the first to the last frame."""
    root = motion.positions()[:, PELVIS]
    return float(np.linalg.norm((root[-1] - root[0])[[0, 2]]))


def speed(motion: Motion) -> float:
    """Mean floor speed (m/s) from start to end: `travel` over the duration."""
    return travel(motion) / max(motion.duration, 1e-6)


def pace(motion: Motion) -> float:
    """Mean floor speed (m/s) along the pelvis' path, however it curves: the path length, with
    the pelvis sampled every half second (so the sway of each step does not count), over the time
    it spans. A walk in a half circle keeps its walking pace; turning on the spot has almost none."""
    step = max(1, round(0.5 * motion.fps))
    root = motion.positions()[::step, PELVIS][:, [0, 2]]
    if len(root) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(root, axis=0), axis=-1).sum() / ((len(root) - 1) * step / motion.fps))


def foot_lift(motion: Motion) -> float:
    """How high (m) the lower foot gets above its usual height: both feet off the floor at once.

    The lowest of the four foot joints per frame, at its highest over the clip, minus its median.
    Walking and running stay under ~0.15 m; jumps and flips go well above."""
    lowest = motion.positions()[:, FEET, 1].min(axis=1)
    return float(lowest.max() - np.median(lowest))


def inverted(motion: Motion) -> float:
    """Seconds spent upside down (head below the pelvis): flips, cartwheels, rolls."""
    positions = motion.positions()
    return float((positions[:, HEAD, 1] < positions[:, PELVIS, 1]).sum() / motion.fps)


def head_height(motion: Motion) -> float:
    """Median head height (m): about 1.6 standing, under 1 crawling or lying."""
    return float(np.median(motion.positions()[:, HEAD, 1]))


def rise(motion: Motion) -> float:
    """Head height at the end minus at the start (m): positive for getting up."""
    head = motion.positions()[:, HEAD, 1]
    edge = max(1, round(0.25 * motion.fps))  # quarter-second averages, not single frames
    return float(head[-edge:].mean() - head[:edge].mean())


def turn(motion: Motion) -> float:
    """Signed change of facing (degrees) over the clip, unwrapped: positive is a turn to the
    person's left (counter-clockwise seen from above), negative to the right."""
    heading = np.unwrap(motion.heading())
    return float(np.degrees(heading[-1] - heading[0]))


def hands_overhead(motion: Motion) -> float:
    """Seconds with both wrists above the head: hanging from a bar, reaching up."""
    positions = motion.positions()
    above = (positions[:, WRISTS, 1] > positions[:, [HEAD], 1]).all(axis=1)
    return float(above.sum() / motion.fps)


def arm_speed(motion: Motion) -> float:
    """Mean speed (m/s) of the wrists about the pelvis: how busy the arms are whatever the body's
    path. Walking swings them at under 1 m/s; dancing and flips go well above."""
    if len(motion) < 2:
        return 0.0
    positions = motion.positions()
    about_pelvis = positions[:, WRISTS] - positions[:, [PELVIS]]
    return float(np.linalg.norm(np.diff(about_pelvis, axis=0), axis=-1).mean() * motion.fps)


def step_swing(motion: Motion) -> float:
    """How far the ankles swing about the pelvis on the floor (m), in the body's heading frame:
    per ankle, the length of the standard deviations of its horizontal offset from the pelvis over
    the clip; the mean of both. Long walking steps swing more; a shuffle swings little."""
    positions = motion.positions()
    offset = positions[:, ANKLES][..., [0, 2]] - positions[:, None, PELVIS][..., [0, 2]]  # [T, 2, (x, z)]
    heading = motion.heading()[:, None]
    cos, sin = np.cos(heading), np.sin(heading)  # turn back by the heading: forward is +z
    local = np.stack([cos * offset[..., 0] - sin * offset[..., 1], sin * offset[..., 0] + cos * offset[..., 1]], -1)
    return float(np.linalg.norm(local.std(axis=0), axis=-1).mean())


def side_reach(motion: Motion, joint: str) -> float:
    """Left minus right (m) for a limb end: for feet the highest point reached, for hands the
    farthest horizontal reach from the pelvis. Positive when the left side does more."""
    positions = motion.positions()
    left, right = (JOINT_INDEX[f"{side}_{joint}"] for side in ("left", "right"))
    if joint in ("foot", "ankle"):
        return float(positions[:, left, 1].max() - positions[:, right, 1].max())
    reach = np.linalg.norm((positions[:, [left, right]] - positions[:, [PELVIS]])[..., [0, 2]], axis=-1)
    return float(reach[:, 0].max() - reach[:, 1].max())


def kick_height(motion: Motion) -> float:
    """The highest an ankle gets (m): about 0.3 walking, above 0.9 in a high kick."""
    return float(motion.positions()[:, ANKLES, 1].max())


def lowest_head(motion: Motion) -> float:
    """The lowest the head gets (m): about 1.45 standing and walking, lower when ducking, in a low
    stance, rolling or lying."""
    return float(motion.positions()[:, HEAD, 1].min())


DESCRIPTORS = {
    "speed": speed,
    "travel": travel,
    "pace": pace,
    "foot_lift": foot_lift,
    "inverted": inverted,
    "head_height": head_height,
    "rise": rise,
    "turn": turn,
    "step_swing": step_swing,
    "hands_overhead": hands_overhead,
    "arm_speed": arm_speed,
    "kick_side": lambda m: side_reach(m, "foot"),
    "punch_side": lambda m: side_reach(m, "wrist"),
    "kick_height": kick_height,
    "lowest_head": lowest_head,
}
UNITS = {"speed": "m/s", "travel": "m", "pace": "m/s", "foot_lift": "m", "inverted": "s", "head_height": "m", "rise": "m",
         "turn": "deg", "step_swing": "m", "kick_side": "m", "punch_side": "m", "hands_overhead": "s",
         "arm_speed": "m/s", "kick_height": "m", "lowest_head": "m"}  # fmt: skip
