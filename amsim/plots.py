"""The standard figures of the simulator, each on a matplotlib Axes.

Every function takes an optional `ax`, labels its axes and returns the Axes,
so scripts and exercises can compose them.
"""
from __future__ import annotations

import numpy as np


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_basin_curves(curves: dict, ax=None, absolute: bool = False, threshold: float | None = 0.95):
    """Mean final overlap against flipped fraction, one line per labelled BasinCurve.

    Error bars are standard errors over references.
    """
    ax = _axes(ax)
    for label, c in curves.items():
        ax.errorbar(c.fractions, c.mean_overlap(absolute), yerr=c.sem_overlap(absolute),
                    marker="o", ms=3, capsize=2, label=label)
    if threshold is not None:
        ax.axhline(threshold, color="grey", lw=0.8, ls=":", label=f"threshold {threshold}")
    ax.set_xlabel("flipped fraction f = k / N")
    ax.set_ylabel("final overlap |m|" if absolute else "final overlap m")
    ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.05)
    ax.legend(fontsize=8)
    return ax


def plot_training_history(history, ax=None, what: str = "min_margin"):
    """One quantity of a TrainingHistory against the step (log x-axis).

    what : "min_margin" (smallest over rows and the row mean), "loss" or "row_norm" (row mean).
    """
    ax = _axes(ax)
    h = history.as_arrays()
    step = np.maximum(h["step"], 1)
    if what == "min_margin":
        ax.plot(step, np.nanmin(h["min_margin"], axis=1), label="min over rows")
        ax.plot(step, np.nanmean(h["min_margin"], axis=1), label="mean over rows")
        ax.set_ylabel("normalised minimum margin (eq. 7)")
        ax.legend(fontsize=8)
    elif what == "loss":
        ax.plot(step, h["loss"])
        ax.set_yscale("log")
        ax.set_ylabel("PL objective L / P")
    elif what == "row_norm":
        ax.plot(step, h["row_norm"].mean(axis=1))
        ax.set_ylabel("mean row norm ||J_i||")
    else:
        raise ValueError(f"what must be 'min_margin', 'loss' or 'row_norm', got {what!r}")
    ax.set_xscale("log")
    ax.set_xlabel("gradient step")
    return ax
