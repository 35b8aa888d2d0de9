#!/usr/bin/env python
"""Fig. 3: token conditional entropy at the end of retrieval, recovered vs unrecovered.

After stochastic retrieval (Experiment 2) from time t, the conditional entropy (eq. 13,
nats) of the model's prediction x_theta at t0 is split over the corrupted positions
into those that came back to the reference ("recovered") and those that did not
(`RetrievalRecord.entropy_by_outcome`, the same code that measures `amsim` networks).
Left panels, one per model size: mean entropy of recovered (solid) and unrecovered
(dashed) positions against the training-set size, training (blue) and test (orange)
references, at t = 0.25 (error bars: SEM over positions). Right: histograms pooled over
every point, both reference sets and every t. Expected (paper): recovered tokens near
zero entropy, unrecovered ones mostly not.

    python experiments/uddm_fig3.py                  # cpu preset (the default figures)
    python experiments/uddm_fig3.py --preset quick
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

T_FIG = 0.25


def pooled(results, model, split, outcome, j):
    """{n_train: (mean, sem, count)} over the positions of every seed."""
    acc = {}
    for r in results:
        if r["point"]["model"] != model:
            continue
        e = r["exp2"][split]["entropy"][outcome][j]
        a = acc.setdefault(r["point"]["n_train"], [0, 0.0, 0.0])
        a[0] += e["n"]
        a[1] += e["sum"]
        a[2] += e["sumsq"]
    out = {}
    for n, (c, s, q) in sorted(acc.items()):
        if c == 0:
            continue
        m = s / c
        var = max(q / c - m * m, 0.0) * c / max(c - 1, 1)
        out[n] = (m, math.sqrt(var / c), c)
    return out


@figure_command("uddm_fig3", __doc__)
def main(cfg, results):
    plt = use_agg()
    models = list(cfg.models)
    times = list(cfg.exp2_times)
    j = times.index(T_FIG) if T_FIG in times else len(times) // 2
    fig, axes = plt.subplots(1, len(models) + 1, figsize=(4.8 * (len(models) + 1), 4.0), squeeze=False)
    data = {"t": times[j], "curves": {}, "histogram": {}}
    for ax, m in zip(axes[0], models):
        cur = data["curves"][m] = {}
        for split, c in (("train", "C0"), ("test", "C1")):
            for outcome, ls in (("recovered", "-"), ("unrecovered", "--")):
                p = pooled(results, m, split, outcome, j)
                if not p:
                    continue
                ns = list(p)
                ax.errorbar(ns, [p[n][0] for n in ns], [p[n][1] for n in ns], color=c, ls=ls,
                            marker="o" if outcome == "recovered" else "x", ms=4, capsize=2,
                            label=f"{split}, {outcome}")
                cur[f"{split}_{outcome}"] = {"n_train": ns, "mean": [p[n][0] for n in ns],
                                             "sem": [p[n][1] for n in ns],
                                             "positions": [p[n][2] for n in ns]}
        ax.set_xscale("log")
        ax.set_xlabel("training sequences")
        ax.set_ylabel("token entropy at the end of retrieval (nats)")
        ax.set_title(f"{m}, retrieval from t = {times[j]:g}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax = axes[0][-1]
    edges = np.array(results[0]["exp2"]["train"]["entropy"]["edges"])
    for outcome, c in (("recovered", "C2"), ("unrecovered", "C3")):
        h = np.zeros(len(edges) - 1)
        for r in results:
            for split in ("train", "test"):
                for e in r["exp2"][split]["entropy"][outcome]:
                    h += np.asarray(e["hist"], dtype=float)
        total = h.sum()
        dens = h / total / np.diff(edges) if total else h
        ax.stairs(dens, edges, color=c, lw=1.5, label=f"{outcome} ({int(total)} positions)")
        data["histogram"][outcome] = {"edges": edges.tolist(), "counts": h.tolist()}
        mean = sum(e["sum"] for r in results for s in ("train", "test")
                   for e in r["exp2"][s]["entropy"][outcome])
        data["histogram"][outcome]["mean"] = mean / total if total else None
    ax.set_yscale("log")
    ax.set_xlabel("token entropy at the end of retrieval (nats)")
    ax.set_ylabel("density")
    ax.set_title("all points, both reference sets, every t")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle("Token conditional entropy of recovered and unrecovered corrupted positions")
    caption(fig, cfg, results, "Experiment 2 (ancestral retrieval); entropy of x_theta at t0 "
            "(eq. 13); error bars: SEM over positions")
    fig.tight_layout()
    return fig, data


if __name__ == "__main__":
    main()
