#!/usr/bin/env python
"""Fig. 4: sequence conditional entropy of training and generated sequences.

The sequence conditional entropy (eq. 13 summed over positions, nats, x_theta at t0) of
training sequences and of sequences the model generates from uniform noise (ancestral,
greedy final step) as histograms, at a memorising, a transition and a generalising
training-set size (columns) for each model size (rows). The sizes are chosen by a fixed
rule (`uddm.sweep.pick_regimes`): the smallest and the largest size of the grid, and the
intermediate size whose train-minus-test recovery gap at t = 0.1 is closest to half the
gap at the smallest size. Expected (paper): both near zero when memorising, apart during
the transition, overlapping again at large values when generalising.

    python experiments/uddm_fig4.py                  # cpu preset (the default figures)
    python experiments/uddm_fig4.py --preset quick
"""
from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

from memkit.figures import use_agg  # noqa: E402
from uddm.sweep import caption, figure_command, pick_regimes  # noqa: E402

REGIMES = ("memorising", "transition", "generalising")


@figure_command("uddm_fig4", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    times = list(cfg.exp2_times)
    j = times.index(0.1) if 0.1 in times else 0
    fig, axes = plt.subplots(len(models), 3, figsize=(13, 3.3 * len(models)), squeeze=False)
    data = {"regimes": {}, "histograms": {}}
    for row, m in zip(axes, models):
        reg = pick_regimes(results, m, j)
        data["regimes"][m] = reg
        for ax, name in zip(row, REGIMES):
            n = reg[name]
            rs = [r for r in results if r["point"]["model"] == m and r["point"]["n_train"] == n]
            train = np.concatenate([r["entropy"]["sequence"]["train"] for r in rs])
            gen = np.concatenate([r["entropy"]["sequence"]["generated"] for r in rs])
            hi = max(float(train.max()), float(gen.max()), 1e-3)
            bins = np.linspace(0, hi * 1.02, 31)
            ax.hist(train, bins, alpha=0.6, color="C0", label=f"training (mean {train.mean():.2f})")
            ax.hist(gen, bins, alpha=0.6, color="C3", label=f"generated (mean {gen.mean():.2f})")
            copies = np.mean([r["generated"]["copies"] for r in rs])
            ax.set_title(f"{m}, n = {n}: {name}", fontsize=10)
            ax.set_xlabel("sequence conditional entropy (nats)")
            ax.legend(fontsize=7, title=f"copies of training: {copies:.2f}", title_fontsize=7)
            data["histograms"][f"{m}/{name}"] = {
                "n_train": n, "bins": bins.tolist(),
                "train_counts": np.histogram(train, bins)[0].tolist(),
                "generated_counts": np.histogram(gen, bins)[0].tolist(),
                "train_mean": float(train.mean()), "generated_mean": float(gen.mean()),
                "generated_copies": float(copies)}
        row[0].set_ylabel("sequences")
    fig.suptitle("Sequence conditional entropy: training vs generated sequences")
    caption(fig, cfg, results, f"{cfg.n_refs} training references and {cfg.n_generated} generated "
            f"sequences ({cfg.generation_steps} ancestral steps) per point; sizes chosen by the "
            f"fixed rule of uddm.sweep.pick_regimes")
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
