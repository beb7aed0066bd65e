"""What every generation pipeline checks before it starts (kept free of heavy imports, so the CLI
can reject bad input before loading torch)."""

from __future__ import annotations

from motiongen.errors import UserError

MAX_SECONDS = 60.0


def frames_for(seconds: float, fps: float) -> int:
    """Number of frames for a duration, with a clear error for absurd durations."""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError) as exc:
        raise UserError(f"--seconds must be a number, got {seconds!r}") from exc
    if not seconds > 0:  # also catches NaN
        raise UserError(f"--seconds must be positive, got {seconds:g}")
    if seconds > MAX_SECONDS:
        raise UserError(f"--seconds must be at most {MAX_SECONDS:g} (got {seconds:g}); make longer clips in parts")
    frames = int(round(seconds * fps))
    if frames < 2:
        raise UserError(f"--seconds must be at least {2 / fps:g} s (two frames), got {seconds:g}")
    return frames
