"""Synthetic cameras for training and evaluating the lifter: sampling, projection and a 2D noise model.

Cameras are pinhole, OpenCV convention (x right, y down, z forward), looking at the person from a
random direction, height and distance; some move (orbit, dolly, rise) or pan to follow the person.
The noise model imitates a 2D detector: a few pixels of jitter, occasional large outliers, occluded
joints (confidence 0) and runs of frames where the person was missed (filled in by interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORLD_UP = np.array([0.0, 1.0, 0.0])


@dataclass
class CameraRanges:
    distance: tuple[float, float] = (2.5, 8.0)  # metres from the person (added to how far they wander)
    height: tuple[float, float] = (0.2, 2.6)  # camera height above the floor
    aim_height: tuple[float, float] = (0.5, 1.3)  # height the camera points at
    focal: tuple[float, float] = (0.7, 1.8)  # focal length in image widths (~31-71 degree field of view)
    aim_jitter_deg: float = 6.0  # person not exactly centred
    roll_deg: float = 3.0
    moving: float = 0.3  # probability that the camera moves during the window
    orbit_deg: float = 45.0  # largest change of viewing direction of a moving camera
    follow: float = 0.3  # probability that the camera pans to follow the person
    image_size: tuple[int, int] = (1000, 1000)


@dataclass
class NoiseModel:
    sigma: tuple[float, float] = (0.0, 0.02)  # Gaussian jitter, as a fraction of the person's height in pixels
    outlier_prob: float = 0.01  # per joint and frame
    outlier_size: tuple[float, float] = (0.05, 0.3)
    joint_dropout: float = 0.03  # per joint and frame: confidence 0
    occlusion_prob: float = 0.3  # per window: a limb hidden for a stretch of frames
    missed_frames_prob: float = 0.15  # per window: a run of frames with no detection
    flip_prob: float = 0.005  # per frame: left and right swapped (a classic detector error)
    toeless: float = 0.0  # per window: no toes at all (COCO-17 detectors have none)


@dataclass
class Cameras:
    rotation: np.ndarray  # (B, T, 3, 3) world -> camera
    position: np.ndarray  # (B, T, 3) camera centre in world coordinates
    focal: np.ndarray  # (B,) pixels
    center: np.ndarray  # (B, 2) principal point, pixels
    image_size: tuple[int, int]


def look_at(position: np.ndarray, target: np.ndarray, roll: np.ndarray | float = 0.0) -> np.ndarray:
    """World -> camera rotations (..., 3, 3) for cameras at `position` looking at `target`."""
    forward = target - position
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(forward, WORLD_UP)
    right = right / np.maximum(np.linalg.norm(right, axis=-1, keepdims=True), 1e-8)
    down = np.cross(forward, right)
    roll = np.asarray(roll)[..., None]
    right, down = right * np.cos(roll) + down * np.sin(roll), down * np.cos(roll) - right * np.sin(roll)
    return np.stack([right, down, forward], -2)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def sample_cameras(root: np.ndarray, rng: np.random.Generator, ranges: CameraRanges | None = None) -> Cameras:
    """One camera (possibly moving) per window of root positions `root` (B, T, 3)."""
    r = ranges or CameraRanges()
    b, t = root.shape[:2]
    uniform = lambda lo_hi, n=b: rng.uniform(lo_hi[0], lo_hi[1], n)  # noqa: E731
    centre = root.mean(1)
    wander = np.linalg.norm((root - centre[:, None])[..., [0, 2]], axis=-1).max(1)

    yaw0 = rng.uniform(-np.pi, np.pi, b)
    moving = rng.random(b) < r.moving
    yaw1 = yaw0 + moving * np.radians(rng.uniform(-r.orbit_deg, r.orbit_deg, b))
    dist0 = uniform(r.distance) + wander
    dist1 = np.where(moving, dist0 * rng.uniform(0.8, 1.25, b), dist0)
    h0 = uniform(r.height)
    h1 = np.where(moving, np.clip(h0 + rng.uniform(-0.5, 0.5, b), *r.height), h0)

    s = _smoothstep(np.linspace(0.0, 1.0, t))[None]  # (1, T)
    yaw = yaw0[:, None] + (yaw1 - yaw0)[:, None] * s
    dist = dist0[:, None] + (dist1 - dist0)[:, None] * s
    height = h0[:, None] + (h1 - h0)[:, None] * s
    position = np.stack([centre[:, None, 0] + dist * np.sin(yaw), height, centre[:, None, 2] + dist * np.cos(yaw)], -1)

    aim = np.repeat(centre[:, None], t, 1)
    follow = rng.random(b) < r.follow
    aim[follow] = root[follow]  # a panning camera keeps the person centred
    aim[..., 1] = uniform(r.aim_height)[:, None]
    jitter = np.radians(r.aim_jitter_deg)
    rot = look_at(position, aim, roll=rng.normal(0, np.radians(r.roll_deg), b)[:, None])
    # turn the camera a little away from the person, the same way for the whole window
    off = _small_rotation(rng.normal(0, jitter, (b, 3)) * np.array([1, 1, 0]))
    rot = off[:, None] @ rot

    width, height_px = r.image_size
    focal = uniform(r.focal) * width
    center = np.stack([np.full(b, width / 2), np.full(b, height_px / 2)], -1)
    return Cameras(
        rot.astype(np.float32),
        position.astype(np.float32),
        focal.astype(np.float32),
        center.astype(np.float32),
        r.image_size,
    )


def _small_rotation(axis_angle: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(axis_angle).as_matrix()


def to_camera(points: np.ndarray, cams: Cameras) -> np.ndarray:
    """World points (B, T, J, 3) -> camera coordinates (B, T, J, 3)."""
    return np.einsum("btij,btkj->btki", cams.rotation, points - cams.position[:, :, None])


def project(cam_points: np.ndarray, focal: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Camera-space points (B, ..., 3) -> pixels (B, ..., 2) with per-sample focal (B,) and centre (B, 2)."""
    extra = (1,) * (cam_points.ndim - 2)
    z = np.maximum(cam_points[..., 2:], 1e-3)
    f = focal.reshape((-1,) + extra + (1,))
    c = center.reshape((-1,) + extra + (2,))
    return cam_points[..., :2] / z * f + c


def corrupt_keypoints(
    uv: np.ndarray, rng: np.random.Generator, noise: NoiseModel | None = None, mirror_index=None
) -> tuple[np.ndarray, np.ndarray]:
    """Clean pixels (B, T, J, 2) -> (noisy pixels, confidences (B, T, J)) as a detector would give them."""
    n = noise or NoiseModel()
    b, t, j = uv.shape[:3]
    size = (uv.max(2) - uv.min(2)).max(-1)  # (B, T) person size in pixels
    size = np.median(size, axis=1)[:, None, None, None]
    out = uv.copy()

    sigma = rng.uniform(n.sigma[0], n.sigma[1], (b, 1, 1, 1)) * size
    jitter = rng.normal(size=uv.shape) * sigma
    out += jitter
    outlier = rng.random((b, t, j)) < n.outlier_prob
    direction = rng.normal(size=uv.shape)
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True) + 1e-8
    magnitude = rng.uniform(*n.outlier_size, (b, t, j, 1)) * size
    out = np.where(outlier[..., None], out + direction * magnitude, out)
    if mirror_index is not None:
        flip = rng.random((b, t)) < n.flip_prob
        out = np.where(flip[..., None, None], out[:, :, list(mirror_index)], out)

    # Confidence falls with the error a detector would be unsure about, plus its own noise.
    error = np.linalg.norm(out - uv, axis=-1) / size[..., 0]
    conf = np.clip(1.0 - 4.0 * error + rng.normal(0, 0.1, (b, t, j)), 0.05, 1.0)
    conf *= rng.random((b, t, j)) >= n.joint_dropout

    if n.toeless:
        from motiongen.lifting.keypoints import LIFT_INDEX

        toes = [LIFT_INDEX["left_toe"], LIFT_INDEX["right_toe"]]
        conf[np.ix_(rng.random(b) < n.toeless, np.arange(t), toes)] = 0.0
    for i in range(b):
        if rng.random() < n.occlusion_prob:  # a few neighbouring joints hidden for a while
            length = rng.integers(1, t + 1)
            start = rng.integers(0, t - length + 1)
            joints = rng.choice(j, size=rng.integers(1, 4), replace=False)
            conf[i, start : start + length, joints] = 0.0
        if rng.random() < n.missed_frames_prob and t > 2:
            length = rng.integers(1, max(2, t // 3))
            start = rng.integers(0, t - length + 1)
            out[i], conf[i] = interpolate_gaps(out[i], conf[i], missing=np.arange(start, start + length))
    return out.astype(np.float32), conf.astype(np.float32)


GAP_CONFIDENCE = 0.1  # frames filled in by interpolation keep a low, non-zero confidence


def interpolate_gaps(points: np.ndarray, conf: np.ndarray, missing: np.ndarray | None = None):
    """Fill frames with no detection (all confidences 0, or the frames listed in `missing`) of a
    (T, J, 2) track by linear interpolation between the nearest detected frames (held at the ends).
    Filled frames get confidence GAP_CONFIDENCE. Returns (points, conf); raises ValueError if no
    frame has a detection."""
    points = points.copy()
    conf = conf.copy()
    gap = ~(conf > 0).any(-1)
    if missing is not None:
        gap[missing] = True
    have = np.flatnonzero(~gap)
    if len(have) == 0:
        raise ValueError("no frame has a detection")
    holes = np.flatnonzero(gap)
    if len(holes):
        flat = points.reshape(len(points), -1)
        for k in range(flat.shape[1]):
            flat[holes, k] = np.interp(holes, have, flat[have, k])
        points = flat.reshape(points.shape)
        conf[holes] = GAP_CONFIDENCE
    return points, conf
