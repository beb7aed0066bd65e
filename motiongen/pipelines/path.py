"""A path for the root to follow (`motiongen complete --path FILE | --waypoints "x,z;..."`).

The path becomes the root's planar velocity and turning rate per frame, which are imposed while
sampling without being given to the model as known input (`KnownMotion.imputed`): the model
sees a noisy clip whose root moves along the path and fills in a body that moves that way, the
text deciding how (walking, running, "like a zombie"). Its root height is left to the model.
After sampling, the clip is placed at the path's start, so the root follows the path exactly.

Path files: CSV (a header line is optional) or JSON (a list of [t, x, z] / [t, x, z, heading] or
of {"t", "x", "z", "heading"}), time in seconds from 0, x and z in metres on the floor (Y up),
heading in degrees about +Y (0 = facing +Z) where given; without it the person faces the way the
path goes. Waypoints are visited at an even speed over --seconds.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import torch

from motiongen.conditioning.partial import KnownMotion
from motiongen.errors import UserError
from motiongen.motion.features import FEATURE_DIM, SLICES, motion_to_features
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import NUM_JOINTS

STANDING_HEIGHT = 0.93  # pelvis height of the path's stand-in body (the model makes its own)
STILL_SPEED = 0.05  # m/s: slower than this, the person keeps facing the way they faced
MAX_SPEED = 12.0  # m/s: faster is no human path


def read_path(file: str | Path) -> np.ndarray:
    """Rows (t, x, z, heading in degrees or NaN) from a CSV or JSON path file."""
    file = Path(file)
    if not file.is_file():
        raise UserError(f"path file not found: {file}")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{file} is not UTF-8 text; save the path as CSV or JSON") from None
    try:
        rows = _json_rows(json.loads(text)) if file.suffix.lower() == ".json" else _csv_rows(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise UserError(f"cannot read the path in {file.name}: {exc}") from None
    return check_path(np.asarray(rows, np.float64), file.name)


def _json_rows(data) -> list:
    if isinstance(data, dict) and "path" in data:
        data = data["path"]
    if not isinstance(data, list):
        raise ValueError("expected a list of [t, x, z(, heading)] or of {t, x, z(, heading)}")
    rows = []
    for item in data:
        if isinstance(item, dict):
            item = [item["t"], item["x"], item["z"], item.get("heading")]
        if not isinstance(item, list) or not 3 <= len(item) <= 4:
            raise ValueError(f"a point must be [t, x, z] or [t, x, z, heading], got {item!r}")
        rows.append([float(v) if v is not None else np.nan for v in item] + [np.nan] * (4 - len(item)))
    return rows


def _csv_rows(text: str) -> list:
    rows = []
    for n, cells in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [c.strip() for c in cells if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        if not rows and not _is_number(cells[0]):  # a header line
            continue
        if not 3 <= len(cells) <= 4:
            raise ValueError(f"line {n} has {len(cells)} values; write t,x,z or t,x,z,heading")
        rows.append([float(c) for c in cells] + [np.nan] * (4 - len(cells)))
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def check_path(rows: np.ndarray, name: str = "the path") -> np.ndarray:
    if len(rows) < 2:
        raise UserError(f"{name} needs at least two points (t, x, z)")
    if not np.isfinite(rows[:, :3]).all():
        raise UserError(f"{name} holds a time or position that is not a finite number")
    t = rows[:, 0]
    if abs(t[0]) > 1e-9:
        raise UserError(f"{name} must start at time 0 (its first time is {t[0]:g} s)")
    if (np.diff(t) <= 0).any():
        raise UserError(f"{name}'s times must increase from point to point")
    speed = np.linalg.norm(np.diff(rows[:, 1:3], axis=0), axis=-1) / np.diff(t)
    if speed.max() > MAX_SPEED:
        raise UserError(f"{name} asks for {speed.max():.1f} m/s between two points; people move at most {MAX_SPEED:g}")
    return rows


def parse_waypoints(text: str, seconds: float | None) -> np.ndarray:
    """'x,z;x,z;...' -> path rows visiting them at an even speed over `seconds`."""
    if seconds is None:
        raise UserError("--waypoints needs --seconds N: how long the walk through them takes")
    try:
        points = np.array([[float(v) for v in p.split(",")] for p in str(text).split(";") if p.strip()], np.float64)
    except ValueError:
        raise UserError(f"--waypoints must be 'x,z;x,z;...' in metres, got '{text}'") from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise UserError(f"--waypoints needs at least two points 'x,z;x,z', got '{text}'")
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=-1)
    if lengths.sum() < 1e-6:
        raise UserError("--waypoints are all the same point; give places to go")
    t = np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum() * seconds
    keep = np.concatenate([[True], lengths > 1e-9])  # repeated points add nothing
    rows = np.column_stack([t, points, np.full(len(points), np.nan)])[keep]
    return check_path(rows, "--waypoints")


def path_motion(rows: np.ndarray, fps: float) -> Motion:
    """A stand-in body (rest pose, pelvis at standing height) whose root follows the path at `fps`."""
    t = np.arange(int(round(rows[-1, 0] * fps)) + 1) / fps
    x, z = np.interp(t, rows[:, 0], rows[:, 1]), np.interp(t, rows[:, 0], rows[:, 2])
    given = np.isfinite(rows[:, 3])
    if given.any():  # headings given: unwrapped, then interpolated
        heading = np.interp(t, rows[given, 0], np.unwrap(np.radians(rows[given, 3])))
    else:
        heading = _travel_heading(x, z, fps)
    quats = np.zeros((len(t), NUM_JOINTS, 4), np.float32)
    quats[..., 0] = 1.0
    quats[:, 0] = np.column_stack([np.cos(heading / 2), np.zeros_like(t), np.sin(heading / 2), np.zeros_like(t)])
    root = np.column_stack([x, np.full_like(t, STANDING_HEIGHT), z])
    return Motion(quats, root, fps)


def _travel_heading(x: np.ndarray, z: np.ndarray, fps: float) -> np.ndarray:
    """Facing the way the path goes, smoothed; kept while standing still."""
    dx, dz = np.gradient(x) * fps, np.gradient(z) * fps
    moving = np.hypot(dx, dz) > STILL_SPEED
    if not moving.any():
        return np.zeros_like(x)
    heading = np.arctan2(dx, dz)
    index = np.where(moving, np.arange(len(x)), -1)
    index = np.maximum.accumulate(index)
    index[index < 0] = np.argmax(moving)  # before the first move: face the first direction
    heading = np.unwrap(heading[index])
    width = max(1, int(0.3 * fps))  # a quick turn takes about 0.3 s
    kernel = np.ones(2 * width + 1) / (2 * width + 1)
    padded = np.pad(heading, width, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def place_on_path(motion: Motion, path: Motion) -> Motion:
    """Decoded features start at the origin facing +Z: turned by the path's first heading and
    moved to its start, the root path is the path (the body's own facing may differ a little)."""
    from motiongen.motion.placement import bend

    pivot = motion.root[0, [0, 2]].astype(np.float64)
    shift = path.root[0, [0, 2]].astype(np.float64) - pivot
    return bend(motion, np.ones(len(motion)), float(path.heading()[0]), pivot, shift)


def path_known(path: Motion) -> KnownMotion:
    """The path's root velocity and turning per frame, imputed while sampling (module docstring)."""
    imputed = torch.zeros(len(path), FEATURE_DIM, dtype=torch.bool)
    imputed[:, SLICES["root_velocity"]] = True
    imputed[:, SLICES["heading_rate"]] = True  # frame 0's too (zero, as in every clip): it turns the rest
    return KnownMotion(motion_to_features(path) * imputed, KnownMotion.empty(len(path)).mask, imputed)
