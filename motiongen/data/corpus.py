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


# Which clips a corpus name means: the built-in corpus alone (it ships, so a fresh clone trains
# and tests with nothing else), or corpus v2 = it plus the real motion capture of the mocap cache.
CORPORA = ("builtin", "v2")


def corpus_dirs(corpus: str = "builtin", progress: bool = True) -> list[Path]:
    """The folders a corpus name reads (v2 builds its mocap cache on first use)."""
    if corpus == "builtin":
        return [CORPUS_DIR]
    if corpus == "v2":
        from motiongen.data.mocap_corpus import ensure_mocap_corpus

        return [CORPUS_DIR, ensure_mocap_corpus(progress)]
    raise UserError(f"unknown corpus '{corpus}' (known: {', '.join(CORPORA)})")


def load_corpus(
    split: str | None = None, corpus_dir: str | Path | None = None, corpus: str = "builtin", progress: bool = True
) -> list[Clip]:
    """All clips of a corpus ("builtin" or "v2"), or only those of one split ("train" / "test"),
    in index order; `corpus_dir` reads one folder instead."""
    if split not in (None, "train", "test"):
        raise UserError(f"unknown split '{split}' (train, test or None for all)")
    folders = [Path(corpus_dir)] if corpus_dir is not None else corpus_dirs(corpus, progress)
    return [clip for folder in folders for clip in _load_folder(split, folder)]


def _load_folder(split: str | None, corpus_dir: Path) -> list[Clip]:
    clips = []
    for entry in read_index(corpus_dir):
        if split is not None and entry["split"] != split:
            continue
        motion = load_clip_motion(Path(corpus_dir) / entry["file"])
        motion.meta = {"name": entry["name"], "source": entry["source"]}
        for key in ("take", "partner"):
            if key in entry:
                motion.meta[key] = entry[key]
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
