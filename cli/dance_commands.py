"""`motiongen dance SONG -o dance.mp4`: a dancer for a song (solo, or a couple with `--couple`)."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import FORCE, QUIET, THREADS, set_threads, show_progress

PICTURE_SUFFIXES = {".mp4", ".gif", ".png"}  # for looking at; a .bvh is written beside them


def dance(
    song: Path = typer.Argument(..., help="The music: a wav, ogg, flac or mp3 file."),
    output: Path = typer.Option(
        Path("dance.mp4"),
        "--output",
        "-o",
        help="Output file: .mp4 (with the song's audio; a .bvh beside it), .bvh, .npz, ...",
    ),
    text: str = typer.Option(None, "--text", help='The style, e.g. "a person dances salsa" (default: none).'),
    start: float = typer.Option(0.0, "--start", help="Dance from this second of the song."),
    seconds: float = typer.Option(None, "--seconds", help="Dance this many seconds (default: the rest of the song)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same dance."),
    steps: int = typer.Option(20, "--steps", help="Sampling steps per window (DDIM)."),
    guidance: float = typer.Option(2.0, "--guidance", help="Classifier-free guidance scale (music and text)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="Dance pipeline folder (default: checkpoints/dance)."),
    on_beat: bool = typer.Option(
        True,
        "--on-beat/--own-timing",
        help="Retime the dance so that its pauses and accents land on the song's beats (default), "
        "or keep the model's own timing.",
    ),
    couple: bool = typer.Option(
        False,
        "--couple",
        help="A salsa-style couple: a partner (checkpoints/partner) answers "
        "the dancer (up to 60 s; .mp4 or .npz output).",
    ),
    threads: int = THREADS,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Dance to a song: whole songs are made window by window, each continuing the one before."""
    from motiongen import validate
    from motiongen.errors import UserError
    from motiongen.io import WRITERS
    from motiongen.io.atomic import atomic_path, check_writable

    set_threads(threads)
    validate.seed(seed)
    validate.integer(steps, "--steps", 1, 1000)
    if seconds is not None and not seconds >= 1.0:
        raise UserError(f"--seconds must be at least 1, got {seconds:g}")
    if output.suffix.lower() not in WRITERS:
        raise UserError(f"cannot write '{output.name}': unknown extension '{output.suffix}' "
                        f"(known: {', '.join(sorted(WRITERS))})")  # fmt: skip
    if couple and output.suffix.lower() not in (".mp4", ".gif", ".npz", ".glb", ".html"):
        raise UserError(
            f"--couple writes two people: use a .mp4, .gif, .glb, .html or .npz output, not {output.suffix}"
        )
    if couple and (seconds is None or seconds > 60):
        raise UserError(
            "--couple dances at most 60 s of a song: pass --seconds 60 (or less), with --start to pick the part"
        )
    picture = output.suffix.lower() in PICTURE_SUFFIXES
    beside = output.with_suffix(".npz" if couple else ".bvh") if picture else None
    for path in [output] + ([beside] if beside else []):
        check_writable(path, force)

    from motiongen.conditioning.music import music_features
    from motiongen.io import save_motion
    from motiongen.pipelines.dance import MusicToDancePipeline, default_checkpoint

    music = music_features(song, start, seconds)  # bad audio: one line, before the model loads
    pipe = MusicToDancePipeline.from_pretrained(checkpoint or default_checkpoint())
    motion = pipe(music, text=text, num_inference_steps=steps, guidance_scale=guidance, seed=seed,
                  progress=show_progress(quiet), on_beat=on_beat)  # fmt: skip
    motion.meta["music"] = song.name
    people = motion
    if couple:
        from motiongen.pipelines.react import ReactivePartnerPipeline, clean_up
        from motiongen.pipelines.react import default_checkpoint as partner_checkpoint

        partner_pipe = ReactivePartnerPipeline.from_pretrained(partner_checkpoint())
        partner = partner_pipe(motion, text=text or "a person dances salsa", num_inference_steps=steps, seed=seed + 1,
                               progress=show_progress(quiet))  # fmt: skip
        motion.meta["role"] = "leader"
        people = [motion, clean_up(partner, motion)]
    if output.suffix.lower() == ".mp4":
        import tempfile

        from motiongen.render.with_audio import mux_audio

        with tempfile.TemporaryDirectory(prefix="motiongen-dance-") as work, atomic_path(output, force) as final:
            silent = save_motion(people, Path(work) / "silent.mp4", progress=show_progress(quiet))
            mux_audio(silent, song, final, start, music.seconds)
    else:
        options = {"progress": show_progress(quiet)} if picture else {}
        save_motion(people, output, force=force, **options)
    typer.echo(f"wrote {output}  ({music.seconds:.1f} s of {song.name}, tempo {music.tempo:.0f} bpm, seed {seed})")
    if beside:
        save_motion(people, beside, force=force)
        typer.echo(f"wrote {beside}")


def register(app: typer.Typer) -> None:
    app.command()(dance)
