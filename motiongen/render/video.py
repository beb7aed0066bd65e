"""Skeleton videos: one or several people on a checkered floor, as .mp4 (H.264) or .gif.

With `smpl_model` (a folder of the user's SMPL / SMPL+H files) the people are drawn as that body,
flat-shaded (render/mesh.py), instead of as skeletons.

`render_frames` yields the pictures, `render_frame` gives one (for docs and thumbnails) and
`write` encodes a file. The H.264 encoder is the ffmpeg binary bundled with imageio-ffmpeg, so
no system ffmpeg is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from motiongen.errors import UserError
from motiongen.io import provenance
from motiongen.motion.motion import Motion
from motiongen.render.camera import follow_camera
from motiongen.render.figures import SUPERSAMPLE, draw_people, drawing_box
from motiongen.render.ground import Ground
from motiongen.render.mesh import draw_meshes

TEXT_COLOUR = (40, 44, 52)
TEXT_OUTLINE = (240, 242, 245)


class Scene:
    """Everything that stays the same over a clip: the people's joint tracks, camera, floor, caption."""

    def __init__(
        self,
        motions,
        fps: float | None = None,
        size: tuple[int, int] = (640, 480),
        hand_contacts: bool = False,
        smpl_model=None,
    ):
        motions = [motions] if isinstance(motions, Motion) else list(motions)
        if not motions:
            raise UserError("nothing to render: no motions given")
        self.fps = float(fps or motions[0].fps)
        if not self.fps > 0:
            raise UserError(f"video frame rate must be positive, got {fps}")
        self.size = (int(size[0]), int(size[1]))
        self.hand_contacts = hand_contacts  # mark where two people's hands meet
        if min(self.size) < 16:
            raise UserError(f"video size {self.size} is too small (at least 16 x 16 pixels)")

        # Same frame rate for everyone; shorter clips hold their last pose.
        resampled = [m.resampled(self.fps) for m in motions]
        self.frames = max(len(m) for m in resampled)

        def held(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a, np.repeat(a[-1:], self.frames - len(a), 0)])

        self.joints = np.stack([held(m.positions()) for m in resampled])
        self.body = None  # an SMPL body, posed frame by frame from the rotations
        if smpl_model is not None:
            from motiongen.body import smpl

            self.body = smpl.load(smpl_model)
            self.quats = np.stack([held(m.quats) for m in resampled])
            self.roots = np.stack([held(m.root) for m in resampled])

        self.camera = follow_camera(self.joints, self.fps, float(motions[0].heading()[0]), self.size)
        target_distance = np.linalg.norm(self.camera.positions[0] - self.joints[:, 0, 0].mean(0))
        self.ground = Ground(self.camera, fade_distance=3.0 * target_distance)

        self.font = ImageFont.load_default(size=max(10, round(self.size[1] / 30)))
        self.text_margin = max(4, self.size[1] // 60)
        self.caption = provenance.captions(motions)
        self.made_by = provenance.describe(motions)  # goes into the file's metadata
        self._caption_layer = self._text_layer(self.caption) if self.caption else None

    def render(self, index: int, trace: bool = False) -> np.ndarray:
        index = int(np.clip(index, 0, self.frames - 1))
        picture = Image.fromarray(self.ground.image(index))
        traces = None
        if trace:
            traces = self.joints[:, : index + 1, 0].copy()
            traces[..., 1] = 0.005
        joints = self.joints[:, index]
        meshes = None if self.body is None else self.body.posed(self.quats[:, index], self.roots[:, index])[0]
        box = drawing_box(self.camera, index, joints if meshes is None else meshes, traces)
        if box[2] > box[0] and box[3] > box[1]:
            size = ((box[2] - box[0]) * SUPERSAMPLE, (box[3] - box[1]) * SUPERSAMPLE)
            canvas = picture.crop(box).resize(size, Image.Resampling.NEAREST)
            if meshes is None:
                draw_people(canvas, box[:2], self.camera, index, joints, traces, self.hand_contacts)
            else:
                draw_meshes(canvas, box[:2], self.camera, index, joints, meshes, self.body.faces, traces)
            picture.paste(canvas.reduce(SUPERSAMPLE), box[:2])
        self._draw_text(picture, index)
        return np.asarray(picture)

    def _text_style(self) -> dict:
        return {"font": self.font, "fill": TEXT_COLOUR, "stroke_width": 2, "stroke_fill": TEXT_OUTLINE}

    def _text_layer(self, text: str) -> Image.Image:
        """The caption, drawn once onto a transparent layer (it is the same in every frame)."""
        probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
        text = _fit(probe, text, self.font, self.size[0] - 2 * self.text_margin)
        box = probe.textbbox((0, 0), text, font=self.font, stroke_width=2)
        # Transparent pixels carry the outline colour, so the glyphs' soft edges blend into it, not into black.
        layer = Image.new("RGBA", (box[2] + 1, box[3] + 1), TEXT_OUTLINE + (0,))
        ImageDraw.Draw(layer).text((0, 0), text, **self._text_style())
        return layer

    def _draw_text(self, image: Image.Image, index: int) -> None:
        pad = self.text_margin
        if self._caption_layer is not None:
            image.paste(self._caption_layer, (pad, pad), self._caption_layer)
        clock = f"{index / self.fps:5.2f} s  {index + 1}/{self.frames}"
        ImageDraw.Draw(image).text((self.size[0] - pad, self.size[1] - pad), clock, anchor="rd", **self._text_style())


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> str:
    """Shorten `text` with an ellipsis until it fits in `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def render_frames(
    motions,
    trace: bool = False,
    fps: float | None = None,
    size: tuple[int, int] = (640, 480),
    progress: bool = False,
    smpl_model=None,
) -> Iterator[np.ndarray]:
    """Yield every frame of the video as a (height, width, 3) uint8 array."""
    yield from _frames(Scene(motions, fps, size, smpl_model=smpl_model), trace, progress)


def render_frame(
    motions,
    index: int = 0,
    trace: bool = False,
    fps: float | None = None,
    size: tuple[int, int] = (640, 480),
    hand_contacts: bool = False,
    smpl_model=None,
) -> np.ndarray:
    """One frame (clamped to the clip) as a (height, width, 3) uint8 array."""
    return Scene(motions, fps, size, hand_contacts, smpl_model).render(index, trace)


def write(
    motions,
    path,
    trace: bool = False,
    progress: bool = True,
    fps: float | None = None,
    size=(640, 480),
    hand_contacts: bool = False,
    smpl_model=None,
    **_,
):
    """Write a skeleton video; the format follows the suffix of `path` (.mp4 or .gif). With
    `hand_contacts`, a ring marks two people's hands that hold each other; with `smpl_model`, the
    people are that folder's SMPL body."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise UserError(f"cannot render to '{path.name}': use a .mp4 or .gif file")
    if suffix == ".mp4" and (size[0] % 2 or size[1] % 2):
        raise UserError(f"video size {tuple(size)} must have an even width and height for .mp4")
    scene = Scene(motions, fps, size, hand_contacts, smpl_model)
    frames = _frames(scene, trace, progress)
    if suffix == ".mp4":
        _write_mp4(frames, path, scene)
    else:
        _write_gif(frames, path, scene)
    return path


def _frames(scene: Scene, trace: bool, progress: bool) -> Iterator[np.ndarray]:
    from tqdm.auto import tqdm

    for index in tqdm(range(scene.frames), desc="render", unit="frame", disable=not progress, leave=False):
        yield scene.render(index, trace)


def _write_mp4(frames: Iterator[np.ndarray], path: Path, scene: Scene) -> None:
    import imageio_ffmpeg

    # what made the motion, where players and `ffprobe` show it; no record: the file as before
    made_by = ["-metadata", f"title={scene.caption}"] if scene.caption else []
    made_by += ["-metadata", f"comment={scene.made_by}"] if scene.made_by else []
    writer = imageio_ffmpeg.write_frames(
        str(path),
        scene.size,
        fps=scene.fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        quality=6,  # crf 20: clean lines on flat colours
        macro_block_size=2,
        ffmpeg_log_level="error",
        output_params=["-preset", "veryfast", "-movflags", "+faststart", *made_by],  # encoding costs less than drawing
    )
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()


def _write_gif(frames: Iterator[np.ndarray], path: Path, scene: Scene) -> None:
    # One palette for the whole clip (taken from the first frame), so colours do not flicker from
    # frame to frame; quantizing to a given palette is also much faster than finding one per frame.
    pictures = []
    palette = None
    for frame in frames:
        image = Image.fromarray(frame)
        if palette is None:
            palette = image.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
        pictures.append(image.quantize(palette=palette, dither=Image.Dither.NONE))
    duration = 1000.0 / scene.fps
    comment = {"comment": scene.made_by} if scene.made_by else {}  # what made the motion
    pictures[0].save(
        path, save_all=True, append_images=pictures[1:], duration=duration, loop=0, optimize=False, **comment
    )
