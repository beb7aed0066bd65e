"""The background: a sky gradient and a checkered floor that fades into haze with distance.

The camera never rotates (see camera.py), so each pixel's ray, where it meets the floor relative
to the camera, and how far away that is are computed once; a frame only shifts the checker
pattern by the camera's position. The checker is box-filtered by each pixel's footprint on the
floor, which keeps distant tiles from flickering.
"""

from __future__ import annotations

import numpy as np

from motiongen.render.camera import Camera

TILE = 1.0  # metres
SKY_TOP = np.array([196, 205, 218], np.float32)
HAZE = np.array([229, 232, 236], np.float32)  # horizon colour; the floor fades into it
TILE_LIGHT = np.array([218, 218, 213], np.float32)
TILE_DARK = np.array([178, 181, 182], np.float32)
FOG_LEVELS, LIGHT_LEVELS = 128, 256


class Ground:
    def __init__(self, camera: Camera, fade_distance: float):
        width, height = camera.size
        self.camera = camera
        # Ray of each pixel in world space (x, y, z per pixel).
        u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        self.horizon_row = self._horizon_row()
        first = int(np.clip(np.floor(self.horizon_row) + 1, 0, height))
        self.first_row = first

        sky = np.zeros((height, width, 3), np.float32)
        rows = np.arange(height, dtype=np.float32)[:, None]
        mix = np.clip(rows / max(self.horizon_row, 1.0), 0, 1) ** 0.7
        sky[:] = (SKY_TOP * (1 - mix) + HAZE * mix)[:, None, :]
        self.background = sky.astype(np.uint8)

        offset = self._floor_offset(u[first:], v[first:])
        # Footprint of a pixel on the floor, per axis (in tiles), from the neighbouring pixels' hits.
        du = self._floor_offset(u[first:] + 1, v[first:]) - offset
        dv = self._floor_offset(u[first:], v[first:] + 1) - offset
        self.footprint = np.minimum(np.abs(du) + np.abs(dv), 8 * TILE).astype(np.float32) / TILE + 1e-3
        self.offset = (offset / TILE).astype(np.float32)  # (rows, width, 2): x, z

        # Colours by lookup: a pixel's colour depends only on its haze level (fixed per pixel) and how
        # much of it is covered by light tiles (per frame), so a table of both replaces float maths.
        distance = np.hypot(np.hypot(offset[..., 0], offset[..., 1]), camera.height)
        fog = 1 - np.exp(-((distance / fade_distance) ** 2))
        self._fog_index = np.round(fog * (FOG_LEVELS - 1)).astype(np.int32) * LIGHT_LEVELS
        fog_levels = np.linspace(0, 1, FOG_LEVELS, dtype=np.float32)[:, None, None]
        light_levels = np.linspace(0, 1, LIGHT_LEVELS, dtype=np.float32)[None, :, None]
        table = (TILE_DARK + light_levels * (TILE_LIGHT - TILE_DARK)) * (1 - fog_levels) + HAZE * fog_levels
        self._colours = np.round(table).astype(np.uint8).reshape(-1, 3)

        # Work buffers for `image`, allocated once.
        self._offset_half = self.offset * 0.5
        self._half_width = self.footprint * 0.25
        self._inverse_width = 2 / self.footprint
        self._buffers = [np.empty_like(self.offset) for _ in range(3)]

    def _horizon_row(self) -> float:
        """Image row of the horizon (camera rays parallel to the floor)."""
        forward = self.camera.rotation[2]
        pitch = np.arcsin(-forward[1])  # > 0 when looking down
        return self.camera.size[1] / 2 - self.camera.focal * np.tan(pitch)

    def _floor_offset(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Where the rays through pixels (u, v) meet the floor, relative to the camera: (..., 2) = x, z."""
        width, height = self.camera.size
        rays = np.stack(
            [(u - width / 2) / self.camera.focal, (v - height / 2) / self.camera.focal, np.ones_like(u)], -1
        )
        world = rays @ self.camera.rotation  # camera -> world (rotation is orthonormal)
        down = np.minimum(world[..., 1], -1e-6)
        t = self.camera.height / -down
        return world[..., [0, 2]] * t[..., None]

    def image(self, frame: int) -> np.ndarray:
        """(height, width, 3) uint8 background for one frame."""
        image = self.background.copy()
        if self.first_row >= image.shape[0]:
            return image
        # Box-filtered checker: the integral of a square wave over each pixel's footprint, per axis,
        # i.e. 2 * (tri((p - w/2) / 2) - tri((p + w/2) / 2)) / w with tri(x) = |fract(x) - 1/2|.
        centre, low, high = self._buffers
        shift = (self.camera.positions[frame, [0, 2]] / (2 * TILE)) % 1.0  # the pattern repeats every 2 tiles
        np.add(self._offset_half, shift.astype(np.float32), out=centre)
        np.subtract(centre, self._half_width, out=low)
        np.add(centre, self._half_width, out=high)
        for edge in (low, high):
            np.floor(edge, out=centre)
            edge -= centre
            edge -= 0.5
            np.abs(edge, out=edge)
        low -= high
        low *= self._inverse_width
        coverage = low[..., 0] * low[..., 1]  # -1: all light ... 1: all dark
        np.clip(coverage, -1.0, 1.0, out=coverage)  # float rounding
        index = (coverage * -(LIGHT_LEVELS - 1) / 2 + (LIGHT_LEVELS - 1) / 2 + 0.5).astype(np.int32)
        index += self._fog_index
        image[self.first_row :] = np.take(self._colours, index, axis=0)
        return image
