"""Exact max-margin couplings, one row at a time: the reference PL training approaches.

Row i of J is a perceptron that must output xi_i^mu from xi_{\\i}^mu. Its
max-margin (hard-margin SVM without bias) solution solves

    min ||w||^2 / 2   subject to   y_mu w . x_mu >= 1   for all mu,

with y_mu = xi_i^mu and x_mu = xi^mu with component i set to zero. The largest
normalised margin is then kappa_i = 1 / ||w|| = min_mu y_mu w . x_mu / ||w||.

We solve the dual, max_a sum a - (1/2) a^T Q a with a >= 0 and
Q_mu,nu = y_mu y_nu x_mu . x_nu, by exact coordinate ascent (the AdaTron of
Anlauf and Biehl 1989 with the optimal step 1 / Q_mu,mu = 1 / (N - 1)),
keeping w = sum_mu a_mu y_mu x_mu up to date. Rows are independent and solved
in parallel; `rows` solves only some of them (a study of kappa_i needs a few rows,
not all N). Stopping rule: the largest violation of the KKT conditions (the projected
dual gradient) falls below `tol`; at that point the margin is exact to
O(tol). Data that a row cannot separate (alpha > about 2) make the dual
unbounded: that row reports converged = False after `max_sweeps`.

`row_separable` answers the kappa = 0 question exactly, by linear programming:
can row i store all P patterns at all (Cover 1965; Gardner's alpha_c(0) = 2)?
"""
from __future__ import annotations

import numbers

import numpy as np
from numba import njit, prange

from amsim._validate import as_spins, check_positive_float, check_positive_int


@njit(parallel=True, cache=True)
def _adatron_rows(X, rows, tol, max_sweeps, W, kappa, converged, sweeps):
    """AdaTron on the rows listed in `rows`, writing W[i], kappa[i], ... of each."""
    P, N = X.shape
    qdiag = N - 1.0
    for r in prange(rows.shape[0]):
        i = rows[r]
        a = np.zeros(P)
        w = np.zeros(N)
        done = False
        s = 0
        while s < max_sweeps:
            s += 1
            viol = 0.0
            for mu in range(P):
                y = X[mu, i]
                # y * w . x_mu with x_mu = xi^mu minus component i (w[i] stays 0)
                dot = 0.0
                for j in range(N):
                    dot += w[j] * X[mu, j]
                g = y * dot - 1.0  # minus the dual gradient at coordinate mu
                pg = g
                if a[mu] <= 0.0 and g > 0.0:
                    pg = 0.0
                if abs(pg) > viol:
                    viol = abs(pg)
                new = a[mu] - g / qdiag
                if new < 0.0:
                    new = 0.0
                d = new - a[mu]
                if d != 0.0:
                    a[mu] = new
                    c = d * y
                    for j in range(N):
                        w[j] += c * X[mu, j]
                    w[i] = 0.0
            if viol < tol:
                done = True
                break
        nrm = 0.0
        for j in range(N):
            nrm += w[j] * w[j]
        nrm = np.sqrt(nrm)
        mmin = np.inf
        for mu in range(P):
            dot = 0.0
            for j in range(N):
                dot += w[j] * X[mu, j]
            m = X[mu, i] * dot
            if m < mmin:
                mmin = m
        kappa[i] = mmin / nrm if nrm > 0 else 0.0
        for j in range(N):
            W[i, j] = w[j]
        converged[i] = done
        sweeps[i] = s


def solved_rows(rows, n_neurons: int) -> np.ndarray:
    """The row indices a `rows` argument names, as a sorted int64 array.

    rows : None (all N rows), an int k (rows 0..k-1; for random patterns every row
        is alike, so the first k are a sample) or a sequence of distinct indices in
        [0, N) (negative ones count from the end, as in NumPy).
    """
    N = int(n_neurons)
    if rows is None:
        return np.arange(N, dtype=np.int64)
    if isinstance(rows, (numbers.Integral, np.integer)) and not isinstance(rows, (bool, np.bool_)):
        k = check_positive_int("rows", rows)
        if k > N:
            raise ValueError(f"rows = {k} asks for more rows than the N = {N} neurons")
        return np.arange(k, dtype=np.int64)
    idx = np.asarray(rows)
    if idx.ndim != 1 or idx.size == 0 or not (np.issubdtype(idx.dtype, np.integer)
                                              and idx.dtype != np.bool_):
        raise ValueError(f"rows must be None, an int or a 1-d sequence of row indices, got {rows!r}")
    if idx.min() < -N or idx.max() >= N:
        raise ValueError(f"rows must be indices in [0, {N}), got {rows!r}")
    idx = np.where(idx < 0, idx + N, idx).astype(np.int64)
    if len(np.unique(idx)) != len(idx):
        raise ValueError(f"rows must be distinct, got {rows!r}")
    return np.sort(idx)


def max_margin_couplings(patterns: np.ndarray, tol: float = 1e-6, max_sweeps: int = 20000,
                         rows=None):
    """Max-margin couplings of every row (or of the rows asked for), with their margins.

    Parameters
    ----------
    patterns : (P, N) of +-1
    tol : stop a row when its largest KKT violation is below `tol`
    max_sweeps : cap on passes over the patterns per row
    rows : which rows to solve: None (all), an int k (the first k) or indices
        (see `solved_rows`). Each row is solved on its own, so a row's result does
        not depend on which other rows are solved; the cost is proportional to the
        number of rows.

    Returns
    -------
    J : (N, N) float64, zero diagonal; row i is the max-margin weight vector
        scaled so that min_mu y_mu J_i . x_mu = 1 (its norm is 1 / kappa_i).
        Rows not solved are zero.
    kappa : (N,) the largest normalised margin of each row (eq. 7); NaN for rows
        not solved
    converged : (N,) bool, False where the cap was reached (e.g. non-separable rows)
        and for rows not solved
    """
    xi = as_spins("patterns", patterns, ndim=(2,))
    tol = check_positive_float("tol", tol)
    max_sweeps = check_positive_int("max_sweeps", max_sweeps)
    X = np.ascontiguousarray(xi, dtype=np.float64)
    P, N = X.shape
    idx = solved_rows(rows, N)
    W = np.zeros((N, N))
    kappa = np.full(N, np.nan)
    converged = np.zeros(N, dtype=np.bool_)
    sweeps = np.zeros(N, dtype=np.int64)
    _adatron_rows(X, idx, tol, max_sweeps, W, kappa, converged, sweeps)
    return W, kappa, converged


def row_separable(patterns: np.ndarray, i: int) -> bool:
    """Can row i store all patterns: is there a w with xi_i^mu w . x^mu > 0 for every mu?

    x^mu is pattern mu with component i removed (no self-coupling), so this is the
    linear separability of P labelled points in N - 1 dimensions without bias, the
    event whose probability Cover's formula gives for points in general position
    (`amsim.theory.cover_separable_probability`). Decided exactly by linear
    programming (scipy's HiGHS): first the feasibility problem y_mu w . x_mu >= 1;
    should HiGHS report neither feasible nor infeasible (it occasionally does near
    alpha = 2), the bounded, always-feasible program max t subject to
    y_mu w . x_mu >= t, |w_j| <= 1, t <= 1, separable iff the optimum t > 1e-7.

    Parameters
    ----------
    patterns : (P, N) of +-1
    i : the row (neuron), 0 <= i < N

    Returns
    -------
    bool
    """
    from scipy.optimize import linprog

    X = as_spins("patterns", patterns, ndim=(2,)).astype(np.float64)
    P, N = X.shape
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (numbers.Integral, np.integer)) \
            or not 0 <= i < N:
        raise ValueError(f"row i must be an integer in [0, {N}), got {i!r}")
    y = X[:, i].copy()
    X[:, i] = 0.0
    A = np.hstack([-(y[:, None] * X), np.ones((P, 1))])
    c = np.zeros(N + 1)
    c[-1] = -1.0
    bounds = [(-1.0, 1.0)] * N + [(None, 1.0)]
    # fast path: the feasibility problem y_mu w . x_mu >= 1 (status 0 feasible, 2 infeasible)
    res = linprog(np.zeros(N), A_ub=-(y[:, None] * X), b_ub=-np.ones(P), bounds=(None, None), method="highs")
    if res.status in (0, 2):
        return res.status == 0
    for method in ("highs-ds", "highs-ipm"):
        res = linprog(c, A_ub=A, b_ub=np.zeros(P), bounds=bounds, method=method)
        if res.status == 0:
            return bool(-res.fun > 1e-7)
    raise RuntimeError(f"linprog failed on row {i}: {res.message}")
