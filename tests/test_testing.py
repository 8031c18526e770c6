"""adgen.testing: the checks pass on correct derivatives and catch wrong ones
(planted in the registry: a temporary wrong primitive, or a wrong rule of an
existing primitive monkeypatched in)."""

import dataclasses
import itertools
import math

import numpy as np
import pytest

from adgen.ir.types import F32
from adgen.primitives.arithmetic import scalar
from adgen.primitives.derive import fconst
from adgen.primitives.emit import call_emitter
from adgen.primitives.registry import _REGISTRY, Zero
from adgen.primitives.typerules import float_type
from adgen.testing import (TypedNumericBuilder, check_grads, check_jvp, check_primitive,
                           check_vjp, finite_difference)
from adgen.trace import Num

_counter = itertools.count()


def unique(stem):
    return f"_test_{stem}_{next(_counter)}"


# correct functions pass -------------------------------------------------------------------
def smooth(x, y):
    return math.sin(x) * y + math.exp(x * y) - math.log(y) / (1.0 + x * x)


def looped(x, n):
    s = 0.0
    for k in range(n):
        s = s + math.cos(k * x) / (k + 1)
    return s * x


def polar(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


def tanh_pair(x, y):
    return math.tanh(x * y), x + math.tanh(y)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0)])
def test_check_grads_passes_on_a_correct_function(argnums):
    check_grads(smooth, (0.3, 1.7), argnums=argnums, order=2)


def test_check_grads_with_an_int_argument_a_step_and_only_one_mode():
    check_grads(looped, (0.7, 5), argnums=0, order=2)
    check_grads(looped, (0.7, 5), modes=("rev",), eps=1e-5, rtol=1e-5)
    check_grads(looped, (0.7, 5), modes=("fwd",))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_check_grads_on_the_numba_backend():
    check_grads(smooth, (0.3, 1.7), argnums=(0, 1), backend="numba")


def test_check_grads_refuses_a_tuple_function_and_bad_options():
    with pytest.raises(TypeError, match="one float"):
        check_grads(polar, (1.0, 0.5))
    with pytest.raises(ValueError, match="order"):
        check_grads(smooth, (0.3, 1.7), order=3)
    with pytest.raises(ValueError, match="modes"):
        check_grads(smooth, (0.3, 1.7), modes=("sideways",))


def test_check_jvp_and_check_vjp_pass_on_correct_functions():
    for seed in range(3):
        check_jvp(polar, (2.0, 0.7), argnums=(0, 1), seed=seed)
        check_vjp(polar, (2.0, 0.7), argnums=(0, 1), seed=seed)
        check_vjp(tanh_pair, (0.4, -1.1), argnums=(0, 1), seed=seed)
    check_jvp(smooth, (0.3, 1.7), argnums=1)
    check_vjp(smooth, (0.3, 1.7), argnums=(0, 1))


def test_finite_difference_is_accurate_and_respects_the_domain():
    d, err = finite_difference(math.exp, 1.0)
    assert abs(d[0] - math.e) < 1e-10 * math.e and err < 1e-8
    d, _ = finite_difference(math.log, 1e-4)  # steps shrink to stay in the domain
    assert abs(d[0] - 1e4) < 1e-6 * 1e4
    d, err = finite_difference(lambda t: (t * t, math.sin(t)), 0.5, eps=1e-6)
    assert np.allclose(d, [1.0, math.cos(0.5)], rtol=1e-8) and math.isnan(err)


@pytest.mark.parametrize("name, points", [("sin", [(0.5,), (-2.0,)]),
                                          ("hypot", [(3.0, 4.0)]),
                                          ("select", [(np.bool_(True), 1.0, 2.0)]),
                                          ("floor", [(1.5,)])])
def test_check_primitive_passes_on_the_registry(name, points):
    check_primitive(name, points)


def test_typed_numeric_builder_keeps_float32():
    b = TypedNumericBuilder()
    y = b.emit("mul", Num(np.float32(3.0), F32), b.const(0.5, F32))
    assert isinstance(y.value, np.float32) and y.type == F32 and y.value == 1.5


# planted wrong rules are caught --------------------------------------------------------------
def sin_partials_wrong(b, args, out, active):
    return (b.emit("sin", args[0]),)  # d/dx sin = sin: wrong


def test_check_primitive_catches_a_wrong_tangent_rule():
    name = unique("wrong_sin")
    scalar(name, np.sin, call_emitter("np.sin"), float_type, sin_partials_wrong)
    try:
        with pytest.raises(AssertionError) as info:
            check_primitive(name, [(0.3,), (1.2,)])
        message = str(info.value)
        assert name in message and "tangent rule" in message and "(0.3,)" in message
    finally:
        _REGISTRY.pop(name, None)
    assert name not in _REGISTRY


def test_check_primitive_catches_a_wrong_adjoint_rule():
    name = unique("wrong_vjp")
    prim = scalar(name, np.sin, call_emitter("np.sin"), float_type,
                  lambda b, args, out, active: (b.emit("cos", args[0]),))
    right = prim.vjp

    def wrong_vjp(b, op, cotangents, active):
        (ct,) = right(b, op, cotangents, active)
        return [b.emit("mul", ct, fconst(b, 1.0 + 1e-9, ct))]

    _REGISTRY[name] = dataclasses.replace(prim, vjp=wrong_vjp)
    try:
        check_primitive(name, [(0.3,)], dot_rtol=1e-6, float32=False)  # below its tolerance
        with pytest.raises(AssertionError, match="dot-product test"):
            check_primitive(name, [(0.3,), (1.2,)])
    finally:
        _REGISTRY.pop(name, None)


def test_check_primitive_catches_a_rule_that_leaves_float32():
    name = unique("f64_partial")

    def promoting_partials(b, args, out, active):
        wide = b.emit("cast", args[0], attrs={"to": "f64"})
        return (b.emit("cos", wide),)  # right value, but f64 in f32 code

    scalar(name, np.sin, call_emitter("np.sin"), float_type, promoting_partials)
    try:
        check_primitive(name, [(0.3,)], float32=False)
        with pytest.raises(AssertionError, match="type f64, expected f32"):
            check_primitive(name, [(0.3,)])
    finally:
        _REGISTRY.pop(name, None)


def test_check_primitive_catches_a_wrong_nondiff_declaration():
    name = unique("nondiff_sin")
    scalar(name, np.sin, call_emitter("np.sin"), float_type, nondiff=True)
    try:
        with pytest.raises(AssertionError, match="declared nondiff"):
            check_primitive(name, [(0.3,)])
    finally:
        _REGISTRY.pop(name, None)


def uses_tanh(x, y):
    return math.tanh(x * y) + 0.5 * x


def uses_tanh_pair(x, y):
    return math.tanh(x * y), x - math.tanh(y)


def wrong_tanh_vjp(b, op, cotangents, active):
    """Twice the right adjoint of tanh."""
    (ct,) = cotangents
    if isinstance(ct, Zero) or not active[0]:
        return [Zero(op.operands[0].type)]
    y = op.result
    partial = b.emit("sub", fconst(b, 1.0, y), b.emit("mul", y, y))
    return [b.emit("mul", fconst(b, 2.0, y), b.emit("mul", partial, ct))]


def wrong_tanh_jvp(b, op, tangents):
    """The tangent of tanh with the wrong sign."""
    (t,) = tangents
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    y = op.result
    partial = b.emit("sub", b.emit("mul", y, y), fconst(b, 1.0, y))
    return [b.emit("mul", partial, t)]


def test_check_vjp_passes_then_catches_a_wrong_adjoint_of_tanh(monkeypatch):
    check_vjp(uses_tanh_pair, (0.4, -1.1), argnums=(0, 1))
    check_vjp(uses_tanh, (0.4, -1.1), argnums=(0, 1))
    monkeypatch.setitem(_REGISTRY, "tanh", dataclasses.replace(_REGISTRY["tanh"],
                                                              vjp=wrong_tanh_vjp))
    with pytest.raises(AssertionError, match="check_vjp") as info:
        check_vjp(uses_tanh_pair, (0.4, -1.1), argnums=(0, 1))
    assert "<J v, w>" in str(info.value) and "uses_tanh_pair" in str(info.value)
    with pytest.raises(AssertionError, match="check_vjp"):
        check_vjp(uses_tanh, (0.4, -1.1), argnums=(0, 1))
    # check_grads sees it in reverse mode only: the tangent rule is still right
    check_grads(uses_tanh, (0.4, -1.1), argnums=(0, 1), modes=("fwd",))
    with pytest.raises(AssertionError, match=r"d/dx \(argument 0\) by reverse mode"):
        check_grads(uses_tanh, (0.4, -1.1), argnums=(0, 1), modes=("rev",))


def test_check_jvp_and_check_grads_catch_a_wrong_tangent_of_tanh(monkeypatch):
    monkeypatch.setitem(_REGISTRY, "tanh", dataclasses.replace(_REGISTRY["tanh"],
                                                              jvp=wrong_tanh_jvp))
    with pytest.raises(AssertionError, match="check_jvp"):
        check_jvp(uses_tanh_pair, (0.4, -1.1), argnums=(0, 1))
    with pytest.raises(AssertionError, match="forward mode"):
        check_grads(uses_tanh, (0.4, -1.1), argnums=1, modes=("fwd",))
    with pytest.raises(AssertionError, match="check_vjp"):
        check_vjp(uses_tanh, (0.4, -1.1), argnums=(0, 1))
    # the Hessian is forward over reverse: its forward sweep uses the wrong tangent
    with pytest.raises(AssertionError, match="adgen.hessian"):
        check_grads(uses_tanh, (0.4, -1.1), argnums=(0, 1), order=2, modes=("rev",))


def test_the_checks_see_the_restored_registry_again():
    """The transforms that check_* cache per function follow the registry's state."""
    check_vjp(uses_tanh_pair, (0.4, -1.1), argnums=(0, 1))
    check_grads(uses_tanh, (0.4, -1.1), argnums=(0, 1), order=2)


# arrays ---------------------------------------------------------------------------------------
X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.1, 0.4, -0.8])
A = np.array([[0.5, -0.4, 1.3], [2.0, 0.1, -0.7]])
_SIN = _REGISTRY["sin"]


def sum_sin(x):
    return np.sum(np.sin(x) * x)


def matvec(A, x):
    return A @ x


def matmat(A, B):
    return np.tanh(A @ B)


def sum_and_sines(x, y):
    return np.sum(x * y), np.sin(x) * y[0]


def weighted(A, s):
    return np.sum(np.sin(A) * A) * s + s * s


def squares_in_place(x):
    for i in range(len(x)):
        x[i] = x[i] * x[i]
    return np.sum(np.sin(x))


def test_the_checks_pass_on_array_functions():
    check_grads(sum_sin, (X,), order=2)
    check_jvp(sum_sin, (X,))
    check_vjp(sum_sin, (X,))
    for seed in range(2):
        check_jvp(matvec, (A, X), argnums=(0, 1), seed=seed)
        check_vjp(matvec, (A, X), argnums=(0, 1), seed=seed)
        check_jvp(sum_and_sines, (X, Y), argnums=(0, 1), seed=seed)
        check_vjp(sum_and_sines, (X, Y), argnums=(0, 1), seed=seed)
    check_jvp(matmat, (A, A.T), argnums=(0, 1))
    check_vjp(matmat, (A, A.T), argnums=1)
    check_grads(weighted, (A, 1.5), argnums=(0, 1), order=2)  # a 2-D and a float argument
    check_grads(weighted, (A, 1.5), argnums=0, order=2, modes=("rev",))


def test_check_grads_refuses_an_array_valued_function():
    with pytest.raises(TypeError, match=r"array of shape \(2,\)"):
        check_grads(matvec, (A, X), argnums=1)


def test_the_checks_never_modify_the_callers_arrays():
    x = X.copy()
    check_grads(squares_in_place, (x,), order=2)  # wrong if f wrote into x
    check_jvp(squares_in_place, (x,))
    check_vjp(squares_in_place, (x,))
    assert np.array_equal(x, X)


def test_finite_difference_of_arrays_and_numpy_scalars():
    d, _ = finite_difference(lambda t: np.float64(t) ** 3, 2.0)
    assert abs(d[0] - 12.0) < 1e-9
    d, _ = finite_difference(lambda t: np.asarray(t * t), 3.0)  # a 0-d result
    assert d.shape == (1,) and abs(d[0] - 6.0) < 1e-9
    d, _ = finite_difference(lambda t: (np.sin(t), np.array([[t, 2.0 * t]])), 0.5)
    assert np.allclose(d, [math.cos(0.5), 1.0, 2.0], rtol=1e-10)


# planted wrong rules of sin, on arrays: fresh functions per test (compiled transforms are
# cached per function and signature)
def twice_the_adjoint_of_sin(b, op, cotangents, active):
    return [ct if isinstance(ct, Zero) else b.emit("mul", fconst(b, 2.0, ct), ct)
            for ct in _SIN.vjp(b, op, cotangents, active)]


def weighted_rev(A, s):
    return np.sum(np.sin(A) * A) * s + s * s


def one_sine_rev(A):
    return np.sum(A * A) + np.sin(A[1, 2])


def test_a_wrong_adjoint_of_sin_on_arrays(monkeypatch):
    monkeypatch.setitem(_REGISTRY, "sin", dataclasses.replace(_SIN, vjp=twice_the_adjoint_of_sin))
    with pytest.raises(AssertionError, match="check_vjp") as info:
        check_vjp(weighted_rev, (A, 1.5), argnums=(0, 1))
    assert "<J v, w>" in str(info.value) and "weighted_rev" in str(info.value)
    check_jvp(weighted_rev, (A, 1.5), argnums=(0, 1))  # the tangent rule is right
    check_grads(one_sine_rev, (A,), modes=("fwd",))
    with pytest.raises(AssertionError) as info:
        check_grads(one_sine_rev, (A,), modes=("rev",))
    assert "d/dA[1, 2] (argument 0) by reverse mode" in str(info.value)  # the only wrong one


def weighted_both(A, s):
    return np.sum(np.sin(A) * A) * s + s * s


def sum_and_sines_both(x, y):
    return np.sum(x * y), np.sin(x) * y[0]


def sines_both(A, x):
    return np.sin(A @ x)


def one_sine_both(A):
    return np.sum(A * A) + np.sin(A[1, 2])


def test_a_consistently_wrong_sin_passes_the_dot_product_test_but_not_fd(monkeypatch):
    """Rules of cos for sin: a wrong adjoint and the tangent rule transposed from it."""
    cos = _REGISTRY["cos"]
    monkeypatch.setitem(_REGISTRY, "sin", dataclasses.replace(_SIN, jvp=cos.jvp, vjp=cos.vjp))
    check_vjp(weighted_both, (A, 1.5), argnums=(0, 1), fd=False)
    check_vjp(sum_and_sines_both, (X, Y), argnums=(0, 1), fd=False)
    with pytest.raises(AssertionError, match="forward and reverse mode agree") as info:
        check_vjp(weighted_both, (A, 1.5), argnums=(0, 1))
    assert "d/dt <f(args + t v), w>" in str(info.value)
    with pytest.raises(AssertionError, match="forward and reverse mode agree") as info:
        check_vjp(sum_and_sines_both, (X, Y), argnums=(0, 1))
    assert "w=(" in str(info.value)  # w is a tuple (float, array) like the outputs
    with pytest.raises(AssertionError, match=r"tangent of output 1\[0\]"):
        check_jvp(sum_and_sines_both, (X, Y), argnums=(0, 1))
    with pytest.raises(AssertionError, match=r"tangent of output \[0\]"):
        check_jvp(sines_both, (A, X), argnums=(0, 1))
    for mode in ("fwd", "rev"):
        with pytest.raises(AssertionError) as info:
            check_grads(one_sine_both, (A,), modes=(mode,))
        assert "d/dA[1, 2] (argument 0)" in str(info.value)


def sine_times(A):
    return np.sum(A * A) + np.sin(A[1, 2]) * A[0, 1]


def test_check_grads_names_the_elements_of_a_wrong_hessian(monkeypatch):
    """A wrong tangent rule (right adjoint): the gradient is right, the Hessian (forward
    over reverse) is wrong where the gradient uses sin(A[1, 2])."""
    cos = _REGISTRY["cos"]
    monkeypatch.setitem(_REGISTRY, "sin", dataclasses.replace(_SIN, jvp=cos.jvp))
    check_grads(sine_times, (A,), modes=("rev",))
    with pytest.raises(AssertionError) as info:
        check_grads(sine_times, (A,), order=2, modes=("rev",))
    assert "d2/dA[0, 1]dA[1, 2] (arguments 0, 0) by adgen.hessian" in str(info.value)
