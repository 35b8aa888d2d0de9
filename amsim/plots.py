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


def plot_training_history(history, ax=None, what: str = "min_margin", label: str | None = None):
    """One quantity of a TrainingHistory against the step (log x-axis).

    what : "min_margin" (smallest over rows and the row mean), "loss" or "row_norm" (row mean).
    label : legend label of the line(s) (for "min_margin" it prefixes "min over rows"
        and "mean over rows").
    Step 0 (J = 0 unless J0 was given) is left out: it has no place on the log axis.
    """
    ax = _axes(ax)
    h = history.as_arrays()
    if what == "min_margin":
        mm = h["min_margin"]
        ok = ~np.all(np.isnan(mm), axis=1) & (h["step"] > 0)
        prefix = f"{label}: " if label else ""
        ax.plot(h["step"][ok], np.nanmin(mm[ok], axis=1), label=prefix + "min over rows")
        ax.plot(h["step"][ok], np.nanmean(mm[ok], axis=1), label=prefix + "mean over rows")
        ax.set_ylabel("normalised minimum margin (eq. 7)")
        ax.legend(fontsize=8)
    elif what == "loss":
        later = h["step"] > 0            # step 0 has no place on the log axis
        ax.plot(h["step"][later], h["loss"][later], label=label)
        ax.set_yscale("log")
        ax.set_ylabel("PL objective L / P")
    elif what == "row_norm":
        later = h["step"] > 0
        ax.plot(h["step"][later], h["row_norm"][later].mean(axis=1), label=label)
        ax.set_ylabel("mean row norm ||J_i||")
    else:
        raise ValueError(f"what must be 'min_margin', 'loss' or 'row_norm', got {what!r}")
    if label and what != "min_margin":
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("gradient step")
    return ax
