"""Converted once, read fast afterwards: a dataset's clips in the corpus layout (npz clips +
index.json) under the cache folder, rebuilt when the dataset's files or the converter change.

Converting HumanML3D (inverse kinematics per clip) takes minutes; reading the cache, seconds.
The fingerprint is every file's relative path, size and modification time, so an edited caption
or a replaced file rebuilds the cache; the folder name is a hash of where the data is and which
split and captions were asked for. The cache is written to a temporary folder and swapped in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from motiongen.data.corpus import INDEX_NAME, Clip, load_clip_motion

VERSION = 1  # bump when a converter changes what it makes
EXTRA_META = ("partner", "take", "audio", "genre")  # facts a clip carries in motion.meta


def default_cache_root() -> Path:
    from motiongen.data.mocap_corpus import CACHE_DIR

    return CACHE_DIR.parent / "datasets"


def fingerprint(root: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_folder(spec, cache_root: Path) -> Path:
    parts = [str(spec.root.resolve()), spec.format, spec.split, spec.captions, spec.label, VERSION]
    if spec.body_model:  # (not part of older keys, which stay valid)
        parts.append(str(Path(spec.body_model).expanduser().resolve()))
    key = json.dumps(parts)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.label)
    return cache_root / f"{safe}-{spec.split}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def read_cached(folder: Path, stamp: str) -> list[Clip] | None:
    """The cached clips when the cache was made from files with this fingerprint, else None."""
    index = folder / INDEX_NAME
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("version") != VERSION or data.get("fingerprint") != stamp:
        return None
    clips = []
    for entry in data["clips"]:
        motion = load_clip_motion(folder / entry["file"])
        motion.meta = {"name": entry["name"], "source": entry["source"]}
        motion.meta.update({k: entry[k] for k in EXTRA_META if entry.get(k) is not None})
        clips.append(Clip(entry["name"], motion, list(entry["captions"]), entry["split"], False, entry["action"]))
    return clips


def write_cache(folder: Path, clips: list[Clip], stamp: str) -> None:
    from motiongen.data.build import save_clip

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    entries = []
    for i, clip in enumerate(clips):
        file = f"{i:06d}.npz"
        save_clip(clip.motion, tmp / file)
        entry = {"name": clip.name, "file": file, "split": clip.split, "action": clip.action,
                 "captions": clip.captions, "source": clip.motion.meta.get("source")}  # fmt: skip
        entry.update({k: clip.motion.meta[k] for k in EXTRA_META if clip.motion.meta.get(k) is not None})
        entries.append(entry)
    text = json.dumps({"version": VERSION, "fingerprint": stamp, "clips": entries}, indent=1) + "\n"
    (tmp / INDEX_NAME).write_text(text, encoding="utf-8")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
