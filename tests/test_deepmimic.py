"""DeepMimic reader: real clips from the pybullet wheel and hand-made frames with known answers."""

import json
from pathlib import Path

import numpy as np
import pybullet_data
import pytest

from motiongen.errors import UserError
from motiongen.io import load_motion
from motiongen.io.deepmimic import read
from motiongen.motion.skeleton import FOOT_JOINTS, JOINT_INDEX

MOTIONS = Path(pybullet_data.getDataPath()) / "data" / "motions"
J = JOINT_INDEX


def write_clip(path: Path, frames) -> Path:
    path.write_text(json.dumps({"Loop": "none", "Frames": [list(map(float, f)) for f in frames]}))
    return path


def rest_frame(duration=0.05, root_quat=(1.0, 0.0, 0.0, 0.0)):
    """All joints at the DeepMimic rest pose (arms hanging down), root 0.9 m up."""
    ident = [1.0, 0.0, 0.0, 0.0]
    frame = [duration, 0.0, 0.9, 0.0, *root_quat] + ident + ident  # chest, neck
    for _side in range(2):
        frame += ident + [0.0] + ident + ident + [0.0]  # hip, knee, ankle, shoulder, elbow
    assert len(frame) == 44
    return frame


def test_real_walk_clip_is_20fps_on_the_floor_and_walks_forward():
    m = load_motion(MOTIONS / "humanoid3d_walk.txt")
    frames = json.loads((MOTIONS / "humanoid3d_walk.txt").read_text())["Frames"]
    seconds = sum(f[0] for f in frames[:-1])
    assert m.fps == 20.0
    assert len(m) == int(seconds * 20 + 1e-6) + 1
    pos = m.positions()
    assert np.isfinite(pos).all()
    feet = pos[:, list(FOOT_JOINTS), 1]
    assert -0.02 < feet.min() < 0.05  # touching, not under, the floor
    assert np.all(feet.min(axis=1) < 0.12)  # a walk always has a foot down
    step = m.root[-1] - m.root[0]
    assert step[2] > 1.0 and abs(step[0]) < 0.1  # walks towards +Z, our facing direction
    assert abs(np.degrees(m.heading()).mean()) < 10


def test_right_and_left_are_not_swapped():
    # In DeepMimic's kick the right leg kicks; in its punch the right fist is thrown highest.
    kick = read(MOTIONS / "humanoid3d_kick.txt").positions()
    assert kick[:, J["right_ankle"], 1].max() > 1.0
    assert kick[:, J["left_ankle"], 1].max() < 0.3
    # Turning clips: turning left moves towards +X (the character's left side).
    left = read(MOTIONS / "walker" / "turn_left0.txt")
    right = read(MOTIONS / "walker" / "turn_right0.txt")
    assert left.root[-1, 0] - left.root[0, 0] > 0.2
    assert right.root[-1, 0] - right.root[0, 0] < -0.2
    assert np.unwrap(left.heading())[-1] > 0.3 and np.unwrap(right.heading())[-1] < -0.3


def test_rest_frames_stand_upright_facing_plus_z_with_arms_down(tmp_path):
    m = read(write_clip(tmp_path / "rest.txt", [rest_frame()] * 3))
    pos = m.positions()[0]
    assert len(m) == 3
    assert abs(m.heading()[0]) < 1e-4
    assert pos[J["head"], 1] > pos[J["neck"], 1] > pos[J["pelvis"], 1] > pos[J["left_knee"], 1]
    for side in ("left", "right"):
        assert pos[J[f"{side}_wrist"], 1] < pos[J[f"{side}_shoulder"], 1] - 0.45  # hanging, not T-pose
        assert pos[J[f"{side}_foot"], 2] > pos[J[f"{side}_ankle"], 2] + 0.1  # toes point forward (+Z)
    assert pos[J["left_hip"], 0] > 0 > pos[J["right_hip"], 0]  # left is +X
    assert 0.0 <= pos[list(FOOT_JOINTS), 1].min() < 0.03


def test_root_yaw_turns_the_character(tmp_path):
    # +90 degrees about DeepMimic's up axis turns its +X facing to -Z, which is our +X (the left).
    half = np.sqrt(0.5)
    m = read(write_clip(tmp_path / "yaw.txt", [rest_frame(root_quat=(half, 0.0, half, 0.0))] * 2))
    assert m.heading()[0] == pytest.approx(np.pi / 2, abs=1e-4)


def test_uneven_frame_durations_are_resampled_by_time(tmp_path):
    frames = [rest_frame(0.1), rest_frame(0.3), rest_frame(0.0)]
    for i, f in enumerate(frames):
        f[1] = i * 1.0  # root moves 1 m (source X = our +Z) per key frame
    m = read(write_clip(tmp_path / "uneven.txt", frames))
    assert len(m) == 9  # 0.4 s at 20 fps
    # Linear in time between keys: at 0.1 s the root is at the second key, at 0.25 s half way to the third.
    z = m.root[:, 2] - m.root[0, 2]
    assert z[2] == pytest.approx(0.974, abs=0.01)  # scaled to our leg length
    assert z[5] == pytest.approx(0.974 * 1.5, abs=0.01)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not a DeepMimic"),
        ('{"Frames": [[1, 2, 3], [1, 2, 3]]}', "44 numbers"),
        ('{"Loop": "wrap"}', "not a DeepMimic"),
    ],
)
def test_bad_files_are_user_errors(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_motion(path)
