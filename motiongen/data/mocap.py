"""Real motion capture read from a folder of CMU takes (`../shared/mocap/` or the user's own).

CMU's terms forbid redistributing the data "even in converted form", so nothing read here is
committed: the corpus build (`motiongen data build`) writes it into a git-ignored cache. This
module knows the folder's layout (one sub-folder per source, see SOURCES.md there), each
source's corrections (the salsa files say 120 fps and are 60), and cuts glitches (T-pose blends,
marker swaps) out of every take before anything trains on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from motiongen.data.floor import put_on_floor
from motiongen.errors import UserError
from motiongen.motion.motion import DEFAULT_FPS, Motion
from motiongen.motion.sanity import clean_spans
from motiongen.paths import ROOT

# The shared folder beside the repository; $MOTIONGEN_MOCAP or `--source` name another.
DEFAULT_MOCAP_DIR = Path(os.environ.get("MOTIONGEN_MOCAP", ROOT.parent / "shared" / "mocap"))
# The corpus build's stricter glitch threshold (m/s between frames): the BVH takes' marker swaps
# reach 16-51; their real motion stays under 14 (karate kicks).
GLITCH_SPEED = 15.0


@dataclass(frozen=True)
class Source:
    folder: str
    fps: float | None  # the true frame rate where the files' own is wrong
    glitch_speed: float | None  # None: the source is already clean (retargeted, smoothed)
    origin: str


SOURCES = {
    "cmu_salsa": Source("cmu_salsa", 60.0, GLITCH_SPEED, "CMU subjects 60/61, salsa couples (43-joint Daz rig)"),
    "cmu_indian": Source("cmu_indian", None, GLITCH_SPEED, "CMU subject 94, indian dance (Daz rig)"),
    "cmu_martial": Source("cmu_martial", None, GLITCH_SPEED, "CMU subject 135 (probably), karate (Daz rig)"),
    "cmu_131": Source("cmu_131", None, GLITCH_SPEED, "CMU subject 131, styled walks (31-joint rig)"),
    "cmu_deepmimic": Source("cmu_deepmimic", None, None, "CMU takes retargeted to the DeepMimic humanoid"),
}
LICENCE = (
    "CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu): free for all uses; may not be "
    "redistributed, even in converted form"
)


def mocap_dir(path: str | Path | None = None) -> Path:
    """The mocap folder, checked: it must hold at least one of the known source folders."""
    path = Path(path) if path is not None else DEFAULT_MOCAP_DIR
    if not path.is_dir():
        raise UserError(
            f"no motion capture folder at {path}; give one with --source DIR (a folder with "
            f"{', '.join(SOURCES)} in it) or set MOTIONGEN_MOCAP"
        )
    if not any((path / s.folder).is_dir() for s in SOURCES.values()):
        raise UserError(f"{path} holds none of the known mocap folders ({', '.join(SOURCES)})")
    return path


def source_of(file: str) -> Source:
    folder = file.split("/")[0]
    if folder not in SOURCES:
        raise UserError(f"unknown mocap source folder '{folder}' in '{file}' (known: {', '.join(SOURCES)})")
    return SOURCES[folder]


@lru_cache(maxsize=4)
def read_take(root: Path, file: str) -> Motion:
    """A whole take at its true frame rate, retargeted onto SMPL-22, not yet cleaned."""
    from motiongen.io import bvh, deepmimic

    path = root / file
    if not path.exists():
        raise UserError(f"the mocap folder {root} lacks {file}")
    source = source_of(file)
    if path.suffix.lower() == ".bvh":
        return bvh.read_unchecked(path, fps=source.fps)
    return deepmimic.read(path)


def clean_take(root: Path, file: str, min_seconds: float = 2.0) -> list[tuple[float, float]]:
    """The glitch-free parts of a take, as (start, end) seconds of its true timeline."""
    motion = read_take(root, file)
    source = source_of(file)
    if source.glitch_speed is None:
        return [(0.0, round(len(motion) / motion.fps, 3))]
    spans = clean_spans(motion, min_frames=int(min_seconds * motion.fps), max_speed=source.glitch_speed)
    return [(round(a / motion.fps, 3), round(b / motion.fps, 3)) for a, b in spans]


def segment(root: Path, file: str, start: float, end: float, fps: float = DEFAULT_FPS, floor: bool = True) -> Motion:
    """Seconds [start, end] of a take at `fps` (put on the floor unless `floor` is False, which
    keeps two partners' shared world frame)."""
    motion = read_take(root, file)
    first, last = round(start * motion.fps), round(end * motion.fps)
    if last == len(motion) + 1:  # an end rounded up to the next hundredth of a second
        last = len(motion)
    if not 0 <= first < last <= len(motion):
        raise UserError(f"{file}: segment [{start}, {end}] s is outside 0..{len(motion) / motion.fps:.2f} s")
    part = motion.slice(first, last).resampled(fps)
    return put_on_floor(part) if floor else part


# How long the segments of each source are (seconds): salsa moves repeat over a few bars, the
# karate and indian dance takes change move every few seconds.
SEGMENT_SECONDS = {"cmu_salsa": 8.0, "cmu_indian": 5.0, "cmu_martial": 5.0, "cmu_131": 5.0, "cmu_deepmimic": 10.0}
MIN_SEGMENT, MAX_SEGMENT = 2.0, 10.0


def partner_file(file: str) -> str | None:
    """The other partner's file of a salsa take (NN <-> NN + 15), or None for solo sources."""
    if not file.startswith("cmu_salsa/"):
        return None
    number = int(Path(file).stem)
    return f"cmu_salsa/{number + 15 if number <= 15 else number - 15:02d}.bvh"


def _cut(start: float, end: float, target: float) -> list[tuple[float, float]]:
    """[start, end] in equal parts close to `target` seconds, each within 2-10 s."""
    length = end - start
    if length < MIN_SEGMENT:
        return []
    parts = max(1, round(length / target))
    while length / parts > MAX_SEGMENT:
        parts += 1
    step = length / parts
    return [(round(start + k * step, 2), round(start + (k + 1) * step, 2)) for k in range(parts)]


def propose_segments(root: Path) -> list[dict]:
    """Cut every take into segments (file, start, end; salsa with its partner), avoiding glitches
    in either partner. Used once to write data/mocap_segments.yaml, whose captions were then
    written by watching each segment; the build reads that table, not this."""
    out = []
    for folder in SOURCES:
        files = sorted(
            p.relative_to(root).as_posix() for p in (root / folder).glob("*") if p.suffix in (".bvh", ".txt")
        )
        for file in files:
            partner = partner_file(file)
            if partner is not None and int(Path(file).stem) > 15:
                continue  # each couple once, from the first partner's file
            spans = clean_take(root, file)
            if partner is not None:
                theirs = clean_take(root, partner)
                spans = [
                    (max(a, c), min(b, d)) for a, b in spans for c, d in theirs if min(b, d) - max(a, c) >= MIN_SEGMENT
                ]
            for a, b in spans:
                for start, end in _cut(a, b, SEGMENT_SECONDS[folder]):
                    out.append({"file": file, "partner": partner, "start": start, "end": end})
    return out
