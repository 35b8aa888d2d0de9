"""amsim.circle_study: the data, the classifier on hand-built cases, the stable-point search
on cases with known answers, and the seeds."""
import numpy as np
import pytest

from amsim import circle_study as cs


def test_circle_data_is_on_the_circle_seeded_and_nested():
    a = cs.circle_data(16, seed=3)
    assert a.shape == (16, 2)
    np.testing.assert_allclose(np.hypot(*a.T), 1.0, atol=1e-15)
    np.testing.assert_array_equal(a, cs.circle_data(16, seed=3))
    np.testing.assert_array_equal(cs.circle_data(5, seed=3), a[:5])
    assert not np.array_equal(a, cs.circle_data(16, seed=4))


def test_classifier_on_hand_built_points():
    sigma = 0.2                     # r_mem = r_off = 0.05
    data = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    mid = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4)])
    pts = np.array([
        [1.0, 0.0],                 # a training point
        [0.97, 0.0],                # 0.03 from it (inside r_mem): memorised
        mid,                        # on the circle, half-way between two points: generalised
        0.8 * mid,                  # 0.2 inside the circle, near no point: spurious
        [0.0, 0.0],                 # the centre: spurious
        [0.0, 1.3],                 # outside, 0.3 from a training point: spurious
        [0.0, 1.04],                # 0.04 from a training point, on the circle: memorised
    ])
    assert cs.classify_stable_points(pts, data, sigma) == [
        "memorised", "memorised", "generalised", "spurious", "spurious", "spurious", "memorised"]
    # the thresholds are what they say
    assert cs.classify_stable_points([[0.94, 0.0]], data, sigma) == ["spurious"]          # 0.06 > r_mem, 0.06 > r_off
    assert cs.classify_stable_points([[0.94, 0.0]], data, sigma, r_mem=0.07) == ["memorised"]
    assert cs.classify_stable_points([0.97 * mid], data, sigma) == ["generalised"]        # 0.03 inside
    assert cs.classify_stable_points([0.97 * mid], data, sigma, r_off=0.02) == ["spurious"]
    assert cs.classify_stable_points(np.zeros((0, 2)), data, sigma) == []


def test_a_point_near_a_training_point_of_a_dense_set_is_not_memorised():
    """Spacing below r_mem: the nearest point holds less than half the posterior."""
    sigma = 0.2
    theta = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    data = np.stack([np.cos(theta), np.sin(theta)], 1)
    assert cs.classify_stable_points(data[:1] * 0.99, data, sigma) == ["generalised"]
    with pytest.raises(ValueError, match="sigma"):
        cs.classify_stable_points(data[:1], data, 0.0)


def test_stable_points_of_the_exact_denoiser_far_apart_are_the_training_points():
    data = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    sigma = 0.2
    den, jac = cs.exact_denoiser(data, sigma)
    found = cs.find_stable_points(den, jac, cs.grid_starts(9), dedup=0.01)
    pts = found["points"][np.lexsort(found["points"].T)]
    np.testing.assert_allclose(pts, data[np.lexsort(data.T)], atol=1e-6)
    assert found["not_converged"] == 0 and found["basin"].sum() + found["unstable"] == 81
    assert np.all(found["rho"] < 1e-3)


def test_two_close_points_merge_into_one_stable_midpoint():
    """Two Gaussians of width sigma at distance d < 2 sigma have one mode, at the midpoint;
    at d > 2 sigma two modes and an unstable midpoint (a saddle of E)."""
    sigma = 0.2
    for d, expect in ((0.3, 1), (0.6, 2)):
        data = np.array([[-d / 2, 0.0], [d / 2, 0.0]])
        den, jac = cs.exact_denoiser(data, sigma)
        found = cs.find_stable_points(den, jac, cs.grid_starts(7, 0.6), dedup=0.01)
        assert len(found["points"]) == expect
        if expect == 1:
            np.testing.assert_allclose(found["points"][0], [0.0, 0.0], atol=1e-6)
            # Jacobian beta Cov = (d / 2 sigma)^2 along the axis
            assert found["rho"][0] == pytest.approx((d / (2 * sigma)) ** 2, rel=1e-6)


def test_a_saddle_is_not_counted_stable():
    data = np.array([[-0.6, 0.0], [0.6, 0.0]])
    den, jac = cs.exact_denoiser(data, 0.2)
    found = cs.find_stable_points(den, jac, np.array([[0.0, 0.3], [0.0, -0.2]]))
    assert len(found["points"]) == 0 and found["unstable"] == 2     # both slide to the saddle at 0


def test_network_training_is_seeded_and_learns_the_denoiser():
    data = cs.circle_data(4, seed=0)
    net1, loss1 = cs.train_score_network(data, 0.3, hidden=16, steps=200, seed=5)
    net2, loss2 = cs.train_score_network(data, 0.3, hidden=16, steps=200, seed=5)
    np.testing.assert_array_equal(loss1, loss2)
    _, loss3 = cs.train_score_network(data, 0.3, hidden=16, steps=200, seed=6)
    assert not np.array_equal(loss1, loss3)
    # the loss falls from about E||eps||^2 = 2 towards the exact denoiser's
    assert loss1[:10].mean() > 1.5 and loss1[-50:].mean() < loss1[:10].mean() - 0.3
    den, jac = cs.network_denoiser(net1, 0.3)
    x = np.array([[0.5, 0.2]])
    assert den(x).shape == (1, 2) and jac(x[0]).shape == (2, 2)


def test_spurious_peak_test():
    flat = {"n": [2, 4, 8], "spurious": {"mean": [0, 0, 0], "sem": [0, 0, 0]}}
    assert not cs.spurious_peak(flat)["peak"]
    bump = {"n": [2, 4, 8], "spurious": {"mean": [0.0, 3.0, 0.5], "sem": [0.0, 0.5, 0.5]}}
    assert cs.spurious_peak(bump)["peak"] and cs.spurious_peak(bump)["n_at_max"] == 4
    noisy = {"n": [2, 4, 8], "spurious": {"mean": [0.0, 1.0, 0.5], "sem": [0.0, 0.5, 0.5]}}
    assert not cs.spurious_peak(noisy)["peak"]
    edge = {"n": [2, 4, 8], "spurious": {"mean": [0.0, 1.0, 3.0], "sem": [0.0, 0.1, 0.1]}}
    assert not cs.spurious_peak(edge)["peak"]
