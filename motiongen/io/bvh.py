"""BVH (Biovision hierarchy) reading and writing.

Reading parses any BVH: any channel order per joint, position channels on any joint, End Sites,
any units and up axis. Our own SMPL-22 files are read back rotation for rotation; any other
humanoid rig is retargeted onto SMPL-22 by joint-name presets (see `retarget.py`).

Writing produces the SMPL-22 hierarchy with our rest offsets, in metres by default (Blender's
unit; pass units="cm" for tools that expect centimetres). rig= writes it under another skeleton's
joint names and rest pose (SMPL, Mixamo, Unreal, CMU: see `rigs.py`), fps= resamples first; files
of every rig read back rotation for rotation. The root has 6 channels
(Xposition Yposition Zposition Zrotation Xrotation Yrotation), every other joint the 3 rotation
channels; the root's OFFSET is zero and its position channels hold the pelvis position.
Angles are intrinsic Euler angles in degrees, in channel order (scipy's uppercase sequences).

What made the motion (prompt, seed, sampler, ...: provenance.py) ends the last frame's line, after
its numbers: `# motiongen {"caption": ..., "seed": ...}`. BVH has no comments, and each place
outside the grammar breaks some importer: Blender refuses lines before HIERARCHY and reads every
line after "Frame Time:" as a frame; assimp refuses any extra word inside the HIERARCHY. Words
after a frame's numbers are skipped by Blender (it reads each channel by its index), assimp and
three.js (they read as many numbers as the header promises) and by our reader, which takes the
record back into `Motion.meta`. A parser that turns every word of a frame line into a number
refuses it; a motion with no record (nothing generated it) is written without one.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motiongen import validate
from motiongen.errors import UserError
from motiongen.io import provenance, rigs, single_person
from motiongen.io.retarget import retarget
from motiongen.motion.motion import Motion
from motiongen.motion.sanity import check_plausible, trim_end_glitches
from motiongen.motion.skeleton import JOINT_INDEX, PARENTS

ROTATION_ORDER = "ZXY"  # channel order we write
UNITS = rigs.UNITS
# End Site offsets (metres) for our leaf joints, so every joint gets a visible bone in Blender.
END_SITES = {
    "left_foot": (0.0, 0.0, 0.05),
    "right_foot": (0.0, 0.0, 0.05),
    "head": (0.0, 0.15, 0.0),
    "left_wrist": (0.08, 0.0, 0.0),
    "right_wrist": (-0.08, 0.0, 0.0),
}
_CHANNEL = re.compile(r"^([XYZ])(position|rotation)$", re.IGNORECASE)
NOTE = "# motiongen "  # starts the record of what made the motion, after the last frame's numbers


@dataclass
class Bvh:
    """A parsed BVH file. Joints are in file (depth-first) order, so parents precede children."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3) parent-relative rest offsets
    channels: list[list[str]]  # per joint, e.g. ["Xposition", ..., "Zrotation"]
    end_sites: dict[int, list[np.ndarray]]  # joint index -> its End Site offsets
    frame_time: float
    values: np.ndarray  # (T, total number of channels)
    meta: dict = field(default_factory=dict)  # what made the motion, from our record (module docstring)

    @property
    def fps(self) -> float:
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 0.01 else fps  # 0.0083333 s -> 120 fps

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per frame local rotation matrices (T, J, 3, 3) and translations (T, J, 3).

        Position channels replace the corresponding OFFSET component (the common convention,
        also Blender's); rotation channels compose in channel order (intrinsic Euler angles)."""
        frames, joints = len(self.values), len(self.names)
        rot = np.tile(np.eye(3), (frames, joints, 1, 1))
        trans = np.tile(self.offsets, (frames, 1, 1))
        col = 0
        for j, chans in enumerate(self.channels):
            block = self.values[:, col : col + len(chans)]
            col += len(chans)
            axes, cols = "", []
            for k, chan in enumerate(chans):
                axis, kind = chan[0].upper(), chan[1:].lower()
                if kind == "position":
                    trans[:, j, "XYZ".index(axis)] = block[:, k]
                else:
                    axes += axis
                    cols.append(k)
            if axes:
                rot[:, j] = Rotation.from_euler(axes, block[:, cols], degrees=True).as_matrix()
        return rot, trans

    def global_positions(self) -> np.ndarray:
        """Joint positions (T, J, 3) by forward kinematics."""
        return self.with_end_sites()[2][:, : len(self.names)]

    def rest_positions(self) -> np.ndarray:
        """Joint positions (J, 3) of the rest pose (all rotations zero, offsets as written)."""
        pos = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] + (pos[p] if p >= 0 else 0.0)
        return pos

    def with_end_sites(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Names, rest positions (J', 3) and per-frame positions (T, J', 3) of the joints and of
        each joint's first End Site, named "<joint>_End" (rigs whose toes are an End Site)."""
        rot, trans = self.local_transforms()
        glob_rot = np.empty_like(rot)
        glob_pos = np.empty_like(trans)
        for j, p in enumerate(self.parents):
            if p < 0:
                glob_rot[:, j], glob_pos[:, j] = rot[:, j], trans[:, j]
            else:
                glob_rot[:, j] = glob_rot[:, p] @ rot[:, j]
                glob_pos[:, j] = glob_pos[:, p] + np.einsum("tab,tb->ta", glob_rot[:, p], trans[:, j])
        rest = self.rest_positions()
        names, rest_out, pos_out = list(self.names), [rest], [glob_pos]
        for j, offsets in sorted(self.end_sites.items()):
            names.append(f"{self.names[j]}_End")
            rest_out.append((rest[j] + offsets[0])[None])
            pos_out.append((glob_pos[:, j] + np.einsum("tab,b->ta", glob_rot[:, j], offsets[0]))[:, None])
        return names, np.concatenate(rest_out), np.concatenate(pos_out, axis=1)


# -- parsing ------------------------------------------------------------------------------


def parse_bvh(text: str, label: str = "BVH") -> Bvh:
    """Parse BVH text. Raises UserError naming the line of anything malformed."""
    parts = re.split(r"^\s*MOTION\b", text, maxsplit=1, flags=re.MULTILINE)
    if not text.lstrip().upper().startswith("HIERARCHY"):
        raise UserError(f"{label} is not a BVH file (it does not start with HIERARCHY)")
    if len(parts) < 2:
        raise UserError(f"{label} is truncated or corrupt: it has no MOTION section")
    header, motion = parts
    skeleton = _parse_hierarchy(header, label)
    frame_time, values = _parse_motion(motion, sum(len(c) for c in skeleton["channels"]), label)
    return Bvh(frame_time=frame_time, values=values, meta=_read_note(motion), **skeleton)


def _read_note(motion: str) -> dict:
    """Our record of what made the motion, from the end of the last line (module docstring)."""
    last = motion.rstrip().rpartition("\n")[2]
    start = last.find(NOTE)
    records = provenance.parse(last[start + len(NOTE) :]) if start >= 0 else []
    return records[0] if records else {}


def _parse_hierarchy(header: str, label: str) -> dict:
    names, parents, offsets, channels = [], [], [], []
    end_sites: dict[int, list[np.ndarray]] = {}
    stack: list = []  # open blocks: joint index, or ("end", joint index)
    pending = None  # the joint or End Site whose "{" comes next
    # braces may share a line with a keyword; give them lines of their own, keeping line numbers
    lines = []
    for number, line in enumerate(header.splitlines()[1:], start=2):
        for piece in re.split(r"([{}])", line):
            if piece.strip():
                lines.append((number, piece.split()))

    def fail(number, what):
        raise UserError(f"{label} is corrupt (line {number}): {what}")

    for number, tokens in lines:
        key = tokens[0].upper()
        if key in ("ROOT", "JOINT"):
            if key == "ROOT" and names:
                fail(number, "a second ROOT; only one skeleton per file is supported")
            if key == "JOINT" and (not stack or not isinstance(stack[-1], int)):
                fail(number, "JOINT outside a joint block")
            if len(tokens) < 2:
                fail(number, f"{key} without a name")
            parents.append(stack[-1] if stack else -1)
            names.append(" ".join(tokens[1:]))
            offsets.append(None)
            channels.append([])
            pending = len(names) - 1
        elif key == "END":
            if not stack or not isinstance(stack[-1], int):
                fail(number, "End Site outside a joint block")
            pending = ("end", stack[-1])
        elif key == "{":
            if pending is None:
                fail(number, "'{' without a ROOT, JOINT or End Site before it")
            stack.append(pending)
            pending = None
        elif key == "}":
            if not stack:
                fail(number, "unbalanced '}'")
            stack.pop()
        elif key == "OFFSET":
            if not stack:
                fail(number, "OFFSET outside a block")
            offset = _numbers(tokens[1:], 3, number, label, "OFFSET")
            if isinstance(stack[-1], int):
                offsets[stack[-1]] = offset
            else:
                end_sites.setdefault(stack[-1][1], []).append(offset)
        elif key == "CHANNELS":
            if not stack or not isinstance(stack[-1], int):
                fail(number, "CHANNELS outside a joint block")
            try:
                count = int(tokens[1])
            except (IndexError, ValueError):
                fail(number, "CHANNELS needs a count")
            chans = tokens[2:]
            if len(chans) != count or not all(_CHANNEL.match(c) for c in chans):
                fail(number, f"CHANNELS should list {count} of X/Y/Z position/rotation, got {' '.join(chans)}")
            channels[stack[-1]] = chans
        else:
            fail(number, f"unexpected '{' '.join(tokens)}'")
    if not names:
        raise UserError(f"{label} is corrupt: its HIERARCHY has no ROOT joint")
    if stack:
        raise UserError(f"{label} is corrupt: a '{{' block of its HIERARCHY is never closed")
    missing = [n for n, o in zip(names, offsets, strict=True) if o is None]
    if missing:
        raise UserError(f"{label} is corrupt: joint {missing[0]} has no OFFSET")
    return dict(names=names, parents=parents, offsets=np.array(offsets), channels=channels, end_sites=end_sites)


def _numbers(tokens, count, number, label, what) -> np.ndarray:
    try:
        values = np.array([float(t) for t in tokens])
    except ValueError:
        raise UserError(f"{label} is corrupt (line {number}): {what} values are not numbers") from None
    if len(values) != count or not np.isfinite(values).all():
        raise UserError(f"{label} is corrupt (line {number}): {what} needs {count} finite numbers")
    return validate.array(values, f"{label} (line {number}) {what}")


def _parse_motion(motion: str, n_channels: int, label: str) -> tuple[float, np.ndarray]:
    frames = re.search(r"^\s*Frames\s*:\s*(\S+)", motion, flags=re.MULTILINE | re.IGNORECASE)
    frame_time = re.search(r"^\s*Frame\s+Time\s*:\s*(\S+)\s*$", motion, flags=re.MULTILINE | re.IGNORECASE)
    if not frames or not frame_time:
        raise UserError(f"{label} is corrupt: its MOTION section lacks 'Frames:' or 'Frame Time:'")
    try:
        n_frames, dt = int(frames.group(1)), float(frame_time.group(1))
    except ValueError:
        raise UserError(f"{label} is corrupt: bad 'Frames:' or 'Frame Time:' value") from None
    if n_frames <= 0:
        raise UserError(f"{label} has no frames")
    validate.frame_time(dt, f"{label}: 'Frame Time:'")
    if n_channels == 0:
        raise UserError(f"{label} has no CHANNELS, so its frames hold no motion")
    tokens = motion[frame_time.end() :].split()
    needed = n_frames * n_channels
    if len(tokens) < needed:
        got = len(tokens) // max(n_channels, 1)
        raise UserError(
            f"{label} is truncated: the header promises {n_frames} frames of {n_channels} values, "
            f"but only {len(tokens)} values ({got} whole frames) follow"
        )
    try:
        values = np.array(tokens[:needed], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens[:needed] if not _is_number(t))
        raise UserError(f"{label} is corrupt: motion value '{bad}' is not a number") from None
    validate.array(values, f"{label}: motion values")
    return dt, values.reshape(n_frames, n_channels)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_bvh(path: str | Path) -> Bvh:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")  # -sig: a leading BOM is fine
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    return parse_bvh(text, path.name)


# -- Motion <-> BVH -----------------------------------------------------------------------


def read(path: str | Path) -> Motion:
    """Read a BVH file as an SMPL-22 Motion at the file's own frame rate."""
    return check_plausible(trim_end_glitches(read_unchecked(path)), Path(path).name)


def read_unchecked(path: str | Path, fps: float | None = None) -> Motion:
    """`read` without the plausibility check (the corpus build cuts glitches out itself).
    `fps` overrides a frame rate the file gets wrong."""
    bvh = read_bvh(path)
    if fps is not None:
        bvh.frame_time = 1.0 / validate.fps(fps)
    found = rigs.recognise(bvh.names, bvh.parents, bvh.offsets)
    if found is not None:  # a file we wrote, on any of our rigs: take the rotations back as they were
        rig, scale = found
        rot, trans = bvh.local_transforms()
        order = [bvh.names.index(name) for name in rig.joints]
        motion = Motion.from_matrices(rigs.from_rig(rig, rot[:, order]), trans[:, order[0]] / scale, bvh.fps)
    else:
        names, rest, positions = bvh.with_end_sites()
        motion = retarget(names, rest, positions, bvh.fps, Path(path).name)
    motion.meta.update(bvh.meta)
    return motion


def write(
    motions, path: str | Path, units: str | None = None, rig: str = rigs.DEFAULT_RIG, fps: float | None = None
) -> None:
    """Write one Motion as a BVH of our 22 joints on `rig` (motiongen, smpl, mixamo, unreal, cmu),
    in `units` ("m" or "cm"; default: the rig's), resampled to `fps` if given."""
    motion = single_person(motions, "BVH")
    rig = rigs.get(rig)
    scale = rigs.scale(rig.units if units is None else units)
    if fps is not None:
        motion = motion.resampled(rigs.frame_rate(fps))
    quats = motion.quats
    if rig.straight:  # another rest pose: same world pose, re-based local rotations
        xyzw = Rotation.from_matrix(rigs.to_rig(rig, motion.matrices().numpy().astype(np.float64)).reshape(-1, 3, 3))
        quats = xyzw.as_quat().reshape(len(motion), -1, 4)[..., [3, 0, 1, 2]]
    end_sites = {JOINT_INDEX[name]: np.array(offset) * scale for name, offset in END_SITES.items()}
    offsets = rigs.rest_offsets(rig) * scale
    text = format_bvh(list(rig.joints), list(PARENTS), offsets, end_sites, quats, motion.root * scale, 1.0 / motion.fps)
    made_by = provenance.of(motion)
    if made_by:  # ASCII (non-ASCII letters as \u escapes), one line: see the module docstring
        text = text[:-1] + " " + NOTE + json.dumps(made_by, ensure_ascii=True) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def format_bvh(
    names: list[str],
    parents: list[int],
    offsets: np.ndarray,
    end_sites: dict[int, np.ndarray],
    quats: np.ndarray,
    root: np.ndarray,
    frame_time: float,
    order: str = ROTATION_ORDER,
) -> str:
    """BVH text for any skeleton. quats (T, J, 4) local rotations (w, x, y, z) in the order of
    `names`; root (T, 3) root positions; end_sites: leaf joint index -> End Site offset."""
    children = [[c for c, p in enumerate(parents) if p == j] for j in range(len(names))]
    rot_channels = " ".join(f"{axis}rotation" for axis in order)
    lines = ["HIERARCHY"]
    written = []  # joints in depth-first order, the order of the channels

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        written.append(j)
        lines.append(f"{pad}{'ROOT' if parents[j] < 0 else 'JOINT'} {names[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {_fmt(offsets[j])}")
        if parents[j] < 0:
            lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition {rot_channels}")
        else:
            lines.append(f"{pad}\tCHANNELS 3 {rot_channels}")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            end = end_sites.get(j, np.zeros(3))
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {_fmt(end)}", f"{pad}\t}}"])
        lines.append(pad + "}")

    emit(parents.index(-1), 0)
    q = np.asarray(quats, np.float64)[:, written]
    xyzw = q[..., [1, 2, 3, 0]].reshape(-1, 4)
    with warnings.catch_warnings():  # gimbal lock only means another equally valid angle triple
        warnings.simplefilter("ignore", UserWarning)
        euler = Rotation.from_quat(xyzw).as_euler(order, degrees=True).reshape(len(q), -1)
    values = np.concatenate([np.asarray(root, np.float64), euler], axis=1)
    lines += ["MOTION", f"Frames: {len(values)}", f"Frame Time: {frame_time:.8f}"]
    lines += [_fmt(row) for row in values]
    return "\n".join(lines) + "\n"


def _fmt(values) -> str:
    return " ".join(f"{v:.6f}" for v in values)
