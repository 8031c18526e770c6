"""Every array operation of the subset through the public API, table-driven.

The cases live in `array_cases.py` (functions and the shapes of their arguments). For
each case, on the python backend (and on the numba backend for the cases named in
`array_cases.NUMBA`, a representative subset that bounds compile time), at two seeded
random points and at the case's fixed points:

* reverse mode: `adgen.grad` w.r.t. every float argument equals central finite
  differences of the function, element by element (rtol 1e-6, atol 1e-8);
* forward mode: `adgen.jvp` along a random tangent equals <grad, tangent>, the
  dot-product test <J v, 1> == <v, J^T 1> (rtol 1e-9 of the magnitude of the terms),
  and its primal value equals the function's;
* functions returning an array (`ARRAY_CASES`): <J v, w> == <v, J^T w> with
  `adgen.jvp` and `adgen.vjp` for random v and w (rtol 1e-10);
* no call modifies an array it is given (arguments, tangents, cotangents), and
  non-contiguous arguments (transposed views, every other element of a larger array)
  and read-only arguments give the gradient of contiguous copies;
* float32 arguments (cases marked `f32`) give float32 gradients, equal to the float64
  gradient to float32 accuracy;
* a user-written, max-shifted logsumexp has a finite gradient equal to softmax(x) where
  the naive formula overflows.

Forms adgen does not handle yet are listed in `array_cases.NOT_YET` and left out;
ADGEN_ARRAYS_NOT_YET=1 runs them too, ADGEN_ARRAYS_NUMBA_ALL=1 runs every case on numba
(about 30 minutes of compiling).
"""

from __future__ import annotations

import importlib
import math
import os
import pathlib
import sys
import zlib

import numpy as np
import pytest

import adgen
from adgen.testing import finite_difference

_HERE = pathlib.Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
cases = importlib.import_module("array_cases")

BACKENDS = ("python", "numba")
SEEDS = (0, 1)
FD_RTOL, FD_ATOL = 1e-6, 1e-8     # adgen.grad against finite differences
JVP_RTOL = 1e-9                   # jvp against <grad, tangent>
DOT_RTOL = 1e-10                  # <J v, w> against <v, J^T w>
VALUE_RTOL, VALUE_ATOL = 1e-12, 1e-14  # adgen's primal values against the function's
LAYOUT_RTOL = 1e-12               # non-contiguous / read-only against contiguous (BLAS may
                                  # sum in another order), relative to the largest element
FD_SCALE = 1.0                    # first FD step 1e-3 * FD_SCALE, also at x = 1000
F32_RTOL = 2e-3                   # float32 gradient against float64, relative to its size


# --------------------------------------------------------------------------------------------
# shared state: transforms (compiled once per case, kind and backend) and points
# --------------------------------------------------------------------------------------------
_TRANSFORMED: dict = {}
_FD: dict = {}


def is_float_arg(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, (float, np.floating))


def wrt(args) -> tuple:
    """The indices of the float arguments: all of them are differentiated."""
    return tuple(i for i, a in enumerate(args) if is_float_arg(a))


def transformed(kind, case, backend, argnums):
    key = (kind, case.name, backend, argnums)
    if key not in _TRANSFORMED:
        _TRANSFORMED[key] = getattr(adgen, kind)(case.fn, argnums=argnums, backend=backend)
    return _TRANSFORMED[key]


def rng_for(case, seed, *salt):
    return np.random.default_rng([seed, zlib.crc32(case.name.encode()),
                                  *[zlib.crc32(str(s).encode()) for s in salt]])


def points(case, with_fixed=True):
    """(label, args) for the two seeded random points and the case's fixed points."""
    out = [(f"seed {s}", case.draw(rng_for(case, s))) for s in SEEDS]
    if with_fixed:
        out += [(f"fixed point {k}", tuple(p)) for k, p in enumerate(case.points)]
    return out


# ADGEN_ARRAYS_NOT_YET=1 also runs the cases of array_cases.NOT_YET (to check a fix for
# them); ADGEN_ARRAYS_NUMBA_ALL=1 runs every case on the numba backend too (slow).
NOT_YET_TOO = bool(os.environ.get("ADGEN_ARRAYS_NOT_YET"))
NUMBA_ALL = bool(os.environ.get("ADGEN_ARRAYS_NUMBA_ALL"))
if NOT_YET_TOO:
    SCALAR_TABLE = cases.SCALAR_CASES + cases.NOT_YET_SCALAR_CASES
    ARRAY_TABLE = cases.ARRAY_CASES + cases.NOT_YET_ARRAY_CASES
    NUMBA_SET = cases.NUMBA | cases.NOT_YET_NUMBA
    LAYOUTS_SET = cases.NUMBA_LAYOUTS | cases.NOT_YET_NUMBA
    F32_CASES = {c.name for c in SCALAR_TABLE if c.f32} | cases.NOT_YET_F32
    F32_NUMBA_SET = cases.NUMBA_F32 | cases.NOT_YET_NUMBA_F32
else:
    SCALAR_TABLE, ARRAY_TABLE = cases.SCALAR_CASES, cases.ARRAY_CASES
    NUMBA_SET, LAYOUTS_SET = cases.NUMBA, cases.NUMBA_LAYOUTS
    F32_CASES = {c.name for c in SCALAR_TABLE if c.f32}
    F32_NUMBA_SET = cases.NUMBA_F32


def params(table, numba, only=None, not_yet_numba=cases.NOT_YET_NUMBA):
    """(case, backend) parameters: every case on python, those named in `numba` on numba
    (with ADGEN_ARRAYS_NUMBA_ALL, every case but those of `not_yet_numba`)."""
    out = []
    for case in table:
        if only is not None and case.name not in only:
            continue
        every = NUMBA_ALL and (NOT_YET_TOO or case.name not in not_yet_numba)
        for backend in BACKENDS:
            if backend == "python" or every or case.name in numba:
                out.append(pytest.param(case, backend, id=f"{case.name}-{backend}"))
    return out


def show(args) -> str:
    return ", ".join(np.array2string(a, precision=6, separator=", ")
                     if isinstance(a, np.ndarray) else repr(a) for a in args)


# --------------------------------------------------------------------------------------------
# calling adgen without letting it modify anything it is given
# --------------------------------------------------------------------------------------------
def call_unmodified(fn, inputs, what):
    """fn(*inputs), asserting that no array among `inputs` is modified by the call."""
    before = [a.copy() if isinstance(a, np.ndarray) else None for a in inputs]
    out = fn(*inputs)
    for k, (old, new) in enumerate(zip(before, inputs)):
        if old is not None and not np.array_equal(old, new, equal_nan=True):
            raise AssertionError(f"{what} modified its input {k}: before {old!r}, after {new!r}")
    return out


def as_tuple(grads, n):
    assert isinstance(grads, tuple) and len(grads) == n, \
        f"expected a tuple of {n} gradients, got {grads!r}"
    return grads


def check_shape(got, like, what):
    if isinstance(like, np.ndarray):
        assert isinstance(got, np.ndarray), f"{what}: expected an array, got {got!r}"
        assert got.shape == like.shape, \
            f"{what}: shape {got.shape}, expected {like.shape}"
    else:
        assert np.ndim(got) == 0, f"{what}: expected a scalar, got {got!r}"


def gradient(case, backend, args):
    nums = wrt(args)
    g = call_unmodified(transformed("grad", case, backend, nums), list(args),
                        f"adgen.grad({case.name}, backend={backend!r})")
    g = as_tuple(g, len(nums))
    for k, i in enumerate(nums):
        check_shape(g[k], args[i], f"gradient w.r.t. argument {i} of {case.name}")
    return g


# --------------------------------------------------------------------------------------------
# finite differences, element by element
# --------------------------------------------------------------------------------------------
def fd_gradient(case, label, args):
    """Central finite differences (Ridders) of case.fn w.r.t. every element of every float
    argument: a list (per differentiated argument) of (values, error estimates)."""
    key = (case.name, label)
    if key in _FD:
        return _FD[key]
    out = []
    for i in wrt(args):
        base = args[i]
        if isinstance(base, np.ndarray):
            vals, errs = np.empty(base.shape), np.empty(base.shape)
            for idx in np.ndindex(base.shape):
                def g(t, idx=idx):
                    moved = list(args)
                    moved[i] = base.copy()
                    moved[i][idx] = t
                    with np.errstate(all="ignore"):
                        return float(case.fn(*moved))
                d, err = finite_difference(g, float(base[idx]), scale=FD_SCALE)
                vals[idx], errs[idx] = d[0], err
        else:
            def g(t):
                moved = list(args)
                moved[i] = t
                with np.errstate(all="ignore"):
                    return float(case.fn(*moved))
            d, err = finite_difference(g, float(base), scale=FD_SCALE)
            vals, errs = d[0], err
        out.append((vals, errs))
    _FD[key] = out
    return out


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, backend", params(SCALAR_TABLE, NUMBA_SET))
def test_grad_matches_finite_differences(case, backend):
    failures = []
    for label, args in points(case):
        nums = wrt(args)
        assert nums, f"{case.name} has no float argument"
        grads = gradient(case, backend, args)
        for k, (i, (expected, err)) in enumerate(zip(nums, fd_gradient(case, label, args))):
            got = np.asarray(grads[k], dtype=np.float64)
            assert np.all(np.isfinite(got)), \
                f"{case.name} at {label}: gradient w.r.t. argument {i} is not finite: {got!r}"
            bad = np.abs(got - expected) > FD_ATOL + FD_RTOL * np.abs(expected)
            if np.any(bad):
                where = np.argwhere(np.atleast_1d(bad))
                failures.append(
                    f"{case.name} ({backend}) at {label}, args=({show(args)}): d/d(argument "
                    f"{i}) differs from finite differences at elements "
                    f"{[tuple(w) for w in where]}:\n  adgen: {np.atleast_1d(got)[bad]}\n  "
                    f"FD:    {np.atleast_1d(expected)[bad]} (error estimates "
                    f"{np.atleast_1d(err)[bad]})\n  full adgen gradient {got!r}\n  full FD "
                    f"gradient {expected!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case, backend", params(SCALAR_TABLE, NUMBA_SET))
def test_jvp_matches_grad(case, backend):
    """<J v, 1> (forward mode) == <v, J^T 1> (reverse mode), and jvp's primal value."""
    for label, args in points(case):
        nums = wrt(args)
        grads = gradient(case, backend, args)
        rng = rng_for(case, 7, label, "tangent")
        tangents = [rng.standard_normal(args[i].shape) if isinstance(args[i], np.ndarray)
                    else float(rng.standard_normal()) for i in nums]
        fj = transformed("jvp", case, backend, nums)
        value, tangent = call_unmodified(fj, list(args) + tangents,
                                         f"adgen.jvp({case.name}, backend={backend!r})")
        with np.errstate(all="ignore"):
            expected_value = case.fn(*args)
        assert np.ndim(value) == 0 and np.ndim(tangent) == 0, \
            f"{case.name}: jvp returned ({value!r}, {tangent!r}) for a scalar function"
        assert math.isclose(value, expected_value, rel_tol=VALUE_RTOL, abs_tol=VALUE_ATOL), \
            f"{case.name} ({backend}) at {label}: jvp's value {value!r} != f(*args) = " \
            f"{expected_value!r}"
        terms = [float(np.sum(np.asarray(g) * t)) for g, t in zip(grads, tangents)]
        scale = float(sum(np.sum(np.abs(np.asarray(g) * t)) for g, t in zip(grads, tangents)))
        expected = sum(terms)
        assert abs(tangent - expected) <= JVP_RTOL * scale + 1e-300, \
            f"{case.name} ({backend}) at {label}, args=({show(args)}): jvp along a random " \
            f"tangent gives {tangent!r}, <grad, tangent> = {expected!r} (terms {terms}); " \
            f"|difference| {abs(tangent - expected):.3e} > {JVP_RTOL * scale:.3e}"


def noncontiguous(a):
    """The same values as `a`, in a non-contiguous view: a transposed view for a 2-D array
    with both dimensions > 1, else every other element of a larger array."""
    if a.ndim == 2 and min(a.shape) > 1:
        out = np.ascontiguousarray(a.T).T
    else:
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        out = big[tuple(slice(None, None, 2) for _ in a.shape)]
        out[...] = a
    assert not out.flags.c_contiguous and np.array_equal(out, a)
    return out


def readonly(a):
    out = a.copy()
    out.flags.writeable = False
    return out


# (Numba warns that np.dot is faster on contiguous arrays: adgen passes the views as they are)
@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaPerformanceWarning")
@pytest.mark.parametrize("case, backend", params(SCALAR_TABLE, LAYOUTS_SET))
def test_layouts(case, backend):
    """Non-contiguous and read-only arguments give the gradient of contiguous copies."""
    label, args = points(case, with_fixed=False)[0]
    assert any(isinstance(a, np.ndarray) for a in args), f"{case.name} takes no array"
    expected = gradient(case, backend, args)
    for how, convert in (("non-contiguous", noncontiguous), ("read-only", readonly)):
        moved = tuple(convert(a) if isinstance(a, np.ndarray) else a for a in args)
        got = gradient(case, backend, moved)
        for k, (g, e) in enumerate(zip(got, expected)):
            tol = LAYOUT_RTOL * float(np.max(np.abs(e)))
            assert np.all(np.abs(np.asarray(g) - e) <= tol), \
                f"{case.name} ({backend}): gradient {k} with {how} arguments {g!r} differs " \
                f"from the one with contiguous copies {e!r}"


@pytest.mark.parametrize("case, backend", params(ARRAY_TABLE, NUMBA_SET))
def test_dot_product_array_output(case, backend):
    """<J v, w> (adgen.jvp) == <v, J^T w> (adgen.vjp) for a function returning an array."""
    for label, args in points(case):
        nums = wrt(args)
        rng = rng_for(case, 11, label, "dot")
        v = [rng.standard_normal(args[i].shape) if isinstance(args[i], np.ndarray)
             else float(rng.standard_normal()) for i in nums]
        expected_value = case.fn(*args)
        assert isinstance(expected_value, np.ndarray), f"{case.name} does not return an array"
        value_j, jv = call_unmodified(transformed("jvp", case, backend, nums), list(args) + v,
                                      f"adgen.jvp({case.name}, backend={backend!r})")
        w = rng.standard_normal(expected_value.shape)
        value_v, grads = call_unmodified(transformed("vjp", case, backend, nums),
                                         list(args) + [w],
                                         f"adgen.vjp({case.name}, backend={backend!r})")
        grads = as_tuple(grads, len(nums))
        for what, value in (("jvp", value_j), ("vjp", value_v)):
            assert isinstance(value, np.ndarray) and value.shape == expected_value.shape, \
                f"{case.name} ({backend}): {what}'s value {value!r}, expected " \
                f"{expected_value!r}"
            assert np.allclose(value, expected_value, rtol=VALUE_RTOL, atol=VALUE_ATOL), \
                f"{case.name} ({backend}) at {label}: {what}'s value {value!r} != " \
                f"f(*args) = {expected_value!r}"
        check_shape(jv, expected_value, f"{case.name}: J v")
        for k, i in enumerate(nums):
            check_shape(grads[k], args[i], f"{case.name}: J^T w w.r.t. argument {i}")
        left_terms = np.asarray(jv) * w
        right_terms = [np.asarray(g) * t for g, t in zip(grads, v)]
        left = float(np.sum(left_terms))
        right = float(sum(np.sum(t) for t in right_terms))
        scale = max(float(np.sum(np.abs(left_terms))),
                    float(sum(np.sum(np.abs(t)) for t in right_terms)))
        assert math.isfinite(left) and math.isfinite(right) and \
            abs(left - right) <= DOT_RTOL * scale + 1e-300, \
            f"{case.name} ({backend}) at {label}, args=({show(args)}): <J v, w> = {left!r} " \
            f"but <v, J^T w> = {right!r}; |difference| {abs(left - right):.3e} > " \
            f"{DOT_RTOL * scale:.3e}\n  J v = {jv!r}\n  J^T w = {grads!r}"


def to_f32(a):
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return a.astype(np.float32)
    if isinstance(a, float):
        return np.float32(a)
    return a


@pytest.mark.parametrize("case, backend", params(SCALAR_TABLE, F32_NUMBA_SET, F32_CASES,
                                           cases.NOT_YET_NUMBA_F32))
def test_float32_stays_float32(case, backend):
    """float32 arguments: float32 gradients, equal to the float64 ones to float32 accuracy."""
    for label, args in points(case):
        args32 = tuple(to_f32(a) for a in args)
        args64 = tuple(np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray)
                       else float(a) if isinstance(a, np.floating) else a for a in args32)
        g32 = gradient(case, backend, args32)
        g64 = gradient(case, backend, args64)
        for k, i in enumerate(wrt(args)):
            dtype = np.asarray(g32[k]).dtype if isinstance(g32[k], np.ndarray) \
                else np.dtype(type(g32[k]))
            assert dtype == np.float32, \
                f"{case.name} ({backend}): gradient w.r.t. float32 argument {i} has dtype " \
                f"{dtype} ({g32[k]!r})"
            scale = float(np.max(np.abs(g64[k])))
            err = float(np.max(np.abs(np.asarray(g32[k], dtype=np.float64) - g64[k])))
            assert err <= F32_RTOL * scale, \
                f"{case.name} ({backend}) at {label}: float32 gradient {g32[k]!r} differs " \
                f"from the float64 one {g64[k]!r} by {err:.3e} (> {F32_RTOL * scale:.3e})"


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x", [[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0],
                               [800.0, -800.0, 0.0, 1e-3], [0.5, -0.25, 2.0]])
def test_logsumexp_is_stable(x, backend):
    x = np.array(x)
    if np.max(np.abs(x)) > 700.0:  # the naive formula overflows (or underflows to log 0)
        with np.errstate(all="ignore"):
            assert not np.isfinite(np.log(np.sum(np.exp(x))))
    case = next(c for c in cases.SCALAR_CASES if c.name == "logsumexp")
    (g,) = gradient(case, backend, (x,))
    assert np.all(np.isfinite(g)), f"logsumexp's gradient at {x} is not finite: {g!r}"
    assert np.allclose(g, softmax(x), rtol=1e-12, atol=1e-300), \
        f"logsumexp's gradient at {x}: {g!r}, softmax(x) = {softmax(x)!r}"
    vg = adgen.value_and_grad(cases.logsumexp, argnums=0, backend=backend)
    value, g2 = vg(x)
    expected = np.max(x) + np.log(np.sum(np.exp(x - np.max(x))))
    assert math.isfinite(value) and math.isclose(value, expected, rel_tol=1e-14)
    assert np.allclose(g2, g, rtol=1e-14, atol=0.0)
