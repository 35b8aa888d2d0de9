"""Self-checks of sheet 9 (dense associative memory). Each checker recomputes its
reference from the context the question names, with the library (`amsim.dense`,
`amsim.circle_study`), and never prints it."""
import numpy as np

from memkit.selfcheck import Checks

checks = Checks(sheet=9)


def _count_stable(update, jacobian, starts):
    from amsim.circle_study import find_stable_points
    return len(find_stable_points(update, jacobian, starts)["points"])


@checks.question("9.1a", tolerance="float64 round-off, 1e-10 times the size of the patterns")
def _(answer, *, x, xi, beta):
    from amsim import dam_update
    return checks.close(answer, dam_update(x, xi, beta), atol=1e-10 * (1 + np.abs(xi).max()))


@checks.question("9.1c", tolerance="exact: a count of stable points")
def _(answer, *, xi, betas, starts):
    from amsim import dam_jacobian, dam_update
    expected = np.array([_count_stable(lambda x, b=b: dam_update(x, xi, b),
                                       lambda x, b=b: dam_jacobian(x, xi, b), starts) for b in betas])
    return checks.equal(np.asarray(answer, dtype=int), expected)


@checks.question("9.2a", tolerance="float64 round-off, 1e-10 times the size of the data")
def _(answer, *, x, data, sigma):
    from amsim import empirical_denoiser
    return checks.close(answer, empirical_denoiser(x, data, sigma), atol=1e-10 * (1 + np.abs(data).max()))


@checks.question("9.2b", tolerance="a central difference with step h <= 1e-4: error O(h^2 / sigma^4)")
def _(answer, *, x, data, sigma):
    from amsim import empirical_score
    return checks.close(answer, empirical_score(x, data, sigma), atol=1e-5 * max(1.0, sigma ** -4))


@checks.question("9.3a", tolerance="sigma / 10: the scan step and the merging radius of the stable-point search")
def _(answer, *, sigma):
    return checks.close(answer, 2.0 * sigma, atol=0.1 * sigma)


def _census(n_values, seed, sigma, grid):
    from amsim.circle_study import (circle_data, classify_stable_points, exact_denoiser,
                                    find_stable_points, grid_starts)
    out = []
    for n in n_values:
        data = circle_data(n, seed)
        found = find_stable_points(*exact_denoiser(data, sigma), grid_starts(grid), dedup=sigma / 20)
        labels = classify_stable_points(found["points"], data, sigma)
        out.append([labels.count(c) for c in ("memorised", "spurious", "generalised")])
    return np.array(out)


@checks.question("9.3b", tolerance="exact: counts of stable points")
def _(answer, *, n_values, seed, sigma, grid):
    return checks.equal(np.asarray(answer, dtype=int), _census(n_values, seed, sigma, grid))
