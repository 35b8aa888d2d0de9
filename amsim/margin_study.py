"""The perceptron view of pseudo-likelihood, measured (the paper's section 3.1).

One neuron's row of J is a perceptron with N - 1 inputs, and pseudo-likelihood is its
cross-entropy training (eqs. 10, 11). This module holds what
``experiments/perceptron_margin.py`` computes, so that the script only reads options
and draws:

- the units of work of the study, one JSON-able dict in and one out, each a
  `memkit.sweep` unit cached by its configuration: `measure_training` (one PL
  network trained by gradient descent, measured along the way), `measure_max_margin`
  (the exact max-margin rows, AdaTron), `measure_separability` (the LP test of single
  rows near alpha = 2) and `measure_hebb_basins`;
- the measurements they share: the weight 1 - tanh(beta D) of each pattern in the
  gradient (eq. 11) and the share of it the least stable patterns carry
  (`log_pattern_weights`, `least_stable_share`), histograms of the normalised
  stabilities Delta_i^mu (eq. 7, `stability_histogram`) and basin summaries;
- `plan` (the units a setting needs) and the aggregation of their results into the
  numbers each figure plots (`training_data`, `capacity_data`, `gradient_data`,
  `stabilities_data`, `basins_data`; drawn by `amsim.margin_figures`).

The theory the results are compared with lives in `amsim.theory` (Gardner's
kappa_opt and stability law, Cover's separability). Each row has N - 1 inputs, so the
theory is evaluated at the load per row alpha' = P / (N - 1).
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy import special

from amsim import network, theory
from amsim.basins import basin_curve
from amsim.learning import hebb_couplings, train_pseudo_likelihood
from amsim.maxmargin import row_separable
from amsim.memory import MaxMarginMemory
from amsim.patterns import random_patterns
from memkit.measures import mean_sem

VERSION = 2  # part of every cache key: bump when a unit's computation changes
BETA = 1.0
FRACTIONS = [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
THRESHOLD = 0.95  # basin radius: largest flipped fraction with mean final overlap >= this
HIST_BINS = np.round(np.arange(-0.6, 4.01, 0.05), 10)
PEAK_WINDOW = 0.05  # "on the margin": Delta_i^mu within this of the row's own minimum
SCHEDULES = ("constant", "normalised")

# the random streams of the study (part of what makes its numbers reproducible)
_PATTERNS, _TRAIN, _HEBB = 7, 11, 13


# ------------------------------------------------------------------ small helpers
def patterns_at_load(n_neurons: int, alpha: float, seed: int, stream: int) -> np.ndarray:
    """P = max(1, round(alpha N)) random patterns, int8 (P, N).

    Drawn from the random stream [seed, N, P, stream]: the same (seed, N, P, stream)
    always gives the same data, and different streams are independent.
    """
    P = max(1, int(round(alpha * n_neurons)))
    return random_patterns(P, n_neurons, seed=[seed, n_neurons, P, stream])


def json_floats(a, nd: int = 6) -> list:
    """A (nested) list of floats rounded to `nd` decimals, for JSON; NaN/inf raise ValueError."""
    a = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value in a result")
    return np.round(a, nd).tolist()


def log_spaced_indices(steps, n: int = 45) -> np.ndarray:
    """Indices into increasing `steps` (starting at 0) about evenly spaced in log t.

    Always holds the first and the last step; n targets from 1 to the last step.
    """
    steps = np.asarray(steps)
    targets = np.unique(np.concatenate([[0], np.geomspace(1, max(steps[-1], 1), n)]))
    idx = np.unique(np.clip(np.searchsorted(steps, targets), 0, len(steps) - 1))
    return np.unique(np.concatenate([idx, [len(steps) - 1]]))


def binomial_se(p: float, n: int) -> float:
    """Standard error of a fraction p of n trials, sqrt(max(p (1 - p), 1/n) / n).

    The floor 1/n keeps an error bar at p = 0 or 1, where the plug-in p (1 - p) is 0.
    """
    return math.sqrt(max(p * (1 - p), 1.0 / n) / n)


# ------------------------------------------------------------------ measurements
def log_pattern_weights(D: np.ndarray, beta: float = BETA) -> np.ndarray:
    """log(1 - tanh(beta D)), the log weight of each pattern in the PL gradient (eq. 11).

    1 - tanh(beta D) = 2 sigmoid(-2 beta D), so the log is log 2 + log sigmoid(-2 beta D),
    evaluated without underflow for wide margins. D : raw margins (P, N); same shape out.
    """
    return math.log(2.0) + special.log_expit(-2.0 * beta * D)


def least_stable_share(D: np.ndarray, k: int, log_weights: np.ndarray) -> np.ndarray:
    """(N,) share of each row's total gradient weight carried by its k least stable patterns.

    sum over the k smallest D_i^mu of (1 - tanh(beta D_i^mu)) divided by the sum over all
    mu, from the log weights (`log_pattern_weights`) by log-sum-exp. At J = 0 every
    weight is 1 and the share is k / P; learning concentrates it on the patterns
    closest to the margin.
    """
    order = np.argsort(D, axis=0, kind="stable")[:k]
    top = special.logsumexp(np.take_along_axis(log_weights, order, axis=0), axis=0)
    return np.exp(top - special.logsumexp(log_weights, axis=0))


def stability_histogram(Delta: np.ndarray) -> dict:
    """Histogram of normalised stabilities (P, N) on `HIST_BINS` (values clipped into it).

    Returns counts, the number n of stabilities, the fraction within `PEAK_WINDOW` of
    its row's minimum (compare `amsim.theory.gardner_mass_near_margin`) and the mean
    over rows of min_mu Delta_i^mu.
    """
    rowmin = Delta.min(axis=0, keepdims=True)
    counts, _ = np.histogram(np.clip(Delta, HIST_BINS[0], HIST_BINS[-1] - 1e-9), bins=HIST_BINS)
    return {
        "counts": counts.tolist(),
        "n": int(Delta.size),
        "peak_fraction": float(np.mean(Delta <= rowmin + PEAK_WINDOW)),
        "mean_row_min": float(rowmin.mean()),
    }


def basin_summary(J: np.ndarray, xi: np.ndarray, n_refs: int, n_trials: int, seed) -> dict:
    """Basin curve of the first n_refs patterns, with per-reference radius and min stability.

    Asynchronous dynamics from copies of each reference with a fraction f of its bits
    flipped, f on `FRACTIONS`; radii at `THRESHOLD`. net_margin is the margin of the
    network, the mean over rows of min_mu Delta_i^mu; ref_min_stability the smallest
    Delta_i^mu of each reference over the rows.
    """
    curve = basin_curve(J, xi[:n_refs], FRACTIONS, n_trials=n_trials, seed=seed)
    Delta = network.margins(J, xi)
    return {
        "mean_overlap": json_floats(curve.mean_overlap()),
        "sem_overlap": json_floats(curve.sem_overlap()),
        "radius": float(curve.radius(THRESHOLD)),
        "radius_per_ref": json_floats(curve.radius_per_reference(THRESHOLD)),
        "ref_min_stability": json_floats(Delta[:n_refs].min(axis=1)),
        "net_margin": float(Delta.min(axis=0).mean()),
    }


# ------------------------------------------------------------------ units
def measure_training(cfg: dict) -> dict:
    """Train one PL network by gradient descent (eqs. 10, 11) and measure it along the way.

    cfg : N, alpha, seed, schedule ("constant" or "normalised"), n_steps, record_every,
        snapshots (steps with a stability scatter and, after step 0, a basin curve),
        share_frac (the least stable fraction whose weight share is followed),
        scatter_rows, n_refs, n_trials.

    Returns the history on about log-spaced steps (min margin of every row, mean row
    norm, loss, gradient norms, weight share), the snapshots, the final min margin of
    each row, the final stability histogram and basin summary.
    """
    xi = patterns_at_load(cfg["N"], cfg["alpha"], cfg["seed"], _PATTERNS)
    X = xi.astype(np.float64)
    P, N = xi.shape
    k_small = max(1, int(round(cfg["share_frac"] * P)))
    snaps = set(cfg["snapshots"])
    rng = np.random.default_rng([cfg["seed"], N, P, _TRAIN])
    share, snapshots = [], {}

    def callback(step, J, F, G):
        D = network.margins(J, X, normalised=False)
        lw = log_pattern_weights(D)  # (P, N)
        share.append(float(least_stable_share(D, k_small, lw).mean()))
        if step in snaps:
            rows = list(range(min(cfg["scatter_rows"], N)))
            Delta = network.margins(J, X) if step > 0 else np.zeros((P, N))  # J = 0: no margin yet
            snap = {"scatter_delta": json_floats(Delta[:, rows].T),
                    "scatter_log10_weight": json_floats(lw[:, rows].T / math.log(10))}
            if step > 0:
                snap["basin"] = basin_summary(J.copy(), xi, cfg["n_refs"], cfg["n_trials"], rng)
            snapshots[str(step)] = snap

    # the first steps at full resolution (gradient descent is deterministic, so this short
    # run is exactly the start of the long one): a log time axis then starts at t = 1
    early_share = []

    def early_callback(step, J, F, G):
        D = network.margins(J, X, normalised=False)
        early_share.append(float(least_stable_share(D, k_small, log_pattern_weights(D)).mean()))

    _, hist0 = train_pseudo_likelihood(xi, beta=BETA, schedule=cfg["schedule"], n_steps=cfg["record_every"],
                                       record_every=1, callback=early_callback)
    J, hist = train_pseudo_likelihood(xi, beta=BETA, schedule=cfg["schedule"], n_steps=cfg["n_steps"],
                                      record_every=cfg["record_every"], callback=callback)
    h0, h = hist0.as_arrays(), hist.as_arrays()
    ins = (h0["step"] > 0) & (h0["step"] < cfg["record_every"])
    per_step = [k for k in h if np.ndim(h[k]) >= 1 and len(h[k]) == len(h["step"])]  # skip scalars
    h = {k: np.concatenate([h[k][:1], h0[k][ins], h[k][1:]]) for k in per_step}
    share = [share[0]] + list(np.asarray(early_share)[ins]) + share[1:]
    idx = log_spaced_indices(h["step"])
    mm = h["min_margin"][idx]
    mm = np.where(np.isfinite(mm), mm, 0.0)  # step 0 (J = 0): margin undefined, plotted from step 1
    Delta = network.margins(J, X)
    return {
        "P": P,
        "history": {
            "step": h["step"][idx].tolist(),
            "min_margin_rows": json_floats(mm),
            "row_norm_mean": json_floats(h["row_norm"][idx].mean(axis=1)),
            "loss": json_floats(h["loss"][idx], 8),
            "grad_norm": json_floats(h["grad_norm"][idx], 8),
            "hebbian_norm": json_floats(h["hebbian_norm"][idx], 8),
            "margin_norm": json_floats(h["margin_norm"][idx], 8),
            "share": json_floats(np.asarray(share)[idx]),
        },
        "k_small": k_small,
        "snapshots": snapshots,
        "final_min_margin": json_floats(Delta.min(axis=0)),
        "final_hist": stability_histogram(Delta),
        "final_basin": basin_summary(J, xi, cfg["n_refs"], cfg["n_trials"], rng),
    }


def measure_max_margin(cfg: dict) -> dict:
    """The exact max margin kappa_i of every row (AdaTron; cfg: N, alpha, seed, tol, max_sweeps)."""
    xi = patterns_at_load(cfg["N"], cfg["alpha"], cfg["seed"], _PATTERNS)
    t0 = time.perf_counter()
    mm = MaxMarginMemory(tol=cfg["tol"], max_sweeps=cfg["max_sweeps"]).fit(xi)
    return {
        "P": int(xi.shape[0]),
        "kappa": json_floats(mm.kappa_),
        "converged": mm.converged_.astype(int).tolist(),
        "hist": stability_histogram(mm.margins(xi)),
        "seconds": time.perf_counter() - t0,
    }


def measure_separability(cfg: dict) -> dict:
    """Which of the first cfg["rows"] rows can store all patterns (`amsim.row_separable`)."""
    xi = patterns_at_load(cfg["N"], cfg["alpha"], cfg["seed"], _PATTERNS)
    rows = range(min(cfg["rows"], cfg["N"]))
    return {"P": int(xi.shape[0]), "separable": [int(row_separable(xi, i)) for i in rows]}


def measure_hebb_basins(cfg: dict) -> dict:
    """Basin summary of Hebb's rule on the patterns of one (N, alpha, seed)."""
    xi = patterns_at_load(cfg["N"], cfg["alpha"], cfg["seed"], _PATTERNS)
    rng = np.random.default_rng([cfg["seed"], cfg["N"], xi.shape[0], _HEBB])
    return {"P": int(xi.shape[0]),
            "basin": basin_summary(hebb_couplings(xi), xi, cfg["n_refs"], cfg["n_trials"], rng)}


UNITS = {"train": measure_training, "maxmargin": measure_max_margin, "separable": measure_separability,
         "hebb": measure_hebb_basins}


def compute_unit(kind: str, cfg: dict) -> dict:
    """One unit of the study by its kind (a module-level function, so that workers can run it)."""
    return UNITS[kind](cfg)


# ------------------------------------------------------------------ the plan of a run
def settings(*, N, loads, steps, norm_steps, cap_sizes, cap_loads, sep_sizes, sep_loads, rows_per_point,
             sep_rows, basin_loads, n_refs, n_trials, seed, quick=False) -> dict:
    """The settings of one run (stored with every figure's data), from the script's options.

    Max-margin rows per (N, load) come from ceil(rows_per_point / N) seeds; the
    separability of min(N, 50) rows per network from ceil(sep_rows / min(N, 50)).
    """
    all_loads = sorted(set(loads) | set(basin_loads))
    snapshots = [0] + [t for t in (10, 100, 1000, 10000, 100000) if t < steps] + [steps]
    return {"N": N, "loads": loads, "steps": steps, "norm_steps": norm_steps, "cap_sizes": cap_sizes,
            "cap_loads": cap_loads, "sep_sizes": sep_sizes, "sep_loads": sep_loads, "basin_loads": basin_loads,
            "all_loads": all_loads, "n_refs": n_refs, "n_trials": n_trials, "seed": seed, "beta": BETA,
            "snapshots": snapshots, "share_frac": 0.1, "scatter_rows": 3,
            "scatter_load": loads[len(loads) // 2], "quick": quick,
            "cap_seeds": {str(n): max(1, math.ceil(rows_per_point / n)) for n in cap_sizes},
            "sep_seeds": {str(n): max(1, math.ceil(sep_rows / min(n, 50))) for n in sep_sizes},
            "sep_rows_per_network": {str(n): min(n, 50) for n in sep_sizes}}


def plan(s: dict) -> list:
    """The units a run needs: (group, key, kind, cfg) per unit; cfg is its cache key.

    group/key say where its result goes (see `collect`): train (alpha, schedule),
    hebb alpha, mm alpha (the max margin at the training size), cap (N, alpha, k) and
    sep (N, alpha, k) for seed offset k.
    """
    common = {"v": VERSION, "beta": BETA}
    tasks = []
    for a in s["all_loads"]:
        for sched in SCHEDULES:
            if sched == "constant" and a not in s["loads"]:
                continue
            n_st = s["steps"] if sched == "constant" else s["norm_steps"]
            snaps = s["snapshots"] if sched == "constant" else [0, n_st]
            tasks.append(("train", (a, sched), "train", dict(
                common, N=s["N"], alpha=a, seed=s["seed"], schedule=sched, n_steps=n_st, record_every=10,
                snapshots=snaps, share_frac=s["share_frac"], scatter_rows=s["scatter_rows"], n_refs=s["n_refs"],
                n_trials=s["n_trials"], fractions=FRACTIONS, threshold=THRESHOLD)))
        tasks.append(("hebb", a, "hebb", dict(common, N=s["N"], alpha=a, seed=s["seed"], n_refs=s["n_refs"],
                                              n_trials=s["n_trials"], fractions=FRACTIONS, threshold=THRESHOLD)))
    mm_cfg = dict(tol=1e-6, max_sweeps=20000)
    for a in s["loads"]:
        tasks.append(("mm", a, "maxmargin", dict(common, N=s["N"], alpha=a, seed=s["seed"], **mm_cfg)))
    for n in s["cap_sizes"]:
        for a in s["cap_loads"]:
            for k in range(s["cap_seeds"][str(n)]):
                tasks.append(("cap", (n, a, k), "maxmargin", dict(common, N=n, alpha=a, seed=s["seed"] + k, **mm_cfg)))
    for n in s["sep_sizes"]:
        for a in s["sep_loads"]:
            for k in range(s["sep_seeds"][str(n)]):
                tasks.append(("sep", (n, a, k), "separable",
                              dict(common, N=n, alpha=a, seed=s["seed"] + k, rows=min(n, 50))))
    return tasks


def collect(tasks: list, results: list) -> dict:
    """Results of `plan`'s units by group and key: res[group][key]."""
    res = {"train": {}, "hebb": {}, "mm": {}, "cap": {}, "sep": {}}
    for (group, key, _, _), r in zip(tasks, results):
        res[group][key] = r
    return res


# ------------------------------------------------------------------ figure data
def training_data(res: dict, s: dict) -> dict:
    """Per training load: the min margin of the rows against the step for both schedules
    (mean, min and max over rows), the gap to each row's exact max margin, Gardner's
    kappa_opt(P / (N - 1)), and the fit ||J_i|| = a + b ln t of the constant step."""
    data = {"settings": s, "panels": {}}
    for a in s["loads"]:
        mm = res["mm"][a]
        kmax = np.asarray(mm["kappa"])
        aprime = mm["P"] / (s["N"] - 1)
        d = {"alpha": a, "P": mm["P"], "alpha_per_row": aprime, "gardner_kappa_opt": theory.gardner_kappa_opt(aprime),
             "max_margin_mean": float(kmax.mean()), "max_margin_rows_converged": float(np.mean(mm["converged"]))}
        for sched in SCHEDULES:
            r = res["train"][(a, sched)]["history"]
            st = np.asarray(r["step"])
            m = np.asarray(r["min_margin_rows"])
            keep = st > 0
            gap = (kmax[None, :] - m).mean(axis=1)
            d[sched] = {"step": st[keep].tolist(), "min_margin_mean": json_floats(m.mean(axis=1)[keep]),
                        "min_margin_lo": json_floats(m.min(axis=1)[keep]),
                        "min_margin_hi": json_floats(m.max(axis=1)[keep]),
                        "gap_to_max_margin": json_floats(gap[keep]),
                        "row_norm_mean": r["row_norm_mean"][1:] if st[0] == 0 else r["row_norm_mean"]}
        r = res["train"][(a, "constant")]["history"]
        st, nrm = np.asarray(r["step"]), np.asarray(r["row_norm_mean"])
        fit = (st >= 10) & (st >= st[-1] / 100)
        slope, icpt = np.polyfit(np.log(st[fit]), nrm[fit], 1)
        d["final_min_margin_rows"] = {sched: res["train"][(a, sched)]["final_min_margin"] for sched in SCHEDULES}
        d["max_margin_rows"] = mm["kappa"]
        d["row_norm_fit"] = {"step": st[fit].tolist(), "slope_per_ln_t": slope, "intercept": icpt,
                             "fitted": json_floats(icpt + slope * np.log(st[fit]))}
        data["panels"][str(a)] = d
    return data


def capacity_data(res: dict, s: dict) -> dict:
    """Max margin against the load per row for every N (mean, row-to-row sd and SEM,
    with Gardner's kappa_opt), Gardner's curve alpha_c(kappa), and the fraction of
    separable rows near alpha = 2 with its binomial error and Cover's formula."""
    data = {"settings": s, "max_margin": {}, "separable": {}}
    kk = np.linspace(-0.05, 2.5, 400)
    data["gardner_curve"] = {"kappa": json_floats(kk), "alpha_c": json_floats(theory.gardner_alpha_c(kk))}
    for N in s["cap_sizes"]:
        xs, ys, sd, se, conv = [], [], [], [], []
        for a in s["cap_loads"]:
            seeds = [res["cap"][(N, a, k)] for k in range(s["cap_seeds"][str(N)])]
            ks = np.concatenate([r["kappa"] for r in seeds])
            mean, sem = mean_sem(ks)
            xs.append(seeds[-1]["P"] / (N - 1))
            ys.append(mean)
            sd.append(ks.std(ddof=1))
            se.append(sem)
            conv.append(float(np.mean(np.concatenate([r["converged"] for r in seeds]))))
        data["max_margin"][str(N)] = {"alpha_per_row": json_floats(xs), "kappa_mean": json_floats(ys),
                                      "kappa_sd_rows": json_floats(sd), "kappa_sem": json_floats(se),
                                      "gardner_kappa_opt": json_floats(theory.gardner_kappa_opt(np.asarray(xs))),
                                      "fraction_rows_converged": conv}
    aa = np.linspace(min(s["sep_loads"]) - 0.2, max(s["sep_loads"]) + 0.2, 200)
    for N in s["sep_sizes"]:
        xs, fr, err = [], [], []
        for a in s["sep_loads"]:
            seeds = [res["sep"][(N, a, k)] for k in range(s["sep_seeds"][str(N)])]
            sep = np.concatenate([r["separable"] for r in seeds])
            p = float(np.mean(sep))
            xs.append(seeds[-1]["P"] / (N - 1))
            fr.append(p)
            err.append(binomial_se(p, len(sep)))
        cov = [theory.cover_separable_probability(int(round(x * (N - 1))), N - 1) for x in aa]
        data["separable"][str(N)] = {"alpha_per_row": json_floats(xs), "fraction": json_floats(fr),
                                     "binomial_se": json_floats(err), "cover_alpha": json_floats(aa),
                                     "cover_probability": json_floats(cov)}
    return data


def gradient_data(res: dict, s: dict) -> dict:
    """Norms of the two terms of eq. 11 and of the gradient (constant step), the weight
    share of the least stable patterns (both schedules), and the scatter of weight
    against stability at the snapshots of the scatter load."""
    data = {"settings": s, "norms": {}, "share": {}, "scatter": {}}
    for a in s["loads"]:
        h = res["train"][(a, "constant")]["history"]
        keep = np.asarray(h["step"]) > 0
        data["norms"][str(a)] = {"step": np.asarray(h["step"])[keep].tolist(),
                                 "margin_norm": np.asarray(h["margin_norm"])[keep].tolist(),
                                 "grad_norm": np.asarray(h["grad_norm"])[keep].tolist(),
                                 "hebbian_norm": h["hebbian_norm"][0]}
    for a in s["loads"]:
        for sched in SCHEDULES:
            r = res["train"][(a, sched)]
            data["share"][f"{a}/{sched}"] = {"step": r["history"]["step"], "share": r["history"]["share"],
                                            "k": r["k_small"], "P": r["P"], "uniform": r["k_small"] / r["P"]}
    r = res["train"][(s["scatter_load"], "constant")]
    for st in s["snapshots"]:
        if str(st) in r["snapshots"]:
            sn = r["snapshots"][str(st)]
            data["scatter"][str(st)] = {"delta": sn["scatter_delta"], "log10_weight": sn["scatter_log10_weight"]}
    return data


def stabilities_data(res: dict, s: dict) -> dict:
    """Per training load: the density of the normalised stabilities after long training
    (normalised step) and at the exact max margin, against Gardner's law at the optimum
    binned alike, with the mass within `PEAK_WINDOW` of each row's minimum."""
    edges = HIST_BINS
    width = edges[1] - edges[0]
    data = {"settings": s, "bin_edges": json_floats(edges), "panels": {}}
    for a in s["loads"]:
        mm = res["mm"][a]
        aprime = mm["P"] / (s["N"] - 1)
        kg = theory.gardner_kappa_opt(aprime)
        pl, ex = res["train"][(a, "normalised")]["final_hist"], mm["hist"]
        data["panels"][str(a)] = {
            "alpha_per_row": aprime, "gardner_kappa": kg,
            "theory_density": json_floats(theory.gardner_stability_binned(kg, edges)),
            "pl_density": json_floats(np.asarray(pl["counts"]) / (pl["n"] * width)),
            "maxmargin_density": json_floats(np.asarray(ex["counts"]) / (ex["n"] * width)),
            "pl_peak_fraction": pl["peak_fraction"], "maxmargin_peak_fraction": ex["peak_fraction"],
            "gardner_peak_fraction_in_window": float(theory.gardner_mass_near_margin(kg, PEAK_WINDOW)),
            "pl_mean_row_min": pl["mean_row_min"], "maxmargin_mean_row_min": ex["mean_row_min"]}
    return data


def basins_data(res: dict, s: dict) -> dict:
    """Basin curves of PL (normalised step) and Hebb at the basin loads, and the basin
    radius against the margin of every measured network (PL snapshots of the constant
    step, PL after the normalised step, Hebb), per network and per reference."""
    data = {"settings": s, "fractions": FRACTIONS, "curves": {}, "radius_vs_margin": {}}
    keys = ("mean_overlap", "sem_overlap", "radius", "net_margin")
    for a in s["basin_loads"]:
        pb, hb = res["train"][(a, "normalised")]["final_basin"], res["hebb"][a]["basin"]
        data["curves"][f"PL/{a}"] = {k: pb[k] for k in keys}
        data["curves"][f"Hebb/{a}"] = {k: hb[k] for k in keys}
    groups = []  # (kind, load, step, basin summary)
    for a in s["loads"]:
        for st in s["snapshots"]:
            sn = res["train"][(a, "constant")]["snapshots"].get(str(st))
            if sn and "basin" in sn:
                groups.append(("PL, constant step", a, st, sn["basin"]))
    for a in s["all_loads"]:
        groups.append(("PL, normalised step", a, s["norm_steps"], res["train"][(a, "normalised")]["final_basin"]))
    for a in s["basin_loads"]:
        groups.append(("Hebb", a, 0, res["hebb"][a]["basin"]))
    for kind, a, st, b in groups:
        data["radius_vs_margin"][f"{kind}, alpha = {a}, step {st}"] = {
            "kind": kind, "alpha": a, "step": st, "net_margin": b["net_margin"], "radius": b["radius"],
            "ref_min_stability": b["ref_min_stability"], "radius_per_ref": b["radius_per_ref"]}
    return data


FIGURE_DATA = {"training": training_data, "capacity": capacity_data, "gradient": gradient_data,
               "stabilities": stabilities_data, "basins": basins_data}


def figure_data(res: dict, s: dict) -> dict:
    """The numbers behind every figure of the study: {figure name: JSON-able dict}."""
    return {name: f(res, s) for name, f in FIGURE_DATA.items()}
