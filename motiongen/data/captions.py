"""Caption helpers: the caption source file and left/right swapping for mirrored samples."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from motiongen.paths import ROOT

CAPTIONS_FILE = ROOT / "data" / "captions.yaml"

_SWAP = {
    "left": "right",
    "right": "left",
    "clockwise": "counterclockwise",
    "counterclockwise": "clockwise",
    "anticlockwise": "clockwise",
    "counter-clockwise": "clockwise",
    "anti-clockwise": "clockwise",
}
# Turning clockwise (seen from above) is turning to the right.
_SIDE_OF = {"left": "left", "right": "right", "clockwise": "right"} | dict.fromkeys(
    ["counterclockwise", "anticlockwise", "counter-clockwise", "anti-clockwise"], "left"
)
# Whole words only ("bright", "leftover" stay as they are); "left-hand" and "right's" still swap.
_SIDE_WORD = re.compile(r"\b(left|right|(?:counter-?|anti-?)?clockwise)\b", re.IGNORECASE)


def _swap(match: re.Match) -> str:
    word = match.group(0)
    other = _SWAP[word.lower()]
    if word.isupper():
        return other.upper()
    if word[0].isupper():
        return other.capitalize()
    return other


def mirror_caption(text: str) -> str:
    """The caption of the mirrored motion: 'left' and 'right' (and 'clockwise' and
    'counterclockwise') swapped as whole words, case kept."""
    return _SIDE_WORD.sub(_swap, text)


def caption_sides(text: str) -> set[str]:
    """The sides a caption names: {'left'}, {'right'}, both or none ('clockwise' is 'right')."""
    return {_SIDE_OF[m.group(0).lower()] for m in _SIDE_WORD.finditer(text)}


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
        if entry.get("handed") and not any(caption_sides(c) for c in entry["captions"]):
            raise ValueError(f"{path}: clip '{name}' is handed but no caption names a side for its mirror image")
    return table
