"""Every fault a user can cause: one line, exit 2, nothing lost, an exact resume.

The table below holds bad inputs for every command and script, grouped by class of
fault (non-finite numbers, out-of-range numbers, bad counts, impossible memory,
outputs that are not regular files, files from elsewhere, contradictions). Each case
runs in-process through click's test runner and must give exit status 2, exactly one
line on stderr starting `Error:`, no traceback, and name the bad value. A handful of
real subprocesses check the exit path of each command line. Then: outputs through
symlinks and onto devices, FIFOs and folders; stale temporary files; divergence;
and Ctrl-C (SIGINT) at a random step followed by an exact resume.
"""
from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from amsim.cli import main as amsim_main
from memkit.io import atomic_write, atomic_write_json, resolve_output
from uddm.cli import main as uddm_main

ROOT = Path(__file__).resolve().parents[1]
HUGE = str(10 ** 7)
CUDA = torch.cuda.is_available()


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad input files shared by the table (built once, in about a second)."""
    d = tmp_path_factory.mktemp("faults")
    f = {"tmp": d}
    # an amsim network
    r = CliRunner().invoke(amsim_main, ["train", "-N", "20", "-P", "3", "--rule", "hebb",
                                        "-o", str(d / "net.npz")])
    assert r.exit_code == 0, r.output
    f["net"] = d / "net.npz"
    # a uddm checkpoint and its broken relatives
    from uddm.data import DataSpec
    from uddm.train import TrainConfig, train
    cfg = TrainConfig(model="cpu-xxs", steps=2, batch_size=4, lr=1e-3, warmup=1, ema=0.9,
                      progress=False, eval_batches=1)
    spec = DataSpec(corpus="markov:16:3:0", length=16, n_train=12, n_test=8, markov_pool=200)
    train(cfg, spec, out=d / "ck.pt")
    f["ck"] = d / "ck.pt"
    ck = torch.load(d / "ck.pt", weights_only=True)
    nan = dict(ck, model={k: v.clone() for k, v in ck["model"].items()})
    next(iter(nan["model"].values())).view(-1)[0] = float("nan")
    torch.save(nan, d / "nan.pt")
    nokeys = {k: v for k, v in ck.items() if k not in ("optimizer", "rng")}
    torch.save(nokeys, d / "nokeys.pt")
    other = dict(ck, model_config=dict(ck["model_config"], hidden=64, cond_dim=64))
    torch.save(other, d / "other.pt")
    huge = dict(ck, model_config=dict(ck["model_config"], hidden=65536, blocks=64, heads=4))
    torch.save(huge, d / "huge.pt")
    (d / "trunc.pt").write_bytes((d / "ck.pt").read_bytes()[:500])
    (d / "text.txt").write_text("just some words\n")
    (d / "refs.txt").write_text("s1 s2 s3 s4 s5 s6 s7 s8\n")
    (d / "notjson.json").write_text("this is not json {")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (d / "outdir").mkdir()
    os.mkfifo(d / "fifo")
    f["unwritable"] = _unwritable(d) / "out.file"
    f["refs"] = d / "refs.txt"
    return f


def _unwritable(d: Path) -> Path:
    if os.geteuid() == 0:          # root writes anywhere mode bits allow; /proc refuses
        return Path("/proc/genmem-no-such-folder")
    ro = d / "readonly"
    ro.mkdir()
    ro.chmod(0o500)
    return ro


def _script(name):
    spec = importlib.util.spec_from_file_location(f"_exp_{name}", ROOT / "experiments" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


_SCRIPTS = {}


def _command(cli):
    if cli == "amsim":
        return amsim_main
    if cli == "uddm":
        return uddm_main
    if cli not in _SCRIPTS:
        _SCRIPTS[cli] = _script(cli)
    return _SCRIPTS[cli]


# ------------------------------------------------------------------ the table
# (class of fault, command, arguments, fragment the one line must contain)
# {net} {ck} {nan} ... are the fixture files; {tmp} the folder.
T = "train --config cpu-xxs --corpus markov:16:3:0 --length 16 --n-train 12 --n-test 8 " \
    "--steps 2 --batch-size 4 --no-progress --out {tmp}/t.pt"
S = "sample --checkpoint {ck} --n 2 --steps 2"
R = "recover --checkpoint {ck} --n 2 --steps 2"
E = "entropy --checkpoint {ck} --n 2 --steps 2"
P = "probe {ck} --references {refs} --ids --n 2 --n-generated 2 --steps 2 --generation-steps 2"
AT = "train -N 20 -P 3 --rule hebb -o {tmp}/a.npz"
AB = "basins {net} --references 2 --trials 1"
AC = "census {net} --starts 4"

CASES = [
    # ---- non-finite numbers
    ("nonfinite", "amsim", "train --alpha inf -o {tmp}/a.npz", "inf"),
    ("nonfinite", "amsim", "train --alpha nan -o {tmp}/a.npz", "nan"),
    ("nonfinite", "amsim", AT + " --beta nan", "nan"),
    ("nonfinite", "amsim", AT + " --beta inf", "inf"),
    ("nonfinite", "amsim", "train -N 20 -P 3 --rule pl --lr inf -o {tmp}/a.npz", "inf"),
    ("nonfinite", "amsim", AT + " --l2 nan", "nan"),
    ("nonfinite", "amsim", AT + " --data archetypes --quality nan -P 5", "nan"),
    ("nonfinite", "amsim", AB + " --threshold nan", "nan"),
    ("nonfinite", "amsim", AB + " --fractions 0,nan", "nan"),
    ("nonfinite", "amsim", AC + " --delta nan", "nan"),
    ("nonfinite", "uddm", T + " --lr inf", "inf"),
    ("nonfinite", "uddm", T + " --lr nan", "nan"),
    ("nonfinite", "uddm", T + " --grad-clip nan", "nan"),
    ("nonfinite", "uddm", T + " --ema nan", "nan"),
    ("nonfinite", "uddm", T + " --dropout nan", "nan"),
    ("nonfinite", "uddm", T.replace("--n-train 12 ", "") + " --fraction nan", "nan"),
    ("nonfinite", "uddm", S + " --top-p nan", "nan"),
    ("nonfinite", "uddm", R + " --t nan", "nan"),
    ("nonfinite", "uddm", R + " --t-start inf", "inf"),
    ("nonfinite", "uddm", E + " --t nan", "nan"),
    ("nonfinite", "uddm", P + " --t 0.1,nan", "nan"),
    ("nonfinite", "am_capacity", "--quick --flip nan", "nan"),
    ("nonfinite", "am_capacity", "--quick --pl-loads 1,inf", "inf"),
    ("nonfinite", "perceptron_margin", "--quick --loads nan", "nan"),
    ("nonfinite", "am_generalization", "--quick --beta inf", "inf"),
    ("nonfinite", "am_generalization", "--quick --alphas 0.1,nan", "nan"),
    ("nonfinite", "am_generalization", "--quick --l2 nan", "nan"),
    # ---- numbers out of range
    ("range", "amsim", "train --alpha -1 -o {tmp}/a.npz", "-1"),
    ("range", "amsim", AT + " --beta 0", "0"),
    ("range", "amsim", "train -N 20 -P 3 --rule pl --lr -0.5 -o {tmp}/a.npz", "-0.5"),
    ("range", "amsim", AT + " --l2 -1", "-1"),
    ("range", "amsim", AT + " --data archetypes --quality 2 -P 5", "2"),
    ("range", "amsim", AB + " --threshold 2", "2"),
    ("range", "amsim", AB + " --fractions 0.5,0.2", "0.5,0.2"),
    ("range", "amsim", AB + " --fractions 0:1.5:3", "0:1.5:3"),
    ("range", "amsim", AC + " --delta 1", "1"),
    ("range", "amsim", AC + " --delta 0", "0"),
    ("range", "uddm", T + " --lr -1", "-1"),
    ("range", "uddm", T + " --lr 0", "0"),
    ("range", "uddm", T + " --ema 1", "1"),
    ("range", "uddm", T + " --dropout 1.5", "1.5"),
    ("range", "uddm", T + " --grad-clip -1", "-1"),
    ("range", "uddm", T.replace("--n-train 12 ", "") + " --fraction 0", "0"),
    ("range", "uddm", T.replace("--n-train 12 ", "") + " --fraction 1.5", "1.5"),
    ("range", "uddm", T + " --length 1000".replace("--length 16 ", ""), "1000"),
    ("range", "uddm", S + " --top-p 1.5", "1.5"),
    ("range", "uddm", R + " --t 0", "0"),
    ("range", "uddm", R + " --t 2", "2"),
    ("range", "uddm", E + " --t 0", "0"),
    ("range", "uddm", P + " --t 0.1,3", "3"),
    ("range", "am_capacity", "--quick --flip 0.7", "0.7"),
    ("range", "am_capacity", "--quick --hebb-loads -0.1", "-0.1"),
    ("range", "perceptron_margin", "--quick --loads -1", "-1"),
    ("range", "am_generalization", "--quick --beta -1", "-1"),
    ("range", "am_generalization", "--quick --quality 2", "2"),
    ("range", "am_generalization", "--quick --alpha-d -0.1", "-0.1"),
    # ---- counts: never reinterpreted
    ("count", "amsim", "train -N -5 -o {tmp}/a.npz", "-5"),
    ("count", "amsim", "train -N 1 -o {tmp}/a.npz", "1"),
    ("count", "amsim", "train -N 20 -P 0 -o {tmp}/a.npz", "0"),
    ("count", "amsim", AT + " --test -1", "-1"),
    ("count", "amsim", AT + " --steps -1", "-1"),
    ("count", "amsim", AT + " --seed -1", "-1"),
    ("count", "amsim", "train --data features --features 0 -o {tmp}/a.npz", "0"),
    ("count", "amsim", "train --data features --per-example 0 -o {tmp}/a.npz", "0"),
    ("count", "amsim", "train --data features --features 2 --per-example 5 -o {tmp}/a.npz", "5"),
    ("count", "amsim", "train --data archetypes --archetypes 0 -o {tmp}/a.npz", "0"),
    ("count", "amsim", "train -N abc -o {tmp}/a.npz", "abc"),
    ("count", "amsim", AB + " --trials 0", "0"),
    ("count", "amsim", AB + " --references -2", "-2"),
    ("count", "amsim", AB + " --max-sweeps 0", "0"),
    ("count", "amsim", AB + " --seed -3", "-3"),
    ("count", "amsim", AB + " --fractions 0:0.5:0", "0:0.5:0"),
    ("count", "amsim", AC + " --starts 0", "0"),
    ("count", "amsim", AC + " --max-sweeps -1", "-1"),
    ("count", "amsim", AC + " --seed -1", "-1"),
    ("count", "amsim", "demo -N 5 --out {tmp}/demo", "5"),
    ("count", "amsim", "demo --seed -1 --out {tmp}/demo", "-1"),
    ("count", "uddm", T.replace("--steps 2", "--steps 0"), "0"),
    ("count", "uddm", T.replace("--steps 2", "--steps -5"), "-5"),
    ("count", "uddm", T.replace("--batch-size 4", "--batch-size 0"), "0"),
    ("count", "uddm", T + " --warmup -1", "-1"),
    ("count", "uddm", T.replace("--n-train 12", "--n-train 0"), "0"),
    ("count", "uddm", T.replace("--n-test 8", "--n-test -1"), "-1"),
    ("count", "uddm", T.replace("--length 16", "--length 1"), "1"),
    ("count", "uddm", T + " --seed -1", "-1"),
    ("count", "uddm", T + " --split-seed -1", "-1"),
    ("count", "uddm", T + " --eval-every -1", "-1"),
    ("count", "uddm", T + " --ckpt-every -1", "-1"),
    ("count", "uddm", T + " --curriculum-steps -1", "-1"),
    ("count", "uddm", T.replace("markov:16:3:0", "markov:0"), "markov:0"),
    ("count", "uddm", T.replace("markov:16:3:0", "markov:16:-2"), "-2"),
    ("count", "uddm", T.replace("markov:16:3:0", "markov:a"), "markov:a"),
    ("count", "uddm", S.replace("--n 2", "--n 0"), "0"),
    ("count", "uddm", S.replace("--n 2", "--n -3"), "-3"),
    ("count", "uddm", S.replace("--steps 2", "--steps 0"), "0"),
    ("count", "uddm", S + " --batch-size 0", "0"),
    ("count", "uddm", S + " --seed -1", "-1"),
    ("count", "uddm", S.replace("--n 2", "--n 2.5"), "2.5"),
    ("count", "uddm", R.replace("--n 2", "--n -3"), "-3"),
    ("count", "uddm", R.replace("--steps 2", "--steps 0"), "0"),
    ("count", "uddm", R + " --batch-size -1", "-1"),
    ("count", "uddm", E.replace("--n 2", "--n -3"), "-3"),
    ("count", "uddm", E.replace("--n 2", "--n 0"), "0"),
    ("count", "uddm", E.replace("--steps 2", "--steps 0"), "0"),
    ("count", "uddm", E + " --seed -1", "-1"),
    ("count", "uddm", P.replace("--n 2", "--n 0"), "0"),
    ("count", "uddm", P.replace("--n-generated 2", "--n-generated -1"), "-1"),
    ("count", "uddm", P.replace("--steps 2", "--steps 0"), "0"),
    ("count", "uddm", P + " --heads 0", "0"),
    ("count", "uddm", P + " --seed -1", "-1"),
    ("count", "uddm", "configs --vocab-size 1", "1"),
    ("count", "uddm", "sweep train --preset quick --cache {tmp}/c --point 999", "999"),
    ("count", "uddm", "sweep train --preset quick --cache {tmp}/c --point -1", "-1"),
    ("count", "am_capacity", "--quick --refs 1", "1"),
    ("count", "am_capacity", "--quick --hebb-sizes 5", "5"),
    ("count", "am_capacity", "--quick --pl-iters 0", "0"),
    ("count", "am_capacity", "--quick --max-sweeps 0", "0"),
    ("count", "am_capacity", "--quick --seed -1", "-1"),
    ("count", "perceptron_margin", "--quick --n 5", "5"),
    ("count", "perceptron_margin", "--quick --steps 0", "0"),
    ("count", "perceptron_margin", "--quick --trials 0", "0"),
    ("count", "perceptron_margin", "--quick --cap-sizes 30,2", "2"),
    ("count", "am_generalization", "--quick -N 5", "5"),
    ("count", "am_generalization", "--quick --starts 0", "0"),
    ("count", "am_generalization", "--quick --seeds 0", "0"),
    ("count", "am_generalization", "--quick --per-archetype 1.5", "1.5"),
    # ---- memory: estimated before allocating, against MemAvailable
    ("memory", "amsim", f"train -N {HUGE} -P 3 -o {{tmp}}/a.npz", HUGE),
    ("memory", "amsim", "train -N 20000 --alpha 100000 -o {tmp}/a.npz", "100000"),
    ("memory", "amsim", AB.replace("--trials 1", "--trials 1000000000"), "1000000000"),
    ("memory", "amsim", AC.replace("--starts 4", "--starts 100000000000"), "100000000000"),
    ("memory", "amsim", f"demo -N {HUGE} --out {{tmp}}/demo", HUGE),
    ("memory", "uddm", T.replace("--batch-size 4", "--batch-size 1000000000"), "1000000000"),
    ("memory", "uddm", T.replace("markov:16:3:0", "markov:1000000"), "1000000"),
    ("memory", "uddm", S.replace("{ck}", "{tmp}/huge.pt"), "huge.pt"),
    ("memory", "uddm", P.replace("{ck}", "{tmp}/huge.pt"), "huge.pt"),
    ("memory", "am_capacity", f"--quick --hebb-sizes {HUGE}", HUGE),
    ("memory", "perceptron_margin", f"--quick --n {HUGE}", HUGE),
    ("memory", "am_generalization", f"--quick -N {HUGE}", HUGE),
    # ---- outputs that are not regular files, or cannot be written
    ("output", "amsim", AT.replace("{tmp}/a.npz", "/dev/null"), "/dev/null"),
    ("output", "amsim", AT.replace("{tmp}/a.npz", "{tmp}/fifo"), "fifo"),
    ("output", "amsim", AT.replace("{tmp}/a.npz", "{unwritable}"), "out.file"),
    ("output", "amsim", AB + " --csv {tmp}/outdir", "outdir"),
    ("output", "amsim", AB + " --png /dev/null", "/dev/null"),
    ("output", "amsim", AC + " --json {tmp}/fifo", "fifo"),
    ("output", "amsim", AC + " --json {unwritable}", "out.file"),
    ("output", "amsim", "demo --out {tmp}/text.txt", "text.txt"),
    ("output", "uddm", T.replace("{tmp}/t.pt", "/dev/null"), "/dev/null"),
    ("output", "uddm", T.replace("{tmp}/t.pt", "{tmp}/fifo"), "fifo"),
    ("output", "uddm", T.replace("{tmp}/t.pt", "{unwritable}"), "out.file"),
    ("output", "uddm", S + " --out {tmp}/fifo", "fifo"),
    ("output", "uddm", S + " --out {tmp}/outdir", "outdir"),
    ("output", "uddm", P + " --json /dev/null", "/dev/null"),
    ("output", "am_capacity", "--quick --out {unwritable}", "out.file"),
    ("output", "perceptron_margin", "--quick --cache {unwritable}", "out.file"),
    ("output", "am_generalization", "--quick --out {unwritable}", "out.file"),
    ("output", "uddm_fig3", "--preset quick --out {unwritable}", "out.file"),
    ("output", "uddm_fig4", "--preset quick --cache {tmp}/text.txt", "text.txt"),
    # ---- files from elsewhere
    ("file", "amsim", "basins {tmp}/missing.npz", "missing.npz"),
    ("file", "amsim", "basins {tmp}/text.txt", "text.txt"),
    ("file", "amsim", "census {tmp}/ck.pt", "ck.pt"),
    ("file", "amsim", AB + " --on test", "test"),
    ("file", "uddm", S.replace("{ck}", "{tmp}/missing.pt"), "missing.pt"),
    ("file", "uddm", S.replace("{ck}", "{tmp}/trunc.pt"), "trunc.pt"),
    ("file", "uddm", S.replace("{ck}", "{tmp}/text.txt"), "text.txt"),
    ("file", "uddm", S.replace("{ck}", "{tmp}/nokeys.pt"), "optimizer"),
    ("file", "uddm", S.replace("{ck}", "{tmp}/other.pt"), "other.pt"),
    ("file", "uddm", S.replace("{ck}", "{tmp}/nan.pt"), "nan"),
    ("file", "uddm", R.replace("{ck}", "{tmp}/nan.pt"), "non-finite"),
    ("file", "uddm", E.replace("{ck}", "{tmp}/nan.pt"), "non-finite"),
    ("file", "uddm", P.replace("{ck}", "{tmp}/nan.pt"), "non-finite"),
    ("file", "uddm", R + " --reference-file {tmp}/missing.txt", "missing.txt"),
    ("file", "uddm", R + " --reference-file {tmp}/binary.txt", "binary.txt"),
    ("file", "uddm", P.replace("{refs}", "{tmp}/missing.txt"), "missing.txt"),
    ("file", "uddm", T + " --resume {tmp}/missing.pt", "missing.pt"),
    ("file", "uddm", T.replace("--steps 2", "--steps 5") + " --resume {tmp}/nan.pt", "non-finite"),
    ("file", "uddm", T.replace("--steps 2", "--steps 5") + " --resume {tmp}/nokeys.pt", "optimizer"),
    ("file", "uddm", T.replace("--steps 2", "--steps 5") + " --resume {tmp}/other.pt", "other.pt"),
    ("file", "uddm", T.replace("markov:16:3:0", "text:{tmp}/binary.txt"), "binary"),
    ("file", "uddm", T.replace("markov:16:3:0", "text:{tmp}/none.txt"), "none.txt"),
    ("file", "uddm", T.replace("markov:16:3:0", "pydoc") + " --tokenizer bpe:{tmp}/notjson.json",
     "not JSON"),
    ("file", "uddm", T.replace("markov:16:3:0", "pydoc") + " --tokenizer bpe:{tmp}/none.json",
     "none.json"),
    ("conflict", "uddm", T + " --tokenizer byte", "byte"),
    ("conflict", "uddm", T + " --split sentences", "sentences"),
    ("file", "uddm", T.replace("markov:16:3:0", "pydoc") + " --tokenizer wordpiece", "wordpiece"),
    ("file", "uddm", T.replace("--config cpu-xxs", "--config nope"), "nope"),
    ("device", "uddm", T + " --device tpu", "tpu"),
    ("device", "uddm", S + " --device tpu", "tpu"),
    ("device", "uddm", P + " --device tpu", "tpu"),
    # ---- contradictions and unknown names
    ("conflict", "amsim", "train -N 20 -P 4 --alpha 0.2 -o {tmp}/a.npz", "--alpha"),
    ("conflict", "amsim", "train -N 20 -P 7 --data archetypes --archetypes 5 -o {tmp}/a.npz", "7"),
    ("conflict", "uddm", S + " --ema --raw-weights", "--raw-weights"),
    ("conflict", "uddm", T + " --fraction 0.5", "fraction"),
    ("conflict", "uddm", E + " --sets train,bogus", "bogus"),
    ("conflict", "uddm", "sweep list --preset nope", "nope"),
    ("conflict", "uddm", "train --bogus-option 3 --out {tmp}/t.pt", "--bogus-option"),
    ("conflict", "reproduce", "--bogus", "--bogus"),
    ("conflict", "uddm_fig1", "--preset nope", "nope"),
]
if not CUDA:
    CASES += [("device", "uddm", T + " --device cuda", "cuda"),
              ("device", "uddm", S + " --device cuda", "cuda"),
              ("device", "uddm", R + " --device cuda", "cuda"),
              ("device", "uddm", E + " --device cuda:0", "cuda:0"),
              ("device", "uddm", P + " --device cuda", "cuda")]


def _args(text, files):
    fmt = {k: str(v) for k, v in files.items()}
    return [a.format(**fmt) for a in text.split()]


def _assert_one_line(exit_code, stderr, stdout, fragment):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert exit_code == 2, (exit_code, stdout, stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error:"), stderr
    assert "Traceback" not in stderr + stdout
    assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.mark.parametrize("kind,cli,args,fragment", CASES,
                         ids=[f"{k}-{c}-{i}" for i, (k, c, _, _) in enumerate(CASES)])
def test_bad_input_gives_one_line(kind, cli, args, fragment, files):
    r = CliRunner().invoke(_command(cli), _args(args, files))
    _assert_one_line(r.exit_code, r.stderr, r.stdout, fragment)


def test_the_table_covers_every_command_and_class():
    commands = {(c, a.split()[0] if c in ("amsim", "uddm") else "") for _, c, a, _ in CASES}
    for want in [("amsim", x) for x in ("train", "basins", "census", "demo")] + \
                [("uddm", x) for x in ("train", "sample", "recover", "entropy", "probe", "sweep")] + \
                [(s, "") for s in ("am_capacity", "perceptron_margin", "am_generalization",
                                   "reproduce", "uddm_fig1")]:
        assert want in commands, want
    kinds = {k for k, *_ in CASES}
    assert {"nonfinite", "range", "count", "memory", "output", "file", "conflict"} <= kinds
    assert len(CASES) >= 150


# ------------------------------------------------------------------ real exit paths
SUBPROCESS = [
    (["-m", "amsim.cli", "basins", "{net}", "--threshold", "nan"], "nan"),
    (["-m", "uddm.cli", "entropy", "--checkpoint", "{ck}", "--n", "-3"], "-3"),
    ([str(ROOT / "experiments" / "am_capacity.py"), "--quick", "--flip", "nan"], "nan"),
    ([str(ROOT / "experiments" / "uddm_fig2.py"), "--preset", "nope"], "nope"),
]


@pytest.mark.parametrize("args,fragment", SUBPROCESS, ids=[a[1] if a[0] == "-m" else Path(a[0]).stem
                                                           for a, _ in SUBPROCESS])
def test_real_process_exits_2_with_one_line(args, fragment, files):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable] + _args(" ".join(args), files), capture_output=True,
                       text=True, env=env, timeout=120)
    _assert_one_line(r.returncode, r.stderr, r.stdout, fragment)


# ------------------------------------------------------------------ API = CLI
def test_python_api_refuses_with_the_same_words():
    from amsim import PseudoLikelihoodMemory
    from memkit.validate import check_number
    from uddm.data import DataSpec
    from uddm.model import ModelConfig
    from uddm.sweep import get_preset
    from uddm.train import TrainConfig
    with pytest.raises(ValueError, match="lr must be finite and > 0, got inf"):
        TrainConfig(lr=float("inf")).validate()
    r = CliRunner().invoke(uddm_main, ["train", "--lr", "inf", "--out", "/tmp/never-written.pt"])
    assert "lr must be finite and > 0, got inf" in r.stderr
    with pytest.raises(ValueError, match="fraction must be"):
        DataSpec(fraction=float("nan")).validate()
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(dropout=float("nan"))
    with pytest.raises(ValueError, match="model hidden must be an integer"):
        ModelConfig(hidden=64.5)
    with pytest.raises(ValueError, match="learning_rate"):
        PseudoLikelihoodMemory(learning_rate=float("inf"))
    with pytest.raises(ValueError, match="n_steps"):
        PseudoLikelihoodMemory(n_steps=-1)
    with pytest.raises(ValueError, match="lr must be finite"):
        get_preset("quick", lr=float("nan"))
    with pytest.raises(ValueError, match="sizes"):
        get_preset("quick", sizes=(4, 2.5))
    with pytest.raises(ValueError, match="threshold"):
        from amsim.basins import basin_radius
        basin_radius([0, 0.1], [1, 1], threshold=float("nan"))
    with pytest.raises(ValueError, match="count must be an integer"):
        from memkit.validate import check_count
        check_count("count", True)
    assert check_number("x", 0.5, 0, 1) == 0.5


def test_memory_error_names_estimate_and_available(monkeypatch):
    from memkit.validate import check_memory
    monkeypatch.setenv("GENMEM_MEMAVAILABLE", str(2 ** 30))
    with pytest.raises(ValueError, match=r"-N 9 needs about 2\.0 GiB of memory, but only 1\.0 GiB "
                                         r"is available \(MemAvailable\)"):
        check_memory("-N 9", 2 * 2 ** 30)
    check_memory("-N 9", 2 ** 20)                          # fits: silent
    r = CliRunner().invoke(amsim_main, ["train", "-N", "20000", "-P", "3", "-o", "/tmp/never.npz"])
    assert r.exit_code == 2 and "-N 20000" in r.stderr and "MemAvailable" in r.stderr


# ------------------------------------------------------------------ writes
def test_symlink_is_followed_and_stays_a_link(tmp_path):
    target = tmp_path / "real" / "data.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_json(link, {"a": 1})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert '"a": 1' in target.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]   # replaced in its folder
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    # a dangling link creates its target; a chain of links is followed to the end
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "new.json")
    chain = tmp_path / "chain.json"
    chain.symlink_to(dangling)
    atomic_write_json(chain, [1])
    assert chain.is_symlink() and dangling.is_symlink()
    assert (tmp_path / "real" / "new.json").read_text().strip().endswith("]")
    # a network written through a link by the command line
    net_link = tmp_path / "net.npz"
    net_link.symlink_to(tmp_path / "real" / "net.npz")
    r = CliRunner().invoke(amsim_main, ["train", "-N", "20", "-P", "2", "--rule", "hebb",
                                        "-o", str(net_link)])
    assert r.exit_code == 0, r.output
    assert net_link.is_symlink() and (tmp_path / "real" / "net.npz").stat().st_size > 0


@pytest.mark.parametrize("kind", ["devnull", "fifo", "directory", "link-to-directory",
                                  "link-to-devnull"])
def test_devices_fifos_and_directories_are_refused(kind, tmp_path):
    if kind == "devnull":
        path = Path("/dev/null")
    elif kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    elif kind == "directory":
        path = tmp_path / "d"
        path.mkdir()
    elif kind == "link-to-directory":
        (tmp_path / "d").mkdir()
        path = tmp_path / "l"
        path.symlink_to(tmp_path / "d")
    else:
        path = tmp_path / "l"
        path.symlink_to("/dev/null")
    before = os.stat(path, follow_symlinks=False)
    with pytest.raises(ValueError, match=f"cannot write {path}: it is a"):
        with atomic_write(path) as fh:
            fh.write(b"x")
    after = os.stat(path, follow_symlinks=False)
    assert (before.st_mode, before.st_ino) == (after.st_mode, after.st_ino)   # not replaced
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_outputs_are_refused_before_any_computing(tmp_path, monkeypatch):
    import amsim.patterns
    import uddm.data

    def boom(*a, **k):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(amsim.patterns, "random_patterns", boom)
    monkeypatch.setattr(uddm.data, "build_dataset", boom)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for main, args in ((amsim_main, ["train", "-o", str(fifo)]),
                       (uddm_main, ["train", "--out", str(fifo)])):
        r = CliRunner().invoke(main, args)
        _assert_one_line(r.exit_code, r.stderr, r.stdout, "FIFO")


def test_unwritable_path_is_reported_under_the_users_name(tmp_path):
    bad = _unwritable(tmp_path) / "sub" / "out.json"
    with pytest.raises(ValueError) as e:
        resolve_output(bad, "--json")
    msg = str(e.value)
    assert msg.startswith(f"cannot write --json {bad}") and ".tmp" not in msg


def test_temporaries_of_killed_writers_are_cleaned(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "r.json"
    stale = tmp_path / f".r.json.{dead.pid}.abc123.tmp"
    stale.write_text("half")
    live = tmp_path / f".r.json.{os.getppid()}.xyz789.tmp"      # a live (concurrent) writer
    live.write_text("busy")
    other = tmp_path / f".other.json.{dead.pid}.abc.tmp"           # another file's
    other.write_text("x")
    atomic_write_json(out, {"ok": True})
    assert not stale.exists() and live.exists() and other.exists()
    assert out.read_text().strip().endswith("}")


def test_failed_write_leaves_the_old_file(tmp_path):
    out = tmp_path / "keep.json"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(out, "w") as fh:
            fh.write("new, half")
            raise RuntimeError("killed")
    assert out.read_text() == "old" and not list(tmp_path.glob(".*.tmp"))


# ------------------------------------------------------------------ divergence
def _small():
    from uddm.data import DataSpec
    from uddm.train import TrainConfig
    cfg = TrainConfig(model="cpu-xxs", steps=4, batch_size=4, lr=1e-3, warmup=1, ema=0.9,
                      progress=False, eval_batches=1, ckpt_every=2)
    return cfg, DataSpec(corpus="markov:16:3:0", length=16, n_train=12, n_test=8, markov_pool=200)


@pytest.mark.parametrize("fault", ["loss", "weight"])
def test_divergence_keeps_the_last_good_checkpoint(fault, tmp_path, monkeypatch):
    """A NaN loss at step 4 (or a NaN weight after the last step): one clear error, and
    the checkpoint of step 2 stays byte for byte."""
    import uddm.train as ut
    cfg, spec = _small()
    out = tmp_path / "m.pt"
    good = {}
    calls = {"loss": 0, "update": 0}
    loss_terms, update = ut._loss_terms, ut.EMA.update

    def nan_loss(*a, **k):
        calls["loss"] += 1
        per = loss_terms(*a, **k)
        return per * float("nan") if fault == "loss" and calls["loss"] == 4 else per

    def nan_weight(self, model):
        calls["update"] += 1
        if fault == "weight" and calls["update"] == 4:
            with torch.no_grad():
                next(model.parameters()).view(-1)[0] = float("inf")
        update(self, model)

    def keep(step, rec):
        if step == 3:
            good["bytes"] = out.read_bytes()

    monkeypatch.setattr(ut, "_loss_terms", nan_loss)
    monkeypatch.setattr(ut.EMA, "update", nan_weight)
    what = "the loss is nan" if fault == "loss" else "a weight is not finite"
    with pytest.raises(ut.TrainingDiverged, match=rf"training diverged at step 4: {what} .*"
                                                  rf"last good checkpoint .*m\.pt \(step 2\) is kept"):
        ut.train(cfg, spec, out=out, callback=keep)
    assert out.read_bytes() == good["bytes"]                   # byte for byte
    assert torch.load(out, weights_only=True)["step"] == 2


def test_cli_divergence_exits_2_and_leaves_the_checkpoint_alone(tmp_path):
    out = tmp_path / "m.pt"
    base = ["train", "--config", "cpu-xxs", "--corpus", "markov:16:3:0", "--length", "16",
            "--n-train", "12", "--n-test", "8", "--steps", "3", "--batch-size", "4",
            "--no-progress", "--out", str(out)]
    r = CliRunner().invoke(uddm_main, base)
    assert r.exit_code == 0, r.output
    before = out.read_bytes()
    r = CliRunner().invoke(uddm_main, base + ["--lr", "1e38", "--warmup", "0"])
    line = _assert_one_line(r.exit_code, r.stderr, r.stdout, "training diverged at step 1")
    assert "1e+38" in line
    assert out.read_bytes() == before
    r = CliRunner().invoke(uddm_main, ["sample", "--checkpoint", str(out), "--n", "1", "--steps", "2"])
    assert r.exit_code == 0 and "H=nan" not in r.output


# ------------------------------------------------------------------ Ctrl-C and exact resume
CHILD = textwrap.dedent("""
    import sys
    from uddm.data import DataSpec
    from uddm.train import TrainConfig, TrainingInterrupted, train
    cfg = TrainConfig(model="cpu-xxs", steps=int(sys.argv[2]), batch_size=8, lr=1e-3, warmup=5,
                      ema=0.9, dropout=0.1, progress=False, eval_batches=1, eval_every=7)
    spec = DataSpec(corpus="markov:16:3:0", length=16, n_train=12, n_test=8, markov_pool=200)
    def report(step, rec):
        print(step, flush=True)
    try:
        train(cfg, spec, out=sys.argv[1], callback=report)
    except TrainingInterrupted as exc:
        print("interrupted", exc.step, flush=True)
        sys.exit(130)
    print("finished", flush=True)
""")


def test_sigint_at_a_random_step_resumes_exactly(tmp_path):
    from uddm.data import DataSpec
    from uddm.train import TrainConfig, train
    steps = 100
    k = random.Random().randint(3, 40)
    out = tmp_path / "part.pt"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(steps)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in p.stdout:
            if line.strip().isdigit() and int(line) >= k:
                time.sleep(random.random() * 0.01)      # land anywhere inside a later step
                p.send_signal(signal.SIGINT)
                break
        rest, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err
    stopped = int(rest.split("interrupted")[1].split()[0])
    ck = torch.load(out, weights_only=True)
    assert ck["step"] == stopped and k <= stopped < steps
    assert len(ck["history"]) == stopped

    cfg = TrainConfig(model="cpu-xxs", steps=steps, batch_size=8, lr=1e-3, warmup=5, ema=0.9,
                      dropout=0.1, progress=False, eval_batches=1, eval_every=7)
    spec = DataSpec(corpus="markov:16:3:0", length=16, n_train=12, n_test=8, markov_pool=200)
    # the child trained on one thread; float32 sums depend on the thread count, so the
    # comparison runs on one thread too (exact resume is claimed at a fixed thread count)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        full = train(cfg, spec)
        resumed = train(cfg, spec, out=out, resume=out)
    finally:
        torch.set_num_threads(threads)
    for (n, a), b in zip(full.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(a, b), (n, k, stopped)
    for a, b in zip(full.ema_model.parameters(), resumed.ema_model.parameters()):
        assert torch.equal(a, b)
    assert [h["loss"] for h in full.history] == [h["loss"] for h in resumed.history]


def test_cli_says_how_to_resume_after_ctrl_c(tmp_path, monkeypatch):
    import uddm.train as ut

    def interrupted(cfg, spec, out=None, resume=None, **kw):
        raise ut.TrainingInterrupted(17, out)

    monkeypatch.setattr(ut, "train", interrupted)
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(uddm_main, ["train", "--steps", "40", "--out", str(out)])
    assert r.exit_code == 130
    assert r.stderr.strip() == (f"Interrupted at step 17: checkpoint written to {out}; continue "
                                f"exactly with --resume {out}")


def test_latin1_corpus_is_decoded_and_the_user_told(tmp_path, capsys):
    from uddm.data import DataSpec, build_dataset
    f = tmp_path / "latin.txt"
    f.write_bytes(("Caf\xe9 cr\xe8me br\xfbl\xe9e. " * 40).encode("latin-1"))
    ds = build_dataset(DataSpec(corpus=f"text:{f}", length=16, n_test=2))
    assert "é" in ds.tokenizer.chars
    err = capsys.readouterr().err
    assert f"corpus file {f} is not UTF-8" in err and "decoded as Latin-1" in err


def test_quick_honours_options_given_on_the_command_line():
    """--quick sets the options the user did not give; a given one is used, not replaced."""
    import click

    from memkit.cli import quick_settings

    seen = {}

    @click.command()
    @click.option("--refs", type=int, default=100)
    @click.option("--flip", type=float, default=0.05)
    @click.option("--quick", is_flag=True)
    def cmd(refs, flip, quick):
        seen.update(quick_settings(quick, dict(refs=refs, flip=flip), dict(refs=40, flip=0.1)))

    CliRunner().invoke(cmd, ["--quick", "--refs", "7"])
    assert seen == {"refs": 7, "flip": 0.1}
    CliRunner().invoke(cmd, ["--refs", "7"])
    assert seen == {"refs": 7, "flip": 0.05}



def test_sigint_handler_is_given_back_after_training():
    from uddm.train import train
    cfg, spec = _small()
    before = signal.getsignal(signal.SIGINT)
    train(cfg, spec)
    assert signal.getsignal(signal.SIGINT) is before


def test_every_numeric_option_of_the_uddm_commands_is_checked():
    """A new int/float option of sample/recover/entropy/probe must join OPTION_CHECKS."""
    import click

    from uddm.cli import OPTION_CHECKS
    for name, checks in OPTION_CHECKS.items():
        cmd = uddm_main.commands[name]
        numeric = {p.name for p in cmd.params
                   if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType))}
        assert numeric and numeric <= set(checks), (name, numeric - set(checks))
