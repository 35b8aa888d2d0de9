"""Exact max-margin couplings, one row at a time: the reference PL training approaches.

Row i of J is a perceptron that must output xi_i^mu from xi_{\\i}^mu. Its
max-margin (hard-margin SVM without bias) solution solves

    min ||w||^2 / 2   subject to   y_mu w . x_mu >= 1   for all mu,

with y_mu = xi_i^mu and x_mu = xi^mu with component i set to zero. The largest
normalised margin is then kappa_i = 1 / ||w|| = min_mu y_mu w . x_mu / ||w||.

We solve the dual, max_a sum a - (1/2) a^T Q a with a >= 0 and
Q_mu,nu = y_mu y_nu x_mu . x_nu, by exact coordinate ascent (the AdaTron of
Anlauf and Biehl 1989 with the optimal step 1 / Q_mu,mu = 1 / (N - 1)),
keeping w = sum_mu a_mu y_mu x_mu up to date. Rows are solved in parallel.
Stopping rule: the largest violation of the KKT conditions (the projected
dual gradient) falls below `tol`; at that point the margin is exact to
O(tol). Data that a row cannot separate (alpha > about 2) make the dual
unbounded: that row reports converged = False after `max_sweeps`.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from amsim._validate import as_spins, check_positive_float, check_positive_int


@njit(parallel=True, cache=True)
def _adatron_rows(X, tol, max_sweeps, W, kappa, converged, sweeps):
    P, N = X.shape
    qdiag = N - 1.0
    for i in prange(N):
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


def max_margin_couplings(patterns: np.ndarray, tol: float = 1e-6, max_sweeps: int = 20000):
    """Max-margin couplings of every row, with their margins.

    Parameters
    ----------
    patterns : (P, N) of +-1
    tol : stop a row when its largest KKT violation is below `tol`
    max_sweeps : cap on passes over the patterns per row

    Returns
    -------
    J : (N, N) float64, zero diagonal; row i is the max-margin weight vector
        scaled so that min_mu y_mu J_i . x_mu = 1 (its norm is 1 / kappa_i)
    kappa : (N,) the largest normalised margin of each row (eq. 7)
    converged : (N,) bool, False where the cap was reached (e.g. non-separable rows)
    """
    xi = as_spins("patterns", patterns, ndim=(2,))
    tol = check_positive_float("tol", tol)
    max_sweeps = check_positive_int("max_sweeps", max_sweeps)
    X = np.ascontiguousarray(xi, dtype=np.float64)
    P, N = X.shape
    W = np.zeros((N, N))
    kappa = np.zeros(N)
    converged = np.zeros(N, dtype=np.bool_)
    sweeps = np.zeros(N, dtype=np.int64)
    _adatron_rows(X, tol, max_sweeps, W, kappa, converged, sweeps)
    return W, kappa, converged
