"""What a sweep is: its configuration, its points, the presets, and the cache keys.

A `SweepConfig` holds the data (`data: uddm.data.DataSpec`), the training
(`train: uddm.train.TrainConfig`), the grid (models x sizes x seeds) and the measurement
settings. Each `Point` of the grid fills in what varies per point:

    cfg.data_spec(p)    = cfg.data  with n_train (a count) or fraction (a float) = p.n_train
    cfg.train_config(p) = cfg.train with model = p.model, seed = p.seed, length = cfg.data.length

The cache keys (`model_key`, `measure_key`, `exact_key`) are built from these and hashed
by `memkit.io.config_hash`: a checkpoint's file name is the hash of its training
configuration, a measurement's the hash of (model, measurement settings). They are the
identity of every cached result and committed figure: never change what goes in them
(tests/uddm/test_sweep_config.py pins their hashes).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from memkit.figures import REPO_ROOT
from memkit.io import config_hash
from uddm.data import DataSpec
from uddm.train import TrainConfig

__all__ = ["SweepConfig", "Point", "PRESETS", "DEFAULT_PRESET", "get_preset", "geometric_sizes",
           "DEFAULT_CACHE", "MEASURE_VERSION", "EXACT", "model_key", "measure_key", "exact_key",
           "checkpoint_path", "exact_point", "describe", "sweep_data", "sweep_train"]

DEFAULT_CACHE = REPO_ROOT / "cache" / "uddm_sweep"
DEFAULT_PRESET = "cpu-limit"   # what `uddm sweep ...` and the figure scripts run without --preset
MEASURE_VERSION = 2      # bump when a measurement changes meaning: old entries are ignored
EXACT = "bayes"          # the model name of the exact Bayes model's rows


def geometric_sizes(lo: int, hi: int, k: int) -> tuple:
    """k integer sizes spaced geometrically from lo to hi (both included, distinct)."""
    vals = np.unique(np.round(np.geomspace(lo, hi, k)).astype(int))
    return tuple(int(v) for v in vals)


# ---------------------------------------------------------------------------- the config
def sweep_train() -> TrainConfig:
    """The training of every point unless a sweep says otherwise (model, seed, length per point)."""
    return TrainConfig(loss="nelbo", steps=3000, batch_size=32, lr=3e-3, warmup=50, ema=0.99,
                       dropout=0.0, eval_batches=4, ckpt_every=500, device="auto")


def sweep_data() -> DataSpec:
    """The data of a sweep unless it says otherwise (n_train / fraction per point)."""
    return DataSpec(corpus="markov", tokenizer="char", split="blocks", length=32, n_test=256,
                    split_seed=0, markov_pool=20000)


_PER_POINT_TRAIN = ("model", "seed", "length", "progress")     # filled in per point
_PER_POINT_DATA = ("n_train", "fraction")
# the flat names of the data and training settings, routed into `data` / `train`
# (SweepConfig.with_, get_preset, and the deprecated flat constructor)
DATA_NAMES = tuple(f.name for f in fields(DataSpec) if f.name not in _PER_POINT_DATA)
TRAIN_NAMES = tuple(f.name for f in fields(TrainConfig) if f.name not in _PER_POINT_TRAIN)
# the flat dict of `to_dict` (the "sweep" of every figure's JSON): these, in this order
_LEGACY_DATA = ("corpus", "tokenizer", "split", "length", "n_test", "split_seed", "markov_pool")
_LEGACY_TRAIN = ("loss", "steps", "batch_size", "lr", "warmup", "ema", "dropout", "eval_batches",
                 "ckpt_every", "device")


def _route(flat: dict, train: TrainConfig, data: DataSpec) -> tuple[TrainConfig, DataSpec]:
    """(train, data) with the flat settings `flat` (e.g. {"steps": 10, "corpus": "pydoc"}) applied."""
    return (replace(train, **{k: v for k, v in flat.items() if k in TRAIN_NAMES}),
            replace(data, **{k: v for k, v in flat.items() if k in DATA_NAMES}))


def _flat(kw: dict) -> dict:
    """Pop the flat data/training names out of `kw` (`length` is the data's)."""
    return {k: kw.pop(k) for k in list(kw) if k in DATA_NAMES or k in TRAIN_NAMES}


@dataclass(frozen=True)
class SweepConfig:
    """Everything that defines a sweep: data, models, the size grid, training and measurement.

    `data` and `train` are a `DataSpec` and a `TrainConfig` without the per-point fields
    (n_train/fraction; model, seed, length: see the module doc); every point trains with
    the same `train`, so the same number of steps. `sizes` are training-set sizes
    (nested subsets): a positive integer count, a float fraction in (0, 1] of the
    training split (the paper's grid, `uddm.data.PAPER_FRACTIONS`), or `None` = the whole
    training split. The measurement settings are part of each measurement's cache key,
    the training and data settings of each checkpoint's key. Build `data` and `train`
    from the sweep's defaults, `replace(sweep_data(), ...)` and `replace(sweep_train(),
    ...)`, as the presets do (a bare `TrainConfig()` has the defaults of `uddm train`).

    The data and training settings read by their own names too (`cfg.steps` is
    `cfg.train.steps`, `cfg.corpus` is `cfg.data.corpus`), and `with_(steps=...)`
    routes them. Giving them flat to the constructor (`SweepConfig(steps=...)`) still
    works but is deprecated (DeprecationWarning): give `train=` and `data=`.
    """

    name: str = "custom"
    data: DataSpec = field(default_factory=sweep_data)
    # ---- grid
    models: tuple = ("cpu-xxs", "cpu-xs")
    sizes: tuple = (8, 32, 128, 512, 2048, 19744)
    seeds: tuple = (0,)
    # ---- training (the same for every point)
    train: TrainConfig = field(default_factory=sweep_train)
    # ---- measurement (the paper's procedure by default; see uddm.sweep.measure)
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
        for f in ("models", "sizes", "seeds", "exp1_levels", "exp2_times"):
            object.__setattr__(self, f, tuple(getattr(self, f)))
        # own copies: TrainConfig and DataSpec are mutable, presets must not share them
        object.__setattr__(self, "train", replace(self.train))
        object.__setattr__(self, "data", replace(self.data))

    # ---------------------------------------------------------------- checks
    def validate(self) -> None:
        from memkit.validate import check_count, check_number
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
        if self.data.n_train is not None or self.data.fraction is not None:
            raise ValueError("a sweep's data has no n_train or fraction: its sizes give them")
        if self.train.length not in (None, self.data.length):
            raise ValueError(f"a sweep's train.length is its data.length ({self.data.length}); "
                             f"leave it None, got {self.train.length}")

    # ---------------------------------------------------------------- points
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

    def data_spec(self, p: "Point") -> DataSpec:
        """The data of point `p`: `data` with its size (a count, or a float fraction)."""
        frac = p.n_train if isinstance(p.n_train, float) else None
        return replace(self.data, n_train=None if frac is not None else p.n_train, fraction=frac)

    def train_config(self, p: "Point") -> TrainConfig:
        """The training of point `p`: `train` with its model and seed and the data's length."""
        return replace(self.train, model=p.model, seed=p.seed, length=self.data.length,
                       progress=True)

    # ---------------------------------------------------------------- copies, dicts
    def with_(self, **kw) -> "SweepConfig":
        """A copy with fields replaced; data and training settings by their flat names too
        (`with_(steps=10, corpus="pydoc")`), or whole (`with_(train=TrainConfig(...))`)."""
        flat = _flat(kw)
        train, data = _route(flat, kw.pop("train", self.train), kw.pop("data", self.data))
        return replace(self, train=train, data=data, **kw)

    def to_dict(self) -> dict:
        """The flat dict every figure's JSON and the summary carry as "sweep" (JSON-able).

        The data and training settings appear by their flat names, in the order of the
        published documents (docs/results-uddm.md); a further training field a sweep sets
        away from `TrainConfig`'s default (e.g. `schedule`) is added by name.
        """
        def plain(v):
            return list(v) if isinstance(v, tuple) else v
        extra_train = [f.name for f in fields(TrainConfig) if f.name in TRAIN_NAMES
                       and f.name not in _LEGACY_TRAIN
                       and getattr(self.train, f.name) != getattr(TrainConfig(), f.name)]
        out = {"name": self.name}
        out.update({k: plain(getattr(self.data, k)) for k in _LEGACY_DATA})
        out.update({k: plain(getattr(self, k)) for k in ("models", "sizes", "seeds")})
        out.update({k: plain(getattr(self.train, k)) for k in _LEGACY_TRAIN + tuple(extra_train)})
        out.update({f.name: plain(getattr(self, f.name)) for f in fields(self)
                    if f.name not in ("name", "data", "models", "sizes", "seeds", "train")})
        return out

    def __hash__(self) -> int:
        # hashable as before the nesting (TrainConfig and DataSpec are not): equal configs
        # have equal dicts
        return hash(config_hash(self.to_dict()))

    @property
    def is_markov(self) -> bool:
        return self.corpus == "markov" or self.corpus.startswith("markov:")


def _alias(name: str, part: str) -> property:
    return property(lambda self: getattr(getattr(self, part), name),
                    doc=f"`{part}.{name}` (read-only; `with_({name}=...)` sets it)")


for _n in TRAIN_NAMES:
    setattr(SweepConfig, _n, _alias(_n, "train"))
for _n in DATA_NAMES:
    setattr(SweepConfig, _n, _alias(_n, "data"))

# the deprecation path of the flat constructor: the dataclass' own __init__, after routing
_dataclass_init = SweepConfig.__init__


@functools.wraps(_dataclass_init)
def _init(self, *args, **kw):
    """The dataclass constructor, routing deprecated flat data/training names (see the class doc)."""
    flat = _flat(kw)
    if flat:
        warnings.warn(f"SweepConfig({', '.join(f'{k}=...' for k in flat)}) is deprecated: give "
                      f"data=DataSpec(...) and train=TrainConfig(...), or use .with_(...)",
                      DeprecationWarning, stacklevel=2)
        kw["train"], kw["data"] = _route(flat, kw.get("train") or sweep_train(),
                                         kw.get("data") or sweep_data())
    _dataclass_init(self, *args, **kw)


SweepConfig.__init__ = _init


@dataclass(frozen=True)
class Point:
    """One (model, training-set size, seed) of a sweep; `index` is its place in `points()`."""

    index: int
    model: str
    n_train: int | float | None       # count | fraction of the training split | None = all
    seed: int
    size_index: int                   # position of n_train in cfg.sizes


def exact_point(cfg: SweepConfig, size_index: int, seed: int | None = None) -> Point:
    """The exact model's row at one training-set size, as a Point (index -1 - size_index).

    `seed` (default: the first of `cfg.seeds`) is the seed of the measurement streams,
    so the exact model is measured on the same corrupted starts as that seed's points."""
    return Point(-1 - size_index, EXACT, cfg.sizes[size_index],
                 cfg.seeds[0] if seed is None else seed, size_index)


# ---------------------------------------------------------------------------- presets
_MARKOV_ALL = 20000 - 256


def _paper_fractions() -> tuple:
    from uddm.data import PAPER_FRACTIONS
    return tuple(float(f) for f in PAPER_FRACTIONS)


PRESETS: dict[str, SweepConfig] = {
    # What the tests run (about two minutes on 2 cores): a small Markov source (32 states,
    # 2 successors), length 16, two small models, four sizes, 400 NELBO steps.
    "quick": SweepConfig(
        name="quick",
        data=replace(sweep_data(), corpus="markov:32:2", length=16, n_test=128, markov_pool=4224),
        models=("cpu-xxs", "cpu-xs"), sizes=(4, 32, 256, 4096), seeds=(0,),
        train=replace(sweep_train(), steps=400, warmup=20, eval_batches=2, ckpt_every=200),
        n_refs=64, exp1_levels=(0.1, 0.25, 0.5), exp2_times=(0.05, 0.1, 0.25, 0.5, 1.0),
        trials=1, retrieval_steps=32, n_generated=64, generation_steps=32, nelbo_batches=4),
    # One seed at 4000 steps, about an hour on a 2-core CPU: the project's figures until
    # `cpu-limit` replaced it (docs/results-uddm.md: the measured time and why these
    # settings); the EMA check and the grid study were run on it.
    "cpu": SweepConfig(
        name="cpu",
        data=sweep_data(),                                  # markov, length 32, 20000 drawn
        models=("cpu-xxs", "cpu-xs"), sizes=geometric_sizes(8, _MARKOV_ALL, 8), seeds=(0,),
        train=replace(sweep_train(), steps=4000),
        n_refs=128, retrieval_steps=128, n_generated=128, generation_steps=128),
    # The successor of `cpu` that trains towards the limit (issue 11): three seeds, 10x
    # the sequences seen (10000 steps at batch 128 = 1.28M per model), the learning rate
    # decayed to 0 along a cosine, the step compiled (torch.compile), subnormal floats
    # flushed to zero while training (TrainConfig.flush_denormal: the generalising
    # units' slow path, docs/results-uddm.md), 256 references.
    # About 6 h on the 2-core machine from its measured unit times (docs/results-uddm.md,
    # "Towards the limit"). The default preset: the committed figures are its.
    "cpu-limit": SweepConfig(
        name="cpu-limit",
        data=sweep_data(),
        models=("cpu-xxs", "cpu-xs"), sizes=geometric_sizes(8, _MARKOV_ALL, 8), seeds=(0, 1, 2),
        train=replace(sweep_train(), steps=10000, batch_size=128, lr_decay="cosine",
                      compile=True, flush_denormal=True, ckpt_every=1000),
        n_refs=256, retrieval_steps=128, n_generated=128, generation_steps=128),
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
        name="paper",
        data=replace(sweep_data(), corpus="lm1b:data/lm1b",
                     tokenizer="bpe:data/bert-base-uncased/tokenizer.json", length=128,
                     n_test=5000, split_seed=1),
        models=("tiny", "small", "medium"), sizes=_paper_fractions(), seeds=(1,),
        train=replace(sweep_train(), steps=1_000_000, batch_size=512, lr=3e-4, warmup=2500,
                      ema=0.9999, dropout=0.1, eval_batches=8, ckpt_every=5000, device="cuda"),
        n_refs=256, retrieval_steps=128, n_generated=256, generation_steps=1000),
}


def get_preset(name: str, **overrides) -> SweepConfig:
    """The preset `name` with `overrides` (flat names as `SweepConfig.with_`; None = keep), validated."""
    if name not in PRESETS:
        raise ValueError(f"unknown sweep preset {name!r}; choose one of {list(PRESETS)}")
    cfg = PRESETS[name].with_(**{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    return cfg


# ---------------------------------------------------------------------------- cache keys
def model_key(cfg: SweepConfig, p: Point) -> dict:
    """The configuration a checkpoint is named by (what determines its weights)."""
    tc = cfg.train_config(p).to_dict()
    for k in ("progress", "device", "ckpt_every"):
        tc.pop(k)
    for k, default in (("fused_adam", False), ("compile", False), ("lr_decay", "none"),
                       ("flush_denormal", False)):
        if tc[k] == default:
            tc.pop(k)            # keys written before the option existed stay valid
    return {"kind": "uddm-sweep-model", "train": tc, "data": cfg.data_spec(p).to_dict()}


def checkpoint_path(cfg: SweepConfig, p: Point, cache=DEFAULT_CACHE) -> Path:
    """`<cache>/models/<config_hash(model_key)>.pt`: where point `p`'s checkpoint lives."""
    return Path(cache) / "models" / f"{config_hash(model_key(cfg, p))}.pt"


_MEASURE_FIELDS = ("n_refs", "exp1_levels", "exp1_t_start", "exp2_times", "trials",
                   "retrieval_steps", "grid", "final", "use_ema", "entropy_at", "fixed_point",
                   "n_generated", "generation_steps", "nelbo_batches", "measure_seed")


def measure_settings(cfg: SweepConfig) -> dict:
    """The measurement settings (part of every measurement's key), JSON-able."""
    return {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in ((k, getattr(cfg, k)) for k in _MEASURE_FIELDS)}


def measure_key(cfg: SweepConfig, p: Point) -> dict:
    """The key of point `p`'s measurements: its model's hash and the measurement settings."""
    return {"kind": "uddm-sweep-measure", "version": MEASURE_VERSION,
            "model": config_hash(model_key(cfg, p)), "measure": measure_settings(cfg)}


def exact_key(cfg: SweepConfig, size_index: int, seed: int | None = None) -> dict:
    """The key of the exact model's measurements at one size (data, seed, settings);
    `seed` defaults to the first of `cfg.seeds`."""
    seed = cfg.seeds[0] if seed is None else seed
    p = Point(-1, cfg.models[0], cfg.sizes[size_index], seed, size_index)
    return {"kind": "uddm-sweep-exact", "version": MEASURE_VERSION,
            "data": cfg.data_spec(p).to_dict(), "seed": seed,
            "measure": measure_settings(cfg)}


# ---------------------------------------------------------------------------- caption
def describe(cfg: SweepConfig, results: list[dict] | None = None) -> str:
    """One caption line: corpus, loss, steps, models, sizes, seeds (what every figure states)."""
    sizes = [r["point"]["n_train"] for r in results] if results else cfg.sizes
    sizes = sorted({s for s in sizes if s is not None})
    loss = {"nelbo": "NELBO (eq. 3)", "x0_ce": "x0 cross-entropy (not the paper's loss)"}[cfg.loss]
    grid = (f"global grid of {cfg.retrieval_steps} steps on [1e-5, 1]" if cfg.grid == "global"
            else f"{cfg.retrieval_steps} steps from each t")
    return (f"preset {cfg.name}: corpus {cfg.corpus}, length {cfg.length}, loss {loss}, "
            f"{cfg.steps} steps, batch {cfg.batch_size}, lr {cfg.lr:g}"
            f"{'' if cfg.train.lr_decay == 'none' else f' ({cfg.train.lr_decay} decay)'}, models {', '.join(cfg.models)}, "
            f"n_train {sizes[0]}..{sizes[-1]} ({len(sizes)} sizes), seeds {list(cfg.seeds)}; "
            f"{'EMA' if cfg.use_ema else 'raw'} weights, {grid}, {cfg.final} last step, "
            f"eq. 13 at {'t0 = 1e-5' if cfg.entropy_at == 't0' else 't'}")
