"""Self-checks of sheet 1 (Hopfield networks).

Each checker recomputes its reference from the context the student passes (sizes, the
network, the start states) with theory or with the library, never from stored numbers.
"""
import numpy as np
from scipy import stats

import amsim
from memkit.selfcheck import Checks

checks = Checks(sheet=1)


def _crosstalk_sd(N, P):
    return np.sqrt((P - 1) * (N - 1)) / N


@checks.question("1.1a", tolerance="exact: the set of values a sum of P terms +-1 can take")
def _(answer, *, P):
    return checks.equal({int(round(v)) for v in answer}, set(range(-P, P + 1, 2)))


@checks.question("1.1b", tolerance="1 % of the exact standard deviation (rounding to two digits)")
def _(answer, *, N, P):
    return checks.close(answer, _crosstalk_sd(N, P), rtol=0.01)


@checks.question("1.1c", tolerance="25 % of the Gaussian tail probability: the tail is steep, "
                                   "rounding the standard deviation to 0.2 moves it by 12 %")
def _(answer, *, N, P):
    return checks.close(answer, stats.norm.cdf(-((N - 1) / N) / _crosstalk_sd(N, P)), rtol=0.25)


@checks.question("1.1d", tolerance="10 % of the Gaussian prediction (rounding of the signal-to-noise ratio)")
def _(answer, *, N, P):
    return checks.close(answer, N * stats.norm.cdf(-((N - 1) / N) / _crosstalk_sd(N, P)), rtol=0.10)


@checks.question("1.2a", tolerance="exact: a count of bits")
def _(answer, *, J, start, ref):
    after = amsim.run_dynamics(J, start, mode="sync", max_sweeps=1).states[0]
    return checks.equal(int(answer), int(np.sum(after != np.asarray(ref))))


@checks.question("1.2d", tolerance="10 % of the Gaussian prediction: the 1/N corrections to the "
                                   "signal move it by about 5 %")
def _(answer, *, N, P, k):
    m0, sd = 1 - 2 * k / N, _crosstalk_sd(N, P)
    expected = ((1 - k / N) * stats.norm.cdf(-(m0 - 1 / N) / sd)
                + (k / N) * stats.norm.cdf(-(m0 + 1 / N) / sd))
    return checks.close(answer, expected, rtol=0.10)


@checks.question("1.4a", tolerance="exact up to round-off (1e-9)")
def _(answer, *, J):
    end = amsim.run_dynamics(J, np.ones(len(J), dtype=np.int8), mode="async", order="fixed").states[0]
    return checks.close(answer, amsim.energy(J, end), atol=1e-9)


@checks.question("1.4c", tolerance="exact: a count of runs (the synchronous dynamics is deterministic)")
def _(answer, *, J, starts):
    res = amsim.run_dynamics(J, starts, mode="sync", max_sweeps=200)
    return checks.equal(int(answer), int(res.cycled.sum()))
