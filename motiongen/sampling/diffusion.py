"""Diffusion over motion features with diffusers' schedulers.

Training uses `DDPMScheduler` (cosine "squaredcos_cap_v2" schedule, 1000 steps, the model predicts
the clean sample x0); sampling builds `DDIMScheduler` or `DPMSolverMultistepScheduler` from the same
config. The sampling loop takes any callable `denoise(x_t, t) -> x0`; it knows nothing about the
backbone. Known frames/parts are given to the model as input by the caller and are re-imposed here
at every step (inpainting), so the output keeps them exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from tqdm import tqdm

from motiongen.errors import UserError

SAMPLERS = {"ddim": DDIMScheduler, "dpm": DPMSolverMultistepScheduler, "ddpm": DDPMScheduler}


def training_scheduler(num_train_timesteps: int = 1000, beta_schedule: str = "squaredcos_cap_v2") -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule=beta_schedule,
        prediction_type="sample",
        clip_sample=False,
        timestep_spacing="trailing",  # few-step samplers then start from pure noise
    )


def make_sampler(name: str, config) -> DDIMScheduler | DPMSolverMultistepScheduler | DDPMScheduler:
    """A sampling scheduler ("ddim", "dpm" or "ddpm") built from a scheduler config."""
    if name not in SAMPLERS:
        raise UserError(f"unknown sampler '{name}' (choose from: {', '.join(SAMPLERS)})")
    return SAMPLERS[name].from_config(config)


def add_noise(scheduler: DDPMScheduler, x0: torch.Tensor, generator: torch.Generator | None = None):
    """(noisy sample, timesteps [B], noise) for a training step."""
    noise = torch.randn(x0.shape, generator=generator).to(x0)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), generator=generator).to(x0.device)
    return scheduler.add_noise(x0, noise, t), t, noise


@torch.no_grad()
def sample(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    scheduler,
    noise: torch.Tensor,
    num_inference_steps: int = 50,
    known: torch.Tensor | None = None,
    known_mask: torch.Tensor | None = None,
    known_noise: torch.Tensor | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Run the reverse process from `noise` [B, T, F]. `known` [B, T, F] with `known_mask`
    [B, T, F] (bool, per feature number) are re-imposed at each step: on x_t at its noise level
    (with the fixed `known_noise`) and on the predicted x0. Returns x0 [B, T, F]."""
    if num_inference_steps < 1:
        raise UserError(f"the number of sampling steps must be at least 1, got {num_inference_steps}")
    scheduler.set_timesteps(num_inference_steps, device=noise.device)
    x = noise * scheduler.init_noise_sigma
    if known is not None and known_noise is None:
        known_noise = torch.zeros_like(known)
    for t in tqdm(scheduler.timesteps, desc="sampling", disable=not progress, leave=False):
        if known is not None:
            x = torch.where(known_mask, scheduler.add_noise(known, known_noise, t.view(1)), x)
        x0 = denoise(scheduler.scale_model_input(x, t), t)
        if known is not None:
            x0 = torch.where(known_mask, known, x0)
        x = scheduler.step(x0, t, x).prev_sample
    if known is not None:
        x = torch.where(known_mask, known, x)
    return x
