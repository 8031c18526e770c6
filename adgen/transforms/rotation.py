"""Loops that rotate arrays (`u, u_new = u_new, u`), unrolled so every array keeps its slot
(for reverse mode).

A `for` loop whose carried arrays trade places each iteration (a buffer swap, three
buffers rotated) carries one array under two names, as far as a slot of the loop can
tell: which array slot 0 holds depends on the iteration's parity. Reverse mode follows
each array through the loop by its slot (its undo log, its taped elements), so the loop
is unrolled by the rotation's period p: its body runs p times per iteration, the roles
rotated from one copy to the next, and after p copies every array is back in its slot.
The n mod p iterations left run after the loop (each in an `if`), and the loop's results
are the arrays where n's rotation left them, copied (one copy per array per call).

Example:
    >>> # for t in range(n):                    for q in range(n // 2):
    >>> #     step(u, u_new)           ->           step(u, u_new); step(u_new, u)
    >>> #     u, u_new = u_new, u                if n % 2 >= 1: step(u, u_new)
    >>> #                                        u, u_new = (copies, by n % 2)
"""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.types import I64, ArrayType
from adgen.ir.values import Value
from adgen.transforms.clone import Scope, clone_op
from adgen.transforms.specialize import all_names

WRITES = ("setitem", "index_add")


def unroll_rotations(fn: Function) -> Function:
    """`fn` with every `for` loop that rotates its arrays unrolled by the period.

    Example:
        >>> # unroll_rotations(typed_fn)
    """
    if not any(_rotation(op) for op in walk_ops(fn.body)):
        return fn
    b = Builder(NameTable(all_names(fn)))
    return replace(fn, body=_Unroller(b).region(fn.body))


def _buffer(value: Value, defs: dict, args: dict):
    """The index of the body argument whose array `value` is (through writes, and `if`s
    and loops that keep it), or None."""
    seen = 0
    while value.name not in args and seen < 10_000:
        seen += 1
        op = defs.get(value.name)
        if op is None:
            return None
        if op.opcode in WRITES:
            value = op.operands[0]
        elif op.opcode == "if":
            k = list(op.results).index(value)
            found = {_buffer(sub.yields[k], defs, args) for sub in op.regions}
            return found.pop() if len(found) == 1 else None
        elif op.opcode in ("for", "while"):
            k = list(op.results).index(value)
            inner = op.regions[-1]
            offset = 1 if op.opcode == "for" else 0
            inner_args = {a.name: j for j, a in enumerate(inner.args[offset:])}
            if _buffer(inner.yields[k], _defs(inner), inner_args) != k:
                return None
            value = (op.operands[3:] if offset else op.operands)[k]
        else:
            return None
    return args.get(value.name)


def _defs(region: Region) -> dict:
    return {r.name: op for op in walk_ops(region) for r in op.results}


def _rotation(op: Op):
    """For a `for` loop whose carried arrays rotate: src, where slot k receives the array
    of slot src[k] each iteration; else None."""
    if op.opcode != "for":
        return None
    body = op.regions[0]
    args = body.args[1:]
    arrays = [k for k, a in enumerate(args) if isinstance(a.type, ArrayType)]
    if len(arrays) < 2:
        return None
    index = {a.name: k for k, a in enumerate(args)}
    defs = _defs(body)
    src = {}
    for k in arrays:
        j = _buffer(body.yields[k], defs, index)
        if j is None or j not in arrays:
            return None
        src[k] = j
    if sorted(src.values()) != arrays or all(src[k] == k for k in arrays):
        return None
    return src


def _period(src: dict) -> int:
    p, now = 1, dict(src)
    while any(now[k] != k for k in now):
        now = {k: src[now[k]] for k in now}
        p += 1
    return p


class _Unroller:
    def __init__(self, b: Builder):
        self.b = b
        self.subst: dict[str, Value] = {}  # an unrolled loop's results -> their new values

    def map(self, v: Value) -> Value:
        return self.subst.get(v.name, v)

    def region(self, region: Region) -> Region:
        b = self.b
        b.open_block()
        for op in region.ops:
            op = replace(op, operands=tuple(self.map(v) for v in op.operands))
            if op.regions:
                op = replace(op, regions=tuple(self.region(r) for r in op.regions))
            src = _rotation(op)
            if src is None:
                b.append(op)
            else:
                self.unroll(op, src)
        return b.close_block(region.args, [self.map(y) for y in region.yields])

    def step(self, body: Region, t: Value, values: list) -> list:
        """One copy of the loop body at loop index `t` on carried `values`."""
        scope = Scope()
        scope.subst[body.args[0].name] = t
        for a, v in zip(body.args[1:], values):
            scope.subst[a.name] = v
        for op in body.ops:
            self.b.append(clone_op(op, scope, self.b.names, True))
        return [scope.map(y) for y in body.yields]

    def index(self, start: Value, step: Value, position: Value) -> Value:
        b = self.b
        return b.emit("add", start, b.emit("mul", position, step), name="t")

    def unroll(self, op: Op, src: dict) -> None:
        b = self.b
        b.loc = op.loc
        body = op.regions[0]
        start, stop, stride = op.operands[:3]
        inits = list(op.operands[3:])
        p = _period(src)
        period = b.const(p, I64)
        n = b.emit("trip_count", start, stop, stride, name="n")
        rounds = b.emit("floordiv", n, period, name="rounds")
        done = b.emit("mul", rounds, period, name="done")
        left = b.emit("sub", n, done, name="left")
        # the unrolled loop: p copies of the body, every array back in its slot after them
        b.open_block()
        q = b.value("q", I64)
        carried = [b.value(a.name, a.type) for a in body.args[1:]]
        values = carried
        for r in range(p):
            position = b.emit("add", b.emit("mul", q, period), b.const(r, I64))
            values = self.step(body, self.index(start, stride, position), values)
        region = b.close_block([q] + carried, values)
        results = [b.value(r.name, r.type) for r in op.results]
        b.append(Op("for", (b.const(0, I64), rounds, b.const(1, I64), *inits), tuple(results),
                    op.attrs, (region,), op.loc))
        # the iterations left, each in an `if`; arrays listed by the array they hold
        arrays = sorted(src)
        sigma = [{k: k for k in arrays}]  # after s steps, slot k holds array sigma[s][k]
        for _ in range(p - 1):
            sigma.append({k: sigma[-1][src[k]] for k in arrays})
        held = list(results)
        for s in range(p - 1):
            cond = b.emit("gt", left, b.const(s, I64), name="more")
            b.open_block()
            slots = list(held)
            for k in arrays:
                slots[k] = held[sigma[s][k]]
            position = b.emit("add", done, b.const(s, I64))
            stepped = self.step(body, self.index(start, stride, position), slots)
            by_array = list(stepped)
            for k in arrays:
                by_array[sigma[s + 1][k]] = stepped[k]
            taken = b.close_block((), by_array)
            b.open_block()
            skipped = b.close_block((), held)
            held = [b.value(v.name, v.type) for v in held]
            b.append(Op("if", (cond,), tuple(held), (), (taken, skipped), op.loc))
        # the results: slot k holds the array of slot sigma[left][k], copied
        for k, result in enumerate(op.results):
            self.subst[result.name] = held[k] if k not in src else self.select(
                left, [held[s[k]] for s in sigma], result)

    def select(self, left: Value, options: list, result: Value) -> Value:
        """A copy of options[left]."""
        b = self.b
        if len(options) == 1:
            return b.emit("copy", options[0], name=result.name)
        cond = b.emit("eq", left, b.const(0, I64), name="even")
        b.open_block()
        first = b.close_block((), [b.emit("copy", options[0], name=result.name)])
        b.open_block()
        rest = self.select(b.emit("sub", left, b.const(1, I64)), options[1:], result)
        others = b.close_block((), [rest])
        out = b.value(result.name, result.type)
        b.append(Op("if", (cond,), (out,), (), (first, others), None))
        return out
