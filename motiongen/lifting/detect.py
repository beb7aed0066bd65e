"""2D pose detection with MediaPipe Pose, cached next to the input.

MediaPipe Pose (the legacy `solutions` API of mediapipe 0.10.21, whose model ships in the wheel)
finds one person per frame and reports 33 landmarks. Detection is the slow part of lifting, so the
result is saved as `<input>.keypoints.npz` (or in the user cache folder when the input's folder is
read-only) with a signature of the input's files; a re-run with unchanged input skips detection.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from motiongen.errors import UserError
from motiongen.lifting.sources import FrameSource, Keypoints2D

DETECTOR = "mediapipe-pose-0.10.21-complexity1"
CACHE_SUFFIX = ".keypoints.npz"


@contextmanager
def _native_logs_silenced():
    """MediaPipe's C++ side logs to file descriptor 2 whatever the settings; send that to /dev/null
    while it runs and give back a stream on the real stderr for the progress bar."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    stream = os.fdopen(os.dup(saved), "w")
    try:
        yield stream
    finally:
        stream.flush()
        stream.close()
        os.dup2(saved, 2)
        os.close(saved)


def detect_mediapipe(frames: Iterable[np.ndarray], total: int | None = None, progress: bool = True):
    """RGB frames -> (points (T, 33, 2) pixels, scores (T, 33)); frames with no person get scores 0."""
    import mediapipe as mp
    from tqdm.auto import tqdm

    points, scores = [], []
    with _native_logs_silenced() as stderr, mp.solutions.pose.Pose(model_complexity=1, static_image_mode=False) as pose:
        for frame in tqdm(frames, total=total, desc="detect", unit="frame", disable=not progress, file=stderr):
            height, width = frame.shape[:2]
            result = pose.process(np.ascontiguousarray(frame))
            if result.pose_landmarks is None:
                points.append(np.zeros((33, 2), np.float32))
                scores.append(np.zeros(33, np.float32))
                continue
            marks = result.pose_landmarks.landmark
            points.append(np.array([[m.x * width, m.y * height] for m in marks], np.float32))
            scores.append(np.array([m.visibility for m in marks], np.float32))
    if not points:
        return np.zeros((0, 33, 2), np.float32), np.zeros((0, 33), np.float32)
    return np.stack(points), np.clip(np.stack(scores), 0.0, 1.0)


def cache_path(input_path: Path) -> Path:
    """`<input>.keypoints.npz` beside the input, or a user cache file if that folder is read-only."""
    input_path = Path(input_path).resolve()
    beside = input_path.with_name(input_path.name + CACHE_SUFFIX)
    if os.access(input_path.parent, os.W_OK):
        return beside
    import hashlib

    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "motiongen" / "keypoints"
    return home / (hashlib.sha1(str(input_path).encode()).hexdigest()[:16] + CACHE_SUFFIX)


def _load_cache(path: Path, signature: str) -> Keypoints2D | None:
    if not path.exists():
        return None
    from motiongen.io.arrays import read_npz

    try:
        data = read_npz(path)  # sizes checked: a user's file of this name cannot make us allocate much
        if str(data["signature"]) != signature or str(data["detector"]) != DETECTOR:
            return None
        return Keypoints2D(
            data["points"],
            data["scores"],
            "mediapipe33",
            float(data["fps"]),
            tuple(int(v) for v in data["image_size"]),
        )
    except Exception:  # a damaged cache is simply redone
        return None


def _is_ours(path: Path) -> bool:
    """Whether `path` is a detection cache we wrote (a user's file of that name is left alone)."""
    from motiongen.io.arrays import read_npz

    try:
        return {"signature", "detector", "points"} <= read_npz(path).keys()
    except UserError:
        return False


def _save_cache(path: Path, kp: Keypoints2D, signature: str) -> None:
    from motiongen.io.atomic import atomic_path

    if path.exists() and not _is_ours(path):
        return  # never overwrite a file we did not write
    arrays = dict(points=kp.points, scores=kp.scores, fps=kp.fps, image_size=np.array(kp.image_size))
    with atomic_path(path, force=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays, signature=signature, detector=DETECTOR)


def detect_keypoints(source: FrameSource, progress: bool = True, use_cache: bool = True) -> Keypoints2D:
    """The person's MediaPipe-33 track over all frames of `source`, from the cache when it is current."""
    signature = source.signature()
    cache = cache_path(source.path)
    if use_cache:
        cached = _load_cache(cache, signature)
        if cached is not None:
            cached.fps = source.fps  # the frame rate may be overridden by the user
            return cached
    points, scores = detect_mediapipe(source.frames(), source.num_frames, progress)
    kp = Keypoints2D(points, scores, "mediapipe33", source.fps, tuple(source.size))
    try:
        _save_cache(cache, kp, signature)
    except (OSError, UserError):
        pass  # caching is a convenience; lifting goes on without it
    return kp
