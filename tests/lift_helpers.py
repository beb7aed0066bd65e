"""Synthetic 2D tracks for the lifting tests: a motion filmed by a fixed, level camera."""

from __future__ import annotations

import numpy as np

from motiongen.lifting.cameras import look_at
from motiongen.lifting.keypoints import COCO17, LIFT_INDEX, lift_joints_from_smpl
from motiongen.lifting.synthetic import Track

IMAGE_SIZE = (640, 480)
FOCAL = 600.0


def film(motion, distance: float = 6.0, height: float = 1.2, yaw: float = 0.4):
    """World joints (T, 22, 3), camera-space joints, and the (T, 18, 3) lift-joint points in camera
    space, for a static camera `distance` m from the motion's mean root, looking level at 1 m height."""
    track = Track.from_motion(motion)
    centre = track.positions[:, 0].mean(0)
    position = centre + np.array([distance * np.sin(yaw), 0.0, distance * np.cos(yaw)])
    position[1] = height
    target = np.array([centre[0], height, centre[2]])
    rot = look_at(position[None], target[None])[0]
    world = track.positions
    cam = (world - position) @ rot.T
    lift3d = (lift_joints_from_smpl(world, track.head_rotation) - position) @ rot.T
    return world, cam.astype(np.float32), lift3d.astype(np.float32)


def pixels(cam_points: np.ndarray) -> np.ndarray:
    return cam_points[..., :2] / cam_points[..., 2:] * FOCAL + np.array(IMAGE_SIZE) / 2


def coco_keypoints(motion, **camera) -> np.ndarray:
    """COCO-17 (T, 17, 3) pixel keypoints [x, y, score] of `motion` seen by `film`'s camera."""
    _, _, lift3d = film(motion, **camera)
    uv = pixels(lift3d)
    out = np.zeros((len(uv), len(COCO17), 3), np.float32)
    for i, name in enumerate(COCO17):
        if name in LIFT_INDEX:
            out[:, i, :2] = uv[:, LIFT_INDEX[name]]
        elif name.endswith("_ear"):  # ears either side of the head centre, which is their mean
            side = 1 if name.startswith("left") else -1
            out[:, i, :2] = uv[:, LIFT_INDEX["head"]] + side * np.array([6.0, 0.0])
        else:  # eyes: between nose and head
            out[:, i, :2] = (uv[:, LIFT_INDEX["nose"]] + uv[:, LIFT_INDEX["head"]]) / 2
        out[:, i, 2] = 0.9
    return out
