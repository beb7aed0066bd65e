"""Classifier-free guidance: x0 = uncond + scale * (cond - uncond), both halves in one batch."""

from __future__ import annotations

from collections.abc import Callable

import torch


def classifier_free_guidance(
    model: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    cond: tuple[torch.Tensor, torch.Tensor],
    uncond: tuple[torch.Tensor, torch.Tensor],
    scale: float,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Wrap `model(x, t, context, context_mask)` into `denoise(x, t)` for the sampler.
    scale 1 is the plain conditional model, 0 the unconditional one."""

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if scale == 1.0:
            return model(x, t, *cond)
        if scale == 0.0:
            return model(x, t, *uncond)
        length = max(cond[0].shape[1], uncond[0].shape[1])
        tokens = torch.cat([_pad(cond[0], length), _pad(uncond[0], length)])
        mask = torch.cat([_pad(cond[1], length), _pad(uncond[1], length)])
        out_cond, out_uncond = model(torch.cat([x, x]), t, tokens, mask).chunk(2)
        return out_uncond + scale * (out_cond - out_uncond)

    return denoise


def _pad(x: torch.Tensor, length: int) -> torch.Tensor:
    if x.shape[1] == length:
        return x
    pad = x.new_zeros((x.shape[0], length - x.shape[1]) + x.shape[2:])
    return torch.cat([x, pad], 1)
