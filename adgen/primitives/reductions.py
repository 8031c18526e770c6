"""Reductions (sum, mean, max, min, prod with `axis` and `keepdims`) and
`spread`, the broadcast of a reduced cotangent back over the reduced axis.

Ties of max/min split the derivative equally among the tied elements; a slice
holding NaN has its max/min (NaN) at its NaN elements.
"""

from __future__ import annotations

import ast

import numpy as np

from adgen.ir.types import BOOL, F64, I64, ArrayType, is_float
from adgen.primitives.derive import fconst
from adgen.primitives.emit import call, literal
from adgen.primitives.registry import Primitive, Zero, register


def _axis(attrs, ndim):
    axis = attrs.get("axis")
    if axis is None:
        return None
    if not -ndim <= axis < ndim:
        raise TypeError(f"axis {axis} is out of range for an array of rank {ndim}")
    return axis % ndim


def reduce_type(types, attrs):
    (x,) = types
    name = attrs["how"]
    dtype = x.dtype if isinstance(x, ArrayType) else x
    if name in ("sum", "prod") and dtype == BOOL:
        dtype = I64
    if name == "mean" and not is_float(dtype):
        dtype = F64
    if not isinstance(x, ArrayType):
        return (dtype,)
    axis = _axis(attrs, x.ndim)
    if axis is None:
        if attrs.get("keepdims"):
            raise TypeError("keepdims=True needs an axis")
        return (dtype,)
    ndim = x.ndim if attrs.get("keepdims") else x.ndim - 1
    return (ArrayType(dtype, ndim) if ndim else dtype,)


def _reduce_impl(x, how, axis=None, keepdims=False):
    return getattr(np, how)(x, axis=axis, keepdims=keepdims)


def _normalized_axis(attrs, index):
    """The `axis` attribute made non-negative with the rank of operand `index`."""
    axis = attrs.get("axis")
    types = attrs.get("_types", ())
    if axis is not None and axis < 0 and len(types) > index and isinstance(types[index],
                                                                           ArrayType):
        axis %= types[index].ndim
    return axis


def emit_reduce(args, attrs):
    how, axis = attrs["how"], _normalized_axis(attrs, 0)
    (x,) = args
    if axis is None:
        return call(f"np.{how}", [x])
    node = call("_adgen.reduce_axis", [x, literal(axis), ast.Constant(how)])
    if attrs.get("keepdims"):
        node = call("_adgen.keep_axis", [node, x, literal(axis)])
    return node


def spread(b, g, x, attrs):
    """The cotangent `g` of a reduction of `x` repeated over the reduced axis."""
    if not isinstance(x.type, ArrayType):
        return g
    return b.emit("spread", g, x, attrs={"axis": attrs.get("axis")})


def reduce_jvp(b, op, tangents):
    (t,) = tangents
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    attrs, how = dict(op.attrs), op.attr("how")
    x, out = op.operands[0], op.result
    if how in ("sum", "mean"):
        return [b.emit("reduce", t, attrs=attrs)]
    if how == "prod":
        others = _prod_of_others(b, x, out, attrs)
        return [b.emit("reduce", b.emit("mul", t, others), attrs={**attrs, "how": "sum"})]
    mask, count = _argext(b, x, out, attrs)
    picked = b.emit("where", mask, t, fconst(b, 0.0, t))
    total = b.emit("reduce", picked, attrs={**attrs, "how": "sum"})
    return [b.emit("div", total, count)]


def _prod_of_others(b, x, out, attrs):
    """d prod / d x_i = the product of the other elements of x_i's slice, without
    dividing by a zero: out / x_i where x_i != 0; at a zero, P (the product of the
    non-zero elements) times the other zero if there are two, 0 if there are more. Every
    piece is a smooth function of x, so second derivatives are right too."""
    zero, one = fconst(b, 0.0, x), fconst(b, 1.0, x)
    is_zero = b.emit("eq", x, zero)
    nonzero = b.emit("where", is_zero, one, x)
    P = spread(b, b.emit("reduce", nonzero, attrs={**attrs, "how": "prod"}), x, attrs)
    z = spread(b, b.emit("reduce", b.emit("cast", is_zero, attrs={"to": str(x.type.dtype)}),
                         attrs={**attrs, "how": "sum"}), x, attrs)
    zeros_sum = spread(b, b.emit("reduce", b.emit("where", is_zero, x, zero),
                                 attrs={**attrs, "how": "sum"}), x, attrs)
    two = b.emit("where", b.emit("eq", z, fconst(b, 2.0, x)), b.emit("sub", zeros_sum, x), zero)
    at_zero = b.emit("mul", P, b.emit("where", b.emit("eq", z, one), one, two))
    at_nonzero = b.emit("div", spread(b, out, x, attrs), nonzero)
    return b.emit("where", is_zero, at_zero, at_nonzero)


def _argext(b, x, out, attrs):
    """Where x attains the max/min of its slice, and how many times (per slice)."""
    if not isinstance(x.type, ArrayType):
        return None, None
    # a NaN is where np.max/np.min is attained when the slice holds one (the result is
    # NaN): both modes then send the derivative there, consistently
    mask = b.emit("or", b.emit("eq", x, spread(b, out, x, attrs)), b.emit("ne", x, x))
    ones = b.emit("cast", mask, attrs={"to": str(x.type.dtype)})
    count = b.emit("reduce", ones, attrs={**attrs, "how": "sum"})
    return mask, count


def reduce_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    x, out = op.operands[0], op.result
    if isinstance(ct, Zero) or not active[0]:
        return [Zero(x.type)]
    attrs, how = dict(op.attrs), op.attr("how")
    if not isinstance(x.type, ArrayType):
        return [ct]
    if how == "sum":
        return [spread(b, ct, x, attrs)]
    if how == "mean":
        axis = attrs.get("axis")
        n = b.emit("size", x) if axis is None else b.emit("dim", x, attrs={"axis": axis})
        return [b.emit("div", spread(b, ct, x, attrs), b.emit("cast", n, attrs={
            "to": str(x.type.dtype)}))]
    if how == "prod":
        return [b.emit("mul", spread(b, ct, x, attrs), _prod_of_others(b, x, out, attrs))]
    mask, count = _argext(b, x, out, attrs)
    share = spread(b, b.emit("div", ct, count), x, attrs)
    return [b.emit("where", mask, share, fconst(b, 0.0, x))]


register(Primitive("reduce", reduce_type, _reduce_impl, emit_reduce, jvp=reduce_jvp,
                   vjp=reduce_vjp,
                   doc="np.sum/mean/max/min/prod(x, axis=None|int, keepdims) (attr `how`)"))


def spread_type(types, attrs):
    g, x = types
    dtype = g.dtype if isinstance(g, ArrayType) else g
    return (ArrayType(dtype, x.ndim),)


def _spread_impl(g, x, axis=None):
    from adgen.codegen.support import spread_axis

    return spread_axis(g, x, axis)


def emit_spread(args, attrs):
    return call("_adgen.spread_axis", [args[0], args[1], literal(_normalized_axis(attrs, 1))])


def spread_jvp(b, op, tangents):
    t = tangents[0]
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    return [b.emit("spread", t, op.operands[1], attrs=dict(op.attrs))]


def spread_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    g, x = op.operands
    out = [Zero(g.type), Zero(x.type)]
    if active[0] and not isinstance(ct, Zero):
        axis = op.attr("axis")
        keep = isinstance(g.type, ArrayType) and g.type.ndim == x.type.ndim
        out[0] = b.emit("reduce", ct, attrs={"how": "sum", "axis": axis,
                                             "keepdims": keep and axis is not None})
    return out


register(Primitive("spread", spread_type, _spread_impl, emit_spread, jvp=spread_jvp,
                   vjp=spread_vjp, doc="a reduced value repeated over the reduced axis"))
