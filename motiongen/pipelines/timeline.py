"""Long motion, window by window: a timeline of prompts ("walk forward 4s; jump 2s") or one prompt
for minutes, made as one continuous clip.

Each window of the model's training length is generated with the last seconds of what is
already made given as known frames (the partial-motion input every model is trained with), so the
seams are inpainted; the last half second of that context is made again and cross-faded, because
a hard switch from fixed to free frames leaves a kink (seam jerk 3.7x the median, 1.3x with it). Frames the caller fixes (a prefix, keyframes, kept body parts:
`KnownMotion`) are given to every window they fall in. Only one window is on the model at a time,
so memory does not grow with the length beyond the features themselves (206 numbers a frame).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from motiongen.conditioning.partial import KnownMotion
from motiongen.errors import UserError
from motiongen.motion.features import FEATURE_DIM
from motiongen.pipelines.base import frames_for
from motiongen.sampling.guidance import DEFAULT_SCALE, DEFAULT_SIDE, PROJECTED_BY_DEFAULT, Guidance

MAX_LONG_SECONDS = 600.0  # ten minutes
CONTEXT_SECONDS = 2.0  # known frames carried from one window into the next
OVERLAP_SECONDS = 0.5  # the last of them are remade too and cross-faded, so a seam has no kink

_LEADING = re.compile(r"^(\d+(?:\.\d+)?)\s*s?\s+(\S.*)$")  # "4 walk forward", "4s walk forward"
_TRAILING = re.compile(r"^(\S.*?)\s+(\d+(?:\.\d+)?)\s*s$")  # "walk forward 4s"


@dataclass(frozen=True)
class Sampling:
    """How each window is sampled (the options of `motiongen generate`)."""

    steps: int = 50
    sampler: str = "ddim"
    guidance_scale: float = DEFAULT_SCALE
    projected: bool = PROJECTED_BY_DEFAULT
    side: float = DEFAULT_SIDE
    seed: int = 0

    def meta(self, pipe) -> dict:
        """What made the motion, as files record it (io/provenance.py)."""
        out = {"seed": self.seed, "sampler": self.sampler, **pipe._made_with(self.steps)}
        if self.sampler != "flow":  # a flow student has its guidance baked in
            out["guidance"] = self.guidance_scale
        return out


def parse_timeline(text: str, name: str = "the timeline") -> list[tuple[float, str]]:
    """(seconds, prompt) per entry: one "SECONDS PROMPT" per line, or "PROMPT 4s" entries
    separated by ';' or new lines; '#' starts a comment line."""
    entries = []
    lines = [line.strip() for line in text.splitlines()]
    items = [item.strip() for line in lines if not line.startswith("#") for item in line.split(";")]
    for item in filter(None, items):
        match = _LEADING.match(item)
        seconds, prompt = (match.group(1), match.group(2)) if match else (None, None)
        if match is None and (match := _TRAILING.match(item)):
            prompt, seconds = match.group(1), match.group(2)
        if match is None:
            raise UserError(f"{name}: '{item[:60]}' gives no length; write 'SECONDS PROMPT' or 'PROMPT 4s'")
        seconds = float(seconds)
        if seconds < 0.1:
            raise UserError(f"{name}: '{item[:60]}' is shorter than 0.1 s")
        entries.append((seconds, prompt.strip()))
    if not entries:
        raise UserError(f"{name} holds no entries; write 'SECONDS PROMPT' per line or 'walk forward 4s; jump 2s'")
    total = sum(s for s, _ in entries)
    if total > MAX_LONG_SECONDS:
        raise UserError(f"{name} lasts {total:g} s; at most {MAX_LONG_SECONDS:g} s (10 minutes) can be made")
    return entries


def read_timeline(path: Path) -> list[tuple[float, str]]:
    """A timeline file, or the text itself when `path` is no file and reads as a timeline."""
    path = Path(path)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise UserError(f"{path} is not UTF-8 text; save it as UTF-8") from None
        return parse_timeline(text, str(path))
    if ";" in str(path) or " " in str(path).strip():  # given inline: "walk forward 4s; jump 2s"
        return parse_timeline(str(path))
    raise UserError(f"timeline file not found: {path}")


def long_frames(seconds: float, fps: float) -> int:
    """Frames for a clip of up to MAX_LONG_SECONDS (window by window), with a clear error for absurd lengths."""
    return frames_for(seconds, fps, MAX_LONG_SECONDS, "10 minutes is the longest clip")


def window_spans(texts, frames: int, window: int, context: int) -> list[tuple[int, int, int]]:
    """(first frame, first new frame, stop) of each window, in order: a window never spans two
    prompts, and carries up to `context` frames of what came before."""
    spans = []
    for start, end, _ in texts:
        done = start
        while done < end:
            begin = max(0, done - context)
            stop = min(begin + window, end)
            spans.append((begin, done, stop))
            done = stop
    return spans


@torch.no_grad()
def generate_features(
    pipe,
    texts,
    frames: int,
    sampling: Sampling,
    known: KnownMotion | None = None,
    progress: bool = False,
    overlap_seconds: float | None = None,
) -> torch.Tensor:
    """Raw features [frames, 206]. `texts`: (first frame, stop, prompt) covering 0..frames in order;
    `known`: frames or parts the motion keeps. Progress is shown per window. Of the frames a
    window carries over, the last `overlap_seconds` are not fixed but made again and cross-faded
    from the old to the new (where the caller does not fix them)."""
    from motiongen.sampling.diffusion import make_sampler
    from motiongen.sampling.flow import check_sampler

    if not 1 <= sampling.steps <= 1000:
        raise UserError(f"--steps must be between 1 and 1000, got {sampling.steps}")
    check_sampler(pipe.scheduler, sampling.sampler)
    scheduler = pipe.scheduler if sampling.sampler == "flow" else make_sampler(sampling.sampler, pipe.scheduler.config)
    guidance = Guidance(sampling.guidance_scale, sampling.projected, sampling.side)
    known = known or KnownMotion.empty(frames)
    if known.frames != frames:
        raise ValueError(f"known motion covers {known.frames} frames, not {frames}")
    window = int(pipe.denoiser.config.max_frames)
    spans = window_spans(texts, frames, window, min(int(CONTEXT_SECONDS * pipe.fps), window // 2))
    overlap = round((OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds) * pipe.fps)
    out = torch.zeros(frames, FEATURE_DIM)
    generator = torch.Generator().manual_seed(sampling.seed)
    contexts = {}
    bar = tqdm(spans, desc="windows", unit="window", disable=not progress, leave=False)
    current = None
    for begin, done, stop in bar:
        current = next((p for s, e, p in texts if s <= done < e), current)
        if current not in contexts:
            contexts.clear()  # one prompt's text context at a time
            cond = pipe.text_conditioner.encode([current])
            uncond = pipe.text_conditioner.unconditional(1, cond[0].shape[1])
            mirrored = pipe.text_conditioner.mirrored_retrieval([current]) if guidance.side else None
            contexts[current] = (cond, uncond, mirrored)
        fixed = max(0, done - begin - overlap)  # carried frames given as known
        k, km = known.features[begin:stop].clone(), known.mask[begin:stop].clone()
        k[:fixed] = out[begin : begin + fixed]
        km[:fixed] = True
        imputed = None if known.imputed is None else known.imputed[begin:stop][None]
        made = pipe._generate(
            contexts[current], k[None], km[None], [generator], scheduler, sampling.steps, guidance, False, imputed
        )[0]
        fade = torch.linspace(0, 1, done - begin - fixed + 2)[1:-1, None]  # old -> new over the overlap
        fade = fade * fade * (3 - 2 * fade)  # smoothstep: no change of speed where the fade starts and ends
        made[fixed : done - begin] = (1 - fade) * out[begin + fixed : done] + fade * made[fixed : done - begin]
        out[begin:stop] = made
    return out
