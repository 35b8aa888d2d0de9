"""Tests for amsim.theory: formulas checked against simulation, quadrature and limits."""

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from amsim.theory import (
    ags_alpha_c,
    ags_overlap,
    gardner_alpha_c,
    gardner_kappa_opt,
    gardner_stability_peak_weight,
    gardner_stability_tail_pdf,
    hebb_one_step_error,
    mixture_state,
)


# ------------------------------------------------------------------ Hebbian one step
def _hebb_one_step_mc(rng, n, p, n_draws):
    """Errors and bit count of one synchronous step from each stored pattern (numpy only)."""
    errors = 0
    bits = 0
    for _ in range(n_draws):
        xi = rng.choice(np.array([-1.0, 1.0]), size=(p, n))
        J = xi.T @ xi / n
        np.fill_diagonal(J, 0.0)
        h = xi @ J.T  # h[mu, i] = sum_j J_ij xi^mu_j
        errors += int(np.count_nonzero(np.sign(h) != xi))  # a tie (h = 0) counts as error
        bits += p * n
    return errors, bits


@pytest.mark.parametrize("alpha, n_draws", [(0.1, 4), (0.3, 1)])
def test_hebb_one_step_error_vs_monte_carlo(alpha, n_draws):
    n = 500
    p = int(round(alpha * n))
    rng = np.random.default_rng(12345 + p)
    errors, bits = _hebb_one_step_mc(rng, n, p, n_draws)
    measured = errors / bits

    theory = hebb_one_step_error(alpha)
    # Finite-N Gaussian: signal (N-1)/N, crosstalk variance (P-1)(N-1)/N^2.
    finite_n = stats.norm.cdf(-((n - 1) / n) / math.sqrt((p - 1) * (n - 1) / n**2))
    # Exact per-bit law: N * xi_i h_i = (N-1) + S, S a sum of (P-1)(N-1) iid +-1
    # (including the tie S = -(N-1), counted as an error above).
    n_terms = (p - 1) * (n - 1)
    exact = stats.binom.cdf((n_terms - (n - 1)) // 2, n_terms, 0.5)

    se = math.sqrt(exact * (1 - exact) / bits)
    bias = abs(theory - finite_n)
    assert abs(measured - exact) <= 4 * se, (measured, exact, se)
    assert abs(measured - theory) <= 4 * se + bias + abs(exact - finite_n), (measured, theory, se, bias)
    # The large-N formula itself is close to the finite-N Gaussian value.
    assert bias < 0.15 * theory


def test_hebb_one_step_error_values_and_shapes():
    assert hebb_one_step_error(1.0) == pytest.approx(stats.norm.cdf(-1.0), rel=1e-12)
    out = hebb_one_step_error(np.array([[0.05, 0.1], [0.2, 0.4]]))
    assert out.shape == (2, 2)
    assert np.all(np.diff(out.ravel()) > 0)
    assert isinstance(hebb_one_step_error(0.1), float)


@pytest.mark.parametrize("bad", [0.0, -0.1, np.nan, np.inf])
def test_hebb_one_step_error_rejects(bad):
    with pytest.raises(ValueError, match="alpha"):
        hebb_one_step_error(bad)


# ------------------------------------------------------------------------------- AGS
def test_ags_alpha_c_value():
    ac = ags_alpha_c()
    assert 0.1378 <= ac <= 0.1380
    assert ags_alpha_c() is ac or ags_alpha_c() == ac  # cached


def test_ags_overlap_at_edge_and_beyond():
    ac = ags_alpha_c()
    m_c = ags_overlap(ac - 1e-6)
    assert 0.96 <= m_c <= 0.97
    assert 0.96 <= ags_overlap(ac) <= 0.97
    assert ags_overlap(0.2) == 0.0
    assert ags_overlap(ac + 1e-6) == 0.0


def test_ags_overlap_solves_rs_equations():
    for alpha in [0.08, 0.1, 0.12, 0.13, 0.1379]:
        m = ags_overlap(alpha)  # (for small alpha, m rounds to 1 and erfinv loses y)
        # iterate the original (m, C, r) equations from the returned fixed point
        y = special.erfinv(m)
        r = (m / y) ** 2 / (2 * alpha)
        C = math.sqrt(2 / (math.pi * alpha * r)) * math.exp(-(y**2))
        assert r == pytest.approx(1 / (1 - C) ** 2, rel=1e-7)
        assert m == pytest.approx(special.erf(m / math.sqrt(2 * alpha * r)), rel=1e-12)


def test_ags_overlap_decreasing():
    ac = ags_alpha_c()
    alphas = np.linspace(1e-3, ac - 1e-6, 60)
    m = ags_overlap(alphas)
    assert m.shape == alphas.shape
    assert np.all(np.diff(m) <= 0)
    assert np.all(np.diff(m)[10:] < 0)
    assert m[0] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_ags_overlap_rejects(bad):
    with pytest.raises(ValueError, match="alpha"):
        ags_overlap(bad)


# ---------------------------------------------------------------------------- Gardner
def test_gardner_alpha_c_zero():
    assert abs(gardner_alpha_c(0.0) - 2.0) < 1e-10


@pytest.mark.parametrize("kappa", [-3.0, -1.0, -0.3, 0.0, 0.5, 1.0, 2.5])
def test_gardner_alpha_c_vs_quad(kappa):
    integral, _ = integrate.quad(lambda t: stats.norm.pdf(t) * (t + kappa) ** 2, -kappa, np.inf,
                                 epsabs=0, epsrel=1e-12)
    assert gardner_alpha_c(kappa) == pytest.approx(1 / integral, rel=1e-9)


def test_gardner_roundtrip_and_monotonicity():
    kappas = np.array([-2.0, -1.0, -0.25, 0.0, 0.3, 1.0, 3.0, 10.0])
    alphas = gardner_alpha_c(kappas)
    assert np.all(np.diff(alphas) < 0)
    back = gardner_kappa_opt(alphas)
    np.testing.assert_allclose(back, kappas, atol=1e-9, rtol=0)
    assert gardner_kappa_opt(2.0) == pytest.approx(0.0, abs=1e-12)

    grid = np.geomspace(1e-3, 20.0, 50)
    k = gardner_kappa_opt(grid)
    assert np.all(np.diff(k) < 0)
    assert np.all(k[grid < 2] > 0) and np.all(k[grid > 2] < 0)
    assert gardner_kappa_opt(1e-6) == pytest.approx(1e3, rel=1e-3)  # ~ 1/sqrt(alpha)


def test_gardner_rejects():
    for bad in [np.nan, np.inf, -np.inf]:
        with pytest.raises(ValueError, match="kappa"):
            gardner_alpha_c(bad)
        with pytest.raises(ValueError, match="kappa"):
            gardner_stability_peak_weight(bad)
        with pytest.raises(ValueError, match="kappa"):
            gardner_stability_tail_pdf(1.0, bad)
    for bad in [0.0, -1.0, np.nan, np.inf]:
        with pytest.raises(ValueError, match="alpha"):
            gardner_kappa_opt(bad)
    with pytest.raises(ValueError, match="delta"):
        gardner_stability_tail_pdf(np.nan, 0.0)


@pytest.mark.parametrize("kappa", [-1.5, 0.0, 0.4, 1.0, 2.0])
def test_gardner_stability_distribution_normalised(kappa):
    tail, _ = integrate.quad(lambda d: gardner_stability_tail_pdf(d, kappa), kappa, np.inf)
    below, _ = integrate.quad(lambda d: gardner_stability_tail_pdf(d, kappa), -np.inf, kappa)
    assert below == 0.0
    w = gardner_stability_peak_weight(kappa)
    assert w == pytest.approx(stats.norm.cdf(kappa), rel=1e-12)
    assert w + tail == pytest.approx(1.0, abs=1e-9)


def test_gardner_stability_tail_pdf_shape():
    d = np.linspace(-3, 3, 7)
    out = gardner_stability_tail_pdf(d[:, None], np.array([0.0, 1.0]))
    assert out.shape == (7, 2)
    np.testing.assert_allclose(out[d > 1.0, 1], stats.norm.pdf(d[d > 1.0]))
    assert np.all(out[d <= 0.0, 0] == 0.0)


# -------------------------------------------------------------------- mixture states
def test_mixture_state_overlap_three_patterns():
    n = 10_000
    rng = np.random.default_rng(2024)
    xi = rng.choice(np.array([-1, 1], dtype=np.int8), size=(5, n))
    s = mixture_state(xi, [0, 2, 4])
    assert s.dtype == np.int8 and s.shape == (n,)
    assert set(np.unique(s)) <= {-1, 1}
    se = math.sqrt(0.75 / n)  # per-bit overlap is +-1 with P(+1) = 3/4: variance 3/4
    for a in (0, 2, 4):
        m = float(np.mean(s * xi[a].astype(np.int64)))
        assert abs(m - 0.5) <= 4 * se, m
    # float patterns give the same state; a single index returns the pattern itself
    np.testing.assert_array_equal(mixture_state(xi.astype(np.float64), (0, 2, 4)), s)
    np.testing.assert_array_equal(mixture_state(xi, [3]), xi[3])


def test_mixture_state_rejects():
    xi = np.ones((4, 10), dtype=int)
    with pytest.raises(ValueError, match="odd"):
        mixture_state(xi, [0, 1])
    with pytest.raises(ValueError, match="odd"):
        mixture_state(xi, [])
    with pytest.raises(ValueError, match="distinct"):
        mixture_state(xi, [0, 0, 1])
    with pytest.raises(ValueError, match="range"):
        mixture_state(xi, [0, 1, 7])
    bad = xi.copy()
    bad[1, 3] = 0
    with pytest.raises(ValueError, match="1"):
        mixture_state(bad, [0, 1, 2])
    with pytest.raises(ValueError, match="shape"):
        mixture_state(np.ones(10), [0])


def test_hebb_one_step_error_at_finite_n_uses_the_effective_load():
    N, P = 200, 21
    expected = stats.norm.cdf(-math.sqrt((N - 1) / (P - 1)))
    assert hebb_one_step_error(P / N, n_neurons=N) == pytest.approx(expected, rel=1e-12)
    assert hebb_one_step_error(P / N, n_neurons=10**9) == pytest.approx(hebb_one_step_error(P / N), rel=1e-6)
    with pytest.raises(ValueError, match="n_neurons"):
        hebb_one_step_error(0.1, n_neurons=1)
    with pytest.raises(ValueError, match="exceed 1"):
        hebb_one_step_error(0.001, n_neurons=100)


def test_mixture_state_with_signs():
    from amsim import random_patterns
    xi = random_patterns(5, 101, seed=0)
    m = mixture_state(xi, [0, 2, 4], signs=[1, -1, 1])
    assert np.array_equal(m, np.sign(xi[0] - xi[2].astype(int) + xi[4]))
    assert np.array_equal(mixture_state(xi, [0, 2, 4], signs=[-1, -1, -1]), -mixture_state(xi, [0, 2, 4]))
    with pytest.raises(ValueError, match="signs"):
        mixture_state(xi, [0, 1, 2], signs=[1, 0, 1])


def test_cover_separable_probability_values_and_counting():
    from math import comb
    from amsim.theory import cover_separable_probability as cover
    assert cover(5, 5) == 1.0 and cover(3, 10) == 1.0
    assert cover(20, 10) == pytest.approx(0.5, abs=1e-12)  # P = 2n: one half
    for P, n in ((7, 3), (12, 5), (30, 11)):
        count = 2 * sum(comb(P - 1, k) for k in range(n))  # Cover's C(P, n)
        assert cover(P, n) == pytest.approx(count / 2 ** P, rel=1e-12)
    # the step sharpens at P / n = 2 as n grows
    assert cover(180, 100) > cover(18, 10) > 0.5 > cover(22, 10) > cover(220, 100)
    for bad in ((0, 3), (3, 0), (2.5, 3), (True, 3)):
        with pytest.raises(ValueError):
            cover(*bad)


def test_cover_matches_the_separability_of_gaussian_points():
    """Points in general position (Gaussian): the LP test agrees with Cover's formula."""
    from scipy.optimize import linprog
    from amsim.theory import cover_separable_probability as cover
    rng = np.random.default_rng(4)
    n, P, trials = 6, 12, 300
    sep = 0
    for _ in range(trials):
        X, y = rng.standard_normal((P, n)), rng.choice([-1.0, 1.0], P)
        res = linprog(np.zeros(n), A_ub=-(y[:, None] * X), b_ub=-np.ones(P), bounds=(None, None), method="highs")
        sep += res.status == 0
    p = cover(P, n)
    assert abs(sep / trials - p) < 4 * np.sqrt(p * (1 - p) / trials)


@pytest.mark.parametrize("kappa", [0.0, 0.37, 1.2])
def test_gardner_stability_binned_integrates_the_distribution(kappa):
    from amsim.theory import gardner_mass_near_margin, gardner_stability_binned
    edges = np.round(np.arange(-0.6, 4.01, 0.05), 10)
    dens = gardner_stability_binned(kappa, edges)
    width = np.diff(edges)
    assert dens.shape == (len(edges) - 1,)
    # the whole distribution up to the tail beyond the last edge
    assert np.sum(dens * width) == pytest.approx(1 - stats.norm.sf(edges[-1]), abs=1e-12)
    assert np.all(dens[edges[1:] <= kappa] == 0)
    # a bin fully inside the tail holds the Gaussian mass, the bin of kappa holds the peak
    j = np.searchsorted(edges, kappa + 0.5) + 1
    assert dens[j] * width[j] == pytest.approx(stats.norm.cdf(edges[j + 1]) - stats.norm.cdf(edges[j]))
    k = np.searchsorted(edges, kappa, side="right") - 1
    assert dens[k] * width[k] >= stats.norm.cdf(kappa)
    w = 0.05
    assert gardner_mass_near_margin(kappa, w) == pytest.approx(stats.norm.cdf(kappa + w), rel=1e-12)
    with pytest.raises(ValueError):
        gardner_stability_binned(kappa, edges[::-1])
    with pytest.raises(ValueError):
        gardner_mass_near_margin(kappa, -0.1)
