"""Long scientific checks of amsim against classical theory (pytest -m slow)."""
import numpy as np
import pytest
from scipy.stats import norm

import amsim

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_max_margin_rows_reach_gardner_kappa_opt(alpha):
    N = 400
    xi = amsim.random_patterns(int(alpha * N), N, seed=21)
    mm = amsim.MaxMarginMemory().fit(xi)
    assert mm.converged_.all()
    # each row is a perceptron with N - 1 inputs: its load is P / (N - 1)
    kappa = amsim.gardner_kappa_opt(len(xi) / (N - 1))
    se = mm.kappa_.std(ddof=1) / np.sqrt(N)  # rows share the data, so this is an optimistic scale
    assert abs(mm.kappa_.mean() - kappa) < 4 * se + 0.01


def test_stabilities_at_the_optimum_follow_gardner():
    N, alpha = 400, 1.0
    xi = amsim.random_patterns(int(alpha * N), N, seed=22)
    mm = amsim.MaxMarginMemory(tol=1e-8).fit(xi)
    delta = mm.margins(xi)                                    # (P, N) normalised stabilities
    kappa = mm.kappa_[None, :]
    at_margin = np.abs(delta - kappa) < 1e-4
    k_opt = amsim.gardner_kappa_opt(len(xi) / (N - 1))
    # a delta peak at kappa of weight Phi(kappa) (the support vectors) ...
    w = amsim.gardner_stability_peak_weight(k_opt)
    assert abs(at_margin.mean() - w) < 0.03
    # ... and above it the untouched Gaussian tail phi(Delta)
    tail = delta[~at_margin] - kappa.repeat(len(xi), 0)[~at_margin] + k_opt
    qs = np.array([0.25, 0.5, 0.75])
    # quantiles of a standard normal conditioned on t > k_opt
    theory = norm.ppf(norm.cdf(k_opt) + qs * norm.sf(k_opt))
    np.testing.assert_allclose(np.quantile(tail, qs), theory, atol=0.06)


def test_hebbian_retrieval_overlap_follows_ags_and_breaks_past_alpha_c():
    N = 2000
    ms = {}
    for alpha in (0.05, 0.1, 0.13, 0.16, 0.2):
        xi = amsim.random_patterns(int(alpha * N), N, seed=23)
        net = amsim.HebbianMemory().fit(xi)
        refs = xi[:80]
        r = net.run(refs, "async", seed=24, max_sweeps=300)
        ms[alpha] = (r.states * refs).mean(axis=1)
    for alpha in (0.05, 0.1):
        m = ms[alpha]
        assert abs(m.mean() - amsim.ags_overlap(alpha)) < 4 * m.std(ddof=1) / np.sqrt(len(m)) + 0.003
    assert ms[0.13].mean() > 0.9           # just below alpha_c = 0.138 (finite N helps retrieval)
    assert ms[0.16].mean() < 0.9 and ms[0.2].mean() < 0.6
    assert ms[0.2].mean() < ms[0.16].mean() < ms[0.13].mean()


def test_pl_stores_P_equals_N_at_N_400_with_basins():
    N = 400
    xi = amsim.random_patterns(N, N, seed=25)
    net = amsim.PseudoLikelihoodMemory(n_steps=3000, schedule="normalised").fit(xi)
    assert np.all(net.margins(xi) > 0)
    # the margin keeps the stored patterns stable against a few flips
    c = amsim.basin_curve(net, xi[:50], [0.0, 0.005], n_trials=4, seed=26)
    assert c.mean_overlap()[1] > 0.99
