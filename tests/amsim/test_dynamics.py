import numba
import numpy as np
import pytest

from amsim import HebbianMemory, flip_bits, is_symmetric, random_patterns, run_dynamics, sync_step
from amsim.dynamics import CONVERGED, CYCLE, MAX_SWEEPS, SAMPLED


def asym_J(N, seed=0):
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(N, N))
    np.fill_diagonal(J, 0.0)
    return J


def reference_async_sweep(J, s, order):
    """One asynchronous sweep written out by hand: h_i = sum_j J_ij s_j (row i)."""
    s = s.astype(int).copy()
    for i in order:
        h = sum(J[i, j] * s[j] for j in range(len(s)))
        if h != 0:
            s[i] = 1 if h > 0 else -1
    return s


def test_sync_step_uses_rows_of_J():
    J = asym_J(30, seed=1)
    s0 = random_patterns(20, 30, seed=2)
    one = sync_step(J, s0)
    np.testing.assert_array_equal(one, np.sign(s0 @ J.T))
    # the column convention would give something else for an asymmetric J
    assert not np.array_equal(one, np.sign(s0 @ J))


@pytest.mark.parametrize("tie", ["keep", "plus"])
def test_sync_step_is_one_capped_synchronous_sweep(tie):
    J = asym_J(40, seed=3)
    J[:, :5] = 0.0  # ties wherever the other inputs cancel: a spin with only zero inputs
    J[7, :] = 0.0
    s0 = random_patterns(15, 40, seed=4)
    capped = run_dynamics(J, s0, "sync", max_sweeps=1, tie=tie)
    one = sync_step(J, s0, tie=tie)
    assert one.dtype == np.int8 and one.shape == s0.shape
    np.testing.assert_array_equal(one, capped.states)
    np.testing.assert_array_equal(sync_step(J, s0[3], tie=tie), capped.states[3])  # (N,) in, (N,) out
    assert (capped.status == MAX_SWEEPS).any()  # what the old spelling reported
    s_before = s0.copy()
    net = HebbianMemory().fit(s0)
    np.testing.assert_array_equal(net.one_step(s0, tie=tie), net.run(s0, mode="sync", max_sweeps=1, tie=tie).states)
    np.testing.assert_array_equal(s0, s_before)  # the input is not modified
    with pytest.raises(ValueError, match="neurons"):
        sync_step(J, s0[:, :10])
    with pytest.raises(ValueError, match="tie"):
        sync_step(J, s0, tie="minus")


def test_is_symmetric_and_the_blockwise_tie_tolerance():
    from amsim.dynamics import block_tie_tol
    from amsim.network import default_tie_tol

    for N in (2, 7, 255, 256, 300, 700):
        A = asym_J(N, seed=N)
        S = (A + A.T) / 2
        assert is_symmetric(S) and not is_symmetric(A)
        B = S.copy()
        B[N - 1, 0] = np.nextafter(B[N - 1, 0], np.inf)  # the smallest difference, in the last block
        assert not is_symmetric(B)
        for M in (A, S, S.astype(np.float32)):
            assert block_tie_tol(M) == default_tie_tol(M)
            assert block_tie_tol(M, block=3) == default_tie_tol(M)


@pytest.mark.parametrize("mode, order", [("async", "random"), ("async", "fixed"), ("glauber", "random")])
def test_symmetric_couplings_give_the_same_result_without_the_transposed_copy(mode, order):
    xi = random_patterns(30, 200, seed=5)
    J = HebbianMemory().fit(xi).J_
    start = flip_bits(xi[:10], 40, seed=6)
    kw = dict(order=order, max_sweeps=20, beta=2.0 if mode == "glauber" else None)
    checked = run_dynamics(J, start, mode, seed=7, **kw)
    promised = run_dynamics(J, start, mode, seed=7, symmetric=True, **kw)
    copied = run_dynamics(J, start, mode, seed=7, symmetric=False, **kw)
    for r in (checked, promised):
        for f in ("states", "n_sweeps", "status", "period"):
            np.testing.assert_array_equal(getattr(r, f), getattr(copied, f))


def test_symmetric_couplings_are_not_copied(monkeypatch):
    import tracemalloc

    from amsim import dynamics

    N = 2000
    xi = random_patterns(40, N, seed=8)
    J = HebbianMemory().fit(xi).J_  # symmetric, C-contiguous float64: 32 MB
    A = asym_J(N, seed=9)
    start = flip_bits(xi[:4], 30, seed=10)
    run_dynamics(J, start, "async", seed=0)  # compile the kernel outside the measurement
    seen = []
    kernel = dynamics._async_kernel

    def spy(JT, *args):
        seen.append(JT)
        return kernel(JT, *args)

    monkeypatch.setattr(dynamics, "_async_kernel", spy)
    peaks = {}
    for name, M in (("symmetric", J), ("asymmetric", A)):
        tracemalloc.start()
        run_dynamics(M, start, "async", seed=0)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert np.shares_memory(seen[0], J)  # the kernel reads J itself
    assert not np.shares_memory(seen[1], A)  # an asymmetric J is copied transposed
    # no N x N temporary for the symmetric J: the largest are the finiteness check's N x N
    # booleans (1/8 of J) and one 4 MiB block of the tie tolerance
    assert peaks["symmetric"] < 0.3 * J.nbytes, peaks
    assert peaks["asymmetric"] >= A.nbytes, peaks


def test_async_fixed_order_sweep_matches_hand_written_loop():
    J = asym_J(25, seed=3)
    s0 = random_patterns(10, 25, seed=4)
    r = run_dynamics(J, s0, "async", order="fixed", max_sweeps=1)
    for t in range(10):
        np.testing.assert_array_equal(r.states[t], reference_async_sweep(J, s0[t], range(25)))


def test_glauber_at_huge_beta_is_zero_temperature_async():
    J = asym_J(25, seed=5)
    s0 = random_patterns(10, 25, seed=6)
    a = run_dynamics(J, s0, "async", order="fixed", max_sweeps=1)
    g = run_dynamics(J, s0, "glauber", order="fixed", beta=1e9, n_sweeps=1, seed=0)
    np.testing.assert_array_equal(a.states, g.states)
    assert np.all(g.status == SAMPLED)


@pytest.mark.parametrize("mode, order", [("sync", "random"), ("async", "random"), ("async", "fixed")])
def test_every_mode_stops_on_fixed_points_of_h_equals_J_sigma(mode, order):
    # weakly asymmetric couplings so that fixed points exist and are reached
    rng = np.random.default_rng(7)
    xi = random_patterns(5, 60, seed=8)
    J = HebbianMemory().fit(xi).J_ + 0.02 * rng.normal(size=(60, 60))
    np.fill_diagonal(J, 0)
    r = run_dynamics(J, flip_bits(np.repeat(xi, 4, axis=0), 6, seed=9), mode, order=order, seed=10)
    conv = r.converged
    assert conv.mean() > 0.5
    S = r.states[conv].astype(float)
    np.testing.assert_array_equal(np.sign(S @ J.T), S)


def test_synchronous_two_cycle_is_detected():
    # two neurons that copy each other's opposite sign flip together: a 2-cycle
    J = np.array([[0.0, 1.0], [1.0, 0.0]])
    r = run_dynamics(J, np.array([1, -1]), "sync", max_sweeps=50)
    assert r.status[0] == CYCLE and r.period[0] == 2
    # the same state under asynchronous dynamics converges
    a = run_dynamics(J, np.array([1, -1]), "async", order="fixed")
    assert a.status[0] == CONVERGED


def test_asymmetric_cycle_in_fixed_order_async_is_detected():
    # a frustrated ring: neuron i copies neuron i-1 with a sign flip on one link
    N = 5
    J = np.zeros((N, N))
    for i in range(N):
        J[i, (i - 1) % N] = 1.0
    J[0, N - 1] = -1.0
    r = run_dynamics(J, np.ones(N, dtype=np.int8), "async", order="fixed", max_sweeps=100)
    assert r.status[0] == CYCLE and r.period[0] >= 1
    r2 = run_dynamics(J, np.ones(N, dtype=np.int8), "async", order="random", max_sweeps=30, seed=0)
    assert r2.status[0] == MAX_SWEEPS and r2.n_sweeps[0] == 30


def test_tie_rule():
    J = np.zeros((3, 3))  # every field is a tie
    s = np.array([-1, 1, -1])
    keep = run_dynamics(J, s, "async", tie="keep")
    plus = run_dynamics(J, s, "sync", tie="plus", max_sweeps=5)
    np.testing.assert_array_equal(keep.states[0], s)
    np.testing.assert_array_equal(plus.states[0], [1, 1, 1])
    assert keep.status[0] == CONVERGED and plus.status[0] == CONVERGED
    # Hebbian couplings with an even number of patterns produce exact ties: keep rule holds
    xi = random_patterns(2, 9, seed=1)
    J = HebbianMemory().fit(xi).J_
    s0 = xi[0].copy()
    r = run_dynamics(J, s0, "async", tie="keep", seed=0)
    np.testing.assert_array_equal(r.states[0], s0)


def test_same_seed_same_numbers_whatever_the_thread_count():
    xi = random_patterns(30, 200, seed=11)
    J = HebbianMemory().fit(xi).J_
    x0 = flip_bits(np.repeat(xi, 3, axis=0), 40, seed=12)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = run_dynamics(J, x0, "async", seed=13)
        g1 = run_dynamics(J, x0, "glauber", beta=1.0, n_sweeps=5, seed=14)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        b = run_dynamics(J, x0, "async", seed=13)
        g2 = run_dynamics(J, x0, "glauber", beta=1.0, n_sweeps=5, seed=14)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(g1.states, g2.states)
    c = run_dynamics(J, x0, "glauber", beta=1.0, n_sweeps=5, seed=15)
    assert not np.array_equal(c.states, g1.states)


def test_glauber_samples_eq9_for_a_single_free_neuron():
    # neuron 0 feels a fixed field h = J01 * s1 from a neuron that is pinned by a huge self-consistent
    # coupling to neuron 2; p(s0 = +1) = 1 / (1 + exp(-2 beta h)) (eq. 9)
    J = np.zeros((3, 3))
    J[0, 1] = 0.4
    J[1, 2] = J[2, 1] = 50.0
    beta = 1.5
    s0 = np.tile(np.array([1, 1, 1], dtype=np.int8), (20000, 1))
    r = run_dynamics(J, s0, "glauber", beta=beta, n_sweeps=3, seed=1)
    assert np.all(r.states[:, 1] == 1)
    p = 1 / (1 + np.exp(-2 * beta * 0.4))
    freq = (r.states[:, 0] == 1).mean()
    assert abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 20000)


def test_bad_arguments():
    J = asym_J(4)
    with pytest.raises(ValueError, match="mode must be one of"):
        run_dynamics(J, np.ones(4), "parallel")
    with pytest.raises(ValueError, match="needs an inverse temperature"):
        run_dynamics(J, np.ones(4), "glauber")
    with pytest.raises(ValueError, match="3 neurons but J has N = 4"):
        run_dynamics(J, np.ones(3), "async")
    with pytest.raises(ValueError, match="max_sweeps"):
        run_dynamics(J, np.ones(4), "async", max_sweeps=0)


def test_result_reports_cycles_caps_and_overlaps():
    # two neurons that follow each other with opposite signs: a 2-cycle under sync updates
    J = np.array([[0.0, -1.0], [-1.0, 0.0]])
    res = run_dynamics(J, np.array([[1, 1], [1, -1]]), "sync")
    assert list(res.cycled) == [True, False] and list(res.converged) == [False, True]
    assert not res.hit_cap.any()
    xi = random_patterns(3, 200, seed=0)
    net = HebbianMemory().fit(xi)
    start = flip_bits(np.repeat(xi[:1], 4, axis=0), 20, seed=1)
    capped = net.run(start, max_sweeps=1, mode="sync")
    assert capped.hit_cap.all() or capped.converged.any()
    done = net.run(start, seed=2)
    assert np.allclose(done.overlap(xi[0]), 1.0)
    assert np.allclose(done.overlap(np.repeat(xi[:1], 4, axis=0)), 1.0)
    with pytest.raises(ValueError, match="references"):
        done.overlap(xi[:2])
