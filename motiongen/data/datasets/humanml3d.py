"""HumanML3D and KIT-ML, in the layout both are distributed in:

    <root>/new_joints/<id>.npy       joint positions (T, 22, 3) metres (HumanML3D) or (T, 21, 3)
                                     millimetres (KIT-ML); Y up, first frame facing +Z
    <root>/new_joint_vecs/<id>.npy   the matching feature vectors (T, 263) / (T, 251)
    <root>/texts/<id>.txt            one caption a line: caption#tokens#start#end (seconds;
                                     0#0 or nan#nan: the whole clip)
    <root>/train.txt val.txt test.txt (train_val.txt, all.txt)   ids, one a line
    <root>/Mean.npy, Std.npy         (263,) / (251,) statistics of the feature vectors

Ids starting with M are the datasets' own mirrored copies (captions already swapped), so a
recipe on these sets turns our mirroring off. HumanML3D is at 20 fps, KIT-ML at 12.5 fps.
The joint positions are turned into our rotations by inverse kinematics (bone directions only:
the datasets' bone lengths do not matter); KIT-ML's 21 MMM joints are mapped onto SMPL-22 first.
The feature vectors and Mean/Std are checked (they belong to the published evaluators), not used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motiongen import validate
from motiongen.data.datasets.base import (
    DatasetSpec,
    cut,
    make_clip,
    need_dir,
    on_floor_20fps,
    read_lines,
    split_names,
)
from motiongen.errors import UserError
from motiongen.io.arrays import read_npy
from motiongen.motion.motion import Motion


@dataclass(frozen=True)
class Layout:
    joints: int
    vector_dim: int
    fps: float
    metres_per_unit: float


HUMANML3D = Layout(joints=22, vector_dim=263, fps=20.0, metres_per_unit=1.0)
KIT = Layout(joints=21, vector_dim=251, fps=12.5, metres_per_unit=0.001)

# KIT-ML's joints (MMM model): root, BP, BT, BLN, BUN, LS, LE, LW, RS, RE, RW, LH, LK, LA, LMrot,
# LF, RH, RK, RA, RMrot, RF. Each SMPL-22 joint is one of them or a point between two.
KIT_TO_SMPL = (
    (0,), (11,), (16,), (1,), (12,), (17,), (2,), (13,), (18,), (2, 3), (14,), (19,), (3,),
    (3, 5), (3, 8), (4,), (5,), (8,), (6,), (9,), (7,), (10,),
)  # fmt: skip


def kit_to_smpl22(joints: np.ndarray) -> np.ndarray:
    """(T, 21, 3) KIT-ML joints -> (T, 22, 3) SMPL-22 positions (spine3 and the collars halfway)."""
    return np.stack([joints[:, list(src)].mean(1) for src in KIT_TO_SMPL], 1)


def parse_text_line(line: str, where: str) -> tuple[str, float, float]:
    """(caption, start s, end s) of a texts/<id>.txt line `caption#tokens#start#end`."""
    parts = line.rsplit("#", 3)
    if len(parts) != 4 or not parts[0].strip():
        raise UserError(f"{where}: expected caption#tokens#start#end, got {line[:60]!r}")
    try:
        start, end = float(parts[2]), float(parts[3])
    except ValueError:
        raise UserError(f"{where}: start and end must be seconds, got {parts[2]!r} and {parts[3]!r}") from None
    start = 0.0 if math.isnan(start) else start
    end = 0.0 if math.isnan(end) else end
    if start < 0 or end < 0 or (end and end <= start):
        raise UserError(f"{where}: bad time range {start}-{end}")
    return parts[0].strip(), start, end


def check_stats(root: Path, layout: Layout, what: str) -> None:
    for name in ("Mean.npy", "Std.npy"):
        path = root / name
        if not path.is_file():
            raise UserError(f"{what}: no {name} in {root} (it comes with the dataset)")
        values = read_npy(path)
        if values.shape != (layout.vector_dim,):
            raise UserError(f"{what}: {name} should have shape ({layout.vector_dim},), got {values.shape}")
        validate.array(values, f"{what}: {name}")


def read_joints(path: Path, layout: Layout, what: str) -> np.ndarray:
    joints = read_npy(path)
    if joints.ndim != 3 or joints.shape[1:] != (layout.joints, 3) or len(joints) < 2:
        raise UserError(f"{what}: {path.name} should hold joint positions (T, {layout.joints}, 3), got {joints.shape}")
    return validate.array(joints, f"{what}: {path.name}").astype(np.float64) * layout.metres_per_unit


def check_vectors(path: Path, frames: int, layout: Layout, what: str) -> None:
    vectors = read_npy(path)
    if vectors.ndim != 2 or vectors.shape[1] != layout.vector_dim:
        raise UserError(f"{what}: {path.name} should hold ({frames}, {layout.vector_dim}) vectors, got {vectors.shape}")
    if abs(len(vectors) - frames) > 1:  # the vectors have one row fewer than the raw joints
        raise UserError(f"{what}: {path.name} has {len(vectors)} rows for {frames} frames of joints")


def convert(spec: DatasetSpec, progress: bool = True, layout: Layout = HUMANML3D):
    """Yield the clips of one split: each id's whole motion with its whole-clip captions, and a
    clip per captioned time range."""
    what = spec.label
    root = need_dir(spec.root, what)
    for sub in ("new_joints", "new_joint_vecs", "texts"):
        need_dir(root / sub, f"{what} (the {sub}/ folder)")
    check_stats(root, layout, what)
    names = split_names(root, spec.split, "{split}.txt", what)
    missing = 0
    for name in tqdm(names, desc=f"converting {what}", unit="clip", disable=not progress):
        joints_file, text_file = root / "new_joints" / f"{name}.npy", root / "texts" / f"{name}.txt"
        if not joints_file.is_file() or not text_file.is_file():
            missing += 1
            continue
        joints = read_joints(joints_file, layout, what)
        vectors_file = root / "new_joint_vecs" / f"{name}.npy"
        if vectors_file.is_file():
            check_vectors(vectors_file, len(joints), layout, what)
        positions = joints if layout.joints == 22 else kit_to_smpl22(joints)
        motion = Motion.from_positions(positions.astype(np.float32), layout.fps)
        by_range: dict[tuple[float, float], list[str]] = {}
        for number, line in enumerate(read_lines(text_file, what), start=1):
            caption, start, end = parse_text_line(line, f"{what}: {text_file.name} line {number}")
            by_range.setdefault((start, end), []).append(caption)
        for (start, end), captions in by_range.items():
            part = cut(motion, start, end)
            if part is None:
                continue
            tag = "" if (start, end) == (0.0, 0.0) else f"@{start:g}-{end:g}"
            yield make_clip(spec, name + tag, on_floor_20fps(part), captions, f"new_joints/{name}.npy")
    if missing == len(names):
        raise UserError(f"{what}: none of the {len(names)} ids of {spec.split}.txt has new_joints/ and texts/ files")
    if missing:
        warnings.warn(
            f"{what}: {missing} of {len(names)} ids of {spec.split}.txt lack a joints or text file; left out",
            stacklevel=2,
        )


def convert_kit(spec: DatasetSpec, progress: bool = True):
    return convert(spec, progress, KIT)
