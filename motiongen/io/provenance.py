"""What made a motion file, recorded in the file itself: the prompt, seed, sampler, steps,
guidance and checkpoint a generator puts into `Motion.meta` (and what a lifted or answered
motion came from). Writers store it where the format has room and readers of the format skip:

    .npz  key `motiongen_meta`: a JSON list, one object per person
    .bvh  after the last frame's numbers, on the same line: `# motiongen {...}` (see bvh.py)
    .mp4  ffmpeg metadata: title (the captions) and comment (the JSON list)
    .gif  comment extension; .png  text chunk "Comment"; .glb  node extras (glb.py)
    .html  each person's `meta` in the page's JSON, the captions as its title (html.py)

Readers of .npz and .bvh take it back into `Motion.meta`, so `convert` carries it over.
"""

from __future__ import annotations

import json
import math

import numpy as np

KEYS = ("caption", "seed", "sampler", "steps", "guidance", "checkpoint", "role", "partner_of", "source", "lifted_from")
NPZ_KEY = "motiongen_meta"


def of(motion) -> dict:
    """The recorded keys of `motion.meta` that hold a string, number or bool."""
    out = {}
    for key in KEYS:
        value = motion.meta.get(key)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if isinstance(value, str | int | float | bool):
            out[key] = value
    return out


def describe(people) -> str:
    """JSON list of each person's record; "" when no one has any (the file stays as before)."""
    records = [of(m) for m in people]
    return json.dumps(records, ensure_ascii=False) if any(records) else ""


def captions(people) -> str:
    """The people's captions, as the video draws them: on one line (one read from a file may hold
    line breaks), each once."""
    lines = (" ".join(str(m.meta.get("caption") or "").split()) for m in people)
    return " | ".join(dict.fromkeys(line for line in lines if line))


def parse(text: str) -> list[dict]:
    """Records back from `describe`'s JSON (a list of objects, or one object); anything else,
    or any value that is not a string, number or bool, is left out (files are untrusted)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    data = [data] if isinstance(data, dict) else data
    if not isinstance(data, list):
        return []
    return [
        {k: v for k, v in d.items() if k in KEYS and isinstance(v, str | int | float | bool)}
        if isinstance(d, dict)
        else {}
        for d in data
    ]
