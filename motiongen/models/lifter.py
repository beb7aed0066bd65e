"""The lifter: a transformer over a window of frames, 2D keypoints in, 3D joints out.

Input per frame: the 18 LIFT_JOINTS as normalised image coordinates + confidence (keypoints.py).
Output per frame: the 22 SMPL joints in camera coordinates (x right, y down, z forward), metres,
relative to the pelvis, and foot-contact logits (left ankle, left toes, right ankle, right toes)
that the world placement uses to pin feet. Self-attention runs over the whole window, so each
frame's depth is read from the motion around it; with `window=1` the same network is a per-frame
baseline.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from motiongen.lifting.keypoints import NUM_LIFT_JOINTS, normalize_keypoints
from motiongen.motion.skeleton import NUM_JOINTS


class TemporalLifter(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        window: int = 41,
        width: int = 128,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
        num_keypoints: int = NUM_LIFT_JOINTS,
        num_joints: int = NUM_JOINTS,
        num_contacts: int = 4,
    ):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(num_keypoints * 3, width), nn.GELU(), nn.Linear(width, width))
        self.position = nn.Parameter(torch.zeros(1, window, width))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, int(width * mlp_ratio), dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, (num_joints - 1) * 3)  # the pelvis is the origin
        self.contact_head = nn.Linear(width, num_contacts)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs [B, T, 18, 3] (T <= window) -> (pelvis-relative camera-space joints [B, T, 22, 3],
        foot-contact logits [B, T, 4])."""
        b, t = inputs.shape[:2]
        h = self.norm(self.encoder(self.embed(inputs.flatten(2)) + self.position[:, :t]))
        y = self.head(h).view(b, t, -1, 3)
        return torch.cat([torch.zeros_like(y[:, :, :1]), y], 2), self.contact_head(h)


@torch.no_grad()
def lift_sequence(
    model: TemporalLifter,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    stride: int | None = None,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """A whole track (T, 18, 2) pixels + (T, 18) confidences -> ((T, 22, 3) pelvis-relative joints,
    (T, 4) foot-contact probabilities).

    Overlapping windows (edges padded by repeating the first/last frame) are each normalised and
    lifted; every frame is the weighted mean of its windows, weighted towards window centres.
    """
    window = model.config.window
    frames = len(keypoints)
    stride = stride or max(1, window // 4)
    pad_front = window // 2
    padded = max(frames + 2 * pad_front, window)
    index = np.clip(np.arange(padded) - pad_front, 0, frames - 1)
    starts = list(range(0, padded - window + 1, stride))
    if starts[-1] != padded - window:
        starts.append(padded - window)
    windows = np.stack([index[s : s + window] for s in starts])  # (N, W) frame numbers
    inputs = normalize_keypoints(keypoints[windows], confidence[windows])

    model.eval()
    param = next(model.parameters())
    outputs = []
    for i in range(0, len(inputs), batch_size):
        joints, contacts = model(torch.from_numpy(inputs[i : i + batch_size]).to(param))
        flat = torch.cat([joints.flatten(2), torch.sigmoid(contacts)], -1)
        outputs.append(flat.float().cpu().numpy())
    outputs = np.concatenate(outputs)  # (N, W, 22 * 3 + 4)

    weight = np.minimum(np.arange(window) + 1, window - np.arange(window)).astype(np.float64)
    total = np.zeros((frames, outputs.shape[-1]))
    norm = np.zeros(frames)
    for w, frame_ids in enumerate(windows):
        np.add.at(total, frame_ids, outputs[w] * weight[:, None])
        np.add.at(norm, frame_ids, weight)
    mean = (total / norm[:, None]).astype(np.float32)
    return mean[:, : NUM_JOINTS * 3].reshape(frames, NUM_JOINTS, 3), mean[:, NUM_JOINTS * 3 :]
