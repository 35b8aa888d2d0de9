import numpy as np
import pytest

import amsim
from amsim import (
    AssociativeMemory,
    conditional_entropy,
    conditional_probability,
    local_fields,
    margins,
    probability_plus,
    random_patterns,
    total_conditional_entropy,
)


def asym_J(N, seed=0):
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(N, N)) / np.sqrt(N)
    np.fill_diagonal(J, 0.0)
    return J


def test_local_field_row_convention():
    J = asym_J(6)
    s = random_patterns(1, 6, seed=1)[0]
    h = local_fields(J, s)
    for i in range(6):
        assert h[i] == pytest.approx(sum(J[i, j] * s[j] for j in range(6) if j != i))


def test_conditional_probability_eq9_and_extremes():
    J = asym_J(10)
    s = random_patterns(5, 10, seed=2)
    beta = 0.7
    h = s @ J.T
    p = conditional_probability(J, s, beta)
    np.testing.assert_allclose(p, np.exp(beta * s * h) / (2 * np.cosh(beta * h)), rtol=1e-12)
    pp = probability_plus(J, s, beta)
    np.testing.assert_allclose(np.where(s > 0, pp, 1 - pp), p, rtol=1e-12)
    # no overflow at huge fields
    p_big = conditional_probability(1e6 * J, s, beta)
    assert np.all(np.isfinite(p_big)) and np.all((p_big == 0) | (p_big == 1) | ((p_big > 0) & (p_big < 1)))


def test_conditional_entropy_is_binary_entropy_and_vanishes_at_sharp_attractor():
    J = asym_J(12)
    s = random_patterns(4, 12, seed=3)
    beta = 1.3
    pp = probability_plus(J, s, beta)
    expected = -(pp * np.log(pp) + (1 - pp) * np.log(1 - pp))
    np.testing.assert_allclose(conditional_entropy(J, s, beta), expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(total_conditional_entropy(J, s, beta), expected.sum(axis=1), rtol=1e-10)
    assert np.all(conditional_entropy(J, s, 1e6) < 1e-6)
    np.testing.assert_allclose(conditional_entropy(np.zeros((3, 3)), np.ones(3), 1.0), np.log(2))


def test_margins_eq7_raw_and_normalised():
    J = asym_J(8)
    xi = random_patterns(3, 8, seed=4)
    raw = margins(J, xi, normalised=False)
    np.testing.assert_allclose(raw, xi * (xi @ J.T))
    np.testing.assert_allclose(margins(J, xi), raw / np.linalg.norm(J, axis=1))
    # scale invariance of the normalised margin
    np.testing.assert_allclose(margins(5 * J, xi), margins(J, xi))


def test_couplings_are_validated():
    with pytest.raises(ValueError, match="zero diagonal"):
        AssociativeMemory.from_couplings(np.eye(3))
    with pytest.raises(ValueError, match="square"):
        AssociativeMemory.from_couplings(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="beta"):
        AssociativeMemory.from_couplings(np.zeros((3, 3)), beta=0)
    net = AssociativeMemory.from_couplings(asym_J(5))
    with pytest.raises(ValueError, match="4 neurons but the network has N = 5"):
        net.local_fields(np.ones(4))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        net.local_fields(np.array([1, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match="call fit"):
        amsim.HebbianMemory().local_fields(np.ones(5))


def test_is_fixed_point_uses_the_dynamics_tie_rule():
    # Hebb with N even and P even: some fields are exactly 0 (N h_i is an even integer)
    xi = amsim.random_patterns(10, 100, seed=18)
    J = amsim.hebb_couplings(xi)
    starts = amsim.random_patterns(300, 100, seed=1)
    for tie in ("keep", "plus"):
        for mode in ("async", "sync"):
            res = amsim.run_dynamics(J, starts, mode, tie=tie, seed=2)
            ends = res.states[res.converged]
            assert len(ends) > 0
            assert np.all(amsim.is_fixed_point(J, ends, tie=tie))
    ends = amsim.run_dynamics(J, starts, "async", seed=2)
    ends = ends.states[ends.converged]
    D = amsim.margins(J, ends, normalised=False)
    tied = np.abs(D) < 1e-12
    assert tied.any(axis=1).sum() > 10     # fixed points with exactly tied spins
    assert np.all(D[~tied] > 0)
    plus_ok = np.all(~tied | (ends > 0), axis=1)
    assert np.array_equal(amsim.is_fixed_point(J, ends, tie="plus"), plus_ok)
    assert not plus_ok.all()
    with pytest.raises(ValueError, match="'never'"):
        amsim.is_fixed_point(J, starts, tie="never")


def test_energy_is_the_quadratic_form_and_falls_by_twice_the_field_on_a_flip():
    xi = amsim.random_patterns(7, 60, seed=0)
    J = amsim.hebb_couplings(xi)
    s = amsim.flip_bits(xi[0], 20, seed=1).astype(float)
    E = amsim.energy(J, s)
    assert E == pytest.approx(-0.5 * s @ J @ s, rel=1e-12)
    h = J @ s
    i = int(np.argmax(-s * h))            # the most unstable neuron
    s2 = s.copy()
    s2[i] = -s2[i]
    assert amsim.energy(J, s2) - E == pytest.approx(-2 * abs(h[i]), rel=1e-12)
    assert amsim.energy(J, np.stack([s, s2])).shape == (2,)
    net = amsim.HebbianMemory().fit(xi)
    assert net.energy(s) == pytest.approx(E)
