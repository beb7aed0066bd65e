"""Output rigs for BVH: our 22 joints under another skeleton's joint names, rest pose and units, so
a written file drops onto a character with that skeleton.

Every rig keeps our topology and bone lengths: joints a rig has and we lack (UE's spine_04/05,
CMU's LHipJoint and Neck1, fingers, twist bones) are left out, since a BVH need not have every bone
and none of them is needed to keep a chain. Every rig keeps BVH's usual axes (Y up, facing +Z):

- motiongen: our names, our rest pose, metres (the default; the file is unchanged by this module).
- smpl: SMPL's joint names (Pelvis, L_Hip, ...). Our rest pose is a T-pose in SMPL's topology and
  orientation, so the rotations are SMPL-style local rotations as they are; metres.
- mixamo: mixamorig: names, centimetres (Mixamo's own BVH and FBX units).
- unreal: the UE4 mannequin names (UE5's Manny keeps them for these joints), centimetres (Unreal's
  unit). Unreal is Z up, but the file stays Y up, the BVH convention: BVH reaches Unreal through
  an importer such as Blender's, which converts a Y-up BVH to Z up itself.
- cmu: the names of CMU's BVH conversion (Hips, LowerBack, Spine, Spine1, Neck, Head, ...); metres.

Mixamo, Unreal and CMU files rest in a straight T-pose: arms level along +-X from the collar bone
out (ours rise 14 degrees from collar to shoulder), legs straight down (our shins lean 1.4 degrees).
Mixamo and CMU skeletons rest that way, and retargeters (Blender add-ons, Unreal's IK Retargeter)
match a source to a character by its rest pose, so the limbs line up with a T-posed character without
hand tuning. (The UE mannequins rest in an A-pose; the IK Retargeter's retarget pose bridges the
two.) The torso keeps our rest shape: spines differ between characters by anatomy, and retargeters,
ours included (`retarget.py`), read a spine's bend relative to its rest pose, so a straightened rest
spine would read as a bend of up to 18 degrees.

Re-basing onto another rest pose (p is the parent of joint j). T_j is the turn taking our rest
direction of j's bone (to its only child) onto the rig's; identity for joints with several children
(their children keep their layout) or none. The rig's rest offsets are o'_j = T_p o_j. Our forward
kinematics is G_j = G_p R_j (global rotations), x_j = x_p + G_p o_j. With the rig's joint frames
G'_j = G_j T_j^T every position is unchanged, since G'_p o'_j = G_p T_p^T T_p o_j = G_p o_j. So the
rig's local rotations are R'_j = G'_p^T G'_j = T_p R_j T_j^T, and reading a file back is
R_j = T_p^T R'_j T_j. Our rest pose (R = I) is therefore not the rig's rest pose (R' = I).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motiongen import validate
from motiongen.errors import UserError

UNITS = {"m": 1.0, "cm": 100.0}  # BVH length units -> scale from metres

# Our joint order (motiongen.motion.skeleton.JOINT_NAMES; not imported here, so the CLI can check
# --rig without loading torch).
_OURS = (
    "pelvis left_hip right_hip spine1 left_knee right_knee spine2 left_ankle right_ankle spine3 left_foot "
    "right_foot neck left_collar right_collar head left_shoulder right_shoulder left_elbow right_elbow "
    "left_wrist right_wrist"
).split()

_DOWN, _LEFT, _RIGHT = (0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0)
# The straight T-pose: rest direction of each limb joint's bone (to its child); the other joints keep
# ours (the torso, see above; the feet; the leaves).
STRAIGHT_T_POSE = {
    "left_hip": _DOWN,
    "right_hip": _DOWN,
    "left_knee": _DOWN,
    "right_knee": _DOWN,
    "left_collar": _LEFT,
    "left_shoulder": _LEFT,
    "left_elbow": _LEFT,
    "right_collar": _RIGHT,
    "right_shoulder": _RIGHT,
    "right_elbow": _RIGHT,
}


@dataclass(frozen=True)
class Rig:
    name: str
    joints: tuple[str, ...]  # the rig's name of each of our joints, in our joint order
    units: str  # default length units
    straight: bool  # rests in the straight T-pose (else in our own rest pose)


def _rig(name: str, names: str, units: str, straight: bool, prefix: str = "") -> Rig:
    joints = tuple(prefix + n for n in names.split())
    assert len(joints) == len(_OURS), name
    return Rig(name, joints, units, straight)


RIGS = {
    rig.name: rig
    for rig in (
        Rig("motiongen", tuple(_OURS), "m", False),
        _rig(
            "smpl",
            "Pelvis L_Hip R_Hip Spine1 L_Knee R_Knee Spine2 L_Ankle R_Ankle Spine3 L_Foot R_Foot Neck L_Collar "
            "R_Collar Head L_Shoulder R_Shoulder L_Elbow R_Elbow L_Wrist R_Wrist",
            "m",
            False,
        ),
        _rig(
            "mixamo",
            "Hips LeftUpLeg RightUpLeg Spine LeftLeg RightLeg Spine1 LeftFoot RightFoot Spine2 LeftToeBase "
            "RightToeBase Neck LeftShoulder RightShoulder Head LeftArm RightArm LeftForeArm RightForeArm LeftHand "
            "RightHand",
            "cm",
            True,
            prefix="mixamorig:",
        ),
        _rig(
            "unreal",
            "pelvis thigh_l thigh_r spine_01 calf_l calf_r spine_02 foot_l foot_r spine_03 ball_l ball_r neck_01 "
            "clavicle_l clavicle_r head upperarm_l upperarm_r lowerarm_l lowerarm_r hand_l hand_r",
            "cm",
            True,
        ),
        _rig(
            "cmu",
            "Hips LeftUpLeg RightUpLeg LowerBack LeftLeg RightLeg Spine LeftFoot RightFoot Spine1 LeftToeBase "
            "RightToeBase Neck LeftShoulder RightShoulder Head LeftArm RightArm LeftForeArm RightForeArm LeftHand "
            "RightHand",
            "m",
            True,
        ),
    )
}
DEFAULT_RIG = "motiongen"


# -- checking user choices (no torch, so the CLI checks them before any heavy work) -------------


def get(name: str, label: str = "the BVH rig") -> Rig:
    if name not in RIGS:
        raise UserError(f"{label} must be one of {', '.join(RIGS)}, got {name!r}")
    return RIGS[name]


def scale(units: str, label: str = "the BVH units") -> float:
    if units not in UNITS:
        raise UserError(f"{label} must be one of {', '.join(UNITS)}, got {units!r}")
    return UNITS[units]


def frame_rate(fps, label: str = "the BVH frame rate") -> float:
    return validate.fps(fps, label)


# -- rest pose and re-basing ----------------------------------------------------------------------


def _turn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation matrix taking direction a onto direction b (not opposite)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    k = np.cross(a, b)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + kx + kx @ kx / (1.0 + np.dot(a, b))


def rest_turns(rig: Rig) -> np.ndarray:
    """T_j (22, 3, 3): how the rig's rest direction of each joint's bone is turned from ours."""
    from motiongen.motion.skeleton import CHILDREN, REST_OFFSETS

    turns = np.tile(np.eye(3), (len(_OURS), 1, 1))
    if rig.straight:
        for j, name in enumerate(_OURS):
            if name in STRAIGHT_T_POSE:
                (child,) = CHILDREN[j]
                turns[j] = _turn(REST_OFFSETS[child].astype(np.float64), np.array(STRAIGHT_T_POSE[name]))
    return turns


def rest_offsets(rig: Rig) -> np.ndarray:
    """The rig's parent-relative rest offsets in metres (22, 3), o'_j = T_p o_j; the root's is zero
    (its position channels hold the pelvis position)."""
    from motiongen.motion.skeleton import PARENTS, REST_OFFSETS

    turns = rest_turns(rig)
    offsets = np.zeros((len(_OURS), 3))
    for c, p in enumerate(PARENTS):
        if p >= 0:
            offsets[c] = turns[p] @ REST_OFFSETS[c].astype(np.float64)
    return offsets


def to_rig(rig: Rig, rotations: np.ndarray) -> np.ndarray:
    """Our local rotation matrices (T, 22, 3, 3) -> the rig's, R'_j = T_p R_j T_j^T."""
    from motiongen.motion.skeleton import PARENTS

    turns = rest_turns(rig)
    parent_turns = np.stack([turns[p] if p >= 0 else np.eye(3) for p in PARENTS])
    return parent_turns @ rotations @ np.swapaxes(turns, -1, -2)


def from_rig(rig: Rig, rotations: np.ndarray) -> np.ndarray:
    """The rig's local rotation matrices (T, 22, 3, 3) -> ours, R_j = T_p^T R'_j T_j."""
    from motiongen.motion.skeleton import PARENTS

    turns = rest_turns(rig)
    parent_turns = np.stack([turns[p] if p >= 0 else np.eye(3) for p in PARENTS])
    return np.swapaxes(parent_turns, -1, -2) @ rotations @ turns


def recognise(names: list[str], parents: list[int], offsets: np.ndarray) -> tuple[Rig, float] | None:
    """If a file's skeleton is exactly one of ours (names, parents, and rest offsets up to one unit
    scale, e.g. centimetres), that rig and scale, so its rotations can be read back directly."""
    from motiongen.motion.skeleton import PARENTS

    where = {name: i for i, name in enumerate(names)}
    for rig in RIGS.values():
        if sorted(names) != sorted(rig.joints):
            continue
        file_parents = [parents[where[name]] for name in rig.joints]
        expected = [rig.joints[p] if p >= 0 else None for p in PARENTS]
        if [names[p] if p >= 0 else None for p in file_parents] != expected:
            continue
        ours = rest_offsets(rig)[1:]
        theirs = np.asarray(offsets, np.float64)[[where[n] for n in rig.joints[1:]]]
        found = np.linalg.norm(theirs) / np.linalg.norm(ours)
        if found > 0 and np.abs(theirs - found * ours).max() <= 1e-4 * found:
            return rig, float(found)
    return None
