"""`for i in prange(n)`: the loops a user asks adgen to run in parallel.

`prange` is Numba's (`from numba import prange`) or adgen's own (`adgen.prange`,
plain `range` when the function runs as Python). The lowering marks such a
loop `parallel` and checks Numba's rules for it: its iterations may share
only reductions (`acc += e`, `acc -= e`, `acc *= e`, one update per
iteration) and writes into arrays at indices that involve the loop variable;
what else it assigns is private to an iteration, so its value after the loop
is undefined and must not be used. Breaking out of or returning from a prange
loop is refused by the subset check (adgen/frontend/check.py).
"""

from __future__ import annotations

import ast
import linecache
import re
import sys

from adgen.errors import AdgenSyntaxError, Diagnostic
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.parallel import carried_values, is_parallel
from adgen.ir.values import Loc

_HINT = ("the iterations of a prange loop run in parallel: they may share only reductions "
         "(`acc += e`, `acc -= e`, `acc *= e`, once per iteration) and writes `a[i] = v` at "
         "an index that involves the loop variable; use range(...) for this loop")


def prange(*args):
    """`range(*args)`, for a loop adgen may compile as a parallel loop (`numba.prange`).

    Called from plain Python it is `range`, so the function still runs as
    written; in a function adgen compiles, `for i in adgen.prange(n):` asks for a
    parallel loop, as `numba.prange` does.

    Example:
        >>> def total(x):
        ...     acc = 0.0
        ...     for i in prange(x.shape[0]):
        ...         acc += x[i] * x[i]
        ...     return acc
        >>> list(prange(3))
        [0, 1, 2]
    """
    return range(*args)


def is_prange(obj) -> bool:
    """Whether `obj` is `adgen.prange` or `numba.prange` (numba is not imported for this:
    a user who imported its prange has imported numba)."""
    numba = sys.modules.get("numba")
    return obj is prange or (numba is not None and obj is getattr(numba, "prange", None))


def is_prange_call(node) -> bool:
    """Whether `node` reads as a call of prange (`prange(n)`, `numba.prange(n)`), before
    the name is resolved."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "prange") or (
        isinstance(func, ast.Attribute) and func.attr == "prange")


def _diagnostic(loc: Loc, message: str, hint: str) -> Diagnostic:
    line = linecache.getline(loc.file, loc.line).rstrip("\n")
    return Diagnostic(message, loc.file, loc.line, loc.col, line, hint)


def check_parallel_loops(fn: Function) -> None:
    """Raise `AdgenSyntaxError` if a prange loop of the lowered `fn` carries a value from
    one iteration to the next other than as a reduction or array writes, or if `fn` uses
    after such a loop a value that each iteration assigns for itself (its value after
    the loop is undefined). Only what the result depends on is checked: the lowering
    carries every variable a loop assigns, used or not."""
    loops = [op for op in walk_ops(fn.body) if is_parallel(op)]
    if not loops:
        return
    live = _live(fn)
    found = []
    for op in loops:
        body = op.regions[0]
        for arg, result, carried in zip(body.args[1:], op.results, carried_values(body)):
            name = re.sub(r"(_\d+)+$", "", result.name)  # the user's variable
            if not carried.valid and arg.name in live:
                found.append(_diagnostic(
                    carried.loc or op.loc,
                    f"`{name}` is carried from one iteration of this prange loop to the "
                    f"next, but not as a reduction: {carried.problem}", _HINT))
            elif carried.kind == "private" and result.name in live:
                found.append(_diagnostic(
                    op.loc, f"`{name}` is assigned in this prange loop and used after it, "
                    "where its value is undefined (each iteration has its own)",
                    "make it a reduction (`acc += ...`), store each iteration's value in an "
                    "array (`out[i] = ...`), or compute it after the loop"))
    if found:
        raise AdgenSyntaxError(found)


def _live(fn: Function) -> set[str]:
    """The values `fn`'s results depend on (mark and sweep over the structured IR)."""
    live = {v.name for v in fn.returns}
    changed = True
    while changed:
        before = len(live)
        _mark(fn.body, live)
        changed = len(live) != before
    return live


def _mark(region: Region, live: set[str]) -> None:
    for op in reversed(region.ops):
        if op.regions:
            _mark_control(op, live)
        elif not op.results or any(r.name in live for r in op.results):
            live.update(v.name for v in op.operands)


def _mark_control(op: Op, live: set[str]) -> None:
    if op.opcode == "if":
        for k, result in enumerate(op.results):
            if result.name in live:
                live.update(region.yields[k].name for region in op.regions)
                live.add(op.operands[0].name)
    else:  # a loop: slot k lives if its result or its argument in any region does
        offset = 1 if op.opcode == "for" else 0
        body = op.regions[-1]
        inits = op.operands[3:] if offset else op.operands
        for k, result in enumerate(op.results):
            args = [region.args[offset + k] if region is body else region.args[k]
                    for region in op.regions]
            if result.name in live or any(a.name in live for a in args):
                live.update((inits[k].name, body.yields[k].name))
                live.update(v.name for v in op.operands[:3 * offset])
                live.update(v.name for region in op.regions[:-1] for v in region.yields)
    for region in op.regions:
        _mark(region, live)
