"""The associative memory as a `memkit.protocol.Retriever`.

Levels are flipped fractions f (exactly round(f N) bits flip); dynamics
"deterministic" means the network's zero-temperature mode (asynchronous by
default) and "stochastic" means Glauber sampling at the network's beta.
"""
from __future__ import annotations

import numpy as np

from amsim.dynamics import MODES, run_dynamics
from amsim.network import conditional_entropy
from amsim.patterns import flip_bits
from memkit.protocol import Denoised


class AMRetriever:
    """Adapter that lets `memkit.protocol.run_retrieval` probe an associative memory.

    Parameters
    ----------
    net : an AssociativeMemory (uses `J_` and `beta`) or a coupling matrix
    beta : inverse temperature of the entropies and of Glauber dynamics
        (default: the network's own, or 1.0 for a bare matrix)
    deterministic : the mode that "deterministic" stands for ("async" or "sync")
    n_sweeps : sweeps of Glauber dynamics for "stochastic"
    dynamics_options : passed to `run_dynamics` (max_sweeps, order, tie, ...)
    """

    def __init__(self, net, beta: float | None = None, deterministic: str = "async",
                 n_sweeps: int = 20, **dynamics_options):
        self.J = np.asarray(net.J_ if hasattr(net, "J_") else net)
        self.beta = beta if beta is not None else getattr(net, "beta", 1.0)
        if deterministic not in ("async", "sync"):
            raise ValueError(f"deterministic must be 'async' or 'sync', got {deterministic!r}")
        self.deterministic = deterministic
        self.n_sweeps = n_sweeps
        self.options = dynamics_options

    def corrupt(self, references, level, rng):
        N = self.J.shape[0]
        if not 0 <= level <= 1:
            raise ValueError(f"flipped fraction must lie in [0, 1], got {level!r}")
        return flip_bits(references, int(round(level * N)), seed=rng)

    def denoise(self, corrupted, level, dynamics, rng) -> Denoised:
        mode = {"deterministic": self.deterministic, "stochastic": "glauber"}.get(dynamics, dynamics)
        if mode not in MODES:
            raise ValueError(f"dynamics must be 'deterministic', 'stochastic' or one of {MODES}, got {dynamics!r}")
        opts = dict(self.options)
        if mode == "glauber":
            opts.setdefault("beta", self.beta)
            opts.setdefault("n_sweeps", self.n_sweeps)
        res = run_dynamics(self.J, corrupted, mode, seed=rng, **opts)
        H = conditional_entropy(self.J, res.states, self.beta)
        return Denoised(res.states, H, {"converged": res.converged, "n_sweeps": res.n_sweeps})
