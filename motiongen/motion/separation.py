"""Two bodies that do not pass through each other: the generated partner is moved apart.

`push_apart(partner, other)` shifts the partner's root over the floor, away from the other
person, by as much as their trunks, heads and legs overlap in each frame (joint capsules, as
`motiongen.metrics.duet.penetration` measures them), smoothly over time. Arms are left out of it:
dancers hold hands and put an arm round each other's back, and moving a whole body for an arm
would tear couples apart. The other person (the leader, the user's) is never changed; poses and
the partner's own steps are kept, only where they stand moves.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from motiongen.metrics.duet import CAPSULES, penetration
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX

_ARM_JOINTS = {JOINT_INDEX[f"{side}_{part}"] for side in ("left", "right") for part in ("shoulder", "elbow", "wrist")}
BODY_CAPSULES = [c for c in CAPSULES if c[1] not in _ARM_JOINTS]  # trunk, head, legs
CLEARANCE = 0.01  # m kept between the bodies where they overlapped
SMOOTH_SECONDS = 0.1  # the shift eases in and out over about this long
ROUNDS = 4  # moving apart one way can bring other parts together: check again


def push_apart(partner: Motion, other: np.ndarray | Motion) -> Motion:
    """`partner` moved so that its body does not overlap `other`'s (a Motion or joint positions
    [T, 22, 3] of the same frames); `partner.meta["separation"]` says how far it moved."""
    other = other.positions() if isinstance(other, Motion) else np.asarray(other)
    if len(other) != len(partner):
        raise ValueError(f"the two people have {len(other)} and {len(partner)} frames")
    root = partner.root.astype(np.float64)
    total = np.zeros((len(partner), 2))
    moved = partner
    for _ in range(ROUNDS):
        positions = moved.positions()
        depth = penetration(other, positions, BODY_CAPSULES)
        if depth.max() <= 1e-4:
            break
        total += (
            _away(positions[:, 0, [0, 2]] - other[:, 0, [0, 2]])
            * _eased(np.where(depth > 1e-4, depth + CLEARANCE, 0.0), moved.fps)[:, None]
        )
        shifted = root.copy()
        shifted[:, [0, 2]] += total
        moved = replace(partner, root=shifted.astype(np.float32))
    report = {"max_shift_m": round(float(np.linalg.norm(total, axis=-1).max()), 4),
              "frames_moved": int((np.linalg.norm(total, axis=-1) > 1e-3).sum())}  # fmt: skip
    return replace(moved, meta={**partner.meta, "separation": report})


def _away(offset: np.ndarray) -> np.ndarray:
    """Unit directions [T, 2] from the other pelvis to the partner's; where the two are at one
    spot, the direction of the nearest frame where they are not (else -z)."""
    length = np.linalg.norm(offset, axis=-1)
    clear = np.flatnonzero(length > 0.02)
    if not len(clear):
        return np.tile([0.0, -1.0], (len(offset), 1))
    nearest = clear[np.abs(np.arange(len(offset))[:, None] - clear[None, :]).argmin(axis=1)]
    return offset[nearest] / length[nearest, None]


def _eased(shift: np.ndarray, fps: float) -> np.ndarray:
    """A shift per frame made smooth in time and never less than asked for."""
    if not shift.any():
        return shift
    sigma = SMOOTH_SECONDS * fps
    wide = maximum_filter1d(shift, 2 * int(np.ceil(2 * sigma)) + 1)
    return np.maximum(gaussian_filter1d(wide, sigma, mode="nearest"), shift)
