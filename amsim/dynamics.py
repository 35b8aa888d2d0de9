"""Retrieval dynamics: synchronous, asynchronous and Glauber, many trials in parallel.

Deterministic dynamics (eq. 6): sigma_i <- sign(h_i(sigma)) with h = J sigma,
the argmax of eq. 9 (eq. 8). Glauber dynamics samples sigma_i from eq. 9 at
inverse temperature beta. Every mode uses the same field h_i = sum_j J_ij sigma_j
(row convention), so an asymmetric J means the same thing in all of them.

Tie rule (h_i = 0): "keep" leaves the spin as it is, "plus" sets it to +1. A
field counts as a tie when |h_i| <= tie_tol, where tie_tol defaults to
1e-10 times the largest absolute row sum of J, so that round-off in the
incrementally updated fields cannot break a tie at random.

The asynchronous kernel keeps all N fields up to date: a flip of spin j adds
2 sigma_j J[:, j] to h (O(N)), so a sweep near a fixed point costs O(N)
instead of O(N^2). The accumulated round-off after n flips is about
sqrt(n) * 1e-16 * max|J|, far below tie_tol for any reachable n, so a field
that clears the tolerance has the sign its exact value has.

Status of each trial:
    CONVERGED (0)  a full sweep changed nothing: a fixed point
    CYCLE (1)      the state repeated an earlier state (deterministic modes only);
                   `period` gives the cycle length in sweeps (2 for the usual
                   synchronous 2-cycle)
    MAX_SWEEPS (2) the sweep cap was reached first
    SAMPLED (3)    Glauber dynamics ran its fixed number of sweeps

Randomness (permutations of the asynchronous order, Glauber's coin flips)
comes from one 64-bit seed per trial drawn from the caller's Generator, so
the result does not depend on how many threads ran the trials.

Memory: the asynchronous kernel reads column j of J as a contiguous row. For a
symmetric J (Hebb's rule) that is row j itself, so J is used as it is; only an
asymmetric J is copied transposed (one extra N x N array). `is_symmetric` checks
a block of rows at a time, and the default tie tolerance is computed the same
way, so neither makes an N x N temporary.

One synchronous step, sigma <- sign(J sigma) once (the one-step error of Hebb's
rule, course sheets 1-2), is `sync_step`: it returns the states, not a
`RetrievalResult` whose every trial would report MAX_SWEEPS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from amsim._validate import as_rng, as_spins, check_positive_float, check_positive_int
from amsim.network import TIES, check_couplings
from memkit.measures import overlap

CONVERGED, CYCLE, MAX_SWEEPS, SAMPLED = 0, 1, 2, 3
STATUS_NAMES = {CONVERGED: "converged", CYCLE: "cycle", MAX_SWEEPS: "max_sweeps", SAMPLED: "sampled"}
MODES = ("sync", "async", "glauber")
ORDERS = ("random", "fixed")


@dataclass
class RetrievalResult:
    """End states of many trials of the dynamics.

    states : int8 (T, N) final states
    n_sweeps : int (T,) sweeps run (a synchronous step counts as one sweep)
    status : int (T,) CONVERGED, CYCLE, MAX_SWEEPS or SAMPLED
    period : int (T,) cycle length in sweeps where status == CYCLE, else 0
    """

    states: np.ndarray
    n_sweeps: np.ndarray
    status: np.ndarray
    period: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        """Boolean (T,): the trial ended on a fixed point."""
        return self.status == CONVERGED

    @property
    def cycled(self) -> np.ndarray:
        """Boolean (T,): the trial ended in a cycle (its length is in `period`)."""
        return self.status == CYCLE

    @property
    def hit_cap(self) -> np.ndarray:
        """Boolean (T,): the trial ran out of sweeps before converging or cycling."""
        return self.status == MAX_SWEEPS

    def overlap(self, references) -> np.ndarray:
        """Overlap m = (1/N) sum_i s_i xi_i of each final state with its reference.

        references : (N,) one reference for every trial, or (T, N) one per trial.
        Returns float (T,).
        """
        ref = np.asarray(references)
        if ref.shape[-1] != self.states.shape[1] or ref.ndim > 2 or (
                ref.ndim == 2 and ref.shape[0] != self.states.shape[0]):
            raise ValueError(f"references must have shape ({self.states.shape[1]},) or "
                             f"{self.states.shape}, got {ref.shape}")
        return overlap(self.states, ref)

    def summary(self) -> dict[str, int]:
        """Counts of each status."""
        return {name: int(np.sum(self.status == code)) for code, name in STATUS_NAMES.items()}


# ------------------------------------------------------------ random numbers
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True)
def _next_uniform(state):
    """splitmix64 step on state[0]; returns a float64 uniform in [0, 1)."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return (z >> _S11) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _shuffle(order, state):
    n = order.shape[0]
    for k in range(n - 1, 0, -1):
        j = int(_next_uniform(state) * (k + 1))
        if j > k:
            j = k
        tmp = order[k]
        order[k] = order[j]
        order[j] = tmp


@njit(cache=True)
def _state_hash(s):
    h = _FNV_OFFSET
    for i in range(s.shape[0]):
        h = (h ^ np.uint64(s[i] > 0)) * _FNV_PRIME
    return h


# ------------------------------------------------------------ kernels
@njit(cache=True, inline="always")
def _zero_temperature_spin(h, old, tie_plus, tie_tol):
    """sign(h) with the tie rule (eq. 6): |h| <= tie_tol keeps `old`, or gives +1."""
    if h > tie_tol:
        return 1
    if h < -tie_tol:
        return -1
    return 1 if tie_plus else old


@njit(parallel=True, cache=True)
def _async_kernel(JT, S, H, seeds, max_sweeps, random_order, tie_plus, tie_tol,
                  glauber, beta, out_sweeps, out_status, out_period):
    T, N = S.shape
    for t in prange(T):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[t]
        s = S[t]
        h = H[t]
        order = np.arange(N)
        hashes = np.empty(max_sweeps + 1, dtype=np.uint64)
        hashes[0] = _state_hash(s)
        status = MAX_SWEEPS if not glauber else SAMPLED
        period = 0
        sweep = 0
        while sweep < max_sweeps:
            sweep += 1
            if random_order:
                _shuffle(order, state)
            flips = 0
            for k in range(N):
                i = order[k]
                hi = h[i]
                if glauber:
                    # p(+1) = 1 / (1 + exp(-2 beta h)), eq. 9
                    x = -2.0 * beta * hi
                    if x > 0:
                        e = np.exp(-x)
                        p_plus = e / (1.0 + e)
                    else:
                        p_plus = 1.0 / (1.0 + np.exp(x))
                    new = 1 if _next_uniform(state) < p_plus else -1
                else:
                    new = _zero_temperature_spin(hi, s[i], tie_plus, tie_tol)
                if new != s[i]:
                    s[i] = new
                    flips += 1
                    d = 2.0 * new
                    col = JT[i]
                    for j in range(N):
                        h[j] += d * col[j]
            if glauber:
                continue
            if flips == 0:
                status = CONVERGED
                break
            if not random_order:
                hs = _state_hash(s)
                found = -1
                for b in range(sweep - 1, -1, -1):
                    if hashes[b] == hs:
                        found = b
                        break
                hashes[sweep] = hs
                if found >= 0 and flips > 0:
                    status = CYCLE
                    period = sweep - found
                    break
        out_sweeps[t] = sweep
        out_status[t] = status
        out_period[t] = period


@njit(parallel=True, cache=True)
def _sign_with_ties(H, S, tie_plus, tie_tol, out):
    T, N = H.shape
    changed = np.zeros(T, dtype=np.bool_)
    for t in prange(T):
        c = False
        for i in range(N):
            v = _zero_temperature_spin(H[t, i], S[t, i], tie_plus, tie_tol)
            out[t, i] = v
            if v != S[t, i]:
                c = True
        changed[t] = c
    return changed


@njit(parallel=True, cache=True)
def _hash_rows(S):
    out = np.empty(S.shape[0], dtype=np.uint64)
    for t in prange(S.shape[0]):
        out[t] = _state_hash(S[t])
    return out


def _sync_update(J, S, tie_plus, tie_tol, out):
    """out <- sign(J sigma) for every row sigma of S (eq. 6, all neurons at once); True where a row changed."""
    H = S.astype(J.dtype) @ J.T
    return _sign_with_ties(H, S, tie_plus, tie_tol, out)


def _sync(J, S, max_sweeps, tie_plus, tie_tol):
    T, N = S.shape
    n_sweeps = np.zeros(T, dtype=np.int64)
    status = np.full(T, MAX_SWEEPS, dtype=np.int64)
    period = np.zeros(T, dtype=np.int64)
    hashes = np.zeros((T, max_sweeps + 1), dtype=np.uint64)
    hashes[:, 0] = _hash_rows(S)
    active = np.arange(T)
    new = np.empty_like(S)
    for sweep in range(1, max_sweeps + 1):
        if active.size == 0:
            break
        Sa = S[active]
        out = new[: active.size]
        changed = _sync_update(J, Sa, tie_plus, tie_tol, out)
        S[active] = out
        n_sweeps[active] = sweep
        hs = _hash_rows(out)
        done = ~changed
        status[active[done]] = CONVERGED
        # cycles: the new state equals one seen before (but not the last one)
        prev = hashes[active, :sweep]
        match = prev == hs[:, None]
        cyc = changed & match.any(axis=1)
        if np.any(cyc):
            last_seen = sweep - 1 - np.argmax(match[:, ::-1], axis=1)
            status[active[cyc]] = CYCLE
            period[active[cyc]] = sweep - last_seen[cyc]
        hashes[active, sweep] = hs
        active = active[~(done | cyc)]
    return n_sweeps, status, period


BLOCK_BYTES = 1 << 22  # 4 MiB: the temporaries of the symmetry check and the tie tolerance


def _block_rows(J, block):
    """Rows per block: `block`, or as many float64 rows as fit in BLOCK_BYTES."""
    if block is not None:
        return check_positive_int("block", block)
    return max(1, BLOCK_BYTES // (8 * max(J.shape[-1], 1)))


def is_symmetric(J: np.ndarray, block: int | None = None) -> bool:
    """True when J equals its transpose exactly (J_ij == J_ji for all i, j).

    Compares the upper triangle one block of rows at a time (`block` rows, by
    default about 4 MiB of them), so the check makes no N x N temporary, and
    stops at the first block that differs (an asymmetric J fails in the first).
    """
    J = np.asarray(J)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        return False
    N, b = J.shape[0], _block_rows(J, block)
    for i0 in range(0, N, b):
        i1 = min(i0 + b, N)
        if not np.array_equal(J[i0:i1, i0:], J[i0:, i0:i1].T):
            return False
    return True


def block_tie_tol(J: np.ndarray, block: int | None = None) -> float:
    """The default tie tolerance 1e-10 max_i sum_j |J_ij|, a block of rows at a time.

    The same number as `amsim.network.default_tie_tol` (each row sum is the same
    reduction), without its N x N temporary |J|: the largest temporary is one
    block of rows (`block` rows, by default about 4 MiB of them).
    """
    J = np.asarray(J)
    b = _block_rows(J, block)
    best = 0.0
    for i0 in range(0, J.shape[0], b):
        best = max(best, float(np.abs(np.asarray(J[i0:i0 + b], dtype=np.float64)).sum(axis=1).max()))
    return 1e-10 * best


def _tie_rule(J, tie, tie_tol):
    """(tie_plus, tie_tol) from the `tie` and `tie_tol` arguments, checked."""
    if tie not in TIES:
        raise ValueError(f"tie must be one of {TIES}, got {tie!r}")
    if tie_tol is None:
        tie_tol = block_tie_tol(J)
    return tie == "plus", check_positive_float("tie_tol", tie_tol, allow_zero=True)


def sync_step(J: np.ndarray, states: np.ndarray, *, tie: str = "keep",
              tie_tol: float | None = None) -> np.ndarray:
    """One synchronous update of every neuron: sigma_i <- sign(h_i(sigma)), h = J sigma (eq. 6).

    Parameters
    ----------
    J : (N, N) couplings, zero diagonal, any symmetry (row i holds the inputs of neuron i)
    states : (N,) or (T, N) states of +-1 (not modified)
    tie, tie_tol : the tie rule, as in `run_dynamics`

    Returns
    -------
    int8 array of the shape of `states`: the states after exactly one step. The
    same states as ``run_dynamics(J, states, "sync", max_sweeps=1).states``,
    without a status (one step is not a dynamics run that failed to converge).
    """
    J = check_couplings(J)
    x0 = as_spins("states", states)
    S = x0.reshape(-1, x0.shape[-1])
    if S.shape[1] != J.shape[0]:
        raise ValueError(f"states have {S.shape[1]} neurons but J has N = {J.shape[0]}")
    tie_plus, tie_tol = _tie_rule(J, tie, tie_tol)
    out = np.empty(S.shape, dtype=np.int8)
    _sync_update(J, np.ascontiguousarray(S, dtype=np.int8), tie_plus, tie_tol, out)
    return out.reshape(x0.shape)


def run_dynamics(
    J: np.ndarray,
    initial: np.ndarray,
    mode: str = "async",
    *,
    order: str = "random",
    tie: str = "keep",
    max_sweeps: int = 100,
    beta: float | None = None,
    n_sweeps: int | None = None,
    tie_tol: float | None = None,
    seed=None,
    symmetric: bool | None = None,
) -> RetrievalResult:
    """Run the network dynamics from one or many initial states.

    Parameters
    ----------
    J : (N, N) couplings, zero diagonal, any symmetry
    initial : (N,) or (T, N) initial states of +-1 (not modified)
    mode : "sync" (all neurons at once), "async" (one neuron at a time) or
        "glauber" (asynchronous sampling from eq. 9 at `beta`)
    order : for "async"/"glauber": "random" (a fresh permutation every sweep) or
        "fixed" (neurons 0..N-1 in turn; deterministic, so cycles are detected)
    tie : "keep" or "plus" (what sign(0) means; see the module docstring)
    max_sweeps : cap on sweeps for the deterministic modes
    beta : inverse temperature for "glauber" (required there)
    n_sweeps : number of sweeps for "glauber" (default `max_sweeps`)
    tie_tol : fields with |h| <= tie_tol are ties (default 1e-10 max_i sum_j |J_ij|)
    seed : int or numpy Generator (permutations, Glauber coin flips)
    symmetric : for "async"/"glauber": None checks whether J == J.T (`is_symmetric`);
        True is the caller's promise that it is (not checked; Hebb's rule is symmetric
        by construction); False always copies J transposed. A symmetric J is not
        copied. The result is the same either way.

    Returns
    -------
    RetrievalResult with `states` of shape (T, N) (T = 1 for a single state).
    """
    J = check_couplings(J)
    x0 = as_spins("initial", initial)
    S = np.array(x0.reshape(-1, x0.shape[-1]), dtype=np.int8, copy=True)
    N = J.shape[0]
    if S.shape[1] != N:
        raise ValueError(f"initial states have {S.shape[1]} neurons but J has N = {N}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if tie not in TIES:
        raise ValueError(f"tie must be one of {TIES}, got {tie!r}")
    max_sweeps = check_positive_int("max_sweeps", max_sweeps)
    tie_plus, tie_tol = _tie_rule(J, tie, tie_tol)
    rng = as_rng(seed)
    T = S.shape[0]
    if mode == "sync":
        sweeps, status, period = _sync(J, S, max_sweeps, tie_plus, tie_tol)
        return RetrievalResult(S, sweeps, status, period)
    glauber = mode == "glauber"
    if glauber:
        if beta is None:
            raise ValueError("mode='glauber' needs an inverse temperature beta > 0")
        beta = check_positive_float("beta", beta)
        max_sweeps = check_positive_int("n_sweeps", n_sweeps if n_sweeps is not None else max_sweeps)
    Jf = np.ascontiguousarray(J, dtype=np.float64)
    if symmetric is None:
        symmetric = is_symmetric(Jf)
    # the kernel reads column j of J as a contiguous row: for a symmetric J, row j itself
    JT = Jf if symmetric else np.ascontiguousarray(Jf.T)
    H = S.astype(np.float64) @ Jf.T
    seeds = rng.integers(0, 2**63 - 1, size=T, dtype=np.int64).astype(np.uint64)
    out_sweeps = np.zeros(T, dtype=np.int64)
    out_status = np.zeros(T, dtype=np.int64)
    out_period = np.zeros(T, dtype=np.int64)
    _async_kernel(JT, S, H, seeds, max_sweeps, order == "random", tie_plus, tie_tol,
                  glauber, float(beta or 0.0), out_sweeps, out_status, out_period)
    return RetrievalResult(S, out_sweeps, out_status, out_period)
