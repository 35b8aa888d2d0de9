"""experiments/bridge.py: both memories on the same data, at the tests' quick size."""
import json

import numpy as np
from click.testing import CliRunner

from tests.experiments.helpers import load_script


def test_quick_bridge_run_writes_both_memories_curves(tmp_path):
    mod = load_script("bridge")
    out, cache = tmp_path / "fig", tmp_path / "cache"
    r = CliRunner().invoke(mod.main, ["--quick", "--out", str(out), "--cache", str(cache)])
    assert r.exit_code == 0, r.output
    d = json.loads((out / "bridge.json").read_text())
    for data in ("random", "features"):
        assert (out / f"bridge_{data}.png").stat().st_size > 10_000
        radius = d["aggregate"][data]["radius"]
        assert {"PL", "Hebb", "linear NELBO (greedy)", "linear NELBO (ancestral)"} <= set(radius)
        assert ("features" in radius["PL"]) == (data == "features")
        for model in radius.values():
            for per_load in model.values():
                assert len(per_load) == len(d["loads"])
                assert all(0.0 <= m <= 0.45 and s >= 0 for m, s in per_load)
        # the transition loads per model, per seed, then mean +- SEM (n seeds with a value)
        trans = d["aggregate"][data]["transition"]
        assert set(trans) == set(radius)
        for model in trans.values():
            for what in ("half_test", "meet"):
                m, s, n = model[what]
                assert 0 <= n <= 2 and (n == 0 or (min(d["loads"]) <= m <= max(d["loads"]) and s >= 0))
        vs = d["aggregate"][data]["transition_vs_PL"]["PL"]["meet"]
        assert vs[2] == 0 or (vs[0] == 0.0 and vs[1] == 0.0)        # PL against itself
    unit = d["units"][0]["result"]
    # at f = 0 the network starts at the reference; a low-load PL network keeps it
    assert unit["curves"]["PL"]["train"]["overlap"][0] == 1.0
    assert np.isnan(unit["curves"]["PL"]["train"]["recovery"][0])
    c = unit["couplings"]["linear_vs_PL"]
    assert -1 <= c["correlation"] <= 1 and c["rel_distance"] >= 0
    again = CliRunner().invoke(mod.main, ["--quick", "--out", str(out), "--cache", str(cache)])
    assert again.exit_code == 0 and json.loads((out / "bridge.json").read_text()) == d   # from the cache
