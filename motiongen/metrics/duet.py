"""Two-person interaction metrics, from global joint positions `(T, 22, 3)` of each person.

Per frame:
- **hip distance**: horizontal distance between the two pelvises, metres.
- **relative facing**: angle between the two people's facing directions (from hips and
  shoulders), degrees: 0 = facing the same way, 180 = opposite ways (face to face or back to back).
- **hand distance**: the nearest of the four wrist-to-wrist distances, metres (salsa partners
  hold hands much of the time); **hand contact** is the share of frames under HOLD_DISTANCE.
- **penetration**: the deepest overlap between any body capsule of one person and any of the
  other, metres (0 when the bodies do not touch). Capsules are the bones with a radius each.
Per clip:
- **reaction lag**: the lag (seconds) at which the cross-correlation of the two people's
  speeds (mean joint speed per frame) peaks, within +-MAX_LAG_SECONDS; positive when the second
  person follows the first.

`distribution_distance` compares generated values with real ones (1-D Wasserstein distance, in
the metric's own unit), so each statistic is a distance between distributions with the real
value beside it (`compare`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wasserstein_distance

from motiongen.motion.skeleton import JOINT_INDEX, PARENTS

HOLD_DISTANCE = 0.15  # m between wrist joints: holding hands
MAX_LAG_SECONDS = 1.0
_J = JOINT_INDEX

# Capsule radius (m) of the bone ending at each joint (its parent to it); the head is a ball.
_RADIUS = {
    "left_hip": 0.09, "right_hip": 0.09, "spine1": 0.13, "spine2": 0.13, "spine3": 0.13,
    "left_knee": 0.07, "right_knee": 0.07, "left_ankle": 0.05, "right_ankle": 0.05,
    "left_foot": 0.04, "right_foot": 0.04, "neck": 0.06, "head": 0.05,
    "left_collar": 0.05, "right_collar": 0.05, "left_shoulder": 0.05, "right_shoulder": 0.05,
    "left_elbow": 0.045, "right_elbow": 0.045, "left_wrist": 0.04, "right_wrist": 0.04,
}  # fmt: skip
CAPSULES = [(PARENTS[_J[name]], _J[name], r) for name, r in _RADIUS.items()] + [(_J["head"], _J["head"], 0.10)]

METRICS = ("hip_distance", "relative_facing", "hand_distance", "penetration")
UNITS = {"hip_distance": "m", "relative_facing": "deg", "hand_distance": "m", "penetration": "m",
         "reaction_lag": "s", "hand_contact": ""}  # fmt: skip


def hip_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a[:, _J["pelvis"], [0, 2]] - b[:, _J["pelvis"], [0, 2]]
    return np.linalg.norm(d, axis=-1)


def facing_direction(positions: np.ndarray) -> np.ndarray:
    """Unit horizontal facing direction per frame [T, 2] (x, z), from hips and shoulders."""
    across = (positions[:, _J["left_hip"]] - positions[:, _J["right_hip"]]) + (
        positions[:, _J["left_shoulder"]] - positions[:, _J["right_shoulder"]]
    )
    forward = np.stack([-across[:, 2], across[:, 0]], -1)  # across x up: the left side is +X facing +Z
    return forward / np.maximum(np.linalg.norm(forward, axis=-1, keepdims=True), 1e-9)


def relative_facing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (facing_direction(a) * facing_direction(b)).sum(-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def hand_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    hands = [_J["left_wrist"], _J["right_wrist"]]
    d = np.linalg.norm(a[:, hands, None, :] - b[:, None, hands, :], axis=-1)
    return d.reshape(len(a), -1).min(-1)


def segment_distance(p1, q1, p2, q2) -> np.ndarray:
    """Closest distance between segments p1-q1 and p2-q2 (arrays [..., 3], broadcast)."""
    eps = 1e-12
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e = (d1 * d1).sum(-1), (d2 * d2).sum(-1)
    b, c, f = (d1 * d2).sum(-1), (d1 * r).sum(-1), (d2 * r).sum(-1)
    denom = a * e - b * b
    s = np.where(denom > eps, np.clip((b * f - c * e) / np.maximum(denom, eps), 0, 1), 0.0)
    t = np.where(e > eps, (b * s + f) / np.maximum(e, eps), 0.0)
    # t outside the second segment: clamp it and find s again for the clamped point.
    s = np.where(
        t < 0, np.clip(-c / np.maximum(a, eps), 0, 1), np.where(t > 1, np.clip((b - c) / np.maximum(a, eps), 0, 1), s)
    )
    t = np.clip(t, 0, 1)
    return np.linalg.norm(p1 + d1 * s[..., None] - (p2 + d2 * t[..., None]), axis=-1)


def penetration(a: np.ndarray, b: np.ndarray, capsules=CAPSULES) -> np.ndarray:
    """Deepest capsule overlap between the two bodies per frame [T], metres (>= 0)."""
    start, end = [c[0] for c in capsules], [c[1] for c in capsules]
    radius = np.array([c[2] for c in capsules])
    pa, qa = a[:, start, None, :], a[:, end, None, :]
    pb, qb = b[:, None, start, :], b[:, None, end, :]
    depth = radius[:, None] + radius[None, :] - segment_distance(pa, qa, pb, qb)
    return np.maximum(depth.reshape(len(a), -1).max(-1), 0.0)


def speeds(positions: np.ndarray, fps: float) -> np.ndarray:
    """Mean joint speed per frame [T - 1], m/s."""
    return np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(-1) * fps


def reaction_lag(a: np.ndarray, b: np.ndarray, fps: float, max_lag: float = MAX_LAG_SECONDS) -> float:
    """Seconds by which b's speed follows a's (peak of their normalised cross-correlation)."""
    sa, sb = speeds(a, fps), speeds(b, fps)
    sa, sb = (sa - sa.mean()) / (sa.std() + 1e-9), (sb - sb.mean()) / (sb.std() + 1e-9)
    n = len(sa)
    lags = range(-min(int(round(max_lag * fps)), n - 2), min(int(round(max_lag * fps)), n - 2) + 1)
    # correlation of a(t) with b(t + lag): b doing at t + lag what a did at t
    corr = [np.mean(sa[max(0, -k) : n - max(0, k)] * sb[max(0, k) : n - max(0, -k)]) for k in lags]
    return float(list(lags)[int(np.argmax(corr))] / fps)


def interaction(a: np.ndarray, b: np.ndarray, fps: float) -> dict:
    """Every statistic of one couple: per-frame arrays for METRICS, one number for the lag."""
    out = {
        "hip_distance": hip_distance(a, b),
        "relative_facing": relative_facing(a, b),
        "hand_distance": hand_distance(a, b),
        "penetration": penetration(a, b),
    }
    out["reaction_lag"] = reaction_lag(a, b, fps)
    return out


def distribution_distance(generated, real) -> float:
    """1-D Wasserstein distance between two samples (in their unit)."""
    return float(wasserstein_distance(np.ravel(generated), np.ravel(real)))


def pooled(stats: list[dict]) -> dict[str, np.ndarray]:
    """Per-frame values of many couples joined; lags one per couple; hand contact per frame."""
    out = {k: np.concatenate([s[k] for s in stats]) for k in METRICS}
    out["reaction_lag"] = np.array([s["reaction_lag"] for s in stats])
    out["hand_contact"] = (out["hand_distance"] < HOLD_DISTANCE).astype(float)
    return out


def compare(generated: list[dict], real: list[dict]) -> dict[str, dict[str, float]]:
    """Per statistic: the distance between the generated and real distributions, and the mean
    (median for the lag) of each, e.g. {"hip_distance": {"distance": 0.12, "generated": 0.9,
    "real": 0.8}}."""
    gen, ref = pooled(generated), pooled(real)
    out = {}
    for key in (*METRICS, "reaction_lag", "hand_contact"):
        centre = np.median if key == "reaction_lag" else np.mean
        out[key] = {
            "distance": distribution_distance(gen[key], ref[key]),
            "generated": float(centre(gen[key])),
            "real": float(centre(ref[key])),
        }
    return out
