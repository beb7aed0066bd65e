"""Partial-motion conditioning: which parts of the clip are known, and their features.

This is not a separate conditioner: the denoiser takes the known features (zeros where unknown)
and a known mask per frame and body-part group as extra input channels. Models are trained with
random masks (`random_known_mask`), so every model can continue, in-between and edit.

The 206 feature numbers are split into six groups so that a mask can say "the legs are known"
or "only the root trajectory is known". Contacts belong to the legs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from motiongen.errors import UserError
from motiongen.motion.features import FEATURE_DIM, SLICES, motion_to_features
from motiongen.motion.skeleton import JOINT_INDEX, NUM_JOINTS

GROUP_JOINTS = {
    "root": ("pelvis",),
    "left_leg": ("left_hip", "left_knee", "left_ankle", "left_foot"),
    "right_leg": ("right_hip", "right_knee", "right_ankle", "right_foot"),
    "spine": ("spine1", "spine2", "spine3", "neck", "head"),
    "left_arm": ("left_collar", "left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": ("right_collar", "right_shoulder", "right_elbow", "right_wrist"),
}
GROUP_NAMES = tuple(GROUP_JOINTS)
NUM_GROUPS = len(GROUP_NAMES)

# Named sets of groups a user can ask for ("keep the lower body, regenerate the rest").
BODY_PARTS = {
    "all": GROUP_NAMES,
    "trajectory": ("root",),
    "lower_body": ("root", "left_leg", "right_leg"),
    "upper_body": ("spine", "left_arm", "right_arm"),
    "legs": ("left_leg", "right_leg"),
    "arms": ("left_arm", "right_arm"),
    **{name: (name,) for name in GROUP_NAMES},
}


def _feature_groups() -> torch.Tensor:
    """Group index of each of the 206 feature numbers."""
    group_of_joint = {JOINT_INDEX[j]: g for g, name in enumerate(GROUP_NAMES) for j in GROUP_JOINTS[name]}
    out = torch.full((FEATURE_DIM,), -1, dtype=torch.long)
    out[: SLICES["rotations"].start] = 0  # root height, velocity, heading rate
    for j in range(NUM_JOINTS):
        rot = SLICES["rotations"].start + 6 * j
        pos = SLICES["positions"].start + 3 * j
        out[rot : rot + 6] = group_of_joint[j]
        out[pos : pos + 3] = group_of_joint[j]
    c = SLICES["contacts"].start
    out[c : c + 2] = GROUP_NAMES.index("left_leg")
    out[c + 2 : c + 4] = GROUP_NAMES.index("right_leg")
    assert (out >= 0).all()
    return out


FEATURE_GROUP = _feature_groups()


def expand_mask(group_mask: torch.Tensor) -> torch.Tensor:
    """Known mask per group [..., T, G] -> per feature number [..., T, 206]."""
    return group_mask[..., FEATURE_GROUP.to(group_mask.device)]


def parse_parts(parts) -> tuple[int, ...]:
    """Names of groups or body parts -> sorted group indices."""
    names = [parts] if isinstance(parts, str) else list(parts)
    out = set()
    for name in names:
        if name not in BODY_PARTS:
            raise UserError(f"unknown body part '{name}' (known: {', '.join(BODY_PARTS)})")
        out.update(GROUP_NAMES.index(g) for g in BODY_PARTS[name])
    return tuple(sorted(out))


@dataclass
class KnownMotion:
    """What the generator must keep: raw (unnormalised) features [T, 206] and a mask [T, G].

    `imputed` [T, 206] (optional) marks single feature numbers that are imposed while sampling
    but not given to the model as known input: the root's velocity and turning along a path to
    follow, which no training mask covers on their own (the model is told nothing and fills in
    a body that moves that way, as MDM edits trajectories)."""

    features: torch.Tensor
    mask: torch.Tensor
    imputed: torch.Tensor | None = None

    def __post_init__(self):
        self.features = torch.as_tensor(self.features, dtype=torch.float32)
        self.mask = torch.as_tensor(self.mask, dtype=torch.bool)
        if self.features.shape[-1] != FEATURE_DIM or self.mask.shape != (len(self.features), NUM_GROUPS):
            raise ValueError("KnownMotion needs features [T, 206] and mask [T, 6]")
        if self.imputed is not None:
            self.imputed = torch.as_tensor(self.imputed, dtype=torch.bool)
            if self.imputed.shape != self.features.shape:
                raise ValueError("KnownMotion's imputed mask must be [T, 206] like its features")

    @property
    def frames(self) -> int:
        return len(self.features)

    @classmethod
    def empty(cls, frames: int) -> KnownMotion:
        return cls(torch.zeros(frames, FEATURE_DIM), torch.zeros(frames, NUM_GROUPS, dtype=torch.bool))

    @classmethod
    def prefix(cls, motion, frames: int) -> KnownMotion:
        """The clip starts with `motion` and goes on for `frames` frames in all."""
        return cls.empty(frames)._place(motion, 0)

    @classmethod
    def suffix(cls, motion, frames: int) -> KnownMotion:
        """The clip ends with `motion`."""
        return cls.empty(frames)._place(motion, frames - len(motion))

    @classmethod
    def inbetween(cls, start, end, frames: int) -> KnownMotion:
        """The clip starts with `start` and ends with `end`; the frames between are generated."""
        if len(start) + len(end) >= frames:
            raise UserError(f"start ({len(start)}) and end ({len(end)}) frames leave nothing to generate in {frames}")
        return cls.empty(frames)._place(start, 0)._place(end, frames - len(end))

    @classmethod
    def keyframes(cls, motion, frame_indices) -> KnownMotion:
        """Only the given frames of `motion` (as long as the clip to generate) are known."""
        known = cls(motion_to_features(motion), torch.zeros(len(motion), NUM_GROUPS, dtype=torch.bool))
        idx = torch.as_tensor(list(frame_indices), dtype=torch.long)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(motion)):
            raise UserError(f"keyframe indices must lie in 0..{len(motion) - 1}")
        known.mask[idx] = True
        known.features[~known.mask.any(-1)] = 0
        return known

    @classmethod
    def body_parts(cls, motion, parts) -> KnownMotion:
        """The named body parts of `motion` are kept over the whole clip; the rest is generated."""
        groups = parse_parts(parts)
        mask = torch.zeros(len(motion), NUM_GROUPS, dtype=torch.bool)
        mask[:, list(groups)] = True
        features = motion_to_features(motion) * expand_mask(mask)
        return cls(features, mask)

    def _place(self, motion, start: int) -> KnownMotion:
        if len(motion) > self.frames or start < 0:
            raise UserError(f"the given motion has {len(motion)} frames, more than the {self.frames} to generate")
        self.features[start : start + len(motion)] = motion_to_features(motion)
        self.mask[start : start + len(motion)] = True
        return self


def random_known_mask(lengths: torch.Tensor, frames: int, probs: dict, generator=None) -> torch.Tensor:
    """Training masks [B, frames, G]: none (most of the time), prefix, suffix, keyframes, or a
    body-part subset over the whole clip. `probs` gives the chance of each kind; the rest is none."""
    batch = len(lengths)
    mask = torch.zeros(batch, frames, NUM_GROUPS, dtype=torch.bool)
    kinds = ["prefix", "suffix", "inbetween", "keyframes", "parts"]
    weights = torch.tensor([probs.get(k, 0.0) for k in kinds])
    weights = torch.cat([weights, (1 - weights.sum()).clamp(min=0).view(1)])
    choice = torch.multinomial(weights, batch, replacement=True, generator=generator)
    part_sets = [parse_parts(p) for p in ("trajectory", "lower_body", "upper_body", "left_arm", "right_arm", "legs")]
    for b in range(batch):
        n = int(lengths[b])
        kind = kinds[choice[b]] if choice[b] < len(kinds) else "none"
        u = torch.rand(3, generator=generator)
        span = max(1, int(n * (0.1 + 0.4 * u[0])))  # 10-50% of the clip
        if kind == "prefix":
            mask[b, :span] = True
        elif kind == "suffix":
            mask[b, n - span : n] = True
        elif kind == "inbetween":
            mask[b, : span // 2 + 1] = True
            mask[b, n - span // 2 - 1 : n] = True
        elif kind == "keyframes":
            count = 1 + int(u[1] * 5)
            idx = torch.randint(0, n, (count,), generator=generator)
            mask[b, idx] = True
        elif kind == "parts":
            groups = part_sets[int(u[2] * len(part_sets))]
            mask[b, :n, list(groups)] = True
    return mask
