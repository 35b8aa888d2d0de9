"""amsim.generalization: the science of experiments/am_generalization.py, unit by unit."""
import json
import math

import numpy as np
import pytest

from amsim import HebbianMemory, PseudoLikelihoodMemory, generalization as gen, random_patterns
from memkit.io import config_hash
from memkit.measures import mean_sem

# the options of `am_generalization.py --quick`, grids parsed
QUICK = dict(n=80, alpha_d=0.1, features_per_example=3, alphas=[0.1, 0.4, 1.6], archetypes=4, quality=0.5,
             per_archetype=[1.0, 4.0, 24.0], seeds=2, steps=200, beta=0.1, schedule="constant", l2=0.0,
             refs=20, trials=3, fraction_step=0.05, max_fraction=0.45, starts=100, n_entropy=60)
# the names of the --quick run's cached results and networks before the science moved here
QUICK_RESULTS = {"319fcfb2158569f5", "4c26696e4470ff06", "4d743a75855245ce", "599d7b73a5652747",
                 "5a78e4d12d7c10f9", "619ec0e5f3010454", "9b589e839cdd95aa", "a63f33e63a8c5ead",
                 "da8ff3cba8cb3b3a", "dcc69e2478b5cd62", "dcec29cc11c95786", "e514a3c24a926a6b"}
QUICK_NETWORKS = {"21537f295efa2129", "2182e8f11b319c70", "2944a194f5ed58b4", "2dd8b605b1f14054",
                  "4f459d6b191a8506", "61fc0cae63a69c8d", "65b2f3f2d64594c0", "6c48701a5c5661fc",
                  "7e06ab6cab01f27a", "96d558208846b64a", "a16e7e09defcabc2", "e2f78dbd215f79de"}


def tiny(model="features", P=20, seed=0, **kw):
    """A small unit configuration (N = 40)."""
    cfg = dict(N=40, beta=0.1, steps=30, schedule="constant", l2=0.0, refs=6, trials=2,
               fractions=[0.0, 0.1, 0.2], starts=30, n_entropy=8, version=gen.VERSION, model=model, P=P, seed=seed)
    if model == "features":
        cfg.update(D=8, L=3)
    else:
        cfg.update(K=2, r=0.6, M=P // 2)
    cfg.update(kw)
    return cfg


def test_the_quick_plan_keeps_its_cache_keys():
    plan = gen.Plan.from_options(QUICK, "both")
    assert plan.Ps == [8, 32, 128] and plan.D == 8 and plan.archetype_Ps == [4, 16, 96]
    assert len(plan.units) == 12 and plan.fractions[:3] == [0.0, 0.05, 0.1] and plan.fractions[-1] == 0.45
    assert {config_hash(u) for u in plan.units} == QUICK_RESULTS
    assert {config_hash(gen.training_config(u)) for u in plan.units} == QUICK_NETWORKS
    assert [u["model"] for u in gen.Plan.from_options(QUICK, "archetypes").units] == ["archetypes"] * 6
    s = plan.settings("features")
    assert s["alphas"] == [0.1, 0.4, 1.6] and s["threshold"] == gen.THRESHOLD and "K" not in s


def test_random_features_data_are_nested_in_P_and_the_test_set_is_unseen():
    small, large = gen.features_data(tiny(P=15)), gen.features_data(tiny(P=40))
    np.testing.assert_array_equal(small.train, large.train[:15])
    np.testing.assert_array_equal(small.hidden, large.hidden)
    train = {x.tobytes() for x in large.train}
    assert len(large.test) == 8 and not any(x.tobytes() in train for x in large.test)
    # L = 3 of D = 8 features: C(8, 3) 2^2 = 224 possible examples, all enumerated for the census
    assert len(large.census_test) == 224 and large.labels is None
    even = gen.features_data(tiny(L=2))  # even L: ties in the sign, no enumeration; the test set itself
    assert even.census_test is even.test
    with pytest.raises(ValueError, match="model"):
        gen.unit_data(tiny(model="nope"))


def test_archetype_data_are_nested_in_M_with_interleaved_labelled_test_copies():
    small, large = gen.archetype_data(tiny("archetypes", P=4)), gen.archetype_data(tiny("archetypes", P=12))
    np.testing.assert_array_equal(small.train, large.train[:4])
    assert large.train.shape == (12, 40) and large.hidden.shape == (2, 40)
    assert list(large.labels[:4]) == [0, 1, 0, 1]  # the archetypes alternate
    ov = (large.test.astype(float) * large.hidden[large.labels]).mean(axis=1)
    assert ov.mean() > 0.4  # each test copy is close to its own archetype (quality 0.6)


def test_train_unit_caches_the_network_under_the_training_config(tmp_path):
    cfg = tiny()
    data = gen.unit_data(cfg)
    net, lr = gen.train_unit(cfg, data.train, tmp_path)
    nets = list(tmp_path.glob("net_*.npz"))
    assert [p.name for p in nets] == [f"net_{config_hash(gen.training_config(cfg))}.npz"]
    assert not set(gen.MEASUREMENT_KEYS) & set(gen.training_config(cfg))
    assert lr == net.learning_rate_  # the automatic safe step of PL
    again, lr2 = gen.train_unit(dict(cfg, refs=3), data.train, tmp_path)  # measurements do not retrain
    assert again.J_.tobytes() == net.J_.tobytes() and lr2 == lr
    assert math.isclose(gen.pl_learning_rate(data.train, 0.1, "normalised"), math.sqrt(lr))


def test_basin_summary_of_stored_patterns():
    xi = random_patterns(3, 100, seed=1)
    net = HebbianMemory().fit(xi)
    b = gen.basin_summary(net, xi, [0.0, 0.1, 0.2], 3, np.random.default_rng(0))
    assert np.asarray(b["per_ref_overlap"]).shape == (3, 3)
    assert b["fixed_point"] == 1.0 and b["converged"] == 1.0
    assert b["radius_per_ref"] == [0.2, 0.2, 0.2] and b["radius_mean_curve"] == 0.2
    assert math.isnan(b["recovery"][0]) and b["recovery"][1] == 1.0


def test_census_split_and_entropies_per_converged_start():
    cfg = tiny(P=40)
    data = gen.unit_data(cfg)
    net = PseudoLikelihoodMemory(beta=0.1, n_steps=30).fit(data.train)
    out, cen = gen.census_summary(net, 50, data, np.random.default_rng(1))
    f = out["fractions"]
    assert math.isclose(sum(f[k] for k in ("memorised", "generalised", "spurious", "rare", "not_converged")), 1.0)
    assert math.isclose(f["generalised_hidden"] + f["generalised_example"], f["generalised"])
    assert out["n_distinct"] == len(cen.states) and out["n_reference_examples"] == 224
    H = gen.entropy_summary(net, data.train, data.test, cen, 5)
    assert len(H["training"]) == 5 and len(H["fixed_points"]) == int(cen.counts.sum())
    np.testing.assert_allclose(H["training"], net.conditional_entropy(data.train[:5], total=True), atol=1e-5)


@pytest.mark.parametrize("model", ["features", "archetypes"])
def test_measure_unit_is_reproducible_and_reads_its_network_back(tmp_path, model):
    cfg = tiny(model, P=12)
    first = gen.measure_unit(cfg, tmp_path)
    second = gen.measure_unit(cfg, tmp_path)
    first.pop("seconds"), second.pop("seconds")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)  # NaN recovery at f = 0
    assert set(first["basins"]) == {"training", "test", "hidden"}
    assert ("test_to_archetype" in first) == (model == "archetypes")


def test_entropy_gap_is_the_difference_of_means_with_its_standard_error():
    tr, te = [0.1, 0.2, 0.3], [1.0, 2.0, 3.0, 4.0]
    gap, se = gen.entropy_gap(tr, te)
    assert gap == pytest.approx(2.5 - 0.2)
    assert se == pytest.approx(math.hypot(np.std(te, ddof=1) / 2, np.std(tr, ddof=1) / math.sqrt(3)))


def test_meeting_point_crossing_and_three_P_interpolate_in_log_P():
    Ps = [10, 100, 1000]
    assert gen.meeting_point(Ps, [0.3, 0.2, 0.1], [0.0, 0.1, 0.3]) == pytest.approx(10 ** (2 + 1 / 3))
    assert gen.meeting_point(Ps, [0.3, 0.2, 0.1], [0.0, 0.0, 0.0]) is None
    assert gen.meeting_point(Ps, [0.3, 0.2, 0.1], [0.0, 0.01, 0.3], min_level=0.05) == pytest.approx(
        10 ** (2 + 0.19 / 0.39))
    assert gen.meeting_point(Ps, [0.02, 0.01, 0.0], [0.0, 0.01, 0.0], min_level=0.05) is None  # both vanish
    assert gen.meeting_point(Ps, [0.1, 0.0, 0.0], [0.2, 0.0, 0.0]) == 10.0
    assert gen.crossing(Ps, [0.0, 0.25, 1.0], 0.5) == pytest.approx(10 ** (2 + 1 / 3))
    assert gen.crossing(Ps, [0.6, 0.7, 1.0], 0.5) == 10.0 and gen.crossing(Ps, [0, 0, 0.4], 0.5) is None
    assert gen.three_P([1, 2, 4, 8, 16], None) == [1, 4, 16]
    assert gen.three_P([1, 2, 4, 8, 16], 7.0) == [1, 8, 16]
    assert gen.three_P([1, 2, 4, 8, 16], 100.0) == [1, 8, 16]  # the middle stays inside the grid


def _fake_unit(rng, F=3, R=4):
    basin = lambda: {"per_ref_overlap": rng.random((F, R)).round(5).tolist(),  # noqa: E731
                     "radius_mean_curve": float(rng.random()), "radius_per_ref": rng.random(R).tolist(),
                     "recovery": [float("nan")] + rng.random(F - 1).tolist(), "fixed_point": float(rng.random())}
    frac = dict(zip(gen.CENSUS_KEYS, rng.dirichlet(np.ones(len(gen.CENSUS_KEYS)))))
    return {"basins": {k: basin() for k in ("training", "test", "hidden")}, "row_norm": 1.0,
            "learning_rate": 0.5, "census": {"fractions": frac, "n_distinct": 3}}


def test_aggregate_pools_references_over_seeds():
    rng = np.random.default_rng(0)
    Ps = [10, 20]
    results = {P: [_fake_unit(rng) for _ in range(3)] for P in Ps}
    agg = gen.aggregate(results, Ps, [0.0, 0.1, 0.2], probe=0.12)
    assert agg["probe_fraction"] == 0.1
    units = [r["basins"]["test"] for r in results[20]]
    pooled = np.concatenate([np.asarray(u["per_ref_overlap"]) for u in units], axis=1)  # (F, 12)
    d = agg["sets"]["test"]
    np.testing.assert_array_equal(d["curve_mean"][1], pooled.mean(axis=1))
    np.testing.assert_array_equal(d["curve_sem"][1], pooled.std(axis=1, ddof=1) / np.sqrt(12))
    assert d["probe_mean"][1] == pooled.mean(axis=1)[1]
    radii = np.concatenate([u["radius_per_ref"] for u in units])
    assert (d["radius_mean"][1], d["radius_sem"][1]) == mean_sem(radii)
    assert d["fixed_point_mean"][1] == mean_sem([u["fixed_point"] for u in units])[0]
    assert d["recovery_probe_mean"][1] == np.mean([u["recovery"][1] for u in units])
    m, s = mean_sem([r["census"]["fractions"]["spurious"] for r in results[10]])
    assert agg["census"]["spurious"] == {"mean": [m, agg["census"]["spurious"]["mean"][1]],
                                         "sem": [s, agg["census"]["spurious"]["sem"][1]]}
    assert set(agg["markers"]) == {"radii_meet_P", "test_stable_P", "hidden_stable_P",
                                   "hidden_radius_meets_training_P", "census_crossing_P"}
    if agg["markers"]["radii_meet_P"] is None:
        assert agg["transition_P"] == agg["markers"]["test_stable_P"]


def test_reports_and_figure_data_of_a_tiny_run(tmp_path):
    o = dict(QUICK, n=30, alpha_d=0.3, alphas=[0.3, 1.0], per_archetype=[1.0, 3.0], seeds=2, steps=20, refs=4, trials=2,
             starts=20, n_entropy=6, fraction_step=0.15)
    plan = gen.Plan.from_options(o, "both")
    results = [gen.measure_unit(u, tmp_path) for u in plan.units]
    reps = gen.reports(plan, results, probe=0.15)
    assert set(reps) == {"features", "archetypes"}
    data = gen.figure_data(reps)
    assert set(data) == {"basins", "entropy", "census", "archetypes", "features"}
    assert data["basins"]["P"] == plan.Ps and len(data["basins"]["seconds_per_unit"]) == len(plan.feature_units)
    three = data["entropy"]["three_P"]
    assert three[0] == plan.Ps[0] and three[-1] == plan.Ps[-1]
    assert set(data["entropy"]["values"]) == set(map(str, three))
    assert set(data["features"]) == {"features", "archetypes"}
    assert len(data["archetypes"]["test_to_archetype_mean"]) == len(plan.Ms)
    from amsim.generalization_plots import draw_figures
    from memkit.figures import use_agg

    (tmp_path / "figs").mkdir()
    paths = draw_figures(use_agg(), reps, tmp_path / "figs")
    assert sorted(p.name for p in paths) == sorted(f"am_generalization_{n}.png" for n in data)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
