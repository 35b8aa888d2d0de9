"""Data for associative memories: random patterns, structured data models, corruption.

All configurations are int8 arrays of +-1 with one configuration per row:
shape (P, N) for P patterns of N neurons.
"""
from __future__ import annotations

import numpy as np

from amsim._validate import as_rng, as_spins, check_fraction, check_positive_int


def random_patterns(n_patterns: int, n_neurons: int, seed=None) -> np.ndarray:
    """P independent, uniformly random +-1 patterns.

    Returns
    -------
    xi : int8 array (n_patterns, n_neurons)
    """
    P = check_positive_int("n_patterns", n_patterns)
    N = check_positive_int("n_neurons", n_neurons, minimum=2)
    rng = as_rng(seed)
    return (2 * rng.integers(0, 2, size=(P, N), dtype=np.int8) - 1).astype(np.int8)


def flip_bits(x: np.ndarray, k: int, seed=None) -> np.ndarray:
    """Copy of `x` with exactly `k` distinct, uniformly chosen bits flipped per row.

    Parameters
    ----------
    x : int8 array (N,) or (T, N) of +-1
    k : number of bits to flip in each row, 0 <= k <= N

    Returns
    -------
    int8 array, same shape as `x`.
    """
    x = as_spins("x", x)
    N = x.shape[-1]
    if isinstance(k, bool) or int(k) != k or not 0 <= k <= N:
        raise ValueError(f"k must be an integer in [0, {N}], got {k!r}")
    k = int(k)
    rng = as_rng(seed)
    out = np.array(x, dtype=np.int8, copy=True)
    rows = out.reshape(-1, N)
    if k == 0:
        return out
    # argpartition of uniform keys picks k distinct positions per row, uniformly.
    keys = rng.random(rows.shape)
    idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
    np.put_along_axis(rows, idx, -np.take_along_axis(rows, idx, axis=1), axis=1)
    return out


class RandomFeaturesModel:
    """The random-features data model (Negri et al. 2023; D'Amico et al. 2026).

    D hidden features f_k in {-1,+1}^N. An example is
    sign(sum_{k in S} c_k f_k) over a random set S of L distinct features with
    random signs c_k = +-1. Test examples reuse the same features with fresh S
    and c. Ties (possible only for even L) are broken by a fair coin.

    Parameters
    ----------
    n_neurons : N
    n_features : D (alpha_D = D / N)
    features_per_example : L (3 in the papers' training data)
    seed : int or numpy Generator for the features

    Attributes
    ----------
    features_ : int8 array (D, N), the hidden features (retrievable states)
    """

    def __init__(self, n_neurons: int, n_features: int, features_per_example: int = 3, seed=None):
        self.n_neurons = check_positive_int("n_neurons", n_neurons, minimum=2)
        self.n_features = check_positive_int("n_features", n_features)
        self.features_per_example = check_positive_int("features_per_example", features_per_example)
        if self.features_per_example > self.n_features:
            raise ValueError(
                f"features_per_example (L={features_per_example}) must not exceed n_features (D={n_features})"
            )
        self.features_ = random_patterns(self.n_features, self.n_neurons, seed=seed)

    def sample(self, n_examples: int, seed=None, return_components: bool = False):
        """Draw `n_examples` examples.

        Returns
        -------
        examples : int8 array (n_examples, N)
        (indices, signs) : int arrays (n_examples, L), only if `return_components`
        """
        n = check_positive_int("n_examples", n_examples)
        rng = as_rng(seed)
        D, L = self.n_features, self.features_per_example
        keys = rng.random((n, D))
        idx = np.argpartition(keys, L - 1, axis=1)[:, :L]
        signs = (2 * rng.integers(0, 2, size=(n, L)) - 1).astype(np.int64)
        field = np.einsum("nl,nlj->nj", signs, self.features_[idx].astype(np.int64))
        ties = field == 0
        coin = 2 * rng.integers(0, 2, size=field.shape) - 1
        ex = np.where(ties, coin, np.sign(field)).astype(np.int8)
        return (ex, (idx, signs)) if return_components else ex


class ArchetypeModel:
    """Archetypes with noisy examples (the teacher model).

    K archetypes; an example is a copy of one archetype with each bit flipped
    independently with probability (1 - r) / 2, so its expected overlap with
    the archetype is r.

    Parameters
    ----------
    n_neurons : N
    n_archetypes : K
    quality : r in [0, 1]
    seed : int or numpy Generator for the archetypes

    Attributes
    ----------
    archetypes_ : int8 array (K, N)
    """

    def __init__(self, n_neurons: int, n_archetypes: int, quality: float = 0.6, seed=None):
        self.n_neurons = check_positive_int("n_neurons", n_neurons, minimum=2)
        self.n_archetypes = check_positive_int("n_archetypes", n_archetypes)
        self.quality = check_fraction("quality", quality)
        self.archetypes_ = random_patterns(self.n_archetypes, self.n_neurons, seed=seed)

    def sample(self, n_per_archetype: int, seed=None, return_labels: bool = False):
        """Draw `n_per_archetype` noisy examples of every archetype.

        Returns
        -------
        examples : int8 array (K * n_per_archetype, N), archetype-major order
        labels : int array (K * n_per_archetype,), only if `return_labels`
        """
        M = check_positive_int("n_per_archetype", n_per_archetype)
        rng = as_rng(seed)
        labels = np.repeat(np.arange(self.n_archetypes), M)
        base = self.archetypes_[labels]
        flip = rng.random(base.shape) < (1.0 - self.quality) / 2.0
        ex = np.where(flip, -base, base).astype(np.int8)
        return (ex, labels) if return_labels else ex
