#!/usr/bin/env python
"""Memorisation to generalisation in a pseudo-likelihood associative memory.

D'Amico et al. 2026 (arXiv 2507.05147) and the associative-memory reading of
Pham et al. (arXiv 2604.26841, Figs. 1-2 and 4): train pseudo-likelihood (PL,
eq. 10) on P examples of a structured data model and sweep P at fixed
structure. At every P the same training budget is used (the same number of
full-batch gradient steps at the same beta, schedule and L2).

Two data models (amsim.patterns):
  * random features: D = alpha_D N hidden +-1 features, an example is
    sign(+-f_a +- f_b +- f_c) over L = 3 random features;
  * archetypes: K archetypes, M noisy copies of each (quality r), P = K M.

At each P (and seed) the script measures, on the trained network:
  1. basins (amsim.basin_curve, asynchronous zero-temperature dynamics) around
     training examples, unseen test examples and the hidden features/archetypes:
     final overlap against the flipped fraction f, and the basin radius
     (largest f with mean final overlap >= 0.95, per reference);
  2. conditional entropies (eq. 9, summed over neurons, nats, at the training
     beta) of training examples, test examples and the fixed points reached
     from random starts;
  3. the census of attractors reached from random starts (amsim.attractor_census):
     memorised / generalised / spurious / rare / not converged.

Figures (PNG + JSON with the same basename, in --out):
  am_generalization_basins.png     training vs test basins; radius vs P
  am_generalization_features.png   features / archetypes becoming attractors
  am_generalization_entropy.png    entropy histograms at three P
  am_generalization_census.png     attractor census vs P
  am_generalization_archetypes.png the archetype model: basins and census vs P

Every (model, P, seed) unit is cached (trained network as .npz, measurements as
JSON, both named by the configuration hash) in --cache, so an interrupted run
resumes and a repeated run only redraws the figures. The units run through
`memkit.sweep`: `--workers k` computes them in k processes, `--shard i/n` one shard of
a job array on a shared cache (docs/sweeps.md).

    python experiments/am_generalization.py              # defaults (minutes)
    python experiments/am_generalization.py --quick      # small sizes (seconds)
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import click  # noqa: E402
import numpy as np  # noqa: E402

import amsim  # noqa: E402
from amsim.learning import lipschitz_bound  # noqa: E402
from memkit import sweep  # noqa: E402
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, sweep_options  # noqa: E402
from memkit.figures import FIGURES, save_data, save_figure, use_agg  # noqa: E402
from memkit.io import config_hash  # noqa: E402

VERSION = 1  # bump when a measurement changes meaning: old cache entries are then ignored
THRESHOLD = 0.95  # basin radius threshold on the mean final overlap
MAX_ENUMERATED = 20000  # enumerate every possible random-features example up to this many
CHUNK = 10  # training examples are drawn in seeded chunks, so training sets are nested in P

DEFAULTS = dict(
    n=300, alpha_d=0.05, features_per_example=3,
    alphas="0.05,0.1,0.15,0.2,0.3,0.4,0.6,0.8,1.2,1.6,2.0,3.0",
    archetypes=6, quality=0.5, per_archetype="1,2,3,4,6,8,12,16,24,32,48,64,100",
    seeds=3, steps=500, beta=0.1, schedule="constant", l2=0.0,
    refs=40, trials=4, fraction_step=0.025, max_fraction=0.45, starts=500, n_entropy=200,
    probe=0.15,
)
QUICK = dict(
    n=80, alpha_d=0.1, features_per_example=3,
    alphas="0.1,0.4,1.6",
    archetypes=4, quality=0.5, per_archetype="1,4,24",
    seeds=2, steps=200, beta=0.1, schedule="constant", l2=0.0,
    refs=20, trials=3, fraction_step=0.05, max_fraction=0.45, starts=100, n_entropy=60,
    probe=0.15,
)


# ----------------------------------------------------------------------------- data
def _rng(*key):
    """A Generator seeded by a tuple of ints (amsim takes an int or a Generator)."""
    return np.random.default_rng([int(k) for k in key])


def _features_data(cfg):
    """Features model, nested training set of P examples, unseen test pool, census references."""
    N, D, L, P, s = cfg["N"], cfg["D"], cfg["L"], cfg["P"], cfg["seed"]
    model = amsim.RandomFeaturesModel(N, D, features_per_example=L, seed=_rng(s, 1, N, D))
    chunks = [model.sample(CHUNK, seed=_rng(s, 2, N, D, c)) for c in range(math.ceil(P / CHUNK))]
    train = np.concatenate(chunks)[:P]
    n_test = max(cfg["refs"], cfg["n_entropy"])
    pool = model.sample(6 * n_test, seed=_rng(s, 3, N, D))
    test = amsim.unseen(pool, train)[:n_test]
    hidden = model.features_
    enumerable = L % 2 == 1 and model.n_possible <= MAX_ENUMERATED
    census_test = model.all_examples() if enumerable else test
    return train, test, hidden, census_test, None


def _archetype_data(cfg):
    """Archetype model: M noisy copies of each of K archetypes (nested in M), fresh test copies."""
    N, K, r, M, s = cfg["N"], cfg["K"], cfg["r"], cfg["M"], cfg["seed"]
    model = amsim.ArchetypeModel(N, K, quality=r, seed=_rng(s, 1, N, K))
    train = np.concatenate([model.sample(1, seed=_rng(s, 2, N, K, m)) for m in range(M)])
    n_test_per = math.ceil(max(cfg["refs"], cfg["n_entropy"]) / K)
    test, labels = model.sample(n_test_per, seed=_rng(s, 3, N, K), return_labels=True)
    order = np.argsort(np.tile(np.arange(n_test_per), K), kind="stable")  # interleave archetypes
    test, labels = test[order], labels[order]
    return train, test, model.archetypes_, test, labels


# ----------------------------------------------------------------------------- one unit
def _train(cfg, train, cache_dir):
    """Train PL on `train` or load the network cached under the hash of its configuration."""
    tcfg = {k: cfg[k] for k in cfg if k not in ("refs", "trials", "fractions", "starts", "n_entropy")}
    path = Path(cache_dir) / f"net_{config_hash(tcfg)}.npz"
    if path.exists():
        try:
            net, meta, _ = amsim.load_network(path)
            if meta.get("config") == tcfg:
                return net, meta["learning_rate"]
        except ValueError:
            pass
    pl = amsim.PseudoLikelihoodMemory(beta=cfg["beta"], l2=cfg["l2"], schedule=cfg["schedule"],
                                      n_steps=cfg["steps"], record_every=max(cfg["steps"], 1))
    pl.fit(train)
    lr = 1.0 / lipschitz_bound(train, cfg["beta"])  # the step PseudoLikelihoodMemory picks
    if cfg["schedule"] == "normalised":
        lr = math.sqrt(lr)
    amsim.save_network(path, pl, meta={"config": tcfg, "learning_rate": lr}, training=train)
    return pl, lr


def _basin(net, refs, fractions, trials, seed):
    curve = amsim.basin_curve(net, refs, fractions, n_trials=trials, seed=seed)
    per_ref = curve.overlap.mean(axis=2)  # (F, R)
    return {
        "per_ref_overlap": np.round(per_ref, 5).tolist(),
        "radius_mean_curve": curve.radius(THRESHOLD),
        "radius_per_ref": curve.radius_per_reference(THRESHOLD).tolist(),
        "recovery": np.round(curve.mean_recovery(), 5).tolist(),
        "converged": float(curve.converged.mean()),
        "fixed_point": float(net.is_fixed_point(refs).mean()),
    }


def measure(cfg, cache_dir):
    """Train (or load) the network of one (model, P, seed) unit and measure everything."""
    t0 = time.perf_counter()
    if cfg["model"] == "features":
        train, test, hidden, census_test, labels = _features_data(cfg)
    else:
        train, test, hidden, census_test, labels = _archetype_data(cfg)
    net, lr = _train(cfg, train, cache_dir)
    rng = np.random.default_rng([cfg["seed"], 7, cfg["P"]])
    fr = np.asarray(cfg["fractions"])
    R = cfg["refs"]
    out = {"P": cfg["P"], "learning_rate": lr, "n_test": int(len(test)),
           "row_norm": float(np.linalg.norm(net.J_, axis=1).mean())}
    out["basins"] = {
        "training": _basin(net, train[:R], fr, cfg["trials"], rng),
        "test": _basin(net, test[:R], fr, cfg["trials"], rng),
        "hidden": _basin(net, hidden[:R], fr, cfg["trials"], rng),
    }
    if labels is not None:  # archetypes: where do test / training examples themselves flow?
        for name, x, lab in (("test", test[:R], labels[:R]),
                             ("training", train[:R], np.arange(len(train))[:R] % cfg["K"])):
            res = net.run(x, seed=rng)
            ov = (res.states.astype(np.float64) * hidden[lab]).mean(axis=1)
            out[f"{name}_to_archetype"] = np.round(ov, 5).tolist()
        out["test_archetype_overlap_start"] = float((test[:R].astype(np.float64) * hidden[labels[:R]]).mean())
    cen = amsim.attractor_census(net, cfg["starts"], train, test=census_test, hidden=hidden, seed=rng)
    frac = cen.fractions()
    gen = cen.labels == "generalised"
    near_hidden = cen.best_overlap["hidden"] >= 1 - cen.delta
    frac["generalised_hidden"] = float(cen.counts[gen & near_hidden].sum()) / cen.n_starts
    frac["generalised_example"] = float(cen.counts[gen & ~near_hidden].sum()) / cen.n_starts
    out["census"] = {"fractions": frac, "n_distinct": int(len(cen.states)),
                     "n_reference_examples": int(len(census_test)),
                     "n_distinct_by_label": {lab: int((cen.labels == lab).sum())
                                             for lab in ("memorised", "generalised", "spurious", "rare")}}
    ne = cfg["n_entropy"]
    H_fp = net.conditional_entropy(cen.states, total=True) if len(cen.states) else np.zeros(0)
    out["entropy"] = {
        "training": np.round(net.conditional_entropy(train[:ne], total=True), 5).tolist(),
        "test": np.round(net.conditional_entropy(test[:ne], total=True), 5).tolist(),
        "fixed_points": np.round(np.repeat(H_fp, cen.counts), 5).tolist(),  # one per converged start
    }
    out["seconds"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- aggregation
def _mean_sem(x, axis=0):
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    m = x.mean(axis=axis)
    s = x.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(m)
    return m, s


def aggregate(results, Ps, fractions, probe):
    """Per-P curves pooled over seeds: references are the independent unit for basins."""
    fr = np.asarray(fractions)
    ip = int(np.argmin(np.abs(fr - probe)))
    agg = {"P": list(Ps), "fractions": fr.tolist(), "probe_fraction": float(fr[ip]), "sets": {}}
    for name in ("training", "test", "hidden"):
        d = {k: [] for k in ("curve_mean", "curve_sem", "radius_mean", "radius_sem",
                             "radius_curve_mean", "radius_curve_sem", "probe_mean", "probe_sem",
                             "fixed_point_mean", "fixed_point_sem", "recovery_probe_mean")}
        for P in Ps:
            units = [r["basins"][name] for r in results[P]]
            per_ref = np.concatenate([np.asarray(u["per_ref_overlap"]) for u in units], axis=1)  # (F, R*S)
            cm, cs = _mean_sem(per_ref, axis=1)
            rm, rs = _mean_sem(np.concatenate([u["radius_per_ref"] for u in units]))
            rcm, rcs = _mean_sem([u["radius_mean_curve"] for u in units])
            fm, fs = _mean_sem([u["fixed_point"] for u in units])
            d["curve_mean"].append(cm.tolist())
            d["curve_sem"].append(cs.tolist())
            d["radius_mean"].append(float(rm))
            d["radius_sem"].append(float(rs))
            d["radius_curve_mean"].append(float(rcm))
            d["radius_curve_sem"].append(float(rcs))
            d["probe_mean"].append(float(cm[ip]))
            d["probe_sem"].append(float(cs[ip]))
            d["fixed_point_mean"].append(float(fm))
            d["fixed_point_sem"].append(float(fs))
            d["recovery_probe_mean"].append(float(np.nanmean([u["recovery"][ip] for u in units])))
        agg["sets"][name] = d
    labels = ("memorised", "generalised", "generalised_hidden", "generalised_example",
              "spurious", "rare", "not_converged")
    agg["census"] = {}
    for lab in labels:
        vals = [[r["census"]["fractions"][lab] for r in results[P]] for P in Ps]
        ms = [_mean_sem(v) for v in vals]
        agg["census"][lab] = {"mean": [float(m) for m, _ in ms], "sem": [float(s) for _, s in ms]}
    agg["census"]["n_distinct_mean"] = [float(np.mean([r["census"]["n_distinct"] for r in results[P]])) for P in Ps]
    agg["row_norm_mean"] = [float(np.mean([r["row_norm"] for r in results[P]])) for P in Ps]
    agg["learning_rate_mean"] = [float(np.mean([r["learning_rate"] for r in results[P]])) for P in Ps]
    tr, te, hi = (agg["sets"][k] for k in ("training", "test", "hidden"))
    agg["markers"] = {
        # training and test basin radii meet (the brief's definition of the transition)
        "radii_meet_P": _meeting_point(Ps, tr["radius_mean"], te["radius_mean"]),
        # half of the unseen test examples are fixed points (they become attractors)
        "test_stable_P": _crossing(Ps, te["fixed_point_mean"], 0.5),
        # half of the hidden features/archetypes are fixed points
        "hidden_stable_P": _crossing(Ps, hi["fixed_point_mean"], 0.5),
        # the hidden features/archetypes get a basin as wide as the training examples
        "hidden_radius_meets_training_P": _meeting_point(Ps, tr["radius_mean"], hi["radius_mean"]),
        # random starts end as often on training examples as on generalised states
        # (counted only where the generalised fraction is at least 5%)
        "census_crossing_P": _meeting_point(Ps, agg["census"]["memorised"]["mean"],
                                            agg["census"]["generalised"]["mean"], min_level=0.05),
    }
    m = agg["markers"]
    agg["transition_P"] = m["radii_meet_P"] if m["radii_meet_P"] is not None else m["test_stable_P"]
    agg["transition_rule"] = ("training and test basin radii meet" if m["radii_meet_P"] is not None
                              else "half of the unseen test examples are fixed points")
    return agg


def _meeting_point(Ps, r_train, r_test, min_level=0.0):
    """First P (log-linear interpolation) where the test curve reaches the training curve.

    Only points where the test curve exceeds `min_level` count: two vanishing curves do not "meet".
    """
    diff = np.asarray(r_train) - np.asarray(r_test)
    ok = np.asarray(r_test) > min_level
    logP = np.log(np.asarray(Ps, dtype=float))
    if diff[0] <= 0 and ok[0]:
        return float(Ps[0])
    for i in range(1, len(diff)):
        if diff[i] <= 0 and ok[i]:
            t = diff[i - 1] / (diff[i - 1] - diff[i])
            return float(np.exp(logP[i - 1] + t * (logP[i] - logP[i - 1])))
    return None


def _crossing(Ps, y, level):
    """First P (log-linear interpolation) where the curve y reaches `level` from below; None if never."""
    y = np.asarray(y, dtype=float)
    logP = np.log(np.asarray(Ps, dtype=float))
    if y[0] >= level:
        return float(Ps[0])
    for i in range(1, len(y)):
        if y[i] >= level:
            t = (level - y[i - 1]) / (y[i] - y[i - 1])
            return float(np.exp(logP[i - 1] + t * (logP[i] - logP[i - 1])))
    return None


def _three_P(Ps, transition):
    """Memorising (smallest P), transition (grid P nearest the meeting point) and generalising (largest P)."""
    if transition is None:
        mid = Ps[len(Ps) // 2]
    else:
        inner = Ps[1:-1] if len(Ps) > 2 else Ps
        mid = min(inner, key=lambda p: abs(math.log(p) - math.log(transition)))
    return [Ps[0], mid, Ps[-1]]


# ----------------------------------------------------------------------------- figures
MARKER_STYLE = {"radii_meet_P": ("k", "--", "training/test radii meet"),
                "test_stable_P": ("tab:blue", ":", "half the test examples are fixed points"),
                "hidden_stable_P": ("tab:green", ":", "half the {word}s are fixed points"),
                "census_crossing_P": ("tab:red", "-.", "census: memorised = generalised"),
                "hidden_radius_meets_training_P": ("tab:green", "--", "{word} radius reaches training radius")}


def _markers(ax, agg, s, keys, word="feature"):
    """Vertical lines at the transition markers that exist on the grid."""
    for key in keys:
        P = agg["markers"].get(key)
        if P is None:
            continue
        color, ls, lab = MARKER_STYLE[key]
        ax.axvline(P, color=color, ls=ls, lw=1.0,
                   label=f"{lab.format(word=word)}: P = {P:.0f} (P/N = {P / s['N']:.2f})")


COLORS = {"training": "tab:red", "test": "tab:blue", "hidden": "tab:green", "fixed_points": "tab:purple"}
CENSUS_STYLE = [("memorised", "tab:red", "memorised (a training example)"),
                ("generalised_example", "tab:blue", "generalised: an unseen example"),
                ("generalised_hidden", "tab:green", "generalised: a hidden feature/archetype"),
                ("spurious", "tab:orange", "spurious (other, reached >= 2 times)"),
                ("rare", "tab:gray", "rare (other, reached once)"),
                ("not_converged", "k", "not converged")]


def _caption(s, model):
    if model == "features":
        data = (f"random features: N = {s['N']}, D = {s['D']} (alpha_D = {s['D'] / s['N']:.3g}), "
                f"L = {s['L']}, P/N in {{{', '.join(f'{a:g}' for a in s['alphas'])}}}")
    else:
        data = (f"archetypes: N = {s['N']}, K = {s['K']}, quality r = {s['r']}, "
                f"M per archetype in {{{', '.join(str(m) for m in s['Ms'])}}}")
    return (f"{data}\nPL: beta = {s['beta']}, {s['steps']} full-batch GD steps ({s['schedule']} schedule, "
            f"automatic safe step), l2 = {s['l2']}; {s['seeds']} seeds; async zero-T dynamics")


def fig_basins(plt, agg, s, three, path):
    fig, axes = plt.subplots(1, 3, figsize=(16, 6.2))
    fr = np.asarray(agg["fractions"])
    Ps = agg["P"]
    ax = axes[0]
    for P, ls in zip(three, ("-", "--", ":")):
        i = Ps.index(P)
        for name in ("training", "test"):
            m = np.asarray(agg["sets"][name]["curve_mean"][i])
            e = np.asarray(agg["sets"][name]["curve_sem"][i])
            ax.plot(fr, m, ls, color=COLORS[name], label=f"{name}, P = {P} (P/N = {P / s['N']:.2g})")
            ax.fill_between(fr, m - e, m + e, color=COLORS[name], alpha=0.15)
    ax.axhline(THRESHOLD, color="k", lw=0.6, ls="-.", label=f"radius threshold {THRESHOLD}")
    ax.set_xlabel("flipped fraction f of the start")
    ax.set_ylabel("final overlap with the reference")
    ax.set_title("(a) basins: training vs unseen test examples")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax = axes[1]
    for name, lab in (("training", "training examples"), ("test", "unseen test examples")):
        d = agg["sets"][name]
        ax.errorbar(Ps, d["radius_mean"], yerr=d["radius_sem"], marker="o", color=COLORS[name], label=lab, capsize=2)
    _markers(ax, agg, s, ("radii_meet_P", "test_stable_P"))
    ax.set_xscale("log")
    ax.set_xlabel("number of training examples P")
    ax.set_ylabel(f"basin radius (mean final overlap >= {THRESHOLD})")
    ax.set_title("(b) basin radius per reference, mean +- s.e.")
    tr, te = agg["sets"]["training"], agg["sets"]["test"]
    ax.text(0.03, 0.45, f"largest P = {Ps[-1]}:\ntraining {tr['radius_mean'][-1]:.3f} +- {tr['radius_sem'][-1]:.3f}\n"
            f"test {te['radius_mean'][-1]:.3f} +- {te['radius_sem'][-1]:.3f}", transform=ax.transAxes,
            ha="left", va="center", fontsize=8, bbox=dict(fc="white", ec="0.7"))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    ax = axes[2]
    for name, lab in (("training", "training"), ("test", "unseen test")):
        d = agg["sets"][name]
        ax.errorbar(Ps, d["probe_mean"], yerr=d["probe_sem"], marker="o", color=COLORS[name],
                    label=f"{lab}: start with f = {agg['probe_fraction']:.3g}", capsize=2)
        ax.plot(Ps, d["fixed_point_mean"], "s:", color=COLORS[name], ms=4, label=f"{lab}: fraction that are fixed points")
    _markers(ax, agg, s, ("test_stable_P",))
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("number of training examples P")
    ax.set_ylabel("final overlap / fraction")
    ax.set_title("(c) retrieval from a corrupted start")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.suptitle("Memorisation to generalisation: training basins shrink, test basins grow\n"
                 + _caption(s, "features"), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def fig_features(plt, aggs, settings, path):
    models = [m for m in ("features", "archetypes") if m in aggs]
    fig, axes = plt.subplots(len(models), 2, figsize=(13, 5.6 * len(models)), squeeze=False)
    for j, model in enumerate(models):
        agg, s = aggs[model], settings[model]
        Ps = agg["P"]
        word = "features" if model == "features" else "archetypes"
        xlabel = "number of training examples P" + (" = K M" if model == "archetypes" else "")
        d = agg["sets"]["hidden"]
        ax = axes[j, 0]
        ax.errorbar(Ps, d["radius_mean"], yerr=d["radius_sem"], marker="o", color=COLORS["hidden"],
                    label=f"hidden {word}", capsize=2)
        for name in ("training", "test"):
            ax.plot(Ps, agg["sets"][name]["radius_mean"], ".--", color=COLORS[name], lw=0.8,
                    label=f"{name} examples (for comparison)")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"basin radius (mean final overlap >= {THRESHOLD})")
        _markers(ax, agg, s, ("hidden_radius_meets_training_P", "hidden_stable_P"), word[:-1])
        ax.set_title(f"{model} model: basin radius of the hidden {word}, mean +- s.e.", fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
        ax = axes[j, 1]
        ax.errorbar(Ps, d["probe_mean"], yerr=d["probe_sem"], marker="o", color=COLORS["hidden"],
                    label=f"final overlap, start = {'an' if word[0] == 'a' else 'a'} {word[:-1]} with f = {agg['probe_fraction']:.3g} flipped", capsize=2)
        ax.errorbar(Ps, d["fixed_point_mean"], yerr=d["fixed_point_sem"], marker="s", color="tab:olive",
                    label=f"fraction of the {word} that are fixed points", capsize=2)
        ch = agg["census"]["generalised_hidden"]
        ax.errorbar(Ps, ch["mean"], yerr=ch["sem"], marker="^", color="tab:cyan",
                    label=f"fraction of random starts ending on {'an' if word[0] == 'a' else 'a'} {word[:-1]}", capsize=2)
        ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("overlap / fraction")
        ax.set_title(f"{model} model: are the {word} attractors?", fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
    fig.suptitle("The hidden structure becomes attractors as P grows\n"
                 + "\n".join(_caption(settings[m], m) for m in models), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _entropy_hist_data(results, three):
    out = {}
    for P in three:
        out[str(P)] = {k: np.concatenate([np.asarray(r["entropy"][k], dtype=float) for r in results[P]]).tolist()
                       for k in ("training", "test", "fixed_points")}
    return out


def fig_entropy(plt, hist, s, three, roles, path):
    allv = np.concatenate([np.asarray(v) for P in hist for v in hist[P].values() if len(v)])
    lo = max(allv.min(), 1e-6) if allv.size else 1e-3
    hi = max(allv.max(), 1.0) if allv.size else 1.0
    bins = np.logspace(np.log10(lo) - 0.05, np.log10(hi) + 0.05, 40)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), sharex=True)
    names = {"training": "training examples", "test": "unseen test examples", "fixed_points": "fixed points from random starts"}
    for ax, P, role in zip(axes, three, roles):
        for k in ("training", "test", "fixed_points"):
            v = np.clip(np.asarray(hist[str(P)][k]), bins[0], bins[-1])
            if v.size:
                ax.hist(v, bins=bins, density=False, weights=np.full(v.size, 1.0 / v.size), histtype="stepfilled",
                        alpha=0.35, color=COLORS[k], edgecolor=COLORS[k],
                        label=f"{names[k]} (median {np.median(v):.2g})")
        ax.set_xscale("log")
        ax.set_xlabel(f"total conditional entropy sum_i H_i (nats) at beta = {s['beta']}")
        ax.set_ylabel("fraction of states")
        role = role.replace(" (", "\n(")
        ax.set_title(f"{role.splitlines()[0]}: P = {P} (P/N = {P / s['N']:.2g})"
                     + ("\n" + role.splitlines()[1] if "\n" in role else ""), fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle("Conditional entropy (eq. 9, summed over neurons) at the network's training beta\n"
                 + _caption(s, "features"), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _census_axes(ax, agg, s, word):
    Ps = agg["P"]
    for key, color, lab in CENSUS_STYLE:
        c = agg["census"][key]
        if key == "not_converged" and max(c["mean"]) == 0:
            continue
        lab = lab.replace("feature/archetype", word)
        ax.errorbar(Ps, c["mean"], yerr=c["sem"], marker="o", ms=4, color=color, label=lab, capsize=2)
    _markers(ax, agg, s, ("census_crossing_P", "test_stable_P" if word == "feature" else "hidden_radius_meets_training_P"),
             word)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("number of training examples P")
    ax.set_ylabel("fraction of random starts")
    ax.set_xlim(Ps[0] / 1.2, Ps[-1] * 1.2)


def fig_census(plt, agg, s, path):
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6))
    _census_axes(axes[0], agg, s, "feature")
    axes[0].set_title(f"(a) where {s['starts']} random starts end (mean +- s.e. over seeds)", fontsize=9)
    axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax = axes[1]
    ax.plot(agg["P"], agg["census"]["n_distinct_mean"], "o-", color="k")
    ax.set_xscale("log")
    ax.set_xlabel("number of training examples P")
    ax.set_ylabel("distinct fixed points reached (mean over seeds)")
    ax.set_title("(b) number of distinct attractors found", fontsize=9)
    fig.suptitle("Census of attractors from random starts; |overlap| >= 0.95 counts as 'close'; "
                 "'unseen example' = any example the model can generate that is not in the training set\n"
                 + _caption(s, "features"), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def fig_archetypes(plt, agg, s, extra, path):
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.6))
    Ps = agg["P"]
    ax = axes[0]
    for name, lab in (("training", "training examples"), ("test", "unseen test examples"), ("hidden", "archetypes")):
        d = agg["sets"][name]
        ax.errorbar(Ps, d["radius_mean"], yerr=d["radius_sem"], marker="o", color=COLORS[name], label=lab, capsize=2)
    ax.set_xscale("log")
    _markers(ax, agg, s, ("hidden_radius_meets_training_P", "hidden_stable_P"), "archetype")
    ax.set_xlabel("number of training examples P = K M")
    ax.set_ylabel(f"basin radius (mean final overlap >= {THRESHOLD})")
    ax.set_title("(a) basin radius per reference, mean +- s.e.", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax = axes[1]
    for name, lab in (("training", "training example"), ("test", "unseen test example")):
        m, e = extra[f"{name}_to_archetype_mean"], extra[f"{name}_to_archetype_sem"]
        ax.errorbar(Ps, m, yerr=e, marker="o", color=COLORS[name], label=f"start at {'an' if lab[0] in 'aeiou' else 'a'} {lab}", capsize=2)
    ax.axhline(extra["test_archetype_overlap_start"], color="k", ls=":", lw=0.8,
               label=f"overlap of an example with its archetype (r = {s['r']})")
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("number of training examples P = K M")
    ax.set_ylabel("final overlap with the example's archetype")
    ax.set_title("(b) examples flow to their archetype (zero flipped bits)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    ax = axes[2]
    _census_axes(ax, agg, s, "archetype")
    ax.set_title(f"(c) census of {s['starts']} random starts (mean +- s.e. over seeds)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.suptitle("Archetype (teacher) model: memorising the examples, then retrieving the archetypes\n"
                 + _caption(s, "archetypes"), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


# ----------------------------------------------------------------------------- sweep
def by_P(units, results):
    """{P: [result of each seed]} of one data model's units."""
    out = {}
    for cfg, res in zip(units, results):
        out.setdefault(cfg["P"], []).append(res)
    return out


def _floats(text, name):
    vals = parse_number_list(text, float, name)
    if any(v <= 0 for v in vals):
        raise click.BadParameter(f"{name} must hold positive numbers, got {text!r}")
    return vals


@click.command(cls=OneLineErrorCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-N", "--n", "n", type=int, default=None, help="neurons [300; quick 80]")
@click.option("--alpha-d", type=float, default=None, help="alpha_D = D/N of the random-features model [0.05; quick 0.1]")
@click.option("--features-per-example", "L", type=int, default=None, help="L, features mixed per example [3]")
@click.option("--alphas", default=None, help="P/N grid, comma-separated [0.05,...,2.0; quick 0.1,0.4,1.6]")
@click.option("--archetypes", "K", type=int, default=None, help="K archetypes [6; quick 4]")
@click.option("--quality", type=float, default=None, help="archetype quality r (expected overlap of an example) [0.5]")
@click.option("--per-archetype", default=None, help="M grid (examples per archetype) [1,2,...,100; quick 1,4,24]")
@click.option("--seeds", type=int, default=None, help="independent data/network seeds [3; quick 2]")
@click.option("--steps", type=int, default=None, help="PL gradient steps, the same at every P [500; quick 200]")
@click.option("--beta", type=float, default=None, help="PL inverse temperature, also used for the entropies [0.1]")
@click.option("--schedule", type=click.Choice(["constant", "normalised"]), default=None, help="PL step schedule [constant]")
@click.option("--l2", type=float, default=None, help="L2 strength of PL [0]")
@click.option("--refs", type=int, default=None, help="references per set for the basins [40; quick 20]")
@click.option("--trials", type=int, default=None, help="corrupted copies per reference and fraction [4; quick 3]")
@click.option("--starts", type=int, default=None, help="random starts for the census [500; quick 100]")
@click.option("--model", type=click.Choice(["features", "archetypes", "both"]), default="both", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES), show_default=True)
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              default=str(_ROOT / "cache" / "am_generalization"), show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (what the tests run; seconds); options given "
              "on the command line are honoured")
@sweep_options
@one_line_errors
def main(n, alpha_d, L, alphas, K, quality, per_archetype, seeds, steps, beta, schedule, l2, refs, trials,
         starts, model, out, cache_dir, quick, shard, workers):
    """Memorisation to generalisation in a PL-trained associative memory (D'Amico et al. 2026)."""
    base = dict(QUICK if quick else DEFAULTS)
    given = dict(n=n, alpha_d=alpha_d, features_per_example=L, alphas=alphas, archetypes=K, quality=quality,
                 per_archetype=per_archetype, seeds=seeds, steps=steps, beta=beta, schedule=schedule, l2=l2,
                 refs=refs, trials=trials, starts=starts)
    o = {**base, **{k: v for k, v in given.items() if v is not None}}
    from amsim._validate import check_couplings_memory
    from memkit.validate import check_count, check_number
    N = check_count("-N/--n", o["n"], minimum=10)
    check_number("--alpha-d", o["alpha_d"], 0.0, low_open=True)
    check_number("--beta", o["beta"], 0.0, low_open=True)
    check_number("--l2", o["l2"], 0.0)
    check_number("--quality", o["quality"], 0.0, 1.0)
    for opt, key in (("--features-per-example", "features_per_example"), ("--archetypes", "archetypes"),
                     ("--seeds", "seeds"), ("--steps", "steps"), ("--refs", "refs"), ("--trials", "trials"),
                     ("--starts", "starts")):
        check_count(opt, o[key])
    for m in _floats(o["per_archetype"], "--per-archetype"):
        if m != int(m):
            raise click.BadParameter(f"--per-archetype must hold integers, got {o['per_archetype']!r}")
    from memkit.io import check_outputs
    check_outputs(**{"--out": Path(out) / "am_generalization_features.png",
                     "--cache": Path(cache_dir) / "unit.json"})
    a_max = max(_floats(o["alphas"], "--alphas"))
    check_couplings_memory(N, int(a_max * N) + 1, "pl",
                           what=f"-N {N} with --alphas up to {a_max:g} (N x N couplings)")
    D = max(o["features_per_example"], int(round(o["alpha_d"] * N)))
    Ps = sorted({max(2, int(round(a * N))) for a in _floats(o["alphas"], "--alphas")})
    Ms = sorted({int(m) for m in _floats(o["per_archetype"], "--per-archetype")})
    fractions = np.round(np.arange(0.0, o["max_fraction"] + 1e-9, o["fraction_step"]), 6).tolist()
    out, cache_dir = Path(out), Path(cache_dir)
    common = dict(N=N, beta=o["beta"], steps=o["steps"], schedule=o["schedule"], l2=o["l2"], refs=o["refs"],
                  trials=o["trials"], fractions=fractions, starts=o["starts"], n_entropy=o["n_entropy"],
                  version=VERSION)
    feature_units = [dict(common, model="features", D=D, L=o["features_per_example"], P=P, seed=seed)
                     for P in Ps for seed in range(o["seeds"])] if model in ("features", "both") else []
    archetype_units = [dict(common, model="archetypes", K=o["archetypes"], r=o["quality"], M=M,
                            P=o["archetypes"] * M, seed=seed)
                       for M in Ms for seed in range(o["seeds"])] if model in ("archetypes", "both") else []
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(cfg, measure, (cfg, cache_dir)) for cfg in feature_units + archetype_units],
                    cache_dir, shard=shard, workers=workers, desc="am_generalization")
    if not run.complete:
        click.echo(f"am_generalization: {run.summary()}; run without --shard to draw the figures")
        return
    hits_total, n_units = run.read, len(run.results)
    settings, aggs = {}, {}
    plt = use_agg()
    if feature_units:
        s = dict(N=N, D=D, L=o["features_per_example"], alphas=[P / N for P in Ps], Ps=Ps, beta=o["beta"],
                 steps=o["steps"], schedule=o["schedule"], l2=o["l2"], seeds=o["seeds"], refs=o["refs"],
                 trials=o["trials"], starts=o["starts"], n_entropy=o["n_entropy"], threshold=THRESHOLD)
        results = by_P(feature_units, run.results[:len(feature_units)])
        agg = aggregate(results, Ps, fractions, o["probe"])
        three = _three_P(Ps, agg["transition_P"])
        roles = ["memorising", f"transition ({agg['transition_rule']})" if agg["transition_P"] is not None
                 else "middle of the grid", "generalising"]
        settings["features"], aggs["features"] = s, agg
        out.mkdir(parents=True, exist_ok=True)
        fig_basins(plt, agg, s, three, out / "am_generalization_basins.png")
        save_data(out / "am_generalization_basins.json",
                  {"settings": s, "three_P": three, "transition_P": agg["transition_P"],
                   "transition_rule": agg["transition_rule"], "markers": agg["markers"],
                   "fractions": agg["fractions"], "probe_fraction": agg["probe_fraction"], "P": Ps,
                   "training": agg["sets"]["training"], "test": agg["sets"]["test"],
                   "row_norm_mean": agg["row_norm_mean"], "learning_rate_mean": agg["learning_rate_mean"],
                   "seconds_per_unit": [r["seconds"] for P in Ps for r in results[P]]})
        hist = _entropy_hist_data(results, three)
        fig_entropy(plt, hist, s, three, roles, out / "am_generalization_entropy.png")
        med = {P: {k: float(np.median(v)) if len(v) else None for k, v in hist[P].items()} for P in hist}
        save_data(out / "am_generalization_entropy.json",
                  {"settings": s, "three_P": three, "roles": roles, "entropy_beta": o["beta"],
                   "unit": "nats, sum over neurons", "values": hist, "median": med})
        fig_census(plt, agg, s, out / "am_generalization_census.png")
        save_data(out / "am_generalization_census.json",
                  {"settings": s, "P": Ps, "markers": agg["markers"], "census": agg["census"],
                   "n_distinct_mean": agg["census"]["n_distinct_mean"]})
    if archetype_units:
        Pa = [o["archetypes"] * M for M in Ms]
        s = dict(N=N, K=o["archetypes"], r=o["quality"], Ms=Ms, Ps=Pa, beta=o["beta"], steps=o["steps"],
                 schedule=o["schedule"], l2=o["l2"], seeds=o["seeds"], refs=o["refs"], trials=o["trials"],
                 starts=o["starts"], n_entropy=o["n_entropy"], threshold=THRESHOLD)
        results = by_P(archetype_units, run.results[len(feature_units):])
        agg = aggregate(results, Pa, fractions, o["probe"])
        extra = {}
        for name in ("training", "test"):
            ms = [_mean_sem(np.concatenate([r[f"{name}_to_archetype"] for r in results[P]])) for P in Pa]
            extra[f"{name}_to_archetype_mean"] = [float(m) for m, _ in ms]
            extra[f"{name}_to_archetype_sem"] = [float(e) for _, e in ms]
        extra["test_archetype_overlap_start"] = float(np.mean([r["test_archetype_overlap_start"]
                                                               for P in Pa for r in results[P]]))
        settings["archetypes"], aggs["archetypes"] = s, agg
        out.mkdir(parents=True, exist_ok=True)
        fig_archetypes(plt, agg, s, extra, out / "am_generalization_archetypes.png")
        save_data(out / "am_generalization_archetypes.json",
                  {"settings": s, "P": Pa, "markers": agg["markers"], "fractions": agg["fractions"],
                   "probe_fraction": agg["probe_fraction"], "training": agg["sets"]["training"],
                   "test": agg["sets"]["test"], "archetypes": agg["sets"]["hidden"], "census": agg["census"],
                   **extra, "row_norm_mean": agg["row_norm_mean"],
                   "entropy_median": {str(P): {k: float(np.median(np.concatenate([r["entropy"][k] for r in results[P]])))
                                               for k in ("training", "test")} for P in Pa}})
    fig_features(plt, aggs, settings, out / "am_generalization_features.png")
    save_data(out / "am_generalization_features.json",
              {m: {"settings": settings[m], "P": aggs[m]["P"], "probe_fraction": aggs[m]["probe_fraction"],
                   "markers": aggs[m]["markers"],
                   "hidden": aggs[m]["sets"]["hidden"],
                   "random_starts_on_hidden": aggs[m]["census"]["generalised_hidden"]} for m in aggs})
    click.echo(f"{n_units} units ({hits_total} from the cache) in {time.perf_counter() - t0:.1f} s; "
               f"figures and data in {out}")
    for m, agg in aggs.items():
        marks = ", ".join(f"{k} = {v:.0f}" if v is not None else f"{k}: not on the grid"
                          for k, v in agg["markers"].items())
        click.echo(f"  {m}: {marks}")


if __name__ == "__main__":
    main()
