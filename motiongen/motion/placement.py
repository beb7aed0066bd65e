"""Placing generated motion in the world, so that it meets poses given in world space.

Model features are invariant to position and heading, so a generator's output starts at the
origin facing +Z. `meet_keys` moves it to where the given poses ("keys": a prefix, an end pose,
keyframes) are:

1. the whole clip is turned about +Y and shifted over the floor so that the first run of keys
   sits where it was given (aligned at that run's last frame, where a continuation starts);
2. each later run of keys is reached by bending the path between the runs: a turn and shift that
   grows smoothly from nothing at the end of one run to all of it at the start of the next (a
   model cannot know where a later key is; it only knows the key's pose);
3. what the model still misses at a key (the key's pose and root against those its neighbouring
   generated frames lead to) is faded into those neighbours, over at most `blend_seconds` and at
   most half the way to the next key, so key frames are met exactly and nothing jumps;
4. next to keys that move (a prefix, an end clip), the generated frames start at the keys' own
   speed and ease into the model's over `EASE_SECONDS`, so the speed does not jump at the seam.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion

BLEND_SECONDS = 1.0
EASE_SECONDS = 0.5  # after keys with a speed, the motion goes on at their speed and eases into the model's


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _wrap(angle):
    return np.arctan2(np.sin(angle), np.cos(angle))


def key_runs(is_key: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame of each run of consecutive key frames."""
    keys = np.flatnonzero(is_key)
    if not len(keys):
        return []
    breaks = np.flatnonzero(np.diff(keys) > 1)
    starts = np.concatenate([[keys[0]], keys[breaks + 1]])
    ends = np.concatenate([keys[breaks], [keys[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def bend(motion: Motion, weight: np.ndarray, angle: float, pivot: np.ndarray, shift: np.ndarray) -> Motion:
    """Per frame, turn by weight * angle about +Y around `pivot` (x, z) and shift by weight * shift
    (x, z). Weight 1 everywhere is a rigid move of the whole clip."""
    weight = np.asarray(weight, np.float64)
    turn = weight * angle
    c, s = np.cos(turn), np.sin(turn)
    x = motion.root[:, 0] - pivot[0]
    z = motion.root[:, 2] - pivot[1]
    root = motion.root.astype(np.float64).copy()
    root[:, 0] = c * x + s * z + pivot[0] + weight * shift[0]  # yaw_matrix maps +Z to (sin, 0, cos)
    root[:, 2] = -s * x + c * z + pivot[1] + weight * shift[1]
    yaw = R.axis_angle_to_quat(torch.from_numpy(np.stack([0 * turn, turn, 0 * turn], -1)).float())
    quats = motion.quats.copy()
    quats[:, 0] = R.quat_mul(yaw, torch.from_numpy(quats[:, 0])).numpy()
    return replace(motion, quats=quats, root=root.astype(np.float32), meta=dict(motion.meta))


def align(motion: Motion, frame: int, root_xz: np.ndarray, heading: float) -> Motion:
    """Move the whole clip rigidly so that `frame` stands at `root_xz` facing `heading`."""
    angle = float(_wrap(heading - motion.heading()[frame]))
    pivot = motion.root[frame, [0, 2]].astype(np.float64)
    return bend(motion, np.ones(len(motion)), angle, pivot, np.asarray(root_xz, np.float64) - pivot)


def meet_keys(motion: Motion, target: Motion, is_key, blend_seconds: float = BLEND_SECONDS) -> tuple[Motion, dict]:
    """`motion` moved and bent so that it equals `target` on the key frames (both as long as each
    other; `target` matters only on keys). Returns the motion and how far the model itself was
    from the keys before the correction of step 3 (after the moves of steps 1 and 2): the largest
    distance between a key's root and joints and those its generated neighbours lead to,
    {"root_m": ..., "joints_m": ...}, and "unbent_root_m": how far the root of the later keys
    would be without step 2."""
    is_key = np.asarray(is_key, bool)
    if len(motion) != len(target) or is_key.shape != (len(motion),):
        raise ValueError("motion, target and is_key must have one entry per frame")
    runs = key_runs(is_key)
    if not runs:
        return motion, {"root_m": 0.0, "joints_m": 0.0, "unbent_root_m": 0.0}
    heading = target.heading()
    first_end = runs[0][1]
    motion = align(motion, first_end, target.root[first_end, [0, 2]], heading[first_end])
    later = [start for start, _ in runs[1:]]
    unbent = float(np.linalg.norm(motion.root[later] - target.root[later], axis=-1).max()) if later else 0.0
    for (_, previous_end), (start, _) in zip(runs[:-1], runs[1:], strict=True):
        weight = _smoothstep((np.arange(len(motion)) - previous_end) / (start - previous_end))
        angle = float(_wrap(heading[start] - motion.heading()[start]))
        pivot = motion.root[start, [0, 2]].astype(np.float64)
        motion = bend(motion, weight, angle, pivot, target.root[start, [0, 2]] - pivot)
    fixed, miss = _fade_in_residuals(motion, target, is_key, round(blend_seconds * motion.fps))
    fixed = _ease_out_of_keys(fixed, target, is_key, round(EASE_SECONDS * motion.fps))
    return fixed, {**miss, "unbent_root_m": unbent}


def _conj(q: torch.Tensor) -> torch.Tensor:
    return q * q.new_tensor([1.0, -1.0, -1.0, -1.0])


def _predicted(motion: Motion, frame: int, step: int) -> tuple[torch.Tensor, np.ndarray]:
    """The pose (local quats, root) the generated frames on one side of `frame` lead to: their
    next frame at constant angular and linear speed (`step` -1: from frames before it, +1: after)."""
    q = torch.from_numpy(motion.quats)
    near, far = frame + step, frame + 2 * step
    if not 0 <= far < len(motion):
        return q[near], motion.root[near]
    speed = R.quat_mul(_conj(q[far]), q[near])  # far -> near, in each joint's parent frame
    return R.quat_mul(q[near], speed), 2 * motion.root[near] - motion.root[far]


def _ease_out_of_keys(motion: Motion, target: Motion, is_key: np.ndarray, frames: int) -> Motion:
    """Next to each run of two or more keys, the generated frames go from the keys' motion
    continued at its speed (each joint at constant angular speed, the root at constant velocity)
    to the model's own, with a smoothstep weight over `frames` frames and at most half the way to
    the next key: the speed is continuous at the seam, the change of speed spread over the ease."""
    quats, root = motion.quats.copy(), motion.root.copy()
    q = torch.from_numpy(target.quats)
    runs = key_runs(is_key)
    for first, last in runs:
        if last == first:
            continue  # a lone pose has no speed
        for side, edge in ((1, last), (-1, first)):
            others = [a for a, _ in runs if a > edge] if side > 0 else [b for _, b in runs if b < edge]
            gap = min((abs(o - edge) for o in others), default=2 * frames)
            n = min(frames, (gap - 1) // 2)
            span = edge + side * np.arange(1, n + 1)
            span = span[(span >= 0) & (span < len(motion))]
            if not len(span):
                continue
            steps = np.arange(1, len(span) + 1)
            speed = R.quat_to_axis_angle(R.quat_mul(_conj(q[edge - side]), q[edge]))  # one frame on, per joint
            on = R.quat_mul(
                q[edge].expand(len(span), -1, -1),
                R.axis_angle_to_quat(speed * torch.from_numpy(steps).float()[:, None, None]),
            )
            velocity = target.root[edge] - target.root[edge - side]
            weight = _smoothstep(steps / (len(span) + 1))[:, None]
            made = torch.from_numpy(quats[span])
            quats[span] = R.quat_slerp(on, made, torch.from_numpy(weight).float()[..., None]).numpy()
            root[span] = (1 - weight) * (target.root[edge] + steps[:, None] * velocity) + weight * root[span]
    return replace(motion, quats=quats, root=root.astype(np.float32), meta=dict(motion.meta))


def _fade_in_residuals(motion: Motion, target: Motion, is_key: np.ndarray, radius: int) -> tuple[Motion, dict]:
    """Key frames become exactly the target. Next to a run of keys with a speed (two or more
    frames, e.g. a prefix), the first generated frame becomes the pose the keys lead to at their
    speed (so a continuation has no kink); next to a lone pose, the frames take the change that
    turns the pose they lead to into the key's. Either change fades smoothly to nothing within
    `radius` frames and half the way to the next key. Returns the motion and the largest such
    change (the model's own miss), in root and joint positions."""
    frames = len(motion)
    index = np.arange(frames)
    runs = key_runs(is_key)
    firsts = np.array([a for a, _ in runs])
    lasts = np.array([b for _, b in runs])
    change = torch.zeros(frames, motion.quats.shape[1], 4)
    change[..., 0] = 1
    shift = np.zeros((frames, 3), np.float32)
    weight = np.zeros(frames)
    miss_root, miss_joints = 0.0, 0.0
    for side, keys, neighbour_keys in ((-1, firsts, lasts), (1, lasts, firsts)):
        for k in keys:
            if not 0 <= k + side < frames or is_key[k + side]:
                continue  # nothing generated on this side
            if 0 <= k - side < frames and is_key[k - side]:  # the keys have a speed: go on with it
                q_keys, root_keys = _predicted(target, int(k + side), -side)
                q_made, root_made = torch.from_numpy(motion.quats[k + side]), motion.root[k + side]
                delta = R.quat_mul(q_keys, _conj(q_made))
                offset, first = root_keys - root_made, 1  # the first generated frame gets all of it
                pose, aim = (
                    Motion(q_made[None].numpy(), root_made[None], motion.fps),
                    Motion(q_keys[None].numpy(), root_keys[None], motion.fps),
                )
            else:  # a lone pose: meet it where the generated frames lead
                q_pred, root_pred = _predicted(motion, int(k), side)
                delta = R.quat_mul(torch.from_numpy(target.quats[k]), _conj(q_pred))
                offset, first = target.root[k] - root_pred, 0
                pose, aim = Motion(q_pred[None].numpy(), root_pred[None], motion.fps), target.slice(k, k + 1)
            delta = torch.where(delta[..., :1] < 0, -delta, delta)
            others = neighbour_keys[(neighbour_keys - k) * side > 0]
            gap = np.abs(others - k).min() if len(others) else 2 * radius
            reach = max(min(radius, gap / 2), 1.0)
            span = index[(index - k) * side > 0]
            span = span[np.abs(span - k) - first < reach]
            w = _smoothstep(1 - (np.abs(span - k) - first) / reach)
            better = w > weight[span]
            span, w = span[better], w[better]
            weight[span] = w
            identity = torch.zeros_like(delta).expand(len(span), -1, -1)
            identity = identity + identity.new_tensor([1.0, 0, 0, 0])
            change[span] = R.quat_slerp(
                identity, delta.expand(len(span), -1, -1), torch.from_numpy(w).float()[:, None, None]
            )
            shift[span] = w[:, None] * offset
            miss_root = max(miss_root, float(np.linalg.norm(offset)))
            miss_joints = max(miss_joints, float(np.linalg.norm(pose.positions() - aim.positions(), axis=-1).max()))
    quats = R.quat_mul(change, torch.from_numpy(motion.quats)).numpy()
    root = motion.root + shift
    quats[is_key], root[is_key] = target.quats[is_key], target.root[is_key]  # exactly, not within float error
    fixed = replace(motion, quats=quats, root=root.astype(np.float32), meta=dict(motion.meta))
    return fixed, {"root_m": miss_root, "joints_m": miss_joints}
