"""Augmentations that stretch a small corpus: mirroring, speed changes, looping cyclic clips,
holding still before/after a clip, and compositions of two clips with a blended transition and
a composed caption ("a person walks forward, then jumps").

Yaw is not augmented: the model's features are heading-invariant, so rotating a clip about the
vertical axis would give exactly the same training sample.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from motiongen.data.captions import caption_sides, mirror_caption
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion


def mirrored(motion: Motion, captions: list[str], handed: bool = False) -> tuple[Motion, list[str]]:
    """Left and right swapped, in the motion and in its captions. A `handed` clip's captions that
    name no side describe the clip's own way (the right-leg kick), so its mirror image drops them."""
    if handed:
        captions = [c for c in captions if caption_sides(c)]
    return motion.mirrored(), [mirror_caption(c) for c in captions]


def change_speed(motion: Motion, factor: float) -> Motion:
    """Play `factor` times faster (0.8 = slower, 1.25 = faster); frame rate unchanged."""
    out = motion.resampled(motion.fps / factor)
    out.fps = motion.fps
    return out


def _place(motion: Motion, heading: float, position: np.ndarray) -> Motion:
    """Turn and move a clip so its first frame faces `heading` (radians about +Y) and stands
    over `position` (x, z); heights are kept."""
    canon = motion.canonicalized()
    turn = R.yaw_matrix(torch.tensor(float(heading)))
    rot = canon.matrices()
    rot[:, 0] = turn @ rot[:, 0]
    root = (torch.from_numpy(canon.root) @ turn.T).numpy()
    root[:, [0, 2]] += position
    return Motion.from_matrices(rot, root, motion.fps, motion.meta)


def append_blended(first: Motion, second: Motion, blend_frames: int) -> Motion:
    """`second` follows `first`: it is placed where `first`'s last `blend_frames` frames begin and
    the two are cross-faded over those frames (slerp on rotations, lerp on the root)."""
    n = max(1, min(blend_frames, len(first), len(second)))
    start = len(first) - n
    placed = _place(second, first.heading()[start], first.root[start, [0, 2]])
    w = torch.arange(1, n + 1, dtype=torch.float32) / (n + 1)
    qa, qb = torch.from_numpy(first.quats[start:]), torch.from_numpy(placed.quats[:n])
    blend_q = R.quat_slerp(qa, qb, w[:, None, None]).numpy()
    wr = w.numpy()[:, None]
    blend_root = first.root[start:] * (1 - wr) + placed.root[:n] * wr
    quats = np.concatenate([first.quats[:start], blend_q, placed.quats[n:]])
    root = np.concatenate([first.root[:start], blend_root, placed.root[n:]])
    return Motion(quats, root, first.fps, dict(first.meta))


def loop(motion: Motion, frames: int) -> Motion:
    """Repeat a cyclic clip until it is `frames` long (its last frame and the next cycle's first
    frame are merged)."""
    out = motion
    while len(out) < frames:
        out = append_blended(out, motion, 1)
    return out.slice(0, frames)


def straightened(motion: Motion) -> Motion:
    """The heading's drift from first to last frame taken out, spread evenly over the frames (a
    walk cycle that veers 7 degrees then loops into a straight walk)."""
    theta = np.unwrap(motion.heading())
    ramp = (theta[-1] - theta[0]) * np.arange(len(motion)) / max(len(motion) - 1, 1)
    turn = R.yaw_matrix(torch.from_numpy(-ramp).float())
    rot = motion.matrices()
    rot[:, 0] = turn @ rot[:, 0]
    step = np.diff(motion.root, axis=0, prepend=motion.root[:1])
    step = (turn @ torch.from_numpy(step).float().unsqueeze(-1)).squeeze(-1).numpy()
    root = motion.root[:1] + np.cumsum(step, axis=0)
    root[:, 1] = motion.root[:, 1]
    return Motion.from_matrices(rot, root, motion.fps, motion.meta)


def hold(motion: Motion, before: int, after: int) -> Motion:
    """Stand still in the first pose for `before` frames and in the last pose for `after` frames."""
    idx = np.concatenate([np.zeros(before, int), np.arange(len(motion)), np.full(after, len(motion) - 1)])
    return Motion(motion.quats[idx], motion.root[idx], motion.fps, dict(motion.meta))


_SUBJECT = re.compile(
    r"^(a|the|this|that|one)\s+(person|man|woman|figure|character|dancer|runner|human)\s+|^someone\s+", re.I
)


# How two captions are joined into one for a composed clip, and split again (`split_caption`).
JOINERS = (", then ", " and then ", ", and after that ")
_JOINER = re.compile(r"\s*(?:,\s*and\s+then|,\s*then|\s+and\s+then|,\s*and\s+after\s+that)\s+", re.I)


def compose_captions(first: str, second: str, joiner: str = ", then ") -> str:
    """'a person walks forward' + 'a person jumps' -> 'a person walks forward, then jumps'.
    The second caption loses its subject when it has one of the usual ones."""
    first = first.strip().rstrip(".")
    second = second.strip().rstrip(".")
    rest = _SUBJECT.sub("", second, count=1)
    if rest == second:  # no subject to drop: keep the sentence, lowercased at the start
        rest = second[:1].lower() + second[1:]
    return f"{first}{joiner}{rest}"


def caption_key(text: str) -> str:
    """A caption without its subject, case or final full stop: 'Someone runs.' -> 'runs'."""
    text = text.strip().rstrip(".").strip()
    return _SUBJECT.sub("", text, count=1).lower()


def split_caption(text: str) -> list[str]:
    """'a person walks forward, then jumps' -> ['a person walks forward', 'a person jumps']: the
    parts of a composed caption, each with the first part's subject. One part if there is no joiner."""
    parts = [p.strip().rstrip(".") for p in _JOINER.split(text.strip())]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return [text.strip()]
    match = _SUBJECT.match(parts[0])
    subject = match.group(0) if match else "a person "
    return [parts[0]] + [p if _SUBJECT.match(p) else subject + p[:1].lower() + p[1:] for p in parts[1:]]
