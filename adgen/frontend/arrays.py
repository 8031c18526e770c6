"""Lowering of the array parts of the subset: subscripts, `.shape` / `.T` /
methods of arrays, and NumPy functions that take keywords, shapes or tuples
(np.sum(x, axis=0), np.zeros((n, m)), np.concatenate((a, b), axis=1), ...).
"""

from __future__ import annotations

import ast

import numpy as np

from adgen.ir.values import Value

REDUCTIONS = {np.sum: "sum", np.mean: "mean", np.max: "max", np.min: "min", np.prod: "prod",
              np.amax: "max", np.amin: "min"}
METHOD_REDUCTIONS = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "prod": "prod"}
DTYPES = {float: "f64", np.float64: "f64", np.float32: "f32", int: "i64", np.int64: "i64",
          bool: "bool", np.bool_: "bool"}
UNSUPPORTED_MODULES = ("numpy.linalg", "numpy.fft", "numpy.random")


class Shape:
    """`a.shape` before it is indexed or unpacked (its length is known only with types)."""

    def __init__(self, array: Value):
        self.array = array


def constant(lowerer, node, what: str):
    """The value of a constant expression (axis=..., keepdims=...)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise lowerer.error(node, f"{what} must be a constant",
                            f"write the {what} as a literal, e.g. axis=0") from None


def index(lowerer, node):
    """(spec, operand values) of a subscript's index expression."""
    parts = node.elts if isinstance(node, ast.Tuple) else [node]
    spec, operands = [], []
    for part in parts:
        if isinstance(part, ast.Slice):
            flags = ""
            for bound in (part.lower, part.upper, part.step):
                if bound is None:
                    flags += "0"
                else:
                    flags += "1"
                    operands.append(lowerer.scalar(bound, lowerer.expr(bound)))
            spec.append("s" + flags)
        else:
            value = lowerer.expr(part)
            if isinstance(value, tuple) or not isinstance(value, Value):
                raise lowerer.error(part, "unsupported index",
                                    "index with integers and slices, e.g. a[i, 1:3]")
            spec.append("i")
            operands.append(value)
    return tuple(spec), operands


def subscript(lowerer, node, hint):
    """`a[index]`, `a.shape[k]`, `t[k]` of a tuple."""
    base = lowerer.expr(node.value)
    if isinstance(base, Shape):
        axis = constant(lowerer, node.slice, "shape index")
        return lowerer.emit(node, "dim", base.array, name=hint, attrs={"axis": int(axis)})
    if isinstance(base, tuple):
        k = constant(lowerer, node.slice, "tuple index")
        return base[k]
    array = lowerer.scalar(node.value, base)
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if any(_is_new_axis(p) for p in parts):
        return _with_new_axes(lowerer, node, array, parts, hint)
    spec, operands = index(lowerer, node.slice)
    return lowerer.emit(node, "getitem", array, *operands, name=hint, attrs={"index": spec})


def _is_new_axis(part) -> bool:
    """`None` or `np.newaxis` in an index."""
    if isinstance(part, ast.Constant):
        return part.value is None
    return (isinstance(part, ast.Attribute) and part.attr == "newaxis"
            and isinstance(part.value, ast.Name) and part.value.id in ("np", "numpy"))


def _with_new_axes(lowerer, node, array, parts, hint):
    """`a[:, None, i]`: the index without its new axes, then one `expand_dims` per new
    axis, at its position among the result's axes (integer indices drop theirs)."""
    rest = [p for p in parts if not _is_new_axis(p)]
    value = array
    full = all(isinstance(p, ast.Slice) and p.lower is p.upper is p.step is None for p in rest)
    if rest and not full:
        spec, operands = index(lowerer, ast.Tuple(elts=rest, ctx=ast.Load()))
        value = lowerer.emit(node, "getitem", array, *operands, attrs={"index": spec})
    axis = 0
    for part in parts:
        if _is_new_axis(part):
            value = lowerer.emit(node, "expand_dims", value, attrs={"axis": axis}, name=hint)
            axis += 1
        elif isinstance(part, ast.Slice):
            axis += 1
    return value


def store(lowerer, target, value, node, add: bool = False) -> None:
    """`a[index] = value` (or `a[index] += value` with `add`)."""
    if not isinstance(target.value, ast.Name):
        raise lowerer.error(target, "only a named array can be assigned into",
                            "assign into a variable: `a[i, j] = v`, not `a[i][j] = v`")
    name = target.value.id
    array = lowerer.scalar(target.value, lowerer.name(target.value))
    spec, operands = index(lowerer, target.slice)
    opcode = "index_add" if add else "setitem"
    lowerer.env[name] = lowerer.emit(node, opcode, array, *operands, value, name=name,
                                     attrs={"index": spec})


def value_attribute(lowerer, node, value):
    if node.attr == "T":
        return lowerer.emit(node, "transpose", value)
    if node.attr == "shape":
        return Shape(value)
    if node.attr == "size":
        return lowerer.emit(node, "size", value)
    raise lowerer.error(node, f"attribute .{node.attr} of a value is not supported",
                        "use .T, .shape, .size or a NumPy function")


def shape_operands(lowerer, node, value):
    """Dimensions of a shape argument: an int, a tuple of ints, or `a.shape`."""
    if isinstance(value, Shape):
        return value
    if isinstance(value, tuple):
        return [lowerer.scalar(node, v) for v in value]
    return [lowerer.scalar(node, value)]


def dtype_of(lowerer, node, kwargs, default="f64"):
    if "dtype" not in kwargs:
        return default
    dtype = kwargs.pop("dtype")
    obj = getattr(dtype, "obj", dtype)
    if obj in DTYPES:
        return DTYPES[obj]
    raise lowerer.error(node, "unsupported dtype", "use np.float64, np.float32, np.int64 or bool")


def method_call(lowerer, node, owner, method, args, kwargs, hint):
    """`x.sum(axis=0)`, `x.reshape(n, m)`, `x.dot(y)`, `x.copy()`, `x.transpose()`."""
    if method in METHOD_REDUCTIONS:
        return reduction(lowerer, node, METHOD_REDUCTIONS[method], owner, args, kwargs, hint)
    if method == "reshape":
        dims = args[0] if len(args) == 1 and isinstance(args[0], tuple) else tuple(args)
        return reshape(lowerer, node, owner, dims, hint)
    if method == "dot" and len(args) == 1:
        return lowerer.emit(node, "dot", owner, args[0], name=hint)
    if method == "copy" and not args:
        return lowerer.emit(node, "copy", owner, name=hint)
    if method == "transpose" and not args:
        return lowerer.emit(node, "transpose", owner, name=hint)
    raise lowerer.error(node, f"method .{method}() is not supported",
                        "use .sum/.mean/.max/.min/.prod, .reshape, .dot, .copy, .transpose")


def reduction(lowerer, node, how, x, args, kwargs, hint):
    kw_nodes = {k.arg: k.value for k in node.keywords}
    axis = constant(lowerer, kw_nodes["axis"], "axis") if "axis" in kw_nodes else None
    keepdims = bool(constant(lowerer, kw_nodes["keepdims"], "keepdims")) \
        if "keepdims" in kw_nodes else False
    positional = node.args[1:] if not isinstance(node.func, ast.Attribute) or \
        _is_module_call(node) else node.args
    if positional:
        axis = constant(lowerer, positional[0], "axis")
    if axis is not None and not isinstance(axis, int):
        raise lowerer.error(node, "axis must be an int or None", "reduce one axis at a time")
    return lowerer.emit(node, "reduce", lowerer.scalar(node, x), name=hint,
                        attrs={"how": how, "axis": axis, "keepdims": keepdims})


def _is_module_call(node) -> bool:
    return isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
        and node.func.value.id in ("np", "numpy")


def reshape(lowerer, node, x, dims, hint):
    if isinstance(dims, Shape):
        return lowerer.emit(node, "reshape_like", x, dims.array, name=hint)
    dims = dims if isinstance(dims, tuple) else (dims,)
    dims = [lowerer.scalar(node, d) for d in dims]
    return lowerer.emit(node, "reshape", lowerer.scalar(node, x), *dims, name=hint)


def numpy_call(lowerer, node, obj, args, kwargs, hint):
    """NumPy functions that are not a plain element-wise primitive; None if `obj` is
    not one of them."""
    module = getattr(obj, "__module__", "") or ""
    if any(module.startswith(m) for m in UNSUPPORTED_MODULES):
        raise lowerer.error(node, f"{module}.{getattr(obj, '__name__', '?')} is not supported "
                            "yet", "write it with supported operations, or register a "
                            "primitive for it")
    if obj in REDUCTIONS:
        return reduction(lowerer, node, REDUCTIONS[obj], args[0], args, kwargs, hint)
    if obj in (np.zeros, np.ones, np.empty):
        dtype = dtype_of(lowerer, node, kwargs)
        dims = shape_operands(lowerer, node, args[0])
        if isinstance(dims, Shape):
            opcode = "ones_like" if obj is np.ones else "zeros_like"
            return lowerer.emit(node, opcode, dims.array, name=hint, attrs={"dtype": dtype})
        opcode = {np.zeros: "zeros", np.ones: "ones", np.empty: "empty"}[obj]
        return lowerer.emit(node, opcode, *dims, name=hint, attrs={"dtype": dtype})
    if obj is np.full:
        dtype = dtype_of(lowerer, node, kwargs)
        dims = shape_operands(lowerer, node, args[0])
        fill = lowerer.scalar(node, args[1])
        if isinstance(dims, Shape):
            zeros = lowerer.emit(node, "zeros_like", dims.array, attrs={"dtype": dtype})
            return lowerer.emit(node, "full_like", zeros, fill, name=hint)
        return lowerer.emit(node, "full", *dims, fill, name=hint,
                            attrs={"dtype": dtype, "filled": True})
    if obj in (np.zeros_like, np.ones_like, np.empty_like):
        opcode = "ones_like" if obj is np.ones_like else "zeros_like"
        attrs = {"dtype": dtype_of(lowerer, node, kwargs, None)}
        return lowerer.emit(node, opcode, args[0], name=hint, attrs=attrs)
    if obj is np.full_like:
        return lowerer.emit(node, "full_like", args[0], args[1], name=hint)
    if obj is np.arange:
        bounds = [lowerer.scalar(node, a) for a in args]
        if len(bounds) == 1:
            bounds = [lowerer.const(node, 0)] + bounds
        if len(bounds) == 2:
            bounds.append(lowerer.const(node, 1))
        return lowerer.emit(node, "arange", *bounds, name=hint)
    if obj is np.reshape:
        return reshape(lowerer, node, args[0], args[1], hint)
    if obj is np.expand_dims:
        kw_nodes = {k.arg: k.value for k in node.keywords}
        axis_node = kw_nodes["axis"] if "axis" in kw_nodes else node.args[1]
        axis = constant(lowerer, axis_node, "axis")
        return lowerer.emit(node, "expand_dims", lowerer.scalar(node, args[0]), name=hint,
                            attrs={"axis": int(axis)})
    if obj in (np.concatenate, np.stack):
        arrays = args[0]
        if not isinstance(arrays, tuple):
            raise lowerer.error(node, "pass the arrays as a tuple",
                                "np.concatenate((a, b), axis=0)")
        kw_nodes = {k.arg: k.value for k in node.keywords}
        axis = constant(lowerer, kw_nodes["axis"], "axis") if "axis" in kw_nodes else 0
        opcode = "concatenate" if obj is np.concatenate else "stack"
        return lowerer.emit(node, opcode, *arrays, name=hint, attrs={"axis": int(axis)})
    return None
