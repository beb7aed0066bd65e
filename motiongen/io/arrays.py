""".npy and .npz files read without trusting their headers.

`np.load` allocates whatever shape a header claims before it reads the data (a 100-byte file can
ask for terabytes) and lets tokenizer, zip and zlib errors escape on corrupt headers. Here every
array's size is checked against the bytes that hold it, and every failure is one UserError line.
Nothing is ever unpickled.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from motiongen.errors import UserError

MAX_MEMBERS = 256  # arrays in one .npz
DEFLATE_RATIO = 1100  # deflate cannot expand more than ~1032x; a member claiming more is lying
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def _read_array(fp: BinaryIO, size: int, label: str) -> np.ndarray:
    """One .npy stream of `size` bytes (header included)."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise UserError(f"{label} uses .npy format version {version}, which is not supported (1.0 or 2.0)")
    except UserError:
        raise
    except Exception as exc:  # the header is a Python literal; a corrupt one fails in many ways
        raise UserError(f"{label} is not a valid .npy array (bad header: {type(exc).__name__})") from None
    if dtype.hasobject or dtype.fields is not None:
        raise UserError(f"{label} holds Python objects, which are not loaded for safety; save plain numeric arrays")
    if any(int(dim) < 0 for dim in shape):
        raise UserError(f"{label} is corrupt: its header gives a negative size {shape}")
    count = 1
    for dim in shape:
        count *= int(dim)
    needed = count * dtype.itemsize
    if needed > size:
        raise UserError(f"{label} is truncated or corrupt: its header promises {needed} bytes of data in {size}")
    data = fp.read(needed)
    if len(data) != needed:
        raise UserError(f"{label} is truncated: {len(data)} of {needed} bytes of data")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read_npy(path: str | Path) -> np.ndarray:
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fp:
            return _read_array(fp, size, path.name)
    except UserError:
        raise
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz archive by name (without the .npy extension)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not zipfile.is_zipfile(path):
            raise UserError(f"{path.name} is not a valid .npz file (not a zip archive of arrays)")
        arrays = {}
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS:
                raise UserError(f"{path.name} holds {len(members)} files; an .npz of motion holds a few arrays")
            for member in members:
                key = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
                label = f"{path.name}: array '{key}'"
                if member.compress_size > size or member.file_size > max(member.compress_size, 1) * DEFLATE_RATIO:
                    raise UserError(f"{label} claims an impossible size; the file is corrupt")
                with archive.open(member) as fp:
                    arrays[key] = _read_array(fp, member.file_size, label)
        return arrays
    except UserError:
        raise
    except _CORRUPT as exc:
        raise UserError(
            f"{path.name} is not a valid .npz file ({type(exc).__name__}: {exc})".replace("\n", " ")
        ) from None
