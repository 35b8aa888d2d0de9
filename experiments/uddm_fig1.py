#!/usr/bin/env python
"""Fig. 1 (Experiment 1): greedy retrieval, and the fixed-point test of the paper's scripts.

Top row (the paper's text, Appendix A): references are corrupted by the forward process
at a level t (eq. 1) and the greedy (deterministic) reverse process runs from t (the
same time: corruption level = model start time) on the global time grid to t0, with
DUO's ancestral noise removal; the recovery rate (eq. 12) of the corrupted positions is
plotted against the measured fraction of corrupted tokens: training references solid,
unseen test references dashed, one colour per training-set size, the exact Bayes model
(run through the same code) in black and the Bayes-MAP of the same starts dotted.

Bottom row (the paper's scripts, `perform_perturb=false`): the clean test sequences
enter the greedy dynamics at model time t; plotted is the fraction of their tokens that
stay put (1 - unstable rate). Expected (paper): basins around training examples shrink
and basins around test examples grow as the training set grows.

    python experiments/uddm_fig1.py                  # cpu preset (the default figures)
    python experiments/uddm_fig1.py --preset quick   # a few minutes, small settings
"""
from __future__ import annotations

import numpy as np

from memkit.figures import use_agg
from uddm.sweep import (EXACT, aggregate, caption, error_note, failed_note, figure_command,
                        legend_outside, model_results, size_colours)


def _curves(rs, m, split, key):
    return aggregate(rs, lambda r: r["exp1"][split][key])[m]


@figure_command("uddm_fig1", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    exact = model_results(results, EXACT)
    fig, axes = plt.subplots(2, len(models), figsize=(5.0 * len(models), 7.6), squeeze=False,
                             sharey="row")
    data = {"t_start": cfg.exp1_t_start, "levels": list(cfg.exp1_levels), "curves": {}}
    levels = np.array(cfg.exp1_levels)
    for col, m in enumerate(models):
        ax, axf = axes[0][col], axes[1][col]
        rs = model_results(results, m)
        tr, te = _curves(rs, m, "train", "recovery"), _curves(rs, m, "test", "recovery")
        frac = {r["point"]["n_train"]: r["exp1"]["test"]["corrupted_fraction"] for r in rs}
        frac_tr = {r["point"]["n_train"]: r["exp1"]["train"]["corrupted_fraction"] for r in rs}
        colours = size_colours(len(tr["n"]))
        cur = data["curves"][m] = []
        for c, n, a, sa, b, sb in zip(colours, tr["n"], tr["mean"], tr["sem"], te["mean"], te["sem"]):
            ax.errorbar(frac_tr[n], a, sa, color=c, ls="-", marker="o", ms=3, capsize=2,
                        label=f"n = {n}")
            ax.errorbar(frac[n], b, sb, color=c, ls="--", marker="s", ms=3, capsize=2, mfc="none")
            cur.append({"n_train": n, "fraction_train": frac_tr[n], "train": a, "train_sem": sa,
                        "fraction_test": frac[n], "test": b, "test_sem": sb})
        fp = aggregate(rs, lambda r: r["exp1"]["test"]["fixed_point"]["stability"])[m] \
            if cfg.fixed_point else None
        if fp is not None:
            for c, n, a, sa in zip(colours, fp["n"], fp["mean"], fp["sem"]):
                axf.errorbar(levels, a, sa, color=c, marker="o", ms=3, capsize=2, label=f"n = {n}")
            data["curves"][m + "_fixed_point_test"] = {"n_train": fp["n"], "stability": fp["mean"],
                                                       "sem": fp["sem"]}
        if exact:
            ex = aggregate(exact, lambda r: r["exp1"]["test"]["recovery"])[EXACT]
            fr = np.mean([r["exp1"]["test"]["corrupted_fraction"] for r in exact], axis=0)
            em = np.nanmean(np.array(ex["mean"]), axis=0)
            ax.plot(fr, em, "k-", lw=2, alpha=0.8, label="exact model (test)")
            data["curves"]["exact_test"] = {"fraction": fr.tolist(), "recovery": em.tolist()}
            if cfg.fixed_point:
                fx = aggregate(exact, lambda r: r["exp1"]["test"]["fixed_point"]["stability"])[EXACT]
                fm = np.nanmean(np.array(fx["mean"]), axis=0)
                axf.plot(levels, fm, "k-", lw=2, alpha=0.8, label="exact model (test)")
                data["curves"]["exact_fixed_point_test"] = {"levels": levels.tolist(),
                                                            "stability": fm.tolist()}
        bm = np.nanmean(np.array(_curves(rs, m, "test", "reference")["mean"]), axis=0)
        fr = np.mean([frac[n] for n in tr["n"]], axis=0)
        ax.plot(fr, bm, color="0.4", ls=":", lw=1.5, label="Bayes-MAP of the same starts")
        data["curves"][m + "_bayes_map"] = {"fraction": fr.tolist(), "recovery": bm.tolist()}
        ax.set_title(f"{m} ({rs[0]['params'] / 1e3:.0f}k parameters): corrupted starts")
        ax.set_xlabel("fraction of corrupted tokens")
        axf.set_title(f"{m}: fixed-point test (clean test sequences)")
        axf.set_xlabel("model start time t")
        axf.set_xscale("log")
        for a_ in (ax, axf):
            a_.set_ylim(-0.03, 1.03)
            a_.grid(alpha=0.3)
    axes[0][0].set_ylabel("recovery rate (eq. 12)")
    axes[1][0].set_ylabel("tokens kept (1 - unstable rate)")
    legend_outside(fig, axes[0][-1], title="training solid, test dashed")
    t_s = "t" if cfg.exp1_t_start is None else f"{cfg.exp1_t_start:g}"
    fig.suptitle(f"Experiment 1: greedy dynamics (model start time {t_s})")
    note = failed_note(results)
    errs = error_note(results)
    caption(fig, cfg, results, f"{cfg.n_refs} training / {cfg.n_refs} test references per point "
            f"(more trials for tiny sets); {errs}; "
            f"corruption levels t = {list(cfg.exp1_levels)}" + (f"; {note}" if note else ""))
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
