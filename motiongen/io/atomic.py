"""Atomic output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from motiongen.errors import UserError

TEMP_MARK = ".mgtmp"  # our temp files: .<stem>.mgtmp<pid>-<random><suffix>, beside the target
_TEMP = re.compile(r"^\..*\.mgtmp(\d+)-[A-Za-z0-9_]+(\.[^.]*)?$")


def check_writable(path: str | Path, force: bool, what: str = "--output") -> Path:
    """Fail fast, before any heavy work, on an output that could not be written or would replace a
    file without --force: a folder given as a file, a parent that is a file, a read-only folder.
    Creates missing parent folders."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name inside it, e.g. {path / ('motion' + '.bvh')}")
    if path.exists() and not force:
        raise UserError(f"{path} already exists; pass --force to overwrite it")
    check_folder(path.parent, what)
    return path


def check_folder(folder: str | Path, what: str = "--output") -> Path:
    """Make `folder` (and its parents) if missing; refuse one under a regular file or read-only."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise UserError(f"cannot write {what} under {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {what} in {existing}: the folder is not writable; choose another place")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create folder {folder} for {what}: {exc.strerror or exc}") from None
    return folder


@contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yields a temporary path with the same suffix; on success it replaces `path`. The temp file is
    removed on any failure, Ctrl-C and SIGTERM included (the CLI turns SIGTERM into an exception);
    temp files left by a killed run are swept on the next write into that folder."""
    path = check_writable(path, force)
    sweep_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}{TEMP_MARK}{os.getpid()}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get normal permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def sweep_stale_temps(folder: Path) -> list[Path]:
    """Remove our own temp files in `folder` whose writing process is gone (killed with SIGKILL,
    or the machine went down). Only names of our pattern with a dead process id are touched."""
    removed = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(".") and TEMP_MARK in entry.name]
    except OSError:
        return removed
    for name in names:
        match = _TEMP.match(name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            (folder / name).unlink()
            removed.append(folder / name)
        except OSError:
            pass  # another process swept it, or it is not ours to remove
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # our own temps are removed by their writers
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid we can check: leave the file
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
