"""Lifting inputs: keypoint files (COCO JSON, npz), joint-set mapping, normalisation, gap filling."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lift_helpers import coco_keypoints
from motion_samples import synthetic_walk

from motiongen.errors import UserError
from motiongen.lifting.cameras import GAP_CONFIDENCE, interpolate_gaps
from motiongen.lifting.keypoints import (
    COCO17,
    LIFT_INDEX,
    LIFT_JOINTS,
    LIFT_MIRROR,
    MEDIAPIPE33,
    normalize_keypoints,
    to_lift_joints,
)
from motiongen.lifting.sources import input_kind, read_keypoint_file


def test_coco_maps_to_lift_joints_with_derived_pelvis_and_neck():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 500, (3, 17, 2)).astype(np.float32)
    scores = rng.uniform(0.2, 1.0, (3, 17)).astype(np.float32)
    out, conf = to_lift_joints(pts, scores, "coco17")
    c = {n: i for i, n in enumerate(COCO17)}
    np.testing.assert_allclose(out[:, LIFT_INDEX["pelvis"]], (pts[:, c["left_hip"]] + pts[:, c["right_hip"]]) / 2)
    np.testing.assert_allclose(
        out[:, LIFT_INDEX["neck"]], (pts[:, c["left_shoulder"]] + pts[:, c["right_shoulder"]]) / 2
    )
    np.testing.assert_allclose(
        conf[:, LIFT_INDEX["pelvis"]], np.minimum(scores[:, c["left_hip"]], scores[:, c["right_hip"]])
    )
    np.testing.assert_allclose(out[:, LIFT_INDEX["left_wrist"]], pts[:, c["left_wrist"]])
    # COCO has no toes: confidence 0, placed at the ankle so normalisation is not thrown off
    assert (conf[:, LIFT_INDEX["left_toe"]] == 0).all()
    np.testing.assert_allclose(out[:, LIFT_INDEX["left_toe"]], pts[:, c["left_ankle"]])


def test_mediapipe_has_toes_and_mirror_table_swaps_sides():
    pts = np.arange(33 * 2, dtype=np.float32).reshape(1, 33, 2)
    out, conf = to_lift_joints(pts, np.ones((1, 33)), "mediapipe33")
    np.testing.assert_allclose(out[0, LIFT_INDEX["right_toe"]], pts[0, MEDIAPIPE33.index("right_foot_index")])
    assert conf.min() == 1.0
    for i, j in enumerate(LIFT_MIRROR):
        assert LIFT_JOINTS[j] == LIFT_JOINTS[i].replace("left", "@").replace("right", "left").replace("@", "right")


def test_normalisation_ignores_position_and_scale_of_the_person():
    rng = np.random.default_rng(1)
    pts = rng.uniform(100, 300, (5, 18, 2)).astype(np.float32)
    conf = np.ones((5, 18), np.float32)
    conf[2, 4] = 0.0
    a = normalize_keypoints(pts, conf)
    b = normalize_keypoints(pts * 3.0 + np.array([40.0, -70.0], np.float32), conf)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert (a[:, LIFT_INDEX["pelvis"], :2] == 0).all()
    assert (a[2, 4] == 0).all()  # an unseen joint carries no position
    assert np.abs(a[..., :2]).max() <= 2.0 + 1e-5  # the whole body spans about [-1, 1] twice over at most


def test_gaps_are_interpolated_and_marked():
    pts = np.zeros((5, 2, 2), np.float32)
    pts[0] = 0.0
    pts[4] = 8.0
    conf = np.ones((5, 2), np.float32)
    conf[1:4] = 0.0
    filled, c = interpolate_gaps(pts, conf)
    np.testing.assert_allclose(filled[:, 0, 0], [0, 2, 4, 6, 8])
    assert (c[1:4] == GAP_CONFIDENCE).all() and (c[[0, 4]] == 1).all()
    with pytest.raises(ValueError):
        interpolate_gaps(pts, np.zeros((5, 2)))


def test_coco_results_json_with_several_people_and_a_missing_frame(tmp_path):
    kp = coco_keypoints(synthetic_walk(4))
    results = [
        {"image_id": 0, "category_id": 1, "keypoints": kp[0].ravel().tolist(), "score": 0.9},
        {"image_id": 0, "category_id": 1, "keypoints": (kp[0] * 0.5).ravel().tolist(), "score": 0.3},
        {"image_id": 2, "category_id": 1, "keypoints": kp[2].ravel().tolist(), "score": 0.8},
        {"image_id": 3, "category_id": 1, "keypoints": kp[3].tolist(), "score": 0.8},  # nested [x, y, s] lists
    ]  # frame 1: nobody
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(results))
    track = read_keypoint_file(path, fps=25.0, image_size=(640, 480))
    assert track.layout == "coco17" and track.fps == 25.0 and track.points.shape == (4, 17, 2)
    np.testing.assert_allclose(track.points[0], kp[0, :, :2], atol=1e-3)  # the more confident person
    assert (track.scores[1] == 0).all()
    np.testing.assert_allclose(track.points[3], kp[3, :, :2], atol=1e-3)


def test_coco_annotation_file_gives_image_size(tmp_path):
    kp = coco_keypoints(synthetic_walk(3))
    data = {
        "images": [{"id": 10 + i, "file_name": f"frame_{i:03d}.jpg", "width": 640, "height": 480} for i in range(3)],
        "annotations": [
            {"image_id": 10 + i, "keypoints": kp[i].ravel().tolist(), "num_keypoints": 17} for i in range(3)
        ],
        "fps": 30,
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    track = read_keypoint_file(path)
    assert track.image_size == (640, 480) and track.fps == 30
    np.testing.assert_allclose(track.points, kp[..., :2], atol=1e-3)


def test_npz_keypoints_with_separate_scores_and_normalised_coordinates(tmp_path):
    pts = np.random.default_rng(2).uniform(0.2, 0.8, (6, 33, 2))
    path = tmp_path / "mp.npz"
    np.savez(path, keypoints=pts, scores=np.full((6, 33), 0.7), fps=15.0)
    with pytest.raises(UserError, match="normalised"):
        read_keypoint_file(path)
    track = read_keypoint_file(path, image_size=(200, 100))
    assert track.layout == "mediapipe33" and track.fps == 15.0
    np.testing.assert_allclose(track.points, pts * [200, 100], rtol=1e-5)
    np.testing.assert_allclose(track.scores, 0.7)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"keypoints": np.zeros((4, 12, 3))}, "12 joints"),
        ({"points": np.zeros((4, 17, 3))}, "no 'keypoints'"),
        ({"keypoints": np.full((4, 17, 3), np.nan)}, "NaN"),
    ],
)
def test_bad_npz_files_are_user_errors(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **content)
    with pytest.raises(UserError, match=message):
        read_keypoint_file(path)


def test_malformed_json_is_a_user_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"image_id": 0, "keypoints": ["a", "b", "c"] * 17}]))
    with pytest.raises(UserError, match="bad.json"):
        read_keypoint_file(path)
    path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        read_keypoint_file(path)


def test_input_kinds(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "k.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("x")
    assert input_kind(tmp_path / "clip.mp4") == "video"
    assert input_kind(tmp_path / "k.json") == "keypoints"
    assert input_kind(tmp_path) == "images"
    with pytest.raises(UserError, match="cannot lift"):
        input_kind(tmp_path / "notes.txt")
    with pytest.raises(UserError, match="not found"):
        input_kind(tmp_path / "missing.mp4")
    with pytest.raises(UserError, match="no frame has keypoints"):
        read_keypoint_file(tmp_path / "k.json")
