"""Motion controls in world space, for text-to-motion: continue a clip, in-between two clips or
poses, reach keyframes at given times, regenerate some body parts while keeping the others,
follow a path (pipelines/path.py), and long clips from a timeline of prompts.

Every control becomes known frames or body parts for the backbone's partial-motion input
(`KnownMotion`), generated window by window (`timeline.generate_features`). Features do not know
where in the world a motion is, so the result is then placed where the given motion is
(`motion.placement.meet_keys`: turned and shifted onto the first given frames, its path bent
smoothly to reach later ones, what the model misses at a key faded in from its neighbours),
cleaned up with the given frames kept as they are, and joined to the parts of the given clips
the model did not need to see. The output keeps the given clips' own position and heading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motiongen.conditioning.partial import FEATURE_GROUP, GROUP_JOINTS, GROUP_NAMES, KnownMotion
from motiongen.errors import UserError
from motiongen.motion.features import features_to_motion, motion_to_features
from motiongen.motion.motion import Motion, concatenate
from motiongen.motion.placement import align, key_runs, meet_keys
from motiongen.motion.skeleton import JOINT_INDEX
from motiongen.pipelines.timeline import CONTEXT_SECONDS, MAX_LONG_SECONDS, Sampling, generate_features, long_frames

# Body parts `--keep` takes, as groups of the partial-motion mask.
KEEP_PARTS = {
    "upper": ("spine", "left_arm", "right_arm"),
    "lower": ("root", "left_leg", "right_leg"),
    "arms": ("left_arm", "right_arm"),
    "legs": ("left_leg", "right_leg"),
    "root": ("root",),
    **{name: (name,) for name in GROUP_NAMES if name != "root"},
}


@dataclass
class Controls:
    """What the motion must do besides the text. `prefix`: start with this clip (alone: continue
    it; with `end`: in-between them); `keyframes` with `key_times` (seconds): one pose per time;
    `keep` body parts of `source` exactly; `path`: a root-only clip whose root path to follow
    (pipelines/path.py). Clips are in world space, at any frame rate."""

    prefix: Motion | None = None
    end: Motion | None = None
    keyframes: Motion | None = None
    key_times: tuple[float, ...] = ()
    keep: tuple[str, ...] = ()
    source: Motion | None = None
    path: Motion | None = None
    names: dict = field(default_factory=dict)  # file names, for error messages

    def kind(self) -> str:
        if self.path is not None:
            return "path"
        if self.keep:
            return "keep"
        if self.keyframes is not None:
            return "keyframes"
        if self.end is not None:
            return "inbetween"
        return "prefix" if self.prefix is not None else "none"


def parse_parts(text: str) -> tuple[str, ...]:
    """'upper' or 'upper,root' -> group names; unknown names are a one-line error."""
    names = [n.strip().lower() for n in str(text).split(",") if n.strip()]
    if not names:
        raise UserError(f"--keep needs a body part ({', '.join(KEEP_PARTS)})")
    groups = []
    for name in names:
        if name not in KEEP_PARTS:
            raise UserError(f"unknown body part '{name}' for --keep (known: {', '.join(KEEP_PARTS)})")
        groups += [g for g in KEEP_PARTS[name] if g not in groups]
    return tuple(groups)


def parse_times(text: str) -> tuple[float, ...]:
    """'1, 2.5, 4' -> seconds, ascending, finite, not negative."""
    try:
        times = tuple(float(t) for t in str(text).replace(";", ",").split(",") if t.strip())
    except ValueError:
        raise UserError(f"--at takes seconds separated by commas, e.g. 1,2.5,4; got '{text}'") from None
    if not times:
        raise UserError("--at needs at least one time in seconds, e.g. --at 1,2.5")
    if not all(np.isfinite(times)) or min(times) < 0:
        raise UserError(f"--at times must be finite and not negative, got '{text}'")
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise UserError(f"--at times must increase, got '{text}'")
    return times


@dataclass
class _Plan:
    """What the model is asked for: `frames` frames, with `target` fixed where `is_key` says
    (or `known` body parts); `head` and `tail` are joined before and after unchanged."""

    frames: int
    new_start: int  # first frame the text is about (after a prefix's known frames)
    target: Motion
    is_key: np.ndarray
    known: KnownMotion
    head: Motion | None = None
    tail: Motion | None = None


def complete(
    pipe,
    prompt: str | list[tuple[float, str]],
    controls: Controls,
    seconds: float | None = None,
    sampling: Sampling | None = None,
    cleanup: bool = True,
    progress: bool = False,
) -> Motion:
    """One motion doing `prompt` (a text, or a timeline of (seconds, text)) under `controls`.
    `seconds`: how long the new motion is (after a prefix, or between the in-between clips; the
    whole clip for keyframes; not used with `keep`, and given by a timeline's own lengths)."""
    from motiongen.motion.cleanup import cleanup as physical_cleanup

    sampling = sampling or Sampling()
    fps = pipe.fps
    timeline = None if isinstance(prompt, str) else list(prompt)
    if timeline is None and not prompt.strip():
        raise UserError('the prompt is empty; describe the motion, e.g. "a person walks forward"')
    if timeline is not None:
        if seconds is not None:
            raise UserError("a timeline gives its own lengths; leave out --seconds")
        seconds = sum(s for s, _ in timeline)
    plan = _plan(controls, seconds, fps, int(pipe.denoiser.config.max_frames))
    texts = _texts(pipe, prompt if timeline is None else timeline, plan, fps)
    features = generate_features(pipe, texts, plan.frames, sampling, plan.known, progress)
    caption = prompt if timeline is None else "; ".join(f"{p} {s:g}s" for s, p in timeline)
    motion = features_to_motion(features, fps, {"caption": caption, **sampling.meta(pipe)})
    record = {"kind": controls.kind()}
    if plan.is_key.any():
        motion, miss = meet_keys(motion, plan.target, plan.is_key)
        record["model_miss_root_m"], record["model_miss_joints_m"] = miss["root_m"], miss["joints_m"]
        record["unbent_root_m"] = miss["unbent_root_m"]
    elif controls.path is not None:
        from motiongen.pipelines.path import place_on_path

        motion = place_on_path(motion, plan.target)
    elif controls.source is not None and "root" not in controls.keep:  # stand where the source stands
        source = plan.target
        motion = align(motion, 0, source.root[0, [0, 2]], float(source.heading()[0]))
    if cleanup:
        motion = physical_cleanup(motion, plan.is_key if plan.is_key.any() else None)
    if controls.path is not None:
        off = np.linalg.norm(motion.root[:, [0, 2]] - plan.target.root[:, [0, 2]], axis=-1)
        record["path_error_mean_m"], record["path_error_max_m"] = float(off.mean()), float(off.max())
    if controls.keep:
        motion = _keep_parts(motion, plan.target, controls.keep)
    motion.meta["controls"] = record
    parts = [m for m in (plan.head, motion, plan.tail) if m is not None]
    out = concatenate(parts) if len(parts) > 1 else motion
    out.meta = dict(motion.meta)
    return out


def _texts(pipe, prompt, plan: _Plan, fps: float) -> list[tuple[int, int, str]]:
    """(first frame, stop, text) over the plan's frames: timeline entries, or the parts of a
    "..., then ..." prompt in equal shares, after the prefix's known frames."""
    new = plan.frames - plan.new_start
    if isinstance(prompt, str):
        parts = pipe._parts(prompt.strip(), new)
        entries = [(new / len(parts), p) for p in parts]
    else:
        entries = [(s * fps, p) for s, p in prompt]
    total = sum(f for f, _ in entries)
    bounds = [plan.new_start + round(new * sum(f for f, _ in entries[:k]) / total) for k in range(len(entries) + 1)]
    bounds[0], bounds[-1] = 0, plan.frames
    return [(a, b, p) for a, b, (_, p) in zip(bounds[:-1], bounds[1:], entries, strict=True) if b > a]


def _plan(controls: Controls, seconds: float | None, fps: float, window: int) -> _Plan:
    context = min(int(CONTEXT_SECONDS * fps), window // 2)
    kind = controls.kind()
    if kind == "path":
        from motiongen.pipelines.path import path_known

        path = controls.path.resampled(fps)
        long_frames(path.duration, fps)  # at most 10 minutes
        if len(path) < 2:
            raise UserError("the path lasts less than one frame; give points further apart in time")
        return _Plan(len(path), 0, path, np.zeros(len(path), bool), path_known(path))
    if kind == "keep":
        source = controls.source.resampled(fps)
        if source.duration > MAX_LONG_SECONDS:
            raise UserError(f"--from clip lasts {source.duration:.0f} s; at most {MAX_LONG_SECONDS:g} s can be edited")
        if len(source) < 2:
            raise UserError("--from needs a clip of at least two frames")
        known = KnownMotion.body_parts(source, controls.keep)
        return _Plan(len(source), 0, source, np.zeros(len(source), bool), known)
    if kind == "keyframes":
        return _keyframe_plan(controls, seconds, fps)
    new = long_frames(4.0 if seconds is None else seconds, fps)
    head, tail, keys = None, None, []  # keys: (first frame, clip)
    start = 0
    if controls.prefix is not None:
        prefix = controls.prefix.resampled(fps)
        shown = min(len(prefix), context)  # the model sees the prefix's last seconds
        head = prefix.slice(0, len(prefix) - shown) if len(prefix) > shown else None
        keys.append((0, prefix.slice(len(prefix) - shown)))
        start = shown
    frames = start + new
    if controls.end is not None:
        end = controls.end.resampled(fps)
        shown = min(len(end), context)
        tail = end.slice(shown) if len(end) > shown else None
        keys.append((frames, end.slice(0, shown)))
        frames += shown
    return _keyed_plan(frames, fps, start, keys, head, tail)


def _keyframe_plan(controls: Controls, seconds: float | None, fps: float) -> _Plan:
    times, poses = controls.key_times, controls.keyframes
    name = controls.names.get("keyframes", "the keyframe file")
    if len(poses) == len(times):  # one pose per time
        chosen = poses
        length = times[-1] + 1.0 if seconds is None else seconds
    elif len(poses) > len(times):  # a clip: its poses at those times
        clip = poses.resampled(fps)
        outside = [t for t in times if t > clip.duration - 1 / fps + 1e-6]
        if outside:
            raise UserError(f"keyframe time {outside[0]:g} s is outside {name} (0 to {clip.duration - 1 / fps:g} s)")
        chosen = concatenate([clip.slice(round(t * fps), round(t * fps) + 1) for t in times])
        length = clip.duration if seconds is None else seconds
    else:
        raise UserError(f"{name} holds {len(poses)} poses but --at gives {len(times)} times; give one time per pose")
    frames = long_frames(length, fps)
    indices = [round(t * fps) for t in times]
    if indices[-1] >= frames:
        raise UserError(
            f"keyframe time {times[-1]:g} s is outside the clip (0 to {(frames - 1) / fps:g} s); raise --seconds"
        )
    if len(set(indices)) < len(indices):
        raise UserError(f"--at times closer than one frame ({1 / fps:g} s) fall on the same frame")
    keys = [(i, chosen.slice(k, k + 1)) for k, i in enumerate(indices)]
    return _keyed_plan(frames, fps, 0, keys, None, None)


def _keyed_plan(frames: int, fps: float, new_start: int, keys, head, tail) -> _Plan:
    """Known frames from key clips placed at their first frames; a key run after generated
    frames has its root unknown on its first frame (a lone pose has no speed to give)."""
    quats = np.zeros((frames, len(JOINT_INDEX), 4), np.float32)
    quats[..., 0] = 1
    root = np.zeros((frames, 3), np.float32)
    is_key = np.zeros(frames, bool)
    for first, clip in keys:
        quats[first : first + len(clip)], root[first : first + len(clip)] = clip.quats, clip.root
        is_key[first : first + len(clip)] = True
    target = Motion(quats, root, fps)
    known = KnownMotion.empty(frames)
    root_features = FEATURE_GROUP == GROUP_NAMES.index("root")
    for first, last in key_runs(is_key):
        known.features[first : last + 1] = motion_to_features(target.slice(first, last + 1))
        known.mask[first : last + 1] = True
        if first > 0:
            known.mask[first, GROUP_NAMES.index("root")] = False
            known.features[first, root_features] = 0
    return _Plan(frames, new_start, target, is_key, known, head, tail)


def _keep_parts(motion: Motion, source: Motion, groups) -> Motion:
    """The kept groups' joint rotations (and, for the root, the root's path) exactly as in `source`."""
    joints = [JOINT_INDEX[j] for g in groups for j in GROUP_JOINTS[g]]
    quats, root = motion.quats.copy(), motion.root.copy()
    quats[:, joints] = source.quats[:, joints]
    if "root" in groups:
        root = source.root.copy()
    return Motion(quats, root, motion.fps, dict(motion.meta))


def read_controls(
    prefix=None,
    inbetween=None,
    keyframes=None,
    at: str | None = None,
    keep: str | None = None,
    source=None,
    timeline: bool = False,
    seconds: float | None = None,
    path=None,
    waypoints: str | None = None,
) -> Controls:
    """Controls from the command line's files and options (paths to any motion file), with a
    one-line error for a missing option, a combination that means nothing, or a bad file."""
    from motiongen.io import load_motion

    given = [name for name, value in (("--prefix", prefix), ("--inbetween", inbetween), ("--keyframes", keyframes),
                                      ("--keep", keep), ("--path", path), ("--waypoints", waypoints)) if value]  # fmt: skip
    if len(given) > 1:
        raise UserError(
            f"give one of --prefix, --inbetween, --keyframes, --keep, --path and --waypoints, not {' and '.join(given)}"
        )
    if path is not None or waypoints is not None:
        from motiongen.pipelines.path import parse_waypoints, path_motion, read_path

        if timeline:
            raise UserError("a path gives the clip's length and a timeline its own; use a single PROMPT with a path")
        if path is not None and seconds is not None:
            raise UserError("--path gives the clip's length (its last time); leave out --seconds")
        rows = read_path(path) if path is not None else parse_waypoints(waypoints, seconds)
        return Controls(path=path_motion(rows, 20.0), names={"path": Path(path).name if path else "--waypoints"})
    if (keyframes is None) != (at is None):
        raise UserError("--keyframes FILE and --at t1,t2,... go together: one time in seconds per pose")
    if (keep is None) != (source is None):
        raise UserError("--keep PART and --from CLIP go together: the parts of CLIP to keep")
    if keep is not None and (timeline or seconds is not None):
        raise UserError("--keep makes a clip as long as --from; leave out --seconds and --timeline")
    if inbetween is not None and seconds is None and not timeline:
        raise UserError("--inbetween A B needs --seconds N: how long the motion between them is")
    if prefix is not None:
        return Controls(prefix=load_motion(prefix), names={"prefix": Path(prefix).name})
    if inbetween is not None:
        start, end = inbetween
        return Controls(prefix=load_motion(start), end=load_motion(end))
    if keyframes is not None:
        times = parse_times(at)
        poses = load_motion(keyframes)
        return Controls(keyframes=poses, key_times=times, names={"keyframes": Path(keyframes).name})
    if keep is not None:
        return Controls(keep=parse_parts(keep), source=load_motion(source))
    return Controls()
