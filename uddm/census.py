"""A census of generated sequences: copies, spurious states, novel sequences, invalid ones.

Pham et al. (2025) find spurious states at the boundary between memorisation and
generalisation: attractors that are neither stored examples nor samples of the data
distribution. For sequences the categories are (first match wins):

- ``copy``: equal to a training sequence at every position;
- ``invalid``: some transition has probability zero under the source (only when the
  source is known, e.g. the Markov corpus; on text no sequence is called invalid);
- ``spurious``: valid but not a copy, and *built from training sequences*: either a
  near-copy (Hamming distance to the nearest training sequence between 1 and
  ``radius``, default L // 8), or an aligned splice of two training sequences (a prefix
  of one and the suffix of another, each piece at least ``min_piece`` = L // 4 tokens):
  the sequence analogues of the mixture states of a Hopfield network;
- ``novel``: everything else (valid, far from every training sequence and no splice).

Why these radii: a valid sequence drawn from the source itself lands within them only by
chance, at a rate the exact model's own census measures (the reference row of every
census figure); see docs/science-uddm.md for the argument and the chance rates.
"""
from __future__ import annotations

import numpy as np

__all__ = ["CATEGORIES", "classify", "census", "valid_transitions", "match_statistics",
           "nearest_hamming", "splice_lengths"]

CATEGORIES = ("copy", "spurious", "novel", "invalid")


def valid_transitions(seqs: np.ndarray, P: np.ndarray, pi: np.ndarray | None = None) -> np.ndarray:
    """(n,) True where every transition (and the first symbol) has positive probability."""
    x = np.asarray(seqs)
    ok = (P[x[:, :-1], x[:, 1:]] > 0).all(axis=1)
    if pi is not None:
        ok &= pi[x[:, 0]] > 0
    return ok


def match_statistics(seqs: np.ndarray, train: np.ndarray, chunk: int = 4096):
    """One pass over the training set: (nearest Hamming distance, longest aligned prefix,
    longest aligned suffix) that each (n, L) sequence shares with any training sequence."""
    x, tr = np.asarray(seqs), np.asarray(train)
    L = x.shape[1]
    dist = np.full(x.shape[0], L, dtype=np.int64)
    pre = np.zeros(x.shape[0], dtype=np.int64)
    suf = np.zeros(x.shape[0], dtype=np.int64)
    for i in range(0, tr.shape[0], chunk):
        eq = x[:, None, :] == tr[None, i:i + chunk, :]              # (n, c, L)
        same = eq.all(-1)
        dist = np.minimum(dist, (L - eq.sum(-1)).min(axis=1))
        pre = np.maximum(pre, np.where(same, L, np.argmin(eq, axis=-1)).max(axis=1))
        suf = np.maximum(suf, np.where(same, L, np.argmin(eq[..., ::-1], axis=-1)).max(axis=1))
    return dist, pre, suf


def nearest_hamming(seqs: np.ndarray, train: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n,) smallest Hamming distance from each sequence to any training sequence."""
    return match_statistics(seqs, train, chunk)[0]


def splice_lengths(seqs: np.ndarray, train: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(longest prefix, longest suffix) each sequence shares with any training sequence (aligned)."""
    return match_statistics(seqs, train, chunk)[1:]


def classify(seqs: np.ndarray, train: np.ndarray, source=None, radius: int | None = None,
             min_piece: int | None = None) -> np.ndarray:
    """(n,) category name of each of the (n, L) sequences (see the module doc).

    train : (N, L) training sequences; source : optional object with transition matrix
    `P` (and `pi`) that decides validity; radius, min_piece : the spurious-state
    thresholds (defaults L // 8 and L // 4).
    """
    x, tr = np.asarray(seqs), np.asarray(train)
    if x.ndim != 2 or tr.ndim != 2 or x.shape[1] != tr.shape[1]:
        raise ValueError(f"sequences {x.shape} and training set {tr.shape} must be (n, L) and (N, L)")
    L = x.shape[1]
    radius = max(1, L // 8) if radius is None else int(radius)
    min_piece = max(1, L // 4) if min_piece is None else int(min_piece)
    d, pre, suf = match_statistics(x, tr)
    valid = (valid_transitions(x, source.P, getattr(source, "pi", None)) if source is not None
             else np.ones(x.shape[0], dtype=bool))
    splice = (pre >= min_piece) & (suf >= min_piece) & (pre + suf >= L)
    out = np.full(x.shape[0], "novel", dtype=object)
    out[(d <= radius) | splice] = "spurious"
    out[~valid] = "invalid"
    out[d == 0] = "copy"
    return out


def census(seqs: np.ndarray, train: np.ndarray, source=None, **kw) -> dict:
    """Fractions of each category (`CATEGORIES`) among the generated sequences, and n."""
    labels = classify(seqs, train, source, **kw)
    res = {c: float(np.mean(labels == c)) for c in CATEGORIES}
    res["n"] = int(labels.size)
    res["validity_known"] = source is not None
    return res
