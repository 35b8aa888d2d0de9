"""The diffusion half of the bridge experiment: K = 2 models on ±1 patterns.

The associative memory corrupts a pattern by flipping exactly round(f N) bits; a
uniform-state diffusion model corrupts by eq. 1 at a time t. To run both memories on
the *same* corrupted starts, the diffusion model is given the network's corruption and
starts its reverse process at the time whose expected fraction of changed tokens is f:
alpha_t = 1 - 2 f for K = 2 (`memkit.binary.alpha_for_flip_fraction`). Patterns become
token sequences one bit per token (`memkit.binary`).

- `time_for_alpha`, `time_for_flip_fraction`: the level map (any monotone schedule).
- `spin_retriever`: a ±1-pattern `memkit.protocol.Retriever` from a K = 2 model
  (a `DiT`, a `uddm.linear.LinearDenoiser`).
- `train_dit_on_patterns`: the DiT trained on (P, N) patterns with the NELBO.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from memkit.binary import SpinAdapter, alpha_for_flip_fraction, spins_to_tokens
from uddm.diffusion import make_schedule

__all__ = ["time_for_alpha", "time_for_flip_fraction", "spin_retriever", "train_dit_on_patterns"]


def time_for_alpha(schedule, alpha: float, tol: float = 1e-12) -> float:
    """The t in [0, 1] with schedule.alpha(t) = alpha (bisection; alpha_t decreases in t).

    alpha is clipped to [alpha_1, 1]: a level beyond the schedule's end maps to t = 1.
    """
    alpha = float(alpha)
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be a number, got {alpha!r}")
    if alpha >= 1.0:
        return 0.0
    if alpha <= schedule.alpha(1.0):
        return 1.0
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if schedule.alpha(mid) > alpha:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def time_for_flip_fraction(f: float, schedule=None, t_min: float = 1e-3) -> float:
    """The start time of a K = 2 model for bits flipped at fraction f, at least t_min.

    alpha_t = 1 - 2 f (the expected fraction of changed tokens of eq. 1 equals f); f = 0
    (no corruption) would be t = 0, where the reverse process cannot start, hence t_min.
    """
    schedule = schedule if schedule is not None else make_schedule()
    return max(time_for_alpha(schedule, alpha_for_flip_fraction(f, 2)), float(t_min))


def spin_retriever(model, corrupt: Callable, schedule=None, t_min: float = 1e-3, **retriever_options):
    """A ±1-pattern Retriever from a K = 2 model.

    corrupt : corrupt(spins, f, rng) -> spins, the network's own corruption (for example
        ``lambda s, f, r: amsim.flip_bits(s, round(f * N), seed=r)``), so that both
        memories see the same starts for the same generator
    retriever_options : passed to `uddm.DiffusionRetriever` (steps, final, grid, ...)
    """
    from uddm.retrieval import DiffusionRetriever
    if model.config.vocab_size != 2:
        raise ValueError(f"the bridge needs a K = 2 model, got vocab_size {model.config.vocab_size}")
    schedule = schedule if schedule is not None else make_schedule()
    inner = DiffusionRetriever(model, schedule=schedule, **retriever_options)
    return SpinAdapter(inner, corrupt, lambda f: time_for_flip_fraction(f, schedule, t_min))


def train_dit_on_patterns(patterns, model: str = "cpu-xxs", steps: int = 1000, batch_size: int = 64,
                          lr: float = 3e-3, warmup: int = 50, seed: int = 0, progress: bool = False):
    """The DiT (K = 2, length N) trained with the NELBO on (P, N) ±1 patterns.

    Returns the `uddm.train.TrainResult` (model, history). Dropout 0, no EMA: the raw
    weights, as the paper evaluates them. The same seed gives the same model.
    """
    from uddm.data import dataset_from_tokens
    from uddm.train import TrainConfig, train
    x = spins_to_tokens(patterns)
    ds = dataset_from_tokens(x, None, vocab_size=2, name="patterns")
    cfg = TrainConfig(model=model, length=x.shape[1], steps=steps, batch_size=batch_size, lr=lr,
                      warmup=warmup, ema=0.0, dropout=0.0, seed=seed, progress=progress,
                      eval_batches=1)
    return train(cfg, ds, bar=False)
