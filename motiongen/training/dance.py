"""Fine-tune the text model into the music-to-dance model (`motiongen train --config configs/dance.yaml`).

Starts from a trained text-to-motion pipeline (`init_from`, default checkpoints/t2m): its denoiser,
feature normaliser and text conditioner (caption bank included) are kept, and a fresh music
conditioner (conditioning/music.py) is added. Context = text tokens + one music token per frame;
each frame sees the music within `reach` frames. Text and music are dropped on their own for
classifier-free guidance. Data: retimed real dance on real music (data/dance_pairs.py).
Same run folder, loop, checkpoints, EMA and losses as the other trainers (training/trainer.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DDIMScheduler
from torch import nn

from motiongen.conditioning.base import concat_context
from motiongen.conditioning.music import DEFAULT_REACH, MusicConditioner, context_mask
from motiongen.conditioning.partial import random_known_mask
from motiongen.errors import UserError
from motiongen.sampling.diffusion import add_noise, training_scheduler
from motiongen.training.config import TrainConfig, is_number
from motiongen.training.losses import diffusion_losses
from motiongen.training.trainer import optimise, run_folder, save_pipeline, start_run


@dataclass
class DanceTrainConfig(TrainConfig):
    """TrainConfig plus the dance model's options. `pool_size` is the number of retimed pairs;
    of the model options only those of the `init_from` pipeline apply (they are read from it)."""

    model: str = "dance"
    corpus: str = "v2"
    init_from: str | None = "checkpoints/t2m"
    music_drop: float = 0.1  # chance of dropping the music (classifier-free guidance)
    reach: int = DEFAULT_REACH  # music frames each motion frame sees on either side
    genre_prob: float = 0.5  # chance a pair's caption is its action's short one ("a person dances salsa")
    music_hidden: int = 256

    def __post_init__(self):
        super().__post_init__()
        problems = []
        if self.model != "dance":
            problems.append(f"model must be 'dance' here, got {self.model!r}")
        for name in ("music_drop", "genre_prob"):
            value = getattr(self, name)
            if not is_number(value) or not 0 <= value <= 1:
                problems.append(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("reach", "music_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a whole number >= 1, got {value!r}")
        if not self.init_from:
            problems.append("init_from must name the text pipeline to start from (e.g. checkpoints/t2m)")
        if problems:
            raise UserError("bad training option(s): " + "; ".join(problems))


def build_models(config: DanceTrainConfig) -> nn.ModuleDict:
    """The init_from pipeline's denoiser and text conditioner, and a fresh music conditioner."""
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    base = TextToMotionPipeline.from_pretrained(config.init_from)
    denoiser, text = base.denoiser, base.text_conditioner
    music = MusicConditioner(
        width=denoiser.config.width,
        hidden=config.music_hidden,
        max_frames=int(denoiser.config.max_frames),
        reach=config.reach,
        fps=float(denoiser.config.fps),
    )
    return nn.ModuleDict({"denoiser": denoiser, "text": text, "music": music})


def training_step(models, scheduler, batch, config: DanceTrainConfig, generator: torch.Generator) -> dict:
    """Losses for one batch (see DancePairSampler.batch)."""
    features, lengths, music_features, captions = batch
    denoiser = models["denoiser"]
    device = denoiser.device
    frames = features.shape[1]
    frame_mask = (torch.arange(frames)[None, :] < lengths[:, None]).to(device)
    x0 = denoiser.normalize(features.to(device))
    known_mask = random_known_mask(lengths, frames, config.mask_probs, generator).to(device)
    text = models["text"].encode(captions, drop_prob=config.cond_drop, generator=generator)
    music = models["music"].encode((music_features, lengths), drop_prob=config.music_drop, generator=generator)
    tokens, _ = concat_context([text, music])
    mask = context_mask(text[1], music[1], frames, config.reach)
    noisy, t, _ = add_noise(scheduler, x0, generator)
    pred = denoiser(noisy, t, tokens, mask, known=x0, known_mask=known_mask, frame_mask=frame_mask)
    return diffusion_losses(pred, x0, frame_mask, denoiser.denormalize, config.loss_weights, denoiser.config.fps)


def write_pipeline(folder: Path, models, config: DanceTrainConfig, info: dict) -> Path:
    from motiongen.pipelines.dance import MusicToDancePipeline

    sampler = DDIMScheduler.from_config(training_scheduler(config.num_train_timesteps, config.beta_schedule).config)
    pipe = MusicToDancePipeline(
        denoiser=models["denoiser"].eval(),
        text_conditioner=models["text"].eval(),
        music_conditioner=models["music"].eval(),
        scheduler=sampler,
    )
    return save_pipeline(folder, pipe, config, info)


def train(config: DanceTrainConfig, output: str | Path, resume: bool = False, max_steps: int | None = None,
          progress: bool = True, clips=None, tracks=None) -> Path:  # fmt: skip
    """Train and return the pipeline folder. `clips` default to the config's corpus split and
    `data:` entries: takes recorded with their music (AIST++) are paired as recorded, the rest
    (corpus v2's dance) retimed onto `tracks`, by default the music cache's train tracks. Each
    kind gets its weight's share of `pool_size` (corpus_weight, the data entries' weights)."""
    output, steps, checkpoint_dir = run_folder(output, config, max_steps, resume)
    if not Path(config.init_from).is_dir():
        raise UserError(f"init_from: {config.init_from} is not a folder (a pipeline folder such as checkpoints/t2m)")
    weights = None
    if clips is None:
        from motiongen.training.data import training_clips

        clips, weights = training_clips(config, progress)
    recorded = [c.motion.meta.get("audio") is not None for c in clips]
    if weights is None:
        weights = [1.0] * len(clips)
    share = sum(w for w, r in zip(weights, recorded, strict=True) if r) / max(sum(weights), 1e-9)
    counts = (config.pool_size - round(share * config.pool_size), round(share * config.pool_size))
    if tracks is None and counts[0]:
        from motiongen.data.music import load_tracks

        tracks = load_tracks(config.split)
    return start_run(output, config, lambda: _train(config, output, checkpoint_dir, resume, steps, progress, clips,
                                                    tracks, counts))  # fmt: skip


def _train(config, output: Path, checkpoint_dir: Path, resume: bool, steps: int, progress: bool, clips, tracks,
           counts=None):  # fmt: skip
    """`counts`: (retimed, recorded) pairs to make (default: all retimed)."""
    import time

    from motiongen.data.dance_pairs import DancePairSampler, make_pairs, recorded_pairs

    start = time.perf_counter()
    retimed, recorded = counts or (config.pool_size, 0)
    unrecorded = [c for c in clips if c.motion.meta.get("audio") is None]
    pairs = []
    if retimed:
        pairs += make_pairs(unrecorded, tracks, retimed, config.max_frames, config.min_frames, seed=config.seed,
                            mirror=config.mirror, genre_prob=config.genre_prob, progress=progress)  # fmt: skip
    if recorded:
        pairs += recorded_pairs(clips, recorded, config.max_frames, config.min_frames, seed=config.seed,
                                mirror=config.mirror, progress=progress)  # fmt: skip
    pair_seconds = time.perf_counter() - start
    sampler = DancePairSampler(pairs)
    models = build_models(config)
    _, (music_mean, music_std) = sampler.stats()
    models["music"].input_mean.copy_(music_mean)
    models["music"].input_std.copy_(music_std)
    models["text"].cache(sampler.captions())  # every caption once up front (the encoder is frozen)
    scheduler = training_scheduler(config.num_train_timesteps, config.beta_schedule)
    step, seconds, start_step = optimise(
        models, config, steps, output, checkpoint_dir, resume, progress,
        sampler.batch, lambda batch, generator: training_step(models, scheduler, batch, config, generator),
    )  # fmt: skip
    info = {
        "steps": step,
        "train_seconds_this_session": round(seconds, 1),
        "pair_seconds": round(pair_seconds, 1),
        "steps_this_session": step - start_step,
        "pairs": len(sampler),
        "recorded_pairs": recorded,
        "clips": sorted({p.clip for p in pairs}),
        "tracks": sorted({p.track for p in pairs}),
        "threads": torch.get_num_threads(),
    }
    return write_pipeline(output / "pipeline", models, config, info)
