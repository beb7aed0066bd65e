"""Music conditioning: audio -> features at the motion frame rate -> tokens; bad audio -> one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motiongen.conditioning.music import (
    MUSIC_DIM,
    SAMPLE_RATE,
    MusicConditioner,
    MusicFeatures,
    context_mask,
    load_audio,
    music_features,
)
from motiongen.errors import UserError
from tests.cli_helpers import assert_one_line_error, run

soundfile = pytest.importorskip("soundfile")


def click_track(seconds: float = 8.0, bpm: float = 120.0, rate: int = 22050) -> np.ndarray:
    """A click (a short decaying tone burst) on every beat, over a quiet hum."""
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.01 * np.sin(2 * np.pi * 220 * t)
    period = 60.0 / bpm
    for start in np.arange(0.25, seconds, period):
        i = int(start * rate)
        n = min(int(0.05 * rate), len(audio) - i)
        audio[i : i + n] += 0.8 * np.sin(2 * np.pi * 1000 * t[:n]) * np.exp(-t[:n] * 80)
    return audio.astype(np.float32)


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("music")
    soundfile.write(folder / "clicks.wav", click_track(), 22050)
    soundfile.write(folder / "clicks.ogg", click_track(), 22050, format="OGG", subtype="VORBIS")
    return folder


def test_features_are_at_the_motion_frame_rate_and_find_the_beat(clicks):
    music = music_features(clicks / "clicks.wav")
    assert music.features.shape == (160, MUSIC_DIM)  # 8 s at 20 fps
    assert music.fps == 20.0 and abs(music.seconds - 8.0) < 1e-3
    assert np.isfinite(music.features).all()
    assert 110 <= music.tempo <= 130, music.tempo
    # Tracked beats fall on the clicks (0.25 s + k * 0.5 s), within a frame.
    offsets = (music.beats - 0.25) % 0.5
    assert np.minimum(offsets, 0.5 - offsets).max() <= 0.06, music.beats
    # The beat pulse is 1 on each tracked beat frame.
    beat_frames = np.round(music.beats * 20).astype(int)
    assert np.allclose(music.features[beat_frames, 1], 1.0)


def test_ogg_reads_like_wav_and_a_part_of_the_song(clicks):
    wav, ogg = music_features(clicks / "clicks.wav"), music_features(clicks / "clicks.ogg")
    assert wav.features.shape == ogg.features.shape
    assert abs(wav.tempo - ogg.tempo) < 1.0
    part = load_audio(clicks / "clicks.wav", start=2.0, seconds=3.0)
    assert len(part) == 3 * SAMPLE_RATE


def test_features_round_trip_through_a_file(clicks, tmp_path):
    music = music_features(clicks / "clicks.wav")
    music.save(tmp_path / "m.npz")
    back = MusicFeatures.load(tmp_path / "m.npz")
    assert np.array_equal(back.features, music.features) and np.array_equal(back.beats, music.beats)
    assert back.window(150, 20).shape == (20, MUSIC_DIM) and not back.window(150, 20)[10:].any()


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("missing.wav", None, ("not found",)),
        ("notes.wav", b"these are words, not sound", ("cannot read",)),
        ("short.wav", "short", ("at least 1 s",)),
        ("silent.wav", "silent", ("silent",)),
        ("cut.ogg", "cut", ("cannot read",)),
    ],
)
def test_bad_audio_is_one_clear_error(tmp_path, clicks, name, content, words):
    path = tmp_path / name
    if content == "short":
        soundfile.write(path, click_track(0.5), 22050)
    elif content == "silent":
        soundfile.write(path, np.zeros(22050 * 3, np.float32), 22050)
    elif content == "cut":
        path.write_bytes((clicks / "clicks.ogg").read_bytes()[:300])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError) as err:
        music_features(path)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert "\n" not in str(err.value)


def test_dance_command_rejects_bad_audio_in_one_line(tmp_path, monkeypatch, capsys):
    soundfile.write(tmp_path / "silent.wav", np.zeros(22050 * 3, np.float32), 22050)
    result = run(monkeypatch, capsys, "dance", tmp_path / "silent.wav", "-o", tmp_path / "d.bvh", "--quiet")
    assert_one_line_error(result, "silent")
    assert_one_line_error(run(monkeypatch, capsys, "dance", tmp_path, "-o", tmp_path / "d.bvh"), "folder")


def test_conditioner_tokens_and_guidance_dropout():
    torch.manual_seed(0)
    cond = MusicConditioner(width=32, hidden=16, max_frames=40, reach=3)
    features = torch.randn(3, 40, MUSIC_DIM)
    tokens, mask = cond.encode((features, torch.tensor([40, 30, 40])))
    assert tokens.shape == (3, 40, 32) and mask[1, :30].all() and not mask[1, 30:].any()
    assert (tokens[1, 30:] == 0).all()
    dropped, dmask = cond.encode(features, drop=torch.tensor([False, True, False]))
    assert torch.equal(dropped[1, 0], cond.null_token.detach()) and dmask[1].sum() == 1
    assert torch.equal(dropped[0], cond.encode(features)[0][0])
    with pytest.raises(UserError):
        cond.encode(torch.randn(1, 10, 7))


def test_context_mask_joins_text_and_a_music_band():
    text_mask = torch.tensor([[True, True, False], [True, False, False]])
    music_mask = torch.ones(2, 10, dtype=torch.bool)
    music_mask[1] = False
    music_mask[1, 0] = True  # row 1: music dropped (its null token only)
    mask = context_mask(text_mask, music_mask, frames=10, reach=2)
    assert mask.shape == (2, 10, 13)
    assert torch.equal(mask[0, :, :3], text_mask[0].expand(10, 3))  # text: every frame
    assert mask[0, 5, 3 + 3 : 3 + 8].all() and not mask[0, 5, 3 + 2] and not mask[0, 5, 3 + 8]  # |t - k| <= 2
    assert mask[1, :, 3].all() and not mask[1, :, 4:].any()  # the null token, seen by every frame
