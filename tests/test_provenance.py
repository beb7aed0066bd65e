"""Written files record what made the motion (prompt, seed, ...), readers still load them, and
progress bars stay out of logs that are not a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from cli_helpers import run
from motion_samples import synthetic_walk
from PIL import Image
from t2m_helpers import tiny_run

from motiongen.cli.options import show_progress
from motiongen.io import load_motion, load_people, save_motion
from motiongen.io.bvh import read_bvh

SCRIPT = Path(sys.executable).parent / "motiongen"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "motiongen.cli.app"]
MADE_BY = {"caption": "a person waves {twice}", "seed": 7, "sampler": "ddim", "steps": 3, "guidance": 2.5}


def walk(meta: dict | None = None):
    motion = synthetic_walk(frames=12)
    motion.meta.update(meta or {})
    return motion


def mp4_metadata(path) -> str:
    """The container metadata as the bundled ffmpeg prints it (ffmetadata text)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def test_npz_records_what_made_it_and_reads_back(tmp_path):
    path = save_motion(walk({**MADE_BY, "retrieved": ["not recorded"]}), tmp_path / "walk.npz")
    with np.load(path, allow_pickle=False) as data:  # a plain string array: no pickle needed
        assert json.loads(str(data["motiongen_meta"])) == [MADE_BY]
    back = load_motion(path)
    assert {k: back.meta[k] for k in MADE_BY} == MADE_BY and "retrieved" not in back.meta
    np.testing.assert_allclose(back.positions(), walk().positions(), atol=1e-4)


def test_several_people_get_a_record_each(tmp_path):
    partner = {**MADE_BY, "seed": 8, "role": "partner"}
    path = save_motion([walk(MADE_BY), walk(partner)], tmp_path / "duet.npz")
    first, second = load_people(path)
    assert first.meta["seed"] == 7 and second.meta["seed"] == 8 and second.meta["role"] == "partner"


def test_bvh_records_it_after_the_last_frame_and_still_round_trips(tmp_path):
    motion = walk({**MADE_BY, "caption": "a person waves {twice}\nthen bows ü"})
    path = save_motion(motion, tmp_path / "walk.bvh")
    text = path.read_text(encoding="utf-8")
    assert text.isascii()
    head, _, last = text.rstrip("\n").rpartition("\n")
    assert head.splitlines()[0] == "HIERARCHY" and "motiongen" not in head  # the grammar's part is as before
    numbers, note = last.split(" # motiongen ")
    assert len(numbers.split()) == 6 + 3 * 21  # the last frame's values come first, all of them
    assert json.loads(note)["caption"] == motion.meta["caption"] and json.loads(note)["seed"] == 7
    bvh = read_bvh(path)
    assert bvh.values.shape == (12, 69)
    back = load_motion(path)
    assert back.meta["caption"] == motion.meta["caption"] and back.meta["steps"] == 3
    plain = load_motion(save_motion(walk(), tmp_path / "plain.bvh"))
    np.testing.assert_array_equal(back.quats, plain.quats)
    np.testing.assert_array_equal(back.root, plain.root)


def test_no_record_leaves_the_files_as_before(tmp_path):
    bvh = save_motion(walk({"retrieved": ["x"]}), tmp_path / "walk.bvh").read_text()
    assert "#" not in bvh
    with np.load(save_motion(walk(), tmp_path / "walk.npz")) as data:
        assert "motiongen_meta" not in data.files
    save_motion(walk(), tmp_path / "walk.mp4", progress=False, size=(64, 48))
    metadata = mp4_metadata(tmp_path / "walk.mp4")
    assert "title=" not in metadata and "comment=" not in metadata


def test_pictures_record_it(tmp_path):
    motion = walk(MADE_BY)
    save_motion(motion, tmp_path / "walk.mp4", progress=False, size=(64, 48))
    metadata = mp4_metadata(tmp_path / "walk.mp4")
    assert "title=a person waves {twice}" in metadata and '"seed": 7' in metadata
    save_motion(motion, tmp_path / "walk.gif", progress=False, size=(64, 48))
    with Image.open(tmp_path / "walk.gif") as gif:
        assert json.loads(gif.info["comment"]) == [MADE_BY] and gif.n_frames == 12
    save_motion(motion, tmp_path / "walk.png", frames=2, size=(64, 72))
    with Image.open(tmp_path / "walk.png") as png:
        assert json.loads(png.info["Comment"]) == [MADE_BY]


def test_a_record_from_a_file_is_checked(tmp_path):
    text = save_motion(walk(), tmp_path / "walk.bvh").read_text()
    odd = text.rstrip("\n") + ' # motiongen {"caption": ["a list"], "seed": 3, "evil": "x", "steps": {"a": 1}}\n'
    (tmp_path / "odd.bvh").write_text(odd)
    assert load_motion(tmp_path / "odd.bvh").meta.get("seed") == 3
    assert not {"caption", "evil", "steps"} & load_motion(tmp_path / "odd.bvh").meta.keys()
    (tmp_path / "broken.bvh").write_text(text.rstrip("\n") + " # motiongen {not json\n")
    assert "seed" not in load_motion(tmp_path / "broken.bvh").meta


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One generated clip as .npz, .bvh and .mp4 (the tiny test checkpoint)."""
    folder = tmp_path_factory.mktemp("generated")
    checkpoint = tiny_run() / "pipeline"
    mp = pytest.MonkeyPatch()
    try:
        common = ["--seconds", "1", "--steps", "2", "--seed", "5", "--checkpoint", checkpoint]
        for name in ("wave.npz", "wave.mp4"):  # .mp4 also writes wave.bvh
            code = _generate(mp, ["generate", "a person waves", "-o", folder / name, *common])
            assert code == 0
    finally:
        mp.undo()
    return folder


def _generate(monkeypatch, args) -> int:
    from motiongen.cli.app import main

    monkeypatch.setattr(sys, "argv", ["motiongen", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return exc.code or 0
    return 0


def test_generated_files_carry_prompt_seed_steps_and_checkpoint(generated):
    with np.load(generated / "wave.npz") as data:
        record = json.loads(str(data["motiongen_meta"]))[0]
    assert record["caption"] == "a person waves" and record["seed"] == 5 and record["steps"] == 2
    assert record["sampler"] == "ddim" and "guidance" in record and record["checkpoint"] == "run/pipeline"
    assert '"caption": "a person waves"' in (generated / "wave.bvh").read_text()
    assert len(load_motion(generated / "wave.bvh")) == 20 and load_motion(generated / "wave.npz").meta["seed"] == 5
    metadata = mp4_metadata(generated / "wave.mp4")
    assert "title=a person waves" in metadata and '"seed": 5' in metadata


def test_convert_carries_the_record_and_takes_quiet(monkeypatch, capsys, generated, tmp_path):
    code, out, err = run(monkeypatch, capsys, "convert", generated / "wave.npz", "-o", tmp_path / "w.bvh", "--quiet")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'w.bvh'}", err
    assert load_motion(tmp_path / "w.bvh").meta["caption"] == "a person waves"
    code, _, err = run(monkeypatch, capsys, "convert", tmp_path / "w.bvh", "-o", tmp_path / "w.mp4", "-q")
    assert code == 0, err
    assert '"seed": 5' in mp4_metadata(tmp_path / "w.mp4")


def test_no_progress_bars_when_stderr_is_not_a_terminal(tmp_path):
    source = save_motion(walk(MADE_BY), tmp_path / "walk.npz")
    for args in (["convert", source, "-o", tmp_path / "a.mp4"], ["render", source, "-o", tmp_path / "b.gif"]):
        # stderr is a pipe; bytes, as text mode would turn the bars' carriage returns into newlines
        result = subprocess.run([*COMMAND, *map(str, args)], capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert b"\r" not in result.stderr and b"frame/s" not in result.stderr, result.stderr


def test_bars_need_a_terminal_and_no_quiet(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert show_progress(False) and not show_progress(True)
    monkeypatch.setattr(sys, "stderr", None)
    assert not show_progress(False)
