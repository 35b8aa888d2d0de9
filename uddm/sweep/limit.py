"""Has a sweep trained to the limit? The checks of the sweep issue, at the two ends.

At the largest training set a model that has learnt its source should retrieve unseen
sequences as the exact Bayes model does and produce sequences whose conditional entropy
(eq. 13) is distributed as the training sequences', as the exact model's are; at the
smallest set it should still memorise. `limit_check(cfg, results)` measures this per
model and seed from the sweep's results (`uddm.sweep.run_units`, with the exact model):

largest set, per model and seed
    * the paired test-recovery difference model - exact model at t = 0.1 and 0.25 (same
      corrupted starts, mean +- SEM over references; `paired_difference`), met when
      |difference| <= `tol` (0.03);
    * the training-vs-generated entropy statistic A = P(H_train < H_gen)
      (`memkit.measures.two_sample_auc`), met when it lies within 2 standard errors
      (DeLong, combined) of the exact model's A;
smallest set, per model and seed
    * training recovery >= 0.98 and test recovery <= 0.1 at t = 0.1, and at least 90%
      of generated sequences copies of training sequences.

Each criterion's values are also averaged over seeds (mean +- SEM over seeds). The
thresholds are the issue's; none is fitted to a run.
"""
from __future__ import annotations

import math

from memkit.measures import mean_sem
from uddm.sweep.config import EXACT, SweepConfig
from uddm.sweep.summary import summary_rows

__all__ = ["limit_check", "LIMIT_PRESET", "LIMIT_TIMES", "TOLERANCE", "MEMORISE"]

LIMIT_PRESET = "cpu-limit"             # the preset the check is for (experiments/uddm_limit.py)

LIMIT_TIMES = ("0.1", "0.25")          # diffusion times of the recovery comparison
TOLERANCE = 0.03                       # |model - exact| test recovery at the largest set
MEMORISE = {"train": 0.98, "test": 0.1, "copies": 0.9}   # at the smallest set, t = 0.1


def _over_seeds(values: list) -> list:
    """[mean, SEM over seeds, n] of the values that exist (SEM None with one seed)."""
    v = [x for x in values if x is not None]
    if not v:
        return [None, None, 0]
    if len(v) == 1:
        return [float(v[0]), None, 1]
    m, s = mean_sem(v)
    return [float(m), float(s), len(v)]


def _largest(rows: list[dict], exact: dict, tol: float) -> dict:
    """`exact`: {seed: the exact model's row measured on that seed's corrupted starts}."""
    out = {"n_train": rows[0]["n_train"],
           "exact": {"seeds": [{"seed": k, "A": e["overlap"]["auc"], "A_se": e["overlap"]["se"],
                                "test_recovery": {t: e["recovery"][t]["test"] for t in LIMIT_TIMES}}
                               for k, e in sorted(exact.items())]},
           "models": {}}
    out["exact"]["A_over_seeds"] = _over_seeds([e["A"] for e in out["exact"]["seeds"]])
    for model in dict.fromkeys(r["model"] for r in rows):
        seeds = []
        for r in (r for r in rows if r["model"] == model):
            if r["seed"] not in exact:
                raise ValueError(f"limit_check: no exact-model measurement for seed {r['seed']} "
                                 f"at n_train = {r['n_train']}")
            a_ex = exact[r["seed"]]["overlap"]
            paired = {t: r["paired_vs_exact"][t]["test"] for t in LIMIT_TIMES}
            a = r["overlap"]
            band = 2 * math.hypot(a["se"], a_ex["se"])
            seeds.append({"seed": r["seed"],
                          "test_recovery": {t: r["recovery"][t]["test"] for t in LIMIT_TIMES},
                          "paired_vs_exact": paired,
                          "recovery_met": {t: paired[t][0] is not None and abs(paired[t][0]) <= tol
                                           for t in LIMIT_TIMES},
                          "A": a["auc"], "A_se": a["se"], "A_exact": a_ex["auc"],
                          "A_minus_exact": a["auc"] - a_ex["auc"], "A_band": band,
                          "entropy_met": abs(a["auc"] - a_ex["auc"]) <= band,
                          "val_nelbo": r.get("val_nelbo")})
        out["models"][model] = {
            "seeds": seeds,
            "paired_over_seeds": {t: _over_seeds([s["paired_vs_exact"][t][0] for s in seeds])
                                  for t in LIMIT_TIMES},
            "A_over_seeds": _over_seeds([s["A"] for s in seeds]),
            "met": all(all(s["recovery_met"].values()) and s["entropy_met"] for s in seeds)}
    return out


def _smallest(rows: list[dict]) -> dict:
    out = {"n_train": rows[0]["n_train"], "models": {}}
    for model in dict.fromkeys(r["model"] for r in rows):
        seeds = []
        for r in (r for r in rows if r["model"] == model):
            tr, te = r["recovery"]["0.1"]["train"][0], r["recovery"]["0.1"]["test"][0]
            cp = r["census"]["copy"]
            seeds.append({"seed": r["seed"], "train_recovery": tr, "test_recovery": te,
                          "copies": cp, "met": tr >= MEMORISE["train"] and te <= MEMORISE["test"]
                          and cp >= MEMORISE["copies"]})
        out["models"][model] = {
            "seeds": seeds,
            "over_seeds": {k: _over_seeds([s[k] for s in seeds])
                           for k in ("train_recovery", "test_recovery", "copies")},
            "met": all(s["met"] for s in seeds)}
    return out


def limit_check(cfg: SweepConfig, results: list[dict], tol: float = TOLERANCE) -> dict:
    """The limit checks (module doc) from a sweep's results at its smallest and largest
    measured training-set sizes; `results` must hold the exact model at the largest.

    Returns {"largest": {...}, "smallest": {...}, "tolerance", "memorise", "met"}, JSON-able.
    """
    rows = summary_rows(cfg, results)
    models = [r for r in rows if r["model"] != EXACT]
    sizes = sorted({r["n_train"] for r in models})
    if not sizes:
        raise ValueError("limit_check needs the results of at least one trained point")
    big, small = sizes[-1], sizes[0]
    exact = {r["seed"]: r for r in rows if r["model"] == EXACT and r["n_train"] == big}
    if not exact:
        raise ValueError(f"limit_check needs the exact model at n_train = {big}: run the "
                         f"sweep with the exact model (run_units(..., exact=True))")
    out = {"tolerance": tol, "memorise": dict(MEMORISE),
           "largest": _largest([r for r in models if r["n_train"] == big], exact, tol)}
    if small != big:
        out["smallest"] = _smallest([r for r in models if r["n_train"] == small])
    out["met"] = (all(m["met"] for m in out["largest"]["models"].values())
                  and all(m["met"] for m in out.get("smallest", {"models": {}})["models"].values()))
    return out
