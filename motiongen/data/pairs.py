"""Training pairs for the partner model: real couples (corpus v2's salsa segments, whose
`motion.meta` names the "partner" segment), both ways round.

Every couple is augmented as a whole: mirrored (both dancers through the same world plane, so
who stands where is mirrored too) and retimed (both at the same speed). Each augmented couple
gives two sequences, A next to B and B next to A. Features are computed once per sequence;
a training window is then a cut of the same frames from both dancers, drawn afresh for every
batch (the pair features are relative, so cutting them equals computing them on the cut motion).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from motiongen.conditioning.partner import generated_features, placement_in, zero_first_step
from motiongen.data import augment
from motiongen.errors import UserError


def couples(clips) -> list[tuple]:
    """(clip, partner clip) for every couple among `clips`, each couple once, in clip order.
    Partners must be equally long; a clip whose partner is not among `clips` is left out."""
    by_name = {c.name: c for c in clips}
    out, seen = [], set()
    for clip in clips:
        other = by_name.get(clip.motion.meta.get("partner"))
        if other is None or clip.name in seen:
            continue
        if len(other.motion) != len(clip.motion):
            raise UserError(f"partners {clip.name} and {other.name} differ in length")
        seen.update((clip.name, other.name))
        out.append((clip, other))
    return out


def load_couples(split: str | None = "train", limit: int | None = None, progress: bool = True) -> list[tuple]:
    """The couples of corpus v2 (the mocap cache, built on first use) in one split, without
    loading the solo clips; `limit` keeps the first few couples."""
    from motiongen.data.corpus import Clip, load_clip_motion, read_index
    from motiongen.data.mocap_corpus import ensure_mocap_corpus

    folder = ensure_mocap_corpus(progress)
    entries = {e["name"]: e for e in read_index(folder) if e.get("partner") and split in (None, e["split"])}
    names = []
    for name, entry in entries.items():
        if entry["partner"] in entries and entry["partner"] not in names:
            names.append(name)
    clips = []
    for name in names[:limit]:
        for entry in (entries[name], entries[entries[name]["partner"]]):
            motion = load_clip_motion(folder / entry["file"])
            motion.meta = {"name": entry["name"], "source": entry["source"], "take": entry["take"],
                           "partner": entry["partner"]}  # fmt: skip
            clips.append(Clip(entry["name"], motion, list(entry["captions"]), entry["split"], bool(entry["cyclic"]),
                              entry["action"], bool(entry.get("handed", False))))  # fmt: skip
    return couples(clips)


@dataclass
class PairSequence:
    """One dancer ("me") next to the other, over a whole segment."""

    me: torch.Tensor  # [N, 210] generated features: motion + where the partner is seen from me
    partner: torch.Tensor  # [N, 206] the partner's motion features
    partner_xz: np.ndarray  # [N, 2] the partner's floor point (world)
    partner_heading: np.ndarray  # [N]
    captions: list[str]
    name: str


def pair_sequences(pairs, speeds=(0.8, 1.0, 1.25), mirror: bool = True) -> list[PairSequence]:
    """Both directions of every couple x (original, mirrored) x speed."""
    from motiongen.motion.features import motion_to_features

    out = []
    for a, b in pairs:
        variants = [(a.motion, list(a.captions), b.motion, list(b.captions), "")]
        if mirror:
            ma, ca = augment.mirrored(a.motion, a.captions, a.handed)
            mb, cb = augment.mirrored(b.motion, b.captions, b.handed)
            variants.append((ma, ca, mb, cb, "~mirror"))
        for motion_a, captions_a, motion_b, captions_b, tag in variants:
            for speed in speeds:
                ma = motion_a if speed == 1.0 else augment.change_speed(motion_a, speed)
                mb = motion_b if speed == 1.0 else augment.change_speed(motion_b, speed)
                fa, fb = motion_to_features(ma), motion_to_features(mb)
                for me, f_other, other, captions, name in (
                    (ma, fb, mb, captions_a, a.name),
                    (mb, fa, ma, captions_b, b.name),
                ):
                    if not captions:
                        continue
                    out.append(
                        PairSequence(
                            generated_features(me, other), f_other, other.root[:, [0, 2]].copy(), other.heading(),
                            captions, f"{name}{tag}@{speed:g}",
                        )
                    )  # fmt: skip
    return out


class PairSampler:
    """Random training windows from pair sequences: `max_frames` long (shorter with chance
    `short_prob`), the partner's inputs reaching `lookahead` frames further where the segment
    goes on (what a streaming partner may see past the last generated frame)."""

    def __init__(
        self, sequences, max_frames: int = 120, min_frames: int = 20, short_prob: float = 0.2, lookahead: int = 0
    ):
        if not sequences:
            raise UserError("no couples to train the partner model on (corpus v2 salsa segments, or pairs given)")
        self.sequences = sequences
        self.max_frames, self.min_frames = max_frames, min_frames
        self.short_prob, self.lookahead = short_prob, lookahead

    def __len__(self) -> int:
        return len(self.sequences)

    def captions(self) -> list[str]:
        return sorted({c for s in self.sequences for c in s.captions})

    def window(self, rng: random.Random):
        seq = self.sequences[rng.randrange(len(self.sequences))]
        n = len(seq.me)
        length = min(self.max_frames, n)
        if rng.random() < self.short_prob:
            length = rng.randint(min(self.min_frames, length), length)
        start = rng.randint(0, n - length)
        stop = min(start + length + self.lookahead, n)
        me = zero_first_step(seq.me[start : start + length])
        xz, heading = seq.partner_xz[start:stop], seq.partner_heading[start:stop]
        placement = torch.from_numpy(placement_in(xz[:1], heading[:1], xz, heading))
        partner = torch.cat([zero_first_step(seq.partner[start:stop]), placement], -1)
        return me, partner, seq.captions[rng.randrange(len(seq.captions))]

    def batch(self, size: int, generator: torch.Generator | None = None):
        """(me [B, T, 210] zero-padded, lengths [B], partner [B, Tp, 210], partner lengths [B], captions)."""
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator)))
        windows = [self.window(rng) for _ in range(size)]
        me, lengths = _pad([w[0] for w in windows])
        partner, partner_lengths = _pad([w[1] for w in windows])
        return me, lengths, partner, partner_lengths, [w[2] for w in windows]

    def stats(self, windows: int = 512, seed: int = 0):
        """Feature mean/std of the generated features and of the partner inputs, over random
        windows (std floored; contacts mapped to -1/+1, as for the text model)."""
        from motiongen.data.dataset import Window, feature_stats

        rng = random.Random(seed)
        drawn = [self.window(rng) for _ in range(windows)]
        me = feature_stats([Window(w[0], []) for w in drawn])
        partner = feature_stats([Window(w[1], []) for w in drawn])
        return me, partner


def _pad(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    out = torch.zeros(len(rows), int(lengths.max()), rows[0].shape[-1])
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out, lengths
