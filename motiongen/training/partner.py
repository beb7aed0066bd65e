"""Train the reactive partner model (`motiongen train --config configs/partner.yaml`).

Same run folder, loop, checkpoints, EMA and losses as the text-to-motion trainer
(training/trainer.py); what differs is the data (real couples, both ways round, data/pairs.py),
the context (text tokens + the partner's tokens, each dropped on its own for classifier-free
guidance), the streaming mask on some rows, and a loss on the placement channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DDIMScheduler
from torch import nn

from motiongen.conditioning.base import concat_context
from motiongen.conditioning.partial import random_known_mask
from motiongen.conditioning.partner import PAIR_DIM, PLACEMENT, STREAM_CHUNK, PartnerConditioner, lookahead_mask
from motiongen.conditioning.text import TextConditioner
from motiongen.data.pairs import PairSampler, couples, pair_sequences
from motiongen.errors import UserError
from motiongen.models.denoiser import MotionDenoiser
from motiongen.sampling.diffusion import add_noise, training_scheduler
from motiongen.training.config import TrainConfig, is_number, read_options
from motiongen.training.losses import diffusion_losses
from motiongen.training.trainer import freeze_all_but, optimise, run_folder, save_pipeline, start_run


@dataclass
class PartnerTrainConfig(TrainConfig):
    """TrainConfig plus the partner model's options. Of the text trainer's data options only
    corpus, split, max_frames, min_frames, speeds and mirror apply (couples are not composed,
    held or looped)."""

    model: str = "partner"
    corpus: str = "v2"
    cond_drop: float = 0.3  # chance of dropping the text: most partners are made without words
    partner_drop: float = 0.1  # chance of dropping the partner (classifier-free guidance)
    lookahead: int = 5  # frames a streaming partner sees ahead of its own time (0.25 s)
    stream_prob: float = 0.5  # chance a row is trained with the streaming mask
    short_prob: float = 0.2  # chance a window is shorter than max_frames (the last window of a clip)
    placement_weight: float = 1.0  # loss on the 4 placement channels (normalised MSE)
    partner_hidden: int = 0  # width of the partner projection's hidden layer (0: the model width)

    def __post_init__(self):
        super().__post_init__()
        problems = []
        if self.model != "partner":
            problems.append(f"model must be 'partner' here, got {self.model!r}")
        for name in ("partner_drop", "stream_prob", "short_prob"):
            value = getattr(self, name)
            if not is_number(value) or not 0 <= value <= 1:
                problems.append(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("lookahead", "partner_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"{name} must be a whole number >= 0, got {value!r}")
        if not is_number(self.placement_weight) or self.placement_weight < 0:
            problems.append(f"placement_weight must be a number >= 0, got {self.placement_weight!r}")
        if self.retrieve or self.init_from or self.walk_on_actions:
            problems.append("retrieve, init_from and walk_on_actions are text-model options; leave them out")
        if problems:
            raise UserError("bad training option(s): " + "; ".join(problems))


def load_config(path: str | Path) -> TrainConfig:
    """A training config file: a partner config when it says `model: partner`, a dance config for
    `model: dance`, else a text one."""
    options = read_options(path)
    if options.get("model") == "partner":
        return PartnerTrainConfig.from_dict(options)
    if options.get("model") == "dance":
        from motiongen.training.dance import DanceTrainConfig

        return DanceTrainConfig.from_dict(options)
    return TrainConfig.from_dict(options)


def build_models(config: PartnerTrainConfig) -> nn.ModuleDict:
    """A fresh 210-D denoiser, partner conditioner and text conditioner."""
    denoiser = MotionDenoiser(
        feature_dim=PAIR_DIM,
        width=config.width,
        layers=config.layers,
        heads=config.heads,
        mlp_ratio=config.mlp_ratio,
        dropout=config.dropout,
        max_frames=config.max_frames,
        frames_per_token=config.frames_per_token,
        skip_gate=config.skip_gate,
        global_context=config.global_context,
    )
    partner = PartnerConditioner(
        width=config.width,
        hidden=config.partner_hidden or config.width,
        max_frames=config.max_frames + config.lookahead,
        lookahead=config.lookahead,
    )
    text = TextConditioner.for_encoder(
        config.text_encoder, width=config.width, max_tokens=config.max_tokens, sentence_only=config.sentence_only
    )
    text.train_noise = config.text_noise
    return nn.ModuleDict({"denoiser": denoiser, "partner": partner, "text": text})


def training_step(models, scheduler, batch, config: PartnerTrainConfig, generator: torch.Generator) -> dict:
    """Losses for one batch (see PairSampler.batch)."""
    me, lengths, partner_features, partner_lengths, captions = batch
    denoiser = models["denoiser"]
    device = denoiser.device
    b, frames = me.shape[:2]
    frame_mask = (torch.arange(frames)[None, :] < lengths[:, None]).to(device)
    x0 = denoiser.normalize(me.to(device))
    known_mask = random_known_mask(lengths, frames, config.mask_probs, generator).to(device)
    text = models["text"].encode(captions, drop_prob=config.cond_drop, generator=generator)
    partner = models["partner"].encode((partner_features, partner_lengths), drop_prob=config.partner_drop,
                                       generator=generator)  # fmt: skip
    tokens, mask = concat_context([text, partner])
    # Streaming rows: frame t sees the partner only up to t + lookahead. Half of them continue a
    # known past and make only its last chunk, as the streaming sampler does.
    stream = torch.rand(b, generator=generator) < config.stream_prob
    resume = stream & (torch.rand(b, generator=generator) < 0.5)
    for i in resume.nonzero().flatten().tolist():
        known_mask[i] = False
        known_mask[i, : max(int(lengths[i]) - STREAM_CHUNK, 0)] = True
    stream = stream.to(device)
    causal = lookahead_mask(frames, text[0].shape[1], partner[0].shape[1], config.lookahead).to(device)
    mask = mask[:, None, :] & (causal[None] | ~stream[:, None, None])
    noisy, t, _ = add_noise(scheduler, x0, generator)
    pred = denoiser(noisy, t, tokens, mask, known=x0, known_mask=known_mask, frame_mask=frame_mask)
    losses = diffusion_losses(pred, x0, frame_mask, denoiser.denormalize, config.loss_weights, denoiser.config.fps)
    # Where the partner is: 4 of 210 numbers, but all of the interaction (distance, facing).
    error = ((pred[..., PLACEMENT] - x0[..., PLACEMENT]) ** 2).mean(-1)
    weights = frame_mask.to(error.dtype)
    losses["placement"] = (error * weights).sum() / weights.sum().clamp(min=1)
    losses["loss"] = losses["loss"] + config.placement_weight * losses["placement"]
    return losses


def write_pipeline(folder: Path, models, config: PartnerTrainConfig, info: dict) -> Path:
    from motiongen.pipelines.react import ReactivePartnerPipeline

    sampler = DDIMScheduler.from_config(training_scheduler(config.num_train_timesteps, config.beta_schedule).config)
    pipe = ReactivePartnerPipeline(
        denoiser=models["denoiser"].eval(),
        partner_conditioner=models["partner"].eval(),
        text_conditioner=models["text"].eval(),
        scheduler=sampler,
    )
    return save_pipeline(folder, pipe, config, info)


def train(
    config: PartnerTrainConfig,
    output: str | Path,
    resume: bool = False,
    max_steps: int | None = None,
    progress: bool = True,
    clips=None,
) -> Path:
    """Train and return the pipeline folder. `clips` (with partners named in `motion.meta`)
    default to the couples of the config's corpus split."""
    output, steps, checkpoint_dir = run_folder(output, config, max_steps, resume)
    if clips is None:
        from motiongen.training.data import training_clips

        clips, _ = training_clips(config, progress)  # the corpus' couples and the config's datasets' (InterHuman)
    pairs = couples(clips)
    if not pairs:
        raise UserError(
            f"no couples in the {config.corpus} corpus' {config.split} split: the partner model trains on "
            "corpus v2's salsa couples (corpus: v2, with the CMU mocap in ../shared/mocap)"
        )
    return start_run(output, config, lambda: _train(config, output, checkpoint_dir, resume, steps, progress, pairs))


def _train(config, output: Path, checkpoint_dir: Path, resume: bool, steps: int, progress: bool, pairs):
    sampler = PairSampler(
        pair_sequences(pairs, tuple(config.speeds), config.mirror),
        config.max_frames, config.min_frames, config.short_prob, config.lookahead,
    )  # fmt: skip
    models = build_models(config)
    (mean, std), (partner_mean, partner_std) = sampler.stats(seed=config.seed)
    models["denoiser"].feature_mean.copy_(mean)
    models["denoiser"].feature_std.copy_(std)
    models["partner"].input_mean.copy_(partner_mean)
    models["partner"].input_std.copy_(partner_std)
    if config.train_only is not None:
        freeze_all_but(models, config.train_only)
    models["text"].cache(sampler.captions())  # every caption once up front (the encoder is frozen)

    scheduler = training_scheduler(config.num_train_timesteps, config.beta_schedule)
    step, seconds, start_step = optimise(
        models, config, steps, output, checkpoint_dir, resume, progress,
        sampler.batch, lambda batch, generator: training_step(models, scheduler, batch, config, generator),
    )  # fmt: skip
    from motiongen.training.data import process_state

    if not process_state().is_main_process:  # the main process writes the pipeline
        process_state().wait_for_everyone()
        return output / "pipeline"
    names = [f"{a.name}+{b.name}" for a, b in pairs]
    info = {
        "steps": step,
        "train_seconds_this_session": round(seconds, 1),
        "steps_this_session": step - start_step,
        "sequences": len(sampler),
        "couples": names if len(names) <= 1000 else f"{len(names)} couples",
        "threads": torch.get_num_threads(),
    }
    folder = write_pipeline(output / "pipeline", models, config, info)
    process_state().wait_for_everyone()
    return folder
