"""Type rules shared by many primitives (scalars and NumPy-style arrays)."""

from __future__ import annotations

from adgen.ir.types import BOOL, F64, I64, ArrayType, ScalarType, Type, is_float, promote, scalar_of


def _shape_like(types, dtype: ScalarType) -> Type:
    ndim = max((t.ndim for t in types if isinstance(t, ArrayType)), default=0)
    return ArrayType(dtype, ndim) if ndim else dtype


def _promote_all(types) -> ScalarType:
    out = scalar_of(types[0])
    for t in types[1:]:
        out = promote(out, scalar_of(t))
    return out


def arith_type(types, attrs):
    """+ - * // % and friends: NumPy promotion, bool arithmetic gives i64."""
    dtype = _promote_all(types)
    if dtype == BOOL:
        dtype = I64
    return (_shape_like(types, dtype),)


def truediv_type(types, attrs):
    dtype = _promote_all(types)
    if not is_float(dtype):
        dtype = F64
    return (_shape_like(types, dtype),)


def float_type(types, attrs):
    """Transcendental functions: float in, float out; ints become f64."""
    dtype = _promote_all(types)
    if not is_float(dtype):
        dtype = F64
    return (_shape_like(types, dtype),)


def same_type(types, attrs):
    dtype = _promote_all(types)
    return (_shape_like(types, dtype),)


def signed_type(types, attrs):
    """Negation, abs: bool becomes i64."""
    dtype = scalar_of(types[0])
    if dtype == BOOL:
        dtype = I64
    return (_shape_like(types, dtype),)


def bool_type(types, attrs):
    return (_shape_like(types, BOOL),)


def cast_type(types, attrs):
    from adgen.ir.types import SCALARS

    return (_shape_like(types, SCALARS[attrs["to"]]),)


def select_type(types, attrs):
    return same_type(types[1:], attrs)
