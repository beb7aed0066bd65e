"""Caption helpers: the caption source file and left/right swapping for mirrored samples."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from motiongen.paths import ROOT

CAPTIONS_FILE = ROOT / "data" / "captions.yaml"

_SWAP = {"left": "right", "right": "left"}
# Whole words only ("bright", "leftover" stay as they are); "left-hand" and "right's" still swap.
_SIDE_WORD = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def _swap(match: re.Match) -> str:
    word = match.group(0)
    other = _SWAP[word.lower()]
    if word.isupper():
        return other.upper()
    if word[0].isupper():
        return other.capitalize()
    return other


def mirror_caption(text: str) -> str:
    """The caption of the mirrored motion: 'left' and 'right' swapped as whole words, case kept."""
    return _SIDE_WORD.sub(_swap, text)


def caption_sides(text: str) -> set[str]:
    """The sides a caption names: {'left'}, {'right'}, both or none."""
    return {m.group(0).lower() for m in _SIDE_WORD.finditer(text)}


def load_clip_table(path: str | Path = CAPTIONS_FILE) -> dict[str, dict]:
    """The clip table (name -> source, file, action, split, cyclic, captions, ...) from the YAML file."""
    with open(path, encoding="utf-8") as f:
        table = yaml.safe_load(f)
    for name, entry in table.items():
        missing = {"source", "file", "action", "split", "cyclic", "captions"} - set(entry)
        if missing:
            raise ValueError(f"{path}: clip '{name}' lacks {sorted(missing)}")
        if entry["split"] not in ("train", "test"):
            raise ValueError(f"{path}: clip '{name}' has split '{entry['split']}' (train or test)")
    return table
