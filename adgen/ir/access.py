"""How a loop walks the arrays it accesses (read by codegen and reverse mode)."""

from __future__ import annotations

from adgen.ir.ops import Region


def walks_rows(body: Region) -> bool:
    """Whether `body` is an innermost loop body that walks arrays along their last axis:
    it accesses elements, and every index computed from the counter (the counter plus
    or minus something) is an access's last one. Such a loop vectorizes once LLVM knows
    the counter is not negative; a loop that strides down a column does not, and runs
    slower as a `while` (LLVM no longer unrolls it: the MLP's reverse, 4.1 against 6.1 s).

    Example:
        >>> # for j in range(m): y[i, j] = x[i + j] * u[j]   -> True
        >>> # for j in range(d): a += X[i, j] * W[j, k]      -> False (W down a column)
    """
    counter = body.args[0].name
    derived = {counter}
    accesses = 0
    for op in body.ops:
        if op.regions:
            return False
        if op.opcode in ("add", "sub") and any(v.name in derived for v in op.operands):
            derived.update(r.name for r in op.results)
            continue
        if op.opcode not in ("getitem", "setitem", "index_add"):
            continue
        spec = op.attr("index", ("i",))
        if any(kind != "i" for kind in spec):
            continue
        indices = op.operands[1:1 + len(spec)]
        moving = [k for k, v in enumerate(indices) if v.name in derived]
        if moving and moving != [len(indices) - 1]:
            return False
        accesses += bool(moving)
    return accesses > 0
