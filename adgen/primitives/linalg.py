"""Linear algebra and shape manipulation: dot/matmul/@ on 1-D and 2-D arrays,
outer, transpose, reshape, concatenate and stack."""

from __future__ import annotations

import ast

import numpy as np

from adgen.ir.types import I64, ArrayType, promote
from adgen.primitives.derive import shaped_like_first
from adgen.primitives.emit import call, literal
from adgen.primitives.registry import Primitive, Zero, register


def _nd(t) -> int:
    return t.ndim if isinstance(t, ArrayType) else 0


def _dtype(t):
    return t.dtype if isinstance(t, ArrayType) else t


def dot_type(types, attrs):
    a, b = types
    if _nd(a) not in (1, 2) or _nd(b) not in (1, 2):
        raise TypeError("dot/@ take 1-D or 2-D arrays")
    ndim = {(1, 1): 0, (2, 1): 1, (1, 2): 1, (2, 2): 2}[(_nd(a), _nd(b))]
    dtype = promote(_dtype(a), _dtype(b))
    return (ArrayType(dtype, ndim) if ndim else dtype,)


def bilinear_jvp(b, op, tangents):
    """For ops linear in each operand (dot, outer): op(ta, y) + op(x, tb)."""
    ta, tb = tangents
    x, y = op.operands
    out = Zero(op.result.type)
    if not isinstance(ta, Zero):
        out = b.emit(op.opcode, ta, y)
    if not isinstance(tb, Zero):
        term = b.emit(op.opcode, x, tb)
        out = term if isinstance(out, Zero) else b.emit("add", out, term)
    return [out]


def dot_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    x, y = op.operands
    if isinstance(ct, Zero):
        return [Zero(x.type), Zero(y.type)]
    shapes = (_nd(x.type), _nd(y.type))
    xb = yb = None
    if shapes == (1, 1):
        xb = b.emit("mul", ct, y) if active[0] else None
        yb = b.emit("mul", ct, x) if active[1] else None
    elif shapes == (2, 1):
        xb = b.emit("outer", ct, y) if active[0] else None
        yb = b.emit("dot", b.emit("transpose", x), ct) if active[1] else None
    elif shapes == (1, 2):
        xb = b.emit("dot", y, ct) if active[0] else None
        yb = b.emit("outer", x, ct) if active[1] else None
    else:
        xb = b.emit("dot", ct, b.emit("transpose", y)) if active[0] else None
        yb = b.emit("dot", b.emit("transpose", x), ct) if active[1] else None
    return [xb if xb is not None else Zero(x.type), yb if yb is not None else Zero(y.type)]


def _dot_impl(a, b):
    return np.dot(a, b)


def emit_dot(args, attrs):
    return call("np.dot", args)


register(Primitive("dot", dot_type, _dot_impl, emit_dot, jvp=bilinear_jvp, vjp=dot_vjp,
                   python_names=("numpy.dot", "numpy.matmul"), doc="np.dot, np.matmul, @"))


def outer_type(types, attrs):
    a, b = types
    if _nd(a) != 1 or _nd(b) != 1:
        raise TypeError("outer takes two 1-D arrays")
    return (ArrayType(promote(_dtype(a), _dtype(b)), 2),)


def outer_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    x, y = op.operands
    if isinstance(ct, Zero):
        return [Zero(x.type), Zero(y.type)]
    return [b.emit("dot", ct, y) if active[0] else Zero(x.type),
            b.emit("dot", x, ct) if active[1] else Zero(y.type)]


def _outer_impl(a, b):
    return np.outer(a, b)


def emit_outer(args, attrs):
    return call("np.outer", args)


register(Primitive("outer", outer_type, _outer_impl, emit_outer, jvp=bilinear_jvp,
                   vjp=outer_vjp, python_names=("numpy.outer",), doc="np.outer(a, b)"))


# shape manipulation ---------------------------------------------------------------------------
def _same_type(types, attrs):
    return (types[0],)


def _transpose_impl(a):
    return np.transpose(a)


def emit_transpose(args, attrs):
    return call("np.transpose", args)


def linear_jvp(b, op, tangents):
    """For ops linear in their first operand: apply the op to the tangent."""
    t = tangents[0]
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    return [b.emit(op.opcode, t, *op.operands[1:], attrs=dict(op.attrs))]


def transpose_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    if isinstance(ct, Zero) or not active[0]:
        return [Zero(op.operands[0].type)]
    return [b.emit("transpose", ct)]


register(Primitive("transpose", _same_type, _transpose_impl, emit_transpose, jvp=linear_jvp,
                   vjp=transpose_vjp, python_names=("numpy.transpose",), doc="a.T"))


def reshape_type(types, attrs):
    a, *dims = types
    if not isinstance(a, ArrayType):
        raise TypeError("only arrays can be reshaped")
    for d in dims:
        if d != I64:
            raise TypeError("reshape dimensions must be integers")
    return (ArrayType(a.dtype, len(dims)),)


def _reshape_impl(a, *dims):
    return np.reshape(a, tuple(int(d) for d in dims)).copy()


def emit_reshape(args, attrs):
    shape = ast.Tuple(elts=list(args[1:]), ctx=ast.Load())
    return call("_adgen.reshape", [args[0], shape])


register(Primitive("reshape", reshape_type, _reshape_impl, emit_reshape, jvp=linear_jvp,
                   vjp=shaped_like_first("reshape_like"), doc="a.reshape(d0, d1, ...) / np.reshape(a, (d0, ...))"))


def expand_dims_type(types, attrs):
    (a,) = types
    if not isinstance(a, ArrayType):
        raise TypeError("only arrays take a new axis (None in an index)")
    if not -a.ndim - 1 <= attrs["axis"] <= a.ndim:
        raise TypeError(f"axis {attrs['axis']} is out of range for {a.ndim} dimensions")
    return (ArrayType(a.dtype, a.ndim + 1),)


def _expand_dims_impl(a, axis):
    return np.expand_dims(a, axis).copy()


def emit_expand_dims(args, attrs):
    return call("np.expand_dims", [args[0], literal(attrs["axis"])])


register(Primitive("expand_dims", expand_dims_type, _expand_dims_impl, emit_expand_dims,
                   jvp=linear_jvp, vjp=shaped_like_first("reshape_like"),
                   doc="a[:, None] / np.expand_dims(a, axis): a new axis of length 1"))


def reshape_like_type(types, attrs):
    return (ArrayType(types[0].dtype, types[1].ndim),)


def _reshape_like_impl(g, like):
    return np.reshape(g, np.shape(like)).copy()


def emit_reshape_like(args, attrs):
    return call("_adgen.reshape_like", args)


register(Primitive("reshape_like", reshape_like_type, _reshape_like_impl, emit_reshape_like,
                   jvp=linear_jvp, vjp=shaped_like_first("reshape_like"), doc="g reshaped like `like`"))


def _join_type(types, attrs, stacked):
    first = types[0]
    if not isinstance(first, ArrayType) or any(
            not isinstance(t, ArrayType) or t.ndim != first.ndim for t in types):
        raise TypeError("concatenate/stack take arrays of the same rank")
    dtype = first.dtype
    for t in types[1:]:
        dtype = promote(dtype, t.dtype)
    ndim = first.ndim + (1 if stacked else 0)
    if not -ndim <= attrs.get("axis", 0) < ndim:
        raise TypeError(f"axis {attrs.get('axis')} is out of range")
    return (ArrayType(dtype, ndim),)


def concatenate_type(types, attrs):
    return _join_type(types, attrs, False)


def stack_type(types, attrs):
    return _join_type(types, attrs, True)


def _concatenate_impl(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


def _stack_impl(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


def _join_emitter(name):
    def emit_join(args, attrs):
        return call(f"np.{name}", [ast.Tuple(elts=list(args), ctx=ast.Load())],
                    {"axis": literal(attrs.get("axis", 0))})

    emit_join.__name__ = f"emit_{name}"
    return emit_join


def join_jvp(b, op, tangents):
    if all(isinstance(t, Zero) for t in tangents):
        return [Zero(op.result.type)]
    from adgen.primitives.arrays import materialize

    parts = [materialize(b, t, v) for t, v in zip(tangents, op.operands)]
    return [b.emit(op.opcode, *parts, attrs=dict(op.attrs))]


def _axis_index(ndim, axis, part):
    """An index spec selecting `part` along `axis` ("i" or a slice spec)."""
    axis %= ndim
    return tuple(["s000"] * axis + [part])


def concatenate_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if isinstance(ct, Zero):
        return out
    axis = op.attr("axis", 0)
    ndim = op.result.type.ndim
    start = b.const(0, I64)
    for k, v in enumerate(op.operands):
        stop = b.emit("add", start, b.emit("dim", v, attrs={"axis": axis % ndim}))
        if active[k]:
            out[k] = b.emit("getitem", ct, start, stop,
                            attrs={"index": _axis_index(ndim, axis, "s110")})
        start = stop
    return out


def stack_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if isinstance(ct, Zero):
        return out
    axis = op.attr("axis", 0)
    ndim = op.result.type.ndim
    for k, v in enumerate(op.operands):
        if active[k]:
            out[k] = b.emit("getitem", ct, b.const(k, I64),
                            attrs={"index": _axis_index(ndim, axis, "i")})
    return out


register(Primitive("concatenate", concatenate_type, _concatenate_impl,
                   _join_emitter("concatenate"), jvp=join_jvp, vjp=concatenate_vjp,
                   doc="np.concatenate((a, b, ...), axis=k)"))
register(Primitive("stack", stack_type, _stack_impl, _join_emitter("stack"), jvp=join_jvp,
                   vjp=stack_vjp, doc="np.stack((a, b, ...), axis=k)"))

