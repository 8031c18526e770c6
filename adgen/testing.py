"""Checking derivatives: adgen's own against finite differences, and forward
mode against reverse mode.

This module owns the public checking helpers that users call in their own
tests (and that adgen's test suite uses on itself):

* `check_grads`: the gradient of a Python function by reverse mode
  (`adgen.grad`) and by forward mode (`adgen.jvp`), and optionally its Hessian
  (`adgen.hessian`), against central finite differences, element by element;
* `check_jvp`: a Jacobian-vector product along a random direction against
  finite differences;
* `check_vjp`: the dot-product test <J v, w> == <v, J^T w> between
  `adgen.jvp` and `adgen.vjp`, cross-checked against finite differences;
* `check_primitive`: the derivative rules of one primitive of the registry,
  evaluated on numbers (no compilation): its tangent rule against finite
  differences of its `impl`, its adjoint rule against its tangent rule by the
  dot-product test, and the same rules evaluated in float32.

The arguments being differentiated are floats or NumPy float arrays of any
rank; functions return a float (np.float64 and 0-d arrays too), an array, or
a tuple mixing them. Outputs and arguments are compared element by element,
and failures name the argument and the element (`d/dA[1, 2]`) or the output
element (`output 1[0]`).

Every check returns None on success and raises `AssertionError` with a
message naming what was checked, where, what was expected and what came out.

Finite differences are central differences refined by Ridders' extrapolation
(Numerical Recipes, section 5.7) from a step of 1e-3 * max(|x|, 1), shrunk
while the function is not finite at the displaced points (a domain boundary).
They are accurate to about 1e-10 relative for smooth functions; pass `eps` to
use a plain central difference with that step instead. Finite differences
evaluate the function in float64 (Python floats, float64 arrays), always on
copies of the array arguments: the caller's arrays are never modified, even by
a function that writes into its arguments.
"""

from __future__ import annotations

import functools
import inspect
import math
import zlib

import numpy as np

from adgen import api
from adgen.api import Transformed, argument_type
from adgen.ir.ops import Op, make_attrs
from adgen.ir.types import NUMPY_DTYPES, ScalarType, is_float
from adgen.primitives import registry
from adgen.primitives.registry import Zero
from adgen.trace import Num, NumericBuilder

__all__ = ["check_grads", "check_jvp", "check_vjp", "check_primitive", "finite_difference",
           "TypedNumericBuilder"]


# finite differences ------------------------------------------------------------------------
_INVALID = (ValueError, ZeroDivisionError, OverflowError, FloatingPointError)


def _vector(value) -> np.ndarray:
    """A function output (float, bool, array, tuple of them) as a 1-D float64 array."""
    parts = value if isinstance(value, (tuple, list)) else (value,)
    if not parts:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def _ridders(central, h0):
    """Ridders' extrapolation of `central(h)` to h -> 0; returns (estimate, error)."""
    con, con2, ntab, safe = 1.4, 1.96, 10, 2.0
    table = [[None] * ntab for _ in range(ntab)]
    hh = h0
    table[0][0] = central(hh)
    best, err = table[0][0], math.inf
    for i in range(1, ntab):
        hh /= con
        table[0][i] = central(hh)
        fac = con2
        for j in range(1, i + 1):
            table[j][i] = (table[j - 1][i] * fac - table[j - 1][i - 1]) / (fac - 1.0)
            fac *= con2
            errt = max(float(np.max(np.abs(table[j][i] - table[j - 1][i]))),
                       float(np.max(np.abs(table[j][i] - table[j - 1][i - 1]))))
            if errt <= err:
                best, err = table[j][i], errt
        if float(np.max(np.abs(table[i][i] - table[i - 1][i - 1]))) >= safe * err:
            break
    return best, err


def finite_difference(g, x: float, eps: float | None = None, scale: float | None = None):
    """d g / d x at `x` by central differences: returns (derivative, error estimate).

    `g` maps a float to a float, an array or a tuple of them; the derivative
    is a 1-D float64 array (one entry per output element, tuple parts and
    arrays flattened in order). With `eps=None` the step starts at
    1e-3 * max(|x|, 1) (or 1e-3 * `scale`), is divided by 4 while
    `g` is not finite at x +- step, and is refined by Ridders' extrapolation;
    with `eps` it is one central difference with that step (error estimate nan).

    Example:
        >>> d, err = finite_difference(math.sin, 0.5)
        >>> bool(abs(d[0] - math.cos(0.5)) < 1e-10)
        True
        >>> d, _ = finite_difference(lambda t: np.array([t, t * t]), 3.0)
        >>> np.allclose(d, [1.0, 6.0])
        True
    """
    x = float(x)

    def at(h):
        with np.errstate(all="ignore"):
            return _vector(g(x + h)), _vector(g(x - h))

    def central(h):
        plus, minus = at(h)
        return (plus - minus) / (2.0 * h)

    if eps is not None:
        return central(float(eps)), math.nan
    h0 = 1e-3 * (scale if scale is not None else max(abs(x), 1.0))
    with np.errstate(all="ignore"):
        base_finite = bool(np.all(np.isfinite(_vector(g(x)))))
    for _ in range(40):
        try:
            plus, minus = at(h0)
        except _INVALID:
            h0 /= 4.0
            continue
        if base_finite and not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
            h0 /= 4.0
            continue
        break
    return _ridders(central, h0)


# helpers ---------------------------------------------------------------------------------------
def _argnums(argnums) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError("argnums must name at least one argument")
    return nums


def _python_function(f):
    while isinstance(f, Transformed):
        f = f.fn
    return getattr(f, "py_func", f)


def _param_names(f, n: int) -> list[str]:
    try:
        names = list(inspect.signature(_python_function(f)).parameters)
    except (TypeError, ValueError):
        names = []
    return names + [f"arg{i}" for i in range(len(names), n)]


def _describe(f) -> str:
    return getattr(_python_function(f), "__qualname__", repr(f))


@functools.lru_cache(maxsize=512)
def _transform(kind: str, f, argnums: tuple, backend: str, registry_key: tuple):
    """One `Transformed` per (kind, f, argnums, backend) and state of the registry, so that
    repeated checks compile once, and a rule replaced in the registry is seen."""
    return getattr(api, kind)(f, argnums=argnums, backend=backend)


class _Same:
    """Compares by identity (holding the object, so that its id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Same) and other.obj is self.obj


def _transformed(kind, f, argnums, backend):
    key = tuple((name, _Same(prim)) for name, prim in registry._REGISTRY.items())
    try:
        return _transform(kind, f, argnums, backend, key)
    except TypeError:  # an unhashable callable
        return getattr(api, kind)(f, argnums=argnums, backend=backend)


def _close(got, expected, rtol: float, atol: float) -> bool:
    got, expected = float(got), float(expected)
    if math.isnan(got) or math.isnan(expected):
        return math.isnan(got) and math.isnan(expected)
    if math.isinf(got) or math.isinf(expected):
        return got == expected
    return abs(got - expected) <= atol + rtol * abs(expected)


def _mismatch(what: str, where: str, expected, got, rtol, atol, note: str = "") -> str:
    try:
        diff = abs(float(got) - float(expected))
        tol = atol + rtol * abs(float(expected))
        numbers = f"; |difference| = {diff:.3e}, tolerance = {tol:.3e}"
    except (TypeError, ValueError):
        numbers = ""
    try:
        got = float(got)
    except (TypeError, ValueError):
        pass
    return (f"{what} {where}: expected {float(expected)!r} ({note or 'finite differences'}), "
            f"got {got!r}{numbers} (rtol={rtol:g}, atol={atol:g})")


def _fd_note(err, eps, what="finite differences") -> str:
    if eps is not None:
        return f"{what} with step eps={eps:g}"
    return f"{what}, error estimate {err:.1e}"


def _show(value) -> str:
    """repr, but arrays on one line (long ones summarized) so messages stay readable."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, separator=", ", threshold=24, edgeitems=3,
                               max_line_width=10**6)
        return f"array({text.replace(chr(10), '')})"
    if isinstance(value, tuple):
        inner = ", ".join(_show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def _has_array(value) -> bool:
    parts = value if isinstance(value, (tuple, list)) else (value,)
    return any(np.ndim(p) > 0 for p in parts)


# arguments and their elements ------------------------------------------------------------
# An element of an argument is an index tuple: () for a float, (i, j) in a 2-D array.
def _elements(x) -> list[tuple]:
    return list(np.ndindex(np.shape(x))) if np.ndim(x) > 0 else [()]


def _size(x) -> int:
    return int(np.size(x)) if np.ndim(x) > 0 else 1


def _element(x, index) -> float:
    return float(x[index]) if index else float(x)


def _index_text(index) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else ""


def _output_labels(value) -> list[str]:
    """Names of the flattened output elements: "0", "[2]" (an array), "1[0, 2]" (a tuple)."""
    if isinstance(value, (tuple, list)):
        return [f"{k}{_index_text(index)}" for k, part in enumerate(value)
                for index in _elements(part)]
    return [_index_text(index) or "0" for index in _elements(value)]


def _call(f, args):
    """f(*args) on copies of the array arguments: f may write into its arguments."""
    with np.errstate(all="ignore"):
        return f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])


def _with_element(args, i, index, value: float) -> list:
    """`args` with element `index` of argument i set to `value` (an array is copied, in
    float64 so that the displacement is not rounded)."""
    out = list(args)
    if index:
        x = np.array(args[i], dtype=np.float64)
        x[index] = value
        out[i] = x
    else:
        out[i] = value
    return out


def _fd_partial(f, args, i, index, eps):
    """d f / d args[i][index] by finite differences of `f` (returns derivative, error)."""
    return finite_difference(lambda t: _call(f, _with_element(args, i, index, t)),
                             _element(args[i], index), eps)


def _split(flat, likes) -> list:
    """The 1-D array `flat` cut into floats and arrays shaped like `likes`."""
    out, start = [], 0
    for like in likes:
        n = _size(like)
        part = flat[start:start + n]
        out.append(part.reshape(np.shape(like)).copy() if np.ndim(like) > 0 else float(part[0]))
        start += n
    return out


def _shaped_like(flat, value):
    """`flat` shaped like a function output: a float, an array or a tuple of them."""
    if isinstance(value, (tuple, list)):
        return tuple(_split(flat, value))
    return _split(flat, [value])[0]


def _direction(rng, args, nums) -> list:
    """A standard normal direction: one float or array per argument in `nums`."""
    likes = [args[i] for i in nums]
    return _split(rng.standard_normal(sum(_size(x) for x in likes)), likes)


def _along(args, nums, v, t) -> list:
    """args + t v (on the arguments in `nums`; arrays in float64)."""
    out = list(args)
    for k, i in enumerate(nums):
        if np.ndim(args[i]) > 0:
            out[i] = np.asarray(args[i], dtype=np.float64) + t * v[k]
        else:
            out[i] = float(args[i]) + t * v[k]
    return out


def _step_scale(args, nums, v) -> float:
    """The t at which some element of args + t v has moved by max(|x|, 1): finite
    differences along v start at 1e-3 of it."""
    x = np.abs(_vector([args[i] for i in nums]))
    with np.errstate(divide="ignore"):
        ratios = np.maximum(x, 1.0) / np.abs(_vector(v))
    return float(np.min(ratios)) if ratios.size else 1.0  # empty arrays: any step will do


def _rng(seed, *salt) -> np.random.Generator:
    return np.random.default_rng([seed, *[zlib.crc32(repr(s).encode()) for s in salt]])


# check_grads -------------------------------------------------------------------------------
def check_grads(f, args, argnums=0, order=1, modes=("fwd", "rev"), backend="python",
                rtol=1e-6, atol=1e-9, eps=None):
    """Check adgen's derivatives of `f` at `args` against finite differences.

    `f` is a plain Python function returning one float (np.float64 and 0-d
    arrays too); `argnums` (int or tuple, as in JAX) names the arguments to
    differentiate: floats or float arrays of any rank. With order=1 the
    gradient by reverse mode (`adgen.grad`, mode "rev") and by forward mode
    (`adgen.jvp` with one-hot tangents, one per element, mode "fwd") are
    compared element by element with central finite differences of `f`
    (`|got - fd| <= atol + rtol*|fd|`), and the primal value of the jvp with
    `f(*args)`; order=2 also compares `adgen.hessian` (blocks H[i][j] shaped
    x_i.shape + x_j.shape) with finite differences of adgen's own gradient.
    `eps` is the finite-difference step (None: automatic, see the module
    docstring). Returns None, or raises AssertionError naming the argument
    and element (`d/dA[1, 2] (argument 0)`), the mode, the expected and the
    obtained value.

    Example:
        >>> import math
        >>> def f(x, y):
        ...     return math.sin(x) * y + math.exp(x * y)
        >>> check_grads(f, (0.3, 1.2), argnums=(0, 1), order=2)
        >>> def g(A, x):
        ...     return np.sum(np.tanh(A @ x))
        >>> check_grads(g, (np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.3, 0.1])),
        ...             argnums=(0, 1), order=2)
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(f"modes must be a non-empty subset of ('fwd', 'rev'), got {modes!r}")
    args = tuple(args)
    nums = _argnums(argnums)
    names = _param_names(f, len(args))
    name = _describe(f)
    where = f"of {name} at args={_show(args)} (backend={backend!r})"
    value = _call(f, args)
    if isinstance(value, (tuple, list)):
        raise TypeError(f"check_grads needs a function returning one float; {name} returns "
                        f"a tuple of {len(value)} (use check_jvp / check_vjp)")
    if np.ndim(value) > 0:
        raise TypeError(f"check_grads needs a function returning one float; {name} returns "
                        f"an array of shape {np.shape(value)} (use check_jvp / check_vjp)")
    fd = {(i, index): _fd_partial(f, args, i, index, eps)
          for i in nums for index in _elements(args[i])}

    def compare(got, i, index, how):
        expected, err = fd[i, index]
        if not _close(got, expected[0], rtol, atol):
            raise AssertionError(_mismatch(
                f"check_grads: d/d{names[i]}{_index_text(index)} (argument {i}) by {how}",
                where, expected[0], got, rtol, atol, _fd_note(err, eps)))

    if "rev" in modes:
        grads = _transformed("grad", f, nums, backend)(*args)
        for k, i in enumerate(nums):
            _check_shape(grads[k], np.shape(args[i]),
                         f"check_grads: adgen.grad's d/d{names[i]} {where}")
            for index in _elements(args[i]):
                compare(_element(grads[k], index), i, index, "reverse mode (adgen.grad)")
    if "fwd" in modes:
        fj = _transformed("jvp", f, nums, backend)
        for k, i in enumerate(nums):
            for index in _elements(args[i]):
                primal, tangent = fj(*args, *_one_hot(args, nums, k, index))
                compare(tangent, i, index, "forward mode (adgen.jvp, unit tangent)")
                if not _close(primal, value, rtol, atol):
                    raise AssertionError(_mismatch(
                        "check_grads: the primal value returned by adgen.jvp", where, value,
                        primal, rtol, atol, f"{name}(*args)"))
    if order == 2:
        _check_hessian(f, args, nums, names, where, backend, rtol, atol, eps)


def _check_shape(got, shape, what):
    if np.shape(got) != shape:
        raise AssertionError(f"{what}: has shape {np.shape(got)}, expected {shape}")


def _one_hot(args, nums, k, index) -> list:
    """Tangents for the arguments in `nums`: zero but for a 1 at element `index` of the
    k-th."""
    out = []
    for pos, i in enumerate(nums):
        if np.ndim(args[i]) > 0:
            t = np.zeros(np.shape(args[i]))
            if pos == k:
                t[index] = 1.0
        else:
            t = 1.0 if pos == k else 0.0
        out.append(t)
    return out


def _check_hessian(f, args, nums, names, where, backend, rtol, atol, eps):
    """adgen.hessian against finite differences of adgen.grad, column by column: one
    column per element of each argument."""
    rows = _transformed("hessian", f, nums, backend)(*args)  # nested: nums is a tuple
    gradient = _transformed("grad", f, nums, backend)
    starts = np.cumsum([0] + [_size(args[i]) for i in nums])  # of each gradient in FD output
    for row, i in enumerate(nums):
        for col, j in enumerate(nums):
            _check_shape(rows[row][col], np.shape(args[i]) + np.shape(args[j]),
                         f"check_grads: block ({row}, {col}) of adgen.hessian {where}")
    for col, j in enumerate(nums):
        for jdx in _elements(args[j]):
            d, err = _fd_partial(gradient, args, j, jdx, eps)
            for row, i in enumerate(nums):
                block = np.asarray(rows[row][col])
                for flat, idx in enumerate(_elements(args[i])):
                    expected, got = d[starts[row] + flat], block[idx + jdx]
                    if not _close(got, expected, rtol, atol):
                        raise AssertionError(_mismatch(
                            f"check_grads: d2/d{names[i]}{_index_text(idx)}"
                            f"d{names[j]}{_index_text(jdx)} (arguments {i}, {j}) by "
                            "adgen.hessian", where, expected, got, rtol, atol,
                            _fd_note(err, eps, "finite differences of adgen.grad")))


# check_jvp ---------------------------------------------------------------------------------
def check_jvp(f, args, argnums=0, backend="python", rtol=1e-6, atol=1e-9, eps=None, seed=0):
    """Check `adgen.jvp` along a random direction against finite differences.

    The direction v (standard normal, drawn from `seed`) has one component
    per argument in `argnums`, shaped like it (a float, or an array of the
    argument's shape); the tangent returned by `adgen.jvp(f)(*args, *v)` is
    compared, element by element of the flattened outputs, with d/dt f(args +
    t v) at t = 0 by central finite differences. `f` returns a float, an
    array or a tuple of them.

    Example:
        >>> import math
        >>> def polar(r, theta):
        ...     return r * math.cos(theta), r * math.sin(theta)
        >>> check_jvp(polar, (2.0, 0.7), argnums=(0, 1))
        >>> def affine(A, x):
        ...     return A @ x + 1.0
        >>> check_jvp(affine, (np.eye(2), np.array([0.5, 2.0])), argnums=(0, 1))
    """
    args = tuple(args)
    nums = _argnums(argnums)
    v = _direction(_rng(seed, "check_jvp"), args, nums)
    name = _describe(f)
    where = f"of {name} at args={_show(args)} along v={_show(v)} (backend={backend!r})"
    expected, err = finite_difference(lambda t: _call(f, _along(args, nums, v, t)), 0.0, eps,
                                      scale=_step_scale(args, nums, v))
    _, tangent = _transformed("jvp", f, nums, backend)(*args, *v)
    got = _vector(tangent)
    if got.shape != expected.shape:
        raise AssertionError(f"check_jvp {where}: adgen.jvp returned {len(got)} tangent(s), "
                             f"f has {len(expected)} output(s)")
    for label, g, e in zip(_output_labels(tangent), got, expected):
        if not _close(g, e, rtol, atol):
            raise AssertionError(_mismatch(f"check_jvp: tangent of output {label}", where, e,
                                           g, rtol, atol, _fd_note(err, eps)))


# check_vjp ---------------------------------------------------------------------------------
def check_vjp(f, args, argnums=0, backend="python", rtol=1e-10, seed=0, *, fd=True,
              fd_rtol=1e-6, fd_atol=1e-9, eps=None):
    """The dot-product test between forward and reverse mode, <J v, w> == <v, J^T w>,
    and (with `fd`) <J v, w> against finite differences.

    v (one tangent per argument in `argnums`, shaped like it) and w (shaped
    like the output: a float, an array, or a tuple of them for a
    tuple-returning `f`) are standard normal, drawn from `seed`. J v comes
    from `adgen.jvp`, J^T w from `adgen.vjp`; the two inner products must
    agree to `rtol` relative to the sum of the magnitudes of their terms, and
    the primal values of both must agree.

    The dot-product test only shows that forward and reverse mode are
    transposes of each other. When forward mode is derived from an adjoint
    rule (a user registering only a VJP rule, which adgen transposes), or when
    both rules share a mistake, a wrong VJP gives a consistently wrong JVP and
    the test passes. So with `fd=True` (the default) <J v, w> is also
    compared with the central finite difference of t -> <f(args + t v), w> at
    t = 0, to `fd_atol + fd_rtol` times the magnitude of the terms (`eps` as
    in `check_jvp`); pass `fd=False` for the pure dot-product test.

    Example:
        >>> import math
        >>> def polar(r, theta):
        ...     return r * math.cos(theta), r * math.sin(theta)
        >>> check_vjp(polar, (2.0, 0.7), argnums=(0, 1))
        >>> def both(A, x):
        ...     return np.sum(A), np.sin(A @ x)
        >>> check_vjp(both, (np.ones((2, 3)), np.array([0.1, 0.2, 0.3])), argnums=(0, 1))
    """
    args = tuple(args)
    nums = _argnums(argnums)
    name = _describe(f)
    rng = _rng(seed, "check_vjp")
    v = _direction(rng, args, nums)
    primal_j, tangent = _transformed("jvp", f, nums, backend)(*args, *v)
    jv = _vector(tangent)
    w_flat = rng.standard_normal(len(jv))
    w = _shaped_like(w_flat, tangent)
    primal_v, grads = _transformed("vjp", f, nums, backend)(*args, w)
    jtw, v_flat = _vector(grads), _vector(v)
    where = (f"of {name} at args={_show(args)} (backend={backend!r}) with v={_show(v)}, "
             f"w={_show(w)}")
    pj, pv = _vector(primal_j), _vector(primal_v)
    if pj.shape != pv.shape or not all(_close(a, b, 1e-12, 0.0) for a, b in zip(pj, pv)):
        raise AssertionError(f"check_vjp {where}: primal values differ: adgen.jvp gives "
                             f"{_show(primal_j)}, adgen.vjp gives {_show(primal_v)}")
    if jtw.shape != v_flat.shape:
        raise AssertionError(f"check_vjp {where}: adgen.vjp returned {len(jtw)} cotangent "
                             f"element(s) for {len(v_flat)} argument element(s)")
    left_terms, right_terms = jv * w_flat, v_flat * jtw
    left, right = float(np.sum(left_terms)), float(np.sum(right_terms))
    scale = max(float(np.sum(np.abs(left_terms))), float(np.sum(np.abs(right_terms))))
    if not (math.isfinite(left) and math.isfinite(right)) or abs(left - right) > rtol * scale:
        raise AssertionError(
            f"check_vjp {where}: <J v, w> = {left!r} (forward mode, J v = "
            f"{_show_flat(jv, tangent)}) but <v, J^T w> = {right!r} (reverse mode, J^T w = "
            f"{_show_flat(jtw, grads)}); |difference| = {abs(left - right):.3e}, "
            f"tolerance = {rtol * scale:.3e}")
    if fd:
        _check_vjp_fd(f, args, nums, v, w_flat, left, right, scale, where, fd_rtol, fd_atol, eps)


def _show_flat(flat, value) -> str:
    """A flattened J v or J^T w: as the tuple of its numbers, or as returned when arrays."""
    return _show(value) if _has_array(value) else repr(tuple(flat))


def _check_vjp_fd(f, args, nums, v, w_flat, left, right, scale, where, rtol, atol, eps):
    def along(t):
        return float(np.dot(_vector(_call(f, _along(args, nums, v, t))), w_flat))

    d, err = finite_difference(along, 0.0, eps, scale=_step_scale(args, nums, v))
    expected = float(d[0])
    tol = atol + rtol * max(scale, abs(expected))
    if not abs(left - expected) <= tol:  # also fails on nan
        raise AssertionError(
            f"check_vjp {where}: forward and reverse mode agree, <J v, w> = {left!r} and "
            f"<v, J^T w> = {right!r}, but d/dt <f(args + t v), w> at t = 0 is {expected!r} "
            f"({_fd_note(err, eps)}); |difference| = {abs(left - expected):.3e}, tolerance = "
            f"{tol:.3e} (fd_rtol={rtol:g}, fd_atol={atol:g}): both modes are wrong the same "
            "way, as when forward mode is derived from a wrong adjoint rule")


# check_primitive ---------------------------------------------------------------------------
def _as_type(value, type_):
    if isinstance(type_, ScalarType) and np.ndim(value) == 0:
        return NUMPY_DTYPES[type_.name](value)
    return value


def _type_of(value):
    return argument_type(value, "operand")


class TypedNumericBuilder(NumericBuilder):
    """`adgen.trace.NumericBuilder` that keeps every value in the dtype of its IR type.

    Each emitted op is evaluated at once with its registry `impl`, and its
    result is typed by the primitive's type rule and stored in that dtype, so
    float32 stays float32 and a rule that promotes to f64 shows in the types.

    Example:
        >>> from adgen.ir.types import F32
        >>> b = TypedNumericBuilder()
        >>> y = b.emit("sin", Num(np.float32(0.5), F32))
        >>> type(y.value).__name__, str(y.type)
        ('float32', 'f32')
    """

    def emit(self, opcode, *operands, attrs=None, name=None, types=None):
        prim = registry.get(opcode)
        attrs = dict(attrs or {})
        if types is None:
            types = tuple(prim.type_rule(tuple(o.type for o in operands), attrs))
        with np.errstate(all="ignore"):
            value = prim.impl(*[o.value for o in operands], **attrs)
        values = tuple(value) if prim.nresults > 1 else (value,)
        nums = tuple(Num(_as_type(v, t), t) for v, t in zip(values, types))
        return nums[0] if len(nums) == 1 else nums

    def const(self, value, type_, name="c"):
        return Num(_as_type(value, type_), type_)


class _Rules:
    """A primitive's rules evaluated on numbers at one point."""

    def __init__(self, prim, point, attrs, float32=False):
        self.prim, self.attrs = prim, dict(attrs or {})
        values = []
        for v in point:
            if float32 and isinstance(v, (float, np.floating)):
                v = np.float32(v)
            elif isinstance(v, float):
                v = np.float64(v)
            values.append(v)
        self.types = tuple(_type_of(v) for v in values)
        self.active = tuple(is_float(t) for t in self.types)
        self.operands = tuple(Num(v, t) for v, t in zip(values, self.types))
        out_types = tuple(prim.type_rule(self.types, self.attrs))
        with np.errstate(all="ignore"):
            out = prim.impl(*values, **self.attrs)
        self.out = Num(_as_type(out, out_types[0]), out_types[0])
        self.op = Op(prim.name, self.operands, (self.out,), make_attrs(self.attrs))
        self.builder = TypedNumericBuilder()

    def number(self, value, type_):
        return Num(_as_type(value, type_), type_)

    def jvp(self, tangent_values):
        """The tangent rule's output for tangents (None = symbolic zero)."""
        tangents = [Zero(t) if tv is None else self.number(tv, t)
                    for tv, t in zip(tangent_values, self.types)]
        with np.errstate(all="ignore"):
            (result,) = self.prim.jvp(self.builder, self.op, tangents)
        return result

    def vjp(self, cotangent):
        with np.errstate(all="ignore"):
            return self.prim.vjp(self.builder, self.op, [self.number(cotangent, self.out.type)],
                                 self.active)


def _value(num) -> float:
    return 0.0 if isinstance(num, Zero) else float(num.value)


def check_primitive(name, points, rtol=1e-6, atol=1e-10, *, dot_rtol=1e-12, float32=True,
                    float32_rtol=1e-4, attrs=None, seed=0):
    """Check the derivative rules of the registry primitive `name` at `points`.

    `points` is an iterable of operand tuples (floats, and bools/ints for
    non-float operands such as the condition of `select`); `attrs` are the
    op's attributes. The rules are evaluated on numbers with
    `TypedNumericBuilder` (as `adgen.trace` does), without compiling. At each
    point:

    * the tangent rule (`jvp`) with a unit tangent on each float operand is
      compared with central finite differences of `impl` (`|got - fd| <= atol
      + rtol*|fd|`);
    * the adjoint rule (`vjp`) passes the dot-product test against the
      tangent rule, <jvp(v), w> == <v, vjp(w)>, to `dot_rtol` relative to the
      magnitude of the terms, for random v and w;
    * with `float32`, the same rules on the point rounded to float32 (operands
      np.float32, type F32): tangents and adjoints keep the type f32, and
      forward and reverse partials agree to `float32_rtol`.

    For a `nondiff` primitive the finite differences of `impl` must be 0.
    Raises AssertionError naming the primitive, the operand and the point.

    Example:
        >>> check_primitive("sin", [(0.5,), (-2.0,)])
        >>> check_primitive("hypot", [(3.0, 4.0)])
    """
    prim = registry.get(name)
    points = [tuple(p) if isinstance(p, (tuple, list)) else (p,) for p in points]
    if not points:
        raise ValueError("check_primitive needs at least one point")
    if not prim.nondiff and (prim.jvp is None or prim.vjp is None):
        raise AssertionError(f"check_primitive: primitive {name!r} has no tangent and adjoint "
                             "rules (and is not nondiff)")
    for index, point in enumerate(points):
        rules = _Rules(prim, point, attrs)
        _check_fd(prim, rules, point, rtol, atol)
        if prim.nondiff or not any(rules.active):
            continue
        _check_dot(prim, rules, point, dot_rtol, _rng(seed, name, index))
        if float32:
            _check_float32(prim, _Rules(prim, point, attrs, float32=True), point,
                           float32_rtol)


def _impl_along(prim, rules, i):
    values = [o.value for o in rules.operands]

    def g(t):
        moved = list(values)
        moved[i] = np.float64(t)
        out = prim.impl(*moved, **rules.attrs)
        return float(out)

    return g


def _check_fd(prim, rules, point, rtol, atol):
    for i, on in enumerate(rules.active):
        if not on:
            continue
        x = float(rules.operands[i].value)
        where = f"of primitive {prim.name!r} w.r.t. operand {i} at point {point!r}"
        if prim.nondiff:
            h = 1e-6 * max(abs(x), 1.0)
            g = _impl_along(prim, rules, i)
            with np.errstate(all="ignore"):
                step = g(x + h) - g(x - h)
            if step != 0.0:
                raise AssertionError(f"check_primitive: {prim.name!r} is declared nondiff but "
                                     f"its impl changes by {step!r} across x +- {h:g} "
                                     f"{where} (a point at a jump, or a wrong declaration)")
            continue
        expected, err = finite_difference(_impl_along(prim, rules, i), x)
        tangents = [1.0 if j == i else None for j in range(len(rules.operands))]
        try:
            got = _value(rules.jvp(tangents))
        except Exception as exc:  # noqa: BLE001 - reported with the primitive and point
            raise AssertionError(f"check_primitive: the tangent rule {where} raised "
                                 f"{exc!r}") from exc
        if not _close(got, expected[0], rtol, atol):
            raise AssertionError(_mismatch("check_primitive: tangent rule (jvp)", where,
                                           expected[0], got, rtol, atol,
                                           f"finite differences of impl, error estimate "
                                           f"{err:.1e}"))


def _check_dot(prim, rules, point, dot_rtol, rng):
    n = len(rules.operands)
    v = [float(rng.standard_normal()) if on else None for on in rules.active]
    w = float(rng.standard_normal())
    where = f"of primitive {prim.name!r} at point {point!r} (v={v!r}, w={w!r})"
    try:
        jv = _value(rules.jvp(v))
        cts = rules.vjp(w)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"check_primitive: a rule {where} raised {exc!r}") from exc
    if len(cts) != n:
        raise AssertionError(f"check_primitive: the adjoint rule {where} returned {len(cts)} "
                             f"cotangents for {n} operands")
    terms = [v[i] * _value(cts[i]) for i in range(n) if rules.active[i]]
    left, right = jv * w, float(sum(terms))
    scale = max(abs(left), float(sum(abs(t) for t in terms)))
    if not (math.isfinite(left) and math.isfinite(right)) or abs(left - right) > dot_rtol * scale:
        raise AssertionError(
            f"check_primitive: dot-product test {where}: <jvp(v), w> = {left!r} but "
            f"<v, vjp(w)> = {right!r} (vjp(w) = {[_value(c) for c in cts]!r}); "
            f"|difference| = {abs(left - right):.3e}, tolerance = {dot_rtol * scale:.3e}")


def _check_float32(prim, rules, point, float32_rtol):
    point32 = tuple(np.float32(p) if isinstance(p, (float, np.floating)) else p for p in point)
    where = f"of primitive {prim.name!r} at float32 point {point32!r}"
    try:
        cts = rules.vjp(1.0)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"check_primitive: the adjoint rule {where} raised {exc!r}") \
            from exc
    for i, on in enumerate(rules.active):
        if not on:
            continue
        tangents = [1.0 if j == i else None for j in range(len(rules.operands))]
        try:
            t = rules.jvp(tangents)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"check_primitive: the tangent rule {where} raised "
                                 f"{exc!r}") from exc
        ct = cts[i]
        for kind, num, want in (("tangent", t, rules.out.type),
                                ("cotangent", ct, rules.types[i])):
            if not isinstance(num, Zero) and num.type != want:
                raise AssertionError(f"check_primitive: the {kind} of operand {i} {where} has "
                                     f"type {num.type}, expected {want}")
        fwd, rev = _value(t), _value(ct)
        if not _close(fwd, rev, float32_rtol, 1e-30):
            raise AssertionError(_mismatch(f"check_primitive: forward vs reverse partial "
                                           f"w.r.t. operand {i}", where, rev, fwd,
                                           float32_rtol, 0.0, "the adjoint rule (vjp)"))
