"""Primitives whose derivative is zero wherever it exists (comparisons,
boolean logic, rounding, casts to int), plus constants, `select` and casts."""

from __future__ import annotations

import ast

import numpy as np

from adgen.ir.types import BOOL, ArrayType, is_float, scalar_of
from adgen.primitives.arithmetic import scalar
from adgen.primitives.derive import accumulate
from adgen.primitives.emit import call, call_emitter, compare_emitter, dotted, literal
from adgen.primitives.registry import Primitive, Zero, register
from adgen.primitives.typerules import bool_type, cast_type, float_type, same_type, select_type

for _name, _impl, _node, _sym in (
        ("lt", np.less, ast.Lt, "<"), ("le", np.less_equal, ast.LtE, "<="),
        ("gt", np.greater, ast.Gt, ">"), ("ge", np.greater_equal, ast.GtE, ">="),
        ("eq", np.equal, ast.Eq, "=="), ("ne", np.not_equal, ast.NotEq, "!=")):
    scalar(_name, _impl, compare_emitter(_node), bool_type, nondiff=True,
           trace="{0} " + _sym + " {1}")


def _on_arrays(attrs) -> bool:
    return any(isinstance(t, ArrayType) for t in attrs.get("_types", ()))


def emit_not(args, attrs):
    if _on_arrays(attrs):
        return call("np.logical_not", args)
    return ast.UnaryOp(op=ast.Not(), operand=args[0])


def emit_and(args, attrs):
    if _on_arrays(attrs):
        return call("np.logical_and", args)
    return ast.BoolOp(op=ast.And(), values=list(args))


def emit_or(args, attrs):
    if _on_arrays(attrs):
        return call("np.logical_or", args)
    return ast.BoolOp(op=ast.Or(), values=list(args))


scalar("not", np.logical_not, emit_not, bool_type, nondiff=True, trace="not {0}")
scalar("and", np.logical_and, emit_and, bool_type, nondiff=True, trace="{0} and {1}")
scalar("or", np.logical_or, emit_or, bool_type, nondiff=True, trace="{0} or {1}")
scalar("sign", np.sign, call_emitter("np.sign"), same_type, nondiff=True, trace="sign {0}",
       python_names=("numpy.sign",))
scalar("floor", np.floor, call_emitter("np.floor"), float_type, nondiff=True,
       trace="floor {0}", python_names=("numpy.floor",))
scalar("ceil", np.ceil, call_emitter("np.ceil"), float_type, nondiff=True, trace="ceil {0}",
       python_names=("numpy.ceil",))
scalar("trunc", np.trunc, call_emitter("np.trunc"), float_type, nondiff=True,
       trace="trunc {0}", python_names=("numpy.trunc",))
scalar("rint", np.rint, call_emitter("np.rint"), float_type, nondiff=True, trace="rint {0}",
       python_names=("numpy.rint", "numpy.round"))


# casts --------------------------------------------------------------------------
def _cast_impl(x, to):
    from adgen.ir.types import NUMPY_DTYPES

    return NUMPY_DTYPES[to](x)


def emit_cast(args, attrs):
    to = attrs["to"]
    if any(isinstance(t, ArrayType) for t in attrs.get("_types", ())):
        dtype = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64",
                 "bool": "np.bool_"}[to]
        method = ast.Attribute(value=args[0], attr="astype", ctx=ast.Load())
        return ast.Call(func=method, args=[dotted(dtype)], keywords=[])
    if to == "f64":  # not float(): NumPy's IEEE division, as under Numba, on the python backend
        return call("np.float64", args)
    if to == "i64":
        return call("int", args)
    if to == "bool":
        return call("bool", args)
    return call("np.float32", args)


def cast_jvp(b, op, tangents):
    (t,) = tangents
    if isinstance(t, Zero) or not is_float(op.result.type):
        return [Zero(op.result.type)]
    return [b.emit("cast", t, attrs=dict(op.attrs))]


def cast_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    (x,) = op.operands
    if isinstance(ct, Zero) or not active[0] or not is_float(op.result.type):
        return [Zero(x.type)]
    return [b.emit("cast", ct, attrs={"to": str(scalar_of(x.type))})]


register(Primitive("cast", cast_type, _cast_impl, emit_cast, jvp=cast_jvp, vjp=cast_vjp,
                   trace="{to}({0})", doc="float(x), int(x), bool(x), np.float32(x)"))


# select: the value form of a conditional -------------------------------------------
def _select_impl(c, a, b):
    return np.where(c, a, b) if np.ndim(c) or np.ndim(a) or np.ndim(b) else (a if c else b)


def emit_select(args, attrs):
    return ast.IfExp(test=args[0], body=args[1], orelse=args[2])


def _materialize(b, t, like):
    if isinstance(t, Zero):
        from adgen.primitives.arrays import materialize

        return materialize(b, t, like)
    return t


def select_jvp(b, op, tangents):
    _, ta, tb = tangents
    if isinstance(ta, Zero) and isinstance(tb, Zero):
        return [Zero(op.result.type)]
    c = op.operands[0]
    return [b.emit("select", c, _materialize(b, ta, op.result), _materialize(b, tb, op.result))]


def select_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    c, x, y = op.operands
    if isinstance(ct, Zero):
        return [Zero(v.type) for v in op.operands]
    zero = _materialize(b, Zero(ct.type), op.result)
    return [Zero(BOOL),
            b.emit("select", c, ct, zero) if active[1] else Zero(x.type),
            b.emit("select", c, zero, ct) if active[2] else Zero(y.type)]


register(Primitive("select", select_type, _select_impl, emit_select, jvp=select_jvp,
                   vjp=select_vjp, trace="{1} if {0} else {2}",
                   doc="a if c else b, for a scalar condition c"))


def where_type(types, attrs):
    from adgen.primitives.typerules import _promote_all, _shape_like

    return (_shape_like(types, _promote_all(types[1:])),)


def emit_where(args, attrs):
    return call("np.where", args)


def where_jvp(b, op, tangents):
    _, ta, tb = tangents
    if isinstance(ta, Zero) and isinstance(tb, Zero):
        return [Zero(op.result.type)]
    from adgen.primitives.derive import fconst

    c = op.operands[0]
    ta = fconst(b, 0.0, op.result) if isinstance(ta, Zero) else ta
    tb = fconst(b, 0.0, op.result) if isinstance(tb, Zero) else tb
    return [b.emit("where", c, ta, tb)]


def where_vjp(b, op, cotangents, active):
    from adgen.primitives.derive import fconst, unbroadcast

    (ct,) = cotangents
    c, x, y = op.operands
    out = [Zero(v.type) for v in op.operands]
    if isinstance(ct, Zero):
        return out
    zero = fconst(b, 0.0, op.result)
    if active[1]:
        out[1] = unbroadcast(b, b.emit("where", c, ct, zero), x)
    if active[2]:
        out[2] = unbroadcast(b, b.emit("where", c, zero, ct), y)
    return out


def _where_impl(c, a, b):
    return np.where(c, a, b)


register(Primitive("where", where_type, _where_impl, emit_where, jvp=where_jvp,
                   vjp=where_vjp, python_names=("numpy.where",),
                   doc="np.where(c, a, b), element-wise"))


def choose(b, c, x, y):
    """`x if c else y`, element-wise when `c` is an array."""
    return b.emit("where" if isinstance(c.type, ArrayType) else "select", c, x, y)


# constants and undefined placeholders -------------------------------------------------
def const_type(types, attrs):
    return (attrs["type"],)


def _const_impl(value, type):
    return value


def emit_const(args, attrs):
    node = literal(attrs["value"])
    if attrs.get("type") is not None and str(attrs["type"]) == "f32":
        return call("np.float32", [node])  # a bare literal would be float64 under Numba
    return node


def zero_jvp(b, op, tangents):
    return [Zero(r.type) for r in op.results]


def zero_vjp(b, op, cotangents, active):
    return [Zero(v.type) for v in op.operands]


register(Primitive("const", const_type, _const_impl, emit_const, nondiff=True,
                   trace="{value}", doc="a literal constant"))
register(Primitive("undef", const_type, _const_impl, emit_const, nondiff=True,
                   doc="a variable not defined on this path (never read there)"))


# adgen.stop_gradient ----------------------------------------------------------------------
def _identity(x):
    return x


def emit_identity(args, attrs):
    return args[0]


scalar("stop_gradient", _identity, emit_identity, same_type, nondiff=True,
       trace="stop_gradient {0}", python_names=("adgen.extend.stop_gradient",),
       doc="x, a constant for differentiation: no tangent or adjoint flows through it")
