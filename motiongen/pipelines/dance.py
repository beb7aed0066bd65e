"""`MusicToDancePipeline`: a song -> a dancer, in the diffusers pipeline style.

Components: the denoiser and text conditioner of the text model it was fine-tuned from, the music
conditioner (conditioning/music.py) and a sampling scheduler config. Context = text tokens +
one music token per frame (each frame sees the music within the conditioner's `reach`).

Whole songs are danced window by window: each window continues from the last seconds of the one
before, given as a known prefix (`KnownMotion`, the partial-motion input the model is trained
with), so seams are inpainted, not blended. Only one window's tensors exist at a time, so memory
does not grow with the song's length.

    pipe = MusicToDancePipeline.from_pretrained("checkpoints/dance")
    dancer = pipe(music_features("song.ogg"), text="a person dances salsa", seed=0)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

from motiongen.conditioning.base import concat_context
from motiongen.conditioning.music import MusicConditioner, MusicFeatures, context_mask
from motiongen.conditioning.partial import KnownMotion
from motiongen.conditioning.text import TextConditioner
from motiongen.errors import UserError
from motiongen.models.denoiser import FEATURE_VERSION, MotionDenoiser
from motiongen.motion.features import FEATURE_DIM, features_to_motion
from motiongen.motion.motion import Motion
from motiongen.paths import checkpoint_path, missing_checkpoint, where_checkpoints_are
from motiongen.pipelines.base import check_feature_layout, check_pipeline_folder, load_checked
from motiongen.sampling.diffusion import make_sampler, sample
from motiongen.sampling.guidance import classifier_free_guidance

CONTEXT_SECONDS = 2.0  # frames carried over between windows, as the known prefix of the next
DEFAULT_GUIDANCE = 2.0
DEFAULT_STEPS = 20
MAX_SONG_SECONDS = 15 * 60.0
PARTS = ("denoiser", "text_conditioner", "music_conditioner")


class MusicToDancePipeline(DiffusionPipeline):
    def __init__(
        self,
        denoiser: MotionDenoiser,
        text_conditioner: TextConditioner,
        music_conditioner: MusicConditioner,
        scheduler,
    ):
        super().__init__()
        self.register_modules(denoiser=denoiser, text_conditioner=text_conditioner,
                              music_conditioner=music_conditioner, scheduler=scheduler)  # fmt: skip
        self.last_timing: dict[str, float] = {}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> MusicToDancePipeline:
        """Load a pipeline folder; anything missing or incompatible is a UserError."""
        path = checkpoint_path(pretrained_model_name_or_path)
        check_checkpoint(path)
        pipe = load_checked(super().from_pretrained, path, "dance checkpoint", PARTS, **kwargs)
        pipe.set_progress_bar_config(leave=False)
        return pipe

    @property
    def fps(self) -> float:
        return float(self.denoiser.config.fps)

    @torch.no_grad()
    def __call__(
        self,
        music: MusicFeatures,
        text: str | None = None,
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        projected_guidance: bool = True,
        seed: int | None = 0,
        sampler: str = "ddim",
        progress: bool = True,
        cleanup: bool = True,
        on_beat: bool = True,
    ) -> Motion:
        """A dancer for all of `music` (one frame per music frame). `text` optionally names the
        style ("a person dances salsa"). With `cleanup` the physical clean-up runs on it; then,
        with `on_beat`, it is retimed so that its pauses and accents land on the song's beats
        (motiongen/motion/on_beat.py; recorded in `meta["on_beat"]`)."""
        if text is not None and not text.strip():
            raise UserError('the text is empty; leave --text out or name a dance, e.g. "a person dances salsa"')
        if guidance_scale < 0:
            raise UserError(f"--guidance must be >= 0, got {guidance_scale}")
        if num_inference_steps < 1 or num_inference_steps > 1000:
            raise UserError(f"--steps must be between 1 and 1000, got {num_inference_steps}")
        if abs(music.fps - self.fps) > 1e-6:
            raise UserError(f"music features at {music.fps:g} fps; this model dances at {self.fps:g} fps")
        total = len(music.features)
        if total < 2:
            raise UserError("the music is too short to dance to")
        if total > MAX_SONG_SECONDS * self.fps:
            raise UserError(f"the song is {total / self.fps:.0f} s long; dance to at most {MAX_SONG_SECONDS:g} s "
                            "(pick a part with --start and --seconds)")  # fmt: skip
        scheduler = make_sampler(sampler, self.scheduler.config)
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        generator = torch.Generator().manual_seed(seed)
        start = time.perf_counter()
        text_cond = self.text_conditioner.encode([text.strip()]) if text else self.text_conditioner.unconditional(1)
        self.last_timing = {"text_s": time.perf_counter() - start}
        features = self._dance(music, text_cond, generator, scheduler, num_inference_steps,
                               (guidance_scale, projected_guidance), progress)  # fmt: skip
        self.last_timing["model_s"] = time.perf_counter() - start - self.last_timing["text_s"]
        meta = {"seed": seed, "sampler": sampler, "steps": num_inference_steps, "guidance": guidance_scale,
                "music_tempo": round(music.tempo, 1)}  # fmt: skip
        if text:
            meta["caption"] = text.strip()
        if getattr(self, "checkpoint_name", None):
            meta["checkpoint"] = self.checkpoint_name
        motion = features_to_motion(features, self.fps, meta)
        if cleanup:
            from motiongen.motion.cleanup import cleanup as physical_cleanup

            start = time.perf_counter()
            motion = physical_cleanup([motion])[0]
            self.last_timing["cleanup_s"] = time.perf_counter() - start
        if on_beat:
            from motiongen.motion.on_beat import put_on_beats

            motion, motion.meta["on_beat"] = put_on_beats(motion, music.beats)
        return motion

    def _dance(self, music, text_cond, generator, scheduler, steps, guidance, progress) -> torch.Tensor:
        """Raw features [T, 206] for the whole song, window by window."""
        total = len(music.features)
        window = int(self.denoiser.config.max_frames)
        context = min(int(CONTEXT_SECONDS * self.fps), window // 2)
        out = torch.zeros(total, FEATURE_DIM)
        done = 0
        from tqdm import tqdm

        bar = tqdm(total=total, desc="dancing", unit="frame", disable=not progress, leave=False)
        while done < total:
            begin = max(0, done - context)
            stop = min(begin + window, total)
            known = KnownMotion.empty(stop - begin)
            known.features[: done - begin] = out[begin:done]
            known.mask[: done - begin] = True
            piece = torch.from_numpy(music.window(begin, stop - begin))
            out[begin:stop] = self._window(piece, known, text_cond, generator, scheduler, steps, guidance)
            bar.update(stop - done)
            done = stop
        bar.close()
        return out

    def _window(self, music, known: KnownMotion, text_cond, generator, scheduler, steps, guidance) -> torch.Tensor:
        """Raw features [frames, 206] for one window with music [frames, 35] and a known prefix."""
        device = self.denoiser.device
        frames = known.frames
        known_norm = self.denoiser.normalize(known.features[None].to(device))
        known_mask = known.mask[None].to(device)
        feature_mask = self.denoiser.feature_mask(known_mask)
        music_cond = self.music_conditioner.encode(music[None])
        cond = concat_context([text_cond, music_cond])
        uncond = concat_context([
            self.text_conditioner.unconditional(1, text_cond[0].shape[1]),
            self.music_conditioner.unconditional(1, music_cond[0].shape[1]),
        ])  # fmt: skip
        text_tokens = text_cond[0].shape[1]
        reach = int(self.music_conditioner.config.reach)

        def model(x, t, tokens, mask):
            reps = x.shape[0]
            mask = context_mask(mask[:, :text_tokens], mask[:, text_tokens:], frames, reach)
            return self.denoiser(x, t, tokens, mask, known_norm.expand(reps, -1, -1), known_mask.expand(reps, -1, -1))

        noise = torch.randn(1, frames, FEATURE_DIM, generator=generator).to(device)
        known_noise = torch.randn(1, frames, FEATURE_DIM, generator=generator).to(device)
        any_known = bool(known_mask.any())
        scale, projected = guidance
        denoise = classifier_free_guidance(model, cond, uncond, scale, projected)
        x0 = sample(denoise, scheduler, noise, steps, known_norm if any_known else None,
                    feature_mask if any_known else None, known_noise, progress=False)  # fmt: skip
        return self.denoiser.denormalize(x0)[0].cpu()


def check_checkpoint(path: Path) -> None:
    """A clear error for a missing, partial or incompatible dance checkpoint folder."""
    path = checkpoint_path(path)
    if not path.exists():
        if where_checkpoints_are():
            raise UserError(missing_checkpoint(path, "dance checkpoint"))
        raise UserError(
            f"no dance model in {path}; train one with `motiongen train --config configs/dance.yaml "
            "--output runs/dance` and pass --checkpoint runs/dance/pipeline"
        )
    config = check_pipeline_folder(path, MusicToDancePipeline.__name__, "dance", PARTS)
    check_feature_layout(config, path, "dance checkpoint", FEATURE_DIM, FEATURE_VERSION, "configs/dance.yaml")


def default_checkpoint() -> Path:
    from motiongen.paths import CHECKPOINT_DIR

    return Path(os.environ.get("MOTIONGEN_DANCE_CHECKPOINT", CHECKPOINT_DIR / "dance"))
