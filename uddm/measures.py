"""Tensor counterparts of the shared measures in `memkit.measures`.

Each is a thin wrapper with the same semantics as its numpy definition (tested against
it), so there is one definition of each idea. An optional `mask` drops positions (e.g.
pad) from both the numerator and the denominator.
"""
from __future__ import annotations

import torch

__all__ = ["recovery_rate", "unstable_rate", "token_entropy_from_logits", "exact_match",
           "mean_and_se"]


def _masked(reference, corrupted, final, mask):
    if mask is None:
        mask = torch.ones_like(reference, dtype=torch.bool)
    return reference, corrupted, final, mask.bool()


def recovery_rate(reference: torch.Tensor, corrupted: torch.Tensor, final: torch.Tensor,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-row recovery rate of the corrupted positions (eq. 12), float64, NaN if none.

    Same as `memkit.measures.recovery_rate` (positions outside `mask` count as neither
    corrupted nor recovered).
    """
    reference, corrupted, final, mask = _masked(reference, corrupted, final, mask)
    changed = (corrupted != reference) & mask
    n = changed.sum(-1)
    hit = (changed & (final == reference)).sum(-1)
    out = hit.double() / n.clamp_min(1).double()
    return torch.where(n > 0, out, torch.full_like(out, float("nan")))


def unstable_rate(reference: torch.Tensor, corrupted: torch.Tensor, final: torch.Tensor,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-row fraction of unperturbed positions that changed (`memkit.measures.unstable_rate`)."""
    reference, corrupted, final, mask = _masked(reference, corrupted, final, mask)
    kept = (corrupted == reference) & mask
    n = kept.sum(-1)
    moved = (kept & (final != reference)).sum(-1)
    out = moved.double() / n.clamp_min(1).double()
    return torch.where(n > 0, out, torch.full_like(out, float("nan")))


def token_entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Token conditional entropy H^l (eq. 13, nats) of softmax(logits) over the last axis.

    Same as `memkit.measures.categorical_entropy` (log-sum-exp form; -inf logits,
    e.g. nucleus-filtered tokens, contribute zero).
    """
    z = logits.double()
    lse = torch.logsumexp(z, -1, keepdim=True)
    p = torch.exp(z - lse)
    zs = torch.where(p > 0, z - lse, torch.zeros_like(z))
    return -(p * zs).sum(-1)


def exact_match(reference: torch.Tensor, final: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-row indicator that every (unmasked) position equals the reference."""
    eq = final == reference
    if mask is not None:
        eq = eq | ~mask.bool()
    return eq.all(-1)


def mean_and_se(values: torch.Tensor) -> tuple[float, float, int]:
    """Mean, standard error and count of the non-NaN entries."""
    v = values[~torch.isnan(values.double())].double()
    n = v.numel()
    if n == 0:
        return float("nan"), float("nan"), 0
    se = float(v.std(unbiased=True) / n ** 0.5) if n > 1 else float("nan")
    return float(v.mean()), se, n
