"""Rectified flow: the straight path between noise and motion, the few-step Euler sampler, and
the (noise, sample) pairs a reflow student learns from.

Sign convention (the one of diffusers' flow matching, `FlowMatchEulerDiscreteScheduler`):

    x_sigma = (1 - sigma) * x_data + sigma * noise,   sigma from 1 (pure noise) down to 0 (data)
    velocity v = d x_sigma / d sigma = noise - x_data
    Euler step: x_next = x_sigma + (sigma_next - sigma) * v

(In the rectified-flow paper's time t = 1 - sigma, x_t = (1 - t) noise + t data and its velocity
data - noise is -v.) The model's timestep input is sigma * num_train_timesteps (1000), the scale
diffusers uses.

Like the diffusion teacher, a flow student's network outputs the clean sample x_hat; its velocity
is v = (x_sigma - x_hat) / sigma. On a reflow pair the clean end of the straight path is known,
so fitting x_hat to it is the velocity objective weighted by sigma^2, and the output layer keeps
the meaning it had in the teacher the student starts from. A one-step sample is x_hat(noise, 1).

The sampler is a small pure function over a velocity callable (as in k-diffusion); the sigma grid
comes from the scheduler, so a checkpoint's `shift` setting applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from tqdm import tqdm

from motiongen.errors import UserError


def flow_scheduler(num_train_timesteps: int = 1000, shift: float = 1.0) -> FlowMatchEulerDiscreteScheduler:
    """The scheduler stored with a flow student: it marks the checkpoint as a flow model."""
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=num_train_timesteps, shift=shift)


def is_flow_scheduler(scheduler) -> bool:
    return isinstance(scheduler, FlowMatchEulerDiscreteScheduler)


def flow_sigmas(steps: int, scheduler: FlowMatchEulerDiscreteScheduler | None = None) -> torch.Tensor:
    """`steps` + 1 noise levels from 1 to 0, evenly spaced before the scheduler's shift.
    (diffusers' own default grid ends at sigma_min, which wastes a step of a 2-step sampler.)"""
    if steps < 1:
        raise UserError(f"the number of sampling steps must be at least 1, got {steps}")
    scheduler = scheduler or flow_scheduler()
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler.config)  # do not touch the caller's
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 0.0, steps + 1)[:-1].tolist())
    return scheduler.sigmas.float()


def interpolate(data: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The point at noise level `sigma` ([B] or scalar) on the straight path from data to noise."""
    sigma = torch.as_tensor(sigma, dtype=data.dtype, device=data.device).reshape(-1, *([1] * (data.dim() - 1)))
    return (1 - sigma) * data + sigma * noise


def velocity_from_sample(x: torch.Tensor, sample: torch.Tensor, sigma) -> torch.Tensor:
    """The velocity that leads from `x` at `sigma` straight to the predicted clean `sample`."""
    return (x - sample) / sigma


@torch.no_grad()
def euler_sample(
    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    noise: torch.Tensor,
    sigmas: torch.Tensor,
    known: torch.Tensor | None = None,
    known_mask: torch.Tensor | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Integrate dx/dsigma = velocity(x, sigma) from x = noise at sigmas[0] (= 1) to sigmas[-1]
    (= 0). `known` [B, T, F] where `known_mask` [B, T, F] is True is kept exactly: before each step
    x there is put on the straight path between `known` and the noise, so the model sees it as
    it was trained, and the result holds `known` there."""
    x = noise
    steps = len(sigmas) - 1
    for i in tqdm(range(steps), desc="sampling", disable=not progress, leave=False):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        if known is not None:
            x = torch.where(known_mask, interpolate(known, noise, sigma), x)
        x = x + (sigma_next - sigma) * velocity(x, sigma)
    if known is not None:
        x = torch.where(known_mask, interpolate(known, noise, sigmas[-1]), x)
    return x


def sample_flow(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    noise: torch.Tensor,
    steps: int,
    scheduler: FlowMatchEulerDiscreteScheduler | None = None,
    known: torch.Tensor | None = None,
    known_mask: torch.Tensor | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Few-step sampling with a clean-sample predictor `predict(x, timestep)` (timestep =
    sigma * num_train_timesteps): one model call per step, no guidance (it is baked in)."""
    scale = (scheduler or flow_scheduler()).config.num_train_timesteps
    sigmas = flow_sigmas(steps, scheduler).to(noise.device)

    def velocity(x, sigma):
        return velocity_from_sample(x, predict(x, sigma * scale), sigma)

    return euler_sample(velocity, noise, sigmas, known, known_mask, progress)


def check_sampler(scheduler, sampler: str) -> None:
    """A flow student runs only with the flow sampler, and the flow sampler only with a student."""
    if is_flow_scheduler(scheduler) and sampler != "flow":
        raise UserError(
            f"this checkpoint is a rectified-flow student: use --sampler flow (with --steps 1, 2 or 4), not '{sampler}'"
        )
    if sampler == "flow" and not is_flow_scheduler(scheduler):
        raise UserError(
            "--sampler flow needs a rectified-flow student checkpoint (e.g. checkpoints/t2m-flow, made with "
            "`motiongen distill`); this one is a diffusion model: use --sampler ddim or dpm"
        )


# -- reflow pairs --------------------------------------------------------------------------------


@dataclass
class ReflowPairs:
    """(noise, sample) pairs with the conditions they were made under, variable length, stored
    frame-concatenated (no padding). All features are normalised (model space).

    noise, sample, known: [total frames, F]; known_mask: [total frames, G] (bool);
    lengths: [N]; captions: N strings; info: how they were made (teacher, sampler, ...)."""

    noise: torch.Tensor
    sample: torch.Tensor
    known: torch.Tensor
    known_mask: torch.Tensor
    lengths: torch.Tensor
    captions: list[str]
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        total = int(self.lengths.sum())
        for name in ("noise", "sample", "known", "known_mask"):
            if len(getattr(self, name)) != total:
                raise ValueError(f"reflow pairs: {name} has {len(getattr(self, name))} frames, lengths sum to {total}")
        if len(self.captions) != len(self.lengths):
            raise ValueError("reflow pairs: one caption per pair")
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(self.lengths.long(), 0)])

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_padded(cls, noise, sample, known, known_mask, lengths, captions, info=None) -> ReflowPairs:
        """From padded batches [B, T, ...] with `lengths` [B] real frames each."""
        keep = torch.arange(noise.shape[1])[None, :] < lengths[:, None]
        return cls(
            noise[keep], sample[keep], known[keep], known_mask[keep], lengths.clone(), list(captions), info or {}
        )

    @classmethod
    def concat(cls, parts: list[ReflowPairs], info: dict | None = None) -> ReflowPairs:
        return cls(
            *(torch.cat([getattr(p, n) for p in parts]) for n in ("noise", "sample", "known", "known_mask", "lengths")),
            [c for p in parts for c in p.captions],
            info if info is not None else (parts[0].info if parts else {}),
        )

    def subset(self, indices) -> ReflowPairs:
        return ReflowPairs.concat([self._one(int(i)) for i in indices], self.info)

    def _one(self, i: int) -> ReflowPairs:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return ReflowPairs(
            self.noise[a:b], self.sample[a:b], self.known[a:b], self.known_mask[a:b],
            self.lengths[i : i + 1], [self.captions[i]], self.info,
        )  # fmt: skip

    def batch(self, indices) -> dict:
        """Padded tensors for the pairs `indices`: noise, sample, known [B, T, F], known_mask
        [B, T, G], frame_mask [B, T], lengths [B], captions."""
        indices = [int(i) for i in indices]
        lengths = self.lengths[indices]
        frames = int(lengths.max())
        out = {
            name: torch.zeros((len(indices), frames) + getattr(self, name).shape[1:], dtype=getattr(self, name).dtype)
            for name in ("noise", "sample", "known", "known_mask")
        }
        for row, i in enumerate(indices):
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            for name in out:
                out[name][row, : b - a] = getattr(self, name)[a:b]
        out["frame_mask"] = torch.arange(frames)[None, :] < lengths[:, None]
        out["lengths"] = lengths
        out["captions"] = [self.captions[i] for i in indices]
        return out

    # -- files (safetensors; captions and info in the header) -------------------------------------
    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {n: getattr(self, n).contiguous() for n in ("noise", "sample", "known", "known_mask", "lengths")}
        metadata = {"captions": json.dumps(self.captions), "info": json.dumps(self.info)}
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=metadata)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReflowPairs:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            return cls(**tensors, captions=json.loads(meta["captions"]), info=json.loads(meta.get("info", "{}")))
        except (OSError, KeyError, ValueError, TypeError, SafetensorError) as exc:
            raise UserError(f"cannot read reflow pairs from {path}: {exc}") from exc


def default_student_checkpoint() -> Path:
    """The shipped flow student, used by `--sampler flow` when no checkpoint is given."""
    import os

    from motiongen.paths import CHECKPOINT_DIR

    return Path(os.environ.get("MOTIONGEN_T2M_FLOW_CHECKPOINT", CHECKPOINT_DIR / "t2m-flow"))
