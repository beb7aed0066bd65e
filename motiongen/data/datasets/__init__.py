"""Public motion datasets and one's own mocap, read in their distributed layouts (one module per
format, one interface: `convert(spec, progress)` yields corpus `Clip`s), converted once into a
cache, and named in a training config's `data:` section:

    data:
      - {format: humanml3d, path: ~/data/HumanML3D, split: train, weight: 1.0}
      - {format: bvh, path: ~/my_mocap, weight: 0.2}          # BVH files + captions.csv

Keys: format (below), path (the dataset's folder), split (default train), weight (its share of
the training windows relative to the other entries and the corpus, default 1), name (the
prefix of its clip names, default the format), captions (a captions CSV: bvh and amass).
"""

from __future__ import annotations

from pathlib import Path

from motiongen.data.datasets.base import DatasetSpec
from motiongen.errors import UserError

# format -> (module, converter function)
FORMATS = {
    "humanml3d": ("motiongen.data.datasets.humanml3d", "convert"),
    "kit": ("motiongen.data.datasets.humanml3d", "convert_kit"),
    "amass": ("motiongen.data.datasets.amass", "convert"),
    "aistpp": ("motiongen.data.datasets.aistpp", "convert"),
    "interhuman": ("motiongen.data.datasets.interhuman", "convert"),
    "bvh": ("motiongen.data.datasets.bvh_folder", "convert"),
}
KEYS = ("format", "path", "split", "weight", "name", "captions", "body_model")


def parse_specs(entries) -> list[DatasetSpec]:
    """The `data:` section of a training config, checked: one clear line for what is wrong."""
    if not isinstance(entries, list):
        raise UserError(f"data must be a list of datasets ({{format: ..., path: ...}}), got {entries!r}")
    specs, labels = [], set()
    for i, entry in enumerate(entries, start=1):
        where = f"data entry {i}"
        if not isinstance(entry, dict):
            raise UserError(f"{where} must be a mapping such as {{format: humanml3d, path: ...}}, got {entry!r}")
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise UserError(f"{where}: unknown key(s) {', '.join(map(str, unknown))} (known: {', '.join(KEYS)})")
        if entry.get("format") not in FORMATS:
            raise UserError(f"{where}: format must be one of {', '.join(FORMATS)}, got {entry.get('format')!r}")
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise UserError(f"{where}: path must name the dataset's folder, got {entry.get('path')!r}")
        for key in ("split", "name", "captions", "body_model"):
            if key in entry and not isinstance(entry[key], str):
                raise UserError(f"{where}: {key} must be a string, got {entry[key]!r}")
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            raise UserError(f"{where}: weight must be a number > 0, got {weight!r}")
        if entry.get("body_model") is not None and entry["format"] != "amass":
            raise UserError(
                f"{where}: body_model is for AMASS (its subjects' shapes); leave it out for {entry['format']}"
            )
        spec = DatasetSpec(**{**entry, "weight": float(weight)})
        if spec.label in labels:
            raise UserError(f"{where}: two entries are named {spec.label!r}; give one a different name")
        labels.add(spec.label)
        specs.append(spec)
    return specs


def convert(spec: DatasetSpec, progress: bool = True):
    """The dataset's clips, converted from its files now (no cache)."""
    import importlib

    module, function = FORMATS[spec.format]
    return list(getattr(importlib.import_module(module), function)(spec, progress))


def load_dataset(spec: DatasetSpec, cache_root: str | Path | None = None, progress: bool = True):
    """The dataset's clips, from the cache when it is current, else converted and cached."""
    from motiongen.data.datasets import cache

    if not spec.root.is_dir():
        raise UserError(f"{spec.label}: no folder {spec.root} (data entry path)")
    folder = cache.cache_folder(spec, Path(cache_root) if cache_root else cache.default_cache_root())
    stamp = cache.fingerprint(spec.root)
    clips = cache.read_cached(folder, stamp)
    if clips is None:
        clips = convert(spec, progress)
        if not clips:
            raise UserError(f"{spec.label}: the {spec.split} split gives no clip of at least half a second")
        cache.write_cache(folder, clips, stamp)
    return clips
