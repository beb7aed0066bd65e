"""`TextToMotionPipeline`: prompts -> `Motion`s, in the diffusers pipeline style.

Components: the denoiser (with the corpus normaliser as buffers), the text conditioner (its
trainable projection; the frozen encoder is loaded from the installed package or folder named in
its config, never copied into the checkpoint) and a sampling scheduler config. Saved and loaded in
the diffusers folder layout with safetensors weights.

A rectified-flow student (made by `motiongen distill`) is the same pipeline with diffusers'
`FlowMatchEulerDiscreteScheduler` as its scheduler; it samples with `sampler="flow"` in 1-4 steps.

Clips longer than the model's training window are made window by window: each new window is
generated with the last seconds of the previous one given as known frames (the partial-motion
input every model is trained with), so the motion continues smoothly. Prompts in parts ("a person
walks forward, then jumps") are made the same way, part after part, each with its own text.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

from motiongen.conditioning.partial import KnownMotion, expand_mask
from motiongen.conditioning.text import TextConditioner
from motiongen.data.augment import split_caption
from motiongen.errors import UserError
from motiongen.models.denoiser import FEATURE_VERSION, MotionDenoiser
from motiongen.motion.cleanup import cleanup as physical_cleanup
from motiongen.motion.features import FEATURE_DIM, features_to_motion
from motiongen.motion.motion import Motion
from motiongen.paths import checkpoint_path, missing_checkpoint
from motiongen.pipelines.base import (  # noqa: F401 (part of this module's API)
    MAX_SECONDS,
    check_components,
    check_feature_layout,
    check_pipeline_folder,
    check_weights,
    frames_for,
    load_checked,
)
from motiongen.sampling.diffusion import make_sampler, sample
from motiongen.sampling.flow import check_sampler, is_flow_scheduler, sample_flow
from motiongen.sampling.guidance import (
    DEFAULT_SCALE,
    DEFAULT_SIDE,
    PROJECTED_BY_DEFAULT,
    Guidance,
    classifier_free_guidance,
)

CONTEXT_SECONDS = 2.0  # frames carried over between windows of a long clip


class TextToMotionPipeline(DiffusionPipeline):
    def __init__(self, denoiser: MotionDenoiser, text_conditioner: TextConditioner, scheduler):
        super().__init__()
        self.register_modules(denoiser=denoiser, text_conditioner=text_conditioner, scheduler=scheduler)
        self.last_timing: dict[str, float] = {}

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> TextToMotionPipeline:
        """Load a pipeline folder; anything missing or incompatible is a UserError."""
        path = checkpoint_path(pretrained_model_name_or_path)
        check_checkpoint(path)
        pipe = load_checked(super().from_pretrained, path, "checkpoint", ("denoiser", "text_conditioner"), **kwargs)
        pipe.set_progress_bar_config(leave=False)
        from motiongen.conditioning.familiarity import KnownActions

        pipe.known_actions = KnownActions.from_folder(path)
        return pipe

    def unfamiliar(self, prompt: str):
        """The parts of `prompt` far from every caption the model was trained on, each with the
        closest actions it knows (conditioning/familiarity.py); empty when the model has no record."""
        known = getattr(self, "known_actions", None)
        return [] if known is None else known.unfamiliar(self.text_conditioner.cache, prompt)

    @property
    def fps(self) -> float:
        return float(self.denoiser.config.fps)

    # -- generation ---------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        prompts: list[str],
        seconds: float = 4.0,
        num_inference_steps: int = 50,
        guidance_scale: float = DEFAULT_SCALE,
        projected_guidance: bool = PROJECTED_BY_DEFAULT,
        side_guidance: float = DEFAULT_SIDE,
        seed: int | None = 0,
        sampler: str = "ddim",
        progress: bool = True,
        known: KnownMotion | list[KnownMotion] | None = None,
        sequential: bool = True,
        cleanup: bool = True,
    ) -> list[Motion]:
        """One motion per prompt, `seconds` long. Prompt i uses seed `seed + i` (None: random),
        so a prompt's motion does not depend on the rest of the batch. `known` (one per prompt, or
        one for all) fixes frames or body parts the motion must keep. With `sequential`, a prompt
        in parts ("a person walks forward, then jumps") is made part by part: each part gets an
        equal share of the clip and continues from the end of the one before. With
        `projected_guidance` guidance shapes the motion without scaling its amounts (turning,
        speed) with the scale; `side_guidance` commits a prompt that names no side to the side
        its retrieved training captions name (motiongen/sampling/guidance.py). With `cleanup`
        each motion passes through the physical clean-up (planted feet, nothing through the
        floor: motiongen/motion/cleanup.py; known frames stay as given), recorded in
        `meta["cleanup"]`."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if not prompts:
            raise UserError("give at least one prompt")
        for p in prompts:
            if not isinstance(p, str) or not p.strip():
                raise UserError('the prompt is empty; describe the motion, e.g. "a person walks forward"')
        frames = frames_for(seconds, self.fps)
        if guidance_scale < 0:
            raise UserError(f"--guidance must be >= 0, got {guidance_scale}")
        if side_guidance < 0:
            raise UserError(f"--side-guidance must be >= 0, got {side_guidance}")
        if num_inference_steps < 1 or num_inference_steps > 1000:
            raise UserError(f"--steps must be between 1 and 1000, got {num_inference_steps}")
        check_sampler(self.scheduler, sampler)  # a flow student runs its Euler sampler (guidance baked in)
        scheduler = self.scheduler if sampler == "flow" else make_sampler(sampler, self.scheduler.config)
        knowns = self._known_list(known, len(prompts), frames)
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        generators = [torch.Generator().manual_seed(seed + i) for i in range(len(prompts))]

        prompts = [p.strip() for p in prompts]
        parts = [self._parts(p, frames) if sequential else [p] for p in prompts]
        features = self._generate_parts(
            parts, frames, knowns, generators, scheduler, num_inference_steps,
            Guidance(guidance_scale, projected_guidance, side_guidance), progress,
        )  # fmt: skip
        motions = []
        for i, (f, p) in enumerate(zip(features, prompts, strict=True)):
            meta = {"caption": p, "seed": seed + i, "sampler": sampler, **self._made_with(num_inference_steps)}
            if sampler != "flow":  # a flow student has its guidance baked in
                meta["guidance"] = guidance_scale
            if self.text_conditioner.config.retrieve:  # which training captions came with the prompt
                meta["retrieved"] = [c for c, _ in self.text_conditioner.neighbours(p)]
                sides = set().union(*(self.text_conditioner.sides_to_commit(part) for part in parts[i]))
                if side_guidance and guidance_scale and sampler != "flow" and sides:  # to show why it went that way
                    meta["side_guided"] = sorted(sides)
            motions.append(features_to_motion(f, self.fps, meta))
        if cleanup:
            start = time.perf_counter()
            keep = None if knowns is None else [k.mask.any(-1).cpu().numpy() for k in knowns]
            motions = physical_cleanup(motions, keep)
            self.last_timing["cleanup_s"] = time.perf_counter() - start
        return motions

    def _made_with(self, steps: int) -> dict:
        """Steps and checkpoint, for the meta (files record what made them: io/provenance.py)."""
        name = getattr(self, "checkpoint_name", None)  # set when loaded from a folder
        return {"steps": steps, **({"checkpoint": name} if name else {})}

    def _known_list(self, known, batch: int, frames: int) -> list[KnownMotion] | None:
        if known is None:
            return None
        knowns = [known] * batch if isinstance(known, KnownMotion) else list(known)
        if len(knowns) != batch:
            raise UserError(f"got {len(knowns)} known motions for {batch} prompts")
        for k in knowns:
            if k.frames != frames:
                raise UserError(f"the known motion covers {k.frames} frames but {frames} are to be generated")
        return knowns

    def _parts(self, prompt: str, frames: int) -> list[str]:
        """The parts of a prompt made one after another; one part when they would get under a second each."""
        parts = split_caption(prompt)
        return parts if frames >= len(parts) * round(self.fps) else [prompt]

    def _generate_parts(self, parts, frames, knowns, generators, scheduler, steps, guidance, progress):
        """Raw features [B, frames, F] for prompts split into parts (`parts[i]`: prompt i's texts);
        part k of a prompt fills the k-th equal share of its frames. Prompts with the same number
        of parts are made together, one batch per part."""
        self.last_timing = {"text_s": 0.0, "model_s": 0.0}
        batch = len(parts)
        known = torch.zeros(batch, frames, FEATURE_DIM)
        known_mask = torch.zeros(batch, frames, self.denoiser.config.num_groups, dtype=torch.bool)
        if knowns is not None:
            known = torch.stack([k.features for k in knowns])
            known_mask = torch.stack([k.mask for k in knowns])
        features = torch.zeros(batch, frames, FEATURE_DIM)
        for count in sorted({len(p) for p in parts}):
            rows = [i for i, p in enumerate(parts) if len(p) == count]
            bounds = [round(frames * k / count) for k in range(count + 1)]
            for k in range(count):
                start = time.perf_counter()
                texts = [parts[i][k] for i in rows]
                cond = self.text_conditioner.encode(texts)
                uncond = self.text_conditioner.unconditional(len(rows), cond[0].shape[1])
                mirrored = self.text_conditioner.mirrored_retrieval(texts) if guidance.side else None
                text_time = time.perf_counter() - start
                self._extend(
                    features, rows, bounds[k], bounds[k + 1], (cond, uncond, mirrored), known, known_mask,
                    [generators[i] for i in rows], scheduler, steps, guidance, progress,
                )  # fmt: skip
                self.last_timing["text_s"] += text_time
                self.last_timing["model_s"] += time.perf_counter() - start - text_time
        return features

    def _extend(
        self, out, rows, done, end, contexts, known, known_mask, generators, scheduler, steps, guidance, progress
    ):
        """Fill out[rows, done:end] (raw features) window by window; every window after the first
        frame of the clip continues from up to CONTEXT_SECONDS of what is already made."""
        window = int(self.denoiser.config.max_frames)
        context = min(int(CONTEXT_SECONDS * self.fps), window // 2)
        while done < end:
            begin = max(0, done - context)
            stop = min(begin + window, end)
            k, km = known[rows, begin:stop].clone(), known_mask[rows, begin:stop].clone()
            k[:, : done - begin] = out[rows, begin:done]  # carry over the end of what is made
            km[:, : done - begin] = True
            out[rows, begin:stop] = self._generate(contexts, k, km, generators, scheduler, steps, guidance, progress)
            done = stop

    def _generate(self, contexts, known, known_mask, generators, scheduler, steps, guidance, progress, imputed=None):
        """One window: raw features [B, T, F] with raw `known` features where `known_mask` says
        (and where `imputed` [B, T, F] says, without telling the model: KnownMotion.imputed).
        `contexts`: (cond, uncond, mirrored) text contexts (mirrored: None or for side guidance)."""
        cond, uncond, mirrored = contexts
        device = self.denoiser.device
        batch, frames = known.shape[:2]
        noise = torch.stack([torch.randn(frames, FEATURE_DIM, generator=g) for g in generators]).to(device)
        known_noise = torch.stack([torch.randn(frames, FEATURE_DIM, generator=g) for g in generators]).to(device)
        known_norm = self.denoiser.normalize(known.to(device))
        known_mask = known_mask.to(device)
        feature_mask = expand_mask(known_mask)
        if imputed is not None:
            feature_mask = feature_mask | imputed.to(device)

        def model(x, t, tokens, mask):
            reps = x.shape[0] // batch
            return self.denoiser(x, t, tokens, mask, known_norm.repeat(reps, 1, 1), known_mask.repeat(reps, 1, 1))

        any_known = bool(feature_mask.any())
        if is_flow_scheduler(scheduler):  # rectified-flow student: one model call per step, no CFG
            x0 = sample_flow(
                lambda x, t: model(x, t, *cond), noise, steps, scheduler,
                known_norm if any_known else None, feature_mask if any_known else None, progress,
            )  # fmt: skip
            return self.denoiser.denormalize(x0).cpu()
        denoise = classifier_free_guidance(
            model, cond, uncond, guidance.scale, guidance.projected, mirrored, guidance.side
        )
        x0 = sample(
            denoise,
            scheduler,
            noise,
            steps,
            known=known_norm if any_known else None,
            known_mask=feature_mask if any_known else None,
            known_noise=known_noise,
            progress=progress,
        )
        return self.denoiser.denormalize(x0).cpu()


def check_checkpoint(path: Path) -> None:
    """A clear error for a missing, partial or incompatible checkpoint folder."""
    path = checkpoint_path(path)
    if not path.exists():
        raise UserError(missing_checkpoint(path))
    config = check_pipeline_folder(
        path, TextToMotionPipeline.__name__, "text-to-motion", ("denoiser", "text_conditioner")
    )
    check_feature_layout(config, path, "checkpoint", FEATURE_DIM, FEATURE_VERSION, "`motiongen train`")


def default_checkpoint() -> Path:
    from motiongen.paths import CHECKPOINT_DIR

    return Path(os.environ.get("MOTIONGEN_T2M_CHECKPOINT", CHECKPOINT_DIR / "t2m"))
