"""Which arrays of a derivative IR are reverse mode's tapes.

A tape is allocated by an `empty` op that carries the attribute `TAPE` (reverse mode,
checkpointing and loop nests emit them so); it may then be carried through loops,
written in place and, where its size is not known in advance, grown by `push`. The
memory report, the code printer and the tape memory kept between calls read this
record, never the tape's name.
"""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Op, walk_ops

TAPE = "tape"  # attribute of the `empty` op that allocates a tape
# attribute of a tape that holds one iteration of a loop reversed iteration by iteration
# (transforms/eager.py): small and reused, it is not worth the caller's tape memory
ONE_ITERATION = "one_iteration"


def is_tape_allocation(op: Op) -> bool:
    return op.opcode == "empty" and bool(op.attr(TAPE, False))


def tape_values(fn: Function) -> set[str]:
    """The names of the tapes' values: their allocations, and what loops carry them as."""
    return _follow_forward(fn, {op.results[0].name for op in walk_ops(fn.body)
                               if is_tape_allocation(op)})


def grown_tapes(fn: Function) -> set[str]:
    """The arrays `push` grows: those it pushes onto, and the initial values of the loops
    that carry them, out to the allocation (a tape of an inner loop of a nest is carried
    through every loop around it; a checkpointed loop's snapshot tapes, which a `while`
    loop also carries, are written in place and keep their size)."""
    pushed = {op.operands[0].name for op in walk_ops(fn.body) if op.opcode == "push"}
    loops = [op for op in walk_ops(fn.body) if op.opcode in ("for", "while")]
    while True:
        size = len(pushed)
        for op in loops:
            offset = 1 if op.opcode == "for" else 0
            inits = op.operands[3:] if offset else op.operands
            args = op.regions[-1].args[offset:]
            pushed.update(init.name for init, arg in zip(inits, args) if arg.name in pushed)
        if len(pushed) == size:
            return pushed


def _follow_forward(fn: Function, names: set[str]) -> set[str]:
    """`names` and what loops carry them as and writes make of them."""
    names = set(names)
    ops = list(walk_ops(fn.body))
    while True:
        size = len(names)
        for op in ops:
            if op.opcode in ("setitem", "push") and op.operands[0].name in names:
                names.add(op.results[0].name)
            elif op.opcode in ("for", "while"):
                offset = 1 if op.opcode == "for" else 0
                inits = op.operands[3:] if offset else op.operands
                body = op.regions[-1]
                for k, init in enumerate(inits):
                    linked = [init.name, op.results[k].name, body.yields[k].name]
                    linked += [r.args[offset + k].name if r is body else r.args[k].name
                               for r in op.regions]
                    if any(n in names for n in linked):
                        names.update(linked)
        if len(names) == size:
            return names
