"""experiments/dense_circle.py: the --quick run, its files, its seeds and its errors."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.experiments.helpers import check_curve, load_script

NAME = "dense_circle"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    mod = load_script(NAME)
    root = tmp_path_factory.mktemp("dense")
    out, cache = root / "figures", root / "cache"
    args = ["--quick", "--out", str(out), "--cache", str(cache)]
    first = CliRunner().invoke(mod.main, args)
    assert first.exit_code == 0, first.output
    text = (out / f"{NAME}.json").read_text()
    second = CliRunner().invoke(mod.main, args)
    return dict(mod=mod, out=out, cache=cache, first=first, second=second, text=text,
                data=json.loads(text))


def test_quick_run_writes_a_png_and_valid_json(quick_run):
    png = quick_run["out"] / f"{NAME}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    d = quick_run["data"]
    s = d["settings"]
    assert s["quick"] and s["n_values"] == [2, 8, 32] and len(s["seeds"]) == 2
    for kind in ("network", "exact"):
        curve = d["summary"][kind]
        assert curve["n"] == s["n_values"]
        for c in ("memorised", "spurious", "generalised", "total"):
            check_curve(curve[c])
            assert len(curve[c]["mean"]) == len(s["n_values"])
        assert set(d["peak"][kind]) >= {"peak", "n_at_max", "max"}
    assert len(d["models"]) == len(s["n_values"]) * len(s["seeds"])
    for m in d["models"]:
        for kind in ("network", "exact"):
            counts = m[kind]["counts"]
            assert sum(counts.values()) == len(m[kind]["points"]) >= 1
            assert all(p["rho"] < 1 for p in m[kind]["points"])
    assert set(d["panels"]) == {"memorising", "transition", "generalising"}


def test_the_exact_reference_memorises_two_points(quick_run):
    """At n = 2 the two training points are far apart compared with sigma (unless the
    seed draws them within a few sigma): the exact DAM's stable points are exactly them."""
    for m in quick_run["data"]["models"]:
        if m["n"] == 2:
            pts = m["exact"]["points"]
            assert m["exact"]["counts"]["memorised"] == 2 and len(pts) == 2
            assert all(p["nearest"] < 1e-6 for p in pts)


def test_same_seed_same_numbers(quick_run, tmp_path):
    """A fresh cache recomputes every model: the same numbers, byte for byte."""
    out = tmp_path / "again"
    r = CliRunner().invoke(quick_run["mod"].main, ["--quick", "--out", str(out), "--cache", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert " 0 from the cache" in r.output
    assert (out / f"{NAME}.json").read_text() == quick_run["text"]


def test_second_run_is_a_pure_cache_hit(quick_run):
    assert " 0 computed" in quick_run["second"].output, quick_run["second"].output
    assert (quick_run["out"] / f"{NAME}.json").read_text() == quick_run["text"]


def test_another_seed_gives_other_numbers(quick_run, tmp_path):
    r = CliRunner().invoke(quick_run["mod"].main, ["--quick", "--seed", "5", "--n-values", "8", "--out",
                                                  str(tmp_path), "--cache", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    other = json.loads((tmp_path / f"{NAME}.json").read_text())["models"][0]
    mine = next(m for m in quick_run["data"]["models"] if m["n"] == 8)
    assert other["data"] != mine["data"]


@pytest.mark.parametrize("args, words", [
    (["--n-values", "2,x"], "--n-values"),
    (["--n-values", "8,4"], "increasing"),
    (["--seeds", "0"], "--seeds"),
    (["--sigma", "-0.1"], "--sigma"),
    (["--grid", "1"], "--grid"),
    (["--lr", "0"], "--lr"),
    (["--workers", "0"], "--workers"),
    (["--shard", "3/2"], "--shard"),
])
def test_bad_options_are_one_line_and_exit_2(args, words):
    mod = load_script(NAME)
    r = CliRunner().invoke(mod.main, ["--quick", "--out", "/tmp/never-written", "--cache", "/tmp/never-written/c"]
                           + args)
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], r.output


def test_the_script_is_a_thin_driver_with_help():
    mod = load_script(NAME)
    r = CliRunner().invoke(mod.main, ["--help"])
    assert r.exit_code == 0 and "--quick" in r.output
    text = Path(mod.__file__).read_text()
    assert "sys.path" not in text and len(text.splitlines()) <= 150
