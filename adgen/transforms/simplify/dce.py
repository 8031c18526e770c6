"""Dead-code elimination: drop ops, `if` results and loop-carried slots that no
returned value depends on (a carried value that only feeds itself is dead)."""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region


def _mark(region: Region, live: set[str]) -> None:
    for op in reversed(region.ops):
        if op.opcode == "if":
            keep = [k for k, r in enumerate(op.results) if r.name in live]
            if not keep:
                continue
            live.add(op.operands[0].name)
            for sub in op.regions:
                live.update(sub.yields[k].name for k in keep)
                _mark(sub, live)
        elif op.opcode in ("for", "while"):
            slots = _live_slots(op, live)
            if not slots:
                continue
            is_for = op.opcode == "for"
            bounds = op.operands[:3] if is_for else ()
            inits = op.operands[3:] if is_for else op.operands
            live.update(v.name for v in bounds)
            for k in slots:
                live.add(inits[k].name)
                for sub in op.regions:
                    carried = sub.args[1:] if is_for else sub.args
                    live.add(carried[k].name)
                live.add(op.regions[-1].yields[k].name)
                live.add(op.results[k].name)
            if not is_for:
                live.add(op.regions[0].yields[0].name)
            for sub in op.regions:
                _mark(sub, live)
        elif _is_effect(op) or any(r.name in live for r in op.results):
            live.update(v.name for v in op.operands)
            live.update(r.name for r in op.results)


def _is_effect(op: Op) -> bool:
    from adgen.primitives import registry

    return registry.get(op.opcode).effect


def _live_slots(op: Op, live: set[str]) -> list[int]:
    offset = 1 if op.opcode == "for" else 0
    slots = []
    for k, result in enumerate(op.results):
        args = [sub.args[offset + k] if sub is op.regions[-1] else sub.args[k]
                for sub in op.regions]
        if result.name in live or any(a.name in live for a in args):
            slots.append(k)
    return slots


def _rebuild(region: Region, live: set[str]) -> Region:
    ops = []
    for op in region.ops:
        if op.opcode == "if":
            keep = [k for k, r in enumerate(op.results) if r.name in live]
            if not keep:
                continue
            regions = tuple(Region((), _rebuild(sub, live).ops,
                                   tuple(sub.yields[k] for k in keep)) for sub in op.regions)
            ops.append(Op("if", op.operands, tuple(op.results[k] for k in keep), op.attrs,
                          regions, op.loc))
        elif op.opcode in ("for", "while"):
            slots = _live_slots(op, live)
            if not slots:
                continue
            is_for = op.opcode == "for"
            bounds = op.operands[:3] if is_for else ()
            inits = op.operands[3:] if is_for else op.operands
            regions = []
            for sub in op.regions:
                inner = _rebuild(sub, live)
                head = sub.args[:1] if (is_for and sub is op.regions[-1]) else ()
                carried = sub.args[1:] if (is_for and sub is op.regions[-1]) else sub.args
                args = head + tuple(carried[k] for k in slots)
                yields = (tuple(sub.yields[k] for k in slots) if sub is op.regions[-1]
                          else sub.yields)
                regions.append(Region(args, inner.ops, yields))
            ops.append(Op(op.opcode, bounds + tuple(inits[k] for k in slots),
                          tuple(op.results[k] for k in slots), op.attrs, tuple(regions),
                          op.loc))
        elif _is_effect(op) or any(r.name in live for r in op.results):
            ops.append(op)
    return Region(region.args, tuple(ops), region.yields)


def eliminate_dead_code(fn: Function) -> Function:
    """`fn` without the computations that do not reach its returned values.

    Example:
        >>> # eliminate_dead_code(fn) drops `t = sin(x)` if t is never used
    """
    live = {v.name for v in fn.returns}
    while True:
        size = len(live)
        _mark(fn.body, live)
        if len(live) == size:
            break
    return Function(fn.name, _rebuild(fn.body, live), fn.loc, fn.tuple_return)
