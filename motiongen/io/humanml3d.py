"""HumanML3D joint files (`new_joints/*.npy`): joint positions (T, 22, 3), Y up, metres, 20 fps.

Reading solves IK (`Motion.from_positions`): it follows bone directions only, so the slightly
different bone lengths of the SMPL bodies behind HumanML3D do not matter; the pelvis position
is kept as the root translation. Twist about a bone cannot be seen in positions and comes out
zero. Writing stores our FK joint positions, resampled to 20 fps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motiongen import validate
from motiongen.errors import UserError
from motiongen.io import single_person
from motiongen.io.arrays import read_npy
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import NUM_JOINTS

HUMANML3D_FPS = 20.0
HUMANML3D_FEATURE_DIM = 263


def read(path: str | Path) -> Motion:
    path = Path(path)
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise UserError(f"{path.name} is not a NumPy .npy file")
    joints = read_npy(path)
    if joints.ndim == 2 and joints.shape[1] == HUMANML3D_FEATURE_DIM:
        raise UserError(
            f"{path.name} holds HumanML3D's {HUMANML3D_FEATURE_DIM}-D feature vectors (new_joint_vecs); "
            f"give the joint positions file from new_joints/ instead, shape (T, {NUM_JOINTS}, 3)"
        )
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or len(joints) == 0:
        raise UserError(
            f"{path.name} should hold HumanML3D joint positions of shape (T, {NUM_JOINTS}, 3), got {joints.shape}"
        )
    validate.array(joints, f"{path.name}: joint positions")
    return Motion.from_positions(joints.astype(np.float32), HUMANML3D_FPS)


def write(motions, path: str | Path) -> None:
    """Write one Motion as (T, 22, 3) float32 joint positions at 20 fps."""
    motion = single_person(motions, "a HumanML3D .npy file").resampled(HUMANML3D_FPS)
    with open(path, "wb") as f:  # a file object, so numpy does not change the name
        np.save(f, motion.positions().astype(np.float32))
