"""A folder of one's own motion capture: BVH files (any humanoid rig our BVH importer
retargets: io/bvh.py) plus a captions table `captions.csv` with the header

    file,start,end,caption      (file relative to the folder; start/end in seconds, empty end: to the end)

Rows of one file and time range are one clip with all their captions. An optional `split`
column (train / test / ...) assigns rows to splits; without it every row is in every split.
"""

from __future__ import annotations

from tqdm import tqdm

from motiongen.data.datasets.base import (
    DatasetSpec,
    make_clip,
    need_dir,
    need_file,
    on_floor_20fps,
    read_captions_csv,
    segments,
)
from motiongen.errors import UserError
from motiongen.io import bvh

CAPTIONS = "captions.csv"


def convert(spec: DatasetSpec, progress: bool = True):
    what = spec.label
    root = need_dir(spec.root, what)
    table_path = need_file(root / (spec.captions or CAPTIONS), f"{what} (its captions table)")
    table = read_captions_csv(table_path, what, spec.split)
    for file, rows in tqdm(table.items(), desc=f"converting {what}", unit="file", disable=not progress):
        path = root / file
        if not path.is_file():
            raise UserError(f"{what}: {table_path.name} names {file}, which is not in {root}")
        motion = bvh.read(path)
        stem = file[: -len(".bvh")] if file.lower().endswith(".bvh") else file
        for tag, part, captions in segments(motion, rows):
            yield make_clip(spec, stem + tag, on_floor_20fps(part), captions, file)
