"""A tiny sweep for the engine's tests (import explicitly; also runs as a script).

Each unit sleeps a little, appends "<hash> <pid>" to a log (one line per computation,
so a unit computed twice shows twice) and returns numbers seeded by its configuration.

    python tests/memkit/sweep_helpers.py --cache DIR --n 12 --sleep 0.05 --log FILE [--shard i/n] [--workers k]

prints one JSON line: the run's counts and the results.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click
import numpy as np

from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, sweep_options
from memkit.io import config_hash


def compute(key: dict, sleep: float = 0.0, log: str | None = None) -> dict:
    """One unit: numbers from its own seed, the pid that computed it."""
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{config_hash(key)} {os.getpid()}\n")
    time.sleep(sleep)
    if key.get("fail"):
        raise ValueError(f"unit {key['x']} fails on purpose")
    rng = np.random.default_rng([key["x"], 7])
    return {"x": key["x"], "values": rng.normal(size=4), "sum": np.float64(rng.random()),
            "count": np.int64(key["x"] * 3), "pid": os.getpid()}


def units(n: int, sleep: float = 0.0, log: str | None = None, tag: str = "t") -> list:
    return [sweep.Unit({"kind": "test", "tag": tag, "x": x}, compute,
                       ({"kind": "test", "tag": tag, "x": x}, sleep, log)) for x in range(n)]


def computed_log(log) -> list[tuple[str, int]]:
    """(hash, pid) of every computation in the log."""
    p = Path(log)
    if not p.exists():
        return []
    return [(h, int(pid)) for h, pid in (line.split() for line in p.read_text().splitlines())]


@click.command(cls=OneLineErrorCommand)
@click.option("--cache", required=True, type=click.Path(file_okay=False))
@click.option("--n", type=int, default=12)
@click.option("--sleep", type=float, default=0.05)
@click.option("--log", type=click.Path(dir_okay=False), default=None)
@click.option("--tag", default="t")
@sweep_options
@one_line_errors
def main(cache, n, sleep, log, tag, shard, workers):
    """A tiny sweep of n sleeping units into CACHE."""
    res = sweep.run(units(n, sleep, log, tag), cache, shard=shard, workers=workers, poll=0.05,
                    progress=False)
    click.echo(json.dumps({"computed": res.computed, "cached": res.cached, "by_others": res.by_others,
                           "missing": res.missing, "pid": os.getpid(), "results": res.results}))


if __name__ == "__main__":
    main()


def threads_seen(key: dict) -> dict:
    """What a unit sees of its threads: torch's, BLAS's (threadpoolctl), and a torch sum
    whose rounding depends on the thread count."""
    import torch
    from threadpoolctl import threadpool_info
    g = torch.Generator().manual_seed(int(key["x"]))
    a = torch.randn(512, 512, generator=g)
    blas = sorted({p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"})
    return {"torch": torch.get_num_threads(), "blas": blas,
            "value": float((a @ a.T).sum().item())}
