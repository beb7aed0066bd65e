"""`motiongen data ...`: the corpora."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import FORCE, QUIET, show_progress

app = typer.Typer(help="Build and inspect the motion corpora.", no_args_is_help=True)


@app.command()
def build(
    output: Path = typer.Option(
        None, "--output", "-o", help="Output folder (default: the git-ignored cache, or data/corpus with --builtin)."
    ),  # fmt: skip
    source: Path = typer.Option(
        None,
        "--source",
        help="Motion capture folder (default: ../shared/mocap or "
        "$MOTIONGEN_MOCAP), e.g. your own CMU download in the same layout.",
    ),  # fmt: skip
    builtin: bool = typer.Option(
        False,
        "--builtin",
        help="Rebuild the shipped built-in corpus instead, from "
        "the DeepMimic clips (pybullet) and CMU BVH files (assimp-testmodels).",
    ),  # fmt: skip
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Build corpus v2's real motion capture: the captioned segments of data/mocap_segments.yaml, cut
    from the CMU takes of the mocap folder. CMU's terms forbid redistributing them, so they go to a
    git-ignored cache, never into the repository."""
    if output is not None:
        check_corpus_folder(output, force)
    if builtin:
        from motiongen.data.build import build_corpus
        from motiongen.paths import CORPUS_DIR

        out = build_corpus(output or CORPUS_DIR, progress=show_progress(quiet))
        typer.echo(f"built-in corpus written to {out}")
        return
    from motiongen.data.mocap_corpus import CACHE_DIR, build_mocap_corpus

    out = build_mocap_corpus(output or CACHE_DIR, source, progress=show_progress(quiet))
    typer.echo(f"motion capture segments written to {out}")


@app.command()
def music(
    source: Path = typer.Option(
        ..., "--source", help="Folder the music packages of data/SOURCES.md were unpacked into."
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="Cache folder (default: the git-ignored data/cache/music)."
    ),
    quiet: bool = QUIET,
) -> None:
    """Analyse the real music tracks (Debian game packages, data/SOURCES.md) into the git-ignored music
    cache that `motiongen train --config configs/dance.yaml` and the dance benchmark read."""
    from motiongen.data.music import CACHE_DIR, build_music_cache

    out = build_music_cache(source, output or CACHE_DIR, progress=show_progress(quiet))
    typer.echo(f"music features written to {out}")


def check_corpus_folder(output: Path, force: bool) -> None:
    """A build writes only into a new or empty folder, or one an earlier build made (it has an
    index.json); any other folder holds someone's files, so it needs --force."""
    from motiongen.errors import UserError
    from motiongen.io.atomic import check_folder

    if output.exists() and not output.is_dir():
        raise UserError(f"--output {output} is a file; a corpus needs a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / "index.json").exists() and not force:
        raise UserError(
            f"{output} holds files but no corpus (no index.json); choose a new folder, or pass --force "
            "to write the corpus beside them (files of the same name are replaced)"
        )
    check_folder(output)
