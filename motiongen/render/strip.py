"""Film strips: a few evenly spaced frames of a clip side by side in one .png.

A strip shows a whole motion at a glance (in a README, an issue or a notebook) where a video
would have to be played. The frames share the video's following camera, floor and caption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from motiongen.errors import UserError
from motiongen.io import provenance
from motiongen.motion.motion import Motion
from motiongen.render.video import Scene

GAP = 4  # pixels of white between frames


def strip_indices(frames: int, count: int) -> np.ndarray:
    """`count` frame numbers spread evenly from the first to the last frame."""
    return np.unique(np.round(np.linspace(0, frames - 1, min(count, frames))).astype(int))


def render_strip(motions, count: int = 6, trace: bool = True, size: tuple[int, int] = (320, 360)) -> np.ndarray:
    """The strip as a (height, width, 3) uint8 array; `size` is that of one frame."""
    if count < 1:
        raise UserError(f"a film strip needs at least one frame, got {count}")
    scene = Scene(motions, size=size)
    pictures = [scene.render(i, trace) for i in strip_indices(scene.frames, count)]
    height, width = pictures[0].shape[:2]
    strip = np.full((height, len(pictures) * (width + GAP) - GAP, 3), 255, np.uint8)
    for k, picture in enumerate(pictures):
        strip[:, k * (width + GAP) : k * (width + GAP) + width] = picture
    return strip


def write(motions, path, trace: bool = True, frames: int = 6, size=(320, 360), **_) -> Path:
    """Write a film strip as a .png (the frame count and per-frame size are options)."""
    path = Path(path)
    options = {}
    made_by = provenance.describe([motions] if isinstance(motions, Motion) else list(motions))
    if made_by:  # what made the motion, in a text chunk viewers show and skip
        options["pnginfo"] = PngInfo()
        options["pnginfo"].add_itxt("Comment", made_by)
    Image.fromarray(render_strip(motions, frames, trace, size)).save(path, format="PNG", optimize=True, **options)
    return path
