"""Basins of attraction and the census of attractors.

Basin of a reference x: flip exactly k = round(f N) random bits, run the
dynamics, and record the final overlap m = (1/N) sum_i x_i sigma_i (signed and
absolute: without biases -x is an attractor too) and the recovery rate of the
flipped bits (the binary analogue of eq. 12). The basin radius at threshold
theta is the largest f on the grid such that the mean final overlap stays
>= theta for every f up to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amsim._validate import as_rng, as_spins, check_positive_int
from amsim.dynamics import run_dynamics
from memkit.measures import basin_radius, mean_sem  # basin_radius: re-exported here


def _couplings(net_or_J):
    return net_or_J.J_ if hasattr(net_or_J, "J_") else np.asarray(net_or_J)


@dataclass
class BasinCurve:
    """Final overlaps against the flipped fraction, for every reference and trial.

    fractions : (F,) flipped fractions f (k = round(f N) bits)
    overlap : (F, R, T) signed final overlap with the reference
    recovery : (F, R, T) fraction of flipped bits back at their reference value
        (NaN where k = 0)
    converged : (F, R, T) bool, the trial ended on a fixed point
    record : the full `memkit.protocol.RetrievalRecord` (states, entropies)
    """

    fractions: np.ndarray
    overlap: np.ndarray
    recovery: np.ndarray
    converged: np.ndarray
    record: "RetrievalRecord | None" = None

    def mean_overlap(self, absolute: bool = False) -> np.ndarray:
        """(F,) mean final overlap over references and trials."""
        m = np.abs(self.overlap) if absolute else self.overlap
        return m.mean(axis=(1, 2))

    def sem_overlap(self, absolute: bool = False) -> np.ndarray:
        """(F,) standard error of the mean overlap, with references as the independent unit."""
        m = np.abs(self.overlap) if absolute else self.overlap
        return mean_sem(m.mean(axis=2), axis=1)[1]

    def mean_recovery(self) -> np.ndarray:
        """(F,) mean recovery rate of the flipped bits (NaN at k = 0)."""
        with np.errstate(invalid="ignore"):
            r = self.recovery.reshape(self.recovery.shape[0], -1)
            out = np.full(r.shape[0], np.nan)
            ok = ~np.all(np.isnan(r), axis=1)
            out[ok] = np.nanmean(r[ok], axis=1)
        return out

    def radius(self, threshold: float = 0.95, absolute: bool = False) -> float:
        """Basin radius: see `basin_radius`."""
        return basin_radius(self.fractions, self.mean_overlap(absolute), threshold)

    def radius_per_reference(self, threshold: float = 0.95, absolute: bool = False) -> np.ndarray:
        """(R,) basin radius of each reference separately."""
        m = np.abs(self.overlap) if absolute else self.overlap
        per_ref = m.mean(axis=2)
        return np.array([basin_radius(self.fractions, per_ref[:, r], threshold)
                         for r in range(per_ref.shape[1])])


def basin_curve(net_or_J, references, fractions, n_trials: int = 10, mode: str = "async",
                seed=None, **dynamics) -> BasinCurve:
    """Measure the basins of `references` (R, N) at each flipped fraction.

    This is the shared retrieval protocol (`memkit.protocol.run_retrieval`)
    driving the network through `amsim.retrieval.AMRetriever`: the same code
    measures a diffusion model's recovery.

    Parameters
    ----------
    net_or_J : an AssociativeMemory or a coupling matrix
    references : (R, N) +-1 configurations (training or test examples, features)
    fractions : increasing flipped fractions in [0, 1]
    n_trials : corrupted copies per reference and fraction
    mode : "async", "sync" or "glauber"
    dynamics : passed to `run_dynamics` (max_sweeps, order, tie, beta ...)
    seed : int or Generator (which bits flip, and the dynamics' randomness)
    """
    from amsim.retrieval import AMRetriever
    from memkit.protocol import run_retrieval

    refs = as_spins("references", references, ndim=(2,))
    n_trials = check_positive_int("n_trials", n_trials)
    f = np.asarray(fractions, dtype=float)
    if f.ndim != 1 or f.size == 0 or not np.all((f >= 0) & (f <= 1)):
        raise ValueError(f"fractions must be a non-empty 1-D list in [0, 1], got {fractions!r}")
    from amsim._validate import check_states_memory
    check_states_memory(f.size * refs.shape[0] * n_trials, refs.shape[1],
                        f"{f.size} fractions x {refs.shape[0]} references x {n_trials} trials "
                        f"of N = {refs.shape[1]} neurons")
    beta = dynamics.pop("beta", None)
    model = AMRetriever(net_or_J, beta=beta, **dynamics)
    rec = run_retrieval(model, refs, f, n_trials=n_trials, dynamics=mode, seed=as_rng(seed))
    overlap_ = 2.0 * rec.agreement() - 1.0          # m = (1/N) sum_i x_i sigma_i for +-1 states
    return BasinCurve(f, overlap_, rec.recovery(), rec.info["converged"].astype(bool), rec)


# ------------------------------------------------------------------ census
CENSUS_LABELS = ("memorised", "generalised", "spurious", "rare", "not_converged")


@dataclass
class Census:
    """Attractors reached from random starts, classified against references.

    states : (U, N) distinct fixed points reached (x and -x counted as one)
    counts : (U,) how many starts ended there
    labels : (U,) "memorised" (|overlap| >= 1 - delta with a training example),
        "generalised" (not memorised, but that close to a test example or a
        hidden feature/archetype), "spurious" (neither, reached from >= 2
        independent starts: it has a basin of its own) or "rare" (neither,
        reached once)
    best_overlap : dict reference-set name -> (U,) largest |overlap| with that set
    n_starts, n_not_converged : ints
    """

    states: np.ndarray
    counts: np.ndarray
    labels: np.ndarray
    best_overlap: dict = field(default_factory=dict)
    n_starts: int = 0
    n_not_converged: int = 0
    delta: float = 0.05

    def fractions(self) -> dict[str, float]:
        """Fraction of all starts ending in each class (they sum to 1)."""
        out = {lab: float(self.counts[self.labels == lab].sum()) / self.n_starts for lab in CENSUS_LABELS[:4]}
        out["not_converged"] = self.n_not_converged / self.n_starts
        return out


def attractor_census(net_or_J, n_starts: int, training, test=None, hidden=None, delta: float = 0.05,
                     mode: str = "async", seed=None, **dynamics) -> Census:
    """Run the dynamics from `n_starts` uniformly random states and classify the fixed points.

    Parameters
    ----------
    net_or_J : an AssociativeMemory or a coupling matrix
    training : (P, N) training examples
    test : (M, N) unseen examples from the same distribution, optional
    hidden : (D, N) hidden structure (features or archetypes), optional
    delta : a state is "close" to a reference when |overlap| >= 1 - delta
    mode, dynamics : passed to `run_dynamics` (deterministic modes only)
    """
    if mode == "glauber":
        raise ValueError("the census needs deterministic dynamics: mode 'sync' or 'async', not 'glauber'")
    J = _couplings(net_or_J)
    n_starts = check_positive_int("n_starts", n_starts)
    from memkit.validate import check_number
    check_number("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    rng = as_rng(seed)
    N = J.shape[0]
    from amsim._validate import check_states_memory
    check_states_memory(n_starts, N, f"{n_starts} starts of N = {N} neurons")
    refs = {"training": as_spins("training", training, ndim=(2,))}
    if test is not None:
        refs["test"] = as_spins("test", test, ndim=(2,))
    if hidden is not None:
        refs["hidden"] = as_spins("hidden", hidden, ndim=(2,))
    starts = (2 * rng.integers(0, 2, size=(n_starts, N)) - 1).astype(np.int8)
    res = run_dynamics(J, starts, mode, seed=rng, **dynamics)
    fixed = res.states[res.converged]
    # canonical sign: first neuron +1, so x and -x merge
    canon = fixed * np.where(fixed[:, :1] < 0, -1, 1).astype(np.int8)
    if canon.shape[0]:
        uniq, counts = np.unique(canon, axis=0, return_counts=True)
    else:
        uniq, counts = np.zeros((0, N), np.int8), np.zeros(0, np.int64)
    best = {name: (np.abs(uniq.astype(np.float64) @ r.T.astype(np.float64)) / N).max(axis=1)
            if uniq.shape[0] else np.zeros(0) for name, r in refs.items()}
    close = {name: b >= 1 - delta for name, b in best.items()}
    labels = np.full(uniq.shape[0], "rare", dtype=object)
    gen = np.zeros(uniq.shape[0], bool)
    for name in ("test", "hidden"):
        if name in close:
            gen |= close[name]
    labels[(counts >= 2) & ~close["training"] & ~gen] = "spurious"
    labels[gen & ~close["training"]] = "generalised"
    labels[close["training"]] = "memorised"
    return Census(uniq, counts, labels.astype(str), best, n_starts,
                  int(n_starts - res.converged.sum()), delta)
