"""Utility commands: info, render, convert."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import (
    FORCE,
    GENDER,
    HAND_CONTACTS,
    NPZ_LAYOUT,
    OUTPUT_FPS,
    QUIET,
    RIG,
    SMPL_MODEL,
    UNITS,
    bvh_options,
    npz_options,
    show_progress,
    smpl_options,
)


def info() -> None:
    """Version, built-in corpus, shipped checkpoints and compute devices."""
    import torch

    import motiongen
    from motiongen.paths import CHECKPOINT_DIR, CORPUS_DIR

    typer.echo(f"motiongen {motiongen.__version__}  (torch {torch.__version__})")
    clips = sorted(CORPUS_DIR.glob("*.npz")) if CORPUS_DIR.exists() else []
    typer.echo(f"corpus: {CORPUS_DIR}  ({len(clips)} clips)")
    ckpts = sorted(p.name for p in CHECKPOINT_DIR.iterdir() if p.is_dir()) if CHECKPOINT_DIR.exists() else []
    typer.echo(f"checkpoints: {CHECKPOINT_DIR}  ({', '.join(ckpts) or 'none'})")
    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    typer.echo(f"devices: {', '.join(devices)}  (threads: {torch.get_num_threads()})")
    from motiongen.conditioning.familiarity import KnownActions

    known = KnownActions.from_folder(CHECKPOINT_DIR / "t2m")
    if known is not None:
        typer.echo(f"actions the default text model knows ({len(known.actions)}), with a caption of each:")
        for action, captions in known.actions.items():
            example = min(captions, key=len)
            typer.echo(f"  {action.replace('_', ' '):<22} {len(captions):>4} captions, e.g. '{example}'")


def render(
    inputs: list[Path] = typer.Argument(
        ..., help="Motion file(s); several files (or a duet .npz) render as several people."
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Output .mp4 or .gif video, a .png film strip, an animated 3D .glb, or a .html viewer.",
    ),
    trace: bool = typer.Option(False, help="Draw the root trajectory."),
    hand_contacts: bool = HAND_CONTACTS,
    smpl_model: Path = SMPL_MODEL,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Render motion files as a skeleton video or a film strip."""
    from motiongen.io import check_output, load_people, save_motion

    check_output(output, force)
    body = smpl_options(smpl_model, [output])
    motions = [m for p in inputs for m in load_people(p)]  # a duet .npz holds two people
    save_motion(
        motions, output, force=force, trace=trace, progress=show_progress(quiet), hand_contacts=hand_contacts, **body
    )
    typer.echo(f"wrote {output}")


def convert(
    input: Path = typer.Argument(..., help="Motion file (.bvh, .npz, .npy, DeepMimic .txt)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file; the format follows the extension."),
    rig: str = RIG,
    units: str = UNITS,
    fps: float = OUTPUT_FPS,
    npz_layout: str = NPZ_LAYOUT,
    gender: str = GENDER,
    smpl_model: Path = SMPL_MODEL,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Convert a motion file to another format (by extension)."""
    from motiongen.io import check_output, load_motion, save_motion

    bvh = bvh_options(rig, units, fps, [output])
    npz = npz_options(npz_layout, [output], gender)
    check_output(output, force)
    body = smpl_options(smpl_model, [output])
    video = {"progress": show_progress(quiet)} if output.suffix.lower() in (".mp4", ".gif") else {}
    save_motion(load_motion(input), output, force=force, **bvh, **npz, **body, **video)
    typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command()(info)
    app.command()(render)
    app.command()(convert)
