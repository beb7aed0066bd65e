"""What every public-dataset loader shares: the entry of a config's `data:` section, the one-line
errors for missing or malformed files, split lists, captions tables, and the cut of a clip.

A loader turns a dataset folder, in the dataset's own on-disk layout, into corpus `Clip`s
(SMPL-22 `Motion` at 20 fps on the floor + captions), which the training windows use like the
built-in corpus. Extra facts ride in `motion.meta`: "partner" (the other person's clip name, for
the partner model), "audio" (the music file, for dance), "source" (dataset and file).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from motiongen.data.corpus import Clip
from motiongen.data.floor import put_on_floor
from motiongen.errors import UserError
from motiongen.motion.motion import DEFAULT_FPS, Motion

MIN_FRAMES = 10  # a clip shorter than this (at 20 fps, 0.5 s) teaches nothing and is left out


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of a training config's `data:` list."""

    format: str  # humanml3d, kit, amass, aistpp, interhuman, bvh
    path: str  # the dataset's folder, as downloaded
    split: str = "train"
    weight: float = 1.0  # this dataset's share of the training windows, relative to the others
    name: str = ""  # prefix of its clip names (default: the format)
    captions: str | None = None  # captions CSV (file,start,end,caption): bvh folders and AMASS
    body_model: str | None = None  # AMASS: the user's SMPL+H model folder (the subjects' shapes, amass.py)

    @property
    def label(self) -> str:
        return self.name or self.format

    @property
    def root(self) -> Path:
        return Path(self.path).expanduser()


def need_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise UserError(f"{what}: no folder {path}")
    return path


def need_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise UserError(f"{what}: no file {path}")
    return path


def read_lines(path: Path, what: str) -> list[str]:
    """Non-empty stripped lines of a text file (a split list, an annotation file)."""
    try:
        text = need_file(path, what).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{what}: {path} is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def split_names(folder: Path, split: str, pattern: str, what: str) -> list[str]:
    """The clip names a split file lists (`pattern` holds {split}), in file order, each once."""
    path = folder / pattern.format(split=split)
    if not path.is_file():
        known = sorted(p.name for p in path.parent.glob(pattern.format(split="*"))) if path.parent.is_dir() else []
        hint = f" (found: {', '.join(known)})" if known else ""
        raise UserError(f"{what}: no split file {path}{hint}")
    return list(dict.fromkeys(read_lines(path, what)))


def on_floor_20fps(motion: Motion) -> Motion:
    """Our frame rate, standing on the floor (every dataset puts its floor somewhere else)."""
    return put_on_floor(motion.resampled(DEFAULT_FPS))


def cut(motion: Motion, start: float, end: float) -> Motion | None:
    """Seconds [start, end) of a clip (end 0 or past the end: to the end); None when too short."""
    first = max(int(start * motion.fps), 0)  # whole frames, as the datasets' own loaders count
    last = len(motion) if end <= 0 else min(int(end * motion.fps), len(motion))
    return motion.slice(first, last) if last - first >= MIN_FRAMES else None


def make_clip(spec: DatasetSpec, name: str, motion: Motion, captions: list[str], file: str, **meta) -> Clip:
    """A corpus clip named `<label>/<name>`, its source recorded in `motion.meta`."""
    full = f"{spec.label}/{name}"
    motion.meta = {"name": full, "source": {"dataset": spec.format, "file": file}, **meta}
    return Clip(full, motion, list(captions) or [""], spec.split, False, spec.label)


def read_captions_csv(path: Path, what: str, split: str | None = None) -> dict[str, list[tuple[float, float, str]]]:
    """file -> [(start s, end s, caption)] from a CSV with the header file,start,end,caption
    (empty start: 0, empty end: to the end of the file). With a `split` column, only the rows
    of `split` are kept."""
    need_file(path, what)
    table: dict[str, list[tuple[float, float, str]]] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = csv.DictReader(f)
        missing = {"file", "start", "end", "caption"} - set(rows.fieldnames or [])
        if missing:
            raise UserError(
                f"{what}: {path.name} needs the columns file,start,end,caption (lacks {', '.join(sorted(missing))})"
            )
        by_split = split is not None and "split" in (rows.fieldnames or [])
        for line, row in enumerate(rows, start=2):
            if by_split and (row["split"] or "").strip() != split:
                continue
            start, end = _seconds(row["start"], path, line), _seconds(row["end"], path, line)
            caption = (row["caption"] or "").strip()
            if not row["file"] or not caption:
                raise UserError(f"{what}: {path.name} line {line} needs a file and a caption")
            if end and end <= start:
                raise UserError(f"{what}: {path.name} line {line}: end {end} is not after start {start}")
            table.setdefault(row["file"].strip(), []).append((start, end, caption))
    if not table:
        raise UserError(f"{what}: {path.name} lists no captions" + (f" in the {split} split" if split else ""))
    return table


def _seconds(text: str | None, path: Path, line: int) -> float:
    text = (text or "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{path.name} line {line}: {text!r} is not a time in seconds") from None
    if not math.isfinite(value) or value < 0:
        raise UserError(f"{path.name} line {line}: {text!r} is not a time in seconds")
    return value


def segments(motion: Motion, rows: list[tuple[float, float, str]]) -> list[tuple[str, Motion, list[str]]]:
    """(range tag, motion, captions) for each distinct time range of a file's caption rows."""
    by_range: dict[tuple[float, float], list[str]] = {}
    for start, end, caption in rows:
        by_range.setdefault((start, end), []).append(caption)
    out = []
    for (start, end), captions in by_range.items():
        part = cut(motion, start, end)
        if part is not None:
            tag = "" if (start, end) == (0.0, 0.0) else f"@{start:g}-{end:g}"
            out.append((tag, part, captions))
    return out
