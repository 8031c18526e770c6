"""Shorter dependence chains for loop-carried values that a loop updates linearly.

The reverse sweep of `x = r * x * (1 - x)` updates the carried adjoint as
`x_bar' = r * ((1 - x) * x_bar) - (r * x) * x_bar`: three dependent operations per
iteration on `x_bar`, while the coefficients `r * (1 - x)` and `r * x` do not depend on it.
A hand-written adjoint computes the local derivative first, `x_bar' = (r * (1 - 2 x)) *
x_bar`: one multiplication on the chain that carries from one iteration to the next
(statement-level preaccumulation, as in ADIFOR and Tapenade). Loops whose iterations
depend on each other only through such chains run at the latency of that chain, so
this is the difference between 12 and 4 cycles per step.

For each `for` loop, the float scalars it carries are the variables; a value of the body
is *linear* when it is a carried value, or a sum, difference or negation of linear values
(and values that do not depend on the carried ones), or a linear value times a value that
does not depend on them. When every value of the body that depends on the carried ones is
linear and is only used by other such values and by the yields, each yield that gains is
rewritten as `rest + c_1 * s_1 + ... + c_m * s_m`, the coefficients `c_j` computed from
values that do not depend on the carried ones (off the chain). The old ops become dead.
The result differs by rounding only (the same terms, associated differently).
"""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.builder import NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.types import F32, F64
from adgen.ir.values import Value

_ONE = None  # the coefficient 1 (emitted only where it must be)
_LINEAR = ("add", "sub", "neg", "mul")


def shorten_linear_chains(fn: Function) -> Function:
    """`fn` with the yields of loops that update carried scalars linearly rewritten with
    their coefficients computed first (see the module docstring).

    Example:
        >>> # for k in ...: t = (1 - x[k]) * g; g = -(r * x[k] * g) + r * t   becomes
        >>> # for k in ...: c = -(r * x[k]) + r * (1 - x[k]); g = c * g
    """
    from adgen.transforms.specialize import all_names

    names = NameTable(all_names(fn))
    body, changed = _region(fn.body, names)
    return Function(fn.name, body, fn.loc, fn.tuple_return) if changed else fn


def _region(region: Region, names: NameTable):
    ops, changed = [], False
    for op in region.ops:
        if op.regions:
            regions = []
            for sub in op.regions:
                new, c = _region(sub, names)
                regions.append(new)
                changed |= c
            op = replace(op, regions=tuple(regions))
        if op.opcode == "for":
            new = _Rewriter(op, names).run()
            if new is not None:
                op, changed = new, True
        ops.append(op)
    return Region(region.args, tuple(ops), region.yields), changed


def _live_ops(ops: list, yields) -> int:
    """How many of `ops` the `yields` need (ops with effects count always)."""
    by_result = {r.name: op for op in ops for r in op.results}
    live, stack = set(), [v.name for v in yields]
    stack += [v.name for op in ops if not op.results or op.regions for v in op.operands]
    count = sum(1 for op in ops if not op.results or op.regions)
    while stack:
        op = by_result.get(stack.pop())
        if op is None or id(op) in live:
            continue
        live.add(id(op))
        if op.results and not op.regions:
            count += 1
        stack.extend(v.name for v in op.operands)
    return count


class _Form:
    """A linear combination of the carried values: coefficient per slot, plus a rest."""

    def __init__(self, terms: dict, rest: Value | None, depth: int):
        self.terms, self.rest, self.depth = terms, rest, depth


class _Rewriter:
    def __init__(self, loop: Op, names: NameTable):
        self.loop, self.names = loop, names
        self.body = loop.regions[0]
        self.emitted: list[Op] = []
        self.loc = loop.loc  # of the op whose coefficients are being computed

    def value(self, hint: str, type_) -> Value:
        return Value(self.names.fresh(hint), type_)

    def emit(self, opcode: str, operands, type_, hint="partial") -> Value:
        out = self.value(hint, type_)
        self.emitted.append(Op(opcode, tuple(operands), (out,), (), (), self.loc))
        return out

    def const(self, x: float, type_) -> Value:
        out = self.value("c", type_)
        self.emitted.append(Op("const", (), (out,), (("type", type_), ("value", x)), (),
                               self.loc))
        return out

    def run(self) -> Op | None:
        body = self.body
        slots = {a.name: k for k, a in enumerate(body.args[1:]) if a.type in (F64, F32)}
        if not slots:
            return None
        forms: dict[str, _Form] = {name: _Form({k: _ONE}, None, 0)
                                   for name, k in slots.items()}
        uses: dict[str, int] = {}
        for op in body.ops:
            for v in op.operands:
                uses[v.name] = uses.get(v.name, 0) + 1
        kept = []
        linear_uses: dict[str, int] = {}
        for op in body.ops:
            dependent = [v for v in op.operands if v.name in forms]
            if not dependent:
                kept.append(op)
                continue
            if op.regions or op.opcode not in _LINEAR or len(op.results) != 1:
                return None  # a carried value read other than linearly
            self.loc = op.loc
            form = self.combine(op, forms)
            if form is None:
                return None
            for v in dependent:
                linear_uses[v.name] = linear_uses.get(v.name, 0) + 1
            forms[op.results[0].name] = form
            kept.append(op)
        yields = list(body.yields)
        for v in yields:
            if v.name in forms:
                linear_uses[v.name] = linear_uses.get(v.name, 0) + 1
        # every dependent value must be used only by linear ops and yields
        for name in forms:
            if name in slots:
                continue
            total = uses.get(name, 0) + sum(1 for y in yields if y.name == name)
            if linear_uses.get(name, 0) != total:
                return None
        tail, changed = [], False
        for k, y in enumerate(yields):
            form = forms.get(y.name)
            if form is None or y.name in slots:
                continue
            scaled = sum(1 for c in form.terms.values() if c is not _ONE)
            new_depth = (1 if scaled else 0) + len(form.terms) - 1 + (form.rest is not None)
            if new_depth >= form.depth:
                continue
            self.loc = next((o.loc for o in body.ops if y in o.results), self.loop.loc)
            yields[k] = self.assemble(form, body, y.type, tail, body.args[1 + k].name)
            changed = True
        if not changed:
            return None
        ops = self.ordered(kept) + tail
        # a shorter chain, but never more work per iteration (many coupled carried values,
        # as in an ODE's stages, would need a coefficient per pair)
        if _live_ops(ops, yields) > _live_ops(list(body.ops), body.yields):
            return None
        region = Region(body.args, tuple(ops), tuple(yields))
        return replace(self.loop, regions=(region,))

    def ordered(self, kept: list) -> list:
        """The body's ops with the coefficients' ops placed after the ops they read."""
        inside = {a.name for a in self.body.args}
        inside.update(r.name for op in kept + self.emitted for r in op.results)
        defined = {a.name for a in self.body.args}

        def is_ready(e):
            return all(v.name in defined or v.name not in inside for v in e.operands)

        out, pending = [], list(self.emitted)
        for op in kept:
            out.append(op)
            defined.update(r.name for r in op.results)
            ready = [e for e in pending if is_ready(e)]
            for e in ready:
                out.append(e)
                defined.update(r.name for r in e.results)
                pending.remove(e)
        while pending:  # coefficients of coefficients
            ready = [e for e in pending if is_ready(e)]
            if not ready:
                raise AssertionError("linear: a coefficient reads an undefined value")
            for e in ready:
                out.append(e)
                defined.update(r.name for r in e.results)
                pending.remove(e)
        return out

    def combine(self, op: Op, forms: dict) -> _Form | None:
        type_ = op.results[0].type
        a = op.operands[0]
        fa = forms.get(a.name)
        if op.opcode == "neg":
            return self.scale(fa, None, type_, negate=True)
        b = op.operands[1]
        fb = forms.get(b.name)
        if op.opcode == "mul":
            if fa is not None and fb is not None:
                return None  # a product of two dependent values: not linear
            form, factor = (fa, b) if fa is not None else (fb, a)
            return self.scale(form, factor, type_)
        if op.opcode == "sub" and fb is not None:
            fb = self.scale(fb, None, type_, negate=True)
        elif op.opcode == "sub":
            b = self.emit("neg", (b,), type_)
        return self.add(fa, fb, a, b, type_)

    def scale(self, form: _Form, factor, type_, negate=False) -> _Form:
        terms = {}
        for k, c in form.terms.items():
            if factor is None:
                terms[k] = self.emit("neg", (c,), type_) if c is not _ONE else \
                    self.const(-1.0, type_)
            else:
                c = factor if c is _ONE else self.emit("mul", (c, factor), type_)
                terms[k] = c
        rest = form.rest
        if rest is not None:
            rest = self.emit("neg", (rest,), type_) if factor is None else \
                self.emit("mul", (rest, factor), type_)
        return _Form(terms, rest, form.depth + 1)

    def add(self, fa, fb, a, b, type_) -> _Form:
        if fa is None:
            fa, fb, a, b = fb, fa, b, a
        if fb is None:  # a linear value plus one that does not depend on the carried
            rest = b if fa.rest is None else self.emit("add", (fa.rest, b), type_)
            return _Form(dict(fa.terms), rest, fa.depth + 1)
        terms = dict(fa.terms)
        for k, c in fb.terms.items():
            if k not in terms:
                terms[k] = c
                continue
            left = terms[k] if terms[k] is not _ONE else self.const(1.0, type_)
            right = c if c is not _ONE else self.const(1.0, type_)
            terms[k] = self.emit("add", (left, right), type_)
        rest = fa.rest
        if fb.rest is not None:
            rest = fb.rest if rest is None else self.emit("add", (rest, fb.rest), type_)
        return _Form(terms, rest, max(fa.depth, fb.depth) + 1)

    def assemble(self, form: _Form, body: Region, type_, tail: list, hint: str) -> Value:
        """`c_1 * s_1 + ... + rest` at the end of the body (named after the slot; a slot
        of its own with coefficient 1 first, so that it prints as `s += ...`)."""
        args = body.args[1:]
        own = [k for k, a in enumerate(args) if a.name == hint]
        order = sorted(form.terms, key=lambda k: (k not in own, k))
        total = None
        for k in order:
            c = form.terms[k]
            term = args[k]
            if c is not _ONE:
                term = self.tail_op(tail, "mul", (c, term), hint, type_)
            total = term if total is None else self.tail_op(tail, "add", (total, term),
                                                            hint, type_)
        if form.rest is not None:
            total = form.rest if total is None else self.tail_op(tail, "add",
                                                                 (total, form.rest), hint,
                                                                 type_)
        return total

    def tail_op(self, tail: list, opcode: str, operands, hint: str, type_) -> Value:
        out = self.value(hint, type_)
        tail.append(Op(opcode, tuple(operands), (out,), (), (), self.loc))
        return out
