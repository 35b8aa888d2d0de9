#!/usr/bin/env python
"""Fig. 5: mean per-token conditional entropy, the entropy gap and validation NELBO.

Left: the mean per-token conditional entropy (eq. 13 at t0, nats) of training sequences
(solid) and of generated sequences (dashed) against the training-set size, one colour
per model size, error bars = SEM over sequences. Middle: the entropy gap
(generated minus training, per token). Right: the validation NELBO (eq. 3, nats per
token on the held-out split, the same fixed noise for every point). Expected (paper):
an entropy gap opens as data grows and is smaller for larger models; validation
perplexity peaks near the transition.

    python experiments/uddm_fig5.py                  # cpu preset (the default figures)
    python experiments/uddm_fig5.py --preset quick
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

from memkit.figures import use_agg  # noqa: E402
from uddm.sweep import caption, figure_command  # noqa: E402


def per_token(results, model, key):
    """{n_train: (mean, sem)} of the per-token entropy of `key` sequences, seeds pooled."""
    acc = {}
    for r in results:
        if r["point"]["model"] != model:
            continue
        L = r["entropy"]["length"]
        acc.setdefault(r["point"]["n_train"], []).extend(np.asarray(r["entropy"]["sequence"][key]) / L)
    return {n: (float(np.mean(v)), float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0)
            for n, v in sorted(acc.items())}


@figure_command("uddm_fig5", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    data = {"curves": {}}
    for i, m in enumerate(models):
        c = f"C{i}"
        tr, ge = per_token(results, m, "train"), per_token(results, m, "generated")
        ns = list(tr)
        a1.errorbar(ns, [tr[n][0] for n in ns], [tr[n][1] for n in ns], color=c, ls="-",
                    marker="o", ms=4, capsize=2, label=f"{m} training")
        a1.errorbar(ns, [ge[n][0] for n in ns], [ge[n][1] for n in ns], color=c, ls="--",
                    marker="s", ms=4, capsize=2, mfc="none", label=f"{m} generated")
        gap = [ge[n][0] - tr[n][0] for n in ns]
        gap_se = [math.hypot(ge[n][1], tr[n][1]) for n in ns]
        a2.errorbar(ns, gap, gap_se, color=c, marker="o", ms=4, capsize=2, label=m)
        val = {}
        for r in results:
            if r["point"]["model"] == m:
                val.setdefault(r["point"]["n_train"], []).append(r["val_nelbo"])
        vn = sorted(val)
        a3.plot(vn, [np.mean(val[n]) for n in vn], color=c, marker="o", ms=4, label=m)
        data["curves"][m] = {"n_train": ns, "train": [tr[n][0] for n in ns],
                             "train_sem": [tr[n][1] for n in ns],
                             "generated": [ge[n][0] for n in ns],
                             "generated_sem": [ge[n][1] for n in ns], "gap": gap, "gap_sem": gap_se,
                             "val_nelbo": [float(np.mean(val[n])) for n in vn]}
    for ax in (a1, a2, a3):
        ax.set_xscale("log")
        ax.set_xlabel("training sequences")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    a1.set_ylabel("per-token conditional entropy (nats)")
    a2.set_ylabel("entropy gap: generated - training (nats/token)")
    a2.axhline(0, color="k", lw=0.8)
    a3.set_ylabel("validation NELBO (nats/token)")
    a1.set_title("training vs generated")
    a2.set_title("entropy gap")
    a3.set_title("validation NELBO (eq. 3)")
    fig.suptitle("Conditional entropy of training and generated sequences against training-set size")
    caption(fig, cfg, results, f"{cfg.n_refs} training references and {cfg.n_generated} generated "
            f"sequences per point; error bars: SEM over sequences")
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
