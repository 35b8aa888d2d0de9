"""Self-checks of sheet 6 (spurious states).

Each checker recomputes its reference from the context: the mixture-state arithmetic
(overlaps 1/2, aligned fields 1/2 and 3/2), the one-step error of the Theory, AGS's
alpha_c from amsim, or the network and census the student passes in.
"""
import itertools
import math

import numpy as np

import amsim
from memkit.selfcheck import Checks

checks = Checks(sheet=6)


def _mixtures3(patterns):
    P = len(patterns)
    return np.array([amsim.mixture_state(patterns, trio, signs=(1, sb, sc))
                     for trio in itertools.combinations(range(P), 3)
                     for sb, sc in itertools.product((1, -1), repeat=2)])


@checks.question("6.1a", tolerance="0.002 (three decimals) on each of the four numbers")
def _(answer, *, N):
    expected = [0.5, math.sqrt(0.75 / N), 0.0, 1 / math.sqrt(N)]
    return checks.close(answer, expected, atol=0.002)


@checks.question("6.1b", tolerance="0.01 on each number (crosstalk neglected)")
def _(answer):
    return checks.close(answer, [0.5, 1.5, 0.75], atol=0.01)


@checks.question("6.1c", tolerance="exact count")
def _(answer, *, net, patterns):
    return checks.equal(int(answer), int(net.is_fixed_point(_mixtures3(patterns)).sum()))


@checks.question("6.1d", tolerance="0.002 per neuron (three decimals)")
def _(answer):
    return checks.close(answer, [-0.5, -0.5 * 3 * 0.25, -0.5 * 5 * (3 / 8) ** 2], atol=0.002)


@checks.question("6.2a", tolerance="exact: two loads of the grid")
def _(answer, *, alphas, m_mix, m_pat):
    first = lambda m: float(alphas[int(np.argmax(np.asarray(m).mean(axis=1) < 0.95))])
    return checks.close(answer, [first(m_mix), first(m_pat)], atol=1e-9)


@checks.question("6.2b", tolerance="0.1% of the one-step error (plus 1e-7 where it is tiny)")
def _(answer, *, alphas):
    a = np.asarray(alphas, dtype=float)
    expected = 0.75 * amsim.hebb_one_step_error(4 * a) + 0.25 * amsim.hebb_one_step_error(4 * a / 9)
    return checks.close(answer, expected, rtol=1e-3, atol=1e-7)


@checks.question("6.2c", tolerance="0.1% (AGS's alpha_c to four digits)")
def _(answer):
    return checks.close(answer, amsim.ags_alpha_c() / 4, rtol=1e-3)


@checks.question("6.3b", tolerance="0.005 (two decimals)")
def _(answer, *, census, patterns):
    other = census.labels != "memorised"
    st, cnt = census.states[other], census.counts[other]
    is3 = np.abs(amsim.overlap_matrix(st, _mixtures3(patterns))).max(axis=1) >= 0.95
    return checks.close(answer, cnt[is3].sum() / cnt.sum(), atol=0.005)


@checks.question("6.4b", tolerance="3% of P (interpolation in log P)")
def _(answer, *, frac, Ps):
    mem = np.array([frac[P]["memorised"] for P in Ps])
    gen = np.array([frac[P]["generalised"] for P in Ps])
    lp = np.log(Ps)
    k = int(np.argmax(gen > mem))
    if k == 0:
        raise ValueError("the memorised and generalised fractions do not cross on this grid")
    d0, d1 = mem[k - 1] - gen[k - 1], mem[k] - gen[k]
    expected = math.exp(lp[k - 1] + d0 / (d0 - d1) * (lp[k] - lp[k - 1]))
    return checks.close(answer, expected, rtol=0.03)
