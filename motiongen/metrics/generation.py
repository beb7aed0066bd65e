"""Text-to-motion generation metrics on evaluator embeddings (HumanML3D protocol, Guo et al. 2022).

Every function works on plain arrays of embeddings `(N, D)` from any text-motion evaluator, so the
same code serves motiongen's own evaluator and the HumanML3D-compatible one.

- FID: Fréchet distance between Gaussian fits (mean, covariance) of real and generated motion
  embeddings.
- R-precision: in a pool of `pool_size` (32) text-motion pairs, each text ranks the pool's motions
  by Euclidean distance; top-k is the fraction of texts whose own motion is among the k nearest
  (1 match + 31 mismatches; chance is k/32).
- MM-Dist (matching score): mean Euclidean distance between each text and its motion.
- Diversity: mean distance between `times` (300) randomly paired motions of the set.
- MultiModality: mean distance between random pairs of motions generated for the same text.
- Repeated runs are summarised as mean ± 1.96 * std / sqrt(n) (std with ddof = 0, as the
  protocol's reference code does).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def gaussian_statistics(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of embeddings (N, D)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least two embeddings of shape (N, D), got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray, eps: float = 1e-6) -> float:
    """|mu1 - mu2|^2 + tr(cov1 + cov2 - 2 sqrt(cov1 cov2))."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov1 @ cov2)
    if caught or not np.isfinite(covmean).all():
        # Singular product (e.g. fewer samples than dimensions): regularise the diagonal, as usual.
        offset = np.eye(len(cov1)) * eps
        covmean = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    covmean = np.real(covmean)  # tiny imaginary parts are numerical noise
    return float(max(0.0, diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean)))


def fid(real: np.ndarray, generated: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two embedding sets."""
    return frechet_distance(*gaussian_statistics(real), *gaussian_statistics(generated))


def distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows of a (N, D) and rows of b (M, D) -> (N, M)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def pool_top_k(text: np.ndarray, motion: np.ndarray, top_k: int = 3) -> np.ndarray:
    """For one pool where text i matches motion i: (top_k,) fraction of texts whose motion ranks
    within the first 1..top_k by distance (cumulative, like the protocol's `calculate_top_k`)."""
    dist = distance_matrix(text, motion)
    order = np.argsort(dist, axis=1, kind="stable")
    rank = (order == np.arange(len(text))[:, None]).argmax(axis=1)  # 0 = nearest
    return np.array([(rank < k).mean() for k in range(1, top_k + 1)])


def r_precision(
    text: np.ndarray, motion: np.ndarray, pool_size: int = 32, top_k: int = 3, seed: int | None = 0
) -> np.ndarray:
    """Mean top-1..top_k retrieval accuracy over pools of `pool_size` pairs (remainder dropped).

    The pairs are shuffled with `seed` before being cut into pools (None keeps the given order)."""
    text, motion = np.asarray(text), np.asarray(motion)
    if len(text) != len(motion):
        raise ValueError("text and motion embeddings must be paired (same length)")
    if len(text) < pool_size:
        raise ValueError(f"R-precision needs at least {pool_size} pairs, got {len(text)}")
    order = np.arange(len(text)) if seed is None else np.random.default_rng(seed).permutation(len(text))
    pools = [order[i : i + pool_size] for i in range(0, len(order) - pool_size + 1, pool_size)]
    return np.mean([pool_top_k(text[p], motion[p], top_k) for p in pools], axis=0)


def matching_distance(text: np.ndarray, motion: np.ndarray) -> float:
    """MM-Dist: mean distance between paired text and motion embeddings."""
    diff = np.asarray(text, dtype=np.float64) - np.asarray(motion, dtype=np.float64)
    return float(np.linalg.norm(diff, axis=1).mean())


def diversity(embeddings: np.ndarray, times: int = 300, seed: int | None = 0) -> float:
    """Mean distance between `times` random pairs (two draws without replacement, as the protocol
    does; with fewer than `times` samples, one pair per sample)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if len(x) < 2:
        raise ValueError("diversity needs at least two samples")
    times = min(times, len(x))
    rng = np.random.default_rng(seed)
    first, second = rng.choice(len(x), times, replace=False), rng.choice(len(x), times, replace=False)
    return float(np.linalg.norm(x[first] - x[second], axis=1).mean())


def multimodality(embeddings: np.ndarray, times: int = 10, seed: int | None = 0) -> float:
    """embeddings (P prompts, S samples per prompt, D): mean distance between `times` random pairs
    of samples of the same prompt (min(times, S) when fewer samples), averaged over prompts."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] < 2:
        raise ValueError(f"multimodality needs (prompts, samples >= 2, D) embeddings, got {x.shape}")
    times = min(times, x.shape[1])
    rng = np.random.default_rng(seed)
    first, second = rng.choice(x.shape[1], times, replace=False), rng.choice(x.shape[1], times, replace=False)
    return float(np.linalg.norm(x[:, first] - x[:, second], axis=-1).mean())


def mean_and_interval(values) -> tuple[float, float]:
    """Mean and 95% confidence half-width 1.96 * std / sqrt(n) of repeated measurements."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(1.96 * v.std() / np.sqrt(len(v)))
