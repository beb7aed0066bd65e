"""Corpus v2: the segment table, the mocap folder's rigs and glitches, the git-ignored cache build,
the familiarity threshold, and that `data build` never removes a file it did not write.

Tests that need the CMU takes skip where ../shared/mocap (or $MOTIONGEN_MOCAP) is missing."""

import json

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from motiongen.cli.app import app
from motiongen.conditioning.familiarity import KnownActions, action_captions, measure
from motiongen.data import build, mocap
from motiongen.data.corpus import Clip, load_corpus
from motiongen.data.mocap_corpus import build_mocap_corpus, load_segment_table
from motiongen.errors import UserError
from motiongen.motion.sanity import problems
from tests.motion_samples import synthetic_walk

HAS_MOCAP = mocap.DEFAULT_MOCAP_DIR.is_dir()
NEEDS_MOCAP = pytest.mark.skipif(not HAS_MOCAP, reason=f"needs the CMU takes in {mocap.DEFAULT_MOCAP_DIR}")


def test_segment_table_is_complete_and_split_by_take():
    table = load_segment_table()
    assert len(table) >= 200
    minutes = {"train": 0.0, "test": 0.0}
    takes: dict[str, set] = {}
    for name, entry in table.items():
        minutes[entry["split"]] += (entry["end"] - entry["start"]) / 60
        takes.setdefault(entry["file"], set()).add(entry["split"])
        assert len(set(entry["captions"])) >= 3, name
    assert sum(minutes.values()) > 20  # person-minutes of real motion
    assert 0.10 < minutes["test"] / sum(minutes.values()) < 0.20
    assert all(len(splits) == 1 for splits in takes.values())  # no take on both sides of the split
    for folder in mocap.SOURCES:  # every source is represented in test
        assert any(e["split"] == "test" for e in table.values() if e["file"].startswith(folder)), folder


def test_salsa_partners_are_paired_and_held_out_whole():
    table = load_segment_table()
    salsa = {n: e for n, e in table.items() if e["file"].startswith("cmu_salsa/")}
    assert salsa and all(e.get("partner") in table for e in salsa.values())
    for entry in salsa.values():
        other = table[entry["partner"]]
        assert mocap.partner_file(entry["file"]) == other["file"]
        assert (other["start"], other["end"], other["split"]) == (entry["start"], entry["end"], entry["split"])


def test_segment_table_errors_name_the_segment(tmp_path):
    table = load_segment_table()
    name = next(iter(table))
    broken = dict(table)
    broken[name] = dict(table[name], captions=["a person walks"])
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(ValueError, match=f"segment '{name}' has 1 captions"):
        load_segment_table(path)


def test_missing_mocap_folder_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="no motion capture folder at .*--source"):
        build_mocap_corpus(tmp_path / "out", tmp_path / "nowhere", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds none of the known mocap folders"):
        build_mocap_corpus(tmp_path / "out", tmp_path / "empty", progress=False)
    assert not (tmp_path / "out").exists()


@NEEDS_MOCAP
@pytest.mark.parametrize(
    "file, rig", [("cmu_salsa/01.bvh", "Daz"), ("cmu_martial/04.bvh", "Daz"), ("cmu_131/131_01.bvh", "CMU-ASF")]
)
def test_mocap_rigs_import_without_renaming(file, rig):
    motion = mocap.read_take(mocap.DEFAULT_MOCAP_DIR, file)
    assert motion.meta["source_rig"] == rig
    start, end = mocap.clean_take(mocap.DEFAULT_MOCAP_DIR, file)[0]
    part = mocap.segment(mocap.DEFAULT_MOCAP_DIR, file, start, min(end, start + 5))
    assert problems(part) == []  # upright, plausible speeds, once the glitches are cut
    pos = part.positions()
    assert 0.75 < np.median(pos[:, 0, 1]) < 1.05  # the pelvis at a standing person's height


@NEEDS_MOCAP
def test_glitches_are_cut_and_salsa_runs_at_its_true_rate():
    root = mocap.DEFAULT_MOCAP_DIR
    assert mocap.read_take(root, "cmu_salsa/01.bvh").fps == 60.0  # the header says 120
    spans = mocap.clean_take(root, "cmu_indian/04.bvh")
    assert spans[0][0] > 0  # the T-pose blend at the start is dropped
    assert len(spans) == 2 and spans[0][1] < 1588 / 120 < spans[1][0]  # the jump near frame 1590


@NEEDS_MOCAP
def test_mocap_build_is_deterministic_and_indexed(tmp_path):
    table = load_segment_table()
    names = ["salsa_01_1", "salsa_16_1", "karate_04_1", "cmu_13_11_1"]
    small = tmp_path / "table.yaml"
    small.write_text(yaml.safe_dump({n: table[n] for n in names}))
    first = build_mocap_corpus(tmp_path / "a", table_path=small, progress=False)
    second = build_mocap_corpus(tmp_path / "b", table_path=small, progress=False)
    for name in names:
        assert (first / f"{name}.npz").read_bytes() == (second / f"{name}.npz").read_bytes()
    index = {c["name"]: c for c in json.loads((first / "index.json").read_text())["clips"]}
    assert index["salsa_01_1"]["partner"] == "salsa_16_1" and index["salsa_16_1"]["partner"] == "salsa_01_1"
    assert index["salsa_01_1"]["take"] == index["salsa_16_1"]["take"]
    clips = load_corpus(corpus_dir=first)
    assert {c.name for c in clips} == set(names)
    assert all(2.0 <= c.motion.duration <= 10.0 and c.motion.fps == 20.0 for c in clips)


def test_data_build_keeps_files_it_did_not_write(tmp_path, monkeypatch):
    """Rebuilding into a folder removes only clips an earlier build wrote and the table dropped."""
    table = build.load_clip_table()
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump({"walk": table["walk"], "run": table["run"]}))
    try:
        build.deepmimic_dir()
    except UserError:
        pytest.skip("needs pybullet's DeepMimic clips")
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "mine.npz").write_bytes(b"a user's own file")
    build.build_corpus(out, progress=False, table_path=one)
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(yaml.safe_dump({"walk": table["walk"]}))
    build.build_corpus(out, progress=False, table_path=smaller)
    assert (out / "mine.npz").read_bytes() == b"a user's own file"
    assert not (out / "run.npz").exists() and (out / "walk.npz").exists()


def _clip(name, action, captions, split="train"):
    return Clip(name, synthetic_walk(frames=20), captions, split, False, action)


class _FakeEncoder:
    """Sentence states whose pooled token is a fixed unit vector per word set (known geometry)."""

    VECTORS = {"walk": [1.0, 0.0, 0.0], "run": [0.0, 1.0, 0.0], "sit": [0.0, 0.0, 1.0]}

    def __call__(self, texts):
        out = []
        for text in texts:
            v = sum(torch.tensor(self.VECTORS[w]) for w in self.VECTORS if w in text)
            if not torch.is_tensor(v):
                v = torch.tensor([0.0, 0.0, 1.0])
            out.append(v[None].float())
        return out


def test_familiarity_threshold_and_closest_actions():
    train = [_clip("a", "walk", ["a person walks"]), _clip("b", "run", ["a person runs left"])]
    test = [_clip("c", "walk", ["someone walks and runs"], "test")]  # cosine 0.707 to both
    report = measure(_FakeEncoder(), train, test)
    assert report["threshold"] == pytest.approx(0.7071, abs=1e-3) and report["held_out_captions"] == 1
    assert action_captions(train)["run"] == ["a person runs left", "a person runs right"]
    known = KnownActions(report)
    assert known.unfamiliar(_FakeEncoder(), "a person walks, then runs") == []
    far = known.unfamiliar(_FakeEncoder(), "a person sits down on a chair")
    assert len(far) == 1 and far[0].part == "a person sits down on a chair" and far[0].similarity == 0.0
    assert set(far[0].closest_actions) == {"walk", "run"}


def test_info_lists_the_known_actions():
    from motiongen.paths import CHECKPOINT_DIR

    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    known = KnownActions.from_folder(CHECKPOINT_DIR / "t2m")
    if known is None:
        pytest.skip("the shipped checkpoint has no known_actions.json")
    assert "actions the default text model knows" in result.output
    assert all(action.replace("_", " ") in result.output for action in known.actions)
