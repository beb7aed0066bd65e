"""From lifted camera-space poses to a `Motion` standing on a floor.

1. Root translation per frame: the lifter gives the pose relative to the pelvis; where the pelvis
   is follows from the 2D keypoints by least squares on the reprojection (depth from body size).
2. Up direction: the mean body axis (ankles -> neck), corrected by the floor that the lowest
   foot traces when the person moves about (a plane, or a line for a straight walk, which up
   must be square to). By default the camera is assumed level (no roll): only its pitch is estimated.
3. Camera -> world (Y up, the camera looks along -Z), joint smoothing (Savitzky-Golay), our bone
   lengths by IK (`Motion.from_positions`), the floor at y = 0 under the feet in contact.
4. Feet in contact (the lifter's estimate) are pinned: the root is shifted to cancel their slide
   (keeping the slow part of the reprojected trajectory), then each foot joint is moved onto its
   pin by a smoothly varying offset (knee re-bent by two-bone IK, toes turned about the ankle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

from motiongen.lifting.keypoints import DIRECT_PAIRS
from motiongen.motion.contacts import foot_contacts
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import FOOT_JOINTS, JOINT_INDEX

NECK, PELVIS = JOINT_INDEX["neck"], JOINT_INDEX["pelvis"]
ANKLES = (JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])
LEGS = (  # hip, knee, ankle, toe
    (JOINT_INDEX["left_hip"], JOINT_INDEX["left_knee"], JOINT_INDEX["left_ankle"], JOINT_INDEX["left_foot"]),
    (JOINT_INDEX["right_hip"], JOINT_INDEX["right_knee"], JOINT_INDEX["right_ankle"], JOINT_INDEX["right_foot"]),
)
FEET = FOOT_JOINTS  # left ankle, left toes, right ankle, right toes: the order of foot_contacts
# Height of each foot joint above the floor while it is in contact: the median over the corpus
# train split (joint centres sit above the floor; the toes roll, so more than the 2 cm at rest).
CONTACT_HEIGHT = np.array([0.085, 0.045, 0.085, 0.045])
GROUND_MARGIN = 0.02  # m
GROUND_SPEED = 1.0  # m/s
CONTACT_THRESHOLD = 0.35  # on the lifter's contact probability (missed contacts slide, so lean to yes)
PIN_SMOOTHING = 1.5  # frames (Gaussian sigma) over which pin offsets are smoothed
CORRECTION_SMOOTHING = 0.5  # seconds, on the root correction of foot locking


@dataclass
class WorldOptions:
    level_camera: bool = True  # assume no camera roll: estimate only its pitch
    smooth_window: float = 0.5  # seconds, Savitzky-Golay window (order 2) on joints
    depth_window: float = 1.0  # seconds, on the root's distance from the camera (the noisiest part)
    pin_feet: bool = True
    ground_depth: bool = True  # refine depth by putting grounded feet on the floor (tilted cameras)


def solve_translation(
    relative: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, focal: float, center: np.ndarray
) -> np.ndarray:
    """Pelvis positions (T, 3) in camera space such that `relative` (T, 22, 3) + translation best
    reprojects onto the 2D keypoints (T, 18, 2), weighted by confidence. Linear least squares."""
    lift_idx = [a for a, _ in DIRECT_PAIRS]
    smpl_idx = [b for _, b in DIRECT_PAIRS]
    xy = (keypoints[:, lift_idx] - center) / focal  # (T, N, 2) normalised image coordinates
    w = np.sqrt(np.clip(confidence[:, lift_idx], 0, 1))  # (T, N)
    p = relative[:, smpl_idx]  # (T, N, 3)
    frames, n = xy.shape[:2]
    a = np.zeros((frames, n, 2, 3))
    a[..., 0, 0] = 1.0
    a[..., 1, 1] = 1.0
    a[..., :, 2] = -xy
    b = xy * p[..., 2:3] - p[..., :2]  # (T, N, 2)
    a = (a * w[..., None, None]).reshape(frames, 2 * n, 3)
    b = (b * w[..., None]).reshape(frames, 2 * n)
    ata = a.transpose(0, 2, 1) @ a + 1e-6 * np.eye(3)
    t = np.linalg.solve(ata, (a.transpose(0, 2, 1) @ b[..., None]))[..., 0]
    t[:, 2] = np.maximum(t[:, 2], 0.3)
    return t


def _savgol(x: np.ndarray, seconds: float, fps: float, order: int = 2) -> np.ndarray:
    window = int(round(seconds * fps)) | 1
    window = min(window, len(x) if len(x) % 2 else len(x) - 1)
    if window <= order + 1:
        return x
    return savgol_filter(x, window, order, axis=0, mode="interp")


def ground_points(joints: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Points on the floor (T, 3): under the lowest foot joint of every frame."""
    under = joints[:, list(FEET)] - up * CONTACT_HEIGHT[:, None]  # each joint's height above the floor
    return under[np.arange(len(joints)), (under @ up).argmin(1)]


def estimate_up(joints: np.ndarray, level_camera: bool = True) -> np.ndarray:
    """Up direction (3,) in camera coordinates from camera-space joints (T, 22, 3)."""
    axis = joints[:, NECK] - joints[:, list(ANKLES)].mean(1)
    up = axis.mean(0)
    up /= np.linalg.norm(up)
    floor = ground_points(joints, up)
    if len(floor) >= 10:
        # Where the person moves about, the lowest feet trace the floor: a plane if they cover an
        # area, a line if the person walks straight (then up is square to that line).
        _, s, vt = np.linalg.svd(floor - floor.mean(0), full_matrices=False)
        spread = s / np.sqrt(len(floor))
        normal = vt[2] * np.sign(vt[2] @ up)
        if spread[1] > 0.25 and normal @ up > np.cos(np.radians(25)):
            up = normal
        elif spread[0] > 0.25:
            along = up - vt[0] * (vt[0] @ up)
            if np.linalg.norm(along) > 0.9:
                up = along / np.linalg.norm(along)
    if level_camera:
        up = up * np.array([0.0, 1.0, 1.0])  # no roll: up lies in the camera's y-z plane
        if np.linalg.norm(up) < 1e-6:
            up = np.array([0.0, -1.0, 0.0])
        up /= np.linalg.norm(up)
    return up


def camera_to_world_rotation(up: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) taking camera coordinates to world (Y = up, the camera looks along -Z)."""
    forward = np.array([0.0, 0.0, 1.0]) - up * up[2]
    if np.linalg.norm(forward) < 1e-6:  # looking straight down
        forward = np.array([0.0, -1.0, 0.0]) - up * up[1]
    forward /= np.linalg.norm(forward)
    z = -forward
    x = np.cross(up, z)
    return np.stack([x, up, z])


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _two_bone(hip, knee, target, l1, l2):
    """Knee position (T, 3) that puts the ankle at `target` with thigh/shin lengths l1/l2, bending the
    knee the way it bent before; also returns the reachable ankle position."""
    d = target - hip
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    dn = d / np.maximum(dist, 1e-6)
    dist = np.clip(dist, np.abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4)
    pole = knee - hip
    pole = pole - dn * (pole * dn).sum(-1, keepdims=True)
    pole /= np.maximum(np.linalg.norm(pole, axis=-1, keepdims=True), 1e-6)
    along = (l1**2 - l2**2 + dist**2) / (2 * dist)
    side = np.sqrt(np.maximum(l1**2 - along**2, 0))
    return hip + dn * along + pole * side, hip + dn * dist


def contacts_of(positions: np.ndarray, fps: float, probabilities: np.ndarray | None = None) -> np.ndarray:
    """Ground contact (T, 4) of left ankle, left toes, right ankle, right toes, flickers removed:
    from the lifter's contact probabilities when given, else from height and speed."""
    if probabilities is not None:
        contact = np.asarray(probabilities) > CONTACT_THRESHOLD
    else:
        contact = foot_contacts(torch.as_tensor(positions, dtype=torch.float32), fps).numpy() > 0.5
    for k in range(contact.shape[1]):  # drop contacts and gaps shorter than 3 frames
        for a, b in _segments(~contact[:, k]):
            if b - a < 3 and a > 0 and b < len(contact):
                contact[a:b, k] = True
        for a, b in _segments(contact[:, k]):
            if b - a < 3:
                contact[a:b, k] = False
    return contact


def grounded_feet(positions: np.ndarray, fps: float, contact: np.ndarray | None) -> np.ndarray:
    """Foot joints to pin (T, 4): those the lifter says are in contact, and any that are on the
    floor (within GROUND_MARGIN of their contact height) and slow (below GROUND_SPEED) anyway,
    since a low foot that slides is what the eye notices."""
    feet = positions[:, list(FEET)]
    low = feet[..., 1] < CONTACT_HEIGHT + GROUND_MARGIN
    speed = np.zeros(low.shape)
    if len(feet) > 1:
        speed[1:] = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1) * fps
        speed[0] = speed[1]
    geometric = contacts_of(None, fps, (low & (speed < GROUND_SPEED)).astype(float))
    return geometric if contact is None else (contact | geometric)


def _pin_offset(track: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Horizontal offsets (T, 3) that move a joint's track (T, 3) onto one fixed point per stretch
    of `down` frames (their mean position), interpolated in between and smoothed."""
    offset = np.zeros_like(track)
    if not down.any():
        return offset
    for a, b in _segments(down):
        offset[a:b, [0, 2]] = track[a:b][:, [0, 2]].mean(0) - track[a:b][:, [0, 2]]
    frames = np.arange(len(track))
    for axis in (0, 2):
        offset[:, axis] = np.interp(frames, frames[down], offset[down, axis])
    return gaussian_filter1d(offset, PIN_SMOOTHING, axis=0, mode="nearest")


def pin_feet(
    positions: np.ndarray, fps: float, contact: np.ndarray | None = None, drift_window: float | None = 2.0
) -> np.ndarray:
    """Remove foot sliding: feet on the floor stay where they landed (positions (T, 22, 3), floor
    y = 0; `contact` (T, 4) bool in FEET order, estimated from the motion if not given)."""
    pos = positions.copy()
    contact = contacts_of(pos, fps) if contact is None else contact
    # 1. Shift the whole body so that feet on the floor keep still (a better root trajectory): the
    #    correction accumulates the mean frame-to-frame slide of the foot joints that stay down.
    stance = contact[1:] & contact[:-1]
    feet = pos[:, list(FEET)][..., [0, 2]]  # (T, 4, 2)
    slide = (feet[1:] - feet[:-1]) * stance[..., None]
    count = stance.sum(1, keepdims=True)
    slide = np.where(count > 0, slide.sum(1) / np.maximum(count, 1), 0.0)
    correction = -np.concatenate([np.zeros((1, 2)), np.cumsum(slide, axis=0)])
    correction = _savgol(correction, CORRECTION_SMOOTHING, fps)
    if drift_window:
        # Foot-locking drifts where contacts are wrong; the reprojected root does not drift but
        # is noisy. Keep the slow part of the trajectory from the latter, the fast part from the feet.
        correction = correction - _savgol(correction, drift_window, fps, order=1)
    pos[..., 0] += correction[:, None, 0]
    pos[..., 2] += correction[:, None, 1]
    # 2. What still slides: move each foot joint by an offset that holds it on its pin while it is
    #    down and changes smoothly (linearly, then Gaussian-smoothed) while it is in the air, so
    #    lifting a foot off its pin never jerks. The ankle moves by re-bending the knee (two-bone
    #    IK), the toes by turning the foot about the ankle.
    for k, (hip, knee, ankle, toe) in enumerate(LEGS):
        foot_length = np.linalg.norm(pos[:, toe] - pos[:, ankle], axis=-1, keepdims=True)
        target = pos[:, ankle] + _pin_offset(pos[:, ankle], contact[:, 2 * k])
        l1 = np.linalg.norm(pos[:, knee] - pos[:, hip], axis=-1, keepdims=True)
        l2 = np.linalg.norm(pos[:, ankle] - pos[:, knee], axis=-1, keepdims=True)
        new_knee, new_ankle = _two_bone(pos[:, hip], pos[:, knee], target, l1, l2)
        pos[:, toe] += new_ankle - pos[:, ankle]
        pos[:, knee], pos[:, ankle] = new_knee, new_ankle

        direction = pos[:, toe] + _pin_offset(pos[:, toe], contact[:, 2 * k + 1]) - pos[:, ankle]
        direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-6)
        pos[:, toe] = pos[:, ankle] + direction * foot_length
    return pos


def floor_height(positions: np.ndarray, contact: np.ndarray | None = None) -> float:
    """Height of the floor under a world track (T, 22, 3): the median sole height under the foot
    joints in contact, or without contacts a low percentile of the lowest sole per frame (robust to
    a few frames that sink through it)."""
    soles = positions[:, list(FEET), 1] - CONTACT_HEIGHT  # (T, 4)
    if contact is not None and contact.sum() >= 3:
        return float(np.median(soles[contact]))
    lowest = soles.min(1)
    return float(np.percentile(lowest, 10)) if len(lowest) > 1 else float(lowest[0])


def ground_depth_correction(
    relative: np.ndarray, translation: np.ndarray, up: np.ndarray, contact: np.ndarray
) -> np.ndarray:
    """Log-depth corrections (T,) that put the feet in contact on the floor.

    Seen from above, a person's distance follows from where their feet meet the floor, far more
    precisely than from their size in the image. The floor's height is the median over all
    contacts; each frame with contacts is then slid along its viewing ray (depth scaled by s) so
    that its grounded feet touch it. The correction is weighted by how steeply the ray meets the
    floor (none for a level view, where it tells nothing).
    """
    feet_rel = relative[:, list(FEET)] @ up - CONTACT_HEIGHT  # (T, 4) sole heights relative to the pelvis
    along = translation @ up  # (T,) pelvis height relative to the camera
    soles = feet_rel + along[:, None]
    if contact.sum() < 3:
        return np.zeros(len(relative))
    floor = np.median(soles[contact])
    counts = contact.sum(1)
    mean_rel = np.where(counts > 0, (feet_rel * contact).sum(1) / np.maximum(counts, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (floor - mean_rel) / along
    steepness = np.abs(along) / np.linalg.norm(translation, axis=-1)  # sine of the ray's tilt
    weight = np.clip((steepness - np.sin(np.radians(3))) / (np.sin(np.radians(15)) - np.sin(np.radians(3))), 0, 1)
    weight = np.where((counts > 0) & np.isfinite(scale) & (scale > 0.5) & (scale < 2.0), weight, 0.0)
    return weight * np.log(np.where(weight > 0, scale, 1.0))


def to_world(
    relative: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    focal: float,
    center: np.ndarray,
    fps: float,
    options: WorldOptions | None = None,
    contact_probabilities: np.ndarray | None = None,
) -> tuple[Motion, dict]:
    """Lifted pelvis-relative camera-space joints (T, 22, 3) + their 2D track (+ the lifter's foot
    contact probabilities (T, 4)) -> (Motion, camera info)."""
    o = options or WorldOptions()
    contact = None if contact_probabilities is None else contacts_of(None, fps, contact_probabilities)
    translation = solve_translation(relative, keypoints, confidence, focal, center)
    # The pelvis's place in the image is well known; its depth (read from the body's size in the
    # image) is noisy, so it is smoothed over a longer window.
    log_depth = np.log(translation[:, 2])
    image_xy = _savgol(translation[:, :2] / translation[:, 2:], o.smooth_window, fps)
    translation = np.concatenate([image_xy, np.ones((len(image_xy), 1))], 1) * translation[:, 2:]
    up = estimate_up(relative + translation[:, None], o.level_camera)
    if contact is not None and o.ground_depth:
        log_depth = log_depth + ground_depth_correction(relative, translation, up, contact)
    depth = np.exp(_savgol(log_depth, o.depth_window, fps))
    translation = np.concatenate([image_xy * depth[:, None], depth[:, None]], 1)
    cam = relative + translation[:, None]

    rot = camera_to_world_rotation(up)
    world = cam @ rot.T
    world = _savgol(world, o.smooth_window, fps)
    world = Motion.from_positions(world, fps).positions()  # our bone lengths
    floor = floor_height(world, contact)
    world[..., 1] -= floor
    if o.pin_feet and len(world) > 3:
        world = pin_feet(world, fps, grounded_feet(world, fps, contact))
    motion = Motion.from_positions(world, fps)
    pitch = float(np.degrees(np.arcsin(np.clip(-rot[1, 2], -1, 1))))  # camera tilt, + = looking down
    info = {"camera_height": float(-floor), "camera_pitch_deg": pitch, "camera_to_world": rot.tolist()}
    return motion, info
