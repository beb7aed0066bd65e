"""Lifter training: an interrupted run resumes to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import motiongen.training.train_lifter as train_lifter
from motiongen.models.lifter import TemporalLifter

TINY = {
    "seed": 0,
    "loop_frames": 40,
    "speed": [0.8, 1.25],
    "mirror": 0.5,
    "temporal": {
        "model": {"window": 9, "width": 16, "depth": 1, "heads": 2, "mlp_ratio": 2.0, "dropout": 0.1},
        "steps": 6,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "warmup_steps": 2,
        "velocity_weight": 1.0,
        "contact_weight": 0.05,
        "save_every": 3,
    },
}


def _weights(path):
    return TemporalLifter.from_pretrained(path).state_dict()


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_interrupted_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    straight = train_lifter.train("temporal", tmp_path / "straight", progress=False, config=TINY)

    save = train_lifter.save_checkpoint

    def save_then_stop(out, model, optimizer, step, history):  # interrupted right after step 3 is saved
        save(out, model, optimizer, step, history)
        raise KeyboardInterrupt

    monkeypatch.setattr(train_lifter, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train_lifter.train("temporal", tmp_path / "resumed", progress=False, config=TINY)
    assert json.loads((tmp_path / "resumed" / "state.json").read_text())["step"] == 3
    monkeypatch.setattr(train_lifter, "save_checkpoint", save)
    resumed = train_lifter.train("temporal", tmp_path / "resumed", progress=False, config=TINY)

    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    history = json.loads((tmp_path / "resumed" / "state.json").read_text())["history"]
    assert history[-1]["step"] == 6 and np.isfinite(history[-1]["mpjpe_mm"])
    # and training did something: the weights moved away from the initial ones
    torch.manual_seed(TINY["seed"])
    initial = TemporalLifter(**TINY["temporal"]["model"]).state_dict()
    assert not torch.allclose(initial["head.weight"], a["head.weight"])
