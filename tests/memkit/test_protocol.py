"""The shared retrieval protocol, driven through the amsim adapter."""
import numpy as np
import pytest

import amsim
from memkit.protocol import Retriever, mean_and_sem, run_retrieval
from memkit.measures import recovery_rate


@pytest.fixture(scope="module")
def hebb():
    xi = amsim.random_patterns(30, 200, seed=1)   # alpha = 0.15: past Hebb's capacity, mixed outcomes
    return amsim.HebbianMemory(beta=2.0).fit(xi), xi


def test_am_adapter_is_a_retriever(hebb):
    net, _ = hebb
    assert isinstance(amsim.AMRetriever(net), Retriever)
    with pytest.raises(TypeError, match="Retriever protocol"):
        run_retrieval(object(), np.ones((1, 3)), [0.1])


def test_protocol_equals_direct_amsim_basin_code(hebb):
    net, xi = hebb
    refs, levels, T = xi[:6], np.array([0.0, 0.1, 0.3]), 3
    rec = run_retrieval(amsim.AMRetriever(net), refs, levels, n_trials=T, seed=7)
    # the same experiment written directly with amsim's functions and the same random stream
    rng = np.random.default_rng(7)
    tiled = np.repeat(refs, T, axis=0)
    for a, f in enumerate(levels):
        start = amsim.flip_bits(tiled, int(round(f * 200)), seed=rng)
        res = amsim.run_dynamics(net.J_, start, "async", seed=rng)
        np.testing.assert_array_equal(rec.final[a].reshape(-1, 200), res.states)
        np.testing.assert_array_equal(rec.corrupted[a].reshape(-1, 200), start)
        np.testing.assert_allclose(rec.recovery()[a].ravel(), recovery_rate(tiled, start, res.states))
        np.testing.assert_allclose(rec.entropy[a].reshape(-1, 200),
                                   amsim.conditional_entropy(net.J_, res.states, net.beta))
    # and basin_curve, the AM experiments' entry point, reports the same numbers
    c = amsim.basin_curve(net, refs, levels, n_trials=T, seed=7)
    np.testing.assert_allclose(c.overlap, (rec.final * refs[None, :, None, :]).mean(-1))
    np.testing.assert_array_equal(c.recovery, rec.recovery())


def test_recovered_positions_have_lower_entropy(hebb):
    net, xi = hebb
    rec = run_retrieval(amsim.AMRetriever(net), xi, [0.25], n_trials=4, seed=3)
    hit, miss = rec.entropy_by_outcome(0)
    assert len(hit) > 100 and len(miss) > 100
    se = np.hypot(hit.std() / np.sqrt(len(hit)), miss.std() / np.sqrt(len(miss)))
    assert miss.mean() - hit.mean() > 5 * se


def test_stochastic_dynamics_and_summaries(hebb):
    net, xi = hebb
    rec = run_retrieval(amsim.AMRetriever(net, n_sweeps=5), xi[:5], [0.05, 0.2], n_trials=2,
                        dynamics="stochastic", seed=4)
    m, s = mean_and_sem(rec.recovery())
    assert m.shape == (2,) and np.all((m >= 0) & (m <= 1)) and np.all(s >= 0)
    assert rec.sequence_entropy().shape == (2, 5, 2)
    with pytest.raises(ValueError, match="dynamics must be"):
        run_retrieval(amsim.AMRetriever(net), xi[:2], [0.1], dynamics="greedy")
    with pytest.raises(ValueError, match="n_trials"):
        run_retrieval(amsim.AMRetriever(net), xi[:2], [0.1], n_trials=0)
