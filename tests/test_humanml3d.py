"""HumanML3D joint files (.npy, (T, 22, 3), 20 fps): round trip, resampling, IK on other bone
lengths, errors."""

import numpy as np
import pytest
import torch

from motiongen.errors import UserError
from motiongen.io import load_motion, save_motion
from motiongen.motion import Motion
from motiongen.motion import rotations as R
from motiongen.motion.skeleton import PARENTS


def smooth_motion(frames=40, seed=0, fps=20.0) -> Motion:
    """Smoothly varying random rotations (up to ~1.5 rad) and a wandering root."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, frames)[:, None, None]
    a, b, phase = (torch.randn(1, 22, 3, generator=g) * s for s in (0.5, 0.5, 3.0))
    aa = a + b * torch.sin(2 * torch.pi * t + phase)
    root = torch.cumsum(torch.randn(frames, 3, generator=g) * 0.02, 0) + torch.tensor([0.0, 0.9, 0.0])
    return Motion.from_matrices(R.axis_angle_to_matrix(aa), root.numpy(), fps)


def bone_directions(pos: np.ndarray) -> np.ndarray:
    bones = pos[:, 1:] - pos[:, list(PARENTS[1:])]
    return bones / np.linalg.norm(bones, axis=-1, keepdims=True)


def test_round_trip_within_a_millimetre(tmp_path):
    motion = smooth_motion()
    path = save_motion(motion, tmp_path / "clip.npy")
    joints = np.load(path)
    assert joints.shape == (40, 22, 3) and joints.dtype == np.float32
    np.testing.assert_allclose(joints, motion.positions(), atol=1e-6)
    back = load_motion(path)
    assert back.fps == 20.0
    np.testing.assert_allclose(back.positions(), motion.positions(), atol=1e-3)


def test_other_frame_rates_are_written_at_20_fps(tmp_path):
    motion = smooth_motion(frames=61, fps=60.0)
    joints = np.load(save_motion(motion, tmp_path / "clip.npy"))
    assert len(joints) == 21  # 1 s at 20 fps, both ends included
    np.testing.assert_allclose(joints, motion.resampled(20.0).positions(), atol=1e-6)
    np.testing.assert_allclose(joints[::2], motion.positions()[::6], atol=1e-5)  # shared instants


def test_other_bone_lengths_keep_directions_and_root(tmp_path):
    """HumanML3D's bodies are not ours: IK follows the bone directions, the root stays put."""
    pos = smooth_motion().positions()
    longer = pos[:, :1] + (pos - pos[:, :1]) * 1.1  # every bone 10% longer
    np.save(tmp_path / "longer.npy", longer)
    motion = load_motion(tmp_path / "longer.npy")
    np.testing.assert_allclose(motion.root, longer[:, 0], atol=1e-6)
    cos = (bone_directions(motion.positions()) * bone_directions(longer)).sum(-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.1


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((10, 263)), "263-D feature vectors"),
        (np.zeros((10, 22, 2)), r"shape \(T, 22, 3\), got \(10, 22, 2\)"),
        (np.zeros((0, 22, 3)), "shape"),
        (np.full((4, 22, 3), np.nan), "NaN"),
        (np.array([{"a": 1}], dtype=object), "not loaded for safety"),
    ],
    ids=["vectors", "2d", "empty", "nan", "pickled"],
)
def test_bad_files_give_a_clear_error(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(UserError, match=message):
        load_motion(tmp_path / "bad.npy")


def test_not_an_npy_file(tmp_path):
    (tmp_path / "junk.npy").write_text("x, y, z")
    with pytest.raises(UserError, match="not a NumPy .npy file"):
        load_motion(tmp_path / "junk.npy")


def test_several_people_are_refused(tmp_path):
    with pytest.raises(UserError, match="one person"):
        save_motion([smooth_motion(), smooth_motion(seed=1)], tmp_path / "two.npy")
