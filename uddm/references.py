"""Reference denoisers: the models whose answers are known, to set beside trained ones.

- `ExactModel`: the Markov source's exact Bayes model as a *participant*. It behaves like a
  trained `uddm.model.DiT` (same `forward(tokens, sigma) -> logits` and `config`), so the
  same sampling, retrieval, entropy and probe code runs it. Its x_theta is the one that
  makes eq. 2 the exact reverse step,

      x_theta(x | z_t) ∝ p(x | z_t) / q(z_t | x)        (per position; the NELBO optimum),

  with p(x | z_t) the exact forward-backward posterior of the source under corruption by
  eq. 1. It is the curve a perfect generaliser draws: the source's own recovery,
  entropy (eq. 13) and samples. (Not p(x | z_t) itself: at t0 that is ~one-hot on the
  input and its entropy ~0.) As t -> 0, p(x_l | z) ∝ p(x_l | z_{-l}) q(z_l | x_l), so this
  x_theta tends to the leave-one-out conditional p(x_l | x_{-l}): exactly what
  pseudo-likelihood (eq. 10) fits in the associative memory.
- `BigramDenoiser`: the exact posterior of a bigram model fitted by counting, a
  *reference* on text (not an optimum: text is not a bigram source).
- `bayes_map_record`: the per-token MAP of a reference posterior applied to the same
  corrupted starts as a model (the "Bayes-MAP reference"). Not an upper bound on eq. 12:
  recovery scores only corrupted positions, and a denoiser that never returns z_t can
  score higher (see docs/science-uddm.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from memkit.protocol import RetrievalRecord

__all__ = ["ExactModel", "ExactConfig", "BigramDenoiser", "reference_denoiser",
           "bayes_map_record", "exact_x_theta_logits"]


@dataclass
class ExactConfig:
    """What the sampling code reads from `model.config`."""

    vocab_size: int
    length: int
    name: str = "bayes"
    prediction: str = "nelbo"       # x_theta is the NELBO optimum (no plug-in division)


def exact_x_theta_logits(source, z: np.ndarray, alpha: float) -> np.ndarray:
    """log x_theta = log p(x | z_t) - log q(z_t | x), up to a constant per position.

    source : anything with `bayes_posterior(z, alpha) -> (n, L, K)` (a `MarkovSource`,
        a `BigramDenoiser`); z : (n, L) token ids; alpha : alpha_t of the corruption.
    Returns (n, L, K) float64; impossible tokens get a large negative finite value (so
    the entropy code needs no special case for -inf).
    """
    post = source.bayes_posterior(np.asarray(z), float(alpha))
    K = post.shape[-1]
    log_q = np.full(post.shape, math.log((1.0 - alpha) / K)) if alpha < 1 else np.full(post.shape, -1e4)
    np.put_along_axis(log_q, np.asarray(z)[..., None], math.log(alpha + (1.0 - alpha) / K), axis=-1)
    with np.errstate(divide="ignore"):
        logp = np.log(post)
    return np.maximum(logp - log_q, -1e4)


class ExactModel(nn.Module):
    """The exact Bayes model of a known source, with a `DiT`'s interface.

    Parameters
    ----------
    source : a `uddm.data.MarkovSource` (or any object with `bayes_posterior(z, alpha)`
        and `K`)
    length : the sequence length it reports in `config.length`

    `forward(tokens (B, L) long, sigma (B,)) -> (B, L, K)` float64 logits of x_theta at
    alpha_t = exp(-sigma) (the same conditioning as the DiT). No trainable parameters.
    """

    float64_sigma = True      # `uddm.sample.prediction_logits` passes sigma in float64

    def __init__(self, source, length: int):
        super().__init__()
        self.source = source
        self.config = ExactConfig(vocab_size=int(source.K), length=int(length))
        # an empty parameter so that `next(model.parameters()).device` works as for a DiT
        self._anchor = nn.Parameter(torch.zeros(0, dtype=torch.float64), requires_grad=False)

    def forward(self, tokens: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        alpha = torch.exp(-sigma.double()).cpu().numpy()
        z = tokens.cpu().numpy()
        out = np.empty(z.shape + (self.config.vocab_size,))
        for a in np.unique(alpha):                       # one alpha per batch in practice
            rows = alpha == a
            out[rows] = exact_x_theta_logits(self.source, z[rows], float(a))
        return torch.from_numpy(out).to(tokens.device)


class BigramDenoiser:
    """Exact posterior of a bigram (order-1 Markov) model fitted by counting: a text reference.

    Transition counts over the given sequences with add-`smoothing`; the forward-backward
    posterior and MAP are those of `uddm.data.MarkovSource` (same code), so on text this
    is the n-gram (n = 2) reference denoiser. `ExactModel(BigramDenoiser(...), L)` runs it
    through the sampling code.
    """

    def __init__(self, sequences: np.ndarray, vocab_size: int, smoothing: float = 0.01):
        x = np.asarray(sequences)
        K = int(vocab_size)
        C = np.full((K, K), float(smoothing))
        np.add.at(C, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1.0)
        self.K = K
        self.P = C / C.sum(1, keepdims=True)
        first = np.bincount(x.ravel(), minlength=K).astype(float) + smoothing
        self.pi = first / first.sum()

    def bayes_posterior(self, z, alpha):
        from uddm.data import MarkovSource
        return MarkovSource.bayes_posterior(self, z, alpha)

    def bayes_denoise(self, z, alpha):
        return self.bayes_posterior(z, alpha).argmax(-1)


def reference_denoiser(dataset, full_train: np.ndarray | None = None):
    """(denoiser, name): the exact source on the Markov corpus, else a bigram fitted on the training split."""
    if dataset.source is not None:
        return dataset.source, "Bayes-MAP (exact Markov posterior)"
    x = dataset.train.numpy() if full_train is None else full_train
    return BigramDenoiser(x, dataset.tokenizer.vocab_size), "bigram-MAP reference"


def bayes_map_record(rec: RetrievalRecord, denoiser, schedule) -> RetrievalRecord:
    """The same corrupted starts denoised by the per-token MAP of `denoiser`'s posterior.

    Levels are corruption times t; the MAP knows the true alpha_t. Returns a protocol
    record (no entropies), so recovery (eq. 12) is computed by the same code.
    """
    final = np.empty_like(rec.final)
    for a, t in enumerate(rec.levels):
        alpha = schedule.alpha(float(t))
        z = rec.corrupted[a].reshape(-1, rec.corrupted.shape[-1])
        final[a] = denoiser.bayes_denoise(z, alpha).reshape(rec.final[a].shape)
    return RetrievalRecord(rec.levels, rec.reference, rec.corrupted, final, None)
