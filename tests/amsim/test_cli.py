import json

import numpy as np
import pytest
from click.testing import CliRunner

from amsim import PseudoLikelihoodMemory, load_network, random_patterns, save_network
from amsim.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [l for l in result.output.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error") and "Traceback" not in result.output
    return lines[0]


def test_saved_network_reloads_bit_for_bit(tmp_path):
    xi = random_patterns(20, 30, seed=0)
    net = PseudoLikelihoodMemory(n_steps=50, beta=0.7).fit(xi)
    path = tmp_path / "net.npz"
    save_network(path, net, meta={"note": "x"}, training=xi)
    back, meta, arrays = load_network(path)
    assert back.J_.tobytes() == net.J_.tobytes()
    assert back.beta == 0.7 and meta["rule"] == "pl" and meta["note"] == "x"
    assert meta["params"]["n_steps"] == 50
    np.testing.assert_array_equal(arrays["training"], xi)


def test_load_rejects_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_network(tmp_path / "nope.npz")
    xi = random_patterns(5, 10, seed=0)
    good = tmp_path / "good.npz"
    save_network(good, PseudoLikelihoodMemory(n_steps=2).fit(xi))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a valid amsim network file"):
        load_network(bad)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid amsim network file"):
        load_network(other)


def test_train_basins_census_round_trip(runner, tmp_path):
    net = tmp_path / "rf.npz"
    r = runner.invoke(main, ["train", "--data", "features", "-N", "120", "--features", "6", "-P", "240",
                             "--rule", "pl", "--steps", "200", "--test", "20", "--seed", "3", "-o", str(net)])
    assert r.exit_code == 0, r.output
    assert "saved to" in r.output
    _, meta, arrays = load_network(net)
    assert set(arrays) == {"training", "test", "hidden"} and arrays["training"].shape == (240, 120)
    csv, png = tmp_path / "b.csv", tmp_path / "b.png"
    r = runner.invoke(main, ["basins", str(net), "--on", "training", "--on", "test", "--fractions", "0,0.1,0.2",
                             "--references", "10", "--trials", "2", "--csv", str(csv), "--png", str(png)])
    assert r.exit_code == 0, r.output
    assert "basin radius (test" in r.output
    lines = csv.read_text().strip().splitlines()
    assert lines[0].startswith("set,fraction,overlap") and len(lines) == 1 + 2 * 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    js = tmp_path / "c.json"
    r = runner.invoke(main, ["census", str(net), "--starts", "50", "--json", str(js)])
    assert r.exit_code == 0, r.output
    data = json.loads(js.read_text())
    assert abs(sum(data["fractions"].values()) - 1) < 1e-9


def test_same_seed_same_network(runner, tmp_path):
    outs = []
    for name in ("a.npz", "b.npz"):
        p = tmp_path / name
        r = runner.invoke(main, ["train", "-N", "40", "--alpha", "0.5", "--steps", "20", "--seed", "7", "-o", str(p)])
        assert r.exit_code == 0, r.output
        outs.append(load_network(p)[0].J_)
    assert outs[0].tobytes() == outs[1].tobytes()


@pytest.mark.parametrize("args, needle", [
    (["train", "-N", "-5"], "must be > 0, got -5"),
    (["train", "--beta", "0"], "--beta must be > 0"),
    (["train", "--beta", "-1"], "--beta must be > 0"),
    (["train", "--alpha", "-0.1"], "must be > 0"),
    (["train", "-N", "10", "--alpha", "0.01"], "gives P = 0 < 1 pattern"),
    (["train", "-P", "10", "--alpha", "0.5"], "either --patterns or --alpha"),
    (["train", "-N", "10", "--alpha", "3", "--rule", "maxmargin"], "Gardner"),
    (["train", "--data", "archetypes", "-P", "7", "--archetypes", "5"], "not a multiple"),
    (["train", "--data", "archetypes", "--quality", "2"], "quality"),
])
def test_train_bad_values_get_one_line(runner, tmp_path, args, needle):
    r = runner.invoke(main, args + ["-o", str(tmp_path / "x.npz")])
    line = one_line_error(r)
    assert needle in line


def test_basins_bad_files_get_one_line(runner, tmp_path):
    line = one_line_error(runner.invoke(main, ["basins", str(tmp_path / "missing.npz")]))
    assert "not found" in line
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"this is not a zip file")
    line = one_line_error(runner.invoke(main, ["basins", str(corrupt)]))
    assert "not a valid amsim network file" in line
    good = tmp_path / "g.npz"
    runner.invoke(main, ["train", "-N", "20", "--alpha", "0.5", "--steps", "5", "-o", str(good)])
    line = one_line_error(runner.invoke(main, ["basins", str(good), "--on", "test"]))
    assert "no 'test' set" in line
    line = one_line_error(runner.invoke(main, ["basins", str(good), "--fractions", "0.5,0.1"]))
    assert "increasing" in line
    line = one_line_error(runner.invoke(main, ["census", str(good), "--delta", "2"]))
    assert "--delta" in line


def test_help_teaches(runner):
    r = runner.invoke(main, ["--help"])
    assert r.exit_code == 0 and "pseudo-likelihood" in r.output and "amsim train" in r.output
    r = runner.invoke(main, ["train", "--help"])
    assert "--alpha" in r.output and "eq. 10" in r.output


def test_cli_subprocess_has_no_traceback(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "amsim.cli", "train", "--beta", "-2", "-o", str(tmp_path / "x.npz")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
