"""Self-contained web page (.html): the clip in a small viewer that needs no network.

The page is the template `motiongen/render/viewer.html` (plain JavaScript drawing on a 2D canvas:
play / pause, scrub, speed, orbit by dragging, zoom by wheel) with the clip put into it as JSON
in a `<script id="motion-data" type="application/json">` element:

    {"fps": 20.0, "parents": [-1, 0, ...], "joint_names": [...], "title": "...",
     "people": [{"frames": [[x, y, z, x, y, z, ...], ...], "meta": {...}}, ...]}

one list of joint positions (metres, Y up, 0.1 mm steps) per person per frame, all people at
the first person's frame rate (as in videos); `meta` is what made the person (provenance.py).
The captions are the page title. The address may hold the start state: `clip.html#t=1.5`
(seconds, paused there), `&yaw=30&pitch=15` (degrees), `&speed=2`, `&follow=1`.
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from pathlib import Path

import numpy as np

import motiongen
from motiongen.errors import UserError
from motiongen.io import provenance
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_NAMES, PARENTS

TEMPLATE = "viewer.html"


def write(motions, path: str | Path, **_) -> None:
    """Write one Motion or a list (several people). Options meant for other formats are ignored."""
    people = [motions] if isinstance(motions, Motion) else list(motions)
    if not people:
        raise UserError("nothing to write: no motions given")
    Path(path).write_text(page(people), encoding="utf-8")


def page(people: list[Motion]) -> str:
    """The whole page for these people."""
    title = provenance.captions(people) or "motiongen clip"
    values = {
        "TITLE": html.escape(title),
        "GENERATOR": f"motiongen {motiongen.__version__}",
        "MOTION_DATA": _script_safe(json.dumps(clip_data(people, title), separators=(",", ":"), ensure_ascii=False)),
    }
    template = resources.files("motiongen.render").joinpath(TEMPLATE).read_text(encoding="utf-8")
    # One pass, so a caption that happens to spell a placeholder is not filled in again.
    return re.sub(r"__(TITLE|GENERATOR|MOTION_DATA)__", lambda m: values[m.group(1)], template)


def clip_data(people: list[Motion], title: str = "") -> dict:
    """The JSON the viewer reads (see the module docstring)."""
    fps = float(people[0].fps)
    if not (math.isfinite(fps) and fps > 0):
        raise UserError(f"frame rate must be positive, got {people[0].fps}")
    out = []
    for i, motion in enumerate(people):
        label = f"person {i + 1}" if len(people) > 1 else "the motion"
        if not isinstance(motion, Motion):
            raise UserError(f"{label} is a {type(motion).__name__}, not a Motion")
        if not len(motion):
            raise UserError(f"{label} has no frames")
        positions = motion.resampled(fps).positions() if motion.fps != fps else motion.positions()
        if not np.isfinite(positions).all():
            raise UserError(f"{label} holds NaN or infinite values")
        frames = np.round(positions.reshape(len(positions), -1).astype(np.float64), 4)
        out.append({"frames": frames.tolist(), "meta": provenance.of(motion)})
    return {"fps": fps, "parents": list(PARENTS), "joint_names": list(JOINT_NAMES), "title": title, "people": out}


def _script_safe(text: str) -> str:
    """JSON that cannot end its <script> element early (only strings can hold these characters)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
