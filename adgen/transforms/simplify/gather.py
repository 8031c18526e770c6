"""Transposed stencils: a loop that scatters into neighbouring elements gathers instead.

The adjoint of a stencil `u_new[i] = u[i] + r * (u[i - 1] - 2 u[i] + u[i + 1])` comes
out of the reverse sweep in scatter form: iteration i adds into `u_bar[i - 1]`,
`u_bar[i]` and `u_bar[i + 1]`, elements that the next iteration adds into again.
Compiled, those are read-modify-writes through memory, each waiting for the one before,
and the loop stays scalar. A hand-written adjoint computes each element once, from the
iterations that add into it (gather form): `u_bar[p] += r g[p - 1] + (1 - 2 r) g[p] +
r g[p + 1]`, which vectorizes.

A carried float array slot of a `for` loop is rewritten when the body's only use of the
array is a chain of `index_add`s of scalars at `i + c`: one affine index `i` (the loop
counter times 1 or -1 plus a value from outside the loop), constant offsets `c`, two or
more of them distinct. The chain leaves the loop for a loop of its own placed before it,
over the elements it adds into: element p receives the terms of iterations `p - c`, each
term's computation cloned with the counter's affine values shifted. Near the ends, where
`p - c` is not an iteration of the loop, guarded loops add only the terms that exist.

It is valid when the terms read nothing that the loop changes before they read it:
arrays from outside the loop, and carried arrays that the loop writes only at the
element each read reads (so every read sees the value from before the loop). Terms are
cloned, so only cheap ones qualify (arithmetic and reads, no libm calls). The sums are
formed in another order: results differ by rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, defined_in, use_counts, walk_ops
from adgen.ir.types import BOOL, I64, ArrayType, is_float
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.transforms.simplify.loop_rewrite import LoopRewriter

_WRITES = ("setitem", "index_add")
MAX_TERM_OPS = 16  # ops cloned for all terms of one offset; more costs more than it saves


@dataclass(frozen=True)
class Affine:
    """An integer `coef * counter + base + const` in a loop body (`base`: a name from
    outside the loop, or None)."""

    coef: int
    base: Value | None
    const: int


@dataclass(frozen=True)
class _Stencil:
    chain: tuple[Op, ...]        # the index_adds, in body order
    position: int                # which index operand is affine
    coef: int
    base: Value | None
    terms: tuple[tuple[int, Value], ...]   # (offset, added value)


class _Refused(Exception):
    """A term cannot be cloned at a shifted index."""


def gather_stencils(fn: Function) -> Function:
    """`fn` with scatter chains in loops turned into gathers (see the module docstring).

    Example:
        >>> # for k in range(n - 1, -1, -1): i = 1 + k; g = a_bar[i]
        >>> #     u_bar[i + 1] += r * g; u_bar[i] += g; u_bar[i - 1] += r * g
        >>> # becomes, before the loop (which keeps the rest of its body):
        >>> # for p in range(lo + 1, hi):  u_bar[p] += r * a_bar[p - 1] + a_bar[p] + r * a_bar[p + 1]
        >>> # and two short guarded loops for the elements at either end.
    """
    return _Gatherer(fn).run(fn)


class _Gatherer(LoopRewriter):
    def loop(self, op: Op) -> list[Op]:
        """`op` (and the gather loops split off it before it)."""
        before: list[Op] = []
        while True:
            split = self.split_one(op)
            if split is None:
                return before + [op]
            gathers, op = split
            before += gathers

    def split_one(self, op: Op):
        if self.constants.get(op.operands[2].name) not in (1, -1):
            return None
        body = op.regions[0]
        loop = _LoopFacts(op, self.constants)
        for slot, arg in enumerate(body.args[1:]):
            if not (isinstance(arg.type, ArrayType) and is_float(arg.type.dtype)):
                continue
            stencil = loop.stencil(slot)
            if stencil is None:
                continue
            try:
                gathers, gathered = _Builder(self, loop, slot, stencil).build()
            except _Refused:
                continue
            rest = _without_slot(op, slot, stencil.chain)
            self.renames[op.results[slot].name] = gathered
            return gathers, rest
        return None


class _LoopFacts:
    """What one loop's body computes, as far as the rewrite needs it."""

    def __init__(self, op: Op, constants: dict[str, int]):
        self.op = op
        self.body = op.regions[0]
        self.counter = self.body.args[0]
        self.inside = defined_in(op)
        self.uses = use_counts(op)
        self.defs = {r.name: o for o in self.body.ops for r in o.results}
        self.slots = {a.name: k for k, a in enumerate(self.body.args[1:])}
        self.forms = _affine_forms(self.body, self.inside, constants)

    def stencil(self, slot: int) -> _Stencil | None:
        chain = self.chain(slot)
        if not chain:
            return None
        position = coef = base = None
        terms = []
        first_rest = None
        for write in chain:
            indices = write.operands[1:-1]
            if (any(kind != "i" for kind in write.attr("index", ()))
                    or isinstance(write.operands[-1].type, ArrayType)):
                return None
            moving = [j for j, v in enumerate(indices)
                      if self.forms.get(v.name) and self.forms[v.name].coef != 0]
            if len(moving) != 1:
                return None
            rest = [v.name for j, v in enumerate(indices) if j != moving[0]]
            if any(name in self.inside for name in rest):
                return None
            form = self.forms[indices[moving[0]].name]
            if position is None:
                position, coef, base, first_rest = moving[0], form.coef, form.base, rest
            elif (moving[0], form.coef, form.base, rest) != (position, coef, base, first_rest):
                return None
            terms.append((form.const, write.operands[-1]))
        if coef not in (1, -1) or len({c for c, _ in terms}) < 2:
            return None
        return _Stencil(tuple(chain), position, coef, base, tuple(terms))

    def chain(self, slot: int) -> list[Op]:
        """The body's top-level `index_add`s through which slot's array goes from the
        body's start to its yield, the array used by nothing else; or []."""
        arg, target = self.body.args[1 + slot], self.body.yields[slot]
        by_array = {w.operands[0].name: w for w in self.body.ops if w.opcode == "index_add"}
        chain, current = [], arg
        while current.name != target.name:
            write = by_array.get(current.name)
            if write is None or self.uses.get(current.name) != 1:
                return []
            chain.append(write)
            current = write.results[0]
        if self.uses.get(current.name) != 1:
            return []
        return chain

    def reads_before_loop(self, slot: int, read: Op) -> bool:
        """Whether the carried array of `slot`, read by `read` (a getitem of the body's
        argument), is written in the body only at the element `read` reads."""
        wanted = [self.index_form(v) for v in read.operands[1:]]
        if any(f is None for f in wanted):
            return False
        versions = {self.body.args[1 + slot].name}
        for op in self.body.ops:
            used = {v.name for v in op.operands} & versions
            if op.regions and _mentions(op, versions):
                return False
            if not used:
                continue
            if op.opcode in _WRITES and op.operands[0].name in versions:
                if ({v.name for v in op.operands[1:]} & versions
                        or [self.index_form(v) for v in op.operands[1:-1]] != wanted
                        or op.attr("index", ()) != read.attr("index", ())):
                    return False
                versions.add(op.results[0].name)
            elif op.opcode not in ("getitem", "shape") or (
                    {v.name for v in op.operands[1:]} & versions):
                return False  # the array goes somewhere this check cannot follow
        return True

    def index_form(self, v: Value):
        """An index operand as something comparable: its affine form, or its name when
        it is from outside the loop; None otherwise."""
        form = self.forms.get(v.name)
        if form is not None:
            return form
        return None if v.name in self.inside else ("outside", v.name)


class _Builder:
    """Builds the gather loops of one stencil (raises _Refused when a term cannot be
    cloned)."""

    def __init__(self, gatherer: _Gatherer, loop: _LoopFacts, slot: int, stencil: _Stencil):
        self.g = gatherer
        self.loop = loop
        self.slot = slot
        self.s = stencil
        self.loc = stencil.chain[0].loc
        self.before: list[Op] = []
        self.int_consts: dict[int, Value] = {}
        self.lowest = None  # (the main loop's p, the lowest offset from it of an index)
        self.from_p: set[str] = set()  # p and p + c in the main loop

    # --- small emitters -------------------------------------------------------------
    def const(self, value: int) -> Value:
        if value not in self.int_consts:
            v = self.g.fresh("c", I64)
            self.before.append(Op("const", (), (v,), (("type", I64), ("value", value)), (),
                                  self.loc))
            self.int_consts[value] = v
        return self.int_consts[value]

    def emit(self, out: list, opcode: str, operands, hint: str, type_=I64) -> Value:
        v = self.g.fresh(hint, type_)
        out.append(Op(opcode, tuple(operands), (v,), (), (), self.loc))
        return v

    def offset(self, out: list, v: Value, delta: int, hint: str) -> Value:
        if delta == 0:
            return v
        opcode = "add" if delta > 0 else "sub"
        result = self.emit(out, opcode, (v, self.const(abs(delta))), hint)
        if self.lowest is not None and v == self.lowest[0]:
            self.lowest = (v, min(self.lowest[1], delta))
            self.from_p.add(result.name)
        return result

    # --- the loops ------------------------------------------------------------------
    def build(self):
        op, s = self.loop.op, self.s
        start, stop, step = op.operands[:3]
        before = self.before
        n = self.emit(before, "trip_count", (start, stop, step), "n")
        ref = start if s.coef == 1 else self.emit(before, "sub", (self.const(0), start), "ref")
        if s.base is not None:
            ref = self.emit(before, "add", (ref, s.base), "ref")
        last = self.emit(before, "sub", (n, self.const(1)), "last")
        if s.coef * self.g.constants[step.name] == 1:
            lo, hi = ref, self.emit(before, "add", (ref, last), "hi")
        else:
            lo, hi = self.emit(before, "sub", (ref, last), "lo"), ref
        offsets = sorted({c for c, _ in s.terms})
        cmin, cmax = offsets[0], offsets[-1]
        first = self.offset(before, lo, cmin, "first")
        inner_from = self.offset(before, lo, cmax, "inner")
        inner_to = self.offset(before, hi, cmin + 1, "inner_end")
        end = self.offset(before, hi, cmax + 1, "end")
        array = op.operands[3 + self.slot]
        main, main_from = self.main_loop(inner_from, inner_to, array)
        left = self.edge_loop(first, main_from, array, (lo, hi), None)
        main = replace(main, operands=main.operands[:3] + left.results)
        right = self.edge_loop(inner_to, end, main.results[0], (lo, hi), main_from)
        return self.before + [left, main, right], right.results[0]

    def main_loop(self, begin: Value, end: Value, array: Value):
        """The loop over the elements that receive every term, and where it starts.

        It starts at `begin` or where no index it computes is negative, whichever is
        later (the elements before go to the guarded loop at the left end), and runs
        over a count from 0 with p = start + j: then Numba's test for negative indices
        folds away and the loop vectorizes (over `range(start, end)` it does not: Numba
        lowers that through a trip count, and LLVM loses p >= start)."""
        j = self.g.fresh("j", I64)
        p = self.g.fresh("p", I64)
        current = self.g.fresh(array.name, array.type)
        ops: list[Op] = []
        self.lowest = (p, 0)
        self.from_p = {p.name}
        total = None
        for offset in sorted({c for c, _ in self.s.terms}):
            total = self.terms_at(ops, p, offset, total)
        result = self.add_into(ops, current, p, total)
        lowest = self.const(-self.lowest[1])
        self.lowest = None
        ops = [_unsigned(o, self.from_p) for o in ops]
        early = self.emit(self.before, "lt", (begin, lowest), "early", BOOL)
        start = self.emit(self.before, "select", (early, lowest, begin), "main_from")
        count = self.emit(self.before, "sub", (end, start), "main_count")
        ops.insert(0, Op("add", (start, j), (p,), (), (), self.loc))
        out = self.g.fresh(array.name, array.type)
        loop = Op("for", (self.const(0), count, self.const(1), array), (out,), (),
                  (Region((j, current), tuple(ops), (result,)),), self.loc)
        return loop, start

    def edge_loop(self, begin: Value, end: Value, array: Value, bounds, skip_below):
        """A loop over p in [begin, end) adding each term into `array[p]` only where
        `p - offset` is an iteration (in [lo, hi]), and only where p >= skip_below."""
        p = self.g.fresh("p", I64)
        current = self.g.fresh(array.name, array.type)
        ops: list[Op] = []
        result = current
        for offset in sorted({c for c, _ in self.s.terms}):
            result = self.guarded(ops, p, offset, result, bounds)
        if skip_below is not None:
            inner = Region((), tuple(ops), (result,))
            ops = []
            ok = self.emit(ops, "ge", (p, skip_below), "ok", BOOL)
            result = self.if_op(ops, ok, inner, current)
        out = self.g.fresh(array.name, array.type)
        return Op("for", (begin, end, self.const(1), array), (out,), (),
                  (Region((p, current), tuple(ops), (result,)),), self.loc)

    def guarded(self, out: list, p: Value, offset: int, array: Value, bounds) -> Value:
        lo, hi = bounds
        q = self.offset(out, p, -offset, "q")
        then: list[Op] = []
        added = self.add_into(then, array, p, self.terms_at(then, p, offset, None))
        inner: list[Op] = []
        below = self.emit(inner, "le", (q, hi), "in_range", BOOL)
        inner_result = self.if_op(inner, below, Region((), tuple(then), (added,)), array)
        above = self.emit(out, "ge", (q, lo), "in_range", BOOL)
        return self.if_op(out, above, Region((), tuple(inner), (inner_result,)), array)

    def if_op(self, out: list, cond: Value, then: Region, unchanged: Value) -> Value:
        result = self.g.fresh(unchanged.name, unchanged.type)
        out.append(Op("if", (cond,), (result,), (),
                      (then, Region((), (), (unchanged,))), self.loc))
        return result

    def add_into(self, out: list, array: Value, p: Value, value: Value) -> Value:
        write = self.s.chain[0]
        indices = list(write.operands[1:-1])
        indices[self.s.position] = p
        result = self.g.fresh(array.name, array.type)
        out.append(Op("index_add", (array, *indices, value), (result,), write.attrs, (),
                      write.loc))
        return result

    def terms_at(self, out: list, p: Value, offset: int, total: Value | None) -> Value:
        """The sum of the terms of offset `offset` at element p (added to `total`)."""
        clones: dict[str, Value] = {}
        budget = [MAX_TERM_OPS]
        for c, value in self.s.terms:
            if c != offset:
                continue
            term = self.clone(value, p, offset, out, clones, budget)
            if term.type != self.s.chain[0].operands[0].type.dtype:
                raise _Refused
            total = term if total is None else self.emit(out, "add", (total, term), "terms",
                                                         term.type)
        return total

    def clone(self, v: Value, p: Value, offset: int, out: list, clones: dict, budget) -> Value:
        """`v` computed in the iteration whose target element is p (cloned into `out`)."""
        if v.name in clones:
            return clones[v.name]
        loop = self.loop
        form = loop.forms.get(v.name)
        if form is not None and form.coef != 0:
            if (form.coef, form.base) != (self.s.coef, self.s.base):
                raise _Refused
            result = self.offset(out, p, form.const - offset, v.name)
        elif v.name not in loop.inside:
            result = v
        elif v.name in loop.slots:
            raise _Refused  # an argument outside a getitem's array operand
        else:
            op = loop.defs.get(v.name)
            if op is None or not _cloneable(op):
                raise _Refused
            budget[0] -= 1
            if budget[0] < 0:
                raise _Refused
            operands = list(op.operands)
            if op.opcode == "getitem" and operands[0].name in loop.slots:
                slot = loop.slots[operands[0].name]
                if slot == self.slot or not loop.reads_before_loop(slot, op):
                    raise _Refused
                operands[0] = loop.op.operands[3 + slot]
                rest = operands[1:]
                operands = [operands[0]]
            else:
                rest, operands = operands, []
            operands += [self.clone(o, p, offset, out, clones, budget) for o in rest]
            if any(isinstance(o.type, ArrayType) for o in operands[1:]) or (
                    operands and isinstance(operands[0].type, ArrayType)
                    and op.opcode != "getitem"):
                raise _Refused
            results = tuple(self.g.fresh(r.name, r.type) for r in op.results)
            out.append(replace(op, operands=tuple(operands), results=results))
            result = results[[r.name for r in op.results].index(v.name)]
        clones[v.name] = result
        return result


def _unsigned(op: Op, from_p: set[str]) -> Op:
    """`op` marked `unsigned` when it is an element access whose indices are all p or
    p + c in the main loop, which starts where none of them is negative."""
    if op.opcode not in ("getitem", "setitem", "index_add"):
        return op
    indices = op.operands[1:] if op.opcode == "getitem" else op.operands[1:-1]
    if not indices or any(v.name not in from_p for v in indices):
        return op
    return replace(op, attrs=tuple(sorted(dict(op.attrs, unsigned=True).items())))


def _affine_forms(body: Region, inside: set[str], constants: dict[str, int]) -> dict:
    """The body's integers that are affine in the loop counter (name -> Affine)."""
    forms = {body.args[0].name: Affine(1, None, 0)}

    def form(v: Value):
        if v.name in forms:
            return forms[v.name]
        if v.name in constants:
            return Affine(0, None, constants[v.name])
        if v.name not in inside and v.type == I64:
            return Affine(0, v, 0)
        return None

    for op in body.ops:
        if op.regions or len(op.results) != 1 or op.results[0].type != I64:
            continue
        fs = [form(v) for v in op.operands]
        if not fs or any(f is None for f in fs):
            continue
        result = None
        if op.opcode == "add":
            result = _plus(fs[0], fs[1])
        elif op.opcode == "sub":
            if fs[0].base is not None and fs[0].base == fs[1].base:
                result = Affine(fs[0].coef - fs[1].coef, None, fs[0].const - fs[1].const)
            elif fs[1].base is None:
                result = _plus(fs[0], Affine(-fs[1].coef, None, -fs[1].const))
        elif op.opcode == "mul":
            scale, other = (fs[0], fs[1]) if fs[0].coef == 0 and fs[0].base is None else (
                fs[1], fs[0])
            if scale.coef == 0 and scale.base is None and (other.base is None
                                                           or scale.const == 1):
                result = Affine(other.coef * scale.const, other.base,
                                other.const * scale.const)
        if result is not None:
            forms[op.results[0].name] = result
    return forms


def _plus(a: Affine, b: Affine) -> Affine | None:
    if a.base is not None and b.base is not None:
        return None
    return Affine(a.coef + b.coef, a.base or b.base, a.const + b.const)


def _cloneable(op: Op) -> bool:
    if op.regions or op.opcode in _WRITES or not registry.has(op.opcode):
        return False
    prim = registry.get(op.opcode)
    if not prim.pure or prim.effect or prim.extra.get("transcendental"):
        return False
    if op.opcode == "getitem" and any(kind != "i" for kind in op.attr("index", ())):
        return False
    return not any(isinstance(r.type, ArrayType) for r in op.results)


def _mentions(op: Op, names: set[str]) -> bool:
    for region in op.regions:
        if any(v.name in names for v in region.yields):
            return True
        for inner in walk_ops(region):
            if any(v.name in names for v in inner.operands):
                return True
            if any(v.name in names for sub in inner.regions for v in sub.yields):
                return True
    return False


def _without_slot(op: Op, slot: int, chain: tuple[Op, ...]) -> Op:
    """`op` without carried slot `slot` and the ops of `chain`."""
    body = op.regions[0]
    dropped = {id(o) for o in chain}
    args = body.args[:1 + slot] + body.args[2 + slot:]
    yields = body.yields[:slot] + body.yields[slot + 1:]
    new_body = Region(args, tuple(o for o in body.ops if id(o) not in dropped), yields)
    return replace(op, operands=op.operands[:3 + slot] + op.operands[4 + slot:],
                   results=op.results[:slot] + op.results[slot + 1:], regions=(new_body,))
