"""The paper's measurement procedure, the exact model, the census, the calibrated probe.

- The retrieval the sweep runs (`DiffusionRetriever` through `run_retrieval`) equals an
  independent re-writing of the paper's evaluation loop (global grid entered by
  `searchsorted`, DUO's posterior, ancestral noise removal, eq. 13 at t0), token for
  token on the same random numbers.
- The exact model's x_theta and eq. 13 (at t0 and at t) equal brute-force Bayes on a
  tiny source; its stochastic recovery equals the posterior expectation; its training
  and generated sequence entropies come from one distribution.
- The census on hand-built sequences; the two-sample statistic; the verdict rule.
"""
import itertools
import math
import warnings

import numpy as np
import pytest
import torch

from memkit.measures import two_sample_auc
from memkit.protocol import run_retrieval
from uddm.census import census, classify
from uddm.data import MarkovSource
from uddm.diffusion import make_schedule
from uddm.probe import COPY_FRACTION, Z_THRESHOLD, threshold_verdict, verdict
from uddm.references import ExactModel
from uddm.retrieval import DiffusionRetriever
from uddm.sample import generate, time_grid, token_entropy
from tests.uddm.helpers import random_dit

SCH = make_schedule()
EPS_T0 = 1e-5
K_SE = 4.0      # tolerance in standard errors for sampled quantities


# ---------------------------------------------------------------------------- the paper's loop
def _paper_posterior(x, xt, alpha_t, alpha_s, K):
    """DUO's _compute_posterior, re-written from its formula (eq. 2), float64."""
    oh = torch.nn.functional.one_hot(xt, K).double()
    a_ts = alpha_t / alpha_s
    num = (alpha_t * K * x * oh + (a_ts - alpha_t) * oh + (alpha_s - alpha_t) * x
           + (1 - a_ts) * (1 - alpha_s) / K)
    return num / (alpha_t * K * torch.gather(x, -1, xt[..., None]) + 1 - alpha_t)


def _paper_reverse(model, xt, start_t, num_steps, deterministic, g):
    """eval_fixed_point.py's `_run_reverse_process`, written from its description."""
    K = model.config.vocab_size
    full = torch.linspace(1, EPS_T0, num_steps + 1, dtype=torch.float64)
    dt = (1 - EPS_T0) / num_steps
    idx = int(torch.searchsorted(full.flip(0), torch.tensor(start_t, dtype=torch.float64)))
    start = max(0, min(num_steps - idx, num_steps - 1))

    def x0(x, t):
        sigma = SCH.sigma(torch.full((x.shape[0],), float(t)))
        with torch.no_grad():
            return torch.softmax(model(x, sigma).double(), -1)

    def draw(q):
        if deterministic:
            return q.argmax(-1)
        e = torch.empty_like(q, dtype=torch.float64).exponential_(generator=g)
        return (q / e).argmax(-1)

    x = xt.clone()
    for i in range(start, num_steps):
        t = float(full[i])
        q = _paper_posterior(x0(x, t), x, float(SCH.alpha(t)), float(SCH.alpha(t - dt)), K)
        x = draw(q)
    t0 = float(full[-1])
    x = draw(_paper_posterior(x0(x, t0), x, float(SCH.alpha(t0)), 1.0, K))   # noise removal
    with torch.no_grad():
        logp = torch.log_softmax(model(x, SCH.sigma(torch.full((x.shape[0],), t0))).double(), -1)
    return x, -(logp.exp() * logp).sum(-1)


@pytest.mark.parametrize("dynamics,perturb", [("stochastic", True), ("deterministic", True),
                                              ("deterministic", False)])
def test_sweep_retrieval_is_the_papers_procedure(dynamics, perturb):
    model = random_dit("cpu-xxs", vocab_size=9, seed=5).eval()
    refs = np.random.default_rng(0).integers(0, 9, size=(12, 10))
    levels, steps = [0.05, 0.25, 1.0], 40
    adapter = DiffusionRetriever(model, SCH, steps=steps, perturb=perturb)
    rec = run_retrieval(adapter, refs, levels, 1, dynamics, seed=7)
    rng = np.random.default_rng(7)
    for a, t in enumerate(levels):
        rng.integers(0, 2**63 - 1)                            # the corruption's generator
        g = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        z = torch.as_tensor(rec.corrupted[a][:, 0])
        if not perturb:
            np.testing.assert_array_equal(rec.corrupted[a][:, 0], refs)
        x, H = _paper_reverse(model, z, t, steps, dynamics == "deterministic", g)
        np.testing.assert_array_equal(rec.final[a][:, 0], x.numpy())
        np.testing.assert_allclose(rec.entropy[a][:, 0], H.numpy(), rtol=1e-6, atol=1e-9)


def test_global_time_grid_entry_rule():
    full = time_grid(1.0, 1000)
    assert len(full) == 1001 and float(full[0]) == 1.0 and float(full[-1]) == pytest.approx(EPS_T0)
    for t in (0.05, 0.1, 0.25, 0.5, 0.999):
        ts = time_grid(t, 1000)
        assert float(ts[0]) >= t > float(ts[1])               # the first grid point at or above t
        assert abs(len(ts) - 1 - 1000 * t) <= 1.0          # about steps * t steps from t
    assert len(time_grid(1e-4, 10)) == 2                      # at least one step
    loc = time_grid(0.3, 7, grid="local")
    assert len(loc) == 8 and float(loc[0]) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="grid"):
        time_grid(0.3, 7, grid="nope")


# ---------------------------------------------------------------------------- exact model
def _brute_marginals(src, z, alpha):
    """p(x_l | z) by enumerating every sequence of a tiny source."""
    K, L = src.K, len(z)
    post = np.zeros((L, K))
    for x in itertools.product(range(K), repeat=L):
        p = src.pi[x[0]] * np.prod([src.P[x[i], x[i + 1]] for i in range(L - 1)])
        lik = np.prod([alpha * (x[i] == z[i]) + (1 - alpha) / K for i in range(L)])
        for i in range(L):
            post[i, x[i]] += p * lik
    return post / post.sum(-1, keepdims=True)


def test_exact_model_x_theta_and_entropies_equal_brute_force():
    src = MarkovSource(3, 2, seed=1)
    model = ExactModel(src, 4)
    z = np.array([[0, 1, 2, 2], [2, 2, 0, 1]])
    for t in (EPS_T0, 0.3, 0.9):
        alpha = float(SCH.alpha(t))
        H = token_entropy(model, torch.as_tensor(z), SCH, t).numpy()
        logits = model(torch.as_tensor(z), SCH.sigma(torch.full((2,), t, dtype=torch.float64)))
        for b in range(2):
            post = _brute_marginals(src, z[b], alpha)
            q = np.full((4, 3), (1 - alpha) / 3)
            q[np.arange(4), z[b]] += alpha
            want = post / q
            want /= want.sum(-1, keepdims=True)
            got = torch.softmax(logits[b], -1).numpy()
            np.testing.assert_allclose(got, want, atol=1e-9)
            with np.errstate(divide="ignore", invalid="ignore"):
                h = -np.where(want > 0, want * np.log(want), 0.0).sum(-1)
            np.testing.assert_allclose(H[b], h, atol=1e-9)
    # at t0, x_theta is the leave-one-out conditional p(x_l | x_{-l}) of the clean sequence
    x = np.array([0, 1, 2, 2])
    if src.P[0, 1] * src.P[1, 2] * src.P[2, 2] > 0:
        loo = np.array([src.pi[v] * src.P[v, x[1]] for v in range(3)])
        got = torch.softmax(model(torch.as_tensor(x[None]), SCH.sigma(
            torch.full((1,), EPS_T0, dtype=torch.float64)))[0, 0], -1).numpy()
        np.testing.assert_allclose(got, loo / loo.sum(), atol=1e-4)


def test_exact_stochastic_recovery_equals_the_posterior_expectation():
    """Ancestral retrieval with the exact model samples p(x | z_t) (fine grid): the expected
    recovery of a corrupted position is the posterior mass of the reference token."""
    src = MarkovSource(16, 2, seed=0)
    x = src.sample(400, 12, seed=3)
    model = ExactModel(src, 12)
    rec = run_retrieval(DiffusionRetriever(model, SCH, steps=128), x, [0.25, 0.5], 1,
                        "stochastic", seed=0)
    for a, t in enumerate([0.25, 0.5]):
        z = rec.corrupted[a][:, 0]
        post = src.bayes_posterior(z, float(SCH.alpha(t)))
        p_ref = np.take_along_axis(post, x[..., None], -1)[..., 0]
        ch = z != x
        expected = np.array([p_ref[i][ch[i]].mean() if ch[i].any() else np.nan for i in range(len(x))])
        d = rec.recovery()[a][:, 0] - expected
        d = d[~np.isnan(d)]
        assert abs(d.mean()) < K_SE * d.std(ddof=1) / math.sqrt(d.size), (t, d.mean())


def test_exact_training_and_generated_entropies_agree():
    src = MarkovSource(32, 2, seed=0)
    model = ExactModel(src, 16)
    train = torch.as_tensor(src.sample(200, 16, seed=11))
    h_train = token_entropy(model, train, SCH).sum(-1).numpy()
    gen = generate(model, SCH, 200, steps=64, length=16, generator=torch.Generator().manual_seed(0))
    h_gen = gen.entropy.sum(-1).numpy()
    st = two_sample_auc(h_train, h_gen)
    assert abs(st["z"]) < K_SE, st
    se = math.hypot(h_train.std(ddof=1) / math.sqrt(200), h_gen.std(ddof=1) / math.sqrt(200))
    assert abs(h_train.mean() - h_gen.mean()) < K_SE * se
    # a factorised reverse step can move two neighbours at once, so a finite grid makes a
    # few invalid transitions (here 64 steps); they vanish as the grid is refined
    assert census(gen.tokens.numpy(), train.numpy(), src)["invalid"] < 0.05


# ---------------------------------------------------------------------------- census
def test_census_on_hand_built_sequences():
    class Src:                                   # K = 4: s -> s+1 and s -> s+2 (mod 4)
        P = np.array([[0, .5, .5, 0], [0, 0, .5, .5], [.5, 0, 0, .5], [.5, .5, 0, 0]])
        pi = np.full(4, 0.25)
    L = 16
    a = np.array([(i % 4) for i in range(L)])               # 0 1 2 3 0 1 ... (all +1 steps)
    b = np.array([(2 * i) % 4 for i in range(L)])           # 0 2 0 2 ... (all +2 steps)
    train = np.stack([a, b])
    near = a.copy(); near[-1] = (near[-2] + 2) % 4          # one step changed: valid, distance 1
    splice = np.concatenate([a[:8], b[8:]])                 # a's first half, b's second half
    assert Src.P[splice[7], splice[8]] > 0
    novel = np.array([0, 1, 3, 1, 3, 0, 2, 3, 1, 2, 0, 1, 3, 0, 2, 3])
    bad = a.copy(); bad[5] = bad[4]                         # s -> s is impossible
    seqs = np.stack([a, near, splice, novel, bad])
    labels = classify(seqs, train, Src)
    assert list(labels) == ["copy", "spurious", "spurious", "novel", "invalid"]
    c = census(seqs, train, Src)
    assert c["copy"] == c["novel"] == c["invalid"] == 0.2 and c["spurious"] == 0.4 and c["n"] == 5
    assert classify(bad[None], train, None)[0] == "spurious"   # on text validity is unknown
    with pytest.raises(ValueError, match="must be"):
        classify(seqs[:, :5], train)


# ---------------------------------------------------------------------------- statistic, verdict
def test_two_sample_auc():
    st = two_sample_auc([0, 1, 2], [3, 4, 5, 6])
    assert st["auc"] == 1.0 and st["z"] > 2
    st = two_sample_auc([1, 2, 3], [1, 2, 3])
    assert st["auc"] == 0.5 and st["z"] == 0.0
    rng = np.random.default_rng(0)
    zs = [two_sample_auc(rng.normal(size=100), rng.normal(size=120))["z"] for _ in range(300)]
    assert abs(np.mean(zs)) < K_SE / math.sqrt(300) and 0.8 < np.std(zs) < 1.2   # z ~ N(0, 1)
    with pytest.raises(ValueError, match="at least 2"):
        two_sample_auc([1.0], [1.0, 2.0])


def test_verdict_rule():
    same = {"auc": 0.52, "se": 0.03, "z": 0.9}
    lower = {"auc": 0.8, "se": 0.03, "z": 9.0}
    assert verdict(COPY_FRACTION, same)[0] == "memorising"
    assert verdict(0.1, lower)[0] == "in transition"
    assert verdict(0.1, same)[0] == "generalising"
    assert verdict(0.0, {"auc": 0.6, "se": 0.03, "z": Z_THRESHOLD})[0] == "generalising"
    with pytest.raises(ValueError, match="fraction"):
        verdict(1.5, same)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert verdict(0.01, 0.02, 128) == threshold_verdict(0.01, 0.02, 128)
    assert any(issubclass(x.category, DeprecationWarning) for x in w)
