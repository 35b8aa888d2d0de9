import numpy as np
import pytest

from amsim import (
    HebbianMemory,
    PseudoLikelihoodMemory,
    RandomFeaturesModel,
    attractor_census,
    basin_curve,
    basin_radius,
    hebb_one_step_error,
    ags_overlap,
    mixture_state,
    random_patterns,
    sync_step,
)


def test_basin_radius_rule():
    f = np.array([0.0, 0.1, 0.2, 0.3])
    assert basin_radius(f, np.array([1.0, 0.97, 0.9, 0.99])) == 0.1
    assert basin_radius(f, np.array([1.0, 1.0, 1.0, 1.0])) == 0.3
    assert basin_radius(f, np.array([0.5, 1.0, 1.0, 1.0])) == 0.0
    with pytest.raises(ValueError, match="increasing"):
        basin_radius(f[::-1], np.ones(4))


def test_basin_curve_at_zero_flips_and_recovery_definition():
    xi = random_patterns(5, 100, seed=0)
    net = HebbianMemory().fit(xi)
    c = basin_curve(net, xi, [0.0, 0.1], n_trials=3, seed=1)
    assert c.overlap.shape == (2, 5, 3)
    np.testing.assert_array_equal(c.overlap[0], 1.0)  # stored patterns are fixed points at alpha = 0.05
    assert np.all(np.isnan(c.recovery[0]))  # nothing flipped: recovery undefined
    # at small load every flipped bit comes back: recovery 1 and overlap 1 together
    np.testing.assert_array_equal(c.recovery[1], 1.0)
    assert c.radius() == 0.1


def test_pl_basins_wider_than_hebb_at_alpha_0_1():
    N = 300
    xi = random_patterns(30, N, seed=2)
    f = np.linspace(0, 0.45, 10)
    hebb = basin_curve(HebbianMemory().fit(xi), xi, f, n_trials=4, seed=3)
    pl = basin_curve(PseudoLikelihoodMemory(n_steps=1000, schedule="normalised").fit(xi), xi, f,
                     n_trials=4, seed=3)
    assert pl.radius() > hebb.radius()
    # and pointwise: where Hebb has started to fail, PL is higher by many standard errors
    i = np.argmin(np.abs(f - 0.35))
    gap = pl.mean_overlap()[i] - hebb.mean_overlap()[i]
    assert gap > 5 * np.hypot(pl.sem_overlap()[i], hebb.sem_overlap()[i])


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2, 0.3])
def test_hebb_one_step_error_against_theory(alpha):
    N = 1000
    P = int(alpha * N)
    xi = random_patterns(P, N, seed=4)
    err = (sync_step(HebbianMemory().fit(xi).J_, xi) != xi).mean()
    p = hebb_one_step_error(alpha)
    # bits are nearly independent; 5 binomial standard errors, plus the finite-N shift of the
    # signal (xi_i h_i has mean (N-1)/N and crosstalk variance (P-1)(N-1)/N^2 rather than alpha)
    from scipy.stats import norm

    p_finite = norm.sf(((N - 1) / N) / np.sqrt((P - 1) * (N - 1) / N**2))
    se = np.sqrt(p * (1 - p) / (P * N))
    assert abs(err - p) < 5 * se + abs(p_finite - p)


@pytest.mark.parametrize("alpha, holds", [(0.08, True), (0.11, True), (0.2, False), (0.25, False)])
def test_hebb_retrieval_holds_below_and_fails_above_alpha_c(alpha, holds):
    N = 1000
    xi = random_patterns(int(alpha * N), N, seed=5)
    net = HebbianMemory().fit(xi)
    refs = xi[:60]
    r = net.run(refs, "async", seed=6, max_sweeps=200)
    m = (r.states * refs).mean(axis=1)
    if holds:
        # the retrieval state exists: overlap near the replica-symmetric m(alpha) > 0.967
        assert m.mean() > 0.98 * ags_overlap(alpha)
    else:
        # beyond alpha_c = 0.138 the retrieval state is gone: overlaps drop far below 0.967
        assert m.mean() < 0.7


def test_census_of_a_hebbian_network_finds_memories_and_mixture_states():
    N = 400
    xi = random_patterns(5, N, seed=7)
    net = HebbianMemory().fit(xi)
    c = attractor_census(net, 400, xi, seed=8)
    fr = c.fractions()
    assert abs(sum(fr.values()) - 1) < 1e-12
    assert fr["memorised"] > 0.3
    mem = c.states[c.labels == "memorised"]
    assert len(mem) == 5  # each pattern (up to sign) once
    # spurious attractors are mostly the symmetric 3-mixtures sign(+-xi^a +- xi^b +- xi^c)
    spur = c.states[c.labels == "spurious"]
    assert len(spur) > 0
    mixtures = set()
    for a in range(5):
        for b in range(a + 1, 5):
            for d in range(b + 1, 5):
                for sb in (1, -1):
                    for sd in (1, -1):
                        pats = np.stack([xi[a], sb * xi[b], sd * xi[d]])
                        s = mixture_state(pats, [0, 1, 2])
                        mixtures.add(tuple(s * s[0]))
    found = sum(tuple(s * s[0]) in mixtures for s in spur)
    visits = c.counts[c.labels == "spurious"]
    in_mix = np.array([tuple(s * s[0]) in mixtures for s in spur])
    assert found >= 1
    assert visits[in_mix].sum() >= 0.5 * visits.sum()


def test_census_classifies_generalised_states_against_hidden_features():
    N, D = 300, 10
    m = RandomFeaturesModel(N, D, seed=9)
    train = m.sample(300, seed=10)
    net = HebbianMemory().fit(train)  # many examples: Hebbian couplings ~ sum of feature outer products
    c = attractor_census(net, 300, train, test=m.sample(50, seed=11), hidden=m.features_, seed=12)
    fr = c.fractions()
    # with P = 30 D examples the Hebbian couplings are dominated by the features themselves
    assert fr["generalised"] > 0.5 > fr["memorised"]
    gen = c.states[c.labels == "generalised"]
    assert np.all(c.best_overlap["hidden"][c.labels == "generalised"] >= 0.95)
    # every hidden feature is an attractor reached from random starts
    assert np.all((np.abs(gen @ m.features_.T.astype(float)) / N).max(axis=0) >= 0.95)


def test_basin_and_census_are_reproducible_and_check_inputs():
    xi = random_patterns(20, 100, seed=13)
    net = HebbianMemory().fit(xi)
    a = basin_curve(net, xi[:5], [0.1, 0.3], n_trials=3, seed=14)
    b = basin_curve(net, xi[:5], [0.1, 0.3], n_trials=3, seed=14)
    np.testing.assert_array_equal(a.overlap, b.overlap)
    with pytest.raises(ValueError, match="fractions"):
        basin_curve(net, xi, [0.2, 1.5])
    with pytest.raises(ValueError, match="deterministic"):
        attractor_census(net, 10, xi, mode="glauber")
