"""The memory a transform keeps for its tapes between calls (`api.TapeMemory`).

The generated function takes `tape_memory=None`; called through the transform, its
tapes are cut from memory kept per thread, grown to the largest call's tapes. The
gradients are the same as with tapes allocated anew (the function called directly).
"""

import threading

import numpy as np
import pytest

import adgen


def heat(u0, r, steps):
    u = u0.copy()
    u_new = np.zeros(u0.shape[0])
    for _ in range(steps):
        for i in range(1, u.shape[0] - 1):
            u_new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        for i in range(1, u.shape[0] - 1):
            u[i] = u_new[i]
    return np.sum(u * u)


def _args(m, steps, seed=0):
    return np.random.default_rng(seed).uniform(size=m), 0.2, steps


@pytest.fixture(scope="module", params=["numba", "python"])
def transform(request):
    return adgen.grad(heat, argnums=(0, 1), backend=request.param)


def _memory(transform, args):
    call = transform.compile(transform.arg_types(list(args))).call
    return call.local.memory


def test_tapes_come_from_memory_kept_between_calls(transform):
    args = _args(20, 7)
    compiled = transform.compile(transform.arg_types(list(args)))
    assert "tape_memory=None" in compiled.source and "_adgen.tape_array(" in compiled.source
    first = transform(*args)
    arena = _memory(transform, args)[0]
    # the tape of u's overwritten interior elements: 7 steps x 18 cells
    assert arena.shape[0] >= 7 * 18
    second = transform(*args)
    assert _memory(transform, args)[0] is arena  # it fitted: nothing new allocated
    fresh = compiled.func(*args)  # called directly: tapes allocated anew
    for a, b, c in zip(first, second, fresh):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_memory_grows_for_a_larger_call_and_gradients_stay_right(transform):
    small, large = _args(20, 7), _args(40, 30, seed=1)
    transform(*small)
    transform(*large)
    assert _memory(transform, large)[0].shape[0] >= 30 * 38
    h = 1e-6
    u0, r, steps = large
    fd = [(heat(u0 + h * e, r, steps) - heat(u0 - h * e, r, steps)) / (2 * h)
          for e in np.eye(u0.shape[0])]
    np.testing.assert_allclose(transform(*large)[0], fd, rtol=1e-6, atol=1e-9)
    again = transform(*small)  # the larger memory serves the small call
    np.testing.assert_array_equal(again[0], transform.compile(
        transform.arg_types(list(small))).func(*small)[0])


def test_threads_each_have_their_own_memory(transform):
    cases = [_args(15 + 3 * k, 5 + k, seed=k) for k in range(4)]
    expected = [transform(*c) for c in cases]
    results = [None] * len(cases)

    def work(k):
        for _ in range(20):
            results[k] = transform(*cases[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]
