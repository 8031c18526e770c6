"""A pure-Python interpreter of the IR: the oracle that tests compare generated
code against, and the engine of `adgen.trace` (through `on_op`)."""

from __future__ import annotations

import numpy as np

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region


def _run_region(region: Region, env: dict, args, on_op) -> list:
    env = dict(env)
    for a, value in zip(region.args, args):
        env[a.name] = value
    for op in region.ops:
        _run_op(op, env, on_op)
    return [env[v.name] for v in region.yields], env


def _run_op(op: Op, env: dict, on_op) -> None:
    from adgen.primitives import registry

    def flow(sources, targets):
        if on_op:
            on_op(None, sources, targets, "alias")

    operands = [env[v.name] for v in op.operands]
    if op.opcode == "if":
        region = op.regions[0] if operands[0] else op.regions[1]
        outs, _ = _run_region(region, env, (), on_op)
        flow(region.yields, op.results)
    elif op.opcode == "for":
        start, stop, step, *carried = operands
        body = op.regions[0]
        flow(op.operands[3:], body.args[1:])
        for i in range(int(start), int(stop), int(step)):
            carried, _ = _run_region(body, env, [i] + carried, on_op)
            flow(body.yields, body.args[1:])
        outs = carried
        flow(body.args[1:], op.results)
    elif op.opcode == "while":
        cond, body = op.regions
        carried = operands
        flow(op.operands, cond.args)
        flow(op.operands, body.args)
        while True:
            (test,), _ = _run_region(cond, env, carried, on_op)
            if not test:
                break
            carried, _ = _run_region(body, env, carried, on_op)
            flow(body.yields, cond.args)
            flow(body.yields, body.args)
        outs = carried
        flow(cond.args, op.results)
    else:
        prim = registry.get(op.opcode)
        with np.errstate(all="ignore"):  # IEEE semantics, as generated code
            value = prim.impl(*operands, **dict(op.attrs))
        outs = list(value) if prim.nresults > 1 else [value]
        for r, v in zip(op.results, outs):
            env[r.name] = v
        if on_op:
            on_op(op, op.operands, op.results, "primitive")
        return
    for r, v in zip(op.results, outs):
        env[r.name] = v


def run_op(op: Op, env: dict) -> None:
    """Evaluate one op (its regions too) in `env`, a dict of names to values that
    gains its results."""
    _run_op(op, env, None)


def interpret(fn: Function, *args, on_op=None):
    """Evaluate `fn` on `args` with the primitives' NumPy implementations.

    `on_op(op, sources, targets, kind)` is called after every primitive op
    (kind "primitive") and whenever values flow from `sources` to `targets`
    (kind "alias": if results, loop-carried values), so a tracer can follow them.

    Example:
        >>> # interpret(specialize(lower_function(f), (F64, F64)), 2.0, 5.0)
    """
    outs, _ = _run_region(fn.body, {}, args, on_op)
    return tuple(outs) if fn.tuple_return else outs[0]
