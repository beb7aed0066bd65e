"""BVH output on other rigs (--rig smpl|mixamo|unreal|cmu, --units, --fps): each file carries the
rig's joint names and rest pose, and our importer reads it back to the same motion."""

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from motion_samples import synthetic_walk
from scipy.spatial.transform import Rotation

from motiongen.errors import UserError
from motiongen.io import load_motion, rigs, save_motion
from motiongen.io.bvh import END_SITES, format_bvh, parse_bvh, read_bvh
from motiongen.io.retarget import retarget
from motiongen.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, REST_OFFSETS

RIG_NAMES = ["motiongen", "smpl", "mixamo", "unreal", "cmu"]
BONES = [(p, j) for j, p in enumerate(PARENTS) if p >= 0]


def arms_raised(frames: int = 30, fps: float = 20.0) -> Motion:
    """Both arms raised overhead and swaying, elbows and knees bent, forearms twisted, the spine
    bending and the head turning: a pose far from every rig's rest pose."""
    t = np.arange(frames) / fps
    sway = 0.3 * np.sin(2 * np.pi * 0.7 * t)
    rot = np.tile(np.eye(3), (frames, NUM_JOINTS, 1, 1))
    x, y, z = np.eye(3)

    def turn(name, axis, angle):  # then turn about the joint's own (already turned) axis
        j = JOINT_INDEX[name]
        rot[:, j] = rot[:, j] @ Rotation.from_rotvec(axis * np.broadcast_to(angle, t.shape)[:, None]).as_matrix()

    turn("left_shoulder", z, 1.4 + sway)  # +X arm turned up about +Z
    turn("right_shoulder", z, -1.4 - sway)
    turn("left_shoulder", x, 0.4 * sway)  # twist about the arm itself
    turn("left_elbow", y, 0.9 + sway)
    turn("right_elbow", y, -0.6 + sway)
    turn("left_elbow", x, 0.8)  # forearm roll
    turn("left_collar", z, 0.3)
    turn("right_collar", z, -0.3)
    turn("spine2", x, 0.2 + sway)
    turn("spine3", z, 0.5 * sway)
    turn("neck", x, -0.3)
    turn("head", y, 0.6 + sway)
    turn("left_hip", x, -1.0 + sway)  # knee up
    turn("left_knee", x, 1.2)
    turn("right_ankle", x, 0.3 * sway)
    turn("pelvis", y, 2.0 + 0.5 * sway)
    root = np.zeros((frames, 3))
    root[:, 1] = REST_OFFSETS[0, 1] - 0.05
    root[:, 0] = 0.3 * t
    return Motion.from_matrices(rot.astype(np.float32), root.astype(np.float32), fps)


MOTIONS = {"walk": lambda: synthetic_walk(frames=40, heading=0.7, start=(1.0, -2.0)), "arms_raised": arms_raised}


def bone_angles(a: Motion, b: Motion) -> np.ndarray:
    """Angle in degrees between each bone of a and of b, per frame (float64)."""
    pa, pb = a.positions().astype(np.float64), b.positions().astype(np.float64)
    va = np.stack([pa[:, j] - pa[:, p] for p, j in BONES], 1)
    vb = np.stack([pb[:, j] - pb[:, p] for p, j in BONES], 1)
    va /= np.linalg.norm(va, axis=-1, keepdims=True)
    vb /= np.linalg.norm(vb, axis=-1, keepdims=True)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(va, vb), axis=-1), (va * vb).sum(-1)))


def assert_same_motion(back: Motion, motion: Motion) -> None:
    assert len(back) == len(motion) and back.fps == motion.fps
    assert bone_angles(back, motion).max() < 1.0
    assert np.abs(back.positions() - motion.positions()).max() < 1e-3  # metres


@pytest.mark.parametrize("units", ["m", "cm"])
@pytest.mark.parametrize("rig", RIG_NAMES)
@pytest.mark.parametrize("kind", list(MOTIONS))
def test_every_rig_reads_back_to_the_same_motion(tmp_path, rig, units, kind):
    motion = MOTIONS[kind]()
    path = save_motion(motion, tmp_path / f"{rig}.bvh", rig=rig, units=units)
    bvh = read_bvh(path)
    assert sorted(bvh.names) == sorted(rigs.RIGS[rig].joints)  # the rig's joint names
    assert bvh.names[0] == rigs.RIGS[rig].joints[0]
    back = load_motion(path)
    assert_same_motion(back, motion)
    # rotations come back too (twist included), not only bone directions
    assert np.abs((back.quats * motion.quats).sum(-1)).min() > 1 - 1e-5


@pytest.mark.parametrize("rig", RIG_NAMES)
def test_the_rig_presets_retarget_each_file_within_a_degree(tmp_path, rig):
    """A file whose offsets were changed (edited, re-exported) goes through the joint-name presets
    instead of the exact reading; for an unchanged file they give the same motion."""
    motion = arms_raised()
    bvh = read_bvh(save_motion(motion, tmp_path / f"{rig}.bvh", rig=rig))
    names, rest, positions = bvh.with_end_sites()
    back = retarget(names, rest, positions, bvh.fps)
    expected = {"motiongen": "SMPL", "smpl": "SMPL", "mixamo": "Mixamo", "unreal": "Unreal", "cmu": "CMU-22"}
    assert back.meta["source_rig"] == expected[rig]
    assert_same_motion(back, motion)


def test_the_real_cmu_layout_keeps_its_own_preset():
    bvh = read_bvh(Path(__file__).parent / "fixtures" / "cmu_01_01_short.bvh")
    bvh.values = bvh.values[:5]
    names, rest, positions = bvh.with_end_sites()
    assert retarget(names, rest, positions, bvh.fps).meta["source_rig"] == "CMU"


@pytest.mark.parametrize("rig", RIG_NAMES)
def test_units_cm_gives_offsets_100_times_metres(tmp_path, rig):
    motion = synthetic_walk(frames=10)
    m = parse_bvh(save_motion(motion, tmp_path / "m.bvh", rig=rig, units="m").read_text())
    cm = parse_bvh(save_motion(motion, tmp_path / "cm.bvh", rig=rig, units="cm").read_text())
    np.testing.assert_allclose(cm.offsets, 100 * m.offsets, atol=1e-4)
    np.testing.assert_allclose(cm.values[:, :3], 100 * m.values[:, :3], atol=1e-4)  # root position
    np.testing.assert_allclose(cm.values[:, 3:], m.values[:, 3:], atol=1e-6)  # angles


def test_default_units_are_the_rigs(tmp_path):
    motion = synthetic_walk(frames=5)
    for rig, factor in [("motiongen", 1), ("smpl", 1), ("mixamo", 100), ("unreal", 100), ("cmu", 1)]:
        bvh = parse_bvh(save_motion(motion, tmp_path / f"{rig}.bvh", rig=rig).read_text())
        leg = np.linalg.norm(bvh.offsets[bvh.names.index(rigs.RIGS[rig].joints[JOINT_INDEX["left_knee"]])])
        assert leg == pytest.approx(0.40 * factor, rel=1e-3), rig


@pytest.mark.parametrize("rig", ["mixamo", "unreal", "cmu"])
def test_t_pose_rigs_rest_with_level_arms_and_straight_legs(tmp_path, rig):
    bvh = parse_bvh(save_motion(synthetic_walk(frames=5), tmp_path / "r.bvh", rig=rig).read_text())
    rest = dict(zip(bvh.names, bvh.rest_positions(), strict=True))
    at = dict(zip(JOINT_NAMES, rigs.RIGS[rig].joints, strict=True))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        arm = [rest[at[f"{side}_{j}"]] for j in ("collar", "shoulder", "elbow", "wrist")]
        for a, b in zip(arm[:-1], arm[1:], strict=True):
            direction = (b - a) / np.linalg.norm(b - a)
            np.testing.assert_allclose(direction, [sign, 0, 0], atol=1e-6)
        leg = [rest[at[f"{side}_{j}"]] for j in ("hip", "knee", "ankle")]
        for a, b in zip(leg[:-1], leg[1:], strict=True):
            np.testing.assert_allclose((b - a) / np.linalg.norm(b - a), [0, -1, 0], atol=1e-6)
    # the torso keeps our rest shape (see rigs.py); the bone lengths are ours
    lengths = np.linalg.norm(rigs.rest_offsets(rigs.RIGS[rig])[1:], axis=-1)
    np.testing.assert_allclose(lengths, np.linalg.norm(REST_OFFSETS[1:], axis=-1), rtol=1e-6)


def _fk(rotations: np.ndarray, offsets: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Joint positions (T, 22, 3) from local rotation matrices and parent-relative offsets."""
    glob = np.empty_like(rotations)
    pos = np.empty(rotations.shape[:2] + (3,))
    for j, p in enumerate(PARENTS):
        if p < 0:
            glob[:, j], pos[:, j] = rotations[:, j], root
        else:
            glob[:, j] = glob[:, p] @ rotations[:, j]
            pos[:, j] = pos[:, p] + glob[:, p] @ offsets[j]
    return pos


@pytest.mark.parametrize("rig", ["mixamo", "unreal", "cmu"])
def test_re_basing_keeps_the_world_pose(rig):
    """R'_j = T_p R_j T_j^T on the rig's offsets puts every joint where R_j on ours does, and
    from_rig undoes it; the re-basing is not the identity (14 degrees at the collar)."""
    motion = arms_raised()
    ours = motion.matrices().numpy().astype(np.float64)
    theirs = rigs.to_rig(rigs.RIGS[rig], ours)
    np.testing.assert_allclose(
        _fk(theirs, rigs.rest_offsets(rigs.RIGS[rig]), motion.root), motion.positions(), atol=1e-5
    )
    np.testing.assert_allclose(rigs.from_rig(rigs.RIGS[rig], theirs), ours, atol=1e-9)
    collar = JOINT_INDEX["left_collar"]
    turned = np.degrees(np.arccos((np.trace(rigs.rest_turns(rigs.RIGS[rig])[collar]) - 1) / 2))
    assert turned == pytest.approx(14.04, abs=0.01)


def test_fps_resamples_before_writing(tmp_path):
    motion = synthetic_walk(frames=41, fps=20.0)  # 2 s from first to last frame
    path = save_motion(motion, tmp_path / "walk30.bvh", rig="mixamo", fps=30)
    text = path.read_text()
    assert "Frame Time: 0.03333333\n" in text and "Frames: 61\n" in text
    back = load_motion(path)
    assert back.fps == 30.0 and len(back) == 61
    assert_same_motion(back, motion.resampled(30))


def test_default_output_is_unchanged(tmp_path):
    """Without options the file is byte for byte what the writer wrote before rigs existed: our
    names, our rest offsets, metres."""
    motion = arms_raised(frames=8)
    plain = save_motion(motion, tmp_path / "plain.bvh").read_bytes()
    assert save_motion(motion, tmp_path / "named.bvh", rig="motiongen", units="m").read_bytes() == plain
    offsets = REST_OFFSETS.astype(np.float64)
    offsets[0] = 0.0
    end_sites = {JOINT_INDEX[n]: np.array(o) for n, o in END_SITES.items()}
    before = format_bvh(list(JOINT_NAMES), list(PARENTS), offsets, end_sites, motion.quats, motion.root, 0.05)
    assert plain.decode() == before


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rig": "blender"}, "the BVH rig must be one of motiongen, smpl, mixamo, unreal, cmu, got 'blender'"),
        ({"units": "km"}, "the BVH units must be one of m, cm, got 'km'"),
        ({"fps": 0}, "the BVH frame rate must be from 1 to 1000, got 0"),
        ({"fps": float("nan")}, "the BVH frame rate must be a finite number"),
        ({"fps": 5000.0}, "the BVH frame rate must be from 1 to 1000"),
    ],
)
def test_bad_writer_options_are_user_errors(tmp_path, options, message):
    with pytest.raises(UserError, match=message):
        save_motion(synthetic_walk(frames=3), tmp_path / "x.bvh", **options)
    assert not (tmp_path / "x.bvh").exists()


# -- command line ---------------------------------------------------------------------------------


def test_convert_writes_a_mixamo_bvh(tmp_path, monkeypatch, capsys):
    motion = synthetic_walk(frames=21)
    save_motion(motion, tmp_path / "walk.bvh")
    out = tmp_path / "out.bvh"
    code, stdout, err = run(monkeypatch, capsys, "convert", tmp_path / "walk.bvh", "-o", out, "--rig", "mixamo")
    assert code == 0 and "wrote" in stdout, err
    bvh = read_bvh(out)
    assert bvh.names[0] == "mixamorig:Hips" and "mixamorig:LeftForeArm" in bvh.names
    assert bvh.offsets[bvh.names.index("mixamorig:LeftLeg")][1] == pytest.approx(-40.0, abs=1e-3)  # cm
    assert_same_motion(load_motion(out), load_motion(tmp_path / "walk.bvh"))
    code, _, err = run(
        monkeypatch, capsys, "convert", tmp_path / "walk.bvh", "-o", tmp_path / "o.bvh", "--fps", "30", "--units", "cm"
    )
    assert code == 0, err
    assert len(load_motion(tmp_path / "o.bvh")) == 31  # 1 s at 20 fps (21 frames) is 31 frames at 30 fps


@pytest.mark.parametrize(
    "args, words",
    [
        (["--rig", "blender"], ["--rig must be one of", "blender"]),
        (["--units", "km"], ["--units must be one of m, cm", "km"]),
        (["--fps", "0"], ["--fps must be from 1 to 1000"]),
        (["--fps", "nan"], ["--fps must be a finite number"]),
        (["--output-fps", "-5"], ["--fps must be from 1 to 1000"]),
    ],
)
def test_bad_cli_values_are_one_line(tmp_path, monkeypatch, capsys, args, words):
    save_motion(synthetic_walk(frames=5), tmp_path / "walk.bvh")
    result = run(monkeypatch, capsys, "convert", tmp_path / "walk.bvh", "-o", tmp_path / "out.bvh", *args)
    assert_one_line_error(result, *words)
    assert not (tmp_path / "out.bvh").exists()


def test_rig_options_are_refused_for_other_formats(tmp_path, monkeypatch, capsys):
    save_motion(synthetic_walk(frames=5), tmp_path / "walk.bvh")
    result = run(monkeypatch, capsys, "convert", tmp_path / "walk.bvh", "-o", tmp_path / "out.npz", "--rig", "smpl")
    assert_one_line_error(result, "--rig only applies to BVH output", "out.npz")
    result = run(
        monkeypatch, capsys, "convert", tmp_path / "walk.bvh", "-o", tmp_path / "o.npz", "--units", "cm", "--fps", "30"
    )
    assert_one_line_error(result, "--units, --fps only apply to BVH output")
