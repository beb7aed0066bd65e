"""`motiongen eval ...`: physical metrics of motion files, text-to-motion benchmarks, the evaluator."""

from __future__ import annotations

from pathlib import Path

import typer

from motiongen.cli.options import FORCE, QUIET, THREADS, set_threads, show_progress

app = typer.Typer(help="Measure motion quality: physics metrics, text-to-motion benchmarks.", no_args_is_help=True)

JSON_OUT = typer.Option(None, "--json", help="Also write the results to this JSON file.")


def _write_json(path: Path, data, force: bool) -> None:
    import json

    from motiongen.io.atomic import atomic_path

    with atomic_path(path, force) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"wrote {path}")


def _load_positions(path: Path):
    """(positions, fps): raw joint files (.npy of shape (T, 22, 3), HumanML3D `new_joints`, 20 fps)
    are measured as they are, so bone-length drift shows; every other file through `load_motion`."""
    from motiongen import validate
    from motiongen.io import load_motion
    from motiongen.io.arrays import read_npy

    if path.suffix.lower() == ".npy" and path.is_file():
        array = read_npy(path)
        if array.ndim == 3 and array.shape[1:] == (22, 3) and len(array):
            return validate.array(array, f"{path.name}: joint positions").astype("float64"), 20.0
    motion = load_motion(path)
    return motion.positions(), motion.fps


@app.command()
def physics(
    inputs: list[Path] = typer.Argument(..., help="Motion files (.bvh, .npz, .npy joints or vectors, DeepMimic .txt)."),
    json_out: Path = JSON_OUT,
    force: bool = FORCE,
) -> None:
    """Foot skating, jitter, ground penetration, floating and bone-length drift of motion files."""
    from rich.console import Console
    from rich.table import Table

    from motiongen.metrics.physics import average_physics, physics_metrics
    from motiongen.metrics.report import PHYSICS_COLUMNS, physics_row

    if json_out:
        from motiongen.io.atomic import check_writable

        check_writable(json_out, force, "--json")  # fail before measuring, not after
    results = {}
    frames = []
    for path in inputs:
        positions, fps = _load_positions(path)
        results[str(path)] = {**physics_metrics(positions, fps), "frames": len(positions), "fps": fps}
        frames.append(len(positions))
    table = Table(title="physical metrics (see docs/benchmarks.md for definitions)")
    table.add_column("file")
    for name, _ in PHYSICS_COLUMNS.values():
        table.add_column(name, justify="right")
    for name, values in results.items():
        table.add_row(Path(name).name, *physics_row(values))
    if len(results) > 1:
        mean = average_physics(list(results.values()), frames)
        table.add_row("mean (frame-weighted)", *physics_row(mean), style="bold")
        results["mean"] = mean
    Console().print(table)
    if json_out:
        _write_json(json_out, results, force)


@app.command()
def t2m(
    checkpoint: Path = typer.Option(
        None, "--checkpoint", "-c", help="Text-to-motion checkpoint folder (default: checkpoints/t2m)."
    ),
    steps: int = typer.Option(50, "--steps", help="Sampling steps."),
    sampler: str = typer.Option("ddim", "--sampler", help="ddim, dpm or flow."),
    guidance: float = typer.Option(2.0, "--guidance", help="Classifier-free guidance scale."),
    repeats: int = typer.Option(
        None, "--repeats", help="Repeated runs, mean ± 95% interval (default 3; 20 with --hml3d-data, as published)."
    ),
    samples: int = typer.Option(64, "--samples", help="Evaluation items per run (pools of 32)."),
    mm_prompts: int = typer.Option(
        None, "--mm-prompts", help="Prompts for MultiModality, 0 skips it (default 4; 100 with --hml3d-data)."
    ),
    mm_samples: int = typer.Option(
        None, "--mm-samples", help="Samples per MultiModality prompt (default 8; 30 with --hml3d-data)."
    ),
    split: str = typer.Option("test", "--split", help="Corpus split for real data and prompts: test, train or all."),
    evaluator: Path = typer.Option(None, "--evaluator", help="Evaluator folder (default: checkpoints/evaluator)."),
    seed: int = typer.Option(0, "--seed"),
    hml3d_evaluator: Path = typer.Option(
        None,
        "--hml3d-evaluator",
        help="Folder with the HumanML3D evaluator's finest.tar, mean.npy, std.npy: adds its FID and Diversity.",
    ),
    hml3d_data: Path = typer.Option(
        None,
        "--hml3d-data",
        help="A HumanML3D folder: run the published protocol on its test split instead "
        "(needs --hml3d-evaluator and --glove).",
    ),
    glove: Path = typer.Option(
        None, "--glove", help="The HumanML3D evaluator's glove/ folder (our_vab_data.npy, our_vab_idx.pkl)."
    ),
    limit: int = typer.Option(None, "--limit", help="With --hml3d-data: only the first N test items (a quick check)."),
    threads: int = THREADS,
    json_out: Path = JSON_OUT,
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Benchmark a text-to-motion model against real corpus data (HumanML3D protocol + physics + speed)."""
    from rich.console import Console

    from motiongen import validate
    from motiongen.errors import UserError
    from motiongen.metrics.t2m_benchmark import run_t2m_evaluation
    from motiongen.paths import CHECKPOINT_DIR

    if split not in ("test", "train", "all"):
        raise UserError(f"unknown split '{split}' (test, train or all)")
    published = hml3d_data is not None
    repeats = (20 if published else 3) if repeats is None else repeats
    mm_prompts = (100 if published else 4) if mm_prompts is None else mm_prompts
    mm_samples = (30 if published else 8) if mm_samples is None else mm_samples
    if published and (hml3d_evaluator is None or glove is None):
        raise UserError("--hml3d-data needs --hml3d-evaluator DIR (finest.tar, mean.npy, std.npy) and --glove DIR")
    if limit is not None:
        validate.integer(limit, "--limit", 32, 1_000_000)
    if sampler not in ("ddim", "dpm", "flow"):
        raise UserError(f"unknown sampler '{sampler}' (ddim, dpm or flow)")
    validate.integer(steps, "--steps", 1, 1000)
    validate.number(guidance, "--guidance", 0.0, validate.MAX_GUIDANCE)
    validate.integer(repeats, "--repeats", 1, 100)
    validate.integer(samples, "--samples", 1, 100_000)
    validate.integer(mm_prompts, "--mm-prompts", 0, 1000)
    validate.integer(mm_samples, "--mm-samples", 1, 1000)
    validate.seed(seed, count=repeats * 1000)  # each run and sample offsets the seed
    set_threads(threads)  # checks the count before the long run
    if json_out:
        from motiongen.io.atomic import check_writable

        check_writable(json_out, force)  # fail before the long run, not after
    if published:
        from motiongen.metrics.t2m_benchmark import run_hml3d_protocol

        result = run_hml3d_protocol(
            checkpoint or CHECKPOINT_DIR / "t2m", hml3d_data, hml3d_evaluator, glove, sampler, steps, guidance,
            repeats, mm_prompts, mm_samples, split, limit, seed, show_progress(quiet), threads,
        )  # fmt: skip
        Console().print(hml3d_table(result))
        if json_out:
            _write_json(json_out, result, force)
        return
    result = run_t2m_evaluation(
        checkpoint or CHECKPOINT_DIR / "t2m", evaluator or CHECKPOINT_DIR / "evaluator", sampler, steps, guidance,
        repeats, samples, mm_prompts, mm_samples, split, seed=seed, progress=show_progress(quiet),
        hml3d_evaluator=hml3d_evaluator, threads=threads,
    )  # fmt: skip
    Console().print(t2m_table(result))
    if json_out:
        _write_json(json_out, result, force)


def t2m_table(result: dict):
    """Metrics as rows, real data and model as columns (fits a terminal)."""
    from rich.table import Table

    from motiongen.metrics.report import GENERATION_COLUMNS, HML3D_COLUMNS, PHYSICS_COLUMNS, cell, guidance_label

    s, speed = result["settings"], result["speed"]
    table = Table(
        title=f"text-to-motion, {s['split']} split: {s['checkpoint']} ({s['sampler']}, {s['steps']} steps"
        + guidance_label(s)
        + f"); {result['repeats']} runs x {result['items']} items; mean ± 95% interval",
        caption=f"R@k chance {', '.join(f'{c:.3f}' for c in result['chance'])}; a perfect evaluator reaches "
        f"{', '.join(f'{c:.3f}' for c in result['ceiling'])} on these pools.\n"
        f"Speed, one {s['seconds']:g}-s clip: {speed['ms_per_clip']:.0f} ms "
        f"({speed['motion_seconds_per_second']:.1f} s of motion per s); batched: {speed['batched_ms_per_clip']:.0f} ms "
        f"per clip; peak memory {speed['peak_memory_mb']:.0f} MB; {speed['torch_threads']} torch thread(s).",
    )
    for name in ("metric", "real data", "model"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    columns = {**GENERATION_COLUMNS, **PHYSICS_COLUMNS}
    if "fid_hml3d" in result["real"]:
        columns.update(HML3D_COLUMNS)
    for key, (name, digits) in columns.items():
        table.add_row(name, cell(result["real"], key, digits), cell(result["model"], key, digits))
    return table


def hml3d_table(result: dict):
    """The published protocol's metrics: real data and model."""
    from rich.table import Table

    s = result["settings"]
    table = Table(
        title=f"HumanML3D {s['split']} split, published protocol: {s['checkpoint']} ({s['sampler']}, {s['steps']} "
        f"steps, guidance {s['guidance']:g}); {s['repeats']} replications x {s['items']} items; mean ± 95% interval"
    )
    for name in ("metric", "real data", "model"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    rows = [("R-precision top 1", "top1"), ("R-precision top 2", "top2"), ("R-precision top 3", "top3"),
            ("FID", "fid"), ("matching score", "matching"), ("Diversity", "diversity"),
            ("MultiModality", "multimodality")]  # fmt: skip

    def show(key):
        value = result.get(key)
        return "" if value is None else f"{value['mean']:.3f} ± {value['interval']:.3f}"

    for name, key in rows:
        table.add_row(name, show(f"real_{key}"), show(f"made_{key}"))
    return table


@app.command("train-evaluator")
def train_evaluator_command(
    output: Path = typer.Option(None, "--output", "-o", help="Output folder (default: checkpoints/evaluator)."),
    steps: int = typer.Option(1200, "--steps", help="Training steps."),
    seed: int = typer.Option(0, "--seed"),
    corpus: str = typer.Option("v2", "--corpus", help="builtin, or v2 (with the real mocap, built on first use)."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Train the contrastive text-motion evaluator on the corpus train split (minutes on a CPU)."""
    from motiongen import validate
    from motiongen.errors import UserError
    from motiongen.io.atomic import check_folder
    from motiongen.paths import CHECKPOINT_DIR
    from motiongen.training.train_evaluator import EvaluatorTrainingConfig, train_evaluator

    output = output or CHECKPOINT_DIR / "evaluator"
    if output.exists() and not output.is_dir():
        raise UserError(f"--output {output} is a file; the evaluator needs a folder")
    if (output / "config.json").exists() and not force:
        raise UserError(f"{output} already holds an evaluator; pass --force to replace it")
    check_folder(output)
    validate.integer(steps, "--steps", 1, validate.MAX_TRAIN_STEPS)
    validate.seed(seed)
    if corpus not in ("builtin", "v2"):
        raise UserError(f"unknown corpus '{corpus}' (builtin or v2)")
    config = EvaluatorTrainingConfig(steps=steps, seed=seed, corpus=corpus)
    train_evaluator(output, config, progress=show_progress(quiet), log=typer.echo)
    typer.echo(f"evaluator saved to {output}")
