"""Dance: metrics with known values, retimed pairs whose beats land on the music, the pipeline."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from motiongen.data.dance_pairs import dance_beats, resample_at, retime_to_music, warp_anchors
from motiongen.metrics.dance import beat_alignment_score, kinematic_beats, physical_foot_contact
from motiongen.motion.motion import Motion


def pulsing(seconds: float, period: float, fps: float = 20.0) -> Motion:
    """A standing body sliding along x with speed 1 - cos(2 pi t / period): it pauses (speed 0)
    exactly at t = k * period, so its kinematic beats are known."""
    t = np.arange(int(seconds * fps)) / fps
    x = t - period / (2 * np.pi) * np.sin(2 * np.pi * t / period)
    rest = Motion.rest(len(t), fps)
    root = rest.root.copy()
    root[:, 0] += x
    return Motion(rest.quats, root, fps)


def test_kinematic_beats_are_the_pauses():
    motion = pulsing(6.0, 0.6)
    beats = kinematic_beats(motion.positions(), motion.fps) / motion.fps
    expected = np.arange(0.6, 5.5, 0.6)
    assert len(beats) == len(expected)
    assert np.abs(beats - expected).max() <= 0.051


def test_beat_alignment_score_known_values():
    music = np.arange(0, 10, 0.5)
    assert beat_alignment_score(music[:8], music) == pytest.approx(1.0)
    assert beat_alignment_score(music[:8] + 0.1, music, sigma_s=0.1) == pytest.approx(np.exp(-0.5))
    assert beat_alignment_score([0.25], music, sigma_s=0.1) == pytest.approx(np.exp(-(0.25**2) / 0.02))
    assert np.isnan(beat_alignment_score([], music))


def test_pfc_is_zero_for_planted_feet_and_positive_for_sliding():
    planted = pulsing(3.0, 0.6).positions()
    still_feet = planted.copy()
    still_feet[:, [7, 8, 10, 11]] = still_feet[:1, [7, 8, 10, 11]]  # feet fixed, body accelerates
    assert physical_foot_contact(still_feet, 20.0) == pytest.approx(0.0, abs=1e-9)
    assert physical_foot_contact(planted, 20.0) > 0  # the whole body (feet too) slides while accelerating
    sliding_faster = planted.copy()
    sliding_faster[:, :, 0] *= 2
    assert physical_foot_contact(sliding_faster, 20.0) > physical_foot_contact(planted, 20.0)


def test_resample_at_keeps_frames_at_their_own_times():
    motion = pulsing(2.0, 0.5)
    same = resample_at(motion, np.arange(len(motion)) / motion.fps, motion.fps)
    assert np.allclose(same.root, motion.root, atol=1e-6) and np.allclose(same.quats, motion.quats, atol=1e-6)


def test_retimed_dance_beats_land_on_the_music_beats():
    motion = pulsing(8.0, 0.6)  # pauses every 0.6 s (100 per minute)
    music_beats = 1.0 + np.arange(60) * 0.55  # 109 bpm: stretch 0.92
    made = retime_to_music(motion, music_beats, 40.0, start_beat=4, rng=random.Random(0))
    assert made is not None
    retimed, first = made
    assert retimed.fps == 20.0 and first >= 0
    beats = kinematic_beats(retimed.positions(), 20.0) / 20.0 + first / 20.0
    assert len(beats) >= 8
    distance = np.abs(beats[:, None] - music_beats[None]).min(1)
    assert distance.max() <= 0.051, distance  # every pause within a frame of a music beat
    assert beat_alignment_score(beats, music_beats) > 0.9


def test_incompatible_tempo_gives_no_pair():
    beats = dance_beats(pulsing(8.0, 0.6))
    assert warp_anchors(beats, np.arange(60) * 0.9, 0, random.Random(0)) is None  # 0.9 / 0.6 = 1.5, 0.75
    assert warp_anchors(beats, np.arange(60) * 0.3, 0, random.Random(0)) is not None  # dance on every other beat


def test_a_dance_is_put_on_the_music_beats():
    """Pauses every 0.5 s, music beats every 0.5 s but 0.15 s later: after the retiming every
    pause sits on a beat (within a frame), the clip keeps its length, and BAS goes up."""
    from motiongen.motion.on_beat import beat_anchors, put_on_beats

    motion = pulsing(8.0, 0.5)
    music = 0.15 + np.arange(20) * 0.5
    before = kinematic_beats(motion.positions(), 20.0) / 20.0
    retimed, record = put_on_beats(motion, music)
    assert len(retimed) == len(motion) and retimed.fps == motion.fps
    after = kinematic_beats(retimed.positions(), 20.0) / 20.0
    distance = np.abs(after[:, None] - music[None]).min(1)
    assert distance.max() <= 0.051, distance
    assert beat_alignment_score(after, music) > 0.9 > 0.5 > beat_alignment_score(before, music)
    assert record["on_beat"] == record["dance_beats"] == len(before)
    # the same, 2 s into a song whose beats are given in song time
    shifted, _ = put_on_beats(motion, music + 2.0, start_s=2.0)
    np.testing.assert_allclose(shifted.root, retimed.root, atol=1e-6)
    # a beat too far from every music beat stays; a change of speed beyond the limit is refused
    anchors = beat_anchors(np.array([1.0, 2.0, 3.0]), np.array([1.05, 2.45, 3.0, 3.5]))  # period 0.55
    np.testing.assert_allclose(anchors, [[1.0, 1.05], [3.0, 3.0]])
    assert len(beat_anchors(np.array([1.0, 1.1]), np.array([1.0, 1.5, 2.0]))) == 1
    # music without beats (silence) leaves the dance as it is
    same, record = put_on_beats(motion, np.zeros(0))
    assert same is motion and record["on_beat"] == 0


def tiny_pipeline(max_frames: int = 40):
    from diffusers import DDIMScheduler

    from motiongen.conditioning.music import MusicConditioner
    from motiongen.conditioning.text import TextConditioner
    from motiongen.models.denoiser import MotionDenoiser
    from motiongen.pipelines.dance import MusicToDancePipeline
    from motiongen.sampling.diffusion import training_scheduler

    torch.manual_seed(0)
    denoiser = MotionDenoiser(width=32, layers=1, heads=2, max_frames=max_frames, global_context=True, skip_gate=True)
    text = TextConditioner(width=32, encoder_dim=384)
    music = MusicConditioner(width=32, hidden=16, max_frames=max_frames, reach=3)
    scheduler = DDIMScheduler.from_config(training_scheduler().config)
    for module in (denoiser, text, music):
        module.eval()
    return MusicToDancePipeline(denoiser=denoiser, text_conditioner=text, music_conditioner=music, scheduler=scheduler)


def synthetic_music(seconds: float = 7.0):
    from motiongen.conditioning.music import MUSIC_DIM, MusicFeatures

    rng = np.random.default_rng(0)
    frames = int(seconds * 20)
    return MusicFeatures(rng.normal(size=(frames, MUSIC_DIM)).astype(np.float32), np.arange(0, seconds, 0.5), 120.0,
                         seconds)  # fmt: skip


def test_pipeline_dances_a_whole_song_in_windows_deterministically(tmp_path):
    from motiongen.pipelines.dance import MusicToDancePipeline

    pipe = tiny_pipeline()
    music = synthetic_music(7.0)  # 140 frames: 4 windows of 40 with 10-frame... carried prefixes
    calls = []
    original = pipe._window
    pipe._window = lambda *a: calls.append(a[1]) or original(*a)
    dancer = pipe(music, num_inference_steps=2, progress=False, cleanup=False)
    assert len(dancer) == 140 and len(calls) >= 4
    assert all(k.mask[: k.frames // 2].all() for k in calls[1:])  # later windows continue a known prefix
    pipe._window = original
    again = pipe(music, num_inference_steps=2, progress=False, cleanup=False)
    assert np.array_equal(dancer.quats, again.quats)
    other = pipe(music, num_inference_steps=2, progress=False, cleanup=False, seed=1)
    assert not np.allclose(dancer.quats, other.quats)
    own_timing = pipe(music, num_inference_steps=2, progress=False, cleanup=False, on_beat=False)
    assert "on_beat" not in own_timing.meta and len(own_timing) == len(dancer)
    record = dancer.meta["on_beat"]  # the retiming says what it moved
    assert 0 <= record["on_beat"] <= record["dance_beats"]
    if record["on_beat"] >= 2:
        assert not np.allclose(dancer.quats, own_timing.quats)
    pipe.save_pretrained(str(tmp_path / "dance"), safe_serialization=True)
    loaded = MusicToDancePipeline.from_pretrained(tmp_path / "dance")
    assert np.allclose(
        loaded(music, num_inference_steps=2, progress=False, cleanup=False).quats, dancer.quats, atol=1e-5
    )


def test_missing_dance_checkpoint_is_a_clear_error(tmp_path):
    from motiongen.errors import UserError
    from motiongen.pipelines.dance import MusicToDancePipeline

    with pytest.raises(UserError, match="configs/dance.yaml"):
        MusicToDancePipeline.from_pretrained(tmp_path / "nothing")


def test_dance_command_checks_couple_options_before_any_work(tmp_path, monkeypatch, capsys):
    from tests.cli_helpers import assert_one_line_error, run

    song = tmp_path / "song.wav"
    song.write_bytes(b"not read: the options are wrong first")
    assert_one_line_error(run(monkeypatch, capsys, "dance", song, "--couple", "-o", tmp_path / "d.bvh"), "--couple")
    assert_one_line_error(run(monkeypatch, capsys, "dance", song, "--couple", "-o", tmp_path / "d.mp4"), "60 s")
    (tmp_path / "taken.bvh").write_text("x")
    assert_one_line_error(run(monkeypatch, capsys, "dance", song, "-o", tmp_path / "taken.bvh"), "--force")


def test_recorded_dance_trains_with_its_own_music(tmp_path):
    """AIST++ named in a dance config's data section: its takes are paired with their own music
    (no retiming, no music cache needed), and a tiny dance model trains on them."""
    import json

    from dataset_fixtures import write_aistpp
    from t2m_helpers import tiny_run

    from motiongen.data.dance_pairs import recorded_pairs
    from motiongen.data.datasets import load_dataset, parse_specs
    from motiongen.training.dance import DanceTrainConfig, train

    root = write_aistpp(tmp_path / "aistpp")
    data = [{"format": "aistpp", "path": str(root), "split": "train"}]
    clips = load_dataset(parse_specs(data)[0], tmp_path / "cache", progress=False)
    pairs = recorded_pairs(clips, 6, window=40, min_frames=10, progress=False)
    assert len(pairs) == 6 and {p.track for p in pairs} <= {"mBR0", "mHO5"}
    for p in pairs:  # the music under the window is the take's own, at the same frames
        assert len(p.music) == len(p.features) <= 20  # the fixture's songs last 1 s
    config = DanceTrainConfig(
        init_from=str(tiny_run() / "pipeline"), corpus="none", data=data, data_cache=str(tmp_path / "cache"),
        max_frames=40, min_frames=10, pool_size=8, batch_size=4, max_steps=2, warmup_steps=1, save_every=2,
        log_every=1, threads=1, music_hidden=16,
    )  # fmt: skip
    folder = train(config, tmp_path / "run", progress=False)
    info = json.loads((folder / "training.json").read_text())
    assert info["recorded_pairs"] == 8 and set(info["tracks"]) <= {"mBR0", "mHO5"}


def test_dance_couple_end_to_end(tmp_path, monkeypatch, capsys):
    """`dance SONG --couple`: the dancer from the dance model, a partner answering it from the
    partner model, both in one two-person npz."""
    import soundfile
    from partner_helpers import tiny_partner_run

    from tests.cli_helpers import run

    rate = 22050
    t = np.arange(int(3.0 * rate)) / rate
    clicks = (np.sin(2 * np.pi * 880 * t) * (np.mod(t, 0.5) < 0.05)).astype(np.float32) * 0.5  # 120 bpm
    soundfile.write(tmp_path / "song.wav", clicks, rate)
    dance_folder = tmp_path / "dance"
    tiny_pipeline().save_pretrained(str(dance_folder), safe_serialization=True)
    monkeypatch.setenv("MOTIONGEN_PARTNER_CHECKPOINT", str(tiny_partner_run() / "pipeline"))
    out = tmp_path / "couple.npz"
    code, text, err = run(monkeypatch, capsys, "dance", tmp_path / "song.wav", "--couple", "--seconds", "2", "-o", out,
                          "--checkpoint", dance_folder, "--steps", "2", "--quiet")  # fmt: skip
    assert code == 0, err
    data = np.load(out, allow_pickle=False)
    assert data["quats"].shape[:2] == (2, 40) and data["root"].shape == (2, 40, 3)
    apart = np.linalg.norm(data["root"][0, :, [0, 2]] - data["root"][1, :, [0, 2]], axis=0)
    assert apart.min() > 0.1  # two people, not one drawn twice


def test_kinetic_and_geometric_features_known_values():
    from motiongen.metrics.dance import GEOMETRIC_FEATURES, feature_fid, geometric_features, kinetic_features
    from motiongen.motion.skeleton import JOINT_INDEX, rest_positions

    t = np.arange(21)[:, None, None] / 20.0
    positions = np.zeros((21, 22, 3))
    positions[:, 0] = np.array([1.0, 0.0, 0.0]) * t[:, 0]  # the pelvis walks 1 m/s along +X
    positions[:, 1, 1] = 2.0 * t[:, 0, 0]  # a hip rises at 2 m/s
    positions[:, 2] = np.array([0.0, 0.0, 1.0]) * 0.5 * 4.0 * t[:, 0] ** 2  # a knee accelerates at 4 m/s^2
    k = kinetic_features(positions, 20.0).reshape(22, 3)
    np.testing.assert_allclose(k[0], [0.5, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(k[1], [0.0, 2.0, 0.0], atol=1e-9)
    assert k[2, 2] == pytest.approx(4.0) and k[3:].max() == 0.0

    rest = np.repeat(rest_positions()[None].astype(np.float64), 10, axis=0)
    g = dict(zip(GEOMETRIC_FEATURES, geometric_features(rest), strict=True))
    assert g["l_hand_above_head"] == 0 and g["l_knee_bent"] == 0 and g["r_foot_raised"] == 0
    raised = rest.copy()
    raised[:5, JOINT_INDEX["left_wrist"], 1] = raised[:5, JOINT_INDEX["head"], 1] + 0.3  # half the frames
    g = dict(zip(GEOMETRIC_FEATURES, geometric_features(raised), strict=True))
    assert g["l_hand_above_head"] == 0.5 and g["r_hand_above_head"] == 0

    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 5))
    assert feature_fid(real, real) == pytest.approx(0.0, abs=1e-6)
    shifted = feature_fid(real, real + 1.0)  # a mean shift of 1 / std in each normalised feature
    assert shifted == pytest.approx(float((1.0 / real.std(0) ** 2).sum()), rel=1e-6)
