"""Partner conditioning: the other dancer's motion as context tokens for the denoiser.

Frames of reference. "Where is my partner, seen from me?" needs my own root, which is what is
being generated, so it cannot be an input. Instead the pair is expressed in one frame that is
known at sampling time: the *window frame*, the partner's floor point and heading at the first
frame of the window (origin there, facing +Z).

- Partner tokens (inputs, one per partner frame): the partner's 206 motion features (pose,
  heading-frame velocities, contacts) and its root in the window frame: floor position x, z and
  heading as cos, sin (`partner_inputs`). Projected to the model width, with the frame's
  sinusoidal position (the denoiser's own), so generated frame t can find partner frame t.
- Generated person (outputs): its own 206 features, which decode to a motion starting at the
  origin facing +Z, plus four placement channels per frame: the partner's floor position in the
  generated person's heading frame (x to its left, z ahead) and the partner's heading relative
  to its own as cos, sin (`relative_placement`). So the model does predict, per frame, where
  the partner is relative to it; `place_generated` turns that back into a root in the world.

Both are invariant to where the couple stands and which way it faces. The placement channels
are "root" channels for partial-motion masks, so continuing a window keeps them too.

Streaming: with a `lookahead` (frames), generated frame t may attend to partner frames up to
t + lookahead only (`lookahead_mask`); text tokens are always visible. The model is trained with
and without this mask, so one model serves the offline and the streaming mode; streaming rows
often know all but their last STREAM_CHUNK frames, as the streaming sampler does.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from motiongen.conditioning.base import Conditioner, frame_tokens
from motiongen.models.denoiser import sinusoidal_positions
from motiongen.motion import rotations as R
from motiongen.motion.features import FEATURE_DIM, SLICES, motion_to_features
from motiongen.motion.motion import Motion

PLACEMENT = slice(FEATURE_DIM, FEATURE_DIM + 4)  # x, z, cos, sin after the 206 motion features
PAIR_DIM = PLACEMENT.stop  # 210
DEFAULT_LOOKAHEAD = 5  # frames: 0.25 s at 20 fps
STREAM_CHUNK = 10  # frames a streaming partner makes per step (0.5 s), continuing all it made before


def _wrap(angle):
    return np.arctan2(np.sin(angle), np.cos(angle))


def placement_in(frame_xz: np.ndarray, frame_heading: np.ndarray, xz: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Points `xz` [T, 2] with headings [T] seen from frames at `frame_xz` facing `frame_heading`
    (broadcast): [T, 4] = (x to the frame's left, z ahead, cos, sin of the relative heading)."""
    d = xz - frame_xz
    c, s = np.cos(frame_heading), np.sin(frame_heading)
    x = c * d[..., 0] - s * d[..., 1]  # yaw(-heading) applied to (dx, dz)
    z = s * d[..., 0] + c * d[..., 1]
    rel = _wrap(heading - frame_heading)
    return np.stack([x, z, np.cos(rel), np.sin(rel)], -1).astype(np.float32)


def relative_placement(me: Motion, partner: Motion) -> np.ndarray:
    """Per frame [T, 4]: the partner's floor point in my heading frame (x left, z ahead, metres)
    and its heading relative to mine as (cos, sin). A partner 1 m ahead facing me: (0, 1, -1, 0)."""
    return placement_in(me.root[:, [0, 2]], me.heading(), partner.root[:, [0, 2]], partner.heading())


def generated_features(me: Motion, partner: Motion) -> torch.Tensor:
    """What the model generates for `me` next to `partner` (same frames): [T, 210]."""
    placement = torch.from_numpy(relative_placement(me, partner))
    return torch.cat([motion_to_features(me), placement], -1)


def partner_inputs(partner: Motion) -> torch.Tensor:
    """The partner's token inputs [T, 210]: its motion features and its root in the window frame
    (its own first frame)."""
    heading = partner.heading()
    xz = partner.root[:, [0, 2]]
    placement = torch.from_numpy(placement_in(xz[:1], heading[:1], xz, heading))
    return torch.cat([motion_to_features(partner), placement], -1)


def place_generated(features: torch.Tensor, partner: Motion, anchor: Motion | None = None, meta=None) -> Motion:
    """Generated features [T, 210] next to `partner` (same frames, world coordinates) -> the
    generated person in the world. Its motion features give the body and the shape of its path;
    the path is turned and moved as a whole (yaw + shift) to agree best with the placement
    channels. With `anchor` (the first frames already placed, e.g. carried over from the
    previous window) the path is fitted to those frames instead, so the seam does not move."""
    from motiongen.motion.features import features_to_motion

    local = features_to_motion(features[:, :FEATURE_DIM], partner.fps, meta)
    if anchor is not None:
        n = len(anchor)
        target_xz, target_heading = anchor.root[:, [0, 2]], anchor.heading()
    else:
        n = len(local)
        place = features[:n, PLACEMENT].detach().double().numpy()
        rel = np.arctan2(place[:, 3], place[:, 2])
        target_heading = partner.heading()[:n] - rel
        c, s = np.cos(target_heading), np.sin(target_heading)
        # partner = me + yaw(heading) @ (x, z)  ->  me = partner - yaw(heading) @ (x, z)
        offset = np.stack([c * place[:, 0] + s * place[:, 1], -s * place[:, 0] + c * place[:, 1]], -1)
        target_xz = partner.root[:n, [0, 2]] - offset
    # Best yaw: the circular mean of the heading differences; best shift: the mean offset.
    diff = target_heading - local.heading()[:n]
    yaw = float(np.arctan2(np.sin(diff).mean(), np.cos(diff).mean()))
    turn = R.yaw_matrix(torch.tensor(yaw, dtype=torch.float32))
    root = (torch.from_numpy(local.root) @ turn.T).numpy()
    shift = (target_xz - root[:n, [0, 2]]).mean(0)
    root[:, [0, 2]] += shift
    rot = local.matrices()
    rot[:, 0] = turn @ rot[:, 0]
    return Motion.from_matrices(rot, root, partner.fps, local.meta)


def lookahead_mask(frames: int, text_tokens: int, partner_tokens: int, lookahead: int | None) -> torch.Tensor:
    """[frames, text_tokens + partner_tokens] bool: which context tokens generated frame t may
    see. Text tokens always; partner frame k only when k <= t + lookahead (all when None). The
    partner's null token sits at k = 0, so a dropped partner is always visible."""
    mask = torch.ones(frames, text_tokens + partner_tokens, dtype=torch.bool)
    if lookahead is not None:
        t = torch.arange(frames)[:, None]
        k = torch.arange(partner_tokens)[None, :]
        mask[:, text_tokens:] = k <= t + int(lookahead)
    return mask


def zero_first_step(features: torch.Tensor) -> torch.Tensor:
    """A window cut from longer features starts at rest: frame 0's root velocity and heading rate
    are zero, as `motion_to_features` of the cut motion gives them."""
    features = features.clone()
    features[..., 0, SLICES["root_velocity"]] = 0
    features[..., 0, SLICES["heading_rate"]] = 0
    return features


class PartnerConditioner(ModelMixin, ConfigMixin, Conditioner):
    """Partner inputs [B, T, 210] (raw; optionally with lengths [B]) -> (tokens [B, T, width],
    mask). Trainable: input normaliser (set by the trainer), a two-layer projection, a marker that
    tells partner tokens from text tokens, and the null token for classifier-free guidance."""

    @register_to_config
    def __init__(
        self,
        width: int = 256,
        input_dim: int = PAIR_DIM,
        hidden: int = 256,
        max_frames: int = 160,
        lookahead: int = DEFAULT_LOOKAHEAD,
        fps: float = 20.0,
    ):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(input_dim, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.partner_marker = nn.Parameter(torch.zeros(width))
        self.null_token = nn.Parameter(torch.randn(width) * 0.02)
        self.register_buffer("positions", sinusoidal_positions(max_frames, width), persistent=False)
        self.register_buffer("input_mean", torch.zeros(input_dim))
        self.register_buffer("input_std", torch.ones(input_dim))

    def embed(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        features, lengths = inputs if isinstance(inputs, tuple) else (inputs, None)
        features = features.to(self.input_mean.device)
        return frame_tokens(self, features, lengths, self.partner_marker)
