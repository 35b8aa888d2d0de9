"""Sampling: posterior draws, greedy/ancestral dynamics, nucleus, seeds, measures."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import memkit.measures as mm
from tests.uddm.helpers import FixedDenoiser, random_dit
from uddm.diffusion import LogLinearSchedule, reverse_posterior
from uddm.measures import recovery_rate, token_entropy_from_logits, unstable_rate
from uddm.sample import generate, nucleus_filter, retrieve, reverse_process

SCH = LogLinearSchedule()


def test_one_ancestral_step_draws_from_the_float64_posterior():
    """One step from t to s: empirical frequencies of z_s match eq. 2 with x = x_theta."""
    K, L, n = 5, 3, 20_000
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(L, K, generator=g)
    model = FixedDenoiser(logits)
    z = torch.tensor([[0, 2, 4]]).expand(n, L).contiguous()
    t = 0.6
    res = reverse_process(model, SCH, z, t, steps=1, t0=0.3, final="greedy", entropy=False,
                          generator=g)
    # final greedy = argmax x_theta, so re-run with the internal step only:
    from uddm.sample import _draw
    post = reverse_posterior(z, F.softmax(logits.double(), -1).expand(n, L, K), SCH.alpha(torch.tensor(t, dtype=torch.float64)),
                             SCH.alpha(torch.tensor(0.3, dtype=torch.float64)))
    zs = _draw(post, False, g)
    for l in range(L):
        freq = torch.bincount(zs[:, l], minlength=K).double() / n
        p = post[0, l]
        assert ((freq - p).abs() <= 5 * torch.sqrt(p * (1 - p) / n) + 1e-12).all()
    assert (res.tokens == logits.argmax(-1)).all()


def test_final_ancestral_step_with_confident_model_returns_its_argmax():
    K, L = 7, 6
    target = torch.tensor([3, 1, 4, 1, 5, 6])
    logits = 40.0 * F.one_hot(target, K).float()
    model = FixedDenoiser(logits)
    g = torch.Generator().manual_seed(1)
    for dyn in ("ancestral", "greedy"):
        for fin in ("ancestral", "greedy"):
            out = generate(model, SCH, 5, steps=20, length=L, generator=g, dynamics=dyn, final=fin)
            assert (out.tokens == target).all(), (dyn, fin)
            assert out.entropy.shape == (5, L) and (out.entropy < 1e-10).all()


def test_same_seed_same_samples_and_greedy_is_deterministic():
    m = random_dit("cpu-xxs", vocab_size=11)
    kw = dict(steps=8, final="ancestral")
    a = generate(m, SCH, 6, generator=torch.Generator().manual_seed(5), **kw)
    b = generate(m, SCH, 6, generator=torch.Generator().manual_seed(5), **kw)
    c = generate(m, SCH, 6, generator=torch.Generator().manual_seed(6), **kw)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.entropy, b.entropy)
    assert not torch.equal(a.tokens, c.tokens)
    # without the entropy: the same tokens, no entropy, in one batch or several
    d = generate(m, SCH, 6, entropy=False, generator=torch.Generator().manual_seed(5), **kw)
    assert d.entropy is None and torch.equal(d.tokens, a.tokens)
    e = generate(m, SCH, 6, batch_size=4, entropy=False, generator=torch.Generator().manual_seed(5), **kw)
    assert e.entropy is None and e.tokens.shape == a.tokens.shape and e.start.shape == a.start.shape
    z = torch.randint(11, (4, 32), generator=torch.Generator().manual_seed(0))
    r1 = reverse_process(m, SCH, z, 0.5, 6, dynamics="greedy", generator=torch.Generator().manual_seed(1))
    r2 = reverse_process(m, SCH, z, 0.5, 6, dynamics="greedy", generator=torch.Generator().manual_seed(2))
    assert torch.equal(r1.tokens, r2.tokens)
    # batching does not change a greedy result
    r3 = torch.cat([reverse_process(m, SCH, z[i:i + 1], 0.5, 6, dynamics="greedy").tokens for i in range(4)])
    assert torch.equal(r1.tokens, r3)


def test_nucleus_filter():
    p = torch.tensor([[0.5, 0.3, 0.15, 0.05]], dtype=torch.float64)
    torch.testing.assert_close(nucleus_filter(p, 0.5), torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64))
    torch.testing.assert_close(nucleus_filter(p, 0.7), torch.tensor([[0.625, 0.375, 0, 0]], dtype=torch.float64))
    torch.testing.assert_close(nucleus_filter(p, 1.0), p)
    with pytest.raises(ValueError, match="top_p must be in"):
        nucleus_filter(p, 0.0)
    m = random_dit("cpu-xxs", vocab_size=11)
    out = generate(m, SCH, 3, steps=4, top_p=0.9, generator=torch.Generator().manual_seed(0))
    assert out.tokens.shape == (3, 32)


def test_measures_match_memkit():
    g = torch.Generator().manual_seed(0)
    ref = torch.randint(4, (50, 12), generator=g)
    cor = torch.where(torch.rand(50, 12, generator=g) < 0.3, torch.randint(4, (50, 12), generator=g), ref)
    cor[0] = ref[0]          # nothing corrupted -> NaN
    fin = torch.where(torch.rand(50, 12, generator=g) < 0.6, ref, torch.randint(4, (50, 12), generator=g))
    np.testing.assert_array_equal(recovery_rate(ref, cor, fin).numpy(),
                                  mm.recovery_rate(ref.numpy(), cor.numpy(), fin.numpy()))
    np.testing.assert_array_equal(unstable_rate(ref, cor, fin).numpy(),
                                  mm.unstable_rate(ref.numpy(), cor.numpy(), fin.numpy()))
    mask = torch.rand(50, 12, generator=g) < 0.7
    np.testing.assert_array_equal(
        recovery_rate(ref, cor, fin, mask).numpy(),
        mm.recovery_rate(ref.numpy(), torch.where(mask, cor, ref).numpy(), fin.numpy()))
    logits = 3 * torch.randn(20, 9, generator=g)
    logits[0, :4] = -float("inf")
    np.testing.assert_allclose(token_entropy_from_logits(logits).numpy(),
                               mm.categorical_entropy(logits.numpy()), rtol=1e-12)


def test_retrieve_reports_recovery_and_decoupled_start():
    K, L = 9, 10
    target = torch.arange(L) % K
    model = FixedDenoiser(30.0 * F.one_hot(target, K).float())
    ref = target.expand(40, L).contiguous()
    res = retrieve(model, SCH, ref, 0.5, steps=5, generator=torch.Generator().manual_seed(0))
    changed = res.start != ref
    assert changed.any()
    assert torch.all(res.recovery[~torch.isnan(res.recovery)] == 1.0)
    res2 = retrieve(model, SCH, ref, 0.5, t_start=0.01, steps=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(res2.start, res.start)      # same corruption, different model time
    with pytest.raises(ValueError, match="corruption time t must be in"):
        retrieve(model, SCH, ref, 1.5)
    with pytest.raises(ValueError, match="longer than the model's"):
        retrieve(model, SCH, torch.zeros(1, L + 1, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        retrieve(model, SCH, torch.full((1, L), K), 0.5)
