#!/usr/bin/env python
"""Fig. 2 (Experiment 2): stochastic retrieval against the training-set size.

References are corrupted at diffusion time t (eq. 1) and the ancestral reverse process
starts at the same t (Experiment 2). The recovery rate (eq. 12) of training references
(solid) and unseen test references (dashed) at t in {0.05, 0.1, 0.25, 0.5} (colour) is
plotted against the number of training sequences, one panel per model size, error bars
= SEM over references; dotted: the reference ceiling on the test references (exact
Bayes on the Markov source / bigram denoiser on text) from the same corrupted starts. A
"generalised" point is one whose test recovery approaches that ceiling (a model on the
copy plateau recovers ~0 for both). Expected (paper): training recovery falls, test
recovery rises, they converge; the larger model reaches the transition later.

    python experiments/uddm_fig2.py                  # cpu preset (the default figures)
    python experiments/uddm_fig2.py --preset quick
"""
from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from memkit.figures import use_agg  # noqa: E402
from uddm.sweep import aggregate, caption, figure_command  # noqa: E402


@figure_command("uddm_fig2", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4.2), squeeze=False,
                             sharey=True)
    data = {"times": list(cfg.exp2_times), "curves": {}}
    for ax, m in zip(axes[0], models):
        rs = [r for r in results if r["point"]["model"] == m]
        cur = data["curves"][m] = {}
        for j, t in enumerate(cfg.exp2_times):
            c = f"C{j}"
            tr = aggregate(rs, lambda r: r["exp2"]["train"]["recovery"], j)[m]
            te = aggregate(rs, lambda r: r["exp2"]["test"]["recovery"], j)[m]
            ce = aggregate(rs, lambda r: r["exp2"]["test"]["ceiling"], j)[m]
            ax.errorbar(tr["n"], tr["mean"], tr["sem"], color=c, ls="-", marker="o", ms=4,
                        capsize=2, label=f"t={t:g}")
            ax.errorbar(te["n"], te["mean"], te["sem"], color=c, ls="--", marker="s", ms=4,
                        capsize=2, mfc="none")
            ax.plot(ce["n"], ce["mean"], color=c, ls=":", lw=1)
            cur[str(t)] = {"n_train": tr["n"], "train": tr["mean"], "train_sem": tr["sem"],
                           "test": te["mean"], "test_sem": te["sem"], "ceiling": ce["mean"],
                           "ceiling_sem": ce["sem"]}
        ax.set_xscale("log")
        ax.set_title(f"{m} ({rs[0]['params'] / 1e3:.0f}k parameters)")
        ax.set_xlabel("training sequences")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, title="train solid, test dashed,\nceiling dotted", title_fontsize=7)
    axes[0][0].set_ylabel("recovery rate (eq. 12)")
    ceiling = results[0]["ceiling"]
    fig.suptitle("Experiment 2: stochastic retrieval against training-set size")
    caption(fig, cfg, results, f"{cfg.n_refs} training / {cfg.n_refs} test references per point; "
            f"error bars: SEM over references; ceiling: {ceiling}; "
            f"{cfg.retrieval_steps} ancestral reverse steps from t")
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
