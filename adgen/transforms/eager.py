"""Loops that sum independent terms: each iteration's adjoint right after it.

A top-level loop such as

    for i in range(n):
        ...                      # reads the inputs, writes no array it carries
        total += term_i

has `total = total_0 + sum_i term_i`, so d total / d x = sum_i d term_i / d x, and
the adjoint of `total` is the same for every term. Reverse mode would tape every
iteration's values in the forward sweep (n iterations' worth, out of cache for a
large n) and read them back in the reverse sweep. Instead the forward sweep runs
each iteration's reverse sweep as soon as the iteration is done, seeded with 1, into
a running sum `x_bar` per value `x` from outside that the body reads (the partials,
carried by the loop); the inner loops' tapes then hold one iteration and stay in
cache. The reverse sweep, once it knows `total_bar`, adds `total_bar * x_bar` to
the adjoint of each `x`: adjoints are linear in their seed. This is how hand-written
adjoints of sums over data points are written (ADBench's GMM, a loss summed over
examples), with no tape at all at the level of the sum.

Only for a `for` loop at the top level of the function, serial, not checkpointed,
that writes no array it carries and whose one active carried value is such a sum
(`acc + t`, `t + acc`, `acc - t`, chained; `acc` read nowhere else). Anything else
is taped as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

from adgen.ir.ops import Op, use_counts
from adgen.ir.parallel import is_parallel
from adgen.ir.types import ScalarType, is_float
from adgen.primitives.registry import Zero
from adgen.transforms.clone import fresh_value
from adgen.transforms.revolve import is_checkpointed
from adgen.transforms.zeros import materialize


@dataclass(frozen=True)
class EagerSums:
    """What the forward sweep of an eager loop left for its reverse: the carried slot
    of the sum, the active values from outside, and their partials (loop results)."""

    slot: int
    free: tuple
    partials: tuple


def summed_slot(op: Op, active: set, written: list) -> int | None:
    """The carried slot of `op` (a loop) whose value is the only active one and a sum of
    independent terms, or None when `op` is not such a loop."""
    if op.opcode != "for" or is_parallel(op) or is_checkpointed(op) or written:
        return None
    body = op.regions[0]
    carried = body.args[1:]
    slots = [k for k, a in enumerate(carried)
             if a.name in active or op.results[k].name in active
             or body.yields[k].name in active]
    if len(slots) != 1:
        return None
    k = slots[0]
    arg = carried[k]
    if not (isinstance(arg.type, ScalarType) and is_float(arg.type)):
        return None
    uses = use_counts(op)
    users = {}
    for inner in body.ops:
        for v in inner.operands:
            users.setdefault(v.name, []).append(inner)
    current = arg
    while current.name != body.yields[k].name:
        found = users.get(current.name, [])
        if uses.get(current.name, 0) != 1 or len(found) != 1:
            return None
        user = found[0]
        if user.opcode == "add" or (user.opcode == "sub" and user.operands[0].name == current.name):
            if user.results[0].type != arg.type:
                return None
            current = user.results[0]
        else:
            return None
    if uses.get(current.name, 0) != 1 or current.name == arg.name:
        return None  # the sum is read elsewhere, or never added to
    return k


def eager_forward(rev, op: Op, scope, fresh: bool) -> None:
    """The loop `op` with each iteration's reverse sweep (seed 1) after its primal code,
    accumulating the partials of the active values it reads from outside."""
    b = rev.b
    body = op.regions[0]
    slot = rev.eager[id(op)]
    free = rev._active_free(op)
    inits = [b.rename_last(materialize(b, None, scope.map(v)), v.name + "_bar")
             for v in free]
    inner, args = rev.enter(body, scope, fresh)
    partial_args = [b.value(v.name + "_bar", v.type) for v in free]
    b.open_block()
    rev.forward_sweep(body.ops, inner, fresh)
    body_adj = {v.name: a for v, a in zip(free, partial_args)}
    rev.add_adjoint(body_adj, body.yields[slot], b.const(1.0, body.yields[slot].type))
    rev.reverse_sweep(body.ops, body_adj, inner)
    partials = [materialize(b, body_adj.get(v.name), scope.map(v)) for v in free]
    region = b.close_block(args + partial_args,
                           [inner.map(y) for y in body.yields] + partials)
    results = [fresh_value(rev.names, r) if fresh else r for r in op.results]
    for r, new in zip(op.results, results):
        scope.subst[r.name] = new
    partial_results = [b.value(v.name + "_bar", v.type) for v in free]
    operands = tuple(scope.map(v) for v in op.operands) + tuple(inits)
    b.loc = op.loc
    b.append(Op("for", operands, tuple(results) + tuple(partial_results), op.attrs,
                (region,), op.loc))
    scope.tapes[id(op)] = EagerSums(slot, tuple(free), tuple(partial_results))


def eager_reverse(rev, op: Op, adj: dict, scope) -> None:
    """Adds `sum_bar * x_bar` (the partials of `eager_forward`) to each `x`'s adjoint,
    and `sum_bar` to the adjoint of the sum's initial value."""
    record: EagerSums = scope.tapes[id(op)]
    cts = [adj.pop(r.name, None) for r in op.results]
    ct = cts[record.slot]
    if ct is None or isinstance(ct, Zero):
        return
    for v, partial in zip(record.free, record.partials):
        rev.add_adjoint(adj, v, rev.b.emit("mul", ct, partial, name=v.name + "_bar"),
                        scope.map(v))
    rev.add_adjoint(adj, op.operands[3 + record.slot], ct)
