"""Self-checks of sheet 5 (memorisation to generalisation).

Each checker recomputes its reference from the context: the per-bit arithmetic of a
3-mixture, the occupancy formula, the distinct examples of the training set the student
passes in, the basin curves and fixed-point fractions measured on the sheet, or the
networks' own conditional entropies.
"""
import math

import numpy as np

from memkit.selfcheck import Checks

checks = Checks(sheet=5)


def _n_distinct(examples):
    x = np.asarray(examples)
    canon = x * np.where(x[:, :1] < 0, -1, 1)            # x and -x are one memory
    return len(np.unique(canon, axis=0))


def _cross_half(values, Ps):
    """P at which `values` first reaches 1/2, interpolated linearly in log P."""
    v, lp = np.asarray(values, dtype=float), np.log(Ps)
    k = int(np.argmax(v >= 0.5))
    if k == 0:
        raise ValueError("the fraction is already >= 1/2 at the first P, or never reaches it")
    return math.exp(np.interp(0.5, v[k - 1:k + 1], lp[k - 1:k + 1]))


@checks.question("5.1a", tolerance="0.002 (three decimals) on the mean and the standard deviation")
def _(answer, *, N):
    return checks.close(answer, [0.5, math.sqrt(0.75 / N)], atol=0.002)


@checks.question("5.1c", tolerance="half a count on each number")
def _(answer, *, D, L, train):
    M = math.comb(D, L) * 2 ** L // 2
    P = len(train)
    expected = [M, M * (1 - (1 - 1 / M) ** P), _n_distinct(train)]
    return checks.close(answer, expected, atol=0.5)


@checks.question("5.2a", tolerance="half an example over N")
def _(answer, *, train, N):
    return checks.close(answer, _n_distinct(train) / N, atol=0.5 / N)


@checks.question("5.2b", tolerance="5e-4 (three decimals)")
def _(answer, *, curve_train, curve_test):
    expected = [curve_train.radius_per_reference(0.95).mean(), curve_test.radius_per_reference(0.95).mean()]
    return checks.close(answer, expected, atol=5e-4)


@checks.question("5.2c", tolerance="3% of P (interpolation in log P)")
def _(answer, *, fixed_test, Ps):
    return checks.close(answer, _cross_half(fixed_test, Ps), rtol=0.03)


@checks.question("5.3a", tolerance="3% (interpolation in log P)")
def _(answer, *, feat_fixed, Ps, L, D):
    P_half = _cross_half(feat_fixed, Ps)
    return checks.close(answer, [P_half, P_half * L / D], rtol=0.03)


@checks.question("5.4a", tolerance="1% (ratio of two medians)")
def _(answer, *, H_test):
    Ps = sorted(H_test)
    return checks.close(answer, np.median(H_test[Ps[0]]) / np.median(H_test[Ps[-1]]), rtol=0.01)


@checks.question("5.4b", tolerance="1e-9 nats per neuron (float64 rounding)")
def _(answer, *, net, states):
    return checks.close(answer, net.conditional_entropy(states), atol=1e-9)
