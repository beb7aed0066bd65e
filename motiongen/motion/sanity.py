"""Is an imported motion a person? Checks every reader runs after retargeting, and the glitch
finder the corpus build uses to cut bad frames out of real motion capture.

A wrong import (a rig read on its side, a torso reversed against its limbs, a unit mix-up, a
marker swap) is not a crash: it is a plausible-looking file that is wrong. These checks catch the
common ways it goes wrong, measured against every clip of the corpus (none of them trips one).
"""

from __future__ import annotations

import numpy as np

from motiongen.errors import UserError
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX

# No joint of a real person moves faster than this between two frames (m/s): the fastest spin kick
# of the corpus reaches 19.6 (at 30 fps); the T-pose blends and marker swaps of the CMU BVH takes
# move joints at 24-175. The corpus build cuts at a stricter 15 (see data/mocap.py).
MAX_JOINT_SPEED = 22.0
# Jumps this close to either end are the T-pose blends exporters leave there: dropped, not errors.
END_TRIM_SECONDS = 0.5
# "Upright": the head 20 cm above the pelvis; "level": the hips' left-right axis within 45 degrees
# of horizontal. Every real clip of the corpus is upright in at least 39% of its frames (getting
# up, handstands, cartwheels) or level in nearly all (a crawl, upright in none); a rig read on its
# side is neither. Upside down (head 20 cm below the pelvis) in most frames is a reversed torso.
MIN_UPRIGHT = 0.3
MIN_LEVEL = 0.3
MAX_INVERTED = 0.7
# The root may not move faster than this (m/s): the fastest sprint of the corpus is under 8.
MAX_ROOT_SPEED = 12.0


def joint_speeds(motion: Motion) -> np.ndarray:
    """The fastest joint's speed (m/s) between each pair of consecutive frames, (T - 1,)."""
    pos = motion.positions()
    return np.linalg.norm(np.diff(pos, axis=0), axis=-1).max(-1) * motion.fps


def glitch_frames(motion: Motion, max_speed: float = MAX_JOINT_SPEED, margin: float = 0.1) -> np.ndarray:
    """Frames (bool, (T,)) next to a jump faster than `max_speed`, widened by `margin` seconds."""
    bad = np.zeros(len(motion), dtype=bool)
    jumps = np.flatnonzero(joint_speeds(motion) > max_speed) if len(motion) > 1 else []
    pad = int(round(margin * motion.fps))
    for i in jumps:
        bad[max(0, i - pad) : i + 2 + pad] = True
    return bad


def clean_spans(motion: Motion, min_frames: int = 1, **glitch_options) -> list[tuple[int, int]]:
    """The (start, stop) frame ranges free of glitches, each at least `min_frames` long."""
    bad = glitch_frames(motion, **glitch_options)
    spans, start = [], None
    for i, b in enumerate(np.append(bad, True)):
        if not b and start is None:
            start = i
        elif b and start is not None:
            if i - start >= min_frames:
                spans.append((start, i))
            start = None
    return spans


def trim_end_glitches(motion: Motion, max_speed: float = MAX_JOINT_SPEED) -> Motion:
    """`motion` without the glitchy frames within END_TRIM_SECONDS of its start and end."""
    if len(motion) < 2:
        return motion
    jumps = np.flatnonzero(joint_speeds(motion) > max_speed)
    edge = END_TRIM_SECONDS * motion.fps
    head = [i for i in jumps if i < edge]
    tail = [i for i in jumps if i >= len(motion) - 1 - edge]
    start = head[-1] + 1 if head else 0
    stop = tail[0] + 1 if tail else len(motion)
    if (start, stop) == (0, len(motion)) or stop - start < 2:
        return motion
    out = motion.slice(start, stop)
    out.meta = dict(motion.meta, trimmed_frames=[int(start), int(len(motion) - stop)])
    return out


def problems(motion: Motion) -> list[str]:
    """What makes a motion implausible as a person, in words (empty when nothing does)."""
    if len(motion) == 0:
        return ["it has no frames"]
    pos = motion.positions()
    out = []
    head, pelvis = pos[:, JOINT_INDEX["head"], 1], pos[:, JOINT_INDEX["pelvis"], 1]
    hips = pos[:, JOINT_INDEX["left_hip"]] - pos[:, JOINT_INDEX["right_hip"]]
    upright = float(np.mean(head > pelvis + 0.2))
    level = float(np.mean(np.abs(hips[:, 1]) < np.sin(np.radians(45)) * np.linalg.norm(hips, axis=-1)))
    inverted = float(np.mean(head < pelvis - 0.2))
    if upright < MIN_UPRIGHT and level < MIN_LEVEL:
        out.append(f"the body lies on its side: the head is above the pelvis in {upright:.0%} of frames and "
                   f"the hips are level in {level:.0%} (is the rig's up axis read wrong?)")  # fmt: skip
    if inverted > MAX_INVERTED:
        out.append(f"the body is upside down in {inverted:.0%} of frames (is the torso reversed against the limbs?)")
    if len(motion) > 1:
        root_speed = np.linalg.norm(np.diff(motion.root, axis=0), axis=-1).max() * motion.fps
        if root_speed > MAX_ROOT_SPEED:
            out.append(f"the root moves at up to {root_speed:.0f} m/s (wrong units or frame rate?)")
        speeds = joint_speeds(motion)
        jumps = np.flatnonzero(speeds > MAX_JOINT_SPEED)
        if len(jumps):
            frames = ", ".join(str(i + 1) for i in jumps[:4]) + (", ..." if len(jumps) > 4 else "")
            out.append(
                f"joints jump between frames (at frame {frames}: up to {speeds.max():.0f} m/s); "
                "cut those frames out of the file"
            )
    return out


def check_plausible(motion: Motion, label: str) -> Motion:
    """`motion` if it is plausible as a person, else a UserError naming the first problem."""
    found = problems(motion)
    if found:
        raise UserError(f"{label} does not import as a plausible person: {found[0]}")
    return motion
