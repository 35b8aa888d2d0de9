"""Measuring one model of a sweep: every number the figures read, as one JSON-able dict.

The measurements of each model (`measure_model`) go through the shared retrieval
protocol (`memkit.protocol.run_retrieval` with `uddm.DiffusionRetriever`; the same
code measures `amsim` networks). The procedure is the paper's evaluation code's
(Lemon-cmd/Associative-Memory-and-Language-Diffusion, `eval_fixed_point.py`,
`eval_entropy_multi.py`): one global time grid of `retrieval_steps` on [1e-5, 1] entered
at each t, DUO's ancestral noise-removal last step, the raw weights (not the EMA;
`use_ema` opts in), eq. 13 at t0 = 1e-5 on the final tokens and on clean sequences.
Per model:

- Experiment 1 (Fig. 1): greedy retrieval from corrupted starts, corruption level =
  model start time t (the paper's text; `exp1_t_start` decouples them), and the
  fixed-point test of the paper's scripts (`perform_perturb=false`: clean sequences
  given to the greedy dynamics at model time t; exact-match and stability rates);
- Experiment 2 (Figs. 2, 3): stochastic retrieval from the corruption time t in
  `exp2_times` (0.05 ... 1.0, as the paper's scripts);
- the token entropy (eq. 13) at the end of retrieval, split into recovered and
  unrecovered corrupted positions, averaged per sequence, then over sequences (Fig. 3,
  as the paper's notebook), with histograms (its Appendix D);
- the sequence conditional entropy of training, test and generated sequences at t0
  (Figs. 4, 5) and their two-sample statistic (`memkit.measures.two_sample_auc`);
- a census of the generated sequences (`uddm.census`) and their unigram entropy;
- validation (test split) and training NELBO (eq. 3);
- the Bayes-MAP reference from the same corrupted starts (exact posterior on the Markov
  source, a bigram posterior on text; not an upper bound, see `uddm.references`).

`measure_point` measures a trained checkpoint of the sweep, `measure_exact` the exact
Bayes model (`uddm.references.ExactModel`) at one training-set size (model "bayes"),
once per seed of the sweep, so its corrupted starts are those of that seed's models:
paired comparisons).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from memkit.protocol import RetrievalRecord, mean_and_sem, run_retrieval
from uddm.references import bayes_map_record, reference_denoiser
from uddm.sweep.config import EXACT, Point, SweepConfig, exact_point

__all__ = ["measure_model", "measure_point", "measure_exact", "ENTROPY_BINS"]

ENTROPY_BINS = 40        # histogram bins over [0, log K] for the Fig. 3 token entropies


def _summary(values: np.ndarray) -> dict:
    """Mean and SEM per level (references as units) and the per-reference means.

    A reference none of whose trials corrupted a position has no recovery (NaN, stored
    as None) and is left out.
    """
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN rows: "mean of empty slice"
        m, s = mean_and_sem(values)
        per_ref = np.nanmean(values, axis=2) if values.shape[2] > 1 else values[:, :, 0]
    return {"mean": m.tolist(), "sem": s.tolist(),
            "per_ref": [[None if np.isnan(v) else float(v) for v in row] for row in per_ref]}


def _entropy_split(rec: RetrievalRecord, K: int) -> dict:
    """Fig. 3: token entropy of recovered vs unrecovered corrupted positions, per level.

    Per level: "per_sequence" = for each reference (its trials pooled) the mean entropy of
    its recovered / unrecovered corrupted positions (None where it has none), which the
    figure averages over sequences as the paper's notebook does; and, pooled over
    positions, the histogram over [0, log K] with count, sum and sum of squares.
    """
    edges = np.linspace(0.0, math.log(K), ENTROPY_BINS + 1)
    out = {"edges": edges.tolist(), "recovered": [], "unrecovered": [], "per_sequence": []}
    ref = rec.reference[:, None, :]
    for a in range(len(rec.levels)):
        for name, H in zip(("recovered", "unrecovered"), rec.entropy_by_outcome(a)):
            H = np.asarray(H, dtype=float)
            out[name].append({"n": int(H.size), "mean": float(H.mean()) if H.size else None,
                              "sum": float(H.sum()), "sumsq": float((H ** 2).sum()),
                              "hist": np.histogram(np.clip(H, 0, edges[-1]), edges)[0].tolist()})
        changed = rec.corrupted[a] != ref
        hit = rec.final[a] == ref
        Ha = rec.entropy[a]
        per = {}
        for name, m in (("recovered", changed & hit), ("unrecovered", changed & ~hit)):
            cnt = m.sum(axis=(1, 2))
            tot = np.where(m, Ha, 0.0).sum(axis=(1, 2))
            per[name] = [float(t / c) if c else None for t, c in zip(tot, cnt)]
        out["per_sequence"].append(per)
    return out


def _trials_for(cfg: SweepConfig, n_refs: int) -> int:
    """More corrupted copies for tiny training sets, so every point has ~n_refs trials."""
    return max(cfg.trials, math.ceil(cfg.n_refs / max(n_refs, 1)))


def _unigram_entropy(tokens: np.ndarray, K: int) -> np.ndarray:
    """(n,) entropy (nats) of each sequence's own token histogram (DUO's sample diversity)."""
    out = np.empty(tokens.shape[0])
    for i, row in enumerate(tokens):
        c = np.bincount(row, minlength=K).astype(float)
        p = c[c > 0] / row.size
        out[i] = float(-(p * np.log(p)).sum())
    return out


def _example(rec: RetrievalRecord, a: int, i: int) -> dict:
    """One retrieval of reference i at level a (trial 0): the Figs. 1A/3A text examples."""
    return {"reference": rec.reference[i].tolist(), "corrupted": rec.corrupted[a, i, 0].tolist(),
            "final": rec.final[a, i, 0].tolist(),
            "entropy": None if rec.entropy is None else rec.entropy[a, i, 0].tolist()}


def measure_model(cfg: SweepConfig, model, ds, schedule, seed: int, device="cpu",
                  ref_train: np.ndarray | None = None) -> dict:
    """Every number the figures need, for one model (a DiT or an `ExactModel`) on `ds`.

    The random streams depend only on (cfg.measure_seed, seed) and on the data, so two
    models measured with the same seed on the same references see the same corrupted
    starts (paired comparisons). `ref_train`: the whole training split for the bigram
    reference on text (default: `ds.train`).
    """
    from memkit.measures import two_sample_auc
    from uddm.census import census
    from uddm.retrieval import DiffusionRetriever
    from uddm.sample import generate, token_entropy
    from uddm.train import validation_nelbo

    K = model.config.vocab_size
    L = int(ds.train.shape[1])
    rng = np.random.default_rng([cfg.measure_seed, seed])
    refs = {"train": ds.train[:cfg.n_refs].numpy(), "test": ds.test[:cfg.n_refs].numpy()}
    ref_den, ref_name = reference_denoiser(ds, ref_train)
    bs = 256 if str(device).startswith("cuda") else 64
    common = dict(steps=cfg.retrieval_steps, final=cfg.final, grid=cfg.grid, batch_size=bs,
                  entropy_at=cfg.entropy_at)
    exp1 = DiffusionRetriever(model, schedule, t_start=cfg.exp1_t_start, **common)
    fixed = DiffusionRetriever(model, schedule, perturb=False, **common)
    exp2 = DiffusionRetriever(model, schedule, **common)
    res = {"vocab_size": K, "length": L, "reference": ref_name,
           "exp1": {"levels": list(cfg.exp1_levels), "t_start": cfg.exp1_t_start},
           "exp2": {"times": list(cfg.exp2_times)}, "examples": {}}
    t_ex = min(cfg.exp2_times, key=lambda t: abs(t - 0.25))
    for split, x in refs.items():
        trials = _trials_for(cfg, x.shape[0])
        r1 = run_retrieval(exp1, x, cfg.exp1_levels, trials, "deterministic", rng)
        res["exp1"][split] = {
            "trials": trials,
            "corrupted_fraction": (r1.corrupted != r1.reference[None, :, None, :]).mean(
                axis=(1, 2, 3)).tolist(),
            "recovery": _summary(r1.recovery()),
            "reference": _summary(bayes_map_record(r1, ref_den, schedule).recovery()),
            "unstable": _summary(r1.unstable()),
            "exact_match": _summary(r1.exact_match().astype(float))}
        if cfg.fixed_point:
            rf = run_retrieval(fixed, x, cfg.exp1_levels, 1, "deterministic", rng)
            res["exp1"][split]["fixed_point"] = {
                "exact_match": _summary(rf.exact_match().astype(float)),
                "stability": _summary(1.0 - rf.unstable())}
        r2 = run_retrieval(exp2, x, cfg.exp2_times, trials, "stochastic", rng)
        res["exp2"][split] = {
            "trials": trials, "recovery": _summary(r2.recovery()), "unstable": _summary(r2.unstable()),
            "exact_match": _summary(r2.exact_match().astype(float)),
            "reference": _summary(bayes_map_record(r2, ref_den, schedule).recovery()),
            "entropy": _entropy_split(r2, K)}
        a = list(cfg.exp2_times).index(t_ex)
        res["examples"][split] = {"t": t_ex, "items": [_example(r2, a, i)
                                                       for i in range(min(3, x.shape[0]))]}
    # ---- sequence conditional entropies (eq. 13 at t0): training, test, generated
    dev = torch.device(device)
    ent = {}
    for split, x in refs.items():
        H = token_entropy(model, torch.as_tensor(x, device=dev), schedule).cpu().numpy()
        ent[split] = H.sum(-1).tolist()
    g = torch.Generator(device=dev).manual_seed(int(rng.integers(2**62)))
    gen = generate(model, schedule, cfg.n_generated, steps=cfg.generation_steps, length=L,
                   batch_size=bs, generator=g, device=dev, final=cfg.final)
    ent["generated"] = gen.entropy.sum(-1).cpu().numpy().tolist()
    gtok = gen.tokens.cpu().numpy()
    res["entropy"] = {"sequence": ent, "length": L,
                      "train_vs_generated": two_sample_auc(ent["train"], ent["generated"]),
                      "train_vs_test": two_sample_auc(ent["train"], ent["test"])}
    cen = census(gtok, ds.train.numpy(), ds.source)
    res["generated"] = {"copies": cen["copy"], "census": cen, "examples": gtok[:4].tolist(),
                        "unigram_entropy": _unigram_entropy(gtok, K).tolist(),
                        "unigram_entropy_train": _unigram_entropy(refs["train"], K).tolist()}
    # ---- NELBO (eq. 3), the same fixed generator for every point
    res["val_nelbo"] = validation_nelbo(model, ds.test, schedule, 64, cfg.nelbo_batches,
                                        seed=cfg.measure_seed, device=dev)
    res["train_nelbo"] = validation_nelbo(model, ds.train, schedule, 64, cfg.nelbo_batches,
                                          seed=cfg.measure_seed, device=dev)
    return res


def _device(cfg: SweepConfig) -> str:
    return "cuda" if (cfg.device in ("auto", "cuda") and torch.cuda.is_available()) else "cpu"


def measure_point(cfg: SweepConfig, p: Point, checkpoint, progress: bool = False) -> dict:
    """Every number the figures need, for one trained model of the sweep (JSON-able dict)."""
    from uddm.data import DataSpec, build_dataset
    from uddm.diffusion import make_schedule
    from uddm.model import count_parameters
    from uddm.train import load_checkpoint

    t0, c0 = time.perf_counter(), time.process_time()
    device = _device(cfg)
    model, ck = load_checkpoint(str(checkpoint), use_ema=cfg.use_ema, map_location=device)
    spec = DataSpec(**ck["data"]["spec"])
    ds = build_dataset(spec, tokenizer_dict=ck["tokenizer"])
    schedule = make_schedule(ck["train_config"]["schedule"], ck["train_config"]["eps"])
    full = None
    if ds.source is None and p.n_train is not None:     # the text reference sees the whole split
        full = build_dataset(replace(spec, n_train=None, fraction=None),
                             tokenizer_dict=ck["tokenizer"]).train.numpy()
    res = {"point": {"index": p.index, "model": p.model, "seed": p.seed, "size_index": p.size_index,
                     "n_train": int(ds.train.shape[0]), "n_test": int(ds.test.shape[0])},
           "params": count_parameters(model), "weights": "EMA" if cfg.use_ema else "raw"}
    res.update(measure_model(cfg, model, ds, schedule, p.seed, device, full))
    meta = Path(checkpoint).with_suffix(".json")
    if meta.exists():
        import json
        m = json.loads(meta.read_text())
        res["train_seconds"] = m.get("train_seconds")
        res["train_cpu_seconds"] = m.get("train_cpu_seconds")
    res["measure_seconds"] = time.perf_counter() - t0
    res["measure_cpu_seconds"] = time.process_time() - c0
    res["train_steps"] = int(ck["step"])
    return res


def measure_exact(cfg: SweepConfig, size_index: int, seed: int | None = None) -> dict:
    """The exact Bayes model's measurements at one training-set size (model "bayes"), on
    the corrupted starts of `seed`'s points (default: the first of `cfg.seeds`)."""
    from uddm.data import build_dataset
    from uddm.diffusion import make_schedule
    from uddm.references import ExactModel
    t0, c0 = time.perf_counter(), time.process_time()
    p = exact_point(cfg, size_index, seed)
    ds = build_dataset(cfg.data_spec(p))
    if ds.source is None:
        raise ValueError("the exact model exists only for the Markov corpus")
    model = ExactModel(ds.source, cfg.length)
    res = {"point": {"index": -1 - size_index, "model": EXACT, "seed": p.seed,
                     "size_index": size_index, "n_train": int(ds.train.shape[0]),
                     "n_test": int(ds.test.shape[0])}, "params": 0, "weights": "exact"}
    res.update(measure_model(cfg, model, ds, make_schedule(), p.seed, "cpu"))
    res["measure_seconds"] = time.perf_counter() - t0
    res["measure_cpu_seconds"] = time.process_time() - c0
    return res
