"""The diffusion mathematics against brute force, theory and sampling error."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from uddm.diffusion import (CosineSchedule, DuoCurriculum, LogLinearSchedule, forward_corrupt,
                            gaussian_to_uniform, make_schedule, nelbo_per_token,
                            reverse_posterior, sample_times, x0_cross_entropy_per_token)

Z5 = 5.0  # tolerance in binomial standard errors


def brute_force_posterior(K, zt, x, at, as_):
    """q(z_s | z_t, x) ∝ q(z_t | z_s) q(z_s | x), by enumeration over z_s."""
    ats = at / as_
    out = np.zeros(K)
    for zs in range(K):
        q_zt_zs = ats * (zt == zs) + (1 - ats) / K
        q_zs_x = as_ * (zs == x) + (1 - as_) / K
        out[zs] = q_zt_zs * q_zs_x
    return out / out.sum()


@pytest.mark.parametrize("K", [2, 3, 6])
@pytest.mark.parametrize("at,as_", [(0.1, 0.5), (0.5, 0.51), (0.3, 1.0), (0.001, 0.999)])
def test_posterior_equals_brute_force_bayes(K, at, as_):
    pairs = list(itertools.product(range(K), range(K)))
    zt = torch.tensor([[p[0] for p in pairs]])
    x = torch.tensor([[p[1] for p in pairs]])
    q = reverse_posterior(zt, F.one_hot(x, K).double(), at, as_)
    assert q.dtype == torch.float64
    for j, (a, b) in enumerate(pairs):
        np.testing.assert_allclose(q[0, j].numpy(), brute_force_posterior(K, a, b, at, as_),
                                   rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(q.sum(-1).numpy(), 1.0, rtol=0, atol=1e-14)


def test_posterior_with_probability_vector_rows_sum_to_one_and_is_reweighted_mixture():
    g = torch.Generator().manual_seed(0)
    K, B, L = 7, 4, 9
    xt = F.softmax(3 * torch.randn(B, L, K, generator=g, dtype=torch.float64), -1)
    zt = torch.randint(K, (B, L), generator=g)
    at = torch.tensor([0.05, 0.3, 0.6, 0.9], dtype=torch.float64)
    as_ = at + 0.05
    p = reverse_posterior(zt, xt, at, as_)
    np.testing.assert_allclose(p.sum(-1).numpy(), 1.0, atol=1e-14)
    assert (p >= 0).all()
    # plug-in = mixture of one-hot posteriors weighted by x_theta(x) q(z_t | x)
    onehots = [reverse_posterior(zt, F.one_hot(torch.full_like(zt, c), K).double(), at, as_)
               for c in range(K)]
    q_zt = at[:, None, None] * (zt[..., None] == torch.arange(K)) + (1 - at[:, None, None]) / K
    w = xt * q_zt
    w = w / w.sum(-1, keepdim=True)
    mix = sum(w[..., c:c + 1] * onehots[c] for c in range(K))
    np.testing.assert_allclose(p.numpy(), mix.numpy(), atol=1e-13)


def test_posterior_rejects_s_after_t():
    with pytest.raises(ValueError, match="alpha_s >= alpha_t"):
        reverse_posterior(torch.zeros(1, 1, dtype=torch.long), torch.ones(1, 1, 3) / 3, 0.5, 0.4)


def _random_case(seed, K=11, B=6, L=8, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(K, (B, L), generator=g)
    z = torch.where(torch.rand(B, L, generator=g) < 0.5, x, torch.randint(K, (B, L), generator=g))
    logits = scale * torch.randn(B, L, K, generator=g, dtype=torch.float64)
    return x, z, F.log_softmax(logits, -1)


@pytest.mark.parametrize("schedule", [LogLinearSchedule(), CosineSchedule()])
def test_nelbo_zero_at_truth(schedule):
    x, z, _ = _random_case(1)
    K = 11
    t = torch.tensor([1e-3, 0.01, 0.2, 0.5, 0.9, 1.0], dtype=torch.float64)
    log_onehot = torch.log(F.one_hot(x, K).double())
    loss = nelbo_per_token(log_onehot, x, z, schedule.alpha(t), schedule.dalpha(t))
    assert torch.isfinite(loss).all()
    np.testing.assert_allclose(loss.numpy(), 0.0, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_nelbo_nonnegative(seed):
    x, z, lx = _random_case(seed, scale=1.0 + 3 * seed)
    sch = LogLinearSchedule()
    t = torch.tensor([1e-3, 0.05, 0.3, 0.6, 0.95, 1.0], dtype=torch.float64)
    loss = nelbo_per_token(lx, x, z, sch.alpha(t), sch.dalpha(t))
    assert (loss >= -1e-10).all()
    assert (loss > 1e-6).any()


@pytest.mark.parametrize("schedule", [LogLinearSchedule(), CosineSchedule()])
def test_nelbo_is_small_step_limit_of_posterior_kl(schedule):
    """L_t = lim_{s->t} KL(q(z_s|z_t,x) || q(z_s|z_t,x_theta)) / (t - s); the gap is O(t - s)."""
    x, z, lx = _random_case(7)
    K = lx.shape[-1]
    t = torch.tensor([0.05, 0.2, 0.4, 0.6, 0.8, 0.95], dtype=torch.float64)
    Lt = nelbo_per_token(lx, x, z, schedule.alpha(t), schedule.dalpha(t))
    errs = []
    for h in (1e-4, 1e-5):
        s = t - h
        q = reverse_posterior(z, F.one_hot(x, K).double(), schedule.alpha(t), schedule.alpha(s))
        p = reverse_posterior(z, lx.exp(), schedule.alpha(t), schedule.alpha(s))
        kl = (torch.where(q > 0, q * (q.log() - p.log()), torch.zeros_like(q))).sum(-1) / h
        errs.append(((kl - Lt).abs() / Lt.abs().clamp_min(1e-3)).max().item())
    assert errs[1] < 1e-3
    assert errs[1] < errs[0] / 5          # first-order convergence in the step


def test_nelbo_float32_matches_float64():
    x, z, lx = _random_case(3)
    sch = LogLinearSchedule()
    t = torch.tensor([1e-3, 0.05, 0.3, 0.6, 0.95, 1.0], dtype=torch.float64)
    l64 = nelbo_per_token(lx, x, z, sch.alpha(t), sch.dalpha(t))
    l32 = nelbo_per_token(lx.float(), x, z, sch.alpha(t).float(), sch.dalpha(t).float())
    np.testing.assert_allclose(l32.double().numpy(), l64.numpy(), rtol=1e-3, atol=1e-3)


def test_x0_cross_entropy():
    x, _, lx = _random_case(2)
    ce = x0_cross_entropy_per_token(lx, x)
    np.testing.assert_allclose(ce.numpy(), F.nll_loss(lx.transpose(1, 2), x, reduction="none").numpy())


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.9])
def test_forward_corrupt_keep_probability(alpha):
    K, n = 10, 200_000
    g = torch.Generator().manual_seed(int(alpha * 100))
    x = torch.randint(K, (n // 100, 100), generator=g)
    z = forward_corrupt(x, alpha, K, g)
    p = alpha + (1 - alpha) / K
    se = math.sqrt(p * (1 - p) / n)
    assert abs((z == x).double().mean().item() - p) < Z5 * se
    # each other id receives (1 - alpha)/K of the mass
    off = ((z - x) % K)[z != x]
    counts = torch.bincount(off, minlength=K)[1:].double() / n
    q = (1 - alpha) / K
    assert ((counts - q).abs() < Z5 * math.sqrt(q * (1 - q) / n)).all()


def test_forward_corrupt_per_sequence_alpha_and_seed():
    K = 5
    x = torch.randint(K, (2, 2000), generator=torch.Generator().manual_seed(0))
    a = torch.tensor([1.0, 0.0])
    z = forward_corrupt(x, a, K, torch.Generator().manual_seed(1))
    assert torch.equal(z[0], x[0])
    p = 1 / K
    assert abs((z[1] == x[1]).double().mean().item() - p) < Z5 * math.sqrt(p * (1 - p) / 2000)
    z2 = forward_corrupt(x, a, K, torch.Generator().manual_seed(1))
    assert torch.equal(z, z2)
    with pytest.raises(ValueError, match="alpha must lie"):
        forward_corrupt(x, 1.5, K)


def test_schedules():
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    for sch in (LogLinearSchedule(1e-3), CosineSchedule(1e-3)):
        a = sch.alpha(t)
        assert (a[1:] < a[:-1]).all() and a[-1] > 0 and abs(a[0] - 1) < 1e-12
        h = 1e-6
        fd = (sch.alpha(t[1:-1] + h) - sch.alpha(t[1:-1] - h)) / (2 * h)
        np.testing.assert_allclose(sch.dalpha(t[1:-1]).numpy(), fd.numpy(), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(sch.sigma(t).numpy(), -np.log(a.numpy()))
    assert abs(LogLinearSchedule().alpha(torch.tensor(1.0, dtype=torch.float64)).item() - 1e-3) < 1e-12
    with pytest.raises(ValueError, match="unknown schedule 'nope'"):
        make_schedule("nope")


def test_sample_times_stratified():
    B = 64
    t = sample_times(B, torch.Generator().manual_seed(3), eps=1e-3)
    assert ((t >= 1e-3) & (t <= 1)).all()
    strata = ((t - 1e-3) / (1 - 1e-3) * B).floor().long().clamp(max=B - 1)
    assert sorted(strata.tolist()) == list(range(B))
    t2 = sample_times(B, torch.Generator().manual_seed(3), eps=1e-3)
    assert torch.equal(t, t2)


@pytest.mark.parametrize("K", [2, 8, 50])
def test_gaussian_to_uniform_matches_monte_carlo(K):
    a = np.array([0.2, 0.5, 0.8])
    alpha = gaussian_to_uniform(a, K)
    g = torch.Generator().manual_seed(K)
    n = 40_000
    for ai, al in zip(a, alpha):
        s = math.sqrt(1 - ai * ai)
        w = s * torch.randn(n, K, generator=g, dtype=torch.float64)
        w[:, 0] += ai
        freq = (w.argmax(-1) == 0).double().mean().item()
        p = al + (1 - al) / K
        assert abs(freq - p) < Z5 * math.sqrt(p * (1 - p) / n), (K, ai, freq, p)


def test_gaussian_to_uniform_monotone_and_limits():
    a = np.linspace(0, 0.999, 200)
    for K in (2, 100, 30522):
        al = gaussian_to_uniform(a, K)
        assert abs(al[0]) < 1e-9
        assert np.all(np.diff(al) > 0)
        assert 0.99 < al[-1] <= 1 + 1e-9
    # K = 2 in closed form: P(w_x > w_other) = Phi(mu / sqrt(2)), alpha = 2 P - 1
    from scipy.stats import norm
    mu = a / np.sqrt(1 - a * a)
    np.testing.assert_allclose(gaussian_to_uniform(a, 2), 2 * (norm.cdf(mu / np.sqrt(2)) - 0.5), atol=1e-8)
    with pytest.raises(ValueError, match="a must lie"):
        gaussian_to_uniform(1.0, 5)


def test_duo_curriculum_marginal():
    K = 6
    cur = DuoCurriculum(K)
    n = 4000
    t = torch.full((n,), 0.5)
    x = torch.randint(K, (n, 10), generator=torch.Generator().manual_seed(0))
    soft, z, alpha, dalpha = cur.sample(x, t, torch.Generator().manual_seed(1))
    assert soft.shape == (n, 10, K)
    np.testing.assert_allclose(soft.sum(-1).numpy(), 1, atol=1e-5)
    p = float(alpha[0]) + (1 - float(alpha[0])) / K
    N = x.numel()
    assert abs((z == x).double().mean().item() - p) < Z5 * math.sqrt(p * (1 - p) / N)
    # alpha falls as gamma rises (t grows): dalpha < 0
    assert (cur.dalpha(torch.linspace(0, 1, 50)) < 0).all()


def test_nelbo_optimum_per_token_is_posterior_over_forward_likelihood():
    """Per token, E_{x ~ p(x|z_t)} L_t(x_theta) is minimised at x_theta ∝ p(x|z_t) / q(z_t|x).

    This is why a model trained with the x0 cross-entropy (which learns p(x|z_t)) must be
    divided by q(z_t|x) before eq. 2 (uddm.sample.prediction_logits).
    """
    from uddm.diffusion import nelbo_per_token

    g = torch.Generator().manual_seed(3)
    K, a, zt = 5, 0.55, 2
    p = torch.softmax(torch.randn(K, generator=g, dtype=torch.float64), -1)
    w = torch.zeros(K, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")
    xs = torch.arange(K).view(K, 1)

    def objective():
        opt.zero_grad()
        lx = torch.log_softmax(w, -1).expand(K, 1, K)
        L = nelbo_per_token(lx, xs, torch.full((K, 1), zt), torch.tensor(a, dtype=torch.float64),
                            torch.tensor(-1.0, dtype=torch.float64))
        f = (p * L.view(K)).sum()
        f.backward()
        return f

    opt.step(objective)
    q = torch.full((K,), (1 - a) / K, dtype=torch.float64)
    q[zt] += a
    expected = p / q / (p / q).sum()
    assert torch.allclose(torch.softmax(w, -1).detach(), expected, atol=1e-8)


def test_plug_in_prediction_of_an_x0_ce_model_is_divided_by_the_forward_likelihood():
    from uddm.diffusion import make_schedule
    from uddm.model import get_config
    from uddm.sample import predict, token_entropy
    from tests.uddm.helpers import FixedDenoiser
    from memkit.measures import categorical_entropy

    g = torch.Generator().manual_seed(0)
    L, K, t = 6, 7, 0.3
    logits = torch.randn(L, K, generator=g)
    z = torch.randint(0, K, (2, L), generator=g)
    sched = make_schedule("loglinear")
    m = FixedDenoiser(logits)
    nelbo_pred = predict(m, z, sched, t)
    assert torch.allclose(nelbo_pred, torch.softmax(logits.double(), -1).expand(2, L, K))
    m.config = get_config("cpu-xxs", vocab_size=K, length=L, prediction="x0_ce")
    a = sched.alpha(t)
    q = torch.full((2, L, K), (1 - a) / K, dtype=torch.float64)
    q.scatter_(-1, z.unsqueeze(-1), a + (1 - a) / K)
    expected = torch.softmax(logits.double(), -1) / q
    expected = expected / expected.sum(-1, keepdim=True)
    assert torch.allclose(predict(m, z, sched, t, plug_in=True), expected, atol=1e-12)
    raw = torch.softmax(logits.double(), -1).expand(2, L, K)
    assert torch.allclose(predict(m, z, sched, t), raw, atol=1e-12)     # its own p(x | z_t)
    H = token_entropy(m, z, sched, t)
    assert torch.allclose(H, torch.as_tensor(categorical_entropy(np.log(raw.numpy()))), atol=1e-10)


def test_schedules_take_floats_and_tensors():
    from uddm.diffusion import make_schedule

    for name in ("loglinear", "cosine"):
        s = make_schedule(name)
        for fn in (s.alpha, s.dalpha, s.sigma):
            value = fn(0.3)
            assert isinstance(value, float)
            assert value == float(fn(torch.tensor([0.3], dtype=torch.float64))[0])
        with pytest.raises(ValueError, match="1.5"):
            s.alpha(1.5)
