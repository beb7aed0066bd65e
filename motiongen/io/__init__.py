"""File formats. Readers and writers are chosen by file extension.

Each format module has `read(path) -> Motion` and/or `write(motion, path)`; writers
receive a temporary path and the result is renamed into place (see `atomic.py`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from motiongen.errors import UserError
from motiongen.io.atomic import atomic_path, check_writable

READERS = {
    ".bvh": "motiongen.io.bvh",
    ".npz": "motiongen.io.npz",
    ".npy": "motiongen.io.humanml3d",
    ".txt": "motiongen.io.deepmimic",
}
WRITERS = {
    ".bvh": "motiongen.io.bvh",
    ".glb": "motiongen.io.glb",
    ".html": "motiongen.io.html",
    ".npz": "motiongen.io.npz",
    ".npy": "motiongen.io.humanml3d",
    ".mp4": "motiongen.render.video",
    ".gif": "motiongen.render.video",
    ".png": "motiongen.render.strip",
}


def _check_extension(table: dict, path: Path, verb: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in table:
        known = ", ".join(sorted(table))
        raise UserError(f"cannot {verb} '{path.name}': unknown extension '{suffix}' (known: {known})")
    return table[suffix]


def _module(table: dict, path: Path, verb: str):
    return importlib.import_module(_check_extension(table, path, verb))


def check_output(path: str | Path, force: bool = False) -> Path:
    """Fail fast (before any heavy work) on an output we could not write."""
    _check_extension(WRITERS, Path(path), "write")
    return check_writable(path, force)


def single_person(motions, format_name: str):
    """The one `Motion` a single-person format can hold (a Motion, or a list of exactly one)."""
    from motiongen.motion import Motion

    if isinstance(motions, Motion):
        return motions
    motions = list(motions)
    if len(motions) != 1:
        raise UserError(f"{format_name} holds one person, got {len(motions)}; write each person to its own file")
    return motions[0]


def load_motion(path: str | Path):
    """Read any supported file into a `Motion` (retargeted onto SMPL-22)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"file not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a motion file")
    module = _module(READERS, path, "read")
    try:
        return module.read(path)
    except UserError:
        raise
    except Exception as exc:  # a parser failing on corrupt input is the user's file, not a bug
        raise UserError(f"cannot read {path.name}: {exc}") from exc


def load_people(path: str | Path) -> list:
    """Every person in a file: several for a several-person .npz (a duet), else one."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and path.is_file():
        from motiongen.io import npz

        try:
            return npz.read_people(path)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"cannot read {path.name}: {exc}") from exc
    return [load_motion(path)]


def save_motion(motions, path: str | Path, force: bool = False, **options) -> Path:
    """Write one `Motion` or a list of them (several people) to `path`, atomically."""
    path = Path(path)
    module = _module(WRITERS, path, "write")
    with atomic_path(path, force) as tmp:
        module.write(motions, tmp, **options)
    return path
