"""Reference "generators" that put a model's numbers in context (no learning involved).

- `retrieval_baseline`: for each prompt, a random window of the training clip whose caption is
  most similar to the prompt (cosine of frozen sentence embeddings; mirrored clips with mirrored
  captions included). A model that only memorised the training set scores about this.
- `still_baseline`: a body standing still in the rest pose, whatever the prompt (the floor of
  every metric).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from motiongen.data import augment
from motiongen.metrics.text_to_motion import fit_window
from motiongen.motion.motion import Motion


def retrieval_baseline(train_clips, sentence_embeddings, frames: int = 80):
    """A `Generate` callable. `sentence_embeddings(texts) -> (N, D)` unit-length tensor."""
    variants = []
    for clip in train_clips:
        variants.append((clip.motion, clip.captions, clip.cyclic))
        motion, captions = augment.mirrored(clip.motion, clip.captions, clip.handed)
        variants.append((motion, captions, clip.cyclic))
    owner = [i for i, (_, captions, _) in enumerate(variants) for _ in captions]
    bank = sentence_embeddings([c for _, captions, _ in variants for c in captions])

    def generate(prompts: list[str], seed: int) -> list[Motion]:
        similarity = sentence_embeddings(list(prompts)) @ bank.T
        best = torch.as_tensor(similarity).argmax(dim=1).tolist()
        out = []
        for i, b in enumerate(best):
            motion, _, cyclic = variants[owner[b]]
            out.append(fit_window(motion, cyclic, frames, random.Random(seed + i)))
        return out

    return generate


def still_baseline(frames: int = 80):
    def generate(prompts: list[str], seed: int) -> list[Motion]:
        still = Motion.rest(frames).on_ground()
        return [Motion(still.quats.copy(), np.array(still.root), still.fps) for _ in prompts]

    return generate
