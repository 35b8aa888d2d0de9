#!/usr/bin/env python
"""Fig. 2 (Experiment 2): stochastic retrieval against the training-set size.

References are corrupted at diffusion time t (eq. 1) and the ancestral reverse process
starts at the same t on the global time grid (the paper's procedure, with DUO's
ancestral noise removal). The recovery rate (eq. 12) of training references (solid) and
unseen test references (dashed) at each t (colour) is plotted against the number of
training sequences, one panel per model size, error bars = SEM over references (with
several seeds: over the seeds' means, each seed a dot). Black
dash-dot: the exact Bayes model of the source run through the same code on the same
test starts (the curve a perfect generaliser draws); dotted: the per-token Bayes-MAP of
those starts (a reference, not a bound). Expected (paper): training recovery falls, test
recovery rises, they converge; the larger model reaches the transition later.

    python experiments/uddm_fig2.py                  # cpu preset (the default figures)
    python experiments/uddm_fig2.py --preset quick
"""
from __future__ import annotations

from memkit.figures import use_agg
from uddm.sweep import (EXACT, aggregate, caption, error_note, failed_note, figure_command,
                        legend_outside, model_results, seed_dots)


@figure_command("uddm_fig2", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    exact = model_results(results, EXACT)
    fig, axes = plt.subplots(1, len(models), figsize=(5.0 * len(models), 4.4), squeeze=False,
                             sharey=True)
    data = {"times": list(cfg.exp2_times), "curves": {}}
    for ax, m in zip(axes[0], models):
        rs = model_results(results, m)
        cur = data["curves"][m] = {}
        for j, t in enumerate(cfg.exp2_times):
            c = f"C{j}"
            tr = aggregate(rs, lambda r: r["exp2"]["train"]["recovery"], j)[m]
            te = aggregate(rs, lambda r: r["exp2"]["test"]["recovery"], j)[m]
            bm = aggregate(rs, lambda r: r["exp2"]["test"]["reference"], j)[m]
            ax.errorbar(tr["n"], tr["mean"], tr["sem"], color=c, ls="-", marker="o", ms=4,
                        capsize=2, label=f"t = {t:g}")
            ax.errorbar(te["n"], te["mean"], te["sem"], color=c, ls="--", marker="s", ms=4,
                        capsize=2, mfc="none")
            seed_dots(ax, tr["n"], tr["per_seed"], color=c)
            seed_dots(ax, te["n"], te["per_seed"], color=c)
            ax.plot(bm["n"], bm["mean"], color=c, ls=":", lw=1)
            cur[str(t)] = {"n_train": tr["n"], "train": tr["mean"], "train_sem": tr["sem"],
                           "test": te["mean"], "test_sem": te["sem"], "bayes_map": bm["mean"],
                           "bayes_map_sem": bm["sem"], "seeds": tr["seeds"],
                           "train_per_seed": tr["per_seed"], "test_per_seed": te["per_seed"]}
            if exact:
                ex = aggregate(exact, lambda r: r["exp2"]["test"]["recovery"], j)[EXACT]
                ax.plot(ex["n"], ex["mean"], color=c, ls="-.", lw=2.2, alpha=0.55)
                ax.plot([], [], color="k", ls="-.", lw=2.2, alpha=0.55, label="exact model (test)")
                cur[str(t)]["exact_test"] = ex["mean"]
                cur[str(t)]["exact_test_sem"] = ex["sem"]
        ax.plot([], [], color="k", ls=":", lw=1, label="Bayes-MAP of the same starts")
        ax.set_xscale("log")
        ax.set_title(f"{m} ({rs[0]['params'] / 1e3:.0f}k parameters)")
        ax.set_xlabel("training sequences")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("recovery rate (eq. 12)")
    legend_outside(fig, axes[0][-1], title="training solid, test dashed")
    fig.suptitle("Experiment 2: stochastic retrieval against training-set size")
    note = failed_note(results)
    caption(fig, cfg, results, f"{cfg.n_refs} training / {cfg.n_refs} test references per point; "
            f"{error_note(results)}; ancestral reverse process from t"
            + (f"; {note}" if note else ""))
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
