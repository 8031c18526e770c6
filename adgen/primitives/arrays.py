"""Array primitives: constructors, shape queries, indexing (read, write,
accumulate), copies, the growable stack of `while` loops, and the broadcasting
helpers that derivative rules use.

Arrays have value semantics in the IR: `setitem`, `index_add` and `push`
yield a new array value; codegen writes in place when the old value is dead
afterwards. Index expressions are described by the attribute `index`, one
entry per component: "i" (an integer operand) or "s" followed by three flags
telling which of start, stop, step are operands ("s000" is `:`).
"""

from __future__ import annotations

import ast

import numpy as np

from adgen.errors import AdgenDerivativeError
from adgen.ir.types import BOOL, F64, I64, NUMPY_DTYPES, SCALARS, ArrayType
from adgen.primitives.derive import fconst, shaped_like_first, unbroadcast
from adgen.primitives.emit import call, call_emitter, dotted
from adgen.primitives.registry import Primitive, Scatter, Zero, register

_DTYPE_PATH = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}


def _shape_tuple(args):
    return ast.Tuple(elts=list(args), ctx=ast.Load())


def zero_jvp(b, op, tangents):
    return [Zero(r.type) for r in op.results]


def no_vjp(b, op, cotangents, active):
    if any(active) and any(not isinstance(c, Zero) for c in cotangents):
        raise AdgenDerivativeError(f"no adjoint rule for {op.opcode}")
    return [Zero(v.type) for v in op.operands]


def materialize(b, t, like):
    """A zero array like `like` where `t` is a symbolic Zero."""
    if isinstance(t, Zero):
        if isinstance(like.type, ArrayType):
            return b.emit("zeros_like", like)
        return fconst(b, 0.0, like)
    return t


# constructors ----------------------------------------------------------------------------
def _filled_type(types, attrs):
    dims = len(types) - (1 if attrs.get("filled") else 0)
    return (ArrayType(SCALARS[attrs["dtype"]], dims),)


def _dims(args, attrs):
    return tuple(int(d) for d in (args[:-1] if attrs.get("filled") else args))


def _empty_impl(*args, dtype, filled=False, tape=False, one_iteration=False):
    return np.empty(_dims(args, {"filled": filled}), dtype=NUMPY_DTYPES[dtype])


def _zeros_impl(*args, dtype, filled=False):
    return np.zeros(_dims(args, {"filled": filled}), dtype=NUMPY_DTYPES[dtype])


def _ones_impl(*args, dtype, filled=False):
    return np.ones(_dims(args, {"filled": filled}), dtype=NUMPY_DTYPES[dtype])


def _full_impl(*args, dtype, filled=True):
    return np.full(_dims(args, {"filled": True}), args[-1], dtype=NUMPY_DTYPES[dtype])


def _ctor_emitter(fn_name):
    def emit_constructor(args, attrs):
        dims = args[:-1] if attrs.get("filled") else args
        shape = dims[0] if len(dims) == 1 else _shape_tuple(dims)
        extra = [args[-1]] if attrs.get("filled") else []
        return call(f"np.{fn_name}", [shape] + extra,
                    {"dtype": dotted(_DTYPE_PATH[attrs["dtype"]])})

    emit_constructor.__name__ = f"emit_{fn_name}"
    return emit_constructor


def full_jvp(b, op, tangents):
    t = tangents[-1]
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    return [b.emit("broadcast_like", t, op.result)]


def full_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if active[-1] and not isinstance(ct, Zero):
        out[-1] = b.emit("reduce", ct, attrs={"how": "sum", "axis": None, "keepdims": False})
    return out


register(Primitive("empty", _filled_type, _empty_impl, _ctor_emitter("empty"), jvp=zero_jvp,
                   vjp=no_vjp, pure=False, doc="np.empty(shape): uninitialized"))
register(Primitive("zeros", _filled_type, _zeros_impl, _ctor_emitter("zeros"), nondiff=True,
                   pure=False, python_names=("numpy.zeros",), doc="np.zeros(shape)"))
register(Primitive("ones", _filled_type, _ones_impl, _ctor_emitter("ones"), nondiff=True,
                   pure=False, python_names=("numpy.ones",), doc="np.ones(shape)"))
register(Primitive("full", _filled_type, _full_impl, _ctor_emitter("full"), jvp=full_jvp,
                   vjp=full_vjp, pure=False, python_names=("numpy.full",),
                   doc="np.full(shape, value): differentiable in value"))


def _like_type(types, attrs):
    t = types[0]
    dtype = SCALARS[attrs["dtype"]] if attrs.get("dtype") else t.dtype
    return (ArrayType(dtype, t.ndim),)


def _zeros_like_impl(a, dtype=None):
    return np.zeros_like(a, dtype=NUMPY_DTYPES[dtype] if dtype else None)


def _ones_like_impl(a, dtype=None):
    return np.ones_like(a, dtype=NUMPY_DTYPES[dtype] if dtype else None)


def _like_emitter(fn_name):
    def emit_like(args, attrs):
        kws = {"dtype": dotted(_DTYPE_PATH[attrs["dtype"]])} if attrs.get("dtype") else {}
        return call(f"np.{fn_name}", args, kws)

    emit_like.__name__ = f"emit_{fn_name}"
    return emit_like


register(Primitive("zeros_like", _like_type, _zeros_like_impl, _like_emitter("zeros_like"),
                   nondiff=True, pure=False, python_names=("numpy.zeros_like",)))
register(Primitive("ones_like", _like_type, _ones_like_impl, _like_emitter("ones_like"),
                   nondiff=True, pure=False, python_names=("numpy.ones_like",)))


def _full_like_type(types, attrs):
    return (ArrayType(types[0].dtype if not isinstance(types[1], ArrayType) else F64,
                      types[0].ndim),)


def _full_like_impl(a, v):
    return np.full_like(a, v)


def full_like_jvp(b, op, tangents):
    t = tangents[1]
    return [Zero(op.result.type) if isinstance(t, Zero) else b.emit("broadcast_like", t,
                                                                     op.result)]


def full_like_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if active[1] and not isinstance(ct, Zero):
        out[1] = b.emit("reduce", ct, attrs={"how": "sum", "axis": None, "keepdims": False})
    return out


register(Primitive("full_like", _full_like_type, _full_like_impl, _like_emitter("full_like"),
                   jvp=full_like_jvp, vjp=full_like_vjp, pure=False,
                   python_names=("numpy.full_like",)))


def _arange_type(types, attrs):
    from adgen.primitives.typerules import arith_type

    (t,) = arith_type(types, attrs)
    return (ArrayType(t, 1),)


def _arange_impl(start, stop, step):
    return np.arange(start, stop, step)


register(Primitive("arange", _arange_type, _arange_impl, _like_emitter("arange"), nondiff=True,
                   pure=False, doc="np.arange(start, stop, step)"))


# shape queries -------------------------------------------------------------------------------
def _int_type(types, attrs):
    return (I64,)


def _dim_impl(a, axis):
    return np.shape(a)[axis]


def emit_dim(args, attrs):
    shape = ast.Attribute(value=args[0], attr="shape", ctx=ast.Load())
    return ast.Subscript(value=shape, slice=ast.Constant(attrs["axis"]), ctx=ast.Load())


def _size_impl(a):
    return np.size(a)


def emit_size(args, attrs):
    return ast.Attribute(value=args[0], attr="size", ctx=ast.Load())


def emit_len(args, attrs):
    return call("len", args)


register(Primitive("len", _int_type, len, emit_len, nondiff=True, python_names=("builtins.len",),
                   doc="len(a)"))
register(Primitive("dim", _int_type, _dim_impl, emit_dim, nondiff=True, doc="a.shape[axis]"))
register(Primitive("size", _int_type, _size_impl, emit_size, nondiff=True, doc="a.size"))


# indexing ------------------------------------------------------------------------------------
def index_spec(attrs) -> tuple:
    return tuple(attrs.get("index", ("i",)))


def take_slice_bounds(part: str, operands: list) -> list:
    """[start, stop, step] of a slice part of an index spec (None where absent), taken
    off the front of `operands` (a list, consumed).

    Example:
        >>> take_slice_bounds("s110", [1, -1, 7])   # u[1:-1]: leaves [7]
        [1, -1, None]
    """
    return [operands.pop(0) if flag == "1" else None for flag in part[1:]]


def index_width(spec) -> int:
    """How many operands an index spec consumes."""
    return sum(1 if part == "i" else part[1:].count("1") for part in spec)


def index_ast(spec, args, unsigned=False):
    """The `ast` slice for an index spec applied to operand expressions `args`.

    `unsigned`: the integer indices are known not to be negative (attribute `unsigned`,
    set by simplify/gather.py); they are printed as `np.uint64(i)`, for which Numba
    skips its test for a negative index that wraps, a select per access that keeps
    LLVM from vectorizing a loop whose start it cannot bound."""
    args = list(args)
    parts = []
    for part in spec:
        if part == "i":
            index = args.pop(0)
            parts.append(call("np.uint64", [index]) if unsigned else index)
        else:
            bounds = take_slice_bounds(part, args)
            parts.append(ast.Slice(lower=bounds[0], upper=bounds[1], step=bounds[2]))
    return parts[0] if len(parts) == 1 else ast.Tuple(elts=parts, ctx=ast.Load())


def index_python(spec, values):
    values = list(values)
    parts = []
    for part in spec:
        if part == "i":
            parts.append(int(values.pop(0)))
        else:
            bounds = take_slice_bounds(part, values)
            parts.append(slice(*bounds))
    return parts[0] if len(parts) == 1 else tuple(parts)


def _getitem_type(types, attrs):
    spec = index_spec(attrs)
    a = types[0]
    if not isinstance(a, ArrayType):
        raise TypeError("only arrays can be indexed")
    if len(spec) > a.ndim:
        raise TypeError(f"too many indices ({len(spec)}) for an array of rank {a.ndim}")
    for t in types[1:]:
        if t not in (I64, BOOL):
            raise TypeError(f"indices must be integers, not {t}")
    ndim = a.ndim - spec.count("i")
    return (ArrayType(a.dtype, ndim) if ndim else a.dtype,)


def _getitem_impl(a, *idx, index=("i",), unsigned=False):
    out = a[index_python(index, idx)]
    return out.copy() if isinstance(out, np.ndarray) else out


def emit_getitem(args, attrs):
    return ast.Subscript(value=args[0], slice=index_ast(index_spec(attrs), args[1:],
                                                        attrs.get("unsigned", False)),
                         ctx=ast.Load())


def getitem_jvp(b, op, tangents):
    ta = tangents[0]
    if isinstance(ta, Zero):
        return [Zero(op.result.type)]
    return [b.emit("getitem", ta, *op.operands[1:], attrs=dict(op.attrs))]


def getitem_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if active[0] and not isinstance(ct, Zero):
        out[0] = Scatter(dict(op.attrs), op.operands[1:], ct)
    return out


register(Primitive("getitem", _getitem_type, _getitem_impl, emit_getitem, jvp=getitem_jvp,
                   vjp=getitem_vjp, doc="a[index]: integers and slices"))


def _store_type(types, attrs):
    spec = index_spec(attrs)
    a, v = types[0], types[-1]
    if not isinstance(a, ArrayType):
        raise TypeError("only arrays support subscripted assignment")
    _getitem_type(types[:-1], attrs)
    if isinstance(v, ArrayType) and v.ndim > a.ndim - spec.count("i"):
        raise TypeError(f"cannot assign a rank-{v.ndim} value into that slice")
    return (a,)


def _setitem_impl(a, *rest, index=("i",), unsigned=False):
    out = a.copy()
    out[index_python(index, rest[:-1])] = rest[-1]
    return out


def _index_add_impl(a, *rest, index=("i",), unsigned=False):
    out = a.copy()
    out[index_python(index, rest[:-1])] += rest[-1]
    return out


def _store_emitter(aug):
    def emit_store(args, attrs):
        target = ast.Subscript(value=args[0], slice=index_ast(index_spec(attrs), args[1:-1],
                                                              attrs.get("unsigned", False)),
                               ctx=ast.Store())
        if aug:
            return ast.AugAssign(target=target, op=ast.Add(), value=args[-1])
        return ast.Assign(targets=[target], value=args[-1], lineno=0)

    emit_store.__name__ = "emit_index_add" if aug else "emit_setitem"
    return emit_store


def _store_jvp(b, op, tangents):
    ta, tv = tangents[0], tangents[-1]
    if isinstance(ta, Zero) and isinstance(tv, Zero):
        return [Zero(op.result.type)]
    a, v = op.operands[0], op.operands[-1]
    ta = materialize(b, ta, a)
    tv = fconst(b, 0.0, v) if isinstance(tv, Zero) else tv
    return [b.emit(op.opcode, ta, *op.operands[1:-1], tv, attrs=dict(op.attrs))]


def setitem_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if isinstance(ct, Zero):
        return out
    a, idx, v = op.operands[0], op.operands[1:-1], op.operands[-1]
    if active[-1]:
        part = b.emit("getitem", ct, *idx, attrs=dict(op.attrs))
        out[-1] = unbroadcast(b, part, v)
    if active[0]:
        zero = fconst(b, 0.0, a)
        out[0] = b.emit("setitem", ct, *idx, zero, attrs=dict(op.attrs))
    return out


def index_add_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if isinstance(ct, Zero):
        return out
    if active[-1]:
        part = b.emit("getitem", ct, *op.operands[1:-1], attrs=dict(op.attrs))
        out[-1] = unbroadcast(b, part, op.operands[-1])
    if active[0]:
        out[0] = ct
    return out


register(Primitive("setitem", _store_type, _setitem_impl, _store_emitter(False), jvp=_store_jvp,
                   vjp=setitem_vjp, inplace_operand=0,
                   doc="a with a[index] = v (value semantics)"))
register(Primitive("index_add", _store_type, _index_add_impl, _store_emitter(True),
                   jvp=_store_jvp, vjp=index_add_vjp, inplace_operand=0,
                   doc="a with a[index] += v (value semantics)"))


def _push_type(types, attrs):
    return (types[0],)


def _push_impl(a, k, v):
    from adgen.codegen.support import push

    return push(a.copy(), k, v)


def emit_push(args, attrs):
    return call("_adgen.push", args)


register(Primitive("push", _push_type, _push_impl, emit_push, jvp=_store_jvp, vjp=no_vjp,
                   inplace_operand=0,
                   doc="a with a[k] = v, doubling the capacity when k == len(a)"))


def _trip_impl(start, stop, step):
    return len(range(int(start), int(stop), int(step)))


def emit_trip(args, attrs):
    return call("_adgen.trip_count", args)


register(Primitive("trip_count", _int_type, _trip_impl, emit_trip, nondiff=True,
                   doc="len(range(start, stop, step))"))


# the binomial checkpointing schedule's integer helpers (adgen/transforms/revolve.py)
def _split_impl(steps, snapshots):
    from adgen.codegen.support import revolve_split  # codegen is the layer above

    return revolve_split(int(steps), int(snapshots))


def _below_impl(positions, depth, step):
    from adgen.codegen.support import checkpoint_below

    return checkpoint_below(positions, int(depth), int(step))


register(Primitive("revolve_split", _int_type, _split_impl,
                   call_emitter("_adgen.revolve_split"), nondiff=True,
                   doc="steps to advance before the next binomial checkpoint"))
register(Primitive("checkpoint_below", _int_type, _below_impl,
                   call_emitter("_adgen.checkpoint_below"), nondiff=True,
                   doc="the deepest checkpoint at or before a step"))


# copies and broadcasting helpers ---------------------------------------------------------
def _same_type(types, attrs):
    return (types[0],)


def _copy_impl(a):
    return np.array(a, copy=True)


def emit_copy(args, attrs):
    return ast.Call(func=ast.Attribute(value=args[0], attr="copy", ctx=ast.Load()), args=[],
                    keywords=[])


def copy_jvp(b, op, tangents):
    (t,) = tangents
    return [Zero(op.result.type) if isinstance(t, Zero) else t]


def copy_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    return [ct if active[0] else Zero(op.operands[0].type)]


register(Primitive("copy", _same_type, _copy_impl, emit_copy, jvp=copy_jvp, vjp=copy_vjp,
                   pure=False, python_names=("numpy.copy",), doc="a.copy()"))


def _broadcast_like_type(types, attrs):
    v, like = types
    dtype = v.dtype if isinstance(v, ArrayType) else v
    return (ArrayType(dtype, like.ndim),)


def _broadcast_like_impl(v, like):
    return np.zeros_like(like, dtype=np.result_type(v)) + v


def broadcast_like_jvp(b, op, tangents):
    t = tangents[0]
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    return [b.emit("broadcast_like", t, op.operands[1])]


def broadcast_like_vjp(b, op, cotangents, active):
    (ct,) = cotangents
    out = [Zero(v.type) for v in op.operands]
    if active[0] and not isinstance(ct, Zero):
        out[0] = unbroadcast(b, ct, op.operands[0])
    return out


def emit_broadcast_like(args, attrs):
    return call("_adgen.broadcast_like", args)


register(Primitive("broadcast_like", _broadcast_like_type, _broadcast_like_impl,
                   emit_broadcast_like, jvp=broadcast_like_jvp, vjp=broadcast_like_vjp,
                   doc="v spread to the shape of `like`"))


def _sum_like_type(types, attrs):
    return (types[1] if isinstance(types[1], ArrayType) else types[0].dtype,)


def _sum_like_impl(g, like):
    from adgen.codegen.support import sum_like

    return sum_like(g, like)


def emit_sum_like(args, attrs):
    return call("_adgen.sum_like", args)


def sum_like_jvp(b, op, tangents):
    t = tangents[0]
    if isinstance(t, Zero):
        return [Zero(op.result.type)]
    return [b.emit("sum_like", t, op.operands[1])]


register(Primitive("sum_like", _sum_like_type, _sum_like_impl, emit_sum_like,
                   jvp=sum_like_jvp, vjp=shaped_like_first("broadcast_like"),
                   doc="g summed down to the shape of `like` (reversed broadcasting)",
                   extra={"shape_only": (1,)}))  # reads only the shape of `like`
