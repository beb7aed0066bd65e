"""Training windows built as they are drawn, for datasets too large for a pre-built pool
(HumanML3D: ~29 000 clips). Same augmentation as `WindowPool` (mirror, speed, loop or hold,
compose), but each piece is made from a random clip when drawn, so memory holds only the clips,
and each process of a multi-process run builds only the windows of its own micro-batches.

A batch depends only on the generator it is drawn with (seeded per step and micro-batch), so a
resumed run, or a run on another number of processes, draws exactly the same windows.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import torch

from motiongen.data import augment
from motiongen.data.dataset import MAX_LOOPED_TURN, Piece, Window, WindowPool
from motiongen.errors import UserError
from motiongen.metrics.descriptors import turn


class WindowStream(WindowPool):
    """Draws windows from `clips` (weighted by `clip_weights`, default alike) on demand."""

    def __init__(
        self,
        clips,
        max_frames: int = 120,
        min_frames: int = 20,
        compose_prob: float = 0.4,
        hold_prob: float = 0.5,
        blend_frames: int = 10,
        speeds=(0.8, 1.0, 1.25),
        mirror: bool = True,
        loop_turns: bool = True,
        clip_weights: list[float] | None = None,
        seed: int = 0,
        action_share: float = 1.0,
    ):
        if not clips:
            raise UserError("no clips to build training windows from")
        self.clips = list(clips)
        self.max_frames, self.min_frames, self.blend_frames = max_frames, min_frames, blend_frames
        self.compose_prob, self.hold_prob, self.walk_on_prob, self.walk_on_min_frames = compose_prob, hold_prob, 0.0, 0
        self.speeds, self.mirror = tuple(speeds), mirror
        self.loops = [c.cyclic and (loop_turns or abs(turn(c.motion)) <= MAX_LOOPED_TURN) for c in self.clips]
        weights = list(clip_weights or [1.0] * len(self.clips))
        if action_share != 1.0:  # as WindowPool's action_weights, over clips
            counts = Counter(c.action for c in self.clips)
            weights = [w * counts[c.action] ** (action_share - 1.0) for w, c in zip(weights, self.clips, strict=True)]
        self.cum_weights = list(itertools.accumulate(weights))
        self.walkers = {}
        self.rng = random.Random(seed)
        self.windows: list[Window] = []  # none are kept

    @classmethod
    def from_config(cls, clips, config, clip_weights=None) -> WindowStream:
        if config.walk_on_actions:
            raise UserError("walk_on_actions needs windows: pool (a stream does not walk clips on)")
        return cls(
            clips, config.max_frames, config.min_frames, config.compose_prob, config.hold_prob, config.blend_frames,
            tuple(config.speeds), config.mirror, config.loop_turns, clip_weights, config.seed, config.action_share,
        )  # fmt: skip

    def _draw(self) -> Piece:
        rng = self.rng
        i = rng.choices(range(len(self.clips)), cum_weights=self.cum_weights)[0]
        clip, speed = self.clips[i], rng.choice(self.speeds)
        motion = clip.motion
        # A long take is cut to what one window can use before it is retimed (minutes of AMASS).
        need = math.ceil(self.max_frames * speed) + 1
        if not self.loops[i] and len(motion) > need:
            start = rng.randint(0, len(motion) - need)
            motion = motion.slice(start, start + need)
        captions = list(clip.captions)
        if self.mirror and rng.random() < 0.5:
            motion, captions = augment.mirrored(motion, captions, clip.handed)
            if not captions:  # a handed clip whose captions all name no side
                motion, captions = clip.motion, list(clip.captions)
        if speed != 1.0:
            motion = augment.change_speed(motion, speed)
        return Piece(motion, captions, self.loops[i], speed, False, clip.action)

    def draw_windows(self, count: int, rng: random.Random) -> list[Window]:
        self.rng = rng
        windows = []
        while len(windows) < count:
            window = self._composed() if rng.random() < self.compose_prob else self._single()
            if window is not None:
                windows.append(window)
        return windows

    def __len__(self) -> int:
        return len(self.clips)

    def clip_captions(self) -> list[str]:
        from motiongen.data.captions import mirror_caption

        captions = {c for clip in self.clips for c in clip.captions}
        if self.mirror:
            captions |= {mirror_caption(c) for c in captions}
        return sorted(captions)

    def sample_windows(self, count: int, seed: int) -> list[Window]:
        """`count` windows drawn with `seed`: the sample the feature statistics are taken from."""
        return self.draw_windows(count, random.Random(seed))

    def batch(self, size: int, generator: torch.Generator | None = None):
        """(features [B, T, 206] zero-padded, lengths [B], captions), built now."""
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator)))
        windows = self.draw_windows(size, rng)
        lengths = torch.tensor([len(w.features) for w in windows])
        out = torch.zeros(size, int(lengths.max()), windows[0].features.shape[-1])
        for i, w in enumerate(windows):
            out[i, : len(w.features)] = w.features
        captions = [w.captions[rng.randrange(len(w.captions))] for w in windows]
        return out, lengths, captions
