"""Checks for numbers that come from users or files: real, finite, in range, and sizes bounded by
what a file holds. Every reader and every numeric CLI option goes through here, so a bad value is
always one UserError line that names the value, says what is allowed and how to fix it.

Kept free of heavy imports (numpy only), so the CLI can check options before loading torch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from motiongen.errors import UserError

MIN_FPS = 1.0  # slower "frame rates" are broken headers; 1 fps keeps a resampled clip bounded
MAX_FPS = 1000.0  # a Frame Time of 1e-6 s would make a million frames per second of motion
MAX_ABS_VALUE = 1e6  # positions (m, cm, px) and angles (deg) beyond this are corrupt, not motion
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes 64-bit seeds; stay signed-safe
MAX_IMAGE_SIDE = 100_000  # pixels
MAX_GUIDANCE = 100.0  # guidance scales beyond this only blow the motion up
MAX_THREADS = 1024
MAX_TRAIN_STEPS = 10_000_000
MIN_FRAME_LIMIT = 1000  # a file may always describe this many frames, however small it is
BYTES_PER_FRAME = 8  # beyond that, every frame must be paid for by bytes of the file


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def number(value, name: str, low: float | None = None, high: float | None = None, *, above: bool = False) -> float:
    """A real, finite float with low <= value <= high (low < value with `above`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserError(f"{name} must be a real number, got {_show(value)}")
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{name} must be a real number, got {_show(value)}") from None
    if not math.isfinite(value):
        raise UserError(f"{name} must be a finite number, got {_show(value)}")
    too_low = low is not None and (value <= low if above else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        raise UserError(f"{name} must be {_range(low, high, above)}, got {_show(value)}")
    return value


def integer(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """A whole number with low <= value <= high (no bools, no floats with a fraction)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserError(f"{name} must be a whole number, got {_show(value)}")
    if not isinstance(value, numbers.Integral) and not (math.isfinite(value) and float(value).is_integer()):
        raise UserError(f"{name} must be a whole number, got {_show(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{name} must be {_range(low, high, False)}, got {value}")
    return value


def _range(low, high, above: bool) -> str:
    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    if low is not None and high is not None:
        return f"{'more than' if above else 'from'} {fmt(low)} {'and at most' if above else 'to'} {fmt(high)}"
    if low is not None:
        return f"{'more than' if above else 'at least'} {fmt(low)}"
    return f"at most {fmt(high)}"


def fps(value, name: str = "the frame rate") -> float:
    """A usable frame rate: MIN_FPS to MAX_FPS frames per second."""
    return number(value, name, MIN_FPS, MAX_FPS)


def frame_time(seconds, name: str = "Frame Time") -> float:
    """A frame duration in seconds whose frame rate is usable; returns it unchanged."""
    seconds = number(seconds, name, 0.0, above=True)
    if not MIN_FPS <= 1.0 / seconds <= MAX_FPS:
        raise UserError(
            f"{name} must be from {1 / MAX_FPS:g} to {1 / MIN_FPS:g} s ({MIN_FPS:g}-{MAX_FPS:g} fps), got {seconds:g}"
        )
    return seconds


def seed(value, count: int = 1, name: str = "--seed") -> int:
    """A seed such that seed, seed + 1, ..., seed + count - 1 all fit torch's 64-bit generator."""
    return integer(value, name, 0, MAX_SEED - max(count - 1, 0))


def image_size(width, height, name: str = "the image size") -> tuple[int, int]:
    return (
        integer(width, f"{name}'s width", 1, MAX_IMAGE_SIDE),
        integer(height, f"{name}'s height", 1, MAX_IMAGE_SIDE),
    )


def array(values, name: str, max_abs: float = MAX_ABS_VALUE) -> np.ndarray:
    """A real numeric array with every value finite and |value| <= max_abs (complex, text, objects,
    NaN, inf and values like 3e38 are refused)."""
    values = np.asarray(values)
    if values.dtype.kind == "c":
        raise UserError(f"{name} holds complex numbers; give real numbers")
    if values.dtype.kind not in "iuf":  # true/false values are not coordinates
        raise UserError(f"{name} does not hold numbers (dtype {values.dtype})")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise UserError(f"{name} contains NaN or infinite values")
    if values.size and np.abs(values.astype(np.float64)).max() > max_abs:
        raise UserError(f"{name} holds values beyond ±{max_abs:g}, so the file is corrupt or not in these units")
    return values


def frames_bound(file_size: int) -> int:
    """The most frames a file of `file_size` bytes may describe (gaps, headers and padding included)."""
    return MIN_FRAME_LIMIT + int(file_size) // BYTES_PER_FRAME


def frame_count(frames: int, file_size: int, label: str, what: str = "frames") -> int:
    """Refuse a frame count the file's own size cannot account for (a header claiming a million
    frames in a few hundred bytes would otherwise allocate gigabytes)."""
    limit = frames_bound(file_size)
    if frames > limit:
        raise UserError(
            f"{label} describes {frames} {what}, more than a {file_size}-byte file can hold "
            f"(at most {limit}); the file is corrupt"
        )
    return frames


def config_values(config, label: str) -> None:
    """Every number of a config dataclass (nested in dicts and lists too) is finite, and every
    probability (a field named *_prob or *_probs) is within [0, 1]."""
    from dataclasses import fields

    problems: list[str] = []

    def walk(value, name: str, probability: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{name}.{key}", probability)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                walk(item, f"{name}[{i}]", probability)
        elif isinstance(value, complex):
            problems.append(f"{name} must be a real number, got {value}")
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            if not math.isfinite(value):
                problems.append(f"{name} must be finite, got {value}")
            elif probability and not 0 <= value <= 1:
                problems.append(f"{name} is a probability and must be from 0 to 1, got {value:g}")

    for f in fields(config):
        walk(getattr(config, f.name), f.name, f.name.endswith(("_prob", "_probs")))
    if problems:
        raise UserError(f"bad {label}(s): " + "; ".join(problems))
