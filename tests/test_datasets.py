"""Public-dataset loaders, each on a small fixture in the dataset's own on-disk layout
(tests/dataset_fixtures.py): what comes out, that it round-trips, the cache, and clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from dataset_fixtures import (
    AIST_NAMES,
    source_motions,
    write_aistpp,
    write_amass,
    write_bvh_folder,
    write_humanml3d,
    write_interhuman,
    write_kit,
)

from motiongen.data.datasets import DatasetSpec, convert, load_dataset, parse_specs
from motiongen.errors import UserError
from motiongen.io.humanml3d_vectors import canonical_positions
from motiongen.motion.skeleton import JOINT_INDEX


def by_name(clips):
    return {c.name: c for c in clips}


def same_path(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    """Joint positions equal up to a vertical shift (each loader puts clips on its floor)."""
    shift = np.median(a[..., 1] - b[..., 1])
    np.testing.assert_allclose(a - np.array([0, shift, 0]), b, atol=atol)


def test_humanml3d_clips_captions_time_ranges_and_splits(tmp_path):
    root = write_humanml3d(tmp_path / "HumanML3D")
    clips = by_name(convert(DatasetSpec("humanml3d", str(root)), progress=False))
    assert sorted(clips) == ["humanml3d/000000", "humanml3d/000000@1-3", "humanml3d/000001", "humanml3d/M000000"]
    walk = clips["humanml3d/000000"]
    assert walk.captions == ["a person walks forward.", "someone strolls ahead."] and walk.split == "train"
    assert clips["humanml3d/000000@1-3"].captions == ["the person takes a few steps."]
    assert len(clips["humanml3d/000000@1-3"].motion) == 40  # seconds 1-3 at 20 fps
    assert clips["humanml3d/000001"].captions == ["a person jumps up."]  # nan#nan: the whole clip
    # inverse kinematics on new_joints gives back the written joint positions
    written = np.load(root / "new_joints" / "000000.npy")
    assert walk.motion.fps == 20.0 and len(walk.motion) == len(written)
    same_path(walk.motion.positions(), written, atol=2e-3)
    test = convert(DatasetSpec("humanml3d", str(root), split="test"), progress=False)
    assert [c.name for c in test] == ["humanml3d/000002"] and test[0].split == "test"


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: (r / "texts" / "000001.txt").write_text("a caption with no tags\n"), "caption#tokens#start#end"),
        (lambda r: np.save(r / "Std.npy", np.ones(251, np.float32)), r"Std.npy should have shape \(263,\)"),
        (lambda r: np.save(r / "new_joints" / "000001.npy", np.zeros((30, 21, 3))), r"\(T, 22, 3\)"),
        (lambda r: np.save(r / "new_joint_vecs" / "000001.npy", np.zeros((35, 251))), "263"),
        (lambda r: (r / "train.txt").unlink(), "no split file"),
        (lambda r: (r / "Mean.npy").write_bytes(b"not numpy"), "Mean.npy"),
    ],
)
def test_malformed_humanml3d_files_are_one_line_errors(tmp_path, damage, message):
    root = write_humanml3d(tmp_path / "HumanML3D")
    damage(root)
    with pytest.raises(UserError, match=message) as info:
        convert(DatasetSpec("humanml3d", str(root)), progress=False)
    assert "\n" not in str(info.value)


def test_converted_once_then_read_from_the_cache_until_a_file_changes(tmp_path, monkeypatch):
    from motiongen.data import datasets

    root = write_humanml3d(tmp_path / "HumanML3D")
    spec = DatasetSpec("humanml3d", str(root))
    first = load_dataset(spec, cache_root=tmp_path / "cache", progress=False)
    monkeypatch.setattr(datasets, "convert", lambda *a, **k: pytest.fail("converted again"))
    again = load_dataset(spec, cache_root=tmp_path / "cache", progress=False)
    assert [c.name for c in again] == [c.name for c in first]
    assert [c.captions for c in again] == [c.captions for c in first]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.motion.quats, b.motion.quats)
    (root / "texts" / "000001.txt").write_text("a person hops.#a/DET person/NOUN hop/VERB#0.0#0.0\n")
    monkeypatch.undo()
    changed = by_name(load_dataset(spec, cache_root=tmp_path / "cache", progress=False))
    assert changed["humanml3d/000001"].captions == ["a person hops."]


def test_kit_ml_millimetres_at_12_5_fps_map_onto_our_skeleton_with_sides_kept(tmp_path):
    root = write_kit(tmp_path / "KIT-ML")
    (clip,) = convert(DatasetSpec("kit", str(root)), progress=False)
    walk = source_motions()[0]
    assert clip.name == "kit/00001" and clip.motion.fps == 20.0 and clip.captions == ["A person walks forward."]
    assert abs(len(clip.motion) - len(walk)) <= 2
    n = min(len(clip.motion), len(walk)) - 2
    got, want = clip.motion.positions()[:n], walk.positions()[:n]
    for joint in ("pelvis", "left_wrist", "right_wrist", "left_ankle", "right_ankle", "head"):
        j = JOINT_INDEX[joint]
        assert np.abs(got[:, j, [0, 2]] - want[:, j, [0, 2]]).mean() < 0.06, joint  # metres, not mm; sides kept


def test_amass_smplh_and_smplx_takes_come_out_y_up_at_20_fps(tmp_path):
    root = write_amass(tmp_path / "AMASS")
    clips = by_name(convert(DatasetSpec("amass", str(root), split="all"), progress=False))
    assert sorted(clips) == ["amass/BMLrub/rub001/0001_stageii", "amass/CMU/01/01_01_poses", "amass/CMU/01/01_02_poses"]
    walk, jump = source_motions()
    take = clips["amass/CMU/01/01_01_poses"]
    assert take.motion.fps == 20.0 and abs(len(take.motion) - len(walk)) <= 1 and take.captions == [""]
    n = min(len(take.motion), len(walk))
    same_path(take.motion.positions()[:n], walk.positions()[:n], atol=0.02)
    same_path(clips["amass/BMLrub/rub001/0001_stageii"].motion.positions(), jump.positions(), atol=0.02)


def test_amass_with_the_users_body_model_scales_each_subject_to_our_legs(tmp_path):
    """The takes' subject (female, mean shape) is built from the user's SMPL+H files: a body 5%
    smaller than our skeleton, so its path is scaled by 1 / 0.95; the male file (larger) is not
    used for a female take."""
    from smpl_helpers import synthetic_smpl, write_model

    root = write_amass(tmp_path / "AMASS")
    models = tmp_path / "smplh"
    write_model(models / "SMPLH_FEMALE.npz", synthetic_smpl(hands=True))
    big = synthetic_smpl(hands=True)
    big["v_template"] = big["v_template"] * 1.2
    write_model(models / "SMPLH_MALE.npz", big)
    plain = by_name(convert(DatasetSpec("amass", str(root), split="all"), progress=False))
    shaped = by_name(convert(DatasetSpec("amass", str(root), split="all", body_model=str(models)), progress=False))
    name = "amass/CMU/01/01_01_poses"
    assert shaped[name].motion.meta["subject_scale"] == pytest.approx(1 / 0.95, rel=1e-4)

    def walked(motion):
        return np.linalg.norm(np.diff(motion.root[:, [0, 2]], axis=0), axis=-1).sum()

    assert walked(shaped[name].motion) == pytest.approx(walked(plain[name].motion) / 0.95, rel=1e-3)
    np.testing.assert_allclose(shaped[name].motion.quats, plain[name].motion.quats, atol=1e-6)  # same poses
    with pytest.raises(UserError, match="body_model is for AMASS"):
        parse_specs([{"format": "humanml3d", "path": "x", "body_model": str(models)}])


def test_amass_captions_table_picks_and_cuts_takes(tmp_path):
    root = write_amass(tmp_path / "AMASS")
    (root / "captions.csv").write_text("file,start,end,caption\nCMU/01/01_01_poses.npz,1,3,a person walks\n")
    (clip,) = convert(DatasetSpec("amass", str(root), split="all", captions="captions.csv"), progress=False)
    assert clip.name == "amass/CMU/01/01_01_poses@1-3" and clip.captions == ["a person walks"]
    assert abs(len(clip.motion) - 40) <= 1  # 2 s of 120 fps frames, resampled


def test_bad_amass_files_are_one_line_errors(tmp_path):
    root = write_amass(tmp_path / "AMASS")
    np.savez(root / "CMU" / "01" / "01_02_poses.npz", poses=np.zeros((10, 70)), trans=np.zeros((10, 3)),
             betas=np.zeros(16), gender=np.array("male"), mocap_framerate=np.array(120.0))  # fmt: skip
    with pytest.raises(UserError, match=r"01_02_poses.npz: poses should be \(T, 156\)"):
        convert(DatasetSpec("amass", str(root), split="all"), progress=False)
    np.savez(root / "CMU" / "01" / "01_02_poses.npz", poses=np.zeros((10, 156)), trans=np.zeros((10, 3)))
    with pytest.raises(UserError, match="not an AMASS motion file"):
        convert(DatasetSpec("amass", str(root), split="all"), progress=False)
    with pytest.raises(UserError, match="no split file"):
        convert(DatasetSpec("amass", str(root), split="train"), progress=False)


def test_aistpp_dances_with_music_genre_captions_splits_and_ignore_list(tmp_path):
    root = write_aistpp(tmp_path / "AIST++")
    clips = by_name(convert(DatasetSpec("aistpp", str(root)), progress=False))
    assert sorted(clips) == [f"aistpp/{n}" for n in AIST_NAMES[:2]]  # the third is on the ignore list
    house = clips[f"aistpp/{AIST_NAMES[1]}"]
    assert house.captions[0] == "a person dances house" and house.motion.meta["audio"].endswith("wav/mHO5.wav")
    walk = source_motions()[0]
    n = min(len(walk), len(clips[f"aistpp/{AIST_NAMES[0]}"].motion)) - 1  # the last frame is resampled
    same_path(clips[f"aistpp/{AIST_NAMES[0]}"].motion.positions()[:n], walk.positions()[:n], atol=0.02)
    test = convert(DatasetSpec("aistpp", str(root), split="test"), progress=False)
    assert [c.name for c in test] == [f"aistpp/{AIST_NAMES[1]}"]


def test_aistpp_pickles_that_would_run_code_are_refused(tmp_path):
    root = write_aistpp(tmp_path / "AIST++")

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    with open(root / "motions" / f"{AIST_NAMES[0]}.pkl", "wb") as f:
        pickle.dump({"smpl_poses": Evil()}, f)
    with pytest.raises(UserError, match="not a pickle of NumPy arrays"):
        convert(DatasetSpec("aistpp", str(root)), progress=False)


def test_interhuman_pairs_name_each_other_and_keep_where_they_stand(tmp_path):
    from motiongen.data.pairs import couples

    root = write_interhuman(tmp_path / "InterHuman")
    clips = convert(DatasetSpec("interhuman", str(root)), progress=False)
    a, b = by_name(clips)["interhuman/1/p1"], by_name(clips)["interhuman/1/p2"]
    assert a.motion.meta["partner"] == "interhuman/1/p2" and b.motion.meta["partner"] == "interhuman/1/p1"
    assert a.captions[0] == "two people walk forward side by side." and len(a.captions) == 3
    assert [(x.name, y.name) for x, y in couples(clips)] == [("interhuman/1/p1", "interhuman/1/p2")]
    offset = b.motion.root - a.motion.root
    np.testing.assert_allclose(offset, np.broadcast_to([1.2, 0.0, 0.4], offset.shape), atol=1e-3)
    walk = source_motions()[0]
    n = min(len(walk), len(a.motion)) - 1  # the last frame is resampled
    same_path(a.motion.positions()[:n], walk.positions()[:n], atol=0.02)
    with pytest.raises(UserError, match="the split lists 2, but"):
        convert(DatasetSpec("interhuman", str(root), split="test"), progress=False)


def test_bvh_folder_with_captions_table_and_split_column(tmp_path):
    root = write_bvh_folder(tmp_path / "mocap")
    clips = by_name(convert(DatasetSpec("bvh", str(root), name="mine"), progress=False))
    assert sorted(clips) == ["mine/walk@0-2", "mine/walk@2-0"]
    assert clips["mine/walk@0-2"].captions == ["a person walks forward", "someone walks"]
    assert len(clips["mine/walk@0-2"].motion) == 40 and len(clips["mine/walk@2-0"].motion) == 60
    (jump,) = convert(DatasetSpec("bvh", str(root), split="test"), progress=False)
    assert jump.name == "bvh/takes/jump" and jump.motion.fps == 20.0
    same_path(jump.motion.positions(), source_motions()[1].positions(), atol=0.01)
    (root / "captions.csv").write_text("file,start,end,caption\nmissing.bvh,0,1,a person waves\n")
    with pytest.raises(UserError, match="names missing.bvh, which is not in"):
        convert(DatasetSpec("bvh", str(root)), progress=False)
    (root / "captions.csv").write_text("file,begin,caption\nwalk.bvh,0,x\n")
    with pytest.raises(UserError, match="needs the columns file,start,end,caption"):
        convert(DatasetSpec("bvh", str(root)), progress=False)


@pytest.mark.parametrize(
    "entries, message",
    [
        ({"format": "humanml3d"}, "data must be a list"),
        ([{"format": "hml", "path": "x"}], "format must be one of humanml3d"),
        ([{"format": "humanml3d"}], "path must name the dataset's folder"),
        ([{"format": "humanml3d", "path": "x", "weight": 0}], "weight must be a number > 0"),
        ([{"format": "humanml3d", "path": "x", "splt": "train"}], "unknown key"),
        ([{"format": "bvh", "path": "a"}, {"format": "bvh", "path": "b"}], "two entries are named 'bvh'"),
    ],
)
def test_bad_data_entries_are_named(entries, message):
    with pytest.raises(UserError, match=message):
        parse_specs(entries)


def test_a_missing_dataset_folder_is_one_line(tmp_path):
    with pytest.raises(UserError, match="humanml3d: no folder"):
        load_dataset(DatasetSpec("humanml3d", str(tmp_path / "nowhere")), cache_root=tmp_path, progress=False)


def test_canonical_fixture_is_what_humanml3d_stores():
    walk = source_motions()[0]
    joints = canonical_positions(walk.positions())
    assert abs(joints[0, 0, 0]) < 1e-6 and abs(joints[0, 0, 2]) < 1e-6 and joints[..., 1].min() >= -1e-6
