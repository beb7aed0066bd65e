"""DeepMimic motion clips (`.txt`, JSON) -> SMPL-22 `Motion`.

A DeepMimic clip is `{"Loop": "wrap" | "none", "Frames": [[duration, 43 pose values], ...]}` for the
DeepMimic humanoid (the `humanoid/humanoid.urdf` character loaded with scale 0.25). Per frame:
duration, root position (Y up), root quaternion (w, x, y, z), then chest, neck, right hip quaternions,
right knee angle, right ankle and right shoulder quaternions, right elbow angle, and the same for the
left hip, knee, ankle, shoulder, elbow (44 numbers). The character faces +X with its left side at -Z;
knees and elbows are hinges about their local Z axis.

Retargeting: the source skeleton is posed by its own forward kinematics, turned into our axes
(faces +Z, left = +X), and the 22 SMPL joint targets are built from it: torso, head and feet follow
the source joint rotations (both characters stand upright with feet forward at rest), arms and legs
follow the source bone directions (the rest poses differ there: the DeepMimic arms hang down). Our
own bone lengths are kept, so inverse kinematics reproduces the targets exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motiongen import validate
from motiongen.data.floor import put_on_floor
from motiongen.errors import UserError
from motiongen.motion.motion import DEFAULT_FPS, Motion
from motiongen.motion.skeleton import JOINT_INDEX, REST_OFFSETS

FRAME_SIZE = 44
# Source axes -> ours: DeepMimic forward (+X) becomes +Z, DeepMimic left (-Z) becomes +X, Y stays up.
TO_OURS = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

# Joint offsets of the DeepMimic humanoid (humanoid.urdf times its 0.25 load scale), source axes.
_S = 0.25
SOURCE_OFFSETS = {
    "chest": np.array([0.0, 0.944604, 0.0]) * _S,
    "neck": np.array([0.0, 0.895576, 0.0]) * _S,
    "hip": np.array([0.0, 0.0, 0.339548]) * _S,  # right; the left hip has z negated
    "knee": np.array([0.0, -1.686184, 0.0]) * _S,
    "ankle": np.array([0.0, -1.639480, 0.0]) * _S,
    "shoulder": np.array([-0.096200, 0.974000, 0.732440]) * _S,  # right
    "elbow": np.array([0.0, -1.099152, 0.0]) * _S,
    "wrist": np.array([0.0, -1.035788, 0.0]) * _S,
}
SOURCE_LEG = float(np.linalg.norm(SOURCE_OFFSETS["knee"]) + np.linalg.norm(SOURCE_OFFSETS["ankle"]))

# Where each quaternion / hinge angle sits in a frame (after the duration).
_QUAT = {
    "root": 4,
    "chest": 8,
    "neck": 12,
    "r_hip": 16,
    "r_ankle": 21,
    "r_shoulder": 25,
    "l_hip": 30,
    "l_ankle": 35,
    "l_shoulder": 39,
}
_HINGE = {"r_knee": 20, "r_elbow": 29, "l_knee": 34, "l_elbow": 43}

_J = JOINT_INDEX


def read_clip(path: str | Path) -> tuple[np.ndarray, bool]:
    """Frames (T, 44) float64 and whether the clip loops ("Loop": "wrap")."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, UnicodeDecodeError) as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise UserError(f"{path.name} is not a DeepMimic motion file ({reason})") from None
    if frames.ndim != 2 or frames.shape[1] != FRAME_SIZE or len(frames) < 2:
        raise UserError(
            f"{path.name}: expected at least 2 frames of {FRAME_SIZE} numbers (DeepMimic humanoid), "
            f"got shape {frames.shape}"
        )
    validate.array(frames, f"{path.name}: frames")
    quats = np.stack([frames[:, start : start + 4] for start in _QUAT.values()], 1)
    if (np.linalg.norm(quats, axis=-1) < 1e-6).any():
        raise UserError(
            f"{path.name} holds a zero-length quaternion; DeepMimic rotations are unit quaternions (w, x, y, z)"
        )
    for duration in np.unique(frames[:-1, 0]):  # the last frame's duration is never used
        validate.frame_time(duration, f"{path.name}: a frame's duration")
    return frames, str(data.get("Loop", "none")).lower() == "wrap"


def _quat(frames: np.ndarray, start: int) -> Rotation:
    wxyz = frames[:, start : start + 4]
    return Rotation.from_quat(wxyz[:, [1, 2, 3, 0]])  # scipy wants x, y, z, w


def _hinge(frames: np.ndarray, column: int) -> Rotation:
    return Rotation.from_rotvec(np.outer(frames[:, column], [0.0, 0.0, 1.0]))


def source_pose(frames: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, Rotation]]:
    """Forward kinematics of the DeepMimic humanoid: global positions (T, 3) and rotations, source axes."""
    pos = {"root": frames[:, 1:4]}
    rot = {"root": _quat(frames, _QUAT["root"])}

    def link(name, parent, offset, local):
        pos[name] = pos[parent] + rot[parent].apply(offset)
        rot[name] = rot[parent] * local

    link("chest", "root", SOURCE_OFFSETS["chest"], _quat(frames, _QUAT["chest"]))
    link("neck", "chest", SOURCE_OFFSETS["neck"], _quat(frames, _QUAT["neck"]))
    for side, sign in (("r", 1.0), ("l", -1.0)):
        flip = np.array([1.0, 1.0, sign])
        link(f"{side}_hip", "root", SOURCE_OFFSETS["hip"] * flip, _quat(frames, _QUAT[f"{side}_hip"]))
        link(f"{side}_knee", f"{side}_hip", SOURCE_OFFSETS["knee"], _hinge(frames, _HINGE[f"{side}_knee"]))
        link(f"{side}_ankle", f"{side}_knee", SOURCE_OFFSETS["ankle"], _quat(frames, _QUAT[f"{side}_ankle"]))
        link(f"{side}_shoulder", "chest", SOURCE_OFFSETS["shoulder"] * flip, _quat(frames, _QUAT[f"{side}_shoulder"]))
        link(f"{side}_elbow", f"{side}_shoulder", SOURCE_OFFSETS["elbow"], _hinge(frames, _HINGE[f"{side}_elbow"]))
        link(f"{side}_wrist", f"{side}_elbow", SOURCE_OFFSETS["wrist"], Rotation.identity(len(frames)))
    return pos, rot


def _to_ours(pos: dict[str, np.ndarray], rot: dict[str, Rotation], scale: float):
    """Change of axes (and size) for positions; rotations are conjugated so the rest pose stays identity."""
    m = Rotation.from_matrix(TO_OURS)
    return ({k: scale * v @ TO_OURS.T for k, v in pos.items()}, {k: m * r * m.inv() for k, r in rot.items()})


def smpl_targets(frames: np.ndarray) -> np.ndarray:
    """SMPL-22 joint positions (T, 22, 3) in our axes, with our bone lengths."""
    scale = (-REST_OFFSETS[_J["left_knee"], 1] - REST_OFFSETS[_J["left_ankle"], 1]) / SOURCE_LEG
    pos, rot = _to_ours(*source_pose(frames), scale)
    out = np.zeros((len(frames), 22, 3))
    glob = {}

    def place(name, parent_name, rotation):
        """Child of `parent_name` along our rest offset turned by the parent's global rotation."""
        j, p = _J[name], _J[parent_name]
        out[:, j] = out[:, p] + rotation.apply(REST_OFFSETS[j])

    def aim(name, parent_name, src_from, src_to):
        """Child of `parent_name` along the source bone direction, at our bone length."""
        j, p = _J[name], _J[parent_name]
        d = pos[src_to] - pos[src_from]
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        out[:, j] = out[:, p] + d * np.linalg.norm(REST_OFFSETS[j])

    # Pelvis: our hips sit below the pelvis, DeepMimic's at root height, so place the hip line at theirs.
    hip_drop = rot["root"].apply(REST_OFFSETS[_J["left_hip"]] * [0.0, 1.0, 0.0])
    out[:, _J["pelvis"]] = pos["root"] - hip_drop
    # Spine: bend spread from the pelvis (root link) to the chest link.
    rel = (rot["root"].inv() * rot["chest"]).as_rotvec()
    glob["pelvis"] = rot["root"]
    glob["spine1"] = rot["root"] * Rotation.from_rotvec(rel / 3)
    glob["spine2"] = rot["root"] * Rotation.from_rotvec(rel * 2 / 3)
    glob["spine3"] = rot["chest"]
    glob["neck"] = rot["neck"]
    for name in ("left_hip", "right_hip", "spine1"):
        place(name, "pelvis", glob["pelvis"])
    place("spine2", "spine1", glob["spine1"])
    place("spine3", "spine2", glob["spine2"])
    for name in ("neck", "left_collar", "right_collar"):
        place(name, "spine3", glob["spine3"])
    place("head", "neck", glob["neck"])
    for side, src in (("left", "l"), ("right", "r")):
        place(f"{side}_shoulder", f"{side}_collar", glob["spine3"])
        aim(f"{side}_elbow", f"{side}_shoulder", f"{src}_shoulder", f"{src}_elbow")
        aim(f"{side}_wrist", f"{side}_elbow", f"{src}_elbow", f"{src}_wrist")
        aim(f"{side}_knee", f"{side}_hip", f"{src}_hip", f"{src}_knee")
        aim(f"{side}_ankle", f"{side}_knee", f"{src}_knee", f"{src}_ankle")
        place(f"{side}_foot", f"{side}_ankle", rot[f"{src}_ankle"])
    return out


def resample_positions(positions: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """Linear interpolation of (T, J, 3) positions sampled at `times` onto a uniform `fps` grid."""
    grid = np.arange(0.0, times[-1] - times[0] + 1e-9, 1.0 / fps) + times[0]
    flat = positions.reshape(len(positions), -1)
    out = np.stack([np.interp(grid, times, flat[:, k]) for k in range(flat.shape[1])], -1)
    return out.reshape((len(grid),) + positions.shape[1:])


def frames_to_motion(frames: np.ndarray, fps: float = DEFAULT_FPS, meta: dict | None = None) -> Motion:
    """DeepMimic frames -> Motion at `fps`, standing on the floor (y = 0)."""
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    if np.any(np.diff(times) <= 0):
        raise UserError("DeepMimic frame durations must be positive")
    targets = resample_positions(smpl_targets(frames), times, fps)
    return put_on_floor(Motion.from_positions(targets, fps, meta))


def read(path: str | Path) -> Motion:
    frames, loops = read_clip(path)
    return frames_to_motion(frames, DEFAULT_FPS, {"source": Path(path).name, "cyclic": loops})
