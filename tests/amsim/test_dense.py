"""amsim.dense: the log-sum-exp energy (eq. D1), its softmax update (D3), the sign update
(D5) and the identity with the optimal denoiser and score of a diffusion model (D6).

Tolerances are float64 round-off (a few 1e-16 relative per operation, times the size of
the sums), or the truncation error of a central difference, O(h^2) times the third
derivative, plus its round-off, O(eps / h)."""
import itertools

import numpy as np
import pytest

from amsim.dense import (
    DenseAssociativeMemory,
    dam_energy,
    dam_energy_gradient,
    dam_jacobian,
    dam_sign_update,
    dam_update,
    dam_weights,
    empirical_denoiser,
    empirical_log_density,
    empirical_score,
)

EPS = np.finfo(float).eps


def _setup(P=7, N=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(P, N)), rng.normal(size=(5, N))


def test_energy_matches_the_definition_and_is_overflow_safe():
    xi, x = _setup()
    beta = 1.7
    direct = -np.log(np.exp(-beta * ((x[:, None] - xi) ** 2).sum(-1) / 2).sum(1)) / beta
    np.testing.assert_allclose(dam_energy(x, xi, beta), direct, rtol=1e-13, atol=1e-13)
    # a huge beta: the naive sum underflows to 0 (log -> -inf); E tends to min_mu ||x - xi||^2 / 2
    big = dam_energy(x * 30, xi, 1e4)
    near = ((x[:, None] * 30 - xi) ** 2).sum(-1).min(1) / 2
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big, near, rtol=1e-9, atol=np.log(len(xi)) / 1e4)
    assert isinstance(dam_energy(x[0], xi, beta), float)


def test_update_is_softmax_attention_over_the_patterns():
    xi, x = _setup()
    beta = 0.8
    scores = -beta * ((x[:, None] - xi) ** 2).sum(-1) / 2
    w = np.exp(scores - scores.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    np.testing.assert_allclose(dam_weights(x, xi, beta), w, rtol=1e-13)
    np.testing.assert_allclose(dam_update(x, xi, beta), w @ xi, rtol=1e-13, atol=1e-14)
    # attention with query x, keys xi scored beta x.xi minus the per-key bias beta ||xi||^2 / 2
    q_k = beta * x @ xi.T - beta * (xi ** 2).sum(1) / 2
    att = np.exp(q_k - q_k.max(1, keepdims=True))
    np.testing.assert_allclose(dam_update(x, xi, beta), (att / att.sum(1, keepdims=True)) @ xi, rtol=1e-13, atol=1e-14)


def test_gradient_of_energy_against_finite_differences():
    xi, x = _setup()
    beta, h = 1.3, 1e-5
    g = dam_energy_gradient(x, xi, beta)
    fd = np.stack([(dam_energy(x + h * e, xi, beta) - dam_energy(x - h * e, xi, beta)) / (2 * h)
                   for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(g, fd, atol=1e-8)       # O(h^2 E''') + O(eps |E| / h)
    np.testing.assert_allclose(dam_update(x, xi, beta), x - g, atol=1e-14)


def test_jacobian_is_beta_times_the_posterior_covariance_and_matches_finite_differences():
    xi, x = _setup()
    beta, h = 2.0, 1e-6
    J = dam_jacobian(x, xi, beta)
    fd = np.stack([(dam_update(x + h * e, xi, beta) - dam_update(x - h * e, xi, beta)) / (2 * h)
                   for e in np.eye(3)], axis=2)
    np.testing.assert_allclose(J, fd, atol=1e-8)
    np.testing.assert_allclose(J, np.swapaxes(J, 1, 2), atol=1e-14)
    assert np.all(np.linalg.eigvalsh(J) > -1e-12)


# ---- the identity with the diffusion model's optimal denoiser and score (eq. D6) --------
@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_denoiser_is_the_brute_force_posterior_mean(sigma):
    """E[x0 | x] by Bayes' rule, term by term: p(x0 = xi | x) proportional to (1/P) N(x; xi, sigma^2)."""
    xi, x = _setup(P=6, N=2, seed=3)
    post_mean = []
    for y in x:
        lik = np.array([np.exp(-((y - m) ** 2).sum() / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2) for m in xi])
        post = lik / lik.sum()
        post_mean.append(sum(p * m for p, m in zip(post, xi)))
    np.testing.assert_allclose(empirical_denoiser(x, xi, sigma), np.array(post_mean), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(empirical_denoiser(x, xi, sigma), dam_update(x, xi, 1 / sigma ** 2), rtol=0, atol=0)


@pytest.mark.parametrize("sigma", [0.4, 1.5])
def test_empirical_score_is_the_gradient_of_log_p_and_minus_beta_grad_E(sigma):
    xi, x = _setup(P=9, N=3, seed=4)
    beta, h = 1 / sigma ** 2, 1e-5
    score = empirical_score(x, xi, sigma)
    fd = np.stack([(empirical_log_density(x + h * e, xi, sigma) - empirical_log_density(x - h * e, xi, sigma))
                   / (2 * h) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(score, fd, atol=1e-7 * max(1.0, beta))
    np.testing.assert_allclose(score, -beta * dam_energy_gradient(x, xi, beta), rtol=1e-12, atol=1e-12)
    # log p_sigma = -beta E - log P - (N/2) log(2 pi sigma^2), independently computed
    lp = -beta * dam_energy(x, xi, beta) - np.log(9) - 1.5 * np.log(2 * np.pi * sigma ** 2)
    np.testing.assert_allclose(empirical_log_density(x, xi, sigma), lp, rtol=1e-12, atol=1e-12)


def test_monte_carlo_denoiser_agrees_within_sampling_error():
    """An independent check: average x0 over samples near a point (rejection in a small ball)."""
    rng = np.random.default_rng(5)
    xi = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    sigma, y, r = 0.8, np.array([0.4, 0.5]), 0.05
    k = rng.integers(0, 3, 2_000_000)
    xt = xi[k] + sigma * rng.standard_normal((len(k), 2))
    near = np.hypot(*(xt - y).T) < r
    est = xi[k[near]].mean(0)
    se = xi[k[near]].std(0) / np.sqrt(near.sum())
    # the ball's finite size biases by O(r^2) times the curvature; 5 s.e. for sampling
    assert np.all(np.abs(est - empirical_denoiser(y, xi, sigma)) < 5 * se + 0.01)


# ---- descent: the update is a CCCP / majorise-minimise step on E ------------------------
@pytest.mark.parametrize("beta", [0.1, 1.0, 10.0, 300.0])
def test_energy_never_increases_under_the_fixed_point_iteration(beta):
    rng = np.random.default_rng(6)
    xi = rng.normal(size=(20, 4))
    x = 3 * rng.normal(size=(50, 4))
    e = dam_energy(x, xi, beta)
    for _ in range(40):
        x = dam_update(x, xi, beta)
        e2 = dam_energy(x, xi, beta)
        # round-off of E: a few eps times |E| and the squared norms it is built from
        assert np.all(e2 <= e + 64 * EPS * (1 + np.abs(e) + (x ** 2).sum(1)))
        e = e2


def test_the_update_minimises_the_cccp_majoriser():
    """E(y) <= ||y||^2/2 - (1/beta) [lse(x) + grad lse(x).(y - x)] with equality at y = x, and
    the update is the minimiser of that bound: the reason E cannot increase."""
    rng = np.random.default_rng(7)
    xi, beta = rng.normal(size=(8, 2)), 1.9
    x = rng.normal(size=2)
    c = -0.5 * (xi ** 2).sum(1)

    def lse(z):
        return np.log(np.exp(beta * (xi @ z + c)).sum()) / beta

    grad = dam_weights(x, xi, beta) @ xi

    def bound(y):
        return 0.5 * y @ y - lse(x) - grad @ (y - x)

    for y in rng.normal(size=(100, 2)) * 2:
        assert dam_energy(y, xi, beta) <= bound(y) + 1e-12
    assert dam_energy(x, xi, beta) == pytest.approx(bound(x), abs=1e-12)
    new = dam_update(x, xi, beta)
    np.testing.assert_allclose(new, grad, atol=1e-15)
    for y in new + 1e-3 * rng.normal(size=(50, 2)):
        assert bound(y) >= bound(new)


# ---- binary states: the sign update (eq. D5) --------------------------------------------
def test_async_sign_update_takes_the_energy_minimising_spin():
    rng = np.random.default_rng(8)
    xi = rng.choice([-1.0, 1.0], size=(6, 9))
    sigma = rng.choice([-1.0, 1.0], size=9)
    beta = 0.7
    for i in range(9):
        new = dam_sign_update(sigma, xi, beta, order=[i])
        cands = []
        for v in (-1.0, 1.0):
            s = sigma.copy()
            s[i] = v
            cands.append((dam_energy(s, xi, beta), v))
        assert new[i] == min(cands)[1]
        assert np.all(np.delete(new, i) == np.delete(sigma, i))


def test_async_sweeps_descend_and_store_patterns_beyond_hebbian_capacity():
    rng = np.random.default_rng(9)
    N, P = 30, 60                      # P / N = 2, far beyond the Hebbian 0.138
    xi = rng.choice([-1.0, 1.0], size=(P, N))
    dam = DenseAssociativeMemory(beta=1.0, states="binary").fit(xi)
    assert np.all(dam.update(xi) == xi)  # every pattern is a fixed point
    flipped = xi[:10].copy()
    flipped[:, :3] *= -1
    res = dam.run(flipped)
    assert np.all(res.converged) and np.all(res.states == xi[:10])
    s = rng.choice([-1.0, 1.0], size=(20, N))
    e = dam.energy(s)
    for _ in range(5):
        s = dam.update(s)
        e2 = dam.energy(s)
        assert np.all(e2 <= e + 1e-12)
        e = e2


def test_sync_sign_update_is_the_sign_of_the_softmax_update():
    rng = np.random.default_rng(10)
    xi = rng.choice([-1.0, 1.0], size=(5, 8))
    s = rng.choice([-1.0, 1.0], size=(4, 8))
    np.testing.assert_array_equal(dam_sign_update(s, xi, 0.5, mode="sync"), np.sign(dam_update(s, xi, 0.5)))


def test_lse_energy_on_spins_is_the_exponential_energy_under_a_log():
    rng = np.random.default_rng(11)
    xi = rng.choice([-1.0, 1.0], size=(5, 6))
    beta = 0.9
    for bits in itertools.islice(itertools.product([-1.0, 1.0], repeat=6), 0, 64, 7):
        s = np.array(bits)
        expect = -np.log(np.exp(beta * xi @ s).sum()) / beta + 6
        assert dam_energy(s, xi, beta) == pytest.approx(expect, abs=1e-12)


# ---- the estimator --------------------------------------------------------------------
def test_estimator_fit_run_and_attributes():
    xi = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    dam = DenseAssociativeMemory(beta=40.0)
    assert dam.fit(xi) is dam
    assert dam.n_patterns_ == 3 and dam.n_features_ == 2
    res = dam.run(np.array([[0.8, 0.1], [-0.7, -0.2], [0.1, 0.9]]))
    np.testing.assert_allclose(res.states, xi, atol=1e-9)
    assert res.converged.all() and res.states.shape == (3, 2)
    assert np.all(np.abs(np.linalg.eigvalsh(dam.jacobian(res.states))) < 1)


@pytest.mark.parametrize("call, match", [
    (lambda: DenseAssociativeMemory(beta=0), "beta"),
    (lambda: DenseAssociativeMemory(beta=float("nan")), "beta"),
    (lambda: DenseAssociativeMemory(states="spins"), "'spins'"),
    (lambda: DenseAssociativeMemory().fit(np.zeros(3)), r"shape \(3,\)"),
    (lambda: DenseAssociativeMemory().fit([[1.0, np.inf]]), "inf"),
    (lambda: DenseAssociativeMemory(states="binary").fit([[1.0, 0.5]]), "0.5"),
    (lambda: DenseAssociativeMemory().energy([1.0, 2.0]), "fit"),
    (lambda: DenseAssociativeMemory().fit(np.eye(2)).energy([1.0, 2.0, 3.0]), "3 components"),
    (lambda: dam_sign_update([1.0, 2.0], np.ones((1, 2)), 1.0), "2.0"),
    (lambda: dam_sign_update([1.0, 1.0], np.ones((1, 2)), 1.0, mode="glauber"), "'glauber'"),
    (lambda: empirical_denoiser([0.0, 0.0], np.eye(2), -1.0), "sigma"),
    (lambda: DenseAssociativeMemory().fit(np.eye(2)).run([0.0, 0.0], max_iter=0), "max_iter"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
