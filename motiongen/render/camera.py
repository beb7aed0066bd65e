"""A perspective camera that follows the people in a clip from a fixed 3/4 elevated view.

The camera keeps one orientation for the whole clip and only slides over the ground, following a
smoothed (zero-phase) track of the people's mean root, so the view never jitters or lags. Its
distance is chosen once so that every joint of every person stays in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

VERTICAL_FOV_DEG = 40.0
PITCH_DEG = 20.0  # looking down at the ground
AZIMUTH_DEG = 35.0  # camera stands in front of the first person, turned towards their left
NEAR = 0.1
MIN_DISTANCE = 4.0  # a single standing person fills a bit over half of the picture height
SMOOTHING_SECONDS = 1.5
MARGIN = 0.8  # every joint stays inside this fraction of the half-width / half-height


@dataclass
class Camera:
    """World -> pixel projection. `rotation` maps world to camera axes (x right, y down, z forward)."""

    rotation: np.ndarray  # (3, 3)
    positions: np.ndarray  # (frames, 3), the camera centre per frame
    focal: float  # pixels
    size: tuple[int, int]  # (width, height)

    def to_camera(self, points: np.ndarray, frame: int) -> np.ndarray:
        """points (..., 3) in world space -> camera space (x right, y down, z forward)."""
        return (points - self.positions[frame]) @ self.rotation.T

    def to_pixels(self, cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Camera-space points (..., 3) -> pixel coordinates (..., 2) and depth (...)."""
        depth = np.maximum(cam[..., 2], NEAR)
        width, height = self.size
        xy = self.focal * cam[..., :2] / depth[..., None] + np.array([width / 2, height / 2])
        return xy, depth

    def project(self, points: np.ndarray, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """points (..., 3) in world space -> pixel coordinates (..., 2) and depth (...)."""
        return self.to_pixels(self.to_camera(points, frame))

    def project_path(self, points: np.ndarray, frame: int) -> list[np.ndarray]:
        """A world-space polyline (n, 3) -> its visible pieces in pixels, cut where it passes behind the camera."""
        cam = self.to_camera(points, frame)
        if (cam[:, 2] >= NEAR).all():
            return [self.to_pixels(cam)[0]] if len(cam) >= 2 else []
        pieces, current = [], []
        for i in range(len(cam)):
            inside = cam[i, 2] >= NEAR
            if i > 0 and inside != (cam[i - 1, 2] >= NEAR):  # crossing the near plane: add the crossing point
                a, b = cam[i - 1], cam[i]
                current.append(a + (b - a) * (NEAR - a[2]) / (b[2] - a[2]))
                if not inside:
                    pieces.append(np.array(current))
                    current = []
            if inside:
                current.append(cam[i])
        if current:
            pieces.append(np.array(current))
        return [self.to_pixels(piece)[0] for piece in pieces if len(piece) >= 2]

    @property
    def height(self) -> float:
        """Height of the camera above the ground (the same for every frame)."""
        return float(self.positions[0, 1])


def look_rotation(azimuth: float, pitch: float) -> np.ndarray:
    """World -> camera rotation for a camera looking along -(sin az, 0, cos az), tilted down by `pitch`."""
    back = np.array([np.sin(azimuth) * np.cos(pitch), np.sin(pitch), np.cos(azimuth) * np.cos(pitch)])
    forward = -back
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def smooth_track(track: np.ndarray, fps: float) -> np.ndarray:
    """Savitzky-Golay smoothing of a (frames, d) path: removes sway, keeps straight lines and curves."""
    frames = len(track)
    window = int(SMOOTHING_SECONDS * fps) | 1  # odd
    window = min(window, frames if frames % 2 else frames - 1)
    if window < 5:
        return np.repeat(track.mean(0, keepdims=True), frames, 0)
    return savgol_filter(track, window, polyorder=2, axis=0, mode="interp")


def follow_camera(joints: np.ndarray, fps: float, heading: float, size: tuple[int, int]) -> Camera:
    """joints: (people, frames, 22, 3) global positions. heading: facing angle of the first person."""
    width, height = size
    focal = (height / 2) / np.tan(np.radians(VERTICAL_FOV_DEG) / 2)
    rotation = look_rotation(heading + np.radians(AZIMUTH_DEG), np.radians(PITCH_DEG))
    back = -rotation[2]

    # Follow the mean root over the ground; aim at the middle of the body's height range.
    ground_track = smooth_track(joints[:, :, 0, [0, 2]].mean(0), fps)
    low, high = np.percentile(joints[..., 1].min(-1), 5), np.percentile(joints[..., 1].max(-1), 95)
    target = np.zeros((joints.shape[1], 3))
    target[:, [0, 2]] = ground_track
    target[:, 1] = (low + high) / 2

    # Step back until every joint of a subsample of frames fits inside the margins.
    step = max(1, joints.shape[1] // 200)
    points = joints[:, ::step]
    distance = MIN_DISTANCE
    for _ in range(60):
        camera = Camera(rotation, target + distance * back, float(focal), (width, height))
        cam = (points - camera.positions[::step][None, :, None]) @ rotation.T
        depth = cam[..., 2]
        if depth.min() > NEAR:
            x = np.abs(focal * cam[..., 0] / depth) / (width / 2)
            y = np.abs(focal * cam[..., 1] / depth) / (height / 2)
            if x.max() <= MARGIN and y.max() <= MARGIN:
                break
        distance *= 1.1
    return camera
