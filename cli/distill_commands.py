"""`motiongen distill`: a few-step rectified-flow student from a text-to-motion diffusion teacher."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import QUIET, show_progress


def distill(
    teacher: Path = typer.Option(
        None, "--teacher", "-t", help="Diffusion teacher checkpoint folder (default: the shipped checkpoints/t2m)."
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="Distillation recipe (YAML), e.g. configs/flow.yaml (default: built-in defaults)."
    ),
    output: Path = typer.Option(
        Path("runs/t2m-flow"), "--output", "-o", help="Run folder: pairs/, log.jsonl, checkpoint/, pipeline/."
    ),
    max_steps: int = typer.Option(None, "--max-steps", help="Training steps (overrides the config)."),
    resume: bool = typer.Option(False, "--resume", help="Continue training from <output>/checkpoint."),
    force: bool = typer.Option(False, "--force", "-f", help="Start over in a folder that holds a run (replaces it)."),
    quiet: bool = QUIET,
) -> None:
    """Distil the teacher into a 1-4 step student: teacher (noise, sample) pairs, then reflow training.

    The student folder (<output>/pipeline) runs with `motiongen generate --checkpoint <it> --sampler flow --steps 4`.
    """
    from motiongen import validate
    from motiongen.cli.options import check_run_folder
    from motiongen.pipelines.text2motion import check_checkpoint, default_checkpoint
    from motiongen.training.distill import DistillConfig
    from motiongen.training.distill import distill as run_distill

    if max_steps is not None:
        validate.integer(max_steps, "--max-steps", 1, validate.MAX_TRAIN_STEPS)
    recipe = DistillConfig.load(config) if config else DistillConfig()
    validate.config_values(recipe, "distillation option")
    check_checkpoint(teacher or default_checkpoint())
    check_run_folder(output, resume, force)
    folder = run_distill(
        teacher or default_checkpoint(),
        recipe,
        output,
        max_steps=max_steps,
        progress=show_progress(quiet),
        resume=resume,
    )
    typer.echo(f"student written to {folder}")


def register(app: typer.Typer) -> None:
    app.command()(distill)
