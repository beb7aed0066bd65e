"""Motion core: rotations, FK/IK, features, mirroring, resampling, contacts."""

import numpy as np
import pytest
import torch

from motiongen.motion import Motion
from motiongen.motion import rotations as R
from motiongen.motion.contacts import foot_contacts
from motiongen.motion.features import FEATURE_DIM, SLICES, encode, features_to_motion, motion_to_features
from motiongen.motion.kinematics import forward_kinematics, inverse_kinematics
from motiongen.motion.skeleton import JOINT_NAMES, MIRROR_INDEX, PARENTS, REST_OFFSETS, rest_positions


def smooth_motion(frames=60, seed=0, fps=20.0) -> Motion:
    """Smoothly varying random rotations and a wandering root: a stand-in for real motion."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, frames)[:, None, None]
    a, b, phase = (torch.randn(1, 22, 3, generator=g) * s for s in (0.4, 0.4, 3.0))
    aa = a + b * torch.sin(2 * torch.pi * t + phase)
    root = torch.cumsum(torch.randn(frames, 3, generator=g) * 0.02, 0) + torch.tensor([0.0, 0.9, 0.0])
    return Motion.from_matrices(R.axis_angle_to_matrix(aa), root.numpy(), fps)


def test_skeleton_is_consistent_and_symmetric():
    assert len(JOINT_NAMES) == len(PARENTS) == len(REST_OFFSETS) == 22
    assert all(p < j for j, p in enumerate(PARENTS))
    mirrored = REST_OFFSETS[list(MIRROR_INDEX)] * np.array([-1, 1, 1])
    np.testing.assert_allclose(mirrored, REST_OFFSETS)
    assert rest_positions()[JOINT_NAMES.index("left_wrist"), 0] > 0.5  # left is +X, T-pose
    height = rest_positions()[JOINT_NAMES.index("head"), 1] + 0.15
    assert 1.6 < height < 1.9


def test_rotation_conversions_round_trip():
    aa = torch.randn(500, 3) * 1.5
    m = R.axis_angle_to_matrix(aa)
    torch.testing.assert_close(R.quat_to_matrix(R.matrix_to_quat(m)), m, atol=1e-5, rtol=0)
    torch.testing.assert_close(R.axis_angle_to_matrix(R.matrix_to_axis_angle(m)), m, atol=1e-5, rtol=0)
    torch.testing.assert_close(R.sixd_to_matrix(R.matrix_to_sixd(m)), m, atol=1e-5, rtol=0)
    torch.testing.assert_close(R.quat_to_matrix(R.axis_angle_to_quat(aa)), m, atol=1e-5, rtol=0)
    eye = torch.eye(3).expand(500, 3, 3)
    torch.testing.assert_close(m @ m.transpose(-1, -2), eye, atol=1e-5, rtol=0)


def test_rotation_known_values():
    quarter = R.axis_angle_to_matrix(torch.tensor([0.0, torch.pi / 2, 0.0]))
    torch.testing.assert_close(quarter @ torch.tensor([0.0, 0, 1]), torch.tensor([1.0, 0, 0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(R.yaw_matrix(torch.tensor(torch.pi / 2)), quarter, atol=1e-6, rtol=0)
    a, b = torch.tensor([1.0, 0, 0]), torch.tensor([0.0, 0, -1])
    torch.testing.assert_close(R.rotation_between(a, b) @ a, b, atol=1e-6, rtol=0)
    torch.testing.assert_close(R.rotation_between(a, -a) @ a, -a, atol=1e-6, rtol=0)
    q0 = R.axis_angle_to_quat(torch.tensor([0.0, 0, 0]))
    q1 = R.axis_angle_to_quat(torch.tensor([0.0, 1.0, 0]))
    half = R.quat_slerp(q0, q1, torch.tensor([0.5]))
    torch.testing.assert_close(R.quat_to_axis_angle(half), torch.tensor([0.0, 0.5, 0]), atol=1e-6, rtol=0)


def test_fk_of_rest_pose_gives_rest_positions():
    pos, _ = forward_kinematics(torch.eye(3).expand(22, 3, 3), torch.tensor(REST_OFFSETS[0]))
    np.testing.assert_allclose(pos.numpy(), rest_positions(), atol=1e-6)


def test_ik_of_fk_positions_within_one_millimetre():
    rot = R.axis_angle_to_matrix(torch.randn(200, 22, 3) * 0.8)
    root = torch.randn(200, 3)
    pos, _ = forward_kinematics(rot, root)
    pos2, _ = forward_kinematics(*inverse_kinematics(pos))
    assert (pos2 - pos).norm(dim=-1).max() < 1e-3


def test_features_encode_decode_is_identity_up_to_canonical_frame():
    m = smooth_motion()
    f = motion_to_features(m)
    assert f.shape == (len(m), FEATURE_DIM)
    back = features_to_motion(f, m.fps)
    canon = m.canonicalized()
    np.testing.assert_allclose(back.positions(), canon.positions(), atol=1e-4)
    # heading invariance: turning and moving the whole clip changes no feature
    moved = Motion(m.quats.copy(), m.root + np.array([3.0, 0, -2.0], np.float32), m.fps).canonicalized()
    torch.testing.assert_close(motion_to_features(moved), motion_to_features(canon), atol=1e-4, rtol=0)
    assert set(f[:, SLICES["contacts"]].unique().tolist()) <= {0.0, 1.0}


def test_features_batched_matches_single():
    ms = [smooth_motion(seed=s) for s in range(3)]
    batch = encode(torch.stack([m.matrices() for m in ms]), torch.stack([torch.from_numpy(m.root) for m in ms]), 20.0)
    torch.testing.assert_close(batch[1], motion_to_features(ms[1]), atol=1e-5, rtol=0)


def test_mirroring_twice_is_identity_and_swaps_sides():
    m = smooth_motion()
    np.testing.assert_allclose(m.mirrored().mirrored().quats, m.quats)
    pos, mpos = m.positions(), m.mirrored().positions()
    np.testing.assert_allclose(mpos[:, list(MIRROR_INDEX)] * [-1, 1, 1], pos, atol=1e-5)


def test_resampling_keeps_duration_and_round_trips():
    m = smooth_motion(frames=41)
    up = m.resampled(60.0)
    assert len(up) == 121 and up.fps == 60.0
    np.testing.assert_allclose(up.resampled(20.0).positions(), m.positions(), atol=1e-5)


def test_foot_contacts_still_vs_moving():
    still = Motion.rest(10).on_ground()
    assert foot_contacts(torch.from_numpy(still.positions()), 20.0).min() == 1
    sliding = Motion(still.quats, still.root + np.arange(10, dtype=np.float32)[:, None] * [0.1, 0, 0], 20.0)
    assert foot_contacts(torch.from_numpy(sliding.positions()), 20.0).max() == 0  # 2 m/s


def test_motion_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        Motion(np.zeros((5, 21, 4)), np.zeros((5, 3)))
    q = Motion.rest(3).quats
    q[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Motion(q, np.zeros((3, 3)))
