"""`motiongen generate` and `motiongen train` as a user calls them: outputs, numbering, clear errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from t2m_helpers import tiny_run

from motiongen.io import load_motion


@pytest.fixture(scope="module")
def checkpoint():
    return tiny_run() / "pipeline"


def test_bad_arguments_are_one_line_errors(monkeypatch, capsys, tmp_path, checkpoint):
    out = ["-o", tmp_path / "a.npz", "--checkpoint", checkpoint]
    cases = [
        (["generate", "", *out], "prompt is empty"),
        (["generate", "   ", *out], "prompt is empty"),
        (["generate", *out], "prompt is empty"),
        (["generate", "a person walks", "--seconds", "0", *out], "positive"),
        (["generate", "a person walks", "--seconds", "-2", *out], "positive"),
        (["generate", "a person walks", "--seconds", "601", *out], "at most 600"),
        (["generate", "a person walks", "--num-samples", "0", *out], "--num-samples"),
        (["generate", "a person walks", "--sampler", "euler", *out], "--sampler"),
        (["generate", "a person walks", "--steps", "0", *out], "--steps"),
        (["generate", "a person walks", "--threads", "-1", *out], "--threads"),
        (["generate", "a person walks", "-o", tmp_path / "a.fbx", "--checkpoint", checkpoint], "unknown extension"),
        (["generate", "--prompts", tmp_path / "none.txt", *out], "prompts file not found"),
        (["generate", "a person walks", "-o", tmp_path / "a.npz", "--checkpoint", tmp_path / "nope"], "not found"),
        (["train", "--config", tmp_path / "nope.yaml"], "config file not found"),
    ]
    for args, words in cases:
        assert_one_line_error(run(monkeypatch, capsys, *args), words)
    assert not (tmp_path / "a.npz").exists()


def test_incompatible_checkpoint_is_a_one_line_error(monkeypatch, capsys, tmp_path, checkpoint):
    old = tmp_path / "old"
    shutil.copytree(checkpoint, old)
    config = json.loads((old / "denoiser" / "config.json").read_text())
    config["feature_version"] = 0
    (old / "denoiser" / "config.json").write_text(json.dumps(config))
    result = run(monkeypatch, capsys, "generate", "a person walks", "-o", tmp_path / "a.npz", "--checkpoint", old)
    assert_one_line_error(result, "incompatible checkpoint")


def test_samples_are_numbered_and_not_overwritten(monkeypatch, capsys, tmp_path, checkpoint):
    args = ["generate", "a person runs", "--seconds", "1", "--steps", "2", "-q", "--checkpoint", checkpoint]
    code, out, err = run(monkeypatch, capsys, *args, "-n", "2", "-o", tmp_path / "run.npz")
    assert code == 0, err
    first, second = load_motion(tmp_path / "run_01.npz"), load_motion(tmp_path / "run_02.npz")
    assert len(first) == 20 and len(second) == 20
    assert "seed 1" in out
    assert_one_line_error(run(monkeypatch, capsys, *args, "-n", "2", "-o", tmp_path / "run.npz"), "--force")
    code, _, err = run(monkeypatch, capsys, *args, "-n", "2", "-o", tmp_path / "run.npz", "--force", "--seed", "9")
    assert code == 0, err


def test_prompts_file_and_video_with_bvh(monkeypatch, capsys, tmp_path, checkpoint):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a person walks forward\n\n# a comment\na person jumps\n")
    common = ["--seconds", "1", "--steps", "2", "-q", "--checkpoint", checkpoint]
    code, _, err = run(monkeypatch, capsys, "generate", "--prompts", prompts, "-o", tmp_path / "batch.bvh", *common)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.glob("batch_*.bvh")) == ["batch_01.bvh", "batch_02.bvh"]
    assert len(load_motion(tmp_path / "batch_02.bvh")) == 20
    code, _, err = run(monkeypatch, capsys, "generate", "a person walks", "-o", tmp_path / "walk.mp4", *common)
    assert code == 0, err
    assert (tmp_path / "walk.mp4").stat().st_size > 1000
    assert len(load_motion(tmp_path / "walk.bvh")) == 20
    code, _, err = run(monkeypatch, capsys, "generate", "a person jumps", "-o", tmp_path / "jump.png", *common)
    assert code == 0, err
    assert (tmp_path / "jump.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # a film strip
    assert len(load_motion(tmp_path / "jump.bvh")) == 20


def test_threads_option_sets_torch_threads_and_keeps_the_result(monkeypatch, capsys, tmp_path, checkpoint):
    import numpy as np
    import torch

    before = torch.get_num_threads()
    args = ["generate", "a person jumps", "--seconds", "1", "--steps", "2", "-q", "--checkpoint", checkpoint]
    try:
        assert run(monkeypatch, capsys, *args, "-o", tmp_path / "default.npz")[0] == 0
        assert run(monkeypatch, capsys, *args, "--threads", "1", "-o", tmp_path / "one.npz")[0] == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    default, one = load_motion(tmp_path / "default.npz"), load_motion(tmp_path / "one.npz")
    np.testing.assert_allclose(default.positions(), one.positions(), atol=1e-4)


def test_guidance_mode_flags_reach_the_sampler(monkeypatch, capsys, tmp_path, checkpoint):
    import numpy as np

    from motiongen.sampling.guidance import PROJECTED_BY_DEFAULT

    args = ["generate", "a person jumps", "--seconds", "1", "--steps", "3", "-q", "--checkpoint", checkpoint]
    outputs = {}
    for flag in ("", "--projected-guidance", "--plain-guidance"):
        path = tmp_path / f"{flag.strip('-') or 'default'}.npz"
        assert run(monkeypatch, capsys, *args, *([flag] if flag else []), "-o", path)[0] == 0
        outputs[flag] = load_motion(path).positions()
    assert not np.allclose(outputs["--projected-guidance"], outputs["--plain-guidance"], atol=1e-4)
    same = "--projected-guidance" if PROJECTED_BY_DEFAULT else "--plain-guidance"
    np.testing.assert_array_equal(outputs[""], outputs[same])


def test_commands_default_to_the_pipelines_guidance_scale():
    # The CLI keeps torch out of its imports, so it writes the number itself: it must be the one.
    import inspect

    from motiongen.cli.eval_commands import t2m as eval_t2m
    from motiongen.cli.generate_commands import generate
    from motiongen.pipelines.text2motion import TextToMotionPipeline
    from motiongen.sampling.guidance import DEFAULT_SCALE, DEFAULT_SIDE, Guidance

    assert Guidance().scale == DEFAULT_SCALE and Guidance().side == DEFAULT_SIDE
    assert inspect.signature(TextToMotionPipeline.__call__).parameters["guidance_scale"].default == DEFAULT_SCALE
    assert inspect.signature(TextToMotionPipeline.__call__).parameters["side_guidance"].default == DEFAULT_SIDE
    assert inspect.signature(generate).parameters["side_guidance"].default.default == DEFAULT_SIDE
    for command in (generate, eval_t2m):
        assert inspect.signature(command).parameters["guidance"].default.default == DEFAULT_SCALE


def test_minutes_long_clips_are_made_window_by_window(monkeypatch, capsys, tmp_path, checkpoint):
    from motiongen.io import load_motion

    out = tmp_path / "long.npz"
    code, text, err = run(monkeypatch, capsys, "generate", "a person walks forward, then turns left", "-o", out,
                          "--seconds", "75", "--steps", "2", "--checkpoint", checkpoint)  # fmt: skip
    assert code == 0, err
    motion = load_motion(out)
    assert len(motion) == 1500 and motion.meta.get("caption") == "a person walks forward, then turns left"
    steps = np.linalg.norm(np.diff(motion.positions(), axis=0), axis=-1).max()
    assert steps < 0.5  # continuous: no joint jumps half a metre between frames at a window seam
