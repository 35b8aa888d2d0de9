"""The mathematics of uniform-state discrete diffusion, one equation per function.

Notation follows docs/science-uddm.md (equation numbers of the paper):
K = vocabulary size, alpha_t = probability that a token is kept, alpha'_t its time
derivative (< 0), x_theta = the network's distribution over the clean token.

- `LogLinearSchedule`, `CosineSchedule`      alpha_t and alpha'_t
- `forward_corrupt`                           eq. 1, q(z_t | x)
- `reverse_posterior`                         eq. 2, q(z_s | z_t, x) (float64 path for sampling)
- `nelbo_per_token`                           eq. 3, continuous-time NELBO integrand, closed form
- `x0_cross_entropy_per_token`                the optional -log x_theta(x) loss (not the paper's)
- `sample_times`                              stratified ("antithetic") t over a batch
- `gaussian_to_uniform`                       Appendix B, alpha = T(a)
- `DuoCurriculum`                             DUO's Gaussian-relaxation curriculum (optional)

Randomness only enters through an explicit `torch.Generator` argument.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "LogLinearSchedule",
    "CosineSchedule",
    "make_schedule",
    "forward_corrupt",
    "reverse_posterior",
    "nelbo_per_token",
    "x0_cross_entropy_per_token",
    "sample_times",
    "gaussian_to_uniform",
    "DuoCurriculum",
]


# --------------------------------------------------------------------------- schedules
def _time_function(method):
    """Let a schedule method take a float (returns a float) as well as a tensor."""

    @functools.wraps(method)
    def wrapper(self, t):
        if isinstance(t, torch.Tensor):
            return method(self, t)
        value = float(t)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"time t must be in [0, 1], got {t!r}")
        return float(method(self, torch.tensor(value, dtype=torch.float64)))

    return wrapper


class LogLinearSchedule:
    """alpha_t = 1 - (1 - eps) t, alpha'_t = -(1 - eps) for t in [0, 1] (the paper's code).

    `alpha`, `dalpha` and `sigma` take a tensor of times (and return one) or a float
    (and return a float).

    `eps` keeps alpha away from 0 at t = 1; training draws t in [eps, 1]. The network
    is conditioned on sigma_t = -log alpha_t.
    """

    name = "loglinear"

    def __init__(self, eps: float = 1e-3):
        if not (0.0 < eps < 1.0):
            raise ValueError(f"schedule eps must be in (0, 1), got {eps!r}")
        self.eps = float(eps)

    @_time_function
    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return 1.0 - (1.0 - self.eps) * t

    @_time_function
    def dalpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(t, -(1.0 - self.eps))

    @_time_function
    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """The network's conditioning sigma_t = -log alpha_t."""
        return -torch.log(self.alpha(t))

    def to_dict(self) -> dict:
        return {"name": self.name, "eps": self.eps}


class CosineSchedule(LogLinearSchedule):
    """alpha_t = eps + (1 - eps) cos(pi t / 2), alpha'_t = -(1 - eps) (pi/2) sin(pi t / 2).

    Keeps more tokens at small t than the log-linear schedule; alpha_1 = eps > 0.
    """

    name = "cosine"

    @_time_function
    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return self.eps + (1.0 - self.eps) * torch.cos(0.5 * math.pi * t)

    @_time_function
    def dalpha(self, t: torch.Tensor) -> torch.Tensor:
        return -(1.0 - self.eps) * 0.5 * math.pi * torch.sin(0.5 * math.pi * t)


SCHEDULES = {"loglinear": LogLinearSchedule, "cosine": CosineSchedule}


def make_schedule(name: str = "loglinear", eps: float = 1e-3) -> LogLinearSchedule:
    """Build a schedule by name ("loglinear" or "cosine")."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](eps)


def _col(a, ref: torch.Tensor) -> torch.Tensor:
    """Broadcast a scalar or per-sequence (B,) alpha against a (B, L[, K]) tensor."""
    a = torch.as_tensor(a, dtype=ref.dtype if ref.is_floating_point() else torch.float64,
                        device=ref.device)
    while a.dim() < ref.dim():
        a = a.unsqueeze(-1)
    return a


# --------------------------------------------------------------------------- eq. 1
def forward_corrupt(x: torch.Tensor, alpha, vocab_size: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw z_t ~ q(z_t | x) = Cat(alpha_t x + (1 - alpha_t)/K 1) (eq. 1).

    Each position independently keeps its token with probability alpha_t and otherwise
    is redrawn uniformly from all K ids (the redraw may return the same id), so a token
    survives with probability alpha_t + (1 - alpha_t)/K.

    Parameters
    ----------
    x : (B, L) long token ids.
    alpha : float or (B,) tensor, the keep probability per sequence.
    vocab_size : K.
    generator : the only source of randomness.
    """
    if x.dtype != torch.long:
        raise TypeError(f"forward_corrupt needs long token ids, got dtype {x.dtype}")
    a = torch.as_tensor(alpha, dtype=torch.float64, device=x.device)
    if torch.any((a < 0) | (a > 1)):
        raise ValueError(f"alpha must lie in [0, 1], got {a.min().item()}..{a.max().item()}")
    u = torch.rand(x.shape, generator=generator, dtype=torch.float64, device=x.device)
    redraw = torch.randint(0, vocab_size, x.shape, generator=generator, device=x.device)
    while a.dim() < x.dim():
        a = a.unsqueeze(-1)
    return torch.where(u < a, x, redraw)


# --------------------------------------------------------------------------- eq. 2
def reverse_posterior(z_t: torch.Tensor, x: torch.Tensor, alpha_t, alpha_s,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """q(z_s | z_t, x) of uniform diffusion (eq. 2), for s < t.

        q = [K a_t (z_t * x) + (a_t/a_s - a_t) z_t + (a_s - a_t) x
             + (a_s - a_t)(1 - a_s)/(K a_s) 1] / (K a_t <z_t, x> + 1 - a_t)

    Parameters
    ----------
    z_t : (B, L) long ids of the current state.
    x : (B, L, K) probability vectors over the clean token (one-hot for the true
        posterior; x_theta for the model's reverse step p_theta(z_s|z_t) =
        q(z_s | z_t, x = x_theta), exactly as the paper/DUO code plug it in). With a
        probability vector x the expression equals the mixture of one-hot posteriors
        weighted by x_theta(x) q(z_t | x) (numerator and denominator are both linear
        in x); every row sums to 1 for any x on the simplex.
    alpha_t, alpha_s : floats or (B,) tensors with alpha_s >= alpha_t; alpha_s = 1 is
        allowed (the final ancestral step).
    dtype : computation dtype; float64 (default) for sampling, since float32 noise
        measurably biases sample entropy.

    Returns
    -------
    (B, L, K) tensor of probabilities in `dtype`.
    """
    x = x.to(dtype)
    K = x.shape[-1]
    at = _col(torch.as_tensor(alpha_t, dtype=dtype), x)
    as_ = _col(torch.as_tensor(alpha_s, dtype=dtype), x)
    if torch.any(as_ < at):
        raise ValueError("reverse_posterior needs alpha_s >= alpha_t (s earlier than t)")
    x_zt = torch.gather(x, -1, z_t.unsqueeze(-1))                       # <z_t, x>, (B,L,1)
    out = (as_ - at) * x + (as_ - at) * (1.0 - as_) / (K * as_)
    out.scatter_add_(-1, z_t.unsqueeze(-1),
                     (K * at * x_zt + (at / as_ - at)).expand_as(x_zt).contiguous())
    return out / (K * at * x_zt + 1.0 - at)


# --------------------------------------------------------------------------- eq. 3
def nelbo_per_token(log_x_theta: torch.Tensor, x: torch.Tensor, z_t: torch.Tensor,
                    alpha_t, dalpha_t) -> torch.Tensor:
    """Continuous-time NELBO integrand L_t of uniform diffusion per position (eq. 3).

    With i = z_t, xbar = K a x + (1 - a) 1 and xbar_theta = K a x_theta + (1 - a) 1:

        L_t = (a'/(K a)) [ K/xbar_i - K/xbar_theta_i
                           - sum_j (xbar_j/xbar_i) log(xbar_theta_i xbar_j / (xbar_theta_j xbar_i)) ]

    The sum over j is evaluated in closed form. With c the clean token,
    sum_j xbar_j = K, sum_j xbar_j log xbar_j = (Ka+1-a) log(Ka+1-a) + (K-1)(1-a) log(1-a)
    and sum_j xbar_j log xbar_theta_j = K a log xbar_theta_c + (1-a) sum_j log xbar_theta_j,
    and xbar_i takes one of two values (case split z_t == x). The only K-sized
    temporary is log xbar_theta (the size of the logits). L_t >= 0, with equality iff
    x_theta = x.

    Parameters
    ----------
    log_x_theta : (B, L, K) log-probabilities (log-softmax of the logits).
    x, z_t : (B, L) long clean and noisy ids.
    alpha_t, dalpha_t : (B,) or scalars, alpha_t and alpha'_t (< 0).

    Returns
    -------
    (B, L) per-position loss in the dtype of `log_x_theta` (nats per token).
    """
    K = log_x_theta.shape[-1]
    lx = log_x_theta
    a = _col(torch.as_tensor(alpha_t, dtype=lx.dtype, device=lx.device), x.to(lx.dtype))
    da = _col(torch.as_tensor(dalpha_t, dtype=lx.dtype, device=lx.device), x.to(lx.dtype))
    one_m = 1.0 - a
    # log xbar_theta_j = log(K a x_theta_j + 1 - a), stably
    log_xbt = torch.logaddexp(lx + torch.log(K * a).unsqueeze(-1), torch.log(one_m).unsqueeze(-1))
    log_xbt_i = torch.gather(log_xbt, -1, z_t.unsqueeze(-1)).squeeze(-1)
    log_xbt_c = torch.gather(log_xbt, -1, x.unsqueeze(-1)).squeeze(-1)
    sum_log_xbt = log_xbt.sum(-1)
    xb_c = K * a + one_m                                     # xbar at the clean token
    same = z_t == x
    xb_i = torch.where(same, xb_c, one_m)
    log_xb_i = torch.log(xb_i)
    const = xb_c * torch.log(xb_c) + (K - 1) * one_m * torch.log(one_m)
    cross = K * a * log_xbt_c + one_m * sum_log_xbt
    sum_term = (K * (log_xbt_i - log_xb_i) + const - cross) / xb_i
    bracket = K / xb_i - K * torch.exp(-log_xbt_i) - sum_term
    return da / (K * a) * bracket


def x0_cross_entropy_per_token(log_x_theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Plain x0-prediction cross-entropy -log x_theta(x) per position.

    NOT the paper's loss (the paper uses the NELBO, eq. 3): offered because it learns
    the low-noise regime much faster on a CPU budget. Any result must say which loss.
    It trains x_theta towards p(x | z_t), while the NELBO's optimum (per token) is
    proportional to p(x | z_t) / q(z_t | x), the x that eq. 2 plugs in; models trained
    with it carry ModelConfig.prediction = "x0_ce" and the reverse steps divide by
    q(z_t | x) before eq. 2 (uddm.sample.prediction_logits). Their entropies (eq. 13)
    are those of p(x | z_t), near zero at small t for any input, so the entropy probe
    of memorisation is meant for NELBO models.
    """
    return -torch.gather(log_x_theta, -1, x.unsqueeze(-1)).squeeze(-1)


def sample_times(batch: int, generator: torch.Generator | None = None, eps: float = 1e-3,
                 antithetic: bool = True, device=None) -> torch.Tensor:
    """t in [eps, 1] for a batch, stratified ("antithetic") by default.

    Stratified: one uniform offset u, t_i = eps + (1 - eps) ((u + i/B) mod 1), so the
    batch covers [eps, 1] evenly and the NELBO estimate has lower variance. Otherwise
    i.i.d. uniform.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if antithetic:
        u = torch.rand((1,), generator=generator, device=device)
        r = (u + torch.arange(batch, device=device) / batch) % 1.0
    else:
        r = torch.rand((batch,), generator=generator, device=device)
    return eps + (1.0 - eps) * r


# --------------------------------------------------------------------------- Appendix B
def gaussian_to_uniform(a, vocab_size: int, n_grid: int = 4001) -> np.ndarray:
    """alpha = T(a): the uniform-diffusion keep-rate of argmax(a x + s eps) (Appendix B).

        T(a) = K/(K-1) [ int phi(z - mu) Phi(z)^(K-1) dz - 1/K ],  mu = a/s, s = sqrt(1 - a^2)

    The integral is the probability that the argmax of a Gaussian latent w = a x + s eps
    (x one-hot) is the clean token. It is computed by the trapezoid rule on a fine grid
    around the integrand's support, with Phi^(K-1) taken in log space (scipy's
    log_ndtr), accurate to ~1e-8 for any K.

    Parameters
    ----------
    a : array-like of signal scales in [0, 1).
    vocab_size : K >= 2.
    """
    from scipy.special import log_ndtr

    K = int(vocab_size)
    if K < 2:
        raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
    a = np.asarray(a, dtype=np.float64)
    if np.any((a < 0) | (a >= 1)):
        raise ValueError(f"a must lie in [0, 1), got {a.min()}..{a.max()}")
    mu = a / np.sqrt(1.0 - a * a)
    lo = -12.0
    hi = np.maximum(mu, math.sqrt(2 * math.log(K))) + 12.0
    u = np.linspace(0.0, 1.0, n_grid)
    z = lo + (hi[..., None] - lo) * u                      # (..., n_grid)
    log_f = (-0.5 * (z - mu[..., None]) ** 2 - 0.5 * math.log(2 * math.pi)
             + (K - 1) * log_ndtr(z))
    p = np.trapezoid(np.exp(log_f), z, axis=-1)
    return K / (K - 1) * (p - 1.0 / K)


@dataclass
class DuoCurriculum:
    """DUO's Gaussian-relaxation curriculum (a training-speed trick, optional).

    For a time t the latent is w_t = a_t x + s_t eps with log-SNR gamma_t running
    linearly from `gamma_min` to `gamma_max` (a_t^2 = sigmoid(-gamma_t),
    s_t^2 = sigmoid(gamma_t)); the network sees softmax(w_t / tau) as a soft input, the
    loss uses z_t = argmax(w_t), whose marginal is the uniform diffusion with
    alpha_t = T(a_t) (`gaussian_to_uniform`). alpha'_t is the derivative of that map.
    T is tabulated once per K on `n_table` points and interpolated.
    """

    vocab_size: int
    gamma_min: float = -3.5
    gamma_max: float = -1.75
    tau: float = 1e-3
    n_table: int = 512

    def __post_init__(self):
        g = np.linspace(self.gamma_min, self.gamma_max, self.n_table)
        a = np.sqrt(1.0 / (1.0 + np.exp(g)))              # sigmoid(-gamma)^(1/2)
        alpha = gaussian_to_uniform(a, self.vocab_size)
        self._t = torch.linspace(0.0, 1.0, self.n_table, dtype=torch.float64)
        self._alpha = torch.as_tensor(alpha)
        self._dalpha = torch.as_tensor(np.gradient(alpha, np.linspace(0, 1, self.n_table)))

    def _interp(self, table: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        pos = t.double().clamp(0, 1) * (self.n_table - 1)
        i0 = pos.floor().long().clamp(max=self.n_table - 2)
        w = pos - i0
        return ((1 - w) * table[i0] + w * table[i0 + 1]).to(t.dtype)

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return self._interp(self._alpha.to(t.device), t)

    def dalpha(self, t: torch.Tensor) -> torch.Tensor:
        return self._interp(self._dalpha.to(t.device), t)

    def sample(self, x: torch.Tensor, t: torch.Tensor, generator=None):
        """Return (soft_input (B,L,K), z_t (B,L), alpha_t (B,), dalpha_t (B,))."""
        K = self.vocab_size
        gamma = self.gamma_min + t.double() * (self.gamma_max - self.gamma_min)
        a = torch.sqrt(torch.sigmoid(-gamma)).float()
        s = torch.sqrt(torch.sigmoid(gamma)).float()
        noise = torch.randn((*x.shape, K), generator=generator, device=x.device)
        w = s[:, None, None] * noise
        w.scatter_add_(-1, x.unsqueeze(-1), a[:, None, None].expand(*x.shape, 1).contiguous())
        z_t = w.argmax(-1)
        soft = F.softmax(w / self.tau, dim=-1)
        return soft, z_t, self.alpha(t), self.dalpha(t)
