"""amsim.maxmargin: solving some rows, and the linear-programming separability test."""

import numpy as np
import pytest

import amsim
from amsim.maxmargin import max_margin_couplings, row_separable, solved_rows


def test_solving_a_subset_of_rows_gives_the_same_rows_as_solving_all():
    xi = amsim.random_patterns(30, 40, seed=5)
    W, kappa, conv = max_margin_couplings(xi)
    for rows in ([3, 17, 39], np.array([0, 21]), 4, [-1]):
        idx = solved_rows(rows, 40)
        Ws, ks, cs = max_margin_couplings(xi, rows=rows)
        np.testing.assert_array_equal(Ws[idx], W[idx])
        np.testing.assert_array_equal(ks[idx], kappa[idx])
        np.testing.assert_array_equal(cs[idx], conv[idx])
        rest = np.setdiff1d(np.arange(40), idx)
        assert np.all(Ws[rest] == 0) and np.all(np.isnan(ks[rest])) and not cs[rest].any()


def test_solved_rows_reads_none_int_and_indices():
    assert solved_rows(None, 5).tolist() == [0, 1, 2, 3, 4]
    assert solved_rows(2, 5).tolist() == [0, 1]
    assert solved_rows([4, -5, 2], 5).tolist() == [0, 2, 4]
    for bad in (0, 6, [1, 1], [5], [], [0.5], True, "x", [[0]]):
        with pytest.raises(ValueError, match="rows"):
            solved_rows(bad, 5)


def test_rows_of_the_estimator_when_it_takes_them():
    xi = amsim.random_patterns(30, 40, seed=6)
    full = amsim.MaxMarginMemory().fit(xi)
    part = amsim.MaxMarginMemory(rows=[2, 9]).fit(xi)
    np.testing.assert_array_equal(part.kappa_[[2, 9]], full.kappa_[[2, 9]])
    np.testing.assert_array_equal(part.J_[[2, 9]], full.J_[[2, 9]])
    assert np.isnan(part.kappa_).sum() == 38


def test_row_separable_agrees_with_the_max_margin_solver():
    # well below alpha = 2 every row separates (and AdaTron converges with kappa > 0);
    # well above, the LP says no where AdaTron cannot converge
    low = amsim.random_patterns(20, 30, seed=7)
    assert all(row_separable(low, i) for i in range(5))
    high = amsim.random_patterns(120, 30, seed=8)
    sep = [row_separable(high, i) for i in range(5)]
    assert not any(sep)
    _, kappa, conv = max_margin_couplings(high, rows=5, max_sweeps=300)
    assert not conv[:5].any()
    with pytest.raises(ValueError, match="row i"):
        row_separable(low, 30)


def test_row_separable_finds_a_separable_row_by_construction():
    # labels given by a teacher perceptron on the other components: separable at any load
    rng = np.random.default_rng(9)
    x = amsim.random_patterns(90, 31, seed=rng)
    teacher = rng.standard_normal(31)
    teacher[0] = 0
    x[:, 0] = np.where(x.astype(float) @ teacher > 0, 1, -1)
    assert row_separable(x, 0)
