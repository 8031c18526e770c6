"""Reverse mode through a loop nest: one forward sweep, one reverse sweep.

The forward sweep runs the whole nest once and records, for every loop of it and
every iteration, what its reverse iteration needs and cannot recompute: the carried
values the body reads, the results of transcendental functions (`store`), the
results of inner loops, values that recomputing in the reverse sweep would compute
from elements overwritten since (`replay.unsafe_values`), the element each write
overwrites where the reverse sweep reads the array (`needed`; a write inside an
`if` goes to the undo log instead), and, for an inner loop whose trip count changes,
where its entries start and how many there are.

Tapes are allocated once, before the nest's outermost loop. A loop's tape holds one
entry per iteration of that loop over the whole nest, at a position that runs on
across the iterations of the enclosing loops: sized exactly from trip counts known
on entry to the nest (rectangular nests), otherwise grown by doubling (`push`).

The reverse sweep runs each loop backwards once. A reverse iteration starts with the
arrays as they were at the end of the forward iteration (the reverse iterations
after it undid their writes) and reads its tape entries; its reverse sweep undoes
each write as it passes it and recomputes the other values where it first reads
them (`transforms/replay.py`). No loop runs again, but one the plan recomputes
whole (it fills an array that the iteration reads after it), and no write into a
tracked array is redone.

Nests the plan does not cover (an `if` around an inner loop, an array an inner loop
rebinds, an array value computed from elements overwritten since, checkpointed and
independent parallel loops) are reversed loop by loop as before (`reverse.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adgen.ir.builder import TAPE_SUFFIX
from adgen.ir.ops import Op, Region, defined_in, walk_ops
from adgen.ir.parallel import without_parallel
from adgen.ir.tapes import ONE_ITERATION, TAPE
from adgen.ir.types import I64, ArrayType, Type
from adgen.ir.values import Value
from adgen.transforms.clone import fresh_value
from adgen.transforms.entries import EntryCount
from adgen.transforms.needed import unread_restores
from adgen.transforms.replay import Level, unsafe_values, value_demanded
from adgen.transforms.revolve import is_checkpointed
from adgen.transforms.store import stored_ops
from adgen.transforms.undo import SHAPE_ONLY, WRITES, ArrayState


class _NotCovered(Exception):
    """The nest has a construct the one-sweep plan does not cover."""


@dataclass(eq=False)
class Buffer:
    """One tape: an entry per iteration of `owner` (a scalar, or an array of `dims`)."""

    owner: "LoopTape"
    name: str
    entry: Type
    dims: tuple = ()  # the initial value whose shape an array entry has

    @property
    def type(self) -> ArrayType:
        if isinstance(self.entry, ArrayType):
            return ArrayType(self.entry.dtype, self.entry.ndim + 1)
        return ArrayType(self.entry, 1)


@dataclass(eq=False)
class LoopTape:
    """What the forward sweep records for one loop of a nest."""

    op: Op
    parent: "LoopTape | None"
    static: bool  # entries known on entry to the nest: preallocated, else grown
    counted: bool = False  # entries counted before the nest (a triangular loop): preallocated
    slots: tuple = ()  # carried slots taped
    inductions: dict = field(default_factory=dict)  # integer slot -> its step (recomputed)
    stored: tuple = ()  # body values read back, never recomputed
    writes: tuple = ()  # writes of the body whose overwritten element goes on the tape
    children: list = field(default_factory=list)  # inner loops with tapes of their own
    buffers: list = field(default_factory=list)
    slot_buffers: dict = field(default_factory=dict)  # slot -> Buffer
    stored_buffers: dict = field(default_factory=dict)  # value name -> Buffer
    start_buffers: dict = field(default_factory=dict)  # id(child op) -> (start, count)
    write_buffers: dict = field(default_factory=dict)  # id(write op) -> Buffer
    trips: Value | None = None  # a static inner loop's trip count, computed before the nest

    @property
    def preallocated(self) -> bool:
        return self.static or self.counted

    @property
    def offset(self) -> int:
        return 1 if self.op.opcode == "for" else 0

    @property
    def ancestors(self) -> list:
        """The loops around this one, outermost first."""
        out, t = [], self.parent
        while t is not None:
            out.append(t)
            t = t.parent
        return out[::-1]

    @property
    def body(self) -> Region:
        return self.op.regions[-1]

    def subtree(self):
        yield self
        for child in self.children:
            yield from child.subtree()


@dataclass(eq=False)
class NestPlan:
    root: LoopTape
    inside: frozenset  # names defined inside the nest
    loops: dict  # id(op) -> LoopTape
    defs: dict  # name defined inside the nest -> its op
    replayed: frozenset  # ids of the loops and `if`s recomputed whole in the reverse sweep
    written: frozenset  # the tracked lineages the nest writes: the arrays it moves in time
    invariant: frozenset = frozenset()  # names inside the nest computable before it
    unrestored: frozenset = frozenset()  # ids of writes whose old element nothing reads


@dataclass(eq=False)
class NestTape:
    """The forward sweep's record of a nest: the tapes as filled, the root's trip count."""

    plan: NestPlan
    final: dict  # Buffer -> the filled tape
    count: Value


# planning ------------------------------------------------------------------------------

def plan_nest(rev, root: Op) -> NestPlan | None:
    """The one-sweep plan of loop `root` and the loops inside it, or None where the nest
    has a construct it does not cover."""
    if is_checkpointed(root) or rev.independent(root):
        return None
    inside = defined_in(root)
    used = set()
    for op in walk_ops_all(root):
        used.update(v.name for v in op.operands)
        for sub in op.regions:
            used.update(v.name for v in sub.yields)
    defs = {r.name: op for op in walk_ops_all(root) for r in op.results}
    planner = _Planner(rev, frozenset(inside), used, defs, root)
    planner.unrestored = unread_restores(rev, root)
    try:
        tape = planner.loop(root, None, True)
    except _NotCovered:
        return None
    loops = {id(t.op): t for t in tape.subtree()}
    return NestPlan(tape, frozenset(inside), loops, defs, frozenset(planner.replayed),
                    frozenset(rev.lineages.written_in(root)),
                    frozenset(name for name, ok in planner.memo.items() if ok),
                    frozenset(planner.unrestored))


def carried_by(root: Op) -> dict:
    """Region argument name -> the loop carrying it and its slot, for the loops of a nest."""
    found = {}
    for op in [root] + [o for o in walk_ops_all(root) if o.opcode in ("for", "while")]:
        if op.opcode not in ("for", "while"):
            continue
        offset = 1 if op.opcode == "for" else 0
        for region in op.regions:
            args = region.args[offset:] if region is op.regions[-1] else region.args
            for k, a in enumerate(args):
                found[a.name] = (op, k)
    return found


def outer_array(v: Value, defs: dict, carried: dict, inside) -> Value | None:
    """The array from before the nest that `v` is (written in place, carried by loops),
    or None."""
    for _ in range(10_000):
        if v.name not in inside:
            return v if isinstance(v.type, ArrayType) else None
        if v.name in carried:
            loop, k = carried[v.name]
            v = (loop.operands[3:] if loop.opcode == "for" else loop.operands)[k]
            continue
        op = defs.get(v.name)
        if op is not None and op.opcode in WRITES:
            v = op.operands[0]
        elif op is not None and op.opcode in ("for", "while"):
            k = list(op.results).index(v)
            v = (op.operands[3:] if op.opcode == "for" else op.operands)[k]
        else:
            return None
    return None


def walk_ops_all(op: Op):
    for region in op.regions:
        yield from walk_ops(region)


class _Planner:
    def __init__(self, rev, inside: frozenset, used: set, defs: dict, root: Op):
        self.rev, self.inside, self.used, self.defs = rev, inside, used, defs
        self.written = set(rev.lineages.written_in(root))
        self.carried = carried_by(root)
        self.memo: dict[str, bool] = {}
        self.replayed: set[int] = set()  # loops and `if`s recomputed whole
        self.write_only_results: list = []  # results of inner loops that only write arrays
        self.unrestored: set[int] = set()  # writes whose old element nothing reads

    def invariant(self, v: Value) -> bool:
        """Whether `v` has one value throughout the nest and can be computed before it
        (a bound `m - 1` computed inside the nest; hoisting moves it out later)."""
        if v.name not in self.inside:
            return True
        if v.name not in self.memo:
            self.memo[v.name] = False  # no cycles through loop-carried values
            op = self.defs.get(v.name)
            from adgen.primitives import registry

            ok = (op is not None and not op.regions and registry.has(op.opcode)
                  and registry.get(op.opcode).pure and not registry.get(op.opcode).effect
                  and all(self.invariant(o) or (op.opcode in SHAPE_ONLY and self.fixed(o))
                          for o in op.operands)
                  and not any(self.rev.lineages.of(o) in self.written for o in op.operands
                              if op.opcode not in SHAPE_ONLY))
            self.memo[v.name] = ok
        return self.memo[v.name]

    def induction_step(self, body: Region, k: int) -> Value | None:
        """The step of an integer the loop adds a constant to in every iteration (a running
        index `t += 1`), or None. The reverse iteration k computes it as `init + k * step`
        instead of reading it from a tape."""
        arg = body.args[1 + k]  # (a `for` loop's body: the loop variable first)
        if arg.type != I64:
            return None
        op = self.defs.get(body.yields[k].name)
        if op is None or op.opcode != "add" or not any(o is op for o in body.ops):
            return None
        names = [o.name for o in op.operands]
        if names.count(arg.name) != 1:
            return None
        step = op.operands[1 - names.index(arg.name)]
        if step.name not in self.inside or self.defs[step.name].opcode == "const":
            return step
        return None

    def countable(self, v: Value, tape: LoopTape) -> bool:
        """Whether `v` (a bound of a loop inside `tape`) is computed from values known
        before the nest and the loop variables of `tape` and the loops around it: then
        the nest's entries can be counted before it runs."""
        if self.invariant(v):
            return True
        if isinstance(v.type, ArrayType):
            return False
        op = self.defs.get(v.name)
        for t in [*tape.ancestors, tape]:
            if t.op.opcode == "for" and t.body.args[0].name == v.name:
                return True
            if op is not None and any(o is op for o in t.body.ops):
                from adgen.primitives import registry

                return (not op.regions and registry.has(op.opcode)
                        and registry.get(op.opcode).pure and not registry.get(op.opcode).effect
                        and all(self.countable(o, tape) for o in op.operands))
        return False

    def fixed(self, v: Value) -> bool:
        """An array written in place keeps its shape: the one it has before the nest."""
        return outer_array(v, self.defs, self.carried, self.inside) is not None

    def loop(self, op: Op, parent: LoopTape | None, static: bool) -> LoopTape:
        rev = self.rev
        is_for = op.opcode == "for"
        tape = LoopTape(op, parent, False)
        body = tape.body
        carried = body.args[tape.offset:]
        used = self.used
        slots = [k for k, a in enumerate(carried)
                 if a.name in used and rev.lineages.of(a) is None and not rev.write_only(op, a)]
        if parent is not None and any(isinstance(carried[k].type, ArrayType) for k in slots):
            raise _NotCovered  # an array rebound in an inner loop: a whole array per entry
        if is_for:
            for k in slots:
                step = self.induction_step(body, k)
                if step is not None:
                    tape.inductions[k] = step
        tape.slots = tuple(k for k in slots if k not in tape.inductions)
        tape.static = static and is_for and all(self.invariant(v) for v in op.operands[:3])
        tape.counted = (not tape.static and is_for and parent is not None
                        and parent.preallocated
                        and all(self.countable(v, parent) for v in op.operands[:3]))
        stored = [s.results[0] for s in stored_ops(op, rev.read_nonlinearly)] if is_for else []
        children = []
        for inner in body.ops:
            if inner.opcode in ("for", "while"):
                if rev.loop_needs_tape(inner):
                    children.append(self.loop(inner, tape, tape.preallocated))
                    self.keep_results(inner, stored)
                elif rev.independent(inner):
                    raise _NotCovered  # reversed from its loop variable, reading the scope
                elif not self.writes_tracked(inner):
                    self.replayed.add(id(inner))
                else:
                    self.keep_results(inner, stored)
            elif inner.opcode == "if":
                self.check_if(inner)
                if self.writes_tracked(inner):
                    self.keep_results(inner, stored)
                else:
                    self.replayed.add(id(inner))
        # what the reverse iteration would recompute after an array it reads was overwritten
        level = Level.of(rev, body.ops)
        # an array an inner loop only writes stands for its shape in the reverse iteration;
        # where the iteration's reverse sweep reads its values, the loop is recomputed
        # (forward only: its reverse has its own tapes), unless it writes a tracked array
        read = value_demanded(rev, level, frozenset(self.replayed), {v.name for v in stored})
        for r, loop in self.write_only_results:
            if r.name in read:
                if self.writes_tracked(loop):
                    raise _NotCovered
                self.replayed.add(id(loop))
        while True:
            taped = {v.name for v in stored}
            late = [v for v in unsafe_values(rev, level, frozenset(self.replayed), taped)
                    if v.name not in taped]
            if not late:
                break
            if any(isinstance(v.type, ArrayType) for v in late):
                raise _NotCovered  # a whole array per entry
            stored.extend(late)
        tape.stored = tuple(dict.fromkeys(stored, None))
        # the element a write overwrites goes on the tape (an index the reverse iteration
        # recomputes itself); a write inside an `if` is logged instead
        tape.writes = tuple(w for w in body.ops if w.opcode in WRITES
                            and rev.lineages.of(w.operands[0]) in rev.logged
                            and id(w) not in self.unrestored)
        tape.children = children
        return tape

    def keep_results(self, op: Op, stored: list) -> None:
        """The results of `op`, which the reverse iteration cannot recompute, go on the
        tape where anything reads them (arrays of a logged lineage are the array's
        state; arrays a loop only writes are never read)."""
        rev = self.rev
        for k, r in enumerate(op.results):
            if r.name not in self.used:
                continue
            if isinstance(r.type, ArrayType):
                if rev.lineages.of(r) is not None:
                    continue
                if op.opcode in ("for", "while"):
                    arg = op.regions[-1].args[(1 if op.opcode == "for" else 0) + k]
                    if rev.write_only(op, arg):  # its values: checked by `loop`
                        self.write_only_results.append((r, op))
                        continue
                raise _NotCovered  # a whole array per entry
            stored.append(r)

    def check_if(self, op: Op) -> None:
        """An `if` inside the nest is replayed in its reverse: no loop inside, no array
        replaced, and no element read that a later write of the same branch overwrote."""
        rev = self.rev
        for sub in op.regions:
            for inner in walk_ops(sub):
                if inner.opcode in ("for", "while"):
                    raise _NotCovered
            if any(rev.lineages.rebinds(sub, w) for w in rev.lineages.written_in(op)):
                raise _NotCovered
            self.check_branch(sub)

    def check_branch(self, region: Region) -> None:
        """A branch is recomputed in its reverse, where its values are first read; it has
        no tape of its own, so a value it could not recompute there is not covered."""
        for inner in region.ops:
            if inner.opcode == "if":
                for sub in inner.regions:
                    self.check_branch(sub)
                if not self.writes_tracked(inner):
                    self.replayed.add(id(inner))
                elif any(r.name in self.used and not isinstance(r.type, ArrayType)
                         for r in inner.results):
                    raise _NotCovered  # a value computed beside a write, in a branch
        level = Level.of(self.rev, region.ops)
        if unsafe_values(self.rev, level, frozenset(self.replayed), set()):
            raise _NotCovered

    def writes_tracked(self, op: Op) -> bool:
        """Whether `op` writes a tracked array: it is not recomputed whole, since the
        array is in its state already when the reverse iteration starts."""
        return bool(self.rev.lineages.written_in(op))


# forward sweep ---------------------------------------------------------------------------

class NestForward:
    """Emits the forward sweep of a planned nest: the nest once, filling its tapes."""

    def __init__(self, rev, plan: NestPlan, scope, fresh: bool):
        self.rev, self.plan, self.scope, self.fresh = rev, plan, scope, fresh
        self.b = rev.b
        self.state: dict = {}  # Buffer or LoopTape (its position) -> current value
        self.hoisted: dict[str, Value] = {}

    def run(self) -> None:
        rev, b, scope = self.rev, self.b, self.scope
        root = self.plan.root
        op = root.op
        bounds = [scope.map(v) for v in op.operands[:3]] if op.opcode == "for" else []
        count = b.emit("trip_count", *bounds, name="n") if bounds else None
        capacity = {id(root): count if count is not None else b.const(16, I64)}
        for tape in root.subtree():
            self.allocate(tape, capacity, scope)
        was = rev.nest_forward
        rev.nest_forward = True
        rev.taped_writes.update(id(w) for t in root.subtree() for w in t.writes)
        rev.unrestored.update(self.plan.unrestored)
        try:
            counter = self.loop(root, scope, b.const(0, I64))
        finally:
            rev.nest_forward = was
        final = {buf: self.state[buf] for t in root.subtree() for buf in t.buffers}
        record = NestTape(self.plan, final, count if count is not None else counter)
        for tape in root.subtree():
            scope.tapes[id(tape.op)] = record

    def allocate(self, tape: LoopTape, capacity: dict, scope) -> None:
        b = self.b
        op = tape.op
        if tape.parent is not None:
            if tape.static:
                bounds = [self.before_nest(v, scope) for v in op.operands[:3]]
                tape.trips = b.emit("trip_count", *bounds, name="n")
                capacity[id(tape)] = b.emit("mul", capacity[id(tape.parent)], tape.trips,
                                            name="n")
            elif tape.counted:
                capacity[id(tape)] = EntryCount(self, scope, capacity).of(tape)
            else:
                capacity[id(tape)] = b.const(16, I64)
            self.state[tape] = b.const(0, I64)  # where its entries start
        size = capacity[id(tape)]
        carried = tape.body.args[tape.offset:]
        inits = op.operands[3:] if op.opcode == "for" else op.operands
        for k in tape.slots:
            v = carried[k]
            dims = ()
            if isinstance(v.type, ArrayType):
                dims = tuple(b.emit("dim", scope.map(inits[k]), attrs={"axis": d})
                             for d in range(v.type.ndim))
            self.add(tape, Buffer(tape, v.name + TAPE_SUFFIX, v.type, dims), size,
                     tape.slot_buffers, k)
        for v in tape.stored:
            self.add(tape, Buffer(tape, v.name + TAPE_SUFFIX, v.type), size,
                     tape.stored_buffers, v.name)
        for w in tape.writes:
            array = w.operands[0]
            buf = Buffer(tape, array.name + "_old" + TAPE_SUFFIX, array.type.dtype)
            self.add(tape, buf, size, tape.write_buffers, id(w))
        for child in tape.children:
            if child.static:  # entries at parent position * trips, `trips` of them
                continue
            name = _loop_name(child)
            start = Buffer(tape, name + "_start" + TAPE_SUFFIX, I64)
            self.add(tape, start, size)
            count = None  # a counted loop's trip count is computed again in reverse
            if not child.counted:
                count = Buffer(tape, name + "_count" + TAPE_SUFFIX, I64)
                self.add(tape, count, size)
            tape.start_buffers[id(child.op)] = (start, count)

    def before_nest(self, v: Value, scope) -> Value:
        """Loop-invariant `v`, computed before the nest (planned by `invariant`)."""
        if v.name not in self.plan.inside:
            return scope.map(v)
        plan = self.plan
        outer = outer_array(v, plan.defs, carried_by(plan.root.op), plan.inside)
        if outer is not None and v.name in plan.inside:
            return scope.map(outer)  # the same shape (Planner.fixed)
        if v.name not in self.hoisted:
            op = self.plan.defs[v.name]
            operands = [self.before_nest(o, scope) for o in op.operands]
            results = tuple(fresh_value(self.rev.names, r) for r in op.results)
            self.b.append(Op(op.opcode, tuple(operands), results, op.attrs, (), op.loc))
            for r, new in zip(op.results, results):
                self.hoisted[r.name] = new
        return self.hoisted[v.name]

    def add(self, tape: LoopTape, buf: Buffer, size: Value, index=None, key=None) -> None:
        dtype = buf.entry.dtype if isinstance(buf.entry, ArrayType) else buf.entry
        attrs = {"dtype": str(dtype), TAPE: True}
        if id(self.plan.root.op) in self.rev.eager_bodies:
            attrs[ONE_ITERATION] = True
        self.state[buf] = self.b.emit("empty", size, *buf.dims, name=buf.name, attrs=attrs)
        tape.buffers.append(buf)
        if index is not None:
            index[key] = buf

    def keys(self, tape: LoopTape) -> list:
        """What a loop threads through its iterations: its tapes, and the tapes and
        positions of the loops inside it."""
        keys = []
        for t in tape.subtree():
            keys.extend(t.buffers)
            if t is not tape:
                keys.append(t)
        return keys

    def store(self, buf: Buffer, index: Value, value: Value) -> None:
        opcode = "setitem" if buf.owner.preallocated else "push"
        self.state[buf] = self.b.emit(opcode, self.state[buf], index, value, name=buf.name)

    def loop(self, tape: LoopTape, scope, counter_init: Value) -> Value:
        """The loop of `tape`, taping each iteration at the position its counter holds;
        returns the counter's final value."""
        rev, b, fresh = self.rev, self.b, self.fresh
        op = tape.op
        keys = self.keys(tape)
        operands = [scope.map(v) for v in op.operands]
        key_inits = [self.state[k] for k in keys]
        regions = []
        for region in op.regions:
            inner, args = rev.enter(region, scope, fresh)
            key_args = [b.value(_key_name(k), _key_type(k)) for k in keys]
            for k, a in zip(keys, key_args):
                self.state[k] = a
            counter = b.value("k", I64)
            b.open_block()
            if region is tape.body:
                carried = args[tape.offset:]
                for k, buf in tape.slot_buffers.items():
                    self.store(buf, counter, carried[k])
                children = {id(c.op): c for c in tape.children}
                for inner_op in region.ops:
                    child = children.get(id(inner_op))
                    if id(inner_op) in tape.write_buffers:
                        array, *index = (inner.map(v) for v in inner_op.operands[:-1])
                        b.loc = inner_op.loc
                        old = b.emit("getitem", array, *index, attrs=dict(inner_op.attrs),
                                     name="old")
                        self.store(tape.write_buffers[id(inner_op)], counter, old)
                    if child is None:
                        rev.clone(inner_op, inner, fresh)
                        continue
                    start = self.state[child]
                    if not child.static:
                        self.store(tape.start_buffers[id(inner_op)][0], counter, start)
                    b.loc = inner_op.loc
                    end = self.loop(child, inner, start)
                    self.state[child] = end
                    if not child.static and not child.counted:
                        self.store(tape.start_buffers[id(inner_op)][1], counter,
                                   b.emit("sub", end, start, name="count"))
                for name, buf in tape.stored_buffers.items():
                    self.store(buf, counter, inner.subst[name])
                yields = [inner.map(v) for v in region.yields]
                yields += [self.state[k] for k in keys]
                yields.append(b.emit("add", counter, b.const(1, I64), name="k"))
            else:  # a while loop's condition
                for inner_op in region.ops:
                    rev.clone(inner_op, inner, fresh)
                yields = [inner.map(v) for v in region.yields]
            regions.append(b.close_block(args + key_args + [counter], yields))
        results = [fresh_value(rev.names, r) if fresh else r for r in op.results]
        for r, new in zip(op.results, results):
            scope.subst[r.name] = new
        rev.track(op, results, scope)
        key_results = [b.value(_key_name(k), _key_type(k)) for k in keys]
        end = b.value("k", I64)
        b.loc = op.loc
        b.append(Op(op.opcode, tuple(operands) + tuple(key_inits) + (counter_init,),
                    tuple(results) + tuple(key_results) + (end,),
                    without_parallel(op.attrs), tuple(regions), op.loc))
        for k, r in zip(keys, key_results):
            self.state[k] = r
        return end


def _loop_name(tape: LoopTape) -> str:
    if tape.op.opcode == "for":
        return tape.op.regions[0].args[0].name
    return "loop"


def _key_name(key) -> str:
    return key.name if isinstance(key, Buffer) else _loop_name(key) + "_at"


def _key_type(key) -> Type:
    return key.type if isinstance(key, Buffer) else I64


# reverse sweep ---------------------------------------------------------------------------

def reverse_nest_loop(rev, op: Op, cts: list, adj: dict, scope) -> None:
    """The reverse of loop `op` of a planned nest: its iterations backwards, each one
    reading its tape entries and reversing the body (which recomputes the rest where it
    first reads it, `transforms/replay.py`)."""
    record: NestTape = scope.tapes[id(op)]
    tape: LoopTape = record.plan.loops[id(op)]
    b = rev.b
    if tape.parent is None:
        start, count = None, record.count
    else:
        start, count = scope.spans[id(op)]
    if count is None:  # a counted loop: its trip count from its bounds, as forward
        count = b.emit("trip_count", *[scope.map(v) for v in op.operands[:3]], name="count")
    loop = rev.open_reverse_loop(op, cts, adj, scope, count)
    inner, carried, inits = loop.inner, loop.carried, loop.inits
    inner.nest = record.plan
    position = loop.counter if start is None else b.emit("add", start, loop.counter,
                                                           name="at")
    for j, buf in tape.slot_buffers.items():
        inner.subst[carried[j].name] = b.emit("getitem", record.final[buf], position,
                                              name=carried[j].name)
    for j, step in tape.inductions.items():
        if step.name in record.plan.inside:
            step = b.const(record.plan.defs[step.name].attr("value"), I64)
        else:
            step = scope.map(step)
        inner.subst[carried[j].name] = b.emit(
            "add", scope.map(inits[j]), b.emit("mul", loop.counter, step), name=carried[j].name)
    for j, a in enumerate(carried):
        if j not in tape.slot_buffers and rev.write_only(op, a):
            inner.subst[a.name] = scope.map(inits[j])
    for key, value in adj.items():
        if isinstance(key, ArrayState) and key.lineage in record.plan.written:
            inner.lineage_value[key.lineage] = value
    for lineage, state in zip(loop.written, loop.state_args):
        inner.lineage_value[lineage] = state
        for a in carried:
            if rev.lineages.of(a) == lineage:
                inner.subst[a.name] = state
    for name, buf in tape.stored_buffers.items():
        inner.subst[name] = b.emit("getitem", record.final[buf], position, name=name)
    for w in tape.writes:
        inner.restores[id(w)] = b.emit("getitem", record.final[tape.write_buffers[id(w)]],
                                       position, name="old")
    for child in tape.children:
        if child.static:
            inner.spans[id(child.op)] = (b.emit("mul", position, child.trips, name="start"),
                                         child.trips)
            continue
        start_buf, count_buf = tape.start_buffers[id(child.op)]
        inner.spans[id(child.op)] = (
            b.emit("getitem", record.final[start_buf], position, name="start"),
            None if count_buf is None else
            b.emit("getitem", record.final[count_buf], position, name="count"))
    rev.close_reverse_loop(loop, adj, scope)
