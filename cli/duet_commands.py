"""Two-person commands: react (a partner for a given leader), duet (both people from text).
The work is in motiongen.pipelines.react; here only options, checks and files."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import (
    FORCE,
    HAND_CONTACTS,
    OUTPUT_FPS,
    QUIET,
    RIG,
    THREADS,
    UNITS,
    bvh_options,
    set_threads,
    show_progress,
)

VIDEO_SUFFIXES = (".mp4", ".gif")
SCENE_SUFFIXES = (".glb", ".html")  # 3D scenes: both people in one file
OUTPUT_SUFFIXES = VIDEO_SUFFIXES + SCENE_SUFFIXES + (".npz", ".bvh")

SAMPLER = typer.Option(
    "ddim", "--sampler", help="ddim, dpm (DPM-Solver++, good at 10-20 steps) or flow (a distilled student)."
)
STEPS = typer.Option(50, "--steps", help="Sampling steps.")
SEED = typer.Option(0, "--seed", help="Random seed: the same seed gives the same partner.")
GUIDANCE = typer.Option(2.0, "--guidance", "-g", help="Classifier-free guidance scale (1 = none).")
PARTNER_CHECKPOINT = typer.Option(
    None,
    "--checkpoint",
    help="Partner model folder (default: checkpoints/partner; with --sampler flow checkpoints/partner-flow).",
)


def duet_outputs(output: Path, partner_only: bool = False, leader_bvh: bool = False) -> dict[str, Path]:
    """The files one run writes, from -o: the video (.mp4/.gif) or 3D scene (.glb, .html viewer), the partner's BVH
    (NAME_partner.bvh, or -o itself when it is a .bvh), the two-person NAME.npz (just the
    partner with --partner-only) and, when the leader was made here, NAME_leader.bvh."""
    from motiongen.errors import UserError

    suffix = output.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise UserError(f"cannot write '{output.name}': give a {', '.join(OUTPUT_SUFFIXES)} file")
    stem = output.with_suffix("")
    files = {}
    if suffix in VIDEO_SUFFIXES:
        files["video"] = output
    if suffix in SCENE_SUFFIXES:
        files["scene"] = output
    files["partner"] = output if suffix == ".bvh" else stem.with_name(stem.name + "_partner.bvh")
    files["npz"] = output if suffix == ".npz" else output.with_suffix(".npz")
    if leader_bvh and not partner_only:
        files["leader"] = stem.with_name(stem.name + "_leader.bvh")
    return files


def _check_options(steps: int, seed: int, guidance: float, sampler: str) -> None:
    from motiongen import validate
    from motiongen.errors import UserError

    validate.integer(steps, "--steps", 1, 1000)
    validate.seed(seed, count=2)
    validate.number(guidance, "--guidance", 0.0, validate.MAX_GUIDANCE)
    if sampler not in ("ddim", "dpm", "flow"):
        raise UserError(f"--sampler must be ddim, dpm or flow, got '{sampler}'")


def _leader_kind(leader: Path) -> str:
    """'motion' for a motion file, 'video' for anything the lifter reads; a UserError otherwise."""
    from motiongen.errors import UserError
    from motiongen.io import READERS

    if not leader.exists():
        raise UserError(f"leader not found: {leader}")
    if leader.is_file() and leader.suffix.lower() in READERS:
        return "motion"
    from motiongen.lifting.sources import input_kind

    try:
        input_kind(leader)  # a video, images or a 2D keypoint file: all are lifted
    except UserError:
        raise UserError(
            f"cannot use '{leader.name}' as the leader: give a motion file ({', '.join(sorted(READERS))}) "
            "or a video of one person"
        ) from None
    return "video"


def _write(
    files: dict[str, Path],
    leader,
    partner,
    partner_only: bool,
    force: bool,
    quiet: bool,
    hand_contacts: bool,
    bvh: dict,
) -> None:
    from motiongen.io import save_motion

    people = [partner] if partner_only else [leader, partner]
    for key, path in files.items():
        if key == "video":
            save_motion(people, path, force=force, progress=show_progress(quiet), hand_contacts=hand_contacts)
        elif key in ("npz", "scene"):
            save_motion(people, path, force=force)
        else:
            save_motion(partner if key == "partner" else leader, path, force=force, **bvh)
        typer.echo(f"wrote {path}")


def react(
    leader: Path = typer.Argument(
        ..., help="The leader: a motion file (.bvh .npz .npy .txt) or a video of one person (lifted first)."
    ),
    output: Path = typer.Option(
        Path("out/duet.mp4"),
        "--output",
        "-o",
        help="Duet video (.mp4 .gif), 3D scene (.glb, .html viewer), or .npz / .bvh; the partner's NAME_partner.bvh and a "
        "two-person NAME.npz are written beside a video or scene.",
    ),
    text: str = typer.Option(None, "--text", "-t", help='What the partner does, e.g. "spins under the arm".'),
    partner_only: bool = typer.Option(
        False, "--partner-only", help="Only the generated partner in the video and .npz."
    ),
    seconds: float = typer.Option(
        None, "--seconds", "-s", help="Answer the leader's first SECONDS (default: all, up to 60 s)."
    ),
    streaming: bool = typer.Option(
        False, "--streaming", help="Make the partner as the leader arrives: each frame sees the leader 0.25 s ahead."
    ),
    seed: int = SEED,
    steps: int = STEPS,
    sampler: str = SAMPLER,
    guidance: float = GUIDANCE,
    checkpoint: Path = PARTNER_CHECKPOINT,
    rig: str = RIG,
    units: str = UNITS,
    fps: float = OUTPUT_FPS,
    threads: int = THREADS,
    hand_contacts: bool = HAND_CONTACTS,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """A partner dancing with the leader in a motion file or video."""
    from motiongen import validate
    from motiongen.io.atomic import check_writable

    _check_options(steps, seed, guidance, sampler)
    set_threads(threads)
    if seconds is not None:
        from motiongen.pipelines.base import frames_for

        validate.number(seconds, "--seconds", 0.0, above=True)
        frames_for(seconds, 20.0)
    kind = _leader_kind(leader)
    files = duet_outputs(output, partner_only, leader_bvh=kind == "video")
    for path in files.values():
        check_writable(path, force)  # before anything slow
    bvh = bvh_options(rig, units, fps, files.values())
    from motiongen.pipelines.react import ReactivePartnerPipeline, check_checkpoint, clean_up, default_checkpoint

    checkpoint = checkpoint or default_checkpoint(student=sampler == "flow")
    check_checkpoint(Path(checkpoint))

    if kind == "video":
        from motiongen.pipelines.lift import DEFAULT_CHECKPOINT, LiftPipeline

        leader_motion = LiftPipeline.from_pretrained(DEFAULT_CHECKPOINT)(leader, progress=show_progress(quiet)).motion
        if not quiet:
            typer.echo(f"lifted the leader from {leader.name} ({leader_motion.duration:.1f} s)")
    else:
        from motiongen.io import load_motion

        leader_motion = load_motion(leader)
    leader_motion.meta.setdefault("name", leader.stem)
    pipe = ReactivePartnerPipeline.from_pretrained(checkpoint)
    partner = pipe(
        leader_motion, text=text, seconds=seconds, num_inference_steps=steps, guidance_scale=guidance, seed=seed,
        sampler=sampler, streaming=streaming, progress=show_progress(quiet),
    )  # fmt: skip
    leader_motion = leader_motion.resampled(pipe.fps).slice(0, len(partner))
    partner = clean_up(partner, leader_motion)
    _write(files, leader_motion, partner, partner_only, force, quiet, hand_contacts, bvh)


def duet(
    prompt: str = typer.Argument(..., help='What the couple does, e.g. "two people dance salsa".'),
    output: Path = typer.Option(
        Path("out/duet.mp4"),
        "--output",
        "-o",
        help="Duet video (.mp4 .gif), 3D scene (.glb, .html viewer), or .npz; NAME_leader.bvh, NAME_partner.bvh and a "
        "two-person NAME.npz are written beside a video or scene.",
    ),
    seconds: float = typer.Option(6.0, "--seconds", "-s", help="Length of the clip (up to 60 s)."),
    partner_text: str = typer.Option(None, "--partner-text", help="Words for the partner (default: the prompt)."),
    seed: int = SEED,
    steps: int = STEPS,
    sampler: str = SAMPLER,
    checkpoint: Path = PARTNER_CHECKPOINT,
    text_checkpoint: Path = typer.Option(
        None, "--text-checkpoint", help="Text-to-motion model for the leader (default: checkpoints/t2m)."
    ),
    rig: str = RIG,
    units: str = UNITS,
    fps: float = OUTPUT_FPS,
    threads: int = THREADS,
    hand_contacts: bool = HAND_CONTACTS,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Two people from text: the leader from the text model, the partner answering it."""
    from motiongen.errors import UserError
    from motiongen.io.atomic import check_writable
    from motiongen.pipelines.base import frames_for

    if not prompt.strip():
        raise UserError('the prompt is empty; describe the couple, e.g. motiongen duet "two people dance salsa"')
    if partner_text is not None and not partner_text.strip():
        raise UserError("--partner-text is empty; leave it out to give the partner the prompt")
    _check_options(steps, seed, 1.0, sampler)
    set_threads(threads)
    frames_for(seconds, 20.0)
    files = duet_outputs(output, leader_bvh=True)
    for path in files.values():
        check_writable(path, force)
    bvh = bvh_options(rig, units, fps, files.values())
    from motiongen.pipelines import text2motion
    from motiongen.pipelines.react import ReactivePartnerPipeline, check_checkpoint, default_checkpoint
    from motiongen.pipelines.react import duet as make_duet
    from motiongen.sampling.flow import default_student_checkpoint

    checkpoint = Path(checkpoint or default_checkpoint(student=sampler == "flow"))
    text_checkpoint = Path(
        text_checkpoint or (default_student_checkpoint() if sampler == "flow" else text2motion.default_checkpoint())
    )
    check_checkpoint(checkpoint)
    text2motion.check_checkpoint(text_checkpoint)

    text_pipe = text2motion.TextToMotionPipeline.from_pretrained(text_checkpoint)
    partner_pipe = ReactivePartnerPipeline.from_pretrained(checkpoint)
    leader, partner = make_duet(
        prompt.strip(), text_pipe, partner_pipe, seconds=seconds, seed=seed, num_inference_steps=steps,
        sampler=sampler, partner_text=partner_text, progress=show_progress(quiet),
    )  # fmt: skip
    _write(files, leader, partner, False, force, quiet, hand_contacts, bvh)


def register(app: typer.Typer) -> None:
    app.command()(react)
    app.command()(duet)
