"""Evaluator-free physical plausibility metrics, computed from global joint positions.

All functions take joint positions `(T, 22, 3)` in metres (Y up, floor at y = 0) and the frame rate,
so they work on any `Motion` (via `.positions()`) and on raw joint files alike. Definitions:

- **foot-skating ratio** (the HumanML3D-era convention of GMD / OmniControl): over consecutive
  frame pairs (t, t+1), a toe joint (left_foot / right_foot) *skates* when it is below
  `SKATE_HEIGHT` = 5 cm in both frames (on the floor) and its horizontal (xz) speed is above
  `SKATE_SPEED` = 0.5 m/s (2.5 cm per frame at 20 fps) both in that pair and averaged over a
  `SKATE_WINDOW` = 5-pair window centred on it (zero-padded at the clip ends). The ratio is the
  fraction of frame pairs in which either toe skates: 0 for a clip that stands still, 1 for a body
  sliding over the floor on its feet at 1 m/s.
- **jitter**: the mean over joints and frames of |third difference of position| * fps^3, in m/s^3.
  Zero for any motion with constant velocity (or constant acceleration); noise makes it large.
- **ground penetration**: per frame, the depth of the lowest joint below the floor,
  max(0, -min_j y_j); the metric is the mean over frames, in metres.
- **floating ratio**: the fraction of frames whose lowest joint is above `FLOAT_HEIGHT` = 10 cm.
  Joint centres sit above the skin (toe joints 2-3 cm above the floor in the corpus, more in
  motion capture whose floor is not quite level), so 5 cm would call ordinary walking floating.
  Real jumps float too, which is why every number is reported next to real data.
- **bone-length drift**: the standard deviation over time of each bone's length, averaged over
  the 21 bones, in metres. Zero (up to float error) for motion made by forward kinematics; useful
  for imported joint-position files and for models that output positions.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from motiongen.motion.skeleton import JOINT_INDEX, PARENTS

SKATE_HEIGHT = 0.05  # m
SKATE_SPEED = 0.5  # m/s
SKATE_WINDOW = 5  # frame pairs
TOE_JOINTS = (JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"])
FLOAT_HEIGHT = 0.10  # m

METRIC_NAMES = ("skating_ratio", "jitter", "penetration", "floating_ratio", "bone_drift")
UNITS = {"skating_ratio": "", "jitter": "m/s³", "penetration": "m", "floating_ratio": "", "bone_drift": "m"}


def _check(positions: np.ndarray) -> np.ndarray:
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise ValueError(f"positions must have shape (T, J, 3), got {positions.shape}")
    return positions


def foot_skating_ratio(positions: np.ndarray, fps: float) -> float:
    """Fraction of frame pairs in which a toe is on the floor (< 5 cm) yet slides (> 0.5 m/s, also
    on a 5-pair average)."""
    positions = _check(positions)
    if len(positions) < 2:
        return 0.0
    toes = positions[:, list(TOE_JOINTS)]
    low = toes[..., 1] < SKATE_HEIGHT
    on_floor = low[1:] & low[:-1]
    speed = np.linalg.norm(toes[1:, :, [0, 2]] - toes[:-1, :, [0, 2]], axis=-1) * fps
    smoothed = uniform_filter1d(speed, SKATE_WINDOW, axis=0, mode="constant")
    skating = (on_floor & (speed > SKATE_SPEED) & (smoothed > SKATE_SPEED)).any(axis=-1)
    return float(skating.mean())


def jitter(positions: np.ndarray, fps: float) -> float:
    """Mean magnitude of the third time difference of joint positions (jerk), m/s^3."""
    positions = _check(positions)
    if len(positions) < 4:
        return 0.0
    jerk = np.diff(positions, n=3, axis=0) * fps**3
    return float(np.linalg.norm(jerk, axis=-1).mean())


def ground_penetration(positions: np.ndarray) -> float:
    """Mean over frames of how far the lowest joint is below y = 0 (0 when above), metres."""
    lowest = _check(positions)[..., 1].min(axis=-1)
    return float(np.maximum(0.0, -lowest).mean())


def floating_ratio(positions: np.ndarray) -> float:
    """Fraction of frames whose lowest joint is more than 10 cm above the floor."""
    lowest = _check(positions)[..., 1].min(axis=-1)
    return float((lowest > FLOAT_HEIGHT).mean())


def bone_length_drift(positions: np.ndarray) -> float:
    """Std over time of each bone's length, averaged over bones (metres)."""
    positions = _check(positions)
    child = np.arange(1, positions.shape[1])
    parent = np.asarray(PARENTS[1 : positions.shape[1]])
    lengths = np.linalg.norm(positions[:, child] - positions[:, parent], axis=-1)
    return float(lengths.std(axis=0).mean())


def physics_metrics(positions: np.ndarray, fps: float) -> dict[str, float]:
    """All evaluator-free metrics of one clip, keyed by `METRIC_NAMES`."""
    return {
        "skating_ratio": foot_skating_ratio(positions, fps),
        "jitter": jitter(positions, fps),
        "penetration": ground_penetration(positions),
        "floating_ratio": floating_ratio(positions),
        "bone_drift": bone_length_drift(positions),
    }


def motion_physics(motion) -> dict[str, float]:
    """`physics_metrics` of a `Motion` (positions by forward kinematics)."""
    return physics_metrics(motion.positions(), motion.fps)


def average_physics(per_clip: list[dict[str, float]], weights: list[float] | None = None) -> dict[str, float]:
    """Average of several clips' metrics, weighted by e.g. their frame counts."""
    w = np.ones(len(per_clip)) if weights is None else np.asarray(weights, dtype=np.float64)
    return {k: float(np.average([m[k] for m in per_clip], weights=w)) for k in METRIC_NAMES}
