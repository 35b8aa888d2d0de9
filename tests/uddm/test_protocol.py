"""The shared retrieval protocol, driven through the uddm adapter."""
import numpy as np
import torch

from memkit.measures import recovery_rate
from memkit.protocol import Retriever, run_retrieval
from uddm.diffusion import make_schedule
from uddm.retrieval import DiffusionRetriever
from uddm.sample import reverse_process, token_entropy
from tests.uddm.helpers import random_dit


def test_diffusion_adapter_runs_the_models_own_reverse_process():
    model = random_dit(vocab_size=11, seed=3)
    adapter = DiffusionRetriever(model, steps=4)
    assert isinstance(adapter, Retriever)
    refs = np.random.default_rng(0).integers(0, 11, size=(5, 16))
    rec = run_retrieval(adapter, refs, [0.1, 0.5], n_trials=2, dynamics="deterministic", seed=1)
    assert rec.final.shape == (2, 5, 2, 16) and rec.entropy.shape == (2, 5, 2, 16)
    sch = make_schedule()
    for a, t in enumerate([0.1, 0.5]):
        z = torch.as_tensor(rec.corrupted[a].reshape(-1, 16))
        out = reverse_process(model, sch, z, t, 4, dynamics="greedy")   # the adapter's defaults
        np.testing.assert_array_equal(rec.final[a].reshape(-1, 16), out.tokens.numpy())
        np.testing.assert_allclose(rec.entropy[a].reshape(-1, 16),
                                   token_entropy(model, out.tokens, sch).double().numpy(), rtol=1e-6)
        tiled = np.repeat(refs, 2, axis=0)
        np.testing.assert_allclose(rec.recovery()[a].ravel(),
                                   recovery_rate(tiled, rec.corrupted[a].reshape(-1, 16), out.tokens.numpy()))


def test_diffusion_adapter_corruption_rate_and_seeds():
    model = random_dit(vocab_size=7, seed=4)
    adapter = DiffusionRetriever(model, steps=2)
    refs = np.zeros((400, 16), dtype=np.int64)
    rng = np.random.default_rng(5)
    z = adapter.corrupt(refs, 0.5, rng)
    a = 1 - (1 - 1e-3) * 0.5
    keep = a + (1 - a) / 7
    assert abs((z == 0).mean() - keep) < 5 * np.sqrt(keep * (1 - keep) / z.size)
    r1 = run_retrieval(adapter, refs[:4], [0.3], dynamics="stochastic", seed=9)
    r2 = run_retrieval(adapter, refs[:4], [0.3], dynamics="stochastic", seed=9)
    np.testing.assert_array_equal(r1.final, r2.final)
