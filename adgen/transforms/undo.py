"""Array lineages and the undo log of reverse mode.

A *lineage* is the set of array values that share one buffer in the user's
program: an array, the results of writes into it (`a[i] = v`, `a[i] += v`),
and the values a loop or an `if` carries it through. A lineage written inside
a loop is *tracked*: every write into it first records the overwritten
element in the lineage's log, so the reverse sweep can restore the array of
any iteration in place (`log_undo_to`, `log_undo_last`) instead of keeping a
copy per iteration: memory O(writes), time proportional to the user's loop.

A lineage that a loop writes but never reads inside it (`out[i, j] = acc`, the
output of a convolution) needs neither a log nor a tape: the reverse sweep
reads only its adjoint, so recomputed writes are dead and DCE removes them.
Such *write-only* lineages are not tracked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adgen.errors import AdgenDerivativeError
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.types import ArrayType

WRITES = ("setitem", "index_add")
SHAPE_ONLY = ("dim", "len", "size")  # read an array's shape, never its elements


@dataclass(frozen=True)
class ArrayState:
    """The key under which reverse mode threads the current state of a tracked array
    through its reverse sweep, next to the adjoints (keyed by value name)."""

    lineage: str


class Lineages:
    """Union-find over array value names, and which lineages are tracked."""

    def __init__(self, fn: Function, check: bool = True):
        """`check=False`: the lineages of a function not yet prepared for reverse mode
        (`reverse.prepare_reverse` asks which arrays a loop tracks before it rewrites
        their slice assignments)."""
        self.parent: dict[str, str] = {}
        self.tracked: set[str] = set()
        self.written: dict[int, set[str]] = {}  # op id -> tracked lineages written inside
        self._join_region(fn.body)
        self._find_tracked(fn.body, 0)
        if check:
            self._check(fn.body, 0)
        self._record_writes(fn.body)

    def root(self, name: str) -> str:
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def of(self, value) -> str | None:
        """The tracked lineage of `value`, or None."""
        if not isinstance(value.type, ArrayType):
            return None
        r = self.root(value.name)
        return r if r in self.tracked else None

    def _union(self, a, b) -> None:
        if isinstance(a.type, ArrayType) and isinstance(b.type, ArrayType):
            ra, rb = self.root(a.name), self.root(b.name)
            if ra != rb:
                self.parent[rb] = ra

    def _join_region(self, region: Region) -> None:
        for op in region.ops:
            if op.opcode in WRITES:
                self._union(op.operands[0], op.result)
            elif op.opcode == "if":
                for k, r in enumerate(op.results):
                    for sub in op.regions:
                        self._union(r, sub.yields[k])
            elif op.opcode in ("for", "while"):
                offset = 1 if op.opcode == "for" else 0
                inits = op.operands[3:] if offset else op.operands
                body = op.regions[-1]
                for k, r in enumerate(op.results):
                    self._union(r, inits[k])
                    self._union(r, body.yields[k])
                    for sub in op.regions:
                        self._union(r, sub.args[offset + k] if sub is body else sub.args[k])
            for sub in op.regions:
                self._join_region(sub)

    def _find_tracked(self, region: Region, depth: int) -> None:
        """Track the lineages a loop carries, writes into and reads (at any depth of its
        body)."""
        for op in region.ops:
            if op.opcode in ("for", "while"):
                body = op.regions[-1]
                carried = body.args[1:] if op.opcode == "for" else body.args
                written = _written_roots(body, self)
                read = self.read_in(op)
                for arg in carried:
                    root = self.root(arg.name)
                    if isinstance(arg.type, ArrayType) and root in written and root in read:
                        self.tracked.add(root)
            for sub in op.regions:
                self._find_tracked(sub, depth)

    def _check(self, region: Region, depth: int) -> None:
        """Tracked arrays may only be written element by element, and not replaced by a
        fresh array inside a loop (the log could not restore that)."""
        for op in region.ops:
            for r in op.results:
                lineage = self.of(r)
                if lineage is None or op.opcode in ("if", "for", "while"):
                    continue
                if op.opcode in WRITES:
                    spec = dict(op.attrs).get("index", ("i",))
                    if any(part != "i" for part in spec) or len(spec) > 4:
                        raise AdgenDerivativeError(
                            f"{_where(op)}: reverse mode through a loop that assigns a slice "
                            "of an array is not supported yet; assign element by element")
                elif depth > 0:
                    raise AdgenDerivativeError(
                        f"{_where(op)}: reverse mode through a loop that both writes into an "
                        "array and replaces it by a new array is not supported yet")
            inner = depth + (1 if op.opcode in ("for", "while") else 0)
            for sub in op.regions:
                self._check(sub, inner)
            if op.opcode in ("for", "while"):
                body = op.regions[-1]
                args = body.args[1:] if op.opcode == "for" else body.args
                inits = op.operands[3:] if op.opcode == "for" else op.operands
                names: dict[str, list] = {}
                for a, init in zip(args, inits):
                    if self.of(a) is not None:
                        names.setdefault(self.of(a), []).append((_user_name(a.name), init))
                for both in names.values():
                    if len(both) < 2:
                        continue
                    (first, init1), (second, init2) = both[:2]
                    if init1.name != init2.name:  # two arrays, exchanged now and then
                        raise AdgenDerivativeError(
                            f"{_where(op)}: the loop exchanges `{first}` and `{second}` on "
                            "some iterations only (a swap under an `if`, or after a "
                            "`continue`); reverse mode follows the arrays a loop writes by "
                            "their places, which a swap must then exchange on every "
                            "iteration: swap unconditionally, or copy the contents instead "
                            f"(`{first}[:] = {second}`)")
                    raise AdgenDerivativeError(
                        f"{_where(op)}: `{first}` and `{second}` are one array here (the "
                        "loop writes it under both names), and reverse mode follows an "
                        "array written in a loop by one name; make the second a copy "
                        f"(`{second} = {first}.copy()`) if they are meant to be two arrays")

    def _record_writes(self, region: Region) -> set[str]:
        found: set[str] = set()
        for op in region.ops:
            inner: set[str] = set()
            for sub in op.regions:
                inner |= self._record_writes(sub)
            if op.regions:
                self.written[id(op)] = inner
            if op.opcode in WRITES and self.of(op.operands[0]) is not None:
                inner.add(self.of(op.operands[0]))
            found |= inner
        return found

    def written_in(self, op: Op) -> list[str]:
        return sorted(self.written.get(id(op), ()))

    def rebinds(self, region: Region, lineage: str) -> bool:
        """Whether `region` (a branch of an `if`) replaces the array of `lineage` by a new
        one (`u = u + w`), so that the array after the `if` is not the one before it."""
        for op in region.ops:
            if op.opcode in ("for", "while"):
                continue  # _check: loops never replace a tracked array
            if op.opcode == "if":
                if any(self.rebinds(sub, lineage) for sub in op.regions):
                    return True
            elif op.opcode not in WRITES and any(self.of(r) == lineage for r in op.results):
                return True
        return False

    def read_in(self, op: Op) -> set[str]:
        """The lineages whose elements `op`'s regions read (not counting writes into them,
        carrying them, or their shape)."""
        found = set()
        for region in op.regions:
            found |= _read_roots(region, self)
        return found


def _read_roots(region: Region, lineages: Lineages) -> set[str]:
    found = set()
    for op in region.ops:
        if op.opcode not in ("if", "for", "while") + SHAPE_ONLY:
            start = 1 if op.opcode in WRITES else 0
            found.update(lineages.root(v.name) for v in op.operands[start:]
                         if isinstance(v.type, ArrayType))
        for sub in op.regions:
            found |= _read_roots(sub, lineages)
    return found


def _written_roots(region: Region, lineages: Lineages) -> set[str]:
    found = set()
    for op in region.ops:
        if op.opcode in WRITES:
            found.add(lineages.root(op.operands[0].name))
        for sub in op.regions:
            found |= _written_roots(sub, lineages)
    return found


def _user_name(name: str) -> str:
    """The user's name of an SSA value (`u_new_2` -> `u_new`)."""
    return re.sub(r"(_\d+)+$", "", name) or name


def _where(op: Op) -> str:
    return f"{op.loc.file}:{op.loc.line}" if op.loc else "?"
