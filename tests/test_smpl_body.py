"""SMPL bodies through smplx (--smpl-model), on a synthetic model file in SMPL's format: finding
and safely reading the file, the posed mesh against our forward kinematics, the skinned .glb read
back (pygltflib, trimesh), the mesh video, and one-line errors for bad model folders."""

import json
import os
import pickle
import re
import subprocess

import numpy as np
import pytest
import smplx
import torch
import trimesh
from cli_helpers import assert_one_line_error, run
from motion_samples import synthetic_walk
from smpl_helpers import RIGHT_WRIST, SMPL_PARENTS, SMPLH_PARENTS, right_wrist_vertices, synthetic_smpl, write_model
from test_glb import VALIDATE, _validator_ready, load, skinned_vertices

from motiongen.body import smpl
from motiongen.errors import UserError
from motiongen.io import save_motion
from motiongen.motion import Motion
from motiongen.motion import rotations as R
from motiongen.motion.kinematics import forward_kinematics
from motiongen.motion.skeleton import JOINT_NAMES
from motiongen.render.video import render_frame


def twisting(frames=12, seed=0) -> Motion:
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, frames)[:, None, None]
    aa = torch.randn(1, 22, 3, generator=g) * 1.2 * torch.sin(2 * torch.pi * t + torch.randn(1, 22, 1, generator=g))
    root = torch.cumsum(torch.randn(frames, 3, generator=g) * 0.03, 0) + torch.tensor([0.3, 0.9, -0.2])
    return Motion.from_matrices(R.axis_angle_to_matrix(aa), root.numpy(), 20.0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl").parent


@pytest.mark.parametrize(
    "name, gender",
    [
        ("SMPL_NEUTRAL.pkl", "neutral"),
        ("smpl/SMPL_MALE.npz", "male"),
        ("basicmodel_f_lbs_10_207_0_v1.1.0.pkl", "female"),
        ("smplh/neutral/model.npz", "neutral"),
    ],
)
def test_smplx_loads_the_model_file_through_our_code(tmp_path, name, gender):
    write_model(tmp_path / name)
    body = smpl.load(tmp_path)
    assert isinstance(body.model, smplx.SMPL) and body.kind == "smpl" and body.gender == gender
    assert body.path == tmp_path / name
    assert body.joint_names == (*JOINT_NAMES, "left_hand", "right_hand") and body.parents[1:] == SMPL_PARENTS[1:]
    model = synthetic_smpl()
    vertices, joints = body.rest()
    np.testing.assert_allclose(vertices, model["v_template"], atol=1e-6)
    np.testing.assert_allclose(joints, model["J_regressor"] @ model["v_template"], atol=1e-6)
    assert smpl.load(tmp_path / name).path == tmp_path / name  # the file itself works too


def test_betas_shape_the_body(model_dir):
    betas = np.linspace(-2, 2, 10)
    vertices, _ = smpl.load(model_dir, betas=betas).rest()
    model = synthetic_smpl()
    np.testing.assert_allclose(vertices, model["v_template"] + model["shapedirs"] @ betas, atol=1e-5)


def test_mesh_follows_the_motion(model_dir):
    """The body's joints follow our rotations along the body's own bones; the right wrist's
    vertices (weighted fully to it) turn and move with it; the pelvis is ours, lifted."""
    body = smpl.load(model_dir)
    motion = twisting()
    vertices, joints = body.posed(motion.quats, motion.root)
    _, rest_joints = body.rest()
    rest_vertices, _ = body.rest()
    _, rotations = forward_kinematics(motion.matrices(), torch.from_numpy(motion.root))
    rotations = rotations.numpy()
    np.testing.assert_allclose(joints[:, 0], motion.root + body.lift, atol=1e-5)
    for j in range(1, 24):
        p = SMPL_PARENTS[j]
        turn = rotations[:, min(p, 21)]  # the hands (22, 23) hang from the wrists
        expected = joints[:, p] + turn @ (rest_joints[j] - rest_joints[p])
        np.testing.assert_allclose(joints[:, j], expected, atol=1e-5)
    wrist = right_wrist_vertices()
    expected = joints[:, None, RIGHT_WRIST] + np.einsum(
        "tab,vb->tva", rotations[:, RIGHT_WRIST], rest_vertices[wrist] - rest_joints[RIGHT_WRIST]
    )
    np.testing.assert_allclose(vertices[:, wrist], expected, atol=1e-5)
    assert np.abs(np.diff(vertices[:, wrist], axis=0)).max() > 0.01  # it does move


def test_a_standing_body_stands_on_the_floor(model_dir):
    body = smpl.load(model_dir)
    standing = Motion.rest(2).on_ground()
    vertices, _ = body.posed(standing.quats, standing.root)
    np.testing.assert_allclose(vertices[..., 1].min(1), 0.0, atol=1e-5)


def test_glb_holds_the_skinned_smpl_body(tmp_path):
    model = synthetic_smpl()
    model["posedirs"][:] = 0  # glTF skinning has no pose corrections: then it is exactly smplx's mesh
    folder = write_model(tmp_path / "model" / "SMPL_NEUTRAL.npz", model).parent
    motion = twisting(seed=1)
    path = save_motion(motion, tmp_path / "body.glb", smpl_model=folder)
    gltf = load(path)
    (skin,) = gltf.skins
    assert [gltf.nodes[n].name for n in skin.joints] == [*JOINT_NAMES, "left_hand", "right_hand"]
    body = smpl.load(folder)
    vertices, _ = body.posed(motion.quats, motion.root)
    for frame in (0, 5, 11):
        skinned, _ = skinned_vertices(gltf, 0, frame)
        np.testing.assert_allclose(skinned, vertices[frame], atol=1e-5)
    scene = trimesh.load(path)
    (mesh,) = scene.geometry.values()
    assert len(mesh.vertices) == len(model["v_template"]) and len(mesh.faces) == len(model["f"])
    assert gltf.scenes[0].extras["frames"] == 12


def test_mesh_video_draws_the_body_and_it_moves(model_dir):
    walk = synthetic_walk(frames=30)
    size = (160, 120)
    skeleton = render_frame(walk, 10, size=size)
    first, later = (render_frame(walk, i, size=size, smpl_model=model_dir) for i in (0, 10))
    assert np.abs(first.astype(int) - later.astype(int)).max() > 100  # the body moved
    assert np.abs(skeleton.astype(int) - later.astype(int)).sum(-1).astype(bool).sum() > 50  # not the skeleton


def test_cli_render_convert_and_npz_layout(tmp_path, monkeypatch, capsys, model_dir):
    clip = save_motion(synthetic_walk(frames=8), tmp_path / "walk.bvh")
    code, out, err = run(monkeypatch, capsys, "render", clip, "-o", tmp_path / "walk.mp4", "--smpl-model", model_dir)
    assert code == 0, err
    assert (tmp_path / "walk.mp4").stat().st_size > 1000
    code, out, err = run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "walk.glb", "--smpl-model", model_dir)
    assert code == 0, err
    assert len(load(tmp_path / "walk.glb").skins[0].joints) == 24
    code, out, err = run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "walk.npz", "--npz-layout", "smpl")
    assert code == 0, err
    with np.load(tmp_path / "walk.npz") as data:
        assert data["poses"].shape == (8, 72)
    assert_one_line_error(
        run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "a.bvh", "--smpl-model", model_dir),
        "--smpl-model only applies to .glb / .mp4 / .gif output",
    )
    assert_one_line_error(
        run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "a.npz", "--npz-layout", "smplx"),
        "unknown --npz-layout 'smplx'",
    )
    assert_one_line_error(
        run(monkeypatch, capsys, "render", clip, "-o", tmp_path / "a.mp4", "--smpl-model", tmp_path / "none"),
        "no such folder",
    )
    assert not (tmp_path / "a.mp4").exists()


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch ran",))


def _bad_model(folder, kind):
    """A model folder that is wrong in one way."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "SMPL_NEUTRAL.pkl"
    if kind == "garbage":
        target.write_text("not a model")
    elif kind == "code":
        target.write_bytes(pickle.dumps({"v_template": _RunsCode()}, protocol=2))
    elif kind == "chumpy":
        target.write_bytes(b"\x80\x02cchumpy.ch\nCh\nq\x00)\x81q\x01.")
    elif kind == "missing":
        model = synthetic_smpl()
        del model["weights"]
        write_model(target, model)
    elif kind == "smplx":
        model = synthetic_smpl()
        model["kintree_table"] = np.zeros((2, 55), np.int64)
        write_model(target, model)
    elif kind == "shapes":
        model = synthetic_smpl()
        model["weights"] = model["weights"][:-1]
        write_model(target, model)
    elif kind == "other-files":
        (folder / "readme.txt").write_text("hello")
    return folder


@pytest.mark.parametrize(
    "kind, message",
    [
        ("empty", "holds no SMPL or SMPL+H model file"),
        ("other-files", "holds no SMPL or SMPL+H model file"),
        ("garbage", "is not a readable SMPL model file"),
        ("code", "asks to load posix.system, which a model file never needs"),
        ("chumpy", "holds chumpy objects; remove them with smplx's tools/clean_ch.py"),
        ("missing", "is not an SMPL model file: it lacks weights"),
        ("smplx", "has 55 joints; SMPL has 24 and SMPL+H 52"),
        ("shapes", "the arrays do not fit together"),
    ],
)
def test_bad_model_folders_give_one_clear_line(tmp_path, monkeypatch, kind, message):
    monkeypatch.chdir(tmp_path)
    folder = _bad_model(tmp_path / "model", kind)
    with pytest.raises(UserError, match=re.escape(message)) as caught:
        smpl.load(folder)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "ran").exists()  # nothing in the file was run


def test_smplh_model_gets_52_joints_and_flat_hands(tmp_path):
    """An SMPL+H file (AMASS's body): fingers stay at rest, so they move rigidly with the wrists."""
    from smplx.joint_names import SMPLH_JOINT_NAMES

    model = synthetic_smpl(hands=True)
    model["posedirs"][:] = 0
    folder = write_model(tmp_path / "smplh" / "SMPLH_NEUTRAL.npz", model).parent.parent
    body = smpl.load(folder)
    assert isinstance(body.model, smplx.SMPLH) and body.kind == "smplh"
    assert body.joint_names == tuple(SMPLH_JOINT_NAMES[:52]) and body.parents[1:] == SMPLH_PARENTS[1:]
    motion = twisting(seed=2)
    vertices, joints = body.posed(motion.quats, motion.root)
    _, rest_joints = body.rest()
    _, rotations = forward_kinematics(motion.matrices(), torch.from_numpy(motion.root))
    for j in range(22, 52):
        wrist = 20 if j < 37 else 21
        expected = joints[:, wrist] + rotations[:, wrist].numpy() @ (rest_joints[j] - rest_joints[wrist])
        np.testing.assert_allclose(joints[:, j], expected, atol=1e-5)
    gltf = load(save_motion(motion, tmp_path / "hands.glb", smpl_model=folder))
    assert len(gltf.skins[0].joints) == 52
    np.testing.assert_allclose(skinned_vertices(gltf, 0, 7)[0], vertices[7], atol=1e-5)


@pytest.mark.skipif(not _validator_ready(), reason="node or the npm package gltf-validator is missing")
def test_gltf_validator_finds_no_errors_in_the_smpl_glb(tmp_path, model_dir):
    path = save_motion([twisting(), synthetic_walk(frames=20)], tmp_path / "two.glb", smpl_model=model_dir)
    result = subprocess.run(["node", "-e", VALIDATE, str(path)], capture_output=True, text=True, timeout=120)
    issues = json.loads(result.stdout)
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]


def test_cli_gender_goes_into_the_npz(tmp_path, monkeypatch, capsys):
    clip = save_motion(synthetic_walk(frames=5), tmp_path / "walk.bvh")
    code, out, err = run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "walk.npz", "--gender", "female")
    assert code == 0, err
    with np.load(tmp_path / "walk.npz") as data:
        assert str(data["gender"]) == "female" and data["poses"].shape == (5, 156)
    assert_one_line_error(
        run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "b.npz", "--gender", "x"), "unknown --gender 'x'"
    )
    assert_one_line_error(
        run(monkeypatch, capsys, "convert", clip, "-o", tmp_path / "b.bvh", "--gender", "male"),
        "--gender only applies to .npz output",
    )
