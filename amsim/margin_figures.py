"""The figures of the perceptron-margin study, drawn from their data (`amsim.margin_study`).

Each `draw_*` takes the JSON-able dict that `amsim.margin_study.<name>_data` returns
(the numbers written next to the PNG) and returns a matplotlib Figure; nothing here
computes a result, so a figure can be redrawn from its JSON file alone.
"""
from __future__ import annotations

import textwrap

import numpy as np

from amsim import theory
from amsim.margin_study import BETA, PEAK_WINDOW, THRESHOLD


def caption(fig, text: str, fontsize: float = 9) -> None:
    """A figure title wrapped to the figure's width (paragraphs split at newlines)."""
    width = int(fig.get_figwidth() * 72 / (0.55 * fontsize))
    fig.suptitle("\n".join(textwrap.fill(p, width) for p in text.split("\n")), fontsize=fontsize)


def load_colors(s: dict) -> dict:
    """One colour per load, the same in every figure."""
    return {a: f"C{q}" for q, a in enumerate(s["all_loads"])}


def _pyplot():
    from memkit.figures import use_agg

    return use_agg()


def draw_training(data: dict):
    """Min margin of the rows vs step (both schedules), the gap to the max margin, ||J_i|| vs log t."""
    plt, s = _pyplot(), data["settings"]
    loads = s["loads"]
    fig, axes = plt.subplots(3, len(loads), figsize=(4.3 * len(loads), 10.5), squeeze=False)
    for c, a in enumerate(loads):
        d = data["panels"][str(a)]
        ax = axes[0, c]
        for sched, color in (("constant", "C0"), ("normalised", "C1")):
            p = d[sched]
            ax.plot(p["step"], p["min_margin_mean"], color=color, lw=2, label=f"PL, {sched} step (mean over rows)")
            ax.fill_between(p["step"], p["min_margin_lo"], p["min_margin_hi"], color=color, alpha=0.15, lw=0,
                            label="shaded: min to max over rows" if sched == "normalised" else None)
            axes[1, c].plot(p["step"], np.maximum(p["gap_to_max_margin"], 1e-4), color=color, lw=2,
                            label=f"PL, {sched} step")
        kmean, kg, aprime = d["max_margin_mean"], d["gardner_kappa_opt"], d["alpha_per_row"]
        ax.axhline(kmean, color="k", ls="--", lw=1.2, label="exact max margin (AdaTron), mean")
        ax.axhline(kg, color="C3", ls=":", lw=1.5, label="Gardner's kappa_opt(P/(N-1))")
        ax.text(0.03, 0.97, f"exact max margin: {kmean:.3f}\nGardner kappa_opt({aprime:.3f}) = {kg:.3f}",
                transform=ax.transAxes, ha="left", va="top", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
        ax.set_xscale("log")
        ax.set_ylim(max(-1.0, ax.get_ylim()[0]), None)
        ax.set_title(f"alpha = P/N = {a} (P = {d['P']}, N = {s['N']})", fontsize=10)
        ax.set_xlabel("gradient step t")
        ax.set_ylabel(r"min margin of row i: $\min_\mu \Delta_i^\mu$")
        if c == 0:
            ax.legend(fontsize=7, loc="lower right")
        bx = axes[1, c]
        bx.set_xscale("log")
        bx.set_yscale("log")
        bx.set_xlabel("gradient step t")
        bx.set_ylabel(r"gap $\langle \kappa_i^{\max} - \min_\mu \Delta_i^\mu \rangle_{\rm rows}$")
        bx.legend(fontsize=8)
        bx.grid(alpha=0.3, which="both")
        # row norm, constant step only (normalised step: ||J_i|| grows linearly by construction)
        f = d["row_norm_fit"]
        ax = axes[2, c]
        ax.plot(d["constant"]["step"], d["constant"]["row_norm_mean"], "C0", lw=2,
                label="PL, constant step: mean ||J_i||")
        ax.plot(f["step"], f["fitted"], "k--", lw=1, label=f"fit a + b ln t, b = {f['slope_per_ln_t']:.2f}")
        ax.set_xscale("log")
        ax.set_xlabel("gradient step t (log axis: a straight line is log t growth)")
        ax.set_ylabel(r"row norm $\|J_i\|$ (mean over rows)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    caption(fig,
            f"PL gradient descent on P = alpha N random patterns, N = {s['N']}, beta = {BETA}, seed {s['seed']}: "
            f"constant step (lr = 1/L, {s['steps']} steps) and normalised step "
            f"(each row moves a fixed length 1/sqrt(L) along its gradient, {s['norm_steps']} steps)\n"
            "Row 1: min margin of each row approaching its exact max margin and Gardner's kappa_opt "
            "(evaluated at the load per row P/(N-1)).  Row 2: the gap shrinking (slowly, ~1/log t, for the "
            "constant step).  Row 3: ||J_i|| grows like log t under the constant step.", fontsize=9)
    fig.tight_layout()
    return fig


def draw_capacity(data: dict):
    """Max margin vs load on Gardner's alpha_c(kappa); fraction of separable rows near 2."""
    plt, s = _pyplot(), data["settings"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8))
    g = data["gardner_curve"]
    ax.plot(g["alpha_c"], g["kappa"], "k-", lw=1.5, label="Gardner: alpha_c(kappa)  (i.e. kappa_opt(alpha))")
    for j, N in enumerate(s["cap_sizes"]):
        v = data["max_margin"][str(N)]
        off = (j - (len(s["cap_sizes"]) - 1) / 2) * 0.012
        ax.errorbar(np.asarray(v["alpha_per_row"]) + off, v["kappa_mean"], yerr=v["kappa_sd_rows"], fmt="o", ms=4,
                    capsize=3, color=f"C{j}",
                    label=f"N = {N}: exact max margin (mean and sd over {s['cap_seeds'][str(N)] * N} rows)")
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(2.0, color="C3", ls=":", lw=1.2, label="alpha_c(0) = 2")
    ax.set_xlim(0, 2.3)
    top = max(max(m + sd for m, sd in zip(v["kappa_mean"], v["kappa_sd_rows"])) for v in data["max_margin"].values())
    ax.set_ylim(-0.1, max(1.2, top + 0.15))
    ax.set_xlabel("load per row  alpha' = P / (N - 1)")
    ax.set_ylabel(r"max margin of a row  $\kappa_i = \max_{J_i} \min_\mu \Delta_i^\mu$")
    ax.set_title("Largest achievable margin vs load (AdaTron, each row exactly)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for j, N in enumerate(s["sep_sizes"]):
        v = data["separable"][str(N)]
        n_rows = s["sep_seeds"][str(N)] * s["sep_rows_per_network"][str(N)]
        bx.errorbar(v["alpha_per_row"], v["fraction"], yerr=v["binomial_se"], fmt="o", ms=4, capsize=3,
                    color=f"C{j}", label=f"N = {N}: LP feasibility, {n_rows} rows per point")
        bx.plot(v["cover_alpha"], v["cover_probability"], color=f"C{j}", lw=1, ls="--",
                label=f"Cover's formula, N - 1 = {N - 1} inputs" + (" (an upper bound: +-1 patterns are not\n"
                                                                   "in general position)" if j == 0 else ""))
    bx.axvline(2.0, color="C3", ls=":", lw=1.2, label="Gardner / Cover, N -> inf: alpha_c(0) = 2")
    bx.set_xlabel("load per row  alpha' = P / (N - 1)")
    bx.set_ylabel("fraction of rows that can store all P patterns")
    bx.set_title("Capacity at kappa = 0: which rows are linearly separable", fontsize=10)
    bx.legend(fontsize=7, loc="upper right")
    bx.grid(alpha=0.3)
    caption(fig,
            f"Max margin vs load on Gardner's curve. Loads alpha = P/N = {s['cap_loads']}, N = {s['cap_sizes']}, "
            f"error bars = row-to-row sd (seeds per N: {s['cap_seeds']}); right: separability of single rows, "
            f"{s['sep_loads']}", fontsize=9)
    fig.tight_layout()
    return fig


def draw_gradient(data: dict, training: dict):
    """Hebbian and margin terms of eq. 11; the weight 1 - tanh(beta D) concentrating on the
    least stable patterns. `training` (`training_data`) gives the max margin of the scatter rows."""
    plt, s = _pyplot(), data["settings"]
    loads = s["loads"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    col = load_colors(s)
    ax = axes[0]
    for a in loads:
        n = data["norms"][str(a)]
        ax.plot(n["step"], n["margin_norm"], color=col[a], lw=2, label=f"margin term, alpha = {a}")
        ax.plot(n["step"], n["grad_norm"], color=col[a], lw=1, ls="--", label=f"total gradient, alpha = {a}")
        ax.axhline(n["hebbian_norm"], color=col[a], lw=1, ls=":", label=f"Hebbian term, alpha = {a}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step t (constant step)")
    ax.set_ylabel("Frobenius norm per pattern")
    ax.set_title("eq. 11: gradient = Hebbian term + margin term\nthe margin term grows to cancel the Hebbian one",
                 fontsize=10)
    ax.legend(fontsize=6.5, ncol=1)
    ax.grid(alpha=0.3, which="both")
    ax = axes[1]
    for a in loads:
        for sched, ls in (("constant", "-"), ("normalised", "--")):
            sh = data["share"][f"{a}/{sched}"]
            st = np.asarray(sh["step"])
            ax.plot(st[st > 0], np.asarray(sh["share"])[st > 0], color=col[a], ls=ls, lw=2,
                    label=f"alpha = {a}, {sched} step")
        ax.axhline(sh["uniform"], color=col[a], lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("gradient step t")
    ax.set_ylabel(r"share of $\sum_\mu (1 - \tanh \beta D_i^\mu)$ carried"
                  + f"\nby the {int(100 * s['share_frac'])}% least stable patterns")
    ax.set_title(f"Learning concentrates on the least stable patterns\n(mean over rows; dotted: "
                 f"{s['share_frac']:.2f}, the share at J = 0)", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[2]
    a = s["scatter_load"]
    cmap = plt.get_cmap("viridis")
    steps = list(data["scatter"])
    for q, st in enumerate(steps):
        sn = data["scatter"][st]
        dl, lw = np.ravel(sn["delta"]), np.ravel(sn["log10_weight"])
        color = cmap(q / max(1, len(steps) - 1))
        if st == "0":
            ax.axhline(lw[0], color=color, lw=1.5, label="t = 0 (J = 0: every weight is 1)")
        else:
            ax.scatter(dl, lw, s=6, color=color, alpha=0.6, label=f"t = {st}")
    kmax = np.asarray(training["panels"][str(a)]["max_margin_rows"])[: s["scatter_rows"]]
    ax.axvline(kmax.mean(), color="k", ls="--", lw=1, label="exact max margin of these rows")
    ax.set_ylim(-8, 0.5)
    ax.set_xlabel(r"normalised stability $\Delta_i^\mu = D_i^\mu / \|J_i\|$")
    ax.set_ylabel(r"weight of the pattern  $\log_{10}(1 - \tanh \beta D_i^\mu)$")
    ax.set_title(f"Weight of each pattern vs its stability, alpha = {a}\n"
                 f"(rows 0-{s['scatter_rows'] - 1}, constant step; below -8 not shown)", fontsize=10)
    ax.legend(fontsize=7, loc="upper right", markerscale=2)
    ax.grid(alpha=0.3)
    caption(fig, f"The two terms of the PL gradient (eq. 11) during training, N = {s['N']}, loads {loads}, "
                 f"beta = {BETA}, seed {s['seed']}", fontsize=10)
    fig.tight_layout()
    return fig


def draw_stabilities(data: dict, training: dict):
    """Stabilities after long training and at the max margin vs Gardner's law at the optimum."""
    plt, s = _pyplot(), data["settings"]
    loads = s["loads"]
    fig, axes = plt.subplots(1, len(loads), figsize=(4.6 * len(loads), 4.4), squeeze=False)
    edges = np.asarray(data["bin_edges"])
    centres = 0.5 * (edges[:-1] + edges[1:])
    width = edges[1] - edges[0]
    for c, a in enumerate(loads):
        ax, p = axes[0, c], data["panels"][str(a)]
        kg = p["gardner_kappa"]
        ax.bar(centres, p["theory_density"], width=width, color="0.8", edgecolor="0.6", lw=0.5,
               label=f"Gardner at the optimum (kappa = {kg:.3f}):\n"
                     f"tail phi(Delta), peak of weight Phi(kappa) = {theory.gardner_stability_peak_weight(kg):.2f}")
        ax.step(centres, p["maxmargin_density"], where="mid", color="k", lw=1.2, label="exact max-margin rows (AdaTron)")
        ax.step(centres, p["pl_density"], where="mid", color="C1", lw=1.5,
                label=f"PL after {s['norm_steps']} normalised steps")
        ax.text(0.98, 0.55, f"mass within {PEAK_WINDOW} of each row's min:\n"
                f"PL {p['pl_peak_fraction']:.2f}, max margin {p['maxmargin_peak_fraction']:.2f},\n"
                f"Gardner {p['gardner_peak_fraction_in_window']:.2f}",
                transform=ax.transAxes, ha="right", va="top", fontsize=8)
        ax.set_xlim(-0.3, 3.6)
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 5e3)
        ax.set_xlabel(r"normalised stability $\Delta_i^\mu = \xi_i^\mu h_i^\mu / \|J_i\|$")
        ax.set_ylabel("density (all rows and patterns pooled)")
        ax.set_title(f"alpha = {a}: P = {training['panels'][str(a)]['P']}, N = {s['N']}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 1.0))
        ax.grid(alpha=0.3)
    caption(fig, f"Distribution of stabilities after long training vs Gardner's law at the optimum "
                 f"(a Gaussian tail cut at kappa, the rest piled on kappa); N = {s['N']}, seed {s['seed']}, "
                 f"bins of {width:.2f} (the delta peak is drawn as one bin). The measured peak is spread over a few "
                 f"bins because each row has its own max margin kappa_i, scattered around kappa_opt by finite N.",
            fontsize=9)
    fig.tight_layout()
    return fig


def draw_basins(data: dict):
    """Basins of Hebb and PL networks; basin radius against the margin of the network."""
    from matplotlib.lines import Line2D

    plt, s = _pyplot(), data["settings"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.2))
    col = load_colors(s)
    f = np.asarray(data["fractions"])
    for a in s["basin_loads"]:
        pb, hb = data["curves"][f"PL/{a}"], data["curves"][f"Hebb/{a}"]
        ax.errorbar(f, pb["mean_overlap"], yerr=pb["sem_overlap"], color=col[a], marker="o", ms=3.5,
                    capsize=2, lw=1.8, label=f"PL, alpha = {a} (margin {pb['net_margin']:.2f})")
        ax.errorbar(f, hb["mean_overlap"], yerr=hb["sem_overlap"], color=col[a], marker="s", ms=3.5,
                    capsize=2, lw=1.2, ls="--", mfc="white", label=f"Hebb, alpha = {a} (margin {hb['net_margin']:.2f})")
    ax.axhline(THRESHOLD, color="grey", ls=":", lw=1, label=f"threshold {THRESHOLD} (basin radius)")
    ax.set_xlabel("flipped fraction f = k / N of a stored pattern")
    ax.set_ylabel("final overlap m after asynchronous dynamics")
    ax.set_title(f"Basins: PL (solid, {s['norm_steps']} normalised steps) vs Hebb (dashed) at the same loads",
                 fontsize=10)
    ax.set_ylim(-0.1, 1.05)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    ax.grid(alpha=0.3)
    # radius vs margin: per network (big markers) and per reference (small dots)
    markers = {"PL, constant step": ("o", 40), "PL, normalised step": ("*", 110), "Hebb": ("s", 40)}
    jitter = np.random.default_rng(0)
    for b in data["radius_vs_margin"].values():
        rr = np.asarray(b["radius_per_ref"])
        bx.scatter(b["ref_min_stability"], rr + 0.003 * (jitter.random(len(rr)) - 0.5), s=6, color=col[b["alpha"]],
                   alpha=0.3, lw=0)
        m, size = markers[b["kind"]]
        bx.scatter([b["net_margin"]], [b["radius"]], s=size, marker=m, color=col[b["alpha"]], edgecolor="k", lw=0.6,
                   zorder=3)
    snap_t = [t for t in s["snapshots"] if t > 0]
    names = {"PL, constant step": f"PL, constant step, t = {snap_t[0]}..{snap_t[-1]}",
             "PL, normalised step": f"PL, normalised step, {s['norm_steps']} steps", "Hebb": "Hebb's rule"}
    handles = [Line2D([], [], ls="", marker=m, ms=7 if m != "*" else 11, mfc="white", mec="k", label=names[k])
               for k, (m, _) in markers.items()]
    handles += [Line2D([], [], ls="", marker="o", ms=6, color=col[a], label=f"alpha = {a}") for a in s["all_loads"]]
    handles.append(Line2D([], [], ls="", marker=".", ms=5, color="0.5", alpha=0.5,
                          label=r"dots: single patterns, x = $\min_i \Delta_i^\mu$"))
    bx.legend(handles=handles, fontsize=7, loc="upper left")
    bx.set_xlabel(r"margin of the network: $\langle \min_\mu \Delta_i^\mu \rangle_{\rm rows}$ (big markers)")
    bx.set_ylabel(f"basin radius (largest f with mean overlap >= {THRESHOLD})")
    bx.set_title("Larger margin, larger basin (one marker per trained network)", fontsize=10)
    bx.grid(alpha=0.3)
    caption(fig, f"Basins of attraction of stored random patterns, N = {s['N']}, {s['n_refs']} patterns x "
            f"{s['n_trials']} trials per point, asynchronous dynamics, seed {s['seed']}; the radius is read on the "
            f"grid f = {data['fractions']}", fontsize=10)
    fig.tight_layout()
    return fig


def draw(data: dict) -> dict:
    """Every figure of the study from `amsim.margin_study.figure_data`: {name: Figure}."""
    return {"training": draw_training(data["training"]), "capacity": draw_capacity(data["capacity"]),
            "gradient": draw_gradient(data["gradient"], data["training"]),
            "stabilities": draw_stabilities(data["stabilities"], data["training"]),
            "basins": draw_basins(data["basins"])}
