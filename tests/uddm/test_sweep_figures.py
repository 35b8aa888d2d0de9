"""The figure reductions over references and seeds (uddm.sweep.aggregate, by_size)."""
import numpy as np
import pytest

from memkit.measures import mean_sem
from uddm.sweep import EXACT, aggregate, by_size, error_note


def _row(model, n, seed, per_ref, seqs):
    return {"point": {"model": model, "n_train": n, "seed": seed},
            "exp2": {"test": {"recovery": {"per_ref": per_ref}}}, "seqs": seqs}


def _results(seeds):
    rng = np.random.default_rng(5)
    rows = []
    for n in (64, 8):                                    # unordered on purpose
        for s in seeds:
            levels = [list(rng.random(12)) + [None], list(rng.random(9))]
            rows.append(_row("cpu-xs", n, s, levels, list(rng.random(7))))
    rows.append(_row(EXACT, 8, 0, [[0.5, 0.7], [0.1]], [1.0]))
    return rows


def test_aggregate_with_one_seed_is_the_references_mean_and_sem():
    rs = _results([0])
    agg = aggregate(rs, lambda r: r["exp2"]["test"]["recovery"], 0)["cpu-xs"]
    assert agg["n"] == [8, 64] and agg["seeds"] == [1, 1]
    for i, n in enumerate(agg["n"]):
        v = [x for x in next(r for r in rs if r["point"]["n_train"] == n
                             and r["point"]["model"] == "cpu-xs")["exp2"]["test"]["recovery"]["per_ref"][0]
             if x is not None]
        assert (agg["mean"][i], agg["sem"][i]) == mean_sem(v)
        assert agg["sem_refs"][i] == agg["sem"][i]
    assert error_note(rs) == "error bars: SEM over references"


def test_aggregate_over_seeds_takes_the_seeds_means_and_their_sem():
    rs = _results([0, 1, 2])
    every = aggregate(rs, lambda r: r["exp2"]["test"]["recovery"])["cpu-xs"]
    for level in (0, 1):
        agg = aggregate(rs, lambda r: r["exp2"]["test"]["recovery"], level)["cpu-xs"]
        assert agg["seeds"] == [3, 3]
        for i, n in enumerate(agg["n"]):
            mine = [r for r in rs if r["point"]["n_train"] == n and r["point"]["model"] == "cpu-xs"]
            per = [[x for x in r["exp2"]["test"]["recovery"]["per_ref"][level] if x is not None]
                   for r in mine]
            means = [float(np.mean(p)) for p in per]
            assert agg["per_seed"][i] == pytest.approx(means, rel=1e-14)
            assert (agg["mean"][i], agg["sem"][i]) == pytest.approx(mean_sem(means), rel=1e-14)
            assert agg["sem_refs"][i] == pytest.approx(mean_sem(np.concatenate(per))[1], rel=1e-14)
            assert every["mean"][i][level] == agg["mean"][i]
    assert "3 seeds" in error_note(rs)
    # the exact model has one row per size and seed: it stays out of the seeds' count
    assert error_note([r for r in rs if r["point"]["seed"] == 0]) == error_note([])


def test_by_size_reduces_plain_values_as_aggregate_does():
    rs = [r for r in _results([0, 1]) if r["point"]["model"] == "cpu-xs"]
    red = by_size(rs, lambda r: r["seqs"])
    assert list(red) == [8, 64]
    for n, d in red.items():
        means = [float(np.mean(r["seqs"])) for r in rs if r["point"]["n_train"] == n]
        assert (d["mean"], d["sem"]) == pytest.approx(mean_sem(means), rel=1e-14)
        assert d["count"] == 14 and d["seeds"] == 2
