"""Importing rigs whose rest pose is not upright, joints under other names (Daz, CMU-ASF, toe
variants) and the plausibility check every import runs: a wrong import is an error, never a
silent wrong file."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motiongen.errors import UserError
from motiongen.io import load_motion
from motiongen.io.bvh import format_bvh
from motiongen.motion import Motion
from motiongen.motion.sanity import check_plausible, clean_spans, glitch_frames, problems
from motiongen.motion.skeleton import CHILDREN, JOINT_INDEX, JOINT_NAMES, PARENTS, REST_OFFSETS
from tests.motion_samples import synthetic_walk
from tests.test_bvh import angle_deg

# Our joints under Mixamo names, with the toe spellings the issue saw in a real file.
RENAMED = (
    "Hips LeftUpLeg RightUpLeg Spine LeftLeg RightLeg Spine1 LeftFoot RightFoot Spine2 LeftToe RightToe "
    "Neck LeftShoulder RightShoulder Head LeftArm RightArm LeftForeArm RightForeArm LeftHand RightHand"
).split()
DAZ = (
    "hip lThigh rThigh abdomen lShin rShin abdomen2 lFoot rFoot chest lToe rToe "
    "neck lCollar rCollar head lShldr rShldr lForeArm rForeArm lHand rHand"
).split()
LIMBS = [(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in [
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("pelvis", "neck"), ("neck", "head"), ("left_ankle", "left_foot"),
]]  # fmt: skip


def _bone_frame(j: int) -> np.ndarray:
    """A rotation taking +X onto joint j's first child bone (identity for leaves)."""
    if not CHILDREN[j]:
        return np.eye(3)
    bone = REST_OFFSETS[CHILDREN[j][0]].astype(np.float64)
    rot, _ = Rotation.align_vectors([bone / np.linalg.norm(bone)], [[1.0, 0.0, 0.0]])
    return rot.as_matrix()


def along_x_bvh(motion: Motion, names, scale: float = 100.0) -> str:
    """`motion` written on a rig whose rest pose has every bone chain along +X (the way joint-orient
    exporters write it): joint j's frame is ours turned by B_j, so offsets are B_p^T o and local
    rotations B_p^T L B_j. Its rest pose is a body lying along +X, not a standing person."""
    frames = np.stack([_bone_frame(j) for j in range(22)])
    local = motion.matrices().numpy().astype(np.float64)
    offsets = np.zeros((22, 3))
    quats = np.zeros((len(motion), 22, 4))
    for j, p in enumerate(PARENTS):
        b_p = frames[p] if p >= 0 else np.eye(3)
        offsets[j] = 0.0 if p < 0 else b_p.T @ REST_OFFSETS[j] * scale
        mats = b_p.T @ local[:, j] @ frames[j]
        xyzw = Rotation.from_matrix(mats).as_quat()
        quats[:, j] = xyzw[:, [3, 0, 1, 2]]
    return format_bvh(list(names), list(PARENTS), offsets, {}, quats, motion.root * scale, 1.0 / motion.fps)


def walk() -> Motion:
    return synthetic_walk(frames=40, heading=0.7, start=(1.0, -2.0))


def _bone_errors(ours: Motion, source: Motion) -> np.ndarray:
    a, b = ours.positions(), source.positions()
    return np.stack([angle_deg(a[:, c] - a[:, p], b[:, c] - b[:, p]) for p, c in LIMBS])


def test_the_synthetic_rig_lies_along_x_at_rest():
    text = along_x_bvh(walk(), RENAMED)
    from motiongen.io.bvh import parse_bvh

    bvh = parse_bvh(text)
    rest = dict(zip(bvh.names, bvh.rest_positions(), strict=True))
    x = np.array([1.0, 0.0, 0.0])
    assert angle_deg(rest["Neck"] - rest["Spine"], x) < 1  # the torso lies along +X
    assert angle_deg(rest["LeftFoot"] - rest["LeftUpLeg"], x) < 1  # and so do the legs


@pytest.mark.parametrize("names", [RENAMED, DAZ], ids=["mixamo-toe-names", "daz-names"])
def test_rig_with_bones_along_x_retargets_within_a_degree(tmp_path, names):
    source = walk()
    path = tmp_path / "along_x.bvh"
    path.write_text(along_x_bvh(source, names))
    motion = load_motion(path)
    assert _bone_errors(motion, source).max() < 1.0
    pos = motion.positions()
    assert (pos[:, JOINT_INDEX["head"], 1] > pos[:, JOINT_INDEX["pelvis"], 1] + 0.4).all()  # standing, not on its side
    # facing: the walk heads 0.7 rad from +Z, and so does the import
    assert abs(np.median(np.unwrap(motion.heading())) - np.median(np.unwrap(source.heading()))) < np.radians(2)


def test_renamed_upright_rig_retargets_within_a_degree(tmp_path):
    source = walk()
    offsets = REST_OFFSETS.astype(np.float64) * 100
    offsets[0] = 0
    path = tmp_path / "renamed.bvh"
    path.write_text(format_bvh(RENAMED, list(PARENTS), offsets, {}, source.quats, source.root * 100, 1 / source.fps))
    motion = load_motion(path)
    assert motion.meta["source_rig"] == "Mixamo"
    assert _bone_errors(motion, source).max() < 1.0


def test_a_rig_read_on_its_side_is_an_error():
    source = walk()
    turned = Rotation.from_euler("z", 90, degrees=True)  # the whole body on its side
    rot = source.matrices().numpy().astype(np.float64)
    rot[:, 0] = turned.as_matrix() @ rot[:, 0]
    lying = Motion.from_matrices(rot.astype(np.float32), source.root @ turned.as_matrix().T.astype(np.float32), 20.0)
    assert problems(source) == []
    with pytest.raises(UserError, match="lies on its side"):
        check_plausible(lying, "lying.bvh")
    flip = Rotation.from_euler("z", 180, degrees=True).as_matrix()
    rot[:, 0] = flip @ source.matrices().numpy()[:, 0]
    upside_down = Motion.from_matrices(rot.astype(np.float32), source.root, 20.0)
    with pytest.raises(UserError, match="upside down"):
        check_plausible(upside_down, "flipped.bvh")


def test_jumps_between_frames_are_found_and_cut():
    motion = synthetic_walk(frames=60, fps=60.0)
    quats = motion.quats.copy()
    shoulder = JOINT_INDEX["right_shoulder"]
    quats[30:32, shoulder] = [0.0, 0.0, 0.0, 1.0]  # the arm flips up for two frames (a marker swap)
    glitchy = Motion(quats, motion.root, motion.fps)
    bad = glitch_frames(glitchy, margin=0.1)  # the jumps 29 -> 30 and 31 -> 32, 6 frames either side
    assert bad[23:39].all() and not bad[:23].any() and not bad[39:].any()
    assert clean_spans(glitchy, min_frames=10) == [(0, 23), (39, 60)]
    with pytest.raises(UserError, match="joints jump between frames"):
        check_plausible(glitchy, "glitchy.bvh")


def test_a_t_pose_blend_at_the_start_is_trimmed_not_an_error(tmp_path):
    motion = synthetic_walk(frames=60, fps=60.0)
    quats = motion.quats.copy()
    quats[:3] = [1.0, 0.0, 0.0, 0.0]  # three frames of T-pose, then a snap into the walk
    path = tmp_path / "tpose_start.bvh"
    offsets = REST_OFFSETS.astype(np.float64)
    offsets[0] = 0
    path.write_text(format_bvh(RENAMED, list(PARENTS), offsets, {}, quats, motion.root, 1 / motion.fps))
    out = load_motion(path)
    assert len(out) == 57 and out.meta["trimmed_frames"] == [3, 0]


def test_wrong_units_of_the_root_are_an_error():
    motion = synthetic_walk(frames=40)
    fast = Motion(motion.quats, motion.root * np.array([100, 1, 100], np.float32), motion.fps)
    assert any("root moves at up to" in p for p in problems(fast))


def test_known_rig_names_cover_the_joint_list():
    assert len(DAZ) == len(RENAMED) == len(JOINT_NAMES)


def test_render_shows_the_imported_rig_as_the_person_it_is(tmp_path):
    """The film strip of the +X rig's import matches the strip of the motion it was made from,
    pixel for pixel up to anti-aliasing; the body read on its side would not."""
    from motiongen.render.strip import render_strip

    source = walk()
    path = tmp_path / "along_x.bvh"
    path.write_text(along_x_bvh(source, DAZ))
    size = (120, 140)
    ours = render_strip([load_motion(path)], count=3, size=size).astype(np.float32)
    truth = render_strip([source], count=3, size=size).astype(np.float32)
    assert np.abs(ours - truth).mean() < 1.0
    lying = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    rot = source.matrices().numpy().astype(np.float64)
    rot[:, 0] = lying @ rot[:, 0]
    side = Motion.from_matrices(rot.astype(np.float32), source.root, 20.0)
    assert np.abs(render_strip([side], count=3, size=size).astype(np.float32) - truth).mean() > 3.0
