"""The published HumanML3D protocol (`motiongen eval t2m --hml3d-data`): test items as the
published loader makes them, known values with a generator that returns the real motion, and the
command end to end on a HumanML3D-layout fixture with a small evaluator in the released format."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from t2m_helpers import tiny_run
from test_eval_cli import small_hml3d_evaluator

from motiongen.metrics.hml3d_protocol import evaluate_hml3d, load_test_items

WORDS = ("a", "person", "walks", "jumps", "turns", "left", "right", "forward", "waves", "kicks", "unk")


def write_glove(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.save(folder / "our_vab_data.npy", rng.normal(size=(len(WORDS), 300)).astype(np.float32))
    with open(folder / "our_vab_idx.pkl", "wb") as f:
        pickle.dump({w: i for i, w in enumerate(WORDS)}, f)
    return folder


def write_test_split(root, count: int = 40, constant: bool = False):
    """`count` test ids in HumanML3D's layout, plus one too short, one too long and a time-range
    caption. With `constant`, every frame of a clip is the same vector (so any crop of it is the
    same motion); otherwise real motion vectors from the built-in corpus."""
    from dataset_fixtures import source_motions

    from motiongen.io.humanml3d_vectors import canonical_positions, joints_to_vectors

    rng = np.random.default_rng(1)
    walk, jump = source_motions()
    sources = [joints_to_vectors(canonical_positions(m.positions())) for m in (walk, jump)]
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    names = []
    verbs = ("walks", "jumps", "turns", "waves", "kicks")
    for i in range(count + 2):
        frames = 30 if i == count else 210 if i == count + 1 else int(rng.integers(44, 96))
        if constant:
            vectors = np.tile(rng.normal(size=(1, 263)).astype(np.float32), (frames, 1))
        else:
            source = sources[i % 2]
            vectors = source[np.arange(frames) % len(source)]
        name = f"{i:06d}"
        names.append(name)
        np.save(root / "new_joint_vecs" / f"{name}.npy", vectors)
        verb, side = verbs[i % 5], ("left", "right")[i % 2]
        lines = [f"a person {verb} {side}, take {i}#a/DET person/NOUN {verb}/VERB {side}/ADV#0.0#0.0"]
        if i == 0:
            lines.append("a person walks forward#a/DET person/NOUN walks/VERB forward/ADV#0.5#3.0")
        (root / "texts" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    (root / "test.txt").write_text("\n".join(names) + "\n")
    return root


@pytest.fixture(scope="module")
def evaluator_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hml3d-eval")
    return small_hml3d_evaluator(root / "evaluator"), write_glove(root / "glove")


def _load(evaluator_files):
    from motiongen.models.guo_evaluator import GuoEvaluator, WordVectorizer

    folder, glove = evaluator_files
    guo = GuoEvaluator.from_checkpoint(folder / "finest.tar", folder / "mean.npy", folder / "std.npy")
    return guo, WordVectorizer.from_glove_folder(glove)


def test_test_items_as_the_published_loader_makes_them(tmp_path):
    items = load_test_items(write_test_split(tmp_path))
    names = [item.name for item in items]
    assert len(items) == 41  # 40 clips + the time-range caption; 30 and 210 frames are left out
    assert "000040" not in names and "000041" not in names
    part = next(item for item in items if item.name == "000000#1")
    assert len(part.vectors) == 50 and part.captions[0][0] == "a person walks forward"
    assert items[-1].captions[0][1] == ["a/DET", "person/NOUN", "kicks/VERB", "right/ADV"]  # id 39


def test_a_generator_returning_the_real_motion_scores_as_the_real_data(tmp_path, evaluator_files):
    items = load_test_items(write_test_split(tmp_path, constant=True))
    by_caption = {caption: item for item in items for caption, _ in item.captions}

    def oracle(captions, lengths, seed):
        return [by_caption[c].vectors[:n] for c, n in zip(captions, lengths, strict=True)]

    guo, words = _load(evaluator_files)
    result = evaluate_hml3d(oracle, items, guo, words, repeats=2, mm_items=3, mm_repeats=4, progress=False)
    assert result["made_fid"]["mean"] == pytest.approx(0.0, abs=1e-6)
    for key in ("top1", "top2", "top3", "matching", "diversity"):
        assert result[f"made_{key}"]["mean"] == pytest.approx(result[f"real_{key}"]["mean"], abs=1e-6), key
    assert result["made_multimodality"]["mean"] == pytest.approx(0.0, abs=1e-6)  # the same motion every time
    assert 0 < result["real_top1"]["mean"] <= result["real_top2"]["mean"] <= result["real_top3"]["mean"] <= 1

    def noise(captions, lengths, seed):
        rng = np.random.default_rng(seed)
        return [rng.normal(size=(n, 263)).astype(np.float32) for n in lengths]

    other = evaluate_hml3d(noise, items, guo, words, repeats=2, mm_items=3, mm_repeats=4, progress=False)
    assert other["made_fid"]["mean"] > 1e-3 and other["made_multimodality"]["mean"] > 1e-3  # (a small evaluator)
    again = evaluate_hml3d(noise, items, guo, words, repeats=2, mm_items=3, mm_repeats=4, progress=False)
    assert again["made_fid"] == other["made_fid"]  # seeded


def test_eval_command_runs_the_protocol(tmp_path, evaluator_files, monkeypatch, capsys):
    folder, glove = evaluator_files
    data = write_test_split(tmp_path / "hml3d")
    out = tmp_path / "result.json"
    args = ["eval", "t2m", "--checkpoint", tiny_run() / "pipeline", "--hml3d-data", data, "--hml3d-evaluator", folder,
            "--glove", glove, "--limit", "32", "--repeats", "1", "--mm-prompts", "2", "--mm-samples", "2",
            "--steps", "2", "--json", out, "--quiet"]  # fmt: skip
    code, text, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    assert "published protocol" in text and "R-precision top 3" in text
    result = json.loads(out.read_text())
    assert result["settings"]["items"] == 32 and result["made_fid"]["mean"] >= 0
    without_glove = [a for a in args if a not in ("--glove", glove, "--json", out)]
    assert_one_line_error(run(monkeypatch, capsys, *without_glove), "--glove")
