"""`motiongen eval ...` as a user runs it: physics tables and JSON, clear one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from motiongen.cli.app import app
from motiongen.data import mocap
from motiongen.errors import UserError
from motiongen.io import save_motion
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX

SCRIPT = Path(sys.executable).parent / "motiongen"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "motiongen.cli.app"]


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def clips(tmp_path) -> tuple[Path, Path]:
    still = Motion.rest(30).on_ground()
    sliding = Motion.rest(30).on_ground()
    sliding.root[:, 0] += np.arange(30) * 0.05  # 1 m/s with the feet on the floor
    return save_motion(still, tmp_path / "still.bvh"), save_motion(sliding, tmp_path / "sliding.npz")


def test_physics_prints_a_table_and_writes_json(clips, tmp_path):
    out = tmp_path / "physics.json"
    result = CliRunner().invoke(app, ["eval", "physics", *map(str, clips), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "still.bvh" in result.output and "sliding.npz" in result.output and "mean" in result.output
    data = json.loads(out.read_text())
    assert data[str(clips[0])]["skating_ratio"] == 0.0
    assert data[str(clips[1])]["skating_ratio"] == 1.0
    assert data["mean"]["skating_ratio"] == pytest.approx(0.5)  # frame-weighted mean of 0 and 1
    # The JSON is not overwritten without --force.
    again = CliRunner().invoke(app, ["eval", "physics", str(clips[0]), "--json", str(out)])
    assert isinstance(again.exception, UserError) and "--force" in str(again.exception)


def test_physics_measures_raw_joint_files_as_they_are(tmp_path):
    positions = np.repeat(Motion.rest(1).on_ground().positions(), 20, 0)
    positions[::2, JOINT_INDEX["left_wrist"], 0] += 0.1  # a stretching forearm
    np.save(tmp_path / "joints.npy", positions)
    out = tmp_path / "j.json"
    result = CliRunner().invoke(app, ["eval", "physics", str(tmp_path / "joints.npy"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())[str(tmp_path / "joints.npy")]["bone_drift"] == pytest.approx(0.05 / 21, rel=1e-4)


def test_eval_errors_are_one_line(tmp_path):
    assert_one_line_error(run_cli("eval", "physics", tmp_path / "missing.bvh"), "not found")


def test_t2m_rejects_bad_options_before_any_work(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["eval", "t2m", "--checkpoint", str(tmp_path / "nothing")])
    assert isinstance(missing.exception, UserError) and "no text-to-motion checkpoint" in str(missing.exception)
    bad_sampler = runner.invoke(app, ["eval", "t2m", "--checkpoint", str(tmp_path), "--sampler", "euler"])
    assert isinstance(bad_sampler.exception, UserError) and "unknown sampler" in str(bad_sampler.exception)
    bad_split = runner.invoke(app, ["eval", "t2m", "--split", "val"])
    assert isinstance(bad_split.exception, UserError) and "unknown split" in str(bad_split.exception)
    bad_threads = runner.invoke(app, ["eval", "t2m", "--threads", "-2"])
    assert isinstance(bad_threads.exception, UserError) and "--threads" in str(bad_threads.exception)
    no_files = runner.invoke(app, ["eval", "t2m", "--checkpoint", str(tmp_path), "--hml3d-evaluator", str(tmp_path)])
    assert isinstance(no_files.exception, UserError) and "finest.tar" in str(no_files.exception)
    (tmp_path / "taken.json").write_text("{}")
    taken = runner.invoke(app, ["eval", "t2m", "--json", str(tmp_path / "taken.json")])
    assert isinstance(taken.exception, UserError) and "--force" in str(taken.exception)


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory) -> Path:
    """An untrained, tiny text-to-motion pipeline saved like a shipped checkpoint."""
    import torch
    from diffusers import DDIMScheduler

    from motiongen.pipelines.text2motion import TextToMotionPipeline
    from motiongen.sampling.diffusion import training_scheduler
    from motiongen.training.config import TrainConfig
    from motiongen.training.trainer import build_models

    torch.manual_seed(0)
    models = build_models(TrainConfig(width=16, layers=1, heads=2, max_frames=80, min_frames=10))
    pipe = TextToMotionPipeline(
        denoiser=models["denoiser"].eval(),
        text_conditioner=models["text"].eval(),
        scheduler=DDIMScheduler.from_config(training_scheduler().config),
    )
    path = tmp_path_factory.mktemp("t2m") / "tiny"
    pipe.save_pretrained(str(path))
    return path


def small_hml3d_evaluator(folder: Path) -> Path:
    """A randomly initialised HumanML3D evaluator in the released file layout (smaller GRUs)."""
    import torch

    from motiongen.models.guo_evaluator import GuoEvaluator

    folder.mkdir()
    torch.manual_seed(0)
    GuoEvaluator(text_hidden=16, motion_hidden=32, coemb=16).save_checkpoint(folder / "finest.tar")
    np.save(folder / "mean.npy", np.zeros(263, np.float32))
    np.save(folder / "std.npy", np.ones(263, np.float32))
    return folder


@pytest.mark.skipif(
    not mocap.DEFAULT_MOCAP_DIR.is_dir(),
    reason="the shipped evaluator scores corpus v2's held-out takes, cut from the CMU takes",
)
def test_t2m_end_to_end_writes_both_rows_and_speed(tiny_pipeline, tmp_path):
    out = tmp_path / "t2m.json"
    hml3d = small_hml3d_evaluator(tmp_path / "hml3d")
    args = ["eval", "t2m", "--checkpoint", str(tiny_pipeline), "--steps", "1", "--repeats", "1", "--samples", "32"]
    args += ["--mm-prompts", "2", "--mm-samples", "2", "--hml3d-evaluator", str(hml3d)]
    result = CliRunner().invoke(app, [*args, "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "real data" in result.output and "R@1" in result.output and "HumanML3D" in result.output
    data = json.loads(out.read_text())
    assert data["real"]["fid_hml3d"]["mean"] >= 0 and data["model"]["diversity_hml3d"]["mean"] > 0
    assert set(data["real"]) >= {"fid", "top1", "top3", "mm_dist", "diversity", "skating_ratio", "jitter"}
    assert "multimodality" in data["model"] and "multimodality" not in data["real"]
    copies = 32 / len(data["clips"])  # windows of each test clip per pool of 32
    if copies.is_integer():
        assert data["ceiling"] == pytest.approx([min(k, copies) / copies for k in (1, 2, 3)])
    assert data["speed"]["ms_per_clip"] > 0 and data["speed"]["peak_memory_mb"] > 100
    # The untrained model is far from real motion; real windows are close to other real windows.
    assert data["model"]["fid"]["mean"] > data["real"]["fid"]["mean"]
