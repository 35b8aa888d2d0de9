#!/usr/bin/env python
"""Fig. 3: token conditional entropy of recovered and unrecovered corrupted positions.

After stochastic retrieval from t = 0.25 (Experiment 2, the paper's procedure), the
token entropy (eq. 13 at t0 on the final tokens) of the corrupted positions that were
recovered (solid) and of those that were not (dashed), for training (blue) and test
(orange) references, against the training-set size, one panel per model size on one
y-range. As in the paper's notebook, each reference's recovered (unrecovered) positions
are averaged first, then the sequences: error bars = SEM over sequences. Black: the
exact Bayes model on the same starts. Expected (paper): recovered tokens have near-zero
entropy, unrecovered ones mostly do not. Histograms per regime: uddm_entropy_hist.py.

    python experiments/uddm_fig3.py                  # cpu preset (the default figures)
    python experiments/uddm_fig3.py --preset quick
"""
from __future__ import annotations

from memkit.figures import use_agg
from uddm.sweep import (EXACT, by_size, caption, error_note, failed_note, figure_command,
                        legend_outside, model_results, seed_dots)

T_FIG = 0.25


def per_sequence(rs, split, outcome, j):
    """{n_train: (mean, sem, sequences, per-seed means)}: per-reference means, reduced over
    references and seeds (`uddm.sweep.by_size`)."""
    red = by_size(rs, lambda r: r["exp2"][split]["entropy"]["per_sequence"][j][outcome])
    return {n: (d["mean"], d["sem"], d["count"], d["per_seed"]) for n, d in red.items()
            if d["count"]}


@figure_command("uddm_fig3", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    times = list(cfg.exp2_times)
    j = times.index(T_FIG) if T_FIG in times else len(times) // 2
    exact = model_results(results, EXACT)
    fig, axes = plt.subplots(1, len(models), figsize=(5.0 * len(models), 4.2), squeeze=False,
                             sharey=True)
    data = {"t": times[j], "curves": {}}
    for ax, m in zip(axes[0], models):
        cur = data["curves"][m] = {}
        for who, rs, lw in ((m, model_results(results, m), 1.2), ("exact model", exact, 2.2)):
            for split, c in (("train", "C0"), ("test", "C1")):
                for outcome, ls in (("recovered", "-"), ("unrecovered", "--")):
                    p = per_sequence(rs, split, outcome, j)
                    if not p:
                        continue
                    ns = list(p)
                    colour = c if who == m else "k"
                    label = (f"{split}, {outcome}" if who == m else
                             (f"exact model, {outcome}" if split == "test" else None))
                    if who != m and split == "train":
                        continue              # the exact model's test curve is the reference
                    ax.errorbar(ns, [p[n][0] for n in ns], [p[n][1] for n in ns], color=colour,
                                ls=ls, lw=lw, alpha=1.0 if who == m else 0.6,
                                marker="o" if outcome == "recovered" else "x", ms=4, capsize=2,
                                label=label)
                    seed_dots(ax, ns, [p[n][3] for n in ns], color=colour)
                    cur[f"{'exact_' if who != m else ''}{split}_{outcome}"] = {
                        "n_train": ns, "mean": [p[n][0] for n in ns], "sem": [p[n][1] for n in ns],
                        "sequences": [p[n][2] for n in ns],
                        "per_seed": [p[n][3] for n in ns]}
        ax.set_xscale("log")
        ax.set_xlabel("training sequences")
        ax.set_title(f"{m}, retrieval from t = {times[j]:g}")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("token entropy at the end of retrieval (nats)")
    legend_outside(fig, axes[0][-1])
    fig.suptitle("Token conditional entropy of recovered and unrecovered corrupted positions")
    note = failed_note(results)
    caption(fig, cfg, results, "Experiment 2 (ancestral retrieval); eq. 13 of x_theta at t0 on the "
            "final tokens; mean per sequence, then over sequences; " + error_note(results, "sequences")
            + (f"; {note}" if note else ""))
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
