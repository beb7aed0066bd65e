"""Training losses for x0-predicting motion diffusion.

- feature: MSE on normalised features (all 206 numbers).
- trajectory: MSE on the normalised root height, velocity and heading rate alone.
- heading: MSE of the facing angle (radians) integrated from the heading rate: a rate that is a
  little off every frame adds up, so the total turn of a clip is what counts.
- positions: joint positions by forward kinematics of the predicted 6D rotations (heading frame,
  metres) against the target's.
- velocity: frame-to-frame change of those positions (m/s) against the target's.
- foot: speed of the predicted feet (world frame, m/s, from the decoded root trajectory) where
  the target says the foot is in contact: it should be ~0 there.
All are averaged over real (non-padding) frames only.
"""

from __future__ import annotations

import torch

from motiongen.motion import rotations as R
from motiongen.motion.contacts import foot_speeds
from motiongen.motion.features import SLICES, feature_positions
from motiongen.motion.kinematics import forward_kinematics
from motiongen.motion.skeleton import NUM_JOINTS

# Every loss term, by the name its weight has in a training config's loss_weights.
LOSS_NAMES = ("feature", "trajectory", "heading", "positions", "velocity", "foot")
TRAJECTORY = slice(SLICES["root_height"].start, SLICES["heading_rate"].stop)


def heading_frame_positions(features: torch.Tensor) -> torch.Tensor:
    """FK of the feature rotations with the root over the origin: [..., T, 22, 3], the same
    quantity as the redundant position features."""
    rot = R.sixd_to_matrix(features[..., SLICES["rotations"]].reshape(features.shape[:-1] + (NUM_JOINTS, 6)))
    height = features[..., SLICES["root_height"]]
    root = torch.cat([torch.zeros_like(height), height, torch.zeros_like(height)], -1)
    return forward_kinematics(rot, root)[0]


def facing_angle(features: torch.Tensor) -> torch.Tensor:
    """The facing angle [..., T] (radians, 0 at the start) integrated from the raw heading rate."""
    return torch.cumsum(features[..., SLICES["heading_rate"]].squeeze(-1), -1)


def world_positions(features: torch.Tensor, heading_positions: torch.Tensor) -> torch.Tensor:
    """Heading-frame joint positions [B, T, 22, 3] placed in the world by integrating the
    feature root velocity and heading rate (as `features.decode` does, without in-place ops)."""
    turn = R.yaw_matrix(facing_angle(features))  # [B, T, 3, 3]
    vel = features[..., SLICES["root_velocity"]]
    vel3 = torch.stack([vel[..., 0], torch.zeros_like(vel[..., 0]), vel[..., 1]], -1)
    planar = torch.cumsum((turn @ vel3.unsqueeze(-1)).squeeze(-1), -2)
    return heading_positions @ turn.transpose(-1, -2) + planar.unsqueeze(-2)


def _masked_mean(error: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `error` [B, T, ...] over frames where mask [B, T] is True."""
    error = error.reshape(error.shape[0], error.shape[1], -1).mean(-1)
    return (error * mask).sum() / mask.sum().clamp(min=1)


def diffusion_losses(
    pred: torch.Tensor,
    target: torch.Tensor,
    frame_mask: torch.Tensor,
    denormalize,
    weights: dict[str, float],
    fps: float = 20.0,
) -> dict[str, torch.Tensor]:
    """pred/target: normalised features [B, T, 206]; frame_mask [B, T]. Returns the weighted
    total under "loss" and each term."""
    mask = frame_mask.to(pred.dtype)
    out = {"feature": _masked_mean((pred - target) ** 2, mask)}
    # Root height, velocity and turning rate are 4 of 206 numbers but carry all of the travel:
    # their own term keeps them from being under-fitted (which shows as walking on the spot).
    out["trajectory"] = _masked_mean((pred[..., TRAJECTORY] - target[..., TRAJECTORY]) ** 2, mask)
    need_heading = weights.get("heading", 0) > 0
    need_geometry = any(weights.get(k, 0) > 0 for k in ("positions", "velocity", "foot"))
    if need_heading or need_geometry:
        pred_raw, target_raw = denormalize(pred), denormalize(target)
    if need_heading:
        # The per-frame MSE above is content with a turn smeared over the whole window (a steady
        # rate); the integrated angle is not: a quarter turn made into a half circle costs in
        # every frame after it.
        out["heading"] = _masked_mean((facing_angle(pred_raw) - facing_angle(target_raw)) ** 2, mask)
    if need_geometry:
        pred_pos = heading_frame_positions(pred_raw)
        target_pos = feature_positions(target_raw)
        out["positions"] = _masked_mean((pred_pos - target_pos) ** 2, mask)
        pair = mask[:, 1:] * mask[:, :-1]
        pred_vel = (pred_pos[:, 1:] - pred_pos[:, :-1]) * fps
        target_vel = (target_pos[:, 1:] - target_pos[:, :-1]) * fps
        out["velocity"] = _masked_mean((pred_vel - target_vel) ** 2, pair)
        speed = foot_speeds(world_positions(pred_raw, pred_pos), fps)  # [B, T, 4]
        contact = (target_raw[..., SLICES["contacts"]] > 0.5).to(pred.dtype)
        out["foot"] = _masked_mean((speed * contact) ** 2, mask)
    out["loss"] = sum(weights.get(k, 0.0) * v for k, v in out.items())
    return out
