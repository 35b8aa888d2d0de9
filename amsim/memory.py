"""Associative memories as estimators: fit couplings to patterns, then probe them.

scikit-learn conventions: parameters in the constructor, learned state in
attributes ending in `_`, `fit` returns self.

    >>> from amsim import random_patterns, PseudoLikelihoodMemory
    >>> xi = random_patterns(50, 100, seed=0)
    >>> net = PseudoLikelihoodMemory(beta=1.0, n_steps=200).fit(xi)
    >>> bool(net.is_fixed_point(xi).all())
    True
"""
from __future__ import annotations

import numpy as np

from amsim import network
from amsim._validate import (as_spins, check_couplings_memory, check_positive_float,
                             check_positive_int)
from amsim.dynamics import RetrievalResult, run_dynamics, sync_step
from amsim.learning import hebb_couplings, train_pseudo_likelihood
from amsim.maxmargin import max_margin_couplings
from amsim.netfile import save_network


class AssociativeMemory:
    """A network of N +-1 neurons with couplings `J_` (zero diagonal, any symmetry).

    Parameters
    ----------
    beta : inverse temperature used by the conditional probabilities (eq. 9),
        the entropies and Glauber dynamics.

    Attributes
    ----------
    J_ : (N, N) float64 couplings; row i holds the inputs of neuron i (h = J sigma).
    """

    rule = "given"

    def __init__(self, beta: float = 1.0):
        self.beta = check_positive_float("beta", beta)

    # -- construction ---------------------------------------------------------
    @classmethod
    def from_couplings(cls, J, beta: float = 1.0) -> "AssociativeMemory":
        """A memory with the given couplings (validated: square, finite, zero diagonal)."""
        check_positive_float("beta", beta)
        net = AssociativeMemory(beta=beta)
        net.J_ = network.check_couplings(J).astype(np.float64)
        return net

    def _check_fitted(self):
        if not hasattr(self, "J_"):
            raise ValueError(f"{type(self).__name__} has no couplings yet: call fit(patterns) first")

    @property
    def n_neurons(self) -> int:
        self._check_fitted()
        return self.J_.shape[0]

    # -- probes -------------------------------------------------------------------
    def local_fields(self, sigma) -> np.ndarray:
        """h = J sigma for (N,) or (T, N) states."""
        self._check_fitted()
        return network.local_fields(self.J_, self._states(sigma))

    def conditional_probability(self, sigma) -> np.ndarray:
        """p(sigma_i | sigma_{\\i}) at every neuron (eq. 9), shape of `sigma`."""
        self._check_fitted()
        return network.conditional_probability(self.J_, self._states(sigma), self.beta)

    def conditional_entropy(self, sigma, total: bool = False) -> np.ndarray:
        """Per-neuron conditional entropy (nats); summed over neurons if `total`."""
        self._check_fitted()
        s = self._states(sigma)
        if total:
            return network.total_conditional_entropy(self.J_, s, self.beta)
        return network.conditional_entropy(self.J_, s, self.beta)

    def margins(self, patterns, normalised: bool = True) -> np.ndarray:
        """Margins of `patterns` at every neuron (eq. 7), shape (P, N)."""
        self._check_fitted()
        return network.margins(self.J_, self._states(patterns), normalised=normalised)

    def is_fixed_point(self, sigma, tie: str = "keep", tie_tol: float | None = None) -> np.ndarray:
        """True for states no neuron wants to leave, with the tie rule of `run`.

        See `amsim.network.is_fixed_point`.
        """
        self._check_fitted()
        return network.is_fixed_point(self.J_, self._states(sigma), tie=tie, tie_tol=tie_tol)

    def energy(self, sigma) -> np.ndarray:
        """Hopfield energy -(1/2) sigma^T J sigma; see `amsim.network.energy`."""
        self._check_fitted()
        return network.energy(self.J_, self._states(sigma))

    def run(self, initial, mode: str = "async", **kwargs) -> RetrievalResult:
        """Run the dynamics from `initial`; see `amsim.dynamics.run_dynamics`.

        For mode="glauber" the memory's own `beta` is used unless one is given.
        """
        self._check_fitted()
        if mode == "glauber":
            kwargs.setdefault("beta", self.beta)
        return run_dynamics(self.J_, initial, mode, **kwargs)

    def one_step(self, sigma, tie: str = "keep", tie_tol: float | None = None) -> np.ndarray:
        """The states after exactly one synchronous update sigma <- sign(J sigma) (eq. 6).

        (N,) or (T, N) in, int8 of the same shape out; see `amsim.dynamics.sync_step`
        (the same states as ``run(sigma, mode="sync", max_sweeps=1).states``).
        """
        self._check_fitted()
        return sync_step(self.J_, self._states(sigma), tie=tie, tie_tol=tie_tol)

    def _states(self, sigma) -> np.ndarray:
        s = as_spins("states", sigma)
        if s.shape[-1] != self.J_.shape[0]:
            raise ValueError(f"states have {s.shape[-1]} neurons but the network has N = {self.J_.shape[0]}")
        return s

    # -- files ----------------------------------------------------------------
    def save(self, path, **arrays) -> None:
        """Save couplings, beta, the learning rule's parameters and optional arrays.

        See `amsim.netfile.save_network` (the file layout); `amsim.load_network` reads it back.
        """
        save_network(path, self, **arrays)

    def get_params(self) -> dict:
        """Constructor parameters, as scikit-learn's estimators give them."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class HebbianMemory(AssociativeMemory):
    """Hebb's rule J = (1/N) xi^T xi with zero diagonal (symmetric couplings)."""

    rule = "hebb"

    def fit(self, patterns) -> "HebbianMemory":
        """Store (P, N) patterns; returns self."""
        check_positive_float("beta", self.beta)
        x = as_spins("patterns", patterns, ndim=(2,))
        check_couplings_memory(x.shape[1], x.shape[0], "hebb")
        self.J_ = hebb_couplings(x)
        return self


class PseudoLikelihoodMemory(AssociativeMemory):
    """Couplings that maximise the pseudo-likelihood of the patterns (eq. 10).

    Parameters
    ----------
    beta : inverse temperature (> 0)
    l2 : L2 strength on J (objective L/P + l2 ||J||^2), default 0
    solver : "gd" (full-batch gradient descent) or "lbfgs" (quasi-Newton)
    schedule : "constant" or "normalised" step (gradient descent only)
    learning_rate : None for an automatic safe step (see `train_pseudo_likelihood`)
    n_steps : iterations
    record_every : history resolution in steps
    dtype : "float64" or "float32" for the matrix products

    Attributes
    ----------
    J_ : (N, N) learned couplings (asymmetric in general)
    history_ : TrainingHistory (loss, min margin per row, row norms, gradient-term norms)
    learning_rate_ : the step size used (the automatic safe step when learning_rate is None)
    """

    rule = "pl"

    def __init__(self, beta: float = 1.0, l2: float = 0.0, solver: str = "gd",
                 schedule: str = "constant", learning_rate: float | None = None,
                 n_steps: int = 1000, record_every: int = 10, dtype: str = "float64"):
        from amsim.learning import SCHEDULES, SOLVERS
        self.beta = check_positive_float("beta", beta)
        self.l2 = check_positive_float("l2", l2, allow_zero=True)
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        self.solver = solver
        self.schedule = schedule
        self.learning_rate = (None if learning_rate is None
                              else check_positive_float("learning_rate", learning_rate))
        self.n_steps = check_positive_int("n_steps", n_steps, minimum=0)
        self.record_every = check_positive_int("record_every", record_every)
        try:
            ok = str(np.dtype(dtype)) in ("float32", "float64")
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.dtype = dtype

    def fit(self, patterns, J0=None, progress: bool = False, callback=None) -> "PseudoLikelihoodMemory":
        """Train on (P, N) patterns, from J0 (default zeros); returns self.

        callback(step, J, F, G) is called at every recorded step (see
        `train_pseudo_likelihood`; J is the live array: keep ``J.copy()``).
        """
        self.J_, self.history_ = train_pseudo_likelihood(
            patterns, beta=self.beta, l2=self.l2, solver=self.solver, schedule=self.schedule,
            learning_rate=self.learning_rate, n_steps=self.n_steps,
            record_every=self.record_every, J0=J0, dtype=np.dtype(self.dtype), progress=progress,
            callback=callback,
        )
        self.learning_rate_ = self.history_.learning_rate
        return self


class MaxMarginMemory(AssociativeMemory):
    """Each row is the exact max-margin perceptron (the limit PL training approaches).

    Parameters
    ----------
    beta : inverse temperature (> 0) of the probes (eq. 9)
    tol, max_sweeps : AdaTron stopping rule (see `amsim.max_margin_couplings`)
    rows : the rows to solve: None (all N), an int k (the first k) or row indices.
        A row's solution does not depend on the others, and the cost is
        proportional to the rows solved: a study of kappa_i at large N needs a few.

    Attributes
    ----------
    J_ : (N, N) couplings; row i scaled so its smallest raw margin is 1; rows not
        solved are zero (their normalised margins are NaN)
    kappa_ : (N,) largest normalised margin of each row (eq. 7); NaN for rows not solved
    converged_ : (N,) bool, False for rows that did not converge (non-separable)
        and for rows not solved
    rows_ : (n_rows,) int64, the indices of the solved rows
    """

    rule = "maxmargin"

    def __init__(self, beta: float = 1.0, tol: float = 1e-6, max_sweeps: int = 20000, rows=None):
        self.beta = check_positive_float("beta", beta)
        self.tol = check_positive_float("tol", tol)
        self.max_sweeps = check_positive_int("max_sweeps", max_sweeps)
        self.rows = rows

    def fit(self, patterns) -> "MaxMarginMemory":
        from amsim.maxmargin import solved_rows

        check_positive_float("beta", self.beta)
        x = as_spins("patterns", patterns, ndim=(2,))
        check_couplings_memory(x.shape[1], x.shape[0], "maxmargin")
        self.rows_ = solved_rows(self.rows, x.shape[1])
        self.J_, self.kappa_, self.converged_ = max_margin_couplings(
            x, tol=self.tol, max_sweeps=self.max_sweeps, rows=self.rows_
        )
        return self


RULES = {"hebb": HebbianMemory, "pl": PseudoLikelihoodMemory, "maxmargin": MaxMarginMemory}
