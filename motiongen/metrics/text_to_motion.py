"""The text-to-motion evaluation protocol: real reference row and model row, repeated runs.

The corpus's test split has only a few clips, so the evaluation set is built from them: each item
is a random fixed-length window of a test clip (cyclic clips looped with a random phase, long
clips cropped at a random start, short ones held still for a random time before/after), mirrored
with probability 1/2 (captions mirrored too), paired with one of its captions, all from a fixed
seed. Clips are used in turn, so every clip gets the same number of items.

Each repeat r builds a fresh item set (seed + r) and:
- real row: the items' own motions; FID against a second, independent real item set;
- model row: one motion generated per item caption; FID against the items' motions;
- both: R-precision (pools of 32), MM-Dist, Diversity, physical metrics; MultiModality for the
  model from `mm_samples` generations for each of `mm_prompts` captions.
Each metric is summarised as mean ± 95% interval over repeats.

With few test clips a pool of 32 holds several windows of the same clip, which a perfect
evaluator cannot tell apart; `retrieval_ceiling` gives the R-precision such an evaluator would
reach, to be read next to chance (k / 32).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from motiongen.data import augment
from motiongen.metrics import generation as G
from motiongen.metrics.physics import METRIC_NAMES as PHYSICS_NAMES
from motiongen.metrics.physics import average_physics, motion_physics
from motiongen.motion.motion import Motion

POOL_SIZE = 32
GENERATION_METRICS = ("fid", "top1", "top2", "top3", "mm_dist", "diversity", "multimodality")
ALL_METRICS = GENERATION_METRICS + PHYSICS_NAMES

# (prompts, seed) -> one motion per prompt; prompt i should use seed + i, so repeated prompts differ.
Generate = Callable[[list[str], int], list[Motion]]


@dataclass
class EvalItem:
    motion: Motion
    caption: str
    clip: str  # source clip name (items of one clip are indistinguishable in content)


def fit_window(motion: Motion, cyclic: bool, frames: int, rng: random.Random) -> Motion:
    """A `frames`-long window of a clip: looped with a random phase if cyclic, cropped at a random
    start if longer, else held still for a random time before and after."""
    if cyclic:
        phase = rng.randrange(len(motion))
        return augment.loop(motion, frames + phase).slice(phase, phase + frames)
    if len(motion) >= frames:
        start = rng.randint(0, len(motion) - frames)
        return motion.slice(start, start + frames)
    extra = frames - len(motion)
    before = rng.randint(0, extra)
    return augment.hold(motion, before, extra - before)


def build_items(clips, count: int, frames: int = 80, seed: int = 0, mirror: bool = True) -> list[EvalItem]:
    """`count` evaluation items from `clips` (corpus `Clip`s), reproducible from `seed`."""
    if not clips:
        raise ValueError("no clips to evaluate on")
    rng = random.Random(seed)
    items = []
    for i in range(count):
        clip = clips[i % len(clips)]
        motion, captions = clip.motion, list(clip.captions)
        if mirror and rng.random() < 0.5:
            motion, captions = augment.mirrored(motion, captions, clip.handed)
        window = fit_window(motion, clip.cyclic, frames, rng)
        items.append(EvalItem(window, rng.choice(captions), clip.name))
    rng.shuffle(items)
    return items


def retrieval_ceiling(groups: list[str], pool_size: int = POOL_SIZE, top_k: int = 3, seed: int = 0) -> np.ndarray:
    """R-precision of a perfect evaluator that ranks all same-group items of a pool equally (random
    order among them) ahead of the rest: the best reachable score for these pools."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(groups))
    hits = []
    for start in range(0, len(order) - pool_size + 1, pool_size):
        pool = [groups[i] for i in order[start : start + pool_size]]
        for g in pool:
            n = pool.count(g)  # the match is equally likely at any of n tied ranks
            hits.append([min(k, n) / n for k in range(1, top_k + 1)])
    return np.mean(hits, axis=0)


def score(
    text: np.ndarray, motion: np.ndarray, reference: np.ndarray, motions: list[Motion], seed: int
) -> dict[str, float]:
    """One row of one repeat: embeddings of paired texts/motions and of the real reference set."""
    top = G.r_precision(text, motion, POOL_SIZE, 3, seed=seed)
    out = {
        "fid": G.fid(reference, motion),
        "top1": float(top[0]),
        "top2": float(top[1]),
        "top3": float(top[2]),
        "mm_dist": G.matching_distance(text, motion),
        "diversity": G.diversity(motion, 300, seed=seed),
    }
    out.update(average_physics([motion_physics(m) for m in motions]))
    return out


def motion_only_scores(motion: np.ndarray, reference: np.ndarray, seed: int) -> dict[str, float]:
    """FID and Diversity on a second evaluator's motion embeddings."""
    return {"fid_hml3d": G.fid(reference, motion), "diversity_hml3d": G.diversity(motion, 300, seed=seed)}


def evaluate_text_to_motion(
    evaluator,
    clips,
    generate: Generate | None = None,
    samples: int = 64,
    repeats: int = 3,
    mm_prompts: int = 4,
    mm_samples: int = 8,
    frames: int = 80,
    seed: int = 0,
    progress: bool = True,
    hml3d_encode: Callable[[list[Motion]], np.ndarray] | None = None,
) -> dict:
    """Per-repeat values and mean ± interval for the real row and (with `generate`) the model row.

    `hml3d_encode` (optional): motion embeddings of a second, motion-only evaluator such as the
    HumanML3D one (`GuoEvaluator`); FID and Diversity on them are added as fid_hml3d and
    diversity_hml3d.

    Returns {"real": {metric: {"values", "mean", "ci"}}, "model": ..., "ceiling": [top1..3],
    "chance": [...], "items": samples}."""
    if samples < POOL_SIZE:
        raise ValueError(f"need at least {POOL_SIZE} samples for R-precision pools")
    rows: dict[str, dict[str, list[float]]] = {"real": {}, "model": {}}
    ceilings = []
    bar = tqdm(range(repeats), desc="evaluation repeats", disable=not progress)
    for r in bar:
        items = build_items(clips, samples, frames, seed + r)
        other = build_items(clips, samples, frames, seed + r + 10_000)
        texts = [it.caption for it in items]
        text_emb = evaluator.encode_texts(texts)
        real_emb = evaluator.encode_motions([it.motion for it in items])
        other_emb = evaluator.encode_motions([it.motion for it in other])
        real = score(text_emb, real_emb, other_emb, [it.motion for it in items], seed + r)
        if hml3d_encode is not None:
            hml_real = hml3d_encode([it.motion for it in items])
            real.update(motion_only_scores(hml_real, hml3d_encode([it.motion for it in other]), seed + r))
        for k, v in real.items():
            rows["real"].setdefault(k, []).append(v)
        ceilings.append(retrieval_ceiling([it.clip for it in items], seed=seed + r))

        if generate is not None:
            generated = generate(texts, seed + 1000 * r)
            gen_emb = evaluator.encode_motions(generated)
            model = score(text_emb, gen_emb, real_emb, generated, seed + r)
            if hml3d_encode is not None:
                model.update(motion_only_scores(hml3d_encode(generated), hml_real, seed + r))
            if mm_prompts > 0 and mm_samples > 1:
                unique = sorted(set(texts))
                picks = random.Random(seed + r).sample(unique, min(mm_prompts, len(unique)))
                # One batch: every copy of a prompt gets its own seed (the generator seeds row i with seed + i).
                batch = generate([p for p in picks for _ in range(mm_samples)], seed + 1000 * r + 500)
                mm = evaluator.encode_motions(batch).reshape(len(picks), mm_samples, -1)
                model["multimodality"] = G.multimodality(mm, times=10, seed=seed + r)
            for k, v in model.items():
                rows["model"].setdefault(k, []).append(v)

    def summarise(values: dict[str, list[float]]) -> dict:
        out = {}
        for k, v in values.items():
            mean, ci = G.mean_and_interval(v)
            out[k] = {"values": v, "mean": mean, "ci": ci}
        return out

    return {
        "real": summarise(rows["real"]),
        "model": summarise(rows["model"]) if generate is not None else None,
        "ceiling": np.mean(ceilings, axis=0).tolist(),
        "chance": [k / POOL_SIZE for k in (1, 2, 3)],
        "items": samples,
        "repeats": repeats,
        "frames": frames,
        "clips": sorted({c.name for c in clips}),
    }
