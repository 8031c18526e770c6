"""Constant folding and algebraic simplification.

* ops whose operands are all constants are evaluated (when the result is
  finite and NumPy raises no warning);
* identities: x+0, 0+x, x-0, x*1, 1*x, x*-1 -> -x, x/1, x**1, -(-x), 0-x -> -x,
  casts to the same type, `select` and `if` on a constant condition;
  `0*x` is left alone (0*inf is nan);
* an `if` whose branches yield the same outer value, and a loop-carried value
  that its loop passes through unchanged, are replaced by that value.
"""

from __future__ import annotations

import warnings

import numpy as np

from adgen.ir.builder import NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, make_attrs
from adgen.ir.types import ArrayType, is_float
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.transforms.specialize import all_names

_NOFOLD = {"undef", "empty", "zeros", "setitem", "push", "getitem", "len"}


class _Folder:
    def __init__(self, fn: Function):
        self.names = NameTable(all_names(fn))
        self.consts: dict[str, object] = {}
        self.subst: dict[str, Value] = {}

    def map(self, v: Value) -> Value:
        while v.name in self.subst:
            v = self.subst[v.name]
        return v

    def const_of(self, v: Value):
        return self.consts.get(v.name, None)

    def is_const(self, v: Value, number=None) -> bool:
        if v.name not in self.consts:
            return False
        return number is None or (self.consts[v.name] == number
                                  and not isinstance(self.consts[v.name], bool))

    def region(self, region: Region, args=None) -> Region:
        out: list[Op] = []
        for op in region.ops:
            self.op(op, out)
        return Region(region.args if args is None else args, tuple(out),
                      tuple(self.map(v) for v in region.yields))

    def replace(self, op: Op, value: Value) -> bool:
        if value.type != op.result.type:
            return False
        self.subst[op.result.name] = value
        return True

    def new_const(self, op: Op, value, out: list[Op]) -> None:
        t = op.result.type
        attrs = make_attrs({"type": t, "value": value})
        out.append(Op("const", (), op.results, attrs, (), op.loc))
        self.consts[op.result.name] = value

    def op(self, op: Op, out: list[Op]) -> None:
        operands = tuple(self.map(v) for v in op.operands)
        op = Op(op.opcode, operands, op.results, op.attrs, op.regions, op.loc)
        if op.opcode == "if":
            return self.if_op(op, out)
        if op.opcode in ("for", "while"):
            return self.loop_op(op, out)
        if op.opcode == "const":
            self.consts[op.result.name] = op.attr("value")
            out.append(op)
            return
        if self.algebra(op, out):
            return
        if (op.opcode not in _NOFOLD and operands and all(self.is_const(v) for v in operands)
                and not isinstance(op.result.type, ArrayType) and self.fold(op, out)):
            return
        out.append(op)

    def fold(self, op: Op, out) -> bool:
        prim = registry.get(op.opcode)
        args = [self.consts[v.name] for v in op.operands]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                value = prim.impl(*args, **dict(op.attrs))
        except Exception:  # noqa: BLE001 - not foldable, keep the op
            return False
        if isinstance(value, (np.generic, bool, int, float)):
            value = value.item() if isinstance(value, np.generic) else value
        else:
            return False
        t = op.result.type
        if is_float(t):
            if not np.isfinite(value):
                return False
            value = float(value)
        elif t.name == "i64":
            value = int(value)
        elif t.name == "bool":
            value = bool(value)
        self.new_const(op, value, out)
        return True

    def algebra(self, op: Op, out) -> bool:
        name, args = op.opcode, op.operands
        if name == "add":
            x, y = args
            if self.is_const(y, 0):
                return self.replace(op, x)
            if self.is_const(x, 0):
                return self.replace(op, y)
        elif name == "sub":
            x, y = args
            if self.is_const(y, 0):
                return self.replace(op, x)
            if self.is_const(x, 0) and is_float(op.result.type) and y.type == op.result.type:
                out.append(Op("neg", (y,), op.results, (), (), op.loc))
                return True
        elif name == "mul":
            x, y = args
            if self.is_const(y, 1):
                return self.replace(op, x)
            if self.is_const(x, 1):
                return self.replace(op, y)
            for a, b in ((x, y), (y, x)):
                if self.is_const(b, -1) and a.type == op.result.type:
                    out.append(Op("neg", (a,), op.results, (), (), op.loc))
                    return True
        elif name in ("div", "pow"):
            x, y = args
            if self.is_const(y, 1):
                return self.replace(op, x)
        elif name == "cast":
            if args[0].type == op.result.type:
                return self.replace(op, args[0])
        elif name == "select":
            c, a, b = args
            if self.is_const(c):
                return self.replace(op, a if self.consts[c.name] else b)
            if a == b:
                return self.replace(op, a)
        return False

    def if_op(self, op: Op, out) -> None:
        cond = op.operands[0]
        if self.is_const(cond):
            taken = op.regions[0] if self.consts[cond.name] else op.regions[1]
            for inner in taken.ops:
                self.op(inner, out)
            for r, y in zip(op.results, taken.yields):
                self.subst[r.name] = self.map(y)
            return
        regions = tuple(self.region(r) for r in op.regions)
        keep = []
        for k, r in enumerate(op.results):
            first = regions[0].yields[k]
            if all(reg.yields[k] == first for reg in regions) and _defined_outside(first,
                                                                                    regions):
                self.subst[r.name] = first
            else:
                keep.append(k)
        regions = tuple(Region((), reg.ops, tuple(reg.yields[k] for k in keep))
                        for reg in regions)
        results = tuple(op.results[k] for k in keep)
        if results:
            out.append(Op("if", op.operands, results, op.attrs, regions, op.loc))

    def loop_op(self, op: Op, out) -> None:
        is_for = op.opcode == "for"
        offset = 1 if is_for else 0
        body = op.regions[-1]
        inits = op.operands[3:] if is_for else op.operands
        carried = body.args[offset:]
        passthrough = [k for k, (a, y) in enumerate(zip(carried, body.yields)) if a == y]
        for k in passthrough:
            for region in op.regions:
                args = region.args[offset:] if region is body else region.args
                self.subst[args[k].name] = inits[k]
            self.subst[op.results[k].name] = inits[k]
        keep = [k for k in range(len(inits)) if k not in passthrough]
        regions = []
        for region in op.regions:
            new = self.region(region)
            head = region.args[:offset] if region is body else ()
            args = region.args[offset:] if region is body else region.args
            yields = tuple(new.yields[k] for k in keep) if region is body else new.yields
            regions.append(Region(head + tuple(args[k] for k in keep), new.ops, yields))
        bounds = op.operands[:3] if is_for else ()
        out.append(Op(op.opcode, bounds + tuple(inits[k] for k in keep),
                      tuple(op.results[k] for k in keep), op.attrs, tuple(regions), op.loc))


def _defined_outside(value: Value, regions) -> bool:
    for region in regions:
        for op in region.ops:
            if value in op.results:
                return False
    return True


def fold_constants(fn: Function) -> Function:
    """`fn` with constants folded and algebraic identities applied.

    Example:
        >>> # `y = x * 1.0 + 0.0` becomes `y = x`
    """
    folder = _Folder(fn)
    body = folder.region(fn.body)
    return Function(fn.name, body, fn.loc, fn.tuple_return)
