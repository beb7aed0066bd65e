"""SMPL and SMPL+H bodies posed by our motions, through smplx.

`load(folder)` finds the user's model file (model_files.py), reads it safely and hands it to
`smplx.create`; the posed meshes come from smplx's linear blend skinning (`smplx.lbs.lbs`, with
SMPL's pose-dependent corrections), so they are exactly what smplx gives for those poses.

Our 22 joint rotations are SMPL's joints 0-21 in the same frames (docs/representation.md), so
they drive the body unchanged; SMPL's two hand joints and SMPL+H's fingers stay at rest (flat
hands). SMPL's bones are its own lengths, not ours, so the body stands where the motion does:
its pelvis above ours, raised or lowered by `lift`, the difference between its pelvis height over
its soles and our rest pelvis height over our lowest joint, so a standing body stands on the floor.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from motiongen.body import model_files
from motiongen.body.skinned import SkinnedBody, strongest
from motiongen.errors import UserError
from motiongen.motion import rotations as R
from motiongen.motion.skeleton import JOINT_NAMES, NUM_JOINTS, rest_positions

HAND_JOINTS = ("left_hand", "right_hand")  # SMPL's joints 22 and 23


@dataclass
class SmplBody:
    """One shaped SMPL / SMPL+H body. Vertices and joints are metres, Y up, facing +Z at rest."""

    path: Path  # the model file
    kind: str  # "smpl" or "smplh"
    gender: str
    model: torch.nn.Module  # smplx's SMPL / SMPLH module
    betas: torch.Tensor  # (1, B) shape coefficients
    lift: np.ndarray  # (3,): body pelvis = our pelvis + lift

    @property
    def faces(self) -> np.ndarray:
        return np.asarray(self.model.faces, dtype=np.int64)

    @property
    def parents(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.model.parents)

    @property
    def joint_names(self) -> tuple[str, ...]:
        if self.kind == "smpl":
            return (*JOINT_NAMES, *HAND_JOINTS)
        from smplx.joint_names import SMPLH_JOINT_NAMES

        return tuple(SMPLH_JOINT_NAMES[: len(self.parents)])

    def rest(self) -> tuple[np.ndarray, np.ndarray]:
        """The shaped body at rest: vertices (N, 3) and joints (J, 3), pelvis where SMPL puts it."""
        vertices, joints = self._lbs(torch.zeros(1, 3 * len(self.parents)))
        return vertices[0], joints[0]

    def posed(self, quats: np.ndarray, root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Our local rotations (T, 22, 4) and pelvis positions (T, 3) -> the body's vertices
        (T, N, 3) and joints (T, J, 3) in our world."""
        quats = np.asarray(quats, np.float32).reshape(-1, NUM_JOINTS, 4)
        pose = torch.zeros(len(quats), 3 * len(self.parents))
        pose[:, : 3 * NUM_JOINTS] = R.quat_to_axis_angle(torch.from_numpy(quats)).reshape(len(quats), -1)
        vertices, joints = self._lbs(pose)
        shift = np.asarray(root, np.float32).reshape(-1, 1, 3) + self.lift - joints[:, :1]
        return vertices + shift, joints + shift

    def skinned(self) -> SkinnedBody:
        """The body at rest with SMPL's own skinning weights (the four strongest per vertex), for glTF."""
        import trimesh

        vertices, joints = self.rest()
        normals = trimesh.Trimesh(vertices, self.faces, process=False).vertex_normals
        indices, weights = strongest(self.model.lbs_weights.numpy())
        return SkinnedBody(
            self.joint_names,
            self.parents,
            joints.astype(np.float32),
            vertices.astype(np.float32),
            np.asarray(normals, np.float32),
            self.faces,
            indices,
            weights,
            self.lift.astype(np.float32),
        )

    def _lbs(self, pose: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        from smplx.lbs import lbs

        m = self.model
        with torch.no_grad():
            vertices, joints = lbs(
                self.betas.expand(len(pose), -1),
                pose,
                m.v_template,
                m.shapedirs,
                m.posedirs,
                m.J_regressor,
                m.parents,
                m.lbs_weights,
            )
        return vertices.numpy(), joints.numpy()


def load(path: str | Path, betas=None, option: str = "--smpl-model", gender: str | None = None) -> SmplBody:
    """The body in the model folder (or file) `path`, with shape `betas` (zeros: the mean shape;
    more than the model has are dropped), of `gender` where the folder has that model."""
    file, gender = model_files.find(path, option, gender)
    model = _model(file.resolve(), file.stat().st_mtime_ns, gender)
    shape = torch.zeros(1, model.num_betas)
    given = torch.as_tensor(np.asarray(betas if betas is not None else [], np.float32).reshape(-1))
    count = min(len(given), model.num_betas)
    shape[0, :count] = given[:count]
    body = SmplBody(file, model_files.JOINTS[len(model.parents)], gender, model, shape, np.zeros(3, np.float32))
    vertices, joints = body.rest()
    ours = rest_positions()
    height = (joints[0, 1] - vertices[:, 1].min()) - (ours[0, 1] - ours[:, 1].min())
    body.lift = np.array([0.0, height, 0.0], np.float32)
    return body


@lru_cache(maxsize=4)
def _model(file: Path, _mtime: int, gender: str) -> torch.nn.Module:
    """smplx's module for the file (cached: a command writing several files reads it once)."""
    import smplx
    from smplx.utils import Struct

    arrays = model_files.read(file)
    kind = model_files.kind(arrays)
    options = {}
    if kind == "smplh":  # fingers stay flat; smplx wants the hand PCA arrays even when it does not use them
        for side in "lr":
            arrays.setdefault(f"hands_components{side}", np.zeros((45, 45)))
            arrays.setdefault(f"hands_mean{side}", np.zeros(45))
        options = dict(use_pca=False, flat_hand_mean=True)
    num_betas = arrays["shapedirs"].shape[2]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a note about 10 shape coefficients
            model = smplx.create(
                str(file.parent),
                model_type=kind,
                gender=gender,
                data_struct=Struct(**arrays),
                num_betas=num_betas,
                **options,
            )
    except (ValueError, TypeError, IndexError, RuntimeError, KeyError) as exc:
        raise UserError(f"smplx cannot build a body from {file.name}: {type(exc).__name__}: {exc}") from None
    return model.eval()
