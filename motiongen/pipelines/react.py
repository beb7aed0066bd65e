"""`ReactivePartnerPipeline`: a leader's `Motion` -> the partner dancing with it, in the
diffusers pipeline style; `duet` makes both people from text.

Components: the denoiser (210-D: motion features + where the leader is seen from the partner,
conditioning/partner.py), the partner conditioner (the leader's motion as tokens), the text
conditioner (optional words: "the follower spins under the leader's arm") and a sampling
scheduler config. Context = text tokens + partner tokens.

The partner comes out in the leader's world frame. Leaders longer than the model's window are
answered window by window: each window continues the partner from the last seconds of the one
before (given as known frames, the partial-motion input the model is trained with), so the
seams are smooth and the placement is carried over exactly.

With `streaming=True` the partner is made in chunks, each seeing the leader only up to the
chunk's end plus the look-ahead, and each frame attending to leader frames up to its own time
plus the look-ahead: the partner could be made as the leader's motion arrives.

    pipe = ReactivePartnerPipeline.from_pretrained("checkpoints/partner")
    partner = pipe(load_motion("leader.bvh"), text="dances salsa", seed=0)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DiffusionPipeline

from motiongen.conditioning.base import concat_context
from motiongen.conditioning.partner import (
    PAIR_DIM,
    STREAM_CHUNK,
    PartnerConditioner,
    generated_features,
    lookahead_mask,
    partner_inputs,
    place_generated,
)
from motiongen.conditioning.text import TextConditioner
from motiongen.errors import UserError
from motiongen.models.denoiser import FEATURE_VERSION, MotionDenoiser
from motiongen.motion.motion import Motion
from motiongen.paths import checkpoint_path, missing_checkpoint, where_checkpoints_are
from motiongen.pipelines.base import MAX_SECONDS, check_feature_layout, check_pipeline_folder, frames_for, load_checked
from motiongen.sampling.diffusion import make_sampler, sample
from motiongen.sampling.flow import check_sampler, is_flow_scheduler, sample_flow
from motiongen.sampling.guidance import classifier_free_guidance

CONTEXT_SECONDS = 2.0  # partner frames carried over between windows of a long leader
DEFAULT_GUIDANCE = 2.0


class ReactivePartnerPipeline(DiffusionPipeline):
    def __init__(
        self,
        denoiser: MotionDenoiser,
        partner_conditioner: PartnerConditioner,
        text_conditioner: TextConditioner,
        scheduler,
    ):
        super().__init__()
        self.register_modules(
            denoiser=denoiser, partner_conditioner=partner_conditioner, text_conditioner=text_conditioner,
            scheduler=scheduler,
        )  # fmt: skip
        self.last_timing: dict[str, float] = {}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> ReactivePartnerPipeline:
        """Load a pipeline folder; anything missing or incompatible is a UserError."""
        path = checkpoint_path(pretrained_model_name_or_path)
        check_checkpoint(path)
        parts = ("denoiser", "partner_conditioner", "text_conditioner")
        pipe = load_checked(super().from_pretrained, path, "partner checkpoint", parts, **kwargs)
        pipe.set_progress_bar_config(leave=False)
        return pipe

    @property
    def fps(self) -> float:
        return float(self.denoiser.config.fps)

    @property
    def lookahead(self) -> int:
        return int(self.partner_conditioner.config.lookahead)

    @torch.no_grad()
    def __call__(
        self,
        leader: Motion,
        text: str | None = None,
        seconds: float | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = DEFAULT_GUIDANCE,
        projected_guidance: bool = True,
        seed: int | None = 0,
        sampler: str = "ddim",
        streaming: bool = False,
        progress: bool = True,
    ) -> Motion:
        """The partner of `leader` (its first `seconds`, default all of it, up to 60 s), placed in
        the leader's world. `text` optionally says what the partner does."""
        if not isinstance(leader, Motion):
            raise UserError("the leader must be a Motion (load a file with motiongen.io.load_motion)")
        if text is not None and not text.strip():
            text = None
        if guidance_scale < 0:
            raise UserError(f"--guidance must be >= 0, got {guidance_scale}")
        if num_inference_steps < 1 or num_inference_steps > 1000:
            raise UserError(f"--steps must be between 1 and 1000, got {num_inference_steps}")
        check_sampler(self.scheduler, sampler)
        scheduler = self.scheduler if sampler == "flow" else make_sampler(sampler, self.scheduler.config)
        leader = leader.resampled(self.fps)
        frames = len(leader) if seconds is None else frames_for(seconds, self.fps)
        if frames > len(leader):
            raise UserError(f"--seconds {seconds:g} is longer than the leader ({leader.duration:.1f} s)")
        if frames > round(MAX_SECONDS * self.fps):
            raise UserError(
                f"the leader is {leader.duration:.1f} s long; a partner is made for up to {MAX_SECONDS:g} s: "
                f"pass --seconds {MAX_SECONDS:g} (or less) to answer its start"
            )
        if frames < 2:
            raise UserError("the leader needs at least two frames")
        leader = leader.slice(0, frames)
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        generator = torch.Generator().manual_seed(seed)

        start = time.perf_counter()
        text_cond = self.text_conditioner.encode([text]) if text else self.text_conditioner.unconditional(1)
        self.last_timing = {"text_s": time.perf_counter() - start, "model_s": 0.0}
        partner = self._answer(leader, text_cond, generator, scheduler, num_inference_steps,
                               (guidance_scale, projected_guidance), streaming, progress)  # fmt: skip
        self.last_timing["model_s"] = time.perf_counter() - start - self.last_timing["text_s"]
        meta = {"seed": seed, "sampler": sampler, "role": "partner", "streaming": streaming}
        meta["steps"] = num_inference_steps
        if sampler != "flow":  # a flow student has its guidance baked in
            meta["guidance"] = guidance_scale
        if getattr(self, "checkpoint_name", None):  # set when loaded from a folder
            meta["checkpoint"] = self.checkpoint_name
        if text:
            meta["caption"] = text.strip()
        if leader.meta.get("name") or leader.meta.get("source"):
            meta["partner_of"] = str(leader.meta.get("name") or leader.meta.get("source"))
        partner.meta = meta
        return partner

    def _answer(self, leader, text_cond, generator, scheduler, steps, guidance, streaming, progress) -> Motion:
        """The partner over all of `leader`'s frames, window by window (or chunk by chunk)."""
        total, fps = len(leader), self.fps
        window = int(self.denoiser.config.max_frames)
        context = min(int(CONTEXT_SECONDS * fps), window // 2)
        chunk = min(STREAM_CHUNK, window - 1)
        out: Motion | None = None
        done = 0
        while done < total:
            if streaming:
                stop = min(done + chunk, total)
                begin = max(0, stop - window)
            else:
                begin = max(0, done - context)
                stop = min(begin + window, total)
            seen = leader.slice(begin, min(stop + self.lookahead, total))  # what this window may see
            anchor = out.slice(begin, done) if done > begin else None
            features = self._window(seen, stop - begin, anchor, text_cond, generator, scheduler, steps, guidance,
                                    streaming, progress)  # fmt: skip
            placed = place_generated(features, leader.slice(begin, stop), anchor)
            out = placed if out is None else _join(out.slice(0, done), placed.slice(done - begin))
            done = stop
        return out

    def _window(self, seen, frames, anchor, text_cond, generator, scheduler, steps, guidance, streaming, progress):
        """Raw generated features [frames, 210] for one window; `seen`: the leader from the
        window's first frame on; `anchor`: the partner's first frames, already made."""
        device = self.denoiser.device
        known = torch.zeros(1, frames, PAIR_DIM)
        known_mask = torch.zeros(1, frames, self.denoiser.config.num_groups, dtype=torch.bool)
        if anchor is not None:
            known[0, : len(anchor)] = generated_features(anchor, seen.slice(0, len(anchor)))
            known_mask[0, : len(anchor)] = True
        known_norm = self.denoiser.normalize(known.to(device))
        known_mask = known_mask.to(device)
        feature_mask = self.denoiser.feature_mask(known_mask)

        partner = self.partner_conditioner.encode(partner_inputs(seen)[None])
        cond = concat_context([text_cond, partner])
        uncond = concat_context([
            self.text_conditioner.unconditional(1, text_cond[0].shape[1]),
            self.partner_conditioner.unconditional(1, partner[0].shape[1]),
        ])  # fmt: skip
        # Which context tokens each frame may see (text: all; the leader: up to the look-ahead).
        visible = lookahead_mask(frames, text_cond[0].shape[1], partner[0].shape[1],
                                 self.lookahead if streaming else None).to(device)  # fmt: skip

        def model(x, t, tokens, mask):
            reps = x.shape[0]
            mask = mask[:, None, :] & visible[None]
            return self.denoiser(x, t, tokens, mask, known_norm.expand(reps, -1, -1), known_mask.expand(reps, -1, -1))

        noise = torch.randn(1, frames, PAIR_DIM, generator=generator).to(device)
        known_noise = torch.randn(1, frames, PAIR_DIM, generator=generator).to(device)
        any_known = anchor is not None
        if is_flow_scheduler(scheduler):  # a distilled student: guidance is baked in
            x0 = sample_flow(lambda x, t: model(x, t, *cond), noise, steps, scheduler,
                             known_norm if any_known else None, feature_mask if any_known else None, progress)  # fmt: skip
        else:
            scale, projected = guidance
            denoise = classifier_free_guidance(model, cond, uncond, scale, projected)
            x0 = sample(denoise, scheduler, noise, steps, known_norm if any_known else None,
                        feature_mask if any_known else None, known_noise, progress)  # fmt: skip
        return self.denoiser.denormalize(x0)[0].cpu()


def _join(first: Motion, second: Motion) -> Motion:
    return Motion(np.concatenate([first.quats, second.quats]), np.concatenate([first.root, second.root]),
                  first.fps, dict(first.meta))  # fmt: skip


def clean_up(partner: Motion, leader: Motion) -> Motion:
    """The partner moved out of the leader's body (motion/separation.py), the physical clean-up
    (planted feet, floor) every generator ends with, then hands that stay near the leader's
    taken (motion/hand_hold.py)."""
    from motiongen.motion.cleanup import cleanup
    from motiongen.motion.hand_hold import hold_hands
    from motiongen.motion.separation import push_apart

    leader = leader.slice(0, len(partner))
    return hold_hands(cleanup(push_apart(partner, leader)), leader)


def duet(
    prompt: str,
    text_pipe,
    partner_pipe: ReactivePartnerPipeline,
    seconds: float = 6.0,
    seed: int = 0,
    num_inference_steps: int = 50,
    sampler: str = "ddim",
    partner_text: str | None = None,
    progress: bool = True,
) -> tuple[Motion, Motion]:
    """Two people from one prompt: the leader from the text model, the follower answering it
    from the partner model (with `partner_text`, or the prompt). Both are cleaned up."""
    # the text pipeline cleans the leader up itself
    leader = text_pipe([prompt], seconds=seconds, num_inference_steps=num_inference_steps, seed=seed,
                       sampler=sampler, progress=progress)[0]  # fmt: skip
    follower = partner_pipe(leader, text=partner_text or prompt, num_inference_steps=num_inference_steps,
                            seed=seed + 1, sampler=sampler, progress=progress)  # fmt: skip
    leader.meta["role"] = "leader"
    return leader, clean_up(follower, leader)


def check_checkpoint(path: Path) -> None:
    """A clear error for a missing, partial or incompatible partner checkpoint folder."""
    path = checkpoint_path(path)
    if not path.exists():
        if where_checkpoints_are():
            raise UserError(missing_checkpoint(path, "partner checkpoint"))
        raise UserError(
            f"no partner model in {path}; train one with `motiongen train --config configs/partner.yaml "
            f"--output runs/partner` and pass --checkpoint runs/partner/pipeline"
        )
    parts = ("denoiser", "partner_conditioner", "text_conditioner")
    config = check_pipeline_folder(path, ReactivePartnerPipeline.__name__, "partner", parts)
    check_feature_layout(config, path, "partner checkpoint", PAIR_DIM, FEATURE_VERSION, "configs/partner.yaml")


def default_checkpoint(student: bool = False) -> Path:
    """The shipped partner model, or with `student` its flow student (`--sampler flow`)."""
    from motiongen.paths import CHECKPOINT_DIR

    if student:
        return Path(os.environ.get("MOTIONGEN_PARTNER_FLOW_CHECKPOINT", CHECKPOINT_DIR / "partner-flow"))
    return Path(os.environ.get("MOTIONGEN_PARTNER_CHECKPOINT", CHECKPOINT_DIR / "partner"))
