"""What every generation pipeline checks before it starts (kept free of heavy imports, so the CLI
can reject bad input before loading torch)."""

from __future__ import annotations

from motiongen.errors import UserError

MAX_SECONDS = 60.0


def frames_for(
    seconds: float, fps: float, limit: float = MAX_SECONDS, longer: str = "make longer clips in parts"
) -> int:
    """Number of frames for a duration of up to `limit` seconds, with a clear error for absurd
    durations (`longer` says what to do instead of a longer one)."""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError) as exc:
        raise UserError(f"--seconds must be a number, got {seconds!r}") from exc
    if not seconds > 0:  # also catches NaN
        raise UserError(f"--seconds must be positive, got {seconds:g}")
    if seconds > limit:
        raise UserError(f"--seconds must be at most {limit:g} (got {seconds:g}); {longer}")
    frames = int(round(seconds * fps))
    if frames < 2:
        raise UserError(f"--seconds must be at least {2 / fps:g} s (two frames), got {seconds:g}")
    return frames


# The modules a pipeline folder may name for its parts. model_index.json is untrusted input and
# diffusers imports whatever module it names, so the names are checked before diffusers sees them.
ALLOWED_COMPONENTS = {
    "motiongen.models.denoiser": {"MotionDenoiser"},
    "motiongen.conditioning.text": {"TextConditioner"},
    "motiongen.conditioning.partner": {"PartnerConditioner"},
    "motiongen.conditioning.music": {"MusicConditioner"},
    "motiongen.models.lifter": {"TemporalLifter"},
    "diffusers": {"DDIMScheduler", "DDPMScheduler", "DPMSolverMultistepScheduler", "FlowMatchEulerDiscreteScheduler"},
}


def check_components(folder) -> None:
    """Refuse a model_index.json that names any module or class outside ALLOWED_COMPONENTS."""
    import json
    from pathlib import Path

    index_file = Path(folder) / "model_index.json"
    try:
        index = json.loads(index_file.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError) as exc:
        raise UserError(f"corrupt checkpoint: cannot read {index_file} ({type(exc).__name__})") from None
    if not isinstance(index, dict):
        raise UserError(f"corrupt checkpoint: {index_file} must hold a mapping")
    for name, entry in index.items():
        if name.startswith("_"):
            continue
        if entry is None or entry == [None, None]:
            continue  # a part left out
        library, cls = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
        if not isinstance(library, str) or cls not in ALLOWED_COMPONENTS.get(library, ()):
            raise UserError(
                f"checkpoint {folder} names an unknown part {name}: {entry!r}"[:300]
                + "; only motiongen's own parts are loaded, never code a checkpoint names"
            )


def check_weights(folder, modules: dict) -> None:
    """Each part's weight file must hold exactly the tensors its config builds: a config saying 2
    layers over weights of 4 would otherwise load with a warning and generate nonsense."""
    from pathlib import Path

    from diffusers.utils import SAFETENSORS_WEIGHTS_NAME
    from safetensors import safe_open

    for name, module in modules.items():
        file = Path(folder) / name / SAFETENSORS_WEIGHTS_NAME
        try:
            with safe_open(str(file), "pt") as weights:
                stored = set(weights.keys())
        except Exception as exc:  # safetensors raises its own error types for corrupt files
            raise UserError(f"corrupt checkpoint: cannot read {file} ({type(exc).__name__})") from None
        expected = set(module.state_dict())
        if stored != expected:
            extra, missing = sorted(stored - expected), sorted(expected - stored)
            what = (
                f"{len(extra)} tensors its config has no place for (e.g. {extra[0]})"
                if extra
                else (f"no {missing[0]} and {len(missing) - 1} more tensors its config needs")
            )
            raise UserError(f"checkpoint {folder}: {name}/ weights do not match {name}/config.json: {what}")
        for key, tensor in module.state_dict().items():
            if tensor.is_floating_point() and not tensor.isfinite().all():
                raise UserError(f"checkpoint {folder}: {name}/ weight {key} holds NaN or infinite values; retrain it")


def check_feature_layout(config: dict, path, label: str, dim: int, version: int, retrain: str) -> None:
    """A checkpoint made for other model features (its denoiser `config`) is one line saying how to
    retrain it; `label` names it ("checkpoint", "partner checkpoint", ...)."""
    got_dim, got_version = config.get("feature_dim"), config.get("feature_version")
    if got_dim != dim or got_version != version:
        raise UserError(
            f"incompatible {label} {path}: made for {got_dim}-D features (layout v{got_version}), "
            f"this motiongen uses {dim}-D (layout v{version}); retrain it with {retrain}"
        )


def check_pipeline_folder(path, class_name: str, kind: str, parts: tuple[str, ...]) -> dict:
    """The checks every pipeline folder passes before loading: a folder holding model_index.json,
    the scheduler config and each part's config and weights, readable, of `class_name`, naming
    only allowed components. Returns the denoiser's config (for the caller's feature check)."""
    import json
    from pathlib import Path

    from diffusers.utils import SAFETENSORS_WEIGHTS_NAME

    path = Path(path)
    if not path.is_dir():
        raise UserError(f"checkpoint must be a folder (with model_index.json), got the file {path}")
    needed = ["model_index.json"]
    needed += [f"{part}/{name}" for part in parts for name in ("config.json", SAFETENSORS_WEIGHTS_NAME)]
    needed += ["scheduler/scheduler_config.json"]
    missing = [n for n in needed if not (path / n).exists()]
    if missing:
        raise UserError(f"{path} is not a complete {kind} checkpoint (missing {', '.join(missing)})")
    try:
        index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
        config = json.loads((path / "denoiser" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"corrupt checkpoint in {path}: {exc}") from exc
    if not isinstance(index, dict) or index.get("_class_name") != class_name:
        name = index.get("_class_name") if isinstance(index, dict) else None
        raise UserError(f"{path} holds a {name} checkpoint, not a {kind} one")
    check_components(path)  # before diffusers imports any module the folder names
    return config


def checkpoint_name(path) -> str:
    """The checkpoint as generated files record it: its folder and the one above (checkpoints/t2m,
    t2m-run/pipeline), not the whole path, which would name the user's own folders."""
    from pathlib import Path

    return "/".join(Path(path).resolve().parts[-2:])


def load_checked(from_pretrained, path, what: str, parts: tuple[str, ...], **kwargs):
    """`from_pretrained(path)` (a DiffusionPipeline's), local files only, quiet (no loading bar; a
    config that does not fit its weights is one error line from `check_weights`, not diffusers'
    warnings), with any failure to load a UserError naming `what` ("checkpoint", "lifter
    checkpoint", ...), and each of `parts` checked against its weight file."""
    from diffusers.utils import logging as hf_logging

    kwargs.setdefault("local_files_only", True)
    bar_was_on = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        pipe = from_pretrained(str(path), **kwargs)
    except UserError:
        raise
    except Exception as exc:  # corrupt or truncated files
        raise UserError(f"cannot load the {what} in {path}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar_was_on:
            hf_logging.enable_progress_bar()
    check_weights(path, {name: getattr(pipe, name) for name in parts})
    pipe.checkpoint_name = checkpoint_name(path)  # recorded in the meta of what it makes
    return pipe
