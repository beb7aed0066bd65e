"""Build the built-in corpus (`motiongen data build`): retarget the offline sources onto SMPL-22.

Sources (see data/SOURCES.md): the DeepMimic clips shipped in the pybullet wheel and the two CMU
subject-1 BVH files of Debian's assimp-testmodels. Which clip comes from where, its cut, split and
captions are listed in data/captions.yaml. The output is deterministic: the same sources give the
same files.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motiongen.data.captions import CAPTIONS_FILE, load_clip_table
from motiongen.data.corpus import INDEX_NAME, read_index
from motiongen.data.floor import put_on_floor
from motiongen.errors import UserError
from motiongen.motion.motion import DEFAULT_FPS, Motion

CMU_DIR = Path("/usr/share/assimp/models/BVH")

SOURCE_INFO = {
    "deepmimic": {
        "origin": "DeepMimic motion clips (Peng et al.), as shipped in the pybullet wheel: pybullet_data/data/motions/",
        "licence": "MIT",
    },
    "cmu": {
        "origin": "CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu), subject 1, BVH conversion by "
        "B. Hahne (cgspeed), as shipped in Debian's assimp-testmodels: /usr/share/assimp/models/BVH/",
        "licence": "CMU: free for all uses (research and commercial)",
    },
}


def deepmimic_dir() -> Path:
    try:
        import pybullet_data
    except ImportError as exc:
        raise UserError(
            "building the corpus needs the DeepMimic clips of the pybullet wheel: pip install pybullet"
        ) from exc
    path = Path(pybullet_data.getDataPath()) / "data" / "motions"
    if not path.is_dir():
        raise UserError(
            f"pybullet is installed but {path} is missing; reinstall it: pip install --force-reinstall pybullet"
        )
    return path


def cmu_file(name: str) -> Path:
    path = CMU_DIR / name
    if not path.exists():
        raise UserError(f"building the corpus needs {path} (CMU mocap): apt-get install assimp-testmodels")
    return path


@lru_cache(maxsize=2)
def _read_bvh(path: Path, fps: float) -> Motion:
    from motiongen.io import bvh

    return bvh.read_unchecked(path).resampled(fps)  # cut by seconds of the whole take, T-pose frame included


def cmu_segment(path: Path, start: float, end: float, fps: float = DEFAULT_FPS) -> Motion:
    """Seconds [start, end] of a CMU BVH file, retargeted by motiongen.io.bvh, at `fps`, on the floor."""
    whole = _read_bvh(path, fps)
    first, last = round(start * fps), round(end * fps)
    if not 0 <= first < last <= len(whole):
        raise ValueError(f"{path.name}: segment [{start}, {end}] s is outside 0..{whole.duration:.2f} s")
    return put_on_floor(whole.slice(first, last))


def clip_motion(entry: dict) -> Motion:
    """Retarget one clip of the table to a 20 fps SMPL-22 motion standing on the floor."""
    if entry["source"] == "deepmimic":
        from motiongen.io import deepmimic

        frames, _ = deepmimic.read_clip(deepmimic_dir() / entry["file"])
        return deepmimic.frames_to_motion(frames, DEFAULT_FPS)
    if entry["source"] == "cmu":
        return cmu_segment(cmu_file(entry["file"]), entry["start"], entry["end"], DEFAULT_FPS)
    raise ValueError(f"unknown source '{entry['source']}'")


def save_clip(motion: Motion, path: Path) -> None:
    """npz with fixed zip timestamps, so rebuilding gives byte-identical files; written atomically."""
    arrays = {
        "quats": motion.quats.astype(np.float32),
        "root": motion.root.astype(np.float32),
        "fps": np.asarray(motion.fps, dtype=np.float64),
    }
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, value, allow_pickle=False)
            zf.writestr(
                zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                buf.getvalue(),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    os.replace(tmp, path)


def build_corpus(output_dir: str | Path, progress: bool = True, table_path: str | Path = CAPTIONS_FILE) -> Path:
    """Rebuild every clip of data/captions.yaml into `output_dir` (npz files + index.json)."""
    output_dir = Path(output_dir)
    table = load_clip_table(table_path)
    # Fail early, before writing anything, if a source is missing.
    if any(e["source"] == "deepmimic" for e in table.values()):
        deepmimic_dir()
    for entry in table.values():
        if entry["source"] == "cmu":
            cmu_file(entry["file"])
    output_dir.mkdir(parents=True, exist_ok=True)
    # Clips an earlier build wrote and the table no longer lists are removed; nothing else is.
    try:
        written_before = {entry["file"] for entry in read_index(output_dir)}
    except (UserError, OSError, ValueError, KeyError, TypeError):
        written_before = set()
    index = []
    for name, entry in tqdm(table.items(), desc="building corpus", unit="clip", disable=not progress):
        motion = clip_motion(entry)
        save_clip(motion, output_dir / f"{name}.npz")
        source = dict(SOURCE_INFO[entry["source"]], file=entry["file"])
        if entry["source"] == "cmu":
            source["seconds"] = [entry["start"], entry["end"]]
        index.append(
            {
                "name": name,
                "file": f"{name}.npz",
                "split": entry["split"],
                "action": entry["action"],
                "cyclic": bool(entry["cyclic"]),
                "handed": bool(entry.get("handed", False)),
                "frames": len(motion),
                "seconds": round(motion.duration, 2),
                "captions": list(entry["captions"]),
                "source": source,
            }
        )
    for stale in sorted(written_before - {f"{name}.npz" for name in table}):
        (output_dir / Path(stale).name).unlink(missing_ok=True)
    text = json.dumps({"fps": DEFAULT_FPS, "clips": index}, indent=1, ensure_ascii=False) + "\n"
    tmp = output_dir / (INDEX_NAME + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output_dir / INDEX_NAME)
    return output_dir
