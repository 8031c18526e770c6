"""Forward mode: IR -> IR that also propagates tangents (`x_dot`).

    f(x, ...) -> y        becomes        f_jvp(x, ..., x_dot, ...) -> (y, ..., y_dot, ...)

Every primitive contributes through its registry `jvp` rule; `if` and loops
carry the tangents of their active values as extra results / carried values.
A parallel loop keeps its mark: the tangent of a reduction is a reduction, and a
tangent written at the primal's index is too (codegen prints a loop whose tangents
break the rules, the product rule of `acc *= e` reads acc, as a serial loop).
"""

from __future__ import annotations

from adgen.errors import AdgenDerivativeError
from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.types import BOOL, I64, scalar_of
from adgen.primitives import registry
from adgen.primitives.registry import Zero
from adgen.transforms.activity import varied_values
from adgen.transforms.specialize import all_names
from adgen.transforms.zeros import materialize


class _Forward:
    def __init__(self, fn: Function, wrt):
        self.fn = fn
        self.wrt = tuple(wrt)
        self.b = Builder(NameTable(all_names(fn)))
        self.active = varied_values(fn, self.wrt)

    def tangent(self, tan, value):
        return tan.get(value.name, Zero(value.type))

    def run(self) -> Function:
        tan = {}
        tangent_params = []
        for i in self.wrt:
            p = self.fn.params[i]
            t = self.b.value(p.name + "_dot", p.type)
            tangent_params.append(t)
            tan[p.name] = t
        self.ops(self.fn.body.ops, tan)
        outs = [materialize(self.b, tan.get(v.name), v) for v in self.fn.returns]
        body = self.b.finish_region(self.fn.params + tuple(tangent_params),
                                    self.fn.returns + tuple(outs))
        return Function(self.fn.name + "_jvp", body, self.fn.loc, True)

    def ops(self, ops, tan) -> None:
        for op in ops:
            self.b.loc = op.loc
            if op.opcode == "if":
                self.if_op(op, tan)
            elif op.opcode in ("for", "while"):
                self.loop_op(op, tan)
            else:
                self.primitive(op, tan)

    def primitive(self, op: Op, tan) -> None:
        self.b.append(op)
        prim = registry.get(op.opcode)
        tangents = [self.tangent(tan, v) for v in op.operands]
        if not prim.effect and (prim.nondiff or all(isinstance(t, Zero) for t in tangents)):
            return
        if prim.jvp is None:
            raise AdgenDerivativeError(f"{_where(op)}: primitive {op.opcode!r} has no tangent "
                                       "rule; register one to differentiate through it")
        outs = prim.jvp(self.b, op, tangents)
        for result, out in zip(op.results, outs):
            # an int or bool result (a float stored into an int array) is piecewise
            # constant: it has no tangent, whatever the rule built
            if not isinstance(out, Zero) and scalar_of(result.type) not in (I64, BOOL):
                tan[result.name] = self.b.rename_last(out, result.name + "_dot")

    def if_op(self, op: Op, tan) -> None:
        slots = [k for k, r in enumerate(op.results) if r.name in self.active]
        regions = []
        for region in op.regions:
            inner = dict(tan)
            self.b.open_block()
            self.ops(region.ops, inner)
            extra = [materialize(self.b, inner.get(region.yields[k].name), region.yields[k])
                     for k in slots]
            regions.append(self.b.close_block((), region.yields + tuple(extra)))
        dots = [self.b.value(op.results[k].name + "_dot", op.results[k].type) for k in slots]
        self.b.append(Op("if", op.operands, op.results + tuple(dots), op.attrs, tuple(regions),
                         op.loc))
        for k, d in zip(slots, dots):
            tan[op.results[k].name] = d

    def loop_op(self, op: Op, tan) -> None:
        is_for = op.opcode == "for"
        offset = 1 if is_for else 0
        body = op.regions[-1]
        inits = op.operands[3:] if is_for else op.operands
        slots = [k for k, a in enumerate(body.args[offset:]) if a.name in self.active]
        init_dots = [materialize(self.b, tan.get(inits[k].name), inits[k]) for k in slots]
        regions = []
        for region in op.regions:
            carried = region.args[offset:] if region is body else region.args
            inner = dict(tan)
            dot_args = []
            for k in slots:
                d = self.b.value(carried[k].name + "_dot", carried[k].type)
                inner[carried[k].name] = d
                dot_args.append(d)
            self.b.open_block()
            if region is body:
                self.ops(region.ops, inner)
                extra = [materialize(self.b, inner.get(region.yields[k].name), region.yields[k])
                         for k in slots]
            else:
                for inner_op in region.ops:
                    self.b.append(inner_op)
                extra = []
            regions.append(self.b.close_block(region.args + tuple(dot_args),
                                              region.yields + tuple(extra)))
        dots = [self.b.value(op.results[k].name + "_dot", op.results[k].type) for k in slots]
        self.b.loc = op.loc
        self.b.append(Op(op.opcode, op.operands + tuple(init_dots), op.results + tuple(dots),
                         op.attrs, tuple(regions), op.loc))
        for k, d in zip(slots, dots):
            tan[op.results[k].name] = d


def _where(op: Op) -> str:
    return f"{op.loc.file}:{op.loc.line}" if op.loc else "?"


def differentiate_forward(fn: Function, wrt) -> Function:
    """The forward-mode (jvp) function of the typed `fn` w.r.t. parameters `wrt`.

    The result takes the primal arguments then one tangent per `wrt` index and
    returns the primal outputs then their tangents.

    Example:
        >>> # differentiate_forward(specialize(lower_function(f), (F64,)), (0,))
    """
    return _Forward(fn, wrt).run()
