"""The diffusion model as a `memkit.protocol.Retriever`.

Levels are diffusion times t: a reference is corrupted by the forward process
at t (eq. 1) and the reverse process runs from t (or a fixed `t_start`, an option)
down to t0 on the paper's global time grid, then DUO's ancestral noise-removal step
(`uddm.sample.reverse_process`). Dynamics "deterministic" is greedy (argmax of the
posterior at every step), "stochastic" is ancestral sampling (float64, Gumbel-max).
The entropies are those of x_theta at the end state at t0 (eq. 13; the paper's code),
or at the corrupted start and time t with `entropy_at="t"`. With `perturb=False` the
references enter the dynamics unchanged: the paper's scripts' fixed-point test.
Dynamics "x_theta" is no reverse process at all: one greedy step to the argmax of
x_theta at the start state and time, the analogue of one synchronous zero-temperature
update of an associative memory (for a K = 2 model whose logit is 2 beta h_i it *is*
that update; `uddm.linear`).
"""
from __future__ import annotations

import numpy as np
import torch

from memkit.protocol import Denoised
from uddm.diffusion import forward_corrupt, make_schedule
from uddm.sample import T0, prediction_logits, reverse_process, token_entropy


def _torch_generator(rng: np.random.Generator, device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return g


class DiffusionRetriever:
    """Adapter that lets `memkit.protocol.run_retrieval` probe a diffusion model.

    Parameters
    ----------
    model : a `uddm.model.DiT`
    schedule : noise schedule (default: log-linear, eps = 1e-3)
    steps : reverse steps from the start time to t0
    steps : size of the time grid (`grid="global"`: steps on [t0, 1], entered at t;
        `grid="local"`: steps from the start time)
    t_start : model start time; None starts at the corruption time (the paper's)
    final : "ancestral" (the paper's noise removal) or "greedy" last step
    batch_size : sequences per forward pass
    top_p : optional nucleus filtering of x_theta
    grid : "global" (the paper's) or "local"
    entropy_at : "t0" (eq. 13 on the final tokens at t0, the paper's code) or "t"
        (eq. 13 of x_theta at the corrupted start, time t)
    perturb : False = fixed-point test (references enter the dynamics uncorrupted)
    """

    def __init__(self, model, schedule=None, steps: int = 128, t_start: float | None = None,
                 final: str = "ancestral", batch_size: int = 64, top_p: float | None = None,
                 grid: str = "global", entropy_at: str = "t0", perturb: bool = True):
        from uddm.sample import ENTROPY_AT, FINALS, GRIDS
        if final not in FINALS:
            raise ValueError(f"final must be one of {FINALS}, got {final!r}")
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
        if entropy_at not in ENTROPY_AT:
            raise ValueError(f"entropy_at must be 't0' or 't', got {entropy_at!r}")
        self.model = model
        self.schedule = schedule if schedule is not None else make_schedule()
        self.steps = steps
        self.t_start = t_start
        self.final = final
        self.batch_size = batch_size
        self.top_p = top_p
        self.grid = grid
        self.entropy_at = entropy_at
        self.perturb = perturb
        self.device = next(model.parameters()).device

    def corrupt(self, references, level, rng):
        if not 0.0 < level <= 1.0:
            raise ValueError(f"corruption time t must be in (0, 1], got {level!r}")
        K = self.model.config.vocab_size
        x = torch.as_tensor(np.asarray(references), dtype=torch.long, device=self.device)
        if int(x.max()) >= K or int(x.min()) < 0:
            raise ValueError(f"reference token id {int(x.max())} is outside the model's vocabulary of {K}")
        g = _torch_generator(rng, self.device)     # drawn either way: same streams downstream
        if not self.perturb:
            return x.cpu().numpy()
        alpha = self.schedule.alpha(float(level))
        return forward_corrupt(x, alpha, K, g).cpu().numpy()

    def denoise(self, corrupted, level, dynamics, rng) -> Denoised:
        mode = {"deterministic": "greedy", "stochastic": "ancestral"}.get(dynamics, dynamics)
        if mode not in ("greedy", "ancestral", "x_theta"):
            raise ValueError(f"dynamics must be 'deterministic', 'stochastic', 'greedy', 'ancestral' "
                             f"or 'x_theta', got {dynamics!r}")
        g = _torch_generator(rng, self.device)
        t_start = level if self.t_start is None else self.t_start
        z = torch.as_tensor(np.asarray(corrupted), dtype=torch.long, device=self.device)
        if mode == "x_theta":
            return self._one_step(z, t_start)
        tokens, ent = [], []
        for i in range(0, z.shape[0], self.batch_size):
            out = reverse_process(self.model, self.schedule, z[i:i + self.batch_size], t_start,
                                  self.steps, dynamics=mode, final=self.final, top_p=self.top_p,
                                  generator=g, grid=self.grid, entropy_at=self.entropy_at)
            tokens.append(out.tokens.cpu())
            ent.append(out.entropy.cpu())
        return Denoised(torch.cat(tokens).numpy(), torch.cat(ent).double().numpy(), {})

    @torch.no_grad()
    def _one_step(self, z: torch.Tensor, t: float) -> Denoised:
        """argmax of x_theta at (z, t): one greedy step, no reverse process."""
        tokens = []
        for i in range(0, z.shape[0], self.batch_size):
            zb = z[i:i + self.batch_size]
            tokens.append(prediction_logits(self.model, zb, self.schedule, t).argmax(-1).cpu())
        final = torch.cat(tokens)
        ent = (token_entropy(self.model, final.to(self.device), self.schedule, T0)
               if self.entropy_at == "t0" else token_entropy(self.model, z, self.schedule, t))
        return Denoised(final.numpy(), ent.double().cpu().numpy(), {})
