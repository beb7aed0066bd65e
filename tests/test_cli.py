"""The `motiongen` command as a user runs it (a subprocess): fast help, clear errors, end-to-end render."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from motion_samples import synthetic_walk

from motiongen import __version__
from motiongen.io import save_motion

SCRIPT = Path(sys.executable).parent / "motiongen"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "motiongen.cli.app"]


def run_cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2, exactly one line on stderr starting with 'error:', no traceback; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def save_corpus_npz(path: Path, motion) -> Path:
    """The built-in corpus layout: quats, root, fps."""
    np.savez(path, quats=motion.quats, root=motion.root, fps=np.float32(motion.fps))
    return path


@pytest.fixture
def walk_npz(tmp_path) -> Path:
    return save_corpus_npz(tmp_path / "walk.npz", synthetic_walk(frames=10))


def test_help_is_fast_and_lists_the_commands():
    timings = []
    for _ in range(2):  # the first run may compile bytecode
        start = time.perf_counter()
        result = run_cli("--help")
        timings.append(time.perf_counter() - start)
    assert result.returncode == 0
    for command in ("info", "render", "convert"):
        assert command in result.stdout
    assert min(timings) < 2.0, f"motiongen --help took {min(timings):.2f} s (target: under 1 s)"


def test_version_prints_one_line():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout == f"motiongen {__version__}\n"


def test_cli_module_does_not_import_torch():
    code = "import motiongen.cli.app, sys; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_info_reports_version_and_corpus():
    result = run_cli("info")
    assert result.returncode == 0, result.stderr
    assert f"motiongen {__version__}" in result.stdout
    assert "corpus:" in result.stdout and "devices: cpu" in result.stdout


def test_render_npz_to_mp4_end_to_end(tmp_path, walk_npz):
    # Two people of different lengths: the video lasts as long as the longer one.
    partner = save_corpus_npz(tmp_path / "partner.npz", synthetic_walk(frames=14, start=(1.5, 0.0)))
    out = tmp_path / "out.mp4"
    result = run_cli("render", walk_npz, partner, "-o", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert out.exists()
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert meta["size"] == (640, 480)
    assert sum(1 for _ in reader) == 14
    assert not list(tmp_path.glob(".out.*")), "temporary file left behind"


def test_missing_input_file(tmp_path):
    assert_user_error(run_cli("render", tmp_path / "nope.npz", "-o", tmp_path / "out.mp4"), "nope.npz", "not found")


def test_unknown_output_extension(tmp_path, walk_npz):
    line = assert_user_error(run_cli("render", walk_npz, "-o", tmp_path / "out.xyz"), ".xyz")
    assert ".mp4" in line  # says which extensions would work
    assert not (tmp_path / "out.xyz").exists()


def test_existing_output_needs_force(tmp_path, walk_npz):
    out = tmp_path / "out.gif"
    out.write_bytes(b"keep me")
    assert_user_error(run_cli("render", walk_npz, "-o", out, "--quiet"), "already exists", "--force")
    assert out.read_bytes() == b"keep me"

    result = run_cli("render", walk_npz, "-o", out, "--quiet", "--force")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:6] in (b"GIF87a", b"GIF89a")


def test_truncated_bvh(tmp_path):
    full = save_motion(synthetic_walk(frames=10), tmp_path / "full.bvh")
    text = full.read_text()
    motion_start = text.index("Frame Time")
    cut = tmp_path / "cut.bvh"
    cut.write_text(text[: motion_start + (len(text) - motion_start) // 2])  # stops mid-frame
    assert_user_error(run_cli("convert", cut, "-o", tmp_path / "cut.npz"), "cut.bvh", "truncated")
    assert not (tmp_path / "cut.npz").exists()


def test_corrupt_npz(tmp_path):
    good = save_corpus_npz(tmp_path / "good.npz", synthetic_walk(frames=10)).read_bytes()
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(good[: len(good) // 2])
    assert_user_error(run_cli("render", corrupt, "-o", tmp_path / "out.mp4"), "corrupt.npz")
    assert not (tmp_path / "out.mp4").exists()
