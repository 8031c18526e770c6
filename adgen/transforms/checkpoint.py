"""Checkpointing long loops under a memory budget, with no annotation in user code.

Reverse mode keeps one tape entry per iteration of a loop (the carried values
its reverse sweep needs). Under `memory_budget=`, each top-level `for` loop of
the primal is strip-mined before differentiation:

    for i in range(start, stop, step): body
becomes
    for segment in range(n_segments):            # c iterations each, the first fewer
        for j in range(count):                   # first = max(end - c, 0), end = n - ...
            i = start + (first + j) step
            body

Reverse mode already treats a nested loop this way: the outer loop's tape
holds the carried values at the start of each segment (the checkpoints), and
the reverse sweep of each segment recomputes that segment forward from its
checkpoint into a tape of c entries, then runs it backwards. Memory falls from
n entries to n / c + c; the price is one more forward pass over the loop.
The segment length is chosen at run time from the budget and the bytes one
iteration stores: c = ceil(2 n / slots), slots = budget // bytes per
iteration, so the checkpoints take at most half the budget (c = 1 when
everything fits: then the loop is taped as before, plus the recomputation),
and c <= sqrt(n) + 1, where n / c + c is least: a budget below 2 sqrt(n)
entries cannot be met by two levels, and gets their least memory.

This is two-level periodic checkpointing, not Griewank's binomial (revolve)
schedule, which reaches a smaller recomputation count for a given number of
snapshots by checkpointing within segments recursively; see docs/ARCHITECTURE.md.

Loops that write arrays in place (whose reverse sweep replays an undo log) and
loops with no float carried value are left as they are.
"""

from __future__ import annotations

import re

from adgen.errors import AdgenTypeError
from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, walk_ops
from adgen.ir.types import I64, ArrayType, is_float
from adgen.primitives import registry
from adgen.transforms.clone import Scope, clone_op
from adgen.transforms.specialize import all_names

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20,
          "GIB": 2**30}


def parse_budget(budget) -> int:
    """Bytes of a budget given as an int or a string such as "200MB", "1.5GB", "64MiB"."""
    if isinstance(budget, bool):
        raise AdgenTypeError(f"memory_budget must be bytes or a size like '200MB', not {budget!r}",
                             "memory_budget")
    if isinstance(budget, (int, float)):
        value = int(budget)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(budget))
        unit = match.group(2).upper() if match else None
        if match is None or unit not in _UNITS:
            raise AdgenTypeError(f"memory_budget {budget!r}: give bytes or a size like '200MB',"
                                 " '1.5GB' or '64MiB'", "memory_budget")
        value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise AdgenTypeError(f"memory_budget must be positive, not {budget!r}", "memory_budget")
    return value


def _checkpointable(op: Op) -> bool:
    if op.opcode != "for":
        return False
    carried = op.regions[0].args[1:]
    if not any(is_float(a.type) for a in carried):
        return False
    for inner in walk_ops(op.regions[0]):
        if inner.regions:
            continue
        prim = registry.get(inner.opcode)
        if prim.inplace_operand is not None or prim.effect:
            return False
    return True


def _bytes_per_iteration(b: Builder, inits) -> object:
    """Bytes of one tape entry of every carried value (an upper bound: all are taped)."""
    scalars = sum(1 for v in inits if not isinstance(v.type, ArrayType))
    total = b.const(8 * scalars, I64)
    for v in inits:
        if isinstance(v.type, ArrayType):
            total = b.emit("add", total, b.emit("mul", b.emit("size", v), b.const(8, I64)))
    return b.emit("maximum", total, b.const(8, I64), name="bytes_per_step")


def _strip_mine(b: Builder, op: Op, scope: Scope, budget: int) -> None:
    start, stop, step = (scope.map(v) for v in op.operands[:3])
    inits = [scope.map(v) for v in op.operands[3:]]
    body = op.regions[0]
    b.loc = op.loc
    one, zero = b.const(1, I64), b.const(0, I64)
    n = b.emit("trip_count", start, stop, step, name="n")
    slots = b.emit("floordiv", b.const(budget, I64), _bytes_per_iteration(b, inits))
    slots = b.emit("maximum", slots, b.const(2, I64), name="slots")
    twice = b.emit("add", b.emit("mul", n, b.const(2, I64)), b.emit("sub", slots, one))
    length = b.emit("maximum", b.emit("floordiv", twice, slots), one)
    # never longer than sqrt(n) + 1, where n / c + c is smallest (a budget below that
    # cannot be met; this is the least memory two levels can do)
    root = b.emit("add", b.emit("cast", b.emit("sqrt", b.emit("cast", n, attrs={"to": "f64"})),
                                attrs={"to": "i64"}), one)
    length = b.emit("minimum", length, root, name="segment_length")
    segments = b.emit("floordiv", b.emit("add", n, b.emit("sub", length, one)), length,
                      name="segments")

    index = body.args[0]
    types = [a.type for a in body.args[1:]]
    # outer loop: one iteration per segment
    b.open_block()
    segment = b.value("segment", I64)
    outer_carried = [b.value(a.name, a.type) for a in body.args[1:]]
    # segments end at n - (segments - 1 - segment) c: the first one is the short one, so
    # that the reverse sweep starts with (and its tape is sized by) a whole segment
    end = b.emit("sub", n, b.emit("mul", b.emit("sub", b.emit("sub", segments, one), segment),
                                  length), name="end")
    first = b.emit("maximum", b.emit("sub", end, length), zero, name="first")
    count = b.emit("sub", end, first, name="count")
    # inner loop: the original body on iterations first .. first + count - 1
    b.open_block()
    j = b.value("j", I64)
    inner_carried = [b.value(a.name, a.type) for a in body.args[1:]]
    inner = scope.child()
    inner.subst[index.name] = b.emit("add", start, b.emit("mul", b.emit("add", first, j), step),
                                     name=index.name)
    for a, v in zip(body.args[1:], inner_carried):
        inner.subst[a.name] = v
    for body_op in body.ops:
        b.append(clone_op(body_op, inner, b.names, True))
    region = b.close_block([j] + inner_carried, [inner.map(v) for v in body.yields])
    results = b.control("for", (zero, count, one, *outer_carried), [region],
                        [a.name for a in body.args[1:]], types)
    outer = b.close_block([segment] + outer_carried, list(results))
    final = b.control("for", (zero, segments, one, *inits), [outer],
                      [r.name for r in op.results], [r.type for r in op.results])
    for r, new in zip(op.results, final):
        scope.subst[r.name] = new


def checkpoint_loops(fn: Function, budget) -> Function:
    """`fn` (typed primal IR) with its top-level `for` loops strip-mined into segments
    sized at run time so that reverse mode's tapes fit in `budget` bytes.

    Example:
        >>> # differentiate_reverse(checkpoint_loops(typed, "200MB"), wrt)
    """
    budget = parse_budget(budget)
    b = Builder(NameTable(all_names(fn)), fn.loc)
    scope = Scope()
    for op in fn.body.ops:
        if _checkpointable(op):
            _strip_mine(b, op, scope, budget)
        else:
            b.append(clone_op(op, scope, b.names, False))
    body = b.finish_region(fn.params, [scope.map(v) for v in fn.returns])
    return Function(fn.name, body, fn.loc, fn.tuple_return)
