"""What a text-model config trains on: the corpus (unless `corpus: none`) and the datasets of
its `data:` section, mixed by weight, made into windows (a pre-built pool or a stream)."""

from __future__ import annotations

import torch

from motiongen.data.corpus import Clip, load_corpus


def process_state():
    """accelerate's view of this process (one of several under `accelerate launch`)."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def training_clips(config, progress: bool = True) -> tuple[list[Clip], list[float] | None]:
    """(clips, per-clip drawing weights). Each source (the corpus, every data entry) gets its
    weight's share of the windows, spread evenly over its clips; without data entries the
    weights are None (the corpus alone, drawn as before)."""
    from motiongen.data.datasets import load_dataset, parse_specs

    clips: list[Clip] = []
    weights: list[float] = []
    if config.corpus != "none":
        corpus = load_corpus(config.split, corpus=config.corpus, progress=progress)
        clips += corpus
        weights += [config.corpus_weight / max(len(corpus), 1)] * len(corpus)
    if not config.data:
        return clips, None
    state = process_state()
    with state.main_process_first():  # the main process converts and caches; the others then read the cache
        for spec in parse_specs(config.data):
            found = load_dataset(spec, config.data_cache, progress and state.is_main_process)
            clips += found
            weights += [spec.weight / len(found)] * len(found)
    return clips, weights


def training_windows(clips, config, weights=None, progress: bool = True):
    """(window source with .batch(size, generator), windows to take feature statistics from)."""
    if config.windows == "stream":
        from motiongen.data.stream import WindowStream

        stream = WindowStream.from_config(clips, config, clip_weights=weights)
        return stream, stream.sample_windows(config.pool_size, config.seed)
    from motiongen.data.dataset import WindowPool

    pool = WindowPool.from_config(clips, config, progress=progress, clip_weights=weights)
    return pool, pool.windows
