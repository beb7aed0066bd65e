"""Putting a dance on the music's beats by retiming it, the last step of `motiongen dance`.

The dance model hears the music, but on 26 minutes of motion it does not learn to place its
accents on the beats (docs/dance.md). What makes a dance look on the beat is where its pauses and
accents fall (its kinematic beats, the local minima of the body's speed: metrics/dance.py), and
those can be moved: the same piecewise-linear time warp that makes the training pairs
(data/dance_pairs.py) is applied to the generated dance, so that each kinematic beat near enough
to a music beat lands on it. It runs after the physical clean-up (whose smoothing would move the
body's slowest moments again), and changes only the timing: a planted foot stays planted.

Going through the dance's beats in order, each is matched to the music beat nearest to it; a
match is kept when it moves the beat by at most `MAX_SHIFT` of a beat period (so the dance never
drifts from its own timing by more) and keeps the speed between matched beats within
`LOCAL_WARP_RANGE` of the original. Between matches the time follows a monotone cubic through
them; before the first and after the last it runs at the original speed. The clip keeps its length and frame rate; the moves stay
the model's, only their timing changes.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

from motiongen.data.dance_pairs import beat_period, dance_beats, keeps_pace, resample_at
from motiongen.motion.motion import Motion

MAX_SHIFT = 0.5  # of a beat period: a dance beat this far from every music beat stays where it is


def beat_anchors(dance_beats_s: np.ndarray, music_beats_s: np.ndarray) -> np.ndarray:
    """Matched (dance time, song time) pairs [N, 2], in order, both increasing."""
    music = np.asarray(music_beats_s, np.float64)
    period = beat_period(music)
    if period is None:
        return np.zeros((0, 2))
    anchors: list[tuple[float, float]] = []
    for b in np.asarray(dance_beats_s, np.float64):
        g = float(music[np.abs(music - b).argmin()])
        if abs(g - b) <= MAX_SHIFT * period and keeps_pace(anchors, b, g):
            anchors.append((b, g))
    return np.asarray(anchors, np.float64).reshape(-1, 2)


def put_on_beats(motion: Motion, music_beats_s, start_s: float = 0.0) -> tuple[Motion, dict]:
    """`motion` (starting `start_s` into the song) retimed so that its kinematic beats land on
    the song's beats (seconds). Returns the motion (same length and frame rate) and a record:
    how many of its beats were moved onto music beats, and the largest change of speed."""
    music = np.asarray(music_beats_s, np.float64) - start_s
    music = music[(music > -1.0) & (music < motion.duration + 1.0)]
    beats = dance_beats(motion)
    anchors = beat_anchors(beats, music)
    record = {"dance_beats": int(len(beats)), "on_beat": int(len(anchors))}
    if len(anchors) < 2:
        return motion, {**record, "max_speed_change": 0.0}
    times = np.arange(len(motion)) / motion.fps
    # Monotone cubic through the matches: the speed changes smoothly, so each pause stays a pause
    # at its music beat (a piecewise-linear warp changes speed at once there and can move the
    # body's slowest moment off the beat).
    dance_time = PchipInterpolator(anchors[:, 1], anchors[:, 0], extrapolate=False)(times)
    before, after = times < anchors[0, 1], times > anchors[-1, 1]
    dance_time[before] = anchors[0, 0] + times[before] - anchors[0, 1]
    dance_time[after] = anchors[-1, 0] + times[after] - anchors[-1, 1]
    speed = np.diff(anchors[:, 0]) / np.diff(anchors[:, 1])  # dance seconds per song second
    retimed = resample_at(motion, dance_time, motion.fps)
    return retimed, {**record, "max_speed_change": round(float(np.abs(speed - 1).max()), 3)}
