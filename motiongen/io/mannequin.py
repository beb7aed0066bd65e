"""A simple mannequin mesh for the SMPL-22 skeleton: a capsule per bone, a sphere for the head.

Sized from REST_OFFSETS in the rest pose (T-pose, Y up, facing +Z): 1.73 m tall,
2,416 vertices. Each vertex follows exactly one joint (rigid skinning): a bone's capsule
follows the bone's parent joint, the joint whose rotation turns that bone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from motiongen.motion.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS, rest_positions

# Capsule radius (metres) of the bone that ends at each joint; the pelvis has no bone.
BONE_RADIUS = {
    "left_hip": 0.075,
    "right_hip": 0.075,
    "spine1": 0.11,
    "left_knee": 0.07,
    "right_knee": 0.07,
    "spine2": 0.12,
    "left_ankle": 0.05,
    "right_ankle": 0.05,
    "spine3": 0.13,
    "left_foot": 0.025,  # thin, so the sole stays near the floor
    "right_foot": 0.025,
    "neck": 0.05,
    "left_collar": 0.06,
    "right_collar": 0.06,
    "head": 0.05,
    "left_shoulder": 0.05,
    "right_shoulder": 0.05,
    "left_elbow": 0.045,
    "right_elbow": 0.045,
    "left_wrist": 0.038,
    "right_wrist": 0.038,
}
# Parts beyond the leaf joints: (joint, end offset from the joint, radius); a zero offset is a sphere.
HEAD = ("head", (0.0, 0.08, 0.01), 0.1)
HANDS = (("left_wrist", (0.08, 0.0, 0.0), 0.03), ("right_wrist", (-0.08, 0.0, 0.0), 0.03))
CAPSULE_COUNT = (12, 8)  # segments around, and rings per half-sphere: smooth enough, small


@dataclass
class Mannequin:
    """A triangle mesh in the rest pose; joints[i] is the one joint vertex i follows."""

    vertices: np.ndarray  # (N, 3) float32
    normals: np.ndarray  # (N, 3) float32, unit length
    faces: np.ndarray  # (F, 3) int
    joints: np.ndarray  # (N,) int


def mannequin() -> Mannequin:
    rest = rest_positions().astype(np.float64)
    parts = []  # (mesh, joint it follows)
    for j, p in enumerate(PARENTS):
        if p >= 0:
            parts.append((_capsule(rest[p], rest[j], BONE_RADIUS[JOINT_NAMES[j]]), p))
    for name, offset, radius in HANDS:
        j = JOINT_INDEX[name]
        parts.append((_capsule(rest[j], rest[j] + offset, radius), j))
    name, offset, radius = HEAD
    head = trimesh.creation.icosphere(subdivisions=2, radius=radius)
    head.apply_translation(rest[JOINT_INDEX[name]] + offset)
    parts.append((head, JOINT_INDEX[name]))

    vertices, normals, faces, joints = [], [], [], []
    count = 0
    for mesh, joint in parts:
        vertices.append(mesh.vertices)
        normals.append(mesh.vertex_normals)
        faces.append(mesh.faces + count)
        joints.append(np.full(len(mesh.vertices), joint))
        count += len(mesh.vertices)
    normals = np.concatenate(normals)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return Mannequin(
        np.concatenate(vertices).astype(np.float32),
        normals.astype(np.float32),
        np.concatenate(faces),
        np.concatenate(joints),
    )


def _capsule(start: np.ndarray, end: np.ndarray, radius: float) -> trimesh.Trimesh:
    """A capsule whose axis runs from `start` to `end` (its round caps reach `radius` beyond)."""
    axis = end - start
    length = float(np.linalg.norm(axis))
    mesh = trimesh.creation.capsule(height=length, radius=radius, count=list(CAPSULE_COUNT))  # along Z, centred
    turn = trimesh.geometry.align_vectors([0.0, 0.0, 1.0], axis / length)
    mesh.apply_transform(turn)
    mesh.apply_translation((start + end) / 2)
    return mesh
