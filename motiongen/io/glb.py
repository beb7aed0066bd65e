"""glTF 2.0 binary (.glb): each person a skinned mannequin driven by its motion.

Per person: 22 joint nodes named as JOINT_NAMES (hierarchy from PARENTS, rest translations from
REST_OFFSETS, identity rest rotations; the pelvis node's translation is the pelvis position),
a skin with inverse bind matrices, and a mesh node with the mannequin (see `mannequin.py`) in
a colour of its own. One animation holds every person's channels, so the people play together:
per joint a rotation channel (x, y, z, w, as glTF orders quaternions) and one pelvis
translation channel, keyframe times frame / fps, linear interpolation. A joint's quaternions
keep one sign from frame to frame (q and -q are the same rotation), so players that blend
quaternion components do not swing the long way round between frames.

With `smpl_model` (a folder of the user's SMPL / SMPL+H files, see body/smpl.py) each person is
that body instead: SMPL's 24 (SMPL+H's 52) joints at the shaped body's rest joint positions, its
rest mesh skinned with its own weights (the four strongest per vertex, as glTF holds them), joints
0-21 animated by our rotations, the rest at rest. SMPL's pose-dependent corrections are not in the
file (glTF skinning has no place for them).

The motion's meta (caption, seed, sampler, ...; values JSON can hold) goes into the person's
mesh node `extras`; the scene `extras` hold the one person's meta, or for several people what
they all share plus "people", their number. glTF is metres, Y up, facing +Z, as we are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pygltflib as gl

import motiongen
from motiongen.body.skinned import SkinnedBody, mannequin_body
from motiongen.errors import UserError
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import NUM_JOINTS

COLOURS = ((0.80, 0.52, 0.25), (0.25, 0.50, 0.80), (0.35, 0.70, 0.35), (0.75, 0.30, 0.45))  # RGB per person
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


def write(motions, path: str | Path, smpl_model: str | Path | None = None, **_) -> None:
    """Write one Motion or a list (several people), as the mannequin or, with `smpl_model`, as
    the SMPL body in that folder. Options meant for videos are ignored."""
    people = [motions] if isinstance(motions, Motion) else list(motions)
    if not people:
        raise UserError("nothing to write: no motions given")
    for i, motion in enumerate(people):
        _check(motion, f"person {i + 1}" if len(people) > 1 else "the motion")
    if smpl_model is None:
        body = mannequin_body()
    else:
        from motiongen.body import smpl

        body = smpl.load(smpl_model).skinned()
    _build(people, body).save_binary(str(path))


def _check(motion: Motion, label: str) -> None:
    if not isinstance(motion, Motion):
        raise UserError(f"{label} is a {type(motion).__name__}, not a Motion")
    if not len(motion):
        raise UserError(f"{label} has no frames")
    if not (np.isfinite(motion.quats).all() and np.isfinite(motion.root).all() and math.isfinite(motion.fps)):
        raise UserError(f"{label} holds NaN or infinite values")
    if (np.linalg.norm(motion.quats, axis=-1) < 1e-6).any():
        raise UserError(f"{label} holds zero-length quaternions; rotations need unit quaternions")


class _Blob:
    """The binary chunk: each array gets its own 4-byte aligned buffer view and an accessor."""

    def __init__(self, gltf: gl.GLTF2):
        self.gltf, self.data = gltf, bytearray()

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None, bounds=False) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        self.gltf.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw), target=target)
        )
        self.data += raw + b"\0" * (-len(raw) % 4)
        flat = np.asarray(array).reshape(len(array), -1)
        accessor = gl.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1, componentType=component, count=len(array), type=kind
        )
        if bounds:  # required for positions and animation times
            accessor.min, accessor.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def _build(people: list[Motion], body: SkinnedBody) -> gl.GLTF2:
    gltf = gl.GLTF2(
        asset=gl.Asset(version="2.0", generator=f"motiongen {motiongen.__version__}"),
        scene=0,
        scenes=[gl.Scene(nodes=[], extras=_scene_extras(people))],
        buffers=[gl.Buffer()],
    )
    blob = _Blob(gltf)
    # Every person shares the mesh data and bind pose; only the material and the skin differ.
    count = len(body.names)
    offsets = [body.rest_joints[j] - (body.rest_joints[p] if p >= 0 else 0) for j, p in enumerate(body.parents)]
    index_type = gl.UNSIGNED_SHORT if len(body.vertices) < 65535 else gl.UNSIGNED_INT
    attributes = gl.Attributes(
        POSITION=blob.add(body.vertices, gl.VEC3, gl.FLOAT, ARRAY_BUFFER, bounds=True),
        NORMAL=blob.add(body.normals, gl.VEC3, gl.FLOAT, ARRAY_BUFFER),
        JOINTS_0=blob.add(body.joints.astype(np.uint8), gl.VEC4, gl.UNSIGNED_BYTE, ARRAY_BUFFER),
        WEIGHTS_0=blob.add(body.weights.astype(np.float32), gl.VEC4, gl.FLOAT, ARRAY_BUFFER),
    )
    dtype = np.uint16 if index_type == gl.UNSIGNED_SHORT else np.uint32
    indices = blob.add(body.faces.reshape(-1).astype(dtype), gl.SCALAR, index_type, ELEMENT_ARRAY_BUFFER)
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (count, 1, 1))
    inverse_bind[:, :3, 3] = -body.rest_joints
    inverse_bind = blob.add(inverse_bind.transpose(0, 2, 1), gl.MAT4, gl.FLOAT)  # glTF is column-major

    animation = gl.Animation(name="motion", channels=[], samplers=[])
    for i, motion in enumerate(people):
        first = len(gltf.nodes)
        for j, name in enumerate(body.names):
            children = [first + c for c, p in enumerate(body.parents) if p == j]
            translation = [float(x) for x in offsets[j]]
            gltf.nodes.append(gl.Node(name=name, translation=translation, children=children))
        gltf.materials.append(
            gl.Material(
                name=f"person_{i + 1}",
                pbrMetallicRoughness=gl.PbrMetallicRoughness(
                    baseColorFactor=[*COLOURS[i % len(COLOURS)], 1.0], metallicFactor=0.0, roughnessFactor=0.8
                ),
            )
        )
        primitive = gl.Primitive(attributes=attributes, indices=indices, material=i)
        gltf.meshes.append(gl.Mesh(name=f"person_{i + 1}", primitives=[primitive]))
        gltf.skins.append(
            gl.Skin(
                name=f"person_{i + 1}",
                joints=list(range(first, first + count)),
                skeleton=first,
                inverseBindMatrices=inverse_bind,
            )
        )
        gltf.nodes.append(gl.Node(name=f"person_{i + 1}", mesh=i, skin=i, extras=_meta(motion)))
        gltf.scenes[0].nodes += [first, len(gltf.nodes) - 1]  # a skinned mesh node must be a scene root
        _animate(animation, blob, motion, first, body.lift)
    gltf.animations.append(animation)
    gltf.buffers[0].byteLength = len(blob.data)
    gltf.set_binary_blob(bytes(blob.data))
    return gltf


def _animate(animation: gl.Animation, blob: _Blob, motion: Motion, first: int, lift: np.ndarray) -> None:
    """Add the rotation channels of our 22 joints of the person whose pelvis node is `first`, and
    the pelvis translation (the motion's, raised by the body's `lift`)."""
    times = blob.add((np.arange(len(motion)) / motion.fps).astype(np.float32), gl.SCALAR, gl.FLOAT, bounds=True)
    quats = continuous(motion.quats)[..., [1, 2, 3, 0]].astype(np.float32)  # (w, x, y, z) -> (x, y, z, w)
    outputs = [(first + j, "rotation", blob.add(quats[:, j], gl.VEC4, gl.FLOAT)) for j in range(NUM_JOINTS)]
    root = (motion.root + lift).astype(np.float32)
    outputs.append((first, "translation", blob.add(root, gl.VEC3, gl.FLOAT)))
    for node, path, output in outputs:
        animation.samplers.append(gl.AnimationSampler(input=times, output=output, interpolation=gl.ANIM_LINEAR))
        target = gl.AnimationChannelTarget(node=node, path=path)
        animation.channels.append(gl.AnimationChannel(sampler=len(animation.samplers) - 1, target=target))


def continuous(quats: np.ndarray) -> np.ndarray:
    """Unit quaternions (T, J, 4) with each joint's sign kept from frame to frame."""
    q = np.asarray(quats, np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    flips = np.where((q[1:] * q[:-1]).sum(-1) < 0, -1.0, 1.0)
    signs = np.concatenate([np.ones((1, q.shape[1])), np.cumprod(flips, axis=0)])
    return q * signs[..., None]


def _meta(motion: Motion) -> dict:
    """The meta values JSON can hold, with fps and frames."""
    out = {}
    for key, value in motion.meta.items():
        value = _plain(value)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            continue  # not JSON (a tensor, an object, NaN): leave it out
        out[str(key)] = value
    return {**out, "fps": float(motion.fps), "frames": len(motion)}


def _plain(value):
    """numpy numbers and arrays as Python ones, tuples as lists, inside dicts and lists too."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _scene_extras(people: list[Motion]) -> dict:
    metas = [_meta(m) for m in people]
    if len(metas) == 1:
        return metas[0]
    shared = {k: v for k, v in metas[0].items() if all(k in m and m[k] == v for m in metas[1:])}
    return {**shared, "people": len(metas)}
