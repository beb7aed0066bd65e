"""The published HumanML3D text-to-motion protocol (Guo et al. 2022, as MDM, MoMask and MotionLCM
report it), run on a user's copy of HumanML3D with the released evaluator, so a model trained
with a recipe (configs/humanml3d.yaml) is comparable with the published tables.

- Test items: every test-split id, whole clips with their whole-clip captions and, for captions
  of a time range (start#end in seconds), that range as an item of its own; items shorter than
  40 or from 200 frames on are left out (the protocol's data loader).
- Each of `repeats` replications (20 published) shuffles the items and cuts them into batches of
  32 (the last, smaller one dropped): per item a random caption of its own, its length floored to
  4-frame units (one unit less a third of the time) from a random start, the real 263-D vectors
  over that range and a generated motion of that length for the caption. Embeddings come from
  the evaluator's text and motion encoders; per batch, R-precision (top 1-3 by Euclidean
  distance among the 32) and matching score (mean distance of matched pairs); per replication,
  FID (all generated against all real) and Diversity (300 random pairs).
- MultiModality: `mm_items` items (100 published), `mm_repeats` generations each (30), mean
  distance of 10 random pairs per item, every replication.
Each metric is reported as the mean over replications with a 95% interval, for the real data
(R-precision, matching, Diversity) and for the model.

A full run is GPU-sized (the test split has about 4,400 clips and each replication generates all
of them); `limit` evaluates the first N items for a quick check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motiongen.errors import UserError
from motiongen.metrics.generation import diversity, fid, matching_distance, mean_and_interval, pool_top_k

MIN_FRAMES, MAX_FRAMES = 40, 200  # items outside [40, 200) frames are left out
UNIT = 4  # lengths are whole movement units
BATCH = 32
FPS = 20.0


@dataclass
class TestItem:
    name: str
    vectors: np.ndarray  # (T, 263), the dataset's own
    captions: list[tuple[str, list[str]]] = field(default_factory=list)  # (caption, word/POS tokens)


def load_test_items(root: str | Path, split: str = "test") -> list[TestItem]:
    """HumanML3D's split as protocol items (module docstring), in the split file's order."""
    from motiongen.io.arrays import read_npy
    from motiongen.models.guo_evaluator import parse_text_line

    root = Path(root)
    split_file = root / f"{split}.txt"
    for needed in (split_file, root / "new_joint_vecs", root / "texts"):
        if not needed.exists():
            raise UserError(f"{root} is not a HumanML3D folder: {needed.name} is missing")
    items = []
    for name in [n.strip() for n in split_file.read_text(encoding="utf-8").splitlines() if n.strip()]:
        vec_file, text_file = root / "new_joint_vecs" / f"{name}.npy", root / "texts" / f"{name}.txt"
        if not vec_file.exists() or not text_file.exists():
            continue  # the published loader skips ids it cannot read too
        vectors = read_npy(vec_file)
        if vectors.ndim != 2 or vectors.shape[1] != 263:
            raise UserError(f"{vec_file} holds {vectors.shape} vectors, not (T, 263)")
        whole = TestItem(name, vectors)
        for k, line in enumerate(text_file.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            caption, tokens = parse_text_line(line)
            start, end = _range(line)
            if start == 0.0 and end == 0.0:
                whole.captions.append((caption, tokens))
            else:
                part = vectors[int(start * FPS) : int(end * FPS)]
                if MIN_FRAMES <= len(part) < MAX_FRAMES:
                    items.append(TestItem(f"{name}#{k}", part, [(caption, tokens)]))
        if whole.captions and MIN_FRAMES <= len(vectors) < MAX_FRAMES:
            items.append(whole)
    if not items:
        raise UserError(f"no usable {split} items in {root} (clips of 40 to 199 frames with captions)")
    return items


def _range(line: str) -> tuple[float, float]:
    parts = line.strip().split("#")
    try:
        start, end = float(parts[2]), float(parts[3])
    except (IndexError, ValueError):
        return 0.0, 0.0
    return (0.0, 0.0) if np.isnan(start) or np.isnan(end) else (start, end)


def crop(item: TestItem, rng: np.random.Generator) -> np.ndarray:
    """The item's vectors over a random range of whole units (one unit less a third of the time)."""
    units = len(item.vectors) // UNIT - (1 if rng.random() < 1 / 3 else 0)
    length = max(units, 1) * UNIT
    start = int(rng.integers(0, len(item.vectors) - length + 1))
    return item.vectors[start : start + length]


def evaluate_hml3d(
    generate: Callable[[list[str], list[int], int], list[np.ndarray]],
    items: list[TestItem],
    evaluator,
    words,
    repeats: int = 20,
    mm_items: int = 100,
    mm_repeats: int = 30,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """The protocol. `generate(captions, frame counts, seed)` returns one (frames, 263) array per
    caption; `evaluator` is a GuoEvaluator, `words` its WordVectorizer."""
    if len(items) < BATCH:
        raise UserError(f"the protocol needs at least {BATCH} test items, got {len(items)}")
    per_run: dict[str, list[float]] = {}
    bar = tqdm(total=repeats * (len(items) // BATCH), desc="hml3d protocol", unit="batch", disable=not progress)
    for rep in range(repeats):
        rng = np.random.default_rng(seed + rep)
        order = rng.permutation(len(items))
        real_emb, made_emb, stats = [], [], {"real": [], "made": []}
        for b in range(len(items) // BATCH):
            batch = [items[i] for i in order[b * BATCH : (b + 1) * BATCH]]
            chosen = [item.captions[rng.integers(len(item.captions))] for item in batch]
            real = [crop(item, rng) for item in batch]
            made = generate([c for c, _ in chosen], [len(r) for r in real], seed + rep * 100_003 + b)
            text = evaluator.encode_text(*words.encode([t for _, t in chosen])).numpy()
            real_e, made_e = evaluator.encode_vectors(real).numpy(), evaluator.encode_vectors(made).numpy()
            for key, emb in (("real", real_e), ("made", made_e)):
                stats[key].append([*pool_top_k(text, emb, 3), matching_distance(text, emb)])
            real_emb.append(real_e)
            made_emb.append(made_e)
            bar.update(1)
        real_all, made_all = np.concatenate(real_emb), np.concatenate(made_emb)
        for key in ("real", "made"):
            top1, top2, top3, match = np.mean(stats[key], axis=0)
            for name, value in (("top1", top1), ("top2", top2), ("top3", top3), ("matching", match)):
                per_run.setdefault(f"{key}_{name}", []).append(float(value))
        per_run.setdefault("made_fid", []).append(fid(real_all, made_all))
        per_run.setdefault("real_diversity", []).append(diversity(real_all, 300, seed + rep))
        per_run.setdefault("made_diversity", []).append(diversity(made_all, 300, seed + rep))
        if mm_items and mm_repeats > 1:
            per_run.setdefault("made_multimodality", []).append(
                _multimodality(generate, items, evaluator, mm_items, mm_repeats, rng, seed + rep * 7919)
            )
    bar.close()
    results = {name: dict(zip(("mean", "interval"), mean_and_interval(v), strict=True)) for name, v in per_run.items()}
    results["settings"] = {"items": len(items), "repeats": repeats, "mm_items": mm_items, "mm_repeats": mm_repeats,
                           "batch": BATCH, "seed": seed}  # fmt: skip
    return results


def _multimodality(generate, items, evaluator, count: int, repeats: int, rng, seed: int, pairs: int = 10) -> float:
    """Mean distance of `pairs` random pairs among `repeats` generations of one caption, over `count` items."""
    chosen = rng.choice(len(items), min(count, len(items)), replace=False)
    distances = []
    for k, i in enumerate(chosen):
        item = items[i]
        caption = item.captions[rng.integers(len(item.captions))][0]
        length = crop(item, rng).shape[0]
        emb = evaluator.encode_vectors(generate([caption] * repeats, [length] * repeats, seed + k)).numpy()
        first = rng.choice(repeats, min(pairs, repeats), replace=False)
        second = rng.choice(repeats, min(pairs, repeats), replace=False)
        distances.append(np.linalg.norm(emb[first] - emb[second], axis=1).mean())
    return float(np.mean(distances))


def pipeline_generator(pipe, steps: int = 50, guidance: float = 2.0, sampler: str = "ddim"):
    """`generate` for `evaluate_hml3d` from a TextToMotionPipeline: each motion made at its own
    length (one frame more, as T frames give T - 1 vectors) and turned into 263-D vectors."""
    from motiongen.io.humanml3d_vectors import motion_to_vectors

    def generate(captions: list[str], lengths: list[int], seed: int) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(captions)
        for length in sorted(set(lengths)):  # one call per length; prompt i keeps seed + i
            rows = [i for i, n in enumerate(lengths) if n == length]
            motions = pipe([captions[i] for i in rows], seconds=(length + 1) / pipe.fps, num_inference_steps=steps,
                           guidance_scale=guidance, sampler=sampler, seed=seed + rows[0], progress=False)  # fmt: skip
            for i, motion in zip(rows, motions, strict=True):
                out[i] = motion_to_vectors(motion)[:length]
        return out

    return generate
