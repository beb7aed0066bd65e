"""The partner model's rectified-flow student: a tiny partner teacher distilled on a few pairs,
then sampled offline and streaming, through the pipeline and `motiongen react`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_helpers import assert_one_line_error, run
from partner_helpers import tiny_clips, tiny_partner_run

SMALL = dict(
    pairs=48, pair_batch=16, teacher_sampler="ddim", teacher_steps=6, holdout=16, batch_size=16, max_steps=60,
    lr=1e-3, warmup_steps=2, loss_weights={"feature": 1.0}, save_every=30, log_every=10,
)  # fmt: skip


@pytest.fixture(scope="module")
def student_run(tmp_path_factory):
    from motiongen.training.distill_partner import PartnerDistillConfig, distill_partner

    teacher = tiny_partner_run() / "pipeline"
    output = tmp_path_factory.mktemp("partner-flow") / "run"
    config = PartnerDistillConfig(**SMALL)
    student = distill_partner(teacher, config, output, progress=False, clips=tiny_clips())
    return {"teacher": teacher, "output": output, "student": student, "config": config}


def _leader(seconds: float = 2.0):
    from motiongen.data.pairs import couples

    lead, _ = couples(tiny_clips())[0]
    return lead.motion.resampled(20.0).slice(0, int(seconds * 20))


def test_pairs_hold_what_the_teacher_made_under_each_condition(student_run):
    from motiongen.training.distill_partner import load_pairs

    files = sorted((student_run["output"] / "pairs").glob("*.safetensors"))
    assert len(files) == 3
    batch = load_pairs(files[0])
    rows, frames = batch["noise"].shape[:2]
    assert rows == 16 and batch["sample"].shape == batch["noise"].shape
    assert len(batch["captions"]) == rows and batch["partner"].shape[-1] == batch["noise"].shape[-1]
    real = torch.arange(frames)[None, :] < batch["lengths"][:, None]
    # known entries are the teacher's output there: the sampler keeps them exactly
    known = student_run_teacher_mask(student_run, batch)
    assert torch.allclose(batch["sample"][known & real[..., None]], batch["known"][known & real[..., None]], atol=1e-5)
    assert batch["stream"].any() and (~batch["stream"]).any()  # both kinds of rows are drawn


def student_run_teacher_mask(run, batch):
    from motiongen.pipelines.react import ReactivePartnerPipeline

    teacher = ReactivePartnerPipeline.from_pretrained(run["teacher"])
    return teacher.denoiser.feature_mask(batch["known_mask"])


def test_student_is_closer_to_the_teacher_than_before(student_run):
    info = json.loads((student_run["student"] / "distill.json").read_text())
    assert info["pairs"] == 48
    for steps in ("1", "2"):
        assert info["heldout_mse_after"][steps] < 0.7 * info["heldout_mse_before"][steps], info


def test_student_answers_a_leader_deterministically_offline_and_streaming(student_run):
    from motiongen.pipelines.react import ReactivePartnerPipeline

    pipe = ReactivePartnerPipeline.from_pretrained(student_run["student"])
    leader = _leader()
    for streaming in (False, True):
        a = pipe(leader, sampler="flow", num_inference_steps=1, seed=3, streaming=streaming, progress=False)
        b = pipe(leader, sampler="flow", num_inference_steps=1, seed=3, streaming=streaming, progress=False)
        assert len(a) == len(leader) and np.array_equal(a.quats, b.quats) and np.array_equal(a.root, b.root)
        assert np.isfinite(a.root).all() and a.meta["sampler"] == "flow" and "guidance" not in a.meta
    with pytest.raises(Exception, match="--sampler flow"):
        pipe(leader, sampler="ddim", progress=False)


def test_rerun_reuses_the_pairs(student_run, tmp_path):
    from motiongen.pipelines.react import ReactivePartnerPipeline
    from motiongen.training.distill_partner import PartnerDistillConfig, make_pairs

    config = student_run["config"]
    teacher = ReactivePartnerPipeline.from_pretrained(student_run["teacher"])
    folder = student_run["output"] / "pairs"
    stamps = {f: f.stat().st_mtime_ns for f in folder.glob("*.safetensors")}
    make_pairs(teacher, student_run["teacher"], config, folder, clips=[], progress=False)  # no clips needed
    assert stamps == {f: f.stat().st_mtime_ns for f in folder.glob("*.safetensors")}
    with pytest.raises(Exception, match="text_prob"):
        PartnerDistillConfig(text_prob=1.5)


def test_distill_command_takes_a_partner_teacher_and_react_runs_the_student(student_run, tmp_path, monkeypatch, capsys):
    from motiongen.io import save_motion

    leader = tmp_path / "leader.bvh"
    save_motion(_leader(1.5), leader)
    out = tmp_path / "partner.bvh"
    monkeypatch.setenv("MOTIONGEN_PARTNER_FLOW_CHECKPOINT", str(student_run["student"]))  # --sampler flow's default
    code, _, err = run(monkeypatch, capsys, "react", leader, "-o", out, "--sampler", "flow", "--steps", "1",
                       "--partner-only", "--quiet")  # fmt: skip
    assert code == 0 and out.exists(), err
    # the command picks the partner distiller for a partner teacher: only its recipe knows text_prob
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("text_prob: 2\n")
    result = run(monkeypatch, capsys, "distill", "--teacher", student_run["teacher"], "--config", recipe,
                 "-o", tmp_path / "d")  # fmt: skip
    assert_one_line_error(result, "text_prob")
