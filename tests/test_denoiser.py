"""Denoiser backbone, diffusion sampling loop, guidance and training losses."""

from __future__ import annotations

import pytest
import torch

from motiongen.conditioning.partial import NUM_GROUPS, expand_mask
from motiongen.data.corpus import load_corpus
from motiongen.models.denoiser import MotionDenoiser
from motiongen.motion.features import FEATURE_DIM, SLICES, feature_positions, motion_to_features
from motiongen.sampling.diffusion import add_noise, make_sampler, sample, training_scheduler
from motiongen.sampling.guidance import along, classifier_free_guidance
from motiongen.training.losses import diffusion_losses, heading_frame_positions, world_positions


def tiny_denoiser(**kwargs) -> MotionDenoiser:
    torch.manual_seed(0)
    return MotionDenoiser(**{"width": 32, "layers": 2, "heads": 2, "max_frames": 40, "dropout": 0.0, **kwargs}).eval()


def inputs(batch=2, frames=15, context=5, width=32, seed=1):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, frames, FEATURE_DIM, generator=gen)
    ctx = torch.randn(batch, context, width, generator=gen)
    return x, ctx, torch.ones(batch, context, dtype=torch.bool)


@pytest.mark.parametrize("frames_per_token", [1, 2])
def test_shapes_and_padding_frames_do_not_matter(frames_per_token):
    model = tiny_denoiser(frames_per_token=frames_per_token)
    x, ctx, cmask = inputs(frames=15)
    out = model(x, torch.tensor([10, 500]), ctx, cmask)
    assert out.shape == x.shape
    # Row 0 is 11 frames long: whatever is in its padding frames, its real frames come out the same.
    frame_mask = torch.ones(2, 15, dtype=torch.bool)
    frame_mask[0, 11:] = False
    noisy_pad = x.clone()
    noisy_pad[0, 11:] = 100 * torch.randn(4, FEATURE_DIM)
    a = model(x, torch.tensor(10), ctx, cmask, frame_mask=frame_mask)
    b = model(noisy_pad, torch.tensor(10), ctx, cmask, frame_mask=frame_mask)
    torch.testing.assert_close(a[0, :11], b[0, :11])
    torch.testing.assert_close(a[1], b[1])
    alone = model(x[:1, :11], torch.tensor(10), ctx[:1], cmask[:1])
    torch.testing.assert_close(alone[0], a[0, :11], atol=1e-5, rtol=1e-4)


def test_context_mask_and_known_input_are_used():
    model = tiny_denoiser()
    x, ctx, cmask = inputs()
    t = torch.tensor(300)
    base = model(x, t, ctx, cmask)
    cmask2 = cmask.clone()
    cmask2[:, 3:] = False
    ctx2 = ctx.clone()
    ctx2[:, 3:] = 50.0  # masked-out tokens are ignored ...
    torch.testing.assert_close(model(x, t, ctx2, cmask2), model(x, t, ctx, cmask2))
    assert not torch.allclose(model(x, t, ctx, cmask2), base)  # ... and real ones are attended to
    known_mask = torch.zeros(2, 15, NUM_GROUPS, dtype=torch.bool)
    known_mask[:, :5] = True
    with_known = model(x, t, ctx, cmask, known=torch.randn_like(x), known_mask=known_mask)
    assert not torch.allclose(with_known, base)
    # the known features count only where the mask says
    known = torch.randn_like(x)
    other = known.clone()
    other[:, 5:] = 7.0
    torch.testing.assert_close(
        model(x, t, ctx, cmask, known=known, known_mask=known_mask),
        model(x, t, ctx, cmask, known=other, known_mask=known_mask),
    )


def test_context_keys_are_reused_only_while_context_and_weights_are_unchanged():
    import copy

    model = tiny_denoiser()
    x, ctx, cmask = inputs()
    t = torch.tensor(300)
    with torch.no_grad():
        first = model(x, t, ctx, cmask)
        torch.testing.assert_close(model(x, t, ctx, cmask), first, rtol=0, atol=0)  # from the cache
        ctx.mul_(2.0)  # edited in place: projected anew
        edited = model(x, t, ctx, cmask)
        model.blocks[0].cross_attn.kv.weight.add_(0.5)  # new weights: projected anew
        retrained = model(x, t, ctx, cmask)
    uncached = copy.deepcopy(model)  # a copy carries no cache
    assert all(b.cross_attn._context_kv is None for b in uncached.blocks)
    for b in uncached.blocks:
        b.cross_attn.reuse_context = False
    with torch.no_grad():
        torch.testing.assert_close(uncached(x, t, ctx, cmask), retrained)
        model.blocks[0].cross_attn.kv.weight.sub_(0.5)
        uncached.blocks[0].cross_attn.kv.weight.sub_(0.5)
        torch.testing.assert_close(uncached(x, t, ctx, cmask), edited)
    assert not torch.allclose(edited, first) and not torch.allclose(retrained, edited)
    # with gradients on (training) nothing is cached
    model.blocks[0].cross_attn._context_kv = None
    model(x, t, ctx, cmask).sum().backward()
    assert model.blocks[0].cross_attn._context_kv is None and model.blocks[0].cross_attn.kv.weight.grad is not None


def test_global_context_adds_the_mean_context_token_to_every_frame():
    model = tiny_denoiser(global_context=True)
    x, ctx, cmask = inputs()
    t = torch.tensor(300)
    cmask[:, 3:] = False
    padded = ctx.clone()
    padded[:, 3:] = 50.0  # masked-out tokens stay out of the mean too
    torch.testing.assert_close(model(x, t, padded, cmask), model(x, t, ctx, cmask))
    # with cross-attention to a single token cut off (its output projection zeroed), the
    # condition still reaches the frames through the global path
    for block in model.blocks:
        torch.nn.init.zeros_(block.cross_attn.out.weight)
        torch.nn.init.zeros_(block.cross_attn.out.bias)
    other = ctx.clone()
    other[:, :3] += 1.0
    assert not torch.allclose(model(x, t, other, cmask), model(x, t, ctx, cmask))
    plain = tiny_denoiser()
    for block in plain.blocks:
        torch.nn.init.zeros_(block.cross_attn.out.weight)
        torch.nn.init.zeros_(block.cross_attn.out.bias)
    torch.testing.assert_close(plain(x, t, other, cmask), plain(x, t, ctx, cmask))


def test_save_and_load_keep_weights_and_normaliser(tmp_path):
    model = tiny_denoiser()
    model.feature_mean.copy_(torch.linspace(-1, 1, FEATURE_DIM))
    model.feature_std.copy_(torch.linspace(0.5, 2, FEATURE_DIM))
    model.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    loaded = MotionDenoiser.from_pretrained(tmp_path).eval()
    x, ctx, cmask = inputs()
    torch.testing.assert_close(loaded(x, torch.tensor(7), ctx, cmask), model(x, torch.tensor(7), ctx, cmask))
    torch.testing.assert_close(loaded.denormalize(loaded.normalize(x)), x)
    assert loaded.config.feature_version == model.config.feature_version


def test_size_of_the_default_model():
    params = sum(p.numel() for p in MotionDenoiser().parameters())
    assert 3e6 < params < 6e6


# -- sampling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ddim", "dpm"])
def test_sampler_with_a_perfect_denoiser_returns_the_target(name):
    target = torch.randn(2, 12, 8, generator=torch.Generator().manual_seed(0))
    calls = []

    def oracle(x, t):
        calls.append(int(t))
        return target

    scheduler = make_sampler(name, training_scheduler().config)
    noise = torch.randn(2, 12, 8, generator=torch.Generator().manual_seed(1))
    out = sample(oracle, scheduler, noise, num_inference_steps=10, progress=False)
    torch.testing.assert_close(out, target, atol=1e-4, rtol=1e-4)
    assert len(calls) == 10 and calls == sorted(calls, reverse=True)


def test_known_values_are_imposed_and_sampling_is_deterministic():
    gen = torch.Generator().manual_seed(0)
    known = torch.randn(1, 10, 6, generator=gen)
    mask = torch.zeros(1, 10, 6, dtype=torch.bool)
    mask[:, :4] = True
    seen = []

    def denoise(x, t):  # a poor model that knows nothing; records what it sees
        seen.append(x[:, :4].clone())
        return torch.zeros_like(x)

    scheduler = make_sampler("ddim", training_scheduler().config)
    noise = torch.randn(1, 10, 6, generator=gen)
    out = sample(denoise, scheduler, noise, 20, known=known, known_mask=mask, progress=False)
    torch.testing.assert_close(out[:, :4], known[:, :4])
    assert not torch.allclose(out[:, 4:], known[:, 4:])
    # near the end of sampling the model sees the known frames almost noise-free
    assert (seen[-1] - known[:, :4]).abs().max() < 0.2
    again = sample(denoise, scheduler, noise, 20, known=known, known_mask=mask, progress=False)
    assert torch.equal(out, again)


def constant_context_model(calls: list[int]):
    """A fake denoiser whose output is the first number of each row's context, so every guidance
    formula gives a known constant; it records the batch size of each call."""

    def model(x, t, tokens, mask):
        calls.append(x.shape[0])
        return tokens[:, :1, :1].expand(x.shape[0], x.shape[1], x.shape[2]) * torch.ones_like(x)

    return model


def constant_context(value: float, length: int):
    return torch.full((2, length, 4), value), torch.ones(2, length, dtype=torch.bool)


def test_classifier_free_guidance_combines_both_halves_in_one_call():
    calls = []
    model = constant_context_model(calls)
    cond, uncond = constant_context(2.0, 3), constant_context(0.5, 1)
    x = torch.zeros(2, 5, 4)
    out = classifier_free_guidance(model, cond, uncond, 3.0)(x, torch.tensor(1))
    torch.testing.assert_close(out, torch.full_like(x, 0.5 + 3.0 * (2.0 - 0.5)))
    assert calls == [4]
    torch.testing.assert_close(classifier_free_guidance(model, cond, uncond, 1.0)(x, 1), torch.full_like(x, 2.0))
    torch.testing.assert_close(classifier_free_guidance(model, cond, uncond, 0.0)(x, 1), torch.full_like(x, 0.5))


def test_classifier_free_guidance_pads_per_frame_masks_along_their_tokens():
    seen = []

    def model(x, t, tokens, mask):
        seen.append(mask)
        return torch.zeros_like(x)

    frames = 5
    cond = (torch.ones(2, 3, 4), torch.ones(2, frames, 3, dtype=torch.bool))  # what each frame may see
    uncond = (torch.ones(2, 1, 4), torch.ones(2, frames, 1, dtype=torch.bool))
    classifier_free_guidance(model, cond, uncond, 2.0)(torch.zeros(2, frames, 4), torch.tensor(1))
    mask = seen[0]
    assert mask.shape == (4, frames, 3)
    assert mask[:2].all() and mask[2:, :, 0].all() and not mask[2:, :, 1:].any()  # padding tokens masked out


def test_side_guidance_pushes_away_from_the_mirrored_retrieval_in_the_same_call():
    calls = []
    model = constant_context_model(calls)
    cond, uncond, mirrored = constant_context(2.0, 3), constant_context(0.5, 1), constant_context(1.0, 4)
    x = torch.zeros(2, 5, 4)
    out = classifier_free_guidance(model, cond, uncond, 3.0, mirrored=mirrored, side=0.5)(x, 1)
    torch.testing.assert_close(out, torch.full_like(x, 2.0 + 2.0 * (2.0 - 0.5) + 0.5 * (2.0 - 1.0)))
    assert calls == [6]  # cond, uncond and mirrored in one batch
    alone = classifier_free_guidance(model, cond, uncond, 1.0, mirrored=mirrored, side=0.5)(x, 1)
    torch.testing.assert_close(alone, torch.full_like(x, 2.0 + 0.5 * (2.0 - 1.0)))
    calls.clear()
    off = classifier_free_guidance(model, cond, uncond, 3.0, mirrored=mirrored, side=0.0)(x, 1)
    torch.testing.assert_close(off, torch.full_like(x, 0.5 + 3.0 * (2.0 - 0.5)))
    assert calls == [4]  # side 0: the mirrored context costs nothing


def test_projected_guidance_keeps_the_amount_and_guides_the_shape():
    # Channel 0 ("turning rate"): the prompt asks for 1 per frame where the unconditional model
    # gives 0, so plain guidance at 3 turns three times as far. Channel 1: the prompt moves a peak,
    # a change of shape, not of amount.
    frames = torch.arange(8.0)
    cond_out = torch.stack([torch.ones(8), torch.exp(-((frames - 5) ** 2))], -1)[None]
    uncond_out = torch.stack([torch.zeros(8), torch.exp(-((frames - 2) ** 2))], -1)[None]

    def model(x, t, tokens, mask):
        return torch.cat([cond_out, uncond_out]) if x.shape[0] == 2 else cond_out

    cond = (torch.ones(1, 2, 4), torch.ones(1, 2, dtype=torch.bool))
    uncond = (torch.zeros(1, 1, 4), torch.ones(1, 1, dtype=torch.bool))
    x = torch.zeros(1, 8, 2)
    plain = classifier_free_guidance(model, cond, uncond, 3.0)(x, 1)
    projected = classifier_free_guidance(model, cond, uncond, 3.0, projected=True)(x, 1)
    assert plain[0, :, 0].sum() == pytest.approx(24.0)
    torch.testing.assert_close(projected[..., 0], cond_out[..., 0])  # the asked-for amount, no more
    # The peak is still pushed away from the unconditional one: below it the guided value falls.
    assert projected[0, 2, 1] < cond_out[0, 2, 1] - 0.5 and projected[0, 5, 1] > 0.9
    # The dropped part is the projection: what is left is orthogonal to the conditional output.
    step = cond_out - uncond_out
    torch.testing.assert_close(((step - along(step, cond_out)) * cond_out).sum(-2), torch.zeros(1, 2))


def test_training_noise_and_bad_sampler():
    from motiongen.errors import UserError

    scheduler = training_scheduler()
    assert scheduler.config.beta_schedule == "squaredcos_cap_v2" and scheduler.config.prediction_type == "sample"
    x0 = torch.randn(4, 10, 3)
    noisy, t, noise = add_noise(scheduler, x0, torch.Generator().manual_seed(0))
    alpha = scheduler.alphas_cumprod[t].view(-1, 1, 1)
    torch.testing.assert_close(noisy, alpha.sqrt() * x0 + (1 - alpha).sqrt() * noise)
    with pytest.raises(UserError, match="unknown sampler"):
        make_sampler("euler-ancestral-magic", scheduler.config)


# -- losses --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_features():
    clips = {c.name: c for c in load_corpus()}
    return torch.stack([motion_to_features(clips[n].motion.slice(0, 16)) for n in ("run", "jump")])


def test_forward_kinematics_of_features_matches_their_positions(real_features):
    torch.testing.assert_close(
        heading_frame_positions(real_features), feature_positions(real_features), atol=2e-4, rtol=0
    )


def test_world_positions_match_the_decoded_motion(real_features):
    from motiongen.motion.features import features_to_motion

    world = world_positions(real_features, heading_frame_positions(real_features))
    for i in range(2):
        expected = features_to_motion(real_features[i], 20.0).positions()
        torch.testing.assert_close(world[i], torch.from_numpy(expected), atol=2e-4, rtol=0)


def test_losses_are_zero_at_the_target_and_grow_with_errors(real_features):
    mean, std = real_features.mean((0, 1)), real_features.std((0, 1)).clamp(min=0.01)
    target = (real_features - mean) / std
    mask = torch.ones(2, 16, dtype=torch.bool)
    weights = {"feature": 1.0, "trajectory": 1.0, "positions": 1.0, "velocity": 1.0, "foot": 1.0}

    def losses(pred):
        return diffusion_losses(pred, target, mask, lambda f: f * std + mean, weights)

    exact = losses(target)
    assert exact["feature"] == 0 and exact["positions"] < 1e-7 and exact["velocity"] < 1e-5
    assert exact["foot"] < 0.05  # the corpus' feet are nearly still where it marks contact
    wrong = target.clone()
    wrong[..., SLICES["rotations"]] += 0.5
    worse = losses(wrong)
    torch.testing.assert_close(
        worse["feature"], torch.tensor(0.25 * 132 / FEATURE_DIM)
    )  # 132 rotation numbers off by 0.5
    assert worse["positions"] > 1e-3 and worse["loss"] > exact["loss"]
    assert worse["trajectory"] == 0  # rotations are not part of the root trajectory
    slower = target.clone()
    slower[..., SLICES["root_velocity"]] -= 1.0
    torch.testing.assert_close(losses(slower)["trajectory"], torch.tensor(2 / 4))  # 2 of its 4 numbers off by 1
    # heading: the angle integrated from the heading rate, so a rate off by c turns c*k off by frame k
    heading_weights = {**weights, "heading": 1.0}
    assert diffusion_losses(target, target, mask, lambda f: f * std + mean, heading_weights)["heading"] == 0
    turning = target.clone()
    turning[..., SLICES["heading_rate"]] += 0.01 / std[SLICES["heading_rate"]]  # 0.01 rad more every frame
    off = diffusion_losses(turning, target, mask, lambda f: f * std + mean, heading_weights)
    expected = (0.01 * torch.arange(1, 17, dtype=torch.float32)).pow(2).mean()
    torch.testing.assert_close(off["heading"], expected)
    assert "heading" not in losses(turning)  # only with a weight
    # padding frames do not count
    mask[1, 10:] = False
    garbage = target.clone()
    garbage[1, 10:] = 50.0
    padded = diffusion_losses(garbage, target, mask, lambda f: f * std + mean, weights)
    assert padded["feature"] == 0 and padded["positions"] < 1e-7


def test_group_mask_expands_like_the_denoiser_expects():
    mask = torch.zeros(2, 4, NUM_GROUPS, dtype=torch.bool)
    mask[0, 1, 0] = True
    assert expand_mask(mask).shape == (2, 4, FEATURE_DIM) and expand_mask(mask)[0, 1].any()


def test_skip_gate_passes_the_noisy_input_through():
    model = tiny_denoiser(skip_gate=True)
    torch.nn.init.zeros_(model.output.weight)
    torch.nn.init.zeros_(model.output.bias)
    x, ctx, cmask = inputs()
    # untrained gate: sigmoid(0) = 0.5 of the input; the network's own output is zero here
    torch.testing.assert_close(model(x, torch.tensor(3), ctx, cmask), 0.5 * x)
    torch.nn.init.constant_(model.skip.bias, 20.0)
    torch.testing.assert_close(model(x, torch.tensor(3), ctx, cmask), x)
