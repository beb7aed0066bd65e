"""The shipped corpus, its loader, caption mirroring and the reproducible build."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from motiongen.cli.app import app
from motiongen.data import augment, build
from motiongen.data.captions import caption_sides, load_clip_table, mirror_caption
from motiongen.data.corpus import load_corpus
from motiongen.data.dataset import WindowPool, base_pieces
from motiongen.errors import UserError
from motiongen.metrics.descriptors import speed, turn
from motiongen.motion.features import features_to_motion
from motiongen.motion.skeleton import FOOT_JOINTS
from motiongen.paths import CORPUS_DIR
from motiongen.training.config import TrainConfig

# Clips where the whole body stays upright on its feet (no lying, crawling, rolling, flipping, hanging).
STANDING_ACTIONS = {
    "walk",
    "run",
    "turn_left",
    "turn_right",
    "jump",
    "turn_and_jump",
    "walk_turn",
    "dance",
    "punch",
    "kick",
}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_every_clip_has_captions_and_both_splits_exist(corpus):
    assert len(corpus) >= 25
    assert len({c.name for c in corpus}) == len(corpus)
    for clip in corpus:
        assert len(clip.captions) >= 4 and all(len(c.split()) >= 3 for c in clip.captions)
        assert clip.split in ("train", "test")
    test, train = load_corpus("test"), load_corpus("train")
    assert test and train and len(test) + len(train) == len(corpus)
    assert {c.action for c in test} <= {c.action for c in train}  # held out by clip, not by action
    assert any(c.cyclic and c.action == "walk" for c in corpus)
    with pytest.raises(UserError):
        load_corpus("validation")


def test_files_have_the_agreed_format(corpus):
    index = json.loads((CORPUS_DIR / "index.json").read_text())["clips"]
    assert [e["name"] for e in index] == [c.name for c in corpus]
    for entry in index:
        assert {"name", "file", "split", "captions", "action", "cyclic", "source"} <= set(entry)
        assert "licence" in entry["source"] and "origin" in entry["source"]
        with np.load(CORPUS_DIR / entry["file"]) as data:
            assert set(data.files) == {"quats", "root", "fps"}
            assert data["quats"].dtype == np.float32 and data["root"].dtype == np.float32
            assert data["quats"].shape[1:] == (22, 4) and data["root"].shape == (len(data["quats"]), 3)
            assert float(data["fps"]) == 20.0


def test_clips_are_clean_and_on_the_floor(corpus):
    for clip in corpus:
        m = clip.motion
        assert m.fps == 20.0 and len(m) >= 15, clip.name
        np.testing.assert_allclose(np.linalg.norm(m.quats, axis=-1), 1.0, atol=1e-4)
        pos = m.positions()
        assert np.isfinite(pos).all()
        feet = pos[:, list(FOOT_JOINTS), 1]
        assert feet.min() > -0.02, clip.name  # no foot under the floor
        assert pos[..., 1].min() > -0.05, clip.name  # nothing sunk into it
        if clip.action in STANDING_ACTIONS:
            # not floating: in most frames a foot is down (ankle joint ~7 cm above the sole)
            assert np.percentile(feet.min(axis=1), 25) < 0.08, clip.name
            assert 0.8 < np.median(pos[:, 0, 1]) < 1.05, clip.name  # pelvis at standing height


def _largest_joint_turn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest local joint rotation (degrees, root excluded) between poses a and b (..., 22, 4)."""
    dot = np.abs((a[..., 1:, :] * b[..., 1:, :]).sum(-1)).clip(0, 1)
    return np.degrees(2 * np.arccos(dot)).max(-1)


def test_cyclic_clips_loop_without_a_jump(corpus):
    cyclic = [c for c in corpus if c.cyclic]
    assert {"walk", "run"} <= {c.name for c in cyclic}
    for clip in cyclic:
        q = clip.motion.quats
        seam = _largest_joint_turn(q[-1], q[0])
        step = np.median(_largest_joint_turn(q[1:], q[:-1]))
        assert seam < 2 * step, (clip.name, seam, step)


def test_turning_clips_are_held_not_looped_without_loop_turns(corpus):
    walk, turner = (next(c for c in corpus if c.name == name) for name in ("walk", "turn_left0"))
    pieces = base_pieces([walk, turner], speeds=(1.0,), mirror=False, loop_turns=False)
    assert [p.cyclic for p in pieces] == [True, False]  # the walk still loops, the turn does not
    assert [p.cyclic for p in base_pieces([walk, turner], speeds=(1.0,), mirror=False)] == [True, True]

    def largest_turn(loop_turns):
        pool = WindowPool([turner], size=40, compose_prob=0.0, mirror=False, loop_turns=loop_turns, progress=False)
        return max(abs(turn(features_to_motion(w.features, turner.motion.fps))) for w in pool.windows)

    # Held, a window turns no more than the clip (29 degrees); looped, up to 6 s of circling.
    assert largest_turn(False) < 35 < largest_turn(True)


def test_straightened_walk_loops_without_drifting(corpus):
    walk = next(c for c in corpus if c.name == "walk").motion
    assert abs(turn(augment.loop(walk, 120))) > 25  # the raw cycle veers 7 degrees per loop
    straight = augment.straightened(walk)
    assert abs(turn(augment.loop(straight, 120))) < 5  # left: the sway within a step
    # Only the drift goes: same length, same heights, nearly the same distance per cycle.
    assert len(straight) == len(walk) and np.allclose(straight.root[:, 1], walk.root[:, 1])
    travel = [np.linalg.norm(m.root[-1, [0, 2]] - m.root[0, [0, 2]]) for m in (walk, straight)]
    assert travel[1] == pytest.approx(travel[0], rel=0.05)


def test_walking_turns_walk_on_instead_of_standing(corpus):
    walk, turner = (next(c for c in corpus if c.name == name) for name in ("walk", "turn_right0"))

    def windows(walk_on_actions):
        pool = WindowPool(
            [walk, turner], size=80, compose_prob=0.0, hold_prob=1.0, mirror=False, speeds=(1.0,),
            walk_on_actions=walk_on_actions, progress=False,
        )  # fmt: skip
        found = [features_to_motion(w.features, walk.motion.fps) for w in pool.windows if "right" in w.captions[0]]
        return [m for m in found if len(m) >= 2 * len(turner.motion)]  # the lengthened ones

    real = turn(turner.motion)  # about -95 degrees in 1.25 s
    for walk_on, expected_speed in ((("turn_right",), 0.6), ((), 0.4)):
        long_ones = windows(walk_on)
        assert long_ones
        for m in long_ones:  # the turn is kept (the cross-fades soften it a little), nothing added
            assert 0.75 * abs(real) < -turn(m) < abs(real) + 10
        mean_speed = np.mean([speed(m) for m in long_ones])
        # Walking on keeps the walking pace; standing still around the turn drops it.
        assert (mean_speed > expected_speed) if walk_on else (mean_speed < expected_speed)
    # walk_on_prob sets the walk-on chance apart from hold_prob: every turn walks on, nothing holds.
    pool = WindowPool(
        [walk, turner], size=60, compose_prob=0.0, hold_prob=0.0, walk_on_prob=1.0, mirror=False, speeds=(1.0,),
        walk_on_actions=("turn_right",), progress=False, seed=1,
    )  # fmt: skip
    turns = [len(w.features) for w in pool.windows if "right" in w.captions[0]]
    assert turns and sum(n > len(turner.motion) for n in turns) >= 0.9 * len(turns)  # randint may add 0 frames
    # walk_on_min_frames: every lengthened turn is at least that long, so none turns throughout;
    # walking clips are not lengthened by it.
    pool = WindowPool(
        [walk, turner], size=60, compose_prob=0.0, hold_prob=0.0, walk_on_prob=1.0, walk_on_min_frames=60,
        mirror=False, speeds=(1.0,), walk_on_actions=("turn_right",), progress=False, seed=1,
    )  # fmt: skip
    turns = [len(w.features) for w in pool.windows if "right" in w.captions[0]]
    assert turns and min(turns) >= 60
    assert any(len(w.features) < 60 for w in pool.windows if "right" not in w.captions[0])
    with pytest.raises(UserError, match="walk_on_prob must be between 0 and 1"):
        TrainConfig(walk_on_prob=1.5)
    with pytest.raises(UserError, match="walk_on_min_frames must not be negative"):
        TrainConfig(walk_on_min_frames=-1)
    with pytest.raises(UserError, match="cyclic clip of action 'walk'"):
        WindowPool([turner], size=4, walk_on_actions=("turn_right",), progress=False)
    with pytest.raises(UserError, match="no clip of action turn_rigth"):
        WindowPool([walk, turner], size=4, walk_on_actions=("turn_rigth",), progress=False)


def test_mirror_caption_swaps_whole_words_and_keeps_case():
    text = "A person kicks with the Right leg, then turns LEFT; left-handed, bright, leftover"
    assert mirror_caption(text) == "A person kicks with the Left leg, then turns RIGHT; right-handed, bright, leftover"
    assert mirror_caption(mirror_caption(text)) == text
    for clip in load_corpus("train"):
        for caption in clip.captions:
            assert mirror_caption(mirror_caption(caption)) == caption
    assert mirror_caption("turns Clockwise, then counterclockwise") == "turns Counterclockwise, then clockwise"
    assert caption_sides("a person turns clockwise") == {"right"}
    assert caption_sides("turns anti-clockwise, then right") == {"left", "right"}
    assert caption_sides("a person turns around") == set()


def test_captions_naming_no_side_describe_a_handed_clip_one_way_only(corpus):
    # "a person does a spin kick" must not mean both the clip and its mirror image: the two turn
    # opposite ways, and a model trained on both learns their average, which does not turn.
    clips = [c for c in corpus if c.handed and c.split == "train"]
    assert {"spin_kick", "turn_and_jump", "kick", "spin"} <= {c.action for c in clips}
    turns = {}  # side-less caption -> turns of the pieces it describes
    for piece in base_pieces(clips, speeds=(1.0,)):
        for caption in piece.captions:
            if not caption_sides(caption):
                turns.setdefault(caption, []).append(turn(piece.motion))
    assert (
        "a person does a spin kick" in turns
        and "the person turns back the way they came and jumps forward once" in turns
    )
    for caption, degrees in turns.items():
        assert all(d > 0 for d in degrees) or all(d < 0 for d in degrees), caption
    # Clips that are not handed keep every caption on the mirror image too.
    walk = next(c for c in corpus if c.name == "walk")
    assert augment.mirrored(walk.motion, walk.captions, walk.handed)[1] == walk.captions


def test_a_handed_clip_needs_a_caption_naming_its_side(tmp_path):
    table = load_clip_table()
    entry = dict(table["kick"], captions=["a person kicks", "someone kicks high"])
    bad = tmp_path / "table.yaml"
    bad.write_text(yaml.safe_dump({"kick": entry}))
    with pytest.raises(ValueError, match="handed but no caption names a side"):
        load_clip_table(bad)


def test_captions_name_the_side_that_moves(corpus):
    # The right leg kicks in "kick": its captions must not talk about the left leg.
    kick = next(c for c in corpus if c.name == "kick")
    pos = kick.motion.positions()
    assert pos[:, FOOT_JOINTS[2], 1].max() > pos[:, FOOT_JOINTS[0], 1].max() + 0.5  # right ankle higher
    assert all("left leg" not in c for c in kick.captions)
    assert any("right" in c for c in kick.captions)


# The CMU clips are cut from BVH files of a Debian package; the built corpus ships in data/corpus/,
# so only rebuilding it needs them.
NEEDS_CMU = pytest.mark.skipif(
    not (build.CMU_DIR / "01_01.bvh").exists(), reason="needs Debian's assimp-testmodels (CMU BVH files)"
)


@NEEDS_CMU
def test_build_is_reproducible_and_matches_the_shipped_corpus(tmp_path):
    result = CliRunner().invoke(app, ["data", "build", "--builtin", "--output", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    shipped = sorted(p.name for p in CORPUS_DIR.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == shipped
    for name in shipped:
        stale = f"data/corpus/{name} is stale: rebuild it with `motiongen data build --builtin`"
        assert (tmp_path / name).read_bytes() == (CORPUS_DIR / name).read_bytes(), stale


def test_build_explains_missing_sources(tmp_path, monkeypatch):
    table = load_clip_table()
    small = tmp_path / "table.yaml"
    small.write_text(yaml.safe_dump({"cmu_jumps_1": table["cmu_jumps_1"]}))
    monkeypatch.setattr(build, "CMU_DIR", tmp_path / "nowhere")
    with pytest.raises(UserError, match="apt-get install assimp-testmodels"):
        build.build_corpus(tmp_path / "out", progress=False, table_path=small)
    monkeypatch.setitem(sys.modules, "pybullet_data", None)  # as if pybullet were not installed
    with pytest.raises(UserError, match="pip install pybullet"):
        build.build_corpus(tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # nothing written before the check


@NEEDS_CMU
def test_clip_table_is_consistent_with_the_sources():
    table = load_clip_table()
    dm = build.deepmimic_dir()
    for name, entry in table.items():
        if entry["source"] == "deepmimic":
            assert (dm / entry["file"]).exists(), name
        else:
            assert entry["start"] < entry["end"], name
    assert Path(build.CMU_DIR / "01_01.bvh").exists()


def test_action_share_evens_out_common_and_rare_actions(corpus):
    from dataclasses import replace

    common = next(c for c in corpus if c.action == "walk")
    rare = next(c for c in corpus if c.action == "punch")
    clips = [replace(common, name=f"walk{i}") for i in range(9)] + [rare]

    def rare_share(share):
        pool = WindowPool(clips, size=400, compose_prob=0.0, mirror=False, speeds=(1.0,), action_share=share,
                          seed=3, progress=False)  # fmt: skip
        return sum(w.captions == rare.captions for w in pool.windows) / len(pool)

    assert 0.05 < rare_share(1.0) < 0.16  # drawn per clip: 1 in 10
    assert 0.42 < rare_share(0.0) < 0.58  # drawn per action: 1 in 2
    assert 0.2 < rare_share(0.5) < 0.32  # sqrt(1) / (sqrt(1) + sqrt(9)) = 1 in 4
    with pytest.raises(UserError, match="action_share must be between 0 and 1"):
        TrainConfig(action_share=-0.5)
