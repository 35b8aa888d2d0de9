"""One retrieval protocol for associative memories and diffusion models.

Corrupt a reference (a training or an unseen example) at a given level, run
the model's own denoising dynamics, and record what came back, position by
position, with the conditional entropy of the model's prediction at the end.
An `amsim` network and a `uddm` model both implement `Retriever`; recovery
curves, entropy splits and basin measurements are computed by the one
function `run_retrieval`, whatever the model.

Levels: for the associative memory, the fraction of flipped bits f (exactly
round(f N) flips); for the diffusion model, the diffusion time t (eq. 1).
Dynamics: "deterministic" (zero-temperature asynchronous updates; greedy
argmax of the posterior) or "stochastic" (Glauber sampling; ancestral
sampling), or any mode name the model itself understands.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from memkit.measures import basin_radius, mean_sem, recovery_rate, unstable_rate


class Denoised(NamedTuple):
    """What one call of `Retriever.denoise` returns.

    final : (B, L) end states
    entropy : (B, L) conditional entropy (nats) of the model's prediction at
        each position of the end state, or None if the model cannot give it
    info : dict name -> (B,) per-trial extras (e.g. "converged")
    """

    final: np.ndarray
    entropy: np.ndarray | None
    info: dict


@runtime_checkable
class Retriever(Protocol):
    """The interface a model implements to be probed by the protocol."""

    def corrupt(self, references: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        """(B, L) corrupted copies of (B, L) references at `level`."""

    def denoise(self, corrupted: np.ndarray, level: float, dynamics: str,
                rng: np.random.Generator) -> Denoised:
        """Run the model's dynamics from (B, L) corrupted states started at `level`."""


@dataclass
class RetrievalRecord:
    """Every position of every trial of a retrieval experiment.

    levels : (F,) corruption levels
    reference : (R, L) the references
    corrupted, final : (F, R, T, L) start and end states (T trials per reference)
    entropy : (F, R, T, L) conditional entropy at the end state (nats), or None
    info : dict name -> (F, R, T) per-trial extras reported by the model
    """

    levels: np.ndarray
    reference: np.ndarray
    corrupted: np.ndarray
    final: np.ndarray
    entropy: np.ndarray | None
    info: dict = field(default_factory=dict)

    def _ref(self):
        return self.reference[None, :, None, :]

    def recovery(self) -> np.ndarray:
        """(F, R, T) recovery rate of the corrupted positions (eq. 12); NaN if none was corrupted."""
        return recovery_rate(self._ref(), self.corrupted, self.final)

    def unstable(self) -> np.ndarray:
        """(F, R, T) fraction of the unperturbed positions that changed anyway."""
        return unstable_rate(self._ref(), self.corrupted, self.final)

    def agreement(self) -> np.ndarray:
        """(F, R, T) fraction of all positions equal to the reference at the end."""
        return (self.final == self._ref()).mean(axis=-1)

    def exact_match(self) -> np.ndarray:
        """(F, R, T) True where the end state equals the reference everywhere."""
        return np.all(self.final == self._ref(), axis=-1)

    def sequence_entropy(self) -> np.ndarray:
        """(F, R, T) summed conditional entropy of the end state (nats)."""
        if self.entropy is None:
            raise ValueError("this model reported no conditional entropies")
        return self.entropy.sum(axis=-1)

    def entropy_by_outcome(self, level_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Entropies at corrupted positions that were recovered, and that were not.

        The measurement behind the paper's Fig. 3, at levels[level_index].
        """
        if self.entropy is None:
            raise ValueError("this model reported no conditional entropies")
        ref = np.broadcast_to(self._ref()[0], self.final[level_index].shape)
        changed = self.corrupted[level_index] != ref
        hit = self.final[level_index] == ref
        H = self.entropy[level_index]
        return H[changed & hit], H[changed & ~hit]


def mean_and_sem(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over (R, T) and its standard error with references as independent units.

    values : (F, R, T), NaNs ignored. Returns two (F,) arrays.
    """
    per_ref = np.nanmean(values, axis=2) if values.shape[2] > 1 else values[:, :, 0]
    return mean_sem(per_ref, axis=1, skipna=True)


def run_retrieval(model: Retriever, references, levels, n_trials: int = 1,
                  dynamics: str = "deterministic", seed=None) -> RetrievalRecord:
    """Corrupt every reference `n_trials` times at each level and let `model` denoise.

    Parameters
    ----------
    model : a Retriever (e.g. `amsim.AMRetriever`, `uddm.DiffusionRetriever`)
    references : (R, L) integer array (+-1 spins or token ids)
    levels : 1-D increasing corruption levels (flipped fraction, or diffusion time)
    n_trials : corrupted copies per reference and level
    dynamics : "deterministic", "stochastic" or a model-specific mode name
    seed : int or numpy Generator; the same seed gives the same record

    Returns
    -------
    RetrievalRecord
    """
    if not isinstance(model, Retriever):
        raise TypeError(f"{type(model).__name__} does not implement the Retriever protocol "
                        "(corrupt and denoise)")
    refs = np.asarray(references)
    if refs.ndim != 2 or refs.size == 0:
        raise ValueError(f"references must be a non-empty (R, L) array, got shape {refs.shape}")
    lv = np.asarray(levels, dtype=float)
    if lv.ndim != 1 or lv.size == 0 or not np.all(np.isfinite(lv)):
        raise ValueError(f"levels must be a non-empty 1-D list of numbers, got {levels!r}")
    if isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1, got {n_trials!r}")
    n_trials = int(n_trials)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    R, L = refs.shape
    tiled = np.repeat(refs, n_trials, axis=0)
    shape = (lv.size, R, n_trials, L)
    corrupted = np.empty(shape, dtype=refs.dtype)
    final = np.empty(shape, dtype=refs.dtype)
    entropy = None
    info: dict = {}
    for a, level in enumerate(lv):
        start = model.corrupt(tiled, float(level), rng)
        out = model.denoise(start, float(level), dynamics, rng)
        corrupted[a] = np.asarray(start).reshape(R, n_trials, L)
        final[a] = np.asarray(out.final).reshape(R, n_trials, L)
        if out.entropy is not None:
            if entropy is None:
                entropy = np.full(shape, np.nan)
            entropy[a] = np.asarray(out.entropy).reshape(R, n_trials, L)
        for name, val in out.info.items():
            info.setdefault(name, np.empty((lv.size, R, n_trials), dtype=np.asarray(val).dtype))
            info[name][a] = np.asarray(val).reshape(R, n_trials)
    return RetrievalRecord(lv, refs, corrupted, final, entropy, info)


def same_start_curves(model: Retriever, references, levels, n_trials: int = 1,
                      dynamics: str = "deterministic", seed=(0,), threshold: float = 0.95) -> dict:
    """Basin curves of ±1 references, with starts that do not depend on the model.

    `run_retrieval` threads one generator through corruption and dynamics, so two models
    whose dynamics draw different amounts of randomness see different starts after the
    first level. Here each level is one `run_retrieval` with its own generator seeded by
    (*seed, level index): models that corrupt alike (the network's bit flips, or a
    `memkit.binary.SpinAdapter` given them) get identical starts at every level.

    references : (R, N) ±1; levels : flipped fractions f, increasing from 0.
    Returns overlap (F,) mean final overlap m = 2 agreement - 1, recovery (F,) eq. 12
    (NaN at f = 0), entropy (F,) mean conditional entropy per position at the end
    (nats; NaN if the model gives none), radius: the mean over references of each
    reference's basin radius at `threshold` (`memkit.measures.basin_radius`).
    """
    seed = tuple(int(k) for k in np.atleast_1d(seed))
    ov, rec, ent = [], [], []
    for a, f in enumerate(levels):
        r = run_retrieval(model, references, [f], n_trials=n_trials, dynamics=dynamics,
                          seed=np.random.default_rng([*seed, a]))
        ov.append((2.0 * r.agreement() - 1.0)[0].mean(axis=1))             # (R,)
        rv = r.recovery()
        rec.append(float(np.nanmean(rv)) if np.isfinite(rv).any() else float("nan"))
        ent.append(float(np.nanmean(r.entropy)) if r.entropy is not None else float("nan"))
    per_ref = np.array(ov)                                                  # (F, R)
    radii = [basin_radius(levels, per_ref[:, i], threshold) for i in range(per_ref.shape[1])]
    return {"overlap": per_ref.mean(axis=1).tolist(), "recovery": rec, "entropy": ent,
            "radius": float(np.mean(radii))}
