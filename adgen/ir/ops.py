"""Operations and regions of the structured SSA IR.

An `Op` has an opcode, operands, results, attributes and regions. Control
flow is structured: `if` (then/else regions yielding its results), `for`
(over `range(start, stop, step)`, carrying values through region arguments)
and `while` (a condition region and a body region). Every other opcode is a
primitive from `adgen.primitives`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from adgen.ir.values import Loc, Value

CONTROL_OPS = ("if", "for", "while")


@dataclass(frozen=True)
class Region:
    """A block of ops with arguments and the values it yields at its end."""

    args: tuple[Value, ...]
    ops: tuple["Op", ...]
    yields: tuple[Value, ...]


@dataclass(frozen=True)
class Op:
    """One operation. `attrs` is a sorted tuple of (name, value) pairs.

    Operand layout of the control ops:
      if:    (cond,)                 regions (then, else), no region args
      for:   (start, stop, step, *inits)  region (i, *carried) -> yields next carried;
             attribute `parallel` on a prange loop (see adgen.ir.parallel)
      while: (*inits)                regions (cond: carried -> (bool,), body: carried -> next)
    """

    opcode: str
    operands: tuple[Value, ...]
    results: tuple[Value, ...]
    attrs: tuple[tuple[str, Any], ...] = ()
    regions: tuple[Region, ...] = ()
    loc: Loc | None = field(default=None, compare=True)

    def attr(self, name: str, default: Any = None) -> Any:
        for key, value in self.attrs:
            if key == name:
                return value
        return default

    @property
    def result(self) -> Value:
        if len(self.results) != 1:
            raise ValueError(f"{self.opcode} has {len(self.results)} results")
        return self.results[0]


def make_attrs(attrs: dict | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((attrs or {}).items()))


def const_value(op: Op | None) -> Any:
    """The value of a `const` op; None for any other op, or for no op.

    Example:
        >>> # const_value(defs.get(step.name)) == 1   (a loop that steps by one)
    """
    return op.attr("value") if op is not None and op.opcode == "const" else None


def walk_ops(region: Region):
    """Every op of `region` and of its nested regions, in program order."""
    for op in region.ops:
        yield op
        for sub in op.regions:
            yield from walk_ops(sub)


def defined_in(op: Op) -> set[str]:
    """The names `op`'s regions define: their arguments and the results of the ops in
    them, at any depth (not `op`'s own results)."""
    names: set[str] = set()
    for region in op.regions:
        names.update(a.name for a in region.args)
        for inner in walk_ops(region):
            names.update(r.name for r in inner.results)
            for sub in inner.regions:
                names.update(a.name for a in sub.args)
    return names


def use_counts(op: Op) -> dict[str, int]:
    """How often each name is used inside `op`'s regions (as an operand or a yield)."""
    counts: dict[str, int] = {}
    for region in op.regions:
        region_use_counts(region, counts)
    return counts


def region_use_counts(region: Region, counts: dict | None = None) -> dict[str, int]:
    """How often each name is used inside `region` (as an operand or a yield), added to
    `counts` if given."""
    counts = {} if counts is None else counts
    for inner in walk_ops(region):
        for v in inner.operands:
            counts[v.name] = counts.get(v.name, 0) + 1
        for sub in inner.regions:
            for v in sub.yields:
                counts[v.name] = counts.get(v.name, 0) + 1
    for v in region.yields:
        counts[v.name] = counts.get(v.name, 0) + 1
    return counts


def rename_uses(region: Region, renames: dict) -> Region:
    """`region` with every use of a name in `renames` (a name -> Value map) replaced."""
    ops = []
    for op in region.ops:
        ops.append(replace(op, operands=tuple(renames.get(v.name, v) for v in op.operands),
                           regions=tuple(rename_uses(r, renames) for r in op.regions)))
    return Region(region.args, tuple(ops), tuple(renames.get(v.name, v) for v in region.yields))
