"""Training on several processes through accelerate: two CPU processes (gloo) give the loss curve
and weights of one process with the same global batch, write one log and one checkpoint, and a
run stopped and resumed on two processes continues bit for bit."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from distributed_run import TINY_RUN
from safetensors.torch import load_file
from t2m_helpers import tiny_config

from motiongen.errors import UserError

HERE = Path(__file__).parent
WEIGHTS = Path("pipeline") / "denoiser" / "diffusion_pytorch_model.safetensors"


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two-processes")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(free_port()), str(HERE / "distributed_run.py"), str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    from motiongen.training.trainer import train

    out = tmp_path_factory.mktemp("one-process") / "run"
    train(tiny_config(**TINY_RUN), out, progress=False)
    return out


def test_two_processes_follow_the_loss_curve_of_one_with_the_same_global_batch(two_processes, one_process):
    two, one = rows(two_processes / "whole"), rows(one_process)
    assert [r["step"] for r in two] == [1, 2, 3, 4] == [r["step"] for r in one]  # one writer: no row twice
    for a, b in zip(two, one, strict=True):
        for key in ("loss", "feature", "positions", "velocity", "foot"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (a["step"], key)
    whole, single = load_file(str(two_processes / "whole" / WEIGHTS)), load_file(str(one_process / WEIGHTS))
    for name in single:
        torch.testing.assert_close(whole[name], single[name], atol=1e-5, rtol=1e-4)
    assert json.loads((two_processes / "whole" / "checkpoint" / "state.json").read_text())["step"] == 4


def test_a_run_resumed_on_two_processes_continues_bit_for_bit(two_processes):
    assert rows(two_processes / "split") == [
        {**r, "seconds": s["seconds"]}
        for r, s in zip(rows(two_processes / "whole"), rows(two_processes / "split"), strict=True)
    ]
    whole = load_file(str(two_processes / "whole" / WEIGHTS))
    split = load_file(str(two_processes / "split" / WEIGHTS))
    assert all(torch.equal(whole[name], split[name]) for name in whole)
    whole_ema = load_file(str(two_processes / "whole" / "checkpoint" / "ema.safetensors"))
    split_ema = load_file(str(two_processes / "split" / "checkpoint" / "ema.safetensors"))
    assert all(torch.equal(whole_ema[name], split_ema[name]) for name in whole_ema)


def test_micro_batches_change_the_batches_not_the_defaults(tmp_path):
    """micro_batches 1 (the default) draws what the single-batch trainer always drew; 2 parts
    draw other windows and noise, each part its own."""
    from motiongen.training.distributed import part_generator

    assert torch.equal(torch.rand(3, generator=part_generator(7, 5, 0)),
                       torch.rand(3, generator=torch.Generator().manual_seed(7 * 1_000_003 + 5)))  # fmt: skip
    assert not torch.equal(
        torch.rand(3, generator=part_generator(7, 5, 1)), torch.rand(3, generator=part_generator(7, 5, 0))
    )
    with pytest.raises(UserError, match="multiple of micro_batches"):
        tiny_config(batch_size=6, micro_batches=4)
    with pytest.raises(UserError, match="mixed_precision"):
        tiny_config(mixed_precision="fp8")


def test_micro_batches_not_shared_out_evenly_are_refused():
    from types import SimpleNamespace

    from motiongen.training.distributed import my_parts

    assert my_parts(4, SimpleNamespace(num_processes=2, process_index=1)) == range(2, 4)
    with pytest.raises(UserError, match=r"micro_batches \(3\) must be a multiple of the number of processes \(2\)"):
        my_parts(3, SimpleNamespace(num_processes=2, process_index=0))
