"""Inner loops' work that does not depend on their enclosing loop, done once
(`transforms/fission.py`).

* an MLP's hidden layer, recomputed by a helper per class, is computed once per
  example: the first class's call (before the class loop) is split and its buffer
  serves the class loop; reverse mode goes back through W1 once per example;
* with no such loop before it, the invariant part gets its own loop before the
  enclosing loop, run only when that loop runs;
* parts that read an array written in the function, that hold no loop, or whose
  enclosing loops are `while` loops are left alone.

Gradients against central differences, forward mode, Hessians and the dot-product
test, on both back ends; the loop objective against its vectorized twin.
"""

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.testing import check_grads, check_vjp
from adgen.transforms.fission import hoist_invariant_parts
from adgen.transforms.simplify.dce import eliminate_dead_code

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from objectives.mlp import make_data, mlp_loops, mlp_vectorized

BACKENDS = ["python", "numba"]


def unit(x, W, k):
    """Hidden unit k's input: the loop a helper recomputes for every output."""
    a = 0.0
    for j in range(W.shape[0]):
        a += x[j] * W[j, k]
    return a


def per_output(x, W, V):
    """sum_c (sum_k tanh(x . W[:, k]) V[k, c])^2: the hidden units recomputed per c."""
    total = 0.0
    for c in range(V.shape[1]):
        z = 0.0
        for k in range(W.shape[1]):
            z += math.tanh(unit(x, W, k)) * V[k, c]
        total += z * z
    return total


def per_output_vectorized(x, W, V):
    return np.sum((np.tanh(x @ W) @ V) ** 2)


def reads_a_written_array(x, W, V):
    """The invariant part reads `s`, which the function writes: left alone."""
    s = x.copy()
    s[0] = s[0] * 2.0
    total = 0.0
    for c in range(V.shape[1]):
        z = 0.0
        for k in range(W.shape[1]):
            z += unit(s, W, k) * V[k, c]
        total += z * z
    return total


def scalar_part_only(x, W, V):
    """An invariant part without a loop: simplify's LICM is enough, no buffer."""
    d, h = W.shape
    total = 0.0
    for c in range(V.shape[1]):
        z = 0.0
        for k in range(h):
            z += math.tanh(x[k % d] * W[0, k]) * V[k, c]
        total += z * z
    return total


def in_a_while_loop(x, W, V):
    """The enclosing loop of the class loop is a `while`: nothing is threaded."""
    total = 0.0
    rounds = 0
    while rounds < 2:
        for c in range(V.shape[1]):
            z = 0.0
            for k in range(W.shape[1]):
                z += unit(x, W, k) * V[k, c]
            total += z * z
        rounds += 1
    return total


def _data(seed=0, classes=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=4), 0.5 * rng.normal(size=(4, 5)), rng.normal(size=(5, classes))


def _ir(f, args, kind=adgen.grad):
    return adgen.ir(kind(f, argnums=(0, 1, 2)), *args)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_hidden_layer_is_computed_once_per_example(backend):
    data = make_data(6, 5, 4, 3, 0)
    argnums = (0, 1, 2, 3)
    got = adgen.grad(mlp_loops, argnums=argnums, backend=backend)(*data)
    want = adgen.grad(mlp_vectorized, argnums=argnums, backend=backend)(*data)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    check_vjp(mlp_loops, data, argnums=argnums, backend=backend)
    text = adgen.source(adgen.grad(mlp_loops, argnums=argnums, backend=backend), *data)
    # one tanh per hidden unit and example, into a buffer allocated before every loop
    assert text.count("np.tanh(") == 1, text
    assert re.search(r"^    tanh_a = np\.empty\(\w+, dtype=np\.float64\)$", text, re.M)
    # the class loop reads it; W1's adjoint is accumulated once per example, not per class
    assert len(re.findall(r"W1_bar\[\w+, \w+\] \+=", text)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_invariant_part_gets_its_own_loop(backend):
    args = _data(1)
    check_grads(per_output, args, argnums=(0, 1, 2), backend=backend)
    check_vjp(per_output, args, argnums=(0, 1, 2), backend=backend)
    np.testing.assert_allclose(
        adgen.grad(per_output, argnums=1, backend=backend)(*args),
        adgen.grad(per_output_vectorized, argnums=1, backend=backend)(*args), rtol=1e-12)
    text = adgen.source(adgen.grad(per_output, argnums=(0, 1, 2), backend=backend), *args)
    assert text.count("np.tanh(") == 1
    # run only when the class loop runs
    assert re.search(r"runs = trips > 0", text)


def test_an_enclosing_loop_that_never_runs():
    x, W, V = _data(2, classes=0)
    for backend in BACKENDS:
        grads = adgen.grad(per_output, argnums=(0, 1, 2), backend=backend)(x, W, V)
        assert all(np.all(g == 0.0) for g in grads)
        assert adgen.jvp(per_output, argnums=0, backend=backend)(
            x, W, V, np.ones_like(x)) == (0.0, 0.0)


def test_second_order_and_forward_mode():
    args = _data(3)
    check_grads(per_output, args, argnums=(0, 1), order=2)
    assert "tanh_a" in _ir(per_output, args, adgen.jvp)


@pytest.mark.parametrize("f", [reads_a_written_array, scalar_part_only, in_a_while_loop])
def test_left_alone(f):
    args = _data(4)
    check_grads(f, args, argnums=(0, 1, 2))
    transformed = adgen.grad(f, argnums=(0, 1, 2))
    base = eliminate_dead_code(transformed.base_ir(transformed.arg_types(args)))
    assert hoist_invariant_parts(base) is base
    # the same check splits the loop it should
    split = adgen.grad(per_output, argnums=(0, 1, 2))
    base = eliminate_dead_code(split.base_ir(split.arg_types(args)))
    assert hoist_invariant_parts(base) is not base


def offset_and_two_levels(x, W, V):
    """k from 1 (buffers indexed k - 1), the class loop two loops deep: the buffer is
    threaded through both."""
    total = 0.0
    for s in range(2):
        for i in range(x.shape[0]):
            for c in range(V.shape[1]):
                z = 0.0
                for k in range(1, W.shape[1]):
                    a = 0.0
                    for j in range(W.shape[0]):
                        a += x[i, j] * W[j, k]
                    z += math.sin(a) * V[k, c] * (s + 1.0)
                total += z * z
    return total


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_offset_range_threaded_through_two_loops(backend):
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(3, 4)), 0.5 * rng.normal(size=(4, 5)), rng.normal(size=(5, 2)))
    check_grads(offset_and_two_levels, args, argnums=(0, 1, 2), backend=backend)
    check_vjp(offset_and_two_levels, args, argnums=(0, 1, 2), backend=backend)
    text = adgen.source(adgen.grad(offset_and_two_levels, argnums=(0, 1, 2),
                                   backend=backend), *args)
    assert text.count("np.sin(") == 1
    # one buffer: `s + 1.0` does not change with k, it is computed where it was
    assert re.findall(r"^    (\w+) = np\.empty\(n, dtype=np\.float64\)$", text, re.M) == ["sin_a"]
