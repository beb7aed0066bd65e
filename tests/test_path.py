"""A path to follow (`motiongen complete --path FILE | --waypoints`): reading paths, the stand-in
root motion, and the tiny pipeline's output, whose root must lie on the path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from t2m_helpers import tiny_run

from motiongen.errors import UserError
from motiongen.io import load_motion
from motiongen.pipelines.complete import complete, read_controls
from motiongen.pipelines.path import parse_waypoints, path_known, path_motion, read_path
from motiongen.pipelines.timeline import Sampling


@pytest.fixture(scope="module")
def checkpoint():
    return tiny_run() / "pipeline"


def test_path_files_csv_with_header_and_json_lists_or_objects(tmp_path):
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("t,x,z\n# a comment\n0,0,0\n1,1.5,0\n2,1.5,1.5\n")
    rows = read_path(csv_file)
    np.testing.assert_allclose(rows[:, :3], [[0, 0, 0], [1, 1.5, 0], [2, 1.5, 1.5]])
    assert np.isnan(rows[:, 3]).all()
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps([[0, 0, 0, 90], {"t": 1, "x": 1, "z": 0, "heading": 90}]))
    np.testing.assert_allclose(read_path(json_file), [[0, 0, 0, 90], [1, 1, 0, 90]])


@pytest.mark.parametrize(
    "text, words",
    [
        ("0,0,0\n", "at least two points"),
        ("1,0,0\n2,1,0\n", "must start at time 0"),
        ("0,0,0\n2,1,0\n1,2,0\n", "must increase"),
        ("0,0,0\n1,30,0\n", "m/s"),
        ("0,0,0\n1,1\n", "t,x,z"),
        ("0,0,0\n1,a,0\n", "cannot read"),
        ("0,0,0\n1,nan,0\n", "finite"),
    ],
)
def test_bad_path_files_are_one_line_errors(tmp_path, text, words):
    file = tmp_path / "bad.csv"
    file.write_text(text)
    with pytest.raises(UserError, match=words):
        read_path(file)


def test_waypoints_are_visited_at_an_even_speed():
    rows = parse_waypoints("0,0; 3,0; 3,1", 8.0)
    np.testing.assert_allclose(rows[:, 0], [0, 6, 8])  # 4 m in 8 s: 0.5 m/s all the way
    for text, seconds, words in [("0,0;1,0", None, "needs --seconds"), ("0,0", 2.0, "two points"),
                                 ("0,0;a,b", 2.0, "x,z"), ("1,1;1,1", 2.0, "same point")]:  # fmt: skip
        with pytest.raises(UserError, match=words):
            parse_waypoints(text, seconds)


def test_stand_in_faces_the_way_it_goes_or_as_told():
    along_x = path_motion(np.array([[0, 0, 0, np.nan], [2, 2, 0, np.nan]]), 20.0)
    assert len(along_x) == 41
    np.testing.assert_allclose(along_x.heading(), np.pi / 2, atol=1e-5)  # walking towards +X
    np.testing.assert_allclose(along_x.root[-1, [0, 2]], [2, 0], atol=1e-6)
    told = path_motion(np.array([[0, 0, 0, 180], [2, 2, 0, 180]]), 20.0)  # sidestepping, facing -Z
    np.testing.assert_allclose(np.cos(told.heading()), -1, atol=1e-5)
    known = path_known(along_x)
    assert not known.mask.any()  # the model is told nothing ...
    assert known.imputed.sum() == 3 * len(along_x)  # ... the root's velocity and turning are imposed


def test_the_generated_root_follows_the_path(checkpoint):
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    pipe = TextToMotionPipeline.from_pretrained(checkpoint)
    controls = read_controls(waypoints="2,1; 4,1; 4,3", seconds=5.0)  # longer than the 2-s windows
    for cleanup in (False, True):
        motion = complete(pipe, "a person walks", controls, 5.0, Sampling(steps=2), cleanup)
        assert len(motion) == 101
        off = np.linalg.norm(motion.root[:, [0, 2]] - controls.path.root[:, [0, 2]], axis=-1)
        assert off.max() < 0.01, off.max()
        assert motion.meta["controls"]["path_error_max_m"] == pytest.approx(off.max())
    again = complete(pipe, "a person walks", controls, 5.0, Sampling(steps=2), True)
    np.testing.assert_array_equal(again.quats, motion.quats)  # seeded


def test_path_command_and_its_errors(checkpoint, tmp_path, monkeypatch, capsys):
    path = tmp_path / "path.csv"
    path.write_text("t,x,z\n0,0,0\n2,1.5,0\n3,1.5,1\n")
    out = tmp_path / "walk.bvh"
    code, text, err = run(monkeypatch, capsys, "complete", "a person walks", "--path", path, "-o", out,
                          "--checkpoint", checkpoint, "--steps", "2")  # fmt: skip
    assert code == 0, err
    assert "on the path" in text
    motion = load_motion(out)
    np.testing.assert_allclose(motion.root[-1, [0, 2]], [1.5, 1.0], atol=0.01)
    common = ("-o", tmp_path / "x.bvh", "--checkpoint", checkpoint)
    for args, words in [
        (("--path", path, "--seconds", "3"), "leave out --seconds"),
        (("--path", path, "--prefix", out), "not --prefix and --path"),
        (("--waypoints", "0,0;1,0"), "needs --seconds"),
        (("--path", tmp_path / "none.csv"), "path file not found"),
    ]:
        assert_one_line_error(run(monkeypatch, capsys, "complete", "a person walks", *args, *common), words)
