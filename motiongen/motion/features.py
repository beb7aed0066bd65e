"""The rotation-native, heading-invariant feature vector models see (one row per frame).

Layout (206 numbers per frame):
  root_height (1) | planar root velocity in the heading frame, m/frame (2) | heading rate, rad/frame (1)
  | local rotations as 6D, the root's with its heading removed (22 x 6)
  | joint positions in the heading frame relative to the root's floor point (22 x 3, redundant,
    for geometric losses) | foot contacts: left ankle, left toes, right ankle, right toes (4)

Decoding integrates velocity and heading from the origin facing +Z, so encode -> decode gives
back the canonicalized motion. Rotations decode from the 6D part, so bone lengths never drift.
"""

from __future__ import annotations

import numpy as np
import torch

from motiongen.motion import rotations as R
from motiongen.motion.contacts import foot_contacts
from motiongen.motion.kinematics import forward_kinematics
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import NUM_JOINTS

SLICES = {
    "root_height": slice(0, 1),
    "root_velocity": slice(1, 3),
    "heading_rate": slice(3, 4),
    "rotations": slice(4, 4 + NUM_JOINTS * 6),
    "positions": slice(4 + NUM_JOINTS * 6, 4 + NUM_JOINTS * 9),
    "contacts": slice(4 + NUM_JOINTS * 9, 8 + NUM_JOINTS * 9),
}
FEATURE_DIM = SLICES["contacts"].stop


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.atan2(torch.sin(angle), torch.cos(angle))


def heading_angle(root_rot: torch.Tensor) -> torch.Tensor:
    fwd = root_rot[..., :, 2]
    return torch.atan2(fwd[..., 0], fwd[..., 2])


def encode(local_rot: torch.Tensor, root_pos: torch.Tensor, fps: float) -> torch.Tensor:
    """local rotations [..., T, 22, 3, 3], root positions [..., T, 3] -> features [..., T, 206]."""
    positions, _ = forward_kinematics(local_rot, root_pos)
    theta = heading_angle(local_rot[..., 0, :, :])
    turn_inv = R.yaw_matrix(-theta)  # world -> heading frame, per frame
    delta = torch.zeros_like(root_pos)
    delta[..., 1:, :] = root_pos[..., 1:, :] - root_pos[..., :-1, :]
    vel = (turn_inv @ delta.unsqueeze(-1)).squeeze(-1)[..., [0, 2]]
    rate = torch.zeros_like(theta)
    rate[..., 1:] = _wrap(theta[..., 1:] - theta[..., :-1])
    rot = local_rot.clone()
    rot[..., 0, :, :] = turn_inv @ local_rot[..., 0, :, :]
    floor = root_pos * root_pos.new_tensor([1.0, 0.0, 1.0])
    rel = (positions - floor.unsqueeze(-2)) @ turn_inv.transpose(-1, -2)
    contacts = foot_contacts(positions, fps)
    lead = rot.shape[:-3]
    return torch.cat(
        [
            root_pos[..., 1:2],
            vel,
            rate.unsqueeze(-1),
            R.matrix_to_sixd(rot).reshape(lead + (-1,)),
            rel.reshape(lead + (-1,)),
            contacts,
        ],
        -1,
    )


def decode(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """features [..., T, 206] -> (local rotations [..., T, 22, 3, 3], root positions [..., T, 3])."""
    lead = features.shape[:-1]
    theta = torch.cumsum(features[..., SLICES["heading_rate"]].squeeze(-1), -1)
    turn = R.yaw_matrix(theta)
    vel = features[..., SLICES["root_velocity"]]
    vel3 = torch.stack([vel[..., 0], torch.zeros_like(vel[..., 0]), vel[..., 1]], -1)
    planar = torch.cumsum((turn @ vel3.unsqueeze(-1)).squeeze(-1), -2)
    root = planar + features[..., SLICES["root_height"]] * features.new_tensor([0.0, 1.0, 0.0])
    rot = R.sixd_to_matrix(features[..., SLICES["rotations"]].reshape(lead + (NUM_JOINTS, 6)))
    rot = rot.clone()
    rot[..., 0, :, :] = turn @ rot[..., 0, :, :]
    return rot, root


def motion_to_features(motion: Motion) -> torch.Tensor:
    return encode(motion.matrices(), torch.from_numpy(motion.root), motion.fps)


def features_to_motion(features: torch.Tensor, fps: float, meta: dict | None = None) -> Motion:
    rot, root = decode(features.detach().float().cpu())
    return Motion.from_matrices(rot, root.numpy(), fps, meta)


def feature_positions(features: torch.Tensor) -> np.ndarray:
    """The redundant heading-frame joint positions, [..., T, 22, 3]."""
    return features[..., SLICES["positions"]].reshape(features.shape[:-1] + (NUM_JOINTS, 3))
