"""Reverse mode: IR -> IR computing adjoints (`x_bar`), i.e. gradients / VJPs.

The result has a forward sweep (the primal code; loops store their carried
values on a tape, one entry per iteration) followed by a reverse sweep that
visits ops backwards and applies each primitive's registry `vjp` rule.

* An `if` is reversed by an `if` on the same condition whose branches
  recompute the branch's primal values (dead ones are removed later by DCE)
  and then run its reverse sweep.
* A loop is reversed by a `for` loop running its iterations backwards: each
  reverse iteration restores the carried values of that iteration from the
  tape, recomputes the body's primal values, and runs the body's reverse
  sweep. `for` loops preallocate their tape (trip count known on entry);
  `while` loops push onto a growable one and count their iterations.

Adjoints of values defined outside a region that the region's reverse sweep
updates are yielded out of `if`s and carried through reverse loops, so the
output is structured SSA again.
"""

from __future__ import annotations

from dataclasses import dataclass

from adgen.errors import AdgenDerivativeError
from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, walk_ops
from adgen.ir.types import I64, ArrayType, ScalarType, is_float
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.primitives.registry import Scatter, Zero
from adgen.transforms.activity import varied_values
from adgen.transforms.clone import Scope, clone_op, free_values, fresh_value
from adgen.transforms.specialize import all_names
from adgen.transforms.zeros import materialize


@dataclass(frozen=True)
class Tape:
    """What the forward sweep kept of one loop: a tape per stored carried slot."""

    count: Value  # iterations run
    tapes: dict  # carried slot index -> tape array value


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
        self.forward_sweep(fn.body.ops, scope, fresh=False)
        adj: dict = {}
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
    def forward_sweep(self, ops, scope: Scope, fresh: bool) -> None:
        """Primal code of `ops`; loops at this level also fill tapes."""
        for op in ops:
            self.b.loc = op.loc
            if op.opcode in ("for", "while") and self.loop_is_active(op):
                self.tape_loop(op, scope, fresh)
            else:
                self.b.append(clone_op(op, scope, self.names, fresh))

    def loop_is_active(self, op: Op) -> bool:
        return any(r.name in self.active for r in op.results)

    def tape_loop(self, op: Op, scope: Scope, fresh: bool) -> None:
        b, is_for = self.b, op.opcode == "for"
        offset = 1 if is_for else 0
        body = op.regions[-1]
        carried = body.args[offset:]
        used = _uses(body)
        taped = [k for k, a in enumerate(carried) if a.name in used]
        for k in taped:
            if isinstance(carried[k].type, ArrayType):
                raise AdgenDerivativeError(f"{_where(op)}: reverse mode through a loop that "
                                           "carries an array is not supported yet")
        operands = [scope.map(v) for v in op.operands]
        zero = b.const(0, I64)
        if is_for:
            count = b.emit("trip_count", *operands[:3], name="n")
            tape_inits = [b.emit("empty", count, attrs={"dtype": str(carried[k].type)},
                                 name=carried[k].name + "_tape") for k in taped]
        else:
            size = b.const(16, I64)
            tape_inits = [b.emit("empty", size, attrs={"dtype": str(carried[k].type)},
                                 name=carried[k].name + "_tape") for k in taped]
        regions = []
        for region in op.regions:
            inner = scope.child()
            args = []
            for a in region.args:
                new = fresh_value(self.names, a) if fresh else a
                inner.subst[a.name] = new
                args.append(new)
            tape_args = [b.value(carried[k].name + "_tape", t.type)
                         for k, t in zip(taped, tape_inits)]
            counter = b.value("k", I64)
            b.open_block()
            stores = []
            if region is body:
                region_carried = args[offset:]
                store = "setitem" if is_for else "push"
                stores = [b.emit(store, t, counter, region_carried[k], name=t.name)
                          for k, t in zip(taped, tape_args)]
            for inner_op in region.ops:
                b.append(clone_op(inner_op, inner, self.names, fresh))
            yields = [inner.map(v) for v in region.yields]
            if region is body:
                yields += stores + [b.emit("add", counter, b.const(1, I64), name="k")]
            regions.append(b.close_block(args + tape_args + [counter], yields))
        results = [fresh_value(self.names, r) if fresh else r for r in op.results]
        for r, new in zip(op.results, results):
            scope.subst[r.name] = new
        tape_results = [b.value(carried[k].name + "_tape", t.type)
                        for k, t in zip(taped, tape_inits)]
        count_result = b.value("n", I64)
        b.loc = op.loc
        b.append(Op(op.opcode, tuple(operands) + tuple(tape_inits) + (zero,),
                    tuple(results) + tuple(tape_results) + (count_result,), op.attrs,
                    tuple(regions), op.loc))
        scope.tapes[id(op)] = Tape(count if is_for else count_result,
                                   dict(zip(taped, tape_results)))

    # reverse sweep -----------------------------------------------------------------------
    def reverse_sweep(self, ops, adj: dict, scope: Scope) -> None:
        for op in reversed(ops):
            self.b.loc = op.loc
            if op.opcode == "if":
                self.reverse_if(op, adj, scope)
            elif op.opcode in ("for", "while"):
                self.reverse_loop(op, adj, scope)
            else:
                self.reverse_primitive(op, adj, scope)

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
        contributions = prim.vjp(self.b, mapped, cts, active)
        for value, here, contribution in zip(op.operands, mapped.operands, contributions):
            self.add_adjoint(adj, value, contribution, here)

    def _active_free(self, op: Op) -> list[Value]:
        return [v for v in free_values(op) if v.name in self.active]

    def reverse_if(self, op: Op, adj: dict, scope: Scope) -> None:
        cts = [adj.pop(r.name, None) for r in op.results]
        if all(c is None or isinstance(c, Zero) for c in cts):
            return
        b = self.b
        cond = scope.map(op.operands[0])
        free = self._active_free(op)
        branches = []
        for region in op.regions:
            b.open_block()
            inner = scope.child()
            self.forward_sweep(region.ops, inner, fresh=True)
            branch_adj = {v.name: adj[v.name] for v in free if v.name in adj}
            for y, ct in zip(region.yields, cts):
                if ct is not None:
                    self.add_adjoint(branch_adj, y, ct)
            self.reverse_sweep(region.ops, branch_adj, inner)
            branches.append((b.pop_block(), branch_adj))
        slots = [v for v in free
                 if any(out.get(v.name) is not adj.get(v.name) for _, out in branches)]
        regions = []
        for ops, out in branches:
            b.push_block(ops)
            yields = [materialize(b, out.get(v.name), v) for v in slots]
            regions.append(b.close_block((), yields))
        results = [b.value(v.name + "_bar", v.type) for v in slots]
        b.loc = op.loc
        b.append(Op("if", (cond,), tuple(results), (), tuple(regions), op.loc))
        for v, r in zip(slots, results):
            adj[v.name] = r

    def reverse_loop(self, op: Op, adj: dict, scope: Scope) -> None:
        cts = [adj.pop(r.name, None) for r in op.results]
        if all(c is None or isinstance(c, Zero) for c in cts):
            return
        b, is_for = self.b, op.opcode == "for"
        offset = 1 if is_for else 0
        body = op.regions[-1]
        carried = body.args[offset:]
        inits = op.operands[3:] if is_for else op.operands
        tape: Tape = scope.tapes[id(op)]
        slots = [k for k, a in enumerate(carried) if a.name in self.active]
        free = [v for v in self._active_free(_body_only(op))]
        init_bars = [materialize(b, cts[k], carried[k]) for k in slots]
        free_bars = [materialize(b, adj.get(v.name), v) for v in free]
        last = b.emit("sub", tape.count, b.const(1, I64))
        stop = b.const(-1, I64)
        step = b.const(-1, I64)

        b.open_block()
        k = b.value("k", I64)
        slot_args = [b.value(carried[j].name + "_bar", carried[j].type) for j in slots]
        free_args = [b.value(v.name + "_bar", v.type) for v in free]
        inner = scope.child()
        if is_for:
            start, _, stride = (scope.map(v) for v in op.operands[:3])
            inner.subst[body.args[0].name] = b.emit(
                "add", start, b.emit("mul", k, stride), name=body.args[0].name)
        for j, t in tape.tapes.items():
            inner.subst[carried[j].name] = b.emit("getitem", t, k, name=carried[j].name)
        self.forward_sweep(body.ops, inner, fresh=True)
        body_adj = {v.name: a for v, a in zip(free, free_args)}
        for j, a in zip(slots, slot_args):
            self.add_adjoint(body_adj, body.yields[j], a)
        self.reverse_sweep(body.ops, body_adj, inner)
        next_slots = [materialize(b, body_adj.get(carried[j].name), carried[j]) for j in slots]
        next_free = [materialize(b, body_adj.get(v.name), v) for v in free]
        region = b.close_block([k] + slot_args + free_args, next_slots + next_free)

        slot_results = [b.value(carried[j].name + "_bar", carried[j].type) for j in slots]
        free_results = [b.value(v.name + "_bar", v.type) for v in free]
        b.loc = op.loc
        b.append(Op("for", (last, stop, step, *init_bars, *free_bars),
                    tuple(slot_results + free_results), (), (region,), op.loc))
        for v, r in zip(free, free_results):
            adj[v.name] = r
        for j, r in zip(slots, slot_results):
            self.add_adjoint(adj, inits[j], r)


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
    return _Reverse(fn, wrt, seed_params, return_primal).run()
