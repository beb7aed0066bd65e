"""Options shared by several commands."""

import typer

FORCE = typer.Option(False, "--force", "-f", help="Overwrite existing output files.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
THREADS = typer.Option(
    0,
    "--threads",
    help="Torch CPU threads (0: torch's default). On a busy machine 1 thread can be several times faster.",
)


def set_threads(threads: int) -> None:
    """Apply --threads; torch is imported only when a command asks for a count."""
    from motiongen.errors import UserError

    if threads < 0:
        raise UserError(f"--threads must be >= 0, got {threads}")
    if threads:
        import torch

        torch.set_num_threads(threads)
