"""Common-subexpression elimination: a pure op computed again from the same
operands (in the same region or an enclosing one) reuses the first result."""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.values import Value
from adgen.primitives import registry


def _key(op: Op, subst):
    attrs = tuple((k, repr(v)) for k, v in op.attrs)
    return (op.opcode, tuple(subst.get(v.name, v).name for v in op.operands), attrs)


def _region(region: Region, seen: dict, subst: dict[str, Value]) -> Region:
    seen = dict(seen)
    ops = []
    for op in region.ops:
        operands = tuple(subst.get(v.name, v) for v in op.operands)
        if op.regions:
            regions = tuple(_region(sub, seen, subst) for sub in op.regions)
            ops.append(Op(op.opcode, operands, op.results, op.attrs, regions, op.loc))
            continue
        # Array results merge too: a merged array has more uses, so codegen copies it
        # before an in-place write where it is still live. Allocations are not pure.
        if op.opcode == "undef" or not registry.get(op.opcode).pure:
            ops.append(Op(op.opcode, operands, op.results, op.attrs, (), op.loc))
            continue
        key = _key(op, subst)
        if key in seen:
            for old, new in zip(op.results, seen[key]):
                subst[old.name] = new
            continue
        seen[key] = op.results
        ops.append(Op(op.opcode, operands, op.results, op.attrs, (), op.loc))
    yields = tuple(subst.get(v.name, v) for v in region.yields)
    return Region(region.args, tuple(ops), yields)


def eliminate_common_subexpressions(fn: Function) -> Function:
    """`fn` with repeated pure computations merged.

    Example:
        >>> # `a = sin(x); b = sin(x)` becomes `a = sin(x)` with b replaced by a
    """
    return Function(fn.name, _region(fn.body, {}, {}), fn.loc, fn.tuple_return)
