"""Array primitives that the transforms need for tapes: allocation, element
read and write, and the growable stack of `while` loops.

Arrays have value semantics in the IR: `setitem` and `push` yield a new array
value; codegen writes in place when the old value is dead afterwards.
"""

from __future__ import annotations

import ast

import numpy as np

from adgen.errors import AdgenDerivativeError
from adgen.ir.types import I64, SCALARS, ArrayType
from adgen.primitives.emit import call, dotted
from adgen.primitives.registry import Primitive, Zero, register


def _array_of(types, attrs):
    return (ArrayType(SCALARS[attrs["dtype"]], 1),)


def _np_dtype(attrs):
    return {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64",
            "bool": "np.bool_"}[attrs["dtype"]]


def emit_empty(args, attrs):
    return call("np.empty", args, {"dtype": dotted(_np_dtype(attrs))})


def emit_zeros(args, attrs):
    return call("np.zeros", args, {"dtype": dotted(_np_dtype(attrs))})


def _empty_impl(n, dtype):
    from adgen.ir.types import NUMPY_DTYPES

    return np.empty(int(n), dtype=NUMPY_DTYPES[dtype])


def _zeros_impl(n, dtype):
    from adgen.ir.types import NUMPY_DTYPES

    return np.zeros(int(n), dtype=NUMPY_DTYPES[dtype])


def fresh_array_jvp(b, op, tangents):
    return [Zero(op.result.type)]


def _materialize(b, t, like):
    if isinstance(t, Zero):
        return b.emit("zeros", b.emit("len", like), attrs={"dtype": str(like.type.dtype)})
    return t


def no_vjp(b, op, cotangents, active):
    if any(active) and any(not isinstance(c, Zero) for c in cotangents):
        raise AdgenDerivativeError(f"reverse mode through {op.opcode} is not supported yet")
    return [Zero(v.type) for v in op.operands]


register(Primitive("empty", _array_of, _empty_impl, emit_empty, jvp=fresh_array_jvp,
                   vjp=no_vjp, doc="np.empty(n): an uninitialized 1-D array"))
register(Primitive("zeros", _array_of, _zeros_impl, emit_zeros, jvp=fresh_array_jvp,
                   vjp=no_vjp, doc="np.zeros(n)"))


def _len_type(types, attrs):
    return (I64,)


def emit_len(args, attrs):
    return call("len", args)


register(Primitive("len", _len_type, len, emit_len, nondiff=True, python_names=("builtins.len",),
                   doc="len(a)"))


def _getitem_type(types, attrs):
    return (types[0].dtype,)


def _getitem_impl(a, k):
    return a[k]


def emit_getitem(args, attrs):
    return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())


def getitem_jvp(b, op, tangents):
    ta, _ = tangents
    if isinstance(ta, Zero):
        return [Zero(op.result.type)]
    return [b.emit("getitem", ta, op.operands[1])]


register(Primitive("getitem", _getitem_type, _getitem_impl, emit_getitem, jvp=getitem_jvp,
                   vjp=no_vjp, doc="a[k] of a 1-D array"))


def _store_type(types, attrs):
    return (types[0],)


def _setitem_impl(a, k, v):
    out = a.copy()
    out[k] = v
    return out


def emit_setitem(args, attrs):
    # Emitted as the statement `a[k] = v` by codegen (inplace_operand=0).
    return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Store())


def _store_jvp(b, op, tangents):
    ta, _, tv = tangents
    if isinstance(ta, Zero) and isinstance(tv, Zero):
        return [Zero(op.result.type)]
    a, k, v = op.operands
    ta = _materialize(b, ta, a)
    if isinstance(tv, Zero):
        from adgen.primitives.derive import fconst

        tv = fconst(b, 0.0, v)
    return [b.emit(op.opcode, ta, k, tv)]


register(Primitive("setitem", _store_type, _setitem_impl, emit_setitem, jvp=_store_jvp,
                   vjp=no_vjp, inplace_operand=0, doc="a with a[k] = v (value semantics)"))


def _push_impl(a, k, v):
    from adgen.codegen.support import push

    return push(a.copy(), k, v)


def emit_push(args, attrs):
    return call("_adgen.push", args)


register(Primitive("push", _store_type, _push_impl, emit_push, jvp=_store_jvp, vjp=no_vjp,
                   inplace_operand=0,
                   doc="a with a[k] = v, doubling the capacity when k == len(a)"))


def _trip_type(types, attrs):
    return (I64,)


def _trip_impl(start, stop, step):
    return len(range(int(start), int(stop), int(step)))


def emit_trip(args, attrs):
    return call("_adgen.trip_count", args)


register(Primitive("trip_count", _trip_type, _trip_impl, emit_trip, nondiff=True,
                   doc="len(range(start, stop, step))"))

