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
