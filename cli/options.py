"""Options shared by several commands, and the checks they share."""

import sys
from pathlib import Path

import typer

FORCE = typer.Option(False, "--force", "-f", help="Overwrite existing output files.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
HAND_CONTACTS = typer.Option(False, "--hand-contacts", help="In the video, ring the hands two people hold together.")
THREADS = typer.Option(
    0,
    "--threads",
    help="Torch CPU threads (0: torch's default). On a busy machine 1 thread can be several times faster.",
)
# BVH output: another skeleton's joint names and rest pose, units, frame rate (motiongen/io/rigs.py).
RIG = typer.Option(
    None,
    "--rig",
    help="BVH output on another skeleton: motiongen (default), smpl, mixamo, unreal or cmu joint names and rest pose.",
)
UNITS = typer.Option(None, "--units", help="BVH output units: m or cm (default: the rig's; cm for mixamo and unreal).")
OUTPUT_FPS = typer.Option(
    None, "--fps", "--output-fps", help="BVH output frame rate: resample to this many frames per second (1-1000)."
)
# npz output layout (motiongen/io/npz.py) and SMPL bodies from the user's own model files (motiongen/body/).
NPZ_LAYOUT = typer.Option(
    None,
    "--npz-layout",
    help="npz output layout: smplh (AMASS's SMPL+H, 156-wide poses; the default), smpl (72-wide) or "
    "motiongen (quats, root, fps).",
)
GENDER = typer.Option(None, "--gender", help="Body gender written into .npz output: neutral (default), male or female.")
SMPL_MODEL = typer.Option(
    None,
    "--smpl-model",
    help="Folder with your own SMPL or SMPL+H model file (e.g. SMPL_NEUTRAL.pkl): .glb and .mp4/.gif output "
    "show that body instead of the mannequin or skeleton.",
)
# lift's --fps is the input's frame rate, so there the output's is only --output-fps
LIFT_OUTPUT_FPS = typer.Option(
    None, "--output-fps", help="BVH output frame rate: resample to this many frames per second (1-1000)."
)
# What a training or distillation run writes into its folder; --force removes these, nothing else.
RUN_FILES = ("checkpoint", "pipeline", "log.jsonl", "config.json", "distill.json")


def show_progress(quiet: bool) -> bool:
    """Progress bars only on a terminal: written to a file or a pipe, their carriage-return
    redraws fill the log. --quiet turns them off on a terminal too."""
    return not quiet and sys.stderr is not None and sys.stderr.isatty()


def set_threads(threads: int) -> None:
    """Apply --threads; torch is imported only when a command asks for a count."""
    from motiongen import validate

    threads = validate.integer(threads, "--threads", 0, validate.MAX_THREADS)
    if threads:
        import torch

        torch.set_num_threads(threads)


def check_run_folder(output: Path, resume: bool, force: bool) -> None:
    """A run folder (train, distill) is written into only when it is new, or with --resume (go
    on) or --force (start over: the run's own files are removed first; other files stay)."""
    import shutil

    from motiongen.errors import UserError
    from motiongen.io.atomic import check_folder

    output = Path(output)
    if output.exists() and not output.is_dir():
        raise UserError(f"--output {output} is a file; a run needs a folder")
    check_folder(output.parent if not output.exists() else output)
    held = [name for name in RUN_FILES if (output / name).exists()]
    if resume:
        if force:
            raise UserError("give --resume (go on with the run) or --force (start it over), not both")
        return
    if held and not force:
        raise UserError(
            f"{output} already holds a run ({', '.join(held)}); pass --resume to continue it, "
            "--force to start over, or choose another --output"
        )
    for name in held:  # --force: start over
        target = output / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def bvh_options(rig: str | None, units: str | None, fps: float | None, outputs, fps_name: str = "--fps") -> dict:
    """Check --rig, --units and --fps (before any heavy work) and return them as BVH writer options
    (only those given). They shape every .bvh file a command writes; a command writing none refuses
    them rather than ignore them."""
    from motiongen.errors import UserError
    from motiongen.io import rigs

    given = {"rig": rig, "units": units, "fps": fps}
    options = {key: value for key, value in given.items() if value is not None}
    if not options:
        return {}
    if rig is not None:
        rigs.get(rig, "--rig")
    if units is not None:
        rigs.scale(units, "--units")
    if fps is not None:
        options["fps"] = rigs.frame_rate(fps, fps_name)
    if not any(Path(p).suffix.lower() == ".bvh" for p in outputs):
        names = ", ".join({"rig": "--rig", "units": "--units", "fps": fps_name}[key] for key in options)
        first = Path(list(outputs)[0]).name
        verb, them = ("applies", "it") if len(options) == 1 else ("apply", "them")
        raise UserError(
            f"{names} only {verb} to BVH output, and this command writes no .bvh file ({first}); "
            f"give -o NAME.bvh or leave {them} out"
        )
    return options


def npz_options(layout: str | None, outputs, gender: str | None = None) -> dict:
    """Check --npz-layout and --gender (before any heavy work) and return them as npz writer options."""
    if layout is None and gender is None:
        return {}
    from motiongen.io.npz import check_gender, check_layout

    options = {}
    if layout is not None:
        _refuse_unless(outputs, (".npz",), "--npz-layout", "NAME.npz")
        options["layout"] = check_layout(layout, "--npz-layout")
    if gender is not None:
        _refuse_unless(outputs, (".npz",), "--gender", "NAME.npz")
        options["gender"] = check_gender(gender, "--gender")
    return options


def smpl_options(folder: Path | None, outputs) -> dict:
    """Check --smpl-model by loading the body (before any heavy work; the writers reuse it) and
    return it as writer options for .glb and video output."""
    if folder is None:
        return {}
    _refuse_unless(outputs, SMPL_SUFFIXES, "--smpl-model", "NAME.glb or NAME.mp4")
    from motiongen.body import smpl

    smpl.load(folder)
    return {"smpl_model": folder}


SMPL_SUFFIXES = (".glb", ".mp4", ".gif")


def for_output(path: Path, bvh: dict, npz: dict, smpl: dict) -> dict:
    """The writer options that apply to `path`'s format."""
    suffix = Path(path).suffix.lower()
    return {".bvh": bvh, ".npz": npz}.get(suffix, smpl if suffix in SMPL_SUFFIXES else {})


def _refuse_unless(outputs, suffixes: tuple[str, ...], option: str, example: str) -> None:
    from motiongen.errors import UserError

    outputs = list(outputs)
    if not any(Path(p).suffix.lower() in suffixes for p in outputs):
        raise UserError(
            f"{option} only applies to {' / '.join(suffixes)} output, and this command writes none "
            f"({Path(outputs[0]).name}); give -o {example} or leave it out"
        )
