"""CMU mocap BVH files (31-joint cgspeed conversion) -> SMPL-22 `Motion` segments for the corpus.

A minimal BVH reader (hierarchy, channels, frames) plus the same retargeting idea as the DeepMimic
reader: torso, collars, head and feet follow the CMU joint rotations (both skeletons stand in a T-pose
facing +Z at rest, left = +X), arms and legs follow the CMU bone directions, and our own bone lengths
are kept, so inverse kinematics reproduces the targets exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motiongen.errors import UserError
from motiongen.io.deepmimic import put_on_floor, resample_positions
from motiongen.motion.motion import DEFAULT_FPS, Motion
from motiongen.motion.skeleton import JOINT_INDEX, REST_OFFSETS

_J = JOINT_INDEX


@dataclass
class BvhClip:
    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3)
    channels: list[list[str]]
    motion: np.ndarray  # (T, channels)
    frame_time: float


def parse_bvh(path: str | Path) -> BvhClip:
    tokens = Path(path).read_text().split()
    names, parents, offsets, channels = [], [], [], []
    stack, i = [], 0
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            i += 2
        elif tok == "End":  # end sites carry no channels; skip their block
            depth = 0
            while True:
                i += 1
                if tokens[i] == "{":
                    depth += 1
                elif tokens[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
            i += 1
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets[-1] = [float(v) for v in tokens[i + 1 : i + 4]]
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tokens[i + 2 : i + 2 + n]
            i += 2 + n
        else:
            i += 1
    n_frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = np.asarray(tokens[i + 6 :], dtype=np.float64)
    width = sum(len(c) for c in channels)
    if values.size != n_frames * width:
        raise UserError(f"{Path(path).name}: expected {n_frames} x {width} motion values, found {values.size}")
    return BvhClip(names, parents, np.asarray(offsets), channels, values.reshape(n_frames, width), frame_time)


def bvh_pose(clip: BvhClip) -> tuple[dict[str, np.ndarray], dict[str, Rotation]]:
    """Global joint positions (T, 3) and rotations by forward kinematics, keyed by joint name."""
    pos, rot = {}, {}
    col = 0
    for j, name in enumerate(clip.names):
        chans = clip.channels[j]
        data = clip.motion[:, col : col + len(chans)]
        col += len(chans)
        axes = "".join(c[0] for c in chans if c.endswith("rotation"))
        angles = np.stack([data[:, k] for k, c in enumerate(chans) if c.endswith("rotation")], -1)
        local = Rotation.from_euler(axes.upper(), angles, degrees=True)  # intrinsic, as BVH means it
        offset = clip.offsets[j]
        translation = [data[:, k] for k, c in enumerate(chans) if c.endswith("position")]
        p = clip.parents[j]
        if p < 0:
            pos[name] = np.stack(translation, -1) if translation else np.repeat(offset[None], len(data), 0)
            rot[name] = local
        else:
            parent = clip.names[p]
            pos[name] = pos[parent] + rot[parent].apply(offset)
            rot[name] = rot[parent] * local
    return pos, rot


def smpl_targets(clip: BvhClip) -> np.ndarray:
    """SMPL-22 joint positions (T, 22, 3) from a CMU-skeleton BVH clip, with our bone lengths."""
    pos, rot = bvh_pose(clip)
    src_leg = sum(np.linalg.norm(clip.offsets[clip.names.index(n)]) for n in ("LeftLeg", "LeftFoot"))
    our_leg = -REST_OFFSETS[_J["left_knee"], 1] - REST_OFFSETS[_J["left_ankle"], 1]
    scale = our_leg / src_leg
    out = np.zeros((len(clip.motion), 22, 3))

    def place(name, parent_name, rotation):
        j, p = _J[name], _J[parent_name]
        out[:, j] = out[:, p] + rotation.apply(REST_OFFSETS[j])

    def aim(name, parent_name, src_from, src_to):
        j, p = _J[name], _J[parent_name]
        d = pos[src_to] - pos[src_from]
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        out[:, j] = out[:, p] + d * np.linalg.norm(REST_OFFSETS[j])

    hip_centre = scale * (pos["LeftUpLeg"] + pos["RightUpLeg"]) / 2
    out[:, _J["pelvis"]] = hip_centre - rot["Hips"].apply(REST_OFFSETS[_J["left_hip"]] * [0.0, 1.0, 0.0])
    for name in ("left_hip", "right_hip", "spine1"):
        place(name, "pelvis", rot["Hips"])
    place("spine2", "spine1", rot["LowerBack"])
    place("spine3", "spine2", rot["Spine"])
    for name in ("neck", "left_collar", "right_collar"):
        place(name, "spine3", rot["Spine1"])
    place("head", "neck", rot["Neck1"])
    for side, src in (("left", "Left"), ("right", "Right")):
        place(f"{side}_shoulder", f"{side}_collar", rot[f"{src}Shoulder"])
        aim(f"{side}_elbow", f"{side}_shoulder", f"{src}Arm", f"{src}ForeArm")
        aim(f"{side}_wrist", f"{side}_elbow", f"{src}ForeArm", f"{src}Hand")
        aim(f"{side}_knee", f"{side}_hip", f"{src}UpLeg", f"{src}Leg")
        aim(f"{side}_ankle", f"{side}_knee", f"{src}Leg", f"{src}Foot")
        place(f"{side}_foot", f"{side}_ankle", rot[f"{src}Foot"])
    return out


@lru_cache(maxsize=4)
def _file_targets(path: str) -> tuple[np.ndarray, float]:
    clip = parse_bvh(path)
    return smpl_targets(clip), clip.frame_time


def cmu_segment(path: str | Path, start: float, end: float, fps: float = DEFAULT_FPS) -> Motion:
    """Seconds [start, end) of a CMU BVH file as a Motion at `fps`, standing on the floor."""
    targets, frame_time = _file_targets(str(path))
    times = np.arange(len(targets)) * frame_time
    if not 0 <= start < end <= times[-1] + 1e-6:
        raise UserError(f"{Path(path).name}: segment [{start}, {end}] s is outside 0..{times[-1]:.2f} s")
    keep = (times >= start - 1e-9) & (times <= end + 1e-9)
    positions = resample_positions(targets[keep], times[keep] - times[keep][0], fps)
    return put_on_floor(Motion.from_positions(positions, fps, {"source": Path(path).name, "seconds": [start, end]}))
