"""`motiongen lift`: 2D video / images / keypoints -> 3D motion (logic in motiongen.pipelines.lift)."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import FORCE, LIFT_OUTPUT_FPS, QUIET, RIG, UNITS, bvh_options, show_progress


def _parse_size(text: str | None) -> tuple[int, int] | None:
    from motiongen.errors import UserError

    if text is None:
        return None
    from motiongen import validate

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--image-size must look like 1920x1080, got '{text}'") from None
    return validate.image_size(width, height, "--image-size")


def lift(
    input: Path = typer.Argument(
        ..., help="Video file, folder of images (or one image), or 2D keypoints (.json COCO, .npz)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Output .bvh, .npz, .npy, .glb, .html or .mp4 (format by extension)."
    ),
    overlay: Path = typer.Option(None, "--overlay", help="Also write a video: 2D detections beside the 3D result."),
    fps: float = typer.Option(None, "--fps", help="Frame rate of the input (image folders default to 20)."),
    focal: float = typer.Option(
        None, "--focal", help="Camera focal length in pixels (default: the image's larger side)."
    ),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT of the images behind a keypoint file."),
    person: int = typer.Option(
        None,
        "--person",
        help="Where several people are seen: lift the Nth from the left (default: the largest, most central).",
    ),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="Lifter checkpoint folder (default: the shipped one)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Detect again even if cached detections exist."),
    rig: str = RIG,
    units: str = UNITS,
    output_fps: float = LIFT_OUTPUT_FPS,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Lift a video of one person to 3D motion."""
    from motiongen import validate
    from motiongen.errors import UserError
    from motiongen.io import WRITERS, save_motion
    from motiongen.io.atomic import check_writable
    from motiongen.lifting.sources import input_kind

    if output.suffix.lower() not in WRITERS:
        raise UserError(f"cannot write '{output.name}': use one of {', '.join(sorted(WRITERS))}")
    check_writable(output, force)  # fail before the slow part
    bvh = bvh_options(rig, units, output_fps, [output], fps_name="--output-fps")
    if overlay is not None:
        if overlay.suffix.lower() not in (".mp4", ".gif"):
            raise UserError(f"--overlay must be an .mp4 or .gif file, got '{overlay.name}'")
        check_writable(overlay, force)
    if fps is not None:
        validate.fps(fps, "--fps")
    if focal is not None:
        validate.number(focal, "--focal", 0.0, validate.MAX_ABS_VALUE, above=True)
    size = _parse_size(image_size)
    if person is not None and person < 1:
        raise UserError(f"--person counts people from the left starting at 1, got {person}")
    if input_kind(input) == "keypoints":
        from motiongen.lifting.sources import read_keypoint_file

        read_keypoint_file(input, fps, size)  # a bad keypoint file fails before the model loads

    from motiongen.pipelines.lift import DEFAULT_CHECKPOINT, LiftPipeline

    pipe = LiftPipeline.from_pretrained(checkpoint or DEFAULT_CHECKPOINT)
    result = pipe(
        input,
        fps=fps,
        focal=focal,
        image_size=size,
        progress=show_progress(quiet),
        use_cache=not no_cache,
        person=person,
    )
    for line in result.warnings:
        typer.echo(f"warning: {line}", err=True)
    if not quiet:
        for line in result.notes:
            typer.echo(f"note: {line}", err=True)
    options = {"progress": show_progress(quiet)} if output.suffix.lower() in (".mp4", ".gif") else bvh
    save_motion(result.motion, output, force=force, **options)
    if not quiet:
        seen = int(result.detected.sum())
        typer.echo(
            f"person found in {seen}/{len(result.detected)} frames; "
            f"camera ~{result.camera['camera_height']:.2f} m high, pitched {result.camera['camera_pitch_deg']:.0f} deg"
        )
    typer.echo(f"wrote {output}")
    if overlay is not None:
        from motiongen.lifting.overlay import write_overlay

        write_overlay(result, overlay, force=force, progress=show_progress(quiet))
        typer.echo(f"wrote {overlay}")


def register(app: typer.Typer) -> None:
    app.command()(lift)
