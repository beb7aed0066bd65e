"""Run by tests/test_distributed_training.py under `accelerate launch --cpu --num_processes 2`:
a tiny training run straight through, and the same run stopped after 2 steps and resumed."""

from __future__ import annotations

import sys
from pathlib import Path

from t2m_helpers import tiny_config

from motiongen.training.trainer import train

TINY_RUN = dict(pool_size=16, max_steps=4, save_every=2, log_every=1, warmup_steps=2, micro_batches=2)


def main(out: Path) -> None:
    config = tiny_config(**TINY_RUN)
    train(config, out / "whole", progress=False)
    train(config, out / "split", max_steps=2, progress=False)
    train(config, out / "split", resume=True, progress=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
