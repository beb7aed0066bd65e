"""A tiny text-to-motion run shared by the pipeline and CLI tests (trained once per session)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

TINY = dict(
    width=32, layers=1, heads=2, dropout=0.0, max_frames=40, min_frames=10, pool_size=24,
    batch_size=8, max_steps=6, save_every=3, log_every=3, warmup_steps=2, threads=1,
)  # fmt: skip


def tiny_config(**overrides):
    from motiongen.training.config import TrainConfig

    return TrainConfig(**{**TINY, **overrides})


def tiny_clips():
    from motiongen.data.corpus import load_corpus

    return load_corpus("train")[:4]


@functools.lru_cache(maxsize=1)
def tiny_run() -> Path:
    """Run folder of a 6-step training of a ~50 k parameter model on four corpus clips."""
    from motiongen.training.trainer import train

    folder = Path(tempfile.mkdtemp(prefix="t2m-tiny-")) / "run"
    train(tiny_config(), folder, progress=False, clips=tiny_clips())
    return folder
