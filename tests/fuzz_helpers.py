"""Mutation fuzzing of the readers, shared by tests/test_fuzz_readers.py (a few hundred cases per
reader) and benchmarks/fuzz_readers.py (10,000+ per reader, by hand).

Each reader starts from a small valid file; hypothesis mutates its bytes (flips, inserts, cuts,
truncations) and its numbers (NaN, inf, 3e38, 1e-9, huge integers, negative frame rates). What the
reader may do: return a finite result, or raise UserError. Anything else escaping is a bug, and so
is allocating more than a bounded multiple of the file's size.
"""

from __future__ import annotations

import json
import re
import tracemalloc
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from motion_samples import synthetic_walk

from motiongen.errors import UserError

SPECIAL_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e999", "3e38", "-3e38", "1e-9", "0", "-0", "-21", "-5",
                   "0.000001", "1000000", "99999999999999999999999", "1e300", "2", "abc", "", "[]", "{}",
                   "null", "true", '"x"', "1j"]  # fmt: skip
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# Allocation allowed per reader call: a generous multiple of the file plus a fixed allowance for the
# retargeting and plausibility checks of a valid clip.
ALLOWED_BYTES_PER_FILE_BYTE = 2000
ALLOWED_FIXED_BYTES = 64 * 2**20


def seed_files(folder: Path) -> dict[str, Path]:
    """One small valid file per reader."""
    from motiongen.io import save_motion

    folder.mkdir(parents=True, exist_ok=True)
    walk = synthetic_walk(frames=6)
    files = {}
    for suffix in (".bvh", ".npz", ".npy"):
        files[suffix] = save_motion(walk, folder / f"seed{suffix}", force=True)
    from motiongen.io.npz import write as write_npz

    write_npz(walk, folder / "seed_motiongen.npz", layout="motiongen")
    files["motiongen.npz"] = folder / "seed_motiongen.npz"
    unit = [1.0, 0.0, 0.0, 0.0]
    frame = [0.0333, 0.0, 0.9, 0.0] + unit * 4 + [0.1] + unit * 2 + [0.2] + unit + [0.1] + unit * 2 + [0.2]
    (folder / "seed.txt").write_text(json.dumps({"Loop": "wrap", "Frames": [frame, frame, frame]}))
    files[".txt"] = folder / "seed.txt"
    people = [sum(([100.0 + 7 * j, 200.0 + 13 * j, 0.9] for j in range(17)), []) for _ in range(3)]
    results = [{"image_id": i, "keypoints": k, "score": 0.9} for i, k in enumerate(people)]
    (folder / "seed.json").write_text(
        json.dumps({"fps": 25, "image_size": [640, 480], "frames": [[r] for r in results]})
    )
    files[".json"] = folder / "seed.json"
    with open(folder / "seed_kp.npz", "wb") as f:
        np.savez(f, keypoints=np.array(people).reshape(3, 17, 3), fps=25.0, image_size=np.array([640, 480]))
    files["kp.npz"] = folder / "seed_kp.npz"
    return files


def _readers():
    from motiongen.cli.eval_commands import _load_positions
    from motiongen.io import bvh, deepmimic, humanml3d, npz
    from motiongen.lifting.sources import read_keypoint_file

    def keypoints(path):
        kp = read_keypoint_file(path)
        return kp.points, kp.scores, kp.fps

    return {
        "bvh": (".bvh", bvh.read),
        "npz": (".npz", npz.read),
        "npz_motiongen": ("motiongen.npz", npz.read),
        "npy": (".npy", humanml3d.read),
        "deepmimic": (".txt", deepmimic.read),
        "keypoints_json": (".json", keypoints),
        "keypoints_npz": ("kp.npz", keypoints),
        "eval_physics_npy": (".npy", _load_positions),
    }


READERS = _readers


@st.composite
def mutations(draw, data: bytes) -> bytes:
    """`data` with a few random edits: numbers swapped for special values, bytes flipped, inserted
    or cut, or the file truncated."""
    numbers = [m.span() for m in NUMBER.finditer(data)]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["number", "number", "byte", "insert", "cut", "truncate"]))
        if kind == "number" and numbers:
            start, end = numbers[draw(st.integers(0, len(numbers) - 1))]
            if end <= len(data):
                data = data[:start] + draw(st.sampled_from(SPECIAL_NUMBERS)).encode() + data[end:]
                numbers = [m.span() for m in NUMBER.finditer(data)]
        elif kind == "byte" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
        elif kind == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
        elif kind == "cut" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + data[i + draw(st.integers(1, 64)) :]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
    return data


def check_reader(read, path: Path, data: bytes) -> str | None:
    """Write `data` to `path` and read it. Returns None when the reader kept its promise, else a
    line saying what went wrong."""
    path.write_bytes(data)
    tracemalloc.start()
    try:
        result = read(path)
    except UserError as exc:
        result = None
        if "\n" in str(exc):
            return f"UserError of several lines: {str(exc)[:200]!r}"
    except Exception as exc:  # noqa: BLE001 - anything but UserError escaping is the bug we look for
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    limit = ALLOWED_FIXED_BYTES + ALLOWED_BYTES_PER_FILE_BYTE * len(data)
    if peak > limit:
        return f"allocated {peak / 2**20:.0f} MB for a {len(data)}-byte file"
    if result is not None and not _finite(result):
        return "accepted non-finite values"
    return None


def _finite(result) -> bool:
    from motiongen.motion.motion import Motion

    if isinstance(result, Motion):
        return bool(np.isfinite(result.quats).all() and np.isfinite(result.root).all() and result.fps > 0)
    parts = result if isinstance(result, tuple) else (result,)
    return all(np.isfinite(np.asarray(p, dtype=np.float64)).all() for p in parts)
