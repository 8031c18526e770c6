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
whose one active carried value is such a sum (`acc + t`, `t + acc`, `acc - t`,
chained, also inside inner loops and branches; `acc` read nowhere else), and whose
only array writes are into scratch arrays that each iteration refills before reading
them and that nothing outside the loop reads (the GMM's `xcentered`; the iteration's
reverse undoes its writes, so the array ends each iteration as it began it). Anything
else is taped as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

from adgen.ir.ops import Op, const_value, region_use_counts, walk_ops
from adgen.ir.parallel import is_parallel
from adgen.ir.types import I64, ArrayType, ScalarType, is_float
from adgen.ir.values import Value
from adgen.primitives.registry import Zero
from adgen.transforms.clone import fresh_value
from adgen.transforms.needed import private_to_iterations
from adgen.transforms.revolve import is_checkpointed
from adgen.transforms.undo import SHAPE_ONLY, ArrayState
from adgen.transforms.zeros import materialize


@dataclass(frozen=True)
class EagerSums:
    """What the forward sweep of an eager loop left for its reverse: the carried slot
    of the sum, the active values from outside, and their partials (loop results)."""

    slot: int
    free: tuple
    partials: tuple


def summed_slot(rev, op: Op) -> int | None:
    """The carried slot of `op` (a top-level loop) whose value is the only active one and
    a sum of independent terms, or None when `op` is not such a loop."""
    if op.opcode != "for" or is_parallel(op) or is_checkpointed(op):
        return None
    if not all(_scratch(rev, op, lineage) for lineage in rev.lineages.written_in(op)):
        return None
    active = rev.active
    body = op.regions[0]
    carried = body.args[1:]
    written = rev.lineages.written_in(op)
    slots = [k for k, a in enumerate(carried)
             if (a.name in active or op.results[k].name in active
                 or body.yields[k].name in active) and rev.lineages.of(a) not in written]
    if len(slots) != 1:
        return None
    k = slots[0]
    arg = carried[k]
    if not (isinstance(arg.type, ScalarType) and is_float(arg.type)):
        return None
    return k if _sums_into(body, arg, k) else None


def _sums_into(body, arg, k: int) -> bool:
    """Whether the carried value `arg` of a loop body reaches the body's k-th yield only
    by additions of other values (`arg + t`, `t + arg`, `arg - t`, chained, also through
    inner loops and branches that do the same), read by nothing else, and is added to."""
    end = _chain_end(body, arg)
    return end is not None and end.name == body.yields[k].name and end.name != arg.name


def _chain_end(region, start):
    """The last value of the chain of additions that `start` goes through in `region`
    (yielded once, used by nothing else), or None where `start` is read otherwise."""
    uses = region_use_counts(region)
    current = start
    while True:
        users = [o for o in region.ops if current.name in _names_used(o)]
        yielded = [y.name for y in region.yields].count(current.name)
        if not users:
            return current if uses.get(current.name, 0) == yielded == 1 else None
        if len(users) != 1 or yielded:
            return None
        user = users[0]
        operands = [v.name for v in user.operands]
        if user.opcode in ("add", "sub") and operands.count(current.name) == 1 and (
                user.opcode == "add" or operands[0] == current.name):
            if user.results[0].type != start.type:
                return None
            current = user.results[0]
        elif user.opcode == "for" and operands.count(current.name) == 1 \
                and current.name not in _names_used(user, regions_only=True):
            slot = operands.index(current.name) - 3
            inner = user.regions[0]
            last = _chain_end(inner, inner.args[1 + slot]) if slot >= 0 else None
            if last is None or last.name != inner.yields[slot].name:
                return None
            current = user.results[slot]
        elif user.opcode == "if" and current.name not in operands:
            places = set()
            for branch in user.regions:  # a branch adds to it, or passes it on
                last = _chain_end(branch, current)
                if last is None:
                    return None
                at = [p for p, y in enumerate(branch.yields) if y.name == last.name]
                if len(at) != 1:
                    return None
                places.add(at[0])
            if len(places) != 1:
                return None
            current = user.results[places.pop()]
        else:
            return None


def _names_used(op: Op, regions_only: bool = False) -> set:
    """The names `op` reads: its operands (unless `regions_only`) and what its regions
    read or yield."""
    names = set() if regions_only else {v.name for v in op.operands}
    for sub in op.regions:
        names.update(region_use_counts(sub))
    return names


def _scratch(rev, loop: Op, lineage: str) -> bool:
    """An array `loop` writes that is scratch space of each iteration: refilled before
    it is read (`needed.private_to_iterations`), not a parameter's, and touched nowhere
    outside the loop but by its creation and shape reads. After an iteration's reverse
    sweep it holds what it held before the iteration (its writes undone), which then
    nothing reads."""
    if any(rev.lineages.of(p) == lineage for p in rev.fn.params):
        return False
    if not private_to_iterations(rev, loop, lineage):
        return False
    inside = {id(o) for sub in loop.regions for o in walk_ops(sub)}
    for other in walk_ops(rev.fn.body):
        if id(other) in inside or other is loop or other.opcode in SHAPE_ONLY:
            continue
        if any(rev.lineages.of(v) == lineage for v in other.operands):
            return False
    return True


def eager_forward(rev, op: Op, scope, fresh: bool) -> None:
    """The loop `op` with each iteration's reverse sweep (seed 1) after its primal code,
    accumulating the partials of the active values it reads from outside."""
    b = rev.b
    body = op.regions[0]
    slot = rev.eager[id(op)]
    carried = body.args[1:]
    written = rev.lineages.written_in(op)
    free = rev._active_free(op)
    inits = [b.rename_last(materialize(b, None, scope.map(v)), v.name + "_bar")
             for v in free]
    # the adjoint of a scratch array: allocated once, zero again at the end of each
    # iteration's reverse (the writes that refill the array zero their elements' adjoint)
    scratch = [k for k, a in enumerate(carried)
               if rev.lineages.of(a) in written and body.yields[k].name in rev.active]
    inits += [b.rename_last(materialize(b, None, scope.map(op.operands[3 + k])),
                            carried[k].name + "_bar") for k in scratch]
    inner, args = rev.enter(body, scope, fresh)
    partial_args = [b.value(v.name + "_bar", v.type) for v in free]
    scratch_args = [b.value(carried[k].name + "_bar", carried[k].type) for k in scratch]
    b.open_block()
    rev.forward_sweep(body.ops, inner, fresh)
    body_adj = {v.name: a for v, a in zip(free, partial_args)}
    for k, a in zip(scratch, scratch_args):
        body_adj[body.yields[k].name] = a
    for lineage in written:  # its reverse undoes the iteration's writes as it passes them
        body_adj[ArrayState(lineage)] = inner.lineage_value[lineage]
    rev.add_adjoint(body_adj, body.yields[slot], b.const(1.0, body.yields[slot].type))
    rev.reverse_sweep(body.ops, body_adj, inner)
    partials = [materialize(b, body_adj.get(v.name), scope.map(v)) for v in free]
    cleared = [materialize(b, body_adj.get(carried[k].name), a)
               for k, a in zip(scratch, scratch_args)]
    yields = []
    for y in body.yields:  # a scratch array: as the reverse left it (see _scratch)
        lineage = rev.lineages.of(y)
        yields.append(body_adj[ArrayState(lineage)] if lineage in written else inner.map(y))
    region = b.close_block(args + partial_args + scratch_args, yields + partials + cleared)
    results = [fresh_value(rev.names, r) if fresh else r for r in op.results]
    for r, new in zip(op.results, results):
        scope.subst[r.name] = new
    partial_results = [b.value(v.name + "_bar", v.type) for v in free]
    scratch_results = [b.value(carried[k].name + "_bar", carried[k].type) for k in scratch]
    operands = tuple(scope.map(v) for v in op.operands) + tuple(inits)
    b.loc = op.loc
    b.append(Op("for", operands, tuple(results) + tuple(partial_results)
                + tuple(scratch_results), op.attrs, (region,), op.loc))
    rev.track(op, results, scope)
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
        if isinstance(partial.type, ArrayType) and v.name in rev.active:
            old = adj.get(v.name)
            adj[v.name] = _scaled_into(rev.b, ct, partial, None if isinstance(old, Zero)
                                       else old)
            continue
        rev.add_adjoint(adj, v, rev.b.emit("mul", ct, partial, name=v.name + "_bar"),
                        scope.map(v))
    rev.add_adjoint(adj, op.operands[3 + record.slot], ct)


def _scaled_into(b, ct: Value, partial: Value, old: Value | None) -> Value:
    """`old + ct * partial` (`ct * partial` if `old` is None) as a loop nest over the
    elements, adding into `old` (or scaling `partial`) in place: Numba compiles an array
    expression into every function that has one, a loop costs it next to nothing."""
    one = const_value(b.definition(ct)) == 1.0
    if old is None and one:
        return partial
    target = partial if old is None else old
    ndim = partial.type.ndim
    dims = [b.emit("dim", partial, attrs={"axis": axis}, name="n") for axis in range(ndim)]
    zero, step = b.const(0, I64), b.const(1, I64)

    def nest(array: Value, axis: int, index: list) -> Value:
        if axis == ndim:
            spec = {"index": ("i",) * ndim}
            # scaled in place: read from the array as the loop carries it (no copy)
            element = b.emit("getitem", array if old is None else partial, *index,
                             attrs=spec, name="partial")
            if not one:
                element = b.emit("mul", ct, element, name="term")
            opcode = "setitem" if old is None else "index_add"
            return b.emit(opcode, array, *index, element, attrs=spec, name=target.name)
        b.open_block()
        q = b.value("q", I64)
        carried = b.value(target.name, target.type)
        inner = nest(carried, axis + 1, index + [q])
        region = b.close_block([q, carried], [inner])
        (result,) = b.control("for", (zero, dims[axis], step, array), [region],
                              [target.name], [target.type])
        return result

    return nest(target, 0, [])
