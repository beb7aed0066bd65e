"""Motion controls in world space (`motiongen complete`): continuation, in-betweens, keyframes, kept
body parts and timelines, on a tiny trained pipeline (2-second windows, so clips span several)."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from t2m_helpers import tiny_run

from motiongen.errors import UserError
from motiongen.io import load_motion, save_motion
from motiongen.motion.motion import Motion
from motiongen.motion.placement import align, meet_keys
from motiongen.pipelines.complete import Controls, complete, parse_parts, parse_times
from motiongen.pipelines.timeline import Sampling, long_frames, parse_timeline

FAST = Sampling(steps=2)


@pytest.fixture(scope="module")
def checkpoint():
    return tiny_run() / "pipeline"


@pytest.fixture(scope="module")
def pipe(checkpoint):
    import torch

    from motiongen.pipelines.text2motion import TextToMotionPipeline

    torch.set_num_threads(1)
    return TextToMotionPipeline.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def walk():
    """A shipped corpus walk, moved to (3, -2) and turned to face +X: far from where a model starts."""
    from motiongen.data.corpus import load_corpus

    clip = next(c for c in load_corpus("train") if c.action == "walk").motion
    return align(clip, 0, np.array([3.0, -2.0]), np.pi / 2)


def _steps(motion: Motion) -> np.ndarray:
    """Largest joint movement from each frame to the next, metres."""
    return np.linalg.norm(np.diff(motion.positions(), axis=0), axis=-1).max(-1)


# -- placement (no model) ---------------------------------------------------------------------


def test_align_puts_a_frame_where_asked_and_keeps_the_shape(walk):
    moved = align(walk, 5, np.array([-1.0, 4.0]), -2.0)
    np.testing.assert_allclose(moved.root[5, [0, 2]], [-1.0, 4.0], atol=1e-5)
    assert abs(np.angle(np.exp(1j * (moved.heading()[5] + 2.0)))) < 1e-5
    np.testing.assert_allclose(_steps(moved), _steps(walk), atol=1e-5)  # rigid: same motion
    np.testing.assert_allclose(moved.root[:, 1], walk.root[:, 1], atol=1e-6)


def test_meet_keys_reaches_keys_exactly_and_bends_smoothly(walk):
    made = walk.canonicalized()  # as a generator gives it: at the origin, facing +Z
    target = align(walk, 0, np.array([0.0, 0.0]), 0.0)
    target = Motion(target.quats.copy(), target.root.copy(), target.fps)
    last = len(walk) - 1
    target.root[last] += [0.8, 0.0, 0.3]  # the end pose stands elsewhere
    is_key = np.zeros(len(walk), bool)
    is_key[[0, 1, last]] = True
    target = align(target, 1, walk.root[1, [0, 2]], walk.heading()[1])  # and all of it in world space
    placed, miss = meet_keys(made, target, is_key)
    np.testing.assert_array_equal(placed.quats[is_key], target.quats[is_key])
    np.testing.assert_array_equal(placed.root[is_key], target.root[is_key])
    rigid = align(made, 1, walk.root[1, [0, 2]], walk.heading()[1])
    assert np.linalg.norm(placed.root[last - 1] - rigid.root[last - 1]) > 0.5  # the path bends to the far key...
    assert miss["root_m"] < 0.1  # ...so what is left to fade in is small...
    assert _steps(placed).max() < 2 * _steps(walk).max()  # ...and nothing jumps


def test_continuation_goes_on_at_the_prefix_speed(walk):
    """A generator that stands still after a walking prefix: the frames after the seam start at
    the walk's speed and change it gradually, instead of stopping dead at the seam."""
    seam = 20
    still = Motion(np.repeat(walk.quats[:1], 50, 0), np.repeat(walk.root[:1], 50, 0), walk.fps)
    target = Motion(still.quats.copy(), still.root.copy(), walk.fps)
    target.quats[:seam], target.root[:seam] = walk.quats[:seam], walk.root[:seam]
    is_key = np.arange(50) < seam
    placed, _ = meet_keys(still, target, is_key)
    np.testing.assert_array_equal(placed.root[:seam], walk.root[:seam])
    step = np.linalg.norm(np.diff(placed.root[:, [0, 2]], axis=0), axis=-1)
    walking = step[seam - 2]
    assert abs(step[seam - 1] - walking) < 0.05 * walking  # no change of speed at the seam...
    assert np.abs(np.diff(step[seam - 1 :])).max() < 0.4 * walking  # ...then no jump of speed...
    assert step[seam + 20 :].max() < 1e-6  # ...and it stands as the generator says after the blends
    joints = np.linalg.norm(np.diff(placed.positions(), n=2, axis=0), axis=-1).max(-1)
    assert joints[seam - 2 : seam + 1].max() < 2 * np.abs(np.diff(walk.positions()[:seam], n=2, axis=0)).max()


# -- parsing ----------------------------------------------------------------------------------


def test_timeline_formats_and_errors():
    assert parse_timeline("4 a person walks forward\n2s a person jumps\n# rest\n") == [
        (4.0, "a person walks forward"),
        (2.0, "a person jumps"),
    ]
    assert parse_timeline("walk forward 4s; jump 2.5s") == [(4.0, "walk forward"), (2.5, "jump")]
    for text, words in [
        ("walk forward", "gives no length"),
        ("", "holds no entries"),
        ("0 walk", "shorter than 0.1 s"),
        ("400 walk\n300 run", "at most 600"),
    ]:
        with pytest.raises(UserError, match=words):
            parse_timeline(text)
    assert long_frames(600, 20.0) == 12000
    with pytest.raises(UserError, match="at most 600"):
        long_frames(601, 20.0)


def test_part_and_time_options():
    assert parse_parts("upper") == ("spine", "left_arm", "right_arm")
    assert parse_parts("lower,arms") == ("root", "left_leg", "right_leg", "left_arm", "right_arm")
    with pytest.raises(UserError, match="unknown body part 'tail'"):
        parse_parts("tail")
    assert parse_times("0.5, 1,2") == (0.5, 1.0, 2.0)
    for bad in ("1,nan", "2,1", "-1", "a,b", ""):
        with pytest.raises(UserError):
            parse_times(bad)


# -- the controls on a model ------------------------------------------------------------------


def test_prefix_output_starts_with_the_clip_in_its_world_place(pipe, walk):
    out = complete(pipe, "a person walks forward", Controls(prefix=walk), seconds=3, sampling=FAST)
    assert len(out) == len(walk) + 60
    np.testing.assert_array_equal(out.quats[: len(walk)], walk.quats)  # the clip itself, where it was
    np.testing.assert_array_equal(out.root[: len(walk)], walk.root)
    seam = np.linalg.norm(out.root[len(walk)] - walk.root[-1])
    assert seam < 0.2, seam  # goes on from where the clip ends, not from the origin 3.6 m away
    again = complete(pipe, "a person walks forward", Controls(prefix=walk), seconds=3, sampling=FAST)
    np.testing.assert_array_equal(out.quats, again.quats)  # same seed, same motion


def test_inbetween_reaches_the_end_pose_where_it_stands(pipe, walk):
    start = walk.slice(0, 1)
    ends = [align(walk.slice(5, 6), 0, walk.root[0, [0, 2]] + [dx, 0.0], np.pi / 2) for dx in (2.0, 4.0)]
    paths = []
    for end in ends:
        out = complete(pipe, "a person walks forward", Controls(prefix=start, end=end), seconds=3, sampling=FAST)
        assert len(out) == 1 + 60 + 1
        np.testing.assert_allclose(out.positions()[-1], end.positions()[0], atol=1e-5)
        np.testing.assert_allclose(out.positions()[0], start.positions()[0], atol=1e-5)
        paths.append(out.root)
    assert np.linalg.norm(paths[0][31] - paths[1][31]) > 0.5  # a farther end pose moves the path


def test_keyframes_are_reached_at_their_times(pipe, walk):
    poses = Motion(walk.quats[[0, 10, 20]], walk.root[[0, 10, 20]] + [[0, 0, 0], [1, 0, 0], [2, 0, 1]], walk.fps)
    out = complete(pipe, "a person walks", Controls(keyframes=poses, key_times=(0.5, 2.0, 3.0)), sampling=FAST)
    assert len(out) == 80  # last time + 1 s
    for k, t in enumerate((0.5, 2.0, 3.0)):
        error = np.linalg.norm(out.positions()[round(t * 20)] - poses.positions()[k], axis=-1).max()
        assert error < 1e-5, (t, error)
    assert out.meta["controls"]["kind"] == "keyframes"
    with pytest.raises(UserError, match="outside the clip"):
        complete(pipe, "a person walks", Controls(keyframes=poses, key_times=(0.5, 2.0, 3.0)), seconds=2, sampling=FAST)
    clip_keys = Controls(keyframes=walk, key_times=(0.2, 5.0), names={"keyframes": "walk.bvh"})
    with pytest.raises(UserError, match="keyframe time 5 s is outside walk.bvh"):
        complete(pipe, "a person walks", clip_keys, sampling=FAST)


@pytest.mark.parametrize("part", ["upper", "lower"])
def test_kept_parts_are_identical_to_the_source(pipe, walk, part):
    from motiongen.conditioning.partial import GROUP_JOINTS
    from motiongen.motion.skeleton import JOINT_INDEX

    groups = parse_parts(part)
    out = complete(pipe, "a person waves", Controls(keep=groups, source=walk), sampling=FAST)
    assert len(out) == len(walk)
    joints = [JOINT_INDEX[j] for g in groups for j in GROUP_JOINTS[g]]
    np.testing.assert_allclose(out.quats[:, joints], walk.quats[:, joints], atol=1e-5)
    other = [j for j in range(22) if j not in joints]
    assert np.abs(out.quats[:, other] - walk.quats[:, other]).max() > 0.05  # the rest is made anew
    if part == "lower":
        np.testing.assert_allclose(out.root, walk.root, atol=1e-5)
    else:  # stands where the source starts
        np.testing.assert_allclose(out.root[0, [0, 2]], walk.root[0, [0, 2]], atol=1e-4)


def test_timeline_is_one_clip_window_by_window(pipe):
    story = parse_timeline("a person walks forward 3s; a person jumps 2s; a person turns left 2.5s")
    out = complete(pipe, story, Controls(), sampling=FAST)
    assert len(out) == 150  # 7.5 s at 20 fps, made in 2-second windows
    assert "a person jumps 2s" in out.meta["caption"]
    again = complete(pipe, story, Controls(), sampling=FAST)
    np.testing.assert_array_equal(out.root, again.root)
    other = complete(pipe, story, Controls(), sampling=Sampling(steps=2, seed=1))
    assert not np.allclose(out.root, other.root)
    with pytest.raises(UserError, match="leave out --seconds"):
        complete(pipe, story, Controls(), seconds=3, sampling=FAST)


# -- the command ------------------------------------------------------------------------------


def test_complete_command_continues_a_file(monkeypatch, capsys, tmp_path, checkpoint, walk):
    save_motion(walk, tmp_path / "walk.npz")
    args = ["complete", "a person walks", "--prefix", tmp_path / "walk.npz", "--seconds", "2", "--steps", "2"]
    code, out, err = run(monkeypatch, capsys, *args, "-q", "--checkpoint", checkpoint, "-o", tmp_path / "more.npz")
    assert code == 0, err
    more = load_motion(tmp_path / "more.npz")
    np.testing.assert_allclose(more.root[: len(walk)], walk.root, atol=1e-6)
    assert len(more) == len(walk) + 40
    story = ["complete", "--timeline", "a person walks 1.5s; a person jumps 1s", "--steps", "2", "-q"]
    code, out, err = run(monkeypatch, capsys, *story, "--checkpoint", checkpoint, "-o", tmp_path / "story.npz")
    assert code == 0, err
    assert len(load_motion(tmp_path / "story.npz")) == 50


def test_bad_control_input_is_one_line(monkeypatch, capsys, tmp_path, checkpoint, walk):
    save_motion(walk, tmp_path / "walk.npz")
    (tmp_path / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n{\n")
    common = ["--checkpoint", checkpoint, "-o", tmp_path / "out.npz", "--steps", "2"]
    walk_file = tmp_path / "walk.npz"
    cases = [
        (["a person walks", "--prefix", tmp_path / "none.bvh"], "not found"),
        (["a person walks", "--prefix", tmp_path / "broken.bvh"], "broken.bvh"),
        (["a person walks", "--keyframes", walk_file, "--at", "0.5,9"], "keyframe time 9 s is outside walk.npz"),
        (["a person walks", "--keyframes", walk_file], "--at"),
        (["a person walks", "--keyframes", walk_file, "--at", "1,nan"], "--at"),
        (["a person walks", "--keep", "tail", "--from", walk_file], "unknown body part 'tail'"),
        (["a person walks", "--keep", "upper"], "--from"),
        (["a person walks", "--keep", "upper", "--from", walk_file, "--seconds", "3"], "leave out --seconds"),
        (["a person walks", "--prefix", walk_file, "--keep", "upper", "--from", walk_file], "give one of"),
        (["a person walks", "--inbetween", walk_file, walk_file], "--seconds"),
        (["--timeline", tmp_path / "story.txt"], "timeline file not found"),
        (["--timeline", "walk 400s; run 300s"], "at most 600"),
        (["a person walks", "--seconds", "601"], "--seconds"),
        ([""], "prompt is empty"),
    ]
    for args, words in cases:
        assert_one_line_error(run(monkeypatch, capsys, "complete", *args, *common), words)
    assert not (tmp_path / "out.npz").exists()
