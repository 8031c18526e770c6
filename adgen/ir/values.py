"""SSA values and source locations."""

from __future__ import annotations

from dataclasses import dataclass

from adgen.ir.types import Type


@dataclass(frozen=True)
class Loc:
    """A place in the user's source (1-based line, 0-based column as in `ast`)."""

    file: str
    line: int
    col: int


@dataclass(frozen=True)
class Value:
    """An SSA value: defined once, named uniquely within its function.

    The name comes from the user's variable where there is one (`x`, `x_1`,
    `x_bar`); `type` is None before specialization.
    """

    name: str
    type: Type | None = None

    def __str__(self) -> str:
        return "%" + self.name
