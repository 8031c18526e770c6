"""Turning a symbolic `Zero` into a real zero value where code needs one."""

from __future__ import annotations

from adgen.ir.types import ArrayType
from adgen.primitives.registry import Zero


def materialize(b, value, like):
    """`value`, or a zero of `like`'s type when `value` is a symbolic Zero or None."""
    if value is not None and not isinstance(value, Zero):
        return value
    if isinstance(like.type, ArrayType):
        return b.emit("zeros_like", like)
    return b.const(0.0 if like.type.name in ("f64", "f32") else 0, like.type)
