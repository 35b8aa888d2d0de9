"""The figure of the circle census, drawn from its data (`amsim.circle_study.figure_data`).

`draw` takes the JSON-able dict written next to the PNG and returns a matplotlib Figure;
nothing here computes a result.
"""
from __future__ import annotations

import textwrap

import numpy as np

COLOURS = {"memorised": "C0", "spurious": "C3", "generalised": "C2"}
MARKERS = {"memorised": "o", "spurious": "X", "generalised": "s"}


def draw(data: dict):
    """Top: stable points per class against n, network and exact DAM. Bottom: the exact
    energy landscape and both models' stable points for three n."""
    from memkit.figures import use_agg

    plt, s = use_agg(), data["settings"]
    fig = plt.figure(figsize=(18, 10.5))
    outer = fig.add_gridspec(2, 1, height_ratios=[1, 1.1], hspace=0.42)
    row = outer[0].subgridspec(1, 4, wspace=0.3)
    bottom = outer[1].subgridspec(1, 3, wspace=0.15)
    for j, (kind, title) in enumerate((("network", "score network (MLP)"),
                                       ("exact", "exact empirical score (DAM, beta = 1/sigma^2)"))):
        ax = fig.add_subplot(row[0, j])
        d = data["summary"][kind]
        for c in COLOURS:
            ax.errorbar(d["n"], d[c]["mean"], yerr=d[c]["sem"], color=COLOURS[c], marker=MARKERS[c], ms=5,
                        capsize=2, lw=1.5, label=c)
        _log_n(ax, d["n"])
        ax.set_ylabel("distinct stable points (mean +- s.e. over seeds)")
        pk = data["peak"][kind]
        verdict = (f"spurious peak at n = {pk['n_at_max']}" if pk["peak"]
                   else f"no spurious peak (max {pk['max']:.2f} at n = {pk['n_at_max']})")
        ax.set_title(f"{title}\n{verdict}", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    ax = fig.add_subplot(row[0, 2])
    for kind, style in (("network", "ko-"), ("exact", "k--")):
        d = data["summary"][kind]
        ne = [np.nan if v is None else v for v in d["n_eff_non_memorised"]]
        ax.plot(d["n"], ne, style, ms=4, label=kind)
    _log_n(ax, data["summary"]["network"]["n"])
    ax.set_ylabel("1 / sum_mu p_mu(x)^2 (training points mixed)")
    ax.set_title("non-memorised stable points: how many training\npoints the exact posterior there mixes",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    loss = fig.add_subplot(row[0, 3])
    d = data["summary"]["network"]
    loss.plot(d["n"], d["final_loss"], "ko-", ms=4, label="network (last 10% of steps)")
    loss.plot(d["n"], d["loss_of_exact"], "k--", label="exact empirical denoiser")
    _log_n(loss, d["n"])
    loss.set_ylabel("denoising loss E||eps_hat - eps||^2")
    loss.set_title("network loss against the exact denoiser's\n(the floor of the training loss)", fontsize=10)
    loss.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    for j, phase in enumerate(("memorising", "transition", "generalising")):
        ax = fig.add_subplot(bottom[0, j])
        p = data["panels"][phase]
        g = np.asarray(p["axis"])
        e = np.asarray(p["energy"])
        ax.contourf(g, g, np.minimum(e, np.quantile(e, 0.95)), levels=20, cmap="Greys_r", alpha=0.8)
        t = np.linspace(0, 2 * np.pi, 300)
        ax.plot(np.cos(t), np.sin(t), color="y", lw=0.8, ls="--", label="unit circle")
        xy = np.asarray(p["data"])
        ax.plot(xy[:, 0], xy[:, 1], "+", color="k", ms=9, mew=1.5, label="training points")
        for c in COLOURS:
            net = [q for q in p["network"] if q["class"] == c]
            ex = [q for q in p["exact"] if q["class"] == c]
            ax.scatter([q["x"] for q in net], [q["y"] for q in net], c=COLOURS[c], marker=MARKERS[c], s=40,
                       edgecolors="w", linewidths=0.5, label=f"network: {c}", zorder=3)
            ax.scatter([q["x"] for q in ex], [q["y"] for q in ex], facecolors="none", edgecolors=COLOURS[c],
                       marker=MARKERS[c], s=110, linewidths=1.2, label=f"exact: {c}", zorder=2)
        ax.set_aspect("equal")
        ax.set_xlim(g[0], g[-1])
        ax.set_ylim(g[0], g[-1])
        ax.set_xlabel("x_1")
        ax.set_ylabel("x_2")
        ax.set_title(f"{phase}: n = {p['n']} (seed {p['seed']})\nexact energy E (eq. D1), darker = lower",
                     fontsize=10)
        if j == 2:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    cap = (f"Unit circle, n = {s['n_values']} training points (uniform random angles), seeds {s['seeds']}; "
           f"denoising score matching at one noise level sigma = {s['sigma']}; MLP 2-{s['hidden']}-{s['hidden']}-2 "
           f"(SiLU, float64), Adam lr {s['lr']}, {s['steps']} steps of batch {s['batch']}. Stable points: "
           f"x <- D(x) = x + sigma^2 s(x) from a {s['grid']} x {s['grid']} grid on [-1.5, 1.5]^2 until the step "
           f"< {s['tol']:g} (at most {s['max_iter']} steps), spectral radius of the Jacobian < 1, merged within "
           f"{s['dedup']:g}. Memorised: within r_mem = {s['r_mem']:g} of a training point holding > 1/2 of the "
           f"exact posterior; spurious: otherwise and | |x| - 1 | > r_off = {s['r_off']:g}; generalised: the rest.")
    fig.suptitle("Dense associative memory and diffusion: stable points of a denoiser trained on n points of a "
                 "circle\n" + textwrap.fill(cap, 200), fontsize=9)
    return fig


def _log_n(ax, n):
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, [str(v) for v in n])
    ax.set_xlabel("training points n")
    ax.grid(alpha=0.3)
