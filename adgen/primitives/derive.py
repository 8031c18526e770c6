"""Tangent and adjoint rules derived from a scalar op's partial derivatives,
and small helpers that rules use to build IR."""

from __future__ import annotations

from adgen.primitives.registry import Zero


def fconst(b, value: float, like):
    """A float constant of the same float type as the value `like`."""
    from adgen.ir.types import F64, is_float, scalar_of

    t = scalar_of(like.type)
    return b.const(value, t if is_float(t) else F64)



def scale(b, factor, tangent):
    """factor * tangent."""
    return b.emit("mul", factor, tangent)


def accumulate(b, acc, term):
    """acc + term where either may be a symbolic Zero."""
    if isinstance(acc, Zero):
        return term
    if isinstance(term, Zero):
        return acc
    return b.emit("add", acc, term)


def jvp_from_partials(prim):
    """Forward rule: t_out = sum_i d out / d x_i * t_i over non-zero tangents."""

    def derived_jvp(b, op, tangents):
        active = tuple(not isinstance(t, Zero) for t in tangents)
        if not any(active):
            return [Zero(r.type) for r in op.results]
        parts = prim.partials(b, op.operands, op.result, active)
        out = Zero(op.result.type)
        for tangent, part, on in zip(tangents, parts, active):
            if on:
                out = accumulate(b, out, scale(b, part, tangent))
        return [broadcast_to(b, out, op.result)]

    derived_jvp.__name__ = f"{prim.name}_jvp"
    return derived_jvp


def vjp_from_partials(prim):
    """Reverse rule: x_i_bar += d out / d x_i * out_bar for active operands."""

    def derived_vjp(b, op, cotangents, active):
        (ct,) = cotangents
        if isinstance(ct, Zero) or not any(active):
            return [Zero(v.type) for v in op.operands]
        parts = prim.partials(b, op.operands, op.result, active)
        return [unbroadcast(b, scale(b, part, ct), v) if on else Zero(v.type)
                for v, part, on in zip(op.operands, parts, active)]

    derived_vjp.__name__ = f"{prim.name}_vjp"
    return derived_vjp


def ndim_of(t) -> int:
    from adgen.ir.types import ArrayType

    return t.ndim if isinstance(t, ArrayType) else 0


def unbroadcast(b, g, like):
    """Sum the cotangent `g` down to the shape of `like` (reversed broadcasting)."""
    if ndim_of(g.type) == 0:
        return g
    if ndim_of(like.type) == 0:
        return b.emit("reduce", g, attrs={"how": "sum", "axis": None, "keepdims": False})
    return b.emit("sum_like", g, like)


def broadcast_to(b, t, out):
    """The tangent `t` spread to the shape of `out` when broadcasting made `out` larger."""
    if ndim_of(t.type) < ndim_of(out.type):
        return b.emit("broadcast_like", t, out)
    return t


def shaped_like_first(opcode: str):
    """The adjoint rule of an op that only changes the shape of its first operand:
    the cotangent, brought back to that operand's shape by `opcode`."""

    def shape_back_vjp(b, op, cotangents, active):
        (ct,) = cotangents
        out = [Zero(v.type) for v in op.operands]
        if active[0] and not isinstance(ct, Zero):
            out[0] = b.emit(opcode, ct, op.operands[0])
        return out

    shape_back_vjp.__name__ = f"{opcode}_back_vjp"
    return shape_back_vjp
