"""Sampling: generation from uniform noise and retrieval from a corrupted reference.

The reverse process walks a time grid down to t0 = 1e-5. Two grids:

- "global" (the default, as the paper's evaluation code does): one grid
  linspace(1, t0, steps + 1) for every start time; a process started at t enters it at
  the first grid point at or above t, so it takes about steps * t steps (at least one);
- "local": linspace(t_start, t0, steps + 1), the same number of steps from every t.

Each step computes x_theta = softmax(logits) of the network at (z_t, t), optionally
nucleus-filtered, and the model's posterior p_theta(z_s | z_t) = q(z_s | z_t, x_theta)
(eq. 2) in float64, then either

- "ancestral" (stochastic): draws z_s by an exponential race (Gumbel-max) in float64, or
- "greedy" (deterministic): takes the argmax of the posterior.

At t0 a final step gives the returned tokens: "ancestral" (the default; DUO's
`noise_removal=ancestral`, which the paper's code runs: one more posterior step to
alpha_s = 1, drawn or argmaxed according to the dynamics, so a token stays as the reverse
process delivered it unless the model is sure otherwise) or "greedy" (the "greedy tail":
every token replaced by argmax_v x_theta(v | z_t0)). The token conditional entropies
(eq. 13) of x_theta at the final tokens (time t0) are returned with them.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from uddm.diffusion import forward_corrupt, reverse_posterior
from uddm.measures import recovery_rate, token_entropy_from_logits, unstable_rate

ENTROPY_AT = ("t0", "t")

__all__ = ["ENTROPY_AT", "SampleResult", "nucleus_filter", "prediction_logits", "predict",
           "reverse_process", "generate", "retrieve", "token_entropy", "RetrievalResult",
           "time_grid", "GRIDS", "FINALS", "T0"]

T0 = 1e-5
GRIDS = ("global", "local")
FINALS = ("ancestral", "greedy")


@dataclass
class SampleResult:
    tokens: torch.Tensor     # (B, L) final tokens
    entropy: torch.Tensor    # (B, L) float64 H^l of x_theta(tokens, t0), nats
    start: torch.Tensor      # (B, L) the starting state


@dataclass
class RetrievalResult(SampleResult):
    reference: torch.Tensor = None   # (B, L)
    recovery: torch.Tensor = None    # (B,) eq. 12, NaN where nothing was corrupted
    unstable: torch.Tensor = None    # (B,)


@contextlib.contextmanager
def _eval(model):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _autocast(device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def nucleus_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of largest probabilities whose sum reaches `top_p`; renormalise."""
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if top_p >= 1.0:
        return probs
    sp, idx = probs.sort(-1, descending=True)
    before = sp.cumsum(-1) - sp                       # mass strictly before each token
    keep_sorted = before < top_p
    keep = torch.zeros_like(keep_sorted).scatter(-1, idx, keep_sorted)
    out = torch.where(keep, probs, torch.zeros_like(probs))
    return out / out.sum(-1, keepdim=True)


def prediction_logits(model, tokens: torch.Tensor, schedule, t: float = T0,
                      plug_in: bool = False) -> torch.Tensor:
    """Log-probabilities (up to a constant per position) of the model's prediction: (B, L, K) float64.

    plug_in=False: the network's own distribution over the clean token at
    (z_t = tokens, t) — x_theta for a model trained with the NELBO (eq. 3, the
    paper's loss), p(x | z_t) for one trained with the x0 cross-entropy.

    plug_in=True: the x that eq. 2 needs so that q(z_s | z_t, x) is the mixture
    sum_x p(x | z_t) q(z_s | z_t, x). For the NELBO that is x_theta itself (per token
    its optimum is proportional to p(x | z_t) / q(z_t | x)); for an x0 cross-entropy
    model (model.config.prediction == "x0_ce") log q(z_t | x) =
    log(alpha_t [x = z_t] + (1 - alpha_t) / K) is subtracted. Only the reverse steps use
    this: at small t the division amplifies whatever small mass an x0 cross-entropy
    model puts on tokens other than z_t, so its final greedy step and its entropies
    (eq. 13) use its own distribution p(x | z_t).
    """
    # an exact reference model (uddm.references.ExactModel) takes sigma in float64; a DiT
    # keeps the float32 conditioning it was trained with
    dtype = torch.float64 if getattr(model, "float64_sigma", False) else torch.get_default_dtype()
    sigma = schedule.sigma(torch.full((tokens.shape[0],), float(t), device=tokens.device, dtype=dtype))
    with _autocast(tokens.device):
        logits = model(tokens, sigma)
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    logits = logits.double()
    if plug_in and getattr(model.config, "prediction", "nelbo") == "x0_ce":
        K = logits.shape[-1]
        a = schedule.alpha(float(t))
        log_q = torch.full_like(logits, math.log((1.0 - a) / K))
        log_q.scatter_(-1, tokens.unsqueeze(-1), math.log(a + (1.0 - a) / K))
        logits = logits - log_q
    return logits


@torch.no_grad()
def predict(model, tokens: torch.Tensor, schedule, t: float = T0,
            top_p: float | None = None, plug_in: bool = False) -> torch.Tensor:
    """The model's distribution of the clean token at every position: (B, L, K) float64.

    tokens : (B, L) the state z_t; t : its time in (0, 1]. Probabilities, optionally
    nucleus-filtered. plug_in=True gives the x of eq. 2 (different only for models
    trained with the x0 cross-entropy); see `prediction_logits`.
    """
    with _eval(model):
        return _x_theta(model, tokens, t, schedule, top_p, plug_in)


def _x_theta(model, z, t, schedule, top_p, plug_in=True):
    p = F.softmax(prediction_logits(model, z, schedule, t, plug_in=plug_in), dim=-1)
    if top_p is not None:
        p = nucleus_filter(p, top_p)
    return p


def _draw(p: torch.Tensor, greedy: bool, generator) -> torch.Tensor:
    if greedy:
        return p.argmax(-1)
    e = torch.empty_like(p, dtype=torch.float64).exponential_(generator=generator)
    return (p / e).argmax(-1)          # exponential race == Gumbel-max on log p


@torch.no_grad()
def token_entropy(model, tokens: torch.Tensor, schedule, t: float = T0,
                  batch_size: int = 256) -> torch.Tensor:
    """H^l(z_t) of x_theta at (tokens, t) for every position (eq. 13), float64 nats."""
    out = []
    with _eval(model):
        for i in range(0, tokens.shape[0], batch_size):
            z = tokens[i:i + batch_size]
            out.append(token_entropy_from_logits(prediction_logits(model, z, schedule, t)))
    return torch.cat(out)


def time_grid(t_start: float, steps: int, t0: float = T0, grid: str = "global") -> torch.Tensor:
    """The times (float64, decreasing, ending at t0) a reverse process from t_start visits.

    grid="global": the paper's evaluation grid linspace(1, t0, steps + 1), entered at the
    first grid point at or above t_start (its `searchsorted` rule), at least one step.
    grid="local": linspace(t_start, t0, steps + 1).
    """
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not t0 < t_start <= 1.0:
        raise ValueError(f"start time must be in ({t0}, 1], got {t_start}")
    steps = int(steps)
    if grid == "local":
        return torch.linspace(float(t_start), float(t0), steps + 1, dtype=torch.float64)
    full = torch.linspace(1.0, float(t0), steps + 1, dtype=torch.float64)
    below = int((full < float(t_start)).sum())          # grid points strictly below t_start
    start = min(max(steps - below, 0), steps - 1)       # index of the first point >= t_start
    return full[start:]


@torch.no_grad()
def reverse_process(model, schedule, z_start: torch.Tensor, t_start: float, steps: int,
                    dynamics: str = "ancestral", final: str = "ancestral", t0: float = T0,
                    top_p: float | None = None, generator: torch.Generator | None = None,
                    entropy: bool = True, grid: str = "global",
                    entropy_at: str = "t0") -> SampleResult:
    """Run p_theta from z_start at t_start down to t0 on `time_grid`, then a final step.

    steps : the grid size (global grid: steps on [t0, 1], so about steps * t_start are
        taken from t_start; local grid: exactly `steps`).
    final : "ancestral" (posterior step to alpha_s = 1, the paper's) or "greedy" (argmax
        of x_theta at t0).
    entropy_at : "t0" (eq. 13 of x_theta at t0 on the final tokens, the paper's code) or
        "t" (eq. 13 of x_theta at the start state z_start and time t_start).
    """
    if entropy_at not in ENTROPY_AT:
        raise ValueError(f"entropy_at must be 't0' or 't', got {entropy_at!r}")
    if dynamics not in ("ancestral", "greedy"):
        raise ValueError(f"dynamics must be 'ancestral' or 'greedy', got {dynamics!r}")
    if final not in FINALS:
        raise ValueError(f"final must be 'ancestral' or 'greedy', got {final!r}")
    ts = time_grid(t_start, steps, t0, grid)
    greedy = dynamics == "greedy"
    z = z_start
    with _eval(model):
        for i in range(len(ts) - 1):
            t, s = ts[i], ts[i + 1]
            x = _x_theta(model, z, t, schedule, top_p)
            post = reverse_posterior(z, x, schedule.alpha(t), schedule.alpha(s))
            z = _draw(post, greedy, generator)
        if final == "greedy":
            z = _x_theta(model, z, ts[-1], schedule, top_p, plug_in=False).argmax(-1)
        else:
            x = _x_theta(model, z, ts[-1], schedule, top_p)
            post = reverse_posterior(z, x, schedule.alpha(ts[-1]), 1.0)
            z = _draw(post, greedy, generator)
    H = None
    if entropy:
        H = (token_entropy(model, z, schedule, t0) if entropy_at == "t0"
             else token_entropy(model, z_start, schedule, t_start))
    return SampleResult(tokens=z, entropy=H, start=z_start)


def generate(model, schedule, n: int, steps: int = 128, length: int | None = None,
             batch_size: int = 64, generator: torch.Generator | None = None,
             device=None, **kw) -> SampleResult:
    """n sequences from uniform noise (t = 1), in batches."""
    cfg = model.config
    length = cfg.length if length is None else length
    if length > cfg.length:
        raise ValueError(f"sequence length {length} is longer than the model's {cfg.length}")
    device = device or next(model.parameters()).device
    parts = []
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        z = torch.randint(0, cfg.vocab_size, (b, length), generator=generator, device=device)
        parts.append(reverse_process(model, schedule, z, 1.0, steps, generator=generator, **kw))
    return SampleResult(*(None if getattr(parts[0], f) is None else torch.cat([getattr(p, f) for p in parts])
                          for f in ("tokens", "entropy", "start")))


def retrieve(model, schedule, reference: torch.Tensor, t: float, steps: int = 128,
             t_start: float | None = None, dynamics: str = "greedy", final: str = "ancestral",
             batch_size: int = 64, pad_id: int | None = None,
             generator: torch.Generator | None = None, entropy_at: str = "t0",
             perturb: bool = True, **kw) -> RetrievalResult:
    """Corrupt `reference` at time t (eq. 1) and run the reverse process from t_start to t0.

    `t_start` defaults to t (the paper's Experiments 1 and 2); a fixed small t_start
    decouples corruption level and model time (an option). `steps` is the grid size
    (global grid by default, see `time_grid`). `perturb=False` is the paper's scripts'
    fixed-point test: the clean reference enters the dynamics at model time t.
    `entropy_at`: "t0" (the paper's code: eq. 13 of x_theta at t0 on the final tokens)
    or "t" (the text's literal reading: eq. 13 of x_theta at (z_t, t), the corrupted
    start). Recovery (eq. 12) and the unstable rate ignore pad positions when `pad_id`
    is given.
    """
    if not 0.0 < t <= 1.0:
        raise ValueError(f"corruption time t must be in (0, 1], got {t}")
    if reference.shape[1] > model.config.length:
        raise ValueError(f"sequence length {reference.shape[1]} is longer than the "
                         f"model's {model.config.length}")
    t_start = t if t_start is None else t_start
    K = model.config.vocab_size
    if int(reference.max()) >= K or int(reference.min()) < 0:
        raise ValueError(f"reference token id {int(reference.max())} is outside the "
                         f"model's vocabulary of {K}")
    alpha = schedule.alpha(float(t))
    parts, zs = [], []
    for i in range(0, reference.shape[0], batch_size):
        x = reference[i:i + batch_size]
        z = forward_corrupt(x, alpha, K, generator) if perturb else x.clone()
        parts.append(reverse_process(model, schedule, z, t_start, steps, dynamics=dynamics,
                                     final=final, generator=generator, entropy_at=entropy_at, **kw))
    tokens = torch.cat([p.tokens for p in parts])
    start = torch.cat([p.start for p in parts])
    ent = torch.cat([p.entropy for p in parts]) if parts[0].entropy is not None else None
    ref = reference.to(tokens.device)
    mask = None if pad_id is None else ref != pad_id
    return RetrievalResult(tokens=tokens, entropy=ent, start=start, reference=ref,
                           recovery=recovery_rate(ref, start, tokens, mask),
                           unstable=unstable_rate(ref, start, tokens, mask))
