"""Per-iteration partial sums: a nest's scalar accumulation kept in one cell per inner
iteration, summed once after the nest.

The reverse sweep of a loop nest that reads a scalar parameter in its inner loop adds
into that parameter's adjoint in every inner iteration: `r_bar += (...) * g`. That is a
chain of dependent additions, one per iteration of the whole nest (a million for 1000
steps of 1000 cells), each waiting for the one before; it also keeps the inner loop
from being vectorized (a floating-point sum may not be reordered). A hand-written adjoint
adds into `r_cells[i]` instead, independent lanes that vectorize, and sums the cells
once at the end.

Here a float scalar carried by an outer `for` loop whose body passes it, unchanged
otherwise, through one or more inner `for` loops of the same bounds, each adding one
value per iteration (`acc = acc + e`), becomes an array of one cell per inner iteration,
allocated before the outer loop: the inner loops add `e` into their iteration's cell,
and after the outer loop the scalar is its initial value plus the sum of the cells.
The inner loops' bounds must be known before the outer loop, and they may carry no
other float scalar than such sums (a loop serial through a recurrence gains nothing).
The sum is formed in another order: results differ by rounding only.
"""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, defined_in, use_counts
from adgen.ir.parallel import is_parallel
from adgen.ir.types import I64, ArrayType, ScalarType, is_float
from adgen.ir.values import Value
from adgen.transforms.simplify.loop_rewrite import LoopRewriter

_SUM = (("axis", None), ("how", "sum"), ("keepdims", False))


def sum_in_cells(fn: Function) -> Function:
    """`fn` with nest-wide scalar accumulations kept in cells (see the module docstring).

    Example:
        >>> # for t in ...: for k in range(n - 1, -1, -1): r_bar += e(k)     becomes
        >>> # r_bar_cells = np.zeros(n)
        >>> # for t in ...: for k in range(n - 1, -1, -1): r_bar_cells[n - 1 - k] += e(k)
        >>> # r_bar = r_bar + np.sum(r_bar_cells)
    """
    return _Splitter(fn).run(fn)


class _Splitter(LoopRewriter):
    def region(self, region: Region, in_loop: bool = False) -> Region:
        """`region` rewritten; only outermost loops are (cells inside a loop would be
        allocated once per iteration of it)."""
        ops = []
        for op in region.ops:
            if op.opcode == "for" and not is_parallel(op) and not in_loop:
                ops.extend(self.outer(op))
            else:
                if op.regions:
                    inner = in_loop or op.opcode in ("for", "while")
                    op = replace(op, regions=tuple(self.region(r, inner) for r in op.regions))
                ops.append(op)
        return Region(region.args, tuple(ops), region.yields)

    def outer(self, op: Op) -> list[Op]:
        before: list[Op] = []
        after: list[Op] = []
        for slot in range(len(op.results)):
            inners = self.accumulating_loops(op, slot)
            if inners:
                op = self.rewrite(op, slot, inners, before, after)
        return before + [op] + after

    def accumulating_loops(self, op: Op, slot: int) -> list[Op]:
        """The inner loops through which the outer loop's scalar slot goes from its body's
        start to its yield, each adding one value per iteration; or []."""
        body = op.regions[0]
        arg = body.args[1 + slot]
        if not (isinstance(arg.type, ScalarType) and is_float(arg.type)):
            return []
        inside = defined_in(op)
        uses = use_counts(op)
        users = {}
        for inner in body.ops:
            for v in inner.operands:
                users.setdefault(v.name, []).append(inner)
        loops, current = [], arg
        while current.name != body.yields[slot].name:
            found = users.get(current.name, [])
            if uses.get(current.name) != 1 or len(found) != 1:
                return []
            inner = found[0]
            if inner.opcode != "for" or is_parallel(inner):
                return []
            k = [j for j, v in enumerate(inner.operands[3:]) if v.name == current.name]
            if len(k) != 1 or not _adds_once(inner, k[0]):
                return []
            if not _only_sums(inner):
                return []  # serial through another carried scalar: cells would not help
            if any(v.name in inside for v in inner.operands[:3]):
                return []  # bounds computed in the outer loop: no size before it
            if loops and inner.operands[:3] != loops[0][0].operands[:3]:
                return []
            if self.constants.get(inner.operands[2].name) not in (1, -1):
                return []
            loops.append((inner, k[0]))
            current = inner.results[k[0]]
        if uses.get(current.name) != 1:
            return []
        return loops

    def rewrite(self, op: Op, slot: int, inners: list, before: list, after: list) -> Op:
        body = op.regions[0]
        arg = body.args[1 + slot]
        dtype = arg.type
        cells_type = ArrayType(dtype, 1)
        first = inners[0][0]
        loc = first.loc
        start, stop, step = first.operands[:3]
        n = self.fresh("n", I64)
        cells = self.fresh(arg.name + "_cells", cells_type)
        before += [Op("trip_count", (start, stop, step), (n,), (), (), loc),
                   Op("zeros", (n,), (cells,), (("dtype", dtype.name),), (), loc)]
        cells_arg = self.fresh(arg.name + "_cells", cells_type)
        replaced = {}
        current = cells_arg
        for inner, k in inners:
            new_inner = self.inner_loop(inner, k, current, cells_type)
            replaced[id(inner)] = new_inner
            current = new_inner.results[k]
        ops = tuple(replaced.get(id(o), o) for o in body.ops)
        args = body.args[:1 + slot] + (cells_arg,) + body.args[2 + slot:]
        yields = body.yields[:slot] + (current,) + body.yields[slot + 1:]
        cells_out = self.fresh(arg.name + "_cells", cells_type)
        results = op.results[:slot] + (cells_out,) + op.results[slot + 1:]
        init = op.operands[3 + slot]
        new_op = replace(op, operands=op.operands[:3 + slot] + (cells,) + op.operands[4 + slot:],
                         results=results, regions=(Region(args, ops, yields),))
        total = self.fresh(arg.name + "_sum", dtype)
        result = self.fresh(op.results[slot].name, dtype)
        after += [Op("reduce", (cells_out,), (total,), _SUM, (), loc),
                  Op("add", (init, total), (result,), (), (), loc)]
        self.renames[op.results[slot].name] = result
        return new_op

    def inner_loop(self, inner: Op, k: int, cells: Value, cells_type) -> Op:
        """`inner` adding its value into the cell of its iteration instead of slot k."""
        body = inner.regions[0]
        counter, arg = body.args[0], body.args[1 + k]
        start, step = inner.operands[0], inner.operands[2]
        cell_arg = self.fresh(arg.name + "_cells", cells_type)
        ops, yielded = [], None
        for o in body.ops:
            if o.opcode == "add" and arg in o.operands:
                added = o.operands[1] if o.operands[0] == arg else o.operands[0]
                cell = self.fresh("cell", I64)
                forward = self.constants[step.name] == 1
                ops.append(Op("sub", (counter, start) if forward else (start, counter),
                              (cell,), (), (), o.loc))
                out = self.fresh(arg.name + "_cells", cells_type)
                ops.append(Op("index_add", (cell_arg, cell, added), (out,),
                              (("index", ("i",)),), (), o.loc))
                yielded = out
            else:
                ops.append(o)
        args = body.args[:1 + k] + (cell_arg,) + body.args[2 + k:]
        yields = body.yields[:k] + (yielded,) + body.yields[k + 1:]
        result = self.fresh(arg.name + "_cells", cells_type)
        return replace(inner, operands=inner.operands[:3 + k] + (cells,) + inner.operands[4 + k:],
                       results=inner.results[:k] + (result,) + inner.results[k + 1:],
                       regions=(Region(args, tuple(ops), yields),))


def _adds_once(loop: Op, k: int) -> bool:
    """Whether slot k of `loop` is `acc = acc + e` (top level, acc used nowhere else)."""
    body = loop.regions[0]
    arg = body.args[1 + k]
    uses = use_counts(loop)
    adds = [o for o in body.ops if o.opcode == "add" and arg in o.operands]
    if uses.get(arg.name) != 1 or len(adds) != 1:
        return False
    add = adds[0]
    return (add.operands[0] != add.operands[1] and add.results[0] == body.yields[k]
            and uses.get(add.results[0].name) == 1 and add.results[0].type == arg.type)


def _only_sums(loop: Op) -> bool:
    """Whether every float scalar `loop` carries is a sum of one value per iteration:
    then the sums are its only chain from one iteration to the next (a loop serial
    through another carried scalar, a recurrence, runs at its latency whatever cells
    would save, and they would cost a store per iteration)."""
    carried = loop.regions[0].args[1:]
    return all(_adds_once(loop, k) for k, a in enumerate(carried)
               if isinstance(a.type, ScalarType) and is_float(a.type))
