"""Forward and inverse kinematics on the SMPL-22 skeleton (batched torch)."""

from __future__ import annotations

import torch

from motiongen.motion.rotations import rotation_between
from motiongen.motion.skeleton import CHILDREN, PARENTS, REST_OFFSETS


def _offsets(like: torch.Tensor, offsets: torch.Tensor | None) -> torch.Tensor:
    return torch.as_tensor(REST_OFFSETS if offsets is None else offsets).to(like)


def forward_kinematics(
    local_rot: torch.Tensor, root_pos: torch.Tensor, offsets: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Local rotation matrices [..., 22, 3, 3] and root positions [..., 3] ->
    (global joint positions [..., 22, 3], global rotation matrices [..., 22, 3, 3])."""
    off = _offsets(local_rot, offsets)
    glob_rot = [local_rot[..., 0, :, :]]
    glob_pos = [root_pos]
    for j in range(1, len(PARENTS)):
        p = PARENTS[j]
        glob_pos.append(glob_pos[p] + (glob_rot[p] @ off[j].unsqueeze(-1)).squeeze(-1))
        glob_rot.append(glob_rot[p] @ local_rot[..., j, :, :])
    return torch.stack(glob_pos, -2), torch.stack(glob_rot, -3)


def _kabsch(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Rotation R minimising |R src_i - dst_i| over vectors stacked on dim -2."""
    h = src.transpose(-1, -2) @ dst  # [..., 3, 3]
    u, _, vt = torch.linalg.svd(h)
    d = torch.sign(torch.linalg.det(vt.transpose(-1, -2) @ u.transpose(-1, -2)))
    fix = torch.ones(h.shape[:-1], dtype=h.dtype, device=h.device)
    fix[..., -1] = d
    return vt.transpose(-1, -2) @ torch.diag_embed(fix) @ u.transpose(-1, -2)


def inverse_kinematics(
    positions: torch.Tensor, offsets: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Global joint positions [..., 22, 3] -> (local rotations [..., 22, 3, 3], root positions [..., 3]).

    Each joint is turned so that its bones point at its children: the smallest rotation for
    one child, a least-squares fit (Kabsch) for several, identity for leaves. Twist about a
    single bone is not observable from positions and is left at zero. Positions produced by
    FK with the same offsets are reproduced exactly (up to float error).
    """
    off = _offsets(positions, offsets)
    batch = positions.shape[:-2]
    eye = torch.eye(3, dtype=positions.dtype, device=positions.device).expand(batch + (3, 3))
    glob = [None] * len(PARENTS)
    local = [None] * len(PARENTS)
    for j, children in enumerate(CHILDREN):
        parent_rot = eye if PARENTS[j] < 0 else glob[PARENTS[j]]
        if not children:
            local[j] = eye
        else:
            # target bone vectors expressed in the parent's frame
            target = torch.stack([positions[..., c, :] - positions[..., j, :] for c in children], -2)
            target = target @ parent_rot  # row-vector form of parent_rot^T @ v
            rest = off[list(children)].expand(target.shape)
            if len(children) == 1:
                local[j] = rotation_between(rest[..., 0, :], target[..., 0, :])
            else:
                local[j] = _kabsch(rest, target)
        glob[j] = parent_rot @ local[j]
    return torch.stack(local, -3), positions[..., 0, :].clone()
