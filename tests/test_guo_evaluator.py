"""HumanML3D compatibility: the 263-D vector from joints and the Guo et al. evaluator architecture."""

import pickle

import numpy as np
import pytest
import torch

from motiongen.errors import UserError
from motiongen.io import humanml3d_vectors as H
from motiongen.models.guo_evaluator import GuoEvaluator, WordVectorizer, parse_text_line
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX


def walking_motion(frames=60, heading_deg=30.0, speed=1.0, fps=20.0) -> Motion:
    """Rest pose facing `heading_deg`, translating forward at `speed` m/s, arms and a knee swinging."""
    t = torch.arange(frames, dtype=torch.float32) / fps
    rot = torch.eye(3).repeat(frames, 22, 1, 1)
    rot[:, 0] = R.yaw_matrix(torch.full((frames,), np.deg2rad(heading_deg)))
    swing = 0.6 * torch.sin(2 * np.pi * t)
    rot[:, JOINT_INDEX["left_shoulder"]] = R.axis_angle_to_matrix(swing[:, None] * torch.tensor([0.0, 0.0, -1.0]))
    rot[:, JOINT_INDEX["right_elbow"]] = R.axis_angle_to_matrix(swing[:, None] * torch.tensor([0.0, 1.0, 0.0]))
    rot[:, JOINT_INDEX["left_knee"]] = R.axis_angle_to_matrix((0.3 + swing[:, None]) * torch.tensor([1.0, 0, 0]))
    fwd = np.array([np.sin(np.deg2rad(heading_deg)), 0.0, np.cos(np.deg2rad(heading_deg))])
    root = np.array([0.3, 0.95, -0.2]) + t.numpy()[:, None] * speed * fwd
    return Motion.from_matrices(rot, root, fps)


def recover_positions(vec: np.ndarray) -> np.ndarray:
    """Inverse of the ric part (the definition's `recover_from_ric`), frames 0..T-2."""
    angle = np.concatenate([[0.0], np.cumsum(vec[:-1, 0])])  # half-angles of world->facing
    to_world = H._yaw(2 * angle)  # inverse of yaw(-2 angle)... see the definition
    vel = np.zeros((len(vec), 3))
    vel[1:, [0, 2]] = vec[:-1, 1:3]
    root = np.cumsum(np.einsum("tij,tj->ti", to_world, vel), axis=0)
    root[:, 1] = vec[:, 3]
    ric = vec[:, H.SLICES["ric"]].reshape(len(vec), 21, 3)
    joints = np.einsum("tij,tkj->tki", to_world, ric) + root[:, None] * np.array([1.0, 0.0, 1.0])
    return np.concatenate([root[:, None], joints], 1)


# -- the 263-D vector --------------------------------------------------------------------


def test_vector_shape_and_finite_values():
    vec = H.motion_to_vectors(walking_motion(frames=50))
    assert vec.shape == (49, H.VECTOR_DIM) and vec.dtype == np.float32
    assert np.isfinite(vec).all()
    assert sum(s.stop - s.start for s in H.SLICES.values()) == 263


def test_still_pose_has_zero_velocities_and_full_contact():
    vec = H.motion_to_vectors(Motion.rest(30).on_ground())
    for part in ("root_rot_velocity", "root_linear_velocity", "local_velocity"):
        np.testing.assert_allclose(vec[:, H.SLICES[part]], 0.0, atol=1e-6)
    np.testing.assert_array_equal(vec[:, H.SLICES["foot_contact"]], 1.0)
    np.testing.assert_allclose(vec[:, 3], Motion.rest(1).on_ground().root[0, 1], atol=1e-5)


def test_walking_forward_gives_forward_velocity_and_no_contact():
    vec = H.motion_to_vectors(walking_motion(speed=1.0))
    # 1 m/s along the facing direction = +0.05 m/frame on z of the facing frame, none on x.
    np.testing.assert_allclose(vec[:, 1], 0.0, atol=1e-5)
    np.testing.assert_allclose(vec[:, 2], 0.05, atol=1e-5)
    np.testing.assert_allclose(vec[:, 0], 0.0, atol=1e-6)
    assert vec[:, H.SLICES["foot_contact"]][:, 2:].max() == 0.0  # the rigid right foot slides at 1 m/s


def test_vectors_are_invariant_to_global_position_and_heading():
    a = H.motion_to_vectors(walking_motion(heading_deg=30.0))
    b_motion = walking_motion(heading_deg=-100.0)
    b_motion.root[:, [0, 2]] += np.array([5.0, -3.0], np.float32)
    np.testing.assert_allclose(a, H.motion_to_vectors(b_motion), atol=2e-4)


def test_ric_and_root_data_recover_the_canonical_joints():
    pos = walking_motion().positions()
    vec = H.joints_to_vectors(pos)
    np.testing.assert_allclose(recover_positions(vec), H.canonical_positions(pos)[:-1], atol=1e-4)


def test_turning_root_rotation_velocity_is_half_the_yaw_rate():
    frames, rate = 200, 0.02  # rad per frame, a steady turn in place
    rot = torch.eye(3).repeat(frames, 22, 1, 1)
    rot[:, 0] = R.yaw_matrix(torch.arange(frames) * rate)
    motion = Motion.from_matrices(rot, np.tile([0.0, 0.95, 0.0], (frames, 1)))
    vec = H.motion_to_vectors(motion)
    # Away from the ends (where the facing smoothing clamps), -rate/2 per frame.
    np.testing.assert_allclose(vec[90:110, 0], -rate / 2, atol=1e-4)


def test_rotation_data_rebuilds_every_bone():
    pos = H.canonical_positions(walking_motion().positions())
    vec = H.joints_to_vectors(pos)
    sixd = torch.from_numpy(vec[:, H.SLICES["rot"]].reshape(-1, 21, 6)).double()
    local = R.sixd_to_matrix(sixd).numpy()
    to_facing = H._yaw(-H._facing_angle(pos, smooth=True))[:-1]
    for chain in H.CHAINS:
        glob = to_facing
        for parent, child in zip(chain[:-1], chain[1:], strict=False):
            glob = glob @ local[:, child - 1]
            bone = pos[:-1, child] - pos[:-1, parent]
            rebuilt = glob @ H.REST_DIRECTIONS[child] * np.linalg.norm(bone, axis=-1, keepdims=True)
            np.testing.assert_allclose(rebuilt, bone, atol=1e-4)


def test_vector_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        H.joints_to_vectors(np.zeros((10, 24, 3)))


# -- the evaluator -----------------------------------------------------------------------

PUBLISHED_SHAPES = {
    "text_encoder": {
        "pos_emb.weight": (300, 15), "input_emb.weight": (512, 300), "gru.weight_ih_l0": (1536, 512),
        "gru.weight_hh_l0_reverse": (1536, 512), "output_net.0.weight": (512, 1024), "output_net.1.weight": (512,),
        "output_net.3.weight": (512, 512), "hidden": (2, 1, 512),
    },
    "movement_encoder": {"main.0.weight": (512, 259, 4), "main.3.weight": (512, 512, 4), "out_net.weight": (512, 512)},
    "motion_encoder": {
        "input_emb.weight": (1024, 512), "gru.weight_ih_l0": (3072, 1024), "gru.bias_hh_l0_reverse": (3072,),
        "output_net.0.weight": (1024, 2048), "output_net.3.weight": (512, 1024), "hidden": (2, 1, 1024),
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def evaluator():
    torch.manual_seed(0)
    return GuoEvaluator()


def test_layer_names_and_shapes_match_the_published_checkpoint(evaluator):
    for module, shapes in PUBLISHED_SHAPES.items():
        state = getattr(evaluator, module).state_dict()
        for key, shape in shapes.items():
            assert tuple(state[key].shape) == shape, (module, key)
    gru = {f"gru.{w}_{k}_l0{r}" for w in ("weight", "bias") for k in ("ih", "hh") for r in ("", "_reverse")}
    head = {f"output_net.{i}.{w}" for i in (0, 1, 3) for w in ("weight", "bias")}
    common = gru | head | {"hidden", "input_emb.weight", "input_emb.bias"}
    assert set(evaluator.text_encoder.state_dict()) == common | {"pos_emb.weight", "pos_emb.bias"}
    assert set(evaluator.motion_encoder.state_dict()) == common
    assert set(evaluator.movement_encoder.state_dict()) == {
        "main.0.weight",
        "main.0.bias",
        "main.3.weight",
        "main.3.bias",
        "out_net.weight",
        "out_net.bias",
    }


def test_checkpoint_round_trip_gives_the_same_embeddings(evaluator, tmp_path):
    path = tmp_path / "finest.tar"
    evaluator.save_checkpoint(path, epoch=7)
    mean, std = np.random.default_rng(0).normal(size=263), np.full(263, 2.0)
    np.save(tmp_path / "mean.npy", mean)
    np.save(tmp_path / "std.npy", std)
    loaded = GuoEvaluator.from_checkpoint(path, tmp_path / "mean.npy", tmp_path / "std.npy")
    evaluator.set_normalisation(mean, std)

    motions = [walking_motion(frames=48), walking_motion(frames=81, heading_deg=-20.0)]
    np.testing.assert_array_equal(evaluator.encode_motions(motions), loaded.encode_motions(motions))
    words, tags, lengths = torch.randn(2, 7, 300), torch.eye(15)[torch.randint(0, 15, (2, 7))], torch.tensor([7, 4])
    a, b = evaluator.encode_text(words, tags, lengths), loaded.encode_text(words, tags, lengths)
    assert a.shape == (2, 512)
    np.testing.assert_array_equal(a, b)


def test_padding_does_not_change_a_clip_embedding(evaluator):
    short, long = walking_motion(frames=41), walking_motion(frames=90, heading_deg=80.0)
    alone = evaluator.encode_motions([short])
    batched = evaluator.encode_motions([short, long])
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)
    assert not torch.allclose(batched[0], batched[1])


class NotWeights:
    pass


def test_loading_refuses_pickled_objects_and_wrong_files(tmp_path):
    bad = tmp_path / "bad.tar"
    torch.save({"text_encoder": NotWeights()}, bad)
    with pytest.raises(UserError, match="weights-only"):
        GuoEvaluator.from_checkpoint(bad)
    partial = tmp_path / "partial.tar"
    torch.save({"text_encoder": {}}, partial)
    with pytest.raises(UserError, match="missing"):
        GuoEvaluator.from_checkpoint(partial)
    with pytest.raises(UserError, match="not found"):
        GuoEvaluator.from_checkpoint(tmp_path / "nope.tar")


def test_word_vectorizer_tags_vip_words_and_unknowns(tmp_path):
    words = ["unk", "sos", "eos", "a", "person", "walk", "left"]
    np.save(tmp_path / "our_vab_data.npy", np.arange(len(words) * 300, dtype=np.float32).reshape(-1, 300))
    with open(tmp_path / "our_vab_idx.pkl", "wb") as f:
        pickle.dump({w: i for i, w in enumerate(words)}, f)
    vec = WordVectorizer.from_glove_folder(tmp_path)
    caption, tokens = parse_text_line("a person walks left.#a/DET person/NOUN walk/VERB left/ADV zzz/NOUN#0.0#0.0")
    assert caption == "a person walks left."
    emb, pos, lengths = vec.encode([tokens, tokens[:2]])
    assert emb.shape == (2, 7, 300) and pos.shape == (2, 7, 15) and lengths.tolist() == [7, 4]
    tag = lambda i, j: int(pos[i, j].argmax())  # noqa: E731
    assert [tag(0, j) for j in range(7)] == [14, 2, 1, 12, 9, 14, 14]  # walk -> Act_VIP, left -> Loc_VIP, zzz -> OTHER
    assert emb[0, 5, 0] == 0.0  # unknown word -> 'unk' vector
    assert tag(1, 4) == 14 and emb[1, 4, 0] == 0.0  # padding is unk/OTHER


def test_vocabulary_pickle_with_code_is_refused(tmp_path):
    np.save(tmp_path / "our_vab_data.npy", np.zeros((1, 300), np.float32))
    with open(tmp_path / "our_vab_idx.pkl", "wb") as f:
        pickle.dump({"unk": NotWeights()}, f)
    with pytest.raises(UserError, match="refusing"):
        WordVectorizer.from_glove_folder(tmp_path)
