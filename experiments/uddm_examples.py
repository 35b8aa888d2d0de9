#!/usr/bin/env python
"""Retrieval examples like the paper's Figs. 1A and 3A, one PNG per regime.

For the largest model of the sweep at its memorising, transition and generalising
training-set sizes (`uddm.sweep.pick_regimes`), and for one training and one test
reference each: the reference, its corruption at t = 0.25 (corrupted positions shaded)
and the stochastic retrieval (the paper's procedure), every recovered token coloured by
its conditional entropy (eq. 13 at t0, nats, one colour scale [0, log K]); a red frame
marks a final token that differs from the reference. Tokens are printed as ids (the
Markov corpus has no letters); on text they are decoded characters.

    python experiments/uddm_examples.py                  # cpu preset
    python experiments/uddm_examples.py --preset quick
"""
from __future__ import annotations

import math

import numpy as np

from memkit.figures import use_agg
from uddm.sweep import caption, figure_command, model_results, pick_regimes

REGIMES = ("memorising", "transition", "generalising")


def _row(ax, y, tokens, colours, frames, label):
    for i, (tok, c, f) in enumerate(zip(tokens, colours, frames)):
        ax.add_patch(__import__("matplotlib").patches.Rectangle(
            (i, y), 0.95, 0.9, facecolor=c, edgecolor="red" if f else "none", lw=1.5 if f else 0))
        ax.text(i + 0.47, y + 0.45, str(tok), ha="center", va="center", fontsize=5.5)
    ax.text(-0.5, y + 0.45, label, ha="right", va="center", fontsize=8)


def _draw(plt, r, K, title):
    import matplotlib
    cmap = matplotlib.colormaps["viridis"]
    norm = matplotlib.colors.Normalize(0, math.log(K))
    items = [(s, r["examples"][s]["items"][0]) for s in ("train", "test") if r["examples"][s]["items"]]
    L = len(items[0][1]["reference"])
    fig, ax = plt.subplots(figsize=(max(8, 0.3 * L + 2), 1.1 + 1.3 * len(items)))
    y = 0
    for split, ex in items[::-1]:
        ref, cor, fin = map(np.asarray, (ex["reference"], ex["corrupted"], ex["final"]))
        H = np.asarray(ex["entropy"])
        _row(ax, y, fin, [cmap(norm(h)) for h in H], fin != ref, f"{split}: recovered")
        _row(ax, y + 1, cor, ["#f4c7c3" if c else "#eeeeee" for c in cor != ref], [False] * L,
             f"{split}: corrupted")
        _row(ax, y + 2, ref, ["white"] * L, [False] * L, f"{split}: reference")
        y += 3.4
    ax.set_xlim(-0.2, L)
    ax.set_ylim(-0.2, y)
    ax.axis("off")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, fraction=0.025, pad=0.01, label="token entropy (nats)")
    ax.set_title(title, fontsize=10)
    return fig


@figure_command("uddm_examples", __doc__)
def main(cfg, results):
    plt = use_agg()
    m = cfg.models[-1]
    times = list(cfg.exp2_times)
    jr = times.index(0.1) if 0.1 in times else 0
    reg = pick_regimes(results, m, jr)
    figs, data = {}, {"model": m, "examples": {}}
    for name in REGIMES:
        r = next(r for r in model_results(results, m) if r["point"]["n_train"] == reg[name])
        t = r["examples"]["train"]["t"]
        fig = _draw(plt, r, r["vocab_size"], f"{m}, n = {reg[name]} ({name}): retrieval from t = {t:g}")
        caption(fig, cfg, results, "shaded: corrupted positions; red frame: final token differs "
                "from the reference; colour: eq. 13 at t0 of the final token")
        figs[name] = fig
        data["examples"][name] = {"n_train": reg[name], "t": t, "items": r["examples"]}
    return figs, data


if __name__ == "__main__":
    main()
