"""experiments/am_generalization.py: the --quick run, its files, its claims, its cache.

The science itself is tested unit by unit in tests/amsim/test_generalization.py.
"""
import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from amsim.generalization import entropy_gap
from tests.experiments.helpers import check_curve, load_script

NAMES = ("basins", "features", "entropy", "census", "archetypes")
K_SE = 3.0  # a claimed difference must exceed this many combined standard errors


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    mod = load_script("am_generalization")
    root = tmp_path_factory.mktemp("amgen")
    out, cache = root / "figures", root / "cache"
    args = ["--quick", "--out", str(out), "--cache", str(cache)]
    first = CliRunner().invoke(mod.main, args)
    assert first.exit_code == 0, first.output
    mtimes = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    second = CliRunner().invoke(mod.main, args)
    return dict(out=out, cache=cache, first=first, second=second, mtimes=mtimes)


def test_quick_run_writes_every_png_and_its_data(quick_run):
    out = quick_run["out"]
    for name in NAMES:
        png = out / f"am_generalization_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert png.stat().st_size > 10_000
        assert (out / f"am_generalization_{name}.json").exists()
    d = json.loads((out / "am_generalization_basins.json").read_text())
    nP, nF = len(d["P"]), len(d["fractions"])
    for name in ("training", "test"):
        for key in ("radius_mean", "radius_sem", "probe_mean", "probe_sem", "fixed_point_mean"):
            assert len(d[name][key]) == nP
            check_curve(d[name][key])
        assert np.asarray(d[name]["curve_mean"]).shape == (nP, nF)
        check_curve(d[name]["curve_mean"])
        check_curve(d[name]["curve_sem"])
    f = json.loads((out / "am_generalization_features.json").read_text())
    assert set(f) == {"features", "archetypes"}
    for m in f.values():
        check_curve(m["hidden"]["radius_mean"])
        check_curve(m["random_starts_on_hidden"])
    e = json.loads((out / "am_generalization_entropy.json").read_text())
    assert len(e["three_P"]) == 3
    for P in e["three_P"]:
        for k in ("training", "test", "fixed_points"):
            check_curve(e["values"][str(P)][k])
    c = json.loads((out / "am_generalization_census.json").read_text())
    for lab in ("memorised", "generalised", "spurious", "rare", "not_converged"):
        assert len(c["census"][lab]["mean"]) == len(c["P"])
        check_curve(c["census"][lab])
    total = sum(np.asarray(c["census"][lab]["mean"]) for lab in
                ("memorised", "generalised", "spurious", "rare", "not_converged"))
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    a = json.loads((out / "am_generalization_archetypes.json").read_text())
    for key in ("training", "test", "archetypes"):
        check_curve(a[key]["radius_mean"])
    check_curve(a["test_to_archetype_mean"])
    check_curve(a["census"])


def _falls(mean, sem):
    """(drop from the smallest to the largest P, its combined standard error)."""
    return mean[0] - mean[-1], math.hypot(sem[0], sem[-1])


def test_training_recovery_falls_and_test_recovery_rises_with_P(quick_run):
    d = json.loads((quick_run["out"] / "am_generalization_basins.json").read_text())
    tr, te = d["training"], d["test"]
    drop, se = _falls(tr["probe_mean"], tr["probe_sem"])
    assert drop > K_SE * se and drop > 0.05, (tr["probe_mean"], tr["probe_sem"])
    rise, se = _falls(te["probe_mean"][::-1], te["probe_sem"][::-1])
    assert rise > K_SE * se and rise > 0.05, (te["probe_mean"], te["probe_sem"])
    # basins: training radius shrinks with P
    drop, se = _falls(tr["radius_mean"], tr["radius_sem"])
    assert drop > K_SE * se, (tr["radius_mean"], tr["radius_sem"])
    # at the smallest P the training examples are recovered far better than unseen examples
    gap = tr["probe_mean"][0] - te["probe_mean"][0]
    assert gap > K_SE * math.hypot(tr["probe_sem"][0], te["probe_sem"][0])


def test_entropy_small_on_training_examples_when_memorising(quick_run):
    e = json.loads((quick_run["out"] / "am_generalization_entropy.json").read_text())
    small = str(e["three_P"][0])
    tr, te = e["values"][small]["training"], e["values"][small]["test"]
    # means with their standard errors: training entropy well below test entropy
    diff, se = entropy_gap(tr, te)
    assert diff > K_SE * se, (np.mean(tr), np.mean(te), se)


def test_second_run_is_a_cache_hit(quick_run):
    first, second = quick_run["first"], quick_run["second"]
    assert second.exit_code == 0, second.output
    n_units = int(re.search(r"(\d+) units \(0 from the cache\)", first.output).group(1))
    assert f"{n_units} units ({n_units} from the cache)" in second.output
    assert "(0 from the cache)" in first.output
    cache = quick_run["cache"]
    nets = list(cache.glob("net_*.npz"))
    assert len(nets) == n_units  # one trained network per unit
    # nothing in the cache was rewritten by the second run
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == quick_run["mtimes"]
