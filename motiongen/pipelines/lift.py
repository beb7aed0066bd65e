"""`LiftPipeline`: a video, image folder or 2D keypoint file -> a 3D `Motion` (diffusers pipeline style).

Steps: read or detect the 2D keypoints (detections cached beside the input) -> follow one person
(tracking.py) -> map them to the lifter's joint set -> fill short gaps by interpolation ->
resample to the lifter's 20 fps -> lift to camera-space 3D with the temporal lifter -> place in
the world (world.py: camera pitch, floor, root trajectory, our bone lengths, feet cleaned up).

    pipe = LiftPipeline.from_pretrained("checkpoints/lifter")
    result = pipe("clip.mp4")
    save_motion(result.motion, "clip.bvh")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from diffusers import DiffusionPipeline

from motiongen.errors import UserError
from motiongen.lifting.cameras import interpolate_gaps
from motiongen.lifting.detect import detect_keypoints
from motiongen.lifting.keypoints import to_lift_joints
from motiongen.lifting.sources import FrameSource, Keypoints2D, input_kind, read_keypoint_file
from motiongen.lifting.tracking import track_person
from motiongen.lifting.world import WorldOptions, to_world
from motiongen.models.lifter import TemporalLifter, lift_sequence
from motiongen.motion.motion import DEFAULT_FPS, Motion
from motiongen.paths import CHECKPOINT_DIR, checkpoint_path, missing_checkpoint, where_checkpoints_are
from motiongen.pipelines.base import check_components, load_checked

DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "lifter"
MIN_CONFIDENCE = 0.05  # below this a joint counts as not seen


@dataclass
class LiftResult:
    motion: Motion  # 20 fps, Y up, on the floor
    keypoints: Keypoints2D  # the 2D input in its own layout and frame rate
    points: np.ndarray  # (T, 18, 2) LIFT_JOINTS at the input's frame rate, gaps filled
    confidence: np.ndarray  # (T, 18); 0 where a joint was not seen
    detected: np.ndarray  # (T,) bool: a person was found in this frame
    source: FrameSource | None  # the frames (None for keypoint files)
    image_size: tuple[int, int]
    focal: float
    camera: dict = field(default_factory=dict)  # estimated height and pitch
    timing: dict = field(default_factory=dict)  # seconds per stage
    lifted: np.ndarray | None = None  # (T20, 22, 3) the lifter's own output: camera space, pelvis-relative, 20 fps
    first_frame: int = 0  # input frame of points[0] (frames before the person is first seen are left out)
    notes: list[str] = field(default_factory=list)  # what was assumed or done (one line each)
    warnings: list[str] = field(default_factory=list)  # problems with the input (one line each)


def resample_track(points: np.ndarray, conf: np.ndarray, fps: float, new_fps: float):
    """Linear resampling of a (T, J, 2) track and its (T, J) confidences, same duration."""
    frames = len(points)
    if frames == 1 or abs(fps - new_fps) < 1e-6:
        return points, conf
    count = max(1, int(round((frames - 1) * new_fps / fps)) + 1)
    t = np.arange(count) * fps / new_fps
    i0 = np.clip(np.floor(t).astype(int), 0, frames - 1)
    i1 = np.minimum(i0 + 1, frames - 1)
    w = (t - i0).astype(np.float32)
    pts = points[i0] * (1 - w[:, None, None]) + points[i1] * w[:, None, None]
    # a joint unseen in either neighbour stays unseen
    c = np.where((conf[i0] > 0) & (conf[i1] > 0), conf[i0] * (1 - w[:, None]) + conf[i1] * w[:, None], 0.0)
    return pts.astype(np.float32), c.astype(np.float32)


class LiftPipeline(DiffusionPipeline):
    def __init__(self, lifter: TemporalLifter):
        super().__init__()
        self.register_modules(lifter=lifter)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path=DEFAULT_CHECKPOINT, **kwargs) -> LiftPipeline:
        path = checkpoint_path(pretrained_model_name_or_path)
        if not path.exists() and where_checkpoints_are():
            raise UserError(missing_checkpoint(path, "lifter checkpoint"))
        if not (path / "model_index.json").exists():
            raise UserError(f"no lifter checkpoint in {path} (expected model_index.json and lifter/)")
        check_components(path)  # before diffusers imports any module the folder names
        pipe = load_checked(super().from_pretrained, path, "lifter checkpoint", ("lifter",), **kwargs)
        return pipe

    def __call__(
        self,
        input_path: str | Path,
        fps: float | None = None,
        focal: float | None = None,
        image_size: tuple[int, int] | None = None,
        progress: bool = True,
        use_cache: bool = True,
        world: WorldOptions | None = None,
        person: int | None = None,
    ) -> LiftResult:
        """Lift one input. `fps` overrides the input's frame rate (image folders default to 20,
        keypoint files that do not say to 30); `focal` is the focal length in pixels (default: the
        image's larger side, a ~53 degree view); `image_size` (width, height) is for keypoint files
        whose image size is unknown; `person` picks the Nth person from the left where several are
        seen (default: the largest, most central one), who is then followed (motiongen.lifting.tracking)."""
        path = Path(input_path)
        kind = input_kind(path)
        timing, notes, warnings = {}, [], []
        began = time.perf_counter()
        source = None
        if kind == "keypoints":
            keypoints = read_keypoint_file(path, fps, image_size)
        else:
            source = FrameSource(path, fps)
            keypoints = detect_keypoints(source, progress=progress, use_cache=use_cache)
            notes += source.notes
            report = source.read_report(len(keypoints.points))
            if report:
                warnings.append(report)
        notes += keypoints.notes
        timing["keypoints"] = time.perf_counter() - began
        if len(keypoints.points) == 0:
            raise UserError(f"{path.name} has no frames")

        tracked = track_person(
            _detections(keypoints), keypoints.fps, image_size or keypoints.image_size, person, keypoints.points.shape[1]
        )
        points, conf = to_lift_joints(tracked.points, tracked.scores, keypoints.layout)
        conf = np.where(conf >= MIN_CONFIDENCE, conf, 0.0).astype(np.float32)
        detected = tracked.found & ((conf > 0).sum(-1) >= 4)  # a person needs at least a few joints
        conf[~detected] = 0.0
        if not detected.any():
            what = "keypoints" if kind == "keypoints" else "a person"
            raise UserError(
                f"no person found in {path.name} ({len(keypoints.points)} frames): the video needs {what} "
                "clearly visible, or give a 2D keypoint file"
            )
        notes += tracked.notes
        points, conf = interpolate_gaps(points, conf)

        size = image_size or keypoints.image_size
        if size is None:
            size = _size_from_points(points, conf)
            notes.append(
                f"image size unknown: assumed {size[0]}x{size[1]} from the keypoints' extent, centre in the middle "
                "(set it with --image-size WIDTHxHEIGHT; the root path depends on it)"
            )
        size = tuple(size)
        if focal is None:
            notes.append(f"focal length unknown: assumed {max(size)} px, the image's larger side (set it with --focal)")
        focal = float(focal or max(size))
        center = np.array(size, np.float32) / 2

        began = time.perf_counter()
        points20, conf20 = resample_track(points, conf, keypoints.fps, DEFAULT_FPS)
        relative, contacts = lift_sequence(self.lifter, points20, conf20)
        timing["lift"] = time.perf_counter() - began
        began = time.perf_counter()
        motion, camera = to_world(relative, points20, conf20, focal, center, DEFAULT_FPS, world, contacts)
        timing["world"] = time.perf_counter() - began
        motion.meta = {"source": path.name, "lifted_from": kind, "camera": camera}
        if tracked.first or len(points) < len(keypoints.points):
            motion.meta["input_frames"] = [tracked.first, tracked.first + len(points)]
        return LiftResult(
            motion, keypoints, points, conf, detected, source, size, focal, camera, timing, relative,
            tracked.first, notes, warnings,
        )  # fmt: skip


def _detections(keypoints: Keypoints2D) -> list[list[np.ndarray]]:
    """Everyone detected in each frame, (J, 3) [x, y, score] each."""
    if keypoints.people is not None:
        return keypoints.people
    track = np.concatenate([keypoints.points, keypoints.scores[..., None]], -1)
    return [[person] if (person[:, 2] > 0).any() else [] for person in track]


def _size_from_points(points: np.ndarray, conf: np.ndarray) -> tuple[int, int]:
    """A guess at the image size when nobody says: the keypoints' extent with a margin."""
    seen = points[conf > 0]
    far = seen.max(0) * 1.1 if len(seen) else np.array([1000.0, 1000.0])
    return int(max(far[0], 16)), int(max(far[1], 16))


def save_pipeline(lifter: TemporalLifter, path: str | Path) -> Path:
    """Write a pipeline folder (model_index.json + lifter/ with safetensors weights)."""
    LiftPipeline(lifter).save_pretrained(str(path), safe_serialization=True)
    return Path(path)
