"""Overlay video: the input frames with the 2D detections drawn on them, side by side with the
lifted 3D motion (rendered by motiongen.render.video), frame for frame at the input's rate.

Frames are read, drawn and encoded one at a time, so long videos stream through.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm.auto import tqdm

from motiongen.io.atomic import atomic_path
from motiongen.lifting.keypoints import LIFT_BONES, LIFT_JOINTS

MAX_HEIGHT = 540  # overlays of large videos are scaled down to this height
LEFT_COLOUR = (40, 120, 230)
RIGHT_COLOUR = (230, 80, 40)
CENTRE_COLOUR = (250, 210, 40)
MISSING_COLOUR = (150, 150, 150)


def _colour(a: int, b: int) -> tuple[int, int, int]:
    names = (LIFT_JOINTS[a], LIFT_JOINTS[b])
    if any(n.startswith("left_") for n in names):
        return LEFT_COLOUR
    if any(n.startswith("right_") for n in names):
        return RIGHT_COLOUR
    return CENTRE_COLOUR


def draw_keypoints(frame: np.ndarray, points: np.ndarray, conf: np.ndarray, detected: bool) -> np.ndarray:
    """Draw one frame's (18, 2) keypoints (left side blue, right side red); frames where nobody was
    detected show the interpolated pose thin and grey."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    scale = max(image.size) / 640
    width = max(2, round(3 * scale))
    for a, b in LIFT_BONES:
        if conf[a] <= 0 or conf[b] <= 0:
            continue
        colour = _colour(a, b) if detected else MISSING_COLOUR
        draw.line([tuple(points[a]), tuple(points[b])], fill=colour, width=width if detected else 1)
    radius = max(2, round(3 * scale))
    for j, (x, y) in enumerate(points):
        if conf[j] <= 0:
            continue
        fill = (255, 255, 255) if detected else MISSING_COLOUR
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill, outline=(0, 0, 0))
    if not detected:
        draw.text((8, 8), "no detection (interpolated)", fill=(255, 60, 60))
    return np.asarray(image)


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def overlay_frames(result, progress: bool = False) -> Iterator[np.ndarray]:
    """Side-by-side frames: input with detections | rendered 3D motion."""
    from motiongen.render.video import render_frames

    width, height = result.image_size
    fps = result.keypoints.fps
    frames_in = result.source.frames() if result.source is not None else _blank_frames(result)
    frames_in = islice(frames_in, result.first_frame, None)  # frames before the person was found are not lifted
    scale = min(1.0, MAX_HEIGHT / height)
    left_size = (_even(width * scale), _even(height * scale))
    right_size = (_even(left_size[1] * 4 / 3), left_size[1])
    rendered = render_frames([result.motion], fps=fps, size=right_size, progress=False)
    count = len(result.points)
    last = None

    for i, frame in enumerate(tqdm(frames_in, total=count, desc="overlay", unit="frame", disable=not progress)):
        if i >= count:
            break
        left = draw_keypoints(frame, result.points[i], result.confidence[i], bool(result.detected[i]))
        if left.shape[:2] != (left_size[1], left_size[0]):
            left = np.asarray(Image.fromarray(left).resize(left_size, Image.Resampling.BILINEAR))
        right = next(rendered, None)
        if right is None:  # the motion is a frame short after resampling: hold its last picture
            right = last
        last = right
        yield np.concatenate([left, right], 1)


def _blank_frames(result) -> Iterator[np.ndarray]:
    width, height = result.image_size
    for _ in range(result.first_frame + len(result.points)):
        yield np.full((height, width, 3), 32, np.uint8)


def write_overlay(result, path: str | Path, force: bool = False, progress: bool = True) -> Path:
    """Encode the overlay as H.264 .mp4 (or .gif) at the input's frame rate, atomically."""
    import imageio_ffmpeg

    path = Path(path)
    frames = overlay_frames(result, progress)
    first = next(frames)
    size = (first.shape[1], first.shape[0])
    with atomic_path(path, force) as tmp:
        if path.suffix.lower() == ".gif":
            pictures = [Image.fromarray(first)] + [Image.fromarray(f) for f in frames]
            pictures[0].save(
                tmp, save_all=True, append_images=pictures[1:], duration=1000 / result.keypoints.fps, loop=0
            )
            return path
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            size,
            fps=result.keypoints.fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=6,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart"],
        )
        writer.send(None)
        try:
            writer.send(np.ascontiguousarray(first))
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()
    return path
