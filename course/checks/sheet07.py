"""Self-checks of sheet 7 (uniform diffusion by hand).

Every checker recomputes its reference from the context it is given: eq. 1 and eq. 2
in closed form, the exact Markov-chain posterior (`MarkovSource.bayes_posterior`),
uddm's own reverse process, or the Mann-Whitney null standard error.
"""
import math

import numpy as np
import torch

from memkit.selfcheck import Checks
from uddm import make_schedule
from uddm.measures import mean_and_se
from uddm.sample import reverse_process

checks = Checks(sheet=7)
_schedule = make_schedule()


def _q_forward(alpha, K, x=0):
    q = np.full(K, (1 - alpha) / K)
    q[x] += alpha
    return q


@checks.question("7.1a", tolerance="float64 rounding (1e-9)")
def _(answer, *, times, K):
    expected = np.array([_q_forward(_schedule.alpha(t), K) for t in times])
    return checks.close(answer, expected, atol=1e-9)


@checks.question("7.1b", tolerance="1e-6, far below any standard error here")
def _(answer, *, times, K, N):
    p = np.array([_q_forward(_schedule.alpha(t), K) for t in times])
    return checks.close(answer, np.sqrt(p * (1 - p) / N), atol=1e-6)


@checks.question("7.1d", tolerance="0.2% (three significant digits)")
def _(answer, *, K, L, t):
    p = (1 - _schedule.alpha(t)) * (K - 1) / K
    return checks.close(answer, [L * p, (1 - p) ** L], rtol=2e-3)


@checks.question("7.2c", tolerance="1e-4 (four decimals)")
def _(answer, *, x_theta, zt, t):
    q = np.array([_q_forward(_schedule.alpha(t), len(x_theta), x=x)[zt] for x in range(len(x_theta))])
    w = np.asarray(x_theta, dtype=float) * q
    return checks.close(answer, w / w.sum(), atol=1e-4)


@checks.question("7.3a", tolerance="0.05 standard errors (one decimal)")
def _(answer, *, r_train, r_test):
    m1, s1, _ = mean_and_se(r_train.recovery)
    m2, s2, _ = mean_and_se(r_test.recovery)
    return checks.close(answer, (m1 - m2) / math.hypot(s1, s2), atol=0.05)


@checks.question("7.3b", tolerance="1e-9: an exact posterior, float64 rounding")
def _(answer, *, z, alpha, source):
    return checks.close(answer, source.bayes_posterior(np.asarray(z), alpha), atol=1e-9)


@checks.question("7.3c", tolerance="5e-4 (three decimals)")
def _(answer, *, K, t):
    a = _schedule.alpha(t)
    return checks.close(answer, a + (1 - a) / K, atol=5e-4)


@checks.question("7.3d", tolerance="exact: the same tokens as uddm's greedy reverse process")
def _(answer, *, model, start, t, steps):
    ref = reverse_process(model, _schedule, start, t, steps, dynamics="greedy", entropy=False).tokens
    return checks.equal(np.asarray(torch.as_tensor(answer)), ref.numpy())


@checks.question("7.4a", tolerance="0.1% (the null standard error in closed form)")
def _(answer, *, n_ref, n_cmp):
    se0 = math.sqrt((n_ref + n_cmp + 1) / (12 * n_ref * n_cmp))
    return checks.close(answer, 0.5 / se0, rtol=1e-3)


@checks.question("7.4b", tolerance="1e-4 (exact fraction of allowed pairs)")
def _(answer, *, source):
    return checks.close(answer, float((np.asarray(source.P) > 0).mean()), atol=1e-4)
