"""The bad-input catalogue: every row is a command line a user might type with a bad file or value,
run through the real `motiongen` entry point. Each must end with exit code 2 and exactly one line
on stderr that matches the row's pattern (what is wrong, and how to fix it): no traceback, no
wrong result with exit 0, and nothing written.

Rows name files of the `bad` fixture by their names; `{d}` is that fixture's folder.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from motion_samples import synthetic_walk

from motiongen.io import save_motion

ONE_LINE = re.compile(r"^error: [^\n]+$")


def _npy_bytes(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _keypoints(frames: int = 3, joints: int = 17) -> list[list[float]]:
    """Flat [x, y, score] * joints per frame, in pixels."""
    return [sum(([100.0 + j, 200.0 + 3 * j, 0.9] for j in range(joints)), []) for _ in range(frames)]


def _build(d: Path) -> None:
    """Write the good and the bad files the rows use into `d`."""
    walk = synthetic_walk(frames=12)
    save_motion(walk, d / "good.bvh")
    save_motion(walk, d / "good.npz")
    save_motion(walk, d / "good.npy")
    bvh = (d / "good.bvh").read_text()
    head, motion = bvh.split("MOTION\n")
    lines = motion.splitlines()
    first_values = lines[2].split()

    def bvh_with(name, frames=None, frame_time=None, value=None, header=None):
        ls = list(lines)
        if frames is not None:
            ls[0] = f"Frames: {frames}"
        if frame_time is not None:
            ls[1] = f"Frame Time: {frame_time}"
        if value is not None:
            ls[2] = " ".join([value] + first_values[1:])
        (d / name).write_text((header or head) + "MOTION\n" + "\n".join(ls) + "\n")

    for name, ft in [("ft_1e-6", "0.000001"), ("ft_1e-9", "1e-9"), ("ft_0", "0"), ("ft_neg", "-0.05"),
                     ("ft_nan", "nan"), ("ft_inf", "inf"), ("ft_text", "fast"), ("ft_big", "1e9")]:  # fmt: skip
        bvh_with(f"{name}.bvh", frame_time=ft)
    for name, frames in [("frames_0", "0"), ("frames_neg", "-5"), ("frames_many", "100000"), ("frames_text", "x"),
                         ("frames_float", "1.5"), ("frames_huge", "9" * 40)]:  # fmt: skip
        bvh_with(f"{name}.bvh", frames=frames)
    for name, value in [("val_nan", "nan"), ("val_inf", "inf"), ("val_3e38", "3e38"), ("val_text", "abc"),
                        ("val_1e300", "1e300"), ("val_neg_inf", "-inf")]:  # fmt: skip
        bvh_with(f"{name}.bvh", value=value)
    bvh_with("offset_nan.bvh", header=head.replace("OFFSET 0.000000 0.000000 0.000000", "OFFSET nan 0 0", 1))
    bvh_with("offset_huge.bvh", header=head.replace("OFFSET 0.000000 0.000000 0.000000", "OFFSET 3e38 0 0", 1))
    bvh_with("offset_short.bvh", header=head.replace("OFFSET 0.000000 0.000000 0.000000", "OFFSET 0 0", 1))
    bvh_with("channels_bad.bvh", header=head.replace("CHANNELS 3", "CHANNELS 4", 1))
    bvh_with("channels_word.bvh", header=head.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation", 1))
    bvh_with("two_roots.bvh", header=head + head.replace("HIERARCHY\n", ""))
    bvh_with("unclosed.bvh", header=head.rstrip().rstrip("}") + "\n")
    bvh_with("extra_close.bvh", header=head + "}\n")
    (d / "no_motion.bvh").write_text(head)
    (d / "no_hierarchy.bvh").write_text("MOTION\n" + motion)
    (d / "empty.bvh").write_text("")
    (d / "binary.bvh").write_bytes(bytes(range(256)) * 4)
    (d / "truncated.bvh").write_text(bvh[: len(bvh) * 2 // 3])
    (d / "no_frame_time.bvh").write_text(head + "MOTION\nFrames: 1\n" + lines[2] + "\n")
    (d / "bom.bvh").write_bytes(b"\xef\xbb\xbf" + bvh.encode())

    q, r = walk.quats, walk.root
    npz_cases = {
        "complex_quats": dict(quats=q.astype(np.complex64), root=r, fps=20.0),
        "nan_root": dict(quats=q, root=np.where(np.arange(3) == 1, np.nan, r), fps=20.0),
        "huge_root": dict(quats=q, root=r + 3e38, fps=20.0),
        "fps_neg": dict(quats=q, root=r, fps=-21.0),
        "fps_zero": dict(quats=q, root=r, fps=0.0),
        "fps_nan": dict(quats=q, root=r, fps=np.nan),
        "fps_huge": dict(quats=q, root=r, fps=5000.0),
        "fps_two": dict(quats=q, root=r, fps=np.array([20.0, 30.0])),
        "fps_text": dict(quats=q, root=r, fps=np.array("fast")),
        "fps_missing": dict(quats=q, root=r),
        "zero_quats": dict(quats=np.zeros_like(q), root=r, fps=20.0),
        "quats_shape": dict(quats=q[:, :10], root=r, fps=20.0),
        "root_shape": dict(quats=q, root=r[:5], fps=20.0),
        "no_frames": dict(quats=q[:0], root=r[:0], fps=20.0),
        "text_quats": dict(quats=np.array(["a", "b"]), root=r, fps=20.0),
        "other_keys": dict(x=np.zeros(3)),
        "poses_narrow": dict(poses=np.zeros((4, 10)), trans=np.zeros((4, 3)), mocap_framerate=30.0),
        "trans_mismatch": dict(poses=np.zeros((4, 72)), trans=np.zeros((3, 3)), mocap_framerate=30.0),
        "amass_fps_neg": dict(poses=np.zeros((4, 72)), trans=np.zeros((4, 3)), mocap_framerate=-5.0),
        "amass_complex": dict(poses=np.zeros((4, 72), np.complex128), trans=np.zeros((4, 3)), mocap_framerate=30.0),
        "amass_huge": dict(poses=np.full((4, 72), 3e38), trans=np.zeros((4, 3)), mocap_framerate=30.0),
    }
    for name, arrays in npz_cases.items():
        _npz(d / f"{name}.npz", **arrays)
    with zipfile.ZipFile(d / "pickled.npz", "w") as z:
        z.writestr("quats.npy", _npy_bytes(np.array([{"a": 1}], dtype=object)))
        z.writestr("root.npy", _npy_bytes(r))
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 22, 4), }"
    header += b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    claim = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 64
    with zipfile.ZipFile(d / "bomb.npz", "w") as z:  # a header claiming 70 TB in 200 bytes
        z.writestr("quats.npy", claim)
        z.writestr("root.npy", _npy_bytes(r))
    (d / "claim.npy").write_bytes(claim.replace(b"22, 4", b"22, 3"))
    (d / "bad_header.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8' \n" + b"\0" * 32)
    (d / "version9.npy").write_bytes(b"\x93NUMPY\x09\x00" + b"\0" * 64)
    good_npz = (d / "good.npz").read_bytes()
    (d / "truncated.npz").write_bytes(good_npz[: len(good_npz) // 2])
    (d / "not_zip.npz").write_bytes(b"PK\x03\x04 this is not really a zip file")
    (d / "text.npz").write_text("quats, root")
    (d / "empty.npz").write_bytes(b"")

    p = walk.positions().astype(np.float64)
    npy_cases = {
        "nan_joints": np.where(p > 0.5, np.nan, p),
        "inf_joints": np.where(p > 0.5, np.inf, p),
        "huge_joints": p * 1e38,
        "complex_joints": p.astype(np.complex128),
        "shape_flat": p.reshape(len(p), -1),
        "shape_21": p[:, :21],
        "vectors_263": np.zeros((10, 263), np.float32),
        "zero_frames": p[:0],
        "bool_joints": p > 0,
        "text_joints": np.array(["x"] * 3),
        "record_joints": np.zeros(3, dtype=[("a", "f4"), ("b", "f4")]),
    }
    for name, array in npy_cases.items():
        (d / f"{name}.npy").write_bytes(_npy_bytes(array))
    (d / "pickled.npy").write_bytes(_npy_bytes(np.array([{"a": 1}], dtype=object)))
    (d / "truncated.npy").write_bytes((d / "good.npy").read_bytes()[:200])
    (d / "not_npy.npy").write_text("0 1 2")
    (d / "empty.npy").write_bytes(b"")

    unit = [1.0, 0.0, 0.0, 0.0]  # DeepMimic frame: duration, root position, quaternions and hinge angles
    frame = [0.0333, 0.0, 0.9, 0.0] + unit * 4 + [0.0] + unit * 2 + [0.0] + unit + [0.0] + unit * 2 + [0.0]
    assert len(frame) == 44, len(frame)

    def clip(name, frames, raw=None):
        (d / f"{name}.txt").write_text(raw if raw is not None else json.dumps({"Loop": "none", "Frames": frames}))

    clip("dm_one_frame", [frame])
    clip("dm_width", [frame[:40]] * 3)
    clip("dm_nan", None, raw=json.dumps({"Frames": [frame] * 3}).replace("0.9", "NaN", 1))
    clip("dm_inf", None, raw=json.dumps({"Frames": [frame] * 3}).replace("0.9", "1e999", 1))
    clip("dm_huge", [[0.0333] + [3e38] * 43] * 3)
    clip("dm_dt_zero", [[0.0] + frame[1:]] * 3)
    clip("dm_dt_tiny", [[1e-9] + frame[1:]] * 3)
    clip("dm_dt_huge", [[1e300] + frame[1:]] * 3)
    clip("dm_no_frames_key", None, raw=json.dumps({"Loop": "wrap"}))
    clip("dm_not_json", None, raw="Frames: lots")
    clip("dm_nested", None, raw="[" * 100000 + "]" * 100000)
    clip("dm_text_values", [["a"] * 44] * 3)
    clip("dm_list", None, raw="[1, 2, 3]")
    clip("dm_zero_quat", [frame[:4] + [0.0] * 4 + frame[8:]] * 3)

    def kp(name, data, raw=None):
        (d / f"{name}.json").write_text(raw if raw is not None else json.dumps(data))

    good_kp = [{"image_id": i, "keypoints": k} for i, k in enumerate(_keypoints(3))]
    kp("kp_million", [dict(good_kp[0], image_id=0), dict(good_kp[1], image_id=1_000_000)])
    kp("kp_fps_neg", {"fps": -21, "frames": [[g] for g in good_kp]})
    kp("kp_fps_neg5", {"fps": -5, "frames": [[g] for g in good_kp]})
    kp("kp_fps_zero", {"fps": 0, "frames": [[g] for g in good_kp]})
    kp("kp_fps_text", {"fps": "fast", "frames": [[g] for g in good_kp]})
    kp("kp_fps_huge", {"fps": 1e9, "frames": [[g] for g in good_kp]})
    kp("kp_nan", None, raw=json.dumps(good_kp).replace("100.0", "NaN", 1))
    kp("kp_inf", None, raw=json.dumps(good_kp).replace("100.0", "1e999", 1))
    kp("kp_huge", None, raw=json.dumps(good_kp).replace("100.0", "3e38", 1))
    kp("kp_joints_5", [{"image_id": i, "keypoints": [1.0, 2.0, 0.9] * 5} for i in range(3)])
    kp("kp_mixed_joints", [good_kp[0], {"image_id": 1, "keypoints": _keypoints(1, 33)[0]}])
    kp("kp_none", [{"image_id": 0}, {"image_id": 1}])
    kp("kp_empty_list", [])
    kp("kp_number", 42)
    kp("kp_not_json", None, raw="{keypoints: oops")
    kp("kp_nested", None, raw="[" * 100000 + "]" * 100000)
    kp("kp_size_zero", {"image_size": [0, 0], "frames": [[g] for g in good_kp]})
    kp("kp_size_text", {"image_size": ["wide", "tall"], "frames": [[g] for g in good_kp]})
    kp("kp_size_inf", None, raw=json.dumps({"image_size": [1, 2], "frames": [[g] for g in good_kp]}).replace(
        "[1, 2]", "[1e999, 2]"))  # fmt: skip
    kp("kp_size_three", {"image_size": [1, 2, 3], "frames": [[g] for g in good_kp]})
    kp("kp_normalised", [{"image_id": i, "keypoints": [0.5, 0.5, 0.9] * 17} for i in range(3)])
    kp("kp_text_values", [{"image_id": i, "keypoints": ["a", "b", "c"] * 17} for i in range(3)])
    kp("kp_coco_nan", None, raw=json.dumps({"annotations": good_kp}).replace("100.0", "NaN", 1))
    kp("kp_coco_bad_size", {"images": [{"id": 0, "width": -1, "height": 5}], "annotations": [good_kp[0]]})
    (d / "kp_binary.json").write_bytes(b"\xff\xfe\x00garbage")
    points = np.full((3, 17, 3), 100.0)
    _npz(d / "kpz_complex.npz", keypoints=points.astype(np.complex128))
    _npz(d / "kpz_fps_neg.npz", keypoints=points, fps=-1.0)
    _npz(d / "kpz_shape.npz", keypoints=points[0])
    _npz(d / "kpz_scores.npz", keypoints=points[..., :2], scores=np.ones((2, 17)))
    _npz(d / "kpz_missing.npz", points=points)
    _npz(d / "kpz_nan.npz", keypoints=np.full((3, 17, 3), np.nan))
    _npz(d / "kpz_size_neg.npz", keypoints=points, image_size=np.array([-5, 10]))

    (d / "prompts_empty.txt").write_text("# nothing here\n\n")
    (d / "prompts_binary.txt").write_bytes(b"\xff\xfe\xfa")
    (d / "exists.bvh").write_text("a user's file\n")
    (d / "good.xyz").write_text("some other format\n")
    (d / "exists.json").write_text("{}\n")
    (d / "a_file").write_text("not a folder\n")
    (d / "folder.bvh").mkdir()
    (d / "user_files").mkdir()
    (d / "user_files" / "mine.npz").write_bytes(b"precious")
    (d / "run").mkdir()
    (d / "run" / "config.json").write_text("{}\n")
    (d / "run" / "checkpoint").mkdir()
    (d / "run" / "log.jsonl").write_text("")
    (d / "config_unknown.yaml").write_text("no_such_option: 1\n")
    (d / "config_broken.yaml").write_text("lr: [1, 2\n")
    (d / "config_list.yaml").write_text("- 1\n- 2\n")
    (d / "config_mask.yaml").write_text("mask_probs: {prefix: 5}\n")
    (d / "config_lr_nan.yaml").write_text("lr: .nan\n")
    (d / "config_lr_text.yaml").write_text("lr: fast\n")
    (d / "config_layers.yaml").write_text("layers: 0\n")
    (d / "config_float_steps.yaml").write_text("max_steps: 2.5\n")
    (d / "distill_unknown.yaml").write_text("no_such_option: 1\n")
    (d / "distill_inf.yaml").write_text("lr: .inf\n")
    (d / "distill_mask.yaml").write_text("mask_probs: {prefix: 5}\n")


def _checkpoints(d: Path) -> None:
    """Copies of the shipped text-to-motion checkpoint with one thing wrong each."""
    from motiongen.paths import CHECKPOINT_DIR

    source = CHECKPOINT_DIR / "t2m"

    def variant(name, edit):
        target = d / name
        shutil.copytree(source, target)
        edit(target)

    def edit_json(rel, change):
        def apply(folder):
            path = folder / rel
            data = json.loads(path.read_text())
            change(data)
            path.write_text(json.dumps(data))

        return apply

    variant("ck_import_this", edit_json("model_index.json", lambda c: c.update(denoiser=["this", "MotionDenoiser"])))
    variant("ck_os_system", edit_json("model_index.json", lambda c: c.update(scheduler=["os", "system"])))
    variant("ck_encoder_this", edit_json("text_conditioner/config.json", lambda c: c.update(encoder="this")))
    variant(
        "ck_encoder_auto_map", edit_json("text_conditioner/config.json", lambda c: c.update(encoder=str(d / "enc")))
    )
    variant("ck_layers", edit_json("denoiser/config.json", lambda c: c.update(layers=2)))
    variant("ck_features", edit_json("denoiser/config.json", lambda c: c.update(feature_dim=7)))
    variant("ck_class", edit_json("model_index.json", lambda c: c.update(_class_name="Other")))
    variant("ck_missing", lambda f: (f / "denoiser" / "diffusion_pytorch_model.safetensors").unlink())
    variant("ck_corrupt_index", lambda f: (f / "model_index.json").write_text("{oops"))
    variant("ck_corrupt_weights", lambda f: (f / "denoiser" / "diffusion_pytorch_model.safetensors").write_bytes(b"x"))
    source = CHECKPOINT_DIR / "partner"
    variant("pk_import_this", edit_json("model_index.json", lambda c: c.update(partner_conditioner=["this", "X"])))
    variant("pk_layers", edit_json("denoiser/config.json", lambda c: c.update(layers=2)))
    (d / "enc").mkdir()
    (d / "enc" / "config.json").write_text(json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "m.M"}}))


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    _build(d)
    _checkpoints(d)
    return d


O = ["-o", "{d}/out.bvh"]
GEN = ["generate", "a person walks"]
# (command line, pattern of the one error line)
ROWS: list[tuple[list[str], str]] = [
    # -- usage errors (typos, missing or malformed values) --------------------------------------------
    (["no-such-command"], r"No such command"),
    (["generate", "--bogus"], r"No such option: --bogus.*--help"),
    (["render"], r"Missing argument"),
    (["render", "{d}/good.bvh"], r"Missing option"),
    (["render", "{d}/good.bvh", "-o"], r"requires an argument"),
    ([*GEN, "--seconds", "abc"], r"--seconds"),
    ([*GEN, "--steps", "1.5"], r"--steps"),
    ([*GEN, "--seed", "2**70"], r"--seed"),
    (["lift", "{d}/kp_nan.json", *O, "--fps", "x"], r"--fps"),
    (["info", "extra"], r"unexpected extra argument|Got unexpected"),
    (["eval", "t2m", "--repeats", "many"], r"--repeats"),
    (["data", "build", "--bogus"], r"No such option"),
    # -- generate: options -----------------------------------------------------------------------------
    (["generate", "", *O], r"prompt is empty"),
    (["generate", "   ", *O], r"prompt is empty"),
    (["generate", *O], r"prompt is empty"),
    ([*GEN, *O, "--seconds", "nan"], r"--seconds must be positive"),
    ([*GEN, *O, "--seconds", "inf"], r"--seconds must be at most"),
    ([*GEN, *O, "--seconds", "-4"], r"--seconds must be positive"),
    ([*GEN, *O, "--seconds", "0"], r"--seconds must be positive"),
    ([*GEN, *O, "--seconds", "1e-9"], r"--seconds must be at least"),
    ([*GEN, *O, "--seconds", "1e9"], r"--seconds must be at most"),
    ([*GEN, *O, "--steps", "0"], r"--steps must be from 1 to 1000"),
    ([*GEN, *O, "--steps", "-3"], r"--steps must be from 1"),
    ([*GEN, *O, "--steps", "100000"], r"--steps must be from 1 to 1000"),
    ([*GEN, *O, "--guidance", "nan"], r"--guidance must be a finite number"),
    ([*GEN, *O, "--guidance", "inf"], r"--guidance must be a finite number"),
    ([*GEN, *O, "--guidance", "-1"], r"--guidance must be from 0"),
    ([*GEN, *O, "--guidance", "1e30"], r"--guidance must be from 0 to 100"),
    ([*GEN, *O, "--side-guidance", "nan"], r"--side-guidance must be a finite number"),
    ([*GEN, *O, "--side-guidance", "-inf"], r"--side-guidance must be a finite number"),
    ([*GEN, *O, "--side-guidance", "-0.5"], r"--side-guidance must be from 0"),
    ([*GEN, *O, "--seed", "1180591620717411303424"], r"--seed must be from 0 to 9223372036854775807"),
    ([*GEN, *O, "--seed", "-1"], r"--seed must be from 0"),
    ([*GEN, *O, "--seed", "9223372036854775807", "-n", "2"], r"--seed must be from 0"),
    ([*GEN, *O, "--num-samples", "0"], r"--num-samples must be from 1 to 100"),
    ([*GEN, *O, "--num-samples", "1000000"], r"--num-samples must be from 1 to 100"),
    ([*GEN, *O, "--threads", "-1"], r"--threads must be from 0"),
    ([*GEN, *O, "--threads", "100000"], r"--threads must be from 0 to 1024"),
    ([*GEN, *O, "--sampler", "euler"], r"--sampler must be ddim, dpm or flow"),
    ([*GEN, "-o", "{d}/out.xyz"], r"unknown extension '.xyz'"),
    ([*GEN, "-o", "{d}/noext"], r"unknown extension"),
    ([*GEN, "-o", "{d}/exists.bvh"], r"exists; pass --force"),
    ([*GEN, "-o", "{d}/folder.bvh"], r"is a folder; give a file name"),
    ([*GEN, "-o", "{d}/a_file/out.bvh"], r"a_file is a file, not a folder"),
    ([*GEN, "-o", "{d}/a_file/deeper/out.bvh"], r"a_file is a file, not a folder"),
    (["generate", *O, "--prompts", "{d}/missing.txt"], r"prompts file not found"),
    (["generate", *O, "--prompts", "{d}/prompts_empty.txt"], r"holds no prompts"),
    (["generate", *O, "--prompts", "{d}/prompts_binary.txt"], r"is not UTF-8 text"),
    (["generate", "a person", *O, "--prompts", "{d}/prompts_empty.txt"], r"not both"),
    ([*GEN, *O, "--checkpoint", "{d}/missing_ckpt"], r"checkpoint folder not found"),
    ([*GEN, *O, "--checkpoint", "{d}/good.bvh"], r"checkpoint must be a folder"),
    ([*GEN, *O, "--checkpoint", "{d}/user_files"], r"not a complete text-to-motion checkpoint"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_import_this"], r"unknown part denoiser.*never code"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_os_system"], r"unknown part scheduler"),
    (
        [*GEN, *O, "--checkpoint", "{d}/ck_encoder_this"],
        r"text encoder 'this' is neither a folder nor an installed encoder package",
    ),
    ([*GEN, *O, "--checkpoint", "{d}/ck_encoder_auto_map"], r"asks to run its own code"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_layers"], r"denoiser/ weights do not match denoiser/config.json"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_features"], r"incompatible checkpoint"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_class"], r"holds a Other checkpoint"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_missing"], r"missing denoiser/diffusion_pytorch_model.safetensors"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_corrupt_index"], r"corrupt checkpoint"),
    ([*GEN, *O, "--checkpoint", "{d}/ck_corrupt_weights"], r"cannot load the checkpoint|corrupt checkpoint"),
    # -- convert: every reader, bad files -------------------------------------------------------------
    *[
        (["convert", f"{{d}}/{name}", "-o", f"{{d}}/converted_{name}.npz"], pattern)
        for name, pattern in [
            ("ft_1e-6.bvh", r"Frame Time:' must be from 0.001 to 1 s"),
            ("ft_1e-9.bvh", r"Frame Time:' must be from 0.001"),
            ("ft_0.bvh", r"Frame Time:' must be more than 0"),
            ("ft_neg.bvh", r"Frame Time:' must be more than 0"),
            ("ft_nan.bvh", r"Frame Time:' must be a finite number"),
            ("ft_inf.bvh", r"Frame Time:' must be a finite number"),
            ("ft_text.bvh", r"bad 'Frames:' or 'Frame Time:' value"),
            ("ft_big.bvh", r"Frame Time:' must be from 0.001 to 1 s"),
            ("frames_0.bvh", r"has no frames"),
            ("frames_neg.bvh", r"has no frames"),
            ("frames_many.bvh", r"is truncated: the header promises 100000 frames"),
            ("frames_text.bvh", r"bad 'Frames:'"),
            ("frames_float.bvh", r"bad 'Frames:'"),
            ("frames_huge.bvh", r"is truncated"),
            ("val_nan.bvh", r"motion values contains NaN"),
            ("val_inf.bvh", r"motion values contains NaN or infinite"),
            ("val_neg_inf.bvh", r"motion values contains NaN or infinite"),
            ("val_3e38.bvh", r"motion values holds values beyond"),
            ("val_1e300.bvh", r"motion values holds values beyond"),
            ("val_text.bvh", r"motion value 'abc' is not a number"),
            ("offset_nan.bvh", r"OFFSET needs 3 finite numbers"),
            ("offset_huge.bvh", r"OFFSET holds values beyond"),
            ("offset_short.bvh", r"OFFSET needs 3 finite numbers"),
            ("channels_bad.bvh", r"CHANNELS should list 4"),
            ("channels_word.bvh", r"CHANNELS should list 3"),
            ("two_roots.bvh", r"a second ROOT"),
            ("unclosed.bvh", r"never closed|corrupt"),
            ("extra_close.bvh", r"unbalanced"),
            ("no_motion.bvh", r"has no MOTION section"),
            ("no_hierarchy.bvh", r"does not start with HIERARCHY"),
            ("empty.bvh", r"does not start with HIERARCHY"),
            ("binary.bvh", r"does not start with HIERARCHY"),
            ("truncated.bvh", r"truncated"),
            ("no_frame_time.bvh", r"lacks 'Frames:' or 'Frame Time:'"),
            ("complex_quats.npz", r"'quats' holds complex numbers"),
            ("nan_root.npz", r"'root' contains NaN"),
            ("huge_root.npz", r"'root' holds values beyond"),
            ("fps_neg.npz", r"'fps' must be from 1 to 1000, got -21"),
            ("fps_zero.npz", r"'fps' must be from 1 to 1000"),
            ("fps_nan.npz", r"'fps' contains NaN"),
            ("fps_huge.npz", r"'fps' must be from 1 to 1000"),
            ("fps_two.npz", r"'fps' must be one number"),
            ("fps_text.npz", r"'fps' does not hold numbers"),
            ("fps_missing.npz", r"has no frame rate"),
            ("zero_quats.npz", r"zero-length quaternions"),
            ("quats_shape.npz", r"quats must be \(T, 22, 4\)"),
            ("root_shape.npz", r"root \(T, 3\)"),
            ("no_frames.npz", r"with T > 0"),
            ("text_quats.npz", r"'quats' does not hold numbers"),
            ("other_keys.npz", r"neither the AMASS layout"),
            ("poses_narrow.npz", r"poses must be \(T, 72\)"),
            ("trans_mismatch.npz", r"trans must be \(4, 3\)"),
            ("amass_fps_neg.npz", r"'mocap_framerate' must be from 1 to 1000"),
            ("amass_complex.npz", r"'poses' holds complex numbers"),
            ("amass_huge.npz", r"'poses' holds values beyond"),
            ("pickled.npz", r"holds Python objects, which are not loaded"),
            ("bomb.npz", r"truncated or corrupt: its header promises"),
            ("truncated.npz", r"not a valid .npz file"),
            ("not_zip.npz", r"not a valid .npz file"),
            ("text.npz", r"not a valid .npz file"),
            ("empty.npz", r"not a valid .npz file"),
            ("nan_joints.npy", r"joint positions contains NaN"),
            ("inf_joints.npy", r"joint positions contains NaN or infinite"),
            ("huge_joints.npy", r"joint positions holds values beyond"),
            ("complex_joints.npy", r"joint positions holds complex numbers"),
            ("shape_flat.npy", r"should hold HumanML3D joint positions of shape"),
            ("shape_21.npy", r"should hold HumanML3D joint positions"),
            ("vectors_263.npy", r"263-D feature vectors"),
            ("zero_frames.npy", r"should hold HumanML3D joint positions"),
            ("bool_joints.npy", r"joint positions does not hold numbers"),
            ("text_joints.npy", r"should hold HumanML3D joint positions|does not hold numbers"),
            ("record_joints.npy", r"holds Python objects, which are not loaded"),
            ("pickled.npy", r"holds Python objects, which are not loaded"),
            ("truncated.npy", r"truncated"),
            ("claim.npy", r"truncated or corrupt: its header promises"),
            ("bad_header.npy", r"not a valid .npy array \(bad header"),
            ("version9.npy", r"not a valid .npy array|format version"),
            ("not_npy.npy", r"is not a NumPy .npy file"),
            ("empty.npy", r"is not a NumPy .npy file"),
            ("dm_one_frame.txt", r"expected at least 2 frames of 44 numbers"),
            ("dm_width.txt", r"expected at least 2 frames of 44 numbers"),
            ("dm_nan.txt", r"frames contains NaN"),
            ("dm_inf.txt", r"frames contains NaN or infinite"),
            ("dm_huge.txt", r"frames holds values beyond"),
            ("dm_dt_zero.txt", r"duration must be more than 0"),
            ("dm_dt_tiny.txt", r"duration must be from 0.001 to 1 s"),
            ("dm_dt_huge.txt", r"frames holds values beyond"),
            ("dm_no_frames_key.txt", r"not a DeepMimic motion file"),
            ("dm_not_json.txt", r"not a DeepMimic motion file"),
            ("dm_nested.txt", r"not a DeepMimic motion file"),
            ("dm_text_values.txt", r"not a DeepMimic motion file"),
            ("dm_list.txt", r"not a DeepMimic motion file"),
            ("dm_zero_quat.txt", r"zero-length quaternion"),
            ("missing.bvh", r"file not found"),
            ("folder.bvh", r"is a folder; give a motion file"),
            ("good.xyz", r"unknown extension '.xyz'"),
        ]
    ],
    # -- convert and render: outputs -------------------------------------------------------------------
    (["convert", "{d}/good.bvh", "-o", "{d}/exists.bvh"], r"already exists; pass --force"),
    (["convert", "{d}/good.bvh", "-o", "{d}/folder.bvh"], r"is a folder; give a file name"),
    (["convert", "{d}/good.bvh", "-o", "{d}/a_file/out.bvh"], r"is a file, not a folder"),
    (["convert", "{d}/good.bvh", "-o", "{d}/out.fbx"], r"unknown extension '.fbx'"),
    (["convert", "{d}/good.bvh", "-o", "{d}/out.gif", "--bogus"], r"No such option"),
    # -- BVH output rigs, units and frame rate (every command that writes BVH) -----------------------
    (["convert", "{d}/good.bvh", *O, "--rig", "blender"], r"--rig must be one of motiongen, smpl, mixamo, unreal, cmu"),
    (["convert", "{d}/good.bvh", *O, "--units", "km"], r"--units must be one of m, cm, got 'km'"),
    (["convert", "{d}/good.bvh", *O, "--fps", "0"], r"--fps must be from 1 to 1000, got 0"),
    (["convert", "{d}/good.bvh", *O, "--fps", "nan"], r"--fps must be a finite number"),
    (["convert", "{d}/good.bvh", *O, "--fps", "5000"], r"--fps must be from 1 to 1000"),
    (["convert", "{d}/good.bvh", "-o", "{d}/out.npz", "--rig", "smpl"], r"--rig only applies to BVH output"),
    ([*GEN, *O, "--rig", "blender"], r"--rig must be one of"),
    ([*GEN, *O, "--fps", "nan"], r"--fps must be a finite number"),
    ([*GEN, "-o", "{d}/out.glb", "--units", "cm"], r"--units only applies to BVH output"),
    (["lift", "{d}/kp_huge.json", *O, "--output-fps", "0"], r"--output-fps must be from 1 to 1000"),
    (["lift", "{d}/kp_huge.json", *O, "--units", "km"], r"--units must be one of m, cm"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--rig", "blender"], r"--rig must be one of"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--fps", "0"], r"--fps must be from 1 to 1000"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--units", "km"], r"--units must be one of m, cm"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--fps", "nan"], r"--fps must be a finite number"),
    (["render", "{d}/good.bvh", "-o", "{d}/exists.bvh"], r"already exists"),
    (["render", "{d}/good.bvh", "-o", "{d}/folder.bvh"], r"is a folder"),
    (["render", "{d}/good.bvh", "-o", "{d}/a_file/v.mp4"], r"is a file, not a folder"),
    (["render", "{d}/good.bvh", "-o", "{d}/v.avi"], r"unknown extension '.avi'"),
    (["render", "{d}/good.bvh", "{d}/ft_1e-6.bvh", "-o", "{d}/v.mp4"], r"Frame Time:' must be from"),
    (["render", "{d}/good.bvh", "{d}/huge_root.npz", "-o", "{d}/v.mp4"], r"holds values beyond"),
    (["render", "{d}/missing.npz", "-o", "{d}/v.mp4"], r"file not found"),
    # -- lift -----------------------------------------------------------------------------------------
    *[
        (["lift", f"{{d}}/{name}", "-o", f"{{d}}/lifted_{name}.bvh"], pattern)
        for name, pattern in [
            ("kp_million.json", r"describes 1000001 frames, more than a \d+-byte file can hold"),
            ("kp_coco_nan.json", r"keypoints contains NaN"),
            ("kp_fps_neg.json", r"'fps' must be from 1 to 1000, got -21"),
            ("kp_fps_neg5.json", r"'fps' must be from 1 to 1000, got -5"),
            ("kp_fps_zero.json", r"'fps' must be from 1 to 1000, got 0"),
            ("kp_fps_text.json", r"'fps' must be a real number"),
            ("kp_fps_huge.json", r"'fps' must be from 1 to 1000"),
            ("kp_nan.json", r"keypoints contains NaN"),
            ("kp_inf.json", r"keypoints contains NaN or infinite"),
            ("kp_huge.json", r"keypoints holds values beyond"),
            ("kp_joints_5.json", r"a person has 15 keypoint values; expected \[x, y, score\] \* 17 or 33"),
            ("kp_mixed_joints.json", r"different numbers of joints"),
            ("kp_none.json", r"no frame has keypoints"),
            ("kp_empty_list.json", r"no frame has keypoints"),
            ("kp_number.json", r"expected a list of per-frame results"),
            ("kp_not_json.json", r"is not valid JSON"),
            ("kp_nested.json", r"is not valid JSON"),
            ("kp_binary.json", r"is not valid JSON"),
            ("kp_size_zero.json", r"'image_size''s width must be from 1"),
            ("kp_size_text.json", r"'image_size''s width must be a whole number"),
            ("kp_size_inf.json", r"'image_size''s width must be a whole number"),
            ("kp_size_three.json", r"'image_size' must be \[width, height\]"),
            ("kp_normalised.json", r"look normalised to \[0, 1\]; pass --image-size"),
            ("kp_text_values.json", r"cannot read keypoints"),
            ("kp_coco_bad_size.json", r"'image_size''s width must be from 1"),
            ("kpz_complex.npz", r"'keypoints' holds complex numbers"),
            ("kpz_fps_neg.npz", r"'fps' must be from 1 to 1000"),
            ("kpz_shape.npz", r"'keypoints' must have shape \(T, 17\|33, 2\|3\)"),
            ("kpz_scores.npz", r"'scores' must have shape"),
            ("kpz_missing.npz", r"no 'keypoints' array"),
            ("kpz_nan.npz", r"'keypoints' contains NaN"),
            ("kpz_size_neg.npz", r"width must be from 1"),
            ("missing.json", r"input not found"),
            ("good.bvh", r"cannot lift 'good.bvh'"),
        ]
    ],
    (["lift", "{d}/kp_huge.json", *O, "--fps", "-21"], r"--fps must be from 1 to 1000, got -21"),
    (["lift", "{d}/kp_huge.json", *O, "--fps", "nan"], r"--fps must be a finite number"),
    (["lift", "{d}/kp_huge.json", *O, "--fps", "0"], r"--fps must be from 1 to 1000"),
    (["lift", "{d}/kp_huge.json", *O, "--focal", "inf"], r"--focal must be a finite number"),
    (["lift", "{d}/kp_huge.json", *O, "--focal", "-5"], r"--focal must be more than 0"),
    (["lift", "{d}/kp_huge.json", *O, "--focal", "nan"], r"--focal must be a finite number"),
    (["lift", "{d}/kp_huge.json", *O, "--image-size", "0x10"], r"--image-size's width must be from 1"),
    (["lift", "{d}/kp_huge.json", *O, "--image-size", "wide"], r"--image-size must look like 1920x1080"),
    (["lift", "{d}/kp_huge.json", *O, "--image-size", "10x99999999999"], r"--image-size's height must be from 1"),
    (["lift", "{d}/kp_huge.json", "-o", "{d}/exists.bvh"], r"already exists"),
    (["lift", "{d}/kp_huge.json", "-o", "{d}/folder.bvh"], r"is a folder"),
    (["lift", "{d}/kp_huge.json", "-o", "{d}/a_file/o.bvh"], r"is a file, not a folder"),
    (["lift", "{d}/kp_huge.json", "-o", "{d}/o.fbx"], r"cannot write 'o.fbx'"),
    (["lift", "{d}/kp_huge.json", *O, "--overlay", "{d}/o.png"], r"--overlay must be an .mp4 or .gif"),
    # -- eval physics ---------------------------------------------------------------------------------
    *[
        (["eval", "physics", f"{{d}}/{name}"], pattern)
        for name, pattern in [
            ("nan_joints.npy", r"contains NaN"),
            ("huge_joints.npy", r"holds values beyond"),
            ("complex_joints.npy", r"holds complex numbers"),
            ("pickled.npy", r"holds Python objects"),
            ("claim.npy", r"header promises"),
            ("bad_header.npy", r"bad header"),
            ("empty.npy", r"not a valid .npy array|not a NumPy"),
            ("ft_1e-9.bvh", r"Frame Time:' must be from"),
            ("fps_neg.npz", r"'fps' must be from 1 to 1000"),
            ("missing.npy", r"file not found"),
        ]
    ],
    (["eval", "physics", "{d}/good.bvh", "--json", "{d}/exists.json"], r"already exists; pass --force"),
    (["eval", "physics", "{d}/good.bvh", "--json", "{d}/folder.bvh"], r"--json .* is a folder"),
    (["eval", "physics", "{d}/good.bvh", "--json", "{d}/a_file/r.json"], r"is a file, not a folder"),
    # -- eval t2m -------------------------------------------------------------------------------------
    (["eval", "t2m", "--steps", "0"], r"--steps must be from 1"),
    (["eval", "t2m", "--guidance", "nan"], r"--guidance must be a finite number"),
    (["eval", "t2m", "--repeats", "0"], r"--repeats must be from 1"),
    (["eval", "t2m", "--samples", "0"], r"--samples must be from 1"),
    (["eval", "t2m", "--mm-prompts", "-1"], r"--mm-prompts must be from 0"),
    (["eval", "t2m", "--mm-samples", "0"], r"--mm-samples must be from 1"),
    (["eval", "t2m", "--seed", "-1"], r"--seed must be from 0"),
    (["eval", "t2m", "--seed", "1180591620717411303424"], r"--seed must be from 0"),
    (["eval", "t2m", "--split", "dev"], r"unknown split 'dev'"),
    (["eval", "t2m", "--sampler", "euler"], r"unknown sampler 'euler' \(ddim, dpm or flow\)"),
    (["eval", "t2m", "--threads", "-2"], r"--threads must be from 0"),
    (["eval", "t2m", "--json", "{d}/exists.json"], r"already exists; pass --force"),
    (["eval", "t2m", "--json", "{d}/folder.bvh"], r"is a folder"),
    (["eval", "train-evaluator", "--steps", "0", "-o", "{d}/ev"], r"--steps must be from 1"),
    (["eval", "train-evaluator", "--seed", "-4", "-o", "{d}/ev"], r"--seed must be from 0"),
    (["eval", "train-evaluator", "--corpus", "v9", "-o", "{d}/ev"], r"unknown corpus 'v9'"),
    (["eval", "train-evaluator", "-o", "{d}/a_file"], r"is a file; the evaluator needs a folder"),
    # -- train ----------------------------------------------------------------------------------------
    (["train", "-c", "{d}/missing.yaml", "-o", "{d}/r1"], r"config file not found"),
    (["train", "-c", "{d}/config_unknown.yaml", "-o", "{d}/r1"], r"unknown training option\(s\): no_such_option"),
    (["train", "-c", "{d}/config_broken.yaml", "-o", "{d}/r1"], r"cannot parse config_broken.yaml"),
    (["train", "-c", "{d}/config_list.yaml", "-o", "{d}/r1"], r"must hold a mapping of options"),
    (["train", "-c", "{d}/config_mask.yaml", "-o", "{d}/r1"], r"mask_probs.prefix is a probability"),
    (["train", "-c", "{d}/config_lr_nan.yaml", "-o", "{d}/r1"], r"lr must be (finite|positive)"),
    (["train", "-c", "{d}/config_lr_text.yaml", "-o", "{d}/r1"], r"lr must be a number"),
    (["train", "-c", "{d}/config_layers.yaml", "-o", "{d}/r1"], r"layers must be at least 1"),
    (["train", "-c", "{d}/config_float_steps.yaml", "-o", "{d}/r1"], r"max_steps must be a whole number"),
    (["train", "-o", "{d}/run"], r"already holds a run .*pass --resume .* --force"),
    (["train", "-o", "{d}/a_file"], r"is a file; a run needs a folder"),
    (["train", "-o", "{d}/a_file/r"], r"a_file is a file, not a folder"),
    (["train", "-o", "{d}/run", "--resume", "--force"], r"not both"),
    (["train", "-o", "{d}/r1", "--max-steps", "0"], r"--max-steps must be from 1"),
    (["train", "-o", "{d}/r1", "--threads", "-1"], r"--threads must be from 0"),
    (["train", "-o", "{d}/r1", "--resume"], r"nothing to resume"),
    # -- distill --------------------------------------------------------------------------------------
    (["distill", "-o", "{d}/run"], r"already holds a run"),
    (["distill", "-o", "{d}/a_file"], r"is a file; a run needs a folder"),
    (["distill", "-o", "{d}/r2", "--max-steps", "0"], r"--max-steps must be from 1"),
    (["distill", "-o", "{d}/r2", "-c", "{d}/distill_unknown.yaml"], r"unknown distillation option"),
    (["distill", "-o", "{d}/r2", "-c", "{d}/distill_inf.yaml"], r"lr must be finite"),
    (["distill", "-o", "{d}/r2", "-c", "{d}/distill_mask.yaml"], r"mask_probs.prefix is a probability"),
    (["distill", "-o", "{d}/r2", "-c", "{d}/missing.yaml"], r"config file not found"),
    (["distill", "-o", "{d}/r2", "-t", "{d}/missing_ckpt"], r"checkpoint folder not found"),
    (["distill", "-o", "{d}/r2", "-t", "{d}/ck_import_this"], r"unknown part denoiser"),
    (["distill", "-o", "{d}/r2", "--resume"], r"nothing to resume"),
    # -- data build -----------------------------------------------------------------------------------
    (["data", "build", "-o", "{d}/user_files"], r"holds files but no corpus .*--force"),
    (["data", "build", "-o", "{d}/a_file"], r"is a file; a corpus needs a folder"),
    (["data", "build", "--builtin", "-o", "{d}/user_files"], r"holds files but no corpus"),
    (["data", "build", "-o", "{d}/c1", "--source", "{d}/missing_mocap"], r"mocap|not found|no such"),
    # -- react and duet -------------------------------------------------------------------------------
    (["react", "{d}/missing.bvh", "-o", "{d}/o.mp4"], r"leader not found: .*missing.bvh"),
    (["react", "{d}/a_file", "-o", "{d}/o.mp4"], r"cannot use 'a_file' as the leader: give a motion file"),
    (["react", "{d}/good.xyz", "-o", "{d}/o.mp4"], r"cannot use 'good.xyz' as the leader"),
    (["react", "{d}/ft_nan.bvh", "-o", "{d}/o.mp4"], r"'Frame Time:' must be a finite number"),
    (["react", "{d}/frames_0.bvh", "-o", "{d}/o.mp4"], r"frames_0.bvh has no frames"),
    (["react", "{d}/empty.npz", "-o", "{d}/o.mp4"], r"empty.npz is not a valid .npz file"),
    (["react", "{d}/dm_nan.txt", "-o", "{d}/o.mp4"], r"dm_nan.txt: .*NaN or infinite"),
    (
        ["react", "{d}/good.bvh", "-o", "{d}/o.txt"],
        r"cannot write 'o.txt': give a .mp4, .gif, .glb, .html, .npz, .bvh file",
    ),
    (["react", "{d}/good.bvh", "-o", "{d}/exists.bvh"], r"exists.bvh already exists; pass --force"),
    (["react", "{d}/good.bvh", "-o", "{d}/folder.bvh"], r"folder.bvh is a folder"),
    (["react", "{d}/good.bvh", "-o", "{d}/a_file/x.mp4"], r"a_file is a file, not a folder"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--seconds", "-1"], r"--seconds must be more than 0"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--seconds", "nan"], r"--seconds must be a finite number"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--seconds", "1000"], r"--seconds must be at most 60"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--steps", "0"], r"--steps must be from 1 to 1000"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--sampler", "euler"], r"--sampler must be ddim, dpm or flow"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--guidance", "nan"], r"--guidance must be a finite number"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--guidance", "inf"], r"--guidance must be a finite number"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--checkpoint", "{d}/missing_ckpt"], r"no partner model in"),
    (
        ["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--checkpoint", "{d}/ck_import_this"],
        r"not a complete partner checkpoint",
    ),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--checkpoint", "{d}/pk_import_this"], r"unknown part"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--checkpoint", "{d}/pk_layers"], r"do not match|layers"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--threads", "-2"], r"--threads must be from 0"),
    (["react", "{d}/good.bvh", "-o", "{d}/o.mp4", "--seed", "-1"], r"--seed must be from 0"),
    (["duet", " ", "-o", "{d}/o.mp4"], r"the prompt is empty"),
    (["duet", "two people dance salsa", "-o", "{d}/o.txt"], r"cannot write 'o.txt'"),
    (["duet", "two people dance salsa", "-o", "{d}/exists.bvh"], r"exists.bvh already exists; pass --force"),
    (["duet", "two people dance salsa", "-o", "{d}/folder.bvh"], r"folder.bvh is a folder"),
    (["duet", "two people dance salsa", "-o", "{d}/a_file/o.mp4"], r"a_file is a file, not a folder"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--seconds", "0"], r"--seconds must be positive"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--seconds", "61"], r"--seconds must be at most 60"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--seconds", "inf"], r"--seconds must be"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--steps", "-3"], r"--steps must be from 1 to 1000"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--sampler", "x"], r"--sampler must be ddim, dpm or flow"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--partner-text", " "], r"--partner-text is empty"),
    (["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--checkpoint", "{d}/missing_ckpt"], r"no partner model in"),
    (
        ["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--text-checkpoint", "{d}/missing_ckpt"],
        r"checkpoint folder not found",
    ),
    (
        ["duet", "two people dance salsa", "-o", "{d}/o.mp4", "--text-checkpoint", "{d}/ck_import_this"],
        r"unknown part denoiser",
    ),
]


def run_main(monkeypatch, capsys, args) -> tuple[int, str, str]:
    from motiongen.cli.app import main

    monkeypatch.setattr(sys, "argv", ["motiongen", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_catalogue_is_large():
    assert len(ROWS) >= 150, len(ROWS)


@pytest.mark.parametrize("args,pattern", ROWS, ids=[" ".join(a)[:80] for a, _ in ROWS])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, bad, args, pattern):
    before = {p: p.stat().st_mtime_ns for p in bad.rglob("*") if p.is_file()}
    code, out, err = run_main(monkeypatch, capsys, [a.replace("{d}", str(bad)) for a in args])
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert "Zen of Python" not in out + err and "Beautiful is better" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and ONE_LINE.match(lines[0]), err
    assert re.search(pattern, lines[0]), (pattern, lines[0])
    after = {p: p.stat().st_mtime_ns for p in bad.rglob("*") if p.is_file()}
    assert {p: t for p, t in after.items() if p in before} == before, "a file was changed"
    assert set(before) <= set(after), "a file was removed"
    assert not [p for p in set(after) - set(before) if ".mgtmp" in p.name or p.suffix in (".bvh", ".npz")]
