"""Corpus v2's real motion capture: the captioned segments of data/mocap_segments.yaml, cut from
the takes of a mocap folder (motiongen.data.mocap) into a git-ignored cache.

The segment table is ours (time ranges, splits, captions written by watching each segment); the
motion is CMU's and is never committed, so a fresh checkout builds the cache on first use
(`motiongen data build`, or automatically by `load_corpus(corpus="v2")`). The cache has the
built-in corpus' layout (npz clips + index.json) and remembers which table built it, so an
edited table rebuilds it. Salsa segments know their couple (take) and partner's segment, for the
duet model; both partners are cut from the same seconds of the same take.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import yaml
from tqdm import tqdm

from motiongen.data.captions import caption_sides
from motiongen.data.corpus import INDEX_NAME
from motiongen.data.mocap import LICENCE, MAX_SEGMENT, MIN_SEGMENT, mocap_dir, segment, source_of
from motiongen.errors import UserError
from motiongen.motion.motion import DEFAULT_FPS
from motiongen.paths import ROOT

SEGMENTS_FILE = ROOT / "data" / "mocap_segments.yaml"
CACHE_DIR = Path(os.environ.get("MOTIONGEN_CACHE", ROOT / "data" / "cache")) / "mocap"
REQUIRED = {"file", "start", "end", "split", "action", "captions"}


def load_segment_table(path: str | Path = SEGMENTS_FILE) -> dict[str, dict]:
    """The segment table, checked (fields, 2-10 s, >= 3 captions, handed clips name a side, partners)."""
    with open(path, encoding="utf-8") as f:
        table = yaml.safe_load(f)
    if not isinstance(table, dict):
        raise ValueError(f"{path}: expected a mapping of segment name -> entry")
    for name, entry in table.items():
        missing = REQUIRED - set(entry)
        if missing:
            raise ValueError(f"{path}: segment '{name}' lacks {sorted(missing)}")
        source_of(entry["file"])
        if not MIN_SEGMENT - 1e-6 <= entry["end"] - entry["start"] <= MAX_SEGMENT + 1e-6:
            raise ValueError(f"{path}: segment '{name}' lasts {entry['end'] - entry['start']:.2f} s (2-10 s)")
        if entry["split"] not in ("train", "test"):
            raise ValueError(f"{path}: segment '{name}' has split '{entry['split']}' (train or test)")
        if len(entry["captions"]) < 3:
            raise ValueError(f"{path}: segment '{name}' has {len(entry['captions'])} captions (at least 3)")
        if entry.get("handed") and not any(caption_sides(c) for c in entry["captions"]):
            raise ValueError(f"{path}: segment '{name}' is handed but no caption names a side")
        partner = entry.get("partner")
        if partner is not None:
            other = table.get(partner)
            if other is None or other.get("partner") != name:
                raise ValueError(f"{path}: segment '{name}' names partner '{partner}', which does not name it back")
            if (other["start"], other["end"], other["split"]) != (entry["start"], entry["end"], entry["split"]):
                raise ValueError(f"{path}: partners '{name}' and '{partner}' differ in time range or split")
    return table


def table_hash(path: str | Path = SEGMENTS_FILE) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def take_of(name: str, entry: dict) -> str:
    """The recording a segment comes from; a couple's two files are one take."""
    if entry.get("partner") is not None:
        return "couple_" + "_".join(sorted(Path(f).stem for f in (entry["file"], entry["partner_file"])))
    return entry["file"]


def build_mocap_corpus(
    output_dir: str | Path = CACHE_DIR,
    source_dir: str | Path | None = None,
    table_path: str | Path = SEGMENTS_FILE,
    progress: bool = True,
) -> Path:
    """Cut every segment of the table out of the mocap folder into `output_dir` (npz + index.json)."""
    from motiongen.data.build import save_clip

    root = mocap_dir(source_dir)
    table = load_segment_table(table_path)
    files = sorted({e["file"] for e in table.values()})
    lacking = [f for f in files if not (root / f).exists()]
    if lacking:
        raise UserError(f"the mocap folder {root} lacks {len(lacking)} takes of the corpus, e.g. {lacking[0]}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    index = []
    # Sorted by file, so each take is read (and retargeted) once.
    order = sorted(table, key=lambda n: (table[n]["file"], table[n]["start"]))
    for name in tqdm(order, desc="cutting mocap segments", unit="segment", disable=not progress):
        entry = table[name]
        motion = segment(root, entry["file"], entry["start"], entry["end"], DEFAULT_FPS)
        save_clip(motion, output_dir / f"{name}.npz")
        partner = entry.get("partner")
        record = {
            "name": name,
            "file": f"{name}.npz",
            "split": entry["split"],
            "action": entry["action"],
            "cyclic": False,
            "handed": bool(entry.get("handed", False)),
            "frames": len(motion),
            "seconds": round(motion.duration, 2),
            "captions": list(entry["captions"]),
            "source": {"origin": source_of(entry["file"]).origin, "licence": LICENCE, "file": entry["file"],
                       "seconds": [entry["start"], entry["end"]]},
        }  # fmt: skip
        if partner is not None:
            record["partner"] = partner
            record["take"] = take_of(name, dict(entry, partner_file=table[partner]["file"]))
        else:
            record["take"] = entry["file"]
        index.append(record)
    index.sort(key=lambda r: r["name"])
    text = json.dumps({"fps": DEFAULT_FPS, "table": table_hash(table_path), "clips": index}, indent=1) + "\n"
    tmp = output_dir / (INDEX_NAME + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output_dir / INDEX_NAME)
    return output_dir


def cache_is_current(cache_dir: str | Path = CACHE_DIR, table_path: str | Path = SEGMENTS_FILE) -> bool:
    path = Path(cache_dir) / INDEX_NAME
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("table") == table_hash(table_path)
    except (OSError, ValueError):
        return False


def ensure_mocap_corpus(progress: bool = True) -> Path:
    """The cache, built (from the default mocap folder) if missing or made from an older table."""
    if not cache_is_current():
        build_mocap_corpus(progress=progress)
    return CACHE_DIR
