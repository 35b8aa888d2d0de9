"""amsim.margin_study: the measurements of the perceptron-margin study, on small networks."""
import math

import numpy as np
import pytest

import amsim
from amsim import margin_study as ms


def test_patterns_at_load_are_reproducible_streams():
    xi = ms.patterns_at_load(40, 0.5, 3, 7)
    assert xi.shape == (20, 40) and xi.dtype == np.int8
    np.testing.assert_array_equal(xi, amsim.random_patterns(20, 40, seed=np.random.default_rng([3, 40, 20, 7])))
    np.testing.assert_array_equal(xi, ms.patterns_at_load(40, 0.5, 3, 7))
    assert not np.array_equal(xi, ms.patterns_at_load(40, 0.5, 3, 8))
    assert ms.patterns_at_load(10, 0.01, 0, 7).shape == (1, 10)  # at least one pattern


def test_library_margins_are_the_scripts_old_stabilities():
    """amsim.network.margins gives bit for bit what perceptron_margin.py computed itself."""
    xi = amsim.random_patterns(30, 25, seed=1)
    J, _ = amsim.train_pseudo_likelihood(xi, n_steps=30)
    X = xi.astype(np.float64)
    D = X * (X @ J.T)
    norms = np.linalg.norm(J, axis=1)
    np.testing.assert_array_equal(amsim.margins(J, X, normalised=False), D)
    np.testing.assert_array_equal(amsim.margins(J, X), D / norms)
    np.testing.assert_array_equal(amsim.margins(J, xi), D / norms)  # int8 patterns alike


def test_log_pattern_weights_is_log_one_minus_tanh_without_underflow():
    D = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ms.log_pattern_weights(D, 0.7), np.log(1 - np.tanh(0.7 * D)), rtol=1e-12)
    wide = ms.log_pattern_weights(np.array([50.0]), 1.0)  # 1 - tanh(50) is 0 in float64
    assert np.isfinite(wide).all() and wide[0] == pytest.approx(math.log(2) - 100, rel=1e-12)


def test_least_stable_share():
    P, N, k = 40, 6, 4
    D0 = np.zeros((P, N))
    np.testing.assert_allclose(ms.least_stable_share(D0, k, ms.log_pattern_weights(D0)), k / P)
    D = np.random.default_rng(2).normal(size=(P, N))
    w = 1 - np.tanh(D)
    idx = np.argsort(D, axis=0)[:k]  # the k smallest margins of each row
    want = np.take_along_axis(w, idx, axis=0).sum(axis=0) / w.sum(axis=0)
    np.testing.assert_allclose(ms.least_stable_share(D, k, ms.log_pattern_weights(D)), want, rtol=1e-12)


def test_stability_histogram_counts_everything_and_the_peak():
    Delta = np.random.default_rng(3).normal(1.0, 1.0, size=(50, 8))
    h = ms.stability_histogram(Delta)
    assert sum(h["counts"]) == h["n"] == 400  # clipped into the range, nothing lost
    assert h["mean_row_min"] == pytest.approx(Delta.min(axis=0).mean())
    assert 8 / 400 <= h["peak_fraction"] < 0.2  # each row's own minimum is within the window


def test_small_helpers():
    idx = ms.log_spaced_indices(np.arange(0, 1001))
    assert idx[0] == 0 and idx[-1] == 1000 and np.all(np.diff(idx) > 0) and len(idx) <= 46
    assert ms.binomial_se(0.5, 100) == pytest.approx(0.05)
    assert ms.binomial_se(0.0, 100) == pytest.approx(0.01)  # floor: 1 / n
    assert ms.json_floats([1.23456789, 2]) == [1.234568, 2.0]
    with pytest.raises(ValueError, match="non-finite"):
        ms.json_floats([np.nan])


def test_units_on_a_small_network():
    base = dict(v=ms.VERSION, beta=ms.BETA, N=20, alpha=0.5, seed=0)
    mm = ms.measure_max_margin(dict(base, tol=1e-6, max_sweeps=20000))
    _, kappa, conv = amsim.max_margin_couplings(ms.patterns_at_load(20, 0.5, 0, 7))
    assert mm["P"] == 10 and np.allclose(mm["kappa"], kappa, atol=1e-6) and all(mm["converged"])
    assert ms.measure_separability(dict(base, rows=5)) == {"P": 10, "separable": [1] * 5}
    hebb = ms.measure_hebb_basins(dict(base, n_refs=4, n_trials=2))
    assert len(hebb["basin"]["mean_overlap"]) == len(ms.FRACTIONS)
    tr = ms.measure_training(dict(base, schedule="constant", n_steps=50, record_every=10, snapshots=[0, 10, 50],
                                  share_frac=0.1, scatter_rows=3, n_refs=4, n_trials=2))
    h = tr["history"]
    assert h["step"][:3] == [0, 1, 2] and h["step"][-1] == 50  # the early steps spliced in
    assert h["share"][0] == pytest.approx(tr["k_small"] / tr["P"])  # J = 0: uniform weights
    assert sorted(tr["snapshots"]) == ["0", "10", "50"] and "basin" in tr["snapshots"]["50"]
    # PL never beats the exact max margin of a row
    assert np.all(np.asarray(tr["final_min_margin"]) <= np.asarray(mm["kappa"]) + 1e-6)


def test_a_tiny_study_end_to_end():
    s = ms.settings(N=20, loads=[0.5], steps=20, norm_steps=20, cap_sizes=[20], cap_loads=[0.5], sep_sizes=[20],
                    sep_loads=[2.0], rows_per_point=20, sep_rows=20, basin_loads=[0.5], n_refs=3, n_trials=2, seed=0)
    tasks = ms.plan(s)
    kinds = [kind for _, _, kind, _ in tasks]
    assert kinds.count("train") == 2 and kinds.count("hebb") == 1 and kinds.count("separable") == 1
    res = ms.collect(tasks, [ms.compute_unit(kind, cfg) for *_, kind, cfg in tasks])
    data = ms.figure_data(res, s)
    assert list(data) == ["training", "capacity", "gradient", "stabilities", "basins"]
    p = data["stabilities"]["panels"]["0.5"]
    assert p["gardner_kappa"] == pytest.approx(amsim.gardner_kappa_opt(10 / 19))
    from amsim import margin_figures
    import matplotlib.pyplot as plt
    figs = margin_figures.draw(data)
    assert set(figs) == set(data)
    for fig in figs.values():
        plt.close(fig)
