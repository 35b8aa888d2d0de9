"""Learning rules: Hebb's rule and pseudo-likelihood (eqs. 10, 11).

Pseudo-likelihood splits into N independent logistic regressions, one per row
of J: row i predicts xi_i from xi_{\\i} with logit 2 beta h_i. The hot path
(`pl_objective_and_gradient`) is two BLAS matrix products with one fused
Numba pass between them that evaluates softplus and tanh without overflow.
That pass is single-threaded on purpose: it costs about a tenth of the
products, and a second thread pool woken between two multi-threaded BLAS
calls fights BLAS's spinning threads and loses more than it gains
(measured in benchmarks/bench_amsim.py).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
from numba import njit

from amsim._validate import as_spins, check_positive_float, check_positive_int


# --------------------------------------------------------------------------- Hebb
def hebb_couplings(patterns: np.ndarray) -> np.ndarray:
    """Hebb's rule J = (1/N) xi^T xi with zero diagonal (symmetric).

    Parameters
    ----------
    patterns : (P, N) of +-1

    Returns
    -------
    J : float64 (N, N)
    """
    xi = as_spins("patterns", patterns, ndim=(2,)).astype(np.float64)
    N = xi.shape[1]
    J = xi.T @ xi / N
    np.fill_diagonal(J, 0.0)
    return J


# ------------------------------------------------------------ pseudo-likelihood
def pl_loss(J: np.ndarray, patterns: np.ndarray, beta: float) -> float:
    """Negative log pseudo-likelihood L(J) of eq. 10 (a sum over patterns and neurons).

    L(J) = sum_mu sum_i log(1 + exp(-2 beta D_i^mu)),  D_i^mu = xi_i^mu h_i(xi^mu),
    evaluated with a stable softplus. Reference implementation in plain NumPy.
    """
    xi = np.asarray(patterns, dtype=np.float64)
    D = xi * (xi @ np.asarray(J, dtype=np.float64).T)
    return float(np.logaddexp(0.0, -2.0 * beta * D).sum())


def pl_gradient(J: np.ndarray, patterns: np.ndarray, beta: float) -> np.ndarray:
    """dL/dJ of eq. 10 (eq. 11 with the sign of a gradient), zero on the diagonal.

    dL/dJ_ij = -beta sum_mu xi_i^mu xi_j^mu (1 - tanh(beta D_i^mu)).
    Reference implementation in plain NumPy; see `pl_gradient_terms` for the split.
    """
    t = pl_gradient_terms(J, patterns, beta)
    return t.hebbian + t.margin


class GradientTerms(NamedTuple):
    """The two terms of the pseudo-likelihood gradient (eq. 11); they sum to dL/dJ.

    hebbian : -beta sum_mu xi_i^mu xi_j^mu (the Hebbian term, with the gradient's sign)
    margin  : +beta sum_mu xi_i^mu xi_j^mu tanh(beta D_i^mu) (the margin term)
    Both (N, N) with zero diagonal. Descent moves J along -(hebbian + margin):
    Hebbian learning, minus a correction that vanishes for patterns whose
    margin is already wide (tanh -> 1 cancels their Hebbian contribution).
    """

    hebbian: np.ndarray
    margin: np.ndarray


def pl_gradient_terms(J: np.ndarray, patterns: np.ndarray, beta: float) -> GradientTerms:
    """Split dL/dJ into its Hebbian and margin terms (eq. 11). See `GradientTerms`."""
    xi = np.asarray(patterns, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    D = xi * (xi @ J.T)
    hebb = -beta * (xi.T @ xi)
    marg = beta * ((xi * np.tanh(beta * D)).T @ xi)
    np.fill_diagonal(hebb, 0.0)
    np.fill_diagonal(marg, 0.0)
    return GradientTerms(hebb, marg)


@njit(cache=True)
def _fused_weights(H, X, c, one, two, W):
    """W = X * (two / 2) (1 - tanh(beta X H)) = X * two / (1 + exp(c X H)), c = 2 beta.

    With two = 2 the weights are those of eq. 11; the trainer passes
    two = -2 beta / P so that W^T X is already the gradient of L / P.
    H : local fields (P, N); X : patterns (P, N). Scalars come in the arrays'
    dtype so float32 stays float32. exp overflows to inf for hopeless
    patterns, giving weight 2 / inf = 0 (exact in the limit), never NaN.
    """
    P, N = H.shape
    for mu in range(P):
        for i in range(N):
            x = X[mu, i]
            W[mu, i] = x * two / (one + np.exp(c * x * H[mu, i]))


@njit(cache=True)
def _fused_weights_and_loss(H, X, c, one, two, W):
    """`_fused_weights` plus the sum of softplus(-c X H) (eq. 10), overflow-free.

    (`two` scales the weights as in `_fused_weights`; the loss is unscaled.)
    With a = -2 beta D: softplus(a) = max(a, 0) + log1p(exp(-|a|)) and
    1 - tanh(beta D) = 2 sigmoid(a), both from one exp(-|a|).
    """
    P, N = H.shape
    zero = one - one
    partial = np.zeros(P)
    for mu in range(P):
        acc = 0.0
        for i in range(N):
            x = X[mu, i]
            a = -c * x * H[mu, i]
            e = np.exp(-abs(a))
            acc += max(a, zero) + np.log1p(e)
            num = e if a < zero else one
            W[mu, i] = x * two * num / (one + e)
        partial[mu] = acc
    return partial.sum()


@njit(cache=True)
def _fused_weights_rescaled(H, X, c, one, shift, exp_shift, W):
    """Weights of row i divided by 2 sigmoid(shift[i]): W = X * sigmoid(a) / sigmoid(s).

    a = -c X H = -2 beta D; with s = min(max_mu a, 0) per row the largest weight
    of the row is O(1), so the gradient *direction* of each row stays exact
    even when every margin is so wide that the plain weights underflow:
    sigmoid(a) / sigmoid(s) = (e^s + 1) / (e^s + e^(s - a)).
    """
    P, N = H.shape
    for mu in range(P):
        for i in range(N):
            x = X[mu, i]
            es = exp_shift[i]
            W[mu, i] = x * (es + one) / (es + np.exp(shift[i] + c * x * H[mu, i]))


def _gradient_weights(H, X, c, scale, W):
    """W = X * scale / (1 + exp(c X H)), the gradient weights, by the faster route per dtype.

    float32: NumPy's SIMD exp over whole arrays (six passes, still faster than
    a scalar expf per entry); float64: the fused Numba loop. Measured in
    benchmarks/bench_amsim.py; both compute the same expression.
    """
    if X.dtype == np.float32:
        np.multiply(X, H, out=W)
        W *= c
        with np.errstate(over="ignore"):
            np.exp(W, out=W)      # overflow to inf gives weight 0, as in the loop
        W += np.float32(1.0)
        np.divide(scale, W, out=W)
        W *= X
    else:
        _fused_weights(H, X, c, X.dtype.type(1.0), scale, W)


def _row_direction(J, ws, beta):
    """A gradient whose rows point exactly along the rows of dF/dJ (l2 = 0).

    Rows are rescaled by positive factors (see `_fused_weights_rescaled`), so
    only row directions are meaningful: used by the normalised schedule.
    """
    X, H, W, G = ws.X, ws.H, ws.W, ws.G
    t = X.dtype.type
    np.matmul(X, J.T, out=H)
    a_top = (-2.0 * beta) * _column_min_of_product(X, H)
    shift = np.minimum(a_top, 0.0).astype(X.dtype)
    _fused_weights_rescaled(H, X, t(2.0 * beta), t(1.0), shift, np.exp(shift), W)
    np.matmul(W.T, X, out=G)
    G *= t(-1.0)
    np.fill_diagonal(G, 0.0)
    return G


@njit(cache=True)
def _column_min_of_product(X, H):
    P, N = H.shape
    out = np.full(N, np.inf)
    for mu in range(P):
        for i in range(N):
            d = X[mu, i] * H[mu, i]
            if d < out[i]:
                out[i] = d
    return out


class _Workspace:
    """Buffers for repeated objective/gradient evaluations on one data set."""

    def __init__(self, patterns: np.ndarray, dtype):
        self.X = np.ascontiguousarray(patterns, dtype=dtype)
        P, N = self.X.shape
        self.H = np.empty((P, N), dtype=dtype)
        self.W = np.empty((P, N), dtype=dtype)
        self.G = np.empty((N, N), dtype=dtype)


def pl_objective_and_gradient(J, patterns, beta, l2=0.0, workspace=None, with_loss=True):
    """Training objective F(J) = L(J)/P + l2 ||J||_F^2 and its gradient, fast.

    L is eq. 10; dividing by P makes step sizes independent of the number of
    patterns, and the L2 term follows plmDCA's convention (lambda per sample
    average). Two BLAS products (H = X J^T, G = W^T X) around one fused
    Numba pass. The gradient's diagonal is zero, so a zero diagonal stays zero.
    With `with_loss=False` the objective is not evaluated (F is NaN): the
    gradient alone needs one exp per entry, the objective a log1p as well.

    Returns
    -------
    F : float
    G : (N, N) array in the dtype of the workspace (float32 or float64). It is
        a buffer reused by the next call with the same `workspace`.
    """
    ws = workspace if workspace is not None else _Workspace(patterns, np.asarray(J).dtype)
    X, H, W, G = ws.X, ws.H, ws.W, ws.G
    t = X.dtype.type
    P = X.shape[0]
    Jc = J if J.dtype == X.dtype else J.astype(X.dtype)
    np.matmul(X, Jc.T, out=H)
    # the weights carry the factor -beta / P of the gradient, so G = W^T X needs no extra pass
    scale = t(-2.0 * beta / P)
    if with_loss:
        F = _fused_weights_and_loss(H, X, t(2.0 * beta), t(1.0), scale, W) / P
    else:
        _gradient_weights(H, X, t(2.0 * beta), scale, W)
        F = np.nan
    np.matmul(W.T, X, out=G)
    np.fill_diagonal(G, 0.0)
    if l2 > 0:
        if with_loss:
            F += l2 * float(np.vdot(Jc, Jc))
        G += t(2.0 * l2) * Jc
        np.fill_diagonal(G, 0.0)
    return float(F), G


# -------------------------------------------------------------------- training
@dataclass
class TrainingHistory:
    """What pseudo-likelihood training recorded, one entry per recorded step.

    step : (T,) iteration numbers
    loss : (T,) objective F = L/P + l2 ||J||^2
    min_margin : (T, N) normalised minimum margin of each row, min_mu Delta_i^mu (eq. 7)
    row_norm : (T, N) ||J_i||
    grad_norm : (T,) Frobenius norm of dF/dJ
    hebbian_norm, margin_norm : (T,) Frobenius norms of the two terms of eq. 11
        (per pattern, i.e. divided by P, like F)
    learning_rate : the step size used (the automatic one if none was given;
        None for L-BFGS)
    converged : L-BFGS only: True if it stopped on its tolerance before the
        iteration cap (None for gradient descent, which runs all its steps)
    message : why training stopped
    """

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    min_margin: list = field(default_factory=list)
    row_norm: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    hebbian_norm: list = field(default_factory=list)
    margin_norm: list = field(default_factory=list)
    learning_rate: float | None = None
    converged: bool | None = None
    message: str = ""

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The recorded series (one entry per recorded step) as arrays."""
        return {k: np.asarray(v) for k, v in self.__dict__.items() if isinstance(v, list)}

    def __len__(self) -> int:
        return len(self.step)


SOLVERS = ("gd", "lbfgs")
SCHEDULES = ("constant", "normalised")


def lipschitz_bound(patterns: np.ndarray, beta: float) -> float:
    """Upper bound on the curvature of F = L/P per row: beta^2 ||X||_2^2 / P.

    The logistic Hessian of row i is (4 beta^2 / P) sum_mu s(1-s) x_mu x_mu^T
    with s(1 - s) <= 1/4, so beta^2 lambda_max(X^T X) / P bounds it; a
    constant gradient step of 1 / bound never increases the objective.
    """
    X = np.asarray(patterns, dtype=np.float64)
    smax = np.linalg.norm(X, ord=2)
    return beta**2 * smax**2 / X.shape[0]


def train_pseudo_likelihood(
    patterns: np.ndarray,
    beta: float = 1.0,
    l2: float = 0.0,
    solver: str = "gd",
    schedule: str = "constant",
    learning_rate: float | None = None,
    n_steps: int = 1000,
    record_every: int = 10,
    J0: np.ndarray | None = None,
    dtype=np.float64,
    progress: bool = False,
    callback: Callable[[int, np.ndarray, float, np.ndarray], None] | None = None,
):
    """Minimise the pseudo-likelihood objective F(J) = L(J)/P + l2 ||J||^2 (eq. 10).

    Parameters
    ----------
    patterns : (P, N) training patterns of +-1
    beta : inverse temperature (> 0); only rescales J (L_beta(J) = L_1(beta J))
    l2 : L2 strength (>= 0); 0 means none (on separable data ||J|| then grows forever)
    solver : "gd" (full-batch gradient descent) or "lbfgs" (quasi-Newton, scipy's L-BFGS-B)
    schedule : for "gd": "constant" (J -= lr grad) or "normalised" (each row
        moves by lr along its own gradient direction, J_i -= lr g_i / ||g_i||,
        which keeps making progress in margin once the loss is tiny)
    learning_rate : step size; None picks 1 / `lipschitz_bound` (a step that
        cannot overshoot) for "constant" and 1 / sqrt(bound) for "normalised"
    n_steps : iterations of gradient descent, or the L-BFGS iteration cap
    record_every : record the history every this many steps (and at the end). With
        "lbfgs" a record reuses the optimiser's own evaluation at the iterate, so even
        record_every=1 adds no objective evaluation (only the history's bookkeeping)
    J0 : initial couplings (default zeros: the first GD step is then Hebb's rule)
    dtype : np.float64 or np.float32 for the products
    callback : called as callback(step, J, F, G) at every recorded step. J and G are
        the trainer's working arrays, changed in place afterwards: keep a snapshot
        with ``J.copy()``.

    Returns
    -------
    J : (N, N) float64 couplings with zero diagonal
    history : TrainingHistory
    """
    xi = as_spins("patterns", patterns, ndim=(2,))
    P, N = xi.shape
    beta = check_positive_float("beta", beta)
    l2 = check_positive_float("l2", l2, allow_zero=True)
    n_steps = check_positive_int("n_steps", n_steps, minimum=0)
    record_every = check_positive_int("record_every", record_every)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    from amsim._validate import check_couplings_memory
    check_couplings_memory(N, P, "pl", solver)
    if J0 is None:
        J = np.zeros((N, N), dtype=dtype)
    else:
        from amsim.network import check_couplings

        J = check_couplings(J0).astype(dtype, copy=True)
        if J.shape != (N, N):
            raise ValueError(f"J0 has shape {J.shape}, expected ({N}, {N})")
    if learning_rate is None and solver == "gd":
        bound = lipschitz_bound(xi, beta)
        learning_rate = 1.0 / bound if schedule == "constant" else 1.0 / np.sqrt(bound)
    lr = check_positive_float("learning_rate", learning_rate) if learning_rate is not None else None

    ws = _Workspace(xi, dtype)
    # Hebbian term of eq. 11 per pattern: constant during training
    hebb_term = -(beta / P) * (ws.X.T.astype(np.float64) @ ws.X.astype(np.float64))
    np.fill_diagonal(hebb_term, 0.0)
    hebb_norm = float(np.linalg.norm(hebb_term))
    history = TrainingHistory(learning_rate=lr if solver == "gd" else None)

    def record(step, J, F, G):
        D = ws.X * ws.H  # fields of the last evaluation at this J
        norms = np.linalg.norm(J, axis=1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mm = np.where(norms > 0, D.min(axis=0) / norms, np.nan)
        gnorm = float(np.linalg.norm(G))
        history.step.append(step)
        history.loss.append(F)
        history.min_margin.append(mm)
        history.row_norm.append(norms)
        history.grad_norm.append(gnorm)
        history.hebbian_norm.append(hebb_norm)
        # margin term per pattern = gradient - Hebbian term - L2 term
        marg = G.astype(np.float64) - hebb_term - 2.0 * l2 * J
        np.fill_diagonal(marg, 0.0)
        history.margin_norm.append(float(np.linalg.norm(marg)))
        if callback is not None:
            callback(step, J, F, G)

    if solver == "gd":
        J = _gradient_descent(J, ws, beta, l2, schedule, lr, n_steps, record_every, record, progress)
        history.message = f"ran {n_steps} gradient steps"
    else:
        J = _lbfgs(J, ws, beta, l2, n_steps, record_every, record, progress, history)
    return J.astype(np.float64), history


def _progress_bar(total, enabled, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False)


def _gradient_descent(J, ws, beta, l2, schedule, lr, n_steps, record_every, record, progress):
    rescaled = schedule == "normalised" and l2 == 0
    with _progress_bar(n_steps, progress, "PL gradient descent") as bar:
        for step in range(n_steps + 1):
            recording = step % record_every == 0 or step == n_steps
            if recording:
                F, G = pl_objective_and_gradient(J, None, beta, l2, ws)
                record(step, J, F, G)
                bar.set_postfix(loss=f"{F:.4g}", refresh=False)
                if step == n_steps:
                    break
            if rescaled:
                G = _row_direction(J, ws, beta)
            elif not recording:
                _, G = pl_objective_and_gradient(J, None, beta, l2, ws, with_loss=False)
            if schedule == "constant":
                J -= J.dtype.type(lr) * G
            else:
                gn = np.linalg.norm(G, axis=1, keepdims=True)
                J -= J.dtype.type(lr) * G / np.where(gn > 0, gn, 1.0)
            bar.update(1)
    return J


@contextmanager
def _optimizer_blas_single_threaded():
    """Run scipy's own BLAS on one thread while L-BFGS-B works; NumPy's keeps its threads.

    The NumPy and SciPy wheels each bundle an OpenBLAS with its own thread pool. Between
    calls the idle pool's threads spin, so L-BFGS-B's vector updates (scipy's BLAS) and
    the objective's matrix products (NumPy's) fight for the cores: on 2 cores a fit at
    N = 200 ran 5-7x slower than with either pool on one thread, and at N = 1000,
    P = 2000 1.4x slower (measured with threadpoolctl). Where both use one BLAS
    library (e.g. conda) there is nothing to separate and nothing is changed.
    """
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    blas = [lc for lc in controller.lib_controllers if lc.user_api == "blas"]
    numpy_blas = [lc for lc in blas if _is_numpy_library(lc.filepath)]
    others = [lc.filepath for lc in blas if not _is_numpy_library(lc.filepath)]
    if not numpy_blas or not others:
        yield
        return
    with controller.select(filepath=others).limit(limits=1):
        yield


def _is_numpy_library(filepath: str) -> bool:
    parts = os.path.normpath(filepath).split(os.sep)
    return any(part == "numpy" or part.startswith("numpy.") for part in parts)


def _lbfgs(J, ws, beta, l2, n_steps, record_every, record, progress, history):
    """L-BFGS-B on F(J); records every `record_every` iterations without extra evaluations.

    The objective wrapper keeps the last point it evaluated (x, F; the gradient G and
    the fields H stay in the workspace buffers). scipy calls the callback right after
    the line search accepted its last evaluation, so recording at that x reuses those
    values: a history at every iteration costs no objective evaluation of its own
    (before, each recorded step paid one: 1.8 s against 0.4 s at N = 200). Should the
    accepted point differ from the last evaluated one, it is evaluated afresh.
    """
    from scipy.optimize import minimize

    N = J.shape[0]
    dtype = J.dtype
    state = {"it": 0}
    last = {"x": None, "F": None}  # the last point `fun` evaluated; G, H live in ws

    def fun(v):
        Jv = v.reshape(N, N).astype(dtype, copy=False)
        F, G = pl_objective_and_gradient(Jv, None, beta, l2, ws)
        last["x"], last["F"] = v.copy(), F
        return F, G.astype(np.float64).ravel()

    def evaluated_at(x):
        """F, G at x (the workspace then holds the fields at x): reused if x was the last point."""
        if last["x"] is not None and np.array_equal(last["x"], x):
            return last["F"], ws.G
        last["x"] = None  # the workspace now holds another point
        return pl_objective_and_gradient(x.reshape(N, N).astype(dtype), None, beta, l2, ws)

    bar = _progress_bar(n_steps, progress, "PL L-BFGS")

    def cb(intermediate_result):
        state["it"] += 1
        bar.update(1)
        if state["it"] % record_every == 0:
            x = intermediate_result.x
            F, G = evaluated_at(x)
            record(state["it"], x.reshape(N, N).astype(dtype), F, G)

    F0, G0 = pl_objective_and_gradient(J, None, beta, l2, ws)
    record(0, J, F0, G0)
    with _optimizer_blas_single_threaded():
        res = minimize(
            fun, J.astype(np.float64).ravel(), jac=True, method="L-BFGS-B", callback=cb,
            options={"maxiter": n_steps, "gtol": 1e-10, "ftol": 1e-14, "maxcor": 20},
        )
    bar.close()
    history.converged = bool(res.success)
    history.message = f"L-BFGS-B after {state['it']} iterations: {res.message}"
    if l2 == 0 and history.converged:
        history.message += (" (l2 = 0: on separable data the optimum is at infinity, so where"
                            " L-BFGS stops depends on its tolerance; use l2 > 0 for a unique J)")
    Jf = res.x.reshape(N, N).astype(dtype)
    np.fill_diagonal(Jf, 0.0)
    if history.step[-1] != state["it"]:
        F, G = evaluated_at(Jf.astype(np.float64).ravel())
        record(state["it"], Jf, F, G)
    return Jf
