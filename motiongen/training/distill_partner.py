"""Reflow distillation of the reactive partner model (`motiongen distill --teacher
checkpoints/partner`): a 1-4 step rectified-flow partner, fast enough to answer a leader as the
leader's motion arrives.

The recipe is the text distiller's (training/distill.py) with the partner's conditions:

1. Pairs. Windows of real couples are drawn the way the teacher was trained (data/pairs.py: its
   split, speeds, mirroring, short windows), each with the leader's motion as context, the
   couple's caption on a share of them (`text_prob`; `react` is mostly used without words), the
   streaming mask on a share (`stream_prob`: each frame sees the leader only up to its look-ahead,
   half of those continuing a known past as the streaming sampler does) and otherwise the
   teacher's partial-motion mask mix. The teacher samples them deterministically with its
   default guidance (text and leader dropped together for the unconditional half). Written in
   parts to <output>/pairs/ and reused when the run is repeated.
2. Student: copies of the teacher's denoiser, partner conditioner and text conditioner, trained
   on the straight noise -> sample paths with the teacher's losses plus its placement loss.
3. <output>/pipeline: a `ReactivePartnerPipeline` with diffusers' `FlowMatchEulerDiscreteScheduler`,
   run with `motiongen react LEADER --checkpoint <it> --sampler flow --steps 1`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from motiongen.conditioning.base import concat_context
from motiongen.conditioning.partial import random_known_mask
from motiongen.conditioning.partner import PLACEMENT, STREAM_CHUNK, lookahead_mask
from motiongen.errors import UserError
from motiongen.sampling.flow import flow_scheduler, interpolate, sample_flow
from motiongen.training.config import is_number
from motiongen.training.distill import (
    PAIR_SETTINGS,
    DistillConfig,
    acceleration_error,
    draw_sigmas,
    reflow_training,
    run_info,
    start_distill_run,
)

PAIR_TENSORS = ("noise", "sample", "known", "known_mask", "lengths", "partner", "partner_lengths", "stream", "text_on")


@dataclass
class PartnerDistillConfig(DistillConfig):
    """DistillConfig for a partner teacher (side_guidance and pool_size do not apply)."""

    guidance_scale: float = 2.0  # the partner pipeline's default
    text_prob: float = 0.5  # share of pairs made with the couple's caption
    stream_prob: float | None = None  # share made with the streaming mask (None: the teacher's)

    def __post_init__(self):
        super().__post_init__()
        for name in ("text_prob", "stream_prob"):
            value = getattr(self, name)
            if value is not None and (not is_number(value) or not 0 <= value <= 1):
                raise UserError(f"bad distillation option: {name} must be between 0 and 1, got {value!r}")


def teacher_partner_config(teacher_path: Path):
    """The partner teacher's training config (data, masks, losses, look-ahead)."""
    from motiongen.training.partner import PartnerTrainConfig

    info = teacher_path / "training.json"
    if not info.exists():
        return PartnerTrainConfig()
    return PartnerTrainConfig.from_dict(json.loads(info.read_text(encoding="utf-8"))["config"])


def pair_key(config: PartnerDistillConfig, teacher_path: Path) -> str:
    """Identifies a pair set: the teacher's weights and the pair settings."""
    from diffusers.utils import SAFETENSORS_WEIGHTS_NAME

    h = hashlib.sha1()
    h.update((teacher_path / "denoiser" / SAFETENSORS_WEIGHTS_NAME).read_bytes())
    settings = PAIR_SETTINGS + ("seed", "text_prob", "stream_prob")
    h.update(json.dumps({k: getattr(config, k) for k in settings}, sort_keys=True).encode())
    return h.hexdigest()[:16]


# -- conditions, shared by teacher and student ---------------------------------------------------


def context(models, batch: dict, lookahead: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Context tokens [B, L, W] and what each frame may see of them [B, T, L]: text (dropped
    where `text_on` is False) and the leader's tokens, the latter up to the look-ahead on
    streaming rows."""
    text = models["text"].encode(batch["captions"], drop=~batch["text_on"])
    partner = models["partner"].encode((batch["partner"], batch["partner_lengths"]))
    tokens, mask = concat_context([text, partner])
    frames = batch["noise"].shape[1]
    causal = lookahead_mask(frames, text[0].shape[1], partner[0].shape[1], lookahead)
    return tokens, mask[:, None, :] & (causal[None] | ~batch["stream"][:, None, None])


def frame_mask(batch: dict) -> torch.Tensor:
    return torch.arange(batch["noise"].shape[1])[None, :] < batch["lengths"][:, None]


# -- 1. pairs ------------------------------------------------------------------------------------


@torch.no_grad()
def teacher_samples(teacher, batch: dict, config: PartnerDistillConfig, lookahead: int) -> torch.Tensor:
    """The teacher's guided, deterministic samples (normalised) for a batch of conditions."""
    from motiongen.sampling.diffusion import make_sampler, sample
    from motiongen.sampling.guidance import classifier_free_guidance

    denoiser = teacher.denoiser
    models = {"text": teacher.text_conditioner, "partner": teacher.partner_conditioner}
    cond = context(models, batch, lookahead)  # tokens and what each frame may see of them
    rows, frames = len(cond[0]), cond[1].shape[1]
    null_tokens, null_mask = concat_context([
        teacher.text_conditioner.unconditional(rows),
        teacher.partner_conditioner.unconditional(rows, cond[0].shape[1] - 1),
    ])  # fmt: skip
    uncond = (null_tokens, null_mask[:, None, :].expand(-1, frames, -1))
    known, known_mask, real = batch["known"], batch["known_mask"], frame_mask(batch)

    def model(x, t, tokens, mask):
        reps = len(x) // rows
        return denoiser(x, t, tokens, mask, known.repeat(reps, 1, 1), known_mask.repeat(reps, 1, 1),
                        real.repeat(reps, 1))  # fmt: skip

    guided = classifier_free_guidance(model, cond, uncond, config.guidance_scale, config.projected_guidance)
    any_known = bool(known_mask.any())
    return sample(
        guided, make_sampler(config.teacher_sampler, teacher.scheduler.config), batch["noise"], config.teacher_steps,
        known if any_known else None, denoiser.feature_mask(known_mask) if any_known else None,
        known_noise=batch["noise"], progress=False,
    )  # fmt: skip


def draw_conditions(sampler, denoiser, size: int, config: PartnerDistillConfig, train_config, generator) -> dict:
    """One batch of pair conditions, drawn as the teacher was trained (module docstring)."""
    me, lengths, partner, partner_lengths, captions = sampler.batch(size, generator)
    frames = me.shape[1]
    known_mask = random_known_mask(lengths, frames, train_config.mask_probs, generator)
    stream_prob = train_config.stream_prob if config.stream_prob is None else config.stream_prob
    stream = torch.rand(size, generator=generator) < stream_prob
    resume = stream & (torch.rand(size, generator=generator) < 0.5)
    for i in stream.nonzero().flatten().tolist():  # streaming rows: a known past, or none
        known_mask[i] = False
        if resume[i]:
            known_mask[i, : max(int(lengths[i]) - STREAM_CHUNK, 0)] = True
    x0 = denoiser.normalize(me)
    return {
        "noise": torch.randn(x0.shape, generator=generator),
        "known": x0 * denoiser.feature_mask(known_mask),
        "known_mask": known_mask,
        "lengths": lengths,
        "partner": partner,
        "partner_lengths": partner_lengths,
        "stream": stream,
        "text_on": torch.rand(size, generator=generator) < config.text_prob,
        "captions": list(captions),
    }


def save_pairs(file: Path, batch: dict) -> None:
    tmp = file.with_suffix(".tmp")
    save_file({k: batch[k].contiguous() for k in PAIR_TENSORS}, str(tmp), {"captions": json.dumps(batch["captions"])})
    tmp.replace(file)


def load_pairs(file: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(file), "pt") as f:
        captions = json.loads(f.metadata()["captions"])
    return {**load_file(str(file)), "captions": captions}


def make_pairs(teacher, teacher_path: Path, config: PartnerDistillConfig, folder: Path, clips=None, progress=True):
    """Draw (or reuse) the pairs in `folder`: a list of batches (dicts of padded tensors)."""
    from motiongen.data.pairs import PairSampler, couples, pair_sequences

    train_config = teacher_partner_config(teacher_path)
    if config.teacher_sampler not in ("ddim", "dpm"):
        raise UserError(
            f"teacher_sampler must be 'ddim' or 'dpm' for a partner teacher, got '{config.teacher_sampler}'"
        )
    key = pair_key(config, teacher_path)
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"{key}-{i:04d}.safetensors" for i in range(-(-config.pairs // config.pair_batch))]
    if all(f.exists() for f in files):
        return [load_pairs(f) for f in files]
    if clips is None:
        from motiongen.training.data import training_clips

        clips, _ = training_clips(train_config, progress)
    pairs = couples(clips)
    if not pairs:
        raise UserError(f"no couples in the {train_config.corpus} corpus' {train_config.split} split to distil on")
    sampler = PairSampler(
        pair_sequences(pairs, tuple(train_config.speeds), train_config.mirror),
        min(train_config.max_frames, teacher.denoiser.config.max_frames), train_config.min_frames,
        train_config.short_prob, teacher.lookahead,
    )  # fmt: skip
    batches = []
    bar = tqdm(total=config.pairs, desc="teacher pairs", disable=not progress)
    for part, file in enumerate(files):
        size = min(config.pair_batch, config.pairs - part * config.pair_batch)
        if file.exists():
            batches.append(load_pairs(file))
        else:
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + part)
            batch = draw_conditions(sampler, teacher.denoiser, size, config, train_config, generator)
            batch["sample"] = teacher_samples(teacher, batch, config, teacher.lookahead)
            save_pairs(file, batch)
            batches.append(batch)
        bar.update(size)
    bar.close()
    return batches


def rows(batches: list[dict], indices) -> dict:
    """The pairs `indices` (over all batches, in order) as one padded batch."""
    offsets, start = [], 0
    for b in batches:
        offsets.append(start)
        start += len(b["lengths"])
    picked = []
    for i in indices:
        part = max(k for k, o in enumerate(offsets) if o <= i)
        picked.append((batches[part], i - offsets[part]))
    frames = max(int(b["lengths"][r]) for b, r in picked)
    partner_frames = max(int(b["partner_lengths"][r]) for b, r in picked)
    out = {}
    for name in PAIR_TENSORS:
        first = picked[0][0][name]
        length = frames if name in ("noise", "sample", "known", "known_mask") else partner_frames
        shape = (len(picked),) + ((length,) + tuple(first.shape[2:]) if first.dim() > 1 else ())
        out[name] = torch.zeros(shape, dtype=first.dtype)
        for row, (b, r) in enumerate(picked):
            value = b[name][r]
            if value.dim():  # a sequence: padded to the longest picked
                out[name][row, : min(len(value), length)] = value[:length]
            else:
                out[name][row] = value
    out["captions"] = [b["captions"][r] for b, r in picked]
    return out


# -- 2. student ----------------------------------------------------------------------------------


def student_from_teacher(teacher, dropout: float = 0.0) -> nn.ModuleDict:
    """Copies of the teacher's denoiser (with `dropout`), partner and text conditioners."""
    from motiongen.conditioning.partner import PartnerConditioner
    from motiongen.conditioning.text import TextConditioner
    from motiongen.models.denoiser import MotionDenoiser

    def copy(cls, module, **changes):
        config = {k: v for k, v in module.config.items() if not k.startswith("_")}
        new = cls.from_config({**config, **changes})
        new.load_state_dict(module.state_dict())
        return new

    return nn.ModuleDict({
        "denoiser": copy(MotionDenoiser, teacher.denoiser, dropout=dropout),
        "partner": copy(PartnerConditioner, teacher.partner_conditioner),
        "text": copy(TextConditioner, teacher.text_conditioner),
    })  # fmt: skip


def distill_step(models, batch, config, train_config, lookahead: int, generator, timesteps: int) -> dict:
    """Losses of the student's clean-sample prediction at random points of the straight paths."""
    from motiongen.training.losses import diffusion_losses

    denoiser = models["denoiser"]
    tokens, visible = context(models, batch, lookahead)
    sigma = draw_sigmas(len(batch["lengths"]), config, generator)
    x = interpolate(batch["sample"], batch["noise"], sigma)
    real = frame_mask(batch)
    pred = denoiser(x, sigma * timesteps, tokens, visible, batch["known"], batch["known_mask"], real)
    weights = config.loss_weights or train_config.loss_weights
    losses = diffusion_losses(pred, batch["sample"], real, denoiser.denormalize, weights, denoiser.config.fps)
    error = ((pred[..., PLACEMENT] - batch["sample"][..., PLACEMENT]) ** 2).mean(-1)
    losses["placement"] = (error * real).sum() / real.sum().clamp(min=1)
    losses["loss"] = losses["loss"] + train_config.placement_weight * losses["placement"]
    if config.smooth_weight > 0:
        losses["smooth"] = acceleration_error(pred, batch["sample"], real)
        losses["loss"] = losses["loss"] + config.smooth_weight * losses["smooth"]
    return losses


@torch.no_grad()
def fidelity(models, heldout: dict, steps_list, lookahead: int) -> dict[int, float]:
    """Mean squared difference (normalised, real frames) of the student's samples from the
    teacher's on held-out pairs, per number of Euler steps."""
    was_training = models.training
    models.eval()
    tokens, visible = context(models, heldout, lookahead)
    real = frame_mask(heldout)
    mask = models["denoiser"].feature_mask(heldout["known_mask"])

    def predict(x, t):
        return models["denoiser"](x, t, tokens, visible, heldout["known"], heldout["known_mask"], real)

    out = {}
    for steps in steps_list:
        made = sample_flow(predict, heldout["noise"], steps, None, heldout["known"], mask)
        out[int(steps)] = float(((made - heldout["sample"]) ** 2).mean(-1)[real].mean())
    models.train(was_training)
    return out


def write_student(folder: Path, models, info: dict, teacher_path: Path) -> Path:
    from motiongen.pipelines.react import ReactivePartnerPipeline

    pipe = ReactivePartnerPipeline(
        denoiser=models["denoiser"].eval(), partner_conditioner=models["partner"].eval(),
        text_conditioner=models["text"].eval(), scheduler=flow_scheduler(),
    )  # fmt: skip
    pipe.save_pretrained(str(folder), safe_serialization=True)
    (folder / "distill.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if (teacher_path / "training.json").exists():  # what it learnt from
        shutil.copyfile(teacher_path / "training.json", folder / "training.json")
    return folder


def distill_partner(
    teacher_path: str | Path,
    config: PartnerDistillConfig,
    output: str | Path,
    max_steps: int | None = None,
    progress: bool = True,
    clips=None,
    resume: bool = False,
) -> Path:
    """Make pairs (or reuse them), train the student, write <output>/pipeline. Returns its path."""
    from motiongen.pipelines.react import ReactivePartnerPipeline

    teacher_path, output = Path(teacher_path), Path(output)
    steps = start_distill_run(config, output, max_steps, resume)
    teacher = ReactivePartnerPipeline.from_pretrained(teacher_path)
    train_config = teacher_partner_config(teacher_path)
    lookahead = teacher.lookahead

    start = time.perf_counter()
    batches = make_pairs(teacher, teacher_path, config, output / "pairs", clips, progress)
    pair_seconds = time.perf_counter() - start
    total = sum(len(b["lengths"]) for b in batches)
    order = torch.randperm(total, generator=torch.Generator().manual_seed(config.seed + 1)).tolist()
    heldout_rows, train_rows = order[: config.holdout], order[config.holdout :]
    heldout = rows(batches, heldout_rows) if config.holdout else None

    torch.manual_seed(config.seed)
    models = student_from_teacher(teacher, config.dropout)
    models["text"].cache(sorted({c for b in batches for c in b["captions"]}))  # each caption encoded once
    before = fidelity(models, heldout, config.eval_steps, lookahead) if heldout else {}
    timesteps = int(flow_scheduler().config.num_train_timesteps)
    size = min(config.batch_size, len(train_rows))

    def draw(generator):
        picks = torch.randperm(len(train_rows), generator=generator)[:size].tolist()
        return rows(batches, sorted(train_rows[i] for i in picks))

    train_seconds, first_step = reflow_training(
        models, config, steps, output, resume, progress, draw,
        lambda batch, generator: distill_step(models, batch, config, train_config, lookahead, generator, timesteps),
    )  # fmt: skip
    after = fidelity(models, heldout, config.eval_steps, lookahead) if heldout else {}
    info = run_info(teacher_path, config, output, total, pair_seconds, steps, first_step, train_seconds,
                    (before, after))  # fmt: skip
    return write_student(output / "pipeline", models, info, teacher_path)
