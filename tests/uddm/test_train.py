"""Training: memorisation, exact resumption, determinism, checkpoints, curriculum, and
progress off a terminal (status lines in a log, same numbers)."""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from uddm.data import DataSpec
from uddm.diffusion import make_schedule
from uddm.model import DiT, get_config
from uddm.sample import retrieve
from uddm.train import TrainConfig, load_checkpoint, train, validation_nelbo

SMALL = DataSpec(corpus="markov:16:3:0", length=16, n_train=12, n_test=8, markov_pool=200)


def _cfg(**kw):
    base = dict(model="cpu-xxs", steps=6, batch_size=4, lr=1e-3, warmup=2, ema=0.9,
                progress=False, eval_batches=1)
    base.update(kw)
    return TrainConfig(**base)


def test_memorises_a_handful_of_sequences_with_the_nelbo():
    """cpu-xs, 8 blocks of 32 characters of prose, the paper's loss (eq. 3)."""
    cfg = TrainConfig(model="cpu-xs", loss="nelbo", steps=1200, batch_size=16, lr=3e-3,
                      warmup=20, ema=0.0, dropout=0.0, progress=False, eval_batches=1, seed=0)
    spec = DataSpec(corpus="pydoc", n_train=8, n_test=8, length=32)
    res = train(cfg, spec)
    losses = torch.tensor([h["loss"] for h in res.history])
    assert losses[-100:].mean() < 0.5 * losses[:50].mean()
    ref = res.dataset.train.repeat(8, 1)
    out = retrieve(res.model, make_schedule(), ref, 0.25, steps=32, dynamics="greedy",
                   generator=torch.Generator().manual_seed(0))
    changed = (out.start != ref).sum().item()
    recovered = ((out.start != ref) & (out.tokens == ref)).sum().item()
    assert changed > 300                       # ~0.25 * (1 - 1/K) * 2048 corrupted tokens
    assert recovered / changed > 0.9


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    cfg = _cfg(steps=10, dropout=0.1)          # dropout: the global RNG must be restored too
    full = train(cfg, SMALL, out=tmp_path / "full.pt")
    half = _cfg(steps=4, dropout=0.1)
    train(half, SMALL, out=tmp_path / "part.pt")
    resumed = train(cfg, SMALL, out=tmp_path / "part.pt", resume=tmp_path / "part.pt")
    for (n, a), b in zip(full.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(a, b), n
    for a, b in zip(full.ema_model.parameters(), resumed.ema_model.parameters()):
        assert torch.equal(a, b)
    assert [h["loss"] for h in full.history] == [h["loss"] for h in resumed.history]
    m1, ck1 = load_checkpoint(tmp_path / "full.pt")
    m2, ck2 = load_checkpoint(tmp_path / "part.pt")
    assert ck1["step"] == ck2["step"] == 10
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_same_seed_same_run_different_seed_different():
    a = train(_cfg(), SMALL)
    b = train(_cfg(), SMALL)
    c = train(_cfg(seed=1), SMALL)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert [h["loss"] for h in a.history] != [h["loss"] for h in c.history]


def test_checkpoint_is_weights_only_and_complete(tmp_path):
    res = train(_cfg(loss="x0_ce", eval_every=3), SMALL, out=tmp_path / "c.pt")
    obj = torch.load(tmp_path / "c.pt", weights_only=True)
    assert obj["format"] == "uddm-checkpoint-v1"
    assert obj["tokenizer"] == {"kind": "symbol", "vocab_size": 16}
    assert obj["data"]["spec"]["corpus"] == "markov:16:3:0" and len(obj["data"]["sha256"]) == 64
    assert set(obj["rng"]) == {"torch", "cuda", "data", "noise"}
    assert [h["step"] for h in obj["history"] if "val_nelbo" in h] == [3, 6]
    ema_model, _ = load_checkpoint(tmp_path / "c.pt", use_ema=True)
    for a, b in zip(ema_model.parameters(), res.ema_model.parameters()):
        assert torch.equal(a, b)


def test_validation_nelbo_at_init_equals_uniform_denoiser_value():
    """At init x_theta is uniform; the NELBO then has a closed form per (t, z_t == x)."""
    torch.manual_seed(0)
    K = 16
    model = DiT(get_config("cpu-xxs", vocab_size=K))
    x = torch.randint(K, (64, 16), generator=torch.Generator().manual_seed(0))
    sch = make_schedule()
    vals = torch.tensor([validation_nelbo(model, x, sch, batch_size=64, batches=16, seed=s)
                         for s in range(8)], dtype=torch.float64)
    v, se = vals.mean().item(), (vals.std() / math.sqrt(len(vals))).item()
    # E over t of sum of the two cases, by quadrature over t in [eps, 1]
    from uddm.diffusion import nelbo_per_token
    t = torch.linspace(1e-3, 1, 20001, dtype=torch.float64)
    a = sch.alpha(t)
    lu = torch.full((t.numel(), 1, K), -math.log(K), dtype=torch.float64)
    xx = torch.zeros(t.numel(), 1, dtype=torch.long)
    same = nelbo_per_token(lu, xx, xx, a, sch.dalpha(t))[:, 0]
    diff = nelbo_per_token(lu, xx, xx + 1, a, sch.dalpha(t))[:, 0]
    p_same = a + (1 - a) / K
    integrand = p_same * same + (1 - p_same) * diff
    expect = torch.trapezoid(integrand, t).item() / (1 - 1e-3)
    # Monte Carlo: 8 independent estimates, tolerance 5 standard errors of their mean
    assert abs(v - expect) < 5 * se, (v, expect, se)
    assert se < 0.05 * expect                  # the check is not vacuous


def test_duo_curriculum_training_runs():
    res = train(_cfg(curriculum_steps=3, steps=5), SMALL)
    assert all(math.isfinite(h["loss"]) for h in res.history)


def test_bad_training_values(tmp_path):
    with pytest.raises(ValueError, match="loss must be one of"):
        train(_cfg(loss="mse"), SMALL)
    with pytest.raises(ValueError, match="longer than the model's length 32"):
        train(_cfg(), DataSpec(corpus="markov:16:3:0", length=64, n_test=4, markov_pool=50))
    with pytest.raises(ValueError, match="unknown model configuration 'big'"):
        train(_cfg(model="big"), SMALL)
    train(_cfg(steps=2), SMALL, out=tmp_path / "a.pt")
    other = DataSpec(corpus="markov:16:3:0", length=16, n_train=11, n_test=8, markov_pool=200)
    with pytest.raises(ValueError, match="data differ"):
        train(_cfg(steps=4), other, resume=tmp_path / "a.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train(_cfg(), SMALL, resume=tmp_path / "nope.pt")
    (tmp_path / "t.pt").write_bytes((tmp_path / "a.pt").read_bytes()[:500])
    with pytest.raises(ValueError, match="truncated"):
        load_checkpoint(tmp_path / "t.pt")


# ------------------------------------------------------------------ progress off a terminal
ROOT = Path(__file__).resolve().parents[2]
STATUS = re.compile(r"^uddm cpu-xxs: step (\d+)/(\d+) \(\d+%\), loss \d+\.\d{4}(, val_nelbo \d+\.\d{4})?, "
                    r"\d+ tokens/s, \S+ elapsed(, ETA \S+)?$")
CLI_TRAIN = ["train", "--config", "cpu-xxs", "--corpus", "markov:16:3:0", "--length", "16",
             "--n-train", "12", "--n-test", "8", "--batch-size", "4"]


def _status_lines(text):
    return [ln for ln in text.splitlines() if ln.startswith("uddm cpu-xxs: step ")]


def test_uddm_train_in_a_log_prints_periodic_status_lines(tmp_path):
    """stdout and stderr are pipes (a log): no bar, one status line every
    $MEMKIT_STATUS_EVERY seconds (30 by default; 1 ms here, so that even a fast machine,
    which trains these 150 steps in well under a second, prints several), the totals at
    the end."""
    env = dict(os.environ, MEMKIT_STATUS_EVERY="0.001", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "uddm.cli"] + CLI_TRAIN
                       + ["--steps", "150", "--out", str(tmp_path / "t.pt")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=280)
    assert r.returncode == 0, r.stderr
    # a line before the first step has no loss yet ("step 0/150 (0%), 0 tokens/s, ...")
    lines = [ln for ln in _status_lines(r.stderr) if not ln.startswith("uddm cpu-xxs: step 0/")]
    assert len(lines) >= 3, r.stderr
    for ln in lines:
        assert STATUS.match(ln), ln
    steps = [int(STATUS.match(ln).group(1)) for ln in lines]
    assert steps == sorted(steps) and steps[-1] == 150
    assert "val_nelbo" in lines[-1] and "ETA" not in lines[-1]
    assert "\r" not in r.stderr and "it/s" not in r.stderr        # no tqdm bar in the log
    assert r.stdout.startswith("step 150: loss")


def test_no_progress_keeps_status_lines_quiet_drops_them(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from uddm.cli import main
    monkeypatch.setenv("MEMKIT_STATUS_EVERY", "0.001")     # 1 ms: several lines on any machine
    r = CliRunner().invoke(main, CLI_TRAIN + ["--steps", "80", "--no-progress",
                                              "--out", str(tmp_path / "a.pt")])
    assert r.exit_code == 0, r.output
    assert len(_status_lines(r.stderr)) >= 2 and "step 80/80" in _status_lines(r.stderr)[-1]
    r = CliRunner().invoke(main, CLI_TRAIN + ["--steps", "80", "--quiet",
                                              "--out", str(tmp_path / "b.pt")])
    assert r.exit_code == 0, r.output
    assert _status_lines(r.stderr) == [] and r.stderr == ""
    assert r.stdout.startswith("step 80: loss")
    assert "--quiet" in CliRunner().invoke(main, ["train", "--help"]).output


def test_progress_output_changes_no_number(capsys):
    quiet = train(_cfg(steps=40), SMALL)
    assert capsys.readouterr().err == ""                            # progress=False: nothing
    loud = train(_cfg(steps=40, progress=True), SMALL, bar=False, status_every=0.005)
    assert len(_status_lines(capsys.readouterr().err)) >= 1
    assert [h["loss"] for h in quiet.history] == [h["loss"] for h in loud.history]
    for a, b in zip(quiet.model.parameters(), loud.model.parameters()):
        assert torch.equal(a, b)


# ------------------------------------------------------------------ learning-rate schedule
@pytest.mark.parametrize("decay", ["none", "cosine", "linear"])
def test_learning_rate_warms_up_then_holds_or_decays_to_zero(decay):
    from uddm.train import learning_rate
    cfg = _cfg(steps=110, warmup=10, lr=2e-3, lr_decay=decay)
    lrs = [learning_rate(cfg, s) for s in range(cfg.steps)]
    assert lrs[:10] == pytest.approx([2e-3 * (s + 1) / 10 for s in range(10)])
    if decay == "none":
        assert lrs[10:] == [2e-3] * 100
        return
    after = lrs[10:]
    assert after[0] == pytest.approx(2e-3)
    assert all(b < a for a, b in zip(after, after[1:]))               # strictly decreasing
    # halfway through the decay: half the peak for both shapes (cos(pi/2) = 0)
    assert learning_rate(cfg, 60) == pytest.approx(1e-3)
    # one step before the end: lr (1 - 99/100) linearly, lr (1 + cos(0.99 pi))/2 cosine
    last = 2e-3 * (0.01 if decay == "linear" else 0.5 * (1 + math.cos(0.99 * math.pi)))
    assert lrs[-1] == pytest.approx(last)


def test_lr_decay_is_validated_and_resumes_exactly(tmp_path):
    with pytest.raises(ValueError, match="lr_decay must be one of .* got 'exp'"):
        train(_cfg(lr_decay="exp"), SMALL)
    from uddm.train import TrainingInterrupted
    cfg = _cfg(steps=10, lr_decay="cosine")
    full = train(cfg, SMALL)

    def stop_at_4(step, rec):              # an interrupt of the same run (the schedule
        if step == 4:                      # is a function of the step and of cfg.steps)
            raise KeyboardInterrupt
    with pytest.raises(TrainingInterrupted):
        train(cfg, SMALL, out=tmp_path / "part.pt", callback=stop_at_4)
    resumed = train(cfg, SMALL, out=tmp_path / "part.pt", resume=tmp_path / "part.pt")
    assert [h["lr"] for h in full.history] == [h["lr"] for h in resumed.history]
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_compiled_training_matches_eager_and_is_deterministic():
    """TrainConfig.compile runs the same maths: only float32 summation order differs.

    Tolerance: the two runs start from identical weights and batches; a reordered
    float32 sum differs by a few ulp (~1e-7 relative) per operation, which 30 AdamW steps
    carry into the weights at the scale lr x (a few ulp-driven sign flips of the update),
    i.e. well below 1e-4 here (measured 1e-6-1e-5); a wrong gradient would move them by
    O(lr) = 1e-3 per step. Two compiled runs with the same seed are identical bit for bit
    on one thread, as every sweep unit trains (memkit.sweep.one_thread); with more
    threads inductor's CPU kernels accumulate some gradients (the embedding's
    scatter-add) with atomic adds, whose order varies (seen on CI at 2 threads).
    """
    cfg = dict(steps=30, batch_size=16, lr=1e-3, warmup=5, dropout=0.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        eager = train(_cfg(**cfg), SMALL)
        comp = train(_cfg(compile=True, **cfg), SMALL)
        again = train(_cfg(compile=True, **cfg), SMALL)
    finally:
        torch.set_num_threads(threads)
    le = torch.tensor([h["loss"] for h in eager.history])
    lc = torch.tensor([h["loss"] for h in comp.history])
    assert torch.allclose(lc, le, rtol=1e-5, atol=0)
    for (n, a), b in zip(eager.model.named_parameters(), comp.model.parameters()):
        assert (a - b).abs().max() < 1e-4, n
    for a, b in zip(comp.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)
    assert [h["loss"] for h in comp.history] == [h["loss"] for h in again.history]


def _subnormal_survives() -> bool:
    """Whether float32 arithmetic on this thread keeps a subnormal number (FTZ/DAZ off)."""
    return bool((torch.tensor([1e-39]) * torch.tensor([1.0])).item() != 0.0)


def test_flush_denormal_flushes_only_while_training_and_is_validated():
    with pytest.raises(ValueError, match="flush_denormal must be True or False, got 'yes'"):
        train(_cfg(flush_denormal="yes"), SMALL)
    assert _subnormal_survives()
    seen = []
    plain = train(_cfg(), SMALL)
    flushed = train(_cfg(flush_denormal=True), SMALL,
                    callback=lambda step, rec: seen.append(_subnormal_survives()))
    assert seen == [False] * 6              # flushed at every step of the run
    assert _subnormal_survives()            # and restored after it
    # a value moves by < 1.2e-38 only: these early steps hold no subnormal, so the same run
    assert [h["loss"] for h in plain.history] == [h["loss"] for h in flushed.history]
