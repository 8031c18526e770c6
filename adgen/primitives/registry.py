"""The one registry of primitives.

Each primitive is declared once with everything adgen knows about it, side
by side: type rule, NumPy/Python implementation (the oracle used by the
interpreter and constant folding), Python emission, and its derivative:
either `partials` (scalar element-wise ops state only their partial
derivatives; both rules are derived from them) or explicit `jvp`/`vjp` rules,
or `nondiff=True` (derivative zero wherever it exists).

Rule signatures (`b` is an `adgen.ir.builder.Builder`):
    partials(b, args, out, active) -> tuple of Value | None, one per operand
    jvp(b, op, tangents)           -> list of Value | Zero, one per result
    vjp(b, op, cotangents, active) -> list of Value | Zero, one per operand
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable

from adgen.errors import AdgenDerivativeError
from adgen.ir.types import Type


@dataclass(frozen=True)
class Zero:
    """A symbolic zero tangent/cotangent of the given type: no code, no value."""

    type: Type | None


@dataclass(frozen=True)
class Scatter:
    """A cotangent of an array that is zero except at `index` (a getitem's adjoint):
    reverse mode adds it into the array's adjoint in place (`index_add`)."""

    attrs: dict
    indices: tuple
    value: object


@dataclass(frozen=True)
class Primitive:
    name: str
    type_rule: Callable[[tuple, dict], tuple]
    impl: Callable[..., Any]
    emit: Callable[[list, dict], ast.expr]
    nresults: int = 1
    partials: Callable | None = None
    jvp: Callable | None = None
    vjp: Callable | None = None
    nondiff: bool = False
    inplace_operand: int | None = None  # result may reuse this operand's storage
    trace: str | None = None  # trace-table form, e.g. "sin {0}"
    python_names: tuple[str, ...] = ()  # "math.sin", "numpy.sin", "builtins.abs", ...
    doc: str = ""
    pure: bool = True  # False: never merged by CSE (allocations, the undo log)
    effect: bool = False  # True: changes state; always kept, in program order
    extra: dict = field(default_factory=dict)

    @property
    def differentiable(self) -> bool:
        return self.nondiff or self.partials is not None or (
            self.jvp is not None and self.vjp is not None)


_REGISTRY: dict[str, Primitive] = {}


def register(prim: Primitive) -> Primitive:
    """Add `prim` to the registry (a name is declared once)."""
    if prim.name in _REGISTRY:
        raise ValueError(f"primitive {prim.name!r} is already registered")
    _REGISTRY[prim.name] = prim
    return prim


def replace(prim: Primitive) -> Primitive:
    """Put `prim` in place of the registered primitive of its name (user primitives
    registered again, e.g. when a notebook cell runs twice)."""
    if prim.name not in _REGISTRY:
        raise ValueError(f"primitive {prim.name!r} is not registered")
    _REGISTRY[prim.name] = prim
    return prim


def get(name: str) -> Primitive:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise AdgenDerivativeError(f"unknown primitive {name!r}") from None


def has(name: str) -> bool:
    return name in _REGISTRY


def all_primitives() -> list[Primitive]:
    return list(_REGISTRY.values())


def by_python_name() -> dict[str, str]:
    """Map 'math.sin' / 'numpy.sin' / 'builtins.abs' to primitive names."""
    table = {}
    for prim in _REGISTRY.values():
        for pyname in prim.python_names:
            table[pyname] = prim.name
    return table
