"""`motiongen eval t2m`: a text-to-motion checkpoint measured against real test data, with speed.

Loads the pipeline and the evaluator, times single-clip generation (ms per 4-s clip, seconds of
motion per wall-clock second, peak resident memory), then runs the protocol of
`motiongen.metrics.text_to_motion` with the pipeline as generator.
"""

from __future__ import annotations

import platform
import resource
import statistics
import time
from pathlib import Path

import torch

from motiongen.errors import UserError
from motiongen.sampling.guidance import DEFAULT_SCALE, DEFAULT_SIDE, PROJECTED_BY_DEFAULT

SAMPLERS = ("ddim", "dpm", "flow")


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_generation(pipe, prompt: str, seconds: float, steps: int, guidance: float, sampler: str, runs: int = 3):
    """Median wall time (s) of generating one clip, after one warm-up call."""
    kwargs = dict(seconds=seconds, num_inference_steps=steps, guidance_scale=guidance, sampler=sampler, progress=False)
    pipe([prompt], seed=0, **kwargs)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        pipe([prompt], seed=i + 1, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_hml3d_encoder(folder: str | Path):
    """Motion encoder of the HumanML3D evaluator from a folder holding the released `finest.tar`
    and the evaluator's normaliser `mean.npy` / `std.npy` (from its Comp_v6_KLD01/meta folder)."""
    from motiongen.models.guo_evaluator import GuoEvaluator

    folder = Path(folder)
    missing = [n for n in ("finest.tar", "mean.npy", "std.npy") if not (folder / n).is_file()]
    if missing:
        raise UserError(
            f"{folder} lacks {', '.join(missing)}: put the HumanML3D evaluator's text_mot_match/model/finest.tar "
            "and its meta/mean.npy, meta/std.npy there"
        )
    guo = GuoEvaluator.from_checkpoint(folder / "finest.tar", folder / "mean.npy", folder / "std.npy")
    return lambda motions: guo.encode_motions(motions).numpy()


def run_t2m_evaluation(
    checkpoint: str | Path,
    evaluator_path: str | Path,
    sampler: str = "ddim",
    steps: int = 50,
    guidance: float = DEFAULT_SCALE,
    repeats: int = 3,
    samples: int = 64,
    mm_prompts: int = 4,
    mm_samples: int = 8,
    split: str = "test",
    seconds: float = 4.0,
    seed: int = 0,
    progress: bool = True,
    hml3d_evaluator: str | Path | None = None,
    threads: int = 0,
    corpus: str | None = None,
) -> dict:
    """`threads` > 0 sets torch's intra-op threads. On a CPU shared with other work, 1 thread can be
    many times faster than 2: spinning threads wait for cores that are busy elsewhere. `corpus`
    (default: the one the evaluator was trained on) gives the real clips of `split`."""
    from motiongen.data.corpus import load_corpus
    from motiongen.metrics.text_to_motion import evaluate_text_to_motion
    from motiongen.models.evaluator import load_evaluator

    if threads > 0:
        torch.set_num_threads(threads)
    if sampler not in SAMPLERS:
        raise UserError(f"unknown sampler '{sampler}' (choose from {', '.join(SAMPLERS)})")
    if steps < 1 or repeats < 1:
        raise UserError("--steps and --repeats must be at least 1")
    checkpoint = Path(checkpoint)
    if not checkpoint.is_dir():
        raise UserError(f"no text-to-motion checkpoint at {checkpoint}")
    evaluator = load_evaluator(evaluator_path)
    hml3d_encode = load_hml3d_encoder(hml3d_evaluator) if hml3d_evaluator else None
    clips = load_corpus(None if split == "all" else split, corpus=corpus or evaluator_corpus(evaluator_path))
    if not clips:
        raise UserError(f"the corpus has no '{split}' clips")

    from motiongen.pipelines.text2motion import TextToMotionPipeline

    if not progress:
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()
    memory_before = peak_memory_mb()
    pipe = TextToMotionPipeline.from_pretrained(checkpoint)
    latency = time_generation(pipe, clips[0].captions[0], seconds, steps, guidance, sampler)
    memory_generation = peak_memory_mb()

    generation_time = [0.0, 0]

    def generate(prompts: list[str], gen_seed: int):
        start = time.perf_counter()
        out = pipe(prompts, seconds=seconds, num_inference_steps=steps, guidance_scale=guidance, seed=gen_seed,
                   sampler=sampler, progress=False)  # fmt: skip
        generation_time[0] += time.perf_counter() - start
        generation_time[1] += len(prompts)
        return out

    frames = int(round(seconds * evaluator.config.fps))
    result = evaluate_text_to_motion(
        evaluator, clips, generate, samples=samples, repeats=repeats, mm_prompts=mm_prompts,
        mm_samples=mm_samples, frames=frames, seed=seed, progress=progress, hml3d_encode=hml3d_encode,
    )  # fmt: skip
    batched = generation_time[0] / max(1, generation_time[1])
    result["settings"] = {
        "checkpoint": str(checkpoint), "evaluator": str(evaluator_path), "sampler": sampler, "steps": steps,
        "guidance": guidance, "projected_guidance": PROJECTED_BY_DEFAULT, "side_guidance": DEFAULT_SIDE,
        "seconds": seconds, "split": split, "seed": seed,
        "mm_prompts": mm_prompts, "mm_samples": mm_samples,
        "hml3d_evaluator": str(hml3d_evaluator) if hml3d_evaluator else None,
    }  # fmt: skip
    result["speed"] = {
        "ms_per_clip": 1000.0 * latency,
        "motion_seconds_per_second": seconds / latency,
        "batched_ms_per_clip": 1000.0 * batched,
        "batched_motion_seconds_per_second": seconds / batched if batched > 0 else None,
        "peak_memory_mb": memory_generation,
        "memory_before_pipeline_mb": memory_before,
        "peak_memory_mb_whole_run": peak_memory_mb(),
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }
    return result


def run_hml3d_protocol(
    checkpoint: str | Path,
    data: str | Path,
    evaluator_folder: str | Path,
    glove: str | Path,
    sampler: str = "ddim",
    steps: int = 50,
    guidance: float = DEFAULT_SCALE,
    repeats: int = 20,
    mm_items: int = 100,
    mm_repeats: int = 30,
    split: str = "test",
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    threads: int = 0,
) -> dict:
    """The published HumanML3D protocol (motiongen/metrics/hml3d_protocol.py) for a checkpoint."""
    from motiongen.metrics.hml3d_protocol import evaluate_hml3d, load_test_items, pipeline_generator
    from motiongen.models.guo_evaluator import GuoEvaluator, WordVectorizer
    from motiongen.pipelines.text2motion import TextToMotionPipeline

    if threads > 0:
        torch.set_num_threads(threads)
    folder = Path(evaluator_folder)
    missing = [n for n in ("finest.tar", "mean.npy", "std.npy") if not (folder / n).is_file()]
    missing += [f"glove/{n}" for n in ("our_vab_data.npy", "our_vab_idx.pkl") if not (Path(glove) / n).is_file()]
    if missing:
        raise UserError(f"the HumanML3D evaluator files are incomplete: {', '.join(missing)} not found")
    evaluator = GuoEvaluator.from_checkpoint(folder / "finest.tar", folder / "mean.npy", folder / "std.npy")
    words = WordVectorizer.from_glove_folder(glove)
    items = load_test_items(data, split)[:limit]
    pipe = TextToMotionPipeline.from_pretrained(checkpoint)
    generate = pipeline_generator(pipe, steps, guidance, sampler)
    result = evaluate_hml3d(generate, items, evaluator, words, repeats, mm_items, mm_repeats, seed, progress)
    result["settings"].update(checkpoint=str(checkpoint), data=str(data), split=split, sampler=sampler, steps=steps,
                              guidance=guidance)  # fmt: skip
    return result


def evaluator_corpus(evaluator_path: str | Path) -> str:
    """The corpus an evaluator was trained on (its evaluation.json), "builtin" for older ones."""
    import json

    report = Path(evaluator_path) / "evaluation.json"
    try:
        return json.loads(report.read_text(encoding="utf-8"))["config"].get("corpus", "builtin")
    except (OSError, ValueError, KeyError, TypeError):
        return "builtin"
