"""A training config's `data:` section: datasets mixed with the corpus by weight, windows drawn
from a stream, batches built ahead by workers, and clear errors before any training."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch
from dataset_fixtures import write_bvh_folder, write_humanml3d
from t2m_helpers import tiny_config

from motiongen.errors import UserError
from motiongen.training.config import TrainConfig


@pytest.fixture(scope="module")
def humanml3d(tmp_path_factory):
    return write_humanml3d(tmp_path_factory.mktemp("data") / "HumanML3D")


def test_a_data_section_loads_from_yaml_next_to_corpus_v2(tmp_path, humanml3d):
    path = tmp_path / "c.yaml"
    path.write_text(f"corpus: v2\ncorpus_weight: 0.5\ndata:\n  - {{format: humanml3d, path: {humanml3d}, weight: 2}}\n")
    config = TrainConfig.load(path)
    assert config.corpus == "v2" and config.data[0]["format"] == "humanml3d" and config.windows == "pool"


@pytest.mark.parametrize(
    "text, message",
    [
        ("data:\n  - {format: humanml3d}\n", "data entry 1: path must name the dataset's folder"),
        ("data: humanml3d\n", "data must be a list"),
        ("corpus: none\n", "corpus: none needs datasets in `data`"),
        ("windows: lazy\n", "windows must be 'pool' or 'stream'"),
        ("loader_workers: -1\n", "loader_workers must not be negative"),
    ],
)
def test_bad_data_options_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as info:
        TrainConfig.load(path)
    assert "\n" not in str(info.value)


def test_a_missing_dataset_folder_stops_training_with_one_line(tmp_path):
    from motiongen.training.trainer import train

    config = tiny_config(data=[{"format": "humanml3d", "path": str(tmp_path / "HumanML3D")}], data_cache=str(tmp_path))
    with pytest.raises(UserError, match=r"humanml3d: no folder .*HumanML3D \(data entry path\)"):
        train(config, tmp_path / "run", progress=False)


def test_sources_get_their_weights_share_of_the_windows(tmp_path, humanml3d):
    from motiongen.data.stream import WindowStream
    from motiongen.training.data import training_clips

    mine = write_bvh_folder(tmp_path / "mine")
    config = tiny_config(corpus="builtin", corpus_weight=1.0, data_cache=str(tmp_path / "cache"), data=[
        {"format": "humanml3d", "path": str(humanml3d), "weight": 2.0},
        {"format": "bvh", "path": str(mine), "weight": 1.0, "name": "mine"},
    ])  # fmt: skip
    clips, weights = training_clips(config, progress=False)
    share = Counter()
    for clip, weight in zip(clips, weights, strict=True):
        share[clip.name.split("/")[0] if "/" in clip.name else "corpus"] += weight
    assert share == pytest.approx({"corpus": 1.0, "humanml3d": 2.0, "mine": 1.0})
    stream = WindowStream.from_config(clips, config, clip_weights=weights)
    stream.rng = random.Random(0)
    drawn = Counter(stream._draw().action for _ in range(2000))
    corpus = sum(n for action, n in drawn.items() if action not in ("humanml3d", "mine"))
    assert drawn["humanml3d"] / 2000 == pytest.approx(0.5, abs=0.04)
    assert drawn["mine"] / 2000 == pytest.approx(0.25, abs=0.04) and corpus / 2000 == pytest.approx(0.25, abs=0.04)


def test_stream_batches_depend_only_on_their_generator(humanml3d, tmp_path):
    from motiongen.data.datasets import DatasetSpec, load_dataset
    from motiongen.data.stream import WindowStream

    clips = load_dataset(DatasetSpec("humanml3d", str(humanml3d)), cache_root=tmp_path, progress=False)
    stream = WindowStream.from_config(clips, tiny_config(windows="stream", max_frames=40, min_frames=10))
    a = stream.batch(6, torch.Generator().manual_seed(3))
    stream.batch(5, torch.Generator().manual_seed(4))  # something else in between
    b = stream.batch(6, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
    assert a[0].shape[0] == 6 and int(a[1].max()) <= 40 and int(a[1].min()) >= 2


def test_batches_built_ahead_by_workers_are_the_batches_built_in_the_loop():
    from motiongen.training.prefetch import part_batches

    def draw(size, generator):
        return torch.rand(size, generator=generator)

    inline = [(b, torch.rand(2, generator=g)) for b, g in part_batches(draw, range(1, 3), 5, 4, 3, 6, workers=0)]
    ahead = [(b, torch.rand(2, generator=g)) for b, g in part_batches(draw, range(1, 3), 5, 4, 3, 6, workers=2)]
    assert len(inline) == 6 == len(ahead)  # steps 3, 4, 5 x parts 1, 2
    for (a, na), (b, nb) in zip(inline, ahead, strict=True):
        assert torch.equal(a, b) and torch.equal(na, nb)  # the noise drawn after the batch too


def test_a_tiny_run_trains_on_a_dataset_alone_from_a_stream(tmp_path, humanml3d):
    import json

    from motiongen.training.trainer import train

    config = tiny_config(corpus="none", windows="stream", pool_size=16, max_steps=2, log_every=1, save_every=2,
                         data=[{"format": "humanml3d", "path": str(humanml3d)}], data_cache=str(tmp_path / "cache"))  # fmt: skip
    folder = train(config, tmp_path / "run", progress=False)
    info = json.loads((folder / "training.json").read_text())
    assert info["windows"] == "stream" and all(name.startswith("humanml3d/") for name in info["clips"])
    assert [json.loads(line)["step"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()] == [1, 2]
