import numpy as np
import pytest

from amsim import (
    HebbianMemory,
    MaxMarginMemory,
    PseudoLikelihoodMemory,
    hebb_couplings,
    margins,
    max_margin_couplings,
    pl_gradient,
    pl_gradient_terms,
    pl_loss,
    pl_objective_and_gradient,
    random_patterns,
    train_pseudo_likelihood,
)


def rand_J(N, scale=0.3, seed=0):
    rng = np.random.default_rng(seed)
    J = rng.normal(scale=scale, size=(N, N))
    np.fill_diagonal(J, 0.0)
    return J


def test_gradient_matches_finite_differences():
    xi = random_patterns(15, 9, seed=1)
    J = rand_J(9, seed=2)
    beta = 0.8
    G = pl_gradient(J, xi, beta)
    eps = 1e-6
    fd = np.zeros_like(J)
    for i in range(9):
        for j in range(9):
            if i == j:
                continue
            Jp, Jm = J.copy(), J.copy()
            Jp[i, j] += eps
            Jm[i, j] -= eps
            fd[i, j] = (pl_loss(Jp, xi, beta) - pl_loss(Jm, xi, beta)) / (2 * eps)
    # central differences: error O(eps^2) plus round-off ~ 1e-16 * L / eps
    np.testing.assert_allclose(G, fd, atol=1e-7 * max(1.0, pl_loss(J, xi, beta)))
    assert np.all(np.diag(G) == 0)


def test_hebbian_and_margin_terms_sum_to_gradient():
    xi = random_patterns(20, 12, seed=3)
    J = rand_J(12, seed=4)
    t = pl_gradient_terms(J, xi, 1.7)
    np.testing.assert_allclose(t.hebbian + t.margin, pl_gradient(J, xi, 1.7), atol=1e-12)
    # the Hebbian term does not depend on J; the margin term is beta sum xi xi tanh(beta D)
    np.testing.assert_allclose(t.hebbian, pl_gradient_terms(2 * J, xi, 1.7).hebbian)
    D = xi * (xi @ J.T)
    manual = 1.7 * np.einsum("mi,mj,mi->ij", xi, xi, np.tanh(1.7 * D))
    np.fill_diagonal(manual, 0)
    np.testing.assert_allclose(t.margin, manual, atol=1e-12)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_fused_objective_matches_reference(dtype, tol):
    xi = random_patterns(40, 30, seed=5)
    J = rand_J(30, seed=6)
    F, G = pl_objective_and_gradient(J.astype(dtype), xi, 0.9, l2=0.01)
    P = len(xi)
    assert F == pytest.approx(pl_loss(J, xi, 0.9) / P + 0.01 * (J**2).sum(), rel=tol)
    ref = pl_gradient(J, xi, 0.9) / P + 0.02 * J
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(G, ref, atol=tol * np.abs(ref).max())


def test_fused_objective_no_overflow_at_huge_couplings():
    xi = random_patterns(10, 8, seed=7)
    F, G = pl_objective_and_gradient(1e8 * rand_J(8, seed=8), xi, 1.0)
    assert np.isfinite(F) and np.all(np.isfinite(G))


def test_first_step_from_zero_is_hebbs_rule():
    xi = random_patterns(25, 40, seed=9)
    beta = 0.5
    J1, _ = train_pseudo_likelihood(xi, beta=beta, n_steps=1, learning_rate=0.3)
    # one step: J = -lr * grad(0) = lr * beta / P * xi^T xi (off-diagonal) = lr beta N / P * J_hebb
    np.testing.assert_allclose(J1, 0.3 * beta * 40 / 25 * hebb_couplings(xi), atol=1e-14)
    t = pl_gradient_terms(np.zeros((40, 40)), xi, beta)
    assert np.all(t.margin == 0)  # tanh(0) = 0


def test_one_row_matches_independent_logistic_regression():
    import sklearn.linear_model as sklearn
    xi = random_patterns(60, 15, seed=10)
    beta, l2 = 0.7, 0.05
    J, hist = train_pseudo_likelihood(xi, beta=beta, l2=l2, solver="lbfgs", n_steps=500)
    P = len(xi)
    i = 4
    X = xi.astype(float).copy()
    X[:, i] = 0.0
    # row objective (1/P) sum log(1 + exp(-2 beta y w.x)) + l2 |w|^2; with v = 2 beta w this is
    # sklearn's sum log(1 + exp(-y v.x)) + |v|^2 / (2C) up to a factor P, C = 2 beta^2 / (P l2)
    lr = sklearn.LogisticRegression(C=2 * beta**2 / (P * l2), fit_intercept=False, tol=1e-12, max_iter=10000)
    lr.fit(X, xi[:, i])
    np.testing.assert_allclose(2 * beta * J[i], lr.coef_[0], atol=1e-5)


def test_pl_stores_P_equals_N_random_patterns_with_positive_margins():
    N = 100
    xi = random_patterns(N, N, seed=11)
    hebb = HebbianMemory().fit(xi)
    assert hebb.is_fixed_point(xi).mean() < 0.05  # far beyond Hebb's capacity 0.138
    net = PseudoLikelihoodMemory(n_steps=2000, schedule="normalised").fit(xi)
    assert np.all(net.margins(xi) > 0)
    assert np.all(net.is_fixed_point(xi))
    assert not np.allclose(net.J_, net.J_.T)  # asymmetric couplings


def test_max_margin_matches_a_quadratic_program():
    from scipy.optimize import minimize

    xi = random_patterns(12, 16, seed=12)
    W, kappa, conv = max_margin_couplings(xi, tol=1e-9)
    assert conv.all()
    for i in (0, 7):
        X = xi.astype(float).copy()
        X[:, i] = 0
        y = xi[:, i].astype(float)
        cons = {"type": "ineq", "fun": lambda w: y * (X @ w) - 1, "jac": lambda w: y[:, None] * X}
        res = minimize(lambda w: 0.5 * w @ w, np.ones(16), jac=lambda w: w, constraints=[cons],
                       method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})
        assert res.success
        assert kappa[i] == pytest.approx(1 / np.linalg.norm(res.x), rel=1e-5)
        np.testing.assert_allclose(W[i], res.x, atol=1e-4)
    np.testing.assert_allclose(margins(W, xi).min(axis=0), kappa, rtol=1e-9)


def test_long_pl_training_approaches_each_rows_max_margin():
    xi = random_patterns(40, 60, seed=13)
    mm = MaxMarginMemory().fit(xi)
    net = PseudoLikelihoodMemory(n_steps=20000, schedule="normalised", record_every=500).fit(xi)
    final = net.history_.min_margin[-1]
    early = net.history_.min_margin[2]
    # no row can beat its max margin; every row gets close to it, and the gap shrinks with training
    assert np.all(final <= mm.kappa_ + 1e-9)
    gap_final, gap_early = mm.kappa_ - final, mm.kappa_ - early
    assert gap_final.max() < 0.02 * mm.kappa_.min()
    assert np.mean(gap_final) < 0.2 * np.mean(gap_early)
    # the normalised direction converges too (cosine with the max-margin row near 1)
    cos = np.sum(net.J_ * mm.J_, axis=1) / (np.linalg.norm(net.J_, axis=1) * np.linalg.norm(mm.J_, axis=1))
    assert cos.min() > 0.99


def test_constant_step_norm_grows_and_loss_falls():
    xi = random_patterns(30, 60, seed=14)
    net = PseudoLikelihoodMemory(n_steps=3000, record_every=100).fit(xi)
    h = net.history_.as_arrays()
    assert np.all(np.diff(h["loss"]) <= 1e-12)  # the automatic step never increases the objective
    norms = h["row_norm"].mean(axis=1)
    assert np.all(np.diff(norms[1:]) > 0)
    # separable data: ||J|| keeps growing roughly like log t (growth per decade does not collapse)
    t = h["step"]
    g1 = np.interp(300, t, norms) - np.interp(100, t, norms)
    g2 = np.interp(3000, t, norms) - np.interp(1000, t, norms)
    assert g2 > 0.3 * g1


def test_gradient_terms_in_history_and_beta_rescaling():
    xi = random_patterns(30, 40, seed=15)
    a = PseudoLikelihoodMemory(beta=1.0, n_steps=50, learning_rate=0.5).fit(xi)
    b = PseudoLikelihoodMemory(beta=2.0, n_steps=50, learning_rate=0.5 / 4).fit(xi)
    # L_beta(J) = L_1(beta J): with the step scaled by 1/beta^2, beta J follows the same path
    np.testing.assert_allclose(2.0 * b.J_, a.J_, rtol=1e-9, atol=1e-12)
    h = a.history_.as_arrays()
    assert h["margin_norm"][0] < 1e-12 * h["hebbian_norm"][0] and np.all(h["hebbian_norm"] > 0)  # round-off only
    assert h["margin_norm"][-1] > 0.5 * h["hebbian_norm"][-1]  # the margin term builds up against Hebb


def test_float32_training_tracks_float64():
    xi = random_patterns(50, 50, seed=16)
    a = PseudoLikelihoodMemory(n_steps=200).fit(xi)
    b = PseudoLikelihoodMemory(n_steps=200, dtype="float32").fit(xi)
    np.testing.assert_allclose(b.J_, a.J_, atol=1e-4 * np.abs(a.J_).max())


def test_training_is_deterministic_and_rejects_bad_values():
    xi = random_patterns(20, 30, seed=17)
    a = PseudoLikelihoodMemory(n_steps=30).fit(xi)
    b = PseudoLikelihoodMemory(n_steps=30).fit(xi)
    np.testing.assert_array_equal(a.J_, b.J_)
    with pytest.raises(ValueError, match="beta must be finite and > 0, got -1"):
        PseudoLikelihoodMemory(beta=-1).fit(xi)
    with pytest.raises(ValueError, match="solver must be one of"):
        PseudoLikelihoodMemory(solver="adam").fit(xi)
    with pytest.raises(ValueError, match="l2"):
        PseudoLikelihoodMemory(l2=-0.1).fit(xi)
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        PseudoLikelihoodMemory().fit(np.zeros((3, 4)))


def test_automatic_learning_rate_is_exposed():
    xi = random_patterns(20, 30, seed=18)
    from amsim.learning import lipschitz_bound

    net = PseudoLikelihoodMemory(n_steps=3).fit(xi)
    assert net.learning_rate_ == pytest.approx(1 / lipschitz_bound(xi, 1.0))
    assert PseudoLikelihoodMemory(n_steps=3, learning_rate=0.2).fit(xi).learning_rate_ == 0.2
    # a list of ints seeds a Generator too (e.g. [seed, N, P])
    np.testing.assert_array_equal(random_patterns(3, 5, seed=[1, 2]), random_patterns(3, 5, seed=[1, 2]))
    with pytest.raises(ValueError, match="seed must be"):
        random_patterns(3, 5, seed="x")


def test_lbfgs_history_says_whether_it_converged():
    from amsim import random_patterns, train_pseudo_likelihood
    xi = random_patterns(30, 60, seed=0)
    _, done = train_pseudo_likelihood(xi, l2=1e-3, solver="lbfgs", n_steps=500)
    assert done.converged is True and "L-BFGS-B" in done.message
    _, capped = train_pseudo_likelihood(xi, l2=1e-3, solver="lbfgs", n_steps=3)
    assert capped.converged is False and "3 iterations" in capped.message
    _, gd = train_pseudo_likelihood(xi, n_steps=5)
    assert gd.converged is None and "5 gradient steps" in gd.message


def test_optimizer_blas_limit_only_touches_libraries_outside_numpy():
    import os
    from threadpoolctl import threadpool_info
    from amsim.learning import _is_numpy_library, _optimizer_blas_single_threaded

    assert _is_numpy_library(os.path.join("x", "site-packages", "numpy.libs", "libopenblas.so"))
    assert not _is_numpy_library(os.path.join("x", "site-packages", "scipy.libs", "libopenblas.so"))
    before = {i["filepath"]: i["num_threads"] for i in threadpool_info()}
    with _optimizer_blas_single_threaded():
        inside = {i["filepath"]: i["num_threads"] for i in threadpool_info()}
    assert {i["filepath"]: i["num_threads"] for i in threadpool_info()} == before
    for path, n in inside.items():
        if _is_numpy_library(path):
            assert n == before[path]


def test_memory_fit_passes_the_callback_and_snapshots_are_copies():
    from amsim import PseudoLikelihoodMemory, random_patterns, train_pseudo_likelihood
    xi = random_patterns(20, 40, seed=1)
    snaps = {}
    net = PseudoLikelihoodMemory(n_steps=20, record_every=5).fit(
        xi, callback=lambda step, J, F, G: snaps.__setitem__(step, J.copy()))
    assert sorted(snaps) == [0, 5, 10, 15, 20]
    assert np.array_equal(snaps[20], net.J_) and not np.allclose(snaps[5], net.J_)
    J5, _ = train_pseudo_likelihood(xi, n_steps=5)
    assert np.allclose(snaps[5], J5, rtol=1e-12, atol=1e-15)


def _count_lbfgs_evaluations(monkeypatch, xi, **kwargs):
    """Train with L-BFGS, counting the objective/gradient evaluations."""
    import amsim.learning as learning
    calls = []
    real = learning.pl_objective_and_gradient

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(learning, "pl_objective_and_gradient", counted)
    J, hist = learning.train_pseudo_likelihood(xi, solver="lbfgs", **kwargs)
    monkeypatch.setattr(learning, "pl_objective_and_gradient", real)
    return J, hist, len(calls)


@pytest.mark.parametrize("l2", [0.0, 1e-3])
def test_lbfgs_recording_reuses_the_optimisers_evaluations(monkeypatch, l2):
    """record_every=1 (or a callback) costs no objective evaluation of its own, and
    records the values a fresh evaluation at each iterate gives."""
    from amsim import pl_objective_and_gradient, random_patterns
    xi = random_patterns(40, 30, seed=3)
    seen = []
    J0, h0, n_plain = _count_lbfgs_evaluations(monkeypatch, xi, l2=l2, n_steps=40, record_every=10 ** 6)
    J1, h1, n_rec = _count_lbfgs_evaluations(
        monkeypatch, xi, l2=l2, n_steps=40, record_every=1,
        callback=lambda step, J, F, G: seen.append((step, J.copy(), F, G.copy())))
    assert n_rec == n_plain
    assert np.array_equal(J0, J1)
    assert len(h1) == len(seen) > 10 and h1.step == list(range(len(h1)))
    # every recorded value equals a fresh evaluation at the recorded J
    a = h1.as_arrays()
    for k, (step, J, F, G) in enumerate(seen):
        F_new, G_new = pl_objective_and_gradient(J, xi, 1.0, l2)
        assert F == F_new and np.array_equal(G, G_new), step
        D = xi * (xi @ J.T)
        norms = np.linalg.norm(J, axis=1)
        if k > 0:
            np.testing.assert_array_equal(a["min_margin"][k], D.min(axis=0) / norms)
        assert a["loss"][k] == F and a["grad_norm"][k] == np.linalg.norm(G)
    # the sparse history is the dense one at its steps
    assert h0.step == [0, h1.step[-1]]
    for key in ("loss", "grad_norm", "margin_norm"):
        assert getattr(h0, key)[-1] == getattr(h1, key)[-1]
    np.testing.assert_array_equal(h0.min_margin[-1], h1.min_margin[-1])
