"""Scoring lifted poses against the truth: MPJPE and PA-MPJPE, and what `lift` writes scored in
the world (benchmarks/bench_lift.py): poses after the best yaw, root path length."""

from __future__ import annotations

import numpy as np

from motiongen.lifting.keypoints import DIRECT_PAIRS


def mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean per-joint position error per frame (..., J, 3) -> (...), after aligning the pelvis (joint 0)."""
    pred = pred - pred[..., :1, :]
    target = target - target[..., :1, :]
    return np.linalg.norm(pred - target, axis=-1).mean(-1)


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotate, scale and translate each frame of `pred` (..., J, 3) onto `target` (least squares)."""
    mu_p = pred.mean(-2, keepdims=True)
    mu_t = target.mean(-2, keepdims=True)
    p, t = pred - mu_p, target - mu_t
    u, s, vt = np.linalg.svd(np.swapaxes(p, -1, -2) @ t)
    d = np.sign(np.linalg.det(u @ vt))
    s[..., -1] *= d
    u[..., :, -1] *= d[..., None]
    rot = u @ vt
    scale = s.sum(-1) / (p**2).sum((-1, -2))
    return scale[..., None, None] * p @ rot + mu_t


def pa_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE per frame after a per-frame similarity (Procrustes) alignment."""
    return np.linalg.norm(procrustes_align(pred, target) - target, axis=-1).mean(-1)


# -- what `lift` writes, scored in the world ------------------------------------------------------
# The 14 SMPL joints a COCO-17 detector also sees (hips, knees, ankles, toes, shoulders, elbows,
# wrists): the joints a lifted pose is scored on.
COMMON_JOINTS = tuple(s for _, s in DIRECT_PAIRS)
PATH_STEP = 0.25  # seconds between the points of a root path (so that jitter does not lengthen it)


def yaw_aligned(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Root-relative world poses (T, J, 3) of `pred`, turned about the vertical by the one angle
    (for the whole sequence) that best fits the root-relative `target`."""
    p = pred - pred[:, :1]
    t = target - target[:, :1]
    a, b = p[..., [0, 2]].reshape(-1, 2), t[..., [0, 2]].reshape(-1, 2)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, d]) @ vt  # a @ rot ~ b, a proper rotation (never a mirror)
    out = p.copy()
    out[..., [0, 2]] = p[..., [0, 2]] @ rot
    return out


def world_pose_errors(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame MPJPE and PA-MPJPE (metres) of world poses (T, 22, 3) on COMMON_JOINTS: MPJPE
    root-relative after the best yaw of the sequence, PA-MPJPE after per-frame Procrustes."""
    aligned = yaw_aligned(pred, target)[:, list(COMMON_JOINTS)]
    truth = (target - target[:, :1])[:, list(COMMON_JOINTS)]
    return np.linalg.norm(aligned - truth, axis=-1).mean(-1), pa_mpjpe(aligned, truth)


def path_length(root: np.ndarray, fps: float, step: float = PATH_STEP) -> float:
    """Length (m) of the horizontal path of a root track (T, 3), sampled every `step` seconds."""
    every = max(1, int(round(step * fps)))
    points = root[::every, [0, 2]]
    if (len(root) - 1) % every:
        points = np.concatenate([points, root[-1:, [0, 2]]])
    return float(np.linalg.norm(np.diff(points, axis=0), axis=-1).sum())
