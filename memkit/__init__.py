"""Shared pieces of the two simulators: atomic files, configuration hashes,
entropy and recovery measures, command-line error handling, and the one sweep
engine (`memkit.sweep`: cached units, locks, shards, workers; `memkit.progress`).

`amsim` (binary associative memories) and `uddm` (uniform-state discrete
diffusion) both import from here, so each idea lives in one place.
"""
from memkit.io import atomic_write, atomic_write_json, atomic_save_npz, config_hash
from memkit.measures import (
    binary_entropy,
    binary_entropy_from_logit,
    categorical_entropy,
    recovery_rate,
    unstable_rate,
    overlap,
    overlap_matrix,
)

__all__ = [
    "atomic_write",
    "atomic_write_json",
    "atomic_save_npz",
    "config_hash",
    "binary_entropy",
    "binary_entropy_from_logit",
    "categorical_entropy",
    "recovery_rate",
    "unstable_rate",
    "overlap",
    "overlap_matrix",
]
