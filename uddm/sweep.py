"""The memorisation-to-generalisation sweep behind the paper's Figs. 1-5.

Models of each size are trained on nested subsets of one corpus (a geometric grid of
training-set sizes, from a handful of sequences to the whole training split), all with
the same number of optimiser steps, as in the paper. Each trained model is one
checkpoint in `<cache>/models/<hash>.pt`, named by `memkit.io.config_hash` of its full
training configuration (model, data, loss, steps, ...): a sweep reuses what is there,
resumes a half-trained checkpoint (`uddm.train.train(resume=...)`, checkpoints are
written every `ckpt_every` steps), and each point can be trained on its own
(`uddm sweep train --preset cpu --point 7`).

A point (train, then measure) is one unit of the project's sweep engine,
`memkit.sweep` (`point_unit`, `run_units`): its measurements are the unit's result, a
point in flight is locked, so processes sharing a cache never train the same point,
`--workers k` runs k single-threaded processes and `--shard i/n` one task of a job
array filling a shared cache (docs/sweeps.md).

The measurements of each model (`measure_model`) go through the shared retrieval
protocol (`memkit.protocol.run_retrieval` with `uddm.DiffusionRetriever`; the same
code measures `amsim` networks), and are cached as JSON by configuration
(`memkit.cache.ResultCache` in `<cache>/measures/`), so the figure scripts read the same
numbers. The procedure is the paper's evaluation code's (Lemon-cmd/Associative-Memory-
and-Language-Diffusion, `eval_fixed_point.py`, `eval_entropy_multi.py`): one global
time grid of `retrieval_steps` on [1e-5, 1] entered at each t, DUO's ancestral
noise-removal last step, the raw weights (not the EMA; `use_ema` opts in), eq. 13 at
t0 = 1e-5 on the final tokens and on clean sequences. Per model:

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

On the Markov corpus the exact model (`uddm.references.ExactModel`) is measured by the
same code at every training-set size (model "bayes", seed = the first seed, so its
corrupted starts are those of that seed's models: paired comparisons), and every figure
draws it. `write_summary` writes `figures/uddm_summary.json` (schema in
docs/results-uddm.md).

Presets (`PRESETS`): `quick` (the tests; a few minutes on 2 cores), `cpu` (the default
figures; see docs/results-uddm.md for the measured time), `paper` (tiny/small/medium on a GPU).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from memkit import sweep as engine
from memkit.cache import ResultCache
from memkit.figures import REPO_ROOT
from memkit.io import atomic_write_json, config_hash
from memkit.protocol import RetrievalRecord, mean_and_sem, run_retrieval
from uddm.references import BigramDenoiser, bayes_map_record, reference_denoiser

__all__ = ["model_results", "size_colours", "legend_outside", "failed_points", "failed_note",
           "SweepConfig", "PRESETS", "get_preset", "Point", "DEFAULT_CACHE", "train_point",
           "measure_point", "measure_model", "run_point", "run_sweep", "run_exact", "sweep_status",
           "run_units", "point_unit", "exact_unit", "compute_point",
           "BigramDenoiser", "reference_denoiser", "aggregate", "describe", "pick_regimes",
           "MEASURE_VERSION", "geometric_sizes", "figure_command", "caption", "checkpoint_path",
           "write_summary", "summary_rows", "probe_confusion", "results_markdown", "EXACT"]

DEFAULT_CACHE = REPO_ROOT / "cache" / "uddm_sweep"
MEASURE_VERSION = 2      # bump when a measurement changes meaning: old entries are ignored
EXACT = "bayes"          # the model name of the exact Bayes model's rows
ENTROPY_BINS = 40        # histogram bins over [0, log K] for the Fig. 3 token entropies


def geometric_sizes(lo: int, hi: int, k: int) -> tuple:
    """k integer sizes spaced geometrically from lo to hi (both included, distinct)."""
    vals = np.unique(np.round(np.geomspace(lo, hi, k)).astype(int))
    return tuple(int(v) for v in vals)


@dataclass(frozen=True)
class SweepConfig:
    """Everything that defines a sweep: data, models, the size grid, training and measurement.

    `sizes` are training-set sizes (nested subsets): a positive integer count, a float
    fraction in (0, 1] of the training split (the paper's grid, `uddm.data.PAPER_FRACTIONS`),
    or `None` = the whole training split; every point uses the same `steps`. The measurement settings are part of each
    measurement's cache key, the training settings of each checkpoint's key.
    """

    name: str = "custom"
    # ---- data
    corpus: str = "markov"              # markov[:K[:m[:seed]]] | pydoc | text:PATH | hf:PATH
    tokenizer: str = "char"
    split: str = "blocks"
    length: int = 32
    n_test: int = 256
    split_seed: int = 0
    markov_pool: int = 20000            # Markov sequences drawn: training split = pool - n_test
    # ---- grid
    models: tuple = ("cpu-xxs", "cpu-xs")
    sizes: tuple = (8, 32, 128, 512, 2048, 19744)
    seeds: tuple = (0,)
    # ---- training (the same for every point)
    loss: str = "nelbo"
    steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-3
    warmup: int = 50
    ema: float = 0.99
    dropout: float = 0.0
    eval_batches: int = 4
    ckpt_every: int = 500
    device: str = "auto"
    # ---- measurement (the paper's procedure by default; see the module doc)
    n_refs: int = 128                   # training and test references per point
    exp1_levels: tuple = (0.05, 0.1, 0.25, 0.5, 1.0)   # Experiment 1 corruption times
    exp1_t_start: float | None = None   # None: model time = corruption time (the paper); or fixed
    exp2_times: tuple = (0.05, 0.1, 0.25, 0.5, 1.0)    # Experiment 2 times (the paper's scripts)
    trials: int = 1                     # corrupted copies per reference (more for tiny sets)
    retrieval_steps: int = 128          # size of the global time grid on [1e-5, 1] (paper: 1000)
    grid: str = "global"                # "global" (the paper's) | "local" (steps from each t)
    final: str = "ancestral"            # last step: "ancestral" (DUO's noise removal) | "greedy"
    use_ema: bool = False               # the paper evaluates the raw weights
    entropy_at: str = "t0"              # eq. 13 at t0 on final tokens (paper's code) | "t"
    fixed_point: bool = True            # also the scripts' fixed-point test (perturb=false)
    n_generated: int = 128
    generation_steps: int = 128
    nelbo_batches: int = 8
    measure_seed: int = 1234
    exact: bool = True                  # measure the exact Bayes model too (Markov corpus)

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "sizes", tuple(self.sizes))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "exp1_levels", tuple(self.exp1_levels))
        object.__setattr__(self, "exp2_times", tuple(self.exp2_times))

    # ---------------------------------------------------------------- points
    def validate(self) -> None:
        from uddm.model import CONFIGS
        if not self.models:
            raise ValueError("a sweep needs at least one model")
        bad = [m for m in self.models if m not in CONFIGS]
        if bad:
            raise ValueError(f"unknown model configuration {bad[0]!r}; choose from {list(CONFIGS)}")
        if not self.sizes or any(s is not None and not (isinstance(s, float) and 0 < s <= 1)
                                 and not (isinstance(s, int) and s >= 1) for s in self.sizes):
            raise ValueError(f"sizes must be positive integer counts, fractions in (0, 1] or "
                             f"None (= all), got {self.sizes}")
        if not self.seeds:
            raise ValueError("a sweep needs at least one seed")
        from memkit.validate import check_count, check_number
        for s in self.sizes:
            if s is not None and not isinstance(s, float):
                check_count("sizes", s)
        for s in self.seeds:
            check_count("seeds", s, minimum=0)
        for f in ("steps", "batch_size", "n_refs", "trials", "retrieval_steps", "n_generated",
                  "generation_steps", "length", "markov_pool", "eval_batches", "nelbo_batches"):
            check_count(f, getattr(self, f))
        for f in ("n_test", "split_seed", "warmup", "ckpt_every", "measure_seed"):
            check_count(f, getattr(self, f), minimum=0)
        check_number("lr", self.lr, 0.0, low_open=True)
        check_number("ema", self.ema, 0.0, 1.0, high_open=True)
        check_number("dropout", self.dropout, 0.0, 1.0, high_open=True)
        if not self.exp1_levels or not self.exp2_times:
            raise ValueError("exp1_levels and exp2_times must not be empty")
        for t in self.exp1_levels + self.exp2_times:
            check_number("corruption times", t, 0.0, 1.0, low_open=True)
        if self.exp1_t_start is not None:
            check_number("exp1_t_start", self.exp1_t_start, 0.0, 1.0, low_open=True)
        if self.grid not in ("global", "local"):
            raise ValueError(f"grid must be 'global' or 'local', got {self.grid!r}")
        if self.final not in ("ancestral", "greedy"):
            raise ValueError(f"final must be 'ancestral' or 'greedy', got {self.final!r}")
        if self.entropy_at not in ("t0", "t"):
            raise ValueError(f"entropy_at must be 't0' or 't', got {self.entropy_at!r}")

    def points(self) -> list["Point"]:
        """All (model, size, seed) points, models outermost, sizes ascending."""
        out = []
        for m in self.models:
            for s in self.seeds:
                for j, n in enumerate(self.sizes):
                    out.append(Point(len(out), m, n, s, j))
        return out

    def point(self, index: int) -> "Point":
        pts = self.points()
        if isinstance(index, bool) or not 0 <= int(index) < len(pts):
            raise ValueError(f"point {index} does not exist; this sweep has points 0..{len(pts) - 1}")
        return pts[int(index)]

    def with_(self, **kw) -> "SweepConfig":
        return replace(self, **kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @property
    def is_markov(self) -> bool:
        return self.corpus == "markov" or self.corpus.startswith("markov:")


@dataclass(frozen=True)
class Point:
    index: int
    model: str
    n_train: int | None
    seed: int
    size_index: int


# ---------------------------------------------------------------------------- presets
_MARKOV_ALL = 20000 - 256

def _paper_fractions() -> tuple:
    from uddm.data import PAPER_FRACTIONS
    return tuple(float(f) for f in PAPER_FRACTIONS)


PRESETS: dict[str, SweepConfig] = {
    # What the tests run (about two minutes on 2 cores): a small Markov source (32 states,
    # 2 successors), length 16, two small models, four sizes, 400 NELBO steps.
    "quick": SweepConfig(
        name="quick", corpus="markov:32:2", length=16, n_test=128, markov_pool=4224,
        models=("cpu-xxs", "cpu-xs"), sizes=(4, 32, 256, 4096), seeds=(0,),
        loss="nelbo", steps=400, batch_size=32, lr=3e-3, warmup=20, ema=0.99, dropout=0.0,
        eval_batches=2, ckpt_every=200, n_refs=64, exp1_levels=(0.1, 0.25, 0.5),
        exp2_times=(0.05, 0.1, 0.25, 0.5, 1.0), trials=1, retrieval_steps=32,
        n_generated=64, generation_steps=32, nelbo_batches=4),
    # The default figures on a 2-core CPU (docs/results-uddm.md: the measured time and
    # why these settings).
    "cpu": SweepConfig(
        name="cpu", corpus="markov", length=32, n_test=256, markov_pool=20000,
        models=("cpu-xxs", "cpu-xs"), sizes=geometric_sizes(8, _MARKOV_ALL, 8), seeds=(0,),
        loss="nelbo", steps=4000, batch_size=32, lr=3e-3, warmup=50, ema=0.99, dropout=0.0,
        eval_batches=4, ckpt_every=500, n_refs=128, retrieval_steps=128, n_generated=128,
        generation_steps=128),
    # The paper's models on a GPU, on the paper's data: LM1B from a local copy saved with
    # `save_to_disk` (README, "Probe a published checkpoint"), bert-base-uncased (the
    # paper's runs use the lm1b-wrap data configuration, K = 30522; lm1b-gpt2 is the
    # same packing with gpt2's tokenizer.json), length 128, packed blocks, the test set
    # from LM1B's own test split, data shuffled with seed 1 as the paper's runs; the
    # paper's optimiser and its 1M steps per point, on the paper's 54 subset fractions
    # (`uddm.data.PAPER_FRACTIONS`, with its linear segments at small fractions). The
    # tokenizer is bert-base-uncased because every training and evaluation script of the
    # paper's code runs `data=lm1b-wrap` (bert-base-uncased); the paper's text says GPT-2:
    # `--tokenizer bpe:data/gpt2/tokenizer.json` gives the text's choice, same packing.
    "paper": SweepConfig(
        name="paper", corpus="lm1b:data/lm1b", tokenizer="bpe:data/bert-base-uncased/tokenizer.json",
        split="blocks", length=128, n_test=5000, split_seed=1,
        models=("tiny", "small", "medium"), sizes=_paper_fractions(),
        seeds=(1,), loss="nelbo", steps=1_000_000, batch_size=512, lr=3e-4, warmup=2500,
        ema=0.9999, dropout=0.1, eval_batches=8, ckpt_every=5000, n_refs=256,
        retrieval_steps=128, n_generated=256, generation_steps=1000, device="cuda"),
}


def get_preset(name: str, **overrides) -> SweepConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown sweep preset {name!r}; choose one of {list(PRESETS)}")
    cfg = PRESETS[name].with_(**{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    return cfg


# ---------------------------------------------------------------------------- training
def _train_config(cfg: SweepConfig, p: Point):
    from uddm.train import TrainConfig
    return TrainConfig(model=p.model, length=cfg.length, dropout=cfg.dropout, loss=cfg.loss,
                       steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.warmup,
                       ema=cfg.ema, seed=p.seed, eval_batches=cfg.eval_batches,
                       ckpt_every=cfg.ckpt_every, device=cfg.device, progress=True)


def _data_spec(cfg: SweepConfig, p: Point):
    from uddm.data import DataSpec
    frac = p.n_train if isinstance(p.n_train, float) else None
    return DataSpec(corpus=cfg.corpus, tokenizer=cfg.tokenizer, split=cfg.split,
                    length=cfg.length, n_train=None if frac is not None else p.n_train,
                    fraction=frac, n_test=cfg.n_test, split_seed=cfg.split_seed,
                    markov_pool=cfg.markov_pool)


def model_key(cfg: SweepConfig, p: Point) -> dict:
    """The configuration a checkpoint is named by (what determines its weights)."""
    tc = _train_config(cfg, p).to_dict()
    for k in ("progress", "device", "ckpt_every"):
        tc.pop(k)
    if not tc["fused_adam"]:
        tc.pop("fused_adam")     # keys written before the option existed stay valid
    return {"kind": "uddm-sweep-model", "train": tc, "data": _data_spec(cfg, p).to_dict()}


def checkpoint_path(cfg: SweepConfig, p: Point, cache=DEFAULT_CACHE) -> Path:
    return Path(cache) / "models" / f"{config_hash(model_key(cfg, p))}.pt"


def _checkpoint_step(path: Path) -> int | None:
    """The step a checkpoint reached, or None if absent/unreadable (then train from scratch)."""
    if not path.exists():
        return None
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["step"])
    except Exception:
        return None


def train_point(cfg: SweepConfig, p: Point, cache=DEFAULT_CACHE, progress: bool = True) -> Path:
    """Train point `p` into the cache (or finish a half-trained checkpoint); return its path.

    Training holds `models/<hash>.lock` (`memkit.sweep.UnitLock`): a process that finds
    the model in training elsewhere waits for it instead of training it twice (two
    measurement settings of one model, run at once).
    """
    path = checkpoint_path(cfg, p, cache)
    step = _checkpoint_step(path)
    if step is not None and step >= cfg.steps:
        return path
    with engine.wait_for_lock(engine.UnitLock(path.with_suffix(".lock"))):
        return _train_point_locked(cfg, p, path, progress)


def _train_point_locked(cfg: SweepConfig, p: Point, path: Path, progress: bool) -> Path:
    from uddm.train import train
    step = _checkpoint_step(path)             # another process may have trained it meanwhile
    if step is not None and step >= cfg.steps:
        return path
    tc = replace(_train_config(cfg, p), progress=progress)
    meta_path = path.with_suffix(".json")
    t0, c0 = time.perf_counter(), time.process_time()
    train(tc, _data_spec(cfg, p), out=str(path), resume=str(path) if step else None)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    prev = {"train_seconds": 0.0, "train_cpu_seconds": 0.0}
    if meta_path.exists():
        import json
        try:
            prev.update(json.loads(meta_path.read_text()))
        except Exception:
            pass
    atomic_write_json(meta_path, {"key": model_key(cfg, p),
                                  "train_seconds": prev["train_seconds"] + elapsed,
                                  "train_cpu_seconds": prev["train_cpu_seconds"] + cpu,
                                  "threads": torch.get_num_threads()})
    return path


# ---------------------------------------------------------------------------- measuring
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


_MEASURE_FIELDS = ("n_refs", "exp1_levels", "exp1_t_start", "exp2_times", "trials",
                   "retrieval_steps", "grid", "final", "use_ema", "entropy_at", "fixed_point",
                   "n_generated", "generation_steps", "nelbo_batches", "measure_seed")


def _measure_settings(cfg: SweepConfig) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()
            if k in _MEASURE_FIELDS}


def measure_key(cfg: SweepConfig, p: Point) -> dict:
    return {"kind": "uddm-sweep-measure", "version": MEASURE_VERSION,
            "model": config_hash(model_key(cfg, p)), "measure": _measure_settings(cfg)}


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
        full = build_dataset(replace(spec, n_train=None, fraction=None), tokenizer_dict=ck["tokenizer"]).train.numpy()
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


def exact_key(cfg: SweepConfig, size_index: int) -> dict:
    p = Point(-1, cfg.models[0], cfg.sizes[size_index], cfg.seeds[0], size_index)
    return {"kind": "uddm-sweep-exact", "version": MEASURE_VERSION,
            "data": _data_spec(cfg, p).to_dict(), "seed": cfg.seeds[0],
            "measure": _measure_settings(cfg)}


def measure_exact(cfg: SweepConfig, size_index: int) -> dict:
    """The exact Bayes model's measurements at one training-set size (model "bayes")."""
    from uddm.data import build_dataset
    from uddm.diffusion import make_schedule
    from uddm.references import ExactModel
    t0, c0 = time.perf_counter(), time.process_time()
    p = exact_point(cfg, size_index)
    ds = build_dataset(_data_spec(cfg, p))
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


# ---------------------------------------------------------------------------- running
def _measures(cache) -> ResultCache:
    return ResultCache(Path(cache) / "measures")


def compute_point(cfg: SweepConfig, p: Point, cache=DEFAULT_CACHE, progress: bool = True) -> dict:
    """One unit of the sweep: train point `p` (or reuse its checkpoint), then measure it."""
    path = train_point(cfg, p, cache, progress)
    return measure_point(cfg, p, path, progress)


def point_unit(cfg: SweepConfig, p: Point, cache=DEFAULT_CACHE, progress: bool = True) -> engine.Unit:
    """Point `p` as a `memkit.sweep.Unit`: keyed by `measure_key`, its result in `<cache>/measures`."""
    n = "all" if p.n_train is None else p.n_train
    return engine.Unit(measure_key(cfg, p), compute_point, (cfg, p, str(cache), progress),
                       label=f"{p.model} n={n} seed {p.seed}")


def exact_point(cfg: SweepConfig, size_index: int) -> Point:
    """The exact model's row at one training-set size, as a Point (index -1 - size_index)."""
    return Point(-1 - size_index, EXACT, cfg.sizes[size_index], cfg.seeds[0], size_index)


def exact_unit(cfg: SweepConfig, size_index: int) -> engine.Unit:
    """The exact model at one size as a `memkit.sweep.Unit` (keyed by `exact_key`)."""
    return engine.Unit(exact_key(cfg, size_index), measure_exact, (cfg, size_index),
                       label=f"{EXACT} n={cfg.sizes[size_index]}")


def _has_exact(cfg: SweepConfig) -> bool:
    return cfg.exact and cfg.is_markov


def run_units(cfg: SweepConfig, cache=DEFAULT_CACHE, *, exact: bool = False, shard=None,
              workers: int = 1, progress: bool = True, callback: Callable | None = None,
              timeout: float | None = None) -> engine.SweepRun:
    """Every point of the sweep (and, with `exact`, the exact model at every size of a
    Markov sweep) through `memkit.sweep.run`: read from the cache, or trained and measured
    once by whichever process claims it; `shard` = (i, n) does one shard of a job array,
    `workers` = k runs k single-threaded processes. `callback(point, result)` is called
    for each result as it becomes available. Returns the `memkit.sweep.SweepRun` (results:
    the points in order, then the exact model's sizes)."""
    cfg.validate()
    pts = cfg.points()
    units = [point_unit(cfg, p, cache, progress and workers == 1) for p in pts]
    if exact and _has_exact(cfg):
        pts = pts + [exact_point(cfg, j) for j in range(len(cfg.sizes))]
        units += [exact_unit(cfg, j) for j in range(len(cfg.sizes))]
    return engine.run(units, _measures(cache), shard=shard, workers=workers, progress=progress,
                      desc=f"uddm sweep {cfg.name}", unit_name="model", timeout=timeout,
                      on_result=None if callback is None else lambda i, r, src: callback(pts[i], r))


def run_point(cfg: SweepConfig, index: int, cache=DEFAULT_CACHE, progress: bool = True) -> dict:
    """Train (or reuse) point `index` and return its cached measurements (waiting for it if
    another process has it in flight)."""
    p = cfg.point(index)
    return engine.run([point_unit(cfg, p, cache, progress)], _measures(cache),
                      progress=False).results[0]


def run_exact(cfg: SweepConfig, cache=DEFAULT_CACHE, progress: bool = True) -> list[dict]:
    """The exact model at every size of a Markov sweep (cached); [] on text or if cfg.exact is off."""
    if not _has_exact(cfg):
        return []
    units = [exact_unit(cfg, j) for j in range(len(cfg.sizes))]
    return engine.run(units, _measures(cache), progress=progress, desc=f"uddm exact model {cfg.name}",
                      unit_name="size").results


def sweep_status(cfg: SweepConfig, cache=DEFAULT_CACHE) -> list[dict]:
    """One row per point: what it is, whether it is trained / measured in `cache`, and
    "state": done | running (locked by a live process; "lock" names it) | stale | missing."""
    pts = cfg.points()
    states = engine.status([point_unit(cfg, p, cache) for p in pts], _measures(cache))
    rows = []
    for p, st in zip(pts, states):
        path = checkpoint_path(cfg, p, cache)
        step = _checkpoint_step(path)
        rows.append({"point": p.index, "model": p.model, "n_train": p.n_train, "seed": p.seed,
                     "checkpoint": str(path), "step": step or 0, "steps": cfg.steps,
                     "measured": st["state"] == "done", "state": st["state"], "lock": st["lock"]})
    return rows


def run_sweep(cfg: SweepConfig, cache=DEFAULT_CACHE, progress: bool = True,
              callback: Callable | None = None, shard=None, workers: int = 1) -> list[dict]:
    """Every point of the sweep (trained and measured once, then read from the cache).

    `shard` and `workers` as in `run_units`; with a shard, points of other shards not yet
    in the cache are None.
    """
    return run_units(cfg, cache, shard=shard, workers=workers, progress=progress,
                     callback=callback).results


# ---------------------------------------------------------------------------- for figures
def aggregate(results: list[dict], path: Callable[[dict], list], level: int | None = None):
    """Per (model, n_train): mean and SEM over references pooled across seeds.

    `path(result)` returns a `_summary` dict ({"per_ref": [[...] per level]}); the mean
    at `level` (or every level when None) pools the per-reference values of all seeds.
    Returns {model: {"n": [...], "mean": [...], "sem": [...]}}, sizes ascending.
    """
    groups: dict = {}
    for r in results:
        key = (r["point"]["model"], r["point"]["n_train"])
        groups.setdefault(key, []).append(path(r)["per_ref"])
    out: dict = {}
    for (m, n), lists in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        levels = range(len(lists[0])) if level is None else [level]
        means, sems = [], []
        for a in levels:
            v = np.array([x for pr in lists for x in pr[a] if x is not None], dtype=float)
            means.append(float(v.mean()) if v.size else float("nan"))
            sems.append(float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0)
        d = out.setdefault(m, {"n": [], "mean": [], "sem": []})
        d["n"].append(n)
        d["mean"].append(means if level is None else means[0])
        d["sem"].append(sems if level is None else sems[0])
    return out


def model_results(results: list[dict], model: str) -> list[dict]:
    """The rows of one model (all seeds and sizes)."""
    return [r for r in results if r["point"]["model"] == model]


def size_colours(n: int):
    """n colours that stay distinguishable next to each other (tab10, then tab20)."""
    import matplotlib
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def legend_outside(fig, ax, **kw):
    """One legend for the figure, right of the axes grid (never on the data)."""
    handles, labels = ax.get_legend_handles_labels()
    seen, h2, l2 = set(), [], []
    for h, l in zip(handles, labels):
        if l not in seen:
            seen.add(l)
            h2.append(h)
            l2.append(l)
    return fig.legend(h2, l2, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
                      frameon=False, **kw)


def failed_points(results: list[dict], t_index: int = 1) -> list[tuple]:
    """(model, n_train, seed) of points that did not learn (the "copy plateau").

    Rule, fixed beforehand: training AND test Experiment 2 recovery at exp2_times[t_index]
    both below half the Bayes-MAP reference's recovery of the same test starts: the model
    neither stored its training set nor learnt the source.
    """
    out = []
    for r in results:
        if r["point"]["model"] == EXACT:
            continue
        tr = r["exp2"]["train"]["recovery"]["mean"][t_index]
        te = r["exp2"]["test"]["recovery"]["mean"][t_index]
        ref = r["exp2"]["test"]["reference"]["mean"][t_index]
        if tr < 0.5 * ref and te < 0.5 * ref:
            out.append((r["point"]["model"], r["point"]["n_train"], r["point"]["seed"]))
    return out


def failed_note(results: list[dict], t_index: int = 1) -> str:
    """A caption fragment naming the points that failed to train (empty if none)."""
    bad = failed_points(results, t_index)
    if not bad:
        return ""
    return ("did not learn (train and test recovery < half the Bayes-MAP reference): "
            + ", ".join(f"{m} n={n} seed {s}" for m, n, s in bad))


def pick_regimes(results: list[dict], model: str, t_index: int = 1) -> dict:
    """The memorising, transition and generalising sizes of one model (Fig. 4).

    Rule (fixed before looking at any figure): memorising = the smallest size,
    generalising = the largest; transition = the intermediate size whose Experiment 2
    train-minus-test recovery gap at exp2_times[t_index] is closest to half the gap at
    the smallest size.
    """
    tr = aggregate([r for r in results if r["point"]["model"] == model],
                   lambda r: r["exp2"]["train"]["recovery"], t_index)[model]
    te = aggregate([r for r in results if r["point"]["model"] == model],
                   lambda r: r["exp2"]["test"]["recovery"], t_index)[model]
    ns = tr["n"]
    gaps = [a - b for a, b in zip(tr["mean"], te["mean"])]
    mid = list(range(1, len(ns) - 1)) or [0]
    half = gaps[0] / 2
    j = min(mid, key=lambda i: abs(gaps[i] - half))
    return {"memorising": ns[0], "transition": ns[j], "generalising": ns[-1],
            "gaps": dict(zip([str(n) for n in ns], gaps))}


def describe(cfg: SweepConfig, results: list[dict] | None = None) -> str:
    """One caption line: corpus, loss, steps, models, sizes, seeds (what every figure states)."""
    sizes = [r["point"]["n_train"] for r in results] if results else cfg.sizes
    sizes = sorted({s for s in sizes if s is not None})
    loss = {"nelbo": "NELBO (eq. 3)", "x0_ce": "x0 cross-entropy (not the paper's loss)"}[cfg.loss]
    grid = (f"global grid of {cfg.retrieval_steps} steps on [1e-5, 1]" if cfg.grid == "global"
            else f"{cfg.retrieval_steps} steps from each t")
    return (f"preset {cfg.name}: corpus {cfg.corpus}, length {cfg.length}, loss {loss}, "
            f"{cfg.steps} steps, batch {cfg.batch_size}, lr {cfg.lr:g}, models {', '.join(cfg.models)}, "
            f"n_train {sizes[0]}..{sizes[-1]} ({len(sizes)} sizes), seeds {list(cfg.seeds)}; "
            f"{'EMA' if cfg.use_ema else 'raw'} weights, {grid}, {cfg.final} last step, "
            f"eq. 13 at {'t0 = 1e-5' if cfg.entropy_at == 't0' else 't'}")


def figure_command(name: str, doc: str):
    """Wrap `make(cfg, results) -> (fig, data)` into the click command of a figure script.

    Options: --preset quick|cpu|paper, --out (default figures/), --cache (default
    cache/uddm_sweep), --no-progress. The sweep is trained/measured once into the cache;
    `results` holds every point and, on the Markov corpus, the exact model's rows (model
    "bayes"). The PNG and the numbers behind every curve (JSON, with the settings) go to
    --out, and so does `uddm_summary.json` (`write_summary`).
    """
    import click

    from memkit.cli import OneLineErrorCommand, one_line_errors
    from memkit.figures import FIGURES, save_data, save_figure

    def deco(make):
        @click.command(name=name, help=doc, cls=OneLineErrorCommand,
                       context_settings={"max_content_width": 100})
        @click.option("--preset", type=click.Choice(list(PRESETS)), default="cpu", show_default=True,
                      help="quick (minutes, tests) | cpu (default figures) | paper (GPU).")
        @click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES),
                      show_default=True, help="Folder for the PNG and its JSON.")
        @click.option("--cache", type=click.Path(file_okay=False), default=str(DEFAULT_CACHE),
                      show_default=True, help="Sweep cache (checkpoints and measurements).")
        @click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
        @one_line_errors
        def main(preset, out, cache, no_progress):
            from memkit.io import check_outputs
            check_outputs(**{"--out": Path(out) / f"{name}.png", "--cache": Path(cache) / "models" / "x.pt"})
            cfg = get_preset(preset)
            t0 = time.perf_counter()
            results = run_sweep(cfg, cache, progress=not no_progress)
            results = results + run_exact(cfg, cache, progress=not no_progress)
            fig, data = make(cfg, results)
            models = [r for r in results if r["point"]["model"] != EXACT]
            data = {"figure": name, "caption": describe(cfg, results), "preset": preset,
                    "sweep": cfg.to_dict(), "seconds": time.perf_counter() - t0,
                    "train_seconds_total": sum(r.get("train_seconds") or 0 for r in models),
                    "measure_seconds_total": sum(r.get("measure_seconds") or 0 for r in results),
                    "cpu_seconds_total": sum((r.get("train_cpu_seconds") or 0)
                                             + (r.get("measure_cpu_seconds") or 0) for r in results),
                    **data}
            out = Path(out)
            if isinstance(fig, dict):       # several PNGs: <name>_<key>.png
                pngs = [save_figure(f, out / f"{name}_{k}.png") for k, f in fig.items()]
                png = ", ".join(str(p) for p in pngs)
            else:
                png = save_figure(fig, out / f"{name}.png")
            save_data(out / f"{name}.json", data)
            summary = write_summary(cfg, results, out / "uddm_summary.json")
            click.echo(f"wrote {png}, {out / (name + '.json')} and {summary}")
        main.make = make
        return main
    return deco


def caption(fig, cfg: SweepConfig, results: list[dict], extra: str = "") -> None:
    """Put the settings line (and `extra`) under a figure."""
    text = describe(cfg, results) + (f"\n{extra}" if extra else "")
    fig.text(0.5, -0.02, text, ha="center", va="top", fontsize=8, wrap=True)


# ---------------------------------------------------------------------------- summary
def _ms(per_ref_row) -> list:
    """[mean, sem] over references of one level's per-reference values (None skipped)."""
    v = np.array([x for x in per_ref_row if x is not None], dtype=float)
    if v.size == 0:
        return [None, None]
    return [float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0]


def _paired(a_row, b_row) -> list:
    """[mean, sem, n] of the per-reference differences a - b (both defined)."""
    d = np.array([x - y for x, y in zip(a_row, b_row) if x is not None and y is not None], dtype=float)
    if d.size < 2:
        return [None, None, int(d.size)]
    return [float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)), int(d.size)]


def ground_truth(row: dict, t: str = "0.1") -> str:
    """A point's regime from its own recovery at t (the probe's validation criterion).

    memorising: training minus test recovery > 0.5 and at least half the samples copy
    training; generalising: training and test recovery within 2 SEM of each other (SEM of
    the difference); "transition band" otherwise (any verdict is accepted there).
    """
    rec = row["recovery"][t] if t in row["recovery"] else next(iter(row["recovery"].values()))
    (a, sa), (b, sb) = rec["train"], rec["test"]
    gap, se = a - b, math.hypot(sa, sb)
    if gap > 0.5 and row["census"]["copy"] >= 0.5:
        return "memorising"
    if abs(gap) <= 2 * se:
        return "generalising"
    return "transition band"


def summary_rows(cfg: SweepConfig, results: list[dict]) -> list[dict]:
    """One row per (model, n_train, seed) and per size for the exact model (docs/results-uddm.md)."""
    from uddm.probe import verdict
    exact = {(r["point"]["n_train"], r["point"]["seed"]): r for r in results
             if r["point"]["model"] == EXACT}
    rows = []
    for r in results:
        p = r["point"]
        L = r["entropy"]["length"]
        times = r["exp2"]["times"]
        row = {"model": p["model"], "n_train": p["n_train"], "seed": p["seed"],
               "params": r.get("params"), "weights": r.get("weights"),
               "train_steps": r.get("train_steps"),
               "recovery": {str(t): {s: _ms(r["exp2"][s]["recovery"]["per_ref"][j])
                                     for s in ("train", "test")} for j, t in enumerate(times)},
               "recovery_greedy": {str(t): {s: _ms(r["exp1"][s]["recovery"]["per_ref"][j])
                                            for s in ("train", "test")}
                                   for j, t in enumerate(r["exp1"]["levels"])},
               "bayes_map": {str(t): _ms(r["exp2"]["test"]["reference"]["per_ref"][j])
                             for j, t in enumerate(times)},
               "entropy_t": 1e-5 if cfg.entropy_at == "t0" else "t",
               "entropy": {k: float(np.mean(v)) / L for k, v in r["entropy"]["sequence"].items()},
               "sequence_entropy": {k: float(np.mean(v)) for k, v in r["entropy"]["sequence"].items()},
               "overlap": r["entropy"]["train_vs_generated"],
               "census": {k: r["generated"]["census"][k] for k in ("copy", "novel", "spurious", "invalid")},
               "unigram_entropy": float(np.mean(r["generated"]["unigram_entropy"])),
               "val_nelbo": r.get("val_nelbo")}
        copies = r["generated"]["census"]["copy"]
        row["verdict"] = verdict(copies, r["entropy"]["train_vs_test"], "held-out sequences")[0]
        row["verdict_from_samples"] = verdict(copies, r["entropy"]["train_vs_generated"],
                                              "generated samples")[0]
        row["ground_truth"] = ground_truth(row)
        partner = exact.get((p["n_train"], p["seed"]))
        if partner is not None and p["model"] != EXACT:
            row["paired_vs_exact"] = {
                str(t): {s: _paired(r["exp2"][s]["recovery"]["per_ref"][j],
                                    partner["exp2"][s]["recovery"]["per_ref"][j])
                         for s in ("train", "test")} for j, t in enumerate(times)}
        rows.append(row)
    return rows


def probe_confusion(rows: list[dict], key: str = "verdict") -> dict:
    """{ground truth: {verdict: count}} and the points misclassified outside the transition band."""
    from uddm.probe import VERDICTS
    table = {g: {v: 0 for v in VERDICTS} for g in ("memorising", "transition band", "generalising")}
    wrong = []
    for row in rows:
        g, v = row["ground_truth"], row[key]
        table[g][v] += 1
        if g != "transition band" and v != g:
            wrong.append({"model": row["model"], "n_train": row["n_train"], "seed": row["seed"],
                          "truth": g, "verdict": v})
    return {"table": table, "misclassified": wrong}


def write_summary(cfg: SweepConfig, results: list[dict], path) -> Path:
    """Write the sweep's machine-readable summary (schema: docs/results-uddm.md)."""
    rows = summary_rows(cfg, results)
    doc = {"preset": cfg.name, "caption": describe(cfg, results), "sweep": cfg.to_dict(),
           "rows": rows,
           "probe_confusion": {"with_held_out": probe_confusion(rows, "verdict"),
                               "from_samples": probe_confusion(rows, "verdict_from_samples")}}
    return atomic_write_json(path, doc) or Path(path)


def results_markdown(doc: dict, ema: dict | None = None) -> str:
    """The tables of docs/results-uddm.md, generated from a summary (`write_summary`) document.

    `ema`: optionally the document of experiments/uddm_ema_check.py (EMA minus raw weights).
    """
    rows = doc["rows"]
    models = [m for m in dict.fromkeys(r["model"] for r in rows)]
    sizes = sorted({r["n_train"] for r in rows})

    def cell(v, fmt="{:.3f}"):
        return "–" if v is None else fmt.format(v)

    def table(title, get, fmt="{:.3f}"):
        out = [f"#### {title}", "", "| model | " + " | ".join(str(n) for n in sizes) + " |",
               "|---|" + "---|" * len(sizes)]
        for m in models:
            by = {}
            for r in rows:
                if r["model"] == m:
                    by.setdefault(r["n_train"], []).append(get(r))
            vals = []
            for n in sizes:
                v = [x for x in by.get(n, []) if x is not None]
                if v and isinstance(v[0], str):          # labels: one per seed, joined
                    vals.append(" ".join(v))
                    continue
                vals.append(cell(float(np.mean(v)) if v else None, fmt))
            out.append(f"| {m} | " + " | ".join(vals) + " |")
        return "\n".join(out) + "\n"

    parts = [f"Preset `{doc['preset']}`: {doc['caption']}.", ""]
    for t in ("0.1", "0.25"):
        if t in rows[0]["recovery"]:
            parts.append(table(f"Experiment 2 recovery at t = {t}, training references",
                               lambda r, t=t: r["recovery"][t]["train"][0]))
            parts.append(table(f"Experiment 2 recovery at t = {t}, test references",
                               lambda r, t=t: r["recovery"][t]["test"][0]))
            parts.append(table(f"Paired test-recovery difference model - exact model at t = {t} "
                               "(same corrupted starts)",
                               lambda r, t=t: (r.get("paired_vs_exact") or {}).get(t, {}).get(
                                   "test", [None])[0], "{:+.3f}"))
    parts.append(table("Sequence entropy per token (eq. 13 at t0), training sequences",
                       lambda r: r["entropy"]["train"]))
    parts.append(table("Sequence entropy per token, generated sequences",
                       lambda r: r["entropy"]["generated"]))
    parts.append(table("Two-sample statistic A = P(H_train < H_generated) (0.5: one distribution)",
                       lambda r: r["overlap"]["auc"]))
    for c in ("copy", "spurious", "novel", "invalid"):
        parts.append(table(f"Census: fraction of generated sequences that are {c}",
                           lambda r, c=c: r["census"][c], "{:.2f}"))
    short = {"memorising": "M", "in transition": "T", "generalising": "G", "transition band": "b"}
    parts.append(table("Probe verdict with held-out sequences / from samples only / ground "
                       "truth (M memorising, T in transition, G generalising, b transition band)",
                       lambda r: f"{short[r['verdict']]}/{short[r['verdict_from_samples']]}/"
                                 f"{short[r['ground_truth']]}", "{}"))
    for key, title in (("with_held_out", "with held-out sequences"),
                       ("from_samples", "from references and samples only")):
        conf = doc["probe_confusion"][key]
        out = [f"#### Probe confusion table, {title}", "",
               "| ground truth \\ verdict | memorising | in transition | generalising |", "|---|---|---|---|"]
        for g, row in conf["table"].items():
            out.append(f"| {g} | " + " | ".join(str(row[v]) for v in
                                                 ("memorising", "in transition", "generalising")) + " |")
        bad = conf["misclassified"]
        out.append("")
        out.append("Misclassified outside the transition band: " + (
            "none." if not bad else "; ".join(f"{b['model']} n={b['n_train']} seed {b['seed']} "
                                              f"({b['truth']} called {b['verdict']})" for b in bad) + "."))
        parts.append("\n".join(out) + "\n")
    if ema is not None:
        out = [f"#### EMA ({ema['ema']:g}) minus raw weights, paired on the same corrupted starts "
               "(experiments/uddm_ema_check.py)", "",
               "| model | n_train | test recovery t = 0.1 | test recovery t = 0.25 | "
               "train recovery t = 0.1 | per-token entropy, generated | copies raw / EMA |",
               "|---|---|---|---|---|---|---|"]
        for r in ema["rows"]:
            def d(t, s_):
                v = r["recovery_ema_minus_raw"].get(t, {}).get(s_, [None, None])
                return "–" if v[0] is None else f"{v[0]:+.3f} ± {v[1]:.3f}"
            out.append(f"| {r['model']} | {r['n_train']} | {d('0.1', 'test')} | {d('0.25', 'test')} | "
                       f"{d('0.1', 'train')} | {r['entropy_ema_minus_raw']['generated']:+.3f} | "
                       f"{r['copies']['raw']:.2f} / {r['copies']['ema']:.2f} |")
        parts.append("\n".join(out) + "\n")
    return "\n".join(parts)
