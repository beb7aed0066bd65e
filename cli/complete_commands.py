"""`motiongen complete`: text-to-motion under motion controls in world space (continue a clip,
in-between, keyframes, keep body parts, follow a path, long timelines). The work is in motiongen/pipelines/complete.py."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import FORCE, OUTPUT_FPS, QUIET, RIG, THREADS, UNITS, bvh_options, set_threads, show_progress


def complete(
    prompt: str = typer.Argument(None, help='What the person does, e.g. "a person walks forward, then jumps".'),
    output: Path = typer.Option(
        Path("out/complete.mp4"), "--output", "-o", help="Output file (as for generate); a picture also gets a .bvh."
    ),
    prefix: Path = typer.Option(None, "--prefix", help="Start with this clip (bvh/npz/...) and continue it."),
    inbetween: tuple[Path, Path] | None = typer.Option(
        None, "--inbetween", help="Two clips or poses A B: start with A, end with B, --seconds between."
    ),
    keyframes: Path = typer.Option(
        None, "--keyframes", help="Poses to reach (one per --at time), or a clip to take them from."
    ),
    at: str = typer.Option(None, "--at", help="Keyframe times in seconds, e.g. 1,2.5,4."),
    keep: str = typer.Option(
        None, "--keep", help="Body parts of --from to keep exactly: upper, lower, arms, legs, root (a,b for several)."
    ),
    source: Path = typer.Option(None, "--from", help="The clip whose --keep parts stay; the rest follows the text."),
    path: Path = typer.Option(
        None, "--path", help="Root path to follow: CSV or JSON of t,x,z[,heading degrees] (seconds, metres; Y up)."
    ),
    waypoints: str = typer.Option(
        None, "--waypoints", help='Places to pass, "x,z;x,z;..." in metres, at an even speed over --seconds.'
    ),
    timeline: Path = typer.Option(
        None, "--timeline", help="File with 'SECONDS PROMPT' per line, or the text 'walk forward 4s; jump 2s'."
    ),
    seconds: float = typer.Option(
        None,
        "--seconds",
        "-s",
        help="Length of the new motion: after --prefix (default 4), between --inbetween A B (needed); the whole "
        "clip with --keyframes (default: the last time + 1 s, or the keyframe clip's length) or --waypoints "
        "(needed). Up to 600 s.",
    ),
    steps: int = typer.Option(50, "--steps", help="Sampling steps per window."),
    guidance: float = typer.Option(2.0, "--guidance", "-g", help="Classifier-free guidance scale (1 = none)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same motion."),
    sampler: str = typer.Option("ddim", "--sampler", help="ddim, dpm or flow (distilled student)."),
    checkpoint: Path = typer.Option(
        None, "--checkpoint", help="Pipeline folder (default: the shipped checkpoints/t2m)."
    ),
    cleanup: bool = typer.Option(True, "--cleanup/--no-cleanup", help="Plant the feet and keep the body on the floor."),
    rig: str = RIG,
    units: str = UNITS,
    fps: float = OUTPUT_FPS,
    threads: int = THREADS,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Generate motion from text under controls: continue a clip, in-between, keyframes, body parts, a path, timelines."""
    from motiongen import validate
    from motiongen.cli.generate_commands import PICTURE_SUFFIXES
    from motiongen.errors import UserError
    from motiongen.io import check_output

    set_threads(threads)
    validate.integer(steps, "--steps", 1, 1000)
    validate.number(guidance, "--guidance", 0.0, validate.MAX_GUIDANCE)
    validate.seed(seed)
    if sampler not in ("ddim", "dpm", "flow"):
        raise UserError(f"--sampler must be ddim, dpm or flow, got '{sampler}'")
    if seconds is not None:
        validate.number(seconds, "--seconds", 0.0, 600.0, above=True)
    from motiongen.pipelines.timeline import read_timeline

    story = read_timeline(timeline) if timeline is not None else None
    if story is not None and prompt is not None:
        raise UserError("give a PROMPT or --timeline, not both")
    if story is None and (prompt is None or not prompt.strip()):
        raise UserError(
            'the prompt is empty; describe the motion, e.g. motiongen complete "a person walks forward" --prefix clip.bvh'
        )
    check_output(output, force)
    extra = [output.with_suffix(".bvh")] if output.suffix.lower() in PICTURE_SUFFIXES else []
    for extra_path in extra:
        check_output(extra_path, force)
    bvh = bvh_options(rig, units, fps, [output, *extra])

    from motiongen.pipelines.complete import complete as run_complete
    from motiongen.pipelines.complete import read_controls

    controls = read_controls(
        prefix, inbetween, keyframes, at, keep, source, story is not None, seconds, path, waypoints
    )
    from motiongen.io import save_motion
    from motiongen.pipelines.text2motion import TextToMotionPipeline, default_checkpoint
    from motiongen.pipelines.timeline import Sampling
    from motiongen.sampling.flow import default_student_checkpoint

    pipe = TextToMotionPipeline.from_pretrained(
        checkpoint or (default_student_checkpoint() if sampler == "flow" else default_checkpoint())
    )
    motion = run_complete(
        pipe, story if story is not None else prompt.strip(), controls, seconds,
        Sampling(steps, sampler, guidance, seed=seed), cleanup, show_progress(quiet),
    )  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    picture = bool(extra)
    options = {"progress": show_progress(quiet)} if picture else bvh if output.suffix.lower() == ".bvh" else {}
    save_motion(motion, output, force=force, **options)
    typer.echo(f"wrote {output}  ({motion.duration:.1f} s, seed {seed})")
    done = motion.meta.get("controls", {})
    if "model_miss_joints_m" in done and not quiet:
        typer.echo(
            f"  given poses met exactly; the model alone was up to {100 * done['model_miss_joints_m']:.1f} cm "
            f"(joints) and {100 * done['model_miss_root_m']:.1f} cm (root) from them, blended in around them"
        )
    if "path_error_max_m" in done and not quiet:
        typer.echo(f"  root on the path to within {100 * done['path_error_max_m']:.1f} cm")
    for extra_path in extra:
        save_motion(motion, extra_path, force=force, **bvh)
        typer.echo(f"wrote {extra_path}")


def register(app: typer.Typer) -> None:
    app.command()(complete)
