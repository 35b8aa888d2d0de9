import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import amsim


def test_plot_training_history_draws_every_quantity_without_warnings():
    xi = amsim.random_patterns(20, 40, seed=0)
    _, hist = amsim.train_pseudo_likelihood(xi, n_steps=30, record_every=10)
    fig, axes = plt.subplots(1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        amsim.plots.plot_training_history(hist, axes[0], "min_margin", label="PL")
        amsim.plots.plot_training_history(hist, axes[1], "loss", label="PL")
        amsim.plots.plot_training_history(hist, axes[2], "row_norm")
    steps = np.asarray(hist.step)
    for ax in axes:
        for line in ax.get_lines():
            assert np.array_equal(line.get_xdata(), steps[steps > 0])
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["PL: min over rows", "PL: mean over rows"]
    assert axes[1].get_legend().get_texts()[0].get_text() == "PL"
    with pytest.raises(ValueError, match="'norm'"):
        amsim.plots.plot_training_history(hist, axes[0], "norm")
    plt.close(fig)


def test_stable_neurons_and_is_fixed_point_agree():
    xi = amsim.random_patterns(10, 100, seed=18)
    J = amsim.hebb_couplings(xi)
    s = amsim.flip_bits(xi, 10, seed=0)
    st = amsim.stable_neurons(J, s)
    assert st.shape == s.shape
    assert np.array_equal(st.all(axis=1), amsim.is_fixed_point(J, s))
