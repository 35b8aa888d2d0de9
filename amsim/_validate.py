"""Input checks shared by amsim: each raises ValueError naming the bad value."""
from __future__ import annotations

import numbers

import numpy as np


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_positive_float(name: str, value, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_fraction(name: str, value, closed_low: bool = True) -> float:
    v = float(value)
    lo_ok = v >= 0 if closed_low else v > 0
    if not (np.isfinite(v) and lo_ok and v <= 1):
        raise ValueError(f"{name} must lie in {'[' if closed_low else '('}0, 1], got {value!r}")
    return v


def as_spins(name: str, x, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Return `x` as an int8 array of +-1, checking shape and values."""
    a = np.asarray(x)
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if a.dtype != np.int8 or not np.all(np.abs(a) == 1):
        if not np.all((a == 1) | (a == -1)):
            bad = a[(a != 1) & (a != -1)].ravel()[0]
            raise ValueError(f"{name} must contain only +1 and -1, found {bad!r}")
        a = a.astype(np.int8)
    return a


def as_rng(seed) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed, a list of ints or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    if isinstance(seed, (list, tuple)) and seed and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in seed):
        return np.random.default_rng([int(s) for s in seed])   # e.g. [seed, N, P]
    raise ValueError(f"seed must be an int, a list of non-negative ints, a numpy Generator or None, "
                     f"got {seed!r}")


# ------------------------------------------------------------------ memory estimates
def couplings_bytes(n_neurons: int, n_patterns: int = 0, rule: str = "hebb", solver: str = "gd") -> float:
    """Bytes a learning rule allocates for N neurons and P patterns (an estimate).

    Every rule holds the (N, N) float64 couplings plus a few copies (fields,
    gradient, the network kept by the caller); pseudo-likelihood adds a few (P, N)
    float64 work arrays, and L-BFGS its history of 10 pairs of N x N vectors.
    """
    N, P = float(n_neurons), float(n_patterns)
    copies = {"hebb": 3, "maxmargin": 4, "pl": 5}.get(rule, 4)
    total = copies * 8 * N * N + 16 * P * N
    if rule == "pl":
        total += 5 * 8 * P * N
        if solver == "lbfgs":
            total += 2 * 10 * 8 * N * N
    return total


def states_bytes(n_states: float, n_neurons: int) -> float:
    """Bytes of the dynamics on n_states states of N neurons: int8 starts, finals
    and a float64 field and entropy per neuron, plus the couplings."""
    return float(n_states) * float(n_neurons) * (2 + 8 + 8 + 8) + 8.0 * float(n_neurons) ** 2


def check_couplings_memory(n_neurons: int, n_patterns: int = 0, rule: str = "hebb",
                           solver: str = "gd", what: str | None = None) -> None:
    from memkit.validate import check_memory
    label = what or f"N = {n_neurons} neurons, P = {n_patterns} patterns ({rule}, N x N couplings)"
    check_memory(label, couplings_bytes(n_neurons, n_patterns, rule, solver))


def check_states_memory(n_states: float, n_neurons: int, what: str) -> None:
    from memkit.validate import check_memory
    check_memory(what, states_bytes(n_states, n_neurons))
