"""The bridge between the two memories: ±1 patterns as K = 2 token sequences.

An associative memory stores patterns sigma in {-1, +1}^N; a uniform-state diffusion
model with K = 2 and length L = N stores token sequences x in {0, 1}^N. The map is one
bit per token,

    x_i = (sigma_i + 1) / 2,        sigma_i = 2 x_i - 1,

so spin -1 is token 0 and spin +1 is token 1, and a model's two-class logit
log x_theta(1) - log x_theta(0) is the field that the network would call 2 beta h_i
(docs/science-uddm.md, "The bridge").

Corruption levels are matched the same way. Uniform-state corruption at alpha resamples
each token uniformly with probability 1 - alpha (eq. 1), so it changes a token with
probability (1 - alpha)(K - 1)/K. Flipping a fraction f of the bits therefore
corresponds, in expectation, to alpha = 1 - f K / (K - 1) (1 - 2f for K = 2).

`SpinAdapter` lets any token-sequence `Retriever` (a diffusion model) be probed with
the associative memory's own corruption (exactly round(f N) flipped bits) through
`memkit.protocol.run_retrieval`, so both memories see the same corrupted starts.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from memkit.protocol import Denoised

__all__ = ["spins_to_tokens", "tokens_to_spins", "alpha_for_flip_fraction", "SpinAdapter"]


def spins_to_tokens(spins) -> np.ndarray:
    """(..., N) ±1 spins -> (..., N) int64 tokens in {0, 1} (x = (sigma + 1) / 2).

    Raises ValueError naming the first value that is not ±1.
    """
    s = np.asarray(spins)
    bad = (s != 1) & (s != -1)
    if bad.any():
        raise ValueError(f"spins must be +1 or -1, got {s[bad].flat[0].item()!r}")
    return ((s.astype(np.int64) + 1) // 2)


def tokens_to_spins(tokens) -> np.ndarray:
    """(..., N) tokens in {0, 1} -> (..., N) int8 spins ±1 (sigma = 2 x - 1).

    Raises ValueError naming the first token that is not 0 or 1.
    """
    x = np.asarray(tokens)
    bad = (x != 0) & (x != 1)
    if bad.any():
        raise ValueError(f"tokens must be 0 or 1 for a K = 2 model, got {x[bad].flat[0].item()!r}")
    return (2 * x.astype(np.int64) - 1).astype(np.int8)


def alpha_for_flip_fraction(f: float, vocab_size: int = 2) -> float:
    """The alpha of eq. 1 whose expected fraction of changed tokens is f.

    Uniform corruption changes a token with probability (1 - alpha)(K - 1)/K, so
    alpha = 1 - f K / (K - 1); f must lie in [0, (K - 1)/K] (alpha in [0, 1]).
    """
    K = int(vocab_size)
    if K < 2:
        raise ValueError(f"vocab_size must be >= 2, got {vocab_size!r}")
    f = float(f)
    top = (K - 1) / K
    if not np.isfinite(f) or not 0.0 <= f <= top:
        raise ValueError(f"flip fraction must lie in [0, {top:g}] for K = {K}, got {f!r}")
    return 1.0 - f * K / (K - 1)


class SpinAdapter:
    """A ±1-pattern `Retriever` made from a token-sequence `Retriever` with K = 2.

    Parameters
    ----------
    inner : a Retriever over (B, N) token ids in {0, 1} (e.g. `uddm.DiffusionRetriever`)
    corrupt : corrupt(spins (B, N) int8, f, rng) -> (B, N) int8: the associative
        memory's own corruption (e.g. `amsim.flip_bits` with round(f N) bits), so both
        memories see the same corrupted starts for the same generator
    level_to_inner : maps the flipped fraction f to the inner model's level (for a
        diffusion model, the time t whose alpha_t = `alpha_for_flip_fraction(f)`)

    `corrupt` takes and returns spins; `denoise` converts to tokens, runs the inner
    model's dynamics from `level_to_inner(f)`, and converts the end states back.
    Entropies and per-trial extras are the inner model's.
    """

    def __init__(self, inner, corrupt: Callable, level_to_inner: Callable[[float], float]):
        self.inner = inner
        self._corrupt = corrupt
        self.level_to_inner = level_to_inner

    def corrupt(self, references, level, rng):
        return np.asarray(self._corrupt(np.asarray(references), float(level), rng))

    def denoise(self, corrupted, level, dynamics, rng) -> Denoised:
        tokens = spins_to_tokens(corrupted)
        out = self.inner.denoise(tokens, self.level_to_inner(float(level)), dynamics, rng)
        return Denoised(tokens_to_spins(out.final), out.entropy, out.info)
