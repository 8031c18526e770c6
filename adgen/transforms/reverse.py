"""Reverse mode: IR -> IR computing adjoints (`x_bar`), i.e. gradients / VJPs.

The result has a forward sweep (the primal code; loops store their carried
values on a tape, one entry per iteration) followed by a reverse sweep that
visits ops backwards and applies each primitive's registry `vjp` rule.

* An `if` is reversed by an `if` on the same condition whose branches
  recompute the branch's primal values (dead ones are removed later by DCE)
  and then run its reverse sweep.
* A loop is reversed by a `for` loop running its iterations backwards: each
  reverse iteration restores the carried values of that iteration from the
  tape, recomputes the body's primal values (the results of transcendental
  functions it reads back from tapes too: `adgen.transforms.store`), and runs
  the body's reverse sweep. `for` loops preallocate their tape (trip count known on entry);
  `while` loops push onto a growable one and count their iterations.
* Arrays a loop carries and writes into are not copied per iteration: every
  write records the element it overwrites in the array's undo log
  (`adgen.transforms.undo`); a reverse iteration first restores the array to
  its state at the start of that iteration, and the reverse sweep undoes each
  write as it passes it. The current state of such an array is threaded
  through the reverse sweep like an adjoint, under the key `ArrayState(lineage)`.

Adjoints of values defined outside a region that the region's reverse sweep
updates are yielded out of `if`s and carried through reverse loops, so the
output is structured SSA again.

* A parallel loop (prange) whose iterations share only `+`/`-` reductions and
  arrays they only write is *independent*: the forward sweep runs it as it is,
  in parallel, with no tape (the adjoint of a running sum is the same in every
  iteration), and its reverse is a loop over the same range that recomputes
  each iteration from its loop variable. That reverse loop is parallel too when
  the adjoints it accumulates allow it (`reverse_independent`). Other parallel
  loops (`acc *= e`, arrays read and written in the loop) are taped and
  reversed serially: a tape and an undo log are filled in iteration order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from adgen.errors import AdgenDerivativeError
from adgen.ir.access import walks_rows
from adgen.ir.builder import TAPE_SUFFIX, Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, walk_ops
from adgen.ir.parallel import PARALLEL, carried_values, is_parallel, parallel_ok, without_parallel
from adgen.ir.tapes import TAPE
from adgen.ir.types import I64, ArrayType, ScalarType, is_float
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.primitives.registry import Scatter, Zero
from adgen.transforms.activity import varied_values
from adgen.transforms.clone import Scope, clone_op, free_values, fresh_value
from adgen.transforms.eager import EagerSums, eager_forward, eager_reverse, summed_slot
from adgen.transforms.needed import logged_lineages, needed_values
from adgen.transforms.nest import NestForward, NestTape, plan_nest, reverse_nest_loop
from adgen.transforms.replay import Demand, Level
from adgen.transforms.revolve import checkpoint_forward, checkpoint_reverse, is_checkpointed
from adgen.transforms.rotation import unroll_rotations
from adgen.transforms.scalarize import scalarize_slice_writes
from adgen.transforms.specialize import all_names
from adgen.transforms.store import stored_ops, values_read_nonlinearly
from adgen.transforms.undo import WRITES, ArrayState, Lineages
from adgen.transforms.vanish import append_guarded
from adgen.transforms.zeros import materialize


@dataclass(frozen=True)
class Tape:
    """What the forward sweep kept of one loop: a tape per stored carried slot, and per
    tracked array the undo-log mark at the start of every iteration."""

    count: Value  # iterations run
    tapes: dict  # carried slot index -> tape array value
    marks: dict = field(default_factory=dict)  # lineage -> tape of log marks
    stored: dict = field(default_factory=dict)  # body value name -> its tape (transforms.store)


@dataclass
class ReverseLoop:
    """A loop reversing another one, while its body is built: what it carries from one
    reverse iteration to the next (the adjoints of the carried values in `slots` and of
    the values from outside that the body reads, `free`; the states of the arrays it
    writes, `written`), its counter, and the scope its body is built in."""

    op: Op
    body: object
    carried: tuple
    inits: list
    slots: list
    free: list
    written: list
    counter: Value
    inner: Scope
    slot_args: list
    free_args: list
    state_args: list
    operands: list  # the last iteration, then the initial values of what it carries
    count: Value  # iterations


def _where(op: Op) -> str:
    return f"{op.loc.file}:{op.loc.line}" if op.loc else "?"


def _uses(region) -> set[str]:
    used = set()
    for op in walk_ops(region):
        used.update(v.name for v in op.operands)
        for sub in op.regions:
            used.update(v.name for v in sub.yields)
    return used


class _Reverse:
    def __init__(self, fn: Function, wrt, seed_params: bool, return_primal: bool):
        self.fn = fn
        self.wrt = tuple(wrt)
        self.seed_params = seed_params
        self.return_primal = return_primal
        self.names = NameTable(all_names(fn))
        self.b = Builder(self.names)
        self.active = varied_values(fn, self.wrt)
        self.lineages = Lineages(fn)
        self.needed = needed_values(fn, self.lineages)  # values the reverse sweep reads
        self.logged = logged_lineages(self.needed, self.lineages)  # (their old elements)
        self.logs: dict[str, Value] = {}
        self.nest_forward = False  # inside the forward sweep of a planned nest
        self.taped_writes: set[int] = set()  # writes whose old element a nest tapes
        self.unrestored: set[int] = set()  # writes whose old element nothing reads (nests)
        self.plans: dict = {}  # top-level loop id -> its nest plan (transforms.nest)
        self.eager: dict = {}  # top-level loop id -> the slot of its sum (transforms.eager)
        # nest root id -> (the eager loop body it is in, its index there, scratch lineages)
        self.eager_bodies: dict = {}
        # transforms.store; under memory_budget= (checkpointed loops) nothing is stored
        checkpointed = any(is_checkpointed(op) for op in walk_ops(fn.body))
        self.read_nonlinearly = set() if checkpointed else values_read_nonlinearly(fn.body)

    # adjoint bookkeeping -------------------------------------------------------------
    def add_adjoint(self, adj: dict, value: Value, contribution, like: Value | None = None):
        """adj[value] += contribution (for active values only). A `Scatter` contribution
        (the adjoint of `a[index]`) is added in place: `a_bar[index] += value`."""
        if isinstance(contribution, Zero) or value.name not in self.active:
            return
        if isinstance(contribution, Scatter):
            old = adj.get(value.name)
            if old is None or isinstance(old, Zero):
                old = self.b.emit("zeros_like", like if like is not None else value,
                                  name=value.name + "_bar")
            adj[value.name] = self.b.emit(
                "index_add", old, *contribution.indices, contribution.value,
                attrs=contribution.attrs, name=value.name + "_bar")
            return
        if contribution.type != value.type and isinstance(value.type, ScalarType):
            contribution = self.b.emit("cast", contribution, attrs={"to": str(value.type)})
        hint = value.name + "_bar"
        old = adj.get(value.name)
        if old is None or isinstance(old, Zero):
            adj[value.name] = self.b.rename_last(contribution, hint)
        else:
            adj[value.name] = self.b.emit("add", old, contribution, name=hint)

    # entry ------------------------------------------------------------------------------
    def run(self) -> Function:
        fn, b = self.fn, self.b
        scope = Scope()
        for op in fn.body.ops:
            slot = summed_slot(self, op)
            if slot is not None:
                self.eager[id(op)] = slot
                scratch = frozenset(self.lineages.written_in(op))
                for index, inner in enumerate(op.regions[0].ops):  # the nests of its body,
                    # planned now so that their taped writes get no undo log
                    self.eager_bodies[id(inner)] = (op.regions[0], index, scratch)
                    if inner.opcode in ("for", "while") and self.loop_needs_tape(inner):
                        plan = plan_nest(self, inner)
                        if plan is not None:
                            self.plans[id(inner)] = plan
            elif op.opcode in ("for", "while") and self.loop_needs_tape(op):
                plan = plan_nest(self, op)
                if plan is not None:
                    self.plans[id(op)] = plan
        taped = {id(w) for plan in self.plans.values() for t in plan.loops.values()
                 for w in t.writes}
        for plan in self.plans.values():
            self.unrestored.update(plan.unrestored)
        taped |= self.unrestored
        for lineage in sorted(self.logged):  # a log where some write is not taped
            if any(op.opcode in WRITES and id(op) not in taped
                   and self.lineages.of(op.operands[0]) == lineage for op in walk_ops(fn.body)):
                self.logs[lineage] = b.emit("log_new", name="undo_log")
        for p in fn.params:
            lineage = self.lineages.of(p)
            if lineage is not None:
                scope.lineage_value[lineage] = p
        self.forward_sweep(fn.body.ops, scope, fresh=False)
        adj: dict = {}
        for lineage, value in scope.lineage_value.items():
            adj[ArrayState(lineage)] = value
        seeds = []
        for out in fn.returns:
            if self.seed_params:
                seed = b.value("out_bar" if len(fn.returns) == 1 else out.name + "_bar",
                               out.type)
                seeds.append(seed)
            else:
                seed = b.const(1.0, out.type)
            self.add_adjoint(adj, out, seed)
        self.reverse_sweep(fn.body.ops, adj, scope)
        grads = [materialize(b, adj.get(fn.params[i].name), fn.params[i]) for i in self.wrt]
        returns = (fn.returns if self.return_primal else ()) + tuple(grads)
        body = b.finish_region(fn.params + tuple(seeds), returns)
        return Function(fn.name + "_vjp", body, fn.loc, True)

    # forward sweep ------------------------------------------------------------------------
    def forward_sweep(self, ops, scope: Scope, fresh: bool, stored=frozenset()) -> None:
        """Primal code of `ops`; loops at this level also fill tapes. The ops whose results
        are `stored` (read back from a tape already) are not recomputed."""
        for op in ops:
            if op.results and all(r.name in stored for r in op.results):
                continue
            self.b.loc = op.loc
            if id(op) in self.eager:
                eager_forward(self, op, scope, fresh)
            elif op.opcode in ("for", "while") and self.loop_needs_tape(op):
                plan = self.plans.get(id(op)) or plan_nest(self, op)
                if plan is not None:
                    NestForward(self, plan, scope, fresh).run()
                else:
                    self.tape_loop(op, scope, fresh)
            else:
                self.clone(op, scope, fresh)

    def loop_needs_tape(self, op: Op) -> bool:
        if self.independent(op):
            return False
        return any(r.name in self.active for r in op.results) or bool(
            self.lineages.written_in(op))

    def independent(self, op: Op) -> bool:
        """A parallel loop whose reverse needs no tape: every iteration can be recomputed
        from its loop variable alone. Each value it carries is private to an iteration, a
        reduction by `+` or `-` (whose adjoint is the same in every iteration: d acc_new /
        d acc = 1), or an array it writes and never reads (no undo log)."""
        if not is_parallel(op) or self.lineages.written_in(op):
            return False
        body = op.regions[0]
        for arg, carried in zip(body.args[1:], carried_values(body)):
            if not (carried.kind == "private"
                    or (carried.kind == "reduction" and carried.operator in ("add", "sub"))
                    or (carried.kind == "writes" and self.write_only(op, arg))):
                return False
        return True

    def write_only(self, loop: Op, arg: Value) -> bool:
        """A carried array the loop writes but never reads: no tape, no log (its old
        elements are never needed)."""
        return (isinstance(arg.type, ArrayType) and self.lineages.of(arg) is None
                and self.lineages.root(arg.name) not in self.lineages.read_in(loop))

    def clone(self, op: Op, scope: Scope, fresh: bool) -> None:
        """Copy `op` into the current block (its regions recursively), logging every write
        into a tracked array and following which value each tracked array has now."""
        b = self.b
        b.loc = op.loc
        if op.opcode in WRITES:
            lineage = self.lineages.of(op.operands[0])
            if (lineage in self.logged and id(op) not in self.unrestored
                    and not (self.nest_forward and id(op) in self.taped_writes)):
                b.emit("log_write", self.logs[lineage],
                       *[scope.map(v) for v in op.operands[:-1]], types=())
        if not op.regions:
            new = clone_op(op, scope, self.names, fresh)
            self.track(op, new.results, scope)
            b.append(new)
            return
        written = self.lineages.written_in(op)
        for lineage in written:
            if op.opcode == "if" and not self.nest_forward:
                if lineage in self.logs:
                    scope.note(op, lineage, mark=b.emit("log_len", self.logs[lineage],
                                                        name="mark"))
                # what the branches read, also for an array the `if` does not yield
                value = scope.lineage_value.get(lineage)
                scope.note(op, lineage, value=value, orig=scope.lineage_orig.get(lineage))
                if value is not None and any(self.lineages.rebinds(r, lineage)
                                             for r in op.regions):
                    # a branch writes into the array and then replaces it: the undo log
                    # cannot give the array before the `if` back, a copy can
                    scope.note(op, lineage, saved=b.emit("copy", value,
                                                         name=value.name + "_saved"))
        regions = []
        for region in op.regions:
            inner, args = self.enter(region, scope, fresh)
            b.open_block()
            for inner_op in region.ops:
                self.clone(inner_op, inner, fresh)
            regions.append(b.close_block(args, [inner.map(v) for v in region.yields]))
        results = [fresh_value(self.names, r) if fresh else r for r in op.results]
        for r, new in zip(op.results, results):
            scope.subst[r.name] = new
        operands = tuple(scope.map(v) for v in op.operands)
        self.track(op, results, scope)
        b.loc = op.loc
        # the undo log of a tracked array is appended to in iteration order
        attrs = without_parallel(op.attrs) if written else op.attrs
        b.append(Op(op.opcode, operands, tuple(results), attrs, tuple(regions), op.loc))

    def enter(self, region, scope: Scope, fresh: bool):
        """A child scope for copying `region`, and the copy's region arguments."""
        inner = scope.child()
        args = []
        for a in region.args:
            new = fresh_value(self.names, a) if fresh else a
            inner.subst[a.name] = new
            self.track_value(a, new, inner)
            args.append(new)
        return inner, args

    def track(self, op: Op, results, scope: Scope) -> None:
        for original, new in zip(op.results, results):
            lineage = self.lineages.of(original)
            if lineage is not None:
                scope.note(op, lineage, value=scope.lineage_value.get(lineage),
                           orig=scope.lineage_orig.get(lineage))
                self.track_value(original, new, scope)

    def track_value(self, original: Value, new: Value, scope: Scope) -> None:
        lineage = self.lineages.of(original)
        if lineage is not None:
            scope.lineage_value[lineage] = new
            scope.lineage_orig[lineage] = original.name

    def tape_loop(self, op: Op, scope: Scope, fresh: bool) -> None:
        if is_checkpointed(op):  # memory_budget=: binomial snapshots instead of a tape
            return checkpoint_forward(self, op, scope, fresh)
        b, is_for = self.b, op.opcode == "for"
        offset = 1 if is_for else 0
        body = op.regions[-1]
        carried = body.args[offset:]
        used = _uses(body)
        operands = [scope.map(v) for v in op.operands]
        inits = operands[3:] if is_for else operands
        written = self.lineages.written_in(op)
        logged = [w for w in written if w in self.logs]
        taped = [k for k, a in enumerate(carried)
                 if a.name in used and self.lineages.of(a) is None
                 and not self.write_only(op, a)]
        stored = [s.results[0] for s in stored_ops(op, self.read_nonlinearly)] if is_for else []
        for lineage in logged:
            scope.note(op, lineage, mark=b.emit("log_len", self.logs[lineage], name="mark"))
        zero = b.const(0, I64)
        count = b.emit("trip_count", *operands[:3], name="n") if is_for else None
        size = count if is_for else b.const(16, I64)
        tape_inits = []
        for k in taped:
            t = carried[k].type
            if isinstance(t, ArrayType):  # a while loop's grows along its first axis
                dims = [b.emit("dim", inits[k], attrs={"axis": d}) for d in range(t.ndim)]
                tape_inits.append(b.emit("empty", size, *dims, name=carried[k].name + TAPE_SUFFIX,
                                         attrs={"dtype": str(t.dtype), TAPE: True}))
            else:
                tape_inits.append(b.emit("empty", size, attrs={"dtype": str(t), TAPE: True},
                                         name=carried[k].name + TAPE_SUFFIX))
        for lineage in logged:
            tape_inits.append(b.emit("empty", size, attrs={"dtype": "i64", TAPE: True},
                                     name="mark" + TAPE_SUFFIX))
        for v in stored:
            tape_inits.append(b.emit("empty", size, attrs={"dtype": str(v.type), TAPE: True},
                                     name=v.name + TAPE_SUFFIX))
        regions = []
        for region in op.regions:
            inner, args = self.enter(region, scope, fresh)
            tape_args = [b.value(t.name, t.type) for t in tape_inits]
            counter = b.value("k", I64)
            b.open_block()
            stores = []
            if region is body:
                region_carried = args[offset:]
                store = "setitem" if is_for else "push"
                for k, t in zip(taped, tape_args):
                    stores.append(b.emit(store, t, counter, region_carried[k], name=t.name))
                for lineage, t in zip(logged, tape_args[len(taped):]):
                    mark = b.emit("log_len", self.logs[lineage], name="mark")
                    stores.append(b.emit(store, t, counter, mark, name=t.name))
            for inner_op in region.ops:
                self.clone(inner_op, inner, fresh)
            yields = [inner.map(v) for v in region.yields]
            if region is body:
                first = len(taped) + len(logged)
                for v, t in zip(stored, tape_args[first:]):
                    stores.append(b.emit("setitem", t, counter, inner.map(v), name=t.name))
                yields += stores + [b.emit("add", counter, b.const(1, I64), name="k")]
            regions.append(b.close_block(args + tape_args + [counter], yields))
        results = [fresh_value(self.names, r) if fresh else r for r in op.results]
        for r, new in zip(op.results, results):
            scope.subst[r.name] = new
        self.track(op, results, scope)
        tape_results = [b.value(t.name, t.type) for t in tape_inits]
        count_result = b.value("n", I64)
        b.loc = op.loc
        # a taped loop runs serially: its tapes and undo logs are filled in iteration order
        b.append(Op(op.opcode, tuple(operands) + tuple(tape_inits) + (zero,),
                    tuple(results) + tuple(tape_results) + (count_result,),
                    without_parallel(op.attrs), tuple(regions), op.loc))
        first = len(taped) + len(logged)
        scope.tapes[id(op)] = Tape(count if is_for else count_result,
                                   dict(zip(taped, tape_results)),
                                   dict(zip(logged, tape_results[len(taped):first])),
                                   {v.name: t for v, t in zip(stored, tape_results[first:])})

    # reverse sweep -----------------------------------------------------------------------
    def reverse_sweep(self, ops, adj: dict, scope: Scope) -> None:
        # inside a nest, values are recomputed where the reverse sweep first reads them
        demand = Demand(self, scope.nest, scope, adj, Level.of(self, ops)) \
            if scope.nest is not None else None
        for op in reversed(ops):
            here = demand.before(op) if demand is not None else scope
            self.b.loc = op.loc
            if op.opcode == "if":
                self.reverse_if(op, adj, here)
            elif op.opcode in ("for", "while"):
                self.reverse_loop(op, adj, here)
            else:
                self.reverse_primitive(op, adj, here)
                self.undo(op, adj, here)

    def undo(self, op: Op, adj: dict, scope: Scope) -> None:
        """Give tracked arrays back the state they had before `op`."""
        for original in op.results:
            lineage = self.lineages.of(original)
            if lineage is None:
                continue
            key = ArrayState(lineage)
            if op.opcode in WRITES:
                if id(op) in self.unrestored:
                    continue  # nothing reads the element it overwrote (needed.unread_restores)
                if id(op) in scope.restores:  # a nest taped the element it overwrote
                    index = [scope.map(v) for v in op.operands[1:-1]]
                    adj[key] = self.b.emit("setitem", adj[key], *index, scope.restores[id(op)],
                                           attrs=dict(op.attrs), name=original.name)
                    continue
                if lineage not in self.logs:
                    continue  # nothing reads its old elements: the state stays as it is
                adj[key] = self.b.emit("log_undo_last", adj[key], self.logs[lineage],
                                       name=original.name)
            else:  # a new array (top level only): the lineage had its previous value
                before = scope.found(op, lineage).value
                if before is None:
                    adj.pop(key, None)
                else:
                    adj[key] = before

    def reverse_primitive(self, op: Op, adj: dict, scope: Scope) -> None:
        cts = [adj.pop(r.name, None) or Zero(r.type) for r in op.results]
        if all(isinstance(c, Zero) for c in cts):
            return
        prim = registry.get(op.opcode)
        if prim.nondiff:
            return
        active = tuple(v.name in self.active for v in op.operands)
        if not any(active):
            return
        if prim.vjp is None:
            raise AdgenDerivativeError(f"{_where(op)}: primitive {op.opcode!r} has no adjoint "
                                       "rule; register one to differentiate through it")
        mapped = scope.op(op)
        if scope.nest is not None:  # the arrays as they are at this point of the reverse sweep
            mapped = replace(mapped, operands=tuple(
                self._current(v, m, adj, scope) for v, m in zip(op.operands, mapped.operands)))
        contributions = prim.vjp(self.b, mapped, cts, active)
        for value, here, contribution in zip(op.operands, mapped.operands, contributions):
            self.add_adjoint(adj, value, contribution, here)

    def _current(self, original: Value, mapped: Value, adj: dict, scope: Scope) -> Value:
        """The state of `original`'s array at this point of a nest's reverse sweep (threaded
        in `adj` where the region writes it, else as the region was entered)."""
        lineage = self.lineages.of(original)
        if lineage is None or lineage not in scope.nest.written:
            return mapped
        return adj.get(ArrayState(lineage), scope.lineage_value.get(lineage, mapped))

    def _active_free(self, op: Op) -> list[Value]:
        return [v for v in free_values(op) if v.name in self.active]

    def _restore(self, lineage: str, state: Value, mark: Value | None) -> Value:
        """`state` with the writes logged since `mark` undone; an unlogged lineage (whose
        old elements nothing reads) stays as it is."""
        if lineage not in self.logs or mark is None:
            return state
        return self.b.emit("log_undo_to", state, self.logs[lineage], mark, name="restored")

    def reverse_if(self, op: Op, adj: dict, scope: Scope) -> None:
        cts = [adj.pop(r.name, None) for r in op.results]
        written = [w for w in self.lineages.written_in(op) if ArrayState(w) in adj]
        b = self.b
        no_flow = all(c is None or isinstance(c, Zero) for c in cts)
        if scope.nest is not None and no_flow and not any(w in self.logged for w in written):
            return
        if no_flow and scope.nest is None:
            for lineage in written:  # no adjoint flows, but the writes are undone
                adj[ArrayState(lineage)] = self._restore(lineage, adj[ArrayState(lineage)],
                                                     scope.found(op, lineage).mark)
            return
        before = {}
        for lineage in written:  # a nest's reverse undoes the branch's writes as it passes
            before[lineage] = adj[ArrayState(lineage)] if scope.nest is not None else self._restore(
                lineage, adj[ArrayState(lineage)], scope.found(op, lineage).mark)
        cond = scope.map(op.operands[0])
        keys = [v.name for v in self._active_free(op)] + [ArrayState(w) for w in written]
        likes = {v.name: scope.map(v) for v in self._active_free(op)}
        branches = []
        for region in op.regions:
            b.open_block()
            inner = scope.child()
            for lineage, state in before.items():
                # a nest's reverse maps every version of the array to its state (replay)
                orig = scope.found(op, lineage).orig if scope.nest is None else None
                if self.lineages.rebinds(region, lineage):
                    state = scope.found(op, lineage).saved
                if orig is not None:
                    inner.subst[orig] = state
                inner.lineage_value[lineage] = state
            if scope.nest is not None:  # the branch's values: recomputed where read
                for key, value in adj.items():
                    if isinstance(key, ArrayState) and key.lineage in scope.nest.written:
                        inner.lineage_value[key.lineage] = value
            else:
                self.forward_sweep(region.ops, inner, fresh=True)
            branch_adj = {k: adj[k] for k in keys if k in adj and not isinstance(k, ArrayState)}
            for lineage in written:
                branch_adj[ArrayState(lineage)] = inner.lineage_value[lineage]
            for lineage in self.lineages.written_in(op):
                # an array created in this branch and dead after the `if`: its state is
                # threaded through the branch's reverse sweep only
                now = inner.lineage_value.get(lineage)
                if lineage not in written and now is not None and \
                        now is not scope.lineage_value.get(lineage):
                    branch_adj[ArrayState(lineage)] = now
            for y, ct in zip(region.yields, cts):
                if ct is not None:
                    self.add_adjoint(branch_adj, y, ct)
            self.reverse_sweep(region.ops, branch_adj, inner)
            branches.append((b.pop_block(), branch_adj))
        slots = [k for k in keys
                 if isinstance(k, ArrayState)
                 or any(out.get(k) is not adj.get(k) for _, out in branches)]
        regions = []
        for ops, out in branches:
            b.push_block(ops)
            yields = [out[k] if isinstance(k, ArrayState)
                      else materialize(b, out.get(k), likes[k]) for k in slots]
            regions.append(b.close_block((), yields))
        types = [before[k.lineage].type if isinstance(k, ArrayState) else likes[k].type
                 for k in slots]
        results = [b.value(k.lineage if isinstance(k, ArrayState) else k + "_bar", t)
                   for k, t in zip(slots, types)]
        b.loc = op.loc
        b.append(Op("if", (cond,), tuple(results), (), tuple(regions), op.loc))
        for k, r in zip(slots, results):
            adj[k] = r

    def reverse_loop(self, op: Op, adj: dict, scope: Scope) -> None:
        if isinstance(scope.tapes.get(id(op)), EagerSums):
            return eager_reverse(self, op, adj, scope)
        if self.independent(op):
            return self.reverse_independent(op, adj, scope)
        cts = [adj.pop(r.name, None) for r in op.results]
        written = [w for w in self.lineages.written_in(op) if ArrayState(w) in adj]
        no_flow = all(c is None or isinstance(c, Zero) for c in cts)
        if isinstance(scope.tapes.get(id(op)), NestTape) and (
                not no_flow or any(w in self.logged for w in written)):
            # a nest: an inner loop's writes are undone by its reverse, adjoint or not
            return reverse_nest_loop(self, op, cts, adj, scope)
        if no_flow:
            for lineage in written:  # no adjoint flows, but the writes are undone
                adj[ArrayState(lineage)] = self._restore(lineage, adj[ArrayState(lineage)],
                                                     scope.found(op, lineage).mark)
            return
        if is_checkpointed(op):
            return checkpoint_reverse(self, op, cts, adj, scope)
        tape: Tape = scope.tapes[id(op)]
        loop = self.open_reverse_loop(op, cts, adj, scope, tape.count)
        b, k, inner = self.b, loop.counter, loop.inner
        body, carried, inits = loop.body, loop.carried, loop.inits
        for j, t in tape.tapes.items():
            inner.subst[carried[j].name] = b.emit("getitem", t, k, name=carried[j].name)
        for j, a in enumerate(carried):
            if j not in tape.tapes and self.write_only(op, a):
                # the recomputed writes only need an array of the right shape; DCE drops them
                inner.subst[a.name] = scope.map(inits[j])
        for lineage, state in zip(loop.written, loop.state_args):
            if lineage in tape.marks:
                mark = b.emit("getitem", tape.marks[lineage], k, name="mark")
                restored = self._restore(lineage, state, mark)
            else:
                restored = state
            inner.lineage_value[lineage] = restored
            for a in carried:
                if self.lineages.of(a) == lineage:
                    inner.subst[a.name] = restored
        for name, t in tape.stored.items():  # read back, not recomputed
            inner.subst[name] = b.emit("getitem", t, k, name=name)
        self.forward_sweep(body.ops, inner, fresh=True, stored=frozenset(tape.stored))
        self.close_reverse_loop(loop, adj, scope)

    def open_reverse_loop(self, op: Op, cts: list, adj: dict, scope: Scope,
                          count: Value) -> "ReverseLoop":
        """Opens the body of the loop that reverses `op`'s `count` iterations, last first;
        binds the loop index (for a `for`), nothing else of the body."""
        b, is_for = self.b, op.opcode == "for"
        body = op.regions[-1]
        carried = body.args[1 if is_for else 0:]
        inits = list(op.operands[3:] if is_for else op.operands)
        slots = [k for k, a in enumerate(carried) if a.name in self.active]
        free = self._active_free(_body_only(op))
        written = [w for w in self.lineages.written_in(op) if ArrayState(w) in adj]
        init_bars = [materialize(b, cts[k], scope.map(inits[k])) for k in slots]
        free_bars = [materialize(b, adj.get(v.name), scope.map(v)) for v in free]
        states = [adj[ArrayState(w)] for w in written]
        last = b.emit("sub", count, b.const(1, I64))
        b.open_block()
        k = b.value("k", I64)
        loop = ReverseLoop(op, body, carried, inits, slots, free, written, k, scope.child(),
                           [b.value(carried[j].name + "_bar", carried[j].type) for j in slots],
                           [b.value(v.name + "_bar", v.type) for v in free],
                           [b.value(s.name, s.type) for s in states],
                           [last, *init_bars, *free_bars, *states], count)
        if is_for:
            start, _, stride = (scope.map(v) for v in op.operands[:3])
            loop.inner.subst[body.args[0].name] = b.emit(
                "add", start, b.emit("mul", k, stride), name=body.args[0].name)
        return loop

    def close_reverse_loop(self, loop: "ReverseLoop", adj: dict, scope: Scope) -> None:
        """Runs the body's reverse sweep in the open reverse loop and closes it; the loop's
        results are the adjoints of its inits and free values and the arrays' states."""
        b, body, carried, inner = self.b, loop.body, loop.carried, loop.inner
        body_adj = {v.name: a for v, a in zip(loop.free, loop.free_args)}
        for lineage in loop.written:
            body_adj[ArrayState(lineage)] = inner.lineage_value[lineage]
        for j, a in zip(loop.slots, loop.slot_args):
            self.add_adjoint(body_adj, body.yields[j], a)
        self.reverse_sweep(body.ops, body_adj, inner)
        next_slots = [materialize(b, body_adj.get(carried[j].name),
                                  inner.subst.get(carried[j].name, scope.map(loop.inits[j])))
                      for j in loop.slots]
        next_free = [materialize(b, body_adj.get(v.name), scope.map(v)) for v in loop.free]
        next_states = [body_adj[ArrayState(w)] for w in loop.written]
        unordered = not loop.written and walks_rows(loop.body) and all(
            _passed_on(b, n, a) for n, a in zip(next_slots, loop.slot_args))
        region = b.close_block([loop.counter] + loop.slot_args + loop.free_args
                               + loop.state_args, next_slots + next_free + next_states)
        slot_results = [b.value(carried[j].name + "_bar", carried[j].type) for j in loop.slots]
        free_results = [b.value(v.name + "_bar", v.type) for v in loop.free]
        state_results = [b.value(s.name, s.type) for s in loop.state_args]
        last, *rest = loop.operands
        b.loc = loop.op.loc
        bounds = (last, b.const(-1, I64), b.const(-1, I64))
        if unordered:
            # the iterations only add into adjoints from outside (sums, scatter-adds): no
            # order is needed. Along rows, forwards vectorizes (conv1d's window: 3.5 against
            # 6.3 ms backwards after its forward iteration); down columns, backwards finds
            # in cache the lines the forward loop read last (the MLP: 6.9 against 4.5 s)
            bounds = (b.const(0, I64), loop.count, b.const(1, I64))
        reverse = Op("for", (*bounds, *rest),
                     tuple(slot_results + free_results + state_results), (), (region,),
                     loop.op.loc)
        seeds = rest[:len(loop.slots)]
        if loop.written:
            b.append(reverse)
        else:  # skipped where its seeds are exactly 0 (transforms.vanish)
            results = append_guarded(b, reverse, seeds, rest)
            slot_results = results[:len(slot_results)]
            free_results = results[len(slot_results):]
        for v, r in zip(loop.free, free_results):
            adj[v.name] = r
        for lineage, r in zip(loop.written, state_results):
            adj[ArrayState(lineage)] = r
        for j, r in zip(loop.slots, slot_results):
            self.add_adjoint(adj, loop.inits[j], r)

    def reverse_independent(self, op: Op, adj: dict, scope: Scope) -> None:
        """The reverse of an `independent` parallel loop: a loop over the same range whose
        iterations recompute their primal values from the loop variable and run the
        body's reverse sweep, in any order. It is parallel when the adjoints it accumulates
        allow (`parallel_ok(exact=True)`): sums into scalars and arrays from outside, one
        `v_bar += v_bar_i` per iteration (Numba's prange reductions), and scatter-adds
        `x_bar[i] += g` at the loop variable itself. A scatter at any other index
        (`w_bar[j] += g`, `x_bar[idx[i]] += g`) may reach one element from two iterations
        at once: that loop is serial."""
        cts = [adj.pop(r.name, None) for r in op.results]
        flowing = [k for k, c in enumerate(cts) if c is not None and not isinstance(c, Zero)]
        if not flowing:
            return
        inits = op.operands[3:]
        kinds = carried_values(op.regions[0])
        if any(kinds[k].kind == "private" for k in flowing):
            raise AdgenDerivativeError(f"{_where(op)}: a value private to the iterations of a "
                                       "prange loop is used after it")
        sums = {k: materialize(self.b, cts[k], scope.map(inits[k]))
                for k in flowing if kinds[k].kind == "reduction"}
        slots = {k: cts[k] for k in flowing if kinds[k].kind == "writes"}
        free = self._active_free(_body_only(op))
        local = [v for v in free if self.sums_per_iteration(op, v)]
        free_inits = [self.free_init(v, adj.get(v.name), v in local, scope) for v in free]
        region = self.reverse_iteration(op, sums, list(slots), free, local, scope)
        carried = op.regions[0].args[1:]
        slot_results = [self.b.value(carried[k].name + "_bar", carried[k].type) for k in slots]
        free_results = [self.b.value(v.name + "_bar", v.type) for v in free]
        bounds = tuple(scope.map(v) for v in op.operands[:3])
        loop = Op("for", bounds + tuple(slots.values()) + tuple(free_inits),
                  tuple(slot_results + free_results), ((PARALLEL, True),), (region,), op.loc)
        if not parallel_ok(loop, exact=True):
            loop = replace(loop, attrs=())
        self.b.loc = op.loc
        self.b.append(loop)
        for v, r in zip(free, free_results):
            adj[v.name] = r
        for k, r in zip(slots, slot_results):
            self.add_adjoint(adj, inits[k], r)
        for k, total in sums.items():  # d acc_new / d acc = 1 in every iteration
            self.add_adjoint(adj, inits[k], total)

    def reverse_iteration(self, op: Op, sums: dict, slots: list, free: list, local: list,
                          scope: Scope):
        """The body of an independent loop's reverse: one iteration, recomputed from the
        loop variable, then reversed. `sums` maps reductions to their adjoint (the same
        in every iteration), `slots` are the written arrays whose adjoints it carries;
        of the values `free` from outside, those in `local` are summed in the iteration
        and added once, the others updated in place."""
        b, body = self.b, op.regions[0]
        carried, inits = body.args[1:], op.operands[3:]
        b.open_block()
        index = fresh_value(self.names, body.args[0])
        slot_args = [b.value(carried[k].name + "_bar", carried[k].type) for k in slots]
        free_args = [b.value(v.name + "_bar", v.type) for v in free]
        inner = scope.child()
        inner.subst[body.args[0].name] = index
        for k, a in enumerate(carried):
            # no iteration reads what the previous one left: a private value is assigned
            # before it is read, of a reduction or a write-only array only the shape
            # matters (the adjoint of `acc + e` does not read acc); DCE drops the rest
            inner.subst[a.name] = scope.map(inits[k])
        self.forward_sweep(body.ops, inner, fresh=True)
        body_adj = {v.name: a for v, a in zip(free, free_args) if v not in local}
        for k, total in sums.items():
            self.add_adjoint(body_adj, body.yields[k], total)
        for k, a in zip(slots, slot_args):
            self.add_adjoint(body_adj, body.yields[k], a)
        self.reverse_sweep(body.ops, body_adj, inner)
        next_slots = [materialize(b, body_adj.get(carried[k].name), scope.map(inits[k]))
                      for k in slots]
        next_free = []
        for v, a in zip(free, free_args):
            here = body_adj.get(v.name)
            if v not in local:
                next_free.append(materialize(b, here, scope.map(v)))
            elif here is None or isinstance(here, Zero):
                next_free.append(a)
            else:  # one update per iteration, as a prange reduction must be
                next_free.append(b.emit("add", a, here, name=v.name + "_bar"))
        return b.close_block([index] + slot_args + free_args, next_slots + next_free)

    @staticmethod
    def sums_per_iteration(loop: Op, v: Value) -> bool:
        """Whether the reverse of the parallel `loop` sums the adjoint of `v` (defined
        outside it) within each iteration and adds it to `v_bar` once: scalars, and arrays
        whose elements the loop does not read. The adjoint of `x[i]` is a scatter-add
        into `x_bar` in place instead: a sum per iteration would cost a whole array."""
        if not isinstance(v.type, ArrayType):
            return True
        return not any(o.opcode == "getitem" and o.operands[0].name == v.name
                       for o in walk_ops(loop.regions[0]))

    def free_init(self, v: Value, adjoint, summed: bool, scope: Scope) -> Value:
        """The adjoint of `v` entering an independent loop's reverse."""
        init = materialize(self.b, adjoint, scope.map(v))
        if not isinstance(v.type, ArrayType):
            return init
        if init is not adjoint:  # zeros, named for the printed variable
            return self.b.rename_last(init, v.name + "_bar")
        if summed:
            # Numba's prange adds the per-thread sums into this array in place: a copy,
            # so that no other value that shares it changes
            init = self.b.emit("copy", init, name=v.name + "_bar")
        return init


def _passed_on(b, value: Value, arg: Value) -> bool:
    """Whether `value` is `arg`, or `arg` times 1.0 (the adjoint of a running sum's old
    value is its new value's, the same in every iteration)."""
    for _ in range(4):
        if value is arg:
            return True
        op = b.definition(value)
        if op is None or op.opcode != "mul":
            return False
        ones = [v for v in op.operands if (d := b.definition(v)) is not None
                and d.opcode == "const" and d.attr("value") == 1]
        if not ones:
            return False
        value = op.operands[1] if op.operands[0] is ones[0] else op.operands[0]
    return False


def _body_only(op: Op) -> Op:
    """The loop op with its body region only (its condition has no adjoints)."""
    return Op(op.opcode, op.operands, op.results, op.attrs, op.regions[-1:], op.loc)


def differentiate_reverse(fn: Function, wrt, seed_params: bool = True,
                          return_primal: bool = True) -> Function:
    """The reverse-mode function of typed `fn` w.r.t. the parameters at `wrt`.

    With `seed_params`, the result takes one cotangent per output after the
    primal arguments (a VJP); without, outputs are seeded with 1.0 (a gradient).
    It returns the primal outputs (if `return_primal`) then one adjoint per `wrt`.

    Example:
        >>> # differentiate_reverse(typed_fn, (0, 1), seed_params=False)
    """
    for i in wrt:
        if not is_float(fn.params[i].type):
            raise AdgenDerivativeError(f"cannot differentiate with respect to parameter "
                                       f"{fn.params[i].name!r} of type {fn.params[i].type}")
    return _Reverse(prepare_reverse(fn), wrt, seed_params, return_primal).run()


def prepare_reverse(fn: Function) -> Function:
    """`fn` as reverse mode follows it: arrays a loop rotates unrolled so each keeps its
    slot, slice assignments inside loops written element by element (their old elements
    taped or logged one by one, as every write's). Nothing changes where nothing needs to.

    Example:
        >>> # checkpoint_loops(prepare_reverse(typed_fn), budget)
    """
    return scalarize_slice_writes(unroll_rotations(fn))
