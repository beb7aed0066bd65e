"""npz: AMASS SMPL+H and SMPL layouts (written and read, Z up, SMPL-X width read), the corpus layout, errors."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from motiongen.cli.app import app
from motiongen.errors import UserError
from motiongen.io import load_motion, save_motion
from motiongen.motion import Motion
from motiongen.motion import rotations as R
from motiongen.motion.skeleton import JOINT_INDEX


def smooth_motion(frames=40, seed=0, fps=30.0) -> Motion:
    """Smoothly varying random rotations (up to ~1.5 rad) and a wandering root."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, frames)[:, None, None]
    a, b, phase = (torch.randn(1, 22, 3, generator=g) * s for s in (0.5, 0.5, 3.0))
    aa = a + b * torch.sin(2 * torch.pi * t + phase)
    root = torch.cumsum(torch.randn(frames, 3, generator=g) * 0.02, 0) + torch.tensor([0.0, 0.9, 0.0])
    return Motion.from_matrices(R.axis_angle_to_matrix(aa), root.numpy(), fps)


def assert_same_motion(a: Motion, b: Motion, atol=1e-5):
    assert a.fps == b.fps and len(a) == len(b)
    assert np.abs((a.quats * b.quats).sum(-1)).min() > 1 - 1e-6  # same rotations up to sign
    np.testing.assert_allclose(a.root, b.root, atol=atol)
    np.testing.assert_allclose(a.positions(), b.positions(), atol=atol)


def amass_file(path, poses, trans, fps=120.0, fps_key="mocap_framerate", gender="male", betas=None, **extra):
    """A file laid out exactly as AMASS's (float64 arrays, gender as a string array)."""
    np.savez(
        path,
        trans=trans,
        gender=np.array(gender),
        **{fps_key: np.array(fps)},
        betas=np.zeros(16) if betas is None else betas,
        poses=poses,
        dmpls=np.zeros((len(poses), 8)),
        **extra,
    )
    return path


def test_default_is_amass_smplh_layout_and_round_trips(tmp_path):
    motion = smooth_motion()
    path = save_motion(motion, tmp_path / "clip.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["poses"].shape == (40, 156) and data["trans"].shape == (40, 3)
        assert np.all(data["poses"][:, 66:] == 0)  # both hands, 2 x 15 joints
        assert np.all(data["betas"] == 0) and data["betas"].shape == (16,)
        assert data["dmpls"].shape == (40, 8) and np.all(data["dmpls"] == 0)
        assert float(data["mocap_framerate"]) == 30.0 and float(data["mocap_frame_rate"]) == 30.0
        assert str(data["gender"]) == "neutral"
        assert data["poses"].dtype == np.float64 and data["trans"].dtype == np.float64
    assert_same_motion(load_motion(path), motion)


@pytest.mark.parametrize("layout, width, betas", [("smplh", 156, 16), ("smpl", 72, 10), ("amass", 156, 16)])
def test_smpl_layouts_round_trip(tmp_path, layout, width, betas):
    motion = smooth_motion(seed=3)
    path = save_motion(motion, tmp_path / f"{layout}.npz", layout=layout)
    with np.load(path, allow_pickle=False) as data:
        assert data["poses"].shape == (40, width) and data["betas"].shape == (betas,)
        assert np.all(data["poses"][:, 66:] == 0)
    assert_same_motion(load_motion(path), motion)


def test_pose_columns_are_smpl_joints_in_smpl_order(tmp_path):
    """Our 22 joints are SMPL's first 22 (smplx's own names and order); column 3 j is joint j."""
    from smplx.joint_names import JOINT_NAMES as SMPLX_NAMES

    from motiongen.motion.skeleton import JOINT_NAMES, PARENTS

    assert list(JOINT_NAMES) == SMPLX_NAMES[:22]
    assert PARENTS == (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)  # SMPL's kintree
    motion = Motion.rest(frames=2)
    aa = np.zeros((2, 22, 3))
    aa[:, JOINT_INDEX["right_elbow"]] = [0.0, 0.7, 0.0]
    motion = Motion.from_matrices(R.axis_angle_to_matrix(torch.from_numpy(aa)), motion.root)
    with np.load(save_motion(motion, tmp_path / "elbow.npz"), allow_pickle=False) as data:
        poses = data["poses"]
    np.testing.assert_allclose(poses[:, 3 * 19 : 3 * 20], [[0.0, 0.7, 0.0]] * 2, atol=1e-6)  # right_elbow is 19
    others = np.delete(poses[:, 3:66].reshape(2, 21, 3), 19 - 1, axis=1)
    assert np.abs(others).max() < 1e-7
    np.testing.assert_allclose(poses[:, :3], [[np.pi / 2, 0, 0]] * 2, atol=1e-6)  # Y up -> Z up, root only


def test_humanml3d_raw_pose_processing_reads_our_file(tmp_path):
    """The reads HumanML3D's raw_pose_processing makes of an AMASS file, on ours (20 fps)."""
    motion = smooth_motion(frames=25, fps=20.0)
    bdata = np.load(save_motion(motion, tmp_path / "clip.npz"), allow_pickle=True)
    fps = bdata["mocap_framerate"]
    frame_number = bdata["trans"].shape[0]
    assert int(fps / 20) == 1 and frame_number == 25
    assert bdata["poses"][0:1, :3].shape == (1, 3) and bdata["poses"][0:1, 3:66].shape == (1, 63)
    assert bdata["poses"][0:1, 66:].shape == (1, 90)  # SMPL+H's two hands, 2 x 15 x 3
    assert bdata["betas"][:10][np.newaxis].shape == (1, 10) and bdata["trans"][0:1].shape == (1, 3)
    assert not (bdata["gender"] == "male")  # its test for the male body; ours is neutral


def test_amass_gender_and_betas_carry_over(tmp_path):
    rng = np.random.default_rng(1)
    poses, trans, betas = rng.normal(size=(6, 156)) * 0.3, rng.normal(size=(6, 3)), rng.normal(size=16)
    source = amass_file(tmp_path / "female.npz", poses, trans, fps=60.0, gender="female", betas=betas)
    motion = load_motion(source)
    assert motion.meta["smpl_gender"] == "female"
    np.testing.assert_allclose(motion.meta["smpl_betas"], betas)
    again = save_motion(motion, tmp_path / "again.npz")
    with np.load(again) as data:
        assert str(data["gender"]) == "female"
        np.testing.assert_allclose(data["betas"], betas)
        np.testing.assert_allclose(data["trans"], trans, atol=1e-5)  # the body stays where it was
        np.testing.assert_allclose(data["poses"][:, :66], poses[:, :66], atol=1e-5)
    with np.load(save_motion(motion, tmp_path / "male.npz", gender="male", layout="smpl")) as data:
        assert str(data["gender"]) == "male"
        np.testing.assert_allclose(data["betas"], betas[:10])


def test_unknown_layout_or_gender_is_one_clear_line(tmp_path):
    with pytest.raises(UserError, match="unknown npz layout 'smplx'; use one of smplh, smpl, motiongen"):
        save_motion(smooth_motion(), tmp_path / "a.npz", layout="smplx")
    with pytest.raises(UserError, match="unknown gender 'other'; use one of neutral, male, female"):
        save_motion(smooth_motion(), tmp_path / "a.npz", gender="other")
    assert not (tmp_path / "a.npz").exists()


def test_amass_standing_pose_reads_upright_facing_forward(tmp_path):
    """AMASS is Z up: root orientation (pi/2, 0, 0) stands SMPL's Y-up body up, facing -Y."""
    poses = np.zeros((3, 156))
    poses[:, 0] = np.pi / 2
    poses[:, 3 * JOINT_INDEX["left_knee"]] = 0.5  # local joint rotations carry over unchanged
    trans = np.tile([0.5, -0.3, 0.9], (3, 1))
    motion = load_motion(amass_file(tmp_path / "stand_poses.npz", poses, trans))
    assert motion.fps == 120.0
    np.testing.assert_allclose(motion.quats[:, 0], [[1, 0, 0, 0]] * 3, atol=1e-6)  # upright, facing +Z
    knee = R.axis_angle_to_quat(torch.tensor([0.5, 0.0, 0.0])).numpy()
    np.testing.assert_allclose(motion.quats[:, JOINT_INDEX["left_knee"]], [knee] * 3, atol=1e-6)
    # pelvis = trans + SMPL's rest pelvis (-0.0018, -0.2233, 0.0282), then Z up -> Y up: (x, z, -y)
    np.testing.assert_allclose(motion.root, [[0.498205, 0.928219, 0.523333]] * 3, atol=1e-6)
    pos = motion.positions()
    head, pelvis = pos[:, JOINT_INDEX["head"]], pos[:, JOINT_INDEX["pelvis"]]
    assert (head[:, 1] - pelvis[:, 1] > 0.5).all()
    np.testing.assert_allclose(head[:, [0, 2]], pelvis[:, [0, 2]], atol=0.05)
    np.testing.assert_allclose(motion.heading(), 0.0, atol=1e-6)


@pytest.mark.parametrize("width, fps_key", [(156, "mocap_framerate"), (165, "mocap_frame_rate")])
def test_smplh_and_smplx_poses_keep_the_first_22_joints(tmp_path, width, fps_key):
    rng = np.random.default_rng(0)
    body = rng.normal(size=(5, 66)) * 0.5
    trans = rng.normal(size=(5, 3))
    wide = np.concatenate([body, rng.normal(size=(5, width - 66))], axis=1)  # hands, jaw, eyes: ignored
    narrow = np.concatenate([body, np.zeros((5, 6))], axis=1)
    expected = load_motion(amass_file(tmp_path / "smpl.npz", narrow, trans))
    got = load_motion(amass_file(tmp_path / "wide.npz", wide, trans, fps_key=fps_key))
    assert_same_motion(got, expected)


def test_corpus_layout_reads_and_writes(tmp_path):
    motion = smooth_motion(fps=20.0)
    path = tmp_path / "walk.npz"
    np.savez(path, quats=motion.quats, root=motion.root, fps=np.float32(20.0))  # as data/corpus/*.npz
    assert_same_motion(load_motion(path), motion, atol=0)
    written = save_motion(motion, tmp_path / "again.npz", layout="motiongen")
    with np.load(written) as data:
        assert sorted(data.files) == ["fps", "quats", "root"]
    assert_same_motion(load_motion(written), motion, atol=0)


def test_cli_converts_a_corpus_file_to_bvh(tmp_path, monkeypatch):
    motion = smooth_motion(fps=20.0)
    np.savez(tmp_path / "walk.npz", quats=motion.quats, root=motion.root, fps=np.float32(20.0))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["convert", "walk.npz", "-o", "walk.bvh"])  # motiongen convert ...
    assert result.exit_code == 0, result.output
    assert_same_motion(load_motion(tmp_path / "walk.bvh"), motion, atol=1e-4)


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(foo=np.zeros(3)), "neither the AMASS layout .* its keys are: foo"),
        (dict(poses=np.full((2, 72), np.nan), trans=np.zeros((2, 3)), mocap_framerate=30.0), "NaN"),
        (
            dict(poses=np.zeros((2, 10)), trans=np.zeros((2, 3)), mocap_framerate=30.0),
            r"\(T, 72\) axis-angle for SMPL, \(T, 156\) for SMPL\+H",
        ),
        (dict(poses=np.zeros((2, 72)), trans=np.zeros((2, 3))), "no frame rate"),
        (dict(quats=np.zeros((2, 22, 4)), root=np.zeros((3, 3)), fps=20.0), r"quats must be \(T, 22, 4\)"),
        (dict(quats=np.array([{"a": 1}], dtype=object), root=np.zeros(3)), "not loaded for safety"),
    ],
    ids=["unknown-keys", "nan", "narrow-poses", "no-fps", "bad-shapes", "pickled"],
)
def test_bad_files_give_a_clear_error(tmp_path, arrays, message):
    with pytest.raises(UserError, match=message):
        load_motion(write_npz(tmp_path / "bad.npz", **arrays))


def test_not_a_zip(tmp_path):
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(UserError, match="not a valid .npz"):
        load_motion(tmp_path / "junk.npz")


def test_several_people_share_one_file(tmp_path):
    from motiongen.io import load_people

    a, b = smooth_motion(), smooth_motion(seed=1).slice(0, 10)
    save_motion([a, b], tmp_path / "two.npz")
    people = load_people(tmp_path / "two.npz")
    assert [len(m) for m in people] == [len(a), 10]
    np.testing.assert_allclose(people[1].root, b.root, atol=1e-6)
    np.testing.assert_allclose(load_motion(tmp_path / "two.npz").root, a.root, atol=1e-6)  # the first person
