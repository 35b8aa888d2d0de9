"""The network: couplings, local fields, conditional probabilities, entropies, margins.

Convention (one everywhere): row i of J holds the inputs of neuron i, so the
local field is h = J sigma, i.e. h_i = sum_{j != i} J_ij sigma_j. J is not
assumed symmetric; its diagonal is zero. States are +-1 arrays with the
neuron index last: sigma has shape (N,) or (T, N) for T states at once.
"""
from __future__ import annotations

import numpy as np

from memkit.measures import binary_entropy_from_logit


def check_couplings(J) -> np.ndarray:
    """Validate a coupling matrix: square, finite, zero diagonal. Returns a float array."""
    J = np.asarray(J)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"couplings J must be a square (N, N) matrix, got shape {J.shape}")
    if J.shape[0] < 2:
        raise ValueError(f"couplings J need at least 2 neurons, got N = {J.shape[0]}")
    if not np.issubdtype(J.dtype, np.floating):
        J = J.astype(np.float64)
    if not np.all(np.isfinite(J)):
        raise ValueError("couplings J contain NaN or infinite values")
    if np.any(np.diagonal(J) != 0):
        i = int(np.flatnonzero(np.diagonal(J) != 0)[0])
        raise ValueError(f"couplings J must have a zero diagonal, J[{i},{i}] = {J[i, i]!r}")
    return J


def local_fields(J: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Local fields h = J sigma (row convention), h_i = sum_{j != i} J_ij sigma_j.

    Parameters
    ----------
    J : (N, N) couplings with zero diagonal
    sigma : (N,) or (T, N) states of +-1

    Returns
    -------
    h : float array with the shape of `sigma`
    """
    s = np.asarray(sigma, dtype=J.dtype)
    return s @ J.T


def conditional_probability(J: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """p(sigma_i | sigma_{\\i}) of the state's own value at every neuron (eq. 9).

    p = exp(beta sigma_i h_i) / (2 cosh(beta h_i)) = 1 / (1 + exp(-2 beta sigma_i h_i)),
    evaluated without overflow. Shape of `sigma`.
    """
    s = np.asarray(sigma, dtype=np.float64)
    x = 2.0 * beta * s * local_fields(J, sigma)
    return np.exp(-np.logaddexp(0.0, -x))


def probability_plus(J: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """p(sigma_i = +1 | sigma_{\\i}) = 1 / (1 + exp(-2 beta h_i)) (eq. 9 at sigma_i = +1)."""
    x = 2.0 * beta * local_fields(J, sigma)
    return np.exp(-np.logaddexp(0.0, -x))


def conditional_entropy(J: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """Per-neuron conditional entropy H_i(sigma) in nats (AM analogue of eq. 13).

    The binary entropy of eq. 9: H_i = softplus(2 beta h_i) - 2 beta h_i sigmoid(2 beta h_i).
    Zero where |h_i| >> 1/beta (a sharp attractor), log 2 where h_i = 0.
    Returns an array with the shape of `sigma`.
    """
    return binary_entropy_from_logit(2.0 * beta * local_fields(J, sigma))


def total_conditional_entropy(J: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """H(sigma) = sum_i H_i(sigma) in nats: shape () for one state, (T,) for T states."""
    return conditional_entropy(J, sigma, beta).sum(axis=-1)


def margins(J: np.ndarray, patterns: np.ndarray, normalised: bool = True) -> np.ndarray:
    """Stabilities of patterns at every neuron (eq. 7).

    Raw: D_i^mu = xi_i^mu h_i(xi^mu). Normalised: Delta_i^mu = D_i^mu / ||J_i||
    with ||J_i|| the Euclidean norm of row i (a row of zeros gives NaN).

    Parameters
    ----------
    J : (N, N) couplings
    patterns : (P, N) or (N,) of +-1

    Returns
    -------
    (P, N) or (N,) array: entry [mu, i] is the margin of pattern mu at neuron i.
    A pattern is a fixed point of the deterministic dynamics when all its
    margins are positive.
    """
    xi = np.asarray(patterns)
    D = xi * local_fields(J, xi)
    if not normalised:
        return D
    norms = np.linalg.norm(J, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return D / np.where(norms > 0, norms, np.nan)


TIES = ("keep", "plus")


def default_tie_tol(J: np.ndarray) -> float:
    """Fields with |h_i| <= this count as ties: 1e-10 max_i sum_j |J_ij|.

    Far above the round-off of any field computed from J, far below any field that
    is not exactly zero; shared by `is_fixed_point` and `amsim.run_dynamics`.
    """
    return 1e-10 * float(np.abs(np.asarray(J, dtype=np.float64)).sum(axis=1).max())


def stable_neurons(J: np.ndarray, sigma: np.ndarray, tie: str = "keep",
                   tie_tol: float | None = None) -> np.ndarray:
    """Boolean, shape of `sigma`: neuron i would keep its state under sigma_i <- sign(h_i).

    The rule of `amsim.run_dynamics`: stable when sigma_i h_i > tie_tol; a tie
    (|h_i| <= tie_tol) is stable with tie="keep" and, with tie="plus", only for
    sigma_i = +1. Count unstable bits with this rather than ``margins < 0``, which
    round-off decides at exact ties. tie_tol defaults to `default_tie_tol(J)`.
    """
    if tie not in TIES:
        raise ValueError(f"tie must be one of {TIES}, got {tie!r}")
    if tie_tol is None:
        tie_tol = default_tie_tol(J)
    D = margins(J, sigma, normalised=False)
    tied = np.abs(D) <= tie_tol
    stable = D > tie_tol
    if tie == "keep":
        return stable | tied
    return stable | (tied & (np.asarray(sigma) > 0))


def is_fixed_point(J: np.ndarray, sigma: np.ndarray, tie: str = "keep",
                   tie_tol: float | None = None) -> np.ndarray:
    """True where no neuron would flip under the deterministic update sigma_i <- sign(h_i).

    The same rule as `amsim.run_dynamics`, so a state it reports as converged is a
    fixed point here (see `stable_neurons`). Without ties this is "every raw margin
    (eq. 7) positive". Shape () for one state, (T,) for T states.
    """
    return np.all(stable_neurons(J, sigma, tie, tie_tol), axis=-1)


def energy(J: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Hopfield energy E(sigma) = -(1/2) sum_ij J_ij sigma_i sigma_j.

    Only the symmetric part of J contributes. For symmetric J with zero diagonal,
    an asynchronous flip of neuron i changes E by -2 |h_i|, so E never increases
    under asynchronous dynamics and fixed points are local minima; for asymmetric J
    there is no such function (cycles are possible). Shape () for one state, (T,)
    for T states.
    """
    s = np.asarray(sigma, dtype=np.float64)
    return -0.5 * np.sum(s * local_fields(J, s), axis=-1) + 0.0   # + 0.0: no -0.0
