"""AIST++ (the dance set behind the dance model), in its distributed layout:

    <root>/motions/<name>.pkl      a pickled dict: smpl_poses (T, 72) SMPL axis-angle,
                                   smpl_trans (T, 3), smpl_scaling (1,), smpl_loss; 60 fps, Y up;
                                   smpl_trans / smpl_scaling is metres
    <root>/wav/<music>.wav         the music; a name such as gBR_sBM_cAll_d04_mBR0_ch01 holds its
                                   genre (BR: break) and music id (mBR0)
    <root>/splits/crossmodal_train.txt, crossmodal_val.txt, crossmodal_test.txt   names
    <root>/ignore_list.txt         takes with bad fits (optional; left out)

Clips carry `audio` (the wav path) in `motion.meta`. AIST++ has no captions; each clip is
captioned by its genre ("a person dances house"), so the text model also learns the dances.
The pickles are read by an unpickler that builds only NumPy arrays (safe_pickle.py).
"""

from __future__ import annotations

import re

import numpy as np
import torch
from tqdm import tqdm

from motiongen import validate
from motiongen.data.datasets.base import DatasetSpec, make_clip, need_dir, on_floor_20fps, read_lines, split_names
from motiongen.data.datasets.safe_pickle import load_arrays
from motiongen.errors import UserError
from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion

FPS = 60.0
SMPL_PELVIS_REST = np.array([-0.001795, -0.223333, 0.028219])  # SMPL's mean body at rest (Y up)
GENRES = {
    "BR": "break", "PO": "pop", "LO": "lock", "MH": "middle hip-hop", "LH": "LA-style hip-hop",
    "HO": "house", "WA": "waack", "KR": "krump", "JS": "street jazz", "JB": "ballet jazz",
}  # fmt: skip
NAME = re.compile(r"^g(?P<genre>[A-Z]{2})_s\w+?_c\w+?_d\d+_(?P<music>m[A-Z]{2}\d+)_ch\d+$")


def read_take(path, label: str) -> Motion:
    data = load_arrays(path, label)
    lacking = [k for k in ("smpl_poses", "smpl_trans", "smpl_scaling") if k not in data]
    if lacking:
        raise UserError(f"{label}: not an AIST++ motion (lacks {', '.join(lacking)})")
    poses = validate.array(np.asarray(data["smpl_poses"], np.float64), f"{label}: smpl_poses")
    trans = validate.array(np.asarray(data["smpl_trans"], np.float64), f"{label}: smpl_trans")
    scaling = validate.array(np.asarray(data["smpl_scaling"], np.float64).reshape(-1), f"{label}: smpl_scaling")
    if poses.ndim != 2 or poses.shape[1] != 72 or len(poses) < 2:
        raise UserError(f"{label}: smpl_poses should be (T, 72), got {poses.shape}")
    if trans.shape != (len(poses), 3):
        raise UserError(f"{label}: smpl_trans should be ({len(poses)}, 3), got {trans.shape}")
    if scaling.shape != (1,) or not scaling[0] > 0:
        raise UserError(f"{label}: smpl_scaling should be one positive number, got {scaling}")
    rot = R.axis_angle_to_matrix(torch.from_numpy(poses[:, :66].reshape(-1, 22, 3)))
    return Motion.from_matrices(rot, trans / scaling[0] + SMPL_PELVIS_REST, FPS)


def convert(spec: DatasetSpec, progress: bool = True):
    what = spec.label
    root = need_dir(spec.root, what)
    motions = need_dir(root / "motions", f"{what} (the motions/ folder)")
    if spec.split == "all":
        names = sorted(p.stem for p in motions.glob("*.pkl"))
    else:
        names = split_names(root, spec.split, "splits/crossmodal_{split}.txt", what)
    ignored = set(read_lines(root / "ignore_list.txt", what)) if (root / "ignore_list.txt").is_file() else set()
    names = [n for n in names if n not in ignored]
    if not names:
        raise UserError(f"{what}: no motions in the {spec.split} split")
    for name in tqdm(names, desc=f"converting {what}", unit="take", disable=not progress):
        match = NAME.match(name)
        if match is None:
            raise UserError(f"{what}: {name} is not an AIST++ take name (like gBR_sBM_cAll_d04_mBR0_ch01)")
        path = motions / f"{name}.pkl"
        if not path.is_file():
            raise UserError(f"{what}: the split lists {name}, which is not in {motions}")
        motion = on_floor_20fps(read_take(path, f"{what}: {name}.pkl"))
        genre = GENRES.get(match["genre"], match["genre"])
        audio = root / "wav" / f"{match['music']}.wav"
        captions = [f"a person dances {genre}", f"someone performs a {genre} dance"]
        yield make_clip(spec, name, motion, captions, f"motions/{name}.pkl",
                        audio=str(audio) if audio.is_file() else None, genre=genre)  # fmt: skip
