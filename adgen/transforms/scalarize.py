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

import re
from dataclasses import replace

from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, const_value, make_attrs, walk_ops
from adgen.ir.types import I64, ArrayType
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.primitives.arrays import index_spec, take_slice_bounds
from adgen.transforms.fission import thread_through
from adgen.transforms.simplify.dce import eliminate_dead_code
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
    if not rewriter.changed:
        return fn
    # the whole right-hand sides that fused writes computed again element by element
    return eliminate_dead_code(replace(fn, body=body))


class _Rewriter:
    def __init__(self, b: Builder, defs: dict, lineages: Lineages):
        self.b, self.defs, self.lineages = b, defs, lineages
        self.changed = False
        self.enclosing: list[Op] = []   # the ops around the one being rewritten
        self.scratch: list[tuple] = []  # (on entry, after, lineage) written in this block

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
                outer, self.scratch = self.scratch, []
                self.enclosing.append(op)
                op = replace(op, regions=tuple(self.region(r, inner) for r in op.regions))
                self.enclosing.pop()
                written, self.scratch = self.scratch, outer
                if written:  # only into `for` loops (`fusable`)
                    op = thread_through(op, [(x, after) for x, after, _ in written],
                                        b.names)
                    news = op.results[-len(written):]
                    if self.enclosing:
                        self.scratch += [(x, new, lineage) for (x, _, lineage), new
                                         in zip(written, news)]
                    else:
                        self.allocate(op, written)
            b.append(op)
        return b.close_block(region.args, region.yields)

    def allocate(self, loop: Op, written: list) -> None:
        """The scratch arrays the top-level `loop` threads, allocated before it, as long
        as the arrays they stand for (carried by the loop from its initial values)."""
        b = self.b
        for x, _, lineage in written:
            init = next(v for v in loop.operands[3:] if self.lineages.root(v.name) == lineage)
            n = b.emit("dim", init, attrs={"axis": 0}, name="n")
            b.append(Op("empty", (n,), (x,), make_attrs({"dtype": x.type.dtype.name}), (),
                        loop.loc))

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
            bounds = take_slice_bounds(part, operands)
            if bounds[2] is not None and not self.positive_constant(bounds[2]):
                return False
        return True

    def positive_constant(self, v: Value) -> bool:
        value = const_value(self.defs.get(v.name))
        return value is not None and value > 0

    def write(self, op: Op) -> None:
        """`a[slices] = v` as a loop nest over the sliced axes."""
        b = self.b
        b.loc = op.loc
        self.changed = True
        leaves = self.fusable(op)
        if leaves is not None:
            self.fused_write(op, leaves)
            return
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
            bounds = take_slice_bounds(part, operands)
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

    # one element loop for an element-wise right-hand side ---------------------------------
    def fusable(self, op: Op) -> dict | None:
        """`u[a:-b] = expr`, expr element-wise on scalars and slices `u[a':-b']` of the array
        written (a' + b' = a + b: the same length), inside `for` loops that carry `u` from
        before them: {leaf name: offset a'}, else None."""
        target, value = op.operands[0], op.operands[-1]
        spec = index_spec(dict(op.attrs))
        if (op.opcode != "setitem" or target.type.ndim != 1 or len(spec) != 1
                or not isinstance(value.type, ArrayType) or value.type.ndim != 1
                or value.type.dtype != target.type.dtype):
            return None
        span = self.offsets(spec[0], op.operands[1:-1])
        if span is None or not self.enclosing:
            return None
        if any(o.opcode != "for" or o.attr("parallel") for o in self.enclosing):
            return None
        lineage = self.lineages.root(target.name)
        if not any(self.lineages.root(v.name) == lineage
                   for v in self.enclosing[0].operands[3:]):
            return None
        leaves: dict = {}
        return leaves if self.leaves(value, target, sum(span), leaves) else None

    def leaves(self, value: Value, target: Value, width: int, found: dict) -> bool:
        if value.name == target.name:
            found[value.name] = 0
            return width == 0
        op = self.defs.get(value.name)
        if op is None or op.regions:
            return False
        if op.opcode == "getitem":
            spec = index_spec(dict(op.attrs))
            span = self.offsets(spec[0], op.operands[1:]) if len(spec) == 1 else None
            if op.operands[0].name != target.name or span is None or sum(span) != width:
                return False
            found[value.name] = span[0]
            return True
        if not registry.get(op.opcode).extra.get("elementwise"):
            return False
        return all(self.leaves(v, target, width, found) for v in op.operands
                   if isinstance(v.type, ArrayType))

    def offsets(self, part, bounds) -> tuple | None:
        """(a, b) of a slice `[a:-b]` with constant a >= 0, b >= 0 and no step but 1."""
        if part == "i":
            return None
        start, stop, step = take_slice_bounds(part, list(bounds))
        values = [None if v is None else const_value(self.defs.get(v.name))
                  for v in (start, stop, step)]
        if (start is not None and (values[0] is None or values[0] < 0)) or (
                stop is not None and (values[1] is None or values[1] >= 0)) or (
                step is not None and values[2] != 1):
            return None
        return (values[0] or 0, -(values[1] or 0))

    def fused_write(self, op: Op, leaves: dict) -> None:
        """The right-hand side computed element by element into a scratch array (NumPy
        evaluates it whole before it writes), then copied into the slice."""
        b = self.b
        target, value = op.operands[0], op.operands[-1]
        spec = index_spec(dict(op.attrs))
        n = b.emit("dim", target, attrs={"axis": 0}, name="n")
        start, stop, _ = take_slice_bounds(spec[0], list(op.operands[1:-1]))
        first = self.bound(start, n, b.const(0, I64))
        count = b.emit("trip_count", first, self.bound(stop, n, n), b.const(1, I64),
                       name="count")
        base = re.sub(r"_\d+$", "", target.name)
        scratch = b.value(f"{base}_next", ArrayType(value.type.dtype, 1))
        b.open_block()
        j = b.value("j", I64)
        carried = b.value(scratch.name, scratch.type)
        elements: dict = {}
        element = self.element_of(value, j, leaves, elements)
        filled = b.emit("setitem", carried, j, element, attrs={"index": ("i",)},
                        name=scratch.name)
        region = b.close_block([j, carried], [filled])
        (after,) = b.control("for", (b.const(0, I64), count, b.const(1, I64), scratch),
                             [region], [scratch.name], [scratch.type])
        self.scratch.append((scratch, after, self.lineages.root(target.name)))
        copy = replace(op, operands=op.operands[:-1] + (after,))
        self.nest(copy, [(first, count, b.const(1, I64))], [b.const(1, I64)], target, [],
                  op.result)

    def element_of(self, value: Value, j: Value, leaves: dict, done: dict) -> Value:
        """Element j of `value` (of the slice written: its leaves at their offsets)."""
        b = self.b
        if value.name in done:
            return done[value.name]
        if value.name in leaves:
            offset = leaves[value.name]
            at = j if offset == 0 else b.emit("add", j, b.const(offset, I64), name="at")
            read = self.defs.get(value.name)  # a slice of the array written, or that array
            array = read.operands[0] if read is not None and read.opcode == "getitem" else value
            out = b.emit("getitem", array, at, attrs={"index": ("i",)}, name="element")
        else:
            op = self.defs[value.name]
            operands = [self.element_of(v, j, leaves, done) if isinstance(v.type, ArrayType)
                        else v for v in op.operands]
            out = b.emit(op.opcode, *operands, attrs=dict(op.attrs), name=value.name)
        done[value.name] = out
        return out
