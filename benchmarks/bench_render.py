"""Skeleton-video rendering speed: frames per second for drawing alone and for writing an .mp4.

    .venv/bin/python benchmarks/bench_render.py [--seconds 10] [--people 1] [--size 640x480]

Loops a clip of the built-in corpus (a synthetic walk when there is no corpus yet) to the wanted length.
"""

from __future__ import annotations

import argparse
import os
import resource
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
    frames = scene.frames
    print(f"{source}: {args.people} person(s), {frames} frames at {scene.fps:g} fps, {size[0]}x{size[1]}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (the machine may be shared)")
    print(f"scene setup      {setup * 1000:7.1f} ms")

    start, cpu = time.perf_counter(), cpu_seconds()
    for index in range(frames):
        scene.render(index, trace=True)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    print(f"render (draw)    {frames / wall:7.1f} frames/s   {cpu / frames * 1000:5.1f} ms CPU per frame")

    for suffix in (".mp4", ".gif"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"bench{suffix}"
            start, cpu = time.perf_counter(), cpu_seconds()
            write(motions, path, trace=True, progress=False, size=size)
            wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
            kib = path.stat().st_size / 1024
            print(
                f"write {suffix:<10} {frames / wall:7.1f} frames/s   {cpu / frames * 1000:5.1f} ms CPU per frame"
                f" (with the encoder)  {kib:.0f} KiB"
            )


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ffmpeg encoder)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
