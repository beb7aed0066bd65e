"""Music-dance training pairs, made honestly from unpaired data.

No recording here has dance and music together. The pairs are made by *retiming*: each real
dance clip of corpus v2 (salsa, indian dance, breakdance, the DeepMimic dances) is time-warped so
that its kinematic beats (pauses of the body, metrics/dance.py) land on the beats of a real music
track whose tempo is compatible (overall warp factor within 0.8-1.25, the dance beat on every
beat, every other beat or every half beat). The warp is piecewise linear between matched beats,
rotations resampled by slerp and the root linearly. Many tracks and many offsets per clip.

What the pairs teach: to put the body's pauses and accents on the music's beats, at the music's
tempo. What they cannot teach: which moves suit which music (the choice of clip is random).

Held out: the corpus' test takes and the music cache's test tracks (data/music.py).

Dance recorded to its own music (AIST++, named in a config's `data:` section: its clips carry the
music file in `meta["audio"]`) needs no retiming: `recorded_pairs` cuts windows of a take with the
music over the same seconds. Those pairs also teach which moves go with which music.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from motiongen.data import augment
from motiongen.errors import UserError
from motiongen.metrics.dance import kinematic_beats
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion

# Dance actions of corpus v2 and the short caption each is also trained with.
DANCE_CAPTIONS = {
    "salsa": "a person dances salsa",
    "salsa_dip": "a person dances salsa",
    "indian_dance": "a person does an indian dance",
    "breakdance": "a person breakdances",
    "dance": "a person dances",
}
WARP_RANGE = (0.8, 1.25)  # overall stretch allowed (music-time per clip-time)
LOCAL_WARP_RANGE = (0.6, 1.6)  # stretch allowed between two matched beats
BEAT_MULTIPLES = (0.5, 1.0, 2.0)  # music beats per dance beat


def dance_clips(clips) -> list:
    """The clips of dance actions."""
    return [c for c in clips if c.action in DANCE_CAPTIONS]


def beat_period(beats_s: np.ndarray) -> float | None:
    """Median interval between beats (seconds), None with fewer than 3 beats."""
    return float(np.median(np.diff(beats_s))) if len(beats_s) >= 3 else None


def music_grid(music_beats_s: np.ndarray, multiple: float) -> np.ndarray:
    """The beats a dance beat may land on: every beat, every `multiple`-th, or beats and halves."""
    beats = np.asarray(music_beats_s, np.float64)
    if multiple == 0.5:
        mids = (beats[1:] + beats[:-1]) / 2
        return np.sort(np.concatenate([beats, mids]))
    if multiple == 2.0:
        return beats  # every other beat: any beat may start, the snapping skips one between
    return beats


def warp_anchors(dance_beats_s, music_beats_s, start_beat: int, rng: random.Random):
    """Matched (clip time, song time) pairs [N, 2] for a dance whose first beat lands on music
    beat `start_beat`, or None when the tempos are not compatible."""
    dance_p, music_p = beat_period(dance_beats_s), beat_period(music_beats_s)
    if dance_p is None or music_p is None:
        return None
    options = [(m, m * music_p / dance_p) for m in BEAT_MULTIPLES]
    options = [(m, s) for m, s in options if WARP_RANGE[0] <= s <= WARP_RANGE[1]]
    if not options:
        return None
    multiple, stretch = min(options, key=lambda o: abs(np.log(o[1])))
    grid = music_grid(music_beats_s, multiple)
    start = np.asarray(music_beats_s)[start_beat]
    anchors = []
    for b in dance_beats_s:
        target = start + stretch * (b - dance_beats_s[0])
        g = grid[np.abs(grid - target).argmin()]
        if keeps_pace(anchors, b, g):
            anchors.append((b, g))
    if len(anchors) < 2:
        return None
    return np.asarray(anchors, np.float64), stretch


def keeps_pace(anchors: list[tuple[float, float]], clip_time: float, song_time: float) -> bool:
    """Whether matching `clip_time` to `song_time` after the (clip time, song time) matches
    `anchors` keeps both in order and the stretch since the last match within LOCAL_WARP_RANGE."""
    if not anchors:
        return True
    last_clip, last_song = anchors[-1]
    local = (song_time - last_song) / max(clip_time - last_clip, 1e-6)
    return song_time > last_song and LOCAL_WARP_RANGE[0] <= local <= LOCAL_WARP_RANGE[1]


def warp_times(anchors: np.ndarray, stretch: float, song_times: np.ndarray) -> np.ndarray:
    """Clip time for each song time: piecewise linear through the anchors, with the overall
    stretch beyond the first and last anchor."""
    clip, song = anchors[:, 0], anchors[:, 1]
    out = np.interp(song_times, song, clip)
    before, after = song_times < song[0], song_times > song[-1]
    out[before] = clip[0] + (song_times[before] - song[0]) / stretch
    out[after] = clip[-1] + (song_times[after] - song[-1]) / stretch
    return out


def resample_at(motion: Motion, clip_times: np.ndarray, fps: float) -> Motion:
    """The motion at arbitrary times (seconds): slerp rotations, linear root; new frame rate."""
    src = np.clip(clip_times * motion.fps, 0, len(motion) - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, len(motion) - 1)
    w = torch.from_numpy((src - i0).astype(np.float32))
    q = torch.from_numpy(motion.quats)
    quats = R.quat_slerp(q[i0], q[i1], w[:, None, None]).numpy()
    wr = w.numpy()[:, None]
    root = motion.root[i0] * (1 - wr) + motion.root[i1] * wr
    return Motion(quats, root, fps, dict(motion.meta))


def dance_beats(motion: Motion) -> np.ndarray:
    """The clip's kinematic beats in seconds (a mirror image has the same ones)."""
    return kinematic_beats(motion.positions(), motion.fps) / motion.fps


def retime_to_music(motion: Motion, music_beats_s, song_seconds: float, start_beat: int, rng: random.Random,
                    fps: float = 20.0, beats_s: np.ndarray | None = None):  # fmt: skip
    """`motion` warped onto a song: (retimed Motion at `fps`, its first frame in the song), or
    None when the tempos are incompatible or it would not fit in the song. `beats_s`: the clip's
    kinematic beats, when already known."""
    beats = dance_beats(motion) if beats_s is None else beats_s
    found = warp_anchors(beats, np.asarray(music_beats_s), start_beat, rng)
    if found is None:
        return None
    anchors, stretch = found
    song_start = anchors[0, 1] - (anchors[0, 0]) * stretch
    song_end = anchors[-1, 1] + (motion.duration - anchors[-1, 0]) * stretch
    first, last = int(np.ceil(song_start * fps)), int(np.floor(song_end * fps))
    first, last = max(first, 0), min(last, int(song_seconds * fps) - 1)
    if last - first < 2:
        return None
    times = warp_times(anchors, stretch, np.arange(first, last + 1) / fps)
    return resample_at(motion, times, fps), first


@dataclass
class DancePair:
    features: torch.Tensor  # [T, 206] motion features of the retimed window
    music: np.ndarray  # [T, 35] the song's features over the same frames
    caption: str
    clip: str
    track: str
    start: int  # first frame in the song


def make_pairs(clips, tracks, count: int, window: int, min_frames: int, seed: int = 0, mirror: bool = True,
               genre_prob: float = 0.5, progress: bool = True) -> list[DancePair]:  # fmt: skip
    """`count` pairs: a random dance clip (mirrored half the time), retimed onto a random
    compatible track at a random beat, cut to at most `window` frames. Caption: the action's
    short caption with `genre_prob`, else one of the clip's own."""
    from tqdm import tqdm

    from motiongen.motion.features import motion_to_features

    clips = dance_clips(clips)
    if not clips or not tracks:
        raise UserError("dance pairs need dance clips (corpus v2) and music tracks (motiongen data music)")
    rng = random.Random(seed)
    songs = [(t.name, t.features()) for t in tracks]
    beats = {c.name: dance_beats(c.motion) for c in clips}
    pairs: list[DancePair] = []
    bar = tqdm(total=count, desc="dance pairs", disable=not progress)
    tries = 0
    while len(pairs) < count:
        tries += 1
        if tries > 50 * count:
            raise UserError("could not retime the dance clips onto these tracks (no compatible tempos)")
        clip = rng.choice(clips)
        motion, captions = clip.motion, list(clip.captions)
        if mirror and rng.random() < 0.5:
            motion, captions = augment.mirrored(motion, captions, clip.handed)
        name, song = rng.choice(songs)
        if len(song.beats) < 4:
            continue
        made = retime_to_music(
            motion, song.beats, song.seconds, rng.randrange(len(song.beats) - 2), rng, beats_s=beats[clip.name]
        )
        if made is None or len(made[0]) < min_frames:
            continue
        retimed, first = made
        cut = rng.randrange(0, max(1, len(retimed) - window + 1))
        piece = retimed.slice(cut, cut + window)
        caption = DANCE_CAPTIONS[clip.action] if rng.random() < genre_prob or not captions else rng.choice(captions)
        start = first + cut
        pairs.append(DancePair(motion_to_features(piece), song.window(start, len(piece)), caption, clip.name, name,
                               start))  # fmt: skip
        bar.update(1)
    bar.close()
    return pairs


def recorded_pairs(clips, count: int, window: int, min_frames: int, seed: int = 0, mirror: bool = True,
                   progress: bool = True) -> list[DancePair]:  # fmt: skip
    """`count` pairs from takes danced to their own music (clips with `meta["audio"]`, whose
    first frame is the music's start): a random window of a random take (mirrored half the
    time), with the music's features over the same frames. No retiming."""
    from pathlib import Path

    from tqdm import tqdm

    from motiongen.conditioning.music import music_features
    from motiongen.motion.features import motion_to_features

    clips = [c for c in clips if c.motion.meta.get("audio")]
    if not clips:
        raise UserError("no dance recorded with its music (AIST++ clips with their wav files) to pair")
    songs = {}
    for audio in tqdm(sorted({c.motion.meta["audio"] for c in clips}), desc="music of the takes", disable=not progress):
        songs[audio] = music_features(audio)
    usable = [c for c in clips if min(len(c.motion), len(songs[c.motion.meta["audio"]].features)) >= min_frames]
    if not usable:
        raise UserError(f"no take has {min_frames} frames with music under them")
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        clip = rng.choice(usable)
        audio = clip.motion.meta["audio"]
        song = songs[audio]
        frames = min(len(clip.motion), len(song.features))
        length = min(window, frames)
        start = rng.randrange(0, frames - length + 1)
        motion, captions = clip.motion.slice(start, start + length), list(clip.captions)
        if mirror and rng.random() < 0.5:
            motion, captions = augment.mirrored(motion, captions, clip.handed)
        caption = rng.choice(captions) if captions else "a person dances"
        pairs.append(DancePair(motion_to_features(motion), song.window(start, length), caption, clip.name,
                               Path(audio).stem, start))  # fmt: skip
    return pairs


class DancePairSampler:
    """Random batches of pairs: (features [B, T, 206], lengths [B], music [B, T, 35], captions)."""

    def __init__(self, pairs: list[DancePair]):
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def captions(self) -> list[str]:
        return sorted({p.caption for p in self.pairs})

    def stats(self):
        """(motion mean, std), (music mean, std) over all pair frames."""
        motion = torch.cat([p.features for p in self.pairs])
        music = torch.from_numpy(np.concatenate([p.music for p in self.pairs]))
        return (motion.mean(0), motion.std(0).clamp(min=1e-3)), (music.mean(0), music.std(0).clamp(min=1e-3))

    def batch(self, size: int, generator: torch.Generator):
        index = torch.randint(len(self.pairs), (size,), generator=generator).tolist()
        chosen = [self.pairs[i] for i in index]
        frames = max(len(p.features) for p in chosen)
        features = torch.zeros(size, frames, chosen[0].features.shape[1])
        music = torch.zeros(size, frames, chosen[0].music.shape[1])
        lengths = torch.zeros(size, dtype=torch.long)
        for i, p in enumerate(chosen):
            features[i, : len(p.features)] = p.features
            music[i, : len(p.music)] = torch.from_numpy(p.music)
            lengths[i] = len(p.features)
        return features, lengths, music, [p.caption for p in chosen]
