"""Training windows for text-to-motion: variable-length clips (padded, with a frame mask) built
from corpus clips by augmentation, each with the captions that describe it.

Building a window (mirror, speed, loop or hold, compose, then encode features with forward
kinematics) costs tens of milliseconds, so a pool of windows is built once before training and
batches are drawn from it; captions are drawn afresh each time.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from motiongen.data import augment
from motiongen.errors import UserError
from motiongen.metrics.descriptors import turn
from motiongen.motion.features import SLICES, motion_to_features
from motiongen.motion.motion import Motion


@dataclass
class Piece:
    """A base variant of a corpus clip (possibly mirrored and retimed)."""

    motion: Motion
    captions: list[str]
    cyclic: bool
    speed: float = 1.0
    walk_on: bool = False  # lengthened by walking straight on instead of standing still
    action: str = ""


@dataclass
class Window:
    features: torch.Tensor  # [T, 206] raw units
    captions: list[str]


# A cyclic clip turning more than this per cycle is held, not looped, with loop_turns=False.
MAX_LOOPED_TURN = 15.0  # degrees: the corpus' walk drifts 7, turn_left0 turns 29
# Walking into and out of a walking turn needs only a short cross-fade: a long one would blend
# away much of a turn that lasts 1.25 s.
WALK_BLEND_FRAMES = 4


def base_pieces(
    clips, speeds=(0.8, 1.0, 1.25), mirror: bool = True, loop_turns: bool = True, walk_on_actions=()
) -> list[Piece]:
    """Every clip x (original, mirrored) x speed. With `loop_turns` off, a cyclic clip that
    turns is treated as non-cyclic: looped, a turn becomes a walk in circles. Clips of
    `walk_on_actions` are marked to be lengthened by walking (see WindowPool)."""
    pieces = []
    for clip in clips:
        loops = clip.cyclic and (loop_turns or abs(turn(clip.motion)) <= MAX_LOOPED_TURN)
        walk_on = clip.action in walk_on_actions
        variants = [(clip.motion, list(clip.captions))]
        if mirror:
            variants.append(augment.mirrored(clip.motion, clip.captions, clip.handed))
        for motion, captions in variants:
            for speed in speeds:
                moved = motion if speed == 1.0 else augment.change_speed(motion, speed)
                pieces.append(Piece(moved, captions, loops, speed, walk_on, clip.action))
    return pieces


def action_weights(pieces: list[Piece], share: float) -> list[float] | None:
    """Drawing weights that give each action a share of the windows growing as (its number of
    pieces) ** `share`: 1 draws every piece alike, so an action with 100 segments gets 100 times
    the windows of one with a single clip; 0 gives every action the same share. None for 1."""
    if share == 1.0:
        return None
    counts = Counter(p.action for p in pieces)
    return [counts[p.action] ** (share - 1.0) for p in pieces]


class WindowPool:
    """A fixed pool of augmented training windows, reproducible from `seed`."""

    def __init__(
        self,
        clips,
        size: int = 2000,
        max_frames: int = 120,
        min_frames: int = 20,
        compose_prob: float = 0.4,
        hold_prob: float = 0.5,
        blend_frames: int = 10,
        speeds=(0.8, 1.0, 1.25),
        mirror: bool = True,
        loop_turns: bool = True,
        walk_on_actions=(),
        walk_on_prob: float | None = None,
        walk_on_min_frames: int = 0,
        action_share: float = 1.0,
        seed: int = 0,
        progress: bool = True,
        clip_weights: list[float] | None = None,
    ):
        if not clips:
            raise ValueError("no clips to build training windows from")
        self.max_frames = max_frames
        self.min_frames = min_frames
        self.blend_frames = blend_frames
        self.hold_prob = hold_prob
        self.walk_on_prob = hold_prob if walk_on_prob is None else walk_on_prob
        self.walk_on_min_frames = walk_on_min_frames
        self.rng = random.Random(seed)
        self.pieces = base_pieces(clips, speeds, mirror, loop_turns, tuple(walk_on_actions))
        self.weights = action_weights(self.pieces, action_share)
        if clip_weights is not None:  # each source's share (datasets mixed by weight), times the action share
            per_clip = len(self.pieces) // len(clips)  # every clip gives (variants x speeds) pieces
            own = [w for w in clip_weights for _ in range(per_clip)]
            self.weights = own if self.weights is None else [a * b for a, b in zip(self.weights, own, strict=True)]
        # A walking turn lasts about a second. Held still around it, the model learnt nothing of
        # what follows and kept turning for as long as it was asked to (300+ degrees in 4 s);
        # walking on before and after, a turn is a turn and the window is still real walking.
        walks = [c for c in clips if c.action == "walk" and c.cyclic] if walk_on_actions else []
        self.walkers = {p.speed: augment.straightened(p.motion) for p in base_pieces(walks, speeds, mirror=False)}
        if walk_on_actions and not self.walkers:
            raise UserError("walk_on_actions needs a cyclic clip of action 'walk' among the clips")
        unknown = sorted(set(walk_on_actions) - {c.action for c in clips})
        if unknown:  # a misspelt action would otherwise change nothing, silently
            raise UserError(f"walk_on_actions: no clip of action {', '.join(unknown)} among the clips")
        self.windows: list[Window] = []
        bar = tqdm(total=size, desc="building training windows", disable=not progress)
        while len(self.windows) < size:
            window = self._composed() if self.rng.random() < compose_prob else self._single()
            if window is not None:
                self.windows.append(window)
                bar.update(1)
        bar.close()
        # Batches take windows of similar length, so little compute goes into padding.
        self.by_length = sorted(range(len(self.windows)), key=lambda i: len(self.windows[i].features))

    @classmethod
    def from_config(cls, clips, config, progress: bool = True, clip_weights=None, **overrides) -> WindowPool:
        """The pool a training config (motiongen.training.config.TrainConfig) describes;
        `overrides` replace single arguments (a distilled student's own size, length or seed)."""
        kwargs = dict(
            size=config.pool_size,
            max_frames=config.max_frames,
            min_frames=config.min_frames,
            compose_prob=config.compose_prob,
            hold_prob=config.hold_prob,
            blend_frames=config.blend_frames,
            speeds=tuple(config.speeds),
            mirror=config.mirror,
            loop_turns=config.loop_turns,
            walk_on_actions=tuple(config.walk_on_actions),
            walk_on_prob=config.walk_on_prob,
            walk_on_min_frames=config.walk_on_min_frames,
            action_share=config.action_share,
            seed=config.seed,
        )
        unknown = set(overrides) - set(kwargs)
        if unknown:
            raise TypeError(f"unknown window pool arguments: {sorted(unknown)}")
        return cls(clips, progress=progress, clip_weights=clip_weights, **{**kwargs, **overrides})

    # -- building windows -------------------------------------------------------------------
    def _fit(self, piece: Piece, low: int, high: int) -> Motion:
        """A piece brought to a random length in [low, high]: looped if cyclic, else possibly
        held still (or, marked `walk_on`, walking) before/after, or cropped when too long."""
        motion = piece.motion
        rng = self.rng
        if piece.cyclic:
            return augment.loop(motion, rng.randint(max(low, 1), max(high, low, 1)))
        if len(motion) > high:
            start = rng.randint(0, len(motion) - high)
            return motion.slice(start, start + high)
        chance = self.walk_on_prob if piece.walk_on else self.hold_prob
        if rng.random() < chance and high > len(motion):
            # A walk-on clip may be made at least walk_on_min_frames long, so that no window it
            # captions is turning from start to end.
            least = min(max(self.walk_on_min_frames - len(motion), 0), high - len(motion)) if piece.walk_on else 0
            extra = rng.randint(least, high - len(motion))
            before = rng.randint(0, extra)
            if piece.walk_on:
                return self._walk_around(motion, self.walkers[piece.speed], before, extra - before)
            return augment.hold(motion, before, extra - before)
        return motion

    def _walk_around(self, motion: Motion, walk: Motion, before: int, after: int) -> Motion:
        """`motion` with `before` frames of walking before it and `after` frames after it."""
        n = WALK_BLEND_FRAMES
        if before:
            motion = augment.append_blended(augment.loop(walk, before + n), motion, n)
        if after:
            motion = augment.append_blended(motion, augment.loop(walk, after + n), n)
        return motion

    def _draw(self) -> Piece:
        if self.weights is None:
            return self.rng.choice(self.pieces)
        return self.rng.choices(self.pieces, weights=self.weights)[0]

    def _single(self) -> Window | None:
        piece = self._draw()
        motion = self._fit(piece, self.min_frames, self.max_frames)
        if len(motion) < 2:
            return None
        return Window(motion_to_features(motion), piece.captions)

    def _composed(self) -> Window | None:
        a, b = self._draw(), self._draw()
        half = self.max_frames // 2
        first = self._fit(a, self.min_frames, half) if a.cyclic else a.motion
        second = self._fit(b, self.min_frames, half) if b.cyclic else b.motion
        if len(first) + len(second) - self.blend_frames > self.max_frames:
            return None
        motion = augment.append_blended(first, second, self.blend_frames)
        captions = [
            augment.compose_captions(
                self.rng.choice(a.captions), self.rng.choice(b.captions), self.rng.choice(augment.JOINERS)
            )
            for _ in range(4)
        ]
        return Window(motion_to_features(motion), captions)

    # -- drawing batches --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.windows)

    def clip_captions(self) -> list[str]:
        """Every caption of the clips the windows are made from (mirrored ones too), sorted."""
        return sorted({c for piece in self.pieces for c in piece.captions})

    def batch(self, size: int, generator: torch.Generator | None = None):
        """(features [B, T, 206] zero-padded, lengths [B], captions) with T the longest window.
        The windows are neighbours in length order (the pool was drawn at random, so neighbours
        in length are unrelated in content)."""
        size = min(size, len(self.windows))
        start = int(torch.randint(0, len(self.windows) - size + 1, (1,), generator=generator))
        idx = self.by_length[start : start + size]
        windows = [self.windows[i] for i in idx]
        lengths = torch.tensor([len(w.features) for w in windows])
        out = torch.zeros(size, int(lengths.max()), windows[0].features.shape[-1])
        for i, w in enumerate(windows):
            out[i, : len(w.features)] = w.features
        picks = torch.randint(0, 1 << 30, (size,), generator=generator).tolist()
        captions = [w.captions[p % len(w.captions)] for w, p in zip(windows, picks, strict=True)]
        return out, lengths, captions


def feature_stats(windows: list[Window], std_floor: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std over all frames, std floored so near-constant numbers are not
    blown up. Contacts (0/1) are mapped to -1/+1 instead of being standardised."""
    frames = torch.cat([w.features for w in windows])
    mean = frames.mean(0)
    std = frames.std(0).clamp(min=std_floor)
    contacts = SLICES["contacts"]
    mean[contacts] = 0.5
    std[contacts] = 0.5
    return mean, std


def window_lengths(windows: list[Window]) -> np.ndarray:
    return np.array([len(w.features) for w in windows])
