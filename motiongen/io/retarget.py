"""Retarget humanoid rigs onto SMPL-22 by joint-name presets.

A preset says where each SMPL-22 joint lies on a source rig: at a source joint, part way
between two source joints (collar bones of rigs whose clavicles start on the spine), or at a
fraction of the source's spine chain (rigs with fewer spine joints than SMPL). Retargeting then
works on positions, which makes it indifferent to the source's joint axes and rest pose:

    source FK positions -> the 22 SMPL points -> Y up, scaled by leg length
      -> the same pose on our bone lengths -> IK (`Motion.from_positions`)

"The same pose": limb bones point where the source's do, so an A-pose rig's arms come out in
A-pose. The torso follows the source's torso relative to its rest pose instead: the pelvis and
chest (several bones each: hips + spine, neck + collars) turn rigidly as the source's do, and
the spine segments and the neck bend as the source's bend away from rest. Torso shapes differ
between rigs by anatomy (hips further forward, a straighter spine, the head joint higher), not
by pose, and would otherwise tilt our pelvis, spine and head. This assumes the source's rest
pose stands upright (facing any direction); a rest pose that does not (every bone along +X, as
some exporters write it) is replaced by our own, stood the way the motion stands.

The IK is twist-free: rotation about a bone's own axis (forearm roll, head yaw, ...) is not
observable from joint positions and is not recovered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from motiongen.errors import UserError
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import CHILDREN, JOINT_INDEX, JOINT_NAMES, PARENTS, REST_OFFSETS, rest_positions

# Where spine1 and spine2 sit on our pelvis -> spine3 chain (fraction of its arc length);
# used to place them on source rigs with a different number of spine joints.
_SPINE_ARC = np.cumsum(np.linalg.norm(REST_OFFSETS[[3, 6, 9]], axis=-1))
SPINE1_AT, SPINE2_AT = (_SPINE_ARC[:2] / _SPINE_ARC[2]).tolist()

# A point spec is a joint name, ("lerp", a, b, t) = a + t (b - a), or
# ("chain", (j0, j1, ...), f) = the point at fraction f of the arc length along those joints.
Point = str | tuple


@dataclass(frozen=True)
class Preset:
    name: str
    points: dict  # SMPL joint name -> Point

    def source_joints(self) -> list[str]:
        names = []
        for spec in self.points.values():
            for name in _names_in(spec):
                if name not in names:
                    names.append(name)
        return names


def _names_in(spec: Point) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    if spec[0] == "lerp":
        return [spec[1], spec[2]]
    return list(spec[1])


def _fill(spec: Point, **sides) -> Point:
    if isinstance(spec, str):
        return spec.format(**sides)
    return tuple(_fill(x, **sides) if isinstance(x, (str, tuple)) else x for x in spec)


def _sided(mapping: dict) -> dict:
    """Expand {"{s}_hip": "{S}UpLeg"} into left and right entries ({S} = Left|Right, {c} = l|r)."""
    out = {}
    for key, spec in mapping.items():
        if not any(f in key for f in ("{s}", "{S}", "{c}")):
            out[key] = spec
            continue
        for s, S, c in (("left", "Left", "l"), ("right", "Right", "r")):
            out[key.format(s=s, S=S, c=c)] = _fill(spec, S=S, c=c)
    return out


_LEGS = {"{s}_hip": "{S}UpLeg", "{s}_knee": "{S}Leg", "{s}_ankle": "{S}Foot", "{s}_foot": "{S}ToeBase"}

PRESETS = (
    # Our own names (also "L_Hip"/"Pelvis"-style SMPL exports and "m_avg_" prefixes, see normalize_name).
    Preset("SMPL", {name: name for name in JOINT_NAMES}),
    # Mixamo: same topology as SMPL-22 (three spine joints, arms on Spine2).
    Preset(
        "Mixamo",
        _sided(
            {
                "pelvis": "Hips",
                **_LEGS,
                "spine1": "Spine",
                "spine2": "Spine1",
                "spine3": "Spine2",
                "neck": "Neck",
                "head": "Head",
                "{s}_collar": "{S}Shoulder",
                "{s}_shoulder": "{S}Arm",
                "{s}_elbow": "{S}ForeArm",
                "{s}_wrist": "{S}Hand",
            }
        ),
    ),
    # CMU (cgspeed BVH conversion): two spine joints, clavicles start on the spine midline (at Spine1).
    Preset(
        "CMU",
        _sided(
            {
                "pelvis": "Hips",
                **_LEGS,
                "spine1": ("chain", ("Hips", "Spine", "Spine1"), SPINE1_AT),
                "spine2": ("chain", ("Hips", "Spine", "Spine1"), SPINE2_AT),
                "spine3": "Spine1",
                "neck": "Neck1",
                "head": "Head",
                "{s}_collar": ("lerp", "{S}Shoulder", "{S}Arm", 0.35),
                "{s}_shoulder": "{S}Arm",
                "{s}_elbow": "{S}ForeArm",
                "{s}_wrist": "{S}Hand",
            }
        ),
    ),
    # CMU names on our 22 joints (`--rig cmu` output): no Neck1, so the CMU preset above does not
    # match; LowerBack, Spine and Spine1 are our three spine joints and LeftShoulder our collar.
    Preset(
        "CMU-22",
        _sided(
            {
                "pelvis": "Hips",
                **_LEGS,
                "spine1": "LowerBack",
                "spine2": "Spine",
                "spine3": "Spine1",
                "neck": "Neck",
                "head": "Head",
                "{s}_collar": "{S}Shoulder",
                "{s}_shoulder": "{S}Arm",
                "{s}_elbow": "{S}ForeArm",
                "{s}_wrist": "{S}Hand",
            }
        ),
    ),
    # Biovision-style rigs (Hips, Ab, Chest, LeftCollar, LeftShoulder = upper arm, LeftHip = thigh).
    Preset(
        "Biovision",
        _sided(
            {
                "pelvis": "Hips",
                "{s}_hip": "{S}Hip",
                "{s}_knee": "{S}Knee",
                "{s}_ankle": "{S}Ankle",
                "{s}_foot": "{S}Toes",
                "spine1": ("chain", ("Hips", "Ab", "Chest"), SPINE1_AT),
                "spine2": ("chain", ("Hips", "Ab", "Chest"), SPINE2_AT),
                "spine3": "Chest",
                "neck": "Neck",
                "head": "Head",
                "{s}_collar": ("lerp", "{S}Collar", "{S}Shoulder", 0.35),
                "{s}_shoulder": "{S}Shoulder",
                "{s}_elbow": "{S}Elbow",
                "{s}_wrist": "{S}Wrist",
            }
        ),
    ),
    # CMU's ASF skeleton converted joint by joint (31 joints: LHipJoint, lowerback, Chest2, lowerneck, ...).
    Preset(
        "CMU-ASF",
        _sided(
            {
                "pelvis": "Hips",
                "{s}_hip": "{S}Hip",
                "{s}_knee": "{S}Knee",
                "{s}_ankle": "{S}Ankle",
                "{s}_foot": "{S}Toe",
                "spine1": ("chain", ("Hips", "lowerback", "Chest", "Chest2"), SPINE1_AT),
                "spine2": ("chain", ("Hips", "lowerback", "Chest", "Chest2"), SPINE2_AT),
                "spine3": "Chest2",
                "neck": "lowerneck",
                "head": "Head",
                "{s}_collar": ("lerp", "{S}Collar", "{S}Shoulder", 0.35),
                "{s}_shoulder": "{S}Shoulder",
                "{s}_elbow": "{S}Elbow",
                "{s}_wrist": "{S}Wrist",
            }
        ),
    ),
    # Daz / Poser rigs (hip, abdomen, chest, lThigh, rShin, lShldr, ...); the toes are the foot's End Site.
    Preset(
        "Daz",
        _sided(
            {
                "pelvis": "hip",
                "{s}_hip": "{c}Thigh",
                "{s}_knee": "{c}Shin",
                "{s}_ankle": "{c}Foot",
                "{s}_foot": "{c}Foot_End",
                "spine1": ("chain", ("hip", "abdomen", "chest"), SPINE1_AT),
                "spine2": ("chain", ("hip", "abdomen", "chest"), SPINE2_AT),
                "spine3": "chest",
                "neck": "neck",
                "head": "head",
                "{s}_collar": "{c}Collar",
                "{s}_shoulder": "{c}Shldr",
                "{s}_elbow": "{c}ForeArm",
                "{s}_wrist": "{c}Hand",
            }
        ),
    ),
    # Unreal Engine mannequin (UE4 names; Z up).
    Preset(
        "Unreal",
        _sided(
            {
                "pelvis": "pelvis",
                "{s}_hip": "thigh_{c}",
                "{s}_knee": "calf_{c}",
                "{s}_ankle": "foot_{c}",
                "{s}_foot": "ball_{c}",
                "spine1": "spine_01",
                "spine2": "spine_02",
                "spine3": "spine_03",
                "neck": "neck_01",
                "head": "head",
                "{s}_collar": "clavicle_{c}",
                "{s}_shoulder": "upperarm_{c}",
                "{s}_elbow": "lowerarm_{c}",
                "{s}_wrist": "hand_{c}",
            }
        ),
    ),
)


# Other spellings of the joints the presets name (compared loosely, see normalize_name). A file
# may use any of them; the presets keep one name each.
ALIASES = _sided(
    {
        "{S}ToeBase": ("{S}Toe", "{S}Toes", "{S}Toe_End", "{S}Foot_End", "{c}Toe"),
        "{S}Toes": ("{S}ToeBase", "{S}Toe", "{S}Toe_End", "{S}Foot_End"),
        "{S}Toe": ("{S}ToeBase", "{S}Toes", "{S}Toe_End", "{S}Foot_End"),
        "{S}UpLeg": ("{S}Thigh", "{S}UpperLeg", "{c}Thigh", "{c}ThighBend", "{S}Hip"),
        "{S}Leg": ("{S}Shin", "{S}LowerLeg", "{S}Calf", "{S}Knee", "{c}Shin"),
        "{S}Foot": ("{S}Ankle", "{c}Foot"),
        "{S}Arm": ("{S}UpperArm", "{c}Shldr", "{c}ShldrBend"),
        "{S}ForeArm": ("{S}LowerArm", "{S}Elbow", "{c}ForeArm", "{c}ForearmBend"),
        "{S}Hand": ("{S}Wrist", "{c}Hand"),
        "{c}Thigh": ("{c}ThighBend", "{S}Thigh", "{S}UpLeg"),
        "{c}Shin": ("{S}Shin", "{S}Leg", "{S}Knee"),
        "{c}Foot": ("{S}Foot", "{S}Ankle"),
        "{c}Foot_End": ("{c}Toe", "{S}Toe", "{S}ToeBase", "{S}Toes", "{S}Foot_End"),
        "{c}Collar": ("{S}Collar", "{S}Clavicle"),
        "{c}Shldr": ("{c}ShldrBend", "{S}Shoulder_Arm", "{S}UpperArm"),
        "{c}ForeArm": ("{c}ForearmBend", "{S}LowerArm", "{S}Elbow"),
        "{c}Hand": ("{S}Hand", "{S}Wrist"),
    }
) | {
    "Hips": ("Hip", "pelvis_root", "Root_Hips"),
    "hip": ("Hips",),
    "abdomen": ("abdomenLower", "abdomen1"),
    "chest": ("chestUpper", "chest1"),
    "neck": ("neckLower", "neck1"),
    "Neck1": ("UpperNeck",),
}


def normalize_name(name: str) -> str:
    """Compare joint names loosely: no namespace ("mixamorig:"), case, separators; "L_" = "left"."""
    name = name.split(":")[-1].strip().lower()
    name = re.sub(r"^(mixamorig\d*_|m_avg_|f_avg_)", "", name)
    name = re.sub(r"^l_", "left_", re.sub(r"^r_", "right_", name))
    return re.sub(r"[\s_.\-]", "", name)


def _find(name: str, index: dict[str, int]) -> int | None:
    """The index of a preset's joint in a file: its own name first, then its aliases."""
    for candidate in (name, *ALIASES.get(name, ())):
        if normalize_name(candidate) in index:
            return index[normalize_name(candidate)]
    return None


def detect_preset(names: list[str], label: str = "the file") -> tuple[Preset, dict[str, int]]:
    """The first preset whose joints all exist in `names` (by name or alias), and a map
    preset joint name -> index in `names`."""
    index = {}
    for i, name in enumerate(names):
        index.setdefault(normalize_name(name), i)
    missing = {}
    for preset in PRESETS:
        found = {n: _find(n, index) for n in preset.source_joints()}
        lacking = [n for n, i in found.items() if i is None]
        if not lacking:
            return preset, found
        missing[preset.name] = lacking
    closest = min(missing, key=lambda k: len(missing[k]))
    raise UserError(
        f"cannot retarget {label}: its joint names match no known rig "
        f"({', '.join(p.name for p in PRESETS)}); closest is {closest}, which lacks "
        f"{', '.join(missing[closest])}. Rename those joints in the file."
    )


def _point(spec: Point, index: dict[str, int], pos: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Evaluate a point spec on positions pos (..., J, 3); rest (J, 3) gives chain arc lengths."""
    if isinstance(spec, str):
        return pos[..., index[spec], :]
    if spec[0] == "lerp":
        _, a, b, t = spec
        return pos[..., index[a], :] * (1 - t) + pos[..., index[b], :] * t
    _, chain, fraction = spec
    ids = [index[n] for n in chain]
    seg = np.linalg.norm(np.diff(rest[ids], axis=0), axis=-1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = fraction * cum[-1]
    i = int(min(np.searchsorted(cum, s, side="right") - 1, len(seg) - 1))
    t = (s - cum[i]) / max(seg[i], 1e-9)
    return pos[..., ids[i], :] * (1 - t) + pos[..., ids[i + 1], :] * t


def smpl_points(preset: Preset, index: dict[str, int], pos: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Source joint positions (..., J, 3) -> the 22 SMPL joint positions (..., 22, 3)."""
    return np.stack([_point(preset.points[name], index, pos, rest) for name in JOINT_NAMES], -2)


def up_axis_rotation(rest_points: np.ndarray) -> np.ndarray:
    """Rotation taking the source's up axis (nearest axis to feet -> head at rest) to +Y.
    Z up becomes Y up the usual way: (x, y, z) -> (x, z, -y)."""
    feet = rest_points[[JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]].mean(0)
    up_vec = rest_points[JOINT_INDEX["head"]] - feet
    axis = int(np.argmax(np.abs(up_vec)))
    up = np.zeros(3)
    up[axis] = np.sign(up_vec[axis])
    if axis == 1:
        return np.diag([1.0, up[1], up[1]])
    # a quarter turn about up x Y takes up onto +Y
    k = np.cross(up, [0.0, 1.0, 0.0])
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + kx + kx @ kx


def leg_length(points: np.ndarray) -> float:
    """Mean hip -> knee -> ankle length of both legs, from (22, 3) positions."""
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (points[JOINT_INDEX[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        total += np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee)
    return total / 2


def _fit_rotation(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotations R (..., 3, 3) best taking vectors src (..., k, 3) onto dst (Kabsch)."""
    u, _, vt = np.linalg.svd(np.swapaxes(src, -1, -2) @ dst)
    fix = np.ones(u.shape[:-1])
    fix[..., -1] = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    return np.swapaxes(vt, -1, -2) @ (fix[..., :, None] * np.swapaxes(u, -1, -2))


def _yaw(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


# Bones that follow the source's bend away from its rest pose rather than its absolute direction:
# spine curvature and head placement differ between rigs by anatomy, not by pose.
RELATIVE_BONES = tuple(JOINT_INDEX[name] for name in ("spine1", "spine2", "neck"))


def pose_on_our_skeleton(points: np.ndarray, rest_points: np.ndarray) -> np.ndarray:
    """The source pose (T, 22, 3), Y up, on our bone lengths (see the module docstring).

    rest_points (22, 3) is the source's rest pose (upright, facing any way around +Y)."""
    lateral = rest_points[JOINT_INDEX["left_hip"]] - rest_points[JOINT_INDEX["right_hip"]]
    facing = _yaw(np.arctan2(-lateral[2], lateral[0]))  # takes our +X (left) to the source's
    rest_points = rest_points @ facing  # the source's rest pose, turned to face +Z like ours
    frames = {}  # joint -> its rotation away from the rest pose, as the source shows it (T, 3, 3)
    out = np.empty_like(points)
    out[:, 0] = points[:, 0]
    for j, children in enumerate(CHILDREN):
        if len(children) > 1:  # pelvis, chest: turn rigidly with the source's
            at_rest = rest_points[list(children)] - rest_points[j]
            now = points[:, list(children)] - points[:, j : j + 1]
            frames[j] = _fit_rotation(np.broadcast_to(at_rest, now.shape), now)
        elif j in RELATIVE_BONES:  # bend away from rest, seen in the parent's frame
            c = children[0]
            local = np.einsum("tba,tb->ta", frames[PARENTS[j]], points[:, c] - points[:, j])
            at_rest = np.broadcast_to(rest_points[c] - rest_points[j], local.shape)
            frames[j] = frames[PARENTS[j]] @ _between(at_rest, local)
        for c in children:
            if j in frames:
                out[:, c] = out[:, j] + frames[j] @ REST_OFFSETS[c]
            else:  # limbs: the source's direction as it is (an A-pose rig stays in A-pose)
                out[:, c] = out[:, j] + _direction(points[:, c] - points[:, j], REST_OFFSETS[c])
    return out


def _between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return R.rotation_between(torch.tensor(a), torch.tensor(b)).numpy()


def _direction(bone: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """bone scaled to the length of our offset (our rest direction where the source bone has none)."""
    norm = np.linalg.norm(bone, axis=-1, keepdims=True)
    length = np.linalg.norm(offset)
    return np.where(norm > 1e-9, bone * (length / np.maximum(norm, 1e-9)), offset)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def is_upright(points: np.ndarray) -> bool:
    """Whether a pose (22, 3) stands upright along one axis: legs down and spine up within 30
    degrees of that axis, hips side by side across it. Rigs whose rest pose has every bone along
    one axis (joint-orient exports) are not, and their rest pose cannot tell up from sideways."""
    up = points[JOINT_INDEX["head"]] - points[[JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]].mean(0)
    axis = np.zeros(3)
    axis[int(np.argmax(np.abs(up)))] = np.sign(up[int(np.argmax(np.abs(up)))]) or 1.0
    bones = [("left_hip", "left_ankle", -1), ("right_hip", "right_ankle", -1), ("pelvis", "neck", 1)]
    for a, b, sign in bones:
        if _angle(points[JOINT_INDEX[b]] - points[JOINT_INDEX[a]], sign * axis) > 30.0:
            return False
    across = points[JOINT_INDEX["left_hip"]] - points[JOINT_INDEX["right_hip"]]
    return abs(90.0 - _angle(across, axis)) < 30.0


def reference_pose(rest_points: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The pose that says which way is up and what the torso looks like unbent (22, 3): the
    source's rest pose when it stands upright, else our own rest pose scaled to the source's legs,
    stood along the axis the motion itself stands on (the median feet -> head direction) and
    facing the way the motion's hips face at the start."""
    if is_upright(rest_points):
        return rest_points
    feet = points[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]].mean(1)
    up = np.median(points[:, JOINT_INDEX["head"]] - feet, axis=0)
    axis = int(np.argmax(np.abs(up)))
    up_unit = np.zeros(3)
    up_unit[axis] = np.sign(up[axis]) or 1.0
    lateral = np.median(
        points[: max(1, len(points) // 10), JOINT_INDEX["left_hip"]]
        - points[: max(1, len(points) // 10), JOINT_INDEX["right_hip"]],
        axis=0,
    )
    lateral = lateral - up_unit * np.dot(lateral, up_unit)
    if np.linalg.norm(lateral) < 1e-9:
        lateral = np.roll(up_unit, 1)
    lateral /= np.linalg.norm(lateral)
    forward = np.cross(lateral, up_unit)  # ours: X (left) x Y (up) = Z (forward)
    basis = np.stack([lateral, up_unit, forward], axis=1)  # our axes -> the source's
    ours = rest_positions().astype(np.float64)
    scale = leg_length(rest_points) / leg_length(ours)
    return (ours * scale) @ basis.T


def retarget(names: list[str], rest: np.ndarray, positions: np.ndarray, fps: float, label: str = "the file") -> Motion:
    """Any humanoid rig -> SMPL-22 Motion.

    names: source joint names (J); rest: source rest-pose global positions (J, 3);
    positions: source global joint positions per frame (T, J, 3), any units and up axis.
    Translation comes out in metres of our skeleton (source scaled by the ratio of leg lengths).
    Bone directions come from the source's own forward kinematics, so the rest pose may be any
    (T, A, or every bone along one axis): see `reference_pose`.
    """
    preset, index = detect_preset(names, label)
    rest_points = smpl_points(preset, index, rest, rest)
    points = smpl_points(preset, index, positions, rest)
    source_leg = leg_length(rest_points)
    if source_leg < 1e-9:
        raise UserError(f"cannot retarget {label}: its rest pose has zero-length legs")
    reference = reference_pose(rest_points, points)
    world = up_axis_rotation(reference) * (leg_length(rest_positions()) / source_leg)
    pose = pose_on_our_skeleton(points @ world.T, reference @ world.T)
    return Motion.from_positions(pose.astype(np.float32), fps, {"source_rig": preset.name})
