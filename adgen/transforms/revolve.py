"""Binomial checkpointing (revolve) in reverse mode, for the loops `checkpoint_loops` marked.

Reverse mode tapes the carried values of every iteration of a loop. A `for` loop
marked with a byte budget (attribute `checkpoint_bytes`, adgen/transforms/checkpoint.py)
keeps instead `slots` snapshots of its carried values, `slots` chosen at run time
from the budget, and recomputes the rest on Griewank and Walther's binomial
schedule ("Algorithm 799: revolve", ACM TOMS 2000): reversing n steps with s
snapshots advances the least possible number of steps, r n - beta(s + 1, r - 1)
where beta(s, r) = C(s + r, s) and r is least with beta(s, r) >= n.

The schedule is followed online, one reverse step at a time, from the snapshot
stack alone (memory O(s), never O(n)): the snapshots hold the states at the
increasing steps `positions[0..depth]`, the first one the loop's start.

    forward sweep:
        n = trip_count(...); slots = clamp(budget // bytes per step, 1, n)
        snapshots[0] = carried values on entry; positions[0] = 0
        chain(to step n - 1)
        results = the body on step n - 1                        (the loop's results)
    reverse sweep:
        for i in n - 1 .. 0:       (carrying the state of step i, the stack, the adjoints)
            recompute the body on step i and run its reverse sweep (as for any loop)
            depth = checkpoint_below(positions, depth, i - 1); state = snapshots[depth]
            chain(to step i - 1)
    chain(to target), from the state of step p = positions[depth]:
        while p < target:
            m = revolve_split(target + 1 - p, slots - depth)   # adgen/codegen/support.py
            state = the body on steps p .. p + m - 1; p += m
            if p < target: depth += 1; snapshots[depth] = state; positions[depth] = p

Body evaluations: n forward, n in the reverse steps, plus the schedule's advances
beyond the first n - 1 (none when slots >= n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adgen.ir.builder import TAPE_SUFFIX
from adgen.ir.ops import Op, walk_ops
from adgen.ir.tapes import TAPE
from adgen.ir.types import I64, NUMPY_DTYPES, ArrayType, scalar_of
from adgen.ir.values import Value
from adgen.transforms.clone import clone_op, free_values, fresh_value
from adgen.transforms.zeros import materialize

CHECKPOINT_BYTES = "checkpoint_bytes"  # the loop attribute: bytes its snapshots may take


def is_checkpointed(op: Op) -> bool:
    """Whether reverse mode checkpoints loop `op` instead of taping it."""
    return op.opcode == "for" and op.attr(CHECKPOINT_BYTES) is not None


def _stored_slots(body) -> list[int]:
    """The carried values a step needs (read in the body or yielded): only they are
    snapshotted; the others are overwritten on every iteration."""
    read = {v.name for op in walk_ops(body) for v in op.operands}
    read |= {v.name for op in walk_ops(body) for sub in op.regions for v in sub.yields}
    read |= {v.name for v in body.yields}
    return [j for j, a in enumerate(body.args[1:]) if a.name in read]


def _split(values: list, sizes: list) -> list:
    """`values` cut into consecutive lists of these sizes."""
    parts, at = [], 0
    for size in sizes:
        parts.append(list(values[at:at + size]))
        at += size
    return parts


@dataclass(frozen=True)
class Checkpoints:
    """What the forward sweep of a checkpointed loop leaves to its reverse sweep."""

    count: Value        # iterations
    slots: Value        # snapshots
    depth: Value        # the deepest snapshot in use
    positions: Value    # the step of each snapshot
    snapshots: tuple    # one array of `slots` entries per stored carried value
    state: tuple        # the stored carried values on the last step


def checkpoint_forward(rev, op: Op, scope, fresh: bool) -> None:
    """The forward sweep of checkpointed loop `op` (`rev`: the reverse-mode transform)."""
    _Revolve(rev, op, scope).forward(fresh)


def checkpoint_reverse(rev, op: Op, cts: list, adj: dict, scope) -> None:
    """The reverse sweep of checkpointed loop `op`, given its results' cotangents."""
    _Revolve(rev, op, scope).reverse(cts, adj)


class _Revolve:
    def __init__(self, rev, op: Op, scope):
        self.rev, self.b, self.op, self.scope = rev, rev.b, op, scope
        self.body = op.regions[0]
        self.index = self.body.args[0]
        self.carried = self.body.args[1:]
        self.start, _, self.stride = (scope.map(v) for v in op.operands[:3])
        self.inits = [scope.map(v) for v in op.operands[3:]]
        self.stored = _stored_slots(self.body)

    # forward sweep --------------------------------------------------------------------
    def forward(self, fresh: bool) -> None:
        b, op = self.b, self.op
        zero, one = b.const(0, I64), b.const(1, I64)
        n = b.emit("trip_count", *(self.scope.map(v) for v in op.operands[:3]), name="n")
        slots = self.slot_count(n)
        positions = b.emit("empty", slots, attrs={"dtype": "i64", TAPE: True},
                           name="snapshot_step" + TAPE_SUFFIX)
        positions = b.emit("setitem", positions, zero, zero, name=positions.name)
        snapshots = [self.snapshot_array(j, slots) for j in self.stored]
        snapshots = [b.emit("setitem", s, zero, self.inits[j], name=s.name)
                     for s, j in zip(snapshots, self.stored)]
        last = b.emit("sub", n, one, name="last")
        state = [self.inits[j] for j in self.stored]
        depth, state, snapshots, positions = self.chain(zero, last, state, snapshots,
                                                        positions, slots)
        # the last step gives the loop's results; its state stays for the reverse sweep
        everything = dict(enumerate(self.inits))
        everything.update(zip(self.stored, state))
        results = [fresh_value(self.rev.names, r) if fresh else r for r in op.results]
        self.advance(b.emit("maximum", last, zero), n, everything, results)
        for r, new in zip(op.results, results):
            self.scope.subst[r.name] = new
        self.scope.tapes[id(op)] = Checkpoints(n, slots, depth, positions, tuple(snapshots),
                                               tuple(state))

    def slot_count(self, n: Value) -> Value:
        """max(min(budget // bytes per step, n), 1): a step stores its stored carried
        values and its position."""
        b = self.b
        step_bytes = b.const(8, I64)
        for j in self.stored:
            t = self.carried[j].type
            item = b.const(np.dtype(NUMPY_DTYPES[scalar_of(t).name]).itemsize, I64)
            if isinstance(t, ArrayType):
                item = b.emit("mul", b.emit("size", self.inits[j]), item)
            step_bytes = b.emit("add", step_bytes, item)
        fit = b.emit("floordiv", b.const(self.op.attr(CHECKPOINT_BYTES), I64), step_bytes)
        return b.emit("maximum", b.emit("minimum", fit, n), b.const(1, I64), name="slots")

    def snapshot_array(self, j: int, slots: Value) -> Value:
        b, t = self.b, self.carried[j].type
        name = self.carried[j].name + "_snapshot" + TAPE_SUFFIX
        if isinstance(t, ArrayType):
            dims = [b.emit("dim", self.inits[j], attrs={"axis": d}) for d in range(t.ndim)]
            return b.emit("empty", slots, *dims, attrs={"dtype": str(t.dtype), TAPE: True}, name=name)
        return b.emit("empty", slots, attrs={"dtype": str(t), TAPE: True}, name=name)

    # the schedule ------------------------------------------------------------------------
    def chain(self, depth: Value, target: Value, state: list, snapshots: list,
              positions: Value, slots: Value):
        """From the state of step positions[depth], advance to step `target`, taking the
        snapshots the binomial schedule places on the way. Returns the new depth, the
        state of step `target`, the snapshots and the positions."""
        b, count = self.b, len(state)
        inits = [b.emit("getitem", positions, depth, name="p"), depth, *state, *snapshots,
                 positions]
        hints = ["p", "depth", *self.state_names(), *(v.name for v in inits[2 + count:])]
        b.open_block()
        cond_args = [b.value(h, v.type) for h, v in zip(hints, inits)]
        cond = b.close_block(cond_args, [b.emit("lt", cond_args[0], target)])
        b.open_block()
        args = [b.value(h, v.type) for h, v in zip(hints, inits)]
        (p,), (k,), now, snaps, (pos,) = _split(args, [1, 1, count, count, 1])
        room = b.emit("sub", slots, k)
        m = b.emit("revolve_split", b.emit("sub", b.emit("add", target, b.const(1, I64)), p),
                   room, name="m")
        q = b.emit("add", p, m, name="p")
        now = self.advance(p, q, dict(zip(self.stored, now)))
        k, *snaps, pos = self.push(b.emit("lt", q, target), k, q, now, snaps, pos)
        body = b.close_block(args, [q, k, *now, *snaps, pos])
        results = b.control("while", inits, [cond, body], hints, [v.type for v in inits])
        _, (depth,), state, snapshots, (positions,) = _split(results, [1, 1, count, count, 1])
        return depth, state, snapshots, positions

    def state_names(self) -> list:
        return [self.carried[j].name for j in self.stored]

    def push(self, take: Value, depth: Value, step: Value, state: list, snapshots: list,
             positions: Value) -> list:
        """`if take`: one snapshot more, of `state` at `step`. Returns the depth, the
        snapshots and the positions after it."""
        b = self.b
        b.open_block()
        deeper = b.emit("add", depth, b.const(1, I64), name="depth")
        stored = [b.emit("setitem", s, deeper, v, name=s.name) for s, v in zip(snapshots, state)]
        at = b.emit("setitem", positions, deeper, step, name=positions.name)
        then = b.close_block((), [deeper, *stored, at])
        b.open_block()
        other = b.close_block((), [depth, *snapshots, positions])
        values = [depth, *snapshots, positions]
        return list(b.control("if", (take,), [then, other],
                              ["depth", *(v.name for v in values[1:])],
                              [v.type for v in values]))

    def advance(self, first: Value, stop: Value, values: dict, results=None) -> list:
        """The primal body on steps first .. stop - 1 (no tape), carrying `values`
        (carried slot -> value); returns the carried values after it."""
        b, body = self.b, self.body
        b.open_block()
        j = b.value("j", I64)
        args = {k: b.value(self.carried[k].name, self.carried[k].type) for k in values}
        inner = self.scope.child()
        inner.subst[self.index.name] = b.emit(
            "add", self.start, b.emit("mul", j, self.stride), name=self.index.name)
        for k, a in args.items():
            inner.subst[self.carried[k].name] = a
        for body_op in body.ops:
            b.append(clone_op(body_op, inner, self.rev.names, True))
        region = b.close_block([j, *args.values()], [inner.map(body.yields[k]) for k in values])
        if results is None:
            results = [b.value(self.carried[k].name, self.carried[k].type) for k in values]
        b.append(Op("for", (first, stop, b.const(1, I64), *values.values()), tuple(results),
                    (), (region,), self.op.loc))
        return list(results)

    # reverse sweep ----------------------------------------------------------------------
    def reverse(self, cts: list, adj: dict) -> None:
        """A loop over the steps, last first: each reverse step runs from the state the
        schedule restored and recomputed, then prepares the state of the step before."""
        rev, b, op = self.rev, self.b, self.op
        saved: Checkpoints = self.scope.tapes[id(op)]
        active = [j for j, a in enumerate(self.carried) if a.name in rev.active]
        free = [v for v in free_values(op) if v.name in rev.active]
        init_bars = [materialize(b, cts[j], self.inits[j]) for j in active]
        free_bars = [materialize(b, adj.get(v.name), self.scope.map(v)) for v in free]
        inits = [*saved.state, saved.depth, *saved.snapshots, saved.positions, *init_bars,
                 *free_bars]
        last = b.emit("sub", saved.count, b.const(1, I64))
        minus_one = b.const(-1, I64)

        count = len(self.stored)
        sizes = [count, 1, count, 1, len(active), len(free)]
        hints = [*self.state_names(), "depth", *(v.name for v in inits[count + 1:])]
        b.open_block()
        i = b.value("k", I64)
        args = [b.value(h, v.type) for h, v in zip(hints, inits)]
        state, (depth,), snapshots, (positions,), slot_bars, free_args = _split(args, sizes)
        next_bars = self.reverse_step(i, state, active, slot_bars, free, free_args)
        b.loc = op.loc
        before = b.emit("sub", i, b.const(1, I64))
        depth = b.emit("checkpoint_below", positions, depth, before, name="depth")
        restored = [b.emit("getitem", s, depth, name=self.carried[j].name)
                    for s, j in zip(snapshots, self.stored)]
        depth, state, snapshots, positions = self.chain(depth, before, restored, snapshots,
                                                        positions, saved.slots)
        region = b.close_block([i, *args], [*state, depth, *snapshots, positions, *next_bars])
        results = b.control("for", (last, minus_one, minus_one, *inits), [region], hints,
                            [v.type for v in inits])
        *_, slot_results, free_results = _split(results, sizes)
        for v, r in zip(free, free_results):
            adj[v.name] = r
        for j, r in zip(active, slot_results):
            rev.add_adjoint(adj, op.operands[3 + j], r)

    def reverse_step(self, i: Value, state: list, active: list, slot_bars: list, free: list,
                     free_bars: list) -> list:
        """The body's primal values recomputed on step `i` from `state`, then its reverse
        sweep: the adjoints of the carried values before the step and of the free values."""
        rev, b, body = self.rev, self.b, self.body
        inner = self.scope.child()
        inner.subst[self.index.name] = b.emit(
            "add", self.start, b.emit("mul", i, self.stride), name=self.index.name)
        for j, v in zip(self.stored, state):
            inner.subst[self.carried[j].name] = v
        rev.forward_sweep(body.ops, inner, fresh=True)
        body_adj = {v.name: a for v, a in zip(free, free_bars)}
        for j, a in zip(active, slot_bars):
            rev.add_adjoint(body_adj, body.yields[j], a)
        rev.reverse_sweep(body.ops, body_adj, inner)
        carried = [materialize(b, body_adj.get(self.carried[j].name),
                               inner.subst.get(self.carried[j].name, self.inits[j]))
                   for j in active]
        return carried + [materialize(b, body_adj.get(v.name), self.scope.map(v)) for v in free]
