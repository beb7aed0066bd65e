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

Either layout may hold `motiongen_meta`: what made the motion (prompt, seed, sampler, ...; see
provenance.py) as a JSON string, a key AMASS tools do not look for.

Several people (a duet) share one file in the motiongen layout with a leading person axis:
    quats (P, T, 22, 4), root (P, T, 3), fps, frames (P,) each person's own length (shorter
    people are padded with their last pose). AMASS has no several-person layout, so several
    people are always written this way. `read` gives the first person, `read_people` all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from motiongen import validate
from motiongen.errors import UserError
from motiongen.io import provenance, single_person
from motiongen.io.arrays import read_npz
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import NUM_JOINTS

Y_UP_TO_Z_UP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # a quarter turn about +X
SMPL_PELVIS_REST = np.array([-0.001795, -0.223333, 0.028219])  # SMPL neutral body, betas = 0
AMASS_FPS_KEYS = ("mocap_framerate", "mocap_frame_rate", "fps")
LAYOUTS = ("amass", "motiongen")


def read(path: str | Path) -> Motion:
    """The motion in the file; of a several-person file, the first person."""
    return read_people(path)[0]


def read_people(path: str | Path) -> list[Motion]:
    """Every person in the file (one for the AMASS and the single-person layouts)."""
    path = Path(path)
    arrays = _load(path)
    if {"quats", "root"} <= arrays.keys() and np.ndim(arrays["quats"]) == 4:
        people = _read_people(arrays, path.name)
    else:
        people = [_read_one(arrays, path)]
    for motion, record in zip(people, _records(arrays), strict=False):
        motion.meta.update(record)
    return people


def _read_one(arrays: dict, path: Path) -> Motion:
    if {"quats", "root"} <= arrays.keys():
        return _read_motiongen(arrays, path.name)
    if {"poses", "trans"} <= arrays.keys():
        return _read_amass(arrays, path.name)
    raise UserError(
        f"{path.name} has neither the AMASS layout (poses, trans, mocap_framerate) nor motiongen's "
        f"(quats, root, fps); its keys are: {', '.join(sorted(arrays)) or 'none'}"
    )


def write(motions, path: str | Path, layout: str = "amass") -> None:
    """Write one Motion; layout "amass" (default) or "motiongen" (the corpus layout). Several
    people are written in the several-person motiongen layout (module docstring)."""
    if layout not in LAYOUTS:
        raise UserError(f"unknown npz layout '{layout}'; use one of {', '.join(LAYOUTS)}")
    people = [motions] if isinstance(motions, Motion) else list(motions)
    made_by = provenance.describe(people)
    record = {provenance.NPZ_KEY: np.array(made_by)} if made_by else {}  # no record: the file as before
    if len(people) > 1:
        with open(path, "wb") as f:
            np.savez(f, **_people_arrays(people), **record)
        return
    motion = single_person(motions, ".npz")
    if layout == "amass":
        arrays = _amass_arrays(motion)
    elif layout == "motiongen":
        arrays = dict(quats=motion.quats, root=motion.root, fps=np.float32(motion.fps))
    else:
        raise UserError(f"unknown npz layout '{layout}'; use one of {', '.join(LAYOUTS)}")
    with open(path, "wb") as f:  # a file object, so numpy does not change the name
        np.savez(f, **arrays, **record)


# -- layouts ------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, np.ndarray]:
    """All arrays of the file, sizes checked against the file, never unpickling anything."""
    return read_npz(path)


def _read_motiongen(arrays: dict, label: str) -> Motion:
    quats = _finite(arrays["quats"], label, "quats")
    root = _finite(arrays["root"], label, "root")
    if quats.ndim != 3 or quats.shape[1:] != (NUM_JOINTS, 4) or root.shape != (len(quats), 3) or not len(quats):
        raise UserError(
            f"{label}: quats must be (T, {NUM_JOINTS}, 4) and root (T, 3) with T > 0, "
            f"got {quats.shape} and {root.shape}"
        )
    if (np.linalg.norm(quats.astype(np.float64), axis=-1) < 1e-6).any():
        raise UserError(f"{label}: 'quats' holds zero-length quaternions; rotations need unit quaternions (w, x, y, z)")
    fps = _fps(arrays, ("fps",), label)
    return Motion(quats, root, fps)


def _people_arrays(people: list[Motion]) -> dict[str, np.ndarray]:
    fps = people[0].fps
    if any(abs(m.fps - fps) > 1e-6 for m in people):
        raise UserError("the people of one .npz file must share a frame rate; resample them first")
    frames = max(len(m) for m in people)

    def padded(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a, np.repeat(a[-1:], frames - len(a), 0)])

    return dict(
        quats=np.stack([padded(m.quats) for m in people]),
        root=np.stack([padded(m.root) for m in people]),
        fps=np.float32(fps),
        frames=np.array([len(m) for m in people], np.int64),
    )


def _read_people(arrays: dict, label: str) -> list[Motion]:
    quats, root = arrays["quats"], arrays["root"]
    if np.ndim(root) != 3 or quats.shape[:2] != root.shape[:2]:
        raise UserError(
            f"{label}: several people need quats (P, T, 22, 4) and root (P, T, 3), got {quats.shape} and {root.shape}"
        )
    count, length = quats.shape[:2]
    frames = _finite(np.asarray(arrays.get("frames", np.full(count, length))), label, "frames").reshape(-1)
    if len(frames) != count or (frames < 1).any() or (frames > length).any() or (frames % 1).any():
        raise UserError(f"{label}: 'frames' must give each of the {count} people a length from 1 to {length}")
    people = []
    for i in range(count):
        one = {**arrays, "quats": quats[i, : int(frames[i])], "root": root[i, : int(frames[i])]}
        people.append(_read_motiongen(one, f"{label} (person {i + 1})"))
    return people


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


def _records(arrays: dict) -> list[dict]:
    """Each person's `motiongen_meta` record; none when the key is missing or not one string."""
    value = arrays.get(provenance.NPZ_KEY)
    if value is None or value.dtype.kind != "U" or value.size != 1:
        return []
    return provenance.parse(str(value.reshape(()).item()))


def _finite(array: np.ndarray, label: str, key: str) -> np.ndarray:
    return validate.array(array, f"{label}: '{key}'")


def _fps(arrays: dict, keys: tuple[str, ...], label: str) -> float:
    for key in keys:
        if key in arrays:
            value = np.asarray(arrays[key])
            if value.size != 1:
                raise UserError(f"{label}: '{key}' must be one number (frames per second), got shape {value.shape}")
            return validate.fps(validate.array(value, f"{label}: '{key}'").item(), f"{label}: '{key}'")
    raise UserError(f"{label} has no frame rate (none of the keys {', '.join(keys)})")
