"""Body meshes in the video: flat-shaded triangles drawn far to near (the painter's algorithm).

No OpenGL and no display: Pillow fills each visible triangle with its person's colour, darker the
more it turns away from a light above and behind the camera. Triangles facing away from the
camera are skipped (SMPL's faces wind outwards). The soft shadow is the skeleton's (figures.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from motiongen.render.camera import NEAR, Camera
from motiongen.render.figures import SUPERSAMPLE, TRACE_ALPHA, _draw_shadows, person_colours

AMBIENT = 0.45  # light every face gets; the rest comes from the light's direction
LIGHT = np.array([-0.35, 1.0, 0.45])  # towards the light, in the camera's ground frame (right, up, back)


def draw_meshes(
    canvas: Image.Image,
    origin: tuple[int, int],
    camera: Camera,
    frame: int,
    joints: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    traces: np.ndarray | None = None,
) -> None:
    """Draw everyone's shadow, optional root trace and body onto `canvas` (SUPERSAMPLE times the
    picture region whose top-left pixel is `origin`). joints: (people, 22, 3), vertices:
    (people, N, 3) at this frame; faces (F, 3) index each person's vertices."""
    s = SUPERSAMPLE
    shift = np.asarray(origin, np.float64)

    def to_canvas(xy: np.ndarray) -> np.ndarray:
        return (xy - shift) * s

    _draw_shadows(canvas, to_canvas, camera, frame, joints)
    draw = ImageDraw.Draw(canvas, "RGBA")
    if traces is not None:
        for p, path in enumerate(traces):
            if len(path) < 2:
                continue
            _, depth = camera.project(path[-1], frame)
            width = max(1, round(0.025 * camera.focal * s / depth))
            colour = person_colours(p)["centre"] + (TRACE_ALPHA,)
            for piece in camera.project_path(path, frame):
                draw.line([tuple(q) for q in to_canvas(piece)], fill=colour, width=width, joint="curve")

    light = _light(camera)
    depths, triangles, colours = [], [], []  # every person's visible faces
    for p, points in enumerate(vertices):
        corners = points[faces]  # (F, 3, 3)
        normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        lengths = np.linalg.norm(normals, axis=1)
        cam = camera.to_camera(corners.reshape(-1, 3), frame).reshape(-1, 3, 3)
        facing = (normals * (camera.positions[frame] - corners.mean(1))).sum(1) > 0
        visible = facing & (lengths > 0) & (cam[..., 2] > NEAR).all(1)
        depths.append(cam[visible, :, 2].mean(1))
        triangles.append(to_canvas(camera.to_pixels(cam[visible])[0]).reshape(-1, 6))
        brightness = AMBIENT + (1 - AMBIENT) * np.clip(normals[visible] @ light / lengths[visible], 0, 1)
        base = np.array(person_colours(p)["centre"], np.float64)
        colours.append(np.clip(base[None] * brightness[:, None], 0, 255).round().astype(int))
    order = np.argsort(-np.concatenate(depths), kind="stable")  # far to near
    for triangle, colour in zip(
        np.concatenate(triangles)[order].tolist(), np.concatenate(colours)[order].tolist(), strict=True
    ):
        draw.polygon(triangle, fill=tuple(colour))


def _light(camera: Camera) -> np.ndarray:
    """LIGHT in world axes: the camera's right and backwards, flattened onto the ground, and up."""
    right, back = camera.rotation[0].copy(), -camera.rotation[2].copy()
    right[1] = back[1] = 0.0
    right /= np.linalg.norm(right)
    back /= np.linalg.norm(back)
    light = LIGHT[0] * right + LIGHT[1] * np.array([0.0, 1.0, 0.0]) + LIGHT[2] * back
    return light / np.linalg.norm(light)
