"""Running a sweep: train each point into the cache, measure it, and say what is done.

Each trained model is one checkpoint in `<cache>/models/<hash>.pt`, named by
`memkit.io.config_hash` of its full training configuration (`model_key`): a sweep
reuses what is there, resumes a half-trained checkpoint (`uddm.train.train(resume=...)`,
checkpoints are written every `ckpt_every` steps), and each point can be trained on its
own (`uddm sweep train --preset cpu --point 7`).

A point (train, then measure) is one unit of the project's sweep engine, `memkit.sweep`
(`point_unit`, `run_units`): its measurements are the unit's result, cached as JSON in
`<cache>/measures/` by `measure_key`; a point in flight is locked, so processes sharing
a cache never train the same point; `workers=k` runs k single-threaded processes and
`shard=(i, n)` one task of a job array filling a shared cache (docs/sweeps.md). The
exact Bayes model at each size is a unit too (`exact_unit`, keyed by `exact_key`).
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from memkit import sweep as engine
from memkit.cache import ResultCache
from memkit.io import atomic_write_json
from uddm.sweep.config import (DEFAULT_CACHE, EXACT, Point, SweepConfig, checkpoint_path,
                               exact_key, exact_point, measure_key, model_key)
from uddm.sweep.measure import measure_exact, measure_point

__all__ = ["train_point", "compute_point", "point_unit", "exact_unit", "run_units", "run_point",
           "run_exact", "run_sweep", "sweep_status"]


# ---------------------------------------------------------------------------- training
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
    tc = replace(cfg.train_config(p), progress=progress)
    meta_path = path.with_suffix(".json")
    t0, c0 = time.perf_counter(), time.process_time()
    train(tc, cfg.data_spec(p), out=str(path), resume=str(path) if step else None)
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


def exact_unit(cfg: SweepConfig, size_index: int, seed: int | None = None) -> engine.Unit:
    """The exact model at one size as a `memkit.sweep.Unit` (keyed by `exact_key`),
    measured on the corrupted starts of `seed` (default: the first of `cfg.seeds`)."""
    p = exact_point(cfg, size_index, seed)
    return engine.Unit(exact_key(cfg, size_index, seed), measure_exact, (cfg, size_index, p.seed),
                       label=f"{EXACT} n={cfg.sizes[size_index]}"
                             + ("" if len(cfg.seeds) == 1 else f" seed {p.seed}"))


def _has_exact(cfg: SweepConfig) -> bool:
    return cfg.exact and cfg.is_markov


def run_units(cfg: SweepConfig, cache=DEFAULT_CACHE, *, exact: bool = False, shard=None,
              workers: int = 1, progress: bool = True, callback: Callable | None = None,
              timeout: float | None = None, size_indices=None) -> engine.SweepRun:
    """Every point of the sweep (and, with `exact`, the exact model at every size of a
    Markov sweep) through `memkit.sweep.run`: read from the cache, or trained and measured
    once by whichever process claims it; `shard` = (i, n) does one shard of a job array,
    `workers` = k runs k single-threaded processes. `callback(point, result)` is called
    for each result as it becomes available. `size_indices`: only the points (and exact
    sizes) at these positions of `cfg.sizes` (default: all). Returns the
    `memkit.sweep.SweepRun` (results: the points in order, then the exact model's sizes)."""
    cfg.validate()
    sizes = range(len(cfg.sizes)) if size_indices is None else sorted(set(size_indices))
    for j in sizes:
        if not 0 <= j < len(cfg.sizes):
            raise ValueError(f"size index {j} is outside 0..{len(cfg.sizes) - 1} "
                             f"(preset {cfg.name} has {len(cfg.sizes)} sizes)")
    pts = [p for p in cfg.points() if p.size_index in sizes]
    units = [point_unit(cfg, p, cache, progress and workers == 1) for p in pts]
    if exact and _has_exact(cfg):
        # one exact measurement per seed: each seed's points are paired with it
        pts = pts + [exact_point(cfg, j, s) for j in sizes for s in cfg.seeds]
        units += [exact_unit(cfg, j, s) for j in sizes for s in cfg.seeds]
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
    units = [exact_unit(cfg, j, s) for j in range(len(cfg.sizes)) for s in cfg.seeds]
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
