"""Copying ops under a substitution of values, optionally with fresh names
(for recomputation of primal code inside the reverse sweep)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from adgen.ir.builder import NameTable
from adgen.ir.ops import Op, Region
from adgen.ir.values import Value


@dataclass(frozen=True)
class Entering:
    """A tracked array as an op of the forward sweep found it (reverse mode): the value
    and the original name of the lineage's array before the op, the undo log's length
    then (`mark`), and a copy of the array where a branch replaces it (`saved`)."""

    value: Value | None = None
    orig: str | None = None
    mark: Value | None = None
    saved: Value | None = None


@dataclass
class Scope:
    """What the original values are called here (`subst`), and the tapes of the
    loops taped here (keyed by the original loop op's id)."""

    subst: dict[str, Value] = field(default_factory=dict)
    tapes: dict[int, object] = field(default_factory=dict)
    lineage_value: dict[str, Value] = field(default_factory=dict)  # array lineage -> value now
    entering: dict[tuple, Entering] = field(default_factory=dict)  # by (op id, lineage)
    lineage_orig: dict[str, str] = field(default_factory=dict)  # lineage -> original name now
    spans: dict[int, tuple] = field(default_factory=dict)  # inner loop id -> (start, count)
    restores: dict[int, Value] = field(default_factory=dict)  # write id -> element it overwrote
    nest: object = None  # the plan of the nest whose reverse iteration this is (transforms.nest)

    def child(self) -> "Scope":
        return Scope(dict(self.subst), dict(self.tapes), dict(self.lineage_value),
                     dict(self.entering), dict(self.lineage_orig), dict(self.spans),
                     dict(self.restores), self.nest)

    def found(self, op: Op, lineage: str) -> Entering:
        """How `op` found the array of `lineage` (all fields None if nothing was noted)."""
        return self.entering.get((id(op), lineage), Entering())

    def note(self, op: Op, lineage: str, **fields) -> None:
        """Record fields of `Entering` for `op` and `lineage` (a new record: a child
        scope's notes never change its parent's)."""
        self.entering[(id(op), lineage)] = replace(self.found(op, lineage), **fields)

    def map(self, value: Value) -> Value:
        return self.subst.get(value.name, value)

    def op(self, op: Op) -> Op:
        """`op` with its operands and results as they are called in this scope."""
        return Op(op.opcode, tuple(self.map(v) for v in op.operands),
                  tuple(self.map(r) for r in op.results), op.attrs, op.regions, op.loc)


def fresh_value(names: NameTable, value: Value) -> Value:
    return Value(names.fresh(value.name), value.type)


def clone_op(op: Op, scope: Scope, names: NameTable, fresh: bool) -> Op:
    """A copy of `op` reading `scope`'s values; new names for what it defines if `fresh`."""
    operands = tuple(scope.map(v) for v in op.operands)
    regions = tuple(clone_region(r, scope, names, fresh) for r in op.regions)
    results = []
    for r in op.results:
        new = fresh_value(names, r) if fresh else r
        scope.subst[r.name] = new
        results.append(new)
    return Op(op.opcode, operands, tuple(results), op.attrs, regions, op.loc)


def clone_region(region: Region, scope: Scope, names: NameTable, fresh: bool) -> Region:
    inner = scope.child()
    args = []
    for a in region.args:
        new = fresh_value(names, a) if fresh else a
        inner.subst[a.name] = new
        args.append(new)
    ops = tuple(clone_op(op, inner, names, fresh) for op in region.ops)
    return Region(tuple(args), ops, tuple(inner.map(v) for v in region.yields))


def free_values(op: Op) -> list[Value]:
    """Values used inside `op`'s regions but defined outside it, in order of first use."""
    defined: set[str] = set()
    found: dict[str, Value] = {}

    def visit(region: Region) -> None:
        defined.update(a.name for a in region.args)
        for inner in region.ops:
            for v in inner.operands:
                if v.name not in defined:
                    found.setdefault(v.name, v)
            for sub in inner.regions:
                visit(sub)
            defined.update(r.name for r in inner.results)
        for v in region.yields:
            if v.name not in defined:
                found.setdefault(v.name, v)

    for region in op.regions:
        visit(region)
    return list(found.values())
