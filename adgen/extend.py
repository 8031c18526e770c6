"""Users teach adgen: their own primitives with derivative rules, JAX-style
`custom_jvp` / `custom_vjp`, and `stop_gradient`.

A user primitive is an entry of the one registry (adgen/primitives/registry.py),
like `sin`. Its implementation (a Python function, a `numba.njit` dispatcher or
a ufunc) is called as it is by the generated code; its rules are plain Python
functions in adgen's subset, which adgen lowers to IR and inlines where a
derivative is needed, so they are differentiated again for higher orders.
A primitive given only one of the two rules gets the other by transposition:
the tangent rule of a VJP-only primitive is the reverse-mode derivative of
g -> <vjp(x, g), t> with respect to g (linear in g), and vice versa.

Example:
    >>> import math, adgen
    >>> def softplus_partial(x):
    ...     return 1.0 / (1.0 + math.exp(-x))
    >>> @adgen.primitive(partials=softplus_partial)      # doctest: +SKIP
    ... def softplus(x):
    ...     return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import inspect
import keyword

import numpy as np

from adgen.errors import AdgenError, AdgenTypeError
from adgen.ir.types import ArrayType, is_float, scalar_of
from adgen.primitives import registry
from adgen.primitives.derive import fconst, jvp_from_partials, vjp_from_partials
from adgen.primitives.registry import Primitive, Zero

__all__ = ["primitive", "custom_jvp", "custom_vjp", "stop_gradient", "implementation"]


@dataclasses.dataclass
class _Spec:
    """What a user said about one primitive."""

    name: str
    impl: object               # what the python backend (and the interpreter) calls
    numba_impl: object | None  # what Numba-compiled code calls, if not `impl`
    arity: int
    emit_jvp: object | None    # (b, args, tangents) -> Value
    emit_vjp: object | None    # (b, args, cotangent) -> list of Value (one per arg)
    partials: object | None    # the user's partials function
    callee: object = None      # what user code calls


_USER: dict[str, _Spec] = {}


# running rules: the user's function as IR inlined at the builder ----------------------------
@functools.lru_cache(maxsize=None)
def _lowered(rule, widths):
    from adgen.frontend.lower import lower_rule

    return lower_rule(rule, widths)


def _restamp(op, loc):
    """`op` (and its regions' ops) located at `loc`: the user's line being differentiated."""
    regions = tuple(dataclasses.replace(r, ops=tuple(_restamp(o, loc) for o in r.ops))
                    for r in op.regions)
    return dataclasses.replace(op, loc=loc, regions=regions)


def run_rule(b, rule, widths, args) -> tuple[list, object]:
    """Inline the rule `rule` applied to the IR values `args` (flattened as `widths`
    says) at the builder `b`; returns the flattened results and their tuple shape."""
    from adgen.transforms.specialize import specialize

    untyped, shape = _lowered(rule, tuple(widths))
    typed = specialize(untyped, tuple(a.type for a in args))
    return _inline(b, typed, args), shape


def _fit(b, value, like, what: str):
    """`value` (a rule's result) as a value of `like`'s type: scalars are cast, a scalar
    is spread over an array; anything else is the rule's error, named."""
    vt, lt = value.type, like.type
    if vt == lt:
        return value
    if isinstance(lt, ArrayType) and not isinstance(vt, ArrayType):
        value = b.emit("broadcast_like", value, like)
        vt = value.type
    if isinstance(vt, ArrayType) != isinstance(lt, ArrayType) or (
            isinstance(vt, ArrayType) and vt.ndim != lt.ndim):
        raise AdgenTypeError(f"{what} has type {vt}; expected {lt}", what)
    if scalar_of(vt) != scalar_of(lt):
        value = b.emit("cast", value, attrs={"to": str(scalar_of(lt))})
    return value


def _zero_like(b, v):
    if isinstance(v.type, ArrayType):
        return b.emit("zeros_like", v, attrs={"dtype": str(scalar_of(v.type))}
                      if is_float(v.type) else {"dtype": "f64"})
    return fconst(b, 0.0, v)


def _materialize(b, tangents, args):
    return [_zero_like(b, a) if isinstance(t, Zero) else t for t, a in zip(tangents, args)]


# transposition: the missing rule from the one given ------------------------------------------
def _inner(b, x, y):
    """<x, y>: a product, summed over elements for arrays."""
    prod = b.emit("mul", x, y)
    if isinstance(prod.type, ArrayType):
        prod = b.emit("reduce", prod, attrs={"how": "sum", "axis": None, "keepdims": False})
    return prod


@functools.lru_cache(maxsize=None)
def _transposed(name: str, direction: str, types, out_type):
    """The typed reverse-mode function that gives `name`'s missing rule.

    direction "jvp": H(x..., g, t...) = sum_i <vjp_i(x, g), t_i>, differentiated
    w.r.t. g, so it returns J t. direction "vjp": H(x..., t..., g) = <jvp(x, t), g>,
    differentiated w.r.t. the float t_i, so it returns J^T g, one per float operand.
    """
    from adgen.ir.builder import Builder, NameTable
    from adgen.ir.function import Function
    from adgen.transforms.reverse import differentiate_reverse

    spec = _USER[name]
    b = Builder(NameTable())
    xs = [b.param(f"x{k}", t) for k, t in enumerate(types)]
    floats = [k for k, t in enumerate(types) if is_float(t)]
    if direction == "jvp":
        g = b.param("g", out_type)
        ts = [b.param(f"t{k}", types[k]) for k in floats]
        cts = spec.emit_vjp(b, xs, g)
        total = None
        for k, t in zip(floats, ts):
            term = _inner(b, _fit(b, cts[k], xs[k], f"the adjoint rule of {name}"), t)
            total = term if total is None else b.emit("add", total, term)
        params, wrt = xs + [g] + ts, (len(xs),)
    else:
        ts = [b.param(f"t{k}", t) for k, t in enumerate(types)]
        g = b.param("g", out_type)
        dot = spec.emit_jvp(b, xs, ts)
        total = _inner(b, _fit(b, dot, g, f"the tangent rule of {name}"), g)
        params, wrt = xs + ts + [g], tuple(len(xs) + k for k in floats)
    h = Function(f"{name}_{direction}_transposed", b.finish_region(params, [total]), None,
                 False)
    return differentiate_reverse(h, wrt, seed_params=False, return_primal=False)


def _inline(b, fn, args) -> list:
    """The body of the typed function `fn` inlined at `b` on `args`; its returns."""
    from adgen.transforms.clone import Scope, clone_op

    if not hasattr(b, "append"):  # adgen.trace's numeric builder: evaluate the rule
        from adgen.ir.interpret import interpret
        from adgen.trace import Num

        out = interpret(fn, *[a.value for a in args])
        out = out if isinstance(out, tuple) else (out,)
        return [Num(v, r.type) for v, r in zip(out, fn.returns)]
    scope = Scope()
    for param, arg in zip(fn.params, args):
        scope.subst[param.name] = arg
    for op in fn.body.ops:
        b.append(_restamp(clone_op(op, scope, b.names, True), b.loc))
    return [scope.map(v) for v in fn.returns]


# the registry's rules for a user primitive ----------------------------------------------------
def _jvp_rule(spec):
    def user_jvp(b, op, tangents):
        args = list(op.operands)
        if spec.emit_jvp is not None:
            dot = spec.emit_jvp(b, args, _materialize(b, tangents, args))
        else:
            fn = _transposed(spec.name, "jvp", tuple(a.type for a in args), op.result.type)
            ts = [t for t, a in zip(_materialize(b, tangents, args), args) if is_float(a.type)]
            (dot,) = _inline(b, fn, args + [_zero_like(b, op.result)] + ts)
        return [_fit(b, dot, op.result, f"the tangent rule of {spec.name}")]

    user_jvp.__name__ = f"{spec.name}_jvp"
    return user_jvp


def _vjp_rule(spec):
    def user_vjp(b, op, cotangents, active):
        (ct,) = cotangents
        args = list(op.operands)
        if isinstance(ct, Zero) or not any(active):
            return [Zero(a.type) for a in args]
        if spec.emit_vjp is not None:
            cts = spec.emit_vjp(b, args, ct)
        else:
            fn = _transposed(spec.name, "vjp", tuple(a.type for a in args), op.result.type)
            zeros = [_zero_like(b, a) for a in args]
            found = iter(_inline(b, fn, args + zeros + [ct]))
            cts = [next(found) if is_float(a.type) else None for a in args]
        return [_fit(b, c, a, f"the adjoint rule of {spec.name}")
                if on and is_float(a.type) and c is not None else Zero(a.type)
                for a, c, on in zip(args, cts, active)]

    user_vjp.__name__ = f"{spec.name}_vjp"
    return user_vjp


def _partials_rule(spec):
    def user_partials(b, args, out, active):
        values, _ = run_rule(b, spec.partials, [None] * spec.arity, list(args))
        if len(values) != spec.arity:
            raise AdgenTypeError(f"the partials rule of {spec.name} returns {len(values)} "
                                 f"value(s); it must return {spec.arity}, one per argument",
                                 spec.name)
        return tuple(_fit(b, v, out, f"the partials rule of {spec.name}") if on else None
                     for v, on in zip(values, active))

    user_partials.__name__ = f"{spec.name}_partials"
    return user_partials


def _type_rule(spec):
    """Result types found by specializing the implementation's source when adgen can
    read it, else by calling it on placeholder arguments of the given types."""

    @functools.lru_cache(maxsize=None)
    def infer(types):
        from adgen.api import argument_type

        function = _python_source_of(spec.impl)
        if function is not None:
            try:
                from adgen.frontend.lower import lower_function
                from adgen.transforms.specialize import specialize

                typed = specialize(lower_function(function), types)
                if len(typed.returns) == 1:
                    return (typed.returns[0].type,)
            except AdgenError:
                pass
        try:
            with np.errstate(all="ignore"):
                out = spec.impl(*[_placeholder(t) for t in types])
            return (argument_type(np.float64(out) if isinstance(out, float) else out, "out"),)
        except Exception as exc:  # noqa: BLE001 (any failure of user code: say which)
            raise AdgenTypeError(f"cannot find the result type of primitive {spec.name} for "
                                 f"arguments ({', '.join(map(str, types))}): calling its "
                                 f"implementation on placeholders raised {exc!r}",
                                 spec.name) from None

    def type_rule(types, attrs):
        return infer(tuple(types))

    return type_rule


def _placeholder(t):
    from adgen.ir.types import NUMPY_DTYPES

    if isinstance(t, ArrayType):
        return np.full((1,) * t.ndim, 0.5, dtype=NUMPY_DTYPES[t.dtype.name])
    return NUMPY_DTYPES[t.name](0.5 if is_float(t) else 1)


def _python_source_of(obj):
    from adgen.frontend.resolve import python_function_of

    function = python_function_of(obj)
    if function is None:
        return None
    try:
        inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return function


def _emitter(name):
    def emit_user(args, attrs):
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])

    emit_user.__name__ = f"emit_{name}"
    return emit_user


def _arity_of(obj) -> int:
    nin = getattr(obj, "nin", None)
    if nin is not None:
        return nin
    function = getattr(obj, "py_func", obj)
    params = inspect.signature(function).parameters.values()
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def _install(spec: _Spec, callee, nondiff: bool = False) -> None:
    """Put `spec` in the registry (replacing an earlier user primitive of that name)
    and make calls to `callee` in differentiated code resolve to it."""
    from adgen.frontend import resolve
    from adgen.ir import builder

    spec.callee = callee
    name = spec.name
    if name in _USER and _origin(_USER[name].callee) != _origin(callee):
        # another function of that name (another module): both stay usable
        k = 1
        while registry.has(f"{name}_{k}"):
            k += 1
        name = spec.name = f"{name}_{k}"
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ValueError(f"primitive name {name!r} must be a Python identifier not "
                         "starting with '_'")
    if registry.has(name) and name not in _USER:
        raise ValueError(f"{name!r} is a built-in primitive of adgen; choose another name")
    if name in builder.RESERVED:
        raise ValueError(f"{name!r} is a name generated code relies on; choose another")
    prim = Primitive(name=name, type_rule=_type_rule(spec), impl=spec.impl,
                     emit=_emitter(name), partials=None, nondiff=nondiff,
                     trace=f"{name} " + " ".join("{%d}" % k for k in range(spec.arity)),
                     doc=f"user primitive {name}", extra={"arity": spec.arity, "user": True})
    if spec.partials is not None:
        prim = dataclasses.replace(prim, partials=_partials_rule(spec))
        prim = dataclasses.replace(prim, jvp=jvp_from_partials(prim),
                                   vjp=vjp_from_partials(prim))
    elif not nondiff:
        prim = dataclasses.replace(prim, jvp=_jvp_rule(spec), vjp=_vjp_rule(spec))
    registry.replace(prim) if name in _USER else registry.register(prim)
    _USER[name] = spec
    builder.reserve(name)
    resolve.register_callable(callee, name)
    _transposed.cache_clear()


def _origin(obj):
    """Where a callable was defined: a function defined again (a notebook cell run twice,
    a reloaded module) replaces its earlier registration."""
    obj = getattr(obj, "fun", obj)
    obj = getattr(obj, "py_func", obj)
    return (getattr(obj, "__module__", None), getattr(obj, "__qualname__", repr(obj)))


# public API -----------------------------------------------------------------------------------
def primitive(fn=None, *, name=None, partials=None, jvp=None, vjp=None, numba_impl=None,
              nondiff=False):
    """Register `fn` as a primitive: calls to it in differentiated code use your rules.

    `fn` is a Python function, a `numba.njit` function or a ufunc (e.g. from
    `scipy.special`); generated code calls it as it is (on the numba backend,
    `numba_impl` if given, else `fn` compiled with `numba.njit`). Give one of:

    - `partials(*args) -> d out/d arg_i` (a tuple when there are several
      arguments): for element-wise functions; both modes are derived from it;
    - `jvp(*args, *tangents) -> out_tangent` and/or `vjp(*args, g) -> arg
      cotangent(s)` (a tuple when there are several arguments): a missing one
      is derived by transposing the other;
    - `nondiff=True`: the derivative is zero wherever it exists.

    Rules are Python functions in adgen's subset (they may call `fn` itself),
    so higher orders differentiate through them. Returns `fn` (a decorator too).

    Example:
        >>> import math, adgen
        >>> def softplus_partial(x):
        ...     return 1.0 / (1.0 + math.exp(-x))
        >>> @adgen.primitive(partials=softplus_partial)     # doctest: +SKIP
        ... def softplus(x):
        ...     return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
        >>> adgen.grad(lambda x: softplus(2.0 * x))         # doctest: +SKIP
    """
    if fn is None:
        return functools.partial(primitive, name=name, partials=partials, jvp=jvp, vjp=vjp,
                                 numba_impl=numba_impl, nondiff=nondiff)
    if not callable(fn):
        raise TypeError(f"adgen.primitive needs a callable, got {fn!r}")
    if partials is None and jvp is None and vjp is None and not nondiff:
        raise ValueError(f"primitive {_name_of(fn)!r} needs a rule: partials=, jvp=, vjp= "
                         "or nondiff=True")
    if partials is not None and (jvp is not None or vjp is not None):
        raise ValueError("give partials= or jvp=/vjp=, not both")
    arity = _arity_of(fn)
    spec = _Spec(name or _name_of(fn), fn, numba_impl, arity,
                 _flat_jvp(jvp, arity) if jvp is not None else None,
                 _flat_vjp(vjp, arity) if vjp is not None else None, partials)
    _install(spec, fn, nondiff)
    return fn


def _name_of(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _flat_jvp(rule, n):
    def emit(b, args, tangents):
        values, _ = run_rule(b, rule, [None] * (2 * n), list(args) + list(tangents))
        if len(values) != 1:
            raise AdgenTypeError(f"tangent rule {rule.__name__} returns {len(values)} values;"
                                 " it must return the output's tangent", rule.__name__)
        return values[0]

    return emit


def _flat_vjp(rule, n):
    def emit(b, args, ct):
        values, _ = run_rule(b, rule, [None] * (n + 1), list(args) + [ct])
        if len(values) != n:
            raise AdgenTypeError(f"adjoint rule {rule.__name__} returns {len(values)} "
                                 f"value(s); it must return {n}, one per argument",
                                 rule.__name__)
        return values

    return emit


class custom_jvp:
    """A function with a tangent rule of your own, with JAX's `custom_jvp` semantics.

    The rule `f_jvp(primals, tangents) -> (primal_out, tangent_out)` is given
    with `f.defjvp`; reverse mode transposes it, and higher orders differentiate
    it again. `f` itself runs as it is (compiled with Numba on that backend).

    Example:
        >>> import math, adgen
        >>> @adgen.custom_jvp
        ... def log1pexp(x):
        ...     return math.log1p(math.exp(x))
        >>> @log1pexp.defjvp
        ... def log1pexp_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return log1pexp(x), t / (1.0 + math.exp(-x))
        >>> adgen.grad(log1pexp)(100.0)                    # doctest: +SKIP
        1.0
    """

    def __init__(self, fun):
        self.fun = fun
        self.arity = _arity_of(fun)
        functools.update_wrapper(self, fun)

    def __call__(self, *args):
        return self.fun(*args)

    def defjvp(self, rule):
        n = self.arity

        def emit(b, args, tangents):
            values, shape = run_rule(b, rule, [n, n], list(args) + list(tangents))
            if shape != (None, None):
                raise AdgenTypeError(f"custom_jvp rule {rule.__name__} must return "
                                     "(primal_out, tangent_out)", rule.__name__)
            return values[1]

        _install(_Spec(self.__name__, self.fun, None, n, emit, None, None), self)
        return rule


class custom_vjp:
    """A function with an adjoint rule of your own, with JAX's `custom_vjp` semantics.

    `f.defvjp(fwd, bwd)`: `fwd(*primals) -> (out, residuals)` and `bwd(residuals,
    g) -> tuple of one cotangent per argument`. Unlike JAX, forward mode (and so
    `hessian`) still works: the tangent rule is the transpose of `bwd`.

    Example:
        >>> import math, adgen
        >>> @adgen.custom_vjp
        ... def clip_gradient(x):
        ...     return x
        >>> def fwd(x):
        ...     return x, 0.0
        >>> def bwd(res, g):
        ...     return (min(max(g, -1.0), 1.0),)
        >>> clip_gradient.defvjp(fwd, bwd)
    """

    def __init__(self, fun):
        self.fun = fun
        self.arity = _arity_of(fun)
        functools.update_wrapper(self, fun)

    def __call__(self, *args):
        return self.fun(*args)

    def defvjp(self, fwd, bwd):
        n = self.arity

        def emit(b, args, ct):
            values, shape = run_rule(b, fwd, [None] * n, list(args))
            if not isinstance(shape, tuple) or len(shape) != 2:
                raise AdgenTypeError(f"custom_vjp forward rule {fwd.__name__} must return "
                                     "(out, residuals)", fwd.__name__)
            residuals, res_shape = values[1:], shape[1]
            if isinstance(res_shape, tuple) and any(s is not None for s in res_shape):
                raise AdgenTypeError(f"{fwd.__name__}: residuals must be a value or a flat "
                                     "tuple of values", fwd.__name__)
            width = None if res_shape is None else len(residuals)
            cts, _ = run_rule(b, bwd, [width, None], residuals + [ct])
            if len(cts) != n:
                raise AdgenTypeError(f"custom_vjp backward rule {bwd.__name__} returns "
                                     f"{len(cts)} value(s); it must return a tuple of {n}, "
                                     "one per argument", bwd.__name__)
            return cts

        _install(_Spec(self.__name__, self.fun, None, n, None, emit, None), self)


def stop_gradient(x):
    """`x`, seen by differentiation as a constant: no tangent or adjoint flows through.

    Example:
        >>> import math, adgen
        >>> def f(x):
        ...     return x * adgen.stop_gradient(math.sin(x))
        >>> adgen.grad(f)(1.0)   # d/dx = sin(1), not sin(1) + cos(1)   # doctest: +SKIP
        0.8414709848078965
    """
    return x


# what generated modules call ---------------------------------------------------------------
def implementation(name: str, backend: str):
    """The callable generated code of `backend` uses for user primitive `name`."""
    spec = _USER.get(name)
    if spec is None:
        raise AdgenTypeError(f"user primitive {name!r} is not registered in this process: "
                             "register it (adgen.primitive / custom_jvp / custom_vjp) before "
                             "calling the derivative", name)
    if backend == "python":
        return spec.impl
    return _for_numba(spec)


def _for_numba(spec):
    from numba.core.registry import CPUDispatcher

    target = spec.numba_impl if spec.numba_impl is not None else spec.impl
    if isinstance(target, CPUDispatcher):
        return target
    if isinstance(target, np.ufunc) and getattr(np, target.__name__, None) is target:
        return target
    function = getattr(target, "fun", target)  # custom_jvp / custom_vjp
    if inspect.isfunction(function):
        return _njit(function)
    raise AdgenTypeError(
        f"primitive {spec.name}: its implementation {target!r} cannot be called from "
        "Numba-compiled code; register it with numba_impl=<a numba.njit function> (see "
        "docs/EXTENDING.md for scipy.special), or use backend='python'", spec.name)


@functools.lru_cache(maxsize=None)
def _njit(function):
    import numba

    return numba.njit(error_model="numpy")(function)


def digest(name: str) -> str:
    """A hash of the code behind user primitive `name`'s implementations: part of the
    generated module's text, so editing them gives a new cache file."""
    spec = _USER[name]
    parts = []
    for obj in (spec.impl, spec.numba_impl):
        function = getattr(obj, "fun", obj)
        function = getattr(function, "py_func", function)
        try:
            parts.append(inspect.getsource(function))
        except (OSError, TypeError):
            parts.append(repr(obj))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def user_primitives_in(fn) -> list[str]:
    """Names of the user primitives the IR function `fn` uses, in first-use order."""
    from adgen.ir.ops import walk_ops

    found: dict[str, None] = {}
    for op in walk_ops(fn.body):
        if op.opcode in _USER:
            found.setdefault(op.opcode)
    return list(found)


def user_primitive_of(obj) -> str | None:
    """The name of the user primitive that calls to `obj` become, if any."""
    from adgen.frontend.resolve import primitive_for

    name = primitive_for(obj)
    return name if name in _USER else None


def call_ir(name: str, function, types):
    """The typed IR of a function that only calls user primitive `name` (what
    `adgen.grad(softplus)` differentiates: the rules, not the implementation)."""
    from adgen.ir.builder import Builder, NameTable
    from adgen.ir.function import Function
    from adgen.ir.values import Loc

    names = list(inspect.signature(function).parameters)[:len(types)]
    try:
        loc = Loc(inspect.getsourcefile(function), function.__code__.co_firstlineno, 0)
    except (TypeError, AttributeError):
        loc = None
    b = Builder(NameTable(), loc)
    params = [b.param(n, t) for n, t in zip(names, types)]
    out = b.emit(name, *params, name="out")
    return Function(name, b.finish_region(params, [out]), loc, False)
