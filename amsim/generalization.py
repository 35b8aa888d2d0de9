"""Memorisation to generalisation in a pseudo-likelihood associative memory.

D'Amico et al. 2026 (arXiv 2507.05147) and the associative-memory reading of
Pham et al. (arXiv 2604.26841, Figs. 1-2 and 4); docs/science-am.md,
"Memorisation to generalisation in a binary AM". Pseudo-likelihood (PL, eq. 10)
is trained on P examples of a structured data model and P is swept at fixed
structure, with the same training budget at every P.

One *unit* is one (data model, P, seed): a configuration dict (its hash names
the cached network and result, so its keys never change meaning without a bump
of VERSION). The pieces, each a function of its own:

    unit_data          the data of a unit (random features or archetypes, nested in P)
    train_unit         PL training (eq. 10), cached as .npz under the training config's hash
    basin_summary      basins around a reference set (final overlap vs flipped fraction,
                       recovery as in eq. 12, basin radius per reference)
    flow_to_archetype  where archetype examples flow from zero flipped bits
    census_summary     attractors from random starts, with the feature/archetype split
    entropy_summary    total conditional entropies (eq. 9, summed over neurons, nats)
    measure_unit       all of the above for one unit (what memkit.sweep runs)

and, over seeds (references pooled: they are the independent unit of the basins):

    aggregate          per-P curves (mean +- s.e.) and the transition markers
    meeting_point, crossing, three_P   where curves meet / cross a level, on a log-P grid
    entropy_histograms, entropy_gap, archetype_flow_summary
    Plan               the units of one run (from the command-line options)
    reports, figure_data   the Report of each data model and the figures' JSON data

The figures themselves are drawn by `amsim.generalization_plots`;
experiments/am_generalization.py is the command line around both.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amsim.basins import attractor_census, basin_curve
from amsim.io import load_network, save_network
from amsim.learning import lipschitz_bound
from amsim.memory import PseudoLikelihoodMemory
from amsim.patterns import ArchetypeModel, RandomFeaturesModel, unseen
from memkit.io import config_hash
from memkit.measures import mean_sem

VERSION = 1  # bump when a measurement changes meaning: old cache entries are then ignored
THRESHOLD = 0.95  # basin radius threshold on the mean final overlap
MAX_ENUMERATED = 20000  # enumerate every possible random-features example up to this many
CHUNK = 10  # training examples are drawn in seeded chunks, so training sets are nested in P
MEASUREMENT_KEYS = ("refs", "trials", "fractions", "starts", "n_entropy")  # not part of training
CENSUS_KEYS = ("memorised", "generalised", "generalised_hidden", "generalised_example",
               "spurious", "rare", "not_converged")


# ----------------------------------------------------------------------------- data
def seeded_rng(*key) -> np.random.Generator:
    """A Generator seeded by a tuple of ints (amsim takes an int or a Generator)."""
    return np.random.default_rng([int(k) for k in key])


@dataclass
class UnitData:
    """The configurations of one unit, each int8 (M, N) of +-1.

    train : the P training examples (nested in P: the first P of a fixed sequence)
    test : unseen examples of the same distribution (max(refs, n_entropy) of them)
    hidden : the hidden structure, (D, N) features or (K, N) archetypes
    census_test : what counts as "an unseen example" in the census (every example the
        random-features model can generate when they can be enumerated, else `test`)
    labels : (len(test),) archetype of each test example (archetype model), else None
    """

    train: np.ndarray
    test: np.ndarray
    hidden: np.ndarray
    census_test: np.ndarray
    labels: np.ndarray | None = None


def features_data(cfg: dict) -> UnitData:
    """Random-features model (docs/science-am.md): D = cfg["D"] hidden features, an
    example is sign(+-f_a +- f_b +- ...) over L = cfg["L"] of them.

    The training set is drawn in seeded chunks of CHUNK, so the P examples of a
    smaller P are the first ones of a larger P (same seed); the test pool is drawn
    separately and the training examples are removed from it.
    """
    N, D, L, P, s = cfg["N"], cfg["D"], cfg["L"], cfg["P"], cfg["seed"]
    model = RandomFeaturesModel(N, D, features_per_example=L, seed=seeded_rng(s, 1, N, D))
    chunks = [model.sample(CHUNK, seed=seeded_rng(s, 2, N, D, c)) for c in range(math.ceil(P / CHUNK))]
    train = np.concatenate(chunks)[:P]
    n_test = max(cfg["refs"], cfg["n_entropy"])
    pool = model.sample(6 * n_test, seed=seeded_rng(s, 3, N, D))
    test = unseen(pool, train)[:n_test]
    enumerable = L % 2 == 1 and model.n_possible <= MAX_ENUMERATED
    census_test = model.all_examples() if enumerable else test
    return UnitData(train, test, model.features_, census_test, None)


def archetype_data(cfg: dict) -> UnitData:
    """Archetype (teacher) model: M = cfg["M"] noisy copies (quality r = cfg["r"]) of each
    of K = cfg["K"] archetypes, nested in M; fresh test copies, archetypes interleaved."""
    N, K, r, M, s = cfg["N"], cfg["K"], cfg["r"], cfg["M"], cfg["seed"]
    model = ArchetypeModel(N, K, quality=r, seed=seeded_rng(s, 1, N, K))
    train = np.concatenate([model.sample(1, seed=seeded_rng(s, 2, N, K, m)) for m in range(M)])
    n_test_per = math.ceil(max(cfg["refs"], cfg["n_entropy"]) / K)
    test, labels = model.sample(n_test_per, seed=seeded_rng(s, 3, N, K), return_labels=True)
    order = np.argsort(np.tile(np.arange(n_test_per), K), kind="stable")  # interleave archetypes
    test, labels = test[order], labels[order]
    return UnitData(train, test, model.archetypes_, test, labels)


def unit_data(cfg: dict) -> UnitData:
    """The data of a unit: `features_data` or `archetype_data` after cfg["model"]."""
    if cfg["model"] == "features":
        return features_data(cfg)
    if cfg["model"] == "archetypes":
        return archetype_data(cfg)
    raise ValueError(f"model must be 'features' or 'archetypes', got {cfg['model']!r}")


# ----------------------------------------------------------------------------- training
def training_config(cfg: dict) -> dict:
    """The part of a unit's configuration the trained network depends on (its cache key)."""
    return {k: cfg[k] for k in cfg if k not in MEASUREMENT_KEYS}


def pl_learning_rate(train: np.ndarray, beta: float, schedule: str) -> float:
    """The automatic gradient-descent step of PL training (eq. 10) on `train`.

    1 / L with L the Lipschitz bound of the gradient (`amsim.learning.lipschitz_bound`),
    its square root for the "normalised" schedule: the step `PseudoLikelihoodMemory`
    picks when none is given.
    """
    lr = 1.0 / lipschitz_bound(train, beta)
    if schedule == "normalised":
        lr = math.sqrt(lr)
    return lr


def train_unit(cfg: dict, train: np.ndarray, cache_dir) -> tuple[PseudoLikelihoodMemory, float]:
    """Train PL (eq. 10) on `train`, or load the network cached under the training config's hash.

    cfg needs beta, l2, schedule and steps (full-batch gradient steps); the network
    is saved as <cache_dir>/net_<hash>.npz with the training set. Returns the network
    and its learning rate.
    """
    tcfg = training_config(cfg)
    path = Path(cache_dir) / f"net_{config_hash(tcfg)}.npz"
    if path.exists():
        try:
            net, meta, _ = load_network(path)
            if meta.get("config") == tcfg:
                return net, meta["learning_rate"]
        except ValueError:
            pass
    pl = PseudoLikelihoodMemory(beta=cfg["beta"], l2=cfg["l2"], schedule=cfg["schedule"],
                                n_steps=cfg["steps"], record_every=max(cfg["steps"], 1))
    pl.fit(train)
    lr = pl_learning_rate(train, cfg["beta"], cfg["schedule"])
    save_network(path, pl, meta={"config": tcfg, "learning_rate": lr}, training=train)
    return pl, lr


# ----------------------------------------------------------------------------- measurements
def basin_summary(net, refs: np.ndarray, fractions, trials: int, seed, threshold: float = THRESHOLD) -> dict:
    """Basins around the references (R, N) (docs/science-am.md, "Basin of attraction").

    Each reference is corrupted by flipping round(f N) bits, `trials` times per flipped
    fraction f, and run to a fixed point (asynchronous zero-temperature dynamics). Returns
    per_ref_overlap : (F, R) mean final overlap of each reference (rounded to 5 digits)
    radius_mean_curve : basin radius of the mean curve (largest f with overlap >= threshold)
    radius_per_ref : (R,) basin radius of each reference
    recovery : (F,) mean recovery rate of the flipped bits (eq. 12's binary analogue)
    converged : fraction of trials that ended on a fixed point
    fixed_point : fraction of the references that are fixed points themselves
    """
    curve = basin_curve(net, refs, fractions, n_trials=trials, seed=seed)
    per_ref = curve.overlap.mean(axis=2)  # (F, R)
    return {
        "per_ref_overlap": np.round(per_ref, 5).tolist(),
        "radius_mean_curve": curve.radius(threshold),
        "radius_per_ref": curve.radius_per_reference(threshold).tolist(),
        "recovery": np.round(curve.mean_recovery(), 5).tolist(),
        "converged": float(curve.converged.mean()),
        "fixed_point": float(net.is_fixed_point(refs).mean()),
    }


def flow_to_archetype(net, x: np.ndarray, archetypes: np.ndarray, labels: np.ndarray, seed) -> list[float]:
    """Final overlap m = (1/N) sum_i xi_i sigma_i with its archetype of each example (M, N)
    run from itself (zero flipped bits, asynchronous dynamics); rounded to 5 digits."""
    res = net.run(x, seed=seed)
    ov = (res.states.astype(np.float64) * archetypes[labels]).mean(axis=1)
    return np.round(ov, 5).tolist()


def census_summary(net, n_starts: int, data: UnitData, seed):
    """Attractors reached from `n_starts` random starts (docs/science-am.md, "Spurious states").

    The census (`amsim.attractor_census`) labels each fixed point memorised / generalised /
    spurious / rare against the training set, `data.census_test` and the hidden structure.
    The generalised starts are split into those ending on a hidden feature or archetype
    (|overlap| >= 1 - delta with one: the feature-attractor test) and those ending on an
    unseen example. Returns (the dict stored per unit, the Census).
    """
    cen = attractor_census(net, n_starts, data.train, test=data.census_test, hidden=data.hidden, seed=seed)
    frac = cen.fractions()
    gen = cen.labels == "generalised"
    near_hidden = cen.best_overlap["hidden"] >= 1 - cen.delta
    frac["generalised_hidden"] = float(cen.counts[gen & near_hidden].sum()) / cen.n_starts
    frac["generalised_example"] = float(cen.counts[gen & ~near_hidden].sum()) / cen.n_starts
    out = {"fractions": frac, "n_distinct": int(len(cen.states)),
           "n_reference_examples": int(len(data.census_test)),
           "n_distinct_by_label": {lab: int((cen.labels == lab).sum())
                                   for lab in ("memorised", "generalised", "spurious", "rare")}}
    return out, cen


def entropy_summary(net, train: np.ndarray, test: np.ndarray, census, n_entropy: int) -> dict:
    """Total conditional entropy H(sigma) = sum_i H_i(sigma) (eq. 9, nats, at the network's beta)
    of the first `n_entropy` training and test examples and of the fixed points of the census,
    one value per converged start (rounded to 5 digits)."""
    H_fp = net.conditional_entropy(census.states, total=True) if len(census.states) else np.zeros(0)
    return {
        "training": np.round(net.conditional_entropy(train[:n_entropy], total=True), 5).tolist(),
        "test": np.round(net.conditional_entropy(test[:n_entropy], total=True), 5).tolist(),
        "fixed_points": np.round(np.repeat(H_fp, census.counts), 5).tolist(),
    }


def measure_unit(cfg: dict, cache_dir) -> dict:
    """Train (or load) the network of one (model, P, seed) unit and measure everything.

    The measurements share one Generator seeded by (seed, 7, P), used in a fixed order:
    basins of training, test and hidden references, (archetypes) the flows of test and
    training examples, the census. Returns the JSON-able result memkit.sweep caches.
    """
    t0 = time.perf_counter()
    data = unit_data(cfg)
    train, test, hidden, labels = data.train, data.test, data.hidden, data.labels
    net, lr = train_unit(cfg, train, cache_dir)
    rng = np.random.default_rng([cfg["seed"], 7, cfg["P"]])
    fr = np.asarray(cfg["fractions"])
    R = cfg["refs"]
    out = {"P": cfg["P"], "learning_rate": lr, "n_test": int(len(test)),
           "row_norm": float(np.linalg.norm(net.J_, axis=1).mean())}
    out["basins"] = {
        "training": basin_summary(net, train[:R], fr, cfg["trials"], rng),
        "test": basin_summary(net, test[:R], fr, cfg["trials"], rng),
        "hidden": basin_summary(net, hidden[:R], fr, cfg["trials"], rng),
    }
    if labels is not None:  # archetypes: where do test / training examples themselves flow?
        for name, x, lab in (("test", test[:R], labels[:R]),
                             ("training", train[:R], np.arange(len(train))[:R] % cfg["K"])):
            out[f"{name}_to_archetype"] = flow_to_archetype(net, x, hidden, lab, rng)
        out["test_archetype_overlap_start"] = float((test[:R].astype(np.float64) * hidden[labels[:R]]).mean())
    out["census"], cen = census_summary(net, cfg["starts"], data, rng)
    out["entropy"] = entropy_summary(net, train, test, cen, cfg["n_entropy"])
    out["seconds"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- over seeds
def by_P(units: list[dict], results: list[dict]) -> dict:
    """{P: [result of each seed]} of one data model's units."""
    out = {}
    for cfg, res in zip(units, results):
        out.setdefault(cfg["P"], []).append(res)
    return out


def pooled_basins(units: list[dict], ip: int) -> dict:
    """One P's basin summaries (one per seed) pooled: references of all seeds together.

    Returns the mean +- s.e. of the final-overlap curve (F,), of the per-reference radius,
    of the mean-curve radius and of the fixed-point fraction (both over seeds), the curve
    at the probe fraction index `ip`, and the mean recovery there.
    """
    per_ref = np.concatenate([np.asarray(u["per_ref_overlap"]) for u in units], axis=1)  # (F, R*S)
    cm, cs = mean_sem(per_ref, axis=1)
    rm, rs = mean_sem(np.concatenate([u["radius_per_ref"] for u in units]))
    rcm, rcs = mean_sem([u["radius_mean_curve"] for u in units])
    fm, fs = mean_sem([u["fixed_point"] for u in units])
    return {"curve_mean": cm.tolist(), "curve_sem": cs.tolist(),
            "radius_mean": float(rm), "radius_sem": float(rs),
            "radius_curve_mean": float(rcm), "radius_curve_sem": float(rcs),
            "probe_mean": float(cm[ip]), "probe_sem": float(cs[ip]),
            "fixed_point_mean": float(fm), "fixed_point_sem": float(fs),
            "recovery_probe_mean": float(np.nanmean([u["recovery"][ip] for u in units]))}


def aggregate(results: dict, Ps: list[int], fractions, probe: float) -> dict:
    """Per-P curves pooled over seeds: references are the independent unit for basins.

    results : {P: [unit result of each seed]} (`by_P`)
    Returns {"P", "fractions", "probe_fraction", "sets": {training, test, hidden: per-P
    lists of `pooled_basins`}, "census": {label: {mean, sem}}, means over seeds of the
    number of distinct attractors, the row norm and the learning rate, "markers"
    (`transition_markers`), "transition_P" and "transition_rule"}.
    """
    fr = np.asarray(fractions)
    ip = int(np.argmin(np.abs(fr - probe)))
    agg = {"P": list(Ps), "fractions": fr.tolist(), "probe_fraction": float(fr[ip]), "sets": {}}
    for name in ("training", "test", "hidden"):
        rows = [pooled_basins([r["basins"][name] for r in results[P]], ip) for P in Ps]
        agg["sets"][name] = {k: [row[k] for row in rows] for k in rows[0]}
    agg["census"] = {}
    for lab in CENSUS_KEYS:
        ms = [mean_sem([r["census"]["fractions"][lab] for r in results[P]]) for P in Ps]
        agg["census"][lab] = {"mean": [float(m) for m, _ in ms], "sem": [float(s) for _, s in ms]}
    agg["census"]["n_distinct_mean"] = [float(np.mean([r["census"]["n_distinct"] for r in results[P]])) for P in Ps]
    agg["row_norm_mean"] = [float(np.mean([r["row_norm"] for r in results[P]])) for P in Ps]
    agg["learning_rate_mean"] = [float(np.mean([r["learning_rate"] for r in results[P]])) for P in Ps]
    agg["markers"] = m = transition_markers(Ps, agg["sets"], agg["census"])
    agg["transition_P"] = m["radii_meet_P"] if m["radii_meet_P"] is not None else m["test_stable_P"]
    agg["transition_rule"] = ("training and test basin radii meet" if m["radii_meet_P"] is not None
                              else "half of the unseen test examples are fixed points")
    return agg


def transition_markers(Ps: list[int], sets: dict, census: dict) -> dict:
    """Where the memorisation-to-generalisation transition shows, each a P or None.

    radii_meet_P : training and test basin radii meet (the definition of the transition)
    test_stable_P : half of the unseen test examples are fixed points (they become attractors)
    hidden_stable_P : half of the hidden features/archetypes are fixed points
    hidden_radius_meets_training_P : the hidden structure gets a basin as wide as the training examples
    census_crossing_P : random starts end as often on training examples as on generalised states
        (counted only where the generalised fraction is at least 5%)
    """
    tr, te, hi = sets["training"], sets["test"], sets["hidden"]
    return {
        "radii_meet_P": meeting_point(Ps, tr["radius_mean"], te["radius_mean"]),
        "test_stable_P": crossing(Ps, te["fixed_point_mean"], 0.5),
        "hidden_stable_P": crossing(Ps, hi["fixed_point_mean"], 0.5),
        "hidden_radius_meets_training_P": meeting_point(Ps, tr["radius_mean"], hi["radius_mean"]),
        "census_crossing_P": meeting_point(Ps, census["memorised"]["mean"], census["generalised"]["mean"],
                                           min_level=0.05),
    }


def meeting_point(Ps, r_train, r_test, min_level: float = 0.0) -> float | None:
    """First P (log-linear interpolation) where the test curve reaches the training curve.

    Only points where the test curve exceeds `min_level` count: two vanishing curves do
    not "meet". Returns None if they never meet on the grid.
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


def crossing(Ps, y, level: float) -> float | None:
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


def three_P(Ps: list[int], transition: float | None) -> list[int]:
    """Memorising (smallest P), transition (grid P nearest the meeting point) and generalising (largest P)."""
    if transition is None:
        mid = Ps[len(Ps) // 2]
    else:
        inner = Ps[1:-1] if len(Ps) > 2 else Ps
        mid = min(inner, key=lambda p: abs(math.log(p) - math.log(transition)))
    return [Ps[0], mid, Ps[-1]]


def entropy_histograms(results: dict, three: list[int]) -> dict:
    """{str(P): {training, test, fixed_points: total entropies (eq. 9) of all seeds}} at the three P."""
    out = {}
    for P in three:
        out[str(P)] = {k: np.concatenate([np.asarray(r["entropy"][k], dtype=float) for r in results[P]]).tolist()
                       for k in ("training", "test", "fixed_points")}
    return out


def entropy_medians(hist: dict) -> dict:
    """The median of each histogram of `entropy_histograms` (None where it is empty)."""
    return {P: {k: float(np.median(v)) if len(v) else None for k, v in hist[P].items()} for P in hist}


def entropy_gap(training, test) -> tuple[float, float]:
    """Mean total conditional entropy (eq. 9) of test examples minus that of training
    examples, and its standard error (the two s.e.m. combined in quadrature).

    While the network memorises, training examples are sharp attractors (small H) and
    unseen ones are not: the gap is positive; it closes as the network generalises.
    """
    m_tr, s_tr = mean_sem(training)
    m_te, s_te = mean_sem(test)
    return m_te - m_tr, math.hypot(s_te, s_tr)


def archetype_flow_summary(results: dict, Ps: list[int]) -> dict:
    """Final overlap with their archetype of training and test examples (`flow_to_archetype`),
    mean +- s.e. over the examples of all seeds at each P, and the mean overlap of a test
    example with its archetype before any dynamics."""
    extra = {}
    for name in ("training", "test"):
        ms = [mean_sem(np.concatenate([r[f"{name}_to_archetype"] for r in results[P]])) for P in Ps]
        extra[f"{name}_to_archetype_mean"] = [float(m) for m, _ in ms]
        extra[f"{name}_to_archetype_sem"] = [float(e) for _, e in ms]
    extra["test_archetype_overlap_start"] = float(np.mean([r["test_archetype_overlap_start"]
                                                           for P in Ps for r in results[P]]))
    return extra


# ----------------------------------------------------------------------------- one run
@dataclass
class Plan:
    """The units of one run of the experiment, and the settings its figures state.

    N neurons; random features: D features mixed L at a time, training-set sizes Ps;
    archetypes: K archetypes of quality r, Ms examples per archetype; `seeds` seeds;
    `common` holds the training and measurement settings shared by every unit (beta,
    steps, schedule, l2, refs, trials, fractions, starts, n_entropy, version).
    `model` is "features", "archetypes" or "both".
    """

    N: int
    D: int
    L: int
    Ps: list
    K: int
    r: float
    Ms: list
    seeds: int
    common: dict
    model: str = "both"
    feature_units: list = field(init=False)
    archetype_units: list = field(init=False)

    def __post_init__(self):
        self.feature_units = [dict(self.common, model="features", D=self.D, L=self.L, P=P, seed=seed)
                              for P in self.Ps for seed in range(self.seeds)
                              ] if self.model in ("features", "both") else []
        self.archetype_units = [dict(self.common, model="archetypes", K=self.K, r=self.r, M=M,
                                     P=self.K * M, seed=seed)
                                for M in self.Ms for seed in range(self.seeds)
                                ] if self.model in ("archetypes", "both") else []

    @classmethod
    def from_options(cls, o: dict, model: str = "both") -> "Plan":
        """The plan of the command-line options `o` (n, alpha_d, features_per_example, alphas,
        archetypes, quality, per_archetype, seeds, steps, beta, schedule, l2, refs, trials,
        fraction_step, max_fraction, starts, n_entropy; grids as lists of numbers)."""
        N = o["n"]
        fractions = np.round(np.arange(0.0, o["max_fraction"] + 1e-9, o["fraction_step"]), 6).tolist()
        common = dict(N=N, beta=o["beta"], steps=o["steps"], schedule=o["schedule"], l2=o["l2"], refs=o["refs"],
                      trials=o["trials"], fractions=fractions, starts=o["starts"], n_entropy=o["n_entropy"],
                      version=VERSION)
        return cls(N=N, D=max(o["features_per_example"], int(round(o["alpha_d"] * N))),
                   L=o["features_per_example"], Ps=sorted({max(2, int(round(a * N))) for a in o["alphas"]}),
                   K=o["archetypes"], r=o["quality"], Ms=sorted({int(m) for m in o["per_archetype"]}),
                   seeds=o["seeds"], common=common, model=model)

    @property
    def units(self) -> list[dict]:
        return self.feature_units + self.archetype_units

    @property
    def fractions(self) -> list[float]:
        return self.common["fractions"]

    @property
    def archetype_Ps(self) -> list[int]:
        return [self.K * M for M in self.Ms]

    def settings(self, model: str) -> dict:
        """The settings a figure of `model` ("features" or "archetypes") states and its JSON holds."""
        c = self.common
        if model == "features":
            head = dict(N=self.N, D=self.D, L=self.L, alphas=[P / self.N for P in self.Ps], Ps=self.Ps)
        else:
            head = dict(N=self.N, K=self.K, r=self.r, Ms=self.Ms, Ps=self.archetype_Ps)
        return dict(head, beta=c["beta"], steps=c["steps"], schedule=c["schedule"], l2=c["l2"], seeds=self.seeds,
                    refs=c["refs"], trials=c["trials"], starts=c["starts"], n_entropy=c["n_entropy"],
                    threshold=THRESHOLD)


@dataclass
class Report:
    """What the figures of one data model show: settings `s`, the aggregate, and the JSON files.

    results : {P: [unit results]}; three : the three P of the entropy figure (features);
    roles : their roles; hist : the entropy histograms; extra : the archetype flows;
    data : {figure name: the JSON data saved beside its PNG}.
    """

    settings: dict
    agg: dict
    results: dict
    data: dict
    three: list | None = None
    roles: list | None = None
    hist: dict | None = None
    extra: dict | None = None


def features_report(plan: Plan, results: list[dict], probe: float) -> Report:
    """The random-features model's figures' data (basins, entropy, census) from its unit results."""
    s, Ps = plan.settings("features"), plan.Ps
    res = by_P(plan.feature_units, results)
    agg = aggregate(res, Ps, plan.fractions, probe)
    three = three_P(Ps, agg["transition_P"])
    roles = ["memorising", f"transition ({agg['transition_rule']})" if agg["transition_P"] is not None
             else "middle of the grid", "generalising"]
    hist = entropy_histograms(res, three)
    data = {
        "basins": {"settings": s, "three_P": three, "transition_P": agg["transition_P"],
                   "transition_rule": agg["transition_rule"], "markers": agg["markers"],
                   "fractions": agg["fractions"], "probe_fraction": agg["probe_fraction"], "P": Ps,
                   "training": agg["sets"]["training"], "test": agg["sets"]["test"],
                   "row_norm_mean": agg["row_norm_mean"], "learning_rate_mean": agg["learning_rate_mean"],
                   "seconds_per_unit": [r["seconds"] for P in Ps for r in res[P]]},
        "entropy": {"settings": s, "three_P": three, "roles": roles, "entropy_beta": s["beta"],
                    "unit": "nats, sum over neurons", "values": hist, "median": entropy_medians(hist)},
        "census": {"settings": s, "P": Ps, "markers": agg["markers"], "census": agg["census"],
                   "n_distinct_mean": agg["census"]["n_distinct_mean"]},
    }
    return Report(s, agg, res, data, three=three, roles=roles, hist=hist)


def archetypes_report(plan: Plan, results: list[dict], probe: float) -> Report:
    """The archetype model's figure data from its unit results."""
    s, Pa = plan.settings("archetypes"), plan.archetype_Ps
    res = by_P(plan.archetype_units, results)
    agg = aggregate(res, Pa, plan.fractions, probe)
    extra = archetype_flow_summary(res, Pa)
    median = {str(P): {k: float(np.median(np.concatenate([r["entropy"][k] for r in res[P]])))
                       for k in ("training", "test")} for P in Pa}
    data = {"archetypes": {"settings": s, "P": Pa, "markers": agg["markers"], "fractions": agg["fractions"],
                           "probe_fraction": agg["probe_fraction"], "training": agg["sets"]["training"],
                           "test": agg["sets"]["test"], "archetypes": agg["sets"]["hidden"],
                           "census": agg["census"], **extra, "row_norm_mean": agg["row_norm_mean"],
                           "entropy_median": median}}
    return Report(s, agg, res, data, extra=extra)


def features_file(reports: dict) -> dict:
    """The data of the hidden-structure figure: per data model, the basins of the hidden
    features/archetypes and the fraction of random starts ending on one."""
    return {m: {"settings": rep.settings, "P": rep.agg["P"], "probe_fraction": rep.agg["probe_fraction"],
                "markers": rep.agg["markers"], "hidden": rep.agg["sets"]["hidden"],
                "random_starts_on_hidden": rep.agg["census"]["generalised_hidden"]} for m, rep in reports.items()}


def reports(plan: Plan, results: list[dict], probe: float) -> dict:
    """{"features": Report, "archetypes": Report} (those the plan has) from the results of
    `plan.units`, in that order; `probe` is the flipped fraction of the probe curves."""
    n_f, out = len(plan.feature_units), {}
    if plan.feature_units:
        out["features"] = features_report(plan, results[:n_f], probe)
    if plan.archetype_units:
        out["archetypes"] = archetypes_report(plan, results[n_f:], probe)
    return out


def figure_data(reports: dict) -> dict:
    """{figure name: its JSON data}: basins, entropy, census (random features), archetypes,
    and features (the hidden structure of both models); saved as am_generalization_<name>.json."""
    out = {name: data for rep in reports.values() for name, data in rep.data.items()}
    out["features"] = features_file(reports)
    return out
