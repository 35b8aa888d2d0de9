#!/usr/bin/env python
"""One neuron's row of couplings is a perceptron; pseudo-likelihood is its cross-entropy
training (the paper's section 3.1; D'Amico et al. 2026).

On random +-1 patterns at several loads alpha = P/N this script trains the rows of J by
pseudo-likelihood gradient descent (eqs. 10, 11), computes the exact max-margin rows
independently (AdaTron, `amsim.max_margin_couplings`) and the separability of rows near
alpha = 2 (a linear-programming feasibility test, scipy's HiGHS), and compares everything
with Gardner's theory. Each row has N - 1 inputs, so the theory is evaluated at the load
per row alpha' = P / (N - 1).

Figures (each PNG has a JSON file with the same basename holding the plotted numbers):

    perceptron_margin_training.png      min margin of the rows vs gradient step (both
                                        schedules), the gap to the exact max margin, and
                                        the row norm growing like log t (constant step)
    perceptron_margin_capacity.png      max margin vs load for several N on Gardner's
                                        alpha_c(kappa); fraction of separable rows near 2
    perceptron_margin_gradient.png      Hebbian and margin terms of eq. 11; the weight
                                        1 - tanh(beta D) concentrating on the least stable
                                        patterns
    perceptron_margin_stabilities.png   stabilities after long training vs Gardner's law
    perceptron_margin_basins.png        basins of Hebb and PL networks; radius vs margin

Every unit of work (one trained network with its measurements, one max-margin solve,
one separability test, one Hebbian basin curve) is a unit of `memkit.sweep`, cached under
--cache by its configuration, so an interrupted run resumes and a repeated run only
redraws; `--workers k` computes them in k processes, `--shard i/n` one shard of a job
array (docs/sweeps.md).

    python experiments/perceptron_margin.py            # default settings (a few minutes)
    python experiments/perceptron_margin.py --quick    # small sizes (seconds; the tests)
"""
from __future__ import annotations

import math
import sys
import textwrap
import time
from pathlib import Path

import click
import numpy as np
from scipy import special, stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file from anywhere
    sys.path.insert(0, str(ROOT))

import amsim  # noqa: E402
from memkit import sweep  # noqa: E402
from memkit.cli import (OneLineErrorCommand, one_line_errors, parse_number_list, quick_settings,  # noqa: E402
                        sweep_options)
from memkit.io import check_outputs  # noqa: E402
from memkit.figures import FIGURES, save_data, save_figure, use_agg  # noqa: E402

NAME = "perceptron_margin"
VERSION = 2  # part of every cache key: bump when a unit's computation changes
BETA = 1.0
FRACTIONS = [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
THRESHOLD = 0.95  # basin radius: largest flipped fraction with mean final overlap >= this
HIST_BINS = np.round(np.arange(-0.6, 4.01, 0.05), 10)
PEAK_WINDOW = 0.05  # "on the margin": Delta_i^mu within this of the row's own minimum


# ------------------------------------------------------------------ helpers
def make_patterns(N: int, alpha: float, seed: int) -> np.ndarray:
    """P = round(alpha N) random patterns; the same (N, P, seed) always gives the same data."""
    P = int(round(alpha * N))
    return amsim.random_patterns(P, N, seed=np.random.default_rng([seed, N, P, 7]))


def floats(a, nd=6):
    """A list of rounded floats for JSON (NaN/inf are not allowed in the data)."""
    a = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value in a result")
    return np.round(a, nd).tolist()


def log_weights(D, beta=BETA):
    """log(1 - tanh(beta D)) = log 2 + log sigmoid(-2 beta D), without underflow."""
    return math.log(2.0) + special.log_expit(-2.0 * beta * D)


def normalised_stabilities(J, X):
    """Delta_i^mu (P, N) of eq. 7 and the raw margins D."""
    D = X * (X @ J.T)
    norms = np.linalg.norm(J, axis=1)
    return D / np.where(norms > 0, norms, 1.0), D, norms


def log_spaced_indices(steps, n=45):
    steps = np.asarray(steps)
    targets = np.unique(np.concatenate([[0], np.geomspace(1, max(steps[-1], 1), n)]))
    idx = np.unique(np.clip(np.searchsorted(steps, targets), 0, len(steps) - 1))
    return np.unique(np.concatenate([idx, [len(steps) - 1]]))


def basin_summary(J, xi, n_refs, n_trials, seed):
    """Basin curve of the first n_refs patterns plus per-reference radius and min stability."""
    refs = xi[:n_refs]
    curve = amsim.basin_curve(J, refs, FRACTIONS, n_trials=n_trials, seed=seed)
    Delta, _, _ = normalised_stabilities(J, xi.astype(float))
    return {
        "mean_overlap": floats(curve.mean_overlap()),
        "sem_overlap": floats(curve.sem_overlap()),
        "radius": float(curve.radius(THRESHOLD)),
        "radius_per_ref": floats(curve.radius_per_reference(THRESHOLD)),
        "ref_min_stability": floats(Delta[:n_refs].min(axis=1)),
        "net_margin": float(Delta.min(axis=0).mean()),  # mean over rows of min_mu Delta_i^mu
    }


def stability_histogram(Delta):
    rowmin = Delta.min(axis=0, keepdims=True)
    counts, _ = np.histogram(np.clip(Delta, HIST_BINS[0], HIST_BINS[-1] - 1e-9), bins=HIST_BINS)
    return {
        "counts": counts.tolist(),
        "n": int(Delta.size),
        "peak_fraction": float(np.mean(Delta <= rowmin + PEAK_WINDOW)),
        "mean_row_min": float(rowmin.mean()),
    }


# ------------------------------------------------------------------ units
def unit_train(cfg):
    """Train one PL network by gradient descent and measure it along the way."""
    xi = make_patterns(cfg["N"], cfg["alpha"], cfg["seed"])
    X = xi.astype(np.float64)
    P, N = xi.shape
    k_small = max(1, int(round(cfg["share_frac"] * P)))
    snaps = set(cfg["snapshots"])
    rng = np.random.default_rng([cfg["seed"], N, P, 11])
    rec = {"step": [], "share": []}
    snapshots = {}

    def callback(step, J, F, G):
        Delta, D, norms = normalised_stabilities(J, X)
        lw = log_weights(D)  # (P, N) log of the weight 1 - tanh(beta D) of each pattern in each row
        order = np.argsort(D, axis=0, kind="stable")[:k_small]
        top = special.logsumexp(np.take_along_axis(lw, order, axis=0), axis=0)
        share = np.exp(top - special.logsumexp(lw, axis=0))  # weight share of the k least stable
        rec["step"].append(step)
        rec["share"].append(float(share.mean()))
        if step in snaps:
            rows = list(range(min(cfg["scatter_rows"], N)))
            snap = {
                "scatter_delta": floats(Delta[:, rows].T) if step > 0 else floats(np.zeros((len(rows), P))),
                "scatter_log10_weight": floats(lw[:, rows].T / math.log(10)),
            }
            if step > 0:
                snap["basin"] = basin_summary(J.copy(), xi, cfg["n_refs"], cfg["n_trials"], rng)
            snapshots[str(step)] = snap

    # the first steps at full resolution (gradient descent is deterministic, so this short
    # run is exactly the start of the long one): a log time axis then starts at t = 1
    early = {"step": [], "share": []}

    def early_callback(step, J, F, G):
        _, D, _ = normalised_stabilities(J, X)
        lw = log_weights(D)
        order = np.argsort(D, axis=0, kind="stable")[:k_small]
        top = special.logsumexp(np.take_along_axis(lw, order, axis=0), axis=0)
        early["step"].append(step)
        early["share"].append(float(np.exp(top - special.logsumexp(lw, axis=0)).mean()))

    _, hist0 = amsim.train_pseudo_likelihood(
        xi, beta=BETA, schedule=cfg["schedule"], n_steps=cfg["record_every"], record_every=1,
        callback=early_callback)
    J, hist = amsim.train_pseudo_likelihood(
        xi, beta=BETA, schedule=cfg["schedule"], n_steps=cfg["n_steps"],
        record_every=cfg["record_every"], callback=callback)
    h0, h = hist0.as_arrays(), hist.as_arrays()
    ins = (h0["step"] > 0) & (h0["step"] < cfg["record_every"])
    per_step = [k for k in h if np.ndim(h[k]) >= 1 and len(h[k]) == len(h["step"])]  # skip scalars
    h = {k: np.concatenate([h[k][:1], h0[k][ins], h[k][1:]]) for k in per_step}
    rec["share"] = [rec["share"][0]] + list(np.asarray(early["share"])[ins]) + rec["share"][1:]
    idx = log_spaced_indices(h["step"])
    mm = h["min_margin"][idx]
    mm = np.where(np.isfinite(mm), mm, 0.0)  # step 0 (J = 0): margin undefined, plotted from step 1
    Delta, _, _ = normalised_stabilities(J, X)
    return {
        "P": P,
        "history": {
            "step": h["step"][idx].tolist(),
            "min_margin_rows": floats(mm),
            "row_norm_mean": floats(h["row_norm"][idx].mean(axis=1)),
            "loss": floats(h["loss"][idx], 8),
            "grad_norm": floats(h["grad_norm"][idx], 8),
            "hebbian_norm": floats(h["hebbian_norm"][idx], 8),
            "margin_norm": floats(h["margin_norm"][idx], 8),
            "share": floats(np.asarray(rec["share"])[idx]),
        },
        "k_small": k_small,
        "snapshots": snapshots,
        "final_min_margin": floats(Delta.min(axis=0)),
        "final_hist": stability_histogram(Delta),
        "final_basin": basin_summary(J, xi, cfg["n_refs"], cfg["n_trials"], rng),
    }


def unit_maxmargin(cfg):
    xi = make_patterns(cfg["N"], cfg["alpha"], cfg["seed"])
    t0 = time.perf_counter()
    mm = amsim.MaxMarginMemory(tol=cfg["tol"], max_sweeps=cfg["max_sweeps"]).fit(xi)
    Delta = mm.margins(xi)
    return {
        "P": int(xi.shape[0]),
        "kappa": floats(mm.kappa_),
        "converged": mm.converged_.astype(int).tolist(),
        "hist": stability_histogram(Delta),
        "seconds": time.perf_counter() - t0,
    }


def row_separable(xi, i):
    """Can row i store all patterns (some w with xi_i^mu w . x^mu > 0 for every mu)?

    A bounded, always-feasible linear program: maximise t subject to
    y_mu w . x_mu >= t, |w_j| <= 1, t <= 1. The row is separable iff the optimum t > 0.
    """
    from scipy.optimize import linprog

    X = xi.astype(np.float64).copy()
    y = X[:, i].copy()
    X[:, i] = 0.0
    P, N = X.shape
    A = np.hstack([-(y[:, None] * X), np.ones((P, 1))])
    c = np.zeros(N + 1)
    c[-1] = -1.0
    bounds = [(-1.0, 1.0)] * N + [(None, 1.0)]
    # fast path: the feasibility problem y_mu w . x_mu >= 1 (status 0 feasible, 2 infeasible)
    res = linprog(np.zeros(N), A_ub=-(y[:, None] * X), b_ub=-np.ones(P), bounds=(None, None), method="highs")
    if res.status in (0, 2):
        return res.status == 0
    # HiGHS occasionally reports an unknown status on the unbounded-variable problem near alpha = 2
    for method in ("highs-ds", "highs-ipm"):
        res = linprog(c, A_ub=A, b_ub=np.zeros(P), bounds=bounds, method=method)
        if res.status == 0:
            return bool(-res.fun > 1e-7)
    raise RuntimeError(f"linprog failed on row {i}: {res.message}")


def unit_separable(cfg):
    xi = make_patterns(cfg["N"], cfg["alpha"], cfg["seed"])
    rows = range(min(cfg["rows"], cfg["N"]))
    return {"P": int(xi.shape[0]), "separable": [int(row_separable(xi, i)) for i in rows]}


def unit_hebb(cfg):
    xi = make_patterns(cfg["N"], cfg["alpha"], cfg["seed"])
    J = amsim.hebb_couplings(xi)
    rng = np.random.default_rng([cfg["seed"], cfg["N"], xi.shape[0], 13])
    return {"P": int(xi.shape[0]), "basin": basin_summary(J, xi, cfg["n_refs"], cfg["n_trials"], rng)}


UNITS = {"train": unit_train, "maxmargin": unit_maxmargin, "separable": unit_separable, "hebb": unit_hebb}


def compute_unit(kind, cfg):
    """One unit of the sweep (a module-level function, so that --workers can run it)."""
    return UNITS[kind](cfg)


# ------------------------------------------------------------------ theory
def cover_separable_probability(P, n):
    """Cover (1965): probability that P points in general position in n dimensions with
    random labels are linearly separable (no bias): 2^(1-P) sum_{k<n} C(P-1, k)."""
    return float(stats.binom.cdf(n - 1, P - 1, 0.5))


def gardner_binned(kappa, edges):
    """Gardner's stability law at the optimum, integrated over histogram bins (a density)."""
    lo, hi = edges[:-1], edges[1:]
    a = np.maximum(lo, kappa)
    mass = np.where(hi > kappa, stats.norm.cdf(hi) - stats.norm.cdf(a), 0.0)
    k = np.searchsorted(edges, kappa, side="right") - 1
    if 0 <= k < len(mass):
        mass[k] += amsim.gardner_stability_peak_weight(kappa)
    return mass / (hi - lo)


# ------------------------------------------------------------------ figures
def caption(fig, text, fontsize=9):
    """A figure title wrapped to the figure's width."""
    width = int(fig.get_figwidth() * 72 / (0.55 * fontsize))
    paras = text.split("\n")
    fig.suptitle("\n".join(textwrap.fill(p, width) for p in paras), fontsize=fontsize)


def load_colors(s):
    """One colour per load, the same in every figure."""
    return {a: f"C{q}" for q, a in enumerate(s["all_loads"])}


def fig_training(res, s, out):
    plt = use_agg()
    loads = s["loads"]
    fig, axes = plt.subplots(3, len(loads), figsize=(4.3 * len(loads), 10.5), squeeze=False)
    data = {"settings": s, "panels": {}}
    for c, a in enumerate(loads):
        mm = res["mm"][a]
        kmax = np.asarray(mm["kappa"])
        aprime = mm["P"] / (s["N"] - 1)
        kg = amsim.gardner_kappa_opt(aprime)
        ax = axes[0, c]
        d = {"alpha": a, "P": mm["P"], "alpha_per_row": aprime, "gardner_kappa_opt": kg,
             "max_margin_mean": float(kmax.mean()), "max_margin_rows_converged": float(np.mean(mm["converged"]))}
        for sched, color in (("constant", "C0"), ("normalised", "C1")):
            r = res["train"][(a, sched)]["history"]
            st = np.asarray(r["step"])
            m = np.asarray(r["min_margin_rows"])
            keep = st > 0
            mean, lo, hi = m.mean(axis=1), m.min(axis=1), m.max(axis=1)
            ax.plot(st[keep], mean[keep], color=color, lw=2, label=f"PL, {sched} step (mean over rows)")
            ax.fill_between(st[keep], lo[keep], hi[keep], color=color, alpha=0.15, lw=0,
                            label="shaded: min to max over rows" if sched == "normalised" else None)
            gap = (kmax[None, :] - m).mean(axis=1)
            axes[1, c].plot(st[keep], np.maximum(gap[keep], 1e-4), color=color, lw=2,
                            label=f"PL, {sched} step")
            d[sched] = {"step": st[keep].tolist(), "min_margin_mean": floats(mean[keep]),
                        "min_margin_lo": floats(lo[keep]), "min_margin_hi": floats(hi[keep]),
                        "gap_to_max_margin": floats(gap[keep]),
                        "row_norm_mean": r["row_norm_mean"][1:] if st[0] == 0 else r["row_norm_mean"]}
        ax.axhline(kmax.mean(), color="k", ls="--", lw=1.2, label="exact max margin (AdaTron), mean")
        ax.axhline(kg, color="C3", ls=":", lw=1.5, label="Gardner's kappa_opt(P/(N-1))")
        ax.text(0.03, 0.97, f"exact max margin: {kmax.mean():.3f}\nGardner kappa_opt({aprime:.3f}) = {kg:.3f}",
                transform=ax.transAxes, ha="left", va="top", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
        ax.set_xscale("log")
        ax.set_ylim(max(-1.0, ax.get_ylim()[0]), None)
        ax.set_title(f"alpha = P/N = {a} (P = {mm['P']}, N = {s['N']})", fontsize=10)
        ax.set_xlabel("gradient step t")
        ax.set_ylabel(r"min margin of row i: $\min_\mu \Delta_i^\mu$")
        if c == 0:
            ax.legend(fontsize=7, loc="lower right")
        axes[1, c].set_xscale("log")
        axes[1, c].set_yscale("log")
        axes[1, c].set_xlabel("gradient step t")
        axes[1, c].set_ylabel(r"gap $\langle \kappa_i^{\max} - \min_\mu \Delta_i^\mu \rangle_{\rm rows}$")
        axes[1, c].legend(fontsize=8)
        axes[1, c].grid(alpha=0.3, which="both")
        # row norm, constant step only (normalised step: ||J_i|| grows linearly by construction)
        r = res["train"][(a, "constant")]["history"]
        st, nrm = np.asarray(r["step"]), np.asarray(r["row_norm_mean"])
        keep = st > 0
        fit = (st >= 10) & (st >= st[-1] / 100)
        slope, icpt = np.polyfit(np.log(st[fit]), nrm[fit], 1)
        ax = axes[2, c]
        ax.plot(st[keep], nrm[keep], "C0", lw=2, label="PL, constant step: mean ||J_i||")
        ax.plot(st[fit], icpt + slope * np.log(st[fit]), "k--", lw=1,
                label=f"fit a + b ln t, b = {slope:.2f}")
        ax.set_xscale("log")
        ax.set_xlabel("gradient step t (log axis: a straight line is log t growth)")
        ax.set_ylabel(r"row norm $\|J_i\|$ (mean over rows)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        d["final_min_margin_rows"] = {sched: res["train"][(a, sched)]["final_min_margin"]
                                      for sched in ("constant", "normalised")}
        d["max_margin_rows"] = mm["kappa"]
        d["row_norm_fit"] = {"step": st[fit].tolist(), "slope_per_ln_t": slope, "intercept": icpt,
                             "fitted": floats(icpt + slope * np.log(st[fit]))}
        data["panels"][str(a)] = d
    caption(fig, 
        f"PL gradient descent on P = alpha N random patterns, N = {s['N']}, beta = {BETA}, seed {s['seed']}: "
        f"constant step (lr = 1/L, {s['steps']} steps) and normalised step "
        f"(each row moves a fixed length 1/sqrt(L) along its gradient, {s['norm_steps']} steps)\n"
        "Row 1: min margin of each row approaching its exact max margin and Gardner's kappa_opt "
        "(evaluated at the load per row P/(N-1)).  Row 2: the gap shrinking (slowly, ~1/log t, for the "
        "constant step).  Row 3: ||J_i|| grows like log t under the constant step.", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out / f"{NAME}_training.png")
    save_data(out / f"{NAME}_training.json", data)


def fig_capacity(res, s, out):
    plt = use_agg()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8))
    data = {"settings": s, "max_margin": {}, "separable": {}}
    kk = np.linspace(-0.05, 2.5, 400)
    ag = amsim.gardner_alpha_c(kk)
    ax.plot(ag, kk, "k-", lw=1.5, label="Gardner: alpha_c(kappa)  (i.e. kappa_opt(alpha))")
    data["gardner_curve"] = {"kappa": floats(kk), "alpha_c": floats(ag)}
    for j, N in enumerate(s["cap_sizes"]):
        xs, ys, sd, se, conv = [], [], [], [], []
        for a in s["cap_loads"]:
            ks, cs, P = [], [], None
            for seed in range(s["cap_seeds"][str(N)]):
                r = res["cap"][(N, a, seed)]
                ks += r["kappa"]
                cs += r["converged"]
                P = r["P"]
            ks = np.asarray(ks)
            xs.append(P / (N - 1))
            ys.append(ks.mean())
            sd.append(ks.std(ddof=1))
            se.append(ks.std(ddof=1) / math.sqrt(len(ks)))
            conv.append(float(np.mean(cs)))
        off = (j - (len(s["cap_sizes"]) - 1) / 2) * 0.012
        ax.errorbar(np.asarray(xs) + off, ys, yerr=sd, fmt="o", ms=4, capsize=3, color=f"C{j}",
                    label=f"N = {N}: exact max margin (mean and sd over {len(ks)} rows)")
        data["max_margin"][str(N)] = {"alpha_per_row": floats(xs), "kappa_mean": floats(ys),
                                      "kappa_sd_rows": floats(sd), "kappa_sem": floats(se),
                                      "gardner_kappa_opt": floats(amsim.gardner_kappa_opt(np.asarray(xs))),
                                      "fraction_rows_converged": conv}
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(2.0, color="C3", ls=":", lw=1.2, label="alpha_c(0) = 2")
    ax.set_xlim(0, 2.3)
    top = max(max(v["kappa_mean"][k] + v["kappa_sd_rows"][k] for k in range(len(v["kappa_mean"])))
              for v in data["max_margin"].values())
    ax.set_ylim(-0.1, max(1.2, top + 0.15))
    ax.set_xlabel("load per row  alpha' = P / (N - 1)")
    ax.set_ylabel(r"max margin of a row  $\kappa_i = \max_{J_i} \min_\mu \Delta_i^\mu$")
    ax.set_title("Largest achievable margin vs load (AdaTron, each row exactly)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    aa = np.linspace(min(s["sep_loads"]) - 0.2, max(s["sep_loads"]) + 0.2, 200)
    for j, N in enumerate(s["sep_sizes"]):
        xs, fr, err = [], [], []
        for a in s["sep_loads"]:
            sep, P = [], None
            for seed in range(s["sep_seeds"][str(N)]):
                r = res["sep"][(N, a, seed)]
                sep += r["separable"]
                P = r["P"]
            p = float(np.mean(sep))
            xs.append(P / (N - 1))
            fr.append(p)
            err.append(math.sqrt(max(p * (1 - p), 1.0 / len(sep)) / len(sep)))
        bx.errorbar(xs, fr, yerr=err, fmt="o", ms=4, capsize=3, color=f"C{j}",
                    label=f"N = {N}: LP feasibility, {len(sep)} rows per point")
        cov = [cover_separable_probability(int(round(x * (N - 1))), N - 1) for x in aa]
        bx.plot(aa, cov, color=f"C{j}", lw=1, ls="--",
                label=f"Cover's formula, N - 1 = {N - 1} inputs" + (" (an upper bound: +-1 patterns are not\n"
                                                                   "in general position)" if j == 0 else ""))
        data["separable"][str(N)] = {"alpha_per_row": floats(xs), "fraction": floats(fr), "binomial_se": floats(err),
                                     "cover_alpha": floats(aa), "cover_probability": floats(cov)}
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
    save_figure(fig, out / f"{NAME}_capacity.png")
    save_data(out / f"{NAME}_capacity.json", data)


def fig_gradient(res, s, out):
    plt = use_agg()
    loads = s["loads"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    data = {"settings": s, "norms": {}, "share": {}, "scatter": {}}
    col = load_colors(s)
    ax = axes[0]
    for c, a in enumerate(loads):
        h = res["train"][(a, "constant")]["history"]
        st = np.asarray(h["step"])
        keep = st > 0
        ax.plot(st[keep], np.asarray(h["margin_norm"])[keep], color=col[a], lw=2,
                label=f"margin term, alpha = {a}")
        ax.plot(st[keep], np.asarray(h["grad_norm"])[keep], color=col[a], lw=1, ls="--",
                label=f"total gradient, alpha = {a}")
        ax.axhline(h["hebbian_norm"][0], color=col[a], lw=1, ls=":", label=f"Hebbian term, alpha = {a}")
        data["norms"][str(a)] = {"step": st[keep].tolist(), "margin_norm": np.asarray(h["margin_norm"])[keep].tolist(),
                                 "grad_norm": np.asarray(h["grad_norm"])[keep].tolist(),
                                 "hebbian_norm": h["hebbian_norm"][0]}
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step t (constant step)")
    ax.set_ylabel("Frobenius norm per pattern")
    ax.set_title("eq. 11: gradient = Hebbian term + margin term\nthe margin term grows to cancel the Hebbian one",
                 fontsize=10)
    ax.legend(fontsize=6.5, ncol=1)
    ax.grid(alpha=0.3, which="both")
    ax = axes[1]
    for c, a in enumerate(loads):
        for sched, ls in (("constant", "-"), ("normalised", "--")):
            r = res["train"][(a, sched)]
            h = r["history"]
            st = np.asarray(h["step"])
            keep = st > 0
            ax.plot(st[keep], np.asarray(h["share"])[keep], color=col[a], ls=ls, lw=2,
                    label=f"alpha = {a}, {sched} step")
            data["share"][f"{a}/{sched}"] = {"step": st.tolist(), "share": h["share"], "k": r["k_small"],
                                            "P": r["P"], "uniform": r["k_small"] / r["P"]}
        ax.axhline(r["k_small"] / r["P"], color=col[a], lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("gradient step t")
    ax.set_ylabel(r"share of $\sum_\mu (1 - \tanh \beta D_i^\mu)$ carried" + f"\nby the {int(100 * s['share_frac'])}% least stable patterns")
    ax.set_title(f"Learning concentrates on the least stable patterns\n(mean over rows; dotted: "
                 f"{s['share_frac']:.2f}, the share at J = 0)", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[2]
    a = s["scatter_load"]
    r = res["train"][(a, "constant")]
    cmap = plt.get_cmap("viridis")
    steps = [st for st in s["snapshots"] if str(st) in r["snapshots"]]
    for q, st in enumerate(steps):
        sn = r["snapshots"][str(st)]
        dl = np.asarray(sn["scatter_delta"]).ravel()
        lw = np.asarray(sn["scatter_log10_weight"]).ravel()
        col = cmap(q / max(1, len(steps) - 1))
        if st == 0:
            ax.axhline(lw[0], color=col, lw=1.5, label="t = 0 (J = 0: every weight is 1)")
        else:
            ax.scatter(dl, lw, s=6, color=col, alpha=0.6, label=f"t = {st}")
        data["scatter"][str(st)] = {"delta": sn["scatter_delta"], "log10_weight": sn["scatter_log10_weight"]}
    kmax = np.asarray(res["mm"][a]["kappa"])[: s["scatter_rows"]]
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
    save_figure(fig, out / f"{NAME}_gradient.png")
    save_data(out / f"{NAME}_gradient.json", data)


def fig_stabilities(res, s, out):
    plt = use_agg()
    loads = s["loads"]
    fig, axes = plt.subplots(1, len(loads), figsize=(4.6 * len(loads), 4.4), squeeze=False)
    edges = HIST_BINS
    centres = 0.5 * (edges[:-1] + edges[1:])
    width = edges[1] - edges[0]
    data = {"settings": s, "bin_edges": floats(edges), "panels": {}}
    for c, a in enumerate(loads):
        ax = axes[0, c]
        mm = res["mm"][a]
        aprime = mm["P"] / (s["N"] - 1)
        kg = amsim.gardner_kappa_opt(aprime)
        theory = gardner_binned(kg, edges)
        pl = res["train"][(a, "normalised")]["final_hist"]
        ex = mm["hist"]
        dens_pl = np.asarray(pl["counts"]) / (pl["n"] * width)
        dens_mm = np.asarray(ex["counts"]) / (ex["n"] * width)
        ax.bar(centres, theory, width=width, color="0.8", edgecolor="0.6", lw=0.5,
               label=f"Gardner at the optimum (kappa = {kg:.3f}):\n"
                     f"tail phi(Delta), peak of weight Phi(kappa) = {amsim.gardner_stability_peak_weight(kg):.2f}")
        ax.step(centres, dens_mm, where="mid", color="k", lw=1.2, label="exact max-margin rows (AdaTron)")
        ax.step(centres, dens_pl, where="mid", color="C1", lw=1.5,
                label=f"PL after {s['norm_steps']} normalised steps")
        peak_th = float(amsim.gardner_stability_peak_weight(kg) + stats.norm.cdf(kg + PEAK_WINDOW) - stats.norm.cdf(kg))
        ax.text(0.98, 0.55, f"mass within {PEAK_WINDOW} of each row's min:\n"
                f"PL {pl['peak_fraction']:.2f}, max margin {ex['peak_fraction']:.2f},\nGardner {peak_th:.2f}",
                transform=ax.transAxes, ha="right", va="top", fontsize=8)
        ax.set_xlim(-0.3, 3.6)
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 5e3)
        ax.set_xlabel(r"normalised stability $\Delta_i^\mu = \xi_i^\mu h_i^\mu / \|J_i\|$")
        ax.set_ylabel("density (all rows and patterns pooled)")
        ax.set_title(f"alpha = {a}: P = {mm['P']}, N = {s['N']}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 1.0))
        ax.grid(alpha=0.3)
        data["panels"][str(a)] = {"alpha_per_row": aprime, "gardner_kappa": kg, "theory_density": floats(theory),
                                  "pl_density": floats(dens_pl), "maxmargin_density": floats(dens_mm),
                                  "pl_peak_fraction": pl["peak_fraction"], "maxmargin_peak_fraction": ex["peak_fraction"],
                                  "gardner_peak_fraction_in_window": peak_th,
                                  "pl_mean_row_min": pl["mean_row_min"], "maxmargin_mean_row_min": ex["mean_row_min"]}
    caption(fig, f"Distribution of stabilities after long training vs Gardner's law at the optimum "
                 f"(a Gaussian tail cut at kappa, the rest piled on kappa); N = {s['N']}, seed {s['seed']}, "
                 f"bins of {width:.2f} (the delta peak is drawn as one bin). The measured peak is spread over a few bins because "
                 f"each row has its own max margin kappa_i, scattered around kappa_opt by finite N.", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out / f"{NAME}_stabilities.png")
    save_data(out / f"{NAME}_stabilities.json", data)


def fig_basins(res, s, out):
    plt = use_agg()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.2))
    data = {"settings": s, "fractions": FRACTIONS, "curves": {}, "radius_vs_margin": {}}
    col = load_colors(s)
    f = np.asarray(FRACTIONS)
    for a in s["basin_loads"]:
        hb = res["hebb"][a]["basin"]
        pb = res["train"][(a, "normalised")]["final_basin"]
        ax.errorbar(f, pb["mean_overlap"], yerr=pb["sem_overlap"], color=col[a], marker="o", ms=3.5,
                    capsize=2, lw=1.8, label=f"PL, alpha = {a} (margin {pb['net_margin']:.2f})")
        ax.errorbar(f, hb["mean_overlap"], yerr=hb["sem_overlap"], color=col[a], marker="s", ms=3.5,
                    capsize=2, lw=1.2, ls="--", mfc="white", label=f"Hebb, alpha = {a} (margin {hb['net_margin']:.2f})")
        data["curves"][f"PL/{a}"] = {k: pb[k] for k in ("mean_overlap", "sem_overlap", "radius", "net_margin")}
        data["curves"][f"Hebb/{a}"] = {k: hb[k] for k in ("mean_overlap", "sem_overlap", "radius", "net_margin")}
    ax.axhline(THRESHOLD, color="grey", ls=":", lw=1, label=f"threshold {THRESHOLD} (basin radius)")
    ax.set_xlabel("flipped fraction f = k / N of a stored pattern")
    ax.set_ylabel("final overlap m after asynchronous dynamics")
    ax.set_title(f"Basins: PL (solid, {s['norm_steps']} normalised steps) vs Hebb (dashed) at the same loads",
                 fontsize=10)
    ax.set_ylim(-0.1, 1.05)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    ax.grid(alpha=0.3)
    # radius vs margin: per network (big markers) and per reference (small dots)
    groups = []  # (kind, load, step, basin summary)
    for a in s["loads"]:
        r = res["train"][(a, "constant")]
        for st in s["snapshots"]:
            sn = r["snapshots"].get(str(st))
            if sn and "basin" in sn:
                groups.append(("PL, constant step", a, st, sn["basin"]))
    for a in s["all_loads"]:
        groups.append(("PL, normalised step", a, s["norm_steps"], res["train"][(a, "normalised")]["final_basin"]))
    for a in s["basin_loads"]:
        groups.append(("Hebb", a, 0, res["hebb"][a]["basin"]))
    markers = {"PL, constant step": ("o", 40), "PL, normalised step": ("*", 110), "Hebb": ("s", 40)}
    jitter = np.random.default_rng(0)
    for kind, a, st, b in groups:
        rr = np.asarray(b["radius_per_ref"])
        bx.scatter(b["ref_min_stability"], rr + 0.003 * (jitter.random(len(rr)) - 0.5), s=6, color=col[a],
                   alpha=0.3, lw=0)
        m, size = markers[kind]
        bx.scatter([b["net_margin"]], [b["radius"]], s=size, marker=m, color=col[a], edgecolor="k", lw=0.6,
                   zorder=3)
        data["radius_vs_margin"][f"{kind}, alpha = {a}, step {st}"] = {
            "kind": kind, "alpha": a, "step": st, "net_margin": b["net_margin"], "radius": b["radius"],
            "ref_min_stability": b["ref_min_stability"], "radius_per_ref": b["radius_per_ref"]}
    from matplotlib.lines import Line2D

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
            f"grid f = {FRACTIONS}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, out / f"{NAME}_basins.png")
    save_data(out / f"{NAME}_basins.json", data)


# ------------------------------------------------------------------ main
def parse_list(text, typ=float):
    return parse_number_list(text, typ)


@click.command(cls=OneLineErrorCommand)
@click.option("--n", "N", type=int, default=200, show_default=True, help="neurons for the training, stability and basin panels")
@click.option("--loads", default="0.5,1.0,1.5", show_default=True, help="loads alpha = P/N for the training panels")
@click.option("--steps", type=int, default=10000, show_default=True, help="constant-step gradient-descent steps")
@click.option("--norm-steps", type=int, default=3000, show_default=True, help="normalised-step gradient-descent steps")
@click.option("--cap-sizes", default="50,100,200", show_default=True, help="N for the max-margin-vs-load panel")
@click.option("--cap-loads", default="0.25,0.5,0.75,1.0,1.25,1.5", show_default=True)
@click.option("--sep-sizes", default="25,50,100", show_default=True, help="N for the separability panel")
@click.option("--sep-loads", default="1.5,1.75,1.9,2.0,2.1,2.25,2.5", show_default=True)
@click.option("--rows-per-point", type=int, default=200, show_default=True,
              help="max-margin rows per (N, load): seeds = ceil(this / N)")
@click.option("--sep-rows", type=int, default=150, show_default=True,
              help="rows tested for separability per (N, load), at most 50 per network")
@click.option("--basin-loads", default="0.05,0.1,0.25,0.5", show_default=True, help="loads for Hebb vs PL basins")
@click.option("--refs", "n_refs", type=int, default=40, show_default=True, help="reference patterns per basin curve")
@click.option("--trials", "n_trials", type=int, default=4, show_default=True, help="corrupted copies per reference and fraction")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=FIGURES, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "cache" / NAME,
              show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (seconds): what the tests run; options given "
              "on the command line are honoured")
@sweep_options
@one_line_errors
def main(N, loads, steps, norm_steps, cap_sizes, cap_loads, sep_sizes, sep_loads, rows_per_point, sep_rows,
         basin_loads, n_refs, n_trials, seed, out, cache, quick, shard, workers):
    """Perceptron view of pseudo-likelihood: margins, capacity, gradient terms, stabilities, basins."""
    from amsim._validate import check_couplings_memory
    from memkit.validate import check_count, check_number
    o = quick_settings(quick, dict(N=N, loads=loads, steps=steps, norm_steps=norm_steps, cap_sizes=cap_sizes,
                                   cap_loads=cap_loads, sep_sizes=sep_sizes, sep_loads=sep_loads,
                                   rows_per_point=rows_per_point, sep_rows=sep_rows, basin_loads=basin_loads,
                                   n_refs=n_refs, n_trials=n_trials),
                       dict(N=60, loads="0.5,1.0", steps=2000, norm_steps=600, cap_sizes="30,60",
                            cap_loads="0.5,1.0", sep_sizes="30,60", sep_loads="1.5,2.0,2.5",
                            rows_per_point=120, sep_rows=60, basin_loads="0.1,0.5", n_refs=15, n_trials=3))
    N, loads, steps, norm_steps = o["N"], o["loads"], o["steps"], o["norm_steps"]
    cap_sizes, cap_loads, sep_sizes, sep_loads = o["cap_sizes"], o["cap_loads"], o["sep_sizes"], o["sep_loads"]
    rows_per_point, sep_rows, basin_loads = o["rows_per_point"], o["sep_rows"], o["basin_loads"]
    n_refs, n_trials = o["n_refs"], o["n_trials"]
    loads_l, cap_l, sep_l, basin_l = (parse_number_list(x, float, name) for x, name in (
        (loads, "--loads"), (cap_loads, "--cap-loads"), (sep_loads, "--sep-loads"), (basin_loads, "--basin-loads")))
    cap_n = parse_number_list(cap_sizes, int, "--cap-sizes")
    sep_n = parse_number_list(sep_sizes, int, "--sep-sizes")
    check_count("--n", N, minimum=10)
    for name, vals in (("--cap-sizes", cap_n), ("--sep-sizes", sep_n)):
        for v in vals:
            check_count(name, v, minimum=10)
    for name, vals in (("--loads", loads_l), ("--cap-loads", cap_l), ("--sep-loads", sep_l),
                       ("--basin-loads", basin_l)):
        for v in vals:
            check_number(name, v, 0.0, low_open=True)
    check_count("--steps", steps, minimum=10)
    check_count("--norm-steps", norm_steps, minimum=10)
    for name, v in (("--rows-per-point", rows_per_point), ("--sep-rows", sep_rows), ("--refs", n_refs),
                    ("--trials", n_trials)):
        check_count(name, v)
    check_count("--seed", seed, minimum=0)
    check_outputs(**{"--out": Path(out) / f"{NAME}_basins.png", "--cache": Path(cache) / "unit.json"})
    big = max([N] + cap_n + sep_n)
    check_couplings_memory(big, int(max(loads_l + cap_l + sep_l + basin_l) * big) + 1, "pl",
                           what=f"N = {big} with loads up to {max(loads_l + cap_l + sep_l + basin_l):g} "
                                f"(--n, --cap-sizes, --sep-sizes: N x N couplings)")
    all_loads = sorted(set(loads_l) | set(basin_l))
    snapshots = [0] + [t for t in (10, 100, 1000, 10000, 100000) if t < steps] + [steps]
    share_frac = 0.1
    s = {"N": N, "loads": loads_l, "steps": steps, "norm_steps": norm_steps, "cap_sizes": cap_n, "cap_loads": cap_l,
         "sep_sizes": sep_n, "sep_loads": sep_l, "basin_loads": basin_l, "all_loads": all_loads, "n_refs": n_refs,
         "n_trials": n_trials, "seed": seed, "beta": BETA, "snapshots": snapshots, "share_frac": share_frac,
         "scatter_rows": 3, "scatter_load": loads_l[len(loads_l) // 2], "quick": quick,
         "cap_seeds": {str(n): max(1, math.ceil(rows_per_point / n)) for n in cap_n},
         "sep_seeds": {str(n): max(1, math.ceil(sep_rows / min(n, 50))) for n in sep_n},
         "sep_rows_per_network": {str(n): min(n, 50) for n in sep_n}}
    common = {"v": VERSION, "beta": BETA}
    tasks = []  # (result key, kind, config)
    for a in all_loads:
        for sched in ("constant", "normalised"):
            if sched == "constant" and a not in loads_l:
                continue
            n_st = steps if sched == "constant" else norm_steps
            snaps = snapshots if sched == "constant" else [0, n_st]
            tasks.append((("train", (a, sched)), "train", dict(
                common, N=N, alpha=a, seed=seed, schedule=sched, n_steps=n_st, record_every=10,
                snapshots=snaps, share_frac=share_frac, scatter_rows=3, n_refs=n_refs, n_trials=n_trials,
                fractions=FRACTIONS, threshold=THRESHOLD)))
        tasks.append((("hebb", a), "hebb", dict(common, N=N, alpha=a, seed=seed, n_refs=n_refs, n_trials=n_trials,
                                                 fractions=FRACTIONS, threshold=THRESHOLD)))
    mm_cfg = dict(tol=1e-6, max_sweeps=20000)
    for a in loads_l:
        tasks.append((("mm", a), "maxmargin", dict(common, N=N, alpha=a, seed=seed, **mm_cfg)))
    for n in cap_n:
        for a in cap_l:
            for k in range(s["cap_seeds"][str(n)]):
                tasks.append((("cap", (n, a, k)), "maxmargin", dict(common, N=n, alpha=a, seed=seed + k, **mm_cfg)))
    for n in sep_n:
        for a in sep_l:
            for k in range(s["sep_seeds"][str(n)]):
                tasks.append((("sep", (n, a, k)), "separable",
                              dict(common, N=n, alpha=a, seed=seed + k, rows=min(n, 50))))
    # cheap units first so that a first look comes quickly; the AdaTron near alpha = 2 last
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(dict(cfg, kind=kind), compute_unit, (kind, cfg)) for _, kind, cfg in tasks],
                    cache, shard=shard, workers=workers, desc=NAME)
    if not run.complete:
        click.echo(f"{NAME}: {run.summary()}; run without --shard to draw the figures")
        return
    res = {"train": {}, "hebb": {}, "mm": {}, "cap": {}, "sep": {}}
    for ((group, key), _, _), r in zip(tasks, run.results):
        res[group][key] = r
    click.echo(f"{NAME}: {len(tasks)} units, {run.read} from the cache, {run.computed} computed "
               f"in {time.perf_counter() - t0:.1f} s; drawing figures into {out}")
    out.mkdir(parents=True, exist_ok=True)
    fig_training(res, s, out)
    fig_capacity(res, s, out)
    fig_gradient(res, s, out)
    fig_stabilities(res, s, out)
    fig_basins(res, s, out)
    click.echo(f"wrote {', '.join(f'{NAME}_{x}.png/.json' for x in ('training', 'capacity', 'gradient', 'stabilities', 'basins'))}")


if __name__ == "__main__":
    main()
