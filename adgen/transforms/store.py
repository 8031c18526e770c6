"""Store or recompute: which intermediates of a loop body the forward sweep keeps.

Reverse mode stores a loop's carried values and recomputes the body's primal
intermediates in each reverse iteration (docs/ARCHITECTURE.md, Reverse mode).
Recomputing arithmetic costs about what reading it back from a tape would, but a
transcendental function costs tens of cycles, and the reverse sweep often needs
it again (exp in its own adjoint, tanh in 1 - tanh^2). So the forward sweep of a
`for` loop also tapes every scalar float result of such a function computed in
the loop's body (8 bytes per iteration each), and the reverse iteration reads it
back instead of recomputing it. Where the reverse sweep does not need the value,
the read is dead and DCE removes the tape with it.

Only where the forward sweep of the loop runs anyway, because the values it
carries or computes are read other than by sums (`s = r * s * (1 - s)`, or a
result compared after the loop): a loop that only sums into the output
(`total += f(x[i])`, `return total / n`) needs no forward sweep for a gradient,
and storing would add one (measured: 1.35 x slower on the logistic regression's
loop source). At the top level of a function such a loop is not taped at all: each
iteration's reverse follows it (`transforms/eager.py`).

Not stored: values of arrays (a tape entry costs a pass over memory, as
recomputing does), values computed inside an `if` or an inner loop of the body
(the inner loop has its own tape), loop-invariant values (hoisted out of the
loop instead), anything of a `while` loop (its tape grows by doubling), and
anything at all in a function with checkpointed loops (`memory_budget=`: memory
first).
"""

from __future__ import annotations

from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.types import ScalarType, is_float
from adgen.primitives import registry


def expensive(opcode: str) -> bool:
    """A primitive the registry marks transcendental: tens of cycles per call (libm),
    against one for an add or a multiply."""
    return registry.has(opcode) and bool(registry.get(opcode).extra.get("transcendental"))


def values_read_nonlinearly(body: Region) -> set[str]:
    """Names of the values of `body` (recursively) that some op reads other than by
    adding or subtracting them or dividing them by something: the reverse sweep may need
    their values (a conservative guess: a control-flow op's operands count)."""
    read = set()
    for op in walk_ops(body):
        operands = op.operands
        if op.opcode in ("add", "sub", "neg"):
            continue
        if op.opcode == "div":
            operands = operands[1:]
        read.update(v.name for v in operands)
    return read


def stored_ops(loop: Op, read_nonlinearly: set[str]) -> list[Op]:
    """The top-level ops of the body of the `for` loop `loop` whose scalar float results
    the forward sweep tapes (see the module's docstring). `read_nonlinearly`: the
    function's `values_read_nonlinearly`."""
    body = loop.regions[-1]
    carried = [a.name for a in body.args[1:]]
    if not any(name in read_nonlinearly for name in carried + [r.name for r in loop.results]):
        return []
    varying = {a.name for a in body.args}
    out = []
    for op in body.ops:
        reads_loop_values = any(v.name in varying for v in op.operands)
        if reads_loop_values or op.regions:
            varying.update(r.name for r in op.results)
        if (expensive(op.opcode) and not op.regions and len(op.results) == 1
                and isinstance(op.results[0].type, ScalarType)
                and is_float(op.results[0].type) and reads_loop_values):
            out.append(op)
    return out
