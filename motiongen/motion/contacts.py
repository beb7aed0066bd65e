"""Foot-contact detection from joint positions."""

from __future__ import annotations

import torch

from motiongen.motion.skeleton import FOOT_JOINTS

# A foot joint is in contact when it is low and nearly still. Ankles sit higher than toes.
CONTACT_HEIGHT = torch.tensor([0.12, 0.06, 0.12, 0.06])
CONTACT_SPEED = 0.5  # m/s


def foot_speeds(positions: torch.Tensor, fps: float) -> torch.Tensor:
    """Speed (m/s) of the four foot joints [..., T, 4]; frame 0 takes frame 1's value."""
    feet = positions[..., list(FOOT_JOINTS), :]
    speed = torch.zeros(feet.shape[:-1], dtype=feet.dtype, device=feet.device)
    if feet.shape[-3] > 1:
        speed[..., 1:, :] = (feet[..., 1:, :, :] - feet[..., :-1, :, :]).norm(dim=-1) * fps
        speed[..., 0, :] = speed[..., 1, :]
    return speed


def foot_contacts(positions: torch.Tensor, fps: float) -> torch.Tensor:
    """Binary contacts (0./1.) for left ankle, left toes, right ankle, right toes, [..., T, 4]."""
    height = positions[..., list(FOOT_JOINTS), 1]
    low = height < CONTACT_HEIGHT.to(positions)
    still = foot_speeds(positions, fps) < CONTACT_SPEED
    return (low & still).to(positions.dtype)
