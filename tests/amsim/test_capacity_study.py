"""amsim.capacity_study: retrieval against load, on small networks."""
import math

import numpy as np
import pytest

from amsim import capacity_study as cs
from memkit.measures import mean_sem

CFG = dict(v=cs.VERSION, N=40, seed=0, refs=10, flip=0.05, max_sweeps=50, beta=cs.BETA)


def test_hebb_at_low_load_retrieves_and_pl_stores_at_alpha_one():
    h = cs.measure_point(dict(CFG, rule="hebb", alpha=0.05))
    assert h["P"] == 2 and h["fixed_points"] == 1.0 and h["f0"]["overlap"] == [1.0, 1.0]
    assert h["flip"]["k"] == 2 and h["f0"]["k"] == 0
    p = cs.measure_point(dict(CFG, rule="pl", alpha=1.0, pl_iters=200))
    assert p["P"] == 40 and p["fixed_points"] == 1.0 and p["stable_bits"] == 1.0
    assert len(p["f0"]["overlap"]) == 10 and min(p["f0"]["overlap"]) == 1.0


def test_summarise_pools_the_references_of_every_seed():
    pts = [{"P": 5, "fixed_points": fp, "stable_bits": 1.0,
            "f0": {"overlap": ov, "k": 0}, "flip": {"overlap": ov[:1], "k": 2}}
           for fp, ov in ((1.0, [1.0, 0.5]), (0.5, [0.25]))]
    sm = cs.summarise(pts)
    assert (sm["f0"]["mean"], sm["f0"]["sem"]) == mean_sem([1.0, 0.5, 0.25]) and sm["f0"]["n"] == 3
    assert sm["flip"]["sem"] == pytest.approx(np.std([1.0, 0.25], ddof=1) / math.sqrt(2))
    assert sm["fixed_points"] == 0.75 and sm["P"] == 5 and sm["flip"]["k"] == 2
    assert cs.summarise(pts[1:])["f0"]["sem"] == 0.0  # one reference: no spread


def test_plan_gives_enough_references_and_cheap_units_first():
    tasks, seeds = cs.plan([100], [0.04, 0.3], [40], [1.0], 200, 40, 60, 0.05, 200, 0)
    assert seeds == {"hebb/100/0.04": 15, "hebb/100/0.3": 2, "pl/40/1.0": 2}  # ceil(60 / min(P, 40))
    assert len(tasks) == 19 and [t[1]["rule"] for t in tasks] == ["hebb"] * 17 + ["pl"] * 2
    assert all("pl_iters" in cfg for (rule, _, _), cfg in tasks if rule == "pl")
    assert cs.seed_summary(seeds) == "2-15" and cs.seed_summary({"a": 3}) == "3"
    assert cs.n_patterns(10, 0.01) == 1 and cs.n_patterns(100, 0.125) == 12


def test_figure_data_and_drawing_from_a_tiny_run():
    tasks, seeds = cs.plan([40], [0.05], [40], [1.0], 50, 10, 10, 0.05, 50, 0)
    res = cs.collect(tasks, [cs.measure_point(cfg) for _, cfg in tasks])
    s = {"hebb_sizes": [40], "hebb_loads": [0.05], "pl_sizes": [40], "pl_loads": [1.0], "pl_iters": 50,
         "refs": 10, "min_refs": 10, "flip": 0.05, "max_sweeps": 50, "seed": 0, "seeds": cs.seed_summary(seeds),
         "seeds_per_point": seeds, "quick": True, "beta": cs.BETA}
    data = cs.figure_data(res, s)
    assert data["hebb"]["40"]["alpha"] == [0.05] and data["pl"]["40"]["fraction_fixed_points"] == [1.0]
    assert data["hebb"]["ags"]["alpha_c"] == pytest.approx(0.138, abs=1e-3)
    from amsim import capacity_figures
    import matplotlib.pyplot as plt
    plt.close(capacity_figures.draw(data))
