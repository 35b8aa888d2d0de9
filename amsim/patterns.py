"""Data for associative memories: random patterns, structured data models, corruption.

All configurations are int8 arrays of +-1 with one configuration per row:
shape (P, N) for P patterns of N neurons. int8 keeps large data sets small, but
NumPy's integer products wrap around silently: ``xi @ xi.T`` on int8 overflows
for N > 127. Use `memkit.overlap` / `amsim.overlap_matrix` (float64 inside), or
cast first (``xi.astype(float) @ xi.T``).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from amsim._validate import as_rng, as_spins, check_fraction, check_positive_int
from memkit.measures import overlap_matrix


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

        Draws of different sizes are not prefixes of one another (the signs are drawn
        after all the feature sets); for nested training sets take the first P rows of
        one large draw.

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

    @property
    def n_possible(self) -> int:
        """How many distinct examples the model can produce, counting x and -x once.

        C(D, L) feature sets times 2^(L-1) relative signs (for odd L; even L can also
        produce tie-broken variants, which this count leaves out).
        """
        return math.comb(self.n_features, self.features_per_example) * 2 ** (self.features_per_example - 1)

    def all_examples(self, max_examples: int = 100_000) -> np.ndarray:
        """Every example the model can produce, up to a global sign flip, shape (n_possible, N).

        Only for odd L (no ties); raises ValueError when there would be more than
        `max_examples` of them. Useful as the complete set of "generalised" states in
        a census of attractors. The rows come in a fixed order (by feature set), not
        at random: draw test examples with `sample` and `unseen` instead.
        """
        L = self.features_per_example
        if L % 2 == 0:
            raise ValueError(f"all_examples needs an odd number of features per example, got L = {L}")
        if self.n_possible > max_examples:
            raise ValueError(f"the model has {self.n_possible} possible examples, more than "
                             f"max_examples = {max_examples}")
        F = self.features_.astype(np.int64)
        out = []
        for combo in itertools.combinations(range(F.shape[0]), L):
            for signs in itertools.product((1, -1), repeat=L - 1):
                field = F[combo[0]] + sum(c * F[k] for c, k in zip(signs, combo[1:]))
                out.append(np.where(field > 0, 1, -1))
        return np.array(out, dtype=np.int8)


def unseen(candidates: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Rows of `candidates` equal to no row of `seen` nor to its sign flip, without repeats.

    The test set of a structured data model: fresh draws that the network was not
    trained on (x and -x count as the same memory, since both are fixed points of
    the same couplings when one is). Order of first appearance is kept.

    Parameters
    ----------
    candidates : (M, N) +-1 configurations, e.g. `model.sample(M, seed=...)`
    seen : (P, N) +-1 configurations, e.g. the training set; None: only remove
        repeats (x and -x count as one), i.e. the distinct rows up to sign

    Returns
    -------
    int8 array (M', N), M' <= M
    """
    cand = as_spins("candidates", candidates).reshape(-1, np.shape(candidates)[-1])
    N = cand.shape[1]
    if seen is None:
        keep = cand
    else:
        seen = as_spins("seen", seen).reshape(-1, np.shape(seen)[-1])
        if seen.shape[1] != N:
            raise ValueError(f"candidates have N = {N} neurons but seen has N = {seen.shape[1]}")
        hit = np.abs(overlap_matrix(cand, seen)).max(axis=1) == 1.0   # exact: integer sums / N
        keep = cand[~hit]
    canonical = keep * np.where(keep[:, :1] < 0, -1, 1).astype(np.int8)
    _, first = np.unique(canonical, axis=0, return_index=True)
    return keep[np.sort(first)].astype(np.int8)


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
