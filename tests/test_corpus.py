"""adgen on the scalar corpus (`tests/cases/scalar_corpus.py`), both backends.

For every case, at 3 random points of its domains (fixed seeds derived from
the case index, points next to a branch switch resampled, see
`scalar_corpus.sample_points`):

- reverse mode (`adgen.grad` with a tuple argnums) == forward mode (`adgen.jvp`
  with unit tangents, one call per argument) == central finite differences;
- `adgen.value_and_grad` returns f's own value and grad's gradient;
- gradients are Python floats or numpy float64;
- for the Hessian cases, `adgen.hessian` == central differences of adgen's
  own reverse gradient, and is symmetric;
- for the tuple-returning cases, jvp and vjp pass the dot-product test and
  jvp matches finite differences of the outputs.

Each transformed callable is created once per (transform, case, backend) and
reused across points and tests, so that Numba compiles it once.
"""

import functools
import importlib
import math
import pathlib
import sys

import numpy as np
import pytest

import adgen

_CASES_DIR = pathlib.Path(__file__).resolve().parent / "cases"
if str(_CASES_DIR) not in sys.path:
    sys.path.insert(0, str(_CASES_DIR))
corpus = importlib.import_module("scalar_corpus")

CASES = corpus.CASES
TUPLE_CASES = corpus.TUPLE_CASES
HESSIAN_INDICES = [i for i, case in enumerate(CASES) if case.hessian]

BACKENDS = ["python", "numba"]

RTOL, ATOL = 1e-6, 1e-9              # derivatives against each other and against FD
VALUE_RTOL, VALUE_ATOL = 1e-12, 1e-14  # adgen's primal value against f(*args)
GRAD_MATCH_RTOL = 1e-12              # value_and_grad's gradient against grad's
HESSIAN_RTOL, HESSIAN_ATOL = 1e-5, 1e-7
SYMMETRY_TOL = 1e-9
DOT_RTOL = 1e-10


# --------------------------------------------------------------------------
# Shared state: transformed callables and sample points, each made once.
# --------------------------------------------------------------------------

_TRANSFORMED = {}


def transformed(kind, case, backend, argnums=None):
    """adgen.<kind>(case.fn, argnums=..., backend=backend), created once and cached."""
    argnums = case.wrt if argnums is None else argnums
    key = (kind, case.name, backend, argnums)
    if key not in _TRANSFORMED:
        make = getattr(adgen, kind)
        _TRANSFORMED[key] = make(case.fn, argnums=argnums, backend=backend)
    return _TRANSFORMED[key]


@functools.lru_cache(maxsize=None)
def points(index, tuple_case=False):
    table = TUPLE_CASES if tuple_case else CASES
    found, _rejected = corpus.sample_points(table[index], corpus.case_seed(index, tuple_case))
    return tuple(found)


def _ids(cases):
    return [case.name for case in cases]


def _assert_float(x, what):
    assert type(x) in (float, np.float64), f"{what}: got {type(x).__name__}, expected a float"


def _assert_value(actual, expected, what):
    _assert_float(actual, what)
    assert actual == expected or math.isclose(actual, expected, rel_tol=VALUE_RTOL,
                                              abs_tol=VALUE_ATOL), \
        f"{what}: {actual!r} != f(*args) = {expected!r}"


def _assert_float_tuple(x, n, what):
    assert isinstance(x, tuple), f"{what}: got {type(x).__name__}, expected a tuple"
    assert len(x) == n, f"{what}: got {len(x)} entries, expected {n}"
    for k, item in enumerate(x):
        _assert_float(item, f"{what}[{k}]")


def _unit(j, n):
    return tuple(1.0 if k == j else 0.0 for k in range(n))


# --------------------------------------------------------------------------
# Gradients: reverse == forward == finite differences.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids(CASES))
def test_gradient(index, backend):
    case = CASES[index]
    n = len(case.wrt)
    grad = transformed("grad", case, backend)
    value_and_grad = transformed("value_and_grad", case, backend)
    jvp = transformed("jvp", case, backend)
    for args in points(index):
        where = f"{case.name}{args} [{backend}]"
        expected = case.fn(*args)

        reverse = grad(*args)
        _assert_float_tuple(reverse, n, f"grad {where}")

        value, grads = value_and_grad(*args)
        _assert_value(value, expected, f"value_and_grad value {where}")
        _assert_float_tuple(grads, n, f"value_and_grad grads {where}")
        np.testing.assert_allclose(grads, reverse, rtol=GRAD_MATCH_RTOL, atol=1e-15,
                                   err_msg=f"value_and_grad vs grad {where}")

        forward = []
        for j in range(n):
            value, tangent = jvp(*args, *_unit(j, n))
            _assert_value(value, expected, f"jvp value {where}")
            _assert_float(tangent, f"jvp tangent {where}")
            forward.append(tangent)

        fd = corpus.fd_jacobian(case.fn, args, case.wrt)[0]
        np.testing.assert_allclose(reverse, fd, rtol=RTOL, atol=ATOL,
                                   err_msg=f"reverse vs finite differences {where}")
        np.testing.assert_allclose(forward, fd, rtol=RTOL, atol=ATOL,
                                   err_msg=f"forward vs finite differences {where}")
        np.testing.assert_allclose(reverse, forward, rtol=RTOL, atol=ATOL,
                                   err_msg=f"reverse vs forward {where}")


@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids(CASES))
def test_gradient_int_argnums(index):
    # An int argnums gives one float, equal to that entry of the tuple form (python backend).
    case = CASES[index]
    args = points(index)[0]
    first = case.wrt[0]
    single = transformed("grad", case, "python", argnums=first)(*args)
    _assert_float(single, f"grad(argnums={first}) {case.name}{args}")
    full = transformed("grad", case, "python")(*args)
    np.testing.assert_allclose(single, full[0], rtol=GRAD_MATCH_RTOL, atol=1e-15)


# --------------------------------------------------------------------------
# Hessians: adgen.hessian == finite differences of adgen's reverse gradient.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("index", HESSIAN_INDICES, ids=_ids([CASES[i] for i in HESSIAN_INDICES]))
def test_hessian(index, backend):
    case = CASES[index]
    n = len(case.wrt)
    hessian = transformed("hessian", case, backend)
    grad = transformed("grad", case, backend)
    for args in points(index):
        where = f"{case.name}{args} [{backend}]"
        result = hessian(*args)
        assert isinstance(result, tuple) and len(result) == n, f"hessian {where}: {result!r}"
        for i, row in enumerate(result):
            _assert_float_tuple(row, n, f"hessian row {i} {where}")
        hess = np.array(result, dtype=np.float64)
        scale = max(1.0, float(np.abs(hess).max()))
        np.testing.assert_allclose(hess, hess.T, rtol=SYMMETRY_TOL, atol=SYMMETRY_TOL * scale,
                                   err_msg=f"hessian not symmetric {where}")
        fd = corpus.fd_jacobian(grad, args, case.wrt, rel_step=corpus.HESSIAN_FD_REL_STEP)
        np.testing.assert_allclose(hess, fd, rtol=HESSIAN_RTOL, atol=HESSIAN_ATOL,
                                   err_msg=f"hessian vs finite differences of grad {where}")


@pytest.mark.parametrize("index", HESSIAN_INDICES, ids=_ids([CASES[i] for i in HESSIAN_INDICES]))
def test_hessian_int_argnums(index):
    # An int argnums gives a float: the diagonal entry of the tuple form (python backend).
    case = CASES[index]
    args = points(index)[0]
    first = case.wrt[0]
    single = transformed("hessian", case, "python", argnums=first)(*args)
    _assert_float(single, f"hessian(argnums={first}) {case.name}{args}")
    full = transformed("hessian", case, "python")(*args)
    np.testing.assert_allclose(single, full[0][0], rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------
# Tuple-returning functions: jvp against FD, jvp against vjp (dot-product test).
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("index", range(len(TUPLE_CASES)), ids=_ids(TUPLE_CASES))
def test_tuple_jvp_vjp(index, backend):
    case = TUPLE_CASES[index]
    n = len(case.wrt)
    jvp = transformed("jvp", case, backend)
    vjp = transformed("vjp", case, backend)
    rng = np.random.default_rng(corpus.case_seed(index, tuple_case=True) + 7)
    for args in points(index, tuple_case=True):
        where = f"{case.name}{args} [{backend}]"
        expected = case.fn(*args)
        m = len(expected)

        columns = []
        for j in range(n):
            value, tangent = jvp(*args, *_unit(j, n))
            _assert_float_tuple(value, m, f"jvp value {where}")
            for k in range(m):
                _assert_value(value[k], expected[k], f"jvp value[{k}] {where}")
            _assert_float_tuple(tangent, m, f"jvp tangent {where}")
            columns.append(tangent)
        fd = corpus.fd_jacobian(case.fn, args, case.wrt)
        np.testing.assert_allclose(np.array(columns).T, fd, rtol=RTOL, atol=ATOL,
                                   err_msg=f"jvp vs finite differences {where}")

        v = tuple(float(x) for x in rng.standard_normal(n))
        w = tuple(float(x) for x in rng.standard_normal(m))
        _, jv = jvp(*args, *v)
        value, jtw = vjp(*args, w)
        _assert_float_tuple(value, m, f"vjp value {where}")
        for k in range(m):
            _assert_value(value[k], expected[k], f"vjp value[{k}] {where}")
        _assert_float_tuple(jtw, n, f"vjp grads {where}")
        lhs = sum(a * b for a, b in zip(jv, w))
        rhs = sum(a * b for a, b in zip(v, jtw))
        scale = sum(abs(a * b) for a, b in zip(jv, w)) + sum(abs(a * b) for a, b in zip(v, jtw))
        assert abs(lhs - rhs) <= DOT_RTOL * scale, \
            f"dot-product test {where}: <Jv, w> = {lhs!r}, <v, J^T w> = {rhs!r}"
