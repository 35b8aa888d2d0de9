#!/usr/bin/env python
"""Fig. 1 (Experiment 1): greedy retrieval against the fraction of corrupted tokens.

For each model size (one panel) and training-set size (colour), references are
corrupted by the forward process at a level t (eq. 1) while the model's time input is
fixed at a small t_start (decoupled, as in the paper's Experiment 1); the greedy
(deterministic) reverse process runs from t_start to t0 and the recovery rate (eq. 12)
of the corrupted positions is plotted against the measured fraction of corrupted
tokens: training references solid, unseen test references dashed, the reference
ceiling (exact Bayes on the Markov source / bigram on text, from the same corrupted
starts, knowing the true level) dotted. Expected (paper): basins around training
examples shrink and basins around test examples grow as the training set grows.

    python experiments/uddm_fig1.py                  # cpu preset (the default figures)
    python experiments/uddm_fig1.py --preset quick   # a minute, small settings
"""
from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

from memkit.figures import use_agg  # noqa: E402
from uddm.sweep import aggregate, caption, figure_command  # noqa: E402


@figure_command("uddm_fig1", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4.2), squeeze=False)
    data = {"t_start": cfg.exp1_t_start, "levels": list(cfg.exp1_levels), "curves": {}}
    for ax, m in zip(axes[0], models):
        rs = [r for r in results if r["point"]["model"] == m]
        tr = aggregate(rs, lambda r: r["exp1"]["train"]["recovery"])[m]
        te = aggregate(rs, lambda r: r["exp1"]["test"]["recovery"])[m]
        ce = aggregate(rs, lambda r: r["exp1"]["test"]["ceiling"])[m]
        frac = {r["point"]["n_train"]: r["exp1"]["test"]["corrupted_fraction"] for r in rs}
        frac_tr = {r["point"]["n_train"]: r["exp1"]["train"]["corrupted_fraction"] for r in rs}
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(tr["n"])))
        cur = data["curves"][m] = []
        for c, n, a, sa, b, sb in zip(colors, tr["n"], tr["mean"], tr["sem"], te["mean"], te["sem"]):
            ax.errorbar(frac_tr[n], a, sa, color=c, ls="-", marker="o", ms=3, capsize=2,
                        label=f"n={n}")
            ax.errorbar(frac[n], b, sb, color=c, ls="--", marker="s", ms=3, capsize=2)
            cur.append({"n_train": n, "fraction_train": frac_tr[n], "train": a, "train_sem": sa,
                        "fraction_test": frac[n], "test": b, "test_sem": sb})
        cm = np.nanmean(np.array(ce["mean"]), axis=0)
        fr = np.mean([frac[n] for n in tr["n"]], axis=0)
        ax.plot(fr, cm, "k:", lw=1.5, label=rs[0]["ceiling"].split(" (")[0])
        data["curves"][m + "_ceiling"] = {"fraction": fr.tolist(), "recovery": cm.tolist()}
        ax.set_title(f"{m} ({rs[0]['params'] / 1e3:.0f}k parameters)")
        ax.set_xlabel("fraction of corrupted tokens")
        ax.set_ylabel("recovery rate (eq. 12)")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="train solid, test dashed", title_fontsize=7, ncol=2)
    fig.suptitle(f"Experiment 1: greedy retrieval, model time fixed at t = {cfg.exp1_t_start}")
    caption(fig, cfg, results, f"{cfg.n_refs} training / {cfg.n_refs} test references per point "
            f"(more trials for tiny sets); error bars: SEM over references; "
            f"{cfg.retrieval_steps} greedy reverse steps")
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
