"""Dense associative memory: the log-sum-exp energy, its softmax update, and the
optimal denoiser of a diffusion model trained on the same finite set.

docs/science-am.md, "Dense associative memory", equations D1-D6. P stored patterns
xi^mu in R^N (rows of `patterns`), inverse temperature beta > 0; states x are
continuous (any real vector) or +-1.

    dam_energy            E(x) = -(1/beta) log sum_mu exp(-beta ||x - xi^mu||^2 / 2)      (D1)
    dam_weights           p_mu(x) = softmax_mu(-beta ||x - xi^mu||^2 / 2)                 (D2)
    dam_update            x <- sum_mu p_mu(x) xi^mu  (softmax attention: query x,
                          keys and values xi)                                            (D3)
    dam_energy_gradient   grad E(x) = x - sum_mu p_mu(x) xi^mu, so D3 is x <- x - grad E  (D4)
    dam_jacobian          d(D3)/dx = beta Cov_p(xi), the stability of a fixed point
    dam_sign_update       +-1 states: the energy-minimising spin of D1 with the others
                          fixed (asynchronous), or sign of D3 (synchronous)              (D5)
    empirical_denoiser, empirical_score, empirical_log_density
                          E[x0 | x] and grad log p_sigma for x = x0 + sigma eps, x0
                          uniform on the patterns: D3 and -beta grad E at
                          beta = 1 / sigma^2                                             (D6)

Everything is float64 and overflow-safe: the softmax and the log-sum-exp subtract
their largest logit, and the logits are written beta (x . xi - ||xi||^2 / 2), which
differ from -beta ||x - xi||^2 / 2 by the same constant for every mu and so give the
same weights without forming a difference of large squares.

    >>> import numpy as np
    >>> from amsim.dense import DenseAssociativeMemory
    >>> xi = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> dam = DenseAssociativeMemory(beta=50.0).fit(xi)
    >>> np.round(dam.run([0.9, 0.2]).states, 6).tolist()
    [1.0, 0.0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax

from amsim._validate import check_positive_float, check_positive_int

__all__ = ["dam_energy", "dam_weights", "dam_update", "dam_energy_gradient", "dam_jacobian",
           "dam_sign_update", "empirical_denoiser", "empirical_score", "empirical_log_density",
           "DenseAssociativeMemory", "DenseRunResult"]


# ------------------------------------------------------------------ input checks
def _patterns(patterns) -> np.ndarray:
    xi = np.asarray(patterns, dtype=np.float64)
    if xi.ndim != 2:
        raise ValueError(f"patterns must be a (P, N) array, got shape {xi.shape}")
    if xi.shape[0] < 1 or xi.shape[1] < 1:
        raise ValueError(f"patterns is empty (shape {xi.shape})")
    if not np.all(np.isfinite(xi)):
        raise ValueError("patterns must be finite, found "
                         f"{xi[~np.isfinite(xi)].ravel()[0]!r}")
    return xi


def _states(x, n: int, name: str = "x") -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be an (N,) or (T, N) array, got shape {a.shape}")
    if a.shape[-1] != n:
        raise ValueError(f"{name} has {a.shape[-1]} components but the patterns have N = {n}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, found {a[~np.isfinite(a)].ravel()[0]!r}")
    return a


def _spins(x, n: int, name: str = "sigma") -> np.ndarray:
    a = _states(x, n, name)
    if not np.all(np.abs(a) == 1):
        raise ValueError(f"{name} must contain only +1 and -1, found {a[np.abs(a) != 1].ravel()[0]!r}")
    return a


def _logits(x: np.ndarray, xi: np.ndarray, beta: float) -> np.ndarray:
    """beta (x . xi^mu - ||xi^mu||^2 / 2): -beta ||x - xi^mu||^2 / 2 up to a mu-independent
    constant, shape x.shape[:-1] + (P,)."""
    return beta * (x @ xi.T - 0.5 * np.einsum("pn,pn->p", xi, xi))


# ------------------------------------------------------------------ the equations
def dam_energy(x, patterns, beta: float) -> np.ndarray | float:
    """The log-sum-exp energy (eq. D1).

        E(x) = -(1/beta) log sum_mu exp(-beta ||x - xi^mu||^2 / 2)

    x : (N,) or (T, N) states; patterns : (P, N); beta > 0 (inverse squared length:
        the wells of E have width ~ 1/sqrt(beta) in the units of x).
    Returns a float for one state, a (T,) array for T states (units of ||x||^2).
    Computed as ||x||^2 / 2 - (1/beta) logsumexp_mu beta (x . xi - ||xi||^2 / 2), which is
    the same number without an overflow for any beta.
    """
    beta = check_positive_float("beta", beta)
    xi = _patterns(patterns)
    xs = _states(x, xi.shape[1])
    e = 0.5 * np.einsum("...n,...n->...", xs, xs) - logsumexp(_logits(xs, xi, beta), axis=-1) / beta
    return float(e) if xs.ndim == 1 else e


def dam_weights(x, patterns, beta: float) -> np.ndarray:
    """The attention weights (eq. D2): p_mu(x) = softmax_mu(-beta ||x - xi^mu||^2 / 2).

    x : (N,) or (T, N); patterns : (P, N). Returns (P,) or (T, P) weights, each row
    summing to 1 (the posterior over which pattern x came from, eq. D6).
    """
    beta = check_positive_float("beta", beta)
    xi = _patterns(patterns)
    xs = _states(x, xi.shape[1])
    return softmax(_logits(xs, xi, beta), axis=-1)


def dam_update(x, patterns, beta: float) -> np.ndarray:
    """One step of the dense-memory dynamics (eq. D3): x <- sum_mu p_mu(x) xi^mu.

    This is softmax attention over the stored patterns with query x, keys and values
    xi (scores -beta ||x - xi||^2 / 2, i.e. beta x . xi up to a per-key bias). It is also
    x - grad E(x) (eq. D4), a concave-convex (CCCP / majorise-minimise) step on E, so
    E never increases along the iteration (docs/science-am.md). x : (N,) or (T, N);
    returns the same shape.
    """
    xi = _patterns(patterns)
    return dam_weights(x, xi, beta) @ xi


def dam_energy_gradient(x, patterns, beta: float) -> np.ndarray:
    """grad E(x) = x - sum_mu p_mu(x) xi^mu (eq. D4), same shape as x."""
    xi = _patterns(patterns)
    xs = _states(x, xi.shape[1])
    return xs - dam_update(xs, xi, beta)


def dam_jacobian(x, patterns, beta: float) -> np.ndarray:
    """The Jacobian of the update D3 at x: beta Cov_p(xi), the weighted covariance of the
    patterns under p_mu(x). (N,) -> (N, N); (T, N) -> (T, N, N).

    Symmetric and positive semi-definite; a fixed point is linearly stable when its
    largest eigenvalue is below 1 (E then has a strict local minimum there, since the
    Hessian of E is 1 - beta Cov_p(xi)).
    """
    beta = check_positive_float("beta", beta)
    xi = _patterns(patterns)
    xs = _states(x, xi.shape[1])
    w = dam_weights(xs, xi, beta)
    m = w @ xi
    second = np.einsum("...p,pi,pj->...ij", w, xi, xi)
    return beta * (second - m[..., :, None] * m[..., None, :])


def dam_sign_update(sigma, patterns, beta: float, mode: str = "async", order=None) -> np.ndarray:
    """One sweep of the +-1 dense-memory dynamics (eq. D5).

    On +-1 states ||sigma - xi||^2 / 2 = N - xi . sigma for +-1 patterns, so E (eq. D1) is
    -(1/beta) log sum_mu exp(beta xi^mu . sigma) + N: Demircigil et al.'s exponential energy
    under a log. Implemented exactly:

    - mode="async" (Krotov-Hopfield): neurons in `order` (default 0..N-1), each set to
      the value that minimises E with the others fixed,
          sigma_i <- sign( sum_mu xi_i^mu exp(beta sum_{j != i} xi_j^mu sigma_j) ),
      (the difference of the two candidate energies has this sign), keeping the old
      spin on a tie. E never increases (coordinate descent).
    - mode="sync": sigma <- sign(eq. D3 at sigma) for all neurons at once (keep on a tie);
      no descent guarantee.

    patterns are taken as given (any real patterns work; the identity N - xi . sigma needs
    +-1 patterns). sigma : (N,) or (T, N) of +-1. Returns float64 +-1 of the same shape.
    """
    beta = check_positive_float("beta", beta)
    xi = _patterns(patterns)
    s = _spins(sigma, xi.shape[1]).copy()
    if mode == "sync":
        field = dam_update(s, xi, beta)
        return np.where(field > 0, 1.0, np.where(field < 0, -1.0, s))
    if mode != "async":
        raise ValueError(f"mode must be 'async' or 'sync', got {mode!r}")
    N = xi.shape[1]
    order = np.arange(N) if order is None else np.asarray(order)
    if order.ndim != 1 or not np.issubdtype(order.dtype, np.integer) or np.any((order < 0) | (order >= N)):
        raise ValueError(f"order must be a 1-d list of neuron indices in [0, {N}), got {order!r}")
    two = s.ndim == 1
    s2 = s[None] if two else s
    for i in order:
        rest = beta * (s2 @ xi.T - s2[:, [i]] * xi[None, :, i])   # beta sum_{j != i} xi_j sigma_j, (T, P)
        top = rest.max(axis=1, keepdims=True)
        h = (np.exp(rest - top) * xi[None, :, i]).sum(axis=1)       # >0 factor exp(top) dropped
        s2[:, i] = np.where(h > 0, 1.0, np.where(h < 0, -1.0, s2[:, i]))
    return s2[0] if two else s2


def empirical_denoiser(x, data, sigma: float) -> np.ndarray:
    """E[x0 | x] for x = x0 + sigma eps, eps ~ N(0, 1), x0 uniform on the rows of `data`
    (eq. D6): the optimal (minimum mean-squared error) denoiser of a diffusion model
    trained on that finite set, equal to the update D3 at beta = 1 / sigma^2.

    x : (N,) or (T, N); data : (P, N); sigma > 0 in the units of x.
    """
    sigma = check_positive_float("sigma", sigma)
    return dam_update(x, data, 1.0 / sigma ** 2)


def empirical_score(x, data, sigma: float) -> np.ndarray:
    """grad_x log p_sigma(x) of the noised empirical distribution (eq. D6):
    (E[x0 | x] - x) / sigma^2 = -beta grad E(x) at beta = 1 / sigma^2. Shape of x."""
    sigma = check_positive_float("sigma", sigma)
    xs = _states(x, _patterns(data).shape[1])
    return (empirical_denoiser(xs, data, sigma) - xs) / sigma ** 2


def empirical_log_density(x, data, sigma: float) -> np.ndarray | float:
    """log p_sigma(x) = log (1/P) sum_mu N(x; xi^mu, sigma^2 I) (eq. D6), in nats:
    -beta E(x) - log P - (N/2) log(2 pi sigma^2) at beta = 1 / sigma^2, computed here
    directly from the squared distances (an independent route to eq. D1)."""
    sigma = check_positive_float("sigma", sigma)
    xi = _patterns(data)
    xs = _states(x, xi.shape[1])
    d2 = ((xs[..., None, :] - xi) ** 2).sum(axis=-1)
    P, N = xi.shape
    out = logsumexp(-d2 / (2 * sigma ** 2), axis=-1) - np.log(P) - 0.5 * N * np.log(2 * np.pi * sigma ** 2)
    return float(out) if xs.ndim == 1 else out


# ------------------------------------------------------------------ the estimator
@dataclass
class DenseRunResult:
    """The outcome of `DenseAssociativeMemory.run`.

    states : final states, the shape of the starts.
    n_iter : (T,) or scalar int, iterations taken by each start.
    converged : (T,) or scalar bool: the last step moved the state by at most `tol`
        (largest component, continuous) or flipped no spin (binary).
    energy : final energies (eq. D1), float or (T,).
    """

    states: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    energy: np.ndarray


class DenseAssociativeMemory:
    """A dense (modern) associative memory with the log-sum-exp energy (eq. D1).

    Parameters
    ----------
    beta : float > 0
        Inverse temperature, in inverse squared units of the states; beta = 1 / sigma^2
        makes the update the optimal denoiser at noise sigma (eq. D6).
    states : "continuous" or "binary"
        Continuous states follow eq. D3; binary (+-1) states follow eq. D5.

    Attributes
    ----------
    patterns_ : (P, N) float64, the stored patterns (set by `fit`).
    n_patterns_, n_features_ : P and N.
    """

    def __init__(self, beta: float = 1.0, states: str = "continuous"):
        self.beta = check_positive_float("beta", beta)
        if states not in ("continuous", "binary"):
            raise ValueError(f"states must be 'continuous' or 'binary', got {states!r}")
        self.states = states

    def fit(self, patterns) -> "DenseAssociativeMemory":
        """Store the (P, N) patterns (+-1 for states="binary"); returns self."""
        xi = _patterns(patterns)
        if self.states == "binary":
            _spins(xi, xi.shape[1], "patterns")
        self.patterns_ = xi.copy()
        self.n_patterns_, self.n_features_ = xi.shape
        return self

    def _check_fitted(self):
        if not hasattr(self, "patterns_"):
            raise ValueError("DenseAssociativeMemory has no patterns yet: call fit(patterns) first")

    def energy(self, x):
        """E(x), eq. D1: float for (N,), (T,) for (T, N)."""
        self._check_fitted()
        return dam_energy(x, self.patterns_, self.beta)

    def weights(self, x) -> np.ndarray:
        """Attention weights p_mu(x), eq. D2: (P,) or (T, P)."""
        self._check_fitted()
        return dam_weights(x, self.patterns_, self.beta)

    def update(self, x, mode: str = "async") -> np.ndarray:
        """One step: eq. D3 (continuous) or one sweep of eq. D5 (binary, `mode`)."""
        self._check_fitted()
        if self.states == "binary":
            return dam_sign_update(x, self.patterns_, self.beta, mode=mode)
        return dam_update(x, self.patterns_, self.beta)

    def jacobian(self, x) -> np.ndarray:
        """Jacobian of eq. D3 at x, beta Cov_p(xi): (N, N) or (T, N, N)."""
        self._check_fitted()
        return dam_jacobian(x, self.patterns_, self.beta)

    def run(self, x, max_iter: int = 1000, tol: float = 1e-12, mode: str = "async") -> DenseRunResult:
        """Iterate `update` from x until it stops moving or `max_iter` steps.

        x : (N,) or (T, N) starts. tol : largest component change counted as no move
        (continuous; binary stops when no spin flips). Each start stops on its own.
        """
        self._check_fitted()
        max_iter = check_positive_int("max_iter", max_iter)
        tol = check_positive_float("tol", tol, allow_zero=True)
        if self.states == "binary":
            cur = _spins(x, self.n_features_)
        else:
            cur = _states(x, self.n_features_)
        one = cur.ndim == 1
        cur = np.atleast_2d(cur).copy()
        active = np.ones(len(cur), dtype=bool)
        n_iter = np.zeros(len(cur), dtype=np.int64)
        for _ in range(max_iter):
            if not active.any():
                break
            new = self.update(cur[active], mode=mode)
            moved = np.abs(new - cur[active]).max(axis=1) > (0 if self.states == "binary" else tol)
            idx = np.flatnonzero(active)
            cur[idx] = new
            n_iter[idx] += 1
            active[idx[~moved]] = False
        converged = ~active
        energy = dam_energy(cur, self.patterns_, self.beta)
        if one:
            return DenseRunResult(cur[0], int(n_iter[0]), bool(converged[0]), float(energy[0]))
        return DenseRunResult(cur, n_iter, converged, energy)
