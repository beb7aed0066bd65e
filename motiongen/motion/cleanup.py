"""Physical clean-up, the last step of every generator: planted feet, nothing through the floor.

`cleanup(motion)` (or a list of people, each cleaned on its own) returns a new `Motion` in which

- frames that shake more than real motion does are smoothed (a short Gaussian on rotations
  and root height, blended in by how much they shake), so calm and clean motion is untouched;
- floor contacts are detected from the motion itself (joint height above the floor and speed,
  with hysteresis), and a foot in contact is locked in world space: the leg is re-posed by an
  analytic two-bone IK (hip-knee-ankle; the knee bends in the plane of the current knee), the
  lock fades in and out over a few frames, and a foot that moves between two contacts steps
  over the floor rather than dragging along it;
- the body neither sinks into the floor (y = 0) beyond a joint's radius nor hovers above it: a
  small vertical root shift per frame, smoothed so that it adds no jitter;
- the root's horizontal path and all bone lengths are untouched (rotations and the root height
  change), so a walk keeps its path and speed; calm frames change only at the hips, knees and
  ankles.

A motion that is already clean (calm, feet still while on the floor, steps that clear it,
nothing in it) comes out unchanged. `motion.meta["cleanup"]` records what was done.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from scipy.ndimage import (
    distance_transform_edt,
    gaussian_filter1d,
    maximum_filter1d,
    minimum_filter1d,
    uniform_filter1d,
)
from scipy.spatial.transform import Rotation

from motiongen.data.floor import _BODY_RADIUS, _SOLE
from motiongen.motion import rotations as R
from motiongen.motion.kinematics import forward_kinematics
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import FOOT_JOINTS, JOINT_INDEX

_J = JOINT_INDEX
FEET = list(FOOT_JOINTS)  # left ankle, left toes, right ankle, right toes
LEGS = (  # hip, knee, ankle, toes
    tuple(_J[n] for n in ("left_hip", "left_knee", "left_ankle", "left_foot")),
    tuple(_J[n] for n in ("right_hip", "right_knee", "right_ankle", "right_foot")),
)
# The global rotations the leg IK reads: the pelvis, and each leg's hip, knee and ankle (columns
# of `glob` in LEG_GLOBALS).
GLOBAL_JOINTS = (_J["pelvis"], *LEGS[0][:3], *LEGS[1][:3])
LEG_GLOBALS = ((0, 1, 2, 3), (0, 4, 5, 6))  # pelvis, hip, knee, ankle of the left and right leg

# How far each joint centre sits above the floor when it touches it: the sole under the foot
# joints, the skin elsewhere.
FLOOR_RADIUS = _BODY_RADIUS.astype(np.float64).copy()
for _j, _h in _SOLE.items():
    FLOOR_RADIUS[_j] = _h
FOOT_RADIUS = FLOOR_RADIUS[FEET]

# Contacts. In locomotion a swinging foot moves at about twice the body's speed and a planted
# one hardly at all, but generated feet slide at up to ~1 m/s, so the speed limits grow with the
# body's speed.
CONTACT_ON_HEIGHT = 0.05  # m above the floor: a joint this low and slow comes into contact...
CONTACT_OFF_HEIGHT = 0.08  # ...and stays in contact until it is this high or this fast
CONTACT_ON_SPEED = 0.5  # m/s, or the root's speed times CONTACT_SPEED_PER_ROOT_SPEED if more...
CONTACT_OFF_SPEED = 0.75  # ...and to leave contact, as much more as this is
CONTACT_SPEED_PER_ROOT_SPEED = 1.0
MIN_CONTACT_SECONDS = 0.1  # shorter contacts are flicker
MAX_SLIDE = 0.25  # m: a foot that slides further while "in contact" takes a new step
TRIM_SPEED = 0.05  # m/s: a foot faster than this and speeding up is leaving the floor (slowing down: arriving)
BLEND_SECONDS = 0.15  # a lock fades in and out over this long
KEEP_BLEND_SECONDS = 0.4  # after frames to keep, the clean-up fades in over this long (from the second frame)

# Steps between two contacts of a foot.
SWING_CLEARANCE = 0.05  # m: the sole clears the floor by this much mid-step...
STEP_LENGTH = 0.2  # m: ...in a step this long or longer (less in shorter ones)
MAX_SWING_SECONDS = 1.5  # longer gaps between contacts are not steps

# Floor.
SINK_TOLERANCE = 0.02  # m a joint may press into the floor beyond its radius (skin, shoes)
FLOAT_TOLERANCE = 0.02  # m a supporting joint may hover before the body is lowered
MAX_FLIGHT_SECONDS = 0.8  # longer without any contact: the body is hovering, not jumping
SMOOTH_SECONDS = 0.1  # standard deviation of the smoothing of the root height shift

# Shaking. Generated motion shakes frame to frame far more than motion capture (mean jerk of the
# joints 400-700 m/s^3 in walks and runs against 100-160 in real ones). Frames that shake more
# than real motion does are smoothed; calmer frames, and so clean motion, are left alone.
CALM_JERK = 150.0  # m/s^3, mean over joints: up to this a frame is left as it is...
SHAKING_JERK = 300.0  # ...and from this on it is fully smoothed (in between, partly)
SHAKE_SMOOTH_SECONDS = 0.035  # standard deviation of that smoothing (0.7 frames at 20 fps)

MAX_REACH = 0.9999  # of the leg's length: keeps the knee angle well defined


def cleanup(motions: Motion | list[Motion], keep=None) -> Motion | list[Motion]:
    """Clean one motion or each of several people. `keep`: frames (a boolean per frame, or one
    such array per person) to leave exactly as they are, e.g. frames a user gave; the clean-up
    fades out around them."""
    if isinstance(motions, Motion):
        return clean_motion(motions, keep)
    motions = list(motions)
    keeps = keep if isinstance(keep, (list, tuple)) else [keep] * len(motions)
    if len(keeps) != len(motions):
        raise ValueError(f"got {len(keeps)} keep masks for {len(motions)} motions")
    return [clean_motion(m, k) for m, k in zip(motions, keeps, strict=True)]


def clean_motion(motion: Motion, keep=None) -> Motion:
    """One person's motion, cleaned (see the module's docstring); `keep` as in `cleanup`."""
    fps, frames = motion.fps, len(motion)
    free = _free_weight(keep, frames, _frames(KEEP_BLEND_SECONDS, fps))
    given, (motion, smoothed) = motion, smooth_shaking(motion, free)
    positions, glob = _kinematics(motion)  # this function's own: changed in place below

    # The body onto the floor first: a hovering body's feet only touch it afterwards.
    shift = root_height_shift(positions, detect_contacts(positions, fps), fps) * free
    positions[..., 1] += shift[:, None]

    # Where each foot joint should be: its lock point while in contact, blended in and out. A
    # foot follows its locked ankle (the toes turn onto their own lock too), else its locked toes.
    foot = positions[:, FEET]
    contacts = foot_contacts(foot, positions[:, 0], fps)
    offset, weight = lock_offsets(foot, contacts, fps)
    offset *= free[:, None, None]
    weight *= free[:, None]
    other = offset.reshape(frames, 2, 2, 3)[:, :, ::-1].reshape(frames, 4, 3)  # the same foot's other joint
    move = offset + (1 - weight[..., None]) * other
    planted = contacts.reshape(frames, 2, 2).any(axis=-1)
    lift = swing_lift((foot + move).reshape(frames, 2, 2, 3), planted, fps) * free[:, None]
    move[..., 1] += np.repeat(lift, 2, axis=1)

    changed = np.abs(move).reshape(frames, 2, 6).max(axis=-1) > 0  # [T, 2]
    leg_rotations = _pose_legs(glob, positions, move, changed)
    # Re-posed legs may reach lower than before: the body comes up out of the floor if so.
    shift += _smooth_lower_bound(np.zeros(frames), _lowest_allowed(positions), fps) * free

    quats = motion.quats.copy()
    rows, sides = np.nonzero(changed)
    joints = np.array(LEGS)[sides, :3]  # hip, knee, ankle of each changed leg
    quats[rows[:, None], joints] = R.matrix_to_quat(torch.from_numpy(leg_rotations).float()).numpy()
    root = motion.root.copy()
    root[:, 1] += shift.astype(np.float32)
    if keep is not None:  # exactly as given, not merely within float error
        kept = np.asarray(keep, bool)
        quats[kept], root[kept] = given.quats[kept], given.root[kept]
    report = {
        "smoothed_frames": smoothed,
        "locked_frames": int((contacts.any(axis=1) & (free > 0)).sum()),
        "frames": frames,
        "max_root_shift_m": round(float(np.abs(shift).max()), 4),
        "max_foot_shift_m": round(float(np.linalg.norm(move, axis=-1).max()), 4),
    }
    return replace(motion, quats=quats, root=root, meta={**motion.meta, "cleanup": report})


# -- shaking ------------------------------------------------------------------------------------


def smooth_shaking(motion: Motion, free: np.ndarray) -> tuple[Motion, int]:
    """`motion` with its shaking frames smoothed (rotations and root height, a short Gaussian), blended
    in by how much more a frame shakes than real motion does, and the number of frames touched.
    `free` (0-1 per frame) scales the smoothing down, to 0 on frames to keep."""
    if len(motion) < 4:
        return motion, 0
    jerk = np.linalg.norm(np.diff(motion.positions(), n=3, axis=0), axis=-1).mean(axis=1) * motion.fps**3
    jerk = np.concatenate([jerk[:1], jerk, jerk[-1:], jerk[-1:]])  # one per frame (a 4-frame window each)
    weight = np.clip((maximum_filter1d(jerk, 3) - CALM_JERK) / (SHAKING_JERK - CALM_JERK), 0.0, 1.0)
    weight = gaussian_filter1d(weight, 1.0, mode="nearest") * free
    touched = weight > 1e-3
    if not touched.any():
        return motion, 0
    quats = _continuous(motion.quats.astype(np.float64))
    root = motion.root.astype(np.float64)
    sigma = SHAKE_SMOOTH_SECONDS * motion.fps
    quats += weight[:, None, None] * (gaussian_filter1d(quats, sigma, axis=0, mode="nearest") - quats)
    # The root's height only: its path over the floor (and so the speed) is the user's.
    root[:, 1] += weight * (gaussian_filter1d(root[:, 1], sigma, mode="nearest") - root[:, 1])
    quats /= np.linalg.norm(quats, axis=-1, keepdims=True)
    quats[~touched], root[~touched] = motion.quats[~touched], motion.root[~touched]
    return replace(motion, quats=quats.astype(np.float32), root=root.astype(np.float32)), int(touched.sum())


def _continuous(quats: np.ndarray) -> np.ndarray:
    """Quaternions [T, J, 4] with signs chosen so that each is on the near side of the one before
    (q and -q are one rotation; averaging across a sign flip would not be)."""
    flips = np.sign(np.einsum("tjc,tjc->tj", quats[1:], quats[:-1]))
    flips[flips == 0] = 1
    quats = quats.copy()
    quats[1:] *= np.cumprod(flips, axis=0)[..., None]
    return quats


# -- contacts -----------------------------------------------------------------------------------


def detect_contacts(positions: np.ndarray, fps: float) -> np.ndarray:
    """Boolean floor contacts [T, 22] of every joint from global positions [T, 22, 3]: a joint
    comes into contact when it is low and slow and stays in contact until it is higher or faster."""
    return _low_and_slow(positions, positions[:, 0], FLOOR_RADIUS, fps)


def foot_contacts(foot: np.ndarray, root: np.ndarray, fps: float) -> np.ndarray:
    """The contacts to lock [T, 4] of the foot joints `foot` [T, 4, 3] (ankles and toes), given
    the root's path [T, 3]. Beyond `detect_contacts`: a contact ends where the foot has slid
    MAX_SLIDE (it takes a new step), it leaves out the frames where the foot speeds up out of
    it or slows down into it, and flicker shorter than MIN_CONTACT_SECONDS is dropped."""
    contact = _low_and_slow(foot, root, FOOT_RADIUS, fps)
    speed = _speed(foot, fps)
    shortest = _frames(MIN_CONTACT_SECONDS, fps)
    out = np.zeros_like(contact)
    for j in range(foot.shape[1]):
        x, z, v = foot[:, j, 0].tolist(), foot[:, j, 2].tolist(), speed[:, j].tolist()
        for s, e in _runs(contact[:, j]):
            pieces, first = [], s
            for t in range(s + 1, e):
                if t > first and math.hypot(x[t] - x[first], z[t] - z[first]) > MAX_SLIDE:
                    pieces.append((first, t))
                    first = t + shortest  # a gap to step in
            pieces.append((first, e))
            for a, b in pieces:
                while b - a > 1 and v[a] > TRIM_SPEED and v[a] > v[a + 1]:
                    a += 1
                while b - a > 1 and v[b - 1] > TRIM_SPEED and v[b - 1] > v[b - 2]:
                    b -= 1
                if b - a >= shortest:
                    out[a:b, j] = True
    return out


def _low_and_slow(points: np.ndarray, root: np.ndarray, radius: np.ndarray, fps: float) -> np.ndarray:
    """Contacts [T, J] of joints at `points` [T, J, 3] with floor radii `radius`, the root at
    `root` [T, 3], with hysteresis: on from a frame where the joint is low and slow, for as long
    as it is not too high or too fast."""
    height = points[..., 1] - radius
    speed = _speed(points, fps)
    root_speed = uniform_filter1d(_speed(root[:, None] * [1, 0, 1], fps)[:, 0], _frames(0.5, fps), mode="nearest")
    limit = np.maximum(CONTACT_ON_SPEED, CONTACT_SPEED_PER_ROOT_SPEED * root_speed)[:, None]
    start = (height < CONTACT_ON_HEIGHT) & (speed < limit)
    stay = (height < CONTACT_OFF_HEIGHT) & (speed < limit * (CONTACT_OFF_SPEED / CONTACT_ON_SPEED))
    # On where the last start is later than the last break (`stay` includes `start`).
    t = np.arange(len(start))[:, None]
    last_start = np.maximum.accumulate(np.where(start, t, -1), axis=0)
    last_break = np.maximum.accumulate(np.where(stay, -1, t), axis=0)
    return stay & (last_start > last_break)


def _speed(points: np.ndarray, fps: float) -> np.ndarray:
    """Speed (m/s) by central differences of [T, N, 3] -> [T, N]."""
    if len(points) < 2:
        return np.zeros(points.shape[:-1])
    padded = np.concatenate([points[:1], points, points[-1:]])
    step = (padded[2:] - padded[:-2]) / 2
    step[[0, -1]] *= 2  # one-sided at the ends
    return np.linalg.norm(step, axis=-1) * fps


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _frames(seconds: float, fps: float) -> int:
    return max(1, int(round(seconds * fps)))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


# -- feet ---------------------------------------------------------------------------------------


def lock_offsets(foot: np.ndarray, contacts: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per foot joint, how far to move it ([T, 4, 3]) and how locked it is ([T, 4], 1 in contact).

    Each contact locks the joint at its median position over the contact (the point the leg
    reaches best; a foot that is already still stays where it is). Around a contact the offset
    at its edge fades out over BLEND_SECONDS; between two contacts closer than two fades it
    passes from one to the other.
    """
    frames = len(foot)
    blend = _frames(BLEND_SECONDS, fps)
    offset = np.zeros(foot.shape)
    weight = np.zeros(foot.shape[:2])
    t = np.arange(frames)

    def fade(frames_, edge, offset_at_edge, j):
        w = _smoothstep(1 - np.abs(frames_ - edge) / (blend + 1))
        offset[frames_, j] = w[:, None] * offset_at_edge
        weight[frames_, j] = w

    for j in range(foot.shape[1]):
        locks = []  # (first frame, last frame, offset at the first, offset at the last)
        for s, e in _runs(contacts[:, j]):
            lock = np.median(foot[s:e, j], axis=0)
            lock[1] = max(lock[1], FOOT_RADIUS[j] - SINK_TOLERANCE)
            offset[s:e, j] = lock - foot[s:e, j]
            weight[s:e, j] = 1.0
            locks.append((s, e - 1, offset[s, j], offset[e - 1, j]))
        if locks:
            fade(t[max(0, locks[0][0] - blend) : locks[0][0]], locks[0][0], locks[0][2], j)
        for k, (_, e, _, last) in enumerate(locks):
            nxt = locks[k + 1] if k + 1 < len(locks) else None
            if nxt is not None and nxt[0] - e - 1 <= 2 * blend:  # a short gap: carry the offset across
                gap = t[e + 1 : nxt[0]]
                w = _smoothstep((gap - e) / (nxt[0] - e))[:, None]
                offset[gap, j] = (1 - w) * last + w * nxt[2]
                weight[gap, j] = 1.0
                continue
            fade(t[e + 1 : min(frames, e + 1 + blend)], e, last, j)
            if nxt is not None:
                fade(t[max(0, nxt[0] - blend) : nxt[0]], nxt[0], nxt[2], j)
    return offset, weight


def swing_lift(feet: np.ndarray, planted: np.ndarray, fps: float) -> np.ndarray:
    """How far to lift each foot [T, 2] so that it steps rather than drags along the floor.

    `feet`: ankle and toe positions [T, 2, 2, 3] per leg (left, right); `planted`: [T, 2]. Between
    two contacts of a foot its sole should rise over an arc SWING_CLEARANCE high mid-step (lower
    in short steps), judged over the middle half of the step; before its first contact and after
    its last one, over the half of a step that the clip shows. A foot below the arc is lifted by
    the smallest multiple of the arc that clears it, so a step that already clears it is left
    alone.
    """
    frames = len(planted)
    lift = np.zeros(planted.shape)
    clear = (feet[..., 1] - FOOT_RADIUS.reshape(2, 2)).min(axis=-1)  # [T, 2]: the lower of ankle, toes
    toes = feet[:, :, 1][..., [0, 2]]
    longest = MAX_SWING_SECONDS * fps
    for side in range(2):
        runs = _runs(planted[:, side])
        steps = []  # (first frame, stop, phase of the step at each frame, length of the whole step)
        for (_, e), (s, _) in zip(runs[:-1], runs[1:], strict=True):
            if s - e <= longest:
                u = (np.arange(e, s) - e + 1) / (s - e + 1)
                steps.append((e, s, u, np.linalg.norm(toes[s, side] - toes[e - 1, side])))
        if runs and 0 < runs[0][0] <= longest / 2:  # the clip starts mid-step
            s = runs[0][0]
            steps.append((0, s, 0.5 + 0.5 * np.arange(s) / s, 2 * np.linalg.norm(toes[s, side] - toes[0, side])))
        if runs and 0 < frames - runs[-1][1] <= longest / 2:  # the clip ends mid-step
            e = runs[-1][1]
            u = 0.5 * (np.arange(e, frames) - e + 1) / (frames - e)
            steps.append((e, frames, u, 2 * np.linalg.norm(toes[-1, side] - toes[e - 1, side])))
        for e, s, u, step in steps:
            arc = np.sin(np.pi * u)
            middle = np.abs(u - 0.5) <= 0.25
            if middle.any():
                wanted = SWING_CLEARANCE * min(1.0, step / STEP_LENGTH)
                lift[e:s, side] = arc * np.max(wanted - clear[e:s, side][middle] / arc[middle], initial=0.0)
    return lift


# -- floor --------------------------------------------------------------------------------------


def _clearance(positions: np.ndarray) -> np.ndarray:
    """How far each joint's surface is above the floor, [T, 22]."""
    return positions[..., 1] - FLOOR_RADIUS


def _lowest_allowed(positions: np.ndarray) -> np.ndarray:
    """The smallest root shift per frame that keeps every joint out of the floor."""
    return -_clearance(positions).min(axis=1) - SINK_TOLERANCE


def root_height_shift(positions: np.ndarray, contacts: np.ndarray, fps: float) -> np.ndarray:
    """Vertical root shift per frame [T]: supporting joints down to the floor, nothing through it.

    A frame is supported by its joints in contact (feet, hands, knees, ...), or, in a stretch
    longer than any jump without contact (a body hovering above the floor), by the lowest joint
    of the frames around it (so that a hovering run comes down to the floor between its flights).
    Supported frames that hover more than FLOAT_TOLERANCE are lowered; frames in flight follow
    their supported neighbours; then nothing may sink beyond SINK_TOLERANCE, and the shift is
    smoothed.
    """
    frames = len(positions)
    clear = _clearance(positions)
    support = np.where(contacts, clear, np.inf).min(axis=1)
    window = _frames(MAX_FLIGHT_SECONDS, fps) | 1
    for s, e in _runs(~contacts.any(axis=1)):
        if e - s > MAX_FLIGHT_SECONDS * fps or (s == 0 and e == frames):
            support[s:e] = minimum_filter1d(clear[s:e].min(axis=1), window, mode="nearest")
    supported = np.isfinite(support)
    target = -np.maximum(0.0, support[supported] - FLOAT_TOLERANCE)
    wanted = np.interp(np.arange(frames), np.flatnonzero(supported), target)
    wanted = gaussian_filter1d(wanted, SMOOTH_SECONDS * fps, mode="nearest")
    return _smooth_lower_bound(wanted, _lowest_allowed(positions), fps)


def _smooth_lower_bound(shift: np.ndarray, lowest: np.ndarray, fps: float) -> np.ndarray:
    """Raise `shift` to at least `lowest` with a smooth bump rather than a step."""
    deficit = np.maximum(0.0, lowest - shift)
    if not deficit.any():
        return shift
    sigma = SMOOTH_SECONDS * fps
    bump = gaussian_filter1d(maximum_filter1d(deficit, 2 * int(np.ceil(2 * sigma)) + 1), sigma, mode="nearest")
    return np.maximum(shift + bump, lowest)


def _free_weight(keep, frames: int, blend: int) -> np.ndarray:
    """1 where the clean-up may act, 0 on kept frames and the frame next to them (which goes on
    from them at their speed), fading in over `blend` frames after that."""
    if keep is None:
        return np.ones(frames)
    keep = np.asarray(keep, bool)
    if keep.shape != (frames,):
        raise ValueError(f"keep must have one entry per frame ({frames}), got shape {keep.shape}")
    if not keep.any():
        return np.ones(frames)
    distance = distance_transform_edt(~keep)  # frames to the nearest kept frame
    return _smoothstep((distance - 1) / (blend + 1))


# -- legs ---------------------------------------------------------------------------------------


def _kinematics(motion: Motion, joints=GLOBAL_JOINTS, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Global positions [T, 22, 3] and the global rotations of `joints` [T, len(joints), 3, 3],
    in float64, by forward kinematics over `chunk` frames at a time: a ten-minute clip needs
    these, not all its rotation matrices (several times the memory)."""
    positions = np.empty(motion.quats.shape[:2] + (3,))
    glob = np.empty((len(motion), len(joints), 3, 3))
    for start in range(0, len(motion), chunk):
        part = slice(start, start + chunk)
        local = R.quat_to_matrix(torch.from_numpy(motion.quats[part]).double())
        pos, rot = forward_kinematics(local, torch.from_numpy(motion.root[part]).double())
        positions[part], glob[part] = pos.numpy(), rot[:, list(joints)].numpy()
    return positions, glob


def _pose_legs(glob, positions, move, changed) -> np.ndarray:
    """Re-poses the legs so that the foot joints move by `move` [T, 4, 3] (world space) in the
    frames and legs where `changed` [T, 2]. Returns the new local rotations [N, 3, 3, 3] of the
    hip, knee and ankle of each changed leg (in the order of np.nonzero(changed)) and updates
    `positions` (global, after the root shift) in place.

    `glob`: global rotations of GLOBAL_JOINTS. The ankle goes to its target by IK; the foot keeps
    its world orientation, turned only where the toes move unlike the ankle.
    """
    rows, sides = np.nonzero(changed)
    if not len(rows):
        return np.zeros((0, 3, 3, 3))
    hip, knee, ankle, toe = np.array(LEGS)[sides].T
    g_pelvis, g_hip, g_knee, g_ankle = (glob[rows, k] for k in np.array(LEG_GLOBALS)[sides].T)
    move = move.reshape(-1, 2, 2, 3)[rows, sides]  # [N, 2, 3]: ankle, toes
    p_hip, p_knee, p_ankle, p_toe = (positions[rows, j] for j in (hip, knee, ankle, toe))
    hip_rot, knee_rot = two_bone_ik(p_hip, p_knee, p_ankle, p_ankle + move[:, 0], g_knee)
    foot = p_toe - p_ankle
    aim = _rotation_between(foot, foot + move[:, 1] - move[:, 0])
    new_hip = hip_rot @ g_hip
    new_knee_rot = knee_rot @ g_knee
    local = np.stack(
        [
            _transpose(g_pelvis) @ new_hip,  # the hips' parent is the pelvis
            _transpose(new_hip) @ new_knee_rot,
            _transpose(new_knee_rot) @ aim @ g_ankle,
        ],
        axis=1,
    )
    # Where the leg joints are now (nothing else moved).
    new_knee = p_hip + _apply(hip_rot, p_knee - p_hip)
    new_ankle = new_knee + _apply(knee_rot, p_ankle - p_knee)
    positions[rows, knee], positions[rows, ankle] = new_knee, new_ankle
    positions[rows, toe] = new_ankle + _apply(aim, foot)
    return local


def two_bone_ik(hip, knee, ankle, target, knee_rot) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK. Positions [N, 3], the knee's global rotation [N, 3, 3] ->
    world-space rotations (for the hip, for the knee) [N, 3, 3] that bring the ankle to `target`
    (or as close as the leg reaches), to be applied on the left of the joints' global rotations.

    The knee bends or straightens in the plane of hip, knee and ankle (the knee's own hinge axis
    when the leg is straight), keeping the hip-to-ankle direction; then the whole leg swings at
    the hip onto the target. A target at the ankle gives the identity.
    """
    thigh, shin = knee - hip, ankle - knee
    a, b = np.linalg.norm(thigh, axis=-1), np.linalg.norm(shin, axis=-1)
    reach = np.clip(np.linalg.norm(target - hip, axis=-1), np.abs(a - b) + 1e-4, MAX_REACH * (a + b))
    now = np.linalg.norm(ankle - hip, axis=-1)
    # Interior knee angle now and wanted (law of cosines).
    cos_now = np.clip((a * a + b * b - now * now) / (2 * a * b), -1, 1)
    cos_new = np.clip((a * a + b * b - reach * reach) / (2 * a * b), -1, 1)
    bend = np.arccos(cos_now) - np.arccos(cos_new)  # > 0 bends the knee further
    # The hinge is the normal of the leg's plane; for a straight leg, the knee's own x axis. Both
    # are kept perpendicular to the thigh, so the knee angle changes by `bend`, give or take 1%.
    thigh_dir = _unit(thigh)
    hinge = np.cross(thigh_dir, _unit(shin)) + 0.01 * knee_rot[..., :, 0]
    hinge = _unit(hinge - (hinge * thigh_dir).sum(-1, keepdims=True) * thigh_dir)
    knee_turn = Rotation.from_rotvec(hinge * bend[..., None]).as_matrix()
    bent_ankle = knee + _apply(knee_turn, shin)
    # Back onto the original hip-to-ankle line, then onto the target.
    hip_rot = _rotation_between(ankle - hip, target - hip) @ _rotation_between(bent_ankle - hip, ankle - hip)
    return hip_rot, hip_rot @ knee_turn


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotations [N, 3, 3] turning directions `a` onto `b` [N, 3]. Here they are always
    corrections of well under 180 degrees, so the axis is never undefined while the angle matters."""
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.arctan2(sin, (a * b).sum(-1, keepdims=True))
    return Rotation.from_rotvec(axis / np.maximum(sin, 1e-12) * angle).as_matrix()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _apply(rot: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (rot @ v[..., None])[..., 0]


def _transpose(rot: np.ndarray) -> np.ndarray:
    return np.swapaxes(rot, -1, -2)
