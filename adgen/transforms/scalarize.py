"""Slice assignments inside loops, written as loops over their elements (for reverse mode).

`u[1:-1] = v`, `u[:] = 0.0`, `A[i, :] = row`, `A[:, j] += col` inside a loop (and outside
one, into an array that a loop writes in place) become
a loop (a nest, one level per sliced axis) that writes one element at a time, after
the value has been computed whole, as NumPy computes it. Reverse mode then treats them
like every element write: the element each one overwrites goes on the tape (or the undo
log) only when the reverse sweep reads it, and the reverse of the assignment is a loop
too. Slices are normalized as Python does (negative bounds count from the end, bounds
are clipped to the axis); a step must be a positive constant (other slices are left
alone). A value of lower rank is broadcast over the leading sliced axes, an axis of
length one over its axis.

Example:
    >>> # for t in range(n): u[1:-1] = w        becomes
    >>> # for t in range(n):
    >>> #     for j in range(trip_count(1, m - 1, 1)): u[1 + j] = w[j]
"""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.types import I64, ArrayType
from adgen.ir.values import Value
from adgen.primitives.arrays import index_spec
from adgen.transforms.specialize import all_names
from adgen.transforms.undo import WRITES, Lineages


def scalarize_slice_writes(fn: Function) -> Function:
    """`fn` with every slice assignment inside a loop written element by element.

    Example:
        >>> # scalarize_slice_writes(typed_fn)
    """
    defs = {r.name: op for op in walk_ops(fn.body) for r in op.results}
    tracked = Lineages(fn, check=False)
    rewriter = _Rewriter(Builder(NameTable(all_names(fn))), defs, tracked)
    body = rewriter.region(fn.body, 0)
    return replace(fn, body=body) if rewriter.changed else fn


class _Rewriter:
    def __init__(self, b: Builder, defs: dict, lineages: Lineages):
        self.b, self.defs, self.lineages = b, defs, lineages
        self.changed = False

    def region(self, region: Region, depth: int) -> Region:
        b = self.b
        b.open_block()
        for op in region.ops:
            # inside loops; outside them too into an array some loop writes in place
            if op.opcode in WRITES and self.sliced(op) and (
                    depth > 0 or self.lineages.of(op.operands[0]) is not None):
                self.write(op)
                continue
            if op.regions:
                inner = depth + (1 if op.opcode in ("for", "while") else 0)
                op = replace(op, regions=tuple(self.region(r, inner) for r in op.regions))
            b.append(op)
        return b.close_block(region.args, region.yields)

    def sliced(self, op: Op) -> bool:
        """A write into a slice whose steps are positive constants."""
        target = op.operands[0].type
        spec = index_spec(dict(op.attrs))
        if not isinstance(target, ArrayType):
            return False
        if all(part == "i" for part in spec) and len(spec) == target.ndim:
            return False
        operands = list(op.operands[1:-1])
        for part in spec:
            if part == "i":
                operands.pop(0)
                continue
            bounds = [operands.pop(0) if flag == "1" else None for flag in part[1:]]
            if bounds[2] is not None and not self.positive_constant(bounds[2]):
                return False
        return True

    def positive_constant(self, v: Value) -> bool:
        op = self.defs.get(v.name)
        return op is not None and op.opcode == "const" and op.attr("value") > 0

    def write(self, op: Op) -> None:
        """`a[slices] = v` as a loop nest over the sliced axes."""
        b = self.b
        b.loc = op.loc
        self.changed = True
        target, value = op.operands[0], op.operands[-1]
        operands = list(op.operands[1:-1])
        spec = list(index_spec(dict(op.attrs)))
        spec += ["s000"] * (target.type.ndim - len(spec))
        axes = []  # per axis: the index operand, or (start, count, step) of a slice
        for axis, part in enumerate(spec):
            if part == "i":
                axes.append(operands.pop(0))
                continue
            n = b.emit("dim", target, attrs={"axis": axis}, name="n")
            bounds = [operands.pop(0) if flag == "1" else None for flag in part[1:]]
            step = bounds[2] if bounds[2] is not None else b.const(1, I64)
            start = self.bound(bounds[0], n, b.const(0, I64))
            stop = self.bound(bounds[1], n, n)
            count = b.emit("trip_count", start, stop, step, name="count")
            axes.append((start, count, step))
        full = []  # per axis of the value: 0 where it broadcasts (length one), else 1
        if isinstance(value.type, ArrayType):
            for d in range(value.type.ndim):
                size = b.emit("dim", value, attrs={"axis": d}, name="n")
                full.append(b.emit("cast", b.emit("ne", size, b.const(1, I64)),
                                   attrs={"to": "i64"}, name="full"))
        self.nest(op, axes, full, target, [], op.result)

    def bound(self, v: Value | None, n: Value, default: Value) -> Value:
        """A slice bound as Python normalizes it: from the end if negative, clipped."""
        b = self.b
        if v is None:
            return default
        negative = b.emit("cast", b.emit("lt", v, b.const(0, I64)), attrs={"to": "i64"})
        shifted = b.emit("add", v, b.emit("mul", n, negative))
        return b.emit("maximum", b.const(0, I64), b.emit("minimum", shifted, n), name="bound")

    def nest(self, op: Op, axes: list, full: list, array: Value, counters: list,
             result: Value | None) -> Value:
        """The loops over the sliced axes from the first one not yet looped over."""
        b = self.b
        level = len(counters)
        slices = [a for a in axes if isinstance(a, tuple)]
        if level == len(slices):
            return self.element(op, axes, full, array, counters, result)
        _, count, _ = slices[level]
        b.open_block()
        j = b.value("j", I64)
        carried = b.value(array.name, array.type)
        out = self.nest(op, axes, full, carried, counters + [j], None)
        region = b.close_block([j, carried], [out])
        result = result or b.value(array.name, array.type)
        b.loc = op.loc
        b.append(Op("for", (b.const(0, I64), count, b.const(1, I64), array), (result,), (),
                    (region,), op.loc))
        return result

    def element(self, op: Op, axes: list, full: list, array: Value, counters: list,
                result: Value | None) -> Value:
        b = self.b
        index, js = [], list(counters)
        for axis in axes:
            if isinstance(axis, tuple):
                start, _, step = axis
                index.append(b.emit("add", start, b.emit("mul", js.pop(0), step), name="at"))
            else:
                index.append(axis)
        value = op.operands[-1]
        if full:  # NumPy aligns the value's axes with the last sliced ones
            own = counters[len(counters) - len(full):]
            at = [b.emit("mul", j, f) for j, f in zip(own, full)]
            value = b.emit("getitem", value, *at, attrs={"index": ("i",) * len(at)},
                           name="element")
        if result is None:
            return b.emit(op.opcode, array, *index, value, attrs={"index": ("i",) * len(index)},
                          name=array.name)
        b.append(Op(op.opcode, (array, *index, value), (result,),
                    (("index", ("i",) * len(index)),), (), op.loc))
        return result
