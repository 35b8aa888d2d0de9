"""The bridge experiment's science: a Hopfield network and K = 2 diffusion models on the
same data, probed with the same protocol (experiments/bridge.py draws it).

One unit is one (data set, load P/N, seed): the data (random ±1 patterns, or the
random-features model's examples, unseen test examples and hidden features), a
pseudo-likelihood network (eq. 10) and a Hebbian one, the linear NELBO denoiser of
`uddm.linear` and optionally the DiT, every model probed on the same corrupted starts
(round(f N) flipped bits; the diffusion models enter their reverse process at
alpha_t = 1 - 2 f). `aggregate` averages over seeds and locates, per seed, where each
model passes from memorising to generalising (`memkit.measures.transition_loads`).
"""
from __future__ import annotations

import numpy as np

import amsim
from memkit.binary import spins_to_tokens
from memkit.measures import coupling_agreement, mean_sem, transition_loads
from memkit.protocol import same_start_curves
from uddm.bridge import spin_retriever, train_dit_on_patterns
from uddm.linear import train_linear_denoiser

SETS = ("train", "test", "features")
THRESHOLD = 0.95          # the basin radius is the largest f with mean final overlap >= this
COUPLING_T = 0.01         # the diffusion time at which the linear denoiser's couplings are read


def _rng(*key):
    return np.random.default_rng([int(k) for k in key])


def unit_data(key: dict):
    """(train (P, N), test (R, N), features (D, N) or None) of one unit, int8 ±1.

    key: "data" ("random" | "features"), "N", "P", "seed", "refs" (R) and, for the
    features data, "D" (hidden features, 3 per example). Test examples are unseen
    (none equals a training example).
    """
    N, P, s, R = key["N"], key["P"], key["seed"], key["refs"]
    if key["data"] == "random":
        return (amsim.random_patterns(P, N, seed=_rng(s, 1)),
                amsim.random_patterns(R, N, seed=_rng(s, 2)), None)
    if key["data"] != "features":
        raise ValueError(f"data must be 'random' or 'features', got {key['data']!r}")
    model = amsim.RandomFeaturesModel(N, key["D"], features_per_example=3, seed=_rng(s, 1))
    train = model.sample(P, seed=_rng(s, 2))
    return train, amsim.unseen(model.sample(4 * R, seed=_rng(s, 3)), train)[:R], model.features_


def flip_fraction(spins, f: float, rng):
    """Flip round(f N) bits of each state: the corruption both memories see."""
    return amsim.flip_bits(spins, int(round(f * spins.shape[-1])), seed=rng)


def unit_models(key: dict, train):
    """{label: (Retriever, [dynamics])} of one unit, and the linear denoiser and PL network."""
    beta = key["beta"]
    pl = amsim.PseudoLikelihoodMemory(beta=beta, solver="lbfgs", n_steps=key["pl_steps"]).fit(train)
    hebb = amsim.HebbianMemory(beta=beta).fit(train)
    lin = train_linear_denoiser(spins_to_tokens(train), steps=key["lin_steps"], batch_size=256,
                                lr=0.02, seed=key["seed"]).model
    models = {"PL": (amsim.AMRetriever(pl), ["deterministic"]),
              "Hebb": (amsim.AMRetriever(hebb), ["deterministic"]),
              "linear NELBO": (spin_retriever(lin, flip_fraction, steps=key["steps"]),
                               ["greedy", "ancestral"])}
    if key.get("dit_steps"):
        dit = train_dit_on_patterns(train, model=key.get("dit_model", "cpu-xxs"), steps=key["dit_steps"],
                                    batch_size=key.get("dit_batch", 64), lr=key.get("dit_lr", 3e-3),
                                    seed=key["seed"]).model
        models["DiT"] = (spin_retriever(dit, flip_fraction, steps=key["steps"]), ["greedy", "ancestral"])
    return models, lin, pl, hebb


def compute_unit(key: dict) -> dict:
    """One (data, P, seed): every model trained and probed on the same starts.

    Returns {"curves": {model label: {set: same_start_curves(...)}}, "couplings":
    {"linear_vs_PL" | "Hebb_vs_PL": coupling_agreement(...)}}; the couplings compared
    are beta J of the networks and the linear denoiser's effective couplings at
    t = COUPLING_T (the same units: logit of bit i = 2 sum_j c_ij s_j).
    """
    train, test, feats = unit_data(key)
    models, lin, pl, hebb = unit_models(key, train)
    beta = key["beta"]
    sets = {"train": train[:key["refs"]], "test": test, "features": feats}
    out = {"curves": {}, "couplings": {
        "linear_vs_PL": coupling_agreement(lin.effective_couplings(COUPLING_T), beta * pl.J_),
        "Hebb_vs_PL": coupling_agreement(beta * hebb.J_, beta * pl.J_)}}
    for name, (ret, dyns) in models.items():
        for dyn in dyns:
            label = name if len(dyns) == 1 else f"{name} ({dyn})"
            out["curves"][label] = {
                s: same_start_curves(ret, refs, key["fractions"], key["trials"], dyn,
                                     (key["seed"], 7, i), THRESHOLD)
                for i, (s, refs) in enumerate(sets.items()) if refs is not None}
    return out


def examples_at_load(P_over_N: float, N: int) -> int:
    """P for a load P/N (at least 2 examples): the rule that makes the units' keys."""
    return max(2, round(P_over_N * N))


def aggregate(keys, results, loads) -> dict:
    """Average the units over seeds, per data set.

    Returns {data: {"radius": {model: {set: [[mean, sem] per load]}},
    "couplings": {"<pair> <what>": [[mean, sem] per load]},
    "transition": {model: {"half_test" | "meet": [mean, sem, n seeds with a value]}},
    "transition_vs_PL": {model: {"half_test" | "meet": [mean, sem, n]}}}}: the
    transition loads are found per seed (`transition_loads` of that seed's radius
    curves) and then averaged; "transition_vs_PL" is the paired difference
    log(model's load / PL's load) per seed (0: the same transition).
    """
    unit = {(k["data"], k["P"], k["seed"]): r for k, r in zip(keys, results)}
    N = keys[0]["N"]
    out = {}
    for data in sorted({k["data"] for k in keys}):
        d = out.setdefault(data, {"radius": {}, "couplings": {}, "transition": {}, "transition_vs_PL": {}})
        seeds = sorted({k["seed"] for k in keys if k["data"] == data})
        grid = [[unit[data, examples_at_load(a, N), s] for s in seeds] for a in loads]   # (load, seed)
        labels = list(grid[0][0]["curves"])
        for rows in grid:
            for label in labels:
                for s in grid[0][0]["curves"][label]:
                    d["radius"].setdefault(label, {}).setdefault(s, []).append(
                        list(mean_sem([r["curves"][label][s]["radius"] for r in rows])))
            for pair in grid[0][0]["couplings"]:
                for what in ("rel_distance", "correlation"):
                    d["couplings"].setdefault(f"{pair} {what}", []).append(
                        list(mean_sem([r["couplings"][pair][what] for r in rows])))
        per_seed = {label: [] for label in labels}       # one transition_loads dict per seed
        for j in range(len(seeds)):
            for label in labels:
                train, test = ([rows[j]["curves"][label][part]["radius"] for rows in grid]
                               for part in ("train", "test"))
                per_seed[label].append(transition_loads(loads, train, test))
        for label, rows in per_seed.items():
            d["transition"][label] = {}
            d["transition_vs_PL"][label] = {}
            for what in ("half_test", "meet"):
                v = np.array([r[what] for r in rows])
                d["transition"][label][what] = [*mean_sem(v, skipna=True), int(np.isfinite(v).sum())]
                ref = np.array([r[what] for r in per_seed["PL"]])
                diff = np.log(v) - np.log(ref)
                d["transition_vs_PL"][label][what] = [*mean_sem(diff, skipna=True), int(np.isfinite(diff).sum())]
    return out
