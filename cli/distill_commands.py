"""`motiongen distill`: a few-step rectified-flow student from a diffusion teacher (the text model
or the partner model; the teacher folder says which)."""

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

    The student folder (<output>/pipeline) runs with `motiongen generate --checkpoint <it> --sampler flow --steps 1`
    (a partner teacher's with `motiongen react ... --sampler flow`).
    """
    from motiongen import validate
    from motiongen.cli.options import check_run_folder
    from motiongen.pipelines.text2motion import check_checkpoint, default_checkpoint

    if max_steps is not None:
        validate.integer(max_steps, "--max-steps", 1, validate.MAX_TRAIN_STEPS)
    teacher = teacher or default_checkpoint()
    if _is_partner(teacher):
        from motiongen.pipelines.react import check_checkpoint
        from motiongen.training.distill_partner import PartnerDistillConfig as Config
        from motiongen.training.distill_partner import distill_partner as run_distill
    else:
        from motiongen.training.distill import DistillConfig as Config
        from motiongen.training.distill import distill as run_distill
    recipe = Config.load(config) if config else Config()
    validate.config_values(recipe, "distillation option")
    check_checkpoint(teacher)
    check_run_folder(output, resume, force)
    folder = run_distill(
        teacher,
        recipe,
        output,
        max_steps=max_steps,
        progress=show_progress(quiet),
        resume=resume,
    )
    typer.echo(f"student written to {folder}")


def _is_partner(teacher: Path) -> bool:
    """Whether the teacher folder holds the partner model (its model_index.json says so)."""
    import json

    from motiongen.paths import checkpoint_path

    index = checkpoint_path(teacher) / "model_index.json"
    try:
        return json.loads(index.read_text(encoding="utf-8")).get("_class_name") == "ReactivePartnerPipeline"
    except (OSError, ValueError, AttributeError):
        return False  # the text model's checks say what is wrong with the folder


def register(app: typer.Typer) -> None:
    app.command()(distill)
