"""The bridge made concrete: a K = 2 diffusion denoiser with no attention and no depth.

The NELBO optimum is, per position, x_theta(x_i | z_t) ∝ p(x_i | z_t) / q(z_{t,i} | x_i)
(docs/science-uddm.md). Since p(x_i | z_t) ∝ p(x_i | z_{t,-i}) q(z_{t,i} | x_i), the
division leaves p(x_i | z_{t,-i}): the optimal denoiser of position i reads only the
*other* positions, at every t, and as t -> 0 it becomes the leave-one-out conditional
p(x_i | x_{-i}) that pseudo-likelihood (eq. 10) fits in the associative memory.

`LinearDenoiser` is the smallest model of that form for K = 2 (binary tokens, spins
s = 2 x - 1): one linear map from the other bits to each bit's logit,

    u_i(z, t) = log x_theta(1) - log x_theta(0) = a(t) sum_{j != i} W_ij s_j + b_i,

zero diagonal, with a positive scale a(t) (a small network of log sigma_t) for the
t-dependence. Its effective couplings at time t are a(t) W / 2, to be compared with
beta J of a network, whose conditional is p(sigma_i = +1 | sigma_{-i}) = sigmoid(2 beta h_i),
h = J sigma (eq. 9): the same logit, u_i = 2 beta h_i. `LinearDenoiser.from_couplings(J,
beta)` builds exactly that denoiser from a network, for every t (the test that the uddm
and amsim retrieval adapters agree on it).

The model follows the DiT's interface (`forward(tokens, sigma) -> (B, L, 2) logits`,
`config.vocab_size`, `config.length`, `config.prediction`), so `uddm.sample` and
`uddm.DiffusionRetriever` run it unchanged. `train_linear_denoiser` fits it with the
NELBO (eq. 3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from uddm.diffusion import forward_corrupt, make_schedule, nelbo_per_token, sample_times

__all__ = ["LinearConfig", "LinearDenoiser", "train_linear_denoiser", "LinearFit"]


@dataclass
class LinearConfig:
    """What the sampling code reads from `model.config`."""

    length: int
    vocab_size: int = 2
    name: str = "linear"
    prediction: str = "nelbo"        # x_theta is trained with (or is) the NELBO optimum


class LinearDenoiser(nn.Module):
    """x_theta for K = 2 from one zero-diagonal linear map of the other bits (see module doc).

    Parameters
    ----------
    length : N, the number of bits (tokens) per sequence
    hidden : width of the scale network a(t) = softplus(MLP(log sigma_t)); 0 fixes
        a(t) = `fixed_scale` for every t
    fixed_scale : the constant scale when hidden = 0
    dtype : parameter dtype (float64 for exact comparisons with a network)

    Attributes
    ----------
    W : (N, N) parameter; only its off-diagonal part is used (`couplings()`)
    b : (N,) parameter, the bias of each bit's logit
    """

    float64_sigma = True          # `uddm.sample.prediction_logits` passes sigma in float64

    def __init__(self, length: int, hidden: int = 16, fixed_scale: float = 1.0,
                 dtype=torch.float32):
        super().__init__()
        if isinstance(length, bool) or int(length) != length or length < 2:
            raise ValueError(f"length must be an integer >= 2, got {length!r}")
        if isinstance(hidden, bool) or int(hidden) != hidden or hidden < 0:
            raise ValueError(f"hidden must be an integer >= 0, got {hidden!r}")
        if not math.isfinite(fixed_scale) or fixed_scale <= 0:
            raise ValueError(f"fixed_scale must be a positive number, got {fixed_scale!r}")
        N = int(length)
        self.config = LinearConfig(length=N)
        self.W = nn.Parameter(torch.zeros(N, N, dtype=dtype))
        self.b = nn.Parameter(torch.zeros(N, dtype=dtype))
        self.register_buffer("mask", 1.0 - torch.eye(N, dtype=dtype))
        self.hidden = int(hidden)
        self.fixed_scale = float(fixed_scale)
        if self.hidden:
            self.scale_net = nn.Sequential(nn.Linear(1, self.hidden, dtype=dtype), nn.Tanh(),
                                           nn.Linear(self.hidden, 1, dtype=dtype))
            with torch.no_grad():        # start at a(t) = 1 everywhere
                self.scale_net[2].weight.zero_()
                self.scale_net[2].bias.fill_(math.log(math.e - 1.0))
        else:
            self.scale_net = None

    @classmethod
    def from_couplings(cls, J, beta: float, bias=None) -> "LinearDenoiser":
        """The denoiser whose logit is a network's 2 beta h_i (+ 2 beta b_i) at every t.

        J : (N, N) couplings (row i = inputs of neuron i; the diagonal is ignored, as
        in the network), beta > 0. Parameters are float64.
        """
        J = np.asarray(J, dtype=np.float64)
        if J.ndim != 2 or J.shape[0] != J.shape[1]:
            raise ValueError(f"J must be a square (N, N) matrix, got shape {J.shape}")
        if not math.isfinite(beta) or beta <= 0:
            raise ValueError(f"beta must be a positive number, got {beta!r}")
        m = cls(J.shape[0], hidden=0, fixed_scale=2.0 * beta, dtype=torch.float64)
        with torch.no_grad():
            m.W.copy_(torch.from_numpy(J))
            if bias is not None:
                m.b.copy_(2.0 * beta * torch.as_tensor(np.asarray(bias, dtype=np.float64)))
        return m

    def couplings(self) -> torch.Tensor:
        """(N, N) W with its diagonal zeroed: the map actually used."""
        return self.W * self.mask

    def scale(self, sigma: torch.Tensor) -> torch.Tensor:
        """(B,) a(t) > 0 from sigma_t = -log alpha_t (B,)."""
        sigma = sigma.to(self.W.dtype)
        if self.scale_net is None:
            return torch.full_like(sigma, self.fixed_scale)
        log_sigma = torch.log(sigma.clamp_min(1e-12))[:, None]        # (B, 1)
        return F.softplus(self.scale_net(log_sigma))[:, 0]

    def logit(self, tokens: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """(B, N) u_i = a(t) sum_{j != i} W_ij s_j + b_i, with s = 2 x - 1."""
        s = 2.0 * tokens.to(self.W.dtype) - 1.0                        # (B, N) spins
        field = s @ self.couplings().T                                  # (B, N): h_i = sum_j W_ij s_j
        return self.scale(sigma)[:, None] * field + self.b

    def forward(self, tokens: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """(B, N, 2) logits of x_theta: [-u/2, +u/2], so log x(1) - log x(0) = u."""
        u = self.logit(tokens, sigma)
        return torch.stack([-0.5 * u, 0.5 * u], dim=-1)

    @torch.no_grad()
    def effective_couplings(self, t: float, schedule=None) -> np.ndarray:
        """(N, N) float64 a(t) W / 2 with zero diagonal: the beta J this denoiser acts as at t."""
        schedule = schedule if schedule is not None else make_schedule()
        sigma = torch.tensor([schedule.sigma(float(t))], dtype=torch.float64)
        a = float(self.scale(sigma)[0])
        return (0.5 * a * self.couplings()).double().cpu().numpy()


@dataclass
class LinearFit:
    """What `train_linear_denoiser` returns: the model and its NELBO per step (nats/token)."""

    model: LinearDenoiser
    loss: np.ndarray


def train_linear_denoiser(tokens, steps: int = 2000, batch_size: int = 256, lr: float = 0.02,
                          hidden: int = 16, t_max: float = 1.0, schedule=None, seed: int = 0,
                          dtype=torch.float32) -> LinearFit:
    """Fit a `LinearDenoiser` to (P, N) binary token sequences with the NELBO (eq. 3).

    Each step draws `batch_size` sequences (with replacement), stratified times in
    [eps, 1] (`uddm.diffusion.sample_times`), corrupts them by eq. 1 and takes one Adam
    step on the mean per-token NELBO, the learning rate decaying from `lr` to 0 on a
    cosine. The same seed gives the same model.
    """
    x_all = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
    if x_all.ndim != 2 or x_all.shape[0] < 1:
        raise ValueError(f"tokens must be a non-empty (P, N) array, got shape {tuple(x_all.shape)}")
    if int(x_all.min()) < 0 or int(x_all.max()) > 1:
        raise ValueError(f"tokens must be 0 or 1 (K = 2), got values in [{int(x_all.min())}, {int(x_all.max())}]")
    for name, v in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    schedule = schedule if schedule is not None else make_schedule()
    g = torch.Generator().manual_seed(int(seed))
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(int(seed))                 # the scale network's initialisation
    model = LinearDenoiser(x_all.shape[1], hidden=hidden, dtype=dtype)
    torch.random.set_rng_state(torch_state)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # cosine decay to 0: the last steps average out the noise of the sampled t and z_t
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * min(k, steps) / steps)))
    if not math.isfinite(t_max) or not schedule.eps < t_max <= 1.0:
        raise ValueError(f"t_max must lie in ({schedule.eps}, 1], got {t_max!r}")
    span = (t_max - schedule.eps) / (1.0 - schedule.eps)
    P = x_all.shape[0]
    losses = np.empty(int(steps))
    for step in range(int(steps)):
        x = x_all[torch.randint(0, P, (int(batch_size),), generator=g)]   # (B, N)
        u = sample_times(int(batch_size), generator=g, eps=schedule.eps).to(torch.float64)
        t = schedule.eps + (u - schedule.eps) * span                       # (B,) in [eps, t_max]
        alpha, dalpha, sigma = schedule.alpha(t), schedule.dalpha(t), schedule.sigma(t)
        z = forward_corrupt(x, alpha, 2, g)
        log_x = F.log_softmax(model(z, sigma), dim=-1)                     # (B, N, 2)
        loss = nelbo_per_token(log_x, x, z, alpha.to(log_x.dtype), dalpha.to(log_x.dtype)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses[step] = float(loss.detach())
    return LinearFit(model.eval(), losses)
