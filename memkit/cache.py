"""Results cached by configuration, so sweeps resume where they stopped.

Each unit of work (one trained model, one measured point) is stored as one
file named by the hash of its configuration. A sweep asks the cache for every
point; points already on disk are read back, the others are computed and
written atomically, so an interrupted sweep loses at most the unit in flight.

This is the storage only. Sweeps run through `memkit.sweep`, which adds what
several processes sharing one cache need (a lock per unit in flight, shards for
job arrays, local workers); `ResultCache.compute` is the single-process shortcut.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from memkit.io import atomic_write_json, config_hash


class ResultCache:
    """A folder of JSON results keyed by configuration.

    Parameters
    ----------
    root : folder for the cache files (created on first write)

    Files are `<root>/<hash>.json` holding {"config": ..., "result": ...}, so
    a file can be read on its own and checked against its configuration.

    Attributes
    ----------
    hits, computed : how many `compute` calls were read back and how many ran
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0
        self.computed = 0

    def path(self, config: Any) -> Path:
        return self.root / f"{config_hash(config)}.json"

    def get(self, config: Any):
        """The stored result for `config`, or None if absent or unreadable."""
        p = self.path(config)
        try:
            with open(p, encoding="utf-8") as fh:
                data = json.load(fh)
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if data.get("config") != json.loads(json.dumps(config, default=str)):
            return None  # a hash collision or an edited file: recompute
        return data["result"]

    def put(self, config: Any, result: Any) -> Path:
        p = self.path(config)
        atomic_write_json(p, {"config": config, "result": result})
        return p

    def __contains__(self, config: Any) -> bool:
        return self.get(config) is not None

    def compute(self, config: Any, fn: Callable[[], Any]):
        """Return the cached result for `config`, computing and storing it if missing."""
        hit = self.get(config)
        if hit is not None:
            self.hits += 1
            return hit
        self.computed += 1
        result = fn()
        self.put(config, result)
        return json.loads(json.dumps(result, default=str))
