"""IR types: scalars (f64, f32, i64, bool) and arrays of them.

Frontend IR is untyped (`None`); specialization gives every value a type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class Type:
    """Base of all IR types."""


@dataclass(frozen=True)
class ScalarType(Type):
    name: str  # "f64", "f32", "i64", "bool"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ArrayType(Type):
    dtype: ScalarType
    ndim: int

    def __str__(self) -> str:
        return f"array<{self.dtype},{self.ndim}>"


@dataclass(frozen=True)
class OpaqueType(Type):
    """A compiler-internal object that is not a number (the undo log of reverse mode)."""

    name: str

    def __str__(self) -> str:
        return self.name


LOG = OpaqueType("log")

F64 = ScalarType("f64")
F32 = ScalarType("f32")
I64 = ScalarType("i64")
BOOL = ScalarType("bool")
SCALARS = {t.name: t for t in (F64, F32, I64, BOOL)}
_RANK = {"bool": 0, "i64": 1, "f32": 2, "f64": 3}
NUMPY_DTYPES = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "bool": np.bool_}


def scalar_of(t: Type | None) -> ScalarType | None:
    """The element type of an array type, or the scalar type itself."""
    if isinstance(t, ArrayType):
        return t.dtype
    return t


def is_float(t: Type | None) -> bool:
    """True for types that carry derivatives (f64, f32 and arrays of them)."""
    s = scalar_of(t)
    return s is not None and s.name in ("f64", "f32")


def promote(a: ScalarType, b: ScalarType) -> ScalarType:
    """NumPy-like promotion of two scalar types (bool < i64 < f32 < f64)."""
    return a if _RANK[a.name] >= _RANK[b.name] else b


def join(a: Type | None, b: Type | None) -> Type | None:
    """The type that holds both `a` and `b` (None is "not known yet")."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if isinstance(a, ScalarType) and isinstance(b, ScalarType):
        return promote(a, b)
    if isinstance(a, ArrayType) and isinstance(b, ArrayType) and a.ndim == b.ndim:
        return ArrayType(promote(a.dtype, b.dtype), a.ndim)
    raise TypeError(f"cannot join types {a} and {b}")


def parse_type(text: str) -> Type | None:
    """Inverse of `str(type)`; `?` means untyped."""
    text = text.strip()
    if text == "?":
        return None
    if text in SCALARS:
        return SCALARS[text]
    if text == "log":
        return LOG
    if text.startswith("array<") and text.endswith(">"):
        dtype, ndim = text[6:-1].split(",")
        return ArrayType(SCALARS[dtype.strip()], int(ndim))
    raise ValueError(f"unknown IR type {text!r}")


def type_name(t: Type | None) -> str:
    return "?" if t is None else str(t)
