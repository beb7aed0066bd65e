"""Train the 2D -> 3D lifter on synthetic projections of the corpus train split.

    python -m motiongen.training.train_lifter --which temporal --out runs/lifter/temporal
    python -m motiongen.training.train_lifter --which per_frame --out runs/lifter/per_frame

Every step draws fresh windows, cameras and detector noise (lifting/synthetic.py), so the model
never sees the same 2D input twice. Loss: MPJPE on pelvis-relative camera-space joints, the same
on frame-to-frame velocities, and cross-entropy on foot contacts. Weights are saved as safetensors every `save_every` steps
together with the optimiser state, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from motiongen.lifting.cameras import NoiseModel
from motiongen.lifting.synthetic import Track, make_batch, sample_windows
from motiongen.models.lifter import TemporalLifter

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "lifter.yaml"


def corpus_tracks(split: str, loop_frames: int, corpus: str = "builtin") -> list[Track]:
    """The corpus clips of one split as tracks; cyclic clips repeated to `loop_frames`."""
    from motiongen.data.augment import loop
    from motiongen.data.corpus import load_corpus

    tracks = []
    for clip in load_corpus(split, corpus=corpus):
        motion = loop(clip.motion, loop_frames) if clip.cyclic else clip.motion
        tracks.append(Track.from_motion(motion))
    return tracks


def lifter_loss(pred, target, contact_logits, contacts, velocity_weight: float, contact_weight: float):
    """MPJPE + velocity error (metres) + foot-contact cross-entropy."""
    position = (pred - target).norm(dim=-1).mean()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(contact_logits, contacts)
    loss = position + contact_weight * bce
    logs = {"mpjpe_mm": 1000 * position.item(), "contact_bce": bce.item()}
    if velocity_weight > 0 and pred.shape[1] > 1:
        velocity = ((pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])).norm(dim=-1).mean()
        loss = loss + velocity_weight * velocity
        logs["velocity_mm"] = 1000 * velocity.item()
    return loss, logs


def _optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """The AdamW state as flat tensors (for safetensors) + the JSON-able rest."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value) and value.ndim > 0:
                tensors[f"{pid}.{key}"] = value.contiguous()
            else:
                scalars[f"{pid}.{key}"] = float(value)
    return tensors, scalars


def _load_optimizer_state(optimizer: torch.optim.Optimizer, tensors: dict, scalars: dict) -> None:
    state = optimizer.state_dict()
    entries: dict[int, dict] = {}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        entries.setdefault(int(pid), {})[key] = value
    for name, value in scalars.items():
        pid, key = name.split(".", 1)
        entries.setdefault(int(pid), {})[key] = torch.tensor(value)
    state["state"] = entries
    optimizer.load_state_dict(state)


def save_checkpoint(out: Path, model, optimizer, step: int, history: list) -> None:
    model.save_pretrained(out / "model")
    tensors, scalars = _optimizer_state(optimizer)
    save_file(tensors, out / "optimizer.safetensors")
    (out / "state.json").write_text(json.dumps({"step": step, "optimizer": scalars, "history": history}))


def train(
    which: str,
    out: Path,
    steps: int | None = None,
    progress: bool = True,
    threads: int | None = None,
    config: dict | None = None,
    corpus: str = "builtin",
    init: Path | None = None,
    learning_rate: float | None = None,
) -> Path:
    """Train (or resume) model `which` of the config (configs/lifter.yaml unless given) into `out`,
    on the train split of `corpus`; `init`: start from these weights (fine-tuning) instead of random."""
    config = config or yaml.safe_load(CONFIG.read_text())
    run = dict(config[which])
    if learning_rate:
        run["learning_rate"] = learning_rate
    steps = steps or run["steps"]
    if threads:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config["seed"])

    tracks = corpus_tracks("train", config["loop_frames"], corpus)
    model = TemporalLifter.from_pretrained(init) if init else TemporalLifter(**run["model"])
    window = model.config.window
    noise = NoiseModel(toeless=config.get("toeless", 0.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=run["learning_rate"], weight_decay=0.01)
    warmup = (
        min(run["warmup_steps"], max(1, steps // 10)) if init else run["warmup_steps"]
    )  # fine-tuning: short warm-up

    def lr_factor(s: int) -> float:  # linear warm-up, then cosine decay to zero
        return min(1.0, (s + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    start, history = 0, []
    if (out / "state.json").exists():  # resume
        state = json.loads((out / "state.json").read_text())
        model = TemporalLifter.from_pretrained(out / "model")
        optimizer = torch.optim.AdamW(model.parameters(), lr=run["learning_rate"], weight_decay=0.01)
        _load_optimizer_state(optimizer, load_file(out / "optimizer.safetensors"), state["optimizer"])
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
        start, history = state["step"], state["history"]
        with warnings.catch_warnings():  # fast-forward the schedule; the optimiser already took these steps
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(start):
                schedule.step()

    # One random stream per step: a resumed run draws the same data as an uninterrupted one.
    model.train()
    logs_sum: dict[str, float] = {}
    began = time.time()
    bar = tqdm(range(start, steps), desc=f"train {which}", disable=not progress, initial=start, total=steps)
    for step in bar:
        rng = np.random.default_rng([config["seed"], step])
        torch.manual_seed(config["seed"] * 1_000_003 + step)  # dropout, likewise
        positions, heads = sample_windows(tracks, run["batch_size"], window, rng, config["speed"], config["mirror"])
        batch = make_batch(positions, heads, rng, noise=noise)
        pred, contact_logits = model(torch.from_numpy(batch.inputs))
        loss, logs = lifter_loss(
            pred,
            torch.from_numpy(batch.target),
            contact_logits,
            torch.from_numpy(batch.contacts),
            run["velocity_weight"],
            run["contact_weight"],
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        for k, v in logs.items():
            logs_sum[k] = logs_sum.get(k, 0.0) + v
        if (step + 1) % 100 == 0 or step + 1 == steps:
            n = (step % 100) + 1
            entry = {"step": step + 1, "seconds": round(time.time() - began, 1)}
            entry.update({k: round(v / n, 2) for k, v in logs_sum.items()})
            history.append(entry)
            logs_sum = {}
            bar.set_postfix(mpjpe=entry["mpjpe_mm"])
            if not progress:
                print(json.dumps(entry), flush=True)
        if (step + 1) % run.get("save_every", 500) == 0 or step + 1 == steps:
            save_checkpoint(out, model, optimizer, step + 1, history)
    return out / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--which", choices=["temporal", "per_frame"], default="temporal")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--corpus", choices=["builtin", "v2"], default="builtin", help="train split of this corpus")
    parser.add_argument("--init", type=Path, default=None, help="start from this model folder (fine-tuning)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the config's)")
    args = parser.parse_args()
    train(
        args.which,
        args.out,
        args.steps,
        progress=not args.quiet,
        threads=args.threads,
        corpus=args.corpus,
        init=args.init,
        learning_rate=args.lr,
    )


if __name__ == "__main__":
    main()
