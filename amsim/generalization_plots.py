"""The figures of the memorisation-to-generalisation experiment (experiments/am_generalization.py).

Each `fig_*` draws one PNG from the data `amsim.generalization` builds
(`aggregate`, `Report`), on the pyplot module `plt` it is given
(`memkit.figures.use_agg()`), and saves it with `memkit.figures.save_figure`.

    fig_basins      training vs test basins; radius vs P (random features)
    fig_features    features / archetypes becoming attractors (both data models)
    fig_entropy     entropy histograms at three P (random features)
    fig_census      attractor census vs P (random features)
    fig_archetypes  the archetype model: basins, flows to the archetypes and census vs P
    draw_figures    every figure of a run, as am_generalization_<name>.png
"""
from __future__ import annotations

import numpy as np

from amsim.generalization import THRESHOLD
from memkit.figures import save_figure

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


def draw_figures(plt, reports: dict, out) -> list:
    """Draw every figure the `amsim.generalization.reports` allow into the folder `out`.

    Returns the paths written (am_generalization_<name>.png).
    """
    from pathlib import Path

    out, paths = Path(out), []
    if "features" in reports:
        rep = reports["features"]
        paths += [out / f"am_generalization_{name}.png" for name in ("basins", "entropy", "census")]
        fig_basins(plt, rep.agg, rep.settings, rep.three, paths[-3])
        fig_entropy(plt, rep.hist, rep.settings, rep.three, rep.roles, paths[-2])
        fig_census(plt, rep.agg, rep.settings, paths[-1])
    if "archetypes" in reports:
        rep = reports["archetypes"]
        paths.append(out / "am_generalization_archetypes.png")
        fig_archetypes(plt, rep.agg, rep.settings, rep.extra, paths[-1])
    paths.append(out / "am_generalization_features.png")
    fig_features(plt, {m: r.agg for m, r in reports.items()}, {m: r.settings for m, r in reports.items()}, paths[-1])
    return paths
