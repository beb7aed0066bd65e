"""The `motiongen` command-line tool (installed as the `motiongen.cli` package)."""
