"""Small synthetic motions for tests that need a moving body but not real motion capture."""

from __future__ import annotations

import numpy as np

from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX, NUM_JOINTS, REST_OFFSETS


def _axis_quat(axis, angle) -> np.ndarray:
    """Quaternions (w, x, y, z) for rotations by `angle` (array) about a fixed unit `axis`."""
    angle = np.asarray(angle, np.float64)
    half = angle / 2
    return np.concatenate([np.cos(half)[..., None], np.sin(half)[..., None] * np.asarray(axis, np.float64)], -1)


def _quat_mul(a, b) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def synthetic_walk(
    frames: int = 40, fps: float = 20.0, heading: float = 0.0, speed: float = 1.2, start=(0.0, 0.0), caption=None
) -> Motion:
    """A walk from sinusoidal hip/knee/shoulder rotations and a straight root path.

    heading: walking direction in radians about +Y (0 = +Z, pi/2 = +X). start: (x, z) of the root.
    """
    t = np.arange(frames) / fps
    phase = 2 * np.pi * 0.9 * t  # strides per second
    quats = np.zeros((frames, NUM_JOINTS, 4))
    quats[..., 0] = 1
    x_axis, z_axis = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)

    def set_joint(name, q):
        quats[:, JOINT_INDEX[name]] = q

    # Rotating about -X swings a leg forward (+Z); the knee bends the shin backwards (+X rotation).
    set_joint("left_hip", _axis_quat(x_axis, -0.45 * np.sin(phase)))
    set_joint("right_hip", _axis_quat(x_axis, 0.45 * np.sin(phase)))
    set_joint("left_knee", _axis_quat(x_axis, 0.6 * np.clip(np.sin(phase - 1.2), 0, None)))
    set_joint("right_knee", _axis_quat(x_axis, 0.6 * np.clip(-np.sin(phase - 1.2), 0, None)))
    # Arms down from the T-pose, swinging opposite to the legs.
    arm_swing = 0.4 * np.sin(phase)
    set_joint("left_shoulder", _quat_mul(_axis_quat(x_axis, arm_swing), _axis_quat(z_axis, np.full(frames, -1.25))))
    set_joint("right_shoulder", _quat_mul(_axis_quat(x_axis, -arm_swing), _axis_quat(z_axis, np.full(frames, 1.25))))
    set_joint("pelvis", _axis_quat((0.0, 1.0, 0.0), np.full(frames, heading)))

    root = np.zeros((frames, 3))
    root[:, 0] = start[0] + np.sin(heading) * speed * t
    root[:, 2] = start[1] + np.cos(heading) * speed * t
    root[:, 1] = REST_OFFSETS[0, 1] - 0.03 + 0.02 * np.cos(2 * phase)
    meta = {"caption": caption} if caption else {}
    return Motion(quats.astype(np.float32), root.astype(np.float32), fps, meta)


def t_pose(frames: int = 2, fps: float = 20.0, x: float = 0.0) -> Motion:
    """The rest pose (facing +Z, arms out) standing still, shifted sideways by `x` metres."""
    motion = Motion.rest(frames, fps)
    motion.root[:, 0] += x
    return motion
