"""Recomputing a nest's values in its reverse sweep, where they are first needed.

A reverse iteration of a loop nest (`transforms/nest.py`) reads its tape entries and
recomputes the rest of the body's values, each at the point of the reverse sweep where
an adjoint rule first reads it: the reverse sweep passes the body's ops last to first,
undoing each write into an array as it passes it, so at the reverse of op q the arrays
are as they were right after op q ran forward. A value computed at op p from elements
of an array is recomputed right there when no op in (p, q] writes that array; the plan
tapes it otherwise (`unsafe_values`). Recomputing late is what lets
`u[1:-1] = u[1:-1] + r * (u[:-2] - 2 * u[1:-1] + u[2:])` be reversed without taping
the slices: the write's reverse puts the old elements back first, and the slices
are read again after it.

What the reverse of an op reads (`demands`): the values of its non-linear operands, of
a condition, a bound, an index; the shape only of a sum's or a move's operands and of
the value a write stores. A value read for its shape only may be computed at any
point: where that point is not safe it is computed for that op alone and not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adgen.errors import AdgenInternalError
from adgen.ir.ops import Op
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.transforms.clone import clone_op, free_values
from adgen.transforms.needed import LINEAR
from adgen.transforms.undo import SHAPE_ONLY, WRITES, ArrayState


def demands(rev, op: Op) -> tuple[list, list, bool]:
    """What the reverse of `op` reads: the values whose values it reads, those whose shape
    only it reads, and whether its adjoint rule may read the op's own results."""
    if op.regions:
        control = list(op.operands[:1] if op.opcode == "if" else
                       op.operands[:3] if op.opcode == "for" else ())
        rest = [v for v in list(op.operands[len(control):]) + free_values(op)
                if v.name not in {c.name for c in control}]
        value = control + [v for v in rest if v.name in rev.needed]
        shape = [v for v in rest if v.name not in rev.needed]
        return value, shape, False
    if op.opcode in WRITES:  # the index also where no adjoint flows: the write is undone
        shape = [op.operands[-1]]
        if rev.lineages.of(op.operands[0]) is None:
            shape.append(op.operands[0])
        return list(op.operands[1:-1]), shape, False
    prim = registry.get(op.opcode)
    if prim.nondiff or not any(v.name in rev.active for v in op.operands):
        return [], [], False
    linear = LINEAR.get(op.opcode, ())
    if op.opcode in SHAPE_ONLY:
        return [], list(op.operands), False
    value = [v for k, v in enumerate(op.operands) if k not in linear]
    shape = [v for k, v in enumerate(op.operands) if k in linear]
    return value, shape, not linear


@dataclass
class Level:
    """The ops of one region (a loop body, a branch): where each is, what each writes and
    reads of the logged arrays (inner regions included)."""

    ops: tuple
    index: dict = field(default_factory=dict)  # id(op) -> position
    defs: dict = field(default_factory=dict)  # value name -> op
    writes: list = field(default_factory=list)
    reads: list = field(default_factory=list)

    @classmethod
    def of(cls, rev, ops) -> "Level":
        level = cls(tuple(ops))
        for k, op in enumerate(level.ops):
            level.index[id(op)] = k
            for r in op.results:
                level.defs[r.name] = op
            level.writes.append(element_writes(rev, op))
            level.reads.append(element_reads(rev, op))
        return level

    def safe(self, op: Op, at: int) -> bool:
        """Whether `op`, recomputed at the reverse of op `at`, reads what it read forward:
        nothing it reads is written by the ops after it up to `at`."""
        p = self.index[id(op)]
        reads = self.reads[p]
        return not reads or not any(self.writes[k] & reads for k in range(p + 1, at + 1))


def element_reads(rev, op: Op) -> set:
    """The logged lineages whose elements `op` reads."""
    if op.regions:
        return rev.lineages.read_in(op) & rev.logged
    if op.opcode in SHAPE_ONLY:
        return set()
    start = 1 if op.opcode in WRITES else 0
    return {rev.lineages.of(v) for v in op.operands[start:]} & rev.logged


def element_writes(rev, op: Op) -> set:
    """The logged lineages `op` writes into."""
    if op.regions:
        return set(rev.lineages.written_in(op)) & rev.logged
    if op.opcode in WRITES:
        return {rev.lineages.of(op.operands[0])} & rev.logged
    return set()


def unsafe_values(rev, level: Level, replayed: frozenset, stored: set) -> list:
    """The values of `level` that some reverse rule reads the value of at a point where
    recomputing them would read an element overwritten since: they must be taped. Values
    in `stored` are taped already (their operands are then not recomputed for them)."""
    return _analyze(rev, level, replayed, stored)[0]


def value_demanded(rev, level: Level, replayed: frozenset, stored: set) -> set:
    """The names of the values of `level` whose values the reverse sweep reads (directly,
    or to recompute a value it reads)."""
    return set(_analyze(rev, level, replayed, stored)[1])


def _analyze(rev, level: Level, replayed: frozenset, stored: set):
    wanted: dict[str, set] = {}
    for q, op in enumerate(level.ops):
        value, _, own = demands(rev, op)
        for v in value + (list(op.results) if own else []):
            wanted.setdefault(v.name, set()).add(q)
    unsafe = []
    for p in range(len(level.ops) - 1, -1, -1):
        op = level.ops[p]
        points = set()
        for r in op.results:
            points |= wanted.get(r.name, set())
        if not points or any(r.name in stored for r in op.results):
            continue
        if op.regions and id(op) not in replayed:
            continue  # a loop's or a writing `if`'s results are taped by the plan
        if op.opcode in WRITES and rev.lineages.of(op.operands[0]) is not None:
            continue  # the array's state
        if not all(level.safe(op, q) for q in points):
            unsafe.extend(r for r in op.results if r.name in wanted)
            continue
        if op.opcode in SHAPE_ONLY:
            continue  # a shape is the same whenever it is read
        for v in list(op.operands) + (free_values(op) if op.regions else []):
            wanted.setdefault(v.name, set()).update(points)
    return unsafe, wanted


class Demand:
    """Recomputes, at the reverse of one op, the values its reverse reads."""

    def __init__(self, rev, plan, scope, adj, level: Level):
        self.rev, self.plan, self.scope, self.adj, self.level = rev, plan, scope, adj, level
        self.temp = None  # the op's own scope, where values unsafe to keep are bound

    def before(self, op: Op):
        """Bind what the reverse of `op` reads; returns the scope to reverse it in."""
        at = self.level.index[id(op)]
        value, shape, own = demands(self.rev, op)
        for v in value + (list(op.results) if own else []):
            if not self.ensure(v, at):
                raise AdgenInternalError(
                    f"reverse mode recomputed {v.name} where an array it reads was "
                    "overwritten since (the plan should have taped it)")
        for v in shape:
            self.ensure(v, at)
        scope, self.temp = (self.temp or self.scope), None
        return scope

    def current(self, v: Value):
        """The state of `v`'s array now, where the nest writes it (an array the nest does
        not write keeps its value, and its lineage may join other arrays)."""
        lineage = self.rev.lineages.of(v)
        if lineage is None or lineage not in self.plan.written:
            return None
        return self.adj.get(ArrayState(lineage), self.scope.lineage_value.get(lineage))

    def ensure(self, v: Value, at: int) -> bool:
        """Bind `v` (recomputing it at the reverse of op `at`); True where it is bound for
        good, False where only for the op being reversed (its value may be stale)."""
        scope = self.scope
        if v.name in scope.subst or v.name not in self.plan.inside:
            return True
        if self.temp is not None and v.name in self.temp.subst:
            return False
        state = self.current(v)
        op = self.level.defs.get(v.name)
        if state is not None and (op is None or op.regions or op.opcode in WRITES):
            self.bind(v.name, state)  # an array written in place: as it is now
            return True
        if op is None:
            return True  # bound where its region is (verify says otherwise)
        if op.regions and id(op) not in self.plan.replayed:
            self.bind_loop_results(op)
            return v.name in scope.subst
        operands = list(op.operands) + (free_values(op) if op.regions else [])
        # (a list, not a generator: every operand is bound, good or not)
        good = all([self.ensure(o, at) for o in operands]) or op.opcode in SHAPE_ONLY
        good = good and self.level.safe(op, at)
        if self.temp is None:
            self.temp = scope.child()
        mapping = self.temp
        for o in operands:
            state = self.current(o)
            if state is not None:
                mapping.subst[o.name] = state
        self.rev.b.loc = op.loc
        new = clone_op(op, mapping, self.rev.names, True)
        self.rev.b.append(new)
        if good:
            for r in op.results:
                self.bind(r.name, mapping.subst[r.name])
        return good

    def bind(self, name: str, value: Value) -> None:
        """Bind for good: in the scope, and in the op's own scope if it has one."""
        self.scope.subst[name] = value
        if self.temp is not None:
            self.temp.subst[name] = value

    def bind_loop_results(self, op: Op) -> None:
        """A loop's results its reverse does not tape: arrays written in place are their
        state, an array it only writes (and nothing reads the values of) its shape."""
        rev, scope = self.rev, self.scope
        if op.opcode not in ("for", "while"):
            return
        offset = 1 if op.opcode == "for" else 0
        inits = op.operands[3:] if offset else op.operands
        for k, r in enumerate(op.results):
            arg = op.regions[-1].args[offset + k]
            # (the plan made sure nothing reads its values before the nest is over)
            if (r.name not in scope.subst and rev.lineages.of(r) is None
                    and rev.write_only(op, arg)
                    and self.ensure(inits[k], self.level.index[id(op)])):
                self.bind(r.name, scope.map(inits[k]))
