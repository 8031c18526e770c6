"""Transforms called inside differentiated code: `adgen.grad(critic)(x)` in a loss.

The frontend lowers such a call to one `call_transformed` op (its `transform`
attribute is a key into the table below). Specialization, once the argument
types are known, replaces the op by the typed derivative IR of the inner
transform for those types (`Transformed.transformed_ir`), inlined with fresh
names. What follows sees plain IR, so the outer transform differentiates
through the inner one: reverse over reverse for a gradient penalty.

Example:
    >>> # critic_grad = adgen.grad(critic, argnums=2)
    >>> # def loss(W, b, x):
    >>> #     g = critic_grad(W, b, x)       # a gradient inside the loss
    >>> #     return np.sum(g * g)
    >>> # adgen.grad(loss, argnums=(0, 1))  # reverse over reverse
"""

from __future__ import annotations

from adgen.errors import AdgenTypeError
from adgen.ir.ops import Op
from adgen.transforms.clone import Scope, clone_op

OPCODE = "call_transformed"

# kind -> how many positional arguments follow the primal ones
EXTRA_ARGUMENTS = {"call": 0, "grad": 0, "value_and_grad": 0, "jvp": None, "hvp": None}

_TABLE: dict[int, object] = {}


def register(transformed) -> int:
    """The key of `transformed` (kept alive as long as the process: IR refers to it)."""
    _TABLE[id(transformed)] = transformed
    return id(transformed)


def transformed_of(op: Op):
    return _TABLE[op.attr("transform")]


def _where(op: Op) -> str:
    return f"{op.loc.file}:{op.loc.line}" if op.loc else "?"


def inline(op: Op, operands, names, cache: dict):
    """(ops, results): the inner transform's typed IR for the types of `operands`, with
    fresh names, reading `operands`. `cache` keeps one copy per op and types, so that the
    fixpoint iterations of specialization see the same names."""
    key = (id(op), tuple((v.name, v.type) for v in operands))
    hit = cache.get(key)
    if hit is not None:
        return hit
    transformed = transformed_of(op)
    n = transformed.n_params  # then the tangents of a jvp / hvp, typed like their primals
    ir = transformed.transformed_ir(tuple(v.type for v in operands[:n]))
    for param, value in zip(ir.params[n:], operands[n:]):
        if param.type != value.type:
            raise AdgenTypeError(f"{_where(op)}: the tangent {value.name} of "
                                 f"{transformed.__name__} has type {value.type}, its primal "
                                 f"{param.type}", value.name)
    scope = Scope()
    for param, value in zip(ir.params, operands):
        scope.subst[param.name] = value
    ops = []
    for inner in ir.body.ops:
        ops.append(clone_op(inner, scope, names, fresh=True))
    results = [scope.map(v) for v in ir.returns]
    cache[key] = (ops, results)
    return ops, results
