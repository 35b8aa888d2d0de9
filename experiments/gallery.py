"""The gallery of the project's figures: one entry per figure (memkit.gallery.Entry).

`python experiments/reproduce.py` calls `write_index(out, scale)` at the end, and
`python experiments/reproduce.py --gallery-only --out figures` rewrites
`figures/index.md` from the committed PNGs and JSON files alone. Each entry says what
its figure shows, how its key number is read from the figure's JSON, and the paper's
or the theory's value it is compared with. The key numbers are read, never computed
anew: the page states what the scripts wrote.

A figure script that changes its JSON keys shows up as "n/a (not found in ...)" in
the page rather than breaking it; update its `key` function here.
"""
from __future__ import annotations

from pathlib import Path

from memkit.gallery import Entry, crossing, fmt, render_gallery, write_gallery

__all__ = ["ENTRIES", "render_index", "write_index"]


def _num_keys(d: dict) -> list[str]:
    """The keys of `d` that are numbers ("50", "0.5"), sorted by value."""
    return sorted((k for k in d if _isnum(k)), key=float)


def _isnum(k) -> bool:
    try:
        float(k)
        return True
    except (TypeError, ValueError):
        return False


def _at(P) -> str:
    """A marker P of the AM scripts ("P = 102"), or "not reached on this grid" (None)."""
    return "not reached on this grid" if P is None else f"at P = {fmt(P, 0)}"


def _largest(d: dict) -> str:
    return _num_keys(d)[-1]


def _models(curves: dict) -> list[str]:
    """The trained models of a uddm figure's curves (cpu-xxs, cpu-xs, ...), not the references."""
    return [m for m in curves if not any(w in m for w in ("exact", "bayes", "_"))]


# ----------------------------------------------------------------- perceptron margins
def _pm_training(d):
    parts = [f"alpha {fmt(p['alpha'], 2)}: {fmt(p['max_margin_mean'])} vs {fmt(p['gardner_kappa_opt'])}"
             for _, p in sorted(d["panels"].items(), key=lambda kv: float(kv[0]))]
    return "exact max margin vs Gardner's kappa_opt: " + "; ".join(parts)


def _pm_capacity(d):
    n = _largest(d["separable"])
    s = d["separable"][n]
    a = crossing(s["alpha_per_row"], s["fraction"], 0.5)
    return f"separable fraction of rows falls through 1/2 at alpha' = {fmt(a, 2)} (N = {n})"


def _pm_gradient(d):
    parts = []
    for k, s in sorted(d["share"].items()):
        parts.append(f"{k}: {fmt(s['share'][-1], 2)}")
    return "weight share of the 10% least stable patterns at the end (uniform 0.10): " + "; ".join(parts)


def _pm_stabilities(d):
    parts = [f"alpha {fmt(p['alpha_per_row'], 2)}: PL {fmt(p['pl_peak_fraction'], 2)}, theory "
             f"{fmt(p['gardner_peak_fraction_in_window'], 2)}"
             for _, p in sorted(d["panels"].items(), key=lambda kv: float(kv[0]))]
    return "mass within 0.05 of the row minimum: " + "; ".join(parts)


def _pm_basins(d):
    c = d["curves"]
    loads = sorted({k.split("/")[1] for k in c}, key=float)
    parts = [f"alpha {a}: PL {fmt(c[f'PL/{a}']['radius'], 2)}, Hebb {fmt(c[f'Hebb/{a}']['radius'], 2)}"
             for a in loads if f"PL/{a}" in c and f"Hebb/{a}" in c]
    return "basin radius: " + "; ".join(parts)


def _am_capacity(d):
    n_h = _largest(d["hebb"])
    h = d["hebb"][n_h]
    a_h = crossing(h["alpha"], h["overlap_from_pattern"], 0.9)
    n_p = _largest(d["pl"])
    p = d["pl"][n_p]
    a_p = crossing(p["alpha"], p["fraction_fixed_points"], 0.5)
    return (f"Hebb (N = {n_h}) overlap from the patterns falls below 0.9 at alpha = {fmt(a_h)}; "
            f"PL (N = {n_p}) half the patterns are fixed points up to alpha = {fmt(a_p, 2)}")


# ----------------------------------------------------------------- AM generalisation
def _am_basins(d):
    tr, te, P = d["training"]["radius_mean"], d["test"]["radius_mean"], d["P"]
    return (f"half the unseen examples are fixed points {_at(d['markers']['test_stable_P'])}; "
            f"radius training {fmt(tr[0])} -> {fmt(tr[-1])}, test {fmt(te[0])} -> {fmt(te[-1])} "
            f"(P = {P[0]} -> {P[-1]})")


def _am_features(d):
    f, a = d["features"]["markers"], d["archetypes"]["markers"]
    return (f"features: half are fixed points {_at(f['hidden_stable_P'])}; archetypes: "
            f"{_at(a['hidden_stable_P'])}")


def _am_entropy(d):
    parts = [f"P = {P}: training {fmt(m['training'], 1)}, test {fmt(m['test'], 1)}"
             for P, m in sorted(d["median"].items(), key=lambda kv: float(kv[0]))]
    return "median entropy (nats): " + "; ".join(parts)


def _am_census(d):
    c = d["census"]
    return (f"memorised {fmt(c['memorised']['mean'][0], 2)} -> {fmt(c['memorised']['mean'][-1], 2)}, "
            f"generalised {fmt(c['generalised']['mean'][0], 2)} -> {fmt(c['generalised']['mean'][-1], 2)}; "
            f"they cross {_at(d['markers']['census_crossing_P'])}")


def _am_archetypes(d):
    P, ov = d["P"], d["test_to_archetype_mean"]
    i = max(range(len(ov)), key=lambda j: ov[j])
    return (f"test examples flow to their archetype: overlap {fmt(ov[i], 2)} at P = {P[i]} "
            f"(start {fmt(d['test_archetype_overlap_start'], 2)}); training radius "
            f"{fmt(d['training']['radius_mean'][0], 2)} -> {fmt(d['training']['radius_mean'][-1], 2)}")


# ----------------------------------------------------------------- UDDM
def _uddm_fig1(d):
    levels = d["levels"]
    j = min(range(len(levels)), key=lambda i: abs(levels[i] - 0.1))
    parts = []
    for m in _models(d["curves"]):
        c = d["curves"][m][-1]
        parts.append(f"{m} n = {c['n_train']}: test {fmt(c['test'][j], 2)}, train {fmt(c['train'][j], 2)}")
    ex = d["curves"].get("exact_test")
    s = f"greedy recovery at t = {levels[j]}: " + "; ".join(parts)
    return s + (f"; exact model {fmt(ex['recovery'][j], 2)}" if ex else "")


def _uddm_fig2(d):
    parts = []
    for m in _models(d["curves"]):
        c = d["curves"][m].get("0.1") or d["curves"][m][_num_keys(d["curves"][m])[0]]
        n = c["n_train"]
        parts.append(f"{m}: train/test {fmt(c['train'][0], 2)}/{fmt(c['test'][0], 2)} at n = {n[0]} -> "
                     f"{fmt(c['train'][-1], 2)}/{fmt(c['test'][-1], 2)} at n = {n[-1]}"
                     + (f" (exact {fmt(c['exact_test'][-1], 2)})" if c.get("exact_test") else ""))
    return "recovery at t = 0.1, " + "; ".join(parts)


def _uddm_fig3(d):
    parts = []
    for m in _models(d["curves"]):
        c = d["curves"][m]
        n = c["test_recovered"]["n_train"][-1]
        parts.append(f"{m} n = {n}: recovered {fmt(c['test_recovered']['mean'][-1], 2)}, "
                     f"unrecovered {fmt(c['test_unrecovered']['mean'][-1], 2)}")
    return "test-token entropy (nats): " + "; ".join(parts)


def _uddm_fig4(d):
    h = d["histograms"]
    parts = [f"{k.split('/')[0]} {fmt(v['statistic']['auc'], 2)}" for k, v in h.items()
             if k.endswith("/generalising")]
    bayes = [k for k in h if k.startswith("bayes/")]
    if bayes:
        k = max(bayes, key=lambda s: float(s.split("/")[1]))
        parts.append(f"exact model (n = {k.split('/')[1]}) {fmt(h[k]['statistic']['auc'], 2)}")
    return "A = P(H_train < H_generated), generalising regime: " + "; ".join(parts)


def _uddm_fig5(d):
    parts = []
    for m, c in d["curves"].items():
        parts.append(f"{m} {fmt(c['gap'][-1], 2)}")
    n = next(iter(d["curves"].values()))["n_train"][-1]
    return f"entropy gap generated - training at n = {n} (nats/token): " + "; ".join(parts)


def _uddm_census(d):
    parts = []
    for m, f in d["fractions"].items():
        spur = max(f["spurious"]["mean"])
        parts.append(f"{m}: copies {fmt(f['copy']['mean'][0], 2)} at n = {f['copy']['n_train'][0]}, "
                     f"spurious at most {fmt(spur, 2)}")
    return "; ".join(parts)


def _hist_mean(h):
    c, e = h["counts"], h["edges"]
    tot = sum(c)
    return sum(n * (a + b) / 2 for n, a, b in zip(c, e, e[1:])) / tot if tot else None


def _uddm_entropy_hist(d):
    parts = []
    for name, p in d["panels"].items():
        if "generalising" in name or "memorising" in name:
            parts.append(f"{name}: {fmt(_hist_mean(p['recovered']), 2)} vs "
                         f"{fmt(_hist_mean(p['unrecovered']), 2)}")
    return "mean entropy, recovered vs unrecovered tokens: " + "; ".join(parts)


def _uddm_examples(d):
    e = d["examples"]
    return f"model {d['model']}: " + ", ".join(f"{k} n = {v['n_train']}" for k, v in e.items()) + \
        f" (t = {next(iter(e.values()))['t']})"


def _bridge(d):
    f = d["aggregate"]["features"]
    r = [m for m, _ in f["couplings"]["linear_vs_PL correlation"]]
    pl, lin = f["radius"]["PL"]["features"][-1][0], f["radius"]["linear NELBO (ancestral)"]["features"][-1][0]
    t = f["transition"]
    half = "; ".join(f"{name} {fmt(t[key]['half_test'][0], 2)} +- {fmt(t[key]['half_test'][1], 2)}"
                     for name, key in (("PL", "PL"), ("linear greedy", "linear NELBO (greedy)"),
                                       ("linear ancestral", "linear NELBO (ancestral)")))
    return (f"features data: coupling correlation linear vs PL {min(r):.2f}-{max(r):.2f}; feature "
            f"radius at P/N = {d['loads'][-1]:g}: PL {pl:.2f}, linear NELBO {lin:.2f}; load where the "
            f"test radius reaches half its max: {half}")


def _dense_circle(d):
    pk, net = d["peak"], d["summary"]["network"]
    gone = next((n for n, m in zip(net["n"], net["memorised"]["mean"]) if m == 0), None)
    return (f"spurious stable points: network max {fmt(pk['network']['max'], 2)} at n = "
            f"{pk['network']['n_at_max']} (peak {'yes' if pk['network']['peak'] else 'no'}), exact DAM "
            f"max {fmt(pk['exact']['max'], 2)} (peak {'yes' if pk['exact']['peak'] else 'no'}); no "
            f"memorised network stable point from n = {gone}")


def _uddm_limit(d):
    c = d["check"]
    big = c["largest"]
    parts = []
    for m, part in big["models"].items():
        p = part["paired_over_seeds"]
        parts.append(f"{m}: {fmt(p['0.1'][0], 3)} (t = 0.1), {fmt(p['0.25'][0], 3)} (t = 0.25)")
    return (f"test recovery minus the exact model's at n = {big['n_train']}, mean over seeds: "
            + "; ".join(parts) + f"; targets {'met' if c['met'] else 'missed'}")


ENTRIES = (
    # ---------------------------------------------------------------- associative memory
    Entry("bridge", "One experiment, two memories",
          "Basin radius of training, unseen and feature starts against the load P/N for a "
          "pseudo-likelihood network, Hebb, and a K = 2 diffusion denoiser with no attention and "
          "no depth (uddm.linear, trained with the NELBO; greedy and ancestral reverse process), "
          "on the same corrupted starts; how close the denoiser's effective couplings at "
          "t = 0.01 are to PL's; and each model's transition load (where the test radius reaches "
          "half its largest value, and where it meets the training radius), mean +- SEM over seeds.",
          _bridge, "The NELBO optimum becomes, as t -> 0, the leave-one-out conditional that PL "
          "fits: the couplings should correlate, and the basins follow the same shape",
          images=("bridge_features.png", "bridge_random.png")),
    Entry("dense_circle", "Dense memory on a circle: memorised, spurious and generalised stable points",
          "Stable points of x <- x + sigma^2 s(x) for a score network trained by denoising score matching "
          "on n points of the unit circle, and for the exact empirical score (the dense-associative-memory "
          "update at beta = 1/sigma^2), counted per class against n (mean +- s.e. over seeds); the "
          "participation ratio of the non-memorised points, the loss against its floor, and the landscape "
          "at a memorising, a transition and a generalising n.",
          _dense_circle, "Pham et al. 2025 (arXiv 2505.21777): spurious states peak between memorisation "
          "and generalisation; here none leave the circle (merged mixtures sit within sigma^2/2 of it)"),
    Entry("perceptron_margin_training", "PL margins during training",
          "The normalised minimum margin of the rows during PL gradient descent (N = 200, three "
          "loads) climbs on a log time axis towards each row's exact max margin (AdaTron): the "
          "implicit max-margin bias of PL learning (section 3.1, eq. 7, eq. 10; Soudry et al. 2018).",
          _pm_training, "Gardner's kappa_opt(alpha') (theory): the exact max margin should sit on it, "
          "with a small finite-N excess"),
    Entry("perceptron_margin_capacity", "Max margin against load, on Gardner's curve",
          "Left: the exact max margin of each row against the load alpha' = P/(N-1) for three N, "
          "on Gardner's alpha_c(kappa) curve. Right: the fraction of linearly separable rows, "
          "against Cover's finite-N formula.",
          _pm_capacity, "Gardner's capacity alpha_c(0) = 2 (theory): the separable fraction falls "
          "through 1/2 at alpha' = 2, more sharply as N grows"),
    Entry("perceptron_margin_gradient", "Hebbian and margin terms of the gradient",
          "The two terms of eq. 11 during constant-step training: the margin term grows until it "
          "cancels the Hebbian term; each pattern's weight 1 - tanh(beta Delta) decays "
          "exponentially with its stability, so the least stable patterns carry the weight.",
          _pm_gradient, "The paper: PL learning concentrates on the patterns with the smallest "
          "margins (share above the uniform 0.10)"),
    Entry("perceptron_margin_stabilities", "Stabilities against Gardner's law",
          "The distribution of the normalised stabilities after long PL training and at the exact "
          "optimum, against Gardner's law at kappa_opt (a Gaussian tail above kappa and a delta "
          "peak of weight Phi(kappa) on it).",
          _pm_stabilities, "Gardner 1988 (theory): the peak weight Phi(kappa_opt); PL and the "
          "optimum should match it"),
    Entry("perceptron_margin_basins", "Basins and margins",
          "Left: final overlap against the flipped fraction for Hebb and PL networks at the same "
          "loads (N = 200). Right: basin radius against the network's margin, for PL stopped at "
          "10 ... 10^4 steps and for Hebb: larger margin, larger basin.",
          _pm_basins, "Gardner 1988, Forrest 1988: PL keeps basins where Hebb has none (the "
          "margin-basin link behind the paper's Fig. 1 in the AM setting)"),
    Entry("am_capacity", "Retrieval against load, Hebb and PL",
          "Final overlap after asynchronous dynamics started at stored patterns (and at 5% flipped "
          "copies) against the load: Hebb (N = 250 ... 2000) against the AGS curve, PL (L-BFGS) "
          "against Gardner's limit.",
          _am_capacity, "AGS alpha_c = 0.138 for Hebb; Gardner's alpha = 2 for PL (reached from "
          "below at finite N: a pattern is lost when one of its N rows is not separable)"),
    Entry("am_generalization_basins", "Memorisation to generalisation: basins",
          "(a) Final overlap against the flipped fraction around training and unseen test "
          "examples at a memorising, a transition and a generalising P. (b) Basin radius against "
          "P. (c) Overlap from 15% flipped starts and the fraction of fixed points.",
          _am_basins, "Pham et al. Figs. 1-2, D'Amico et al.: training basins shrink and test "
          "basins grow with P"),
    Entry("am_generalization_features", "Hidden features and archetypes become attractors",
          "Basin radius of the hidden features (top) or archetypes (bottom) against P, whether "
          "they are fixed points, the overlap from 15% flipped starts, and the fraction of random "
          "starts that end on them.",
          _am_features, "D'Amico et al.: feature retrieval, the AM counterpart of Pham et al.'s "
          "generalised states (the features suddenly, the archetypes later and weaker)"),
    Entry("am_generalization_entropy", "Conditional entropy per regime",
          "Histograms of the conditional entropy (eq. 9, nats, at the training beta) of training "
          "examples, unseen test examples and the fixed points reached from random starts, at a "
          "memorising, a transition and a generalising P.",
          _am_entropy, "Pham et al. Fig. 4: low training entropy against high test entropy while "
          "memorising; the gap closes once generalising"),
    Entry("am_generalization_census", "Where random starts end",
          "The census of 500 random starts against P: memorised (a training example), generalised "
          "(an unseen example or a hidden feature), spurious (reached at least twice) or rare "
          "(reached once); (b) the number of distinct attractors.",
          _am_census, "Pham et al. 2025: memorised falls and generalised rises, crossing with a "
          "small peak of spurious states next to the crossing"),
    Entry("am_generalization_archetypes", "The archetype (teacher) model",
          "(a) Basin radii of training examples, unseen examples and archetypes. (b) Overlap with "
          "the archetype after a start at a training or test example. (c) The census.",
          _am_archetypes, "The same transition through the hidden structure: test examples flow "
          "to their archetype (overlap above the start 0.5); the noisy examples never become "
          "attractors (r = 0.5)"),
    # ---------------------------------------------------------------- diffusion model
    Entry("uddm_fig1", "Fig. 1: greedy retrieval and the fixed-point test",
          "Top: recovery rate (eq. 12) of corrupted positions under greedy reverse dynamics from "
          "the corruption time, against the fraction of corrupted tokens; training solid, test "
          "dashed, one colour per training-set size, the exact Bayes model in black. Bottom: the "
          "fraction of clean test tokens that stay put (the paper's scripts).",
          _uddm_fig1, "The paper's Fig. 1: basins around training examples shrink and around "
          "test examples grow with the training set; the exact model is the perfect generaliser"),
    Entry("uddm_fig2", "Fig. 2: memorisation to generalisation",
          "Experiment 2 recovery of training and test references against the training-set size, "
          "at several corruption times, for both model sizes, with the exact model.",
          _uddm_fig2, "The paper's claim 1: training recovery high and test recovery near 0 for "
          "small sets, meeting as the set grows; the exact model's test recovery is the ceiling"),
    Entry("uddm_fig3", "Fig. 3: entropy of recovered and unrecovered tokens",
          "The conditional entropy (eq. 13) of recovered and unrecovered tokens, training and "
          "test references, against the training-set size, with the exact model.",
          _uddm_fig3, "The paper's claim 2: recovered tokens have low entropy, unrecovered ones "
          "high"),
    Entry("uddm_fig4", "Fig. 4: training against generated sequence entropy",
          "Histograms of the sequence entropy of training and generated sequences per regime, and "
          "the two-sample statistic A = P(H_train < H_generated) (0.5: one distribution).",
          _uddm_fig4, "The paper's claim 3: the two distributions align once generalising "
          "(A ~ 0.5, as the exact model shows)"),
    Entry("uddm_fig5", "Fig. 5: entropy against training-set size",
          "Per-token entropy of training and generated sequences against the training-set size, "
          "their gap, the unigram entropy of samples, and the validation NELBO.",
          _uddm_fig5, "The paper: the gap closes when generalising; the exact model's gap is 0"),
    Entry("uddm_limit", "Trained to the limit? The sweep's two ends against the exact model",
          "At the largest training set, the paired test-recovery difference model - exact "
          "model at t = 0.1 and 0.25 and the training-vs-generated sequence-entropy statistic, "
          "per model and seed; at the smallest set, training and test recovery and the "
          "fraction of generated copies (the cpu-limit preset: 3 seeds, 10x the cpu sweep's "
          "training, cosine decay).",
          _uddm_limit, "The sweep issue's targets: within 0.03 of the exact model (paired), "
          "its entropy statistic within sampling error of the exact model's, and memorisation "
          "at the smallest set (training recovery >= 0.98, test <= 0.1, copies >= 0.9)"),
    Entry("uddm_census", "Census of generated sequences",
          "Fractions of generated sequences that are copies, spurious (near-copies and splices "
          "of training sequences), novel valid sequences, or invalid, against the training-set size.",
          _uddm_census, "Pham et al. 2025: a peak of spurious states between the "
          "memorising and the generalising regime; a perfect generaliser (the exact model) has none"),
    Entry("uddm_entropy_hist", "Recovered against unrecovered entropy, per regime",
          "Histograms of the conditional entropy of recovered and unrecovered tokens for a "
          "memorising, a transition and a generalising training set, and the exact model.",
          _uddm_entropy_hist, "The paper (claim 2): the entropy separates recovered from "
          "unrecovered tokens in every regime"),
    Entry("uddm_examples", "Retrieval examples, one page per regime",
          "Corrupted references and what the model makes of them, for a memorising, a transition "
          "and a generalising training set (training and test references).",
          _uddm_examples, "Illustration (no number to compare): copies while memorising, "
          "plausible completions when generalising",
          images=("uddm_examples_memorising.png", "uddm_examples_transition.png",
                  "uddm_examples_generalising.png")),
)

DATA_ONLY = ("uddm_summary.json", "uddm_ema_check.json", "uddm_grid_study.json")

INTRO = {
    "full": "The figures of the full-scale run (`python experiments/reproduce.py --full`; "
            "one script each, see the README). Each PNG has a JSON file with the same basename: "
            "the numbers behind every curve and the settings. The key numbers below are read "
            "from those files. Written by `python experiments/reproduce.py --gallery-only --out "
            "figures`.",
    "quick": "The figures of the quick-scale run (`python experiments/reproduce.py`: minutes on "
             "a laptop CPU, small settings; the numbers are noisier than the full run's in "
             "`figures/`). Each PNG has a JSON file with the same basename; the key numbers "
             "below are read from those files.",
}


def _intro(scale: str) -> str:
    return (INTRO.get(scale, INTRO["quick"]) + " Data without a figure: "
            + ", ".join(f"`{n}`" for n in DATA_ONLY) + " (listed under Other files when present).")


def render_index(out, scale: str = "quick") -> str:
    """The Markdown of `out/index.md` (what `write_index` writes)."""
    return render_gallery(out, ENTRIES, title=f"Figures ({scale} scale)", intro=_intro(scale))


def write_index(out, scale: str = "quick") -> Path:
    """Write `out/index.md`, the gallery of the figures in `out` (scale: quick | full)."""
    return write_gallery(out, ENTRIES, title=f"Figures ({scale} scale)", intro=_intro(scale))


if __name__ == "__main__":
    import sys
    _ROOT = Path(__file__).resolve().parents[1]
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else _ROOT / "figures"
    print(write_index(out, "full" if out.resolve() == (_ROOT / "figures").resolve() else "quick"))
