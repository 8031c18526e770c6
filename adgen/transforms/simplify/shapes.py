"""Shape sources: operands a primitive reads only the shape of (the registry marks them,
`extra["shape_only"]`): `sum_like(g, like)` reads only the shape of `like`.

Reverse mode passes the primal operand of a broadcasting op as `like`, which is
often an element-wise result of one array and scalars (`r * x`, `1.0 - x`),
shaped like that array. Pointing `like` at the array itself leaves the temporary
with one use, so codegen prints it inside the expression that reads it (one
fused loop under Numba), or DCE removes it.
"""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.types import ArrayType
from adgen.primitives import registry

def _shape_source(value, defining: dict):
    """The array `value` has the shape of: through element-wise ops of one array of the
    same type (rank and dtype) and scalars, back to that array."""
    for _ in range(1000):
        op = defining.get(value.name)
        if op is None or op.regions or not registry.get(op.opcode).extra.get("elementwise"):
            return value
        arrays = [v for v in op.operands if isinstance(v.type, ArrayType)]
        if len(arrays) != 1 or arrays[0].type != value.type:  # sum_like's type is like's
            return value
        value = arrays[0]
    return value


def _region(region: Region, defining: dict) -> Region:
    ops = []
    for op in region.ops:
        regions = tuple(_region(sub, defining) for sub in op.regions)
        operands = list(op.operands)
        if not op.regions:
            # the registry marks the operands a primitive reads only the shape of
            for k in registry.get(op.opcode).extra.get("shape_only", ()):
                if isinstance(operands[k].type, ArrayType):
                    operands[k] = _shape_source(operands[k], defining)
        ops.append(Op(op.opcode, tuple(operands), op.results, op.attrs, regions, op.loc))
    return Region(region.args, tuple(ops), region.yields)


def use_shape_sources(fn: Function) -> Function:
    """`fn` with each shape-only operand replaced by the array whose shape it has.

    Example:
        >>> # sum_like(g, tmp) with tmp = r * x  becomes  sum_like(g, x)
    """
    defining = {r.name: op for op in walk_ops(fn.body) for r in op.results}
    return Function(fn.name, _region(fn.body, defining), fn.loc, fn.tuple_return)
