"""Inputs of `motiongen lift`: a video file, a folder of images, or a file of 2D keypoints.

Videos are decoded frame by frame (imageio-ffmpeg), so a long video never sits in memory.
Keypoint files: COCO-style JSON (a list of per-frame results with "keypoints" [x, y, score] * 17
or 33, or a COCO annotation file with "images" and "annotations") and npz ("keypoints" (T, 17|33,
2|3), optional "scores" (T, J), "fps", "image_size" (width, height)).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motiongen import validate
from motiongen.errors import UserError
from motiongen.io.arrays import read_npz
from motiongen.lifting.keypoints import SOURCE_JOINT_COUNTS

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
KEYPOINT_SUFFIXES = {".json", ".npz"}
DEFAULT_IMAGE_FPS = 20.0
DEFAULT_KEYPOINT_FPS = 30.0  # the commonest video rate, for keypoint files that do not say


@dataclass
class Keypoints2D:
    """A 2D track in a detector's own joint layout."""

    points: np.ndarray  # (T, J, 2) pixels
    scores: np.ndarray  # (T, J) in [0, 1]; 0 = not seen
    layout: str  # "coco17" | "mediapipe33"
    fps: float
    image_size: tuple[int, int] | None  # (width, height); None if unknown
    # Everyone detected, per frame ((J, 3) [x, y, score] each), where a file has several people in
    # a frame; `points`/`scores` then hold the most confident one (motiongen.lifting.tracking follows one).
    people: list[list[np.ndarray]] | None = None
    notes: list[str] = field(default_factory=list)  # what was assumed (frame rate, ...), one line each


def file_signature(paths: list[Path]) -> str:
    """Changes whenever a file is replaced or edited (name, size, modification time)."""
    digest = hashlib.sha1()
    for p in paths:
        st = p.stat()
        digest.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class FrameSource:
    """Frames of a video or an image folder, read one at a time."""

    def __init__(self, path: Path, fps: float | None = None):
        self.path = Path(path)
        self.notes: list[str] = []  # what was assumed, one line each
        self.read_error: str | None = None  # why reading stopped early, if it did
        if self.path.is_dir() or self.path.suffix.lower() in IMAGE_SUFFIXES:
            listed = self.path.iterdir() if self.path.is_dir() else [self.path]
            self.images = sorted((p for p in listed if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
            if not self.images:
                raise UserError(f"folder {self.path} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            from PIL import Image

            try:
                with Image.open(self.images[0]) as first:
                    self.size = first.size
            except Exception as exc:
                raise UserError(f"cannot read image {self.images[0]}: {exc}") from exc
            self.fps = float(fps or DEFAULT_IMAGE_FPS)
            self.num_frames = len(self.images)
            if fps is None and self.num_frames > 1:
                self.notes.append(f"images have no frame rate: assumed {DEFAULT_IMAGE_FPS:g} fps (set it with --fps)")
        else:
            self.images = None
            import imageio_ffmpeg

            try:
                reader = imageio_ffmpeg.read_frames(str(self.path))
                meta = next(reader)
                reader.close()
            except Exception as exc:
                raise UserError(f"cannot read video {self.path}: {str(exc).strip().splitlines()[-1]}") from exc
            self.size = tuple(int(v) for v in meta["size"])
            self.fps = float(fps or meta.get("fps") or DEFAULT_IMAGE_FPS)
            duration = meta.get("duration") or 0
            self.num_frames = int(round(duration * float(meta.get("fps") or self.fps))) or None
        if not (self.fps > 0 and self.fps < 1000):
            raise UserError(f"frame rate {self.fps} is not usable; pass --fps")

    def signature(self) -> str:
        return file_signature(self.images if self.images is not None else [self.path])

    def frames(self) -> Iterator[np.ndarray]:
        """Yield (height, width, 3) uint8 RGB frames (images are resized to the first one's size)."""
        if self.images is not None:
            from PIL import Image

            for p in self.images:
                try:
                    with Image.open(p) as im:
                        im = im.convert("RGB")
                        if im.size != self.size:
                            im = im.resize(self.size)
                        yield np.asarray(im)
                except OSError as exc:
                    raise UserError(f"cannot read image {p}: {exc}") from exc
            return
        import imageio_ffmpeg

        width, height = self.size
        reader = imageio_ffmpeg.read_frames(str(self.path), pix_fmt="rgb24")
        next(reader)
        try:
            while True:
                try:
                    raw = next(reader)
                except StopIteration:
                    break
                except Exception as exc:  # a damaged stretch: keep what was read, say so (read_report)
                    self.read_error = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
                    break
                yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
        finally:
            reader.close()

    def read_report(self, frames_read: int) -> str | None:
        """One line if a video gave fewer frames than its header promises (truncated or damaged), else None."""
        expected = self.num_frames if self.images is None else None
        short = expected is not None and frames_read < expected - max(2, 0.02 * expected)
        if not short and self.read_error is None:
            return None
        promised = f" of the {expected} its header promises" if expected else ""
        seconds = f" ({frames_read / self.fps:.1f} of {expected / self.fps:.1f} s)" if expected else ""
        why = f": {self.read_error}" if self.read_error else ""
        return (
            f"{self.path.name} looks truncated or damaged: read {frames_read} frames{promised}{seconds}{why}; "
            "lifting what was read"
        )


# -- keypoint files ---------------------------------------------------------------------------
def _layout(num_joints: int, path: Path) -> str:
    if num_joints not in SOURCE_JOINT_COUNTS:
        raise UserError(f"{path.name}: keypoints have {num_joints} joints; expected 17 (COCO) or 33 (MediaPipe)")
    return SOURCE_JOINT_COUNTS[num_joints]


def _as_array(keypoints, path: Path) -> np.ndarray:
    """[x, y, s] * J (flat) or [[x, y, s], ...] -> (J, 3); [x, y] pairs get score 1."""
    arr = np.asarray(keypoints, dtype=np.float64)
    if arr.ndim == 1:
        if len(arr) % 3 == 0 and len(arr) // 3 in SOURCE_JOINT_COUNTS:
            arr = arr.reshape(-1, 3)
        elif len(arr) % 2 == 0 and len(arr) // 2 in SOURCE_JOINT_COUNTS:
            arr = arr.reshape(-1, 2)
        else:
            raise UserError(f"{path.name}: a person has {len(arr)} keypoint values; expected [x, y, score] * 17 or 33")
    if arr.ndim != 2 or arr.shape[1] not in (2, 3):
        raise UserError(f"{path.name}: cannot understand keypoints of shape {arr.shape}")
    if arr.shape[1] == 2:
        arr = np.concatenate([arr, np.ones((len(arr), 1))], 1)
    return arr


def _read_json(path: Path) -> tuple[list[list[np.ndarray]], float | None, tuple[int, int] | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UserError(f"{path.name} is not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    fps, size = None, None
    if isinstance(data, dict) and "annotations" in data:  # COCO annotation file
        images = sorted(data.get("images", []), key=lambda im: (str(im.get("file_name", "")), im.get("id", 0)))
        order = {im["id"]: i for i, im in enumerate(images)}
        if images and "width" in images[0]:
            size = [images[0]["width"], images[0]["height"]]
        frames = [[] for _ in images]
        for ann in data["annotations"]:
            if ann.get("image_id") in order:
                frames[order[ann["image_id"]]].append(ann)
        if not images:  # annotations without an image list: one frame per image id
            ids = sorted({a.get("image_id", 0) for a in data["annotations"]})
            frames = [[a for a in data["annotations"] if a.get("image_id", 0) == i] for i in ids]
        fps = data.get("fps")
    else:
        if isinstance(data, dict):
            fps = data.get("fps")
            if "image_size" in data:
                size = data["image_size"]
            data = data.get("frames", data.get("results"))
        if not isinstance(data, list):
            raise UserError(f"{path.name}: expected a list of per-frame results with 'keypoints', or COCO annotations")
        frames = []
        if data and all(isinstance(d, dict) and "image_id" in d for d in data):  # detector results
            ids = sorted({d["image_id"] for d in data}, key=lambda v: (isinstance(v, str), v))
            if all(isinstance(i, int) for i in ids):  # frame numbers: frames with nobody are missing
                validate.frame_count(ids[-1] - ids[0] + 1, path.stat().st_size, f"{path.name} (image_id)")
                ids = list(range(ids[0], ids[-1] + 1))
            by_id = {i: [] for i in ids}
            for d in data:
                by_id[d["image_id"]].append(d)
            frames = [by_id[i] for i in ids]
        else:
            for d in data:
                if isinstance(d, dict) and isinstance(d.get("people"), list):  # per-frame list of people
                    frames.append(d["people"])
                elif isinstance(d, list):
                    frames.append(d)
                else:
                    frames.append([d] if d else [])

    validate.frame_count(len(frames), path.stat().st_size, path.name)
    per_frame = []  # each frame's people, the most confident first
    for people in frames:
        people = [p for p in people if isinstance(p, dict) and p.get("keypoints") is not None]
        arrays = [_as_array(p["keypoints"], path) for p in people]
        confidence = [p.get("score", float(np.mean(a[:, 2]))) for p, a in zip(people, arrays, strict=True)]
        per_frame.append([arrays[i] for i in sorted(range(len(arrays)), key=lambda i: -confidence[i])])
    known = [a for people in per_frame for a in people]
    if not known:
        raise UserError(f"{path.name}: no frame has keypoints")
    joints = len(known[0])
    if any(len(a) != joints for a in known):
        raise UserError(f"{path.name}: frames have different numbers of joints")
    return per_frame, fps, size


def _read_npz(path: Path) -> tuple[np.ndarray, float | None, tuple[int, int] | None]:
    data = read_npz(path)
    if "keypoints" not in data:
        raise UserError(f"{path.name}: no 'keypoints' array (expected shape (T, 17|33, 2|3))")
    kp = validate.array(data["keypoints"], f"{path.name}: 'keypoints'").astype(np.float64)
    if kp.ndim != 3 or kp.shape[-1] not in (2, 3):
        raise UserError(f"{path.name}: 'keypoints' must have shape (T, 17|33, 2|3), got {kp.shape}")
    if kp.shape[-1] == 2:
        scores = validate.array(data["scores"], f"{path.name}: 'scores'") if "scores" in data else np.ones(kp.shape[:2])
        if scores.shape != kp.shape[:2]:
            raise UserError(f"{path.name}: 'scores' must have shape {kp.shape[:2]}, got {scores.shape}")
        kp = np.concatenate([kp, scores[..., None]], -1)
    fps = _one_number(data, "fps", path)
    size = data["image_size"].ravel().tolist() if "image_size" in data else None
    return kp, fps, size


def _one_number(data: dict, key: str, path: Path) -> float | None:
    if key not in data:
        return None
    value = validate.array(data[key], f"{path.name}: '{key}'")
    if value.size != 1:
        raise UserError(f"{path.name}: '{key}' must be one number, got shape {value.shape}")
    return value.item()


def read_keypoint_file(path: Path, fps: float | None = None, image_size: tuple[int, int] | None = None) -> Keypoints2D:
    """A COCO-17 / MediaPipe-33 keypoint file -> Keypoints2D in pixels."""
    path = Path(path)
    try:
        kp, file_fps, file_size = (_read_json if path.suffix.lower() == ".json" else _read_npz)(path)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]  # well-formed JSON, wrong content
        raise UserError(f"{path.name}: cannot read keypoints ({reason})") from None
    if isinstance(kp, list):  # JSON: people per frame
        people = [[validate.array(a, f"{path.name}: keypoints") for a in frame] for frame in kp]
        kp = np.stack([frame[0] if frame else np.zeros_like(next(a for f in people for a in f)) for frame in people])
    else:
        people = None
    validate.array(kp, f"{path.name}: keypoints")
    layout = _layout(kp.shape[1], path)
    if file_size is not None:
        if not isinstance(file_size, list | tuple) or len(file_size) != 2:
            raise UserError(f"{path.name}: 'image_size' must be [width, height], got {file_size!r}"[:300])
        file_size = validate.image_size(*file_size, name=f"{path.name}: 'image_size'")
    if file_fps is not None:
        file_fps = validate.fps(file_fps, f"{path.name}: 'fps'")
    if fps is not None:
        fps = validate.fps(fps, "--fps")
    size = image_size or file_size
    points, scores = kp[..., :2], np.clip(kp[..., 2], 0, 1)
    seen = scores > 0
    scale = np.ones(2)
    if seen.any() and np.abs(points[seen]).max() <= 1.5:  # normalised [0, 1] coordinates
        if size is None:
            raise UserError(f"{path.name}: keypoints look normalised to [0, 1]; pass --image-size WIDTHxHEIGHT")
        scale = np.array(size, np.float64)
    notes = []
    if fps is None and file_fps is None:
        notes.append(
            f"{path.name} does not say its frame rate: assumed {DEFAULT_KEYPOINT_FPS:g} fps (set it with --fps)"
        )
    if people is not None:
        people = [
            [np.concatenate([a[:, :2] * scale, np.clip(a[:, 2:], 0, 1)], 1).astype(np.float32) for a in f]
            for f in people
        ]
        if max(len(f) for f in people) <= 1:
            people = None
    return Keypoints2D(
        (points * scale).astype(np.float32),
        scores.astype(np.float32),
        layout,
        float(fps or file_fps or DEFAULT_KEYPOINT_FPS),
        size,
        people,
        notes,
    )


def input_kind(path: Path) -> str:
    """'keypoints', 'video' or 'images' (a folder, or one still), or a UserError saying what is accepted."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"input not found: {path}")
    if path.is_dir():
        return "images"
    suffix = path.suffix.lower()
    if suffix in KEYPOINT_SUFFIXES:
        return "keypoints"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:  # a still: a one-frame sequence
        return "images"
    raise UserError(
        f"cannot lift '{path.name}': give a video ({', '.join(sorted(VIDEO_SUFFIXES))}), a folder of images, "
        "or a keypoint file (.json, .npz)"
    )
