"""Reflow distillation (`motiongen distill`): a 1-4 step rectified-flow student from a diffusion
teacher (conventions in `motiongen.sampling.flow`).

1. Pairs. Conditions are drawn the way the teacher was trained: windows from the teacher's own
   data pipeline (corpus train split, mirrored clips with mirrored captions, two-clip
   compositions, random lengths), one caption of each window, and a partial-motion mask from the
   teacher's mask mix (prefix, suffix, in-between, keyframes, body parts) with the window's
   features as the known part. The teacher turns fixed noise into a sample with a deterministic
   sampler and classifier-free guidance. Pairs are written in parts to <output>/pairs/ and
   reused when the run is repeated with the same teacher and pair settings.
2. Student. The same denoiser class and text conditioner, initialised from the teacher's weights
   (dropout off), trained to map x_sigma on the straight noise->sample path to the sample, with the
   teacher's losses (features, joint positions, velocities, foot contact). sigma is drawn half of
   the time from the 1/2/4-step Euler grid {1, 0.75, 0.5, 0.25}, where the student is used, and
   otherwise uniformly, so other step counts still work. No prompt dropout: guidance is baked in.
3. Output: <output>/pipeline, a `TextToMotionPipeline` folder whose scheduler is diffusers'
   `FlowMatchEulerDiscreteScheduler` (that is what makes the pipeline use the Euler sampler), and
   <output>/distill.json with timings and how close the student is to the teacher on held-out
   pairs before and after training.

A second reflow round is the same command with a flow student as the teacher
(`teacher_sampler: flow`, a few Euler steps): the new pairs follow the student's own, no longer
crossing, paths.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from motiongen.conditioning.partial import expand_mask, random_known_mask
from motiongen.errors import UserError
from motiongen.sampling.flow import ReflowPairs, flow_scheduler, interpolate, is_flow_scheduler, sample_flow
from motiongen.sampling.guidance import DEFAULT_SCALE, DEFAULT_SIDE, PROJECTED_BY_DEFAULT, Guidance
from motiongen.training.config import TrainConfig, is_number, loss_weight_problems, not_booleans, read_options

PAIR_SETTINGS = (
    "pairs", "pair_batch", "teacher_sampler", "teacher_steps", "guidance_scale", "projected_guidance", "side_guidance",
    "pool_size", "mask_probs",
)  # fmt: skip


@dataclass
class DistillConfig:
    # reflow pairs, drawn from the teacher
    pairs: int = 1536
    pair_batch: int = 64
    teacher_sampler: str = "dpm"  # deterministic: "ddim" or "dpm" (DPM-Solver++); "flow" for a second reflow round
    teacher_steps: int = 20
    guidance_scale: float = DEFAULT_SCALE  # baked into the student
    projected_guidance: bool = PROJECTED_BY_DEFAULT  # as the teacher pipeline samples by default
    side_guidance: float = DEFAULT_SIDE  # likewise (motiongen/sampling/guidance.py)
    pool_size: int = 3000  # windows the captions, lengths and masks come from
    mask_probs: dict[str, float] | None = None  # None: the teacher's own training mix
    holdout: int = 64  # pairs kept out of training to measure the student
    # student
    dropout: float = 0.0
    grid_prob: float = 0.5  # share of sigmas drawn from `grid` (the rest uniform in (0, 1])
    grid: list[float] = field(default_factory=lambda: [1.0, 0.75, 0.5, 0.25])
    loss_weights: dict[str, float] | None = None  # None: the teacher's
    # weight of matching the teacher's frame-to-frame acceleration of the (normalised) features:
    # a high-frequency view of the error, which few-step samples otherwise show as jitter
    smooth_weight: float = 0.0
    batch_size: int = 32
    max_steps: int = 600
    lr: float = 1.0e-4
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.99
    eval_steps: list[int] = field(default_factory=lambda: [1, 2, 4])
    # bookkeeping
    seed: int = 0
    threads: int = 1
    log_every: int = 25
    save_every: int = 100

    def __post_init__(self):
        wrong = not_booleans(self)
        if not is_number(self.side_guidance) or self.side_guidance < 0:
            wrong.append(f"side_guidance must be a number >= 0, got {self.side_guidance!r}")
        if self.loss_weights is not None:  # None: the teacher's, checked when it was trained
            wrong += loss_weight_problems(self.loss_weights)
        if wrong:
            raise UserError("bad distillation option(s): " + "; ".join(wrong))

    @classmethod
    def load(cls, path: str | Path) -> DistillConfig:
        return cls.from_dict(read_options(path))

    @classmethod
    def from_dict(cls, data: dict) -> DistillConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise UserError(f"unknown distillation option(s): {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


def teacher_train_config(teacher_path: Path):
    """The teacher's training config (data pipeline, masks, losses), or the defaults."""
    info = teacher_path / "training.json"
    if info.exists():
        return TrainConfig.from_dict(json.loads(info.read_text(encoding="utf-8"))["config"])
    return TrainConfig()


def pair_key(config: DistillConfig, teacher_path: Path) -> str:
    """Identifies a pair set: the teacher's weights and the pair settings."""
    from diffusers.utils import SAFETENSORS_WEIGHTS_NAME

    h = hashlib.sha1()
    weights = teacher_path / "denoiser" / SAFETENSORS_WEIGHTS_NAME
    h.update(weights.read_bytes() if weights.exists() else str(teacher_path).encode())
    h.update(json.dumps({k: getattr(config, k) for k in PAIR_SETTINGS + ("seed",)}, sort_keys=True).encode())
    return h.hexdigest()[:16]


# -- 1. pairs ------------------------------------------------------------------------------------


@torch.no_grad()
def teacher_samples(
    teacher, captions, noise, known, known_mask, frame_mask, sampler: str, steps: int, guidance: Guidance
):
    """The teacher's guided, deterministic samples (normalised features) from `noise` [B, T, F].
    `known` (normalised) / `known_mask` [B, T, G] as in the pipeline; `frame_mask` [B, T] marks
    the real frames of each row (rows may be shorter than T)."""
    from motiongen.sampling.diffusion import make_sampler, sample
    from motiongen.sampling.guidance import classifier_free_guidance

    denoiser, text = teacher.denoiser, teacher.text_conditioner
    cond = text.encode(list(captions))
    any_known = bool(known_mask.any())
    if is_flow_scheduler(teacher.scheduler):  # a flow student as teacher: a second reflow round

        def predict(x, t):
            return denoiser(x, t, *cond, known, known_mask, frame_mask)

        mask = expand_mask(known_mask) if any_known else None
        return sample_flow(predict, noise, steps, teacher.scheduler, known if any_known else None, mask)
    uncond = text.unconditional(len(captions), cond[0].shape[1])
    mirrored = text.mirrored_retrieval(list(captions)) if guidance.side else None

    def model(x, t, tokens, mask):
        reps = x.shape[0] // len(captions)
        return denoiser(
            x, t, tokens, mask, known.repeat(reps, 1, 1), known_mask.repeat(reps, 1, 1), frame_mask.repeat(reps, 1)
        )

    return sample(
        classifier_free_guidance(model, cond, uncond, guidance.scale, guidance.projected, mirrored, guidance.side),
        make_sampler(sampler, teacher.scheduler.config),
        noise,
        steps,
        known=known if any_known else None,
        known_mask=expand_mask(known_mask) if any_known else None,
        known_noise=noise,
        progress=False,
    )


def make_pairs(teacher, teacher_path: Path, config: DistillConfig, folder: Path, clips=None, progress=True):
    """Draw (or reuse) the reflow pairs in `folder`: one safetensors file per batch of pairs."""
    from motiongen.data.dataset import WindowPool

    train_config = teacher_train_config(teacher_path)
    if is_flow_scheduler(teacher.scheduler) != (config.teacher_sampler == "flow"):
        raise UserError(
            "teacher_sampler must be 'ddim' or 'dpm' (deterministic) for a diffusion teacher, "
            f"'flow' for a flow student as teacher; got '{config.teacher_sampler}'"
        )
    key = pair_key(config, teacher_path)
    folder.mkdir(parents=True, exist_ok=True)
    count = -(-config.pairs // config.pair_batch)
    files = [folder / f"{key}-{i:04d}.safetensors" for i in range(count)]
    if all(f.exists() for f in files):
        return ReflowPairs.concat([ReflowPairs.load(f) for f in files])

    if clips is None:
        from motiongen.data.corpus import load_corpus

        clips = load_corpus(train_config.split, corpus=train_config.corpus, progress=progress)
    pool = WindowPool.from_config(
        clips,
        train_config,
        progress=progress,
        size=config.pool_size,
        max_frames=min(train_config.max_frames, teacher.denoiser.config.max_frames),
        seed=config.seed,
    )
    mask_probs = config.mask_probs if config.mask_probs is not None else train_config.mask_probs
    # Pairs are grouped by window length so that a batch wastes little on padding.
    chosen = torch.randint(0, len(pool), (config.pairs,), generator=torch.Generator().manual_seed(config.seed))
    chosen = sorted(chosen.tolist(), key=lambda i: len(pool.windows[i].features))
    denoiser = teacher.denoiser
    parts = []
    bar = tqdm(total=config.pairs, desc="teacher pairs", disable=not progress)
    for part, file in enumerate(files):
        windows = [pool.windows[i] for i in chosen[part * config.pair_batch : (part + 1) * config.pair_batch]]
        if file.exists():
            parts.append(ReflowPairs.load(file))
            bar.update(len(windows))
            continue
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + part)
        lengths = torch.tensor([len(w.features) for w in windows])
        frames = int(lengths.max())
        features = torch.zeros(len(windows), frames, windows[0].features.shape[-1])
        for row, w in enumerate(windows):
            features[row, : len(w.features)] = w.features
        picks = torch.randint(0, 1 << 30, (len(windows),), generator=generator).tolist()
        captions = [w.captions[p % len(w.captions)] for w, p in zip(windows, picks, strict=True)]
        frame_mask = torch.arange(frames)[None, :] < lengths[:, None]
        known_mask = random_known_mask(lengths, frames, mask_probs, generator)
        known = denoiser.normalize(features) * expand_mask(known_mask)
        noise = torch.randn(features.shape, generator=generator)
        samples = teacher_samples(
            teacher, captions, noise, known, known_mask, frame_mask,
            config.teacher_sampler, config.teacher_steps, Guidance(config.guidance_scale, config.projected_guidance, config.side_guidance),
        )  # fmt: skip
        pairs = ReflowPairs.from_padded(noise, samples, known, known_mask, lengths, captions, {"key": key})
        pairs.save(file)
        parts.append(pairs)
        bar.update(len(windows))
    bar.close()
    return ReflowPairs.concat(parts)


# -- 2. student ----------------------------------------------------------------------------------


def student_from_teacher(teacher, dropout: float = 0.0) -> nn.ModuleDict:
    """Copies of the teacher's denoiser (with `dropout`) and text conditioner."""
    from motiongen.conditioning.text import TextConditioner
    from motiongen.models.denoiser import MotionDenoiser

    def public(config) -> dict:  # without diffusers' private "_..." entries, which are no arguments
        return {k: v for k, v in config.items() if not k.startswith("_")}

    denoiser = MotionDenoiser.from_config({**public(teacher.denoiser.config), "dropout": dropout})
    denoiser.load_state_dict(teacher.denoiser.state_dict())
    text = TextConditioner.from_config(public(teacher.text_conditioner.config))
    text.load_state_dict(teacher.text_conditioner.state_dict())
    return nn.ModuleDict({"denoiser": denoiser, "text": text})


def draw_sigmas(batch: int, config: DistillConfig, generator: torch.Generator) -> torch.Tensor:
    grid = torch.tensor(config.grid, dtype=torch.float32)
    on_grid = grid[torch.randint(0, len(grid), (batch,), generator=generator)]
    uniform = 1.0 - torch.rand(batch, generator=generator)  # (0, 1]
    return torch.where(torch.rand(batch, generator=generator) < config.grid_prob, on_grid, uniform)


def distill_step(models, batch: dict, config: DistillConfig, loss_weights: dict, generator, timesteps: int) -> dict:
    """Losses of the student's clean-sample prediction at random points of the straight paths."""
    from motiongen.training.losses import diffusion_losses

    denoiser, text = models["denoiser"], models["text"]
    context = text.encode(batch["captions"])
    sigma = draw_sigmas(len(batch["lengths"]), config, generator)
    x = interpolate(batch["sample"], batch["noise"], sigma)
    pred = denoiser(
        x, sigma * timesteps, *context, known=batch["known"], known_mask=batch["known_mask"],
        frame_mask=batch["frame_mask"],
    )  # fmt: skip
    losses = diffusion_losses(
        pred, batch["sample"], batch["frame_mask"], denoiser.denormalize, loss_weights, denoiser.config.fps
    )
    if config.smooth_weight > 0:
        losses["smooth"] = acceleration_error(pred, batch["sample"], batch["frame_mask"])
        losses["loss"] = losses["loss"] + config.smooth_weight * losses["smooth"]
    return losses


def acceleration_error(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of second differences over time, on real frames only."""

    def second_difference(x):
        return x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]

    valid = (frame_mask[:, 2:] & frame_mask[:, 1:-1] & frame_mask[:, :-2]).to(pred.dtype)
    error = ((second_difference(pred) - second_difference(target)) ** 2).mean(-1)
    return (error * valid).sum() / valid.sum().clamp(min=1)


@torch.no_grad()
def student_samples(models, batch: dict, steps: int, scheduler=None) -> torch.Tensor:
    """The student's `steps`-step Euler samples from the noise and conditions of a pair batch."""
    denoiser, text = models["denoiser"], models["text"]
    context = text.encode(batch["captions"])

    def predict(x, t):
        return denoiser(x, t, *context, batch["known"], batch["known_mask"], batch["frame_mask"])

    mask = expand_mask(batch["known_mask"])
    return sample_flow(predict, batch["noise"], steps, scheduler, batch["known"], mask)


@torch.no_grad()
def fidelity(models, pairs: ReflowPairs, steps_list, batch_size: int = 64) -> dict[int, float]:
    """Mean squared difference (normalised features, real frames) between the student's samples
    and the teacher's on `pairs`, per number of Euler steps."""
    was_training = models.training
    models.eval()
    out = {}
    for steps in steps_list:
        total, frames = 0.0, 0
        for start in range(0, len(pairs), batch_size):
            batch = pairs.batch(range(start, min(start + batch_size, len(pairs))))
            diff = (student_samples(models, batch, steps) - batch["sample"]) ** 2
            total += float(diff.mean(-1)[batch["frame_mask"]].sum())
            frames += int(batch["frame_mask"].sum())
        out[int(steps)] = total / frames
    models.train(was_training)
    return out


def write_student(folder: Path, models, info: dict, teacher_path: Path) -> Path:
    """The student pipeline folder, with distill.json and the teacher's training.json (the data
    and masks it inherits; a second reflow round reads it from there)."""
    import shutil

    from motiongen.pipelines.text2motion import TextToMotionPipeline

    pipe = TextToMotionPipeline(
        denoiser=models["denoiser"].eval(), text_conditioner=models["text"].eval(), scheduler=flow_scheduler()
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    (folder / "distill.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    for name in ("training.json", "known_actions.json"):  # what it learnt from, and which actions
        if (teacher_path / name).exists():
            shutil.copyfile(teacher_path / name, folder / name)
    return folder


def start_distill_run(config: DistillConfig, output: Path, max_steps: int | None, resume: bool) -> int:
    """Check the run's settings, set the thread count, write <output>/config.json; the step count."""
    steps = int(max_steps if max_steps is not None else config.max_steps)
    if steps < 1:
        raise UserError(f"--max-steps must be at least 1, got {steps}")
    if config.pairs <= config.holdout:
        raise UserError(f"pairs ({config.pairs}) must be more than holdout ({config.holdout})")
    if resume and not (output / "checkpoint" / "state.json").exists():
        raise UserError(f"nothing to resume: no checkpoint in {output / 'checkpoint'}")
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    output.mkdir(parents=True, exist_ok=True)
    (output / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    return steps


def run_info(teacher_path, config, output: Path, pairs: int, pair_seconds, steps, first_step, train_seconds, mse):
    """What made a student and how close it came (held-out MSE before, after), written to
    <output>/distill.json."""
    info = {
        "teacher": str(teacher_path),
        "config": config.to_dict(),
        "pairs": pairs,
        "pair_seconds": round(pair_seconds, 1),
        "train_steps": steps,
        "train_steps_this_session": steps - first_step + 1,
        "train_seconds": round(train_seconds, 1),
        "threads": torch.get_num_threads(),
        "heldout_mse_before": mse[0],
        "heldout_mse_after": mse[1],
    }
    (output / "distill.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def reflow_training(models, config, steps: int, output: Path, resume: bool, progress: bool, draw, losses_of):
    """The student's training loop (every distiller's): AdamW with a cosine schedule, EMA,
    a JSON-lines log and resumable checkpoints in <output>/checkpoint. `draw(generator)` gives a
    batch, `losses_of(batch, generator)` its losses (with "loss"); each step has its own seeded
    generator, so a resumed run draws what the whole run would have. Returns (seconds, first step
    of this session); the EMA weights are copied into `models`."""
    from accelerate import Accelerator
    from diffusers.optimization import get_cosine_schedule_with_warmup
    from diffusers.training_utils import EMAModel

    from motiongen.training.trainer import load_checkpoint, save_checkpoint

    checkpoint_dir = output / "checkpoint"
    params = [p for p in models.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, steps)
    ema = EMAModel(params, decay=config.ema_decay)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    models, optimizer = accelerator.prepare(models, optimizer)
    models = accelerator.unwrap_model(models)

    first_step = 1
    if resume:
        first_step = load_checkpoint(checkpoint_dir, models, ema, optimizer, lr_schedule) + 1
    log = (output / "log.jsonl").open("a" if resume else "w", encoding="utf-8")
    start = time.perf_counter()
    models.train()
    bar = tqdm(range(first_step, steps + 1), desc="distilling", disable=not progress)
    for step in bar:
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        losses = losses_of(draw(generator), generator)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(losses["loss"])
        if config.grad_clip > 0:
            accelerator.clip_grad_norm_(models.parameters(), config.grad_clip)
        optimizer.step()
        lr_schedule.step()
        ema.step(params)
        if step % config.log_every == 0 or step == steps:
            row = {k: round(float(v.detach()), 5) for k, v in losses.items()}
            row.update(step=step, seconds=round(time.perf_counter() - start, 1))
            log.write(json.dumps(row) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{row['loss']:.4f}")
        if step % config.save_every == 0 or step == steps:
            save_checkpoint(checkpoint_dir, models, ema, optimizer, lr_schedule, step)
    log.close()
    ema.copy_to(params)
    return time.perf_counter() - start, first_step


def distill(
    teacher_path: str | Path,
    config: DistillConfig,
    output: str | Path,
    max_steps: int | None = None,
    progress: bool = True,
    clips=None,
    resume: bool = False,
) -> Path:
    """Make pairs (or reuse them), train the student, write <output>/pipeline. Returns its path.
    With `resume`, training goes on from <output>/checkpoint (saved every `save_every` steps)."""
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    teacher_path, output = Path(teacher_path), Path(output)
    steps = start_distill_run(config, output, max_steps, resume)
    teacher = TextToMotionPipeline.from_pretrained(teacher_path)

    start = time.perf_counter()
    pairs = make_pairs(teacher, teacher_path, config, output / "pairs", clips, progress)
    pair_seconds = time.perf_counter() - start
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(config.seed + 1)).tolist()
    heldout, train_pairs = pairs.subset(order[: config.holdout]), pairs.subset(order[config.holdout :])
    by_length = sorted(range(len(train_pairs)), key=lambda i: int(train_pairs.lengths[i]))

    torch.manual_seed(config.seed)
    models = student_from_teacher(teacher, config.dropout)
    before = fidelity(models, heldout, config.eval_steps) if config.holdout else {}
    loss_weights = config.loss_weights or teacher_train_config(teacher_path).loss_weights
    timesteps = int(flow_scheduler().config.num_train_timesteps)
    size = min(config.batch_size, len(train_pairs))

    def draw(generator):  # a run of pairs of similar length: little padding
        first = int(torch.randint(0, len(by_length) - size + 1, (1,), generator=generator))
        return train_pairs.batch(by_length[first : first + size])

    train_seconds, first_step = reflow_training(
        models, config, steps, output, resume, progress, draw,
        lambda batch, generator: distill_step(models, batch, config, loss_weights, generator, timesteps),
    )  # fmt: skip
    after = fidelity(models, heldout, config.eval_steps) if config.holdout else {}
    info = run_info(teacher_path, config, output, len(pairs), pair_seconds, steps, first_step, train_seconds,
                    (before, after))  # fmt: skip
    return write_student(output / "pipeline", models, info, teacher_path)
