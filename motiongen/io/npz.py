"""`.npz` motion files in two layouts, told apart by their keys.

AMASS layout (written by default; what AMASS, and tools built on it, read and write):
    poses (T, 72) axis-angle: root orientation, 21 body joints, 2 hand joints (zeros here);
        wider SMPL+H (156) and SMPL-X (165) poses are read too, keeping the first 22 joints.
    trans (T, 3), betas (10,) zeros, mocap_framerate, gender "neutral".
    The world is Z up (ours is Y up): (x, y, z)_ours -> (x, -z, y)_AMASS, so a person facing +Z
    in our world faces -Y in AMASS's, as AMASS clips do.
    `trans` is SMPL's translation, which moves the body's rest pose: the pelvis ends up at
    trans + SMPL_PELVIS_REST (the pelvis position of SMPL's neutral body at rest, not rotated
    by the root orientation). We keep the pelvis where it is: trans = pelvis - SMPL_PELVIS_REST.
    Bodies with other shapes or genders have their pelvis 1-2 cm elsewhere.
    Local joint rotations carry over unchanged: our rest pose uses SMPL's joint frames
    (T-pose, Y up, facing +Z), though SMPL's rest arms and legs are not exactly straight.

motiongen layout (our built-in corpus, data/corpus/*.npz):
    quats (T, 22, 4) local rotations (w, x, y, z), root (T, 3) pelvis position, fps.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from motiongen.errors import UserError
from motiongen.io import single_person
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import NUM_JOINTS

Y_UP_TO_Z_UP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # a quarter turn about +X
SMPL_PELVIS_REST = np.array([-0.001795, -0.223333, 0.028219])  # SMPL neutral body, betas = 0
AMASS_FPS_KEYS = ("mocap_framerate", "mocap_frame_rate", "fps")
LAYOUTS = ("amass", "motiongen")


def read(path: str | Path) -> Motion:
    path = Path(path)
    arrays = _load(path)
    if {"quats", "root"} <= arrays.keys():
        return _read_motiongen(arrays, path.name)
    if {"poses", "trans"} <= arrays.keys():
        return _read_amass(arrays, path.name)
    raise UserError(
        f"{path.name} has neither the AMASS layout (poses, trans, mocap_framerate) nor motiongen's "
        f"(quats, root, fps); its keys are: {', '.join(sorted(arrays)) or 'none'}"
    )


def write(motions, path: str | Path, layout: str = "amass") -> None:
    """Write one Motion; layout "amass" (default) or "motiongen" (the corpus layout)."""
    motion = single_person(motions, ".npz")
    if layout == "amass":
        arrays = _amass_arrays(motion)
    elif layout == "motiongen":
        arrays = dict(quats=motion.quats, root=motion.root, fps=np.float32(motion.fps))
    else:
        raise UserError(f"unknown npz layout '{layout}'; use one of {', '.join(LAYOUTS)}")
    with open(path, "wb") as f:  # a file object, so numpy does not change the name
        np.savez(f, **arrays)


# -- layouts ------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, np.ndarray]:
    """All arrays of the file, never unpickling anything."""
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path.name} is not a valid .npz file (not a zip archive of arrays)")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise UserError(f"{path.name} is not a valid .npz file ({exc})") from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UserError(f"{path.name} holds Python objects, which are not loaded for safety") from None
        raise UserError(f"{path.name} is not a valid .npz file ({exc})") from None


def _read_motiongen(arrays: dict, label: str) -> Motion:
    quats = _finite(arrays["quats"], label, "quats")
    root = _finite(arrays["root"], label, "root")
    if quats.ndim != 3 or quats.shape[1:] != (NUM_JOINTS, 4) or root.shape != (len(quats), 3) or not len(quats):
        raise UserError(
            f"{label}: quats must be (T, {NUM_JOINTS}, 4) and root (T, 3) with T > 0, "
            f"got {quats.shape} and {root.shape}"
        )
    fps = _fps(arrays, ("fps",), label)
    return Motion(quats, root, fps)


def _read_amass(arrays: dict, label: str) -> Motion:
    poses = _finite(arrays["poses"], label, "poses").astype(np.float64)
    trans = _finite(arrays["trans"], label, "trans").astype(np.float64)
    if poses.ndim != 2 or poses.shape[1] < 3 * NUM_JOINTS or poses.shape[1] % 3 or not len(poses):
        raise UserError(
            f"{label}: poses must be (T, 72) axis-angle (or 156 / 165 wide for SMPL+H / SMPL-X), got {poses.shape}"
        )
    if trans.shape != (len(poses), 3):
        raise UserError(f"{label}: trans must be ({len(poses)}, 3), got {trans.shape}")
    fps = _fps(arrays, AMASS_FPS_KEYS, label)
    rot = R.axis_angle_to_matrix(torch.from_numpy(poses[:, : 3 * NUM_JOINTS].reshape(-1, NUM_JOINTS, 3)))
    to_y_up = torch.from_numpy(Y_UP_TO_Z_UP.T)
    rot[:, 0] = to_y_up @ rot[:, 0]
    pelvis = (trans + SMPL_PELVIS_REST) @ Y_UP_TO_Z_UP  # row-vector form of Y_UP_TO_Z_UP.T @ p
    return Motion.from_matrices(rot, pelvis, fps)


def _amass_arrays(motion: Motion) -> dict[str, np.ndarray]:
    rot = R.quat_to_matrix(torch.from_numpy(motion.quats.astype(np.float64)))
    rot[:, 0] = torch.from_numpy(Y_UP_TO_Z_UP) @ rot[:, 0]
    poses = np.zeros((len(motion), 72))
    poses[:, : 3 * NUM_JOINTS] = R.matrix_to_axis_angle(rot).reshape(len(motion), -1).numpy()
    trans = motion.root.astype(np.float64) @ Y_UP_TO_Z_UP.T - SMPL_PELVIS_REST
    return dict(
        poses=poses, trans=trans, betas=np.zeros(10), mocap_framerate=np.float64(motion.fps), gender=np.array("neutral")
    )


def _finite(array: np.ndarray, label: str, key: str) -> np.ndarray:
    if not np.issubdtype(array.dtype, np.number):
        raise UserError(f"{label}: '{key}' is not numeric (dtype {array.dtype})")
    if not np.isfinite(array).all():
        raise UserError(f"{label}: '{key}' contains NaN or infinite values")
    return array


def _fps(arrays: dict, keys: tuple[str, ...], label: str) -> float:
    for key in keys:
        if key in arrays:
            value = np.asarray(arrays[key])
            if value.size == 1 and np.issubdtype(value.dtype, np.number) and float(value) > 0:
                return float(value)
            raise UserError(f"{label}: '{key}' must be one positive number, got {value!r}")
    raise UserError(f"{label} has no frame rate (none of the keys {', '.join(keys)})")
