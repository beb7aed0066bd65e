"""glTF binary (.glb): skeleton, skin and animation read back with pygltflib, forward kinematics from
the file's node data against Motion.positions(), the mannequin's size, extras, errors, the CLI.

The gltf-validator test runs when node can load the npm package gltf-validator (for instance with
NODE_PATH pointing at a node_modules folder that holds it); it is skipped otherwise."""

import json
import os
import shutil
import subprocess

import numpy as np
import pygltflib
import pytest
import torch
import trimesh
from cli_helpers import run
from motion_samples import synthetic_walk

from motiongen.errors import UserError
from motiongen.io import save_motion
from motiongen.io.glb import write
from motiongen.motion import Motion
from motiongen.motion import rotations as R
from motiongen.motion.skeleton import JOINT_NAMES, PARENTS, rest_positions

TYPES = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}
DTYPES = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_BYTE: np.uint8, pygltflib.UNSIGNED_SHORT: np.uint16}


def twisting_motion(frames=30, seed=0, fps=30.0) -> Motion:
    """Large smooth random rotations (through 180 degrees, where quaternion signs flip) and a moving root."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, frames)[:, None, None]
    aa = torch.randn(1, 22, 3, generator=g) * 2.0 * torch.sin(2 * torch.pi * t + torch.randn(1, 22, 1, generator=g))
    root = torch.cumsum(torch.randn(frames, 3, generator=g) * 0.03, 0) + torch.tensor([0.0, 0.9, 0.0])
    return Motion.from_matrices(R.axis_angle_to_matrix(aa), root.numpy(), fps)


def load(path) -> pygltflib.GLTF2:
    return pygltflib.GLTF2().load(str(path))


def data(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """An accessor's values, shaped (count, components)."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    width = TYPES[accessor.type]
    dtype = DTYPES[accessor.componentType]
    start = view.byteOffset + (accessor.byteOffset or 0)
    values = np.frombuffer(gltf.binary_blob(), dtype, accessor.count * width, start)
    return values.reshape(accessor.count, width)


def channels(gltf: pygltflib.GLTF2) -> dict:
    """(node, path) -> (times, values) of the one animation."""
    (animation,) = gltf.animations
    out = {}
    for channel in animation.channels:
        sampler = animation.samplers[channel.sampler]
        assert sampler.interpolation == "LINEAR"
        out[channel.target.node, channel.target.path] = (data(gltf, sampler.input)[:, 0], data(gltf, sampler.output))
    return out


def quat_matrix(xyzw: np.ndarray) -> np.ndarray:
    """3x3 rotation matrix of a glTF quaternion (x, y, z, w), written out here on purpose."""
    x, y, z, w = xyzw / np.linalg.norm(xyzw)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def gltf_world(gltf: pygltflib.GLTF2, skin: int, frame: int) -> np.ndarray:
    """World matrices (22, 4, 4) of a skin's joints at a keyframe, composing node TRS down the hierarchy."""
    anim = channels(gltf)
    joints = gltf.skins[skin].joints
    parent = {c: n for n, node in enumerate(gltf.nodes) for c in node.children or []}
    world = {}

    def transform(n):
        if n in world:
            return world[n]
        node = gltf.nodes[n]
        local = np.eye(4)
        t = anim[n, "translation"][1][frame] if (n, "translation") in anim else node.translation or [0, 0, 0]
        q = anim[n, "rotation"][1][frame] if (n, "rotation") in anim else node.rotation or [0, 0, 0, 1]
        local[:3, :3] = quat_matrix(np.asarray(q, np.float64))
        local[:3, 3] = t
        world[n] = (transform(parent[n]) if n in parent else np.eye(4)) @ local
        return world[n]

    return np.stack([transform(n) for n in joints])


def gltf_positions(gltf: pygltflib.GLTF2, skin: int, frame: int) -> np.ndarray:
    return gltf_world(gltf, skin, frame)[:, :3, 3]


def skinned_vertices(gltf: pygltflib.GLTF2, skin: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Mesh vertices at a keyframe by linear blend skinning, and the joint (skin index) each follows."""
    (primitive,) = gltf.meshes[gltf.nodes[gltf.skins[skin].joints[-1] + 1].mesh].primitives
    rest = data(gltf, primitive.attributes.POSITION).astype(np.float64)
    joints, weights = data(gltf, primitive.attributes.JOINTS_0), data(gltf, primitive.attributes.WEIGHTS_0)
    inverse_bind = data(gltf, gltf.skins[skin].inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    matrices = gltf_world(gltf, skin, frame) @ inverse_bind
    homogeneous = np.concatenate([rest, np.ones((len(rest), 1))], 1)
    blended = np.einsum("vk,vkab,vb->va", weights, matrices[joints], homogeneous)
    return blended[:, :3], joints[np.arange(len(joints)), np.argmax(weights, 1)]


def assert_same_quats(written: np.ndarray, wxyz: np.ndarray):
    """Equal to (x, y, z, w) of the motion's quaternions within 1e-6, each up to its sign."""
    expected = wxyz[..., [1, 2, 3, 0]]
    error = np.minimum(np.abs(written - expected).max(-1), np.abs(written + expected).max(-1))
    assert error.max() < 1e-6, error.max()


def test_skeleton_skin_and_animation_match_the_motion(tmp_path):
    walk = synthetic_walk(frames=40, fps=20.0)
    gltf = load(save_motion(walk, tmp_path / "walk.glb"))
    (skin,) = gltf.skins
    assert [gltf.nodes[n].name for n in skin.joints] == list(JOINT_NAMES)
    assert [next((p for p in skin.joints if n in (gltf.nodes[p].children or [])), None) for n in skin.joints] == [
        None if p < 0 else skin.joints[p] for p in PARENTS
    ]
    assert data(gltf, skin.inverseBindMatrices).shape == (22, 16)
    anim = channels(gltf)
    assert len(anim) == 23  # 22 rotations and the pelvis translation
    for j, n in enumerate(skin.joints):
        times, quats = anim[n, "rotation"]
        assert len(times) == 40 and times[0] == 0 and times[-1] == pytest.approx(39 / 20.0)
        np.testing.assert_allclose(quats, walk.quats[:, j][:, [1, 2, 3, 0]], atol=1e-6)  # no sign flips here
    times, root = anim[skin.joints[0], "translation"]
    np.testing.assert_allclose(root, walk.root, atol=1e-6)


def test_forward_kinematics_from_the_file_gives_the_motions_joint_positions(tmp_path):
    for motion in (synthetic_walk(frames=40), twisting_motion()):
        gltf = load(save_motion(motion, tmp_path / "clip.glb", force=True))
        expected = motion.positions()
        for frame in (0, 7, len(motion) // 2, len(motion) - 1):
            np.testing.assert_allclose(gltf_positions(gltf, 0, frame), expected[frame], atol=1e-3)
        # skinned, each mannequin vertex keeps its rest distance to the motion's joint it follows
        (primitive,) = gltf.meshes[0].primitives
        rest = data(gltf, primitive.attributes.POSITION)
        for frame in (7, len(motion) - 1):
            vertices, joints = skinned_vertices(gltf, 0, frame)
            moved = np.linalg.norm(vertices - expected[frame][joints], axis=1)
            np.testing.assert_allclose(moved, np.linalg.norm(rest - rest_positions()[joints], axis=1), atol=1e-3)


def test_rotations_keep_their_sign_from_frame_to_frame(tmp_path):
    motion = twisting_motion()
    flipped = motion.quats.copy()
    flipped[1::2] *= -1  # the same rotations, every other frame with the other sign
    motion = Motion(flipped, motion.root, motion.fps)
    gltf = load(save_motion(motion, tmp_path / "twist.glb"))
    anim = channels(gltf)
    for j, n in enumerate(gltf.skins[0].joints):
        quats = anim[n, "rotation"][1]
        assert_same_quats(quats, motion.quats[:, j])
        assert ((quats[1:] * quats[:-1]).sum(-1) >= 0).all()


def test_two_people_share_one_animation(tmp_path):
    leader = synthetic_walk(frames=40, caption="a person walks")
    partner = synthetic_walk(frames=30, fps=20.0, heading=np.pi / 2, start=(1.0, 0.0))
    gltf = load(save_motion([leader, partner], tmp_path / "duet.glb"))
    assert len(gltf.skins) == 2 and len(gltf.animations) == 1
    colours = {tuple(m.pbrMetallicRoughness.baseColorFactor) for m in gltf.materials}
    assert len(colours) == 2
    anim = channels(gltf)
    for skin, motion in zip(gltf.skins, (leader, partner), strict=True):
        assert [gltf.nodes[n].name for n in skin.joints] == list(JOINT_NAMES)
        times, root = anim[skin.joints[0], "translation"]
        assert len(times) == len(motion) and times[-1] == pytest.approx((len(motion) - 1) / motion.fps)
        np.testing.assert_allclose(root, motion.root, atol=1e-6)
        for j, n in enumerate(skin.joints):
            assert_same_quats(anim[n, "rotation"][1], motion.quats[:, j])
    np.testing.assert_allclose(gltf_positions(gltf, 1, 12), partner.positions()[12], atol=1e-3)
    person_nodes = [n for n in gltf.nodes if n.skin is not None]
    assert person_nodes[0].extras["caption"] == "a person walks" and "caption" not in person_nodes[1].extras
    assert gltf.scenes[0].extras == {"fps": 20.0, "people": 2}


def test_trimesh_loads_a_human_sized_mannequin(tmp_path):
    path = save_motion(Motion.rest(3), tmp_path / "rest.glb")
    scene = trimesh.load(path)
    vertices = sum(len(g.vertices) for g in scene.geometry.values())
    assert 500 < vertices < 5000
    (low, high) = scene.bounds
    assert 1.4 < high[1] - low[1] < 2.0  # standing height
    assert 1.2 < high[0] - low[0] < 2.0  # arms out in the T-pose
    assert abs(low[1]) < 0.03  # soles at the floor


def test_meta_goes_into_extras(tmp_path):
    walk = synthetic_walk(frames=10, caption="a person walks forward")
    walk.meta.update(seed=np.int64(7), sampler="dpm", camera={"height": np.float32(1.5)}, junk=object())
    gltf = load(save_motion(walk, tmp_path / "walk.glb"))
    extras = gltf.scenes[0].extras
    assert extras["caption"] == "a person walks forward" and extras["seed"] == 7 and extras["sampler"] == "dpm"
    assert extras["camera"] == {"height": 1.5} and extras["fps"] == 20.0 and extras["frames"] == 10
    assert "junk" not in extras
    assert gltf.nodes[gltf.skins[0].joints[-1] + 1].extras == extras


def test_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no motions"):
        write([], tmp_path / "empty.glb")
    zero = Motion.rest(2)
    zero.quats[1, 3] = 0
    with pytest.raises(UserError, match="zero-length"):
        write(zero, tmp_path / "zero.glb")
    with pytest.raises(UserError, match="not a Motion"):
        write([np.zeros((2, 22, 4))], tmp_path / "array.glb")
    with pytest.raises(UserError, match="no motions"):
        save_motion([], tmp_path / "empty.glb")
    assert not list(tmp_path.iterdir())  # the atomic write left nothing behind


def test_convert_and_render_write_glb(tmp_path, monkeypatch, capsys):
    walk = synthetic_walk(frames=20)
    bvh = save_motion(walk, tmp_path / "walk.bvh")
    code, out, err = run(monkeypatch, capsys, "convert", bvh, "-o", tmp_path / "walk.glb")
    assert code == 0, err
    gltf = load(tmp_path / "walk.glb")
    assert len(gltf.skins) == 1 and len(channels(gltf)) == 23
    np.testing.assert_allclose(gltf_positions(gltf, 0, 10), walk.positions()[10], atol=1e-3)
    code, out, err = run(monkeypatch, capsys, "render", bvh, bvh, "-o", tmp_path / "two.glb")
    assert code == 0, err
    assert len(load(tmp_path / "two.glb").skins) == 2


def _validator_ready() -> bool:
    if shutil.which("node") is None:
        return False
    probe = subprocess.run(["node", "-e", "require('gltf-validator')"], capture_output=True, env=os.environ)
    return probe.returncode == 0


VALIDATE = """
const validator = require("gltf-validator");
const bytes = new Uint8Array(require("fs").readFileSync(process.argv[1]));
validator.validateBytes(bytes).then((r) => console.log(JSON.stringify(r.issues)));
"""


@pytest.mark.skipif(not _validator_ready(), reason="node or the npm package gltf-validator is missing")
def test_gltf_validator_finds_no_errors_or_warnings(tmp_path):
    path = save_motion([synthetic_walk(frames=20), twisting_motion()], tmp_path / "two.glb")
    result = subprocess.run(["node", "-e", VALIDATE, str(path)], capture_output=True, text=True, timeout=120)
    issues = json.loads(result.stdout)
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]


def test_duet_commands_write_a_glb_scene_beside_the_partners_files(tmp_path):
    from motiongen.cli.duet_commands import duet_outputs

    files = duet_outputs(tmp_path / "duet.glb", leader_bvh=True)
    assert files == {
        "scene": tmp_path / "duet.glb",
        "partner": tmp_path / "duet_partner.bvh",
        "npz": tmp_path / "duet.npz",
        "leader": tmp_path / "duet_leader.bvh",
    }
