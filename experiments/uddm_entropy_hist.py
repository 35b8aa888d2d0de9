#!/usr/bin/env python
"""Token entropy of recovered vs unrecovered positions, per regime (the paper's Appendix D).

Histograms (densities) of the token conditional entropy (eq. 13 at t0 on the final
tokens) of the corrupted positions that stochastic retrieval from t = 0.25 recovered and
of those it did not, training and test references pooled, at a memorising, a transition
and a generalising training-set size (columns, chosen by `uddm.sweep.pick_regimes`) for
each model size (rows), and for the exact Bayes model (last row, smallest / middle /
largest size).

    python experiments/uddm_entropy_hist.py                  # cpu preset
    python experiments/uddm_entropy_hist.py --preset quick
"""
from __future__ import annotations

import numpy as np

from memkit.figures import use_agg
from uddm.sweep import EXACT, caption, figure_command, model_results, pick_regimes

T_FIG = 0.25
REGIMES = ("memorising", "transition", "generalising")


def _hist(rs, j, outcome):
    edges = np.asarray(rs[0]["exp2"]["train"]["entropy"]["edges"])
    h = np.zeros(len(edges) - 1)
    for r in rs:
        for split in ("train", "test"):
            h += np.asarray(r["exp2"][split]["entropy"][outcome][j]["hist"], dtype=float)
    return edges, h


@figure_command("uddm_entropy_hist", __doc__)
def main(cfg, results):
    plt = use_agg()
    times = list(cfg.exp2_times)
    j = times.index(T_FIG) if T_FIG in times else len(times) // 2
    jr = times.index(0.1) if 0.1 in times else 0
    rows = []
    for m in cfg.models:
        reg = pick_regimes(results, m, jr)
        rows.append([(f"{m}, n = {reg[k]}: {k}",
                      [r for r in model_results(results, m) if r["point"]["n_train"] == reg[k]])
                     for k in REGIMES])
    exact = model_results(results, EXACT)
    if exact:
        sizes = sorted({r["point"]["n_train"] for r in exact})
        rows.append([(f"exact Bayes model, n = {n}", [r for r in exact if r["point"]["n_train"] == n])
                     for n in (sizes[0], sizes[len(sizes) // 2], sizes[-1])])
    fig, axes = plt.subplots(len(rows), 3, figsize=(12.5, 3.0 * len(rows)), squeeze=False,
                             sharex=True)
    data = {"t": times[j], "panels": {}}
    for arow, row in zip(axes, rows):
        for ax, (title, rs) in zip(arow, row):
            panel = data["panels"][title] = {}
            for outcome, c in (("recovered", "C2"), ("unrecovered", "C3")):
                edges, h = _hist(rs, j, outcome)
                tot = h.sum()
                if tot:
                    ax.stairs(h / tot / np.diff(edges), edges, color=c, lw=1.5, fill=True, alpha=0.35,
                              label=outcome)
                panel[outcome] = {"edges": edges.tolist(), "counts": h.tolist()}
            ax.set_yscale("log")
            ax.set_title(title, fontsize=9)
            ax.grid(alpha=0.3)
        arow[0].set_ylabel("density")
    for ax in axes[-1]:
        ax.set_xlabel("token entropy at the end of retrieval (nats)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.suptitle(f"Recovered vs unrecovered token entropy per regime (retrieval from t = {times[j]:g})")
    caption(fig, cfg, results, "Experiment 2; corrupted positions of training and test references "
            "pooled; densities over [0, log K]")
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
