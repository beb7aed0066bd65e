"""Holding hands: where the generated partner's hand comes near one of the other person's hands
and stays near, the partner's arm reaches the rest of the way.

Salsa partners hold hands about a third of the time; the partner model brings its hands near the
leader's but often stops a hand's width short. `hold_hands(partner, other)` finds, for each of
the partner's hands, the spans in which it stays within `REACH` of one of the other person's hands
for at least `HOLD_SECONDS`, and turns the partner's shoulder and elbow (the analytic two-bone IK
of the clean-up, motiongen/motion/cleanup.py) so that its wrist comes to `JOIN` from the other's,
eased in and out over `EASE_SECONDS`. The other person is never changed; nothing but the
partner's arms moves, and bone lengths stay as they are (rotations only).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

from motiongen.motion import rotations as R
from motiongen.motion.cleanup import _kinematics, _runs, _smoothstep, _transpose, two_bone_ik
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX

# m between wrists: near enough to take the other's hand. Chosen on the training couples (all 53
# segments, both ways round): with it the flow student's partners hold hands 30% of the time there
# (0.28 at 0.22 m, 0.37 at 0.25 m), the real partners 31%.
REACH = 0.23
JOIN = 0.08  # m between wrists once held (two hands round each other)
HOLD_SECONDS = 0.3  # hands must stay near this long to be joined
EASE_SECONDS = 0.2  # the arm reaches out and lets go over this long
ARMS = tuple(
    tuple(JOINT_INDEX[f"{side}_{part}"] for part in ("collar", "shoulder", "elbow", "wrist"))
    for side in ("left", "right")
)


def hold_hands(partner: Motion, other: np.ndarray | Motion) -> Motion:
    """`partner` with its hands joined to `other`'s (a Motion or joint positions [T, 22, 3] of the
    same frames) where they stay near; `partner.meta["hand_hold"]` counts the frames held."""
    other = other.positions() if isinstance(other, Motion) else np.asarray(other, np.float64)
    if len(other) != len(partner):
        raise ValueError(f"the two people have {len(other)} and {len(partner)} frames")
    positions, glob = _kinematics(partner, [j for arm in ARMS for j in arm])  # glob: 4 columns per arm
    others = other[:, [ARMS[0][3], ARMS[1][3]]]  # the other's two wrists [T, 2, 3]
    quats = partner.quats.copy()
    held = {}
    for arm, (_, shoulder, elbow, wrist) in enumerate(ARMS):
        g_collar, g_shoulder, g_elbow, g_wrist = (glob[:, 4 * arm + k] for k in range(4))
        gap = np.linalg.norm(others - positions[:, wrist][:, None], axis=-1)  # [T, 2]
        nearest = gap.argmin(1)
        weight = hold_weight(gap.min(1), partner.fps)
        rows = np.flatnonzero(weight > 0)
        held[wrist] = int((weight >= 1).sum())
        if not len(rows):
            continue
        theirs = others[rows, nearest[rows]]
        mine = positions[rows, wrist]
        away = (mine - theirs) / np.maximum(np.linalg.norm(mine - theirs, axis=-1, keepdims=True), 1e-9)
        target = mine + weight[rows, None] * (theirs + JOIN * away - mine)
        p_shoulder, p_elbow = positions[rows, shoulder], positions[rows, elbow]
        shoulder_rot, elbow_rot = two_bone_ik(p_shoulder, p_elbow, mine, target, g_elbow[rows])
        new_shoulder = shoulder_rot @ g_shoulder[rows]
        new_elbow = elbow_rot @ g_elbow[rows]
        local = np.stack(
            [
                _transpose(g_collar[rows]) @ new_shoulder,
                _transpose(new_shoulder) @ new_elbow,
                _transpose(new_elbow) @ g_wrist[rows],  # the hand keeps its own turn
            ],
            axis=1,
        )
        quats[rows[:, None], [shoulder, elbow, wrist]] = R.matrix_to_quat(torch.from_numpy(local).float()).numpy()
    meta = {**partner.meta, "hand_hold": {"left_frames": held[ARMS[0][3]], "right_frames": held[ARMS[1][3]]}}
    return replace(partner, quats=quats, meta=meta)


def hold_weight(gap: np.ndarray, fps: float) -> np.ndarray:
    """Per frame, how far the hand reaches for the other's (0..1): 1 inside spans of at least
    HOLD_SECONDS within REACH, easing to 0 over EASE_SECONDS on either side."""
    near = np.zeros(len(gap), bool)
    for start, stop in _runs(gap < REACH):
        if stop - start >= round(HOLD_SECONDS * fps):
            near[start:stop] = True
    if not near.any():
        return np.zeros(len(gap))
    ease = max(1, round(EASE_SECONDS * fps))
    distance = distance_transform_edt(~near)  # frames to the nearest held frame
    return np.where(near, 1.0, _smoothstep(np.clip(1.0 - distance / (ease + 1), 0.0, 1.0)))
