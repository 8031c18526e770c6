"""A function of the IR: a body region whose args are the parameters and
whose yields are the returned values."""

from __future__ import annotations

from dataclasses import dataclass

from adgen.ir.ops import Region
from adgen.ir.values import Loc, Value


@dataclass(frozen=True)
class Function:
    """`tuple_return` tells `return a, b` (a tuple) from `return a`."""

    name: str
    body: Region
    loc: Loc | None = None
    tuple_return: bool = False

    @property
    def params(self) -> tuple[Value, ...]:
        return self.body.args

    @property
    def returns(self) -> tuple[Value, ...]:
        return self.body.yields
