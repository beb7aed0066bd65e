"""Running the real `motiongen` command inside a test, and the one-line-error check."""

from __future__ import annotations

import sys


def run(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `motiongen ARGS...` through the installed entry point."""
    from motiongen.cli.app import main

    monkeypatch.setattr(sys, "argv", ["motiongen", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def run_fd(capfd, *args) -> tuple[int, str]:
    """(exit code, everything written to stderr, native libraries' output included) of
    `motiongen ARGS...` run in this process."""
    from motiongen.cli.app import main

    capfd.readouterr()
    argv, sys.argv = sys.argv, ["motiongen", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        sys.argv = argv
    return code, capfd.readouterr().err


def assert_one_line_error(result, *words):
    code, out, err = result
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err + out, err
    for word in words:
        assert word in lines[0], (word, lines[0])
