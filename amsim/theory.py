"""Classical theory of binary associative memories, computed (never tabulated).

Every quantity here is obtained by closed-form special functions, quadrature or root
finding with scipy, so the values follow from the formulas and can be checked against
simulation (see ``docs/science-am.md``, section "Classical theory the simulator must
agree with").

Contents
--------
- :func:`hebb_one_step_error` -- one-step bit error of a Hebbian network at a stored
  pattern, ``0.5 * erfc(1 / sqrt(2 alpha))``.
- :func:`ags_overlap`, :func:`ags_alpha_c` -- replica-symmetric zero-temperature
  retrieval overlap and critical load of the Hopfield model (Amit, Gutfreund and
  Sompolinsky 1985, 1987).
- :func:`gardner_alpha_c`, :func:`gardner_kappa_opt` -- Gardner's capacity with margin
  kappa and its inverse, the largest achievable margin at load alpha (Gardner 1988).
- :func:`gardner_stability_tail_pdf`, :func:`gardner_stability_peak_weight` -- Gardner's
  distribution of normalised stabilities at the optimal (max-margin) coupling;
  :func:`gardner_stability_binned` the same integrated over histogram bins and
  :func:`gardner_mass_near_margin` its mass within a window above the margin.
- :func:`cover_separable_probability` -- Cover's (1965) probability that P random
  dichotomies of points in general position are linearly separable, the finite-N
  counterpart of alpha_c(0) = 2.
- :func:`mixture_state` -- symmetric mixture (spurious) state sign(xi^a + xi^b + ...).

Conventions: alpha = P / N (patterns per neuron, dimensionless); kappa and Delta are
normalised stabilities ``xi_i h_i / ||J_i||`` (dimensionless, in units of the row norm).
Scalar inputs return a Python ``float``; array inputs return ``numpy`` arrays of the
broadcast shape. Invalid input raises ``ValueError`` naming the offending value.
"""

from __future__ import annotations

import functools
import math
from typing import Iterable

import numpy as np
from scipy import optimize, special

__all__ = [
    "hebb_one_step_error",
    "ags_overlap",
    "ags_alpha_c",
    "gardner_alpha_c",
    "gardner_kappa_opt",
    "gardner_stability_tail_pdf",
    "gardner_stability_peak_weight",
    "gardner_stability_binned",
    "gardner_mass_near_margin",
    "cover_separable_probability",
    "mixture_state",
]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI


# ----------------------------------------------------------------------------- helpers
def _as_array(x, name: str, *, positive: bool = False, allow_inf: bool = False) -> np.ndarray:
    """Convert ``x`` to a float64 array and validate it; raise ValueError naming bad values."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or array of real numbers, got {x!r}") from exc
    if arr.size == 0 and arr.ndim > 0:
        return arr
    if allow_inf:
        bad = np.isnan(arr)
        what = "not NaN"
    else:
        bad = ~np.isfinite(arr)
        what = "finite"
    if positive:
        bad = bad | ~(arr > 0)
        what += " and > 0"
    if np.any(bad):
        offending = arr[bad].ravel()
        shown = ", ".join(repr(float(v)) for v in offending[:5])
        more = "" if offending.size <= 5 else f" (and {offending.size - 5} more)"
        raise ValueError(f"{name} must be {what}; got {name}={shown}{more}")
    return arr


def _out(arr: np.ndarray):
    """Return a Python float for 0-d results, else the array."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 0:
        return float(arr)
    return arr


# ------------------------------------------------------------------- Hebbian one step
def hebb_one_step_error(alpha, n_neurons: int | None = None):
    """One-step bit error of a stored pattern in the Hebbian network.

    Computes ``P_err(alpha) = 0.5 * erfc(1 / sqrt(2 * alpha))``: the probability that a
    bit of a stored pattern xi^mu flips after one update ``sigma_i <- sign(h_i)`` started
    at xi^mu, for ``J = xi^T xi / N`` with zero diagonal and P random +-1 patterns at
    load ``alpha = P / N``. In the large-N limit the aligned field ``xi_i h_i`` is
    ``1 + z`` with crosstalk ``z ~ Normal(0, alpha)``, so ``P_err = Phi(-1/sqrt(alpha))``
    (e.g. Hertz, Krogh & Palmer 1991, section 2.2). At finite N the crosstalk variance is
    exactly ``(P-1)(N-1)/N^2`` and the signal ``(N-1)/N``: give `n_neurons` to evaluate
    the Gaussian formula at the effective load ``(P-1)/(N-1)`` with ``P = alpha N``
    (closer to a measurement at N of a few hundred; the exact finite-N error is a
    binomial tail, and unless N is even and P odd a field can be exactly 0, so the
    measured error also depends on the tie rule).

    Parameters
    ----------
    alpha : float or array_like
        Load P/N (dimensionless), finite and > 0.
    n_neurons : int, optional
        N for the finite-N correction; then alpha N must be > 1.

    Returns
    -------
    float or ndarray
        Error probability per bit, same shape as ``alpha``.
    """
    a = _as_array(alpha, "alpha", positive=True)
    if n_neurons is not None:
        if isinstance(n_neurons, bool) or int(n_neurons) != n_neurons or n_neurons < 2:
            raise ValueError(f"n_neurons must be an integer >= 2, got {n_neurons!r}")
        N = float(n_neurons)
        if np.any(a * N <= 1):
            raise ValueError(f"alpha * n_neurons must exceed 1 (more than one pattern), got alpha = {alpha!r}")
        a = (a * N - 1.0) / (N - 1.0)
    return _out(0.5 * special.erfc(1.0 / np.sqrt(2.0 * a)))


# --------------------------------------------------------------- AGS (T = 0, RS)
def _ags_g(y: float) -> float:
    """g(y) = erf(y)/y - (2/sqrt(pi)) exp(-y^2); retrieval roots solve g(y) = sqrt(2 alpha)."""
    return special.erf(y) / y - _TWO_OVER_SQRT_PI * math.exp(-y * y)


def _ags_dg(y: float) -> float:
    """Derivative g'(y)."""
    e = math.exp(-y * y)
    return _TWO_OVER_SQRT_PI * e / y - special.erf(y) / (y * y) + 2.0 * _TWO_OVER_SQRT_PI * y * e


@functools.lru_cache(maxsize=None)
def _ags_tangency() -> tuple[float, float]:
    """(y*, alpha_c): the maximum of g and the load at which the retrieval root disappears."""
    # g rises from g(0+) = 0 to a single maximum, then decays like 1/y; g' changes sign
    # once on [0.5, 10] (g'(0.5) > 0, g'(10) ~ -1/100 < 0).
    y_star = optimize.brentq(_ags_dg, 0.5, 10.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    g_max = _ags_g(y_star)
    return float(y_star), float(g_max * g_max / 2.0)


@functools.lru_cache(maxsize=None)
def ags_alpha_c() -> float:
    """Replica-symmetric critical load of the Hopfield model at zero temperature.

    The largest ``alpha`` for which the T = 0 RS equations of Amit, Gutfreund and
    Sompolinsky (Phys. Rev. Lett. 55, 1530 (1985); Ann. Phys. 173, 30 (1987)) have a
    retrieval solution m > 0. Reduced to ``g(y) = sqrt(2 alpha)`` with
    ``g(y) = erf(y)/y - (2/sqrt(pi)) exp(-y^2)`` (see :func:`ags_overlap`), the root
    disappears at the tangency ``g'(y*) = 0``, found with ``brentq``; then
    ``alpha_c = g(y*)^2 / 2`` (~ 0.13791, with overlap ``erf(y*)`` ~ 0.967). Cached.

    Returns
    -------
    float
        alpha_c = P_c / N (dimensionless).
    """
    return _ags_tangency()[1]


def _ags_overlap_scalar(alpha: float) -> float:
    y_star, alpha_c = _ags_tangency()
    if alpha > alpha_c:
        return 0.0
    s = math.sqrt(2.0 * alpha)

    def f(y: float) -> float:
        return _ags_g(y) - s

    f_star = f(y_star)
    if f_star <= 0.0:  # alpha == alpha_c up to rounding: tangency point
        return float(special.erf(y_star))
    # g(y) <= erf(y)/y <= 1/y, so f(1/s) <= 0: the largest root lies in [y*, 1/s].
    y_hi = max(1.0 / s, y_star)
    while f(y_hi) > 0.0:  # defensive; not reached given the bound above
        y_hi *= 2.0
    y = optimize.brentq(f, y_star, y_hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    return float(special.erf(y))


_ags_overlap_vec = np.vectorize(_ags_overlap_scalar, otypes=[np.float64])


def ags_overlap(alpha):
    """Zero-temperature replica-symmetric retrieval overlap m(alpha) of the Hopfield model.

    Amit, Gutfreund & Sompolinsky (Phys. Rev. Lett. 55, 1530 (1985); Ann. Phys. 173, 30
    (1987)). The T = 0 RS saddle-point equations for the Hebbian network at load alpha are

        m = erf(y),   C = sqrt(2 / (pi alpha r)) exp(-y^2),   r = 1 / (1 - C)^2,

    with ``y = m / sqrt(2 alpha r)``. Eliminating m, C and r gives one equation in y,

        y * (sqrt(2 alpha) + (2/sqrt(pi)) exp(-y^2)) = erf(y),

    solved with ``brentq`` for its largest root (the retrieval state), bracketed between
    the tangency point y* (:func:`ags_alpha_c`) and ``1/sqrt(2 alpha)``. Returns
    ``m = erf(y)``, or 0.0 where no retrieval root exists (alpha > alpha_c ~ 0.13791).
    m decreases from 1 (alpha -> 0) to ~0.967 at alpha_c and then jumps to 0.

    Parameters
    ----------
    alpha : float or array_like
        Load P/N (dimensionless), finite and > 0.

    Returns
    -------
    float or ndarray
        Overlap m in [0, 1], same shape as ``alpha``.
    """
    a = _as_array(alpha, "alpha", positive=True)
    return _out(_ags_overlap_vec(a))


# ------------------------------------------------------------------------- Gardner
_KAPPA_UNDERFLOW = -40.0  # below this, I(kappa) < 1e-320: alpha_c(kappa) overflows float64


def _gardner_log_integral(k: np.ndarray) -> np.ndarray:
    """log I(kappa), I(kappa) = int_{-kappa}^inf Dt (t+kappa)^2 = (1+k^2) Phi(k) + k phi(k).

    For k < 0 the common factor exp(-k^2/2) is pulled out (Phi(k) = erfcx(-k/sqrt2)
    exp(-k^2/2) / 2) so nothing underflows; the remaining bracket loses ~k^4 * eps
    relative precision to cancellation (< 1e-9 for |k| <= 40).
    """
    k = np.asarray(k, dtype=np.float64)
    out = np.empty_like(k)
    pos = k >= 0
    kp = k[pos]
    out[pos] = np.log((1.0 + kp * kp) * special.ndtr(kp) + kp * np.exp(-0.5 * kp * kp) / _SQRT_2PI)
    neg = ~pos
    kn = k[neg]
    with np.errstate(divide="ignore", invalid="ignore"):
        bracket = 0.5 * (1.0 + kn * kn) * special.erfcx(-kn / math.sqrt(2.0)) + kn / _SQRT_2PI
        val = -0.5 * kn * kn + np.log(bracket)
    val = np.where(kn < _KAPPA_UNDERFLOW, -np.inf, val)
    out[neg] = val
    return out


def gardner_alpha_c(kappa):
    """Gardner's storage capacity with margin kappa (replica-symmetric, random patterns).

    Gardner, J. Phys. A 21, 257 (1988); Gardner & Derrida, J. Phys. A 21, 271 (1988):

        alpha_c(kappa) = 1 / int_{-kappa}^{inf} Dt (t + kappa)^2,

    Dt the standard normal measure. The integral is evaluated in closed form,
    ``(1 + kappa^2) Phi(kappa) + kappa phi(kappa)`` with phi/Phi the standard normal
    pdf/cdf (computed without underflow for kappa < 0). alpha_c(0) = 2; alpha_c decreases
    monotonically in kappa, ~ 1/kappa^2 for large kappa. For kappa < 0 (alpha_c > 2) the
    RS formula is only an approximation (replica symmetry is broken there). Returns
    ``inf`` for kappa < -40, where alpha_c exceeds the float64 range.

    Parameters
    ----------
    kappa : float or array_like
        Margin on the normalised stabilities ``xi_i h_i / ||J_i||`` (dimensionless), finite.

    Returns
    -------
    float or ndarray
        Critical load alpha_c = P_c / N, same shape as ``kappa``.
    """
    k = _as_array(kappa, "kappa")
    with np.errstate(over="ignore"):
        return _out(np.exp(-_gardner_log_integral(k)))


def _gardner_kappa_opt_scalar(alpha: float) -> float:
    target = -math.log(alpha)  # solve log I(kappa) = log(1/alpha); log I increasing in kappa

    def f(k: float) -> float:
        return float(_gardner_log_integral(np.array(k))) - target

    # Bounds: k^2 <= I(k) <= 1 + k^2 for k >= 0 (Jensen; E[(t+k)^2] = 1 + k^2),
    # hence kappa_opt in [sqrt(1/alpha - 1), sqrt(1/alpha)] when alpha <= 1; the bounds
    # are nearly tight for small alpha, so widen them slightly against rounding.
    hi = math.sqrt(1.0 / alpha) * (1.0 + 1e-6) + 1e-6
    if alpha <= 1.0:
        lo = math.sqrt(1.0 / alpha - 1.0) * (1.0 - 1e-6) - 1e-6
    elif alpha <= 2.0:
        lo = -1e-6  # I(0) = 1/2 <= 1/alpha
    else:
        lo = -1.0
    while f(lo) > 0.0:  # only loops for alpha > 2 (kappa_opt < 0)
        lo = 2.0 * lo if lo < -0.5 else lo - 1.0
    while f(hi) < 0.0:  # defensive; not reached given the bound above
        hi = 2.0 * hi + 1.0
    if f(lo) == 0.0:
        return lo
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


_gardner_kappa_opt_vec = np.vectorize(_gardner_kappa_opt_scalar, otypes=[np.float64])


def gardner_kappa_opt(alpha):
    """Largest achievable margin kappa at load alpha: the inverse of :func:`gardner_alpha_c`.

    Solves ``gardner_alpha_c(kappa) = alpha`` (Gardner 1988) with ``brentq`` on
    ``log I(kappa) = -log(alpha)``, over a bracket computed from ``k^2 <= I(k) <= 1 + k^2``
    (k >= 0) or by doubling towards negative kappa. Monotone decreasing in alpha;
    kappa_opt(2) = 0, kappa_opt ~ 1/sqrt(alpha) for small alpha. For alpha > 2 the same
    formula gives kappa < 0 (mathematically well defined and returned), but there the
    replica-symmetric result is only an approximation: the max-margin problem is no
    longer convex and replica symmetry breaks.

    This is the margin that long pseudo-likelihood training / the max-margin (hard SVM)
    solution approaches for random patterns as N grows.

    Parameters
    ----------
    alpha : float or array_like
        Load P/N (dimensionless), finite and > 0.

    Returns
    -------
    float or ndarray
        kappa_opt (dimensionless normalised stability), same shape as ``alpha``.
    """
    a = _as_array(alpha, "alpha", positive=True)
    return _out(_gardner_kappa_opt_vec(a))


def gardner_stability_tail_pdf(delta, kappa):
    """Continuous part of Gardner's stability distribution at the optimal coupling.

    At the max-margin solution at load ``alpha = gardner_alpha_c(kappa)`` (Gardner 1988;
    Gardner & Derrida 1988), the normalised stabilities ``Delta = xi_i h_i / ||J_i||`` have

        rho(Delta) = Phi(kappa) delta(Delta - kappa) + phi(Delta) Theta(Delta - kappa):

    the zero-coupling stabilities t are standard normal; those with t > kappa keep their
    value (a Gaussian tail), those with t < kappa are pushed exactly onto the margin
    (a delta peak of weight P(t < kappa) = Phi(kappa), see
    :func:`gardner_stability_peak_weight`). This function returns the continuous part,
    ``phi(delta)`` for ``delta > kappa`` and 0 otherwise; it integrates to
    ``1 - Phi(kappa)``.

    Parameters
    ----------
    delta : float or array_like
        Normalised stability (dimensionless); not NaN (+-inf allowed, pdf 0 there).
    kappa : float or array_like
        Margin (dimensionless), finite; broadcast against ``delta``.

    Returns
    -------
    float or ndarray
        Density per unit Delta, broadcast shape of ``delta`` and ``kappa``.
    """
    d = _as_array(delta, "delta", allow_inf=True)
    k = _as_array(kappa, "kappa")
    d, k = np.broadcast_arrays(d, k)
    with np.errstate(over="ignore", under="ignore"):
        pdf = np.exp(-0.5 * d * d) / _SQRT_2PI
    return _out(np.where(d > k, pdf, 0.0))


def gardner_stability_peak_weight(kappa):
    """Weight of the delta peak at Delta = kappa in Gardner's stability distribution.

    Equals ``Phi(kappa) = P(t < kappa)`` for t standard normal: the fraction of
    (pattern, neuron) stabilities sitting exactly on the margin at the optimal coupling
    (Gardner 1988). With :func:`gardner_stability_tail_pdf` it makes a normalised
    distribution: ``Phi(kappa) + int_kappa^inf phi = 1``. At kappa = 0 (alpha = 2) half
    of the stabilities lie on the margin.

    Parameters
    ----------
    kappa : float or array_like
        Margin (dimensionless), finite.

    Returns
    -------
    float or ndarray
        Probability weight in [0, 1], same shape as ``kappa``.
    """
    k = _as_array(kappa, "kappa")
    return _out(special.ndtr(k))


def gardner_stability_binned(kappa: float, edges) -> np.ndarray:
    """Gardner's stability distribution at the optimum, as a density per histogram bin.

    The distribution rho(Delta) = Phi(kappa) delta(Delta - kappa) + phi(Delta) Theta(Delta - kappa)
    (see :func:`gardner_stability_tail_pdf`) integrated over each bin [e_k, e_k+1) and
    divided by the bin width: the tail contributes Phi(e_k+1) - Phi(max(e_k, kappa)) and
    the bin holding kappa also the peak weight Phi(kappa). Comparable bin by bin with a
    histogram of measured stabilities normalised to unit area.

    Parameters
    ----------
    kappa : float, the margin (dimensionless)
    edges : (B + 1,) increasing bin edges in units of Delta

    Returns
    -------
    (B,) float64 density per unit Delta
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError(f"edges must be an increasing 1-d array of at least 2 values, got {edges!r}")
    kappa = float(_as_array(kappa, "kappa"))
    lo, hi = edges[:-1], edges[1:]
    a = np.maximum(lo, kappa)
    mass = np.where(hi > kappa, special.ndtr(hi) - special.ndtr(a), 0.0)
    k = np.searchsorted(edges, kappa, side="right") - 1
    if 0 <= k < len(mass):
        mass[k] += gardner_stability_peak_weight(kappa)
    return mass / (hi - lo)


def gardner_mass_near_margin(kappa, window):
    """Fraction of stabilities within `window` above the margin at the optimum.

    Phi(kappa) (the delta peak on the margin) + Phi(kappa + window) - Phi(kappa) (the
    tail just above it), which is Phi(kappa + window), summed from its two parts as
    written: what a histogram of measured stabilities, whose peak finite N spreads
    over a few bins, should hold within `window` of each row's own minimum.

    Parameters
    ----------
    kappa : float or array_like, the margin (dimensionless)
    window : float >= 0, in units of Delta

    Returns
    -------
    float or ndarray in [0, 1]
    """
    k = _as_array(kappa, "kappa")
    w = _as_array(window, "window")
    if np.any(w < 0):
        raise ValueError(f"window must be >= 0, got {window!r}")
    return _out(gardner_stability_peak_weight(k) + special.ndtr(k + w) - special.ndtr(k))


# ----------------------------------------------------------------------------- Cover
def cover_separable_probability(n_points: int, n_dims: int) -> float:
    """Probability that P random labellings of P points in n dimensions are separable.

    Cover's function-counting theorem (Cover 1965): of the 2^P labellings of P points in
    general position in R^n, C(P, n) = 2 sum_{k<n} binom(P - 1, k) are linearly
    separable by a hyperplane through the origin, so a random labelling is separable
    with probability

        2^(1 - P) sum_{k=0}^{n-1} binom(P - 1, k) = P(Binomial(P - 1, 1/2) <= n - 1).

    It is 1 for P <= n, 1/2 at P = 2n, and steps from 1 to 0 at P / n = 2 as n -> inf
    (Gardner's alpha_c(0) = 2). For a row of an associative memory n = N - 1 (no
    self-coupling); +-1 patterns are not in general position, so there the formula is
    an approximation (an upper bound on what is observed at small N).

    Parameters
    ----------
    n_points : P >= 1
    n_dims : n >= 1

    Returns
    -------
    float in [0, 1]
    """
    from scipy import stats

    for name, v in (("n_points", n_points), ("n_dims", n_dims)):
        if isinstance(v, (bool, np.bool_)) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return float(stats.binom.cdf(int(n_dims) - 1, int(n_points) - 1, 0.5))


# -------------------------------------------------------------------- mixture states
def mixture_state(patterns, indices: Iterable[int], signs=None) -> np.ndarray:
    """Symmetric mixture state ``sign(xi^a + xi^b + xi^c + ...)`` of an odd number of patterns.

    The textbook spurious attractors of the Hebbian network (Amit, Gutfreund &
    Sompolinsky, Phys. Rev. A 32, 1007 (1985)). For an odd count the sum of +-1 entries
    is never zero, so the sign is always defined. For 3 random patterns the overlap with
    each component has expectation 1/2 (per bit, the mixture agrees with a component
    with probability 3/4).

    Parameters
    ----------
    patterns : array_like, shape (P, N)
        Patterns as rows, entries +-1 (any integer or float dtype).
    indices : iterable of int
        An odd number of distinct row indices into ``patterns`` (negative indices count
        from the end, as in numpy).
    signs : iterable of +-1, optional
        One sign per index: the mixture ``sign(s_a xi^a + s_b xi^b + ...)`` (default all
        +1). The 2^(n-1) sign choices give the distinct mixtures of the same patterns.

    Returns
    -------
    ndarray of int8, shape (N,)
        The mixture state, entries +-1.

    Raises
    ------
    ValueError
        If patterns is not 2-d or has entries other than +-1, or if the indices are
        empty, even in number, non-integer, out of range or repeated.
    """
    xi = np.asarray(patterns)
    if xi.ndim != 2:
        raise ValueError(f"patterns must be a 2-d array of shape (P, N), got shape {xi.shape}")
    if xi.dtype == np.bool_ or not (np.issubdtype(xi.dtype, np.integer) or np.issubdtype(xi.dtype, np.floating)):
        raise ValueError(f"patterns must have an integer or float dtype of +-1 entries, got dtype {xi.dtype}")
    bad = (xi != 1) & (xi != -1)
    if np.any(bad):
        raise ValueError(f"patterns must contain only +1/-1, found value {xi[bad].ravel()[0]!r}")
    n_pat = xi.shape[0]

    try:
        idx_list = list(np.asarray(indices).ravel()) if not isinstance(indices, (list, tuple)) else list(indices)
    except TypeError as exc:
        raise ValueError(f"indices must be an iterable of integers, got {indices!r}") from exc
    norm = []
    for i in idx_list:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise ValueError(f"indices must be integers, got index {i!r}")
        i = int(i)
        if not -n_pat <= i < n_pat:
            raise ValueError(f"index {i} out of range for {n_pat} patterns")
        norm.append(i % n_pat)
    if len(norm) == 0 or len(norm) % 2 == 0:
        raise ValueError(f"mixture_state needs an odd number of pattern indices, got {len(norm)}: {idx_list!r}")
    if len(set(norm)) != len(norm):
        raise ValueError(f"pattern indices must be distinct, got {idx_list!r}")

    if signs is None:
        s = np.ones(len(norm), dtype=np.int64)
    else:
        s = np.asarray(signs)
        if s.shape != (len(norm),) or np.any((s != 1) & (s != -1)):
            raise ValueError(f"signs must be {len(norm)} values of +-1, one per index, got {signs!r}")
        s = s.astype(np.int64)
    total = s @ xi[norm].astype(np.int64)
    return np.sign(total).astype(np.int8)
