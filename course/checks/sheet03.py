"""Self-checks of sheet 3 (pseudo-likelihood).

Each checker recomputes its reference from the context the student passes (the patterns,
the couplings, beta, the training history) with the formulas of the sheet or with the
library.
"""
import numpy as np

import amsim
from memkit.selfcheck import Checks

checks = Checks(sheet=3)


@checks.question("3.1a", tolerance="relative 1e-9 (round-off of a sum of P N terms)")
def _(answer, *, N, P):
    return checks.close(answer, P * N * np.log(2), rtol=1e-9)


@checks.question("3.1b", tolerance="1e-9 of the largest entry of the gradient (round-off)")
def _(answer, *, J, xi, beta):
    expected = -amsim.pl_gradient(J, xi, beta)
    return checks.close(answer, expected, atol=1e-9 * np.abs(expected).max())


@checks.question("3.1c", tolerance="exact: a set of row indices")
def _(answer, *, row):
    return checks.equal({int(r) for r in answer}, {int(row)})


@checks.question("3.2a", tolerance="relative 1e-6 (round-off of a fit)")
def _(answer, *, N, beta):
    return checks.close(answer, beta * N, rtol=1e-6)


@checks.question("3.2b", tolerance="relative 1e-6 (round-off of a fit)")
def _(answer, *, learning_rate, N, P, beta):
    return checks.close(answer, learning_rate * beta * N / P, rtol=1e-6)


@checks.question("3.3a", tolerance="half a bit: a count of bits over their number")
def _(answer, *, J, xi):
    unstable = ~amsim.stable_neurons(J, xi)             # a tie (|h_i| <= tie_tol) is stable
    return checks.close(answer, unstable.mean(), atol=0.5 / unstable.size)


@checks.question("3.3b", tolerance="exact: a step number")
def _(answer, *, history):
    h = history.as_arrays()
    steps, row_min = h["step"][1:], h["min_margin"][1:].min(axis=1)
    return checks.equal(int(answer), int(steps[np.argmax(row_min > 0)]))


@checks.question("3.4c", tolerance="0.001 (rounding to three decimals)")
def _(answer, *, J, xi, beta, k=10):
    D = xi * (xi @ np.asarray(J).T)
    w = 1 - np.tanh(beta * D)
    w_sorted = np.take_along_axis(w, np.argsort(D, axis=0), axis=0)
    return checks.close(answer, float(np.mean(w_sorted[:k].sum(axis=0) / w_sorted.sum(axis=0))), atol=1e-3)


@checks.question("3.4d", tolerance="0.002 in the slope (rounding, and the choice of fit points "
                                   "within the last decade)")
def _(answer, *, history):
    h = history.as_arrays()
    steps = h["step"]
    last = steps >= steps[-1] / 10
    slope = np.polyfit(np.log(steps[last]), h["row_norm"][last].mean(axis=1), 1)[0]
    return checks.close(answer, slope, atol=2e-3)
