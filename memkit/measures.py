"""Measurements shared by the associative memory and the diffusion model.

Entropies are in nats. Recovery follows eq. 12 of the paper: among the
positions that the corruption actually changed, the fraction the dynamics put
back to the reference value.
"""
from __future__ import annotations

import warnings

import numpy as np


def binary_entropy(p_plus: np.ndarray) -> np.ndarray:
    """Entropy (nats) of a +-1 variable with P(+1) = `p_plus`, elementwise.

    H(p) = -p log p - (1 - p) log(1 - p), with 0 log 0 = 0. This is the
    per-neuron conditional entropy of the associative memory (AM analogue of
    eq. 13) when `p_plus` is eq. 9 evaluated at sigma_i = +1.
    """
    p = np.asarray(p_plus, dtype=np.float64)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0) - np.where(q > 0, q * np.log(q), 0.0)
    return h


def binary_entropy_from_logit(x: np.ndarray) -> np.ndarray:
    """Binary entropy (nats) of sigmoid(x), computed without overflow.

    With p = sigmoid(x): H = softplus(x) - x * sigmoid(x), exact for all finite x.
    For the associative memory x = 2 beta h_i (eq. 9).
    """
    x = np.asarray(x, dtype=np.float64)
    sp = np.logaddexp(0.0, x)
    sig = np.exp(x - sp)
    return np.maximum(sp - x * sig, 0.0)


def categorical_entropy(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Entropy (nats) of softmax(`logits`) along `axis` (eq. 13 for one position).

    Uses the log-sum-exp form H = logsumexp(z) - sum softmax(z) z, which never
    overflows. `-inf` logits (filtered tokens) contribute zero.
    """
    z = np.asarray(logits, dtype=np.float64)
    zmax = np.max(z, axis=axis, keepdims=True)
    zs = z - zmax
    ez = np.exp(zs)
    s = ez.sum(axis=axis, keepdims=True)
    p = ez / s
    with np.errstate(invalid="ignore"):
        pz = np.where(p > 0, p * zs, 0.0)
    return (np.log(s) - pz.sum(axis=axis, keepdims=True)).squeeze(axis)


def recovery_rate(reference: np.ndarray, corrupted: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Per-row recovery rate of the corrupted positions (eq. 12).

    Parameters
    ----------
    reference, corrupted, final : arrays of the same shape (..., L): the clean
        reference, the corrupted start and the end state of the dynamics.

    Returns
    -------
    rate : array (...,): among positions where `corrupted != reference`, the
        fraction with `final == reference`. NaN for a row with no corrupted
        position (the rate is undefined there).
    """
    reference, corrupted, final = np.broadcast_arrays(reference, corrupted, final)
    changed = corrupted != reference
    n_changed = changed.sum(axis=-1)
    hit = (changed & (final == reference)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_changed > 0, hit / np.maximum(n_changed, 1), np.nan)


def unstable_rate(reference: np.ndarray, corrupted: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Per-row fraction of the *unperturbed* positions that the dynamics changed.

    NaN for a row where every position was perturbed.
    """
    reference, corrupted, final = np.broadcast_arrays(reference, corrupted, final)
    kept = corrupted == reference
    n_kept = kept.sum(axis=-1)
    moved = (kept & (final != reference)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_kept > 0, moved / np.maximum(n_kept, 1), np.nan)


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Overlap m = (1/N) sum_i a_i b_i of +-1 configurations along the last axis."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).mean(axis=-1)


def overlap_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All pairwise overlaps M[r, s] = (1/N) sum_i a[r, i] b[s, i], computed in float64.

    a : (R, N) or (N,), b : (S, N) or (N,) configurations; returns (R, S), with the
    axis of a 1-d argument dropped. Safe for int8 spins, where ``a @ b.T`` would
    wrap around silently for N > 127.
    """
    A = np.asarray(a, dtype=np.float64)
    B = np.asarray(b, dtype=np.float64)
    if A.shape[-1] != B.shape[-1]:
        raise ValueError(f"a has N = {A.shape[-1]} entries per row but b has {B.shape[-1]}")
    return (A @ B.T) / A.shape[-1]


def two_sample_auc(x: np.ndarray, y: np.ndarray) -> dict:
    """Mann-Whitney probability of superiority A = P(X < Y) + P(X = Y) / 2, with its errors.

    x, y : 1-D samples (e.g. sequence entropies of references and of held-out or
    generated sequences). A = 0.5 when the two distributions are the same, 1 when every
    x lies below every y. Returns {"name", "auc", "se0", "se", "z", "n_x", "n_y"}:
    se0 = sqrt((n_x + n_y + 1) / (12 n_x n_y)) is the standard error under the null
    hypothesis of equal distributions (no ties); se is DeLong's estimate from the
    placements (valid under the alternative); z = (A - 0.5) / se0.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    nx, ny = x.size, y.size
    if nx < 2 or ny < 2:
        raise ValueError(f"two_sample_auc needs at least 2 values per sample, got {nx} and {ny}")
    less = (x[:, None] < y[None, :]).astype(np.float64)
    tie = (x[:, None] == y[None, :]).astype(np.float64)
    psi = less + 0.5 * tie                      # (nx, ny) placements
    auc = float(psi.mean())
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = float(np.sqrt(v10.var(ddof=1) / nx + v01.var(ddof=1) / ny))
    se0 = float(np.sqrt((nx + ny + 1) / (12.0 * nx * ny)))
    return {"name": "Mann-Whitney AUC P(X<Y)", "auc": auc, "se0": se0, "se": se,
            "z": (auc - 0.5) / se0, "n_x": int(nx), "n_y": int(ny)}


def mean_sem(values, axis=None, skipna: bool = False):
    """Mean and standard error of the mean, the one helper every experiment uses.

    values : array-like; a floating array keeps its dtype, anything else
        becomes float64. ``axis=None`` pools every
    element (returns two Python floats); an integer axis reduces that axis
    (returns two arrays). The SEM is ``std(ddof=1) / sqrt(n)`` with n the
    number of values averaged, and 0 where n <= 1 (a single value has no
    spread to estimate). ``skipna=True`` ignores NaNs, n then counting only
    the values present (NaN mean where none is).
    """
    x = np.asarray(values)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if skipna:
        n = np.sum(~np.isnan(x), axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, said above
            m = np.nanmean(x, axis=axis)
            s = np.nanstd(x, axis=axis, ddof=1) / np.sqrt(n)
        s = np.where(n > 1, s, 0.0)
    else:
        n = x.size if axis is None else x.shape[axis]
        m = x.mean(axis=axis)
        s = x.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(m)
    if axis is None:
        return float(m), float(s)
    return m, s


def seed_mean_sem(per_seed) -> dict:
    """Mean and error bar of a quantity measured on several references in each of several
    seeds (independently trained models), the error bar including the spread over seeds.

    per_seed : sequence of 1-D array-likes, one per seed, of per-reference values (a seed
        with no values is dropped).
    Returns {"mean", "sem", "sem_refs", "seeds", "per_seed", "count"}: with two or more seeds,
    `mean` is the mean of the seeds' means and `sem` their SEM over seeds (it holds the
    seeds' training spread and each seed's reference sampling error); with one seed, the
    mean and SEM over its references. `sem_refs` is always the SEM of all references
    pooled (the reference sampling error alone, as if the seeds were one model);
    `per_seed` the seeds' means (for plotting each seed); `seeds` how many there were;
    `count` the number of values. NaN mean and 0 SEM when no seed has a value.
    """
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in per_seed]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return {"mean": float("nan"), "sem": 0.0, "sem_refs": 0.0, "seeds": 0, "per_seed": [],
                "count": 0}
    m_pool, s_pool = mean_sem(np.concatenate(arrays))
    means = [float(a.mean()) for a in arrays]
    m, s = mean_sem(means) if len(arrays) > 1 else (m_pool, s_pool)
    return {"mean": m, "sem": s, "sem_refs": s_pool, "seeds": len(arrays), "per_seed": means,
            "count": int(sum(a.size for a in arrays))}


def basin_radius(fractions, mean_overlap, threshold: float = 0.95) -> float:
    """Basin radius: the largest f on the grid with mean overlap >= `threshold` at every
    grid point up to f.

    `fractions` must be increasing. Returns 0.0 when the first grid point
    already fails (or the grid starts above 0 and fails there).
    """
    from memkit.validate import check_number
    threshold = check_number("threshold", threshold, -1.0, 1.0)
    f = np.asarray(fractions, dtype=float)
    m = np.asarray(mean_overlap, dtype=float)
    if f.shape != m.shape or f.ndim != 1:
        raise ValueError(f"fractions and mean_overlap must be 1-D of equal length, got {f.shape} and {m.shape}")
    if np.any(np.diff(f) <= 0):
        raise ValueError("fractions must be strictly increasing")
    ok = m >= threshold
    if not ok[0]:
        return 0.0
    last = len(ok) if ok.all() else int(np.argmin(ok))
    return float(f[last - 1])


def coupling_agreement(a, b) -> dict:
    """How close two (N, N) coupling matrices are, off the diagonal.

    Returns {"rel_distance": ||a - b|| / ||b||, "correlation": Pearson r of the N(N-1)
    off-diagonal entries}. The distance depends on the overall scale (a network's norm
    grows without bound on separable data); the correlation does not.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
        raise ValueError(f"need two square matrices of one shape, got {a.shape} and {b.shape}")
    off = ~np.eye(a.shape[0], dtype=bool)
    return {"rel_distance": float(np.linalg.norm(a[off] - b[off]) / np.linalg.norm(b[off])),
            "correlation": float(np.corrcoef(a[off], b[off])[0, 1])}


def first_crossing(x, y, level: float, log_x: bool = True) -> float:
    """The first x at which y reaches `level` (y >= level), interpolated between grid points.

    x : (n,) increasing grid (for example loads P/N); y : (n,) values on it. The
    crossing is interpolated linearly in log x (``log_x=True``, for a log-spaced load
    grid) or in x. Returns x[0] when y[0] already reaches the level, and nan when y
    never does (or y holds nan at the points that decide it).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    if np.any(np.diff(x) <= 0) or (log_x and np.any(x <= 0)):
        raise ValueError("x must be strictly increasing (and positive for log_x)")
    u = np.log(x) if log_x else x
    above = y >= level
    if not above.any():
        return float("nan")
    i = int(np.argmax(above))
    if i == 0:
        return float(x[0])
    if not (np.isfinite(y[i - 1]) and np.isfinite(y[i])):
        return float("nan")
    w = (level - y[i - 1]) / (y[i] - y[i - 1])
    v = u[i - 1] + w * (u[i] - u[i - 1])
    return float(np.exp(v) if log_x else v)


def transition_loads(loads, train_radius, test_radius) -> dict:
    """Where a memory passes from memorising to generalising, on a load grid.

    loads : (n,) increasing P/N values; train_radius, test_radius : (n,) basin radii
    (of training and of unseen examples) at those loads. Returns
    {"half_test": the load at which the test radius first reaches half its largest
    value on the grid, "meet": the first load at which the test radius reaches the
    training radius (train - test <= 0)}, each interpolated in log load (nan when it
    does not happen on the grid).
    """
    tr, te = np.asarray(train_radius, dtype=float), np.asarray(test_radius, dtype=float)
    top = np.nanmax(te) if np.isfinite(te).any() else float("nan")
    half = first_crossing(loads, te, 0.5 * top) if top > 0 else float("nan")
    return {"half_test": half, "meet": first_crossing(loads, te - tr, 0.0)}
