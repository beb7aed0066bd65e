"""The typer app. Commands live in one module per area and import heavy libraries lazily,
so `motiongen --help` stays fast. Library errors of type UserError become one line + exit 2."""

from __future__ import annotations

import sys

import typer

from motiongen.cli import (
    complete_commands,
    dance_commands,
    data_commands,
    distill_commands,
    duet_commands,
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
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from motiongen import __version__

        typer.echo(f"motiongen {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Human motion generation: text, music and partial motion to 3D motion; video lifting; duets."""


motion_commands.register(app)
generate_commands.register(app)
complete_commands.register(app)
lift_commands.register(app)
distill_commands.register(app)
duet_commands.register(app)
dance_commands.register(app)
app.add_typer(data_commands.app, name="data")
app.add_typer(eval_commands.app, name="eval")


def main() -> None:
    """The `motiongen` command: bad input (UserError, or a usage error) is one line and exit 2;
    Ctrl-C and SIGTERM print "interrupted", remove our temp files and exit 128 + the signal."""
    import signal

    from motiongen.errors import UserError

    try:  # typer >= 0.25 carries its own copy of click
        from typer._click.exceptions import NoArgsIsHelpError, UsageError
    except ImportError:
        from click.exceptions import NoArgsIsHelpError, UsageError

    received = []

    def on_signal(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt  # unwinds through every `finally`, so temp files are removed

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = app(standalone_mode=False)
    except UserError as exc:
        _fail(f"error: {exc}")
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help())
        sys.exit(exc.exit_code)
    except UsageError as exc:
        hint = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
        _fail(f"error: {exc.format_message().rstrip('.')}{hint}")
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code == 130 or received:  # typer turns KeyboardInterrupt into exit code 130
        typer.echo("interrupted", err=True)
        sys.exit(128 + (received[-1] if received else signal.SIGINT))
    sys.exit(code if isinstance(code, int) else 0)


def _fail(line: str) -> None:
    typer.echo(" ".join(line.split()), err=True)  # one line, whatever the message holds
    sys.exit(2)


if __name__ == "__main__":
    main()
