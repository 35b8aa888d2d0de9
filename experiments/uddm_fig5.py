#!/usr/bin/env python
"""Fig. 5: mean per-token conditional entropy, the entropy gap, validation NELBO, diversity.

(a) The mean per-token conditional entropy (eq. 13 at t0, nats: each sequence's sum over
its L positions divided by L) of training sequences (solid) and of generated sequences
(dashed) against the training-set size, one colour per model size, error bars = SEM
over sequences; black: the exact Bayes model (its training and generated values agree:
the source's own conditional entropy). (b) The entropy gap (generated minus training,
per token). (c) The validation NELBO (eq. 3, nats per token on the held-out split, the
same fixed noise for every point), with the exact model's. (d) The per-sample unigram
entropy of generated sequences (entropy of each sample's own token histogram: DUO's
sample-diversity number), the training sequences' as a reference. Expected (paper): an
entropy gap opens as data grows and is smaller for larger models. (The paper reports
no validation-perplexity curve; panel (c) is ours.)

    python experiments/uddm_fig5.py                  # cpu preset (the default figures)
    python experiments/uddm_fig5.py --preset quick
"""
from __future__ import annotations

import math

import numpy as np

from memkit.figures import use_agg
from memkit.measures import mean_sem
from uddm.sweep import (EXACT, by_size, caption, error_note, failed_note, figure_command,
                        legend_outside, model_results, seed_dots)


def _pooled(rs, get):
    """{n_train: (mean, sem, per-seed means)} of the per-sequence values get(r), reduced over
    sequences and seeds (`uddm.sweep.by_size`)."""
    return {n: (d["mean"], d["sem"], d["per_seed"]) for n, d in by_size(rs, get).items()}


def per_token(rs, key):
    return _pooled(rs, lambda r: list(np.asarray(r["entropy"]["sequence"][key]) / r["entropy"]["length"]))


@figure_command("uddm_fig5", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    exact = model_results(results, EXACT)
    fig, (a1, a2, a3, a4) = plt.subplots(1, 4, figsize=(19, 4.2))
    data = {"curves": {}}
    who = [(m, f"C{i}", model_results(results, m)) for i, m in enumerate(models)]
    if exact:
        who.append(("exact model", "k", exact))
    for name, c, rs in who:
        tr, ge = per_token(rs, "train"), per_token(rs, "generated")
        ns = list(tr)
        a1.errorbar(ns, [tr[n][0] for n in ns], [tr[n][1] for n in ns], color=c, ls="-",
                    marker="o", ms=4, capsize=2, label=f"{name} training")
        a1.errorbar(ns, [ge[n][0] for n in ns], [ge[n][1] for n in ns], color=c, ls="--",
                    marker="s", ms=4, capsize=2, mfc="none", label=f"{name} generated")
        seed_dots(a1, ns, [tr[n][2] for n in ns], color=c)
        seed_dots(a1, ns, [ge[n][2] for n in ns], color=c)
        gap = [ge[n][0] - tr[n][0] for n in ns]
        # one seed: the two SEMs over sequences combined; several: the SEM over seeds of
        # each seed's gap (the two means of a seed come from the same model)
        gap_se = [math.hypot(ge[n][1], tr[n][1]) if len(tr[n][2]) < 2 or len(tr[n][2]) != len(ge[n][2])
                  else mean_sem(np.subtract(ge[n][2], tr[n][2]))[1] for n in ns]
        a2.errorbar(ns, gap, gap_se, color=c, marker="o", ms=4, capsize=2, label=name)
        val = _pooled(rs, lambda r: [r["val_nelbo"]])
        a3.plot(list(val), [v[0] for v in val.values()], color=c, marker="o", ms=4, label=name)
        uni = _pooled(rs, lambda r: r["generated"]["unigram_entropy"])
        a4.errorbar(list(uni), [v[0] for v in uni.values()], [v[1] for v in uni.values()], color=c,
                    marker="s", ms=4, capsize=2, mfc="none", ls="--")
        data["curves"][name] = {"n_train": ns, "train": [tr[n][0] for n in ns],
                                "train_sem": [tr[n][1] for n in ns],
                                "generated": [ge[n][0] for n in ns],
                                "generated_sem": [ge[n][1] for n in ns], "gap": gap, "gap_sem": gap_se,
                                "val_nelbo": [v[0] for v in val.values()],
                                "unigram_entropy_generated": [v[0] for v in uni.values()]}
    ref = _pooled([r for r in results], lambda r: r["generated"]["unigram_entropy_train"])
    a4.plot(list(ref), [v[0] for v in ref.values()], color="0.5", ls=":", lw=2)
    a1.plot([], [], color="0.5", ls=":", lw=2, label="(d) training sequences' unigram entropy")
    for ax in (a1, a2, a3, a4):
        ax.set_xscale("log")
        ax.set_xlabel("training sequences")
        ax.grid(alpha=0.3)
    a1.set_ylabel("per-token conditional entropy (nats)")
    a2.set_ylabel("entropy gap: generated - training (nats/token)")
    a2.axhline(0, color="k", lw=0.8)
    a3.set_ylabel("validation NELBO (nats/token)")
    a4.set_ylabel("unigram entropy per sample (nats)")
    a1.set_title("(a) training vs generated")
    a2.set_title("(b) entropy gap")
    a3.set_title("(c) validation NELBO (eq. 3)")
    a4.set_title("(d) sample diversity")
    legend_outside(fig, a1)
    fig.suptitle("Conditional entropy of training and generated sequences against training-set size")
    note = failed_note(results)
    caption(fig, cfg, results, f"{cfg.n_refs} training references and {cfg.n_generated} generated "
            f"sequences per point; {error_note(results, 'sequences')}" + (f"; {note}" if note else ""))
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
