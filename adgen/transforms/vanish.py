"""Reverse loops skipped where their seeds are exactly zero.

The adjoint of `max(a, b)`, `min`, `abs` or a branch is a select between the
incoming adjoint and 0: in `mx = max(mx, term(c))` over k components only one
term receives a non-zero adjoint. When the reverse of a loop (a `for` of d
iterations reversing `term`'s inner loop) is seeded only by such values, all its
contributions are that seed times something, so exactly zero when the seed is:
the loop is wrapped in `if seed != 0.0:` (k - 1 of the k reverse loops are
skipped). The contributions a skip drops are exact zeros, or NaN where a primal
value the loop reads is infinite (0 * inf); the derivative there is 0.

Only where every seed is a scalar that the builder saw come from such a select
(through products, negations and casts) and the loop threads no array state
(the reverse of a write must run to undo it).
"""

from __future__ import annotations

from adgen.ir.ops import Op, Region
from adgen.ir.types import BOOL, ArrayType
from adgen.ir.values import Value


def vanishing_root(b, value: Value, depth: int = 8) -> Value | None:
    """The value that is exactly 0 whenever `value` is: `value` itself if it is a select
    with a zero branch or such a select times something, else the root of the value it
    scales (through products, negations, casts and quotients); None if there is none.
    Only ops of the builder's open blocks are followed."""
    if depth == 0 or isinstance(value.type, ArrayType):
        return None
    op = b.definition(value)
    if op is None:
        return None
    if op.opcode == "const":
        return value if op.attr("value") == 0 else None
    if op.opcode == "select":
        branches = [vanishing_root(b, v, depth - 1) for v in op.operands[1:]]
        return value if any(r is not None for r in branches) else None
    if op.opcode in ("neg", "cast", "div"):  # the numerator
        return vanishing_root(b, op.operands[0], depth - 1)
    if op.opcode == "mul":
        roots = [vanishing_root(b, v, depth - 1) for v in op.operands]
        if any(r is not None and b.definition(r).opcode in ("select", "const")
               for r in roots):
            return value  # a select times the incoming adjoint
        return next((r for r in roots if r is not None), None)
    return None


def append_guarded(b, loop: Op, seeds: list, skipped: list) -> list:
    """Append `loop` under `if any seed != 0`, else the values `skipped` (one per loop
    result); returns the results. Without vanishing seeds, `loop` as it is."""
    roots = {}
    for s in seeds:
        root = vanishing_root(b, s)
        if root is None:
            b.append(loop)
            return list(loop.results)
        roots.setdefault(root.name, root)
    if not roots:
        b.append(loop)
        return list(loop.results)
    cond = None
    for s in roots.values():
        test = b.emit("ne", s, b.const(0.0, s.type), name="flows", types=(BOOL,))
        cond = test if cond is None else b.emit("or", cond, test, name="flows", types=(BOOL,))
    results = [b.value(r.name, r.type) for r in loop.results]
    taken = Region((), (loop,), loop.results)
    b.open_block()
    skip = b.close_block((), skipped)
    b.append(Op("if", (cond,), tuple(results), (), (taken, skip), loop.loc))
    return results
