"""Data loading throughput on this machine, per process: converting a dataset in HumanML3D's
layout (inverse kinematics per clip, done once), reading the converted cache, and building
training windows (features included) as a stream with the HumanML3D recipe's settings and with
corpus v2's augmentation on the built-in corpus, and drawing batches from a pre-built pool.

    .venv/bin/python benchmarks/bench_loaders.py [--clips 200] [--windows 512] [--threads 1] [--json out.json]

The HumanML3D-layout folder is synthetic (built-in corpus motion looped to 2-9.8 s, 263-D vectors,
texts, splits) and written to a temporary folder: the speed of the format, not of its content.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def write_humanml3d_like(root: Path, count: int, seed: int = 0) -> Path:
    from motiongen.data import augment
    from motiongen.data.corpus import load_corpus
    from motiongen.io.humanml3d_vectors import canonical_positions, joints_to_vectors

    rng = random.Random(seed)
    clips = load_corpus("train")
    for sub in ("new_joints", "new_joint_vecs", "texts"):
        (root / sub).mkdir(parents=True)
    names = []
    for i in range(count):
        clip = rng.choice(clips)
        frames = rng.randint(40, 196)  # HumanML3D's clip lengths: 2 to 9.8 s at 20 fps
        positions = canonical_positions(augment.loop(clip.motion, frames + 1).positions())
        name = f"{i:06d}"
        np.save(root / "new_joints" / f"{name}.npy", positions[:-1].astype(np.float32))
        np.save(root / "new_joint_vecs" / f"{name}.npy", joints_to_vectors(positions))
        caption = clip.captions[0]
        words = " ".join(f"{w}/X" for w in caption.split())
        (root / "texts" / f"{name}.txt").write_text(f"{caption}#{words}#0.0#0.0\n{caption}.#{words}#0.0#0.0\n")
        names.append(name)
    (root / "train.txt").write_text("\n".join(names) + "\n")
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))
    return root


class Timer:
    """Wall-clock and CPU seconds of a block: on a shared machine the CPU rate is the stable one."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rates(self, count: int) -> tuple[float, float]:
        """(per wall-clock second, per CPU second)."""
        return round(count / self.wall, 1), round(count / self.cpu, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips in the synthetic HumanML3D-layout folder")
    parser.add_argument("--windows", type=int, default=512, help="windows built per measurement")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from motiongen.data.corpus import load_corpus
    from motiongen.data.datasets import DatasetSpec, convert, load_dataset
    from motiongen.data.stream import WindowStream
    from motiongen.training.config import TrainConfig
    from motiongen.training.data import training_windows

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = write_humanml3d_like(Path(tmp) / "HumanML3D", args.clips)
        spec = DatasetSpec("humanml3d", str(root))
        with Timer() as t:
            clips = convert(spec, progress=False)
        rows.append(("convert HumanML3D layout (IK), clips/s", *t.rates(len(clips))))
        load_dataset(spec, cache_root=Path(tmp) / "cache", progress=False)  # writes the cache
        with Timer() as t:
            cached = load_dataset(spec, cache_root=Path(tmp) / "cache", progress=False)
        rows.append(("read the converted cache, clips/s", *t.rates(len(cached))))

        recipe = TrainConfig.load(Path(__file__).resolve().parent.parent / "configs" / "humanml3d.yaml")
        stream = WindowStream.from_config(cached, recipe)
        with Timer() as t:
            stream.batch(args.windows, torch.Generator().manual_seed(0))
        rows.append(("stream windows/s, configs/humanml3d.yaml settings", *t.rates(args.windows)))

    t2m = TrainConfig.load(Path(__file__).resolve().parent.parent / "configs" / "t2m.yaml")
    builtin = load_corpus("train")
    plain = TrainConfig(**{**t2m.to_dict(), "walk_on_actions": []})
    stream = WindowStream.from_config(builtin, plain)
    with Timer() as t:
        stream.batch(args.windows, torch.Generator().manual_seed(0))
    rows.append(("stream windows/s, configs/t2m.yaml augmentation, built-in corpus", *t.rates(args.windows)))
    pool, _ = training_windows(builtin, TrainConfig(**{**plain.to_dict(), "pool_size": args.windows}), progress=False)
    with Timer() as t:
        for i in range(50):
            pool.batch(32, torch.Generator().manual_seed(i))
    rows.append(("pre-built pool: batch draws, windows/s", *t.rates(50 * 32)))

    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.1f}")
    print("| measurement (one process) | per wall-clock second | per CPU second |\n| --- | --- | --- |")
    for name, wall, cpu in rows:
        print(f"| {name} | {wall} | {cpu} |")
    if args.json:
        args.json.write_text(
            json.dumps({"threads": args.threads, "load": os.getloadavg(), "rows": rows}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
