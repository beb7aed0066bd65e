"""Rotation conversions in batched torch.

Quaternions are (w, x, y, z). Matrices act on column vectors. "6D" is the first two
columns of the matrix (Zhou et al. 2019), the continuous representation models learn.
All functions accept any leading batch shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    q = F.normalize(q, dim=-1)
    w, x, y, z = q.unbind(-1)
    m = torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """Numerically stable conversion (picks the largest of four candidate denominators)."""
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    candidates = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )  # [..., 4, 4]; row i is proportional to q with |q_i| largest when its diagonal term is
    diag = torch.stack([candidates[..., i, i] for i in range(4)], -1)
    best = diag.argmax(-1, keepdim=True)
    q = torch.gather(candidates, -2, best[..., None].expand(best.shape + (4,))).squeeze(-2)
    q = F.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def quat_slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Shortest-path spherical interpolation; t broadcasts against a[..., :1]."""
    dot = (a * b).sum(-1, keepdim=True)
    b = torch.where(dot < 0, -b, b)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin = torch.sin(theta)
    near = sin < 1e-6  # nearly identical: fall back to lerp
    wa = torch.where(near, 1 - t, torch.sin((1 - t) * theta) / torch.where(near, 1.0, sin))
    wb = torch.where(near, t, torch.sin(t * theta) / torch.where(near, 1.0, sin))
    return F.normalize(wa * a + wb * b, dim=-1)


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula, stable near zero angle."""
    angle = aa.norm(dim=-1, keepdim=True)
    axis = aa / angle.clamp(min=1e-8)
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(aa.shape[:-1] + (3, 3))
    s = torch.sin(angle)[..., None]
    c = torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand(k.shape)
    return eye + s * k + (1 - c) * (k @ k)


def matrix_to_axis_angle(m: torch.Tensor) -> torch.Tensor:
    q = matrix_to_quat(m)
    return quat_to_axis_angle(q)


def quat_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    q = torch.where(q[..., :1] < 0, -q, q)
    vec = q[..., 1:]
    sin_half = vec.norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[..., :1])
    return vec / sin_half.clamp(min=1e-8) * angle


def axis_angle_to_quat(aa: torch.Tensor) -> torch.Tensor:
    angle = aa.norm(dim=-1, keepdim=True)
    axis = aa / angle.clamp(min=1e-8)
    return torch.cat([torch.cos(angle / 2), axis * torch.sin(angle / 2)], -1)


def matrix_to_sixd(m: torch.Tensor) -> torch.Tensor:
    return torch.cat([m[..., :, 0], m[..., :, 1]], -1)


def sixd_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt; any 6 numbers give a valid rotation."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def yaw_matrix(angle: torch.Tensor) -> torch.Tensor:
    """Rotation about +Y by angle (radians); maps +Z to (sin a, 0, cos a)."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([c, zero, s, zero, one, zero, -s, zero, c], -1).reshape(angle.shape + (3, 3))


def rotation_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest rotation matrix taking direction a onto direction b (no twist about b)."""
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    axis = torch.cross(a, b, dim=-1)
    sin = axis.norm(dim=-1, keepdim=True)
    cos = (a * b).sum(-1, keepdim=True)
    # Opposite vectors: rotate by pi about any axis perpendicular to a.
    helper = torch.where(a[..., :1].abs() < 0.9, torch.tensor([1.0, 0, 0]).to(a), torch.tensor([0, 1.0, 0]).to(a))
    fallback = F.normalize(torch.cross(a, helper, dim=-1), dim=-1)
    opposite = (sin < 1e-7) & (cos < 0)
    axis = torch.where(opposite, fallback, axis / sin.clamp(min=1e-12))
    angle = torch.atan2(sin, cos)
    angle = torch.where(opposite, torch.full_like(angle, torch.pi), angle)
    return axis_angle_to_matrix(axis * angle)
