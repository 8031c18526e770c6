"""Scalar promotion: a loop that adds into one element of an array accumulates a scalar.

The reverse sweep adds the adjoint of a value read at an index its loop does not move
(`xcentered[col]` read in `for row in ...`) into that element once per iteration:
`xcentered_bar[col] += ...`. Compiled, that is a load and a store per iteration through
memory that the compiler cannot keep in a register (the loop's other stores may alias
it), a chain of dependent additions through memory. Here it becomes what a hand-written
adjoint does: a scalar accumulated in the loop, added into the element once after it.

A carried array slot of a `for` loop is promoted when the loop body's only use of the
array is one `index_add` of a scalar at indices defined outside the loop, whose result
the body yields in the slot. The element is added to after the loop, under an `if`
that the loop ran (its indices may be meaningless for a loop that runs zero times).
The sum is formed in another order: the result differs by rounding only.
"""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, defined_in, use_counts
from adgen.ir.types import BOOL, I64, ArrayType, is_float
from adgen.ir.values import Value
from adgen.transforms.simplify.loop_rewrite import LoopRewriter


def promote_accumulations(fn: Function) -> Function:
    """`fn` with element accumulations in loops done in scalars (see the module docstring).

    Example:
        >>> # for row in range(r0, d): xc_bar[col] += w[row] * q_bar[row]   becomes
        >>> # acc = 0.0; for row in range(r0, d): acc += w[row] * q_bar[row]
        >>> # if trip_count(r0, d, 1) > 0: xc_bar[col] += acc
    """
    return _Promoter(fn).run(fn)


class _Promoter(LoopRewriter):
    def loop(self, op: Op) -> list:
        body = op.regions[0]
        inside = defined_in(op)
        uses = use_counts(op)
        slots = {}
        for k, arg in enumerate(body.args[1:]):
            if isinstance(arg.type, ArrayType) and is_float(arg.type.dtype):
                chain = _accumulation(body, k, arg, inside, uses)
                if chain:
                    slots[k] = chain
        if not slots:
            return [op]
        before, after = [], []
        inits = list(op.operands[3:])
        args = list(body.args)
        yields = list(body.yields)
        replaced = {}
        for k, chain in slots.items():
            dtype = body.args[1 + k].type.dtype
            zero = self.fresh("c", dtype)
            before.append(Op("const", (), (zero,), (("type", dtype), ("value", 0.0)), (),
                             op.loc))
            inits[k] = zero
            acc = self.fresh(body.args[1 + k].name + "_sum", dtype)
            args[1 + k] = acc
            for write in chain:
                total = self.fresh(acc.name, dtype)
                replaced[id(write)] = Op("add", (acc, write.operands[-1]), (total,), (), (),
                                         write.loc)
                acc = total
            yields[k] = acc
        new_body = Region(tuple(args), tuple(replaced.get(id(o), o) for o in body.ops),
                          tuple(yields))
        results = list(op.results)
        for k in slots:
            results[k] = self.fresh(op.results[k].name + "_sum", body.args[1 + k].type.dtype)
        new_loop = replace(op, operands=tuple(op.operands[:3]) + tuple(inits),
                           results=tuple(results), regions=(new_body,))
        trips = self.fresh("n", I64)
        zero_trips = self.fresh("c", I64)
        ran = self.fresh("ran", BOOL)
        after += [Op("trip_count", tuple(op.operands[:3]), (trips,), (), (), op.loc),
                  Op("const", (), (zero_trips,), (("type", I64), ("value", 0)), (), op.loc),
                  Op("gt", (trips, zero_trips), (ran,), (), (), op.loc)]
        for k, (write, *_) in slots.items():
            array = op.operands[3 + k]
            added = self.fresh(array.name, array.type)
            then = Region((), (Op("index_add", (array, *write.operands[1:-1], results[k]),
                                  (added,), write.attrs, (), write.loc),), (added,))
            out = self.fresh(op.results[k].name, array.type)
            after.append(Op("if", (ran,), (out,), (), (then, Region((), (), (array,))),
                            op.loc))
            self.renames[op.results[k].name] = out
        return before + [new_loop] + after


def _accumulation(body: Region, k: int, arg: Value, inside: set, uses: dict) -> list:
    """The `index_add`s (top-level in `body`, in order) through which the carried array
    `arg` of slot k goes from the body's start to its yield, all at the same indices
    from outside the loop and of scalars, the array used by nothing else; or []."""
    chain, current = [], arg
    by_array = {w.operands[0].name: w for w in body.ops if w.opcode == "index_add"}
    while current.name != body.yields[k].name:
        write = by_array.get(current.name)
        if write is None or uses.get(current.name) != 1:
            return []
        chain.append(write)
        current = write.results[0]
    if not chain or uses.get(current.name) != 1:
        return []
    first = [v.name for v in chain[0].operands[1:-1]]
    for write in chain:
        if ([v.name for v in write.operands[1:-1]] != first
                or any(v.name in inside for v in write.operands[1:-1])
                or any(kind != "i" for kind in write.attr("index", ()))
                or isinstance(write.operands[-1].type, ArrayType)
                or write.operands[-1].name == arg.name):
            return []
    return chain
