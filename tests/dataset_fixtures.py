"""Small datasets written in exactly the public datasets' on-disk layouts (file names, shapes,
dtypes, axes, units, frame rates), made from the built-in corpus' motion."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np
import torch

from motiongen.motion import rotations as R
from motiongen.motion.motion import Motion

Z_UP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # ours (Y up) -> Z up: (x, y, z) -> (x, -z, y)
SMPL_PELVIS_REST = np.array([-0.001795, -0.223333, 0.028219])


@functools.lru_cache(maxsize=1)
def source_motions() -> tuple[Motion, Motion]:
    """A 5 s walk (looped) and a jump, 20 fps, on the floor."""
    from motiongen.data import augment
    from motiongen.data.corpus import load_corpus

    clips = {c.name: c for c in load_corpus("train")}
    return augment.loop(clips["walk"].motion, 100), clips["jump"].motion


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)


def write_humanml3d(root: Path) -> Path:
    """new_joints (T-1, 22, 3) float32 and new_joint_vecs (T-1, 263) float32 per id, M-prefixed
    mirror copies, texts with caption#tokens#start#end lines, split lists, Mean/Std (263,)."""
    from motiongen.io.humanml3d_vectors import canonical_positions, joints_to_vectors

    walk, jump = source_motions()
    motions = {"000000": walk, "M000000": walk.mirrored(), "000001": jump, "000002": jump.mirrored()}
    texts = {
        "000000": ["a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0",
                   "someone strolls ahead.#someone/PRON stroll/VERB ahead/ADV#0.0#0.0",
                   "the person takes a few steps.#the/DET person/NOUN take/VERB a/DET few/ADJ step/NOUN#1.0#3.0"],
        "M000000": ["a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0"],
        "000001": ["a person jumps up.#a/DET person/NOUN jump/VERB up/ADV#nan#nan"],
        "000002": ["someone jumps.#someone/PRON jump/VERB#0.0#0.0"],
    }  # fmt: skip
    for name, motion in motions.items():
        positions = canonical_positions(motion.positions())
        _save(root / "new_joints" / f"{name}.npy", positions[:-1].astype(np.float32))
        _save(root / "new_joint_vecs" / f"{name}.npy", joints_to_vectors(positions))
        (root / "texts").mkdir(parents=True, exist_ok=True)
        (root / "texts" / f"{name}.txt").write_text("\n".join(texts[name]) + "\n")
    (root / "train.txt").write_text("000000\nM000000\n000001\n")
    (root / "val.txt").write_text("000001\n")
    (root / "test.txt").write_text("000002\n")
    vectors = np.concatenate([np.load(root / "new_joint_vecs" / f"{n}.npy") for n in motions])
    np.save(root / "Mean.npy", vectors.mean(0).astype(np.float32))
    np.save(root / "Std.npy", vectors.std(0).astype(np.float32))
    return root


# SMPL-22 joint for each KIT-ML (MMM) joint: root, BP, BT, BLN, BUN, LS, LE, LW, RS, RE, RW,
# LH, LK, LA, LMrot, LF, RH, RK, RA, RMrot, RF (LF/RF: the toe tips, 6 cm before the foot joint)
SMPL_FOR_KIT = (0, 3, 6, 12, 15, 16, 18, 20, 17, 19, 21, 1, 4, 7, 10, 10, 2, 5, 8, 11, 11)


def write_kit(root: Path) -> Path:
    """new_joints (T-1, 21, 3) in millimetres at 12.5 fps, 251-D vectors, texts, splits, Mean/Std."""
    walk, _ = source_motions()
    slow = walk.resampled(12.5)
    positions = slow.positions()
    joints = positions[:, list(SMPL_FOR_KIT)].copy()
    forward = np.array([np.sin(slow.heading()), np.zeros(len(slow)), np.cos(slow.heading())]).T
    joints[:, [15, 20]] += 0.06 * forward[:, None]
    _save(root / "new_joints" / "00001.npy", (joints[:-1] * 1000.0).astype(np.float32))
    _save(root / "new_joint_vecs" / "00001.npy", np.zeros((len(joints) - 1, 251), np.float32))
    (root / "texts").mkdir(parents=True, exist_ok=True)
    (root / "texts" / "00001.txt").write_text(
        "A person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0\n"
    )
    (root / "train.txt").write_text("00001\n")
    np.save(root / "Mean.npy", np.zeros(251, np.float32))
    np.save(root / "Std.npy", np.ones(251, np.float32))
    return root


def amass_arrays(motion: Motion, fps: float = 60.0, width: int = 156, rate_key: str = "mocap_framerate") -> dict:
    """An AMASS take of `motion`: poses (T, width) axis-angle with the root turned to Z up,
    trans (T, 3) Z up, betas (16,), gender, dmpls (T, 8), the frame rate (float64)."""
    motion = motion.resampled(fps)
    rot = R.quat_to_matrix(torch.from_numpy(motion.quats.astype(np.float64)))
    rot[:, 0] = torch.from_numpy(Z_UP) @ rot[:, 0]
    poses = np.zeros((len(motion), width))
    poses[:, :66] = R.matrix_to_axis_angle(rot).reshape(len(motion), -1).numpy()
    trans = motion.root.astype(np.float64) @ Z_UP.T - SMPL_PELVIS_REST
    return {"poses": poses, "trans": trans, "betas": np.zeros(16), "gender": np.array("female"),
            rate_key: np.array(fps), "dmpls": np.zeros((len(motion), 8))}  # fmt: skip


def write_amass(root: Path) -> Path:
    """CMU-like SMPL+H takes (`*_poses.npz`, 120/60 fps) and a SMPL-X take (`*_stageii.npz`,
    mocap_frame_rate), each subject folder with its shape.npz."""
    walk, jump = source_motions()
    for folder, name, arrays in (
        ("CMU/01", "01_01_poses.npz", amass_arrays(walk, 120.0)),
        ("CMU/01", "01_02_poses.npz", amass_arrays(jump, 60.0)),
        ("BMLrub/rub001", "0001_stageii.npz", amass_arrays(jump, 60.0, 165, "mocap_frame_rate")),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        np.savez(root / folder / name, **arrays)
        np.savez(root / folder / "shape.npz", betas=np.zeros(16), gender=np.array("female"))
    return root


AIST_NAMES = ("gBR_sBM_cAll_d04_mBR0_ch01", "gHO_sFM_cAll_d20_mHO5_ch13", "gPO_sBM_cAll_d10_mPO1_ch02")


def write_aistpp(root: Path) -> Path:
    """motions/<name>.pkl (smpl_poses (T, 72) float32, smpl_trans (T, 3) in the scaled frame,
    smpl_scaling (1,), smpl_loss), 60 fps, Y up; wav/<music>.wav; splits/crossmodal_*.txt;
    ignore_list.txt."""
    import soundfile

    walk, jump = source_motions()
    scaling = 93.5
    for name, motion in zip(AIST_NAMES, (walk, jump, jump), strict=True):
        motion = motion.resampled(60.0)
        poses = np.zeros((len(motion), 72), np.float32)
        poses[:, :66] = R.matrix_to_axis_angle(motion.matrices()).reshape(len(motion), -1).numpy()
        trans = ((motion.root - SMPL_PELVIS_REST) * scaling).astype(np.float32)
        data = {"smpl_loss": 1.25, "smpl_poses": poses, "smpl_scaling": np.array([scaling], np.float32),
                "smpl_trans": trans}  # fmt: skip
        (root / "motions").mkdir(parents=True, exist_ok=True)
        with open(root / "motions" / f"{name}.pkl", "wb") as f:
            pickle.dump(data, f)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    beat = np.sin(np.linspace(0, 2 * np.pi * 440, 16000)).astype(np.float32) * 0.1
    for music in ("mBR0", "mHO5"):  # mPO1 is missing: a take may lack its music file
        soundfile.write(root / "wav" / f"{music}.wav", beat, 16000)
    (root / "splits").mkdir(parents=True, exist_ok=True)
    (root / "splits" / "crossmodal_train.txt").write_text(f"{AIST_NAMES[0]}\n{AIST_NAMES[1]}\n{AIST_NAMES[2]}\n")
    (root / "splits" / "crossmodal_test.txt").write_text(f"{AIST_NAMES[1]}\n")
    (root / "ignore_list.txt").write_text(f"{AIST_NAMES[2]}\n")
    return root


def write_interhuman(root: Path) -> Path:
    """motions_processed/person1|person2/<id>.npy (T, 492) float32 at 30 fps, Z up, both people
    in one world frame (62 joints' positions first: 22 body joints + hands); annots/<id>.txt;
    split/train.txt, test.txt."""
    walk, jump = source_motions()
    leader = walk.resampled(30.0)
    follower = Motion(leader.quats, leader.root + np.array([1.2, 0.0, 0.4], np.float32), leader.fps)
    for person, motion in (("person1", leader), ("person2", follower)):
        positions = motion.positions() @ Z_UP.T
        data = np.zeros((len(motion), 492), np.float32)
        data[:, : 22 * 3] = positions.reshape(len(motion), -1)
        data[:, 22 * 3 : 62 * 3] = np.repeat(positions[:, 20:22], 20, axis=1).reshape(len(motion), -1)  # hands
        _save(root / "motions_processed" / person / "1.npy", data)
    (root / "annots").mkdir(parents=True, exist_ok=True)
    (root / "annots" / "1.txt").write_text(
        "two people walk forward side by side.\nthe two walk together.\none person walks next to the other.\n"
    )
    (root / "split").mkdir(parents=True, exist_ok=True)
    (root / "split" / "train.txt").write_text("1\n")
    (root / "split" / "test.txt").write_text("2\n")
    return root


def write_bvh_folder(root: Path) -> Path:
    """Two BVH files (the jump on the CMU rig, in cm) and captions.csv with a split column."""
    from motiongen.io import bvh

    walk, jump = source_motions()
    root.mkdir(parents=True, exist_ok=True)
    bvh.write(walk, root / "walk.bvh")
    (root / "takes").mkdir()
    bvh.write(jump, root / "takes" / "jump.bvh", rig="cmu", fps=60.0)
    (root / "captions.csv").write_text(
        "file,start,end,caption,split\n"
        "walk.bvh,0,2,a person walks forward,train\n"
        "walk.bvh,0,2,someone walks,train\n"
        "walk.bvh,2,,a person keeps walking,train\n"
        "takes/jump.bvh,,,a person jumps,test\n"
    )
    return root
