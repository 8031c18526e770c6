"""Which primal values the reverse sweep reads: the to-be-recorded analysis of reverse mode.

Tapenade saves an overwritten variable only when the reverse sweep reads it (its
"to-be-recorded" analysis); adgen does the same for the elements of arrays that loops
overwrite. A value is *needed* when an adjoint rule reads it (an operand of anything
but a sum, a difference or a move), when control flow reads it (a condition, a loop
bound, an index), or when a needed value is recomputed from it (a rule may read its
op's result, which is recomputed from the operands). Values flow into arrays through
writes, but the reverse sweep reads an array's elements from the array
itself (restored by the undo log), never by recomputing the write: so the value a write
stores is needed only when the array is one that is recomputed whole (not tracked).

An array lineage whose elements are never needed (`u_new` in `u[i] = u_new[i]`, a
buffer that is only copied) keeps no undo log: its overwritten elements are never read.
"""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, const_value, walk_ops
from adgen.transforms.undo import SHAPE_ONLY, WRITES, Lineages

# adjoint rules that read none of these operands' values (sums, differences, moves; not a
# quotient's numerator: the rule of the denominator reads the quotient)
LINEAR = {"add": (0, 1), "sub": (0, 1), "neg": (0,), "copy": (0,),
          "cast": (0,), "reshape": (0,), "transpose": (0,), "sum": (0,), "mean": (0,),
          "expand_dims": (0,)}


def needed_values(fn: Function, lineages: Lineages) -> set[str]:
    """Names of the values of `fn` whose values the reverse sweep may read (see the
    module docstring): a conservative over-approximation.

    Example:
        >>> # needed_values(fn, Lineages(fn)) -> {"x", "r", "tmp_9", ...}
    """
    needed: set[str] = set()
    ops = list(walk_ops(fn.body))
    for op in ops:
        needed.update(v.name for v in _read_directly(op))
    while True:
        size = len(needed)
        for op in reversed(ops):
            _close(op, needed, lineages)
        if len(needed) == size:
            return needed


def logged_lineages(needed: set[str], lineages: Lineages) -> set[str]:
    """The tracked lineages whose overwritten elements the reverse sweep reads, from the
    function's `needed_values`."""
    roots = {lineages.root(name) for name in needed}
    return {lineage for lineage in lineages.tracked if lineage in roots}


def _read_directly(op):
    """Operands whose values `op`'s adjoint rule or control flow reads."""
    if op.opcode == "if":
        return op.operands
    if op.opcode == "for":
        return op.operands[:3]
    if op.opcode == "while":
        return ()
    if op.opcode in WRITES or op.opcode == "getitem":
        return op.operands[1:-1] if op.opcode in WRITES else op.operands[1:]
    if op.opcode in SHAPE_ONLY:
        return ()
    skip = LINEAR.get(op.opcode, ())
    return [v for k, v in enumerate(op.operands) if k not in skip]


def _close(op, needed: set[str], lineages: Lineages) -> None:
    """Recomputing a needed value reads what it is computed from."""
    if op.opcode == "if":
        for k, r in enumerate(op.results):
            if r.name in needed:
                needed.update(sub.yields[k].name for sub in op.regions)
        return
    if op.opcode in ("for", "while"):
        offset = 1 if op.opcode == "for" else 0
        inits = op.operands[3:] if offset else op.operands
        body = op.regions[-1]
        if op.opcode == "while":
            needed.update(v.name for v in op.regions[0].yields)
        for k, r in enumerate(op.results):
            args = [sub.args[offset + k] if sub is body else sub.args[k] for sub in op.regions]
            if r.name in needed or any(a.name in needed for a in args):
                needed.update((r.name, inits[k].name, body.yields[k].name))
                needed.update(a.name for a in args)
        return
    if not any(r.name in needed for r in op.results):
        return
    if op.opcode in WRITES:
        target = op.operands[0]
        needed.update(v.name for v in op.operands[:-1])
        if lineages.of(target) is None:  # recomputed whole, write included
            needed.add(op.operands[-1].name)
        return
    if op.opcode not in SHAPE_ONLY:  # a shape is known whatever the elements are
        needed.update(v.name for v in op.operands)


def unread_restores(rev, root: Op) -> set[int]:
    """The writes inside loop `root` whose overwritten element the reverse sweep never
    reads: before any op that reads the array runs again (forward), a loop overwrote the
    whole array (`for j in range(d): q[j] = ...`). In reverse, that loop's restores come
    after the write's and before the read, so the write needs neither tape nor restore.

    Example:
        >>> # for c in range(k):
        >>> #     for j in range(d): q[j] = s[c, j] * x[j]      # restored: read by c - 1
        >>> #     for j in range(d): q[j] += w[c, j] * x[j - 1]  # unread: q covered above
        >>> #     total += q[0] * q[0]
    """
    found: set[int] = set()
    defs, created = _array_facts(rev)
    # a nest in the body of a loop reversed iteration by iteration (transforms/eager.py):
    # the ops before it in that body count, and a scratch array's elements on entry to
    # the body are dead (no iteration reads what another left, nothing after the loop)
    body, index, scratch = rev.eager_bodies.get(id(root), (None, None, frozenset()))
    outer = [(body, index)] if body is not None else []

    def visit(region: Region, path: list) -> None:
        for i, op in enumerate(region.ops):
            here = path + [(region, i)]
            lineage = rev.lineages.of(op.operands[0]) if op.opcode in WRITES else None
            if (lineage in rev.logged
                    and _covered(rev, defs, created, lineage, here, lineage in scratch)):
                found.add(id(op))
            for sub in op.regions:
                visit(sub, here)

    for sub in root.regions:
        visit(sub, outer)
    return found


def _array_facts(rev) -> tuple[dict, dict]:
    """The function's defining op per value name, and the ops that create each lineage's
    arrays (what `_length_of` compares sizes with)."""
    ops = list(walk_ops(rev.fn.body))
    defs = {r.name: op for op in ops for r in op.results}
    created: dict = {}
    for o in ops:
        if o.opcode not in WRITES + ("for", "while", "if"):
            for lineage in {rev.lineages.of(r) for r in o.results} - {None}:
                created.setdefault(lineage, []).append(o)
    return defs, created


def private_to_iterations(rev, loop: Op, lineage: str) -> bool:
    """Whether every iteration of `loop` overwrites all of `lineage` before it reads any of
    it (scratch arrays refilled per iteration), so that no iteration sees what another
    left there: going into the body, the first op that touches the array is a loop that
    writes every element and reads none, or a loop whose body is such a body in turn."""
    defs, created = _array_facts(rev)

    def private(region: Region) -> bool:
        for op in region.ops:
            if not _touches(rev, op, lineage):
                continue
            if _overwrites_all(rev, defs, created, op, lineage) and \
                    not _reads_elements(rev, op, lineage):
                return True
            return op.opcode == "for" and private(op.regions[0])
        return True

    return private(loop.regions[0])


def _touches(rev, op: Op, lineage: str) -> bool:
    """Whether `op` (its regions included) reads or writes elements of `lineage`."""
    for inner in [op, *(o for sub in op.regions for o in walk_ops(sub))]:
        if inner.opcode in SHAPE_ONLY or inner.opcode in ("for", "while", "if"):
            continue
        if any(rev.lineages.of(v) == lineage for v in inner.operands):
            return True
    return False


def _reads_elements(rev, op: Op, lineage: str) -> bool:
    """Whether `op` (its regions included) reads elements of `lineage` (a `+=` into it
    reads)."""
    for inner in [op, *(o for sub in op.regions for o in walk_ops(sub))]:
        if inner.opcode in SHAPE_ONLY or inner.opcode in ("for", "while", "if"):
            continue
        for k, v in enumerate(inner.operands):
            if rev.lineages.of(v) == lineage and not (k == 0 and inner.opcode == "setitem"):
                return True
    return False


def _covered(rev, defs: dict, created: dict, lineage: str, path: list,
             dead_on_entry: bool = False) -> bool:
    """Whether, going out from the write at the end of `path`, a loop overwriting all of
    `lineage` comes before anything reading it (or the outermost region's start, where
    the array's elements are `dead_on_entry`)."""
    for region, i in reversed(path):
        if _reads(rev, region.ops[i], lineage):
            return False
        for j in range(i - 1, -1, -1):
            if _overwrites_all(rev, defs, created, region.ops[j], lineage):
                return True
            if _reads(rev, region.ops[j], lineage):
                return False
    return dead_on_entry


def _reads(rev, op: Op, lineage: str) -> bool:
    """Whether the reverse sweep may read elements of `lineage` written before `op`."""
    for inner in [op, *(o for sub in op.regions for o in walk_ops(sub))]:
        if inner.opcode in ("for", "while", "if") or inner.opcode in SHAPE_ONLY:
            continue
        for k, v in enumerate(inner.operands):
            if rev.lineages.of(v) != lineage or (k == 0 and inner.opcode in WRITES):
                continue
            if inner.opcode == "getitem" and inner.results[0].name not in rev.needed:
                continue
            return True
    return False


def _overwrites_all(rev, defs: dict, created: dict, op: Op, lineage: str) -> bool:
    """`for j in range(n): a[j] = ...` (a write each iteration) with n the length of
    the 1-D arrays of `lineage`."""
    if op.opcode != "for":
        return False
    start, stop, step = op.operands[:3]
    if _const(defs, start) != 0 or _const(defs, step) != 1:
        return False
    index = op.regions[0].args[0]
    writes = [w for w in op.regions[0].ops if w.opcode in WRITES
              and rev.lineages.of(w.operands[0]) == lineage and w.operands[0].type.ndim == 1
              and len(w.operands) == 3 and w.operands[1].name == index.name
              and w.attr("index") == ("i",)]
    return bool(writes) and _length_of(rev, defs, created, stop, lineage)


def _const(defs: dict, v):
    return const_value(defs.get(v.name))


def _length_of(rev, defs: dict, created: dict, n, lineage: str) -> bool:
    """Whether `n` is the length of every array of `lineage`: its `dim`, or the size all
    of the lineage's arrays were created with."""
    op = defs.get(n.name)
    if (op is not None and op.opcode == "dim" and op.attr("axis") == 0
            and rev.lineages.of(op.operands[0]) == lineage):
        return True
    if any(rev.lineages.of(p) == lineage for p in rev.fn.params):
        return False
    ops = created.get(lineage, [])
    return bool(ops) and all(o.opcode in ("empty", "zeros", "ones")
                             and [v.name for v in o.operands] == [n.name] for o in ops)
