"""The pattern <-> sequence map of the bridge (memkit.binary)."""
import numpy as np
import pytest

from memkit.binary import alpha_for_flip_fraction, spins_to_tokens, tokens_to_spins


def test_a_pattern_converts_to_a_sequence_and_back():
    rng = np.random.default_rng(0)
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(5, 64))
    x = spins_to_tokens(s)
    assert x.dtype == np.int64 and set(np.unique(x)) <= {0, 1}
    np.testing.assert_array_equal(x, (s + 1) // 2)            # -1 -> 0, +1 -> 1
    back = tokens_to_spins(x)
    assert back.dtype == np.int8
    np.testing.assert_array_equal(back, s)
    np.testing.assert_array_equal(spins_to_tokens(tokens_to_spins(x)), x)


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="got 0"):
        spins_to_tokens(np.array([1, 0, -1]))
    with pytest.raises(ValueError, match="got 2"):
        tokens_to_spins(np.array([0, 2]))


def test_flip_fraction_matches_the_expected_change_of_eq1():
    assert alpha_for_flip_fraction(0.0) == 1.0
    assert alpha_for_flip_fraction(0.25) == pytest.approx(0.5)
    assert alpha_for_flip_fraction(0.5) == pytest.approx(0.0)
    # K = 4: a token changes with probability (1 - alpha) 3/4
    a = alpha_for_flip_fraction(0.3, vocab_size=4)
    assert (1 - a) * 3 / 4 == pytest.approx(0.3)
    for bad in (0.6, -0.1, float("nan")):
        with pytest.raises(ValueError, match="flip fraction"):
            alpha_for_flip_fraction(bad)
    with pytest.raises(ValueError, match="vocab_size"):
        alpha_for_flip_fraction(0.1, vocab_size=1)


def test_same_start_curves_give_every_model_the_same_starts():
    """Two different networks corrupt alike, so their curves start from identical states:
    at f = 0 both see the references; the per-level generators do not depend on the
    dynamics' own use of randomness (async updates draw an order, sync none)."""
    import amsim
    from memkit.protocol import same_start_curves
    xi = amsim.random_patterns(6, 40, seed=0)
    hebb = amsim.HebbianMemory().fit(xi)
    a = same_start_curves(amsim.AMRetriever(hebb), xi, [0.0, 0.1, 0.2], n_trials=3, seed=(1,))
    b = same_start_curves(amsim.AMRetriever(hebb, deterministic="sync", max_sweeps=50), xi,
                          [0.0, 0.1, 0.2], n_trials=3, seed=(1,))
    assert a["overlap"][0] == b["overlap"][0] == 1.0            # P/N = 0.15: stored patterns are stable
    assert np.isnan(a["recovery"][0]) and a["radius"] >= 0.1
    # and the starts themselves agree: the corruption of level a uses generator (1, a)
    from memkit.protocol import run_retrieval
    r1 = run_retrieval(amsim.AMRetriever(hebb), xi, [0.2], seed=np.random.default_rng([1, 2]))
    r2 = run_retrieval(amsim.AMRetriever(hebb, deterministic="sync"), xi, [0.2],
                       seed=np.random.default_rng([1, 2]))
    np.testing.assert_array_equal(r1.corrupted, r2.corrupted)


def test_coupling_agreement():
    from memkit.measures import coupling_agreement
    rng = np.random.default_rng(0)
    J = rng.normal(size=(10, 10))
    same = coupling_agreement(3 * J, J)
    assert same["correlation"] == pytest.approx(1.0) and same["rel_distance"] == pytest.approx(2.0)
    J2 = J.copy()
    np.fill_diagonal(J2, 100.0)                                  # the diagonal does not count
    assert coupling_agreement(J2, J)["rel_distance"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="square"):
        coupling_agreement(J[:3], J)


def test_first_crossing_interpolates_in_log_load():
    from memkit.measures import first_crossing
    x = [0.25, 0.5, 1.0, 2.0]
    assert first_crossing(x, [0.0, 0.1, 0.3, 0.4], 0.2) == pytest.approx(np.sqrt(0.5 * 1.0))
    assert first_crossing(x, [0.0, 0.1, 0.3, 0.4], 0.2, log_x=False) == pytest.approx(0.75)
    assert first_crossing(x, [0.5, 0.1, 0.3, 0.4], 0.2) == 0.25          # already there
    assert np.isnan(first_crossing(x, [0.0, 0.1, 0.1, 0.1], 0.2))         # never
    with pytest.raises(ValueError, match="increasing"):
        first_crossing([1.0, 0.5], [0.0, 1.0], 0.5)


def test_transition_loads_half_of_the_test_maximum_and_where_the_radii_meet():
    from memkit.measures import transition_loads
    loads = [0.125, 0.25, 0.5, 1.0, 2.0]
    train = [0.45, 0.45, 0.30, 0.20, 0.20]
    test = [0.00, 0.00, 0.10, 0.20, 0.20]          # max 0.2: half (0.1) reached at 0.5
    t = transition_loads(loads, train, test)
    assert t["half_test"] == pytest.approx(0.5)
    assert t["meet"] == pytest.approx(1.0)            # test - train: -0.45, -0.45, -0.2, 0
    never = transition_loads(loads, train, [0.0] * 5)  # random patterns: no test basin
    assert np.isnan(never["half_test"]) and np.isnan(never["meet"])
