"""`.npz` motion files in three layouts, told apart by their keys and widths.

smplh (written by default): AMASS's own layout, the SMPL+H body AMASS fits every clip to, and
what HumanML3D's raw_pose_processing reads (`poses`, `trans`, `mocap_framerate`, `betas`, `gender`):
    poses (T, 156) axis-angle: root orientation (3), 21 body joints (63), left hand 15 x 3 and
        right hand 15 x 3 (zeros here: we have no fingers); trans (T, 3); betas (16,) zeros;
        dmpls (T, 8) zeros (AMASS's soft-tissue coefficients); gender "neutral" (or the one given
        or read from the input); mocap_framerate, and its newer spelling mocap_frame_rate.
smpl: the SMPL body, 72-wide poses: root, 21 body joints, 2 hand joints (zeros); betas (10,);
    trans, gender, mocap_framerate as above. ("amass", the earlier name, means smplh now.)
    Readers take any width: 72 (SMPL), 156 (SMPL+H) or 165 (SMPL-X), keeping the first 22 joints,
    and keep the file's gender and betas in `Motion.meta` (smpl_gender, smpl_betas), so an AMASS
    clip written back keeps its body.

Joint mapping: our 22 joints are SMPL's joints 0-21 in SMPL's order and with SMPL's parents
(skeleton.py), so pose column 3 j .. 3 j + 2 is our joint j. Local joint rotations carry over
unchanged: our rest pose uses SMPL's joint frames (T-pose, Y up, facing +Z), though SMPL's rest
arms and legs are not exactly straight.

The AMASS world is Z up (ours is Y up): (x, y, z)_ours -> (x, -z, y)_AMASS, so a person facing +Z
in our world faces -Y in AMASS's, as AMASS clips do. Only the root orientation and `trans` turn.
`trans` is SMPL's translation, which moves the body's rest pose: the pelvis ends up at
trans + SMPL_PELVIS_REST (the pelvis position of SMPL's neutral body at rest, not rotated
by the root orientation). We keep the pelvis where it is: trans = pelvis - SMPL_PELVIS_REST.
Bodies with other shapes or genders have their pelvis 1-2 cm elsewhere.

motiongen layout (our built-in corpus, data/corpus/*.npz):
    quats (T, 22, 4) local rotations (w, x, y, z), root (T, 3) pelvis position, fps.

Every layout may hold `motiongen_meta`: what made the motion (prompt, seed, sampler, ...; see
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
LAYOUTS = ("smplh", "smpl", "motiongen")
ALIASES = {"amass": "smplh"}  # the earlier name of the default layout
POSE_WIDTH = {"smplh": 156, "smpl": 72}  # axis-angle numbers per frame
BETAS = {"smplh": 16, "smpl": 10}  # shape coefficients AMASS (SMPL+H) and SMPL files hold
GENDERS = ("neutral", "male", "female")
DMPLS = 8  # AMASS's soft-tissue coefficients per frame


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


def write(motions, path: str | Path, layout: str = "smplh", gender: str | None = None) -> None:
    """Write one Motion; layout "smplh" (default, AMASS), "smpl" or "motiongen" (the corpus
    layout). `gender` (neutral, male, female) goes into the SMPL layouts; without it, the one
    read from the input (meta smpl_gender) or "neutral". Several people are written in the
    several-person motiongen layout (module docstring)."""
    layout = check_layout(layout)
    if gender is not None:
        check_gender(gender)
    people = [motions] if isinstance(motions, Motion) else list(motions)
    made_by = provenance.describe(people)
    record = {provenance.NPZ_KEY: np.array(made_by)} if made_by else {}  # no record: the file as before
    if len(people) > 1:
        with open(path, "wb") as f:
            np.savez(f, **_people_arrays(people), **record)
        return
    motion = single_person(motions, ".npz")
    if layout == "motiongen":
        arrays = dict(quats=motion.quats, root=motion.root, fps=np.float32(motion.fps))
    else:
        arrays = _smpl_arrays(motion, layout, gender)
    with open(path, "wb") as f:  # a file object, so numpy does not change the name
        np.savez(f, **arrays, **record)


def check_layout(layout: str, option: str = "npz layout") -> str:
    """The layout's name ("amass" gives "smplh"); one clear line for an unknown one."""
    name = ALIASES.get(str(layout).lower(), str(layout).lower())
    if name not in LAYOUTS:
        raise UserError(f"unknown {option} '{layout}'; use one of {', '.join(LAYOUTS)}")
    return name


def check_gender(gender: str, option: str = "gender") -> str:
    if gender not in GENDERS:
        raise UserError(f"unknown {option} '{gender}'; use one of {', '.join(GENDERS)}")
    return gender


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
            f"{label}: poses must be (T, 72) axis-angle for SMPL, (T, 156) for SMPL+H or (T, 165) for SMPL-X, "
            f"got {poses.shape}"
        )
    if trans.shape != (len(poses), 3):
        raise UserError(f"{label}: trans must be ({len(poses)}, 3), got {trans.shape}")
    fps = _fps(arrays, AMASS_FPS_KEYS, label)
    rot = R.axis_angle_to_matrix(torch.from_numpy(poses[:, : 3 * NUM_JOINTS].reshape(-1, NUM_JOINTS, 3)))
    to_y_up = torch.from_numpy(Y_UP_TO_Z_UP.T)
    rot[:, 0] = to_y_up @ rot[:, 0]
    pelvis = (trans + SMPL_PELVIS_REST) @ Y_UP_TO_Z_UP  # row-vector form of Y_UP_TO_Z_UP.T @ p
    return Motion.from_matrices(rot, pelvis, fps, _body(arrays))


def _body(arrays: dict) -> dict:
    """The file's gender and shape (betas), when they are what SMPL files hold; else nothing."""
    meta = {}
    gender = arrays.get("gender")
    if gender is not None and gender.size == 1 and gender.dtype.kind in "US":
        value = gender.reshape(()).item()
        value = (value.decode("latin-1") if isinstance(value, bytes) else value).strip().lower()
        if value in GENDERS:
            meta["smpl_gender"] = value
    betas = arrays.get("betas")
    if betas is not None and betas.dtype.kind in "fiu" and betas.ndim == 1 and 0 < betas.size <= 300:
        if np.isfinite(betas).all() and np.any(betas):
            meta["smpl_betas"] = betas.astype(np.float64)
    return meta


def _smpl_arrays(motion: Motion, layout: str, gender: str | None) -> dict[str, np.ndarray]:
    """The SMPL+H (AMASS) or SMPL arrays of one motion (module docstring)."""
    frames = len(motion)
    rot = R.quat_to_matrix(torch.from_numpy(motion.quats.astype(np.float64)))
    rot[:, 0] = torch.from_numpy(Y_UP_TO_Z_UP) @ rot[:, 0]
    poses = np.zeros((frames, POSE_WIDTH[layout]))
    poses[:, : 3 * NUM_JOINTS] = R.matrix_to_axis_angle(rot).reshape(frames, -1).numpy()
    trans = motion.root.astype(np.float64) @ Y_UP_TO_Z_UP.T - SMPL_PELVIS_REST
    betas = np.zeros(BETAS[layout])
    read = np.asarray(motion.meta.get("smpl_betas", []), np.float64).reshape(-1)[: len(betas)]
    betas[: len(read)] = read
    gender = gender or motion.meta.get("smpl_gender")
    gender = gender if gender in GENDERS else "neutral"
    fps = np.float64(motion.fps)
    arrays = dict(poses=poses, trans=trans, betas=betas, gender=np.array(gender), mocap_framerate=fps)
    if layout == "smplh":  # as AMASS files hold them; HumanML3D reads mocap_framerate
        arrays.update(mocap_frame_rate=fps, dmpls=np.zeros((frames, DMPLS)))
    return arrays


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
