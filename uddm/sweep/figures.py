"""What the UDDM figure scripts share: the sweep's figure command and the reductions they plot.

`figure_command(name, doc)` is `memkit.figures.figure_command` with the sweep's parts:
--preset, --cache, --workers, --shard; the sweep (and, on the Markov corpus, the exact
model at every size, model "bayes") computed once into the cache or read from it; its
`describe` line as caption; the settings and computing times in every JSON; and
`uddm_summary.json` (`write_summary`) next to every figure. `caption` puts the
settings line under a figure. `aggregate`, `model_results`, `pick_regimes` and
`failed_points` reduce the per-point results to what the figures draw (`by_size` for
plain values); `seed_dots` and `error_note` show the seeds and say what the error bars are.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from memkit import figures as _figures
from memkit.cli import sweep_options
from memkit.figures import legend_outside, size_colours
from memkit.measures import seed_mean_sem
from uddm.sweep.config import EXACT, SweepConfig, describe, get_preset
from uddm.sweep.options import cache_option, preset_option
from uddm.sweep.run import run_units
from uddm.sweep.summary import write_summary

__all__ = ["figure_command", "caption", "aggregate", "by_size", "seed_dots", "error_note",
           "model_results", "failed_points", "failed_note", "pick_regimes", "size_colours",
           "legend_outside"]


# ---------------------------------------------------------------------------- the command
def _load(preset: str, cache, progress: bool, shard=None, workers: int = 1):
    """(cfg, results): every point of the preset's sweep, then the exact model's sizes."""
    from memkit.io import check_outputs
    check_outputs(**{"--cache": Path(cache) / "models" / "x.pt"})
    cfg = get_preset(preset)
    run = run_units(cfg, cache, exact=True, shard=shard, workers=workers, progress=progress)
    if not run.complete:
        raise _figures.NotReady(f"uddm sweep {cfg.name}: {run.summary()}; run the figure "
                                "script without --shard once every shard is done")
    return cfg, run.results


def _record(cfg: SweepConfig, results: list[dict]) -> dict:
    """The preset, its settings and the computing times (cached, so those of the first run)."""
    models = [r for r in results if r["point"]["model"] != EXACT]
    return {"preset": cfg.name, "sweep": cfg.to_dict(),
            "train_seconds_total": sum(r.get("train_seconds") or 0 for r in models),
            "measure_seconds_total": sum(r.get("measure_seconds") or 0 for r in results),
            "cpu_seconds_total": sum((r.get("train_cpu_seconds") or 0)
                                     + (r.get("measure_cpu_seconds") or 0) for r in results)}


def _summary(cfg: SweepConfig, results: list[dict], out: Path) -> list[Path]:
    return [write_summary(cfg, results, out / "uddm_summary.json")]


def figure_command(name: str, doc: str):
    """Wrap `make(cfg, results) -> (fig, data)` into the click command of a figure script.

    Options: --preset quick|cpu|paper, --cache (default cache/uddm_sweep), --workers k,
    --shard i/n, --out (default figures/), --no-progress. The sweep is trained/measured
    once into the cache; `results` holds every point and, on the Markov corpus, the
    exact model's rows (model "bayes"). The PNG and the numbers behind every curve
    (JSON, with the settings) go to --out, and so does `uddm_summary.json`
    (`write_summary`). With --shard only that shard is computed and nothing is drawn
    until every shard is in the cache.
    """
    return _figures.figure_command(name, doc, load=_load, describe=describe,
                                   options=(preset_option, cache_option, sweep_options),
                                   record=_record, extras=_summary)


def caption(fig, cfg: SweepConfig, results: list[dict], extra: str = "") -> None:
    """Put the sweep's settings line (`describe`) and `extra` under a figure."""
    _figures.caption(fig, describe(cfg, results), extra)


# ---------------------------------------------------------------------------- reductions
def aggregate(results: list[dict], path: Callable[[dict], list], level: int | None = None):
    """Per (model, n_train): mean and error bar over references and seeds.

    `path(result)` returns a `_summary` dict ({"per_ref": [[...] per level]}); at `level`
    (or every level when None) the per-reference values of each seed are reduced by
    `memkit.measures.seed_mean_sem`: with one seed per point, mean and SEM over its
    references; with several, the mean of the seeds' means and their SEM over seeds.
    Returns {model: {"n", "mean", "sem", "sem_refs", "seeds", "per_seed"}}, sizes
    ascending, each a list over sizes (of lists over levels when `level` is None):
    `sem_refs` the SEM of the references of all seeds pooled, `seeds` the number of
    seeds, `per_seed` each seed's mean (in the order the results come).
    """
    groups: dict = {}
    for r in results:
        key = (r["point"]["model"], r["point"]["n_train"])
        groups.setdefault(key, {}).setdefault(r["point"]["seed"], []).append(path(r)["per_ref"])
    out: dict = {}
    fields = ("mean", "sem", "sem_refs", "seeds", "per_seed")
    for (m, n), by_seed in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        first = next(iter(by_seed.values()))[0]
        levels = range(len(first)) if level is None else [level]
        # one list of values per seed (rows of the same seed pooled) at each level
        red = [seed_mean_sem([[x for pr in rows for x in pr[a] if x is not None]
                              for rows in by_seed.values()]) for a in levels]
        d = out.setdefault(m, {"n": [], **{f: [] for f in fields}})
        d["n"].append(n)
        for f in fields:
            vals = [x[f] for x in red]
            d[f].append(vals if level is None else vals[0])
    return out


def by_size(results: list[dict], get: Callable[[dict], list]) -> dict:
    """{n_train: `seed_mean_sem` of the values get(result) of each seed}, sizes ascending:
    per-sequence values (or one value per result) reduced over references and seeds as
    `aggregate` does, for the figures whose values are not `_summary` dicts."""
    acc: dict = {}
    for r in results:
        seeds = acc.setdefault(r["point"]["n_train"], {})
        seeds.setdefault(r["point"]["seed"], []).extend(x for x in get(r) if x is not None)
    return {n: seed_mean_sem(list(v.values())) for n, v in sorted(acc.items())}


def seed_dots(ax, x, per_seed, **kw) -> None:
    """Each seed's mean as a small dot at `x` (one x per size; `per_seed` as `aggregate`
    returns it), drawn only where a point has two or more seeds."""
    xs = [xi for xi, v in zip(x, per_seed) if len(v) > 1 for _ in v]
    ys = [y for v in per_seed if len(v) > 1 for y in v]
    if xs:
        ax.plot(xs, ys, ls="none", marker=".", ms=3, alpha=0.45, **kw)


def error_note(results: list[dict], unit: str = "references") -> str:
    """The caption's words for the error bars of `aggregate`: SEM over `unit` with one seed
    per point, over the seeds' means (dots: each seed) with several."""
    seeds = {}
    for r in results:
        p = r["point"]
        if p["model"] != EXACT:
            seeds.setdefault((p["model"], p["n_train"]), set()).add(p["seed"])
    k = max((len(v) for v in seeds.values()), default=1)
    if k <= 1:
        return f"error bars: SEM over {unit}"
    return (f"error bars: SEM over {k} seeds of each seed's mean over {unit} "
            f"(dots: the seeds)")


def model_results(results: list[dict], model: str) -> list[dict]:
    """The rows of one model (all seeds and sizes)."""
    return [r for r in results if r["point"]["model"] == model]


def failed_points(results: list[dict], t_index: int = 1) -> list[tuple]:
    """(model, n_train, seed) of points that did not learn (the "copy plateau").

    Rule, fixed beforehand: training AND test Experiment 2 recovery at exp2_times[t_index]
    both below half the Bayes-MAP reference's recovery of the same test starts: the model
    neither stored its training set nor learnt the source.
    """
    out = []
    for r in results:
        if r["point"]["model"] == EXACT:
            continue
        tr = r["exp2"]["train"]["recovery"]["mean"][t_index]
        te = r["exp2"]["test"]["recovery"]["mean"][t_index]
        ref = r["exp2"]["test"]["reference"]["mean"][t_index]
        if tr < 0.5 * ref and te < 0.5 * ref:
            out.append((r["point"]["model"], r["point"]["n_train"], r["point"]["seed"]))
    return out


def failed_note(results: list[dict], t_index: int = 1) -> str:
    """A caption fragment naming the points that failed to train (empty if none)."""
    bad = failed_points(results, t_index)
    if not bad:
        return ""
    return ("did not learn (train and test recovery < half the Bayes-MAP reference): "
            + ", ".join(f"{m} n={n} seed {s}" for m, n, s in bad))


def pick_regimes(results: list[dict], model: str, t_index: int = 1) -> dict:
    """The memorising, transition and generalising sizes of one model (Fig. 4).

    Rule (fixed before looking at any figure): memorising = the smallest size,
    generalising = the largest; transition = the intermediate size whose Experiment 2
    train-minus-test recovery gap at exp2_times[t_index] is closest to half the gap at
    the smallest size.
    """
    tr = aggregate([r for r in results if r["point"]["model"] == model],
                   lambda r: r["exp2"]["train"]["recovery"], t_index)[model]
    te = aggregate([r for r in results if r["point"]["model"] == model],
                   lambda r: r["exp2"]["test"]["recovery"], t_index)[model]
    ns = tr["n"]
    gaps = [a - b for a, b in zip(tr["mean"], te["mean"])]
    mid = list(range(1, len(ns) - 1)) or [0]
    half = gaps[0] / 2
    j = min(mid, key=lambda i: abs(gaps[i] - half))
    return {"memorising": ns[0], "transition": ns[j], "generalising": ns[-1],
            "gaps": dict(zip([str(n) for n in ns], gaps))}
