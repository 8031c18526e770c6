"""What the passes that rewrite loops one at a time share (promote, gather, cells)."""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.builder import NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, rename_uses, walk_ops
from adgen.ir.parallel import is_parallel
from adgen.ir.types import I64
from adgen.ir.values import Value


class LoopRewriter:
    """Rewrites each `for` loop that is not parallel, inner loops first, with `loop(op)`
    (a list of ops in its place); results it replaced are put in `renames` (name ->
    Value) and renamed in the whole function by `run`.

    Example:
        >>> # class _Mine(LoopRewriter):
        >>> #     def loop(self, op): return [op]
        >>> # new_fn = _Mine(fn).run(fn)
    """

    def __init__(self, fn: Function):
        from adgen.transforms.specialize import all_names

        self.names = NameTable(all_names(fn))
        self.constants = int_constants(fn)
        self.renames: dict[str, Value] = {}

    def fresh(self, hint: str, type_) -> Value:
        return Value(self.names.fresh(hint), type_)

    def run(self, fn: Function) -> Function:
        body = self.region(fn.body)
        if not self.renames:
            return fn
        return Function(fn.name, rename_uses(body, self.renames), fn.loc, fn.tuple_return)

    def region(self, region: Region) -> Region:
        ops = []
        for op in region.ops:
            if op.regions:
                op = replace(op, regions=tuple(self.region(r) for r in op.regions))
            if op.opcode == "for" and not is_parallel(op):
                ops.extend(self.loop(op))
            else:
                ops.append(op)
        return Region(region.args, tuple(ops), region.yields)

    def loop(self, op: Op) -> list[Op]:
        return [op]


def int_constants(fn: Function) -> dict[str, int]:
    """The integer constants of `fn`, by name."""
    return {op.results[0].name: op.attr("value") for op in walk_ops(fn.body)
            if op.opcode == "const" and op.results[0].type == I64}
