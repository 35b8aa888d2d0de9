"""Self-checks of sheet 8 (two memories, one data set)."""
import numpy as np

from memkit.measures import basin_radius, coupling_agreement
from memkit.selfcheck import Checks

checks = Checks(sheet=8)


@checks.question("8.1a", tolerance="float64 round-off")
def _(answer, *, f):
    # a token is redrawn with probability 1 - alpha and lands on the other value half the time
    return checks.close(answer, 1.0 - 2.0 * f, atol=1e-9)


@checks.question("8.1b", tolerance="4 binomial standard errors of the measured fraction")
def _(answer, *, f, n_bits):
    return checks.close(answer, f, atol=4.0 * np.sqrt(f * (1.0 - f) / n_bits))


@checks.question("8.2a", tolerance="float64 round-off")
def _(answer, *, u):
    return checks.close(answer, u, atol=1e-9, rtol=1e-9)


@checks.question("8.2b")
def _(answer):
    return checks.equal(answer, True)


@checks.question("8.3a", tolerance="round-off of a correlation of float64 couplings")
def _(answer, *, C_lin, C_pl):
    return checks.close(answer, coupling_agreement(C_lin, C_pl)["correlation"], atol=1e-6)


@checks.question("8.3b")
def _(answer, *, C_lin, C_hebb, C_pl):
    r_lin = coupling_agreement(C_lin, C_pl)["correlation"]
    r_hebb = coupling_agreement(C_hebb, C_pl)["correlation"]
    return checks.equal(answer, "linear" if r_lin > r_hebb else "hebb")


@checks.question("8.4a", tolerance="the grid's own values")
def _(answer, *, overlaps, fractions):
    return checks.close(answer, basin_radius(fractions, overlaps, 0.95), atol=1e-9)


@checks.question("8.4b")
def _(answer, *, radius_pl, radius_lin):
    expected = "equal" if radius_pl == radius_lin else ("PL" if radius_pl > radius_lin else "linear")
    return checks.equal(answer, expected)
