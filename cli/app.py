"""The typer app. Commands live in one module per area and import heavy libraries lazily,
so `motiongen --help` stays fast. Library errors of type UserError become one line + exit 2."""

from __future__ import annotations

import sys

import typer

from motiongen.cli import (
    data_commands,
    distill_commands,
    eval_commands,
    generate_commands,
    lift_commands,
    motion_commands,
)

app = typer.Typer(
    name="motiongen",
    help="Human motion generation: text, music and partial motion to 3D motion; video lifting; duets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
motion_commands.register(app)
generate_commands.register(app)
lift_commands.register(app)
distill_commands.register(app)
app.add_typer(data_commands.app, name="data")
app.add_typer(eval_commands.app, name="eval")


def main() -> None:
    from motiongen.errors import UserError

    try:
        app()
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
