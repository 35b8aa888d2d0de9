"""The bridge: a K = 2 diffusion denoiser built from (or trained like) a network.

- A `LinearDenoiser` made from a pseudo-likelihood network's couplings has the network's
  logit 2 beta h_i and entropy (eq. 13 = eq. 9), and one greedy x_theta step through the
  uddm retrieval adapter is the amsim adapter's synchronous zero-temperature step on the
  same corrupted starts.
- Trained with the NELBO on data from a known Boltzmann distribution, its effective
  couplings at small t agree with pseudo-likelihood's fit of the same data, within a
  tolerance from the sampling error and the finite t.
"""
import numpy as np
import pytest
import torch

import amsim
from memkit.binary import SpinAdapter, alpha_for_flip_fraction, spins_to_tokens
from memkit.measures import coupling_agreement
from uddm.diffusion import make_schedule
from uddm.linear import LinearDenoiser, train_linear_denoiser
from uddm.retrieval import DiffusionRetriever
from uddm.sample import T0, prediction_logits


@pytest.fixture(scope="module")
def pl_network():
    xi = amsim.random_patterns(30, 48, seed=0)                   # alpha = 0.625: beyond Hebb
    net = amsim.PseudoLikelihoodMemory(beta=1.0, solver="lbfgs", n_steps=200).fit(xi)
    return xi, net


def test_coupling_denoiser_has_the_network_logit_and_entropy(pl_network):
    xi, net = pl_network
    model = LinearDenoiser.from_couplings(net.J_, net.beta)
    sch = make_schedule()
    states = amsim.flip_bits(xi, 6, seed=1)
    z = torch.as_tensor(spins_to_tokens(states))
    for t in (T0, 0.1, 0.7):                                      # the same at every t
        with torch.no_grad():
            logits = prediction_logits(model, z, sch, t)           # (B, N, 2) float64
        u = (logits[..., 1] - logits[..., 0]).numpy()
        h = amsim.local_fields(net.J_, states)
        np.testing.assert_allclose(u, 2 * net.beta * h, rtol=1e-12, atol=1e-12)
    from uddm.sample import token_entropy
    H_uddm = token_entropy(model, z, sch, T0).numpy()
    H_amsim = amsim.conditional_entropy(net.J_, states, net.beta)  # eq. 9
    np.testing.assert_allclose(H_uddm, H_amsim, rtol=1e-9, atol=1e-12)


def test_one_greedy_x_theta_step_is_one_synchronous_update(pl_network):
    xi, net = pl_network
    rng = np.random.default_rng(2)
    starts = np.concatenate([amsim.flip_bits(xi, k, seed=rng) for k in (0, 5, 12, 20)])  # (120, 48)
    am = amsim.AMRetriever(net, deterministic="sync", max_sweeps=1)
    am_out = am.denoise(starts, 0.1, "deterministic", np.random.default_rng(3))
    spin_diffusion = SpinAdapter(
        DiffusionRetriever(LinearDenoiser.from_couplings(net.J_, net.beta)),
        corrupt=lambda s, f, r: amsim.flip_bits(s, int(round(f * s.shape[-1])), seed=r),
        level_to_inner=lambda f: 1.0 - alpha_for_flip_fraction(f))   # log-linear: t ~ 1 - alpha
    ud_out = spin_diffusion.denoise(starts, 0.1, "x_theta", np.random.default_rng(3))
    assert ud_out.final.dtype == np.int8
    changed = (am_out.final != starts).any(axis=1)
    assert changed.sum() > 60 and not changed.all()    # the step does something, not everything
    np.testing.assert_array_equal(ud_out.final, am_out.final)
    # and the same corruption for the same generator: both adapters flip the same bits
    np.testing.assert_array_equal(spin_diffusion.corrupt(xi, 0.2, np.random.default_rng(5)),
                                  am.corrupt(xi, 0.2, np.random.default_rng(5)))


def _boltzmann_samples(N, P, seed):
    """P samples of sigma ~ exp(beta/2 sigma^T J* sigma), beta = 1, by long Glauber chains."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(N, N)) * 0.6 / np.sqrt(N)
    J_true = (A + A.T) / np.sqrt(2)
    np.fill_diagonal(J_true, 0.0)
    x0 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(P, N))
    return J_true, amsim.run_dynamics(J_true, x0, "glauber", beta=1.0, n_sweeps=60, seed=rng).states


def _rel(a, b):
    """(relative distance, correlation) of the off-diagonal couplings."""
    c = coupling_agreement(a, b)
    return c["rel_distance"], c["correlation"]


def test_nelbo_linear_denoiser_couplings_agree_with_pseudo_likelihood():
    """Both are consistent estimators of the same conditionals as t -> 0 (the NELBO
    optimum is p(x_i | z_{t,-i}), PL fits p(x_i | x_{-i})). Tolerance: by the triangle
    inequality |lin - PL| <= |lin - J*| + |PL - J*|, each sampling term of the size of
    PL's own measured error |PL - J*| at this P, plus the corruption of the inputs at
    t <= t_max, which flips each other bit with probability t/2 and so changes a
    coupling by a relative O(t_max) beyond what the scale a(t) absorbs."""
    J_true, X = _boltzmann_samples(N=12, P=6000, seed=0)
    pl = amsim.PseudoLikelihoodMemory(beta=1.0, solver="lbfgs", n_steps=300).fit(X)
    d_pl, _ = _rel(pl.J_, J_true)
    t_max = 0.02
    fit = train_linear_denoiser(spins_to_tokens(X), steps=800, batch_size=1024, lr=0.01,
                                t_max=t_max, seed=0)
    J_lin = fit.model.effective_couplings(0.01)
    d, r = _rel(J_lin, pl.J_)
    assert d < 2 * d_pl + t_max, (d, d_pl)
    assert r > 0.97, r
    # trained on the whole of [eps, 1] the shared map compromises across t: still the same
    # coupling pattern, further from PL (the measured bias, docs/science-uddm.md)
    full = train_linear_denoiser(spins_to_tokens(X), steps=800, batch_size=1024, lr=0.01, seed=0)
    d_full, r_full = _rel(full.model.effective_couplings(0.01), pl.J_)
    assert r_full > 0.9 and d_full > d


def test_training_is_reproducible_and_checks_its_input():
    X = spins_to_tokens(amsim.random_patterns(8, 10, seed=1))
    a = train_linear_denoiser(X, steps=20, batch_size=16, seed=4)
    b = train_linear_denoiser(X, steps=20, batch_size=16, seed=4)
    assert torch.equal(a.model.W, b.model.W) and np.array_equal(a.loss, b.loss)
    assert np.all(np.isfinite(a.loss))
    with pytest.raises(ValueError, match="0 or 1"):
        train_linear_denoiser(X * 2, steps=2)
    with pytest.raises(ValueError, match="t_max"):
        train_linear_denoiser(X, steps=2, t_max=0.0)
    with pytest.raises(ValueError, match="steps"):
        train_linear_denoiser(X, steps=0)
    with pytest.raises(ValueError, match="beta"):
        LinearDenoiser.from_couplings(np.zeros((3, 3)), beta=-1.0)
