"""Self-checks of sheet 2 (capacity).

Each checker recomputes its reference from the context the student passes (loads, sizes,
the measured overlaps or success fractions) with theory or with plain NumPy.
"""
import numpy as np
from scipy import special

from memkit.selfcheck import Checks

checks = Checks(sheet=2)


@checks.question("2.1a", tolerance="0.1 % of the N -> infinity formula at every load (round-off only)")
def _(answer, *, alphas):
    a = np.asarray(alphas, dtype=float)
    return checks.close(answer, 0.5 * special.erfc(1 / np.sqrt(2 * a)), rtol=1e-3)


@checks.question("2.1c", tolerance="0.1 % of the effective load (rounding to three digits)")
def _(answer, *, N, P):
    return checks.close(answer, (P - 1) / (N - 1), rtol=1e-3)


@checks.question("2.2c", tolerance="half a run: the fraction is a count of runs over their number")
def _(answer, *, overlaps):
    m = np.asarray(overlaps, dtype=float)
    return checks.close(answer, np.mean(m > 0.9), atol=0.5 / m.size)


@checks.question("2.3b", tolerance="0.001 in the load (rounding to three decimals)")
def _(answer, *, loads, success):
    loads = np.asarray(loads, dtype=float)
    s = np.asarray(success, dtype=float).mean(axis=1)       # mean over networks, one per load
    i = int(np.flatnonzero((s[:-1] >= 0.5) & (s[1:] < 0.5))[0])
    expected = loads[i] + (s[i] - 0.5) * (loads[i + 1] - loads[i]) / (s[i] - s[i + 1])
    return checks.close(answer, expected, atol=1e-3)
