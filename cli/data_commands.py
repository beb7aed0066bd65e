"""`motiongen data ...`: the built-in corpus."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import QUIET

app = typer.Typer(help="Build and inspect the built-in motion corpus.", no_args_is_help=True)


@app.command()
def build(
    output: Path = typer.Option(None, "--output", "-o", help="Corpus folder (default: the shipped data/corpus)."),
    quiet: bool = QUIET,
) -> None:
    """Rebuild the corpus from the DeepMimic clips (pybullet wheel) and CMU BVH files (assimp-testmodels)."""
    from motiongen.data.build import build_corpus
    from motiongen.paths import CORPUS_DIR

    out = build_corpus(output or CORPUS_DIR, progress=not quiet)
    typer.echo(f"corpus written to {out}")
