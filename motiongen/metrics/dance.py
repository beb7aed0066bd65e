"""Dance metrics: kinematic beats, beat alignment score (BAS) and physical foot contact (PFC).

Kinematic beats (as in Bailando and EDGE): the local minima of the mean joint speed, smoothed
with a Gaussian (here sigma = 0.1 s), i.e. the moments the body pauses between moves.

BAS (Li et al. 2021 "AI Choreographer", used by Bailando and EDGE): for every kinematic beat,
exp(-d^2 / (2 sigma^2)) with d its distance to the nearest music beat, averaged over kinematic
beats. sigma = 3 frames at 30 fps = 0.1 s, given in seconds here so that 20 fps motion scores as
30 fps motion would. 1 = every pause on a beat.

PFC (EDGE, Tseng et al. 2023): at each frame, the product of the two feet's horizontal speeds
(each foot: the slower of its ankle and toe) times the root's acceleration (upward part clamped
at 0, normalised by its maximum over the clip), averaged over frames and multiplied by 10^4, as
in EDGE's script. Motion is resampled to 30 fps first (EDGE's rate), so numbers are comparable.
Lower is better: a body that accelerates while both feet slide is not held up by the floor.

FID_k and FID_g (Bailando's distances between dance distributions, our own feature sets, so the
numbers are not comparable with published tables): per clip, kinetic features (for each joint:
mean horizontal and vertical kinetic energy per unit mass and mean acceleration magnitude) and
geometric features (the share of frames in which each of a set of body relations holds: a hand
above the head, a foot raised, knees bent, arms spread, ...), each normalised by the real
clips' mean and spread, then the Fréchet distance between Gaussian fits of the two sets.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

BEAT_SMOOTHING_S = 0.1
BAS_SIGMA_S = 0.1
PFC_FPS = 30.0
FOOT_JOINTS = (7, 10, 8, 11)  # left ankle, left foot, right ankle, right foot (SMPL order)


def joint_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Mean joint speed per frame [T] (m/s) of positions [T, J, 3], by central differences (so a
    pause is found at its own frame, not half a frame late)."""
    if len(positions) < 2:
        return np.zeros(len(positions))
    return np.linalg.norm(np.gradient(positions, axis=0), axis=-1).mean(-1) * fps


def kinematic_beats(positions: np.ndarray, fps: float, smoothing_s: float = BEAT_SMOOTHING_S) -> np.ndarray:
    """Frame indices of the kinematic beats: local minima of the smoothed mean joint speed."""
    if len(positions) < 3:
        return np.zeros(0, np.int64)
    speed = gaussian_filter1d(joint_speed(positions, fps), smoothing_s * fps, mode="nearest")
    return argrelextrema(speed, np.less)[0].astype(np.int64)


def beat_alignment_score(motion_beats_s, music_beats_s, sigma_s: float = BAS_SIGMA_S) -> float:
    """Mean over kinematic beats (seconds) of exp(-d^2 / 2 sigma^2), d = distance to the nearest
    music beat (seconds). NaN when either list is empty."""
    motion_beats_s = np.asarray(motion_beats_s, np.float64)
    music_beats_s = np.asarray(music_beats_s, np.float64)
    if not len(motion_beats_s) or not len(music_beats_s):
        return float("nan")
    d = np.abs(motion_beats_s[:, None] - music_beats_s[None, :]).min(1)
    return float(np.exp(-(d**2) / (2 * sigma_s**2)).mean())


def motion_bas(positions: np.ndarray, fps: float, music_beats_s, start_s: float = 0.0) -> float:
    """BAS of a motion (positions [T, J, 3] at fps, starting `start_s` into the song) against the
    song's beats; only music beats within the motion's time span count."""
    beats = kinematic_beats(positions, fps) / fps + start_s
    music = np.asarray(music_beats_s, np.float64)
    music = music[(music >= start_s - 0.5) & (music <= start_s + len(positions) / fps + 0.5)]
    return beat_alignment_score(beats, music)


def _resample_positions(positions: np.ndarray, fps: float, target: float) -> np.ndarray:
    if abs(fps - target) < 1e-6:
        return positions
    t_old = np.arange(len(positions)) / fps
    t_new = np.arange(0.0, t_old[-1] + 1e-9, 1.0 / target)
    flat = positions.reshape(len(positions), -1)
    out = np.stack([np.interp(t_new, t_old, flat[:, i]) for i in range(flat.shape[1])], 1)
    return out.reshape(len(t_new), *positions.shape[1:])


def physical_foot_contact(positions: np.ndarray, fps: float, up_axis: int = 1) -> float:
    """EDGE's PFC of positions [T, 22, 3] (Y up by default), x 10^4. Lower is better."""
    joints = _resample_positions(np.asarray(positions, np.float64), fps, PFC_FPS)
    if len(joints) < 4:
        return float("nan")
    dt = 1.0 / PFC_FPS
    flat = [a for a in range(3) if a != up_axis]
    root_v = (joints[1:, 0] - joints[:-1, 0]) / dt
    root_a = (root_v[1:] - root_v[:-1]) / dt
    root_a[:, up_axis] = np.maximum(root_a[:, up_axis], 0)
    root_a = np.linalg.norm(root_a, axis=-1)
    scale = root_a.max()
    root_a = root_a / scale if scale > 0 else root_a
    feet = joints[:, list(FOOT_JOINTS)][:, :, flat]
    foot_v = np.linalg.norm(feet[2:] - feet[1:-1], axis=-1)  # per-frame horizontal displacement
    left = np.minimum(foot_v[:, 0], foot_v[:, 1])
    right = np.minimum(foot_v[:, 2], foot_v[:, 3])
    return float((left * right * root_a).mean() * 1e4)


def kinetic_features(positions: np.ndarray, fps: float, up_axis: int = 1) -> np.ndarray:
    """Per joint: mean horizontal and vertical kinetic energy (0.5 v^2, m^2/s^2) and mean
    acceleration magnitude (m/s^2): [J * 3] for positions [T, J, 3]."""
    joints = np.asarray(positions, np.float64)
    if len(joints) < 3:
        raise ValueError("kinetic features need at least three frames")
    v = np.diff(joints, axis=0) * fps
    a = np.diff(v, axis=0) * fps
    flat = [k for k in range(3) if k != up_axis]
    horizontal = 0.5 * (v[..., flat] ** 2).sum(-1).mean(0)
    vertical = 0.5 * (v[..., up_axis] ** 2).mean(0)
    expenditure = np.linalg.norm(a, axis=-1).mean(0)
    return np.stack([horizontal, vertical, expenditure], -1).reshape(-1)


# (name, test on positions [T, 22, 3] Y up, per frame) for the geometric features
_J = {"pelvis": 0, "l_hip": 1, "r_hip": 2, "l_knee": 4, "r_knee": 5, "l_ankle": 7, "r_ankle": 8, "neck": 12,
      "head": 15, "l_shoulder": 16, "r_shoulder": 17, "l_elbow": 18, "r_elbow": 19, "l_wrist": 20, "r_wrist": 21}  # fmt: skip


def _angle(a, b, c):
    u, w = a - b, c - b
    cos = (u * w).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(w, axis=-1) + 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _relations(p: np.ndarray) -> dict[str, np.ndarray]:
    j = {k: p[:, i] for k, i in _J.items()}
    y = {k: v[:, 1] for k, v in j.items()}
    floor = np.minimum(y["l_ankle"], y["r_ankle"])
    shoulders = np.linalg.norm(j["l_shoulder"] - j["r_shoulder"], axis=-1)
    out = {}
    for side in ("l", "r"):
        other = "r" if side == "l" else "l"
        out[f"{side}_hand_above_head"] = y[f"{side}_wrist"] > y["head"]
        out[f"{side}_hand_above_shoulder"] = y[f"{side}_wrist"] > y[f"{side}_shoulder"]
        out[f"{side}_hand_below_hip"] = y[f"{side}_wrist"] < y[f"{side}_hip"]
        out[f"{side}_arm_stretched"] = _angle(j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"]) > 150
        out[f"{side}_hand_far_out"] = np.linalg.norm(j[f"{side}_wrist"] - j["neck"], axis=-1) > 1.8 * shoulders
        out[f"{side}_foot_raised"] = y[f"{side}_ankle"] > floor + 0.1
        out[f"{side}_foot_above_knee"] = y[f"{side}_ankle"] > y[f"{other}_knee"]
        out[f"{side}_knee_bent"] = _angle(j[f"{side}_hip"], j[f"{side}_knee"], j[f"{side}_ankle"]) < 120
    out["hands_together"] = np.linalg.norm(j["l_wrist"] - j["r_wrist"], axis=-1) < 0.5 * shoulders
    out["feet_apart"] = np.linalg.norm(j["l_ankle"] - j["r_ankle"], axis=-1) > 1.5 * shoulders
    out["crouching"] = y["pelvis"] - floor < 0.6
    out["leaning"] = _angle(j["head"], j["pelvis"], j["pelvis"] + np.array([0.0, 1.0, 0.0])) > 30
    out["head_below_hips"] = y["head"] < np.minimum(y["l_hip"], y["r_hip"])
    return out


GEOMETRIC_FEATURES = tuple(_relations(np.zeros((1, 22, 3))))


def geometric_features(positions: np.ndarray) -> np.ndarray:
    """The share of frames in which each relation of GEOMETRIC_FEATURES holds (Y up, metres)."""
    relations = _relations(np.asarray(positions, np.float64))
    return np.array([relations[name].mean() for name in GEOMETRIC_FEATURES])


def feature_fid(real: np.ndarray, generated: np.ndarray) -> float:
    """Fréchet distance between two sets of per-clip features [N, D], both normalised by the
    real set's mean and standard deviation (features that never vary are left out)."""
    from motiongen.metrics.generation import fid

    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    mean, std = real.mean(0), real.std(0)
    keep = std > 1e-9
    return fid((real[:, keep] - mean[keep]) / std[keep], (generated[:, keep] - mean[keep]) / std[keep])
