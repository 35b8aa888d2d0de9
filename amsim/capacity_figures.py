"""The figure of the retrieval-against-load study, drawn from its data (`amsim.capacity_study`).

`draw` takes the JSON-able dict `amsim.capacity_study.figure_data` returns (the numbers
written next to the PNG) and returns a matplotlib Figure; nothing here computes a result.
"""
from __future__ import annotations

import textwrap

from amsim.capacity_study import BETA


def draw(data: dict):
    """Hebb's overlap against load with the AGS curve; PL's overlap and its fixed points."""
    from memkit.figures import use_agg

    plt, s = use_agg(), data["settings"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    # --- Hebb
    ax = axes[0]
    ags = data["hebb"]["ags"]
    ax.plot(ags["alpha"], ags["overlap"], "k-", lw=2, label="AGS theory, N -> inf (m = 0 past alpha_c)")
    ax.axvline(ags["alpha_c"], color="k", ls=":", lw=1, label=f"alpha_c = {ags['alpha_c']:.3f}")
    _overlaps(ax, data["hebb"], s["hebb_sizes"], s["flip"])
    ax.set_xlabel("load alpha = P / N")
    ax.set_ylabel("final overlap m with the stored pattern")
    ax.set_title("Hebb's rule: retrieval breaks down near alpha_c = 0.138", fontsize=10)
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=6.5, loc="lower left")
    ax.grid(alpha=0.3)
    # --- PL
    ax, bx = axes[1], axes[2]
    _overlaps(ax, data["pl"], s["pl_sizes"], s["flip"])
    for j, N in enumerate(s["pl_sizes"]):
        d = data["pl"][str(N)]
        bx.plot(d["alpha"], d["fraction_fixed_points"], color=f"C{j}", marker="o", ms=4, lw=1.5,
                label=f"N = {N}: patterns that are fixed points")
        bx.plot(d["alpha"], d["fraction_stable_bits"], color=f"C{j}", marker="^", ms=4, lw=1, ls=":",
                label=f"N = {N}: stable bits (xi_i h_i > 0)")
    for x in (ax, bx):
        x.axvline(2.0, color="C3", ls=":", lw=1.5, label="Gardner limit alpha_c = 2 (N -> inf)")
        x.set_xlabel("load alpha = P / N")
        x.set_ylim(-0.05, 1.05)
        x.grid(alpha=0.3)
    ax.set_ylabel("final overlap m with the stored pattern")
    ax.set_title("Pseudo-likelihood: retrieval from the pattern up to alpha ~ 1.5-1.9;\n"
                 "from 5% flipped starts it is lost much earlier", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    bx.set_ylabel("fraction")
    bx.set_title("PL: stored patterns that are exact fixed points\n(a pattern is lost once one of its N rows fails)",
                 fontsize=10)
    bx.legend(fontsize=7, loc="center left")
    cap = (f"Asynchronous dynamics (random order, at most {s['max_sweeps']} sweeps) started at up to {s['refs']} "
           f"stored patterns per network; error bars: standard error over patterns. Hebb: N = {s['hebb_sizes']}, "
           f"alpha = {s['hebb_loads'][0]}..{s['hebb_loads'][-1]}; PL (beta = {BETA}, L-BFGS, at most "
           f"{s['pl_iters']} iterations): N = {s['pl_sizes']}, alpha = {s['pl_loads']}; seeds per point "
           f"{s['seeds']} (base seed {s['seed']}).")
    fig.suptitle("Retrieval overlap against load, Hebb vs pseudo-likelihood\n" + textwrap.fill(cap, 190), fontsize=9)
    fig.tight_layout()
    return fig


def _overlaps(ax, rule_data, sizes, flip):
    """Overlap against load from the pattern (solid) and from flipped starts (dashed), per N."""
    for j, N in enumerate(sizes):
        d = rule_data[str(N)]
        ax.errorbar(d["alpha"], d["overlap_from_pattern"], yerr=d["sem_from_pattern"], color=f"C{j}", marker="o",
                    ms=4, capsize=2, lw=1.5, label=f"N = {N}, from the pattern")
        ax.errorbar(d["alpha"], d["overlap_from_flipped"], yerr=d["sem_from_flipped"], color=f"C{j}", marker="s",
                    ms=3.5, capsize=2, lw=1, ls="--", mfc="white", label=f"N = {N}, {flip:.0%} flipped")
