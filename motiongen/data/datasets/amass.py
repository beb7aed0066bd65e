"""AMASS motion files, as distributed (SMPL+H or SMPL-X fits, one .npz per take):

    <root>/<sub-dataset>/<subject>/<take>_poses.npz (or *_stageii.npz)
        poses (T, 156) axis-angle: root orientation, 21 body joints, then the hands (SMPL+H);
              (T, 165) for SMPL-X, (T, 72) for SMPL
        trans (T, 3) metres, Z up; betas (16,) or (10,); gender; dmpls (optional)
        mocap_framerate (SMPL+H) or mocap_frame_rate (SMPL-X)
    <root>/<sub-dataset>/<subject>/shape.npz   betas and gender only (skipped)

The first 22 joints of every body model share SMPL's topology, so their rotations carry over to
our skeleton unchanged; Z up becomes Y up. Our skeleton's bone lengths replace the subject's.
Without a body model the pelvis is placed at trans plus SMPL's mean rest pelvis (1-2 cm off for
other shapes). With `body_model` (the user's SMPL+H folder, read safely through smplx,
motiongen/body/smpl.py) each take's own body is built from its betas and gender: the pelvis is
placed at trans plus that body's rest pelvis, and the path is scaled by our leg length over the
subject's (pelvis height above the lowest joint at rest), so a tall subject's strides fit our
legs instead of sliding the feet. AMASS has no captions and no splits: `captions`
names a CSV (file,start,end,caption, file relative to the root) and then only its rows are
used; without one every take is used whole, with an empty caption (unconditional motion).
`split: all` takes every file; any other split reads <root>/<split>.txt (relative paths).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from motiongen import validate
from motiongen.data.datasets.base import (
    DatasetSpec,
    make_clip,
    need_dir,
    on_floor_20fps,
    read_captions_csv,
    segments,
    split_names,
)
from motiongen.errors import UserError
from motiongen.io.arrays import read_npz
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion

FPS_KEYS = ("mocap_framerate", "mocap_frame_rate")
POSE_WIDTHS = {72: "SMPL", 156: "SMPL+H", 165: "SMPL-X"}
Z_UP_TO_Y_UP = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # (x, y, z) -> (x, z, -y)
SMPL_PELVIS_REST = np.array([-0.001795, -0.223333, 0.028219])  # SMPL's mean body at rest, Z up frame of trans


def subject_fit(body_model: str | Path, betas, gender: str) -> tuple[np.ndarray, float]:
    """(the subject's rest pelvis in the frame of trans, our leg length over the subject's), from
    the user's body model with the take's betas and gender."""
    from motiongen.body import smpl
    from motiongen.motion.skeleton import rest_positions

    body = smpl.load(body_model, betas, option="body_model", gender=gender)
    _, joints = body.rest()  # in SMPL's own rest frame
    joints = joints[:22]
    ours = rest_positions()
    scale = float((ours[0, 1] - ours[:, 1].min()) / (joints[0, 1] - joints[:, 1].min()))
    return joints[0].astype(np.float64), scale


def read_take(path: Path, label: str, body_model: str | Path | None = None) -> Motion:
    """One AMASS file as a Motion at its own frame rate (Y up, pelvis at trans + rest pelvis;
    with `body_model`, the subject's pelvis and the path scaled to our legs)."""
    arrays = read_npz(path)
    lacking = [k for k in ("poses", "trans", "betas", "gender") if k not in arrays]
    if lacking or not any(k in arrays for k in FPS_KEYS):
        need = ", ".join(lacking + ([] if any(k in arrays for k in FPS_KEYS) else ["mocap_framerate"]))
        raise UserError(f"{label}: not an AMASS motion file (lacks {need})")
    poses = validate.array(arrays["poses"], f"{label}: poses").astype(np.float64)
    trans = validate.array(arrays["trans"], f"{label}: trans").astype(np.float64)
    if poses.ndim != 2 or poses.shape[1] not in POSE_WIDTHS or len(poses) < 2:
        raise UserError(f"{label}: poses should be (T, 156) for SMPL+H (72 SMPL, 165 SMPL-X), got {poses.shape}")
    if trans.shape != (len(poses), 3):
        raise UserError(f"{label}: trans should be ({len(poses)}, 3), got {trans.shape}")
    if np.ndim(arrays["betas"]) != 1:
        raise UserError(f"{label}: betas should be one row of shape coefficients, got {np.shape(arrays['betas'])}")
    if arrays["gender"].dtype.kind not in "SU":
        raise UserError(f"{label}: gender should be a string, got {arrays['gender'].dtype}")
    key = next(k for k in FPS_KEYS if k in arrays)
    if np.size(arrays[key]) != 1:
        raise UserError(f"{label}: {key} should be one number")
    fps = validate.fps(float(np.asarray(arrays[key]).reshape(())), f"{label}: {key}")
    rot = R.axis_angle_to_matrix(torch.from_numpy(poses[:, :66].reshape(-1, 22, 3)))
    rot[:, 0] = torch.from_numpy(Z_UP_TO_Y_UP) @ rot[:, 0]
    rest, scale = SMPL_PELVIS_REST, 1.0
    if body_model is not None:
        gender = str(np.asarray(arrays["gender"]).reshape(())).strip().lower()
        rest, scale = subject_fit(body_model, np.asarray(arrays["betas"], np.float32), gender)
    pelvis = ((trans + rest) * scale) @ Z_UP_TO_Y_UP.T
    motion = Motion.from_matrices(rot, pelvis, fps)
    if body_model is not None:
        motion.meta["subject_scale"] = scale
    return motion


def take_files(root: Path, split: str, what: str) -> list[str]:
    """Relative paths of the split's motion files (shape.npz files are not motion)."""
    if split != "all":
        return split_names(root, split, "{split}.txt", what)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.npz") if p.name != "shape.npz")
    if not files:
        raise UserError(f"{what}: no .npz motion files under {root}")
    return files


def convert(spec: DatasetSpec, progress: bool = True):
    what = spec.label
    root = need_dir(spec.root, what)
    table = None
    if spec.captions:
        table = read_captions_csv(root / spec.captions, what)  # an absolute path stays itself
    files = take_files(root, spec.split, what)
    if table is not None:
        files = [f for f in files if f in table]
        if not files:
            raise UserError(f"{what}: no file of the captions table {spec.captions} is in the {spec.split} split")
    for file in tqdm(files, desc=f"converting {what}", unit="take", disable=not progress):
        path = root / file
        if not path.is_file():
            raise UserError(f"{what}: the split lists {file}, which is not in {root}")
        motion = read_take(path, f"{what}: {file}", spec.body_model)
        stem = file[: -len(".npz")] if file.endswith(".npz") else file
        rows = table[file] if table is not None else [(0.0, 0.0, "")]
        for tag, part, captions in segments(motion, rows):
            shape = {"subject_scale": motion.meta["subject_scale"]} if "subject_scale" in motion.meta else {}
            yield make_clip(spec, stem + tag, on_floor_20fps(part), [c for c in captions if c], file, **shape)
