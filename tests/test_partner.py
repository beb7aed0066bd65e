"""The reactive partner: the pair encoding on known values, the look-ahead mask, a tiny model
trained, saved, loaded and run end to end (pipeline and `motiongen react` / `duet`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cli_helpers import assert_one_line_error, run
from motion_samples import synthetic_walk
from partner_helpers import tiny_partner_run

from motiongen.conditioning.partner import (
    PLACEMENT,
    generated_features,
    lookahead_mask,
    partner_inputs,
    place_generated,
    relative_placement,
)
from motiongen.errors import UserError
from motiongen.io import load_motion, load_people, save_motion
from motiongen.motion.features import FEATURE_DIM, motion_to_features
from motiongen.motion.motion import Motion


def standing(x: float, z: float, heading: float, frames: int = 3) -> Motion:
    """The rest pose at (x, z) facing `heading` (radians about +Y, 0 = +Z)."""
    motion = Motion.rest(frames)
    motion.quats[:, 0] = [np.cos(heading / 2), 0, np.sin(heading / 2), 0]
    motion.root[:, 0], motion.root[:, 2] = x, z
    return motion


def turned(motion: Motion, yaw: float, shift) -> Motion:
    """The whole scene turned about the world's vertical axis and moved."""
    from motiongen.motion import rotations as R

    turn = R.yaw_matrix(torch.tensor(yaw))
    rot = motion.matrices()
    rot[:, 0] = turn @ rot[:, 0]
    root = (torch.from_numpy(motion.root) @ turn.T).numpy() + np.array([shift[0], 0, shift[1]], np.float32)
    return Motion.from_matrices(rot, root, motion.fps)


# -- the pair encoding ----------------------------------------------------------------------


def test_a_partner_one_metre_ahead_facing_us():
    me, partner = standing(0, 0, 0), standing(0, 1, np.pi)
    np.testing.assert_allclose(relative_placement(me, partner), [[0, 1, -1, 0]] * 3, atol=1e-6)
    # Facing +X, our left is -Z: a partner 2 m to our left facing the way we face.
    np.testing.assert_allclose(relative_placement(standing(0, 0, np.pi / 2), standing(0, -2, np.pi / 2))[0],
                               [2, 0, 1, 0], atol=1e-6)  # fmt: skip
    # The generated person's last four numbers are these; the first 206 are its own features.
    features = generated_features(me, partner)
    assert features.shape == (3, FEATURE_DIM + 4)
    np.testing.assert_allclose(features[:, PLACEMENT], [[0, 1, -1, 0]] * 3, atol=1e-6)
    torch.testing.assert_close(features[:, :FEATURE_DIM], motion_to_features(me))


def test_the_encoding_ignores_where_the_couple_stands():
    me, partner = synthetic_walk(20, heading=0.3), synthetic_walk(20, heading=2.5, speed=0.6, start=(0.5, 1.0))
    moved_me, moved_partner = turned(me, 1.9, (3.0, -2.0)), turned(partner, 1.9, (3.0, -2.0))
    np.testing.assert_allclose(relative_placement(me, partner), relative_placement(moved_me, moved_partner), atol=1e-4)
    torch.testing.assert_close(partner_inputs(partner), partner_inputs(moved_partner), atol=1e-4, rtol=0)
    # The partner's tokens start at the window frame's origin, facing +Z.
    np.testing.assert_allclose(partner_inputs(partner)[0, PLACEMENT], [0, 0, 1, 0], atol=1e-6)


def test_generated_features_place_back_where_they_were():
    me, partner = synthetic_walk(30, heading=-0.4, start=(1.0, 2.0)), synthetic_walk(30, heading=2.0, start=(1.5, 2.6))
    placed = place_generated(generated_features(me, partner), partner)
    np.testing.assert_allclose(placed.root, me.root, atol=1e-4)
    np.testing.assert_allclose(placed.positions(), me.positions(), atol=1e-4)
    # Anchored on frames already placed, the same comes out.
    anchored = place_generated(generated_features(me, partner), partner, anchor=me.slice(0, 5))
    np.testing.assert_allclose(anchored.root, me.root, atol=1e-4)


def test_lookahead_mask():
    mask = lookahead_mask(frames=4, text_tokens=2, partner_tokens=6, lookahead=1)
    expected = torch.tensor(
        [
            [1, 1, 1, 1, 0, 0, 0, 0],
            [1, 1, 1, 1, 1, 0, 0, 0],
            [1, 1, 1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1, 1, 0],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(mask, expected)
    assert lookahead_mask(4, 2, 6, None).all()


def test_a_frame_never_sees_the_partner_beyond_its_lookahead():
    """One block: the cross-attention comes after the self-attention, so frame t's output depends
    on context tokens only through its own mask."""
    from motiongen.models.denoiser import MotionDenoiser

    torch.manual_seed(0)
    model = MotionDenoiser(feature_dim=FEATURE_DIM + 4, width=16, layers=1, heads=2, max_frames=8).eval()
    x = torch.randn(1, 8, FEATURE_DIM + 4)
    tokens = torch.randn(1, 10, 16)
    mask = lookahead_mask(8, 2, 8, 1)[None]
    changed = tokens.clone()
    changed[:, 2 + 5] += 1.0  # partner frame 5
    with torch.no_grad():
        a = model(x, torch.tensor([10]), tokens, mask)
        b = model(x, torch.tensor([10]), changed, mask)
    same = (a - b).abs().amax(-1)[0]
    assert (same[:4] == 0).all() and (same[4:] > 0).all()


# -- a tiny model, end to end -----------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models on a shared CPU: one thread avoids thread-sync stalls."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def checkpoint():
    return tiny_partner_run() / "pipeline"


@pytest.fixture(scope="module")
def pipe(checkpoint):
    from motiongen.pipelines.react import ReactivePartnerPipeline

    return ReactivePartnerPipeline.from_pretrained(checkpoint)


def test_training_writes_a_run(checkpoint):
    run = checkpoint.parent
    assert (run / "log.jsonl").read_text().count("placement") == 2
    assert (checkpoint / "partner_conditioner" / "config.json").exists()


def test_react_answers_a_leader_file_deterministically(pipe, tmp_path):
    leader_file = save_motion(synthetic_walk(50, heading=0.5, start=(2.0, 1.0)), tmp_path / "leader.bvh")
    leader = load_motion(leader_file)
    first = pipe(leader, num_inference_steps=3, seed=7, progress=False)
    again = pipe(leader, num_inference_steps=3, seed=7, progress=False)
    other = pipe(leader, num_inference_steps=3, seed=8, progress=False)
    assert len(first) == len(leader) == 50  # 50 frames with a 40-frame window: two windows
    np.testing.assert_array_equal(first.root, again.root)
    assert np.abs(first.root - other.root).max() > 1e-4
    assert np.isfinite(first.positions()).all() and first.meta["seed"] == 7
    with pytest.raises(UserError, match="longer than the leader"):
        pipe(leader, seconds=5.0, num_inference_steps=2, progress=False)


def test_streaming_never_looks_past_the_lookahead(pipe):
    leader = synthetic_walk(30, heading=0.2)
    changed = Motion(leader.quats, leader.root.copy(), leader.fps)
    changed.root[16:, 0] += 1.0  # the first 0.5-s chunk sees frames 0-9 + 5 ahead: up to 14
    a = pipe(leader, num_inference_steps=2, seed=1, streaming=True, progress=False)
    b = pipe(changed, num_inference_steps=2, seed=1, streaming=True, progress=False)
    np.testing.assert_array_equal(a.root[:10], b.root[:10])
    assert np.abs(a.root[10:] - b.root[10:]).max() > 0


def test_a_partner_config_trains_through_the_train_command(tmp_path, monkeypatch, capsys):
    import yaml
    from partner_helpers import TINY, tiny_clips

    import motiongen.training.partner as partner_training

    config = tmp_path / "partner.yaml"
    config.write_text(yaml.safe_dump({**TINY, "model": "partner", "max_steps": 2}))
    clips = tiny_clips()
    real_train = partner_training.train
    monkeypatch.setattr(partner_training, "train", lambda *a, **k: real_train(*a, **{**k, "clips": clips}))
    code, out, err = run(monkeypatch, capsys, "train", "--config", config, "--output", tmp_path / "run", "--quiet")
    assert code == 0, err
    assert "motiongen react" in out and (tmp_path / "run" / "pipeline" / "model_index.json").exists()


# -- the commands -----------------------------------------------------------------------------


def test_react_command_writes_the_duet(monkeypatch, capsys, tmp_path, checkpoint):
    leader = save_motion(synthetic_walk(30), tmp_path / "leader.bvh")
    out = tmp_path / "duet.mp4"
    args = ("react", leader, "-o", out, "--checkpoint", checkpoint, "--steps", "2", "--seconds", "1", "--quiet")
    code, stdout, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    assert out.stat().st_size > 0 and (tmp_path / "duet_partner.bvh").exists()
    people = load_people(tmp_path / "duet.npz")
    assert len(people) == 2 and len(people[0]) == len(people[1]) == 20
    assert_one_line_error(run(monkeypatch, capsys, *args), "already exists", "--force")
    # --partner-only: the .npz holds just the partner.
    args = ("react", leader, "-o", tmp_path / "alone.npz", "--checkpoint", checkpoint, "--steps", "2", "--partner-only",
            "--quiet")  # fmt: skip
    assert run(monkeypatch, capsys, *args)[0] == 0
    assert len(load_people(tmp_path / "alone.npz")) == 1 and (tmp_path / "alone_partner.bvh").exists()


def test_commands_refuse_bad_input_in_one_line(monkeypatch, capsys, tmp_path, checkpoint):
    leader = save_motion(synthetic_walk(10), tmp_path / "leader.bvh")
    assert_one_line_error(
        run(monkeypatch, capsys, "react", tmp_path / "missing.bvh", "-o", tmp_path / "a.mp4"), "not found"
    )
    assert_one_line_error(run(monkeypatch, capsys, "react", leader, "-o", tmp_path / "a.txt"), "a.txt")
    missing = tmp_path / "no-model"
    assert_one_line_error(run(monkeypatch, capsys, "react", leader, "-o", tmp_path / "a.mp4", "--checkpoint", missing),
                   "no partner model", "configs/partner.yaml")  # fmt: skip
    assert_one_line_error(run(monkeypatch, capsys, "duet", "two people dance salsa", "-o", tmp_path / "d.mp4",
                       "--checkpoint", missing), "no partner model")  # fmt: skip
    (tmp_path / "notes.doc").write_text("x")
    assert_one_line_error(run(monkeypatch, capsys, "react", tmp_path / "notes.doc", "-o", tmp_path / "a.mp4"), "leader")
    assert_one_line_error(run(monkeypatch, capsys, "react", leader, "-o", tmp_path / "a.mp4", "--checkpoint", checkpoint,
                       "--seconds", "9"), "longer than the leader")  # fmt: skip
    assert not (tmp_path / "a.mp4").exists()


def test_duet_command(monkeypatch, capsys, tmp_path, checkpoint):
    from t2m_helpers import tiny_run

    text = tiny_run() / "pipeline"
    out = tmp_path / "duet.npz"
    args = ("duet", "two people dance salsa", "-o", out, "--checkpoint", checkpoint, "--text-checkpoint", text,
            "--seconds", "1", "--steps", "2", "--quiet")  # fmt: skip
    code, stdout, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    assert len(load_people(out)) == 2
    assert (tmp_path / "duet_leader.bvh").exists() and (tmp_path / "duet_partner.bvh").exists()


def test_react_lifts_a_video_leader_first(monkeypatch, capsys, tmp_path, checkpoint):
    """A 2D keypoint file stands in for a video: the leader is lifted, then answered."""
    import json

    from lift_helpers import IMAGE_SIZE, coco_keypoints

    kp = coco_keypoints(synthetic_walk(30))
    frames = [{"image_id": i, "keypoints": kp[i].ravel().tolist(), "score": 0.9} for i in range(len(kp))]
    video = tmp_path / "walk.json"
    video.write_text(json.dumps({"fps": 20, "image_size": list(IMAGE_SIZE), "frames": frames}))
    out = tmp_path / "duet.npz"
    code, stdout, err = run(monkeypatch, capsys, "react", video, "-o", out, "--checkpoint", checkpoint, "--steps", "2")
    assert code == 0, err
    assert "lifted the leader" in stdout and len(load_people(out)) == 2
    assert len(load_motion(tmp_path / "duet_leader.bvh")) == 30


def test_the_shipped_recipe_loads_as_a_partner_config():
    from pathlib import Path

    from motiongen.training.partner import PartnerTrainConfig, load_config

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "partner.yaml")
    assert isinstance(config, PartnerTrainConfig) and config.corpus == "v2" and config.lookahead == 5
    with pytest.raises(UserError, match="stream_prob"):
        PartnerTrainConfig(stream_prob=2.0)
