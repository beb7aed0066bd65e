"""Music conditioning: an audio file -> per-frame music features -> context tokens.

Features (librosa), one row per motion frame (20 fps: the audio is read at 16 kHz and analysed
with a hop of 800 samples, so frame t of the features is frame t of the motion):

    onset strength (1), beat pulse (1: 1 on a tracked beat, decaying), beat phase as cos, sin (2),
    tempo / 120 bpm (1), chroma (12), MFCC (16), RMS loudness (1), RMS change (1)  = 35 numbers

Beats come from librosa's beat tracker over the whole song, so a window cut from a long song has
the same beat phase as it had in the song. A song is analysed once (`MusicFeatures`), then its
frames are sliced per window.

`MusicConditioner` turns features [B, T, 35] into one token per frame, with the denoiser's own
sinusoidal position so generated frame t can find music frame t; `music_mask` lets frame t see
music frames within +-`reach` frames only, which makes the beat at t easy to find and keeps the
music tokens out of the denoiser's global text summary (it averages only tokens every frame sees).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from motiongen.conditioning.base import Conditioner, frame_tokens
from motiongen.errors import UserError
from motiongen.models.denoiser import sinusoidal_positions

SAMPLE_RATE = 16000
FPS = 20.0
HOP = int(SAMPLE_RATE / FPS)  # 800 samples: one feature row per motion frame
N_FFT = 2048
N_CHROMA = 12
N_MFCC = 16
MUSIC_DIM = 5 + N_CHROMA + N_MFCC + 2  # 35
MIN_SECONDS = 1.0
SILENCE_RMS = 1e-4  # RMS below this over the whole file: silent
AUDIO_SUFFIXES = (".wav", ".ogg", ".oga", ".flac", ".mp3", ".aiff", ".aif")
DEFAULT_REACH = 8  # frames (0.4 s) of music each motion frame attends to on either side


@dataclass
class MusicFeatures:
    """A song's analysis: features [T, 35] at `fps`, beat times (s), tempo (bpm), duration (s)."""

    features: np.ndarray
    beats: np.ndarray
    tempo: float
    seconds: float
    fps: float = FPS

    def window(self, start: int, frames: int) -> np.ndarray:
        """Rows start .. start + frames; past the end of the song, silence (zero) rows."""
        out = np.zeros((frames, self.features.shape[1]), np.float32)
        part = self.features[start : start + frames]
        out[: len(part)] = part
        return out

    def save(self, path: str | Path) -> None:
        from motiongen.io.atomic import atomic_path

        with atomic_path(path, force=True) as tmp, open(tmp, "wb") as f:
            np.savez(f, features=self.features, beats=self.beats, tempo=self.tempo, seconds=self.seconds, fps=self.fps)

    @classmethod
    def load(cls, path: str | Path) -> MusicFeatures:
        with np.load(path) as d:
            return cls(d["features"], d["beats"], float(d["tempo"]), float(d["seconds"]), float(d["fps"]))


def load_audio(path: str | Path, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """Mono float32 samples at SAMPLE_RATE, with one clear UserError for a missing, unreadable,
    silent or too short file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"audio file not found: {path}")
    if not path.is_file():
        raise UserError(f"audio must be a file, got the folder {path}")
    if start < 0:
        raise UserError(f"--start must be >= 0, got {start:g}")
    try:
        audio = _read(path, float(start), seconds)
    except Exception as exc:  # soundfile / audioread raise their own types for bad files
        raise UserError(
            f"cannot read {path.name} as audio ({type(exc).__name__}); give a wav, ogg, flac or mp3 file"
        ) from None
    if not np.isfinite(audio).all():
        raise UserError(f"{path.name} holds invalid (NaN or infinite) samples")
    length = len(audio) / SAMPLE_RATE
    if length < MIN_SECONDS:
        where = f" after --start {start:g} s" if start else ""
        raise UserError(f"{path.name} has {length:.2f} s of audio{where}; need at least {MIN_SECONDS:g} s")
    if float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise UserError(f"{path.name} is silent; give a song with audible music")
    return audio.astype(np.float32)


def _read(path: Path, start: float, seconds: float | None) -> np.ndarray:
    """Only the asked part of the file, mono, resampled to SAMPLE_RATE (soundfile reads wav, ogg,
    flac and mp3; other containers go through librosa's audioread fallback)."""
    import soundfile
    import soxr

    try:
        with soundfile.SoundFile(str(path)) as f:
            f.seek(min(int(start * f.samplerate), f.frames))
            count = -1 if seconds is None else int(seconds * f.samplerate)
            # Block by block, mixed to mono and resampled as it streams: a long stereo song at
            # 44.1 kHz is never held whole.
            stream = soxr.ResampleStream(f.samplerate, SAMPLE_RATE, 1, dtype="float32")
            blocks = f.blocks(blocksize=f.samplerate * 10, frames=count, dtype="float32", always_2d=True)
            pieces = [stream.resample_chunk(block.mean(1)) for block in blocks]
            pieces.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
            return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    except soundfile.LibsndfileError:
        import warnings

        import librosa

        with warnings.catch_warnings():  # its fallback notices would break the one-line error
            warnings.simplefilter("ignore")
            audio, rate = librosa.load(str(path), sr=None, mono=False, offset=start, duration=seconds)
        audio = np.atleast_2d(audio).T.mean(1)
    return soxr.resample(audio, rate, SAMPLE_RATE) if rate != SAMPLE_RATE and len(audio) else audio


def spectra(audio: np.ndarray, chunk_frames: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(128-band mel power for onsets, 64-band mel power, chroma), each [bands, 1 + len // HOP]:
    the same frames as one centred STFT over the whole song, computed 30 s at a time so that the
    song's spectrogram is never held whole."""
    import librosa

    frames = 1 + len(audio) // HOP
    padded = np.pad(audio, N_FFT // 2)  # librosa's centring (zero padding)
    mel_onset = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=128)
    mel_bands = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=64)
    starts = range(0, frames, chunk_frames)

    def spectrum(first: int) -> np.ndarray:
        last = min(first + chunk_frames, frames)
        piece = padded[first * HOP : (last - 1) * HOP + N_FFT]
        return np.abs(librosa.stft(piece, n_fft=N_FFT, hop_length=HOP, center=False)) ** 2

    # Tuning as librosa's chroma estimates it, per 30 s (the median of those): first pass.
    tuning = float(np.median([librosa.estimate_tuning(S=spectrum(f), sr=SAMPLE_RATE, n_fft=N_FFT) for f in starts]))
    chroma_bank = librosa.filters.chroma(sr=SAMPLE_RATE, n_fft=N_FFT, n_chroma=N_CHROMA, tuning=tuning)
    onset_mel, mel, chroma = [], [], []
    for first in starts:
        power = spectrum(first)
        onset_mel.append(mel_onset @ power)
        mel.append(mel_bands @ power)
        chroma.append(chroma_bank @ power)
    chroma = np.concatenate(chroma, 1)
    chroma = chroma / np.maximum(np.abs(chroma).max(0, keepdims=True), 1e-10)  # librosa's per-frame max norm
    return np.concatenate(onset_mel, 1), np.concatenate(mel, 1), chroma


def analyse(audio: np.ndarray) -> MusicFeatures:
    """Samples at SAMPLE_RATE -> MusicFeatures at 20 fps."""
    import librosa

    frames = int(np.ceil(len(audio) / HOP))
    onset_mel, mel, chroma = spectra(audio)
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(onset_mel), sr=SAMPLE_RATE, hop_length=HOP)
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP)
    tempo = float(np.atleast_1d(tempo)[0])
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=N_MFCC)
    rms = np.sqrt(mel.sum(0) / mel.shape[0]).astype(np.float32)
    beats = np.asarray(beat_frames, dtype=np.int64)
    columns = [
        _fit(onset / max(float(onset.max()), 1e-6), frames)[:, None],
        *beat_rows(beats, frames, tempo),
        _fit(chroma.T, frames),
        _fit(mfcc.T / 100.0, frames),
        _fit(np.log1p(rms * 100.0), frames)[:, None],
    ]
    loud = columns[-1][:, 0]
    columns.append(np.diff(loud, prepend=loud[:1])[:, None])
    features = np.concatenate(columns, 1).astype(np.float32)
    assert features.shape[1] == MUSIC_DIM
    return MusicFeatures(features, beats / FPS, tempo, len(audio) / SAMPLE_RATE)


def beat_rows(beats: np.ndarray, frames: int, tempo: float) -> list[np.ndarray]:
    """Beat pulse [T, 1] (1 on a beat, halving every 2 frames), phase cos, sin [T, 2] (0 on each
    beat, rising linearly to the next) and tempo [T, 1] (bpm / 120)."""
    pulse = np.zeros(frames, np.float32)
    phase = np.zeros(frames, np.float64)
    beats = beats[(beats >= 0) & (beats < frames)]
    if len(beats) >= 2:
        t = np.arange(frames)
        period = float(np.median(np.diff(beats)))
        # Phase by interpolating beat indices; extrapolated with the median period outside.
        index = np.interp(t, beats, np.arange(len(beats)))
        index = np.where(t < beats[0], (t - beats[0]) / period, index)
        index = np.where(t > beats[-1], len(beats) - 1 + (t - beats[-1]) / period, index)
        phase = 2 * np.pi * (index % 1.0)
        since = t - beats[np.clip(np.searchsorted(beats, t, side="right") - 1, 0, None)]
        pulse = np.where(t >= beats[0], 0.5 ** (since / 2.0), 0.0).astype(np.float32)
    return [
        pulse[:, None],
        np.stack([np.cos(phase), np.sin(phase)], 1).astype(np.float32),
        np.full((frames, 1), tempo / 120.0, np.float32),
    ]


def _fit(rows: np.ndarray, frames: int) -> np.ndarray:
    """Pad or trim librosa's frame count (it centres frames, so it has one more) to `frames`."""
    rows = np.asarray(rows, np.float32)[:frames]
    if len(rows) < frames:
        rows = np.concatenate([rows, np.repeat(rows[-1:], frames - len(rows), 0)])
    return rows


def music_features(path: str | Path, start: float = 0.0, seconds: float | None = None) -> MusicFeatures:
    """An audio file (or the part from `start` for `seconds`) -> its MusicFeatures."""
    return analyse(load_audio(path, start, seconds))


def music_mask(frames: int, music_tokens: int, reach: int | None) -> torch.Tensor:
    """[frames, music_tokens] bool: motion frame t sees music frame k when |t - k| <= reach (all
    when reach is None). Rows where the music is dropped keep only the null token at k = 0."""
    if reach is None:
        return torch.ones(frames, music_tokens, dtype=torch.bool)
    t = torch.arange(frames)[:, None]
    k = torch.arange(music_tokens)[None, :]
    return (t - k).abs() <= int(reach)


def context_mask(text_mask: torch.Tensor, music_token_mask: torch.Tensor, frames: int, reach: int) -> torch.Tensor:
    """Per-frame context mask [B, T, Ltext + Lmusic]: text tokens seen by every frame, music
    tokens within `reach` frames. A row whose music is dropped (only its null token left)
    lets every frame see that null token, so the unconditional context is the same everywhere."""
    b = text_mask.shape[0]
    band = music_mask(frames, music_token_mask.shape[1], reach).to(music_token_mask.device)
    music = music_token_mask[:, None, :] & band[None]
    dropped = music_token_mask.sum(1) == 1
    music[dropped, :, 0] = True
    text = text_mask[:, None, :].expand(b, frames, text_mask.shape[1])
    return torch.cat([text, music], -1)


class MusicConditioner(ModelMixin, ConfigMixin, Conditioner):
    """Music features [B, T, 35] (raw; optionally with lengths [B]) -> (tokens [B, T, width],
    mask). Trainable: the input normaliser (set by the trainer), a two-layer projection, a marker
    telling music tokens from text tokens, and the null token for classifier-free guidance."""

    @register_to_config
    def __init__(
        self,
        width: int = 256,
        input_dim: int = MUSIC_DIM,
        hidden: int = 256,
        max_frames: int = 120,
        reach: int = DEFAULT_REACH,
        fps: float = FPS,
    ):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(input_dim, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.music_marker = nn.Parameter(torch.zeros(width))
        self.null_token = nn.Parameter(torch.randn(width) * 0.02)
        self.register_buffer("positions", sinusoidal_positions(max_frames, width), persistent=False)
        self.register_buffer("input_mean", torch.zeros(input_dim))
        self.register_buffer("input_std", torch.ones(input_dim))

    def embed(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        features, lengths = inputs if isinstance(inputs, tuple) else (inputs, None)
        features = torch.as_tensor(features, dtype=torch.float32).to(self.input_mean.device)
        if features.dim() != 3 or features.shape[-1] != self.config.input_dim:
            raise UserError(
                f"music features must be [batch, frames, {self.config.input_dim}], got {tuple(features.shape)}"
            )
        return frame_tokens(self, features, lengths, self.music_marker)
