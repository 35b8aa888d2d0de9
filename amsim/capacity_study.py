"""Retrieval against load, Hebb vs pseudo-likelihood: what experiments/am_capacity.py computes.

For a rule, size N and load alpha = P / N: store P random patterns, start the
asynchronous dynamics at stored patterns (exactly, and with a fraction of their bits
flipped), run to a fixed point and record the final overlap m = (1/N) xi . sigma.
Hebb's rule loses its retrieval states at alpha_c = 0.138 (Amit, Gutfreund and
Sompolinsky; `amsim.theory.ags_overlap`); pseudo-likelihood trained to near zero loss
keeps every stored pattern a fixed point up to Gardner's alpha_c = 2 per row.

- `measure_point`: one (rule, N, alpha, seed) network and its retrieval, a
  `memkit.sweep` unit cached by its configuration;
- `plan`: the units of a run (more seeds where one network has few patterns);
- `summarise`, `figure_data`: the pooled means and standard errors the figure plots
  (drawn by `amsim.capacity_figures`).
"""
from __future__ import annotations

import math
import time

import numpy as np

from amsim import theory
from amsim.margin_study import patterns_at_load
from amsim.memory import HebbianMemory, PseudoLikelihoodMemory
from amsim.patterns import flip_bits
from memkit.measures import mean_sem, overlap

VERSION = 1  # part of every cache key: bump when a unit's computation changes
BETA = 1.0
RULES = ("hebb", "pl")
_PATTERNS, _RETRIEVAL = 17, 19  # random streams of the study


def n_patterns(n_neurons: int, alpha: float) -> int:
    """P = max(1, round(alpha N)), the number of patterns at load alpha."""
    return max(1, int(round(alpha * n_neurons)))


def measure_point(cfg: dict) -> dict:
    """Train one network and measure retrieval from its stored patterns.

    cfg : rule ("hebb" or "pl"), N, alpha, seed, refs (patterns probed), flip (fraction
        of bits flipped in the corrupted starts), max_sweeps, and for PL pl_iters (the
        L-BFGS iteration cap).

    Returns P, the training time in seconds, the fraction of stable bits
    (xi_i^mu h_i^mu > 0, eq. 7) and of patterns that are fixed points, and for the
    exact starts ("f0") and the corrupted ones ("flip") the final overlap per
    reference, the fraction of runs that converged and the bits flipped k.
    """
    xi = patterns_at_load(cfg["N"], cfg["alpha"], cfg["seed"], _PATTERNS)
    P, N = xi.shape
    t0 = time.perf_counter()
    if cfg["rule"] == "hebb":
        net = HebbianMemory(beta=BETA).fit(xi)
    else:
        net = PseudoLikelihoodMemory(beta=BETA, solver="lbfgs", n_steps=cfg["pl_iters"],
                                     record_every=10 ** 6).fit(xi)
    t_train = time.perf_counter() - t0
    rng = np.random.default_rng([cfg["seed"], N, P, _RETRIEVAL])
    refs = xi[: min(P, cfg["refs"])]
    D = net.margins(xi)  # (P, N) normalised stabilities
    out = {"P": int(P), "train_seconds": t_train,
           "stable_bits": float(np.mean(D > 0)),
           "fixed_points": float(np.mean(np.all(D > 0, axis=1)))}
    for tag, frac in (("f0", 0.0), ("flip", cfg["flip"])):
        k = int(round(frac * N))
        start = flip_bits(refs, k, seed=rng) if k > 0 else refs
        r = net.run(start, mode="async", seed=rng, max_sweeps=cfg["max_sweeps"])
        m = overlap(r.states, refs)
        out[tag] = {"overlap": np.round(m, 6).tolist(), "converged": float(r.converged.mean()), "k": k}
    return out


def plan(hebb_sizes, hebb_loads, pl_sizes, pl_loads, pl_iters, refs, min_refs, flip, max_sweeps, seed):
    """The units of a run: ((rule, N, alpha), cfg) per unit, cfg its cache key, and the
    seeds per point {"rule/N/alpha": n}.

    A point gets ceil(min_refs / min(P, refs)) seeds (networks), so that at least
    min_refs references are probed. Cheap units come first (PL after Hebb, then by
    the cost of a PL step ~ P N^2).
    """
    seeds, tasks = {}, []
    for rule, sizes, loads in (("hebb", hebb_sizes, hebb_loads), ("pl", pl_sizes, pl_loads)):
        for N in sizes:
            for a in loads:
                n_seeds = max(1, math.ceil(min_refs / min(n_patterns(N, a), refs)))
                seeds[f"{rule}/{N}/{a}"] = n_seeds
                for k in range(n_seeds):
                    cfg = {"v": VERSION, "rule": rule, "N": N, "alpha": a, "seed": seed + k, "refs": refs,
                           "flip": flip, "max_sweeps": max_sweeps, "beta": BETA}
                    if rule == "pl":
                        cfg["pl_iters"] = pl_iters
                    tasks.append(((rule, N, a), cfg))
    tasks.sort(key=lambda t: (t[1]["rule"] == "pl", t[1]["N"] ** 2 * t[1]["alpha"]))
    return tasks, seeds


def summarise(points: list) -> dict:
    """Pool the per-reference overlaps of all seeds of one (rule, N, load).

    Mean and standard error over references (`memkit.measures.mean_sem`) for the
    exact ("f0") and corrupted ("flip") starts; the fractions of fixed points and of
    stable bits averaged over seeds; P of the point.
    """
    out = {}
    for tag in ("f0", "flip"):
        m = np.concatenate([np.asarray(p[tag]["overlap"]) for p in points])
        mean, sem = mean_sem(m)
        out[tag] = {"mean": mean, "sem": sem, "n": int(len(m)), "k": points[0][tag]["k"]}
    out["fixed_points"] = float(np.mean([p["fixed_points"] for p in points]))
    out["stable_bits"] = float(np.mean([p["stable_bits"] for p in points]))
    out["P"] = points[0]["P"]
    return out


def collect(tasks: list, results: list) -> dict:
    """The summary of every (rule, N, alpha) from the units' results: {key: `summarise`}."""
    raw = {}
    for (key, _), r in zip(tasks, results):
        raw.setdefault(key, []).append(r)
    return {key: summarise(pts) for key, pts in raw.items()}


def seed_summary(seeds: dict) -> str:
    """'1-4' (the range of seeds per point) or '2' when every point has the same."""
    vals = sorted(set(seeds.values()))
    return f"{vals[0]}-{vals[-1]}" if len(vals) > 1 else str(vals[0])


def figure_data(res: dict, s: dict) -> dict:
    """The numbers of the figure: per rule and N, overlap (and its SEM) against the load
    from exact and corrupted starts, the AGS curve for Hebb, and for PL the fractions
    of fixed points and stable bits."""
    data = {"settings": s, "hebb": {}, "pl": {}}
    aa = np.linspace(0.005, max(s["hebb_loads"]) + 0.01, 400)
    data["hebb"]["ags"] = {"alpha": np.round(aa, 6).tolist(), "overlap": np.round(theory.ags_overlap(aa), 6).tolist(),
                           "alpha_c": theory.ags_alpha_c()}
    for rule in RULES:
        for N in s[f"{rule}_sizes"]:
            pts = [res[(rule, N, a)] for a in s[f"{rule}_loads"]]
            xs = [sm["P"] / N for sm in pts]
            d = {"alpha": xs,
                 "overlap_from_pattern": [sm["f0"]["mean"] for sm in pts],
                 "sem_from_pattern": [sm["f0"]["sem"] for sm in pts],
                 "overlap_from_flipped": [sm["flip"]["mean"] for sm in pts],
                 "sem_from_flipped": [sm["flip"]["sem"] for sm in pts]}
            if rule == "hebb":
                d["ags_at_alpha"] = np.round(theory.ags_overlap(np.asarray(xs)), 6).tolist()
            else:
                d["fraction_fixed_points"] = [sm["fixed_points"] for sm in pts]
                d["fraction_stable_bits"] = [sm["stable_bits"] for sm in pts]
            data[rule][str(N)] = d
    return data
