"""Skeleton-video rendering speed: frames per second for drawing alone and for writing an .mp4.

    .venv/bin/python benchmarks/bench_render.py [--seconds 10] [--people 1] [--size 640x480]

Loops a clip of the built-in corpus (a synthetic walk when there is no corpus yet) to the wanted length.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def looped(motion, frames: int):
    """Repeat a clip until it has `frames` frames; each copy starts where the previous one ended."""
    import numpy as np

    from motiongen.motion.motion import Motion, concatenate

    copies, shift = [], np.zeros(3, np.float32)
    while sum(len(c) for c in copies) < frames:
        copies.append(Motion(motion.quats, motion.root + shift, motion.fps))
        shift += (motion.root[-1] - motion.root[0]) * np.array([1, 0, 1], np.float32)
    return concatenate(copies).slice(0, frames)


def sample_motions(people: int, seconds: float, clip_name: str):
    try:
        from motiongen.data.corpus import load_corpus

        clips = {clip.name: clip for clip in load_corpus()}
    except Exception:  # corpus not built yet
        clips = {}
    if clip_name in clips:
        motion = clips[clip_name].motion
        source = f"corpus clip '{clip_name}' (looped)"
    else:
        sys.path.insert(0, str(ROOT / "tests"))
        from motion_samples import synthetic_walk

        motion, source = synthetic_walk(40), "synthetic walk"
    frames = int(seconds * motion.fps)
    motions = []
    for p in range(people):
        m = looped(motion, frames)
        m.root[:, 0] += 1.5 * p  # side by side
        motions.append(m)
    return motions, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=1)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--clip", default="walk", help="corpus clip to loop (synthetic walk without a corpus)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))

    from motiongen.render.video import Scene, write

    motions, source = sample_motions(args.people, args.seconds, args.clip)
    start = time.perf_counter()
    scene = Scene(motions, size=size)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    for index in range(scene.frames):
        scene.render(index, trace=True)
    draw = time.perf_counter() - start
    print(f"{source}: {args.people} person(s), {scene.frames} frames at {scene.fps:g} fps, {size[0]}x{size[1]}")
    print(f"scene setup      {setup * 1000:7.1f} ms")
    print(f"render (draw)    {scene.frames / draw:7.1f} frames/s")

    for suffix in (".mp4", ".gif"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"bench{suffix}"
            start = time.perf_counter()
            write(motions, path, trace=True, progress=False, size=size)
            total = time.perf_counter() - start
            print(f"write {suffix:<10} {scene.frames / total:7.1f} frames/s  ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
