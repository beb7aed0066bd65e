"""Synthetic (2D keypoints, 3D pose) pairs from 3D motions: the lifter's training and test data.

A window of a motion is seen by a random camera (cameras.py), projected, and corrupted like a
detector's output. The target is the SMPL-22 pose in that camera's coordinates, relative to the pelvis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motiongen.lifting.cameras import CameraRanges, NoiseModel, corrupt_keypoints, project, sample_cameras, to_camera
from motiongen.lifting.keypoints import LIFT_MIRROR, lift_joints_from_smpl, normalize_keypoints
from motiongen.motion.contacts import foot_contacts
from motiongen.motion.kinematics import forward_kinematics
from motiongen.motion.motion import DEFAULT_FPS
from motiongen.motion.skeleton import MIRROR_INDEX

SMPL_HEAD = 15
_FLIP_X = np.diag([-1.0, 1.0, 1.0]).astype(np.float32)


@dataclass
class Track:
    """What a motion contributes to synthetic data: joint positions and the head's orientation."""

    positions: np.ndarray  # (T, 22, 3)
    head_rotation: np.ndarray  # (T, 3, 3)

    @classmethod
    def from_motion(cls, motion) -> Track:
        pos, glob = forward_kinematics(motion.matrices(), torch.from_numpy(motion.root))
        return cls(pos.numpy(), glob[:, SMPL_HEAD].numpy())

    def mirrored(self) -> Track:
        pos = self.positions[:, list(MIRROR_INDEX)] * np.array([-1, 1, 1], np.float32)
        return Track(pos, _FLIP_X @ self.head_rotation @ _FLIP_X)


@dataclass
class Batch:
    inputs: np.ndarray  # (B, T, 18, 3) normalised 2D keypoints + confidence
    target: np.ndarray  # (B, T, 22, 3) camera-space joints relative to the pelvis, metres
    contacts: np.ndarray  # (B, T, 4) foot contacts (0/1) of the world motion
    keypoints: np.ndarray  # (B, T, 18, 2) noisy pixels
    confidence: np.ndarray  # (B, T, 18)
    camera_joints: np.ndarray  # (B, T, 22, 3) absolute camera-space joints
    focal: np.ndarray  # (B,)
    center: np.ndarray  # (B, 2)
    world_joints: np.ndarray  # (B, T, 22, 3)


def _window(track: Track, start: float, frames: int, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames start, start + speed, ... (clamped to the clip), positions interpolated linearly."""
    t = np.clip(start + np.arange(frames) * speed, 0, len(track.positions) - 1)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, len(track.positions) - 1)
    w = (t - i0)[:, None, None].astype(np.float32)
    pos = track.positions[i0] * (1 - w) + track.positions[i1] * w
    return pos, track.head_rotation[np.where(w[:, 0, 0] < 0.5, i0, i1)]


def sample_windows(
    tracks: list[Track], batch: int, frames: int, rng: np.random.Generator, speed=(0.8, 1.25), mirror: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Random windows (B, T, 22, 3) + head rotations (B, T, 3, 3), clips chosen by length."""
    lengths = np.array([len(t.positions) for t in tracks], float)
    choice = rng.choice(len(tracks), size=batch, p=lengths / lengths.sum())
    positions, heads = [], []
    for c in choice:
        track = tracks[c].mirrored() if rng.random() < mirror else tracks[c]
        s = rng.uniform(*speed)
        span = (frames - 1) * s
        start = rng.uniform(0, max(0.0, len(track.positions) - 1 - span))
        pos, head = _window(track, start, frames, s)
        positions.append(pos)
        heads.append(head)
    return np.stack(positions), np.stack(heads)


def make_batch(
    positions: np.ndarray,
    head_rotation: np.ndarray,
    rng: np.random.Generator,
    ranges: CameraRanges | None = None,
    noise: NoiseModel | None = None,
    fps: float = DEFAULT_FPS,
) -> Batch:
    """World joints (B, T, 22, 3) on the floor + head rotations -> one synthetic detector output per window."""
    cams = sample_cameras(positions[:, :, 0], rng, ranges)
    points3d = lift_joints_from_smpl(positions, head_rotation)
    cam_lift = to_camera(points3d, cams)
    cam_smpl = to_camera(positions, cams)
    uv = project(cam_lift, cams.focal, cams.center)
    keypoints, conf = corrupt_keypoints(uv, rng, noise, LIFT_MIRROR)
    return Batch(
        inputs=normalize_keypoints(keypoints, conf),
        target=(cam_smpl - cam_smpl[:, :, :1]).astype(np.float32),
        contacts=foot_contacts(torch.from_numpy(positions.astype(np.float32)), fps).numpy(),
        keypoints=keypoints,
        confidence=conf,
        camera_joints=cam_smpl.astype(np.float32),
        focal=cams.focal,
        center=cams.center,
        world_joints=positions.astype(np.float32),
    )
