"""Self-checks of sheet 4 (margins and basins).

Each checker recomputes its reference from the context the student passes (sizes, the
couplings, the patterns, a training history) with the theory of the sheet or with the
library.
"""
import numpy as np
from scipy import stats

import amsim
from memkit.selfcheck import Checks

checks = Checks(sheet=4)


@checks.question("4.1a", tolerance="1 % of the prediction (rounding to three digits)")
def _(answer, *, N, P):
    signal, crosstalk_sd = (N - 1) / N, np.sqrt((P - 1) * (N - 1)) / N
    row_norm = np.sqrt((N - 1) * P) / N
    return checks.close(answer, np.array([signal / row_norm, crosstalk_sd / row_norm]), rtol=0.01)


@checks.question("4.1c", tolerance="exact: a count of tied stabilities (|h_i| <= tie_tol)")
def _(answer, *, J, xi):
    D = amsim.margins(J, xi, normalised=False)
    tie_tol = 1e-10 * np.abs(np.asarray(J, dtype=float)).sum(axis=1).max()
    return checks.equal(int(answer), int(np.sum(np.abs(D) <= tie_tol)))


@checks.question("4.1d", tolerance="6 % of the prediction: the large-N and the finite-N one-step "
                                   "error give predictions about 5 % apart")
def _(answer, *, N, P):
    p = stats.norm.cdf(-1 / np.sqrt(P / N))
    return checks.close(answer, (1 - p) ** P, rtol=0.06)


@checks.question("4.2a", tolerance="0.0002 (rounding to four decimals)")
def _(answer, *, kappa, N, P):
    return checks.close(answer, np.mean(kappa) - amsim.gardner_kappa_opt(P / (N - 1)), atol=2e-4)


@checks.question("4.2d", tolerance="half a stability: a count over their number")
def _(answer, *, J, xi, kappa):
    on = amsim.margins(J, xi) <= np.asarray(kappa) + 1e-3
    return checks.close(answer, on.mean(), atol=0.5 / on.size)


@checks.question("4.3a", tolerance="0.0005 (rounding to three decimals)")
def _(answer, *, history, kappa, t):
    h = history.as_arrays()
    q = int(np.flatnonzero(h["step"] == t)[0])
    return checks.close(answer, np.mean(np.asarray(kappa) - h["min_margin"][q]), atol=5e-4)
