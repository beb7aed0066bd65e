"""Lifting geometry: synthetic cameras, projection, noise, root translation, world placement, foot pinning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lift_helpers import FOCAL, IMAGE_SIZE, film, pixels
from motion_samples import synthetic_walk

from motiongen.lifting.cameras import NoiseModel, corrupt_keypoints, look_at, project
from motiongen.lifting.keypoints import LIFT_MIRROR
from motiongen.lifting.synthetic import Track, make_batch, sample_windows
from motiongen.lifting.world import (
    WorldOptions,
    camera_to_world_rotation,
    solve_translation,
    stand_upright,
    to_world,
    upright_axis,
)
from motiongen.motion.contacts import foot_contacts
from motiongen.motion.skeleton import FOOT_JOINTS


def test_look_at_puts_the_target_at_the_image_centre():
    pos = np.array([[3.0, 1.5, 4.0], [-2.0, 0.3, 0.0]])
    target = np.array([[0.0, 1.0, 0.0], [1.0, 1.2, 2.0]])
    rot = look_at(pos, target, roll=np.array([0.1, -0.05]))
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0)
    cam = np.einsum("bij,bj->bi", rot, target - pos)
    np.testing.assert_allclose(cam[:, :2], 0, atol=1e-9)
    assert (cam[:, 2] > 0).all()
    uv = project(cam[:, None], np.array([800.0, 500.0]), np.array([[320.0, 240.0], [100.0, 50.0]]))
    np.testing.assert_allclose(uv[:, 0], [[320, 240], [100, 50]], atol=1e-6)
    # a level camera: world up is image up (-y) with no sideways part
    level = look_at(np.array([0.0, 1.0, 5.0]), np.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(level @ [0, 1, 0], [0, -1, 0], atol=1e-9)


def test_synthetic_batches_are_deterministic_and_the_person_is_in_front():
    tracks = [Track.from_motion(synthetic_walk(50)), Track.from_motion(synthetic_walk(30, heading=1.0))]

    def batch(seed):
        rng = np.random.default_rng(seed)
        pos, head = sample_windows(tracks, 8, 21, rng)
        return make_batch(pos, head, rng)

    a, b = batch(5), batch(5)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert not np.array_equal(a.inputs, batch(6).inputs)
    assert a.inputs.shape == (8, 21, 18, 3) and a.target.shape == (8, 21, 22, 3)
    assert (a.camera_joints[..., 2] > 0.5).all()
    np.testing.assert_allclose(a.target[:, :, 0], 0)
    # the target is the camera-space body: bone lengths are the skeleton's (up to the slight
    # shortening of interpolating positions between frames for the speed change)
    thigh = np.linalg.norm(a.target[..., 4, :] - a.target[..., 1, :], axis=-1)
    np.testing.assert_allclose(thigh, 0.40, atol=2e-3)


def test_noise_model_corrupts_like_a_detector():
    rng = np.random.default_rng(0)
    uv = rng.uniform(0, 400, (64, 30, 18, 2))
    clean, conf0 = corrupt_keypoints(
        uv,
        rng,
        NoiseModel(sigma=(0, 0), outlier_prob=0, joint_dropout=0, occlusion_prob=0, missed_frames_prob=0, flip_prob=0),
    )
    np.testing.assert_allclose(clean, uv, atol=1e-3)
    assert (conf0 > 0.5).mean() > 0.9
    noisy, conf = corrupt_keypoints(uv, rng, NoiseModel(joint_dropout=0.1), LIFT_MIRROR)
    err = np.linalg.norm(noisy - uv, axis=-1)
    assert 0.5 < np.median(err) < 20  # a few pixels on a ~400 px person
    assert 0.05 < (conf == 0).mean() < 0.3
    assert np.corrcoef(err.ravel(), conf.ravel())[0, 1] < 0  # bigger errors, lower confidence


def test_root_translation_is_recovered_from_exact_2d():
    _, cam, lift3d = film(synthetic_walk(30))
    uv = pixels(lift3d)
    rel = cam - cam[:, :1]
    t = solve_translation(rel, uv, np.ones(uv.shape[:2]), FOCAL, np.array(IMAGE_SIZE) / 2)
    np.testing.assert_allclose(t, cam[:, 0], atol=1e-3)


@pytest.mark.parametrize("with_contacts", [False, True])
def test_world_placement_from_exact_poses_matches_the_original_motion(with_contacts):
    motion = synthetic_walk(60, heading=0.7, start=(0.5, -1.0))
    world, cam, lift3d = film(motion, distance=6.0, height=1.6, yaw=0.3)
    uv = pixels(lift3d)
    contacts = foot_contacts(torch.from_numpy(world), 20.0).numpy() if with_contacts else None
    lifted, info = to_world(
        cam - cam[:, :1],
        uv,
        np.ones(uv.shape[:2]),
        FOCAL,
        np.array(IMAGE_SIZE) / 2,
        20.0,
        contact_probabilities=contacts,
    )
    pos = lifted.positions()
    # Same body, same floor: compare after removing the unknown yaw and ground position.
    a, b = pos - pos[:, :1].mean(0), world - world[:, :1].mean(0)
    h = a[..., [0, 2]].reshape(-1, 2).T @ b[..., [0, 2]].reshape(-1, 2)
    u, _, vt = np.linalg.svd(h)
    rot2 = (u @ vt).T
    a[..., [0, 2]] = a[..., [0, 2]] @ rot2.T
    err = np.linalg.norm(a - b, axis=-1)
    assert err.mean() < 0.05, err.mean()
    assert abs(info["camera_height"] - 1.6) < 0.15
    assert abs(info["camera_pitch_deg"]) < 4  # the camera looked level
    feet = pos[:, list(FOOT_JOINTS), 1]
    assert -0.03 < np.percentile(feet.min(1), 10) < 0.08  # standing on the floor


def test_camera_to_world_rotation_is_proper_and_keeps_level_views_simple():
    rot = camera_to_world_rotation(np.array([0.0, -1.0, 0.0]))
    np.testing.assert_allclose(rot, np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    up = np.array([0.0, -0.94, -0.342])  # looking 20 degrees down
    rot = camera_to_world_rotation(up / np.linalg.norm(up))
    np.testing.assert_allclose(np.linalg.det(rot), 1.0)
    np.testing.assert_allclose(rot @ (up / np.linalg.norm(up)), [0, 1, 0], atol=1e-9)


def _tilted(points: np.ndarray, degrees: float) -> np.ndarray:
    """Points (..., 3) turned about the camera's x axis (a lean towards or away from the camera)."""
    a = np.radians(degrees)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    return points @ rot.T


def test_a_leaning_lifted_body_is_stood_upright_and_a_lying_one_is_left_alone():
    motion = synthetic_walk(40)
    _, cam, _ = film(motion, distance=5.0, height=1.0, yaw=0.2)  # a level camera: up is -y
    relative = cam - cam[:, :1]
    up = upright_axis(relative) * np.array([0.0, 1.0, 1.0])  # no roll
    up /= np.linalg.norm(up)
    assert up @ np.array([0.0, -1.0, 0.0]) > np.cos(np.radians(5))  # a walker is upright (leaning a little)
    leaning = _tilted(relative, 12.0)  # the lifter guessed a 12 degree lean
    assert upright_axis(leaning) @ up < np.cos(np.radians(10))
    fixed = stand_upright(leaning, up)
    assert np.abs(leaning - relative).max() > 0.15
    np.testing.assert_allclose(fixed, relative, atol=0.02)  # back to the true lean, within 2 cm
    lying = _tilted(relative, 80.0)  # too far to be a lifter's error: left as it is
    np.testing.assert_array_equal(stand_upright(lying, up), lying)


def test_the_world_stage_undoes_a_lifted_lean_and_puts_the_feet_on_the_floor():
    """From exact poses with a lean the lifter might add: what comes out has the original pose
    (better than what went in, and than without the upright step), cleaned up, on the floor."""
    from motiongen.lifting.evaluate import world_pose_errors

    motion = synthetic_walk(60, heading=0.7, start=(0.5, -1.0))
    world, cam, lift3d = film(motion, distance=6.0, height=1.6, yaw=0.3)
    uv = pixels(lift3d)
    relative = _tilted(cam - cam[:, :1], 10.0)
    args = (uv, np.ones(uv.shape[:2]), FOCAL, np.array(IMAGE_SIZE) / 2, 20.0)
    placed, _ = to_world(relative, *args)
    raw = relative @ camera_to_world_rotation(np.array([0.0, -1.0, 0.0])).T  # the true (level) camera
    assert world_pose_errors(placed.positions(), world)[0].mean() < 0.6 * world_pose_errors(raw, world)[0].mean()
    plain, _ = to_world(relative, *args, WorldOptions(clean_feet=False, upright_body=False))
    assert (
        world_pose_errors(plain.positions(), world)[0].mean() > world_pose_errors(placed.positions(), world)[0].mean()
    )
    assert placed.meta["cleanup"]["frames"] == 60  # the contact clean-up ran
    feet = placed.positions()[:, list(FOOT_JOINTS), 1]
    assert -0.03 < np.percentile(feet.min(1), 10) < 0.08  # standing on the floor


def test_depth_noise_does_not_lengthen_the_root_path():
    """A lifted body whose size wobbles from frame to frame (as a lifter's does) puts the person
    nearer and farther: the smoothing of depth keeps the walked path's length within 10%."""
    from motiongen.lifting.evaluate import path_length

    motion = synthetic_walk(120, heading=0.4)
    world, cam, lift3d = film(motion, distance=6.0, height=1.5, yaw=0.2)
    uv = pixels(lift3d)
    rng = np.random.default_rng(0)
    relative = (cam - cam[:, :1]) * rng.normal(1.0, 0.08, (len(cam), 1, 1))
    args = (relative, uv, np.ones(uv.shape[:2]), FOCAL, np.array(IMAGE_SIZE) / 2, 20.0)
    truth = path_length(world[:, 0], 20.0)
    smoothed, _ = to_world(*args)
    unsmoothed, _ = to_world(*args, WorldOptions(depth_sigma=0.01))
    assert abs(path_length(smoothed.root, 20.0) / truth - 1) < 0.1
    assert path_length(unsmoothed.root, 20.0) / truth > 1.2  # without it the path zigzags in depth
