"""InterHuman (two people interacting; the partner model's data), in its distributed layout:

    <root>/motions_processed/person1/<id>.npy, person2/<id>.npy  (T, 492) float32 at 30 fps: the
        first 62 x 3 numbers are joint positions (the first 22 are SMPL's body joints), then
        21 x 6 local rotations and more; Z up, metres, both people in one world frame
        (a `motions/person1|person2` folder holding the same files is read too)
    <root>/annots/<id>.txt       three (or more) captions of the interaction, one a line
    <root>/split/train.txt, val.txt, test.txt   ids; split/ignore_list.txt (optional) left out

Each id gives two clips, `<id>/p1` and `<id>/p2`, each naming the other as "partner" in
`motion.meta` (and sharing a "take"), so data/pairs.py trains on them as on corpus v2's couples.
Both are moved by the same offset onto the floor, keeping where each stands. Rotations come from
the joint positions by inverse kinematics.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from motiongen import validate
from motiongen.data.datasets.base import DatasetSpec, make_clip, need_dir, read_lines, split_names
from motiongen.data.floor import floor_height
from motiongen.errors import UserError
from motiongen.io.arrays import read_npy
from motiongen.motion.motion import DEFAULT_FPS, Motion

FPS = 30.0
WIDTH = 492
Z_UP_TO_Y_UP = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # (x, y, z) -> (x, z, -y)


def read_person(path, label: str) -> Motion:
    data = read_npy(path)
    if data.ndim != 2 or data.shape[1] != WIDTH or len(data) < 2:
        raise UserError(f"{label}: should hold (T, {WIDTH}) numbers per frame, got {data.shape}")
    joints = validate.array(data[:, : 22 * 3], label).astype(np.float64).reshape(-1, 22, 3) @ Z_UP_TO_Y_UP.T
    return Motion.from_positions(joints.astype(np.float32), FPS).resampled(DEFAULT_FPS)


def convert(spec: DatasetSpec, progress: bool = True):
    what = spec.label
    root = need_dir(spec.root, what)
    folder = root / "motions_processed"
    if not folder.is_dir():
        folder = root / "motions"
    for person in ("person1", "person2"):
        need_dir(folder / person, f"{what} (the {folder.name}/{person}/ folder)")
    need_dir(root / "annots", f"{what} (the annots/ folder)")
    ids = split_names(root, spec.split, "split/{split}.txt", what)
    ignore = root / "split" / "ignore_list.txt"
    ignored = set(read_lines(ignore, what)) if ignore.is_file() else set()
    ids = [i for i in ids if i not in ignored]
    if not ids:
        raise UserError(f"{what}: no ids in the {spec.split} split")
    for id_ in tqdm(ids, desc=f"converting {what}", unit="pair", disable=not progress):
        files = [folder / p / f"{id_}.npy" for p in ("person1", "person2")]
        text = root / "annots" / f"{id_}.txt"
        for file in (*files, text):
            if not file.is_file():
                raise UserError(f"{what}: the split lists {id_}, but {file} is missing")
        a, b = (read_person(f, f"{what}: {f.parent.name}/{f.name}") for f in files)
        if len(a) != len(b):
            raise UserError(f"{what}: the two people of {id_} differ in length ({len(a)} and {len(b)} frames)")
        captions = read_lines(text, what)
        low = min(floor_height(a.positions()), floor_height(b.positions()))
        take = f"{spec.label}/{id_}"
        for me, other, motion, file in (("p1", "p2", a, files[0]), ("p2", "p1", b, files[1])):
            motion = Motion(motion.quats, motion.root - np.array([0.0, low, 0.0], np.float32), motion.fps)
            yield make_clip(spec, f"{id_}/{me}", motion, captions, f"{folder.name}/{file.parent.name}/{file.name}",
                            partner=f"{take}/{other}", take=take)  # fmt: skip
