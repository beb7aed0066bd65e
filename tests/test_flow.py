"""Rectified-flow student: the Euler sampler on known fields, reflow pair files, and a tiny
distill-then-sample run through the text-to-motion pipeline."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from motiongen.errors import UserError
from motiongen.sampling.flow import ReflowPairs, euler_sample, flow_sigmas, interpolate, sample_flow

# -- the sampler ----------------------------------------------------------------------------------


def test_flow_sigmas_are_even_steps_from_noise_to_data():
    assert flow_sigmas(1).tolist() == [1.0, 0.0]
    assert flow_sigmas(2).tolist() == [1.0, 0.5, 0.0]
    assert flow_sigmas(4).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    with pytest.raises(UserError):
        flow_sigmas(0)


def test_one_euler_step_follows_a_straight_field_exactly():
    """All paths of v(x, sigma) = (x - target) / sigma are straight lines into `target`: one Euler
    step from any noise lands on it, and every intermediate step stays on the exact line."""
    g = torch.Generator().manual_seed(0)
    target, noise = torch.randn(3, 7, 5, generator=g), torch.randn(3, 7, 5, generator=g)
    field = lambda x, sigma: (x - target) / sigma  # noqa: E731
    torch.testing.assert_close(euler_sample(field, noise, flow_sigmas(1)), target)
    torch.testing.assert_close(euler_sample(field, noise, flow_sigmas(4)), target)
    # A constant field moves every point by the same offset, whatever the number of steps.
    shift = torch.randn(5, generator=g)
    torch.testing.assert_close(euler_sample(lambda x, s: -shift.expand_as(x), noise, flow_sigmas(1)), noise + shift)
    # The pipeline's form: a clean-sample predictor; the timestep it sees is sigma * 1000.
    seen = []
    out = sample_flow(lambda x, t: seen.append(float(t)) or target, noise, 2)
    torch.testing.assert_close(out, target)
    assert seen == [1000.0, 500.0]


def test_interpolate_is_the_straight_path():
    data, noise = torch.zeros(2, 3, 4), torch.ones(2, 3, 4)
    out = interpolate(data, noise, torch.tensor([0.25, 1.0]))
    assert torch.allclose(out[0], torch.full((3, 4), 0.25)) and torch.allclose(out[1], noise[1])


def test_known_entries_are_kept_and_seen_on_their_path():
    g = torch.Generator().manual_seed(1)
    noise, known = torch.randn(2, 6, 4, generator=g), torch.randn(2, 6, 4, generator=g)
    mask = torch.zeros(2, 6, 4, dtype=torch.bool)
    mask[:, :2] = True  # a known prefix
    seen = []

    def field(x, sigma):
        seen.append((x.clone(), float(sigma)))
        return torch.ones_like(x) * 3.0  # ignores the known part on purpose

    out = euler_sample(field, noise, flow_sigmas(4), known, mask)
    assert torch.equal(out[mask], known[mask])
    assert not torch.allclose(out[~mask], known[~mask])
    for x, sigma in seen:  # the model saw the known part on the straight path at its noise level
        torch.testing.assert_close(x[mask], ((1 - sigma) * known + sigma * noise)[mask])


# -- pair files -----------------------------------------------------------------------------------


def test_reflow_pairs_round_trip_and_padding(tmp_path):
    g = torch.Generator().manual_seed(2)
    lengths = torch.tensor([3, 5])
    padded = {k: torch.randn(2, 5, 4, generator=g) for k in ("noise", "sample", "known")}
    mask = torch.rand(2, 5, 6, generator=g) > 0.5
    pairs = ReflowPairs.from_padded(padded["noise"], padded["sample"], padded["known"], mask, lengths, ["a", "b"])
    loaded = ReflowPairs.load(pairs.save(tmp_path / "pairs.safetensors"))
    assert loaded.captions == ["a", "b"] and torch.equal(loaded.lengths, lengths)
    batch = loaded.batch([1, 0])
    assert batch["captions"] == ["b", "a"] and batch["noise"].shape == (2, 5, 4)
    assert torch.equal(batch["noise"][0], padded["noise"][1])
    assert torch.equal(batch["sample"][1, :3], padded["sample"][0, :3]) and not batch["sample"][1, 3:].any()
    assert torch.equal(batch["known_mask"][1, :3], mask[0, :3])
    assert batch["frame_mask"].tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    (tmp_path / "bad.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(UserError):
        ReflowPairs.load(tmp_path / "bad.safetensors")


def test_acceleration_error_sees_jitter_not_drift():
    from motiongen.training.distill import acceleration_error

    target = torch.randn(2, 8, 3, generator=torch.Generator().manual_seed(3))
    frames = torch.arange(8, dtype=torch.float32)[None, :, None]
    mask = torch.ones(2, 8, dtype=torch.bool)
    assert float(acceleration_error(target + 0.5 * frames, target, mask)) == pytest.approx(0.0, abs=1e-10)
    zigzag = target + (-1.0) ** frames  # second difference of +-1 alternation is +-4
    assert float(acceleration_error(zigzag, target, mask)) == pytest.approx(16.0)
    mask[1, 4:] = False  # padding frames do not count, whatever they hold
    padded = zigzag.clone()
    padded[1, 4:] = 1e6
    assert float(acceleration_error(padded, target, mask)) == pytest.approx(16.0)


# -- tiny teacher -> student ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny random teacher (diffusion, DDIM) distilled into a flow student on a few pairs."""
    from diffusers import DDIMScheduler

    from motiongen.data.corpus import load_corpus
    from motiongen.pipelines.text2motion import TextToMotionPipeline
    from motiongen.sampling.diffusion import training_scheduler
    from motiongen.training.config import TrainConfig
    from motiongen.training.distill import DistillConfig, distill
    from motiongen.training.trainer import build_models

    root = tmp_path_factory.mktemp("flow")
    torch.manual_seed(0)
    train_config = TrainConfig(width=32, layers=1, heads=2, max_frames=40, min_frames=10)
    models = build_models(train_config)
    teacher = TextToMotionPipeline(
        denoiser=models["denoiser"].eval(),
        text_conditioner=models["text"].eval(),
        scheduler=DDIMScheduler.from_config(training_scheduler().config),
    )
    teacher.save_pretrained(str(root / "teacher"))
    (root / "teacher" / "training.json").write_text(json.dumps({"config": train_config.to_dict()}))
    config = DistillConfig(
        pairs=48, pair_batch=16, teacher_sampler="ddim", teacher_steps=8, pool_size=24, holdout=16,
        batch_size=16, max_steps=60, lr=1e-3, warmup_steps=2, loss_weights={"feature": 1.0},
    )  # fmt: skip
    clips = load_corpus("train")[:4]
    student = distill(root / "teacher", config, root / "run", progress=False, clips=clips)
    return {"root": root, "teacher": root / "teacher", "student": student, "config": config, "clips": clips}


def _features(motions) -> torch.Tensor:
    from motiongen.motion.features import motion_to_features

    return torch.stack([motion_to_features(m) for m in motions])


def test_distilled_student_is_closer_to_the_teacher(tiny_run):
    """On noise it never trained on, the student's 1- and 2-step samples are closer to
    the teacher's guided DDIM samples than those of the untrained student (the teacher's weights
    with the Euler sampler)."""
    from motiongen.pipelines.text2motion import TextToMotionPipeline
    from motiongen.sampling.flow import flow_scheduler

    teacher = TextToMotionPipeline.from_pretrained(tiny_run["teacher"])
    student = TextToMotionPipeline.from_pretrained(tiny_run["student"])
    untrained = TextToMotionPipeline(teacher.denoiser, teacher.text_conditioner, flow_scheduler())
    prompts = [clip.captions[0] for clip in tiny_run["clips"]]
    kwargs = dict(seconds=1.5, seed=123, progress=False, cleanup=False)  # the samplers' own output
    target = _features(teacher(prompts, num_inference_steps=8, guidance_scale=2.5, sampler="ddim", **kwargs))
    for steps in (1, 2):
        before = (_features(untrained(prompts, num_inference_steps=steps, sampler="flow", **kwargs)) - target).abs()
        after = (_features(student(prompts, num_inference_steps=steps, sampler="flow", **kwargs)) - target).abs()
        assert after.mean() < 0.7 * before.mean(), (steps, after.mean(), before.mean())
    info = json.loads((tiny_run["student"] / "distill.json").read_text())
    assert info["heldout_mse_after"]["1"] < 0.5 * info["heldout_mse_before"]["1"]


def test_student_sampling_is_deterministic_and_keeps_known_frames(tiny_run):
    from motiongen.conditioning.partial import KnownMotion
    from motiongen.motion.features import motion_to_features
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    student = TextToMotionPipeline.from_pretrained(tiny_run["student"])
    kwargs = dict(seconds=1.5, num_inference_steps=4, sampler="flow", progress=False)
    a = student(["a person runs forward"], seed=7, **kwargs)[0]
    b = student(["a person runs forward"], seed=7, **kwargs)[0]
    c = student(["a person runs forward"], seed=8, **kwargs)[0]
    assert np.array_equal(a.quats, b.quats) and np.array_equal(a.root, b.root)
    assert not np.allclose(a.quats, c.quats)

    prefix = tiny_run["clips"][0].motion.slice(0, 10)
    known = KnownMotion.prefix(prefix, 30)
    out = student(["a person runs forward"], known=known, seed=3, **kwargs)[0]
    torch.testing.assert_close(motion_to_features(out)[:10], known.features[:10], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out.positions()[:10], prefix.canonicalized().positions(), atol=1e-4)


def test_samplers_match_their_checkpoints(tiny_run):
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    student = TextToMotionPipeline.from_pretrained(tiny_run["student"])
    teacher = TextToMotionPipeline.from_pretrained(tiny_run["teacher"])
    with pytest.raises(UserError, match="--sampler flow"):
        student(["a person walks"], sampler="ddim", progress=False)
    with pytest.raises(UserError, match="flow student"):
        teacher(["a person walks"], sampler="flow", progress=False)


def test_rerun_reuses_cached_pairs(tiny_run):
    from motiongen.training.distill import distill

    parts = sorted((tiny_run["root"] / "run" / "pairs").glob("*.safetensors"))
    assert len(parts) == 3
    stamps = [p.stat().st_mtime_ns for p in parts]
    out = distill(tiny_run["teacher"], tiny_run["config"], tiny_run["root"] / "run", max_steps=1, progress=False)
    assert [p.stat().st_mtime_ns for p in parts] == stamps
    assert json.loads((out / "distill.json").read_text())["pair_seconds"] < 5


def test_pair_key_follows_the_guidance_and_a_quoted_boolean_is_refused(tmp_path):
    from motiongen.training.distill import DistillConfig, pair_key

    teacher = tmp_path / "teacher"
    (teacher / "denoiser").mkdir(parents=True)
    (teacher / "denoiser" / "diffusion_pytorch_model.safetensors").write_bytes(b"weights")
    plain, projected = DistillConfig(projected_guidance=False), DistillConfig(projected_guidance=True)
    assert pair_key(plain, teacher) != pair_key(projected, teacher)  # other guidance, other pairs
    assert pair_key(DistillConfig(side_guidance=0.0), teacher) != pair_key(DistillConfig(), teacher)
    with pytest.raises(UserError, match="side_guidance must be a number >= 0, got -1"):
        DistillConfig.from_dict({"side_guidance": -1})
    with pytest.raises(UserError, match="projected_guidance must be true or false, got 'false'"):
        DistillConfig.from_dict({"projected_guidance": "false"})
    with pytest.raises(UserError, match="bad distillation option.*unknown loss.*fetaure"):
        DistillConfig.from_dict({"loss_weights": {"fetaure": 1.0}})


def test_cli_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from motiongen.cli.app import main

    missing_teacher = ["--teacher", str(tmp_path / "nothing")]
    missing_config = ["--config", str(tmp_path / "x.yaml")]
    for args, words in ((missing_teacher, "checkpoint folder not found"), (missing_config, "config file not found")):
        monkeypatch.setattr(sys, "argv", ["motiongen", "distill", *args, "--output", str(tmp_path / "run")])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines


def test_generate_command_runs_the_student(tiny_run, tmp_path, monkeypatch, capsys):
    from motiongen.cli.app import main
    from motiongen.io import load_motion

    out = tmp_path / "walk.npz"
    args = ["motiongen", "generate", "a person walks", "--sampler", "flow", "--steps", "2", "--quiet"]
    monkeypatch.setattr(sys, "argv", [*args, "--checkpoint", str(tiny_run["student"]), "-s", "2", "-o", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0 and len(load_motion(out)) == 40
    monkeypatch.setattr(sys, "argv", [*args, "-o", str(tmp_path / "x.npz")])
    monkeypatch.setenv("MOTIONGEN_T2M_FLOW_CHECKPOINT", str(tmp_path / "no_student"))
    with pytest.raises(SystemExit) as exit_info:  # no shipped student there: one clear line
        main()
    assert exit_info.value.code == 2 and "checkpoint folder not found" in capsys.readouterr().err


def test_shipped_student_samples_its_teachers_kind_of_motion_in_four_steps():
    from motiongen.paths import CHECKPOINT_DIR
    from motiongen.pipelines.text2motion import TextToMotionPipeline
    from motiongen.sampling.flow import default_student_checkpoint

    assert default_student_checkpoint() == CHECKPOINT_DIR / "t2m-flow"
    student = TextToMotionPipeline.from_pretrained(CHECKPOINT_DIR / "t2m-flow")
    assert (CHECKPOINT_DIR / "t2m-flow" / "README.md").exists()
    walks = student(["a person walks forward"] * 2, seconds=2.0, num_inference_steps=4, sampler="flow", progress=False)
    again = student(["a person walks forward"], seconds=2.0, num_inference_steps=4, sampler="flow", progress=False)
    np.testing.assert_allclose(walks[0].positions(), again[0].positions(), atol=1e-5)  # batch size only rounds
    for motion in walks:  # upright, and travelling: a walk, not standing still
        assert len(motion) == 40 and motion.root[:, 1].min() > 0.6
        assert np.linalg.norm(motion.root[-1, [0, 2]] - motion.root[0, [0, 2]]) > 0.4
    with pytest.raises(UserError, match="flow"):
        student(["a person walks"], seconds=1.0, sampler="ddim", progress=False)
