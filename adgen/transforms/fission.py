"""Work of an inner loop that does not depend on its enclosing loop, done once (fission).

A helper called once per output recomputes what does not depend on that output. An
MLP's logits, one class at a time:

    for c in range(n_classes):
        z = b2[c]
        for k in range(h):
            a = b1[k]
            for j in range(d):
                a += X[i, j] * W1[j, k]      # the same for every c
            z += math.tanh(a) * W2[k, c]

The k loop's body holds a part that reads only k and values from outside the c loop
(`a`, its j loop, `tanh(a)`): its *invariant part*. This pass splits the k loop in two
(loop fission): a loop over k that stores the invariant part's results in buffers, one
element per k, allocated once on entry, run once before the c loop; and the k loop,
reading them. The primal does the invariant work once instead of once per c, and reverse
mode sums the c loop's adjoints of `tanh(a)` in the buffer's adjoint before it goes back
through the j loop, once (as a hand-written adjoint does).

Where a loop just before the c loop computes the same invariant part (the first class's
call, outside the c loop: `mx = logit(0)`), that loop is split instead and its buffers
serve both; otherwise the new loop runs only when the c loop runs at least once (its
reads might be out of bounds where the c loop never runs).

A k loop is split when:
* its enclosing loop L is a `for` loop, and every loop enclosing L too (the buffers are
  threaded through them as carried arrays; not through `while`, `if` or prange);
* k steps by 1, and its bounds can be computed on entry to the function (constants,
  parameters' shapes and integer arithmetic on them) and do not change inside L: the
  buffers are allocated once, before every loop;
* the invariant part holds a loop (scalar work is hoisted by simplify's LICM without a
  buffer), and the values the rest of the body takes from it are scalars (only those
  that change with k are buffered; the others stay in the rest too);
* the invariant part is pure: no writes, no allocation, and the arrays it reads are
  written nowhere in the function.

Example:
    >>> # hoist_invariant_parts(typed_fn): the k loop above becomes
    >>> # for k in range(h): tanh_a[k] = tanh(b1[k] + sum_j X[i, j] W1[j, k])  (before c)
    >>> # for c ...: for k in range(h): z += tanh_a[k] * W2[k, c]
"""

from __future__ import annotations

import re
from dataclasses import replace

from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, const_value, defined_in, make_attrs, rename_uses, walk_ops
from adgen.ir.types import F32, F64, I64, ArrayType
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.transforms.clone import Scope, clone_op, free_values
from adgen.transforms.specialize import all_names
from adgen.transforms.undo import WRITES, Lineages

# integer and shape arithmetic, recomputed wherever it is needed (cheap, cannot raise)
_CHEAP = frozenset({"const", "dim", "len", "size", "add", "sub", "mul", "neg", "maximum",
                    "minimum"})
_LOOPS = ("for", "while")
_BUFFERED = (F64, F32, I64)


def hoist_invariant_parts(fn: Function) -> Function:
    """`fn` (typed primal IR) with the invariant parts of inner loops computed once, before
    the loop enclosing them, into buffers allocated on entry.

    Example:
        >>> # hoist_invariant_parts(typed_fn)
    """
    lineages = Lineages(fn, check=False)
    written = {lineages.root(op.operands[0].name) for op in walk_ops(fn.body)
               if op.opcode in WRITES}
    splitter = _Splitter(fn, lineages, written)
    body, _ = splitter.block(fn.body, threadable=True)
    if not splitter.entry:
        return fn
    return replace(fn, body=Region(body.args, tuple(splitter.entry) + body.ops, body.yields))


class _Splitter:
    def __init__(self, fn: Function, lineages: Lineages, written: set):
        self.fn = fn
        self.lineages, self.written = lineages, written
        self.defs = {r.name: op for op in walk_ops(fn.body) for r in op.results}
        self.params = {p.name for p in fn.params}
        self.names = NameTable(all_names(fn))
        self.entry: list[Op] = []            # sizes and buffers, on entry
        self.on_entry: dict[str, Value] = {}  # value name -> its recomputation on entry

    # blocks ------------------------------------------------------------------------------
    def block(self, region: Region, threadable: bool) -> tuple[Region, list]:
        """`region` rewritten, and the buffers it writes: (value on entry, value after)."""
        out: list[Op] = []
        writes: list[tuple[Value, Value]] = []
        for op in region.ops:
            if op.opcode == "for":
                inner = threadable and not op.attr("parallel")
                body, inner_writes = self.block(op.regions[0], inner)
                op = replace(op, regions=(body,))
                if inner_writes:
                    op = thread_through(op, inner_writes, self.names)
                    writes += [(start, after) for (start, _), after in
                               zip(inner_writes, op.results[-len(inner_writes):])]
                if inner:
                    op = self.split_inside(op, out, writes)
            elif op.regions:  # buffers are not threaded through `if` and `while`
                op = replace(op, regions=tuple(self.block(r, False)[0] for r in op.regions))
            out.append(op)
        return Region(region.args, tuple(out), region.yields), writes

    def split_inside(self, loop: Op, before: list, writes: list) -> Op:
        """`loop` (L) with its inner loops' invariant parts moved out, into loops appended
        to `before` (the ops preceding L in its block) or into a split loop there."""
        body = loop.regions[0]
        inside = defined_in(loop)
        tops = {r.name: op for op in body.ops for r in op.results}
        invariant_memo: dict[str, bool] = {}

        def outside(v: Value) -> bool:
            """Defined outside L, or by cheap arithmetic of L's body on such values."""
            if v.name not in inside:
                return True
            if v.name not in invariant_memo:
                op = tops.get(v.name)
                invariant_memo[v.name] = (op is not None and op.opcode in _CHEAP
                                          and all(outside(u) for u in op.operands))
            return invariant_memo[v.name]

        ops = list(body.ops)
        for n, inner in enumerate(ops):
            if inner.opcode != "for" or inner.attr("parallel"):
                continue
            if not all(outside(v) for v in inner.operands[:3]) or not self.steps_by_one(inner):
                continue
            part = self.invariant_part(inner, outside)
            if part is None:
                continue
            reads = self.split_sibling(inner, part, before, writes)
            if reads is None:
                reads = self.hoist(loop, inner, part, outside, before, writes)
            if reads is not None:
                ops[n] = self.reading(inner, part, reads)
        return replace(loop, regions=(Region(body.args, tuple(ops), body.yields),))

    # the invariant part ------------------------------------------------------------------
    def invariant_part(self, loop: Op, outside) -> tuple | None:
        """(ops of `loop`'s body that depend only on its index and on `outside` values,
        in order; the ones of those the rest of the body reads) or None."""
        body = loop.regions[0]
        index = body.args[0]
        mine: set[str] = set()
        part = []
        for op in body.ops:
            used = list(op.operands) + (free_values(op) if op.regions else [])
            if self.pure(op) and all(v.name == index.name or v.name in mine or outside(v)
                                     for v in used):
                part.append(op)
                mine.update(r.name for r in op.results)
        moved = self.moved(index, part)
        if not any(op.opcode in _LOOPS and id(op) in moved for op in part):
            return None
        frontier = self.frontier(body, part)
        if not frontier or any(v.type not in _BUFFERED for v in frontier):
            return None
        if not (self.enterable(loop.operands[0]) and self.enterable(loop.operands[1])):
            return None
        return part, frontier

    def frontier(self, body: Region, part: list) -> list[Value]:
        """The values of `part` that depend on the index and that the rest of `body`
        reads (the others are computed again in the rest, not buffered)."""
        moved = self.moved(body.args[0], part)
        mine = {r.name: r for op in part if id(op) in moved for r in op.results}
        used: dict[str, Value] = {}
        for op in body.ops:
            if id(op) in moved:
                continue
            for v in list(op.operands) + (free_values(op) if op.regions else []):
                if v.name in mine:
                    used[v.name] = v
        for v in body.yields:
            if v.name in mine:
                used[v.name] = v
        return [r for op in part for r in op.results if r.name in used]

    @staticmethod
    def moved(index: Value, part: list) -> set[int]:
        """The ops of `part` that depend on the loop's index (at any depth): they move to
        the filling loop. The others (constants, values that do not change in the loop)
        stay in the rest as well."""
        varying, ids = {index.name}, set()
        for op in part:
            used = list(op.operands) + (free_values(op) if op.regions else [])
            if any(v.name in varying for v in used):
                varying.update(r.name for r in op.results)
                ids.add(id(op))
        return ids

    def pure(self, op: Op) -> bool:
        """No write, allocation or effect (at any depth); arrays read are never written;
        a scalar result."""
        if any(isinstance(r.type, ArrayType) for r in op.results):
            return False
        if op.opcode in ("for", "if"):
            return all(self.pure(inner) for region in op.regions for inner in region.ops)
        if op.opcode == "while":
            return False
        prim = registry.get(op.opcode)
        if not prim.pure or prim.effect or prim.inplace_operand is not None:
            return False
        return not any(isinstance(v.type, ArrayType)
                       and self.lineages.root(v.name) in self.written for v in op.operands)

    def steps_by_one(self, loop: Op) -> bool:
        return const_value(self.defs.get(loop.operands[2].name)) == 1

    # on entry ----------------------------------------------------------------------------
    def enterable(self, v: Value) -> bool:
        """Whether `v` can be computed on entry: constants, parameters (their shapes) and
        cheap arithmetic on them."""
        if v.name in self.params:
            return True
        op = self.defs.get(v.name)
        return op is not None and op.opcode in _CHEAP and all(
            self.enterable(u) for u in op.operands)

    def on_entry_value(self, v: Value) -> Value | None:
        """`v` (`enterable`) computed again on entry to the function."""
        if v.name in self.params:
            return v
        if v.name in self.on_entry:
            return self.on_entry[v.name]
        op = self.defs[v.name]
        operands = [self.on_entry_value(u) for u in op.operands]
        new = Value(self.names.fresh(v.name), v.type)
        self.entry.append(Op(op.opcode, tuple(operands), (new,), op.attrs, (), op.loc))
        self.on_entry[v.name] = new
        return new

    def buffers(self, loop: Op, frontier: list) -> tuple[Value, list[Value]]:
        """The length of `loop`'s range on entry, and a buffer per frontier value."""
        start, stop = loop.operands[:2]
        b = Builder(self.names, loop.loc)
        b.open_block()
        n = self.on_entry_value(stop)
        if not self.is_zero(start):
            n = b.emit("sub", n, self.on_entry_value(start), name="n")
        if self.defs.get(stop.name) is None or self.defs[stop.name].opcode not in (
                "dim", "len", "size") or not self.is_zero(start):
            n = b.emit("maximum", n, b.const(0, I64), name="n")
        bufs = [b.emit("empty", n, attrs={"dtype": v.type.name}, name=_buffer_name(v, self.defs))
                for v in frontier]
        self.entry += b.pop_block()
        return n, bufs

    def is_zero(self, v: Value) -> bool:
        return const_value(self.defs.get(v.name)) == 0

    # the loop that fills the buffers ------------------------------------------------------
    def filling(self, loop: Op, part: list, frontier: list, count: Value, bufs: list,
                scope: Scope, loc) -> tuple[list[Op], tuple[Value, ...]]:
        """Ops computing `part` for every index of `loop` into `bufs`: `for j in
        range(count)`, the index being start + j (`scope` maps outside values)."""
        b = Builder(self.names, loc)
        b.open_block()
        index = loop.regions[0].args[0]
        j = b.value(index.name, I64)
        carried = [b.value(buf.name, buf.type) for buf in bufs]
        inner = scope.child()
        start = scope.map(loop.operands[0])
        inner.subst[index.name] = j if self.is_zero(loop.operands[0]) else b.emit(
            "add", start, j, name=index.name)
        for op in part:
            b.append(clone_op(op, inner, self.names, True))
        after = [b.emit("setitem", buf, j, inner.map(v), attrs={"index": ("i",)},
                        name=buf.name) for buf, v in zip(carried, frontier)]
        region = b.close_block([j, *carried], after)
        b.open_block()
        zero, one = b.const(0, I64), b.const(1, I64)
        results = b.control("for", (zero, count, one, *bufs), [region],
                            [buf.name for buf in bufs], [buf.type for buf in bufs])
        return b.pop_block(), results

    def split_sibling(self, inner: Op, part: tuple, before: list, writes: list):
        """Split the loop of `before` that computes the same invariant part as `inner`'s,
        if there is one: {frontier name of `inner`: buffer} or None."""
        ops, frontier = part
        for n in range(len(before) - 1, -1, -1):
            other = before[n]
            if other.opcode != "for" or other.attr("parallel"):
                continue
            mapping = self.match(inner, ops, other)
            if mapping is None or not (self.enterable(other.operands[0])
                                       and self.enterable(other.operands[1])):
                continue
            other_part = [op for op in other.regions[0].ops if id(op) in mapping[1]]
            mine = self.frontier(other.regions[0], other_part)
            names = {v.name for v in mine}
            mine += [Value(mapping[0][v.name], v.type) for v in frontier
                     if mapping[0][v.name] not in names]
            moved = self.moved(other.regions[0].args[0], other_part)
            shared = {r.name for op in other_part if id(op) not in moved
                      for r in op.results}
            if any(v.type not in _BUFFERED or v.name in shared for v in mine):
                return None
            count, bufs = self.buffers(other, mine)
            filled, results = self.filling(other, other_part, mine, count, bufs, Scope(),
                                           other.loc)
            by_name = dict(zip((v.name for v in mine), results))
            rest = self.reading(other, (other_part, mine), dict(zip(
                (v.name for v in mine), results)))
            before[n:n + 1] = filled + [rest]
            writes += list(zip(bufs, results))
            return {v.name: by_name[mapping[0][v.name]] for v in frontier}
        return None

    def hoist(self, loop: Op, inner: Op, part: tuple, outside, before: list, writes: list):
        """A loop before `loop` (run when `loop` runs) filling buffers with `inner`'s
        invariant part: {frontier name: buffer}."""
        ops, frontier = part
        count, bufs = self.buffers(inner, frontier)
        b = Builder(self.names, loop.loc)
        b.open_block()
        scope = Scope()
        tops = {r.name: op for op in loop.regions[0].ops for r in op.results}
        inside = defined_in(loop)

        def bring(v: Value) -> None:  # L's cheap invariant arithmetic, recomputed before L
            if v.name in inside and v.name not in scope.subst:
                op = tops[v.name]
                for u in op.operands:
                    bring(u)
                b.append(clone_op(op, scope, self.names, True))

        used = [v for op in ops for v in list(op.operands) + (
            free_values(op) if op.regions else [])] + list(inner.operands[:3])
        for v in used:
            if outside(v):
                bring(v)
        trips = b.emit("trip_count", *loop.operands[:3], name="trips")
        runs = b.emit("gt", trips, b.const(0, I64), name="runs")
        count = b.emit("select", runs, count, b.const(0, I64), name="count")
        pre = b.pop_block()
        filled, results = self.filling(inner, ops, frontier, count, bufs, scope, inner.loc)
        before += pre + filled
        writes += list(zip(bufs, results))
        return {v.name: r for v, r in zip(frontier, results)}

    def reading(self, loop: Op, part: tuple, reads: dict) -> Op:
        """`loop` without its invariant part: its frontier values read from the buffers."""
        ops, frontier = part
        body = loop.regions[0]
        index = body.args[0]
        dropped = self.moved(index, ops)
        b = Builder(self.names, loop.loc)
        b.open_block()
        at = index if self.is_zero(loop.operands[0]) else b.emit(
            "sub", index, loop.operands[0], name="at")
        for v in frontier:
            b.append(Op("getitem", (reads[v.name], at), (v,), make_attrs({"index": ("i",)}),
                        (), loop.loc))
        new_ops = b.pop_block() + [op for op in body.ops if id(op) not in dropped]
        return replace(loop, regions=(Region(body.args, tuple(new_ops), body.yields),))

    # matching ----------------------------------------------------------------------------
    def match(self, inner: Op, ops: list, other: Op):
        """Whether `other` computes `ops` (the invariant part of `inner`) over the same
        range: (names of `inner`'s values -> `other`'s, ids of `other`'s matching ops)."""
        if not all(self.same(a, b, {}) for a, b in zip(inner.operands[:3], other.operands[:3])):
            return None
        body, theirs = inner.regions[0], other.regions[0]
        names = {body.args[0].name: theirs.args[0].name}
        matched: set[int] = set()
        at = 0
        for op in ops:
            for k in range(at, len(theirs.ops)):
                trial = dict(names)
                if self.same_op(op, theirs.ops[k], trial):
                    names, at = trial, k + 1
                    matched.add(id(theirs.ops[k]))
                    break
            else:
                return None
        # what the matched ops read: the index, each other, or values from outside `other`
        mine = {r.name for op in theirs.ops if id(op) in matched for r in op.results}
        outside = defined_in(other)
        for op in theirs.ops:
            if id(op) in matched:
                for v in list(op.operands) + (free_values(op) if op.regions else []):
                    if v.name not in mine and v.name != theirs.args[0].name and \
                            v.name in outside:
                        return None
        return names, matched

    def same_op(self, a: Op, b: Op, names: dict) -> bool:
        if (a.opcode != b.opcode or a.attrs != b.attrs or len(a.operands) != len(b.operands)
                or len(a.regions) != len(b.regions) or len(a.results) != len(b.results)
                or any(x.type != y.type for x, y in zip(a.results, b.results))):
            return False
        if not all(self.same(x, y, names) for x, y in zip(a.operands, b.operands)):
            return False
        for ra, rb in zip(a.regions, b.regions):
            if len(ra.args) != len(rb.args) or len(ra.ops) != len(rb.ops) or \
                    len(ra.yields) != len(rb.yields):
                return False
            names.update({x.name: y.name for x, y in zip(ra.args, rb.args)})
            if not all(self.same_op(x, y, names) for x, y in zip(ra.ops, rb.ops)):
                return False
            if not all(self.same(x, y, names) for x, y in zip(ra.yields, rb.yields)):
                return False
        names.update({x.name: y.name for x, y in zip(a.results, b.results)})
        return True

    def same(self, a: Value, b: Value, names: dict) -> bool:
        """Whether `a` and `b` are equal values: matched, the same, or the same cheap
        arithmetic (or read of an array never written) on equal values."""
        if a.name in names:
            return names[a.name] == b.name
        if a.name == b.name:
            return True
        da, db = self.defs.get(a.name), self.defs.get(b.name)
        if da is None or db is None or a.type != b.type or da.regions or db.regions:
            return False
        if da.opcode not in _CHEAP and not (da.opcode == "getitem" and self.pure(da)):
            return False
        return (da.opcode == db.opcode and da.attrs == db.attrs
                and len(da.operands) == len(db.operands)
                and all(self.same(x, y, names) for x, y in zip(da.operands, db.operands)))


def thread_through(loop: Op, writes: list, names: NameTable) -> Op:
    """`loop` (a `for`) carrying the arrays its body writes, `writes` = [(value on entry,
    value at the end of the body)]: each one's value on entry becomes an initial value, a
    region argument inside and a result (appended after the loop's own).

    Example:
        >>> # thread_through(loop, [(buf, buf_filled)], names)
    """
    body = loop.regions[0]
    args, renames = [], {}
    for start, _ in writes:
        arg = Value(names.fresh(start.name), start.type)
        args.append(arg)
        renames[start.name] = arg
    inner = rename_uses(body, renames)
    region = Region(body.args + tuple(args), inner.ops,
                    inner.yields + tuple(renames.get(a.name, a) for _, a in writes))
    results = tuple(Value(names.fresh(start.name), start.type) for start, _ in writes)
    return replace(loop, operands=loop.operands + tuple(s for s, _ in writes),
                   results=loop.results + results, regions=(region,))


def _buffer_name(v: Value, defs: dict) -> str:
    """`tanh_a` for tanh(a), else the value's own name (without its SSA suffix)."""
    op = defs.get(v.name)
    base = re.sub(r"_\d+$", "", v.name)
    if op is not None and len(op.operands) == 1 and not op.regions:
        operand = re.sub(r"_\d+$", "", op.operands[0].name)
        if not re.fullmatch(r"tmp|c", operand):
            return f"{op.opcode}_{operand}"
    return base
