"""Reading pickles that hold only numbers (AIST++ ships its motion as pickled dicts of NumPy
arrays). The unpickler builds plain containers and NumPy arrays and refuses every other global,
so a crafted file cannot run code."""

from __future__ import annotations

import pickle
from pathlib import Path

from motiongen.errors import UserError

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def load_arrays(path: str | Path, label: str) -> dict:
    """The dict a numbers-only pickle holds; anything else is a UserError."""
    try:
        with open(path, "rb") as f:
            data = _ArraysOnly(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UserError(f"{label}: not a pickle of NumPy arrays ({exc})") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read it ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise UserError(f"{label}: expected a dict of arrays, got {type(data).__name__}")
    return data
