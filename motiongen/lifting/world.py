"""From lifted camera-space poses to a `Motion` standing on a floor.

1. Root translation per frame: the lifter gives the pose relative to the pelvis; where the pelvis
   is follows from the 2D keypoints by least squares on the reprojection (depth from body size,
   the noisiest part, smoothed by a Gaussian of `depth_sigma` in log-depth; for a camera looking
   down, refined by where the feet in contact meet the floor).
2. Up direction (the camera's pitch; by default the camera is assumed level, without roll): the
   body axis (ankles -> neck) averaged over the frames where the person is upright, corrected by
   the floor that the lowest foot traces when the person moves about (a plane, or a line for a
   straight walk, which up must be square to). The lifted body is then turned by the small angle
   between its own mean upright axis and that up direction, so that a person who stands upright in
   the image stands upright in the world whatever tilt the lifter guessed.
3. Camera -> world (Y up, the camera looks along -Z), light joint smoothing (Savitzky-Golay), our
   bone lengths by IK (`Motion.from_positions`), the floor at y = 0 under the feet in contact.
4. Feet: the physical clean-up every generator ends with (`motiongen.motion.cleanup`) locks
   planted feet by leg IK, lifts swinging feet clear of the floor and keeps the body out of it;
   the root's path stays the reprojected one. (Moving the root to cancel foot slide, as an earlier
   version did, shortened paths that were right and cost pose accuracy on held-out motion.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

from motiongen.lifting.keypoints import DIRECT_PAIRS
from motiongen.motion.cleanup import clean_motion
from motiongen.motion.contacts import foot_contacts
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import FOOT_JOINTS, JOINT_INDEX

NECK, PELVIS = JOINT_INDEX["neck"], JOINT_INDEX["pelvis"]
ANKLES = (JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])
FEET = FOOT_JOINTS  # left ankle, left toes, right ankle, right toes: the order of foot_contacts
# Height of each foot joint above the floor while it is in contact: the median over the corpus
# train split (joint centres sit above the floor; the toes roll, so more than the 2 cm at rest).
CONTACT_HEIGHT = np.array([0.085, 0.045, 0.085, 0.045])
CONTACT_THRESHOLD = 0.35  # on the lifter's contact probability (missed contacts slide, so lean to yes)
UPRIGHT_CONE = 35.0  # degrees: a body axis this close to up counts as an upright frame
MAX_BODY_TILT = 25.0  # degrees: the most the lifted body is turned to stand upright


@dataclass
class WorldOptions:
    level_camera: bool = True  # assume no camera roll: estimate only its pitch
    smooth_window: float = 0.3  # seconds, Savitzky-Golay window (order 2) on joints
    # seconds, a Gaussian on the log of the root's distance from the camera (the noisiest part). On
    # held-out motion it beat Savitzky-Golay over 2 s (whose ripple let depth noise through and
    # lengthened root paths) and wider Gaussians (which flatten real walks towards the camera).
    depth_sigma: float = 0.35
    clean_feet: bool = True  # the contact clean-up: planted feet locked, swinging feet clear of the floor
    ground_depth: bool = True  # refine depth by putting grounded feet on the floor (tilted cameras)
    upright_body: bool = True  # turn the lifted body so that its upright frames stand vertical


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


def upright_axis(joints: np.ndarray, start: np.ndarray | None = None) -> np.ndarray | None:
    """Mean body axis (ankles -> neck, unit) over the frames where the body is upright: within
    UPRIGHT_CONE of the estimate, refined from `start` (default: the camera's up, -y). Lying or
    tumbling frames do not pull it over; None if no frame is upright."""
    axes = joints[:, NECK] - joints[:, list(ANKLES)].mean(1)
    axes = axes / np.maximum(np.linalg.norm(axes, axis=-1, keepdims=True), 1e-9)
    up = np.array([0.0, -1.0, 0.0]) if start is None else start
    for round_ in range(4):
        upright = axes @ up > np.cos(np.radians(UPRIGHT_CONE))
        if upright.sum() < min(3, len(axes)):
            return None if round_ == 0 else up
        up = axes[upright].mean(0)
        up = up / np.linalg.norm(up)
    return up


def estimate_up(joints: np.ndarray, level_camera: bool = True) -> np.ndarray:
    """Up direction (3,) in camera coordinates from camera-space joints (T, 22, 3)."""
    up = upright_axis(joints)
    if up is None:  # nobody upright: the mean body axis, for want of better
        up = (joints[:, NECK] - joints[:, list(ANKLES)].mean(1)).mean(0)
        up = up / max(np.linalg.norm(up), 1e-9)
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
    return _level(up) if level_camera else up


def _level(up: np.ndarray) -> np.ndarray:
    """No roll: up lies in the camera's y-z plane."""
    up = up * np.array([0.0, 1.0, 1.0])
    if np.linalg.norm(up) < 1e-6:
        up = np.array([0.0, -1.0, 0.0])
    return up / np.linalg.norm(up)


def stand_upright(relative: np.ndarray, up: np.ndarray, level_camera: bool = True) -> np.ndarray:
    """Pelvis-relative joints (T, 22, 3) turned about the pelvis so that their mean upright axis
    points along `up`. The lifter's guess of how the body leans towards or away from the camera is
    its least certain output; people stand upright on average, so that average is the better prior.
    Turns of more than MAX_BODY_TILT are left alone (the body may really lean)."""
    body = upright_axis(relative, up)
    if body is None:
        return relative
    body = _level(body) if level_camera else body
    axis = np.cross(body, up)
    sine = np.linalg.norm(axis)
    angle = np.arctan2(sine, body @ up)
    if sine < 1e-9 or angle > np.radians(MAX_BODY_TILT):
        return relative
    from scipy.spatial.transform import Rotation

    turn = Rotation.from_rotvec(axis / sine * angle).as_matrix()
    return relative @ turn.T


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
    up = estimate_up(relative + translation[:, None], o.level_camera)
    if o.upright_body:
        relative = stand_upright(relative, up, o.level_camera)
        translation = solve_translation(relative, keypoints, confidence, focal, center)
    # The pelvis's place in the image is well known; its depth (read from the body's size in the
    # image) is noisy, so it is smoothed over a longer window.
    log_depth = np.log(translation[:, 2])
    image_xy = _savgol(translation[:, :2] / translation[:, 2:], o.smooth_window, fps)
    translation = np.concatenate([image_xy, np.ones((len(image_xy), 1))], 1) * translation[:, 2:]
    if contact is not None and o.ground_depth:
        log_depth = log_depth + ground_depth_correction(relative, translation, up, contact)
    depth = np.exp(gaussian_filter1d(log_depth, o.depth_sigma * fps, mode="nearest"))
    translation = np.concatenate([image_xy * depth[:, None], depth[:, None]], 1)
    cam = relative + translation[:, None]

    rot = camera_to_world_rotation(up)
    world = cam @ rot.T
    world = _savgol(world, o.smooth_window, fps)
    motion = Motion.from_positions(world, fps)  # our bone lengths
    floor = floor_height(motion.positions(), contact)
    motion.root[:, 1] -= floor
    if o.clean_feet and len(world) > 3:
        motion = clean_motion(motion)
    pitch = float(np.degrees(np.arcsin(np.clip(-rot[1, 2], -1, 1))))  # camera tilt, + = looking down
    info = {"camera_height": float(-floor), "camera_pitch_deg": pitch, "camera_to_world": rot.tolist()}
    return motion, info
