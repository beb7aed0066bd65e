"""The SMPL-22 body skeleton with motiongen's own rest offsets.

Y up, metres, the character faces +Z at rest (its left side is +X), T-pose rest.
The offsets describe a ~1.75 m adult; they are not SMPL's (those files are licensed).
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# Parent-relative rest offsets in metres. The pelvis entry is its rest position.
REST_OFFSETS = np.array(
    [
        [0.0, 0.95, 0.0],  # pelvis
        [0.09, -0.07, 0.0],  # left_hip
        [-0.09, -0.07, 0.0],  # right_hip
        [0.0, 0.10, -0.01],  # spine1
        [0.0, -0.40, 0.0],  # left_knee
        [0.0, -0.40, 0.0],  # right_knee
        [0.0, 0.13, 0.01],  # spine2
        [0.0, -0.41, -0.01],  # left_ankle
        [0.0, -0.41, -0.01],  # right_ankle
        [0.0, 0.06, 0.02],  # spine3
        [0.0, -0.05, 0.13],  # left_foot (toes)
        [0.0, -0.05, 0.13],  # right_foot
        [0.0, 0.21, -0.02],  # neck
        [0.07, 0.11, -0.01],  # left_collar
        [-0.07, 0.11, -0.01],  # right_collar
        [0.0, 0.10, 0.03],  # head
        [0.12, 0.03, 0.0],  # left_shoulder
        [-0.12, 0.03, 0.0],  # right_shoulder
        [0.27, 0.0, 0.0],  # left_elbow
        [-0.27, 0.0, 0.0],  # right_elbow
        [0.25, 0.0, 0.0],  # left_wrist
        [-0.25, 0.0, 0.0],  # right_wrist
    ],
    dtype=np.float32,
)


def _mirror_index() -> tuple[int, ...]:
    swap = {"left_": "right_", "right_": "left_"}
    out = []
    for name in JOINT_NAMES:
        for a, b in swap.items():
            if name.startswith(a):
                name = b + name[len(a) :]
                break
        out.append(JOINT_INDEX[name])
    return tuple(out)


MIRROR_INDEX = _mirror_index()  # joint i of a mirrored body is joint MIRROR_INDEX[i] of the original

FOOT_JOINTS = tuple(JOINT_INDEX[n] for n in ("left_ankle", "left_foot", "right_ankle", "right_foot"))

CHILDREN = tuple(tuple(j for j, p in enumerate(PARENTS) if p == i) for i in range(NUM_JOINTS))


def rest_positions() -> np.ndarray:
    """Global joint positions of the rest pose, (22, 3)."""
    pos = np.zeros((NUM_JOINTS, 3), dtype=np.float32)
    for j, p in enumerate(PARENTS):
        pos[j] = REST_OFFSETS[j] if p < 0 else pos[p] + REST_OFFSETS[j]
    return pos


def bone_lengths() -> np.ndarray:
    lengths = np.linalg.norm(REST_OFFSETS, axis=-1)
    lengths[0] = 0.0
    return lengths
