"""BVH: exact round trip of our own files, parser conventions, retargeting of CMU and renamed
rigs (Mixamo, SMPL exports, Unreal) with other rest poses, units and up axes, clear errors."""

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from motiongen.errors import UserError
from motiongen.io import load_motion, save_motion
from motiongen.io.bvh import format_bvh, parse_bvh, read_bvh
from motiongen.io.retarget import retarget
from motiongen.motion import Motion
from motiongen.motion import rotations as R
from motiongen.motion.kinematics import forward_kinematics
from motiongen.motion.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS, REST_OFFSETS

FIXTURES = Path(__file__).parent / "fixtures"
CMU_CLIP = FIXTURES / "cmu_01_01_short.bvh"


def smooth_motion(frames=40, seed=0, fps=30.0) -> Motion:
    """Smoothly varying random rotations (up to ~1.5 rad) and a wandering root."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, frames)[:, None, None]
    a, b, phase = (torch.randn(1, 22, 3, generator=g) * s for s in (0.5, 0.5, 3.0))
    aa = a + b * torch.sin(2 * torch.pi * t + phase)
    root = torch.cumsum(torch.randn(frames, 3, generator=g) * 0.02, 0) + torch.tensor([0.0, 0.9, 0.0])
    return Motion.from_matrices(R.axis_angle_to_matrix(aa), root.numpy(), fps)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1, 1)))


# -- our own files ----------------------------------------------------------------------


@pytest.mark.parametrize("units", ["m", "cm"])
def test_write_read_round_trip_is_exact(tmp_path, units):
    motion = smooth_motion()
    back = load_motion(save_motion(motion, tmp_path / "clip.bvh", units=units))
    assert back.fps == motion.fps and len(back) == len(motion)
    assert "source_rig" not in back.meta  # recognised as our skeleton: rotations read directly
    np.testing.assert_allclose(back.positions(), motion.positions(), atol=1e-4)
    np.testing.assert_allclose(back.root, motion.root, atol=1e-5)
    same_up_to_sign = np.abs((back.quats * motion.quats).sum(-1))
    assert same_up_to_sign.min() > 1 - 1e-6


def test_written_file_is_standard_bvh(tmp_path):
    path = save_motion(smooth_motion(frames=5, fps=20.0), tmp_path / "clip.bvh")
    text = path.read_text()
    lines = text.splitlines()
    assert lines[:3] == ["HIERARCHY", "ROOT pelvis", "{"]
    assert lines[4].split() == "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation".split()
    assert text.count("\tJOINT ") == 21 and text.count("End Site") == 5  # one End Site per leaf
    assert text.count("{") == text.count("}") == 22 + 5
    motion_at = lines.index("MOTION")
    assert lines[motion_at + 1 : motion_at + 3] == ["Frames: 5", "Frame Time: 0.05000000"]
    assert all(len(row.split()) == 6 + 21 * 3 for row in lines[motion_at + 3 :])
    bvh = parse_bvh(text)
    offsets = {name: bvh.offsets[i] for i, name in enumerate(bvh.names)}
    for name in JOINT_NAMES[1:]:  # metres, our rest offsets
        np.testing.assert_allclose(offsets[name], REST_OFFSETS[JOINT_INDEX[name]], atol=1e-6)


def test_several_people_are_refused(tmp_path):
    with pytest.raises(UserError, match="one person"):
        save_motion([smooth_motion(), smooth_motion(seed=1)], tmp_path / "two.bvh")


# -- parser conventions -------------------------------------------------------------------

TWO_JOINTS = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xrotation Zrotation Yrotation Xposition Yposition Zposition
  JOINT arm {
    OFFSET 1 0 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    End Site
    {
      OFFSET 1 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.1
90 90 0 1 2 3   0 0 0
0 0 0   1 2 3   0 0 90
"""


def test_channels_are_intrinsic_euler_in_channel_order():
    bvh = parse_bvh(TWO_JOINTS)
    assert bvh.names == ["hips", "arm"] and bvh.parents == [-1, 0] and bvh.fps == 10.0
    np.testing.assert_allclose(bvh.end_sites[1][0], [1, 0, 0])
    pos = bvh.global_positions()
    # Xrotation 90 then Zrotation 90, intrinsic: Rx(90) Rz(90) (1, 0, 0) = Rx(90) (0, 1, 0) = (0, 0, 1);
    # the extrinsic reading would give (0, 1, 0). Position channels come last here.
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 2, 4]], atol=1e-9)
    np.testing.assert_allclose(pos[1], [[1, 2, 3], [2, 2, 3]], atol=1e-9)  # a joint's rotation moves its children only


def test_position_channels_on_any_joint_replace_its_offset():
    text = TWO_JOINTS.replace("CHANNELS 3 Yrotation", "CHANNELS 4 Yposition Yrotation")
    text = text.replace("90 90 0 1 2 3   0 0 0\n0 0 0   1 2 3   0 0 90", "0 0 0 1 2 3  5 0 0 0")
    text = text.replace("Frames: 2", "Frames: 1")
    pos = parse_bvh(text).global_positions()
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [2, 7, 3]], atol=1e-9)  # offset (1, 0, 0) -> (1, 5, 0)


# -- retargeting other rigs ---------------------------------------------------------------

# (our bone, the CMU bone it must follow): start and end joints
CMU_LIMBS = [
    ("left_hip", "left_knee", "LeftUpLeg", "LeftLeg"),
    ("left_knee", "left_ankle", "LeftLeg", "LeftFoot"),
    ("left_ankle", "left_foot", "LeftFoot", "LeftToeBase"),
    ("right_hip", "right_knee", "RightUpLeg", "RightLeg"),
    ("right_knee", "right_ankle", "RightLeg", "RightFoot"),
    ("right_ankle", "right_foot", "RightFoot", "RightToeBase"),
    ("left_shoulder", "left_elbow", "LeftArm", "LeftForeArm"),
    ("left_elbow", "left_wrist", "LeftForeArm", "LeftHand"),
    ("right_shoulder", "right_elbow", "RightArm", "RightForeArm"),
    ("right_elbow", "right_wrist", "RightForeArm", "RightHand"),
]
CMU_TORSO = [
    ("pelvis", "neck", "Hips", "Neck1"),  # the spine as a whole
    ("right_hip", "left_hip", "RightUpLeg", "LeftUpLeg"),  # pelvis left-right axis
    ("right_shoulder", "left_shoulder", "RightArm", "LeftArm"),  # chest left-right axis
]


def test_cmu_clip_retargets_onto_the_source_bones():
    """Limb bones follow the CMU bones within 1 degree; the torso (whose shape differs between
    the rigs) within 3 degrees left-right and 8 degrees for the whole spine, every frame."""
    motion = load_motion(CMU_CLIP)
    source = read_bvh(CMU_CLIP)
    # CMU: Y up, like ours. The file's first frame is a T-pose calibration the reader drops.
    src = source.global_positions()[1:]
    at = {name: i for i, name in enumerate(source.names)}
    assert motion.meta["source_rig"] == "CMU" and motion.fps == 120.0 and len(motion) == 239
    assert motion.meta["trimmed_frames"] == [1, 0]
    pos = motion.positions()

    def errors(ours_a, ours_b, src_a, src_b):
        ours = pos[:, JOINT_INDEX[ours_b]] - pos[:, JOINT_INDEX[ours_a]]
        return angle_deg(ours, src[:, at[src_b]] - src[:, at[src_a]])

    for bone in CMU_LIMBS:
        assert errors(*bone).max() < 1.0, bone
    for bone, tolerance in zip(CMU_TORSO, (8.0, 3.0, 3.0), strict=True):
        assert errors(*bone).max() < tolerance, bone
    # the tolerances are tight enough to catch swapped sides or a flipped axis
    assert errors("left_shoulder", "left_elbow", "RightArm", "RightForeArm").max() > 20
    assert errors("left_knee", "left_ankle", "RightLeg", "RightFoot").max() > 5
    flipped = src * np.array([1, 1, -1])
    ours = pos[:, JOINT_INDEX["left_knee"]] - pos[:, JOINT_INDEX["left_hip"]]
    assert angle_deg(ours, flipped[:, at["LeftLeg"]] - flipped[:, at["LeftUpLeg"]]).max() > 5
    # translation in metres: the CMU subject's pelvis is about a metre up
    assert 0.8 < motion.root[:, 1].mean() < 1.2


BOXING = Path("/usr/share/assimp/models/BVH/Boxing_Toes.bvh")  # from the assimp-testmodels package


@pytest.mark.skipif(not BOXING.exists(), reason="needs the assimp-testmodels package")
def test_biovision_rig_retargets_onto_the_source_bones():
    source = read_bvh(BOXING)
    source.values = source.values[::5]  # every 5th frame keeps the test fast
    src = source.global_positions()
    motion = retarget(source.names, source.rest_positions(), src, source.fps)
    at = {name: i for i, name in enumerate(source.names)}
    assert motion.meta["source_rig"] == "Biovision"
    pos = motion.positions()
    for ours_a, ours_b, src_a, src_b in [
        ("left_shoulder", "left_elbow", "LeftShoulder", "LeftElbow"),
        ("right_elbow", "right_wrist", "RightElbow", "RightWrist"),
        ("left_hip", "left_knee", "LeftHip", "LeftKnee"),
        ("right_knee", "right_ankle", "RightKnee", "RightAnkle"),
    ]:
        ours = pos[:, JOINT_INDEX[ours_b]] - pos[:, JOINT_INDEX[ours_a]]
        assert angle_deg(ours, src[:, at[src_b]] - src[:, at[src_a]]).max() < 1.0
    assert (pos[:, JOINT_INDEX["head"], 1] > pos[:, JOINT_INDEX["pelvis"], 1]).all()  # upright (it crouches)


# Our joints under other rigs' names, in our joint order (written by hand, not taken from the presets).
MIXAMO = (
    "Hips LeftUpLeg RightUpLeg Spine LeftLeg RightLeg Spine1 LeftFoot RightFoot Spine2 LeftToeBase RightToeBase "
    "Neck LeftShoulder RightShoulder Head LeftArm RightArm LeftForeArm RightForeArm LeftHand RightHand"
).split()
SMPL_EXPORT = (
    "Pelvis L_Hip R_Hip Spine1 L_Knee R_Knee Spine2 L_Ankle R_Ankle Spine3 L_Foot R_Foot Neck L_Collar R_Collar "
    "Head L_Shoulder R_Shoulder L_Elbow R_Elbow L_Wrist R_Wrist"
).split()
UNREAL = (
    "pelvis thigh_l thigh_r spine_01 calf_l calf_r spine_02 foot_l foot_r spine_03 ball_l ball_r neck_01 "
    "clavicle_l clavicle_r head upperarm_l upperarm_r lowerarm_l lowerarm_r hand_l hand_r"
).split()
Z_UP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # (x, y, z) Y up -> (x, -z, y) Z up


def rest_turns(a_pose: bool, bent_limbs: bool, facing_deg: float) -> np.ndarray:
    """Per joint, how the other rig's joint frame at rest is turned from ours (22, 3, 3).
    The torso keeps our upright shape (only the facing turns); limbs get other rest poses."""
    turns = np.tile(np.eye(3), (22, 1, 1))
    rng = np.random.default_rng(1)
    for j, name in enumerate(JOINT_NAMES):
        limb = any(k in name for k in ("hip", "knee", "ankle", "collar", "shoulder", "elbow"))
        if bent_limbs and limb:
            turns[j] = turns[j] @ Rotation.from_rotvec(rng.normal(size=3) * 0.3).as_matrix()
        if a_pose and name.endswith(("shoulder", "elbow")):  # arms 45 degrees down at rest
            sign = 1 if name.startswith("left") else -1
            turns[j] = turns[j] @ Rotation.from_euler("z", sign * 45, degrees=True).as_matrix()
    return turns @ Rotation.from_euler("y", facing_deg, degrees=True).as_matrix()


def other_rig_bvh(motion, names, turns, world, units, order, prefix="") -> str:
    """The same motion on a rig with other names, rest pose, world axes and units."""
    _, glob = forward_kinematics(motion.matrices().double(), torch.from_numpy(motion.root).double())
    frame = turns @ world.T  # joint frame at rest, in the other world
    glob = world @ glob.numpy() @ frame  # the same pose, other joint frames and world
    local = glob.copy()
    offsets = np.zeros((22, 3))
    for j, p in enumerate(PARENTS[1:], start=1):
        local[:, j] = np.swapaxes(glob[:, p], -1, -2) @ glob[:, j]
        offsets[j] = frame[p].T @ REST_OFFSETS[j]
    xyzw = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_quat().reshape(len(motion), 22, 4)
    root = motion.root @ world.T * units
    return format_bvh(
        [prefix + n for n in names],
        list(PARENTS),
        offsets * units,
        {},
        xyzw[..., [3, 0, 1, 2]],
        root,
        1 / motion.fps,
        order,
    )


@pytest.mark.parametrize(
    "names, prefix, a_pose, bent, facing, world, units, order",
    [
        (MIXAMO, "mixamorig:", True, False, 0, np.eye(3), 100.0, "ZXY"),
        (MIXAMO, "", True, True, 180, Z_UP, 1.0, "XYZ"),
        (SMPL_EXPORT, "", False, True, 0, np.eye(3), 1.0, "YXZ"),
        (UNREAL, "", True, True, 90, Z_UP, 100.0, "ZYX"),
    ],
    ids=["mixamo-cm-a-pose", "mixamo-z-up-backwards", "smpl-export-bent", "unreal-z-up-sideways"],
)
def test_renamed_rigs_retarget_back_to_the_same_positions(
    tmp_path, names, prefix, a_pose, bent, facing, world, units, order
):
    motion = smooth_motion(frames=30)
    path = tmp_path / "rig.bvh"
    path.write_text(other_rig_bvh(motion, names, rest_turns(a_pose, bent, facing), world, units, order, prefix))
    back = load_motion(path)
    assert "source_rig" in back.meta  # really went through retargeting
    np.testing.assert_allclose(back.positions(), motion.positions(), atol=1e-3)


def test_unknown_rig_names_the_missing_joints(tmp_path):
    motion = smooth_motion(frames=3)
    names = [n.replace("LeftForeArm", "LeftRadius") for n in MIXAMO]
    path = tmp_path / "odd.bvh"
    path.write_text(other_rig_bvh(motion, names, rest_turns(False, False, 0), np.eye(3), 1.0, "ZXY"))
    with pytest.raises(UserError, match=r"Mixamo, which lacks LeftForeArm"):
        load_motion(path)


# -- corrupt files ------------------------------------------------------------------------


def corrupt(text: str, how: str) -> str:
    if how == "truncated":
        return "\n".join(text.splitlines()[:-2])[:-40]
    if how == "no MOTION":
        return text[: text.index("MOTION")]
    if how == "not a number":
        lines = text.splitlines()
        lines[-1] = lines[-1].replace(lines[-1].split()[5], "1.0e", 1)
        return "\n".join(lines)
    if how == "unbalanced":
        return text.replace("}", "", 1)
    return "just some text\n"


@pytest.mark.parametrize(
    "how, message",
    [
        ("truncated", "truncated: the header promises 6 frames"),
        ("no MOTION", "no MOTION section"),
        ("not a number", "'1.0e' is not a number"),
        ("unbalanced", "corrupt"),
        ("garbage", "not a BVH file"),
    ],
)
def test_corrupt_files_give_a_clear_error(tmp_path, how, message):
    text = save_motion(smooth_motion(frames=6), tmp_path / "good.bvh").read_text()
    bad = tmp_path / "bad.bvh"
    bad.write_text(corrupt(text, how))
    with pytest.raises(UserError, match=message):
        load_motion(bad)
