#!/usr/bin/env python
"""A census of generated sequences against the training-set size (Pham et al. 2025).

Each generated sequence (from uniform noise, the paper's sampler) is classified by
`uddm.census`: a copy of a training sequence; spurious (valid, not a copy, but built
from training sequences: within Hamming distance L/8 of one, or an aligned splice of two
with pieces of at least L/4 tokens); novel (valid and neither); invalid (a transition of
probability zero under the source). One panel per model size plus the exact Bayes model
of the source, whose census is what a perfect generaliser gives (its spurious fraction
is the rate at which the definition fires by chance). The claim tested: the spurious
fraction peaks at the memorisation-to-generalisation transition (marked: the size the
fixed rule of `uddm.sweep.pick_regimes` calls the transition).

    python experiments/uddm_census.py                  # cpu preset (the default figures)
    python experiments/uddm_census.py --preset quick
"""
from __future__ import annotations

import numpy as np

from memkit.figures import use_agg
from memkit.measures import mean_sem
from uddm.census import CATEGORIES
from uddm.sweep import (EXACT, caption, failed_note, figure_command, legend_outside,
                        model_results, pick_regimes)

COLOURS = {"copy": "C0", "spurious": "C3", "novel": "C2", "invalid": "0.5"}


def fractions(rs):
    """{category: (sizes, mean over seeds, sem over seeds)}."""
    sizes = sorted({r["point"]["n_train"] for r in rs})
    out = {}
    for c in CATEGORIES:
        per = [[r["generated"]["census"][c] for r in rs if r["point"]["n_train"] == n] for n in sizes]
        mean = [float(np.mean(v)) for v in per]
        n_gen = rs[0]["generated"]["census"]["n"]
        # binomial SEM of one seed's fraction, or the spread over seeds when there are several
        sem = [mean_sem(v)[1] if len(v) > 1
               else float(np.sqrt(max(v[0] * (1 - v[0]), 0) / n_gen)) for v in per]
        out[c] = (sizes, mean, sem)
    return out


@figure_command("uddm_census", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    exact = model_results(results, EXACT)
    panels = [(m, model_results(results, m)) for m in models] + ([("exact Bayes model", exact)] if exact else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.0), squeeze=False,
                             sharey=True)
    data = {"fractions": {}, "transition": {}, "spurious_peak": {}}
    times = list(cfg.exp2_times)
    j = times.index(0.1) if 0.1 in times else 0
    for ax, (name, rs) in zip(axes[0], panels):
        fr = fractions(rs)
        data["fractions"][name] = {c: {"n_train": v[0], "mean": v[1], "sem": v[2]} for c, v in fr.items()}
        for c, (ns, mean, sem) in fr.items():
            ax.errorbar(ns, mean, sem, color=COLOURS[c], marker="o", ms=4, capsize=2, label=c)
        ns, sp = fr["spurious"][0], fr["spurious"][1]
        data["spurious_peak"][name] = ns[int(np.argmax(sp))]
        if name in models:
            tr = pick_regimes(results, name, j)["transition"]
            data["transition"][name] = tr
            ax.axvline(tr, color="k", ls=":", lw=1)
            ax.text(tr, 1.02, "transition", ha="center", va="bottom", fontsize=7)
        ax.set_xscale("log")
        ax.set_ylim(-0.03, 1.08)
        ax.set_xlabel("training sequences")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of generated sequences")
    legend_outside(fig, axes[0][0])
    fig.suptitle("Census of generated sequences: copies, spurious states, novel, invalid")
    note = failed_note(results)
    caption(fig, cfg, results, f"{cfg.n_generated} generated sequences per point "
            f"({cfg.generation_steps} ancestral steps); error bars: binomial SEM (one seed) or SEM "
            f"over seeds" + (f"; {note}" if note else ""))
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
