"""Options shared by several commands."""

import typer

FORCE = typer.Option(False, "--force", "-f", help="Overwrite existing output files.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
