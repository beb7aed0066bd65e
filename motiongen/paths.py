"""Where the shipped corpus and checkpoints live: the motiongen home folder.

The home is the folder named by the environment variable MOTIONGEN_HOME, else the source
checkout motiongen runs from (the folder holding pyproject.toml beside motiongen/). It holds
`checkpoints/` (and `data/`). An installed package has no checkpoints of its own: point
MOTIONGEN_HOME at a checkout, or at any folder holding a copy of its `checkpoints/`.

A relative checkpoint path that is not there from the working directory is looked up in the
home (as given, "checkpoints/t2m", then inside checkpoints/, "t2m"), so a script or
`from_pretrained("checkpoints/t2m")` works from any folder.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "MOTIONGEN_HOME"
PACKAGE_PARENT = Path(__file__).resolve().parent.parent
IN_SOURCE_CHECKOUT = (PACKAGE_PARENT / "pyproject.toml").is_file()


def _home() -> Path | None:
    named = os.environ.get(HOME_VARIABLE)
    if named:
        return Path(named).expanduser().resolve()
    return PACKAGE_PARENT if IN_SOURCE_CHECKOUT else None


HOME = _home()
ROOT = HOME or PACKAGE_PARENT  # data/ paths; without a home they point nowhere useful, as before
CORPUS_DIR = ROOT / "data" / "corpus"
CHECKPOINT_DIR = ROOT / "checkpoints"


def checkpoint_path(path: str | os.PathLike) -> Path:
    """`path` itself when it exists or is absolute; else the same relative path in the home."""
    path = Path(path).expanduser()
    if path.exists() or path.is_absolute():
        return path
    for candidate in (ROOT / path, CHECKPOINT_DIR / path):
        if candidate.exists():
            return candidate
    return path


def where_checkpoints_are() -> str:
    """How to point motiongen at its checkpoints, for error messages; "" when they are found."""
    if HOME is None:
        return f"no checkpoints installed: set {HOME_VARIABLE} to the folder holding motiongen's checkpoints/"
    if not CHECKPOINT_DIR.is_dir():
        return f"{HOME_VARIABLE} folder {HOME} holds no checkpoints/; set {HOME_VARIABLE} to the folder holding it"
    return ""


def missing_checkpoint(path: str | os.PathLike, what: str = "checkpoint folder") -> str:
    """The one-line error for a checkpoint folder that is not there."""
    hint = where_checkpoints_are()
    return f"{what} not found: {path}" + (f" ({hint})" if hint else "")


def user_cache_dir() -> Path:
    """Where motiongen keeps what it can compute again (caption-bank embeddings): MOTIONGEN_CACHE,
    else $XDG_CACHE_HOME/motiongen, else ~/.cache/motiongen."""
    named = os.environ.get("MOTIONGEN_CACHE")
    if named:
        return Path(named).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "motiongen"
