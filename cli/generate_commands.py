"""Text-to-motion commands: generate, train."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import (
    FORCE,
    GENDER,
    NPZ_LAYOUT,
    OUTPUT_FPS,
    QUIET,
    RIG,
    SMPL_MODEL,
    THREADS,
    UNITS,
    bvh_options,
    for_output,
    npz_options,
    set_threads,
    show_progress,
    smpl_options,
)

PICTURE_SUFFIXES = {".mp4", ".gif", ".png"}  # for looking at; a .bvh is written beside them


def _read_prompts(prompt: str | None, prompts_file: Path | None) -> list[str]:
    from motiongen.errors import UserError

    if prompt is not None and prompts_file is not None:
        raise UserError("give either a PROMPT or --prompts FILE, not both")
    if prompts_file is not None:
        if not prompts_file.is_file():
            raise UserError(f"prompts file not found: {prompts_file}")
        try:
            lines = [line.strip() for line in prompts_file.read_text(encoding="utf-8-sig").splitlines()]
        except UnicodeDecodeError:
            raise UserError(f"{prompts_file} is not UTF-8 text; save it as UTF-8, one prompt per line") from None
        prompts = [line for line in lines if line and not line.startswith("#")]
        if not prompts:
            raise UserError(f"{prompts_file} holds no prompts (one per line)")
        return prompts
    if prompt is None or not prompt.strip():
        raise UserError('the prompt is empty; describe the motion, e.g. motiongen generate "a person walks forward"')
    return [prompt.strip()]


def _output_paths(output: Path, count: int) -> list[Path]:
    """One path per motion: the given one, or numbered ones (walk_01.mp4, ...) for several."""
    if count == 1:
        return [output]
    width = max(2, len(str(count)))
    return [output.with_name(f"{output.stem}_{i + 1:0{width}d}{output.suffix}") for i in range(count)]


def _long_motion(pipe, text, seconds, steps, sampler, guidance, projected, side, seed, cleanup, progress):
    """A clip of over a minute, made as `motiongen complete` makes timelines (progress per window)."""
    from motiongen.pipelines.complete import Controls, complete
    from motiongen.pipelines.timeline import Sampling
    from motiongen.sampling.guidance import PROJECTED_BY_DEFAULT

    projected = PROJECTED_BY_DEFAULT if projected is None else projected
    sampling = Sampling(steps, sampler, guidance, projected, side, seed)
    return complete(pipe, text, Controls(), seconds, sampling, cleanup, progress)


def generate(
    prompt: str = typer.Argument(None, help='What the person does, e.g. "a person walks forward, then jumps".'),
    output: Path = typer.Option(
        Path("out/motion.mp4"),
        "--output",
        "-o",
        help="Output file (.bvh .npz .npy, .glb animated 3D mannequin, .html web viewer, .mp4 .gif video, .png film strip); "
        "a picture also gets a .bvh next to it.",
    ),
    seconds: float = typer.Option(
        4.0, "--seconds", "-s", help="Length of the clip (up to 600 s; over 60 s it is made window by window)."
    ),
    steps: int = typer.Option(50, "--steps", help="Sampling steps."),
    guidance: float = typer.Option(2.0, "--guidance", "-g", help="Classifier-free guidance scale (1 = none)."),
    projected: bool = typer.Option(
        None,
        "--projected-guidance/--plain-guidance",
        help="Projected guidance shapes the motion without scaling turns and speeds up with the scale "
        "(default: the pipeline's).",
    ),
    side_guidance: float = typer.Option(
        0.5,
        "--side-guidance",
        help="For a prompt that names no side: how strongly it commits to the side of the training "
        "captions it retrieves, e.g. one arm for 'throws a punch' (0 = off).",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same motion."),
    num_samples: int = typer.Option(1, "--num-samples", "-n", help="Motions per prompt (seeds seed, seed+1, ...)."),
    sampler: str = typer.Option(
        "ddim",
        "--sampler",
        help="ddim, dpm (DPM-Solver++, good at 10-20 steps) or flow (distilled student, 1-4 steps).",
    ),
    prompts_file: Path = typer.Option(None, "--prompts", help="Text file with one prompt per line (numbered outputs)."),
    checkpoint: Path = typer.Option(
        None, "--checkpoint", help="Pipeline folder (default: the shipped checkpoints/t2m)."
    ),
    whole: bool = typer.Option(
        False, "--whole", help="Make a '..., then ...' prompt in one pass, not part by part (the default)."
    ),
    cleanup: bool = typer.Option(
        True,
        "--cleanup/--no-cleanup",
        help="Plant the feet and keep the body on the floor, not in it (--no-cleanup: the model's raw output).",
    ),
    rig: str = RIG,
    units: str = UNITS,
    fps: float = OUTPUT_FPS,
    npz_layout: str = NPZ_LAYOUT,
    gender: str = GENDER,
    smpl_model: Path = SMPL_MODEL,
    threads: int = THREADS,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Generate motion from text."""
    from motiongen import validate
    from motiongen.errors import UserError

    prompts = _read_prompts(prompt, prompts_file)
    set_threads(threads)
    validate.integer(num_samples, "--num-samples", 1, 100)
    validate.integer(steps, "--steps", 1, 1000)
    validate.number(guidance, "--guidance", 0.0, validate.MAX_GUIDANCE)
    validate.number(side_guidance, "--side-guidance", 0.0, validate.MAX_GUIDANCE)
    validate.seed(seed, count=len(prompts) * num_samples)
    if sampler not in ("ddim", "dpm", "flow"):
        raise UserError(f"--sampler must be ddim, dpm or flow, got '{sampler}'")
    from motiongen.pipelines.base import MAX_SECONDS
    from motiongen.pipelines.timeline import long_frames

    long_frames(seconds, 20.0)  # reject absurd lengths before loading anything
    from motiongen.io import WRITERS

    if output.suffix.lower() not in WRITERS:
        known = ", ".join(sorted(WRITERS))
        raise UserError(f"cannot write '{output.name}': unknown extension '{output.suffix}' (known: {known})")
    jobs = [(p, seed + k) for p in prompts for k in range(num_samples)]
    paths = _output_paths(output, len(jobs))
    extra = [p.with_suffix(".bvh") for p in paths if p.suffix.lower() in PICTURE_SUFFIXES]
    from motiongen.io.atomic import check_writable

    for p in paths + extra:
        check_writable(p, force)  # a folder, a read-only place or an existing file fail before the model loads
    bvh = bvh_options(rig, units, fps, paths + extra)
    npz = npz_options(npz_layout, paths, gender)
    body = smpl_options(smpl_model, paths)

    from motiongen.io import save_motion
    from motiongen.pipelines.text2motion import TextToMotionPipeline, default_checkpoint
    from motiongen.sampling.flow import default_student_checkpoint

    pipe = TextToMotionPipeline.from_pretrained(
        checkpoint or (default_student_checkpoint() if sampler == "flow" else default_checkpoint())
    )
    for text in dict.fromkeys(p for p, _ in jobs):  # once per prompt, before the work
        for far in pipe.unfamiliar(text):
            typer.echo(
                f"note: '{far.part}' is far from every action the model was trained on; it will show the "
                f"closest it knows ({', '.join(a.replace('_', ' ') for a in far.closest_actions)}). "
                "`motiongen info` lists them all"
            )
    for (text, job_seed), path in zip(jobs, paths, strict=True):
        if seconds > MAX_SECONDS:  # minutes of motion: windows with cross-faded seams (pipelines/timeline.py)
            motion = _long_motion(pipe, text, seconds, steps, sampler, guidance, projected, side_guidance, job_seed,
                                  cleanup, show_progress(quiet))  # fmt: skip
        else:
            motion = pipe(
                [text],
                seconds=seconds,
                num_inference_steps=steps,
                guidance_scale=guidance,
                **({} if projected is None else {"projected_guidance": projected}),
                side_guidance=side_guidance,
                seed=job_seed,
                sampler=sampler,
                progress=show_progress(quiet),
                sequential=not whole,
                cleanup=cleanup,
            )[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        picture = path.suffix.lower() in PICTURE_SUFFIXES
        options = {"progress": show_progress(quiet)} if picture else {}
        save_motion(motion, path, force=force, **options, **for_output(path, bvh, npz, body))
        typer.echo(f"wrote {path}  ({text!r}, seed {job_seed})")
        if motion.meta.get("retrieved") and not quiet:
            typer.echo("  with the training captions nearest in meaning: " + "; ".join(motion.meta["retrieved"]))
        if motion.meta.get("cleanup") and not quiet:
            done = motion.meta["cleanup"]
            typer.echo(
                f"  clean-up: feet planted in {done['locked_frames']} of {done['frames']} frames, body moved up or "
                f"down by at most {100 * done['max_root_shift_m']:.1f} cm (--no-cleanup shows the raw output)"
            )
        if motion.meta.get("side_guided") and not quiet:
            typer.echo(
                f"  side guidance {side_guidance:g}: committed to the {' and '.join(motion.meta['side_guided'])} "
                "side those captions name (--side-guidance 0 turns it off)"
            )
        if picture:  # a picture is for looking; the BVH is for using
            save_motion(motion, path.with_suffix(".bvh"), force=force, **bvh)
            typer.echo(f"wrote {path.with_suffix('.bvh')}")


def train(
    config: Path = typer.Option(Path("configs/t2m.yaml"), "--config", "-c", help="Training config (YAML or JSON)."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Run folder (log, checkpoints, pipeline/); default runs/t2m (runs/partner)."
    ),
    max_steps: int = typer.Option(None, "--max-steps", help="Override the config's number of steps."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run folder's last checkpoint."),
    threads: int = typer.Option(
        0, "--threads", help="Override the config's torch CPU threads (0: keep it): changes the speed, not the recipe."
    ),
    force: bool = typer.Option(False, "--force", "-f", help="Start over in a folder that holds a run (replaces it)."),
    quiet: bool = QUIET,
) -> None:
    """Train a text-to-motion model (or, with `model: partner` / `model: dance` in the config, the
    partner model / the music-to-dance model)."""
    import dataclasses

    from motiongen import validate
    from motiongen.cli.options import check_run_folder
    from motiongen.training.trainer import train as run_training

    validate.integer(threads, "--threads", 0, validate.MAX_THREADS)
    if max_steps is not None:
        validate.integer(max_steps, "--max-steps", 1, validate.MAX_TRAIN_STEPS)
    from motiongen.training.partner import PartnerTrainConfig, load_config

    cfg = load_config(config)  # `model: partner` in the file trains the partner model
    validate.config_values(cfg, "training option")
    kind = getattr(cfg, "model", "t2m")  # "partner", "dance" or the text model
    output = output or Path(f"runs/{kind}" if kind in ("partner", "dance") else "runs/t2m")
    check_run_folder(output, resume, force)
    if threads:
        cfg = dataclasses.replace(cfg, threads=threads)
    if isinstance(cfg, PartnerTrainConfig):
        from motiongen.training.partner import train as train_partner

        folder = train_partner(cfg, output, resume=resume, max_steps=max_steps, progress=show_progress(quiet))
        typer.echo(f"wrote {folder}  (use it with: motiongen react LEADER.bvh --checkpoint {folder})")
        return
    if kind == "dance":
        from motiongen.training.dance import train as train_dance

        folder = train_dance(cfg, output, resume=resume, max_steps=max_steps, progress=show_progress(quiet))
        typer.echo(f"wrote {folder}  (use it with: motiongen dance SONG.ogg --checkpoint {folder})")
        return
    folder = run_training(cfg, output, resume=resume, max_steps=max_steps, progress=show_progress(quiet))
    typer.echo(f'wrote {folder}  (use it with: motiongen generate --checkpoint {folder} "...")')


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(train)
