"""Activity analysis: which values depend differentiably on the inputs.

A value is *varied* when it is float-typed and depends, through primitives
with a derivative, on a differentiated argument. Only varied values get
tangents (forward mode) or adjoints (reverse mode).
"""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Region
from adgen.ir.types import is_float
from adgen.primitives import registry


def varied_values(fn: Function, wrt) -> set[str]:
    """Names of the values of `fn` that vary with the parameters at indices `wrt`.

    Example:
        >>> # varied_values(typed_fn, (0,)) -> {"x", "tmp", "y", ...}
    """
    active = {fn.params[i].name for i in wrt if is_float(fn.params[i].type)}
    while True:
        size = len(active)
        _region(fn.body, active)
        if len(active) == size:
            return active


def _mark(value, active) -> None:
    if is_float(value.type):
        active.add(value.name)


def _region(region: Region, active: set[str]) -> None:
    for op in region.ops:
        if op.opcode == "if":
            for sub in op.regions:
                _region(sub, active)
            for k, result in enumerate(op.results):
                if any(sub.yields[k].name in active for sub in op.regions):
                    _mark(result, active)
        elif op.opcode in ("for", "while"):
            body = op.regions[-1]
            inits = op.operands[3:] if op.opcode == "for" else op.operands
            offset = 1 if op.opcode == "for" else 0
            for k, init in enumerate(inits):
                if init.name in active or body.yields[k].name in active:
                    for sub in op.regions:
                        _mark(sub.args[offset + k] if sub is body else sub.args[k], active)
                    _mark(op.results[k], active)
            for sub in op.regions:
                _region(sub, active)
        else:
            prim = registry.get(op.opcode)
            if prim.nondiff:
                continue
            if any(v.name in active for v in op.operands):
                for result in op.results:
                    _mark(result, active)
