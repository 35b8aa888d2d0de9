"""The `uddm` command: a working session and one-line errors for wrong values."""
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from uddm.cli import main

TRAIN = ["train", "--config", "cpu-xxs", "--corpus", "markov:16:3:0", "--length", "16",
         "--n-train", "12", "--n-test", "8", "--steps", "4", "--batch-size", "4",
         "--no-progress"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "m.pt"
    r = CliRunner().invoke(main, TRAIN + ["--out", str(p)])
    assert r.exit_code == 0, r.output
    assert "step 4" in r.output and "validation NELBO" in r.output
    return p


def _one_line_error(r, fragment):
    assert r.exit_code == 2, r.output
    lines = [l for l in r.output.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in r.output


def test_configs_lists_parameter_counts():
    r = CliRunner().invoke(main, ["configs"])
    assert r.exit_code == 0
    assert "tiny" in r.output and "23.664 M" in r.output and "cpu-xs" in r.output


def test_help_teaches():
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0 and "uddm train --config cpu-xs" in r.output
    for cmd in ("train", "sample", "recover", "entropy", "configs"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output


def test_session_sample_recover_entropy_resume(ckpt, tmp_path):
    r = CliRunner().invoke(main, ["sample", "--checkpoint", str(ckpt), "--n", "2", "--steps", "4",
                                  "--out", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    assert r.output.count("H=") == 2 and (tmp_path / "s.json").exists()
    r2 = CliRunner().invoke(main, ["sample", "--checkpoint", str(ckpt), "--n", "2", "--steps", "4"])
    assert r2.output == r.output                       # same seed, same samples
    r = CliRunner().invoke(main, ["recover", "--checkpoint", str(ckpt), "--t", "0.5",
                                  "--n", "8", "--steps", "4"])
    assert r.exit_code == 0, r.output
    assert "recovery rate (eq. 12)" in r.output and "Bayes-MAP reference" in r.output
    r = CliRunner().invoke(main, ["entropy", "--checkpoint", str(ckpt), "--n", "4", "--steps", "4"])
    assert r.exit_code == 0, r.output
    assert "entropy gap" in r.output
    out = tmp_path / "r.pt"
    out.write_bytes(ckpt.read_bytes())
    r = CliRunner().invoke(main, ["train", "--resume", str(out), "--steps", "6", "--out", str(out),
                                  "--no-progress"])
    assert r.exit_code == 0, r.output
    assert torch.load(out, weights_only=True)["step"] == 6


@pytest.mark.parametrize("args,fragment", [
    (["train", "--config", "huge", "--out", "x.pt"], "unknown model configuration 'huge'"),
    (["train", "--config", "cpu-xxs", "--length", "64", "--out", "x.pt"], "longer than the model's length 32"),
    (["train", "--corpus", "markov:16:3:0", "--fraction", "1.5", "--out", "x.pt"], "fraction must be in (0, 1], got 1.5"),
    (["train", "--corpus", "markov:16:3:0", "--fraction", "0", "--out", "x.pt"], "fraction must be in (0, 1], got 0.0"),
    (["train", "--corpus", "text:EMPTY", "--out", "x.pt"], "is empty"),
    (["train", "--corpus", "text:/no/such.txt", "--out", "x.pt"], "does not exist"),
    (["sample", "--checkpoint", "/no/such.pt"], "checkpoint /no/such.pt does not exist"),
    (["recover", "--checkpoint", "/no/such.pt"], "does not exist"),
    (["configs", "--vocab-size", "1"], "--vocab-size must be >= 2"),
])
def test_cli_errors_are_one_line(args, fragment, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    args = [a.replace("EMPTY", str(empty)) for a in args]
    args = [str(tmp_path / a) if a == "x.pt" else a for a in args]
    _one_line_error(CliRunner().invoke(main, args), fragment)


def test_cli_truncated_and_foreign_checkpoints(ckpt, tmp_path):
    bad = tmp_path / "trunc.pt"
    bad.write_bytes(ckpt.read_bytes()[:1000])
    _one_line_error(CliRunner().invoke(main, ["sample", "--checkpoint", str(bad)]), "truncated")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    _one_line_error(CliRunner().invoke(main, ["entropy", "--checkpoint", str(other)]),
                    "not a uddm checkpoint")
    refs = tmp_path / "refs.txt"
    refs.write_text("s1 s2 s99\n")
    _one_line_error(CliRunner().invoke(main, ["recover", "--checkpoint", str(ckpt),
                                              "--reference-file", str(refs)]),
                    "s99 is outside the vocabulary of 16")
    refs.write_text(" ".join(["s1"] * 40) + "\n")
    _one_line_error(CliRunner().invoke(main, ["recover", "--checkpoint", str(ckpt),
                                              "--reference-file", str(refs)]),
                    "longer than the model's length")


def test_char_checkpoint_rejects_text_from_another_vocabulary(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("abab abba baba " * 30)
    ck = tmp_path / "c.pt"
    r = CliRunner().invoke(main, ["train", "--config", "cpu-xxs", "--corpus", f"text:{corpus}",
                                  "--length", "8", "--n-test", "4", "--steps", "2",
                                  "--batch-size", "2", "--no-progress", "--out", str(ck)])
    assert r.exit_code == 0, r.output
    refs = tmp_path / "refs.txt"
    refs.write_text("abcd\n")
    _one_line_error(CliRunner().invoke(main, ["recover", "--checkpoint", str(ck),
                                              "--reference-file", str(refs)]),
                    "character 'c' is not in the tokenizer's vocabulary")


def test_entry_point_exits_nonzero_with_one_line():
    r = subprocess.run([sys.executable, "-m", "uddm.cli", "sample", "--checkpoint", "/no/such.pt"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["Error: checkpoint /no/such.pt does not exist"]
