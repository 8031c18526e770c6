"""Which primal values the reverse sweep reads: the to-be-recorded analysis of reverse mode.

Tapenade saves an overwritten variable only when the reverse sweep reads it (its
"to-be-recorded" analysis); adgen does the same for the elements of arrays that loops
overwrite. A value is *needed* when an adjoint rule reads it (an operand of anything
but a sum, a difference or a move), when control flow reads it (a condition, a loop
bound, an index), or when a needed value is recomputed from it (a rule may read its
op's result, which is recomputed from the operands). Values flow into arrays through
writes, but the reverse sweep reads an array's elements from the array
itself (restored by the undo log), never by recomputing the write: so the value a write
stores is needed only when the array is one that is recomputed whole (not tracked).

An array lineage whose elements are never needed (`u_new` in `u[i] = u_new[i]`, a
buffer that is only copied) keeps no undo log: its overwritten elements are never read.
"""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import walk_ops
from adgen.transforms.undo import SHAPE_ONLY, WRITES, Lineages

# adjoint rules that read none of these operands' values (sums, differences, moves; not a
# quotient's numerator: the rule of the denominator reads the quotient)
LINEAR = {"add": (0, 1), "sub": (0, 1), "neg": (0,), "copy": (0,),
          "cast": (0,), "reshape": (0,), "transpose": (0,), "sum": (0,), "mean": (0,),
          "expand_dims": (0,)}


def needed_values(fn: Function, lineages: Lineages) -> set[str]:
    """Names of the values of `fn` whose values the reverse sweep may read (see the
    module docstring): a conservative over-approximation.

    Example:
        >>> # needed_values(fn, Lineages(fn)) -> {"x", "r", "tmp_9", ...}
    """
    needed: set[str] = set()
    ops = list(walk_ops(fn.body))
    for op in ops:
        needed.update(v.name for v in _read_directly(op))
    while True:
        size = len(needed)
        for op in reversed(ops):
            _close(op, needed, lineages)
        if len(needed) == size:
            return needed


def logged_lineages(needed: set[str], lineages: Lineages) -> set[str]:
    """The tracked lineages whose overwritten elements the reverse sweep reads, from the
    function's `needed_values`."""
    roots = {lineages.root(name) for name in needed}
    return {lineage for lineage in lineages.tracked if lineage in roots}


def _read_directly(op):
    """Operands whose values `op`'s adjoint rule or control flow reads."""
    if op.opcode == "if":
        return op.operands
    if op.opcode == "for":
        return op.operands[:3]
    if op.opcode == "while":
        return ()
    if op.opcode in WRITES or op.opcode == "getitem":
        return op.operands[1:-1] if op.opcode in WRITES else op.operands[1:]
    if op.opcode in SHAPE_ONLY:
        return ()
    skip = LINEAR.get(op.opcode, ())
    return [v for k, v in enumerate(op.operands) if k not in skip]


def _close(op, needed: set[str], lineages: Lineages) -> None:
    """Recomputing a needed value reads what it is computed from."""
    if op.opcode == "if":
        for k, r in enumerate(op.results):
            if r.name in needed:
                needed.update(sub.yields[k].name for sub in op.regions)
        return
    if op.opcode in ("for", "while"):
        offset = 1 if op.opcode == "for" else 0
        inits = op.operands[3:] if offset else op.operands
        body = op.regions[-1]
        if op.opcode == "while":
            needed.update(v.name for v in op.regions[0].yields)
        for k, r in enumerate(op.results):
            args = [sub.args[offset + k] if sub is body else sub.args[k] for sub in op.regions]
            if r.name in needed or any(a.name in needed for a in args):
                needed.update((r.name, inits[k].name, body.yields[k].name))
                needed.update(a.name for a in args)
        return
    if not any(r.name in needed for r in op.results):
        return
    if op.opcode in WRITES:
        target = op.operands[0]
        needed.update(v.name for v in op.operands[:-1])
        if lineages.of(target) is None:  # recomputed whole, write included
            needed.add(op.operands[-1].name)
        return
    if op.opcode not in SHAPE_ONLY:  # a shape is known whatever the elements are
        needed.update(v.name for v in op.operands)
