"""The `uddm` command: train, sample, recover, entropy, configs, sweep, probe.

Every wrong value (unknown configuration, empty corpus, sequence longer than the model,
fraction outside (0, 1], missing or truncated checkpoint, text from another vocabulary)
prints one line `Error: ...` and exits with status 2. No pickled code runs: uddm
checkpoints are read with `torch.load(weights_only=True)`, Lightning `.ckpt` files with
the restricted unpickler of `uddm.checkpoints`.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from memkit.cli import OneLineErrorGroup, UserError, one_line_errors, sweep_options
from memkit.io import check_outputs
from memkit.validate import check_count, check_number
from uddm.sweep.options import cache_option, preset_option

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=OneLineErrorGroup, context_settings=CONTEXT)
def main():
    """Uniform-state discrete diffusion language model (UDDM).

    \b
    A typical session (CPU, a few minutes):
      uddm configs                                   # named models and their sizes
      uddm train --config cpu-xs --corpus pydoc --n-train 64 --steps 1500 \\
                 --lr 3e-3 --out runs/pydoc64.pt     # memorise 64 blocks of prose
      uddm recover --checkpoint runs/pydoc64.pt --t 0.25 --split train
      uddm recover --checkpoint runs/pydoc64.pt --t 0.25 --split test
      uddm sample  --checkpoint runs/pydoc64.pt --n 4
      uddm entropy --checkpoint runs/pydoc64.pt --n 64

    Corpora: markov[:K[:successors[:seed]]] (synthetic, known entropy rate),
    pydoc (English prose bundled with Python, offline), text:PATH (file or folder of
    *.txt), hf:PATH[:split[:column]] (a `datasets` dataset saved on disk), lm1b:PATH
    (LM1B saved on disk, packed as the paper's code).

    \b
    sample, recover, entropy and probe also open DUO / paper Lightning .ckpt files
    and Hugging Face export folders (config.json + model.safetensors).
    """


# --------------------------------------------------------------------------- configs
@main.command(context_settings=CONTEXT)
@click.option("--vocab-size", type=int, default=30522, show_default=True,
              help="K used for the embedding and output layers (30522 = bert-base-uncased).")
@one_line_errors
def configs(vocab_size):
    """List the named model configurations with their parameter counts."""
    from uddm.model import parameter_table
    if vocab_size < 2:
        raise UserError(f"--vocab-size must be >= 2, got {vocab_size}")
    click.echo(f"{'name':<8} {'hidden':>6} {'blocks':>6} {'heads':>5} {'length':>6} "
               f"{'cond':>4} {'dropout':>7} {'params (K=' + str(vocab_size) + ')':>20}")
    for name, c, n in parameter_table(vocab_size):
        click.echo(f"{name:<8} {c.hidden:>6} {c.blocks:>6} {c.heads:>5} {c.length:>6} "
                   f"{c.cond_dim:>4} {c.dropout:>7} {n / 1e6:>18.3f} M")


# --------------------------------------------------------------------------- train
@main.command(context_settings=CONTEXT)
@click.option("--config", "model", default="cpu-xs", show_default=True,
              help="Named model configuration (see `uddm configs`).")
@click.option("--corpus", default="markov", show_default=True,
              help="markov[:K[:m[:seed]]] | pydoc | text:PATH | hf:PATH[:split[:column]] | "
                   "lm1b:PATH (LM1B saved with save_to_disk, packed as the paper).")
@click.option("--tokenizer", default="char", show_default=True,
              help="char (built from the corpus) | byte | bpe:PATH/tokenizer.json.")
@click.option("--split", "split_mode", type=click.Choice(["blocks", "sentences"]),
              default="blocks", show_default=True,
              help="Text to sequences: packed blocks of the model length, or one sentence each.")
@click.option("--length", type=int, default=None, help="Sequence length (default: the model's).")
@click.option("--n-train", type=int, default=None, help="Training sequences (nested subset).")
@click.option("--fraction", type=float, default=None, help="Training fraction in (0, 1].")
@click.option("--n-test", type=int, default=256, show_default=True, help="Held-out sequences.")
@click.option("--split-seed", type=int, default=0, show_default=True,
              help="Seed of the one shuffle that defines nested subsets and the test split.")
@click.option("--loss", type=click.Choice(["nelbo", "x0_ce"]), default="nelbo", show_default=True,
              help="nelbo = the paper's eq. 3; x0_ce = -log x_theta(x) (faster on CPU, NOT the paper's).")
@click.option("--steps", type=int, default=1000, show_default=True, help="Total optimiser steps.")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Global batch.")
@click.option("--lr", type=float, default=3e-4, show_default=True)
@click.option("--warmup", type=int, default=100, show_default=True, help="Linear warm-up steps.")
@click.option("--lr-decay", type=click.Choice(["none", "cosine", "linear"]), default="none",
              show_default=True, help="After warm-up: constant lr (none, DUO's) or decay to 0 at --steps.")
@click.option("--grad-clip", type=float, default=1.0, show_default=True)
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the loss and backward (about 30 s once per shape; faster steps).")
@click.option("--flush-denormal", is_flag=True, default=False,
              help="CPU: flush subnormal floats to zero while training (faster when activations underflow).")
@click.option("--ema", type=float, default=0.999, show_default=True, help="EMA decay.")
@click.option("--dropout", type=float, default=None, help="Override the model's dropout.")
@click.option("--schedule", type=click.Choice(["loglinear", "cosine"]), default="loglinear",
              show_default=True)
@click.option("--curriculum-steps", type=int, default=0, show_default=True,
              help="Use DUO's Gaussian curriculum for the first N steps.")
@click.option("--eval-every", type=int, default=0, help="Validation NELBO every N steps (0: at the end).")
@click.option("--ckpt-every", type=int, default=0, help="Checkpoint every N steps (0: at the end).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Checkpoint path.")
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue from this checkpoint (its configuration and data) up to --steps.")
@click.option("--no-progress", is_flag=True,
              help="No bar: a status line every 30 s instead, also on a terminal.")
@click.option("--quiet", is_flag=True,
              help="Neither bar nor status lines: only the final line (and errors).")
@one_line_errors
def train(model, corpus, tokenizer, split_mode, length, n_train, fraction, n_test, split_seed,
          loss, steps, batch_size, lr, warmup, lr_decay, grad_clip, compile_, flush_denormal, ema, dropout,
          schedule, curriculum_steps, eval_every, ckpt_every, seed, device, out, resume, no_progress,
          quiet):
    """Train a model; the checkpoint holds config, tokenizer, data identity and RNG state.

    Launch data-parallel with `torchrun --nproc_per_node N -m uddm.cli train ...`
    (gloo on CPU, nccl on CUDA); --batch-size is the global batch.

    \b
    Progress: a bar on a terminal. When the output is not a terminal (a log file, a
    pipe, a SLURM job) or with --no-progress, one status line every 30 s instead:
      uddm cpu-xs: step 300/1000 (30%), loss 2.4142, 5120 tokens/s, 1m02s elapsed, ETA 2m25s
    (the interval: environment variable MEMKIT_STATUS_EVERY, in seconds). --quiet: none.
    Progress output never changes a result.
    """
    from uddm.data import DataSpec
    from uddm.train import TrainConfig, TrainingInterrupted, read_checkpoint, check_device
    from uddm.train import train as run_train

    check_outputs(**{"--out": out})
    check_count("--steps", steps)
    check_device(device)
    if resume is not None:
        ck = read_checkpoint(resume)
        cfg = TrainConfig.from_dict(ck["train_config"])
        cfg.steps, cfg.progress, cfg.device = steps, not quiet, device
        spec = DataSpec(**ck["data"]["spec"])
        if ck["step"] >= steps:
            raise UserError(f"checkpoint {resume} is already at step {ck['step']} >= --steps {steps}")
    else:
        cfg = TrainConfig(model=model, length=None, dropout=dropout, loss=loss,
                          schedule=schedule, steps=steps, batch_size=batch_size, lr=lr,
                          warmup=warmup, lr_decay=lr_decay, grad_clip=grad_clip, compile=compile_,
                          flush_denormal=flush_denormal, ema=ema,
                          seed=seed,
                          eval_every=eval_every, ckpt_every=ckpt_every,
                          curriculum_steps=curriculum_steps, device=device,
                          progress=not quiet)
        from uddm.model import get_config
        mlen = get_config(model).length
        if length is not None and length > mlen:
            raise UserError(f"sequence length {length} is longer than the model's length "
                            f"{mlen} (configuration {model!r})")
        spec = DataSpec(corpus=corpus, tokenizer=tokenizer, split=split_mode, length=length,
                        n_train=n_train, fraction=fraction, n_test=n_test,
                        split_seed=split_seed)
    cfg.validate()
    spec.validate()
    try:
        res = run_train(cfg, spec, out=out, resume=resume, bar=not no_progress)
    except TrainingInterrupted as exc:
        if exc.checkpoint is not None:
            click.echo(f"Interrupted at step {exc.step}: checkpoint written to {out}; continue "
                       f"exactly with --resume {out}", err=True)
        else:
            click.echo("Interrupted before the first checkpoint: nothing written", err=True)
        raise SystemExit(130) from None
    last = res.history[-1]
    click.echo(f"step {res.step}: loss {last['loss']:.4f} ({cfg.loss}), validation NELBO "
               f"{last.get('val_nelbo', float('nan')):.4f} nats/token, "
               f"{res.dataset.train.shape[0]} training sequences, K={res.dataset.tokenizer.vocab_size}"
               f" -> {out}")


# --------------------------------------------------------------------------- shared
def _weights_options(f):
    """--ema (opt-in) and the deprecated --raw-weights (raw weights are now the default)."""
    f = click.option("--raw-weights", is_flag=True, hidden=True,
                     help="Deprecated: raw weights are the default now.")(f)
    return click.option("--ema", "use_ema", is_flag=True,
                        help="Use the EMA weights (default: the raw weights, as the paper "
                             "evaluated).")(f)


def _tokenizer_option(f):
    """--tokenizer bpe:PATH/tokenizer.json, for checkpoints that carry no tokenizer."""
    return click.option("--tokenizer", default=None,
                        help="bpe:PATH/tokenizer.json: the tokenizer of a DUO / Hugging Face "
                             "checkpoint that carries none (bert-base-uncased, gpt2 + [PAD]).")(f)


def _load(checkpoint, use_ema, device, raw_weights=False, tokenizer=None):
    """(Loaded, schedule, device) of a uddm .pt, a Lightning .ckpt or a Hugging Face folder.

    `tokenizer` (bpe:PATH) replaces the checkpoint's own; its size must be the model's K.
    """
    from uddm.checkpoints import load_any
    from uddm.diffusion import make_schedule
    if use_ema and raw_weights:
        raise UserError("--ema and --raw-weights contradict each other; give one")
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    loaded = load_any(checkpoint, use_ema=use_ema, device=dev)
    if tokenizer is not None:
        loaded.tokenizer = _bpe_tokenizer(tokenizer, loaded.model.config.vocab_size)
    return loaded, make_schedule(loaded.schedule, loaded.eps), dev


def _bpe_tokenizer(spec, K):
    """The BPETokenizer of --tokenizer bpe:PATH, checked against the model's vocabulary K."""
    from uddm.data import BPETokenizer
    if not spec.startswith("bpe:"):
        raise UserError(f"--tokenizer must be bpe:PATH/tokenizer.json, got {spec!r}")
    tok = BPETokenizer.from_file(spec[4:])
    if tok.vocab_size != K:
        raise UserError(f"tokenizer {spec[4:]} has {tok.vocab_size} tokens but the model's "
                        f"vocabulary is {K} (a vocabulary mismatch)")
    return tok


class _IdsTokenizer:
    """Shows token ids when a checkpoint carries no tokenizer (`uddm sample`)."""

    pad_id = None

    def decode(self, ids) -> str:
        return "ids: " + " ".join(str(int(i)) for i in ids)


def _need_tokenizer(loaded, what):
    if loaded.tokenizer is None:
        raise UserError(f"this {loaded.description.split(' (')[0]} carries no tokenizer: "
                        f"give --tokenizer bpe:PATH/tokenizer.json to read {what}")
    return loaded.tokenizer


def _dataset(ck):
    from uddm.data import DataSpec, build_dataset
    ds = build_dataset(DataSpec(**ck["data"]["spec"]), tokenizer_dict=ck["tokenizer"])
    if ds.identity()["sha256"] != ck["data"]["sha256"]:
        raise UserError("the rebuilt data differ from the checkpoint's (corpus changed on disk?)")
    return ds


def _references(loaded, split, n, reference_file, seed):
    """(references (R, L), tokenizer): lines of `reference_file` padded to the model's
    length, or `n` sequences of the uddm checkpoint's own `split`."""
    model = loaded.model
    L = model.config.length
    if reference_file is None and loaded.checkpoint is None:
        raise UserError(f"this {loaded.description.split(' (')[0]} carries no training data: "
                        f"give --reference-file FILE (one text per line) and --tokenizer "
                        f"bpe:PATH/tokenizer.json")
    if reference_file is not None:
        p = Path(reference_file)
        if not p.is_file():
            raise UserError(f"reference file {reference_file} does not exist")
        tok = _need_tokenizer(loaded, reference_file)
        lines = [l for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
        if not lines:
            raise UserError(f"reference file {reference_file} is empty")
        rows = []
        for l in lines:
            ids = tok.encode(l)
            if len(ids) > L:
                raise UserError(f"reference of {len(ids)} tokens is longer than the model's "
                                f"length {L}: {l[:30]!r}")
            if len(ids) < L:
                if tok.pad_id is None:
                    raise UserError(f"reference of {len(ids)} tokens is shorter than {L} and "
                                    f"the tokenizer has no pad")
                ids = ids + [tok.pad_id] * (L - len(ids))
            rows.append(ids)
        return torch.tensor(rows, dtype=torch.long)[:n], tok
    tok = loaded.tokenizer
    ds = _dataset(loaded.checkpoint)
    x = ds.train if split == "train" else ds.test
    if x.shape[0] == 0:
        raise UserError(f"the checkpoint's {split} split is empty")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(x.shape[0], generator=g)[:n]
    return x[idx], tok


def _fmt(mean, se, n):
    return f"{mean:.4f} ± {se:.4f} (n={n})"


# --------------------------------------------------------------------------- sample
@main.command(context_settings=CONTEXT)
@click.option("--checkpoint", required=True, type=click.Path(),
              help="A uddm .pt, a Lightning .ckpt (DUO, the paper) or a Hugging Face export folder.")
@click.option("--n", type=int, default=4, show_default=True, help="Number of sequences.")
@click.option("--steps", type=int, default=128, show_default=True,
              help="Reverse steps (the time grid on [1e-5, 1]; the paper: 1000).")
@click.option("--dynamics", type=click.Choice(["ancestral", "greedy"]), default="ancestral",
              show_default=True)
@click.option("--final", type=click.Choice(["ancestral", "greedy"]), default="ancestral",
              show_default=True, help="Final step: ancestral to alpha_s = 1 (DUO's noise removal, "
                                      "the paper's) or the greedy tail argmax x_theta.")
@click.option("--top-p", type=float, default=None, help="Nucleus filtering of x_theta.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_weights_options
@click.option("--device", default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the samples (JSON: text, tokens, entropies).")
@_tokenizer_option
@one_line_errors
def sample(checkpoint, n, steps, dynamics, final, top_p, batch_size, seed, use_ema, raw_weights,
           device, out, tokenizer):
    """Generate sequences from uniform noise and print them with their entropy (eq. 13).

    Without a tokenizer (a DUO checkpoint that carries none, no --tokenizer) the
    samples are printed as token ids.
    """
    from uddm.measures import mean_and_se
    from uddm.sample import generate
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    loaded, schedule, dev = _load(checkpoint, use_ema, device, raw_weights, tokenizer)
    model, tok = loaded.model, loaded.tokenizer
    if tok is None:
        tok = _IdsTokenizer()
    g = torch.Generator(device=dev).manual_seed(seed)
    res = generate(model, schedule, n, steps=steps, batch_size=batch_size, generator=g,
                   dynamics=dynamics, final=final, top_p=top_p)
    seq_h = res.entropy.sum(-1)
    for i in range(n):
        click.echo(f"[{i}] H={float(seq_h[i]):.3f} nats | {tok.decode(res.tokens[i].tolist())}")
    click.echo(f"sequence entropy {_fmt(*mean_and_se(seq_h.cpu()))}")
    if out:
        from memkit.io import atomic_write_json
        atomic_write_json(out, {"text": [tok.decode(r.tolist()) for r in res.tokens],
                                "tokens": res.tokens.tolist(),
                                "token_entropy": res.entropy.tolist()})


# --------------------------------------------------------------------------- recover
@main.command(context_settings=CONTEXT)
@click.option("--checkpoint", required=True, type=click.Path(),
              help="A uddm .pt, a Lightning .ckpt (DUO, the paper) or a Hugging Face export folder.")
@click.option("--t", "t", type=float, default=0.25, show_default=True,
              help="Corruption time (fraction of tokens redrawn = 1 - alpha_t).")
@click.option("--t-start", type=float, default=None,
              help="Model start time (default = --t; Experiment 1 fixes it small).")
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True)
@click.option("--reference-file", type=click.Path(dir_okay=False), default=None,
              help="Use these lines (one reference each) instead of the checkpoint's data.")
@click.option("--n", type=int, default=64, show_default=True, help="Reference sequences.")
@click.option("--steps", type=int, default=128, show_default=True,
              help="Size of the time grid (--grid global: steps on [1e-5, 1], entered at t, "
                   "as the paper's evaluation; the paper uses 1000).")
@click.option("--grid", type=click.Choice(["global", "local"]), default="global", show_default=True,
              help="global: the paper's one grid for every t; local: --steps from t.")
@click.option("--dynamics", type=click.Choice(["greedy", "ancestral"]), default="greedy",
              show_default=True)
@click.option("--final", type=click.Choice(["ancestral", "greedy"]), default="ancestral",
              show_default=True, help="Final step: ancestral to alpha_s = 1 (the paper's) or greedy tail.")
@click.option("--fixed-point", is_flag=True,
              help="The paper's scripts' fixed-point test: clean references enter the dynamics "
                   "at model time --t (no corruption); reports stability and exact match.")
@click.option("--entropy-at", type=click.Choice(["t0", "t"]), default="t0", show_default=True,
              help="eq. 13 on the final tokens at t0 (the paper's code) or at the corrupted start and t.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_weights_options
@click.option("--device", default="auto", show_default=True)
@_tokenizer_option
@one_line_errors
def recover(checkpoint, t, t_start, split, reference_file, n, steps, grid, dynamics, final,
            fixed_point, entropy_at, batch_size, seed, use_ema, raw_weights, device, tokenizer):
    """Corrupt references at time t, run the reverse process, report recovery (eq. 12)."""
    from uddm.measures import exact_match, mean_and_se
    from uddm.sample import retrieve
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    loaded, schedule, dev = _load(checkpoint, use_ema, device, raw_weights, tokenizer)
    model = loaded.model
    ref, tok = _references(loaded, split, n, reference_file, seed)
    g = torch.Generator(device=dev).manual_seed(seed)
    res = retrieve(model, schedule, ref.to(dev), t, steps=steps, t_start=t_start,
                   dynamics=dynamics, final=final, batch_size=batch_size,
                   pad_id=tok.pad_id, generator=g, grid=grid, entropy_at=entropy_at,
                   perturb=not fixed_point)
    mask = None if tok.pad_id is None else res.reference != tok.pad_id
    what = reference_file or f"{split} split"
    weights = "EMA" if use_ema else "raw"
    click.echo(f"{weights} weights, {dynamics} dynamics, {grid} grid of {steps} steps, {final} last step")
    if fixed_point:
        click.echo(f"fixed-point test on {what}, model time t={t}: tokens kept "
                   f"{_fmt(*mean_and_se(1.0 - res.unstable.cpu()))}")
    else:
        click.echo(f"recovery rate (eq. 12) on {what}, t={t}: {_fmt(*mean_and_se(res.recovery.cpu()))}")
    click.echo(f"unstable rate: {_fmt(*mean_and_se(res.unstable.cpu()))}")
    click.echo(f"exact match: {float(exact_match(res.reference, res.tokens, mask).double().mean()):.4f}")
    changed = res.start != res.reference
    if mask is not None:
        changed &= mask
    rec = changed & (res.tokens == res.reference)
    unrec = changed & (res.tokens != res.reference)
    if rec.any():
        click.echo(f"token entropy of recovered positions: {float(res.entropy[rec].mean()):.4f} nats")
    if unrec.any():
        click.echo(f"token entropy of unrecovered positions: {float(res.entropy[unrec].mean()):.4f} nats")
    spec = loaded.checkpoint["data"]["spec"]["corpus"] if loaded.checkpoint else ""
    if reference_file is None and spec.startswith("markov") and not fixed_point:
        from uddm.data import _parse_markov
        from uddm.measures import recovery_rate
        src = _parse_markov(spec)
        alpha = schedule.alpha(float(t))
        bayes = torch.from_numpy(src.bayes_denoise(res.start.cpu().numpy(), alpha))
        click.echo(f"Bayes-MAP reference (exact posterior, same starts; not an upper bound): "
                   f"{_fmt(*mean_and_se(recovery_rate(res.reference.cpu(), res.start.cpu(), bayes)))}")


# --------------------------------------------------------------------------- entropy
@main.command(context_settings=CONTEXT)
@click.option("--checkpoint", required=True, type=click.Path(),
              help="A uddm .pt, a Lightning .ckpt (DUO, the paper) or a Hugging Face export folder.")
@click.option("--n", type=int, default=64, show_default=True, help="Sequences per set.")
@click.option("--sets", default=None,
              help="Comma-separated: train, test, references, generated [default: "
                   "train,test,generated; references,generated with --reference-file].")
@click.option("--reference-file", type=click.Path(dir_okay=False), default=None,
              help="Lines (one reference each) for the 'references' set; the only data of "
                   "a DUO / Hugging Face checkpoint.")
@click.option("--t", "t", type=float, default=1e-5, show_default=True,
              help="Model time at which x_theta is evaluated.")
@click.option("--steps", type=int, default=128, show_default=True, help="Steps for generated.")
@click.option("--seed", type=int, default=0, show_default=True)
@_weights_options
@click.option("--device", default="auto", show_default=True)
@_tokenizer_option
@one_line_errors
def entropy(checkpoint, n, sets, reference_file, t, steps, seed, use_ema, raw_weights, device,
            tokenizer):
    """Token and sequence conditional entropy (eq. 13) of training, test and generated data.

    Prints the per-token mean and the sequence entropy (sum over positions) with standard
    errors, and the entropy gap mean(generated) - mean(train).
    """
    from uddm.measures import mean_and_se
    from uddm.sample import generate, token_entropy
    if sets is None:
        sets = "references,generated" if reference_file else "train,test,generated"
    names = [s.strip() for s in sets.split(",") if s.strip()]
    bad = [s for s in names if s not in ("train", "test", "references", "generated")]
    if bad or not names:
        raise UserError(f"unknown set {bad[0] if bad else sets!r}; use train, test, references, "
                        f"generated")
    if "references" in names and reference_file is None:
        raise UserError("the 'references' set needs --reference-file FILE")
    if not 0.0 < t <= 1.0:
        raise UserError(f"--t must be in (0, 1], got {t}")
    loaded, schedule, dev = _load(checkpoint, use_ema, device, raw_weights, tokenizer)
    model = loaded.model
    seq_means = {}
    for name in names:
        if name == "generated":
            g = torch.Generator(device=dev).manual_seed(seed)
            H = generate(model, schedule, n, steps=steps, generator=g).entropy
            mask = None
        else:
            x, tok = _references(loaded, name, n, reference_file if name == "references" else None,
                                 seed)
            H = token_entropy(model, x.to(dev), schedule, t)
            mask = None if tok.pad_id is None else (x != tok.pad_id).to(H.device)
        if mask is not None:
            H = H * mask
        seq = H.sum(-1).cpu()
        per_tok = (seq / (mask.sum(-1).cpu() if mask is not None else H.shape[1])).double()
        seq_means[name] = mean_and_se(seq)[0]
        click.echo(f"{name:<9} sequence entropy {_fmt(*mean_and_se(seq))}   "
                   f"per token {_fmt(*mean_and_se(per_tok))}")
    base = next((b for b in ("train", "references") if b in seq_means), None)
    if "generated" in seq_means and base:
        click.echo(f"entropy gap (generated - {base}): "
                   f"{seq_means['generated'] - seq_means[base]:.4f} nats")


# --------------------------------------------------------------------------- sweep
@main.group(context_settings=CONTEXT)
def sweep():
    """The memorisation-to-generalisation sweep behind experiments/uddm_fig1..5.py.

    \b
    Every point (model size x training-set size x seed) is one checkpoint in the cache,
    named by the hash of its configuration, plus its measurements as JSON. Points are
    reused, half-trained checkpoints resume, a point in flight is locked (processes
    sharing a cache never train the same point), and each point can run on its own:
      uddm sweep list  --preset cpu              # the points and what is done
      uddm sweep train --preset cpu --point 7    # one point
      uddm sweep run   --preset cpu              # every missing point, in order
      uddm sweep run   --preset cpu --workers 2  # one single-threaded process per core
      uddm sweep run   --preset cpu --shard 3/16 # one task of a job array (docs/sweeps.md)
    Presets: quick (tests, ~1 min), cpu (one seed, <= 60 min on 2 cores), cpu-limit
    (the default and the committed figures: 3 seeds, 10x the training, ~6 h on 2 cores),
    paper (tiny/small/medium on a GPU).
    """


def _sweep_cfg(preset):
    from uddm.sweep import get_preset
    return get_preset(preset)


@sweep.command("list", context_settings=CONTEXT)
@preset_option
@cache_option
@one_line_errors
def sweep_list(preset, cache):
    """List the points of a preset with their training/measurement status."""
    from uddm.sweep import describe, sweep_status
    cfg = _sweep_cfg(preset)
    click.echo(describe(cfg))
    click.echo(f"{'point':>5} {'model':<8} {'n_train':>8} {'seed':>4} {'trained':>12} {'measured':>8}")
    for r in sweep_status(cfg, cache):
        n = "all" if r["n_train"] is None else r["n_train"]
        measured = {"done": "yes", "missing": "no", "stale": "no (stale lock)"}.get(r["state"])
        if r["state"] == "running":
            measured = f"running (pid {r['lock']['pid']} on {r['lock']['host']})"
        click.echo(f"{r['point']:>5} {r['model']:<8} {n:>8} {r['seed']:>4} "
                   f"{str(r['step']) + '/' + str(r['steps']):>12} {measured:>8}")


@sweep.command("train", context_settings=CONTEXT)
@preset_option
@cache_option
@click.option("--point", "points", type=int, multiple=True, required=True,
              help="Point index (see `uddm sweep list`); repeat for several.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
@one_line_errors
def sweep_train(preset, cache, points, no_progress):
    """Train and measure one point of a sweep into the (shared) cache."""
    from uddm.sweep import run_point
    cfg = _sweep_cfg(preset)
    for i in points:
        cfg.point(i)
    for i in points:
        r = run_point(cfg, i, cache, progress=not no_progress)
        _echo_point(r)


def _echo_point(r):
    p = r["point"]
    j = r["exp2"]["times"].index(0.1) if 0.1 in r["exp2"]["times"] else 0
    t = r["exp2"]["times"][j]
    tr, te = r["exp2"]["train"]["recovery"]["mean"][j], r["exp2"]["test"]["recovery"]["mean"][j]
    ce = r["exp2"]["test"]["reference"]["mean"][j]
    what = "exact model" if p["index"] < 0 else f"point {p['index']}"     # exact rows: -1, -2, ...
    click.echo(f"{what}: {p['model']} n_train={p['n_train']} seed={p['seed']}: "
               f"recovery at t={t}: train {tr:.3f}, test {te:.3f}, Bayes-MAP reference {ce:.3f}; "
               f"validation NELBO {r['val_nelbo']:.4f}")


@sweep.command("run", context_settings=CONTEXT)
@preset_option
@cache_option
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
@sweep_options
@one_line_errors
def sweep_run(preset, cache, no_progress, shard, workers):
    """Train and measure every point of a sweep that is not in the cache yet, and the
    exact model at every size (Markov corpus): all that the figure scripts read."""
    from uddm.sweep import run_units
    cfg = _sweep_cfg(preset)
    run = run_units(cfg, cache, exact=True, shard=shard, workers=workers,
                    progress=not no_progress, callback=lambda p, r: _echo_point(r))
    click.echo(f"uddm sweep {cfg.name}: {run.summary()}"
               + ("" if run.complete else "; the figure scripts run once every shard is done"))


# --------------------------------------------------------------------------- probe
@main.command(context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path())
@click.option("--references", required=True, type=click.Path(dir_okay=False),
              help="Text file, one reference sequence per line (text, or token ids with --ids).")
@click.option("--ids", is_flag=True, help="The lines are whitespace-separated integer token ids.")
@click.option("--unseen", type=click.Path(dir_okay=False), default=None,
              help="Optional file of sequences the model never saw (same format): their "
                   "recovery and entropy are printed beside the references' (train vs test), "
                   "and the verdict compares the references with them (else with samples).")
@click.option("--tokenizer", default=None,
              help="bpe:PATH/tokenizer.json for a checkpoint that carries no tokenizer.")
@click.option("--heads", type=int, default=None, help="Attention heads of a bare DUO state "
              "dict, which does not state them (default: the paper's of the same width).")
@click.option("--t", "times", default="0.05,0.1,0.25,0.5,1", show_default=True,
              help="Comma-separated corruption times for the recovery (Experiment 2).")
@click.option("--n", "limit", type=int, default=256, show_default=True,
              help="Use at most this many references.")
@click.option("--n-generated", type=int, default=64, show_default=True,
              help="Samples generated to measure the model's own entropy.")
@click.option("--steps", type=int, default=128, show_default=True,
              help="Time grid of the retrieval: steps on [1e-5, 1], entered at each t (the paper's).")
@click.option("--generation-steps", type=int, default=128, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the report as JSON.")
@_weights_options
@one_line_errors
def probe(checkpoint, references, ids, unseen, tokenizer, heads, times, limit, n_generated, steps,
          generation_steps, seed, device, json_out, use_ema, raw_weights):
    """Is this model memorising, in transition, or generalising? (uddm, DUO or HF checkpoint)

    \b
    Reports recovery (eq. 12) of the references at several t (stochastic retrieval, the
    paper's procedure), the conditional entropy (eq. 13 at t0) of the references, of
    the model's own samples and of --unseen sequences, the fraction of samples that
    copy a reference, and a verdict that rests on comparisons the model provides:
      memorising     at least half the samples copy a reference
      in transition  otherwise, if the references' sequence entropies lie below the
                     comparison set's: A = P(H_ref < H_cmp) with z = (A - 1/2)/se0 > 3
                     (comparison: --unseen sequences when given, else the samples)
      generalising   otherwise
    No absolute entropy threshold: the rule does not depend on the source's entropy.
    Without --unseen, a model whose samples are worse than its data looks "in
    transition"; give held-out sequences when they exist (see uddm/probe.py).
    Raw weights by default (as the paper evaluated); --ema for the EMA.
    """
    from uddm.data import BPETokenizer
    from uddm.probe import load_model, probe as run_probe, read_references
    try:
        ts = [float(x) for x in times.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--t must be comma-separated numbers, got {times!r}") from None
    if not ts or not all(0 < t <= 1 for t in ts):
        raise UserError(f"--t values must lie in (0, 1], got {times!r}")
    for name, v in (("--n", limit), ("--n-generated", n_generated), ("--steps", steps),
                    ("--generation-steps", generation_steps)):
        if v < 1:
            raise UserError(f"{name} must be >= 1, got {v}")
    dev = "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    if use_ema and raw_weights:
        raise UserError("--ema and --raw-weights contradict each other; give one")
    model, tok, what = load_model(checkpoint, dev, heads, use_ema=use_ema)
    if tokenizer is not None:
        if not tokenizer.startswith("bpe:"):
            raise UserError(f"--tokenizer must be bpe:PATH, got {tokenizer!r}")
        tok = BPETokenizer.from_file(tokenizer[4:])
    if tok is None and not ids:
        raise UserError(f"this {what.split(' (')[0]} carries no tokenizer: give --tokenizer "
                        f"bpe:PATH/tokenizer.json, or the references as token ids (--ids)")
    refs = read_references(references, model, tok, ids=ids, limit=limit)
    un = read_references(unseen, model, tok, ids=ids, limit=limit) if unseen else None
    if un is not None:
        n = min(refs.shape[1], un.shape[1])
        refs, un = refs[:, :n], un[:, :n]
    rep = run_probe(model, refs, ts, n_generated=n_generated, steps=steps,
                    generation_steps=generation_steps, seed=seed, unseen=un)
    click.echo(f"{what}: K={rep.vocab_size}, {rep.n_references} references of length {rep.length}")
    for t, m, s in zip(rep.times, rep.recovery, rep.recovery_sem):
        click.echo(f"recovery (eq. 12) at t={t:g}: {m:.4f} ± {s:.4f}")
    click.echo(f"per-token conditional entropy: references {rep.h_ref:.4f} ± {rep.h_ref_sem:.4f}, "
               f"generated {rep.h_gen:.4f} ± {rep.h_gen_sem:.4f} nats")
    click.echo(f"entropy gap (generated - references): {rep.gap:.4f} nats/token; "
               f"samples copying a reference: {rep.copies:.3f}")
    if "unseen" in rep.extra:
        u = rep.extra["unseen"]
        for t, m, se, g, gs in zip(rep.times, u["recovery"], u["recovery_sem"], u["recovery_gap"],
                                   u["recovery_gap_sem"]):
            click.echo(f"unseen recovery at t={t:g}: {m:.4f} ± {se:.4f}; references - unseen: "
                       f"{g:+.4f} ± {gs:.4f}")
        click.echo(f"per-token conditional entropy of {u['n']} unseen sequences: "
                   f"{u['h']:.4f} ± {u['h_sem']:.4f} nats")
    st = rep.statistic
    click.echo(f"references vs {rep.comparison}: A = P(H_ref < H_cmp) = {st['auc']:.3f} ± "
               f"{st['se']:.3f} (z = {st['z']:.1f}, n = {st['n_x']} / {st['n_y']})")
    click.echo(f"verdict: {rep.verdict} ({rep.reason})")
    if json_out:
        from memkit.io import atomic_write_json
        atomic_write_json(json_out, rep.to_dict())


# --------------------------------------------------------------------------- option checks
# Every numeric option of sample, recover, entropy and probe, checked before any file is
# read or any model built (one line, exit 2, the option and the value named). `train`
# checks its options through TrainConfig.validate and DataSpec.validate.
def _count(opt, v):
    check_count(opt, v)


def _seed(opt, v):
    check_count(opt, v, minimum=0)


def _time(opt, v):
    check_number(opt, v, 0.0, 1.0, low_open=True)


def _device(opt, v):
    from uddm.train import check_device
    check_device(v, opt)


def _output(opt, v):
    check_outputs(**{opt: v})


def _utf8_file(opt, v):
    p = Path(v)
    if p.is_file():
        try:
            p.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"{opt} {v} is not UTF-8 text (byte {exc.object[exc.start]:#x} at "
                            f"offset {exc.start})") from None


_COMMON = {"n": _count, "steps": _count, "batch_size": _count, "seed": _seed, "device": _device}
OPTION_CHECKS = {
    "sample": dict(_COMMON, top_p=_time, out=_output),
    "recover": dict(_COMMON, t=_time, t_start=_time, reference_file=_utf8_file),
    "entropy": dict(_COMMON, t=_time, reference_file=_utf8_file),
    "probe": dict(_COMMON, limit=_count, n_generated=_count, generation_steps=_count,
                  heads=_count, json_out=_output, references=_utf8_file, unseen=_utf8_file),
}


def _check_options(command, checks):
    """Run `checks` (option name -> check(opt, value)) before the command's own code."""
    import functools
    opts = {p.name: max(p.opts, key=len) for p in command.params}
    inner = command.callback

    @functools.wraps(inner)
    def checked(*args, **kwargs):
        for name, check in checks.items():
            if kwargs.get(name) is not None:
                check(opts.get(name, "--" + name.replace("_", "-")), kwargs[name])
        return inner(*args, **kwargs)

    command.callback = one_line_errors(checked)


for _name, _checks in OPTION_CHECKS.items():
    _check_options(main.commands[_name], _checks)


if __name__ == "__main__":
    main()
