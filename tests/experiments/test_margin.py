"""experiments/perceptron_margin.py: the --quick run, its files, its claims, its cache."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.experiments.helpers import check_curve, load_script

NAMES = ("training", "capacity", "gradient", "stabilities", "basins")
K_SE = 4.0  # a claimed agreement/difference is judged at this many standard errors


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    mod = load_script("perceptron_margin")
    root = tmp_path_factory.mktemp("pmargin")
    out, cache = root / "figures", root / "cache"
    args = ["--quick", "--out", str(out), "--cache", str(cache)]
    first = CliRunner().invoke(mod.main, args)
    assert first.exit_code == 0, first.output
    data1 = {n: (out / f"perceptron_margin_{n}.json").read_text() for n in NAMES}
    mtimes = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    second = CliRunner().invoke(mod.main, args)
    data = {n: json.loads((out / f"perceptron_margin_{n}.json").read_text()) for n in NAMES}
    return dict(out=out, cache=cache, first=first, second=second, mtimes=mtimes, data1=data1, data=data)


def test_quick_run_writes_every_png_and_its_data(quick_run):
    out, d = quick_run["out"], quick_run["data"]
    for name in NAMES:
        png = out / f"perceptron_margin_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert png.stat().st_size > 10_000
    for a, p in d["training"]["panels"].items():
        for sched in ("constant", "normalised"):
            check_curve(p[sched])
        check_curve(p["row_norm_fit"])
    check_curve(d["capacity"]["max_margin"])
    check_curve(d["capacity"]["separable"])
    check_curve(d["capacity"]["gardner_curve"])
    check_curve(d["gradient"]["norms"])
    check_curve(d["gradient"]["share"])
    check_curve(d["gradient"]["scatter"])
    check_curve(d["stabilities"]["panels"])
    check_curve(d["basins"]["curves"])
    check_curve([{k: v for k, v in pt.items() if k != "kind"} for pt in d["basins"]["radius_vs_margin"].values()])


def test_pl_margins_approach_the_exact_max_margin_from_below(quick_run):
    for a, p in quick_run["data"]["training"]["panels"].items():
        kmax = np.asarray(p["max_margin_rows"])
        for sched in ("constant", "normalised"):
            gap = np.asarray(p[sched]["gap_to_max_margin"])
            assert p[sched]["step"][0] == 1
            # the gap to each row's exact max margin shrinks a lot during training ...
            assert gap[-1] < 0.3 * gap[0], (a, sched, gap[0], gap[-1])
            # ... and PL never beats the exact optimum (AdaTron tolerance 1e-6)
            final = np.asarray(p["final_min_margin_rows"][sched])
            assert np.all(final <= kmax + 1e-4), (a, sched, float((final - kmax).max()))
        # the normalised step gets much closer than the constant step (the 1/log t rate)
        assert p["normalised"]["gap_to_max_margin"][-1] < 0.5 * p["constant"]["gap_to_max_margin"][-1]
        assert abs(np.mean(p["final_min_margin_rows"]["normalised"]) - kmax.mean()) < 0.05
        # constant step: ||J_i|| grows like log t with a positive slope
        assert p["row_norm_fit"]["slope_per_ln_t"] > 0.1


def test_max_margins_follow_gardner_and_rows_separate_up_to_about_two(quick_run):
    cap = quick_run["data"]["capacity"]
    for N, c in cap["max_margin"].items():
        for k, g, se, conv in zip(c["kappa_mean"], c["gardner_kappa_opt"], c["kappa_sem"],
                                  c["fraction_rows_converged"]):
            assert conv == 1.0
            # finite-size bias of a few hundredths at N = 30-60, on top of sampling error
            assert abs(k - g) < K_SE * se + 0.06, (N, k, g, se)
    for N, c in cap["separable"].items():
        x, fr, se = map(np.asarray, (c["alpha_per_row"], c["fraction"], c["binomial_se"]))
        assert fr[x < 1.7].min() >= 0.9 and fr[x > 2.3].max() <= 0.1, (N, fr)
        # near alpha = 2 the fraction agrees with Cover's finite-N formula
        cov = np.interp(x, c["cover_alpha"], c["cover_probability"])
        mid = (x > 1.8) & (x < 2.2)
        assert np.all(np.abs(fr[mid] - cov[mid]) < K_SE * se[mid] + 0.1), (N, fr, cov)


def test_gradient_terms_and_weight_concentration(quick_run):
    g = quick_run["data"]["gradient"]
    for a, n in g["norms"].items():
        m, tot = np.asarray(n["margin_norm"]), np.asarray(n["grad_norm"])
        # the margin term grows until it nearly cancels the Hebbian term
        assert m[-1] > 0.9 * n["hebbian_norm"] and m[-1] > m[0]
        assert tot[-1] < 0.05 * tot[0]
    for key, sh in g["share"].items():
        share = np.asarray(sh["share"])
        assert abs(share[0] - sh["uniform"]) < 1e-9  # J = 0: every pattern has weight 1
        assert share[-1] > 1.8 * sh["uniform"], (key, share[-1])


def test_stabilities_follow_gardner_at_the_optimum(quick_run):
    for a, p in quick_run["data"]["stabilities"]["panels"].items():
        th = p["gardner_peak_fraction_in_window"]
        assert abs(p["maxmargin_peak_fraction"] - th) < 0.08, (a, p["maxmargin_peak_fraction"], th)
        assert abs(p["pl_peak_fraction"] - th) < 0.12, (a, p["pl_peak_fraction"], th)
        dens = np.asarray(p["maxmargin_density"])
        edges = np.asarray(quick_run["data"]["stabilities"]["bin_edges"])
        assert dens[edges[1:] < p["gardner_kappa"] - 0.25].sum() == 0  # nothing well below the margin


def test_pl_basins_beat_hebb_and_grow_with_margin(quick_run):
    b = quick_run["data"]["basins"]
    loads = b["settings"]["basin_loads"]
    for a in loads:
        assert b["curves"][f"PL/{a}"]["radius"] >= b["curves"][f"Hebb/{a}"]["radius"], a
    # at alpha = 0.5 Hebb does not even keep its patterns, PL does with a basin
    assert b["curves"]["Hebb/0.5"]["mean_overlap"][0] < 0.9
    assert b["curves"]["PL/0.5"]["radius"] > 0
    pts = [(v["net_margin"], v["radius"]) for v in b["radius_vs_margin"].values()]
    from scipy.stats import spearmanr

    rho = spearmanr([p[0] for p in pts], [p[1] for p in pts]).statistic
    assert rho > 0.6, rho


def test_second_run_is_a_pure_cache_hit(quick_run):
    assert " 0 computed" in quick_run["second"].output, quick_run["second"].output
    assert {p.name: p.stat().st_mtime_ns for p in quick_run["cache"].iterdir()} == quick_run["mtimes"]
    for n in NAMES:
        assert (quick_run["out"] / f"perceptron_margin_{n}.json").read_text() == quick_run["data1"][n]


def test_the_script_is_a_thin_driver_with_help():
    """--help works; the science lives in amsim (no sys.path edits, a short driver)."""
    mod = load_script("perceptron_margin")
    r = CliRunner().invoke(mod.main, ["--help"])
    assert r.exit_code == 0 and "--quick" in r.output and "--workers" in r.output
    text = Path(mod.__file__).read_text()
    assert "sys.path" not in text and "noqa: E402" not in text
    assert len(text.splitlines()) <= 150
