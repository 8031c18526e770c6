"""Checkpointing long loops under a memory budget, with no annotation in user code.

Reverse mode keeps one tape entry per iteration of a loop (the carried values
its reverse sweep needs). Under `memory_budget=`, this pass marks each top-level
`for` loop of the primal that carries a float with the bytes its snapshots may
take (attribute `checkpoint_bytes`; the budget shared equally between the marked
loops, whose snapshots are alive at the same time). Reverse mode then keeps only
that many snapshots of the loop's carried values, chosen at run time, and
recomputes the rest on the binomial (revolve) schedule: see
adgen/transforms/revolve.py and docs/ARCHITECTURE.md.

Loops that write arrays in place (whose reverse sweep replays an undo log), loops
that carry an array whose undo log another loop keeps, and loops with no float
carried value are left as they are.
"""

from __future__ import annotations

import re
from dataclasses import replace

from adgen.errors import AdgenTypeError
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, make_attrs, walk_ops
from adgen.ir.types import is_float
from adgen.primitives import registry
from adgen.transforms.revolve import CHECKPOINT_BYTES
from adgen.transforms.undo import Lineages

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


def _checkpointable(op: Op, lineages: Lineages) -> bool:
    if op.opcode != "for":
        return False
    carried = op.regions[0].args[1:]
    if not any(is_float(a.type) for a in carried):
        return False
    if any(lineages.of(a) is not None for a in carried):
        return False
    for inner in walk_ops(op.regions[0]):
        if inner.regions:
            continue
        prim = registry.get(inner.opcode)
        if prim.inplace_operand is not None or prim.effect:
            return False
    return True


def checkpoint_loops(fn: Function, budget) -> Function:
    """`fn` (typed primal IR) with its top-level `for` loops marked for binomial
    checkpointing in reverse mode, their snapshots sharing `budget` bytes.

    Example:
        >>> # differentiate_reverse(checkpoint_loops(typed, "200MB"), wrt)
    """
    budget = parse_budget(budget)
    lineages = Lineages(fn)
    marked = {id(op) for op in fn.body.ops if _checkpointable(op, lineages)}
    share = max(budget // max(len(marked), 1), 1)
    ops = tuple(replace(op, attrs=make_attrs({**dict(op.attrs), CHECKPOINT_BYTES: share}))
                if id(op) in marked else op for op in fn.body.ops)
    return Function(fn.name, Region(fn.body.args, ops, fn.body.yields), fn.loc,
                    fn.tuple_return)
