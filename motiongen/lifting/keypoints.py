"""One 2D joint set for lifting, and the maps into it from COCO-17, MediaPipe-33 and SMPL-22.

Every detector names its joints differently. The lifter sees only `LIFT_JOINTS`: the COCO-17
body joints that SMPL also has, plus toes (MediaPipe's foot index), a pelvis (mid-hips), a neck
(mid-shoulders) and a head centre (mid-ears). A joint a source does not have gets confidence 0.
"""

from __future__ import annotations

import warnings

import numpy as np

LIFT_JOINTS = (
    "pelvis",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_toe",
    "right_toe",
    "neck",
    "head",
    "nose",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
NUM_LIFT_JOINTS = len(LIFT_JOINTS)
LIFT_INDEX = {name: i for i, name in enumerate(LIFT_JOINTS)}
LIFT_MIRROR = tuple(
    LIFT_INDEX[n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")] for n in LIFT_JOINTS
)
# Lines drawn in overlays (pairs of LIFT_JOINTS indices).
LIFT_BONES = (
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
    (6, 8),
    (0, 9),
    (9, 10),
    (10, 11),
    (9, 12),
    (9, 13),
    (12, 14),
    (13, 15),
    (14, 16),
    (15, 17),
)

COCO17 = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
MEDIAPIPE33 = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

# Each lift joint is the mean of these source joints (None: the source does not have it).
_DERIVED = {
    "pelvis": ("left_hip", "right_hip"),
    "neck": ("left_shoulder", "right_shoulder"),
    "head": ("left_ear", "right_ear"),
}
_RENAMED = {"left_toe": "left_foot_index", "right_toe": "right_foot_index"}


def _recipe(source_names: tuple[str, ...]) -> list[tuple[int, ...] | None]:
    index = {n: i for i, n in enumerate(source_names)}
    recipe = []
    for name in LIFT_JOINTS:
        parts = _DERIVED.get(name, (_RENAMED.get(name, name),))
        recipe.append(tuple(index[p] for p in parts) if all(p in index for p in parts) else None)
    return recipe


_RECIPES = {"coco17": _recipe(COCO17), "mediapipe33": _recipe(MEDIAPIPE33)}
SOURCE_JOINT_COUNTS = {len(COCO17): "coco17", len(MEDIAPIPE33): "mediapipe33"}


def to_lift_joints(points: np.ndarray, scores: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """(T, J, 2) pixel positions + (T, J) scores of `layout` ("coco17" | "mediapipe33") ->
    (T, 18, 2) positions + (T, 18) confidences in LIFT_JOINTS order. A derived joint is
    as confident as its least confident part; joints the layout lacks get confidence 0."""
    recipe = _RECIPES[layout]
    points = np.asarray(points, np.float32)
    scores = np.asarray(scores, np.float32)
    out = np.zeros(points.shape[:-2] + (NUM_LIFT_JOINTS, 2), np.float32)
    conf = np.zeros(points.shape[:-2] + (NUM_LIFT_JOINTS,), np.float32)
    for j, parts in enumerate(recipe):
        if parts is None:
            continue
        out[..., j, :] = points[..., list(parts), :].mean(-2)
        conf[..., j] = scores[..., list(parts)].min(-1)
    conf = np.clip(np.nan_to_num(conf), 0.0, 1.0)
    out = np.nan_to_num(out)
    return fill_missing_joints(out, conf), conf


def fill_missing_joints(points: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """Give joints with confidence 0 a plausible position (toes at the ankle, the rest at the
    pelvis), so that normalisation is not thrown off; the lifter knows to ignore them."""
    points = points.copy()
    fallback = {
        LIFT_INDEX["left_toe"]: LIFT_INDEX["left_ankle"],
        LIFT_INDEX["right_toe"]: LIFT_INDEX["right_ankle"],
        LIFT_INDEX["head"]: LIFT_INDEX["nose"],
        LIFT_INDEX["nose"]: LIFT_INDEX["head"],
    }
    for j in range(NUM_LIFT_JOINTS):
        missing = conf[..., j] <= 0
        if not missing.any():
            continue
        source = fallback.get(j, LIFT_INDEX["neck"] if j != LIFT_INDEX["neck"] else LIFT_INDEX["pelvis"])
        points[..., j, :] = np.where(missing[..., None], points[..., source, :], points[..., j, :])
    return points


# -- from the 3D skeleton (for synthetic training data) -------------------------------------------
_SMPL = {
    "left_hip": 1,
    "right_hip": 2,
    "left_knee": 4,
    "right_knee": 5,
    "left_ankle": 7,
    "right_ankle": 8,
    "left_toe": 10,
    "right_toe": 11,
    "left_shoulder": 16,
    "right_shoulder": 17,
    "left_elbow": 18,
    "right_elbow": 19,
    "left_wrist": 20,
    "right_wrist": 21,
}
SMPL_HEAD = 15
# Ears and nose in the head joint's frame (metres): the head joint sits at the base of the skull.
HEAD_CENTRE_OFFSET = np.array([0.0, 0.04, 0.0], np.float32)
NOSE_OFFSET = np.array([0.0, 0.03, 0.10], np.float32)
# LIFT_JOINTS that are plain SMPL joints, for reprojection: (lift index, SMPL index).
DIRECT_PAIRS = tuple((LIFT_INDEX[n], s) for n, s in _SMPL.items())


def lift_joints_from_smpl(positions: np.ndarray, head_rotation: np.ndarray) -> np.ndarray:
    """SMPL-22 positions (..., 22, 3) and the head joint's global rotation (..., 3, 3) ->
    the 3D points (..., 18, 3) a detector would report, in LIFT_JOINTS order."""
    positions = np.asarray(positions, np.float32)
    out = np.zeros(positions.shape[:-2] + (NUM_LIFT_JOINTS, 3), np.float32)
    for name, s in _SMPL.items():
        out[..., LIFT_INDEX[name], :] = positions[..., s, :]
    out[..., LIFT_INDEX["pelvis"], :] = positions[..., [1, 2], :].mean(-2)
    out[..., LIFT_INDEX["neck"], :] = positions[..., [16, 17], :].mean(-2)
    head = positions[..., SMPL_HEAD, :]
    out[..., LIFT_INDEX["head"], :] = head + head_rotation @ HEAD_CENTRE_OFFSET
    out[..., LIFT_INDEX["nose"], :] = head + head_rotation @ NOSE_OFFSET
    return out


# -- normalisation (the lifter's input) ------------------------------------------------------------
def normalize_keypoints(points: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """(..., T, 18, 2) pixels + (..., T, 18) confidences -> (..., T, 18, 3) lifter input.

    Each frame is centred on its pelvis; the whole window is divided by one scale (the median
    over frames of the confident joints' bounding-box size), so that a person walking towards the
    camera still grows within the window. Image y points down; the input keeps that convention.
    """
    points = np.asarray(points, np.float32)
    conf = np.asarray(conf, np.float32)
    centred = points - points[..., LIFT_INDEX["pelvis"] : LIFT_INDEX["pelvis"] + 1, :]
    valid = conf > 0
    big = np.float32(1e9)
    lo = np.where(valid[..., None], points, big).min(-2)
    hi = np.where(valid[..., None], points, -big).max(-2)
    size = np.where(valid.sum(-1) >= 2, (hi - lo).max(-1), np.nan)  # (..., T)
    with warnings.catch_warnings():  # a window with no confident frame falls back to scale 1
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmedian(np.where(np.isfinite(size) & (size > 1e-6), size, np.nan), axis=-1, keepdims=True)
    scale = np.where(np.isfinite(scale) & (scale > 1e-6), scale, 1.0)
    normed = centred / scale[..., None, None] * 2.0  # a full body spans about [-1, 1]
    normed = np.where(valid[..., None], normed, 0.0)
    return np.concatenate([normed, conf[..., None]], -1).astype(np.float32)
