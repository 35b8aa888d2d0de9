#!/usr/bin/env python
"""Fig. 4: sequence conditional entropy of training and generated sequences, as densities.

The sequence conditional entropy (eq. 13 at t0 summed over positions, nats) of training
sequences and of sequences the model generates from uniform noise (ancestral, DUO's
ancestral noise removal) as densities (areas 1, whatever the counts), at a memorising,
a transition and a generalising training-set size (columns) for each model size (rows,
one shared x-range per row), and in the last row the exact Bayes model of the source
(whose training and generated sequences come from one distribution). Each panel gives
the two-sample statistic A = P(H_train < H_generated) (0.5 = same distribution) with its
SEM. The sizes are chosen by a fixed rule (`uddm.sweep.pick_regimes`): the smallest and
the largest size of the grid, and the intermediate size whose train-minus-test recovery
gap at t = 0.1 is closest to half the gap at the smallest size. Expected (paper): both
near zero when memorising, apart during the transition, overlapping again at large
values when generalising.

    python experiments/uddm_fig4.py                  # cpu preset (the default figures)
    python experiments/uddm_fig4.py --preset quick
"""
from __future__ import annotations

import numpy as np

from memkit.figures import use_agg
from memkit.measures import two_sample_auc
from uddm.sweep import (EXACT, caption, failed_note, figure_command, model_results,
                        pick_regimes)

REGIMES = ("memorising", "transition", "generalising")


def _xrange(panels):
    """One x-range for a row of panels: 0 to just above the largest sequence entropy."""
    vals = np.concatenate([np.concatenate([r["entropy"]["sequence"][k] for r in rs])
                           for rs in panels for k in ("train", "generated")])
    return 0.0, max(float(vals.max()) * 1.03, 1e-3)


def _panel(ax, rs, title, lo, hi, data, key):
    train = np.concatenate([r["entropy"]["sequence"]["train"] for r in rs])
    gen = np.concatenate([r["entropy"]["sequence"]["generated"] for r in rs])
    bins = np.linspace(lo, hi, 31)
    ax.hist(train, bins, density=True, alpha=0.55, color="C0", label="training")
    ax.hist(gen, bins, density=True, alpha=0.55, color="C3", label="generated")
    st = two_sample_auc(train, gen)
    copies = float(np.mean([r["generated"]["copies"] for r in rs]))
    ax.set_title(f"{title}\nA = {st['auc']:.2f} ± {st['se']:.2f}; copies {copies:.2f}", fontsize=9)
    ax.set_xlim(lo, hi)
    data["histograms"][key] = {
        "bins": bins.tolist(), "train_counts": np.histogram(train, bins)[0].tolist(),
        "generated_counts": np.histogram(gen, bins)[0].tolist(), "train_mean": float(train.mean()),
        "generated_mean": float(gen.mean()), "generated_copies": copies, "statistic": st}


@figure_command("uddm_fig4", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    exact = model_results(results, EXACT)
    times = list(cfg.exp2_times)
    j = times.index(0.1) if 0.1 in times else 0
    nrow = len(models) + (1 if exact else 0)
    fig, axes = plt.subplots(nrow, 3, figsize=(12.5, 3.1 * nrow), squeeze=False)
    data = {"regimes": {}, "histograms": {}}
    for row, m in zip(axes, models):
        reg = pick_regimes(results, m, j)
        data["regimes"][m] = reg
        panels = [[r for r in model_results(results, m) if r["point"]["n_train"] == reg[name]]
                  for name in REGIMES]
        lo, hi = _xrange(panels)
        for ax, name, rs in zip(row, REGIMES, panels):
            _panel(ax, rs, f"{m}, n = {reg[name]}: {name}", lo, hi, data, f"{m}/{name}")
        row[0].set_ylabel("density")
    if exact:
        row = axes[-1]
        sizes = sorted({r["point"]["n_train"] for r in exact})
        picks = [sizes[0], sizes[len(sizes) // 2], sizes[-1]]
        panels = [[r for r in exact if r["point"]["n_train"] == n] for n in picks]
        lo, hi = _xrange(panels)
        for ax, n, rs in zip(row, picks, panels):
            _panel(ax, rs, f"exact Bayes model, n = {n}", lo, hi, data, f"{EXACT}/{n}")
        row[0].set_ylabel("density")
    for ax in axes[-1]:
        ax.set_xlabel("sequence conditional entropy (nats)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.suptitle("Sequence conditional entropy: training vs generated sequences")
    note = failed_note(results)
    caption(fig, cfg, results, f"{cfg.n_refs} training references and {cfg.n_generated} generated "
            f"sequences ({cfg.generation_steps} ancestral steps) per point; sizes chosen by the "
            f"fixed rule of uddm.sweep.pick_regimes" + (f"; {note}" if note else ""))
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
