"""The motion denoiser: one transformer backbone for every generator.

Input per frame: noisy features (206) + known features (206, zeros where unknown) + known mask
(one channel per body-part group); a token can cover `frames_per_token` consecutive frames (2
halves the sequence length, but a 256-wide token then cannot carry two frames' 412 numbers: the
shipped model uses 1). A learned gate adds gate(t) * x_t to the output (`skip_gate`), so at low
noise the network only predicts a small correction to its input. Pre-LN blocks in the style of nanoGPT: self-attention over time
(padding frames masked out), cross-attention to the context tokens of whatever conditioners the
model has, then an MLP. The timestep is embedded with diffusers' `Timesteps`/`TimestepEmbedding`
and added to every frame; with `global_context` the mean of the context tokens is added to it too,
so the condition as a whole reaches every frame directly. The model predicts the clean features (x0).

The corpus normaliser (mean/std of the features) lives here as buffers, so it is saved and loaded
with the weights.
"""

from __future__ import annotations

import math
import weakref

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from motiongen.conditioning.partial import NUM_GROUPS, expand_mask
from motiongen.motion.features import FEATURE_DIM

FEATURE_VERSION = 1  # bump when motiongen.motion.features changes its layout


class Attention(nn.Module):
    """Multi-head attention; `key_mask` [B, S] is True for keys that may be attended to, or
    [B, T, S] to say it per query (a partner's motion seen only up to a look-ahead).

    With `reuse_context` (cross-attention), the keys and values of the last context are kept
    while gradients are off: a sampler passes the same context tensor at every step, and
    projecting it again is a fifth of a partner model's work per step. The cache is keyed on that
    tensor object and its and the weights' version counters, so an edited context or retrained
    weights are projected anew."""

    def __init__(self, width: int, heads: int, context_width: int | None = None, reuse_context: bool = False):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(context_width or width, 2 * width)
        self.out = nn.Linear(width, width)
        self.reuse_context = reuse_context
        self._context_kv: tuple | None = None

    def __getstate__(self):  # copies and pickles never carry the cache (it holds a weak reference)
        return {**self.__dict__, "_context_kv": None}

    def _keys_values(self, context: torch.Tensor) -> torch.Tensor:
        if not self.reuse_context or torch.is_grad_enabled() or context.is_inference():
            return self.kv(context)  # (inference tensors keep no version counter)
        versions = (context._version, self.kv.weight._version, self.kv.bias._version)
        cached = self._context_kv
        if cached is not None and cached[0]() is context and cached[1] == versions:
            return cached[2]
        kv = self.kv(context)
        self._context_kv = (weakref.ref(context), versions, kv)
        return kv

    def forward(self, x: torch.Tensor, context: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q = self.q(x).view(b, t, self.heads, -1).transpose(1, 2)
        k, v = self._keys_values(context).view(b, context.shape[1], 2, self.heads, -1).permute(2, 0, 3, 1, 4)
        mask = key_mask[:, None, None, :] if key_mask.dim() == 2 else key_mask[:, None]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.ln_self = nn.LayerNorm(width)
        self.self_attn = Attention(width, heads)
        self.ln_cross = nn.LayerNorm(width)
        self.cross_attn = Attention(width, heads, reuse_context=True)
        self.ln_mlp = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, frame_mask, context, context_mask):
        h = self.ln_self(x)
        x = x + self.drop(self.self_attn(h, h, frame_mask))
        x = x + self.drop(self.cross_attn(self.ln_cross(x), context, context_mask))
        return x + self.drop(self.mlp(self.ln_mlp(x)))


def sinusoidal_positions(frames: int, width: int, device=None) -> torch.Tensor:
    pos = torch.arange(frames, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width))
    out = torch.zeros(frames, width, device=device)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)
    return out


class MotionDenoiser(ModelMixin, ConfigMixin):
    """x0-predicting transformer over motion features. Context tokens come from conditioners
    (already projected to `width`); with no conditioners pass a single masked-in null token."""

    @register_to_config
    def __init__(
        self,
        feature_dim: int = FEATURE_DIM,
        num_groups: int = NUM_GROUPS,
        width: int = 256,
        layers: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
        max_frames: int = 120,
        frames_per_token: int = 1,
        skip_gate: bool = False,
        fps: float = 20.0,
        feature_version: int = FEATURE_VERSION,
        global_context: bool = False,
    ):
        super().__init__()
        self.input = nn.Linear(frames_per_token * (2 * feature_dim + num_groups), width)
        self.time_proj = Timesteps(width, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(width, width)
        tokens = -(-max_frames // frames_per_token)
        self.register_buffer("positions", sinusoidal_positions(tokens, width), persistent=False)
        if global_context:
            # The mean of the context tokens is added to the timestep embedding, so every frame
            # sees the condition as a whole (as MDM does with its sentence embedding), not only
            # through cross-attention.
            self.context_embed = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width))
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio, dropout) for _ in range(layers))
        self.ln_out = nn.LayerNorm(width)
        self.output = nn.Linear(width, frames_per_token * feature_dim)
        if skip_gate:
            # x0 = gate(t) * x_t + network output: at low noise the clean sample is nearly the input
            # (the best linear guess is sqrt(alpha_bar_t) * x_t), so the network only adds a correction.
            self.skip = nn.Linear(width, feature_dim)
            nn.init.zeros_(self.skip.weight)
            nn.init.zeros_(self.skip.bias)
        # Corpus normaliser, set by the trainer from the training data (identity until then).
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))

    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.feature_mean) / self.feature_std

    def denormalize(self, features: torch.Tensor) -> torch.Tensor:
        return features * self.feature_std + self.feature_mean

    def _positions(self, frames: int, device) -> torch.Tensor:
        if frames <= self.positions.shape[0]:
            return self.positions[:frames]
        return sinusoidal_positions(frames, self.config.width, device)

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        context: torch.Tensor,
        context_mask: torch.Tensor,
        known: torch.Tensor | None = None,
        known_mask: torch.Tensor | None = None,
        frame_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """sample [B, T, F] noisy normalised features; timestep [B] or scalar; context [B, L, width]
        with context_mask [B, L] (True = real token), or [B, T, L] when what a frame may see
        depends on the frame; known [B, T, F] normalised features with known_mask [B, T, G];
        frame_mask [B, T] (True = real frame). Returns predicted x0 [B, T, F]."""
        b, t, _ = sample.shape
        if known is None:
            known = torch.zeros_like(sample)
            known_mask = torch.zeros(b, t, self.config.num_groups, dtype=torch.bool, device=sample.device)
        if frame_mask is None:
            frame_mask = torch.ones(b, t, dtype=torch.bool, device=sample.device)
        known = known * self.feature_mask(known_mask).to(known.dtype)
        frames = torch.cat([sample, known, known_mask.to(sample.dtype)], -1)
        frames = frames * frame_mask[..., None].to(frames.dtype)  # padding never leaks into a shared token
        # Each token covers `frames_per_token` consecutive frames (the clip is padded to fit).
        per = self.config.frames_per_token
        pad = (-t) % per
        if pad:
            frames = F.pad(frames, (0, 0, 0, pad))
            frame_mask = F.pad(frame_mask, (0, pad))
        n = (t + pad) // per
        x = self.input(frames.reshape(b, n, -1))
        token_mask = frame_mask.reshape(b, n, per).any(-1)
        if context_mask.dim() == 3:  # per frame -> per token: a token sees what any of its frames sees
            context_mask = F.pad(context_mask, (0, 0, 0, pad)).reshape(b, n, per, -1).any(2)
        timestep = torch.as_tensor(timestep, device=sample.device).expand(b)
        temb = self.time_embed(self.time_proj(timestep).to(sample.dtype))
        cond = temb
        if self.config.global_context:
            # Per-frame masks: only tokens every frame may see go into the summary, so no frame
            # learns through it what it may not see.
            seen = context_mask if context_mask.dim() == 2 else context_mask.all(1)
            weights = seen.to(context.dtype)[..., None]
            summary = (context * weights).sum(1) / weights.sum(1).clamp(min=1)
            cond = temb + self.context_embed(summary)
        x = x + cond[:, None, :] + self._positions(n, sample.device)
        for block in self.blocks:
            x = block(x, token_mask, context, context_mask)
        out = self.output(self.ln_out(x)).reshape(b, n * per, -1)[:, :t]
        if self.config.skip_gate:
            out = out + torch.sigmoid(self.skip(temb))[:, None, :] * sample
        return out

    def feature_mask(self, known_mask: torch.Tensor) -> torch.Tensor:
        """Known mask per group [B, T, G] -> per feature number [B, T, F]. Numbers beyond the 206
        motion features (a partner model's placement channels) belong to the root group."""
        mask = expand_mask(known_mask)
        extra = self.config.feature_dim - mask.shape[-1]
        if extra > 0:
            mask = torch.cat([mask, known_mask[..., :1].expand(*known_mask.shape[:-1], extra)], -1)
        return mask
