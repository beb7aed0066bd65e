"""Held-out evaluation of a lifter: MPJPE and PA-MPJPE (mm) on synthetic projections of test clips.

The test protocol uses cameras and detector noise the lifter was not trained with: wider ranges
(closer and farther, lower and higher, longer and shorter lenses, more moving cameras), more noise
and outliers, and its own random seed. Each test clip is seen by `cameras_per_clip` cameras over
its whole length, and the whole track is lifted the way the `lift` command lifts a video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motiongen.lifting.cameras import CameraRanges, NoiseModel
from motiongen.lifting.synthetic import Track, make_batch
from motiongen.models.lifter import lift_sequence

EVAL_SEED = 20_240_917
EVAL_CAMERAS = CameraRanges(
    distance=(2.0, 11.0),
    height=(0.1, 3.2),
    aim_height=(0.3, 1.5),
    focal=(0.55, 2.2),
    aim_jitter_deg=10.0,
    roll_deg=5.0,
    moving=0.5,
    orbit_deg=70.0,
    follow=0.5,
    image_size=(1280, 720),
)
EVAL_NOISE = NoiseModel(
    sigma=(0.005, 0.03),
    outlier_prob=0.02,
    outlier_size=(0.05, 0.4),
    joint_dropout=0.05,
    occlusion_prob=0.4,
    missed_frames_prob=0.2,
    flip_prob=0.01,
)
CLEAN = NoiseModel(
    sigma=(0.0, 0.0), outlier_prob=0.0, joint_dropout=0.0, occlusion_prob=0.0, missed_frames_prob=0.0, flip_prob=0.0
)


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


@dataclass
class Sequence:
    keypoints: np.ndarray  # (T, 18, 2)
    confidence: np.ndarray  # (T, 18)
    target: np.ndarray  # (T, 22, 3) pelvis-relative camera-space joints
    camera_joints: np.ndarray  # (T, 22, 3)
    world_joints: np.ndarray  # (T, 22, 3)
    focal: float
    center: np.ndarray  # (2,)


def test_sequences(
    tracks: list[Track],
    cameras_per_clip: int = 16,
    seed: int = EVAL_SEED,
    ranges: CameraRanges = EVAL_CAMERAS,
    noise: NoiseModel = EVAL_NOISE,
) -> list[Sequence]:
    """Each track seen by `cameras_per_clip` random cameras, with detector noise."""
    rng = np.random.default_rng(seed)
    out = []
    for track in tracks:
        positions = np.repeat(track.positions[None], cameras_per_clip, 0)
        heads = np.repeat(track.head_rotation[None], cameras_per_clip, 0)
        batch = make_batch(positions, heads, rng, ranges, noise)
        for i in range(cameras_per_clip):
            out.append(
                Sequence(
                    batch.keypoints[i],
                    batch.confidence[i],
                    batch.target[i],
                    batch.camera_joints[i],
                    batch.world_joints[i],
                    float(batch.focal[i]),
                    batch.center[i],
                )
            )
    return out


def evaluate_lifter(model, sequences: list[Sequence]) -> dict[str, float]:
    """Mean MPJPE and PA-MPJPE in millimetres over all frames of all sequences."""
    errors, pa_errors = [], []
    for seq in sequences:
        pred, _ = lift_sequence(model, seq.keypoints, seq.confidence)
        errors.append(mpjpe(pred, seq.target))
        pa_errors.append(pa_mpjpe(pred, seq.target))
    return {
        "mpjpe_mm": 1000 * float(np.concatenate(errors).mean()),
        "pa_mpjpe_mm": 1000 * float(np.concatenate(pa_errors).mean()),
        "frames": int(sum(len(e) for e in errors)),
    }


def align_trajectory(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Turn (about the vertical) and shift a whole predicted world track (T, J, 3) onto the target:
    a monocular camera cannot know where the floor's origin is or which way is north."""
    a = pred[:, 0, [0, 2]] - pred[:, 0, [0, 2]].mean(0)
    b = target[:, 0, [0, 2]] - target[:, 0, [0, 2]].mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, d]) @ vt  # row-vector rotation: a @ rot ~ b
    out = pred.copy()
    out[..., [0, 2]] = (pred[..., [0, 2]] - pred[:, :1, [0, 2]].mean(0)) @ rot + target[:, :1, [0, 2]].mean(0)
    return out


def evaluate_world(model, sequences: list[Sequence], fps: float = 20.0, options=None) -> dict[str, float]:
    """World placement of lifted tracks (for static cameras): root trajectory error (mm, after a
    turn and shift of the whole track), foot skating, jitter; ground truth's skating and jitter beside."""
    from motiongen.lifting.world import to_world
    from motiongen.metrics.physics import foot_skating_ratio, jitter

    root_err, skate, jit, skate_gt, jit_gt = [], [], [], [], []
    for seq in sequences:
        relative, contacts = lift_sequence(model, seq.keypoints, seq.confidence)
        motion, _ = to_world(relative, seq.keypoints, seq.confidence, seq.focal, seq.center, fps, options, contacts)
        pos = align_trajectory(motion.positions(), seq.world_joints)
        root_err.append(np.linalg.norm(pos[:, 0] - seq.world_joints[:, 0], axis=-1).mean())
        skate.append(foot_skating_ratio(pos, fps))
        jit.append(jitter(pos, fps))
        skate_gt.append(foot_skating_ratio(seq.world_joints, fps))
        jit_gt.append(jitter(seq.world_joints, fps))
    return {
        "root_error_mm": 1000 * float(np.mean(root_err)),
        "skating_ratio": float(np.mean(skate)),
        "jitter": float(np.mean(jit)),
        "skating_ratio_real": float(np.mean(skate_gt)),
        "jitter_real": float(np.mean(jit_gt)),
    }
