"""Known-value tests of the generation (FID, R-precision, ...) and physical metrics."""

import numpy as np
import pytest

from motiongen.metrics import generation as G
from motiongen.metrics import physics as P
from motiongen.motion.motion import Motion
from motiongen.motion.skeleton import JOINT_INDEX, rest_positions


def sliding_motion(frames=40, speed=1.0, fps=20.0) -> Motion:
    """The rest pose translated along +X at `speed` m/s, toes on the floor."""
    m = Motion.rest(frames, fps).on_ground()
    m.root[:, 0] += np.arange(frames) * speed / fps
    return m


# -- FID ------------------------------------------------------------------------------


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert G.fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_closed_form_for_commuting_gaussians():
    # Diagonal covariances: d = |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.5])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert G.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_general_covariance_matches_scalar_formula_after_rotation():
    # Rotating both Gaussians by the same orthogonal matrix leaves the distance unchanged.
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 0.5])
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = G.frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-6)


def test_fid_of_samples_approaches_closed_form():
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 1.0, size=(20000, 2))
    y = rng.normal([3.0, 0.0], [2.0, 1.0], size=(20000, 2))
    assert G.fid(x, y) == pytest.approx(9.0 + 1.0, rel=0.03)


def test_fid_with_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(3)
    assert np.isfinite(G.fid(rng.normal(size=(10, 32)), rng.normal(size=(10, 32))))


# -- retrieval metrics -----------------------------------------------------------------


def test_r_precision_of_perfect_evaluator_is_one():
    x = np.random.default_rng(4).normal(size=(96, 16))
    np.testing.assert_allclose(G.r_precision(x, x + 1e-3), [1.0, 1.0, 1.0])


def test_r_precision_of_random_embeddings_is_chance():
    rng = np.random.default_rng(5)
    text, motion = rng.normal(size=(32 * 200, 8)), rng.normal(size=(32 * 200, 8))
    top = G.r_precision(text, motion)
    np.testing.assert_allclose(top, [1 / 32, 2 / 32, 3 / 32], atol=0.01)


def test_r_precision_is_cumulative_and_needs_a_full_pool():
    rng = np.random.default_rng(6)
    text = rng.normal(size=(64, 4))
    top = G.r_precision(text, text + rng.normal(scale=1.0, size=text.shape))
    assert top[0] <= top[1] <= top[2]
    with pytest.raises(ValueError, match="at least 32"):
        G.r_precision(text[:10], text[:10])


def test_matching_distance_diversity_and_multimodality_known_values():
    text = np.zeros((5, 3))
    motion = np.tile([3.0, 4.0, 0.0], (5, 1))
    assert G.matching_distance(text, motion) == pytest.approx(5.0)
    # Diversity of points all at distance 2 from each other (or 0 for a self-pair).
    assert G.diversity(np.tile([1.0, 1.0], (10, 1))) == 0.0
    two_points = np.array([[0.0, 0.0]] * 150 + [[0.0, 2.0]] * 150)
    assert G.diversity(two_points, times=300, seed=0) == pytest.approx(1.0, abs=0.15)
    # MultiModality: every prompt's samples are identical -> 0; alternating samples -> mean distance.
    assert G.multimodality(np.zeros((4, 6, 3))) == 0.0
    alt = np.zeros((3, 10, 1))
    alt[:, ::2] = 1.0
    assert 0.0 < G.multimodality(alt, times=10) <= 1.0


def test_diversity_is_deterministic_with_seed():
    x = np.random.default_rng(7).normal(size=(400, 8))
    assert G.diversity(x, seed=3) == G.diversity(x, seed=3)
    assert G.diversity(x, seed=3) != G.diversity(x, seed=4)


def test_mean_and_interval():
    mean, ci = G.mean_and_interval([1.0, 3.0])
    assert mean == 2.0 and ci == pytest.approx(1.96 * 1.0 / np.sqrt(2))


# -- physics ---------------------------------------------------------------------------


def test_still_clip_has_no_skating_jitter_or_drift():
    m = Motion.rest(40).on_ground()
    metrics = P.motion_physics(m)
    assert metrics["skating_ratio"] == 0.0
    assert metrics["jitter"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["penetration"] == 0.0
    assert metrics["floating_ratio"] == 0.0
    assert metrics["bone_drift"] == pytest.approx(0.0, abs=1e-6)


def test_sliding_feet_on_the_floor_skate_every_frame():
    assert P.motion_physics(sliding_motion(speed=1.0))["skating_ratio"] == 1.0
    # Slower than 0.5 m/s is walking-contact noise, not skating.
    assert P.motion_physics(sliding_motion(speed=0.3))["skating_ratio"] == 0.0


def test_sliding_in_the_air_is_floating_not_skating():
    m = sliding_motion(speed=1.0)
    m.root[:, 1] += 0.5
    metrics = P.motion_physics(m)
    assert metrics["skating_ratio"] == 0.0
    assert metrics["floating_ratio"] == 1.0


def test_jitter_is_zero_for_constant_velocity_and_large_for_noise():
    pos = np.repeat(rest_positions()[None], 30, 0).astype(np.float64)
    pos += np.arange(30)[:, None, None] * np.array([0.07, 0.0, -0.03])  # constant velocity
    assert P.jitter(pos, 20.0) == pytest.approx(0.0, abs=1e-6)
    noisy = pos + np.random.default_rng(0).normal(scale=0.01, size=pos.shape)
    # Third difference of white noise sigma: std sqrt(20) sigma per axis -> tens of m/s^3 at 20 fps.
    assert P.jitter(noisy, 20.0) > 100.0


def test_jitter_known_value_for_cubic_motion():
    # x = t^3 has third derivative 6 everywhere; finite differences of a cubic are exact.
    t = np.arange(20) / 20.0
    pos = np.zeros((20, 22, 3))
    pos[..., 0] = (t**3)[:, None]
    assert P.jitter(pos, 20.0) == pytest.approx(6.0, rel=1e-6)


def test_penetration_and_floating_known_values():
    pos = np.repeat(rest_positions()[None], 10, 0).astype(np.float64)
    pos[..., 1] -= pos[..., 1].min()  # lowest joint exactly on the floor
    pos[:5, :, 1] -= 0.1  # half the frames 10 cm below the floor
    pos[5:8, :, 1] += 0.2  # three frames 20 cm up
    assert P.ground_penetration(pos) == pytest.approx(0.05)
    assert P.floating_ratio(pos) == pytest.approx(0.3)


def test_bone_drift_detects_stretching_joint_files():
    pos = np.repeat(rest_positions()[None], 10, 0).astype(np.float64)
    assert P.bone_length_drift(pos) == pytest.approx(0.0, abs=1e-9)
    wrist = JOINT_INDEX["left_wrist"]
    pos[::2, wrist, 0] += 0.1  # the forearm alternates between 25 and 35 cm
    assert P.bone_length_drift(pos) == pytest.approx(0.05 / 21, rel=1e-6)


def test_a_single_fast_frame_is_not_skating_but_a_sustained_slide_is():
    # One 10 cm jump of the body in one frame pair: 2 m/s at that pair, 0.4 m/s on the 5-pair average.
    m = Motion.rest(20).on_ground()
    m.root[10:, 0] += 0.1
    assert P.motion_physics(m)["skating_ratio"] == 0.0
    # The same per-frame speed sustained over three pairs: the middle one averages 1.2 m/s.
    m = Motion.rest(20).on_ground()
    m.root[10:, 0] += 0.1
    m.root[11:, 0] += 0.1
    m.root[12:, 0] += 0.1
    assert P.motion_physics(m)["skating_ratio"] == pytest.approx(3 / 19)


def test_guidance_label_names_the_mode_and_leaves_flow_students_out():
    from motiongen.metrics.report import guidance_label

    run = {"sampler": "ddim", "guidance": 2.5}
    assert guidance_label({**run, "projected_guidance": True}) == ", guidance 2.5 projected"
    assert guidance_label({**run, "projected_guidance": False}) == ", guidance 2.5 plain"
    assert (
        guidance_label({**run, "projected_guidance": True, "side_guidance": 0.5})
        == ", guidance 2.5 projected, side 0.5"
    )
    assert guidance_label(run) == ", guidance 2.5"  # a run saved before the option existed
    assert guidance_label({"sampler": "flow", "guidance": 2.5, "projected_guidance": True}) == ""
