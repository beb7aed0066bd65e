"""Train a text-to-motion model (`motiongen train`): denoiser + text conditioner projection.

A run folder holds config.json, log.jsonl (one line of losses every `log_every` steps),
checkpoint/ (model, EMA and optimizer state, the step: written every `save_every` steps and
picked up again with resume=True) and, at the end, pipeline/ (the EMA weights as a
`TextToMotionPipeline` folder, ready for `motiongen generate --checkpoint`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from diffusers import DDIMScheduler
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel
from diffusers.utils import SAFETENSORS_WEIGHTS_NAME
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from motiongen.conditioning.partial import random_known_mask
from motiongen.conditioning.text import TextConditioner
from motiongen.data.dataset import feature_stats
from motiongen.errors import UserError
from motiongen.models.denoiser import MotionDenoiser
from motiongen.sampling.diffusion import add_noise, training_scheduler
from motiongen.training.config import TrainConfig
from motiongen.training.losses import diffusion_losses


def build_models(
    config: TrainConfig, caption_bank: list[str] | None = None, mirror_made: list[str] | None = None
) -> nn.ModuleDict:
    """A fresh denoiser and text conditioner; `caption_bank` (the training captions) is what a
    conditioner with `retrieve` draws from, `mirror_made` those of them only mirroring made."""
    denoiser = MotionDenoiser(
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
    text = TextConditioner.for_encoder(
        config.text_encoder,
        width=config.width,
        max_tokens=config.max_tokens,
        sentence_only=config.sentence_only,
        retrieve=config.retrieve,
        caption_bank=caption_bank if config.retrieve else None,
        one_side=config.retrieve_one_side,
        mirror_made=mirror_made if config.retrieve and config.retrieve_one_side else None,
        mark_sideless=config.mark_sideless,
    )
    text.train_noise = config.text_noise
    return nn.ModuleDict({"denoiser": denoiser, "text": text})


def training_step(models, scheduler, batch, config: TrainConfig, generator: torch.Generator) -> dict:
    """Losses for one batch (features [B, T, F] raw, lengths [B], captions)."""
    features, lengths, captions = batch
    denoiser, text = models["denoiser"], models["text"]
    device = denoiser.device
    frames = features.shape[1]
    frame_mask = (torch.arange(frames)[None, :] < lengths[:, None]).to(device)
    x0 = denoiser.normalize(features.to(device))
    known_mask = random_known_mask(lengths, frames, config.mask_probs, generator).to(device)
    context = text.encode(captions, drop_prob=config.cond_drop, generator=generator)
    noisy, t, _ = add_noise(scheduler, x0, generator)
    pred = denoiser(noisy, t, *context, known=x0, known_mask=known_mask, frame_mask=frame_mask)
    return diffusion_losses(pred, x0, frame_mask, denoiser.denormalize, config.loss_weights, denoiser.config.fps)


def _named(models: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in models.named_parameters() if p.requires_grad]


def save_checkpoint(folder: Path, models, ema: EMAModel, optimizer, lr_schedule, step: int) -> None:
    """Written to a temporary folder, then swapped in, so a crash never leaves half a checkpoint."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous() for k, v in models.state_dict().items()}, str(tmp / "model.safetensors"))
    names = [n for n, _ in _named(models)]
    save_file({n: p.contiguous() for n, p in zip(names, ema.shadow_params, strict=True)}, str(tmp / "ema.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "lr_schedule": lr_schedule.state_dict()}, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, "ema_step": ema.optimization_step}) + "\n")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: Path, models, ema: EMAModel, optimizer, lr_schedule) -> int:
    try:
        models.load_state_dict(load_file(str(folder / "model.safetensors")))
        shadow = load_file(str(folder / "ema.safetensors"))
        ema.shadow_params = [shadow[n].clone() for n, _ in _named(models)]
        opt = torch.load(folder / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(opt["optimizer"])
        lr_schedule.load_state_dict(opt["lr_schedule"])
        state = json.loads((folder / "state.json").read_text())
    except (OSError, KeyError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot resume from {folder}: {exc}") from exc
    ema.optimization_step = state["ema_step"]
    return int(state["step"])


def load_initial_weights(folder: str | Path, models) -> None:
    """Start from a trained pipeline folder's weights (fine-tuning), its feature normaliser
    included. Parameters the folder lacks, such as a marker the new config adds, keep their
    fresh values; anything else that does not fit is a UserError."""
    folder = Path(folder)
    for name, sub in (("denoiser", "denoiser"), ("text", "text_conditioner")):
        file = folder / sub / SAFETENSORS_WEIGHTS_NAME
        try:
            weights = load_file(str(file))
        except (OSError, RuntimeError, ValueError) as exc:
            raise UserError(f"init_from: cannot read {file}: {exc}") from exc
        own = models[name].state_dict()
        misfits = [k for k, v in weights.items() if k not in own or own[k].shape != v.shape]
        if misfits:
            raise UserError(
                f"init_from: {folder} does not fit this config ({sub}: {', '.join(misfits[:3])}); "
                "width, layers, heads and the text encoder must match"
            )
        models[name].load_state_dict(weights, strict=False)


def freeze_all_but(models, prefixes: list[str]) -> None:
    """Train only the parameters named by `prefixes` (a fine-tune that cannot move the rest)."""
    names = [n for n, _ in models.named_parameters()]
    unmatched = [p for p in prefixes if not any(n.startswith(p) for n in names)]
    if unmatched:
        raise UserError(
            f"train_only: no parameter starts with {', '.join(unmatched)} "
            f"(names look like {names[0]}, text.proj.weight)"
        )
    for name, parameter in models.named_parameters():
        parameter.requires_grad_(any(name.startswith(p) for p in prefixes))


def write_pipeline(folder: Path, models, config: TrainConfig, info: dict) -> Path:
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    sampler = DDIMScheduler.from_config(training_scheduler(config.num_train_timesteps, config.beta_schedule).config)
    pipe = TextToMotionPipeline(
        denoiser=models["denoiser"].eval(), text_conditioner=models["text"].eval(), scheduler=sampler
    )
    return save_pipeline(folder, pipe, config, info)


def save_pipeline(folder: Path, pipe, config, info: dict) -> Path:
    """A trained pipeline folder: the pipeline (safetensors) and training.json (recipe + run facts)."""
    pipe.save_pretrained(str(folder), safe_serialization=True)
    (folder / "training.json").write_text(json.dumps({"config": config.to_dict(), **info}, indent=2) + "\n")
    return folder


def run_folder(output: str | Path, config, max_steps: int | None, resume: bool) -> tuple[Path, int, Path]:
    """(run folder, steps, checkpoint folder), checked: a resume needs a checkpoint, a fresh run
    an empty folder."""
    output = Path(output)
    steps = int(max_steps if max_steps is not None else config.max_steps)
    if steps < 1:
        raise UserError(f"--max-steps must be at least 1, got {steps}")
    checkpoint_dir = output / "checkpoint"
    if resume and not (checkpoint_dir / "state.json").exists():
        raise UserError(f"nothing to resume: no checkpoint in {checkpoint_dir}")
    if not resume and checkpoint_dir.exists():
        raise UserError(
            f"{output} already holds a training run; pass --resume to continue it or choose another --output"
        )
    return output, steps, checkpoint_dir


def start_run(output: Path, config, run):
    """Write the run's config.json, seed torch and run `run()` with the config's thread count
    (restored afterwards)."""
    from motiongen.training.data import process_state

    output.mkdir(parents=True, exist_ok=True)
    if process_state().is_main_process:  # one writer under accelerate launch
        config.save(output / "config.json")
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    try:
        return run()
    finally:
        torch.set_num_threads(threads)


def train(
    config: TrainConfig,
    output: str | Path,
    resume: bool = False,
    max_steps: int | None = None,
    progress: bool = True,
    clips=None,
) -> Path:
    """Train and return the pipeline folder. `clips` defaults to the config's corpus split."""
    output, steps, checkpoint_dir = run_folder(output, config, max_steps, resume)
    if config.init_from and not resume and not Path(config.init_from).is_dir():
        raise UserError(f"init_from: {config.init_from} is not a folder (a pipeline folder such as checkpoints/t2m)")
    return start_run(output, config, lambda: _train(config, output, checkpoint_dir, resume, steps, progress, clips))


def _train(config: TrainConfig, output: Path, checkpoint_dir: Path, resume: bool, steps: int, progress: bool, clips):
    from motiongen.training.data import process_state, training_clips, training_windows

    held_out = None if clips is None else []  # held-out clips, for the familiarity threshold
    weights = None
    if clips is None:
        clips, weights = training_clips(config, progress)  # the corpus and the config's datasets
    pool, sample = training_windows(clips, config, weights, progress)
    bank = pool.clip_captions()
    written = {c for clip in clips for c in clip.captions}
    models = build_models(config, caption_bank=bank, mirror_made=[c for c in bank if c not in written])
    if config.init_from and not resume:
        load_initial_weights(config.init_from, models)  # with the normaliser its weights were trained with
    else:
        mean, std = feature_stats(sample)
        models["denoiser"].feature_mean.copy_(mean)
        models["denoiser"].feature_std.copy_(std)
    if config.train_only is not None:
        freeze_all_but(models, config.train_only)
    # Encode every caption once up front (the text encoder is frozen); a stream's new compositions
    # are encoded when first drawn.
    captions = sorted({c for w in sample for c in w.captions})
    models["text"].cache(captions)

    scheduler = training_scheduler(config.num_train_timesteps, config.beta_schedule)
    step, seconds, start_step = optimise(
        models, config, steps, output, checkpoint_dir, resume, progress,
        pool.batch, lambda batch, generator: training_step(models, scheduler, batch, config, generator),
    )  # fmt: skip
    folder = output / "pipeline"
    if not process_state().is_main_process:
        process_state().wait_for_everyone()
        return folder
    if held_out is None and config.corpus != "none":
        from motiongen.data.corpus import load_corpus

        held_out = load_corpus("test", corpus=config.corpus, progress=progress)
    names = [c.name for c in clips]
    info = {
        "steps": step,
        "train_seconds_this_session": round(seconds, 1),
        "steps_this_session": step - start_step,
        "windows": len(pool) if config.windows == "pool" else "stream",
        "clips": names if len(names) <= 1000 else f"{len(names)} clips",
        "threads": torch.get_num_threads(),
    }
    folder = write_pipeline(folder, models, config, info)
    if held_out:  # held-out clips: measure what counts as an unfamiliar prompt (conditioning/familiarity.py)
        from motiongen.conditioning.familiarity import measure

        report = measure(models["text"].cache, clips, held_out)
        (folder / "known_actions.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    process_state().wait_for_everyone()
    return folder


def optimise(
    models, config, steps: int, output: Path, checkpoint_dir: Path, resume: bool, progress: bool, draw, losses_of
):
    """The optimisation loop every trainer shares: AdamW with a cosine schedule, EMA, accelerate,
    a JSON-lines log, resumable checkpoints every `save_every` steps. `draw(size, generator)`
    draws a batch (on `loader_workers` worker processes ahead of time, if any) and
    `losses_of(batch, generator)` returns its losses (with "loss"). The global batch is cut into
    `micro_batches` parts, one generator each per step (training/distributed.py), so a resumed
    run draws exactly the batches it would have drawn, and so does a run on several processes
    (`accelerate launch`), whose main process alone writes the log and checkpoints. Returns
    (step, seconds, first step of this session); the EMA weights are copied into `models`."""
    from motiongen.training.distributed import average_gradients, mean_over_processes, my_parts
    from motiongen.training.prefetch import part_batches

    optimizer = torch.optim.AdamW(
        [p for _, p in _named(models)], lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99)
    )
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, steps)
    ema = EMAModel([p for _, p in _named(models)], decay=config.ema_decay)
    gpu = torch.cuda.is_available()
    accelerator = Accelerator(cpu=not gpu, mixed_precision=config.mixed_precision if gpu else "no")
    models, optimizer = accelerator.prepare(models, optimizer)
    models = accelerator.unwrap_model(models)
    ema.to(models["denoiser"].device)
    if config.torch_compile and gpu:
        models["denoiser"].compile()
    autocast = accelerator.autocast if gpu and config.mixed_precision != "no" else contextlib.nullcontext
    parts = my_parts(config.micro_batches, accelerator)
    size = config.batch_size // config.micro_batches
    main = accelerator.is_main_process
    trained = [p for _, p in _named(models)]

    step = 0
    if resume:
        step = load_checkpoint(checkpoint_dir, models, ema, optimizer, lr_schedule)
    log = (output / "log.jsonl").open("a", encoding="utf-8") if main else None
    start, start_step = time.perf_counter(), step
    bar = tqdm(total=steps, initial=step, desc="training", disable=not (progress and main))
    models.train()
    batches = part_batches(draw, parts, config.seed, size, step, steps, config.loader_workers)
    while step < steps:
        optimizer.zero_grad(set_to_none=True)
        logging = (step + 1) % config.log_every == 0 or step + 1 == steps
        sums: dict[str, float] = {}
        for _ in parts:
            batch, generator = next(batches)
            with autocast():
                losses = losses_of(batch, generator)
            accelerator.backward(losses["loss"] if len(parts) == 1 else losses["loss"] / len(parts))
            if logging:
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
        average_gradients(trained, accelerator)
        if config.grad_clip > 0:
            accelerator.clip_grad_norm_(models.parameters(), config.grad_clip)
        optimizer.step()
        lr_schedule.step()
        ema.step(trained)
        step += 1
        bar.update(1)
        if logging:
            mean = mean_over_processes({k: v / len(parts) for k, v in sums.items()}, accelerator)
            row = {k: round(v, 5) for k, v in mean.items()}
            row.update(step=step, lr=lr_schedule.get_last_lr()[0], seconds=round(time.perf_counter() - start, 1))
            if main:
                log.write(json.dumps(row) + "\n")
                log.flush()
            bar.set_postfix(loss=f"{row['loss']:.4f}")
        if step % config.save_every == 0 or step == steps:
            if main:
                save_checkpoint(checkpoint_dir, models, ema, optimizer, lr_schedule, step)
            accelerator.wait_for_everyone()
    bar.close()
    if log is not None:
        log.close()
    ema.copy_to(trained)
    return step, time.perf_counter() - start, start_step
