"""A tiny partner-model run shared by the partner tests (trained once per session): on two real
salsa couples where ../shared/mocap exists, else on synthetic couples."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
from motion_samples import synthetic_walk

TINY = dict(
    width=32, layers=1, heads=2, max_frames=40, min_frames=10, batch_size=8, max_steps=6, save_every=3,
    log_every=3, warmup_steps=2, threads=1, speeds=[1.0], partner_hidden=32,
)  # fmt: skip


def tiny_config(**overrides):
    from motiongen.training.partner import PartnerTrainConfig

    return PartnerTrainConfig(**{**TINY, **overrides})


def has_mocap() -> bool:
    from motiongen.data.mocap import DEFAULT_MOCAP_DIR

    return (DEFAULT_MOCAP_DIR / "cmu_salsa").is_dir()


def synthetic_couples(count: int = 2):
    """Couples that walk together face to face, 0.8 m apart: the follower walks backwards."""
    from motiongen.data.corpus import Clip

    clips = []
    for i in range(count):
        heading = 0.7 * i
        ahead = np.array([np.sin(heading), np.cos(heading)])
        lead = synthetic_walk(80, heading=heading, speed=0.8 + 0.2 * i)
        follow = synthetic_walk(80, heading=heading + np.pi, speed=-(0.8 + 0.2 * i), start=tuple(0.8 * ahead))
        names = (f"lead_{i}", f"follow_{i}")
        for name, other, motion, caption in ((names[0], names[1], lead, "a person walks forward"),
                                             (names[1], names[0], follow, "a person walks backwards")):  # fmt: skip
            motion.meta = {"name": name, "partner": other, "take": f"couple_{i}"}
            clips.append(Clip(name, motion, [caption, "a person dances with a partner"], "train", False, "walk"))
    return clips


def tiny_clips():
    if has_mocap():
        from motiongen.data.pairs import load_couples

        return [clip for pair in load_couples("train", limit=2, progress=False) for clip in pair]
    return synthetic_couples()


@functools.lru_cache(maxsize=1)
def tiny_partner_run() -> Path:
    """Run folder of a 6-step training of a tiny partner model."""
    from motiongen.training.partner import train

    folder = Path(tempfile.mkdtemp(prefix="partner-tiny-")) / "run"
    train(tiny_config(), folder, progress=False, clips=tiny_clips())
    return folder
