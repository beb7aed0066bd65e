"""Train the contrastive text-motion evaluator on the corpus train split.

Training windows come from the corpus window pool (mirroring with caption swap, speed changes,
looping, holding still, compositions with composed captions). The frozen sentence embeddings of
all captions are computed once. Each step draws a batch of windows and one caption for each and
minimises the symmetric InfoNCE loss, not using windows of the same action as negatives of each
other. The result is saved with `save_pretrained` (safetensors + config.json) together with
`evaluation.json`: R-precision of real train- and test-split windows, next to chance.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from motiongen.models.evaluator import MotionTextEvaluator


@dataclass
class EvaluatorTrainingConfig:
    steps: int = 1200
    batch_size: int = 64
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    pool_size: int = 800
    min_frames: int = 20
    max_frames: int = 120
    compose_prob: float = 0.3
    eval_items: int = 256  # real windows per split for the R-precision report
    seed: int = 0
    threads: int = 1  # more threads only contend on a shared 2-core CPU
    corpus: str = "builtin"  # "builtin" or "v2" (motiongen.data.corpus)


def window_labels(pool, clips) -> torch.Tensor:
    """An action label per window: single-clip windows share their clip's action (mirrored clips
    whose captions change get their own label); each composed window is its own label."""
    from motiongen.data.captions import mirror_caption

    by_caption = {}
    for clip in clips:
        for cap in clip.captions:
            by_caption[cap] = clip.action
            if mirror_caption(cap) != cap:
                by_caption[mirror_caption(cap)] = clip.action + "~mirrored"
    names: dict[str, int] = {}
    labels = []
    for i, window in enumerate(pool.windows):
        key = by_caption.get(window.captions[0], f"composed-{i}")
        labels.append(names.setdefault(key, len(names)))
    return torch.tensor(labels)


def lr_at(step: int, cfg: EvaluatorTrainingConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    done = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.learning_rate * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))


def train_evaluator(
    output: str | Path, cfg: EvaluatorTrainingConfig | None = None, progress: bool = True, log=print
) -> dict:
    """Train, save to `output`, and return the evaluation report."""
    from motiongen.data.corpus import load_corpus
    from motiongen.data.dataset import WindowPool, feature_stats
    from motiongen.metrics.generation import r_precision
    from motiongen.metrics.text_to_motion import build_items, retrieval_ceiling

    cfg = cfg or EvaluatorTrainingConfig()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    start_time = time.time()
    train_clips = load_corpus("train", corpus=cfg.corpus, progress=progress)
    pool = WindowPool(
        train_clips, size=cfg.pool_size, max_frames=cfg.max_frames, min_frames=cfg.min_frames,
        compose_prob=cfg.compose_prob, seed=cfg.seed, progress=progress,
    )  # fmt: skip
    labels = window_labels(pool, train_clips)
    model = MotionTextEvaluator(max_frames=max(320, cfg.max_frames))
    mean, std = feature_stats(pool.windows)
    model.feature_mean.copy_(mean)
    model.feature_std.copy_(std)

    captions = sorted({c for w in pool.windows for c in w.captions})
    log(f"{len(pool)} windows, {len(captions)} captions, {int(labels.max()) + 1} labels")
    sentence = dict(zip(captions, model.sentence_embeddings(captions), strict=True))

    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    model.train()
    bar = tqdm(range(cfg.steps), desc="training evaluator", disable=not progress)
    losses = []
    for step in bar:
        idx = torch.randint(0, len(pool), (cfg.batch_size,), generator=gen)
        windows = [pool.windows[i] for i in idx.tolist()]
        lengths = torch.tensor([len(w.features) for w in windows])
        feats = torch.nn.utils.rnn.pad_sequence([w.features for w in windows], batch_first=True)
        text = torch.stack([sentence[rng.choice(w.captions)] for w in windows])
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = model.contrastive_loss(model.embed_features(feats, lengths), model.embed_sentences(text), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
    model.eval()
    train_seconds = time.time() - start_time

    report = {
        "corpus_train_clips": sorted(c.name for c in train_clips),
        "config": asdict(cfg),
        "train_seconds": round(train_seconds, 1),
        "final_loss": sum(losses[-50:]) / len(losses[-50:]),
    }
    for split in ("train", "test"):
        clips = load_corpus(split, corpus=cfg.corpus, progress=progress)
        items = build_items(clips, cfg.eval_items, frames=80, seed=1234)
        text = model.encode_texts([it.caption for it in items])
        motion = model.encode_motions([it.motion for it in items])
        top = r_precision(text, motion, 32, 3, seed=0)
        report[split] = {
            "clips": len(clips),
            "items": len(items),
            "r_precision": [round(float(t), 4) for t in top],
            "ceiling": [round(float(t), 4) for t in retrieval_ceiling([it.clip for it in items], seed=0)],
            "chance": [1 / 32, 2 / 32, 3 / 32],
        }
        log(f"{split}: R-precision top-1/2/3 {report[split]['r_precision']} "
            f"(perfect evaluator {report[split]['ceiling']}, chance {[round(c, 4) for c in report[split]['chance']]})")  # fmt: skip

    output = Path(output)
    model.save_pretrained(str(output))
    (output / "evaluation.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report
