"""One person, followed through the frames: who to lift, and where they were not seen.

A detector reports everyone it finds in a frame (or, like MediaPipe Pose, one person who may be a
different person from one frame to the next). Lifting needs one identity throughout:

- the person is chosen in the first frame anyone is seen: the largest and most central, or the
  Nth from the left (`--person N`);
- from then on, each frame's detection is the same person only if it lies where that person was
  (their box's centre within MATCH_DISTANCE of their size, more the longer they were unseen) and is
  about as big; anyone else is ignored, so the track never jumps to another person;
- frames where the person is not matched are gaps. Gaps up to MAX_GAP_SECONDS are interpolated by
  the pipeline; a longer gap ends the clip there (after it the detector may be following someone
  else), and frames before the person is first seen are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motiongen.errors import UserError

MIN_SCORE = 0.05  # keypoints below this are not seen
MIN_JOINTS = 4  # a detection needs this many seen keypoints
MATCH_DISTANCE = 0.5  # of the person's size: how far their box's centre may move between frames...
MATCH_GROWTH = 2.0  # ...plus this much more per second unseen
SIZE_RATIO = 1.6  # a detection more than this much bigger or smaller is someone else
MAX_GAP_SECONDS = 0.5  # longer gaps end the clip


@dataclass
class Tracked:
    points: np.ndarray  # (T, J, 2) the person's keypoints over the kept frames (zeros where not seen)
    scores: np.ndarray  # (T, J); all 0 where not seen
    found: np.ndarray  # (T,) bool: the person was seen in this frame
    first: int  # index of the first kept frame in the input
    total: int  # frames in the input
    notes: list[str]  # what was done, one line each (gaps interpolated, clip ended)


def _box(person: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(centre (2,), size) of a (J, 3) detection's seen keypoints, or None if too few are seen."""
    seen = person[person[:, 2] >= MIN_SCORE, :2]
    if len(seen) < MIN_JOINTS:
        return None
    lo, hi = seen.min(0), seen.max(0)
    return (lo + hi) / 2, float(max((hi - lo).max(), 1.0))


def choose(people: list[np.ndarray], image_size: tuple[int, int] | None, position: int | None) -> int:
    """Index of the person to follow among one frame's detections: the `position`-th from the left
    (1-based), or the largest and most central."""
    boxes = [_box(p) for p in people]
    usable = [i for i, b in enumerate(boxes) if b is not None]
    if position is not None:
        if position > len(usable):
            raise UserError(
                f"--person {position}: only {len(usable)} {'person is' if len(usable) == 1 else 'people are'} "
                "seen where the first person appears; count from 1 at the left"
            )
        return sorted(usable, key=lambda i: boxes[i][0][0])[position - 1]
    centre = np.array(image_size, float) / 2 if image_size else np.mean([boxes[i][0] for i in usable], axis=0)
    reach = float(np.linalg.norm(centre)) or 1.0

    def appeal(i: int) -> float:  # big and near the middle; a person at the edge counts half
        box_centre, size = boxes[i]
        return size * (1.0 - 0.5 * min(1.0, float(np.linalg.norm(box_centre - centre)) / reach))

    return max(usable, key=appeal)


def track_person(
    frames: list[list[np.ndarray]],
    fps: float,
    image_size: tuple[int, int] | None = None,
    position: int | None = None,
    joints: int = 17,
) -> Tracked:
    """Follow one person through `frames` (per frame, a list of (`joints`, 3) detections [x, y, score])."""
    total = len(frames)
    chosen: list[np.ndarray | None] = [None] * total
    last, last_frame = None, -1
    for t, people in enumerate(frames):
        people = [p for p in people if _box(p) is not None]
        if not people:
            continue
        if last is None:
            pick = people[choose(people, image_size, position)]
        else:
            pick = _match(people, last, (t - last_frame) / fps)
            if pick is None:
                continue
        chosen[t], last, last_frame = pick, _box(pick), t
    found = np.array([c is not None for c in chosen], bool)
    if not found.any():
        return Tracked(np.zeros((0, joints, 2)), np.zeros((0, joints)), found[:0], 0, total, [])

    seen = np.flatnonzero(found)
    first, stop = int(seen[0]), int(seen[-1]) + 1
    notes = []
    longest = int(round(MAX_GAP_SECONDS * fps))
    gaps = [(a, b) for a, b in _runs(~found[first:stop]) if b - a > 0]
    gaps = [(a + first, b + first) for a, b in gaps]
    long_gaps = [(a, b) for a, b in gaps if b - a > longest]
    if long_gaps:
        a, b = long_gaps[0]
        notes.append(
            f"the person was lost for {(b - a) / fps:.1f} s after frame {a - 1}: the clip ends there "
            f"(frames {a}-{total - 1} not lifted; a gap longer than {MAX_GAP_SECONDS:g} s is not bridged)"
        )
        stop = a
    short = [(a, b) for a, b in gaps if b <= stop]
    if short:
        frames_filled = sum(b - a for a, b in short)
        notes.append(
            f"{frames_filled} frames in {len(short)} short gap{'s' if len(short) > 1 else ''} "
            f"(up to {MAX_GAP_SECONDS:g} s) where the person was not seen are interpolated"
        )
    if first > 0 or stop < total:
        notes.insert(0, f"lifting frames {first}-{stop - 1} of {total}, where the person is tracked")
    kept = chosen[first:stop]
    points = np.zeros((len(kept), joints, 2), np.float32)
    scores = np.zeros((len(kept), joints), np.float32)
    for i, person in enumerate(kept):
        if person is not None:
            points[i], scores[i] = person[:, :2], np.clip(person[:, 2], 0, 1)
    return Tracked(points, scores, found[first:stop], first, total, notes)


def _match(people: list[np.ndarray], last: tuple[np.ndarray, float], unseen_seconds: float) -> np.ndarray | None:
    """The detection that is the person last seen at box `last`, or None if nobody is."""
    centre, size = last
    allowed = (MATCH_DISTANCE + MATCH_GROWTH * max(0.0, unseen_seconds - 1e-9)) * size
    best, best_distance = None, np.inf
    for p in people:
        c, s = _box(p)
        distance = float(np.linalg.norm(c - centre))
        if distance <= allowed and 1 / SIZE_RATIO <= s / size <= SIZE_RATIO and distance < best_distance:
            best, best_distance = p, distance
    return best


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
