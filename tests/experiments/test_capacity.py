"""experiments/am_capacity.py: the --quick run, its files, its claims, its cache."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.experiments.helpers import load_script, numbers

K_SE = 4.0


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    mod = load_script("am_capacity")
    root = tmp_path_factory.mktemp("amcap")
    out, cache = root / "figures", root / "cache"
    args = ["--quick", "--out", str(out), "--cache", str(cache)]
    first = CliRunner().invoke(mod.main, args)
    assert first.exit_code == 0, first.output
    text1 = (out / "am_capacity.json").read_text()
    mtimes = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    second = CliRunner().invoke(mod.main, args)
    return dict(out=out, cache=cache, first=first, second=second, mtimes=mtimes, text1=text1,
                data=json.loads((out / "am_capacity.json").read_text()))


def test_quick_run_writes_png_and_curves(quick_run):
    png = quick_run["out"] / "am_capacity.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    d = quick_run["data"]
    for rule in ("hebb", "pl"):
        sizes = d["settings"][f"{rule}_sizes"]
        assert len(sizes) >= 2
        for N in sizes:
            vals = list(numbers(d[rule][str(N)]))
            assert vals and all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals)
    assert all(math.isfinite(v) for v in d["hebb"]["ags"]["overlap"])


def test_hebb_retrieves_below_alpha_c_and_fails_above(quick_run):
    d = quick_run["data"]["hebb"]
    for N in quick_run["data"]["settings"]["hebb_sizes"]:
        c = d[str(N)]
        a, m, se = map(np.asarray, (c["alpha"], c["overlap_from_pattern"], c["sem_from_pattern"]))
        ags = np.asarray(c["ags_at_alpha"])
        low = a < 0.1
        assert np.all(m[low] > 0.95)
        # close to the AGS overlap well below alpha_c (finite N only helps a little)
        assert np.all(np.abs(m[low] - ags[low]) < K_SE * se[low] + 0.02)
        high = a > 0.25
        assert np.all(m[high] < 0.8) and np.all(m[high] < m[low].min() - K_SE * se[high])
    # finite size: the breakdown past alpha_c is sharper at larger N
    sizes = sorted(quick_run["data"]["settings"]["hebb_sizes"])
    small, large = d[str(sizes[0])], d[str(sizes[-1])]
    i = int(np.argmax(small["alpha"]))
    assert large["overlap_from_pattern"][i] < small["overlap_from_pattern"][i] - K_SE * math.hypot(
        large["sem_from_pattern"][i], small["sem_from_pattern"][i])


def test_pl_stores_every_pattern_below_two_and_not_above(quick_run):
    d = quick_run["data"]["pl"]
    for N in quick_run["data"]["settings"]["pl_sizes"]:
        c = d[str(N)]
        a = np.asarray(c["alpha"])
        fp, m = np.asarray(c["fraction_fixed_points"]), np.asarray(c["overlap_from_pattern"])
        assert np.all(fp[a <= 1.0] == 1.0) and np.all(m[a <= 1.0] > 0.999)
        assert np.all(fp[a >= 3.0] < 0.5) and np.all(m[a >= 3.0] < 0.9)


def test_second_run_is_a_pure_cache_hit(quick_run):
    assert " 0 computed" in quick_run["second"].output, quick_run["second"].output
    assert {p.name: p.stat().st_mtime_ns for p in quick_run["cache"].iterdir()} == quick_run["mtimes"]
    assert (quick_run["out"] / "am_capacity.json").read_text() == quick_run["text1"]


def test_shards_and_workers_give_the_same_figure_data(quick_run, tmp_path):
    """--shard 1/2 with two workers, then --shard 2/2, on one cache: the second shard
    finds the first's results and draws; the numbers are those of the serial run."""
    mod = load_script("am_capacity")
    out, cache = tmp_path / "figures", tmp_path / "cache"
    args = ["--quick", "--out", str(out), "--cache", str(cache)]
    first = CliRunner().invoke(mod.main, args + ["--shard", "1/2", "--workers", "2"])
    assert first.exit_code == 0, first.output
    assert "shard 1/2" in first.output and "run without --shard" in first.output
    assert not (out / "am_capacity.json").exists()
    second = CliRunner().invoke(mod.main, args + ["--shard", "2/2"])
    assert second.exit_code == 0, second.output
    assert (out / "am_capacity.json").read_text() == quick_run["text1"]
    assert {p.name for p in cache.iterdir()} == set(quick_run["mtimes"])


def test_the_script_is_a_thin_driver_with_help():
    """--help works; the science lives in amsim (no sys.path edits, a short driver)."""
    mod = load_script("am_capacity")
    r = CliRunner().invoke(mod.main, ["--help"])
    assert r.exit_code == 0 and "--quick" in r.output and "--workers" in r.output
    text = Path(mod.__file__).read_text()
    assert "sys.path" not in text and "noqa: E402" not in text
    assert len(text.splitlines()) <= 150
