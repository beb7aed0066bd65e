"""The interface every conditioner shares.

A conditioner turns a batch of inputs (prompts, audio, a partner's motion, ...) into context
tokens for the denoiser's cross-attention: `encode(inputs) -> (tokens [B, L, width], mask [B, L])`,
mask True for real tokens. For classifier-free guidance a whole condition can be dropped: the
row then holds only the conditioner's learned null token. Several conditioners' outputs are
concatenated along L (`concat_context`).
"""

from __future__ import annotations

import torch


def frame_tokens(conditioner, features: torch.Tensor, lengths, marker: torch.Tensor):
    """Tokens for a conditioner that gives one token per frame (partner motion, music): the raw
    features [B, T, D] normalised by its `input_mean`/`input_std`, projected by its `proj`, plus
    frame positions and its `marker`; frames past each row's length are padding (mask False)."""
    from motiongen.models.denoiser import sinusoidal_positions

    b, t, _ = features.shape
    if lengths is None:
        lengths = torch.full((b,), t)
    mask = torch.arange(t, device=features.device)[None, :] < lengths.to(features.device)[:, None]
    x = (features - conditioner.input_mean) / conditioner.input_std
    table = conditioner.positions
    positions = table[:t] if t <= len(table) else sinusoidal_positions(t, conditioner.config.width)
    tokens = conditioner.proj(x) + positions.to(x.device) + marker
    return tokens * mask[..., None], mask


class Conditioner:
    """Mixin for conditioner modules (used together with diffusers' ModelMixin/ConfigMixin).

    Subclasses define `self.null_token` (an nn.Parameter of shape [width]) and `embed(inputs)`
    returning (tokens [B, L, width], mask [B, L]) with at least one real token per row."""

    def embed(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def encode(self, inputs, drop_prob: float = 0.0, drop: torch.Tensor | None = None, generator=None):
        """Context tokens for `inputs`. During training, each row is replaced by the unconditional
        encoding with probability `drop_prob`; `drop` [B] bool forces which rows are dropped."""
        tokens, mask = self.embed(inputs)
        if drop is None and drop_prob > 0:
            drop = torch.rand(tokens.shape[0], generator=generator) < drop_prob
        if drop is not None and bool(drop.any()):
            drop = drop.to(tokens.device)
            null_tokens, null_mask = self.unconditional(tokens.shape[0], tokens.shape[1])
            tokens = torch.where(drop[:, None, None], null_tokens, tokens)
            mask = torch.where(drop[:, None], null_mask, mask)
        return tokens, mask

    def unconditional(self, batch: int, length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """The "no condition" encoding: the null token followed by masked-out padding."""
        width = self.null_token.shape[-1]
        tokens = self.null_token.new_zeros(batch, length, width)
        tokens[:, 0] = self.null_token
        mask = torch.zeros(batch, length, dtype=torch.bool, device=tokens.device)
        mask[:, 0] = True
        return tokens, mask


def concat_context(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Join several conditioners' (tokens, mask) along the token axis."""
    return torch.cat([t for t, _ in parts], 1), torch.cat([m for _, m in parts], 1)
