import os

import numpy as np
import pytest

from memkit import (
    atomic_write,
    atomic_write_json,
    binary_entropy,
    binary_entropy_from_logit,
    categorical_entropy,
    config_hash,
    overlap,
    recovery_rate,
    unstable_rate,
)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(p, "w") as fh:
            fh.write("new")
            raise RuntimeError("killed")
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]  # no temporary file left behind
    atomic_write_json(p, {"a": np.float64(1.5)})
    assert '"a": 1.5' in p.read_text()


def test_config_hash_is_order_independent():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_entropies():
    p = np.array([0.0, 0.5, 1.0, 0.2])
    np.testing.assert_allclose(binary_entropy(p), [0, np.log(2), 0, -(0.2 * np.log(0.2) + 0.8 * np.log(0.8))])
    x = np.array([-800.0, -3.0, 0.0, 2.0, 800.0])
    pp = 1 / (1 + np.exp(-x[1:4]))
    np.testing.assert_allclose(binary_entropy_from_logit(x)[1:4], binary_entropy(pp), rtol=1e-12)
    assert binary_entropy_from_logit(x)[0] == 0 and binary_entropy_from_logit(x)[-1] == 0
    z = np.array([[0.0, 0.0, 0.0, 0.0], [1000.0, 0.0, -np.inf, 0.0]])
    np.testing.assert_allclose(categorical_entropy(z), [np.log(4), 0.0], atol=1e-12)


def test_recovery_and_unstable_rates_eq12():
    ref = np.array([[1, 2, 3, 4], [1, 1, 1, 1]])
    cor = np.array([[9, 2, 9, 4], [1, 1, 1, 1]])
    fin = np.array([[1, 2, 7, 5], [1, 1, 1, 1]])
    r = recovery_rate(ref, cor, fin)
    assert r[0] == 0.5 and np.isnan(r[1])  # no corrupted position: undefined
    u = unstable_rate(ref, cor, fin)
    assert u[0] == 0.5 and u[1] == 0.0
    assert overlap(np.array([1, -1, 1, 1]), np.array([1, 1, 1, 1])) == 0.5


def test_result_cache_computes_once_and_resumes(tmp_path):
    from memkit.cache import ResultCache

    calls = []

    def work(x):
        calls.append(x)
        return {"value": x * 2}

    cache = ResultCache(tmp_path / "c")
    cfg = {"x": 3, "name": "a"}
    assert cache.compute(cfg, lambda: work(3)) == {"value": 6}
    assert cache.compute({"name": "a", "x": 3}, lambda: work(3)) == {"value": 6}
    assert calls == [3] and cfg in cache
    # a torn file is treated as missing and recomputed
    cache.path(cfg).write_text("{not json")
    assert cache.compute(cfg, lambda: work(3)) == {"value": 6} and calls == [3, 3]


def test_atomic_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        p = tmp_path / "x.json"
        atomic_write_json(p, {"a": 1})
        assert (p.stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old)


def test_overlap_matrix_does_not_wrap_around_for_int8_spins():
    from memkit import overlap_matrix
    a = np.ones((2, 300), dtype=np.int8)
    a[1, :100] = -1
    M = overlap_matrix(a, a)
    assert np.allclose(M, [[1.0, 1 / 3], [1 / 3, 1.0]])
    assert overlap_matrix(a[0], a).shape == (2,)
    with pytest.raises(ValueError, match="300"):
        overlap_matrix(a, a[:, :10])


def test_mean_sem_is_the_textbook_formula_and_zero_for_one_value():
    from memkit.measures import mean_sem
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 7))
    m, s = mean_sem(x)
    assert m == pytest.approx(x.mean(), rel=1e-14)
    assert s == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=1e-14)
    m1, s1 = mean_sem(x, axis=1)
    np.testing.assert_allclose(s1, x.std(axis=1, ddof=1) / np.sqrt(7), rtol=1e-14)
    assert mean_sem([2.5]) == (2.5, 0.0)
    y = x.copy()
    y[0, :6] = np.nan  # one value left in row 0: SEM 0; row 1 keeps all seven
    m2, s2 = mean_sem(y, axis=1, skipna=True)
    assert m2[0] == x[0, 6] and s2[0] == 0.0
    assert s2[1] == pytest.approx(x[1].std(ddof=1) / np.sqrt(7), rel=1e-14)
    assert mean_sem(np.array([1, 2, 3]))[1] == pytest.approx(1 / np.sqrt(3))


def test_seed_mean_sem_reduces_over_seeds_and_its_error_bar_covers_the_seed_spread():
    from memkit.measures import mean_sem, seed_mean_sem
    rng = np.random.default_rng(11)
    # one seed: the mean and SEM of its references; an empty seed is dropped
    x = rng.normal(size=40)
    one = seed_mean_sem([x, []])
    assert (one["mean"], one["sem"]) == mean_sem(x) and one["sem_refs"] == one["sem"]
    assert one["seeds"] == 1 and one["count"] == 40
    # several seeds of unequal size: the mean of the seeds' means, their SEM over seeds
    seeds = [rng.normal(size=n) + off for n, off in ((30, 0.0), (10, 1.0), (20, -0.5))]
    d = seed_mean_sem(seeds)
    means = [s.mean() for s in seeds]
    assert d["per_seed"] == pytest.approx(means, rel=1e-14)
    assert (d["mean"], d["sem"]) == pytest.approx(mean_sem(means), rel=1e-14)
    assert d["sem_refs"] == pytest.approx(mean_sem(np.concatenate(seeds))[1], rel=1e-14)
    assert seed_mean_sem([[], []])["seeds"] == 0
    # coverage: k = 5 seeds whose models differ (offset sd 1) measured on 50 references
    # each (noise sd 0.2). |mean - truth| < 2 SEM over seeds holds with the t distribution's
    # probability for 4 degrees of freedom, 0.8839; the pooled references' SEM, blind to
    # the seeds' spread, covers far less. Binomial SE over 3000 trials: 0.006; 4 SE.
    hits_seeds = hits_refs = 0
    trials = 3000
    for _ in range(trials):
        per = [rng.normal(size=50) * 0.2 + rng.normal() for _ in range(5)]
        r = seed_mean_sem(per)
        hits_seeds += abs(r["mean"]) < 2 * r["sem"]
        hits_refs += abs(r["mean"]) < 2 * r["sem_refs"]
    assert abs(hits_seeds / trials - 0.8839) < 4 * np.sqrt(0.8839 * 0.1161 / trials)
    assert hits_refs / trials < 0.3
