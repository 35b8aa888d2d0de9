"""The memorisation-to-generalisation sweep behind the paper's Figs. 1-5.

Models of each size are trained on nested subsets of one corpus (a geometric grid of
training-set sizes, from a handful of sequences to the whole training split), all with
the same number of optimiser steps, as in the paper. Each trained model is one
checkpoint in `<cache>/models/<hash>.pt`, named by `memkit.io.config_hash` of its full
training configuration (model, data, loss, steps, ...): a sweep reuses what is there,
resumes a half-trained checkpoint (`uddm.train.train(resume=...)`, checkpoints are
written every `ckpt_every` steps), and each point can be trained on its own
(`uddm sweep train --preset cpu --point 7`), so a cluster's job array can fill one
shared cache.

The measurements of each model (`measure_point`) go through the shared retrieval
protocol (`memkit.protocol.run_retrieval` with `uddm.DiffusionRetriever`; the same
code measures `amsim` networks), and are cached as JSON by configuration
(`memkit.cache.ResultCache` in `<cache>/measures/`), so the five figure scripts read
the same numbers:

- Experiment 1: greedy retrieval, corruption level varied, model time fixed (`t_start`);
- Experiment 2: ancestral retrieval from the corruption time t in `exp2_times`;
- the token entropy (eq. 13) at the end of retrieval, split into recovered and
  unrecovered corrupted positions (`RetrievalRecord.entropy_by_outcome`);
- the conditional entropy of training, test and generated sequences at t0;
- validation (test split) and training NELBO (eq. 3);
- a reference ceiling from the same corrupted starts: the exact Bayes denoiser on the
  Markov source, a bigram forward-backward denoiser fitted on the whole training split
  on text. A point whose test recovery is far below the ceiling has not generalised
  (the "copy plateau" keeps corrupted tokens and recovers ~0 for train and test alike).

Presets (`PRESETS`): `quick` (the tests; about two minutes on 2 cores), `cpu` (the default
figures; 34 minutes measured on a loaded 2-core CPU, one thread), `paper` (tiny/small/medium on a GPU).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from memkit.cache import ResultCache
from memkit.figures import REPO_ROOT
from memkit.io import atomic_write_json, config_hash
from memkit.protocol import RetrievalRecord, mean_and_sem, run_retrieval

__all__ = ["SweepConfig", "PRESETS", "get_preset", "Point", "DEFAULT_CACHE", "train_point",
           "measure_point", "run_point", "run_sweep", "sweep_status", "BigramDenoiser",
           "reference_denoiser", "aggregate", "describe", "pick_regimes", "MEASURE_VERSION",
           "geometric_sizes", "figure_command", "caption", "checkpoint_path"]

DEFAULT_CACHE = REPO_ROOT / "cache" / "uddm_sweep"
MEASURE_VERSION = 1      # bump when a measurement changes meaning: old entries are ignored
ENTROPY_BINS = 40        # histogram bins over [0, log K] for the Fig. 3 token entropies


def geometric_sizes(lo: int, hi: int, k: int) -> tuple:
    """k integer sizes spaced geometrically from lo to hi (both included, distinct)."""
    vals = np.unique(np.round(np.geomspace(lo, hi, k)).astype(int))
    return tuple(int(v) for v in vals)


@dataclass(frozen=True)
class SweepConfig:
    """Everything that defines a sweep: data, models, the size grid, training and measurement.

    `sizes` are training-set sizes (nested subsets; `None` = the whole training split);
    every point uses the same `steps`. The measurement settings are part of each
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
    # ---- measurement
    n_refs: int = 128                   # training and test references per point
    exp1_levels: tuple = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)   # corruption times
    exp1_t_start: float = 0.05          # the model's (fixed, small) start time
    exp2_times: tuple = (0.05, 0.1, 0.25, 0.5)
    trials: int = 1                     # corrupted copies per reference (more for tiny sets)
    retrieval_steps: int = 32
    n_generated: int = 128
    generation_steps: int = 128
    nelbo_batches: int = 8
    measure_seed: int = 1234

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
        if not self.sizes or any(s is not None and s < 1 for s in self.sizes):
            raise ValueError(f"sizes must be positive integers (or None = all), got {self.sizes}")
        if not self.seeds:
            raise ValueError("a sweep needs at least one seed")
        for f in ("steps", "batch_size", "n_refs", "trials", "retrieval_steps", "n_generated",
                  "generation_steps"):
            if getattr(self, f) < 1:
                raise ValueError(f"{f} must be >= 1, got {getattr(self, f)}")
        if not all(0 < t <= 1 for t in self.exp1_levels + self.exp2_times):
            raise ValueError("corruption times must lie in (0, 1]")

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

PRESETS: dict[str, SweepConfig] = {
    # What the tests run (about two minutes on 2 cores): a small Markov source (32 states,
    # 2 successors), length 16, two small models, four sizes, 400 NELBO steps.
    "quick": SweepConfig(
        name="quick", corpus="markov:32:2", length=16, n_test=128, markov_pool=4224,
        models=("cpu-xxs", "cpu-xs"), sizes=(4, 32, 256, 4096), seeds=(0,),
        loss="nelbo", steps=400, batch_size=32, lr=3e-3, warmup=20, ema=0.99, dropout=0.0,
        eval_batches=2, ckpt_every=200, n_refs=64, exp1_levels=(0.1, 0.3, 0.5),
        exp1_t_start=0.05, exp2_times=(0.05, 0.1, 0.25, 0.5), trials=1, retrieval_steps=8,
        n_generated=64, generation_steps=32, nelbo_batches=4),
    # The default figures on a 2-core CPU (see experiments/README_UDDM.md for the
    # measured time and why these settings).
    "cpu": SweepConfig(
        name="cpu", corpus="markov", length=32, n_test=256, markov_pool=20000,
        models=("cpu-xxs", "cpu-xs"), sizes=geometric_sizes(8, _MARKOV_ALL, 8), seeds=(0,),
        loss="nelbo", steps=4000, batch_size=32, lr=3e-3, warmup=50, ema=0.99, dropout=0.0,
        eval_batches=4, ckpt_every=500, n_refs=128, retrieval_steps=32, n_generated=128,
        generation_steps=128),
    # The paper's models on a GPU, on the paper's data: LM1B from a local copy saved with
    # `save_to_disk` (README, "Probe a published checkpoint"), bert-base-uncased (the
    # paper's runs use the lm1b-wrap data configuration, K = 30522; lm1b-gpt2 is the
    # same packing with gpt2's tokenizer.json), length 128, packed blocks, the test set
    # from LM1B's own test split, data shuffled with seed 1 as the paper's runs; the
    # paper's optimiser and its 1M steps per point. The paper's subset grid is
    # `uddm.data.PAPER_FRACTIONS` (fractions of the packed split); this engine takes
    # counts, so these sizes span it geometrically (tens of blocks to millions, then
    # the whole split); one paper point is `uddm train --fraction F --split-seed 1`.
    "paper": SweepConfig(
        name="paper", corpus="lm1b:data/lm1b", tokenizer="bpe:data/bert-base-uncased/tokenizer.json",
        split="blocks", length=128, n_test=5000, split_seed=1,
        models=("tiny", "small", "medium"), sizes=geometric_sizes(64, 4_194_304, 17) + (None,),
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
    return DataSpec(corpus=cfg.corpus, tokenizer=cfg.tokenizer, split=cfg.split,
                    length=cfg.length, n_train=p.n_train, n_test=cfg.n_test,
                    split_seed=cfg.split_seed, markov_pool=cfg.markov_pool)


def model_key(cfg: SweepConfig, p: Point) -> dict:
    """The configuration a checkpoint is named by (what determines its weights)."""
    tc = _train_config(cfg, p).to_dict()
    for k in ("progress", "device", "ckpt_every"):
        tc.pop(k)
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
    """Train point `p` into the cache (or finish a half-trained checkpoint); return its path."""
    from uddm.train import train
    path = checkpoint_path(cfg, p, cache)
    step = _checkpoint_step(path)
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


# ---------------------------------------------------------------------------- ceilings
class BigramDenoiser:
    """Exact posterior of a bigram (order-1 Markov) model fitted by counting: the text ceiling.

    Transition counts over the given sequences with add-`smoothing`; the forward-backward
    posterior and MAP are those of `uddm.data.MarkovSource` (same code), so on text this
    is the n-gram (n = 2) reference denoiser a weakly generalising model should reach.
    """

    def __init__(self, sequences: np.ndarray, vocab_size: int, smoothing: float = 0.01):
        x = np.asarray(sequences)
        K = int(vocab_size)
        C = np.full((K, K), float(smoothing))
        np.add.at(C, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1.0)
        self.K = K
        self.P = C / C.sum(1, keepdims=True)
        first = np.bincount(x.ravel(), minlength=K).astype(float) + smoothing
        self.pi = first / first.sum()

    def bayes_posterior(self, z, alpha):
        from uddm.data import MarkovSource
        return MarkovSource.bayes_posterior(self, z, alpha)

    def bayes_denoise(self, z, alpha):
        return self.bayes_posterior(z, alpha).argmax(-1)


def reference_denoiser(dataset, full_train: np.ndarray | None = None):
    """(denoiser, name): exact Bayes on the Markov source, else a bigram fitted on the training split."""
    if dataset.source is not None:
        return dataset.source, "exact Bayes (Markov source)"
    x = dataset.train.numpy() if full_train is None else full_train
    return BigramDenoiser(x, dataset.tokenizer.vocab_size), "bigram forward-backward"


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


def _ceiling_record(rec: RetrievalRecord, denoiser, schedule) -> RetrievalRecord:
    """The same corrupted starts denoised by the reference denoiser, as a protocol record."""
    final = np.empty_like(rec.final)
    for a, t in enumerate(rec.levels):
        alpha = schedule.alpha(float(t))
        z = rec.corrupted[a].reshape(-1, rec.corrupted.shape[-1])
        final[a] = denoiser.bayes_denoise(z, alpha).reshape(rec.final[a].shape)
    return RetrievalRecord(rec.levels, rec.reference, rec.corrupted, final, None)


def _entropy_split(rec: RetrievalRecord, K: int) -> dict:
    """Fig. 3: token entropy of recovered vs unrecovered corrupted positions, per level."""
    edges = np.linspace(0.0, math.log(K), ENTROPY_BINS + 1)
    out = {"edges": edges.tolist(), "recovered": [], "unrecovered": []}
    for a in range(len(rec.levels)):
        for name, H in zip(("recovered", "unrecovered"), rec.entropy_by_outcome(a)):
            H = np.asarray(H, dtype=float)
            out[name].append({"n": int(H.size), "mean": float(H.mean()) if H.size else None,
                              "sum": float(H.sum()), "sumsq": float((H ** 2).sum()),
                              "hist": np.histogram(np.clip(H, 0, edges[-1]), edges)[0].tolist()})
    return out


def _trials_for(cfg: SweepConfig, n_refs: int) -> int:
    """More corrupted copies for tiny training sets, so every point has ~n_refs trials."""
    return max(cfg.trials, math.ceil(cfg.n_refs / max(n_refs, 1)))


def measure_key(cfg: SweepConfig, p: Point) -> dict:
    keys = ("n_refs", "exp1_levels", "exp1_t_start", "exp2_times", "trials", "retrieval_steps",
            "n_generated", "generation_steps", "nelbo_batches", "measure_seed")
    return {"kind": "uddm-sweep-measure", "version": MEASURE_VERSION,
            "model": config_hash(model_key(cfg, p)),
            "measure": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in asdict(cfg).items() if k in keys}}


def measure_point(cfg: SweepConfig, p: Point, checkpoint, progress: bool = False) -> dict:
    """Every number the five figures need, for one trained model (JSON-able dict)."""
    from uddm.data import DataSpec, build_dataset
    from uddm.diffusion import make_schedule
    from uddm.model import count_parameters
    from uddm.retrieval import DiffusionRetriever
    from uddm.sample import generate, token_entropy
    from uddm.train import load_checkpoint, validation_nelbo

    t0, c0 = time.perf_counter(), time.process_time()
    device = "cuda" if (cfg.device in ("auto", "cuda") and torch.cuda.is_available()) else "cpu"
    model, ck = load_checkpoint(str(checkpoint), map_location=device)
    spec = DataSpec(**ck["data"]["spec"])
    ds = build_dataset(spec, tokenizer_dict=ck["tokenizer"])
    schedule = make_schedule(ck["train_config"]["schedule"], ck["train_config"]["eps"])
    K = model.config.vocab_size
    rng = np.random.default_rng([cfg.measure_seed, p.seed])
    refs = {"train": ds.train[:cfg.n_refs].numpy(), "test": ds.test[:cfg.n_refs].numpy()}
    full = None
    if ds.source is None and p.n_train is not None:     # the text ceiling sees the whole split
        full = build_dataset(replace(spec, n_train=None), tokenizer_dict=ck["tokenizer"]).train.numpy()
    ceiling, ceiling_name = reference_denoiser(ds, full)
    bs = 256 if device == "cuda" else 64
    exp1 = DiffusionRetriever(model, schedule, steps=cfg.retrieval_steps, t_start=cfg.exp1_t_start,
                              batch_size=bs)
    exp2 = DiffusionRetriever(model, schedule, steps=cfg.retrieval_steps, batch_size=bs)
    res = {"point": {"index": p.index, "model": p.model, "seed": p.seed, "size_index": p.size_index,
                     "n_train": int(ds.train.shape[0]), "n_test": int(ds.test.shape[0])},
           "params": count_parameters(model), "vocab_size": K, "length": int(ds.train.shape[1]),
           "ceiling": ceiling_name, "exp1": {"levels": list(cfg.exp1_levels),
                                             "t_start": cfg.exp1_t_start},
           "exp2": {"times": list(cfg.exp2_times)}}
    for split, x in refs.items():
        trials = _trials_for(cfg, x.shape[0])
        r1 = run_retrieval(exp1, x, cfg.exp1_levels, trials, "deterministic", rng)
        c1 = _ceiling_record(r1, ceiling, schedule)
        res["exp1"][split] = {
            "trials": trials,
            "corrupted_fraction": (r1.corrupted != r1.reference[None, :, None, :]).mean(
                axis=(1, 2, 3)).tolist(),
            "recovery": _summary(r1.recovery()), "ceiling": _summary(c1.recovery()),
            "exact_match": _summary(r1.exact_match().astype(float))}
        r2 = run_retrieval(exp2, x, cfg.exp2_times, trials, "stochastic", rng)
        c2 = _ceiling_record(r2, ceiling, schedule)
        res["exp2"][split] = {
            "trials": trials, "recovery": _summary(r2.recovery()), "unstable": _summary(r2.unstable()),
            "exact_match": _summary(r2.exact_match().astype(float)),
            "ceiling": _summary(c2.recovery()), "entropy": _entropy_split(r2, K)}
    # ---- sequence conditional entropies (eq. 13 at t0): training, test, generated
    dev = torch.device(device)
    ent = {}
    for split, x in refs.items():
        H = token_entropy(model, torch.as_tensor(x, device=dev), schedule).cpu().numpy()
        ent[split] = H.sum(-1).tolist()
    g = torch.Generator(device=dev).manual_seed(int(rng.integers(2**62)))
    gen = generate(model, schedule, cfg.n_generated, steps=cfg.generation_steps,
                   length=int(ds.train.shape[1]), batch_size=bs, generator=g, device=dev)
    ent["generated"] = gen.entropy.sum(-1).cpu().numpy().tolist()
    gtok = gen.tokens.cpu().numpy()
    train_set = {r.tobytes() for r in ds.train.numpy()}
    res["entropy"] = {"sequence": ent, "length": int(ds.train.shape[1])}
    res["generated"] = {"copies": float(np.mean([r.tobytes() in train_set for r in gtok])),
                        "examples": gtok[:4].tolist()}
    # ---- NELBO (eq. 3), the same fixed generator for every point
    res["val_nelbo"] = validation_nelbo(model, ds.test, schedule, 64, cfg.nelbo_batches,
                                        seed=cfg.measure_seed, device=dev)
    res["train_nelbo"] = validation_nelbo(model, ds.train, schedule, 64, cfg.nelbo_batches,
                                          seed=cfg.measure_seed, device=dev)
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


def run_point(cfg: SweepConfig, index: int, cache=DEFAULT_CACHE, progress: bool = True) -> dict:
    """Train (or reuse) point `index` and return its cached measurements."""
    p = cfg.point(index)
    rc = ResultCache(Path(cache) / "measures")
    key = measure_key(cfg, p)
    hit = rc.get(key)
    if hit is not None:
        return hit
    path = train_point(cfg, p, cache, progress)
    return rc.compute(key, lambda: measure_point(cfg, p, path, progress))


def sweep_status(cfg: SweepConfig, cache=DEFAULT_CACHE) -> list[dict]:
    """One row per point: what it is and whether it is trained / measured in `cache`."""
    rc = ResultCache(Path(cache) / "measures")
    rows = []
    for p in cfg.points():
        path = checkpoint_path(cfg, p, cache)
        step = _checkpoint_step(path)
        rows.append({"point": p.index, "model": p.model, "n_train": p.n_train, "seed": p.seed,
                     "checkpoint": str(path), "step": step or 0, "steps": cfg.steps,
                     "measured": measure_key(cfg, p) in rc})
    return rows


def run_sweep(cfg: SweepConfig, cache=DEFAULT_CACHE, progress: bool = True,
              callback: Callable | None = None) -> list[dict]:
    """Every point of the sweep (trained and measured once, then read from the cache)."""
    cfg.validate()
    pts = cfg.points()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(pts), desc=f"uddm sweep {cfg.name}", unit="model", disable=None)
    out = []
    try:
        for p in pts:
            r = run_point(cfg, p.index, cache, progress)
            out.append(r)
            if bar is not None:
                bar.set_postfix(model=p.model, n=r["point"]["n_train"])
                bar.update(1)
            if callback is not None:
                callback(p, r)
    finally:
        if bar is not None:
            bar.close()
    return out


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
    return (f"preset {cfg.name}: corpus {cfg.corpus}, length {cfg.length}, loss {loss}, "
            f"{cfg.steps} steps, batch {cfg.batch_size}, lr {cfg.lr:g}, models {', '.join(cfg.models)}, "
            f"n_train {sizes[0]}..{sizes[-1]} ({len(sizes)} sizes), seeds {list(cfg.seeds)}")


def figure_command(name: str, doc: str):
    """Wrap `make(cfg, results) -> (fig, data)` into the click command of a figure script.

    Options: --preset quick|cpu|paper, --out (default figures/), --cache (default
    cache/uddm_sweep), --no-progress. The sweep is trained/measured once into the cache;
    the PNG and the numbers behind every curve (JSON, with the settings) go to --out.
    """
    import click

    from memkit.cli import one_line_errors
    from memkit.figures import FIGURES, save_data, save_figure

    def deco(make):
        @click.command(name=name, help=doc, context_settings={"max_content_width": 100})
        @click.option("--preset", type=click.Choice(list(PRESETS)), default="cpu", show_default=True,
                      help="quick (seconds-minutes, tests) | cpu (default figures) | paper (GPU).")
        @click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES),
                      show_default=True, help="Folder for the PNG and its JSON.")
        @click.option("--cache", type=click.Path(file_okay=False), default=str(DEFAULT_CACHE),
                      show_default=True, help="Sweep cache (checkpoints and measurements).")
        @click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
        @one_line_errors
        def main(preset, out, cache, no_progress):
            cfg = get_preset(preset)
            t0 = time.perf_counter()
            results = run_sweep(cfg, cache, progress=not no_progress)
            fig, data = make(cfg, results)
            data = {"figure": name, "caption": describe(cfg, results), "preset": preset,
                    "sweep": cfg.to_dict(), "seconds": time.perf_counter() - t0,
                    "train_seconds_total": sum(r.get("train_seconds") or 0 for r in results),
                    "measure_seconds_total": sum(r.get("measure_seconds") or 0 for r in results),
                    "cpu_seconds_total": sum((r.get("train_cpu_seconds") or 0)
                                             + (r.get("measure_cpu_seconds") or 0) for r in results),
                    **data}
            out = Path(out)
            png = save_figure(fig, out / f"{name}.png")
            save_data(out / f"{name}.json", data)
            click.echo(f"wrote {png} and {out / (name + '.json')}")
        main.make = make
        return main
    return deco


def caption(fig, cfg: SweepConfig, results: list[dict], extra: str = "") -> None:
    """Put the settings line (and `extra`) under a figure."""
    text = describe(cfg, results) + (f"\n{extra}" if extra else "")
    fig.text(0.5, -0.02, text, ha="center", va="top", fontsize=8, wrap=True)
