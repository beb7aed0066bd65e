"""`Motion`: one person's clip as local joint rotations + root translation + frame rate."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from motiongen.motion import rotations as R
from motiongen.motion.kinematics import forward_kinematics, inverse_kinematics
from motiongen.motion.skeleton import MIRROR_INDEX, NUM_JOINTS

DEFAULT_FPS = 20.0
POSITION_CHUNK = 2048  # frames per forward-kinematics pass


@dataclass
class Motion:
    """quats: (T, 22, 4) local rotations (w, x, y, z); root: (T, 3) pelvis position in metres."""

    quats: np.ndarray
    root: np.ndarray
    fps: float = DEFAULT_FPS
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.quats = np.asarray(self.quats, dtype=np.float32)
        self.root = np.asarray(self.root, dtype=np.float32)
        if self.quats.ndim != 3 or self.quats.shape[1:] != (NUM_JOINTS, 4):
            raise ValueError(f"quats must have shape (T, {NUM_JOINTS}, 4), got {self.quats.shape}")
        if self.root.shape != (len(self.quats), 3):
            raise ValueError(f"root must have shape ({len(self.quats)}, 3), got {self.root.shape}")
        if len(self.quats) == 0:
            raise ValueError("a motion needs at least one frame")
        if not (np.isfinite(self.quats).all() and np.isfinite(self.root).all()):
            raise ValueError("motion contains NaN or infinite values")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_matrices(cls, rotmats, root, fps=DEFAULT_FPS, meta=None) -> Motion:
        quats = R.matrix_to_quat(torch.as_tensor(rotmats, dtype=torch.float32)).numpy()
        return cls(quats, np.asarray(root), fps, dict(meta or {}))

    @classmethod
    def from_positions(cls, positions, fps=DEFAULT_FPS, meta=None) -> Motion:
        """Joint positions (T, 22, 3) -> Motion, by inverse kinematics."""
        rot, root = inverse_kinematics(torch.as_tensor(positions, dtype=torch.float32))
        return cls.from_matrices(rot, root, fps, meta)

    @classmethod
    def rest(cls, frames: int = 1, fps: float = DEFAULT_FPS) -> Motion:
        from motiongen.motion.skeleton import REST_OFFSETS

        quats = np.zeros((frames, NUM_JOINTS, 4), np.float32)
        quats[..., 0] = 1
        return cls(quats, np.repeat(REST_OFFSETS[:1], frames, 0), fps)

    # -- views --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.quats)

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    def matrices(self) -> torch.Tensor:
        return R.quat_to_matrix(torch.from_numpy(self.quats))

    def positions(self) -> np.ndarray:
        """Global joint positions (T, 22, 3) by forward kinematics (in chunks of frames, so that
        the memory for a long clip is its positions, not several copies of its rotations)."""
        out = np.empty((len(self), self.quats.shape[1], 3), np.result_type(self.quats, self.root))
        for start in range(0, len(self), POSITION_CHUNK):
            part = slice(start, start + POSITION_CHUNK)
            rot = R.quat_to_matrix(torch.from_numpy(self.quats[part]))
            out[part] = forward_kinematics(rot, torch.from_numpy(self.root[part]))[0].numpy()
        return out

    # -- edits (each returns a new Motion) ----------------------------------------------
    def slice(self, start: int, stop: int | None = None) -> Motion:
        return replace(self, quats=self.quats[start:stop], root=self.root[start:stop], meta=dict(self.meta))

    def mirrored(self) -> Motion:
        """Reflect through the YZ plane and swap left/right joints."""
        q = self.quats[:, list(MIRROR_INDEX)] * np.array([1, 1, -1, -1], np.float32)
        root = self.root * np.array([-1, 1, 1], np.float32)
        return replace(self, quats=q, root=root, meta=dict(self.meta))

    def resampled(self, fps: float) -> Motion:
        """Resample to another frame rate (slerp rotations, lerp root), same duration."""
        if abs(fps - self.fps) < 1e-6:
            return replace(self, meta=dict(self.meta))
        n_new = max(1, int(round((len(self) - 1) * fps / self.fps)) + 1)
        src_t = np.arange(n_new) * self.fps / fps
        i0 = np.clip(np.floor(src_t).astype(int), 0, len(self) - 1)
        i1 = np.clip(i0 + 1, 0, len(self) - 1)
        w = torch.from_numpy((src_t - i0).astype(np.float32))
        q = torch.from_numpy(self.quats)
        quats = R.quat_slerp(q[i0], q[i1], w[:, None, None]).numpy()
        wr = w.numpy()[:, None]
        root = self.root[i0] * (1 - wr) + self.root[i1] * wr
        return replace(self, quats=quats, root=root, fps=float(fps), meta=dict(self.meta))

    def heading(self) -> np.ndarray:
        """Facing angle about +Y per frame (radians, 0 = facing +Z)."""
        fwd = R.quat_to_matrix(torch.from_numpy(self.quats[:, 0]))[..., :, 2].numpy()
        return np.arctan2(fwd[:, 0], fwd[:, 2])

    def canonicalized(self) -> Motion:
        """First frame moved to the origin (x, z) and turned to face +Z."""
        angle = torch.tensor(-self.heading()[0])
        turn = R.yaw_matrix(angle)
        rot = self.matrices()
        rot[:, 0] = turn @ rot[:, 0]
        root = self.root - self.root[:1] * np.array([1, 0, 1], np.float32)
        root = (torch.from_numpy(root) @ turn.T).numpy()
        return Motion.from_matrices(rot, root, self.fps, self.meta)

    def on_ground(self) -> Motion:
        """Shift vertically so the lowest joint over the clip touches the floor (y = 0)."""
        low = self.positions()[..., 1].min()
        return replace(self, root=self.root - np.array([0, low, 0], np.float32), meta=dict(self.meta))


def concatenate(motions: list[Motion]) -> Motion:
    fps = motions[0].fps
    if any(abs(m.fps - fps) > 1e-6 for m in motions):
        raise ValueError("cannot concatenate motions with different frame rates")
    return Motion(
        np.concatenate([m.quats for m in motions]),
        np.concatenate([m.root for m in motions]),
        fps,
        dict(motions[0].meta),
    )
