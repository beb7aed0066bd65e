"""The built-in motion corpus: data/corpus/<name>.npz clips listed in data/corpus/index.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motiongen.errors import UserError
from motiongen.motion.motion import Motion
from motiongen.paths import CORPUS_DIR

INDEX_NAME = "index.json"


@dataclass
class Clip:
    name: str
    motion: Motion  # 20 fps, on the ground, SMPL-22
    captions: list[str]
    split: str  # "train" or "test"
    cyclic: bool
    action: str
    handed: bool = False  # goes one way: captions naming no side describe this way (data/captions.yaml)


def read_index(corpus_dir: str | Path = CORPUS_DIR) -> list[dict]:
    path = Path(corpus_dir) / INDEX_NAME
    if not path.exists():
        raise UserError(f"no corpus index at {path}; build it with `motiongen data build`")
    return json.loads(path.read_text(encoding="utf-8"))["clips"]


def load_clip_motion(path: str | Path) -> Motion:
    with np.load(path) as data:
        return Motion(data["quats"], data["root"], float(data["fps"]))


def load_corpus(split: str | None = None, corpus_dir: str | Path = CORPUS_DIR) -> list[Clip]:
    """All clips of the corpus, or only those of one split ("train" / "test"), in index order."""
    if split not in (None, "train", "test"):
        raise UserError(f"unknown split '{split}' (train, test or None for all)")
    clips = []
    for entry in read_index(corpus_dir):
        if split is not None and entry["split"] != split:
            continue
        motion = load_clip_motion(Path(corpus_dir) / entry["file"])
        motion.meta = {"name": entry["name"], "source": entry["source"]}
        clips.append(
            Clip(
                entry["name"],
                motion,
                list(entry["captions"]),
                entry["split"],
                bool(entry["cyclic"]),
                entry["action"],
                bool(entry.get("handed", False)),
            )
        )
    return clips
