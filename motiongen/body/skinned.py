"""A mesh bound to a joint hierarchy, as glTF skins it (io/glb.py writes one per person).

The first 22 joints are ours, in our order (the motion drives them); any further joints (SMPL's
hand joints, SMPL+H's fingers) stay at rest. Each vertex follows up to four joints, the most
glTF's JOINTS_0 / WEIGHTS_0 hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motiongen.motion.skeleton import JOINT_NAMES, PARENTS, rest_positions

INFLUENCES = 4


@dataclass
class SkinnedBody:
    names: tuple[str, ...]  # joint names
    parents: tuple[int, ...]  # -1 for the root
    rest_joints: np.ndarray  # (J, 3) joint positions in the bind pose (the rest pose)
    vertices: np.ndarray  # (N, 3) float32, bind pose
    normals: np.ndarray  # (N, 3) float32, unit length
    faces: np.ndarray  # (F, 3) int
    joints: np.ndarray  # (N, 4) uint8, the joints each vertex follows
    weights: np.ndarray  # (N, 4) float32, summing to 1
    lift: np.ndarray  # (3,) added to the motion's pelvis to place the root joint (0 for our skeleton)


def mannequin_body() -> SkinnedBody:
    """The built-in mannequin on our own skeleton (each vertex follows one joint)."""
    from motiongen.io.mannequin import mannequin

    body = mannequin()
    joints = np.zeros((len(body.vertices), INFLUENCES), np.uint8)
    joints[:, 0] = body.joints
    weights = np.zeros((len(body.vertices), INFLUENCES), np.float32)
    weights[:, 0] = 1.0
    return SkinnedBody(
        JOINT_NAMES, PARENTS, rest_positions(), body.vertices, body.normals, body.faces, joints, weights, np.zeros(3)
    )


def strongest(weights: np.ndarray, count: int = INFLUENCES) -> tuple[np.ndarray, np.ndarray]:
    """Each vertex's `count` largest skinning weights (N, J) -> joint indices and weights
    renormalised to sum to 1 (unused slots: joint 0, weight 0, as glTF asks)."""
    order = np.argsort(-weights, axis=1, kind="stable")[:, :count]
    kept = np.take_along_axis(weights, order, axis=1).clip(min=0)
    kept = kept / kept.sum(1, keepdims=True)
    order = np.where(kept > 0, order, 0)
    return order.astype(np.uint8), kept.astype(np.float32)
