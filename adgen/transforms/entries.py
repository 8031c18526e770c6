"""How many tape entries a loop of a nest has, counted before the nest runs.

A loop whose bounds change with the loops around it (`for row in range(col + 1, d)`,
a triangular nest) has a number of iterations over the whole nest that no single
trip count gives. Enzyme sizes such a cache with a loop that sums the trip counts;
so does adgen: before the nest, a small nest of integer loops adds up the inner
loop's trip count over the iterations of the loops its bounds depend on, and
multiplies by the trip counts of the others. The loop's tapes are then allocated
once, at their exact size, like those of a rectangular nest, instead of growing.

The counting loops carry the attribute `COUNTS_ENTRIES`: `memory_report` evaluates
them to size the tapes (they read only integers known on entry to the nest).
"""

from __future__ import annotations

from adgen.ir.ops import Op
from adgen.ir.types import I64
from adgen.ir.values import Value
from adgen.transforms.clone import fresh_value

COUNTS_ENTRIES = "counts_entries"


class EntryCount:
    """Emits, before a nest, the number of iterations of one of its counted loops.

    Example:
        >>> # for col in range(d): for row in range(col + 1, d): ...  (inside i, c loops)
        >>> # n_rows = n * k * sum(trip_count(col + 1, d, 1) for col in range(d))
    """

    def __init__(self, forward, scope, capacity: dict):
        self.forward, self.scope, self.capacity = forward, scope, capacity
        self.b = forward.b
        self.plan = forward.plan

    def of(self, tape) -> Value:
        chain = tape.ancestors
        looped: set[int] = set()
        for t in [*chain, tape]:
            if t is tape or not t.static:  # a trip count computed inside the count
                for v in t.op.operands[:3]:
                    self.uses(v, chain, looped)
        for t in reversed(chain):  # a loop counted over needs its own bounds
            if id(t) in looped:
                for v in t.op.operands[:3]:
                    self.uses(v, chain, looped)
        return self.level(tape, chain, 0, looped, {})

    def known(self, v: Value) -> bool:
        return v.name not in self.plan.inside or v.name in self.plan.invariant

    def uses(self, v: Value, chain: list, out: set) -> None:
        """Adds to `out` the loops of `chain` whose loop variables `v` is computed from;
        values known before the nest are computed there now (never inside a count)."""
        if self.known(v):
            self.forward.before_nest(v, self.scope)
            return
        for t in chain:
            if t.body.args[0].name == v.name:
                out.add(id(t))
                return
        for o in self.plan.defs[v.name].operands:
            self.uses(o, chain, out)

    def value(self, v: Value, env: dict) -> Value:
        """`v` computed where the count is: from the count's loop variables in `env`."""
        if self.known(v):
            return self.forward.before_nest(v, self.scope)
        if v.name not in env:
            op = self.plan.defs[v.name]
            operands = tuple(self.value(o, env) for o in op.operands)
            results = tuple(fresh_value(self.forward.rev.names, r) for r in op.results)
            self.b.append(Op(op.opcode, operands, results, op.attrs, (), op.loc))
            for r, new in zip(op.results, results):
                env[r.name] = new
        return env[v.name]

    def level(self, tape, chain: list, j: int, looped: set, env: dict) -> Value:
        b = self.b
        if j == len(chain):
            bounds = [self.value(v, env) for v in tape.op.operands[:3]]
            return b.emit("trip_count", *bounds, name="n")
        t = chain[j]
        if id(t) not in looped:  # its iterations all count the same: a product
            inner = self.level(tape, chain, j + 1, looped, env)
            if t.parent is None:
                trips = self.capacity[id(t)]
            elif t.static:
                trips = t.trips
            else:
                trips = b.emit("trip_count", *[self.value(v, env) for v in t.op.operands[:3]],
                               name="n")
            return b.emit("mul", trips, inner, name="n")
        start, stop, step = (self.value(v, env) for v in t.op.operands[:3])
        zero = b.const(0, I64)
        b.open_block()
        index = fresh_value(self.forward.rev.names, t.body.args[0])
        total = b.value("n", I64)
        inner_env = dict(env)
        inner_env[t.body.args[0].name] = index
        inner = self.level(tape, chain, j + 1, looped, inner_env)
        region = b.close_block([index, total], [b.emit("add", total, inner, name="n")])
        (result,) = b.control("for", [start, stop, step, zero], [region], ["n"], [I64],
                              attrs={COUNTS_ENTRIES: True})
        return result
