"""Building IR: fresh SSA names and ops appended to the current block.

Example:
    >>> from adgen.ir.types import F64
    >>> b = Builder(NameTable())
    >>> x = b.param("x", F64)
    >>> y = b.emit("sin", x)
    >>> b.finish_region((x,), (y,)).ops[0].opcode
    'sin'
"""

from __future__ import annotations

import re

from adgen.ir.ops import Op, Region, make_attrs
from adgen.ir.types import Type
from adgen.ir.values import Loc, Value

_SUFFIX = re.compile(r"^(.*?)(?:_(\d+))?$")


# Names generated code relies on: a user variable with one of these names is renamed
# (np -> np_1) so that it cannot shadow the module or builtin the code calls.
RESERVED = frozenset({"np", "math", "numba", "_adgen", "_adgen_ext", "_adgen_nan", "_adgen_ok",
                      "len", "range", "float", "int", "bool", "min", "max", "abs", "True", "False",
                      "None"})
_EXTRA_RESERVED: set[str] = set()  # names of user primitives, which generated code calls


def reserve(name: str) -> None:
    """Keep `name` (a user primitive that generated code calls by name) off variables."""
    _EXTRA_RESERVED.add(name)


# reverse mode's tapes are named <carried value>_tape, mark_tape (a name only: what is a
# tape is recorded on its allocation, adgen.ir.tapes)
TAPE_SUFFIX = "_tape"


class NameTable:
    """Hands out unique SSA names: `x`, then `x_1`, `x_2`, ... (never a RESERVED name)."""

    def __init__(self, taken=()):
        self.used: set[str] = set(taken) | RESERVED | _EXTRA_RESERVED
        self._next: dict[str, int] = {}

    def fresh(self, hint: str) -> str:
        base = re.sub(r"\W", "_", hint or "t") or "t"
        if base[0].isdigit():
            base = "v" + base
        if base not in self.used:
            self.used.add(base)
            return base
        n = self._next.get(base, 1)
        while f"{base}_{n}" in self.used:
            n += 1
        self._next[base] = n + 1
        name = f"{base}_{n}"
        self.used.add(name)
        return name


def _primitive_types(opcode: str, operands, attrs: dict):
    from adgen.primitives import registry

    prim = registry.get(opcode)
    if any(v.type is None for v in operands):
        return (None,) * prim.nresults
    return tuple(prim.type_rule(tuple(v.type for v in operands), attrs))


class Builder:
    """Appends ops to a stack of open blocks; `loc` is stamped on new ops."""

    def __init__(self, names: NameTable, loc: Loc | None = None):
        self.names = names
        self.loc = loc
        self._blocks: list[list[Op]] = [[]]

    # values -----------------------------------------------------------
    def value(self, hint: str, type_: Type | None) -> Value:
        return Value(self.names.fresh(hint), type_)

    def param(self, hint: str, type_: Type | None) -> Value:
        return self.value(hint, type_)

    # ops ------------------------------------------------------------------
    def append(self, op: Op) -> Op:
        self._blocks[-1].append(op)
        return op

    def emit(self, opcode: str, *operands: Value, attrs: dict | None = None,
             name: str | None = None, types=None):
        """Append primitive `opcode`; returns its result (or tuple of results)."""
        attrs = dict(attrs or {})
        result_types = types if types is not None else _primitive_types(opcode, operands, attrs)
        hint = name or "tmp"
        results = tuple(self.value(hint, t) for t in result_types)
        self.append(Op(opcode, tuple(operands), results, make_attrs(attrs), (), self.loc))
        return results[0] if len(results) == 1 else results

    def const(self, value, type_: Type | None, name: str = "c") -> Value:
        from adgen.ir.types import BOOL, F32, F64, I64

        if type_ is not None:
            if type_ in (F64, F32):
                value = float(value)
            elif type_ == I64:
                value = int(value)
            elif type_ == BOOL:
                value = bool(value)
        return self.emit("const", attrs={"value": value, "type": type_}, name=name,
                         types=(type_,))

    def control(self, opcode: str, operands, regions, result_hints, result_types,
                attrs: dict | None = None) -> tuple[Value, ...]:
        """Append a control op (`if`, `for`, `while`) with prepared regions."""
        results = tuple(self.value(h, t) for h, t in zip(result_hints, result_types))
        self.append(Op(opcode, tuple(operands), results, make_attrs(attrs), tuple(regions),
                       self.loc))
        return results

    def rename_last(self, value: Value, hint: str) -> Value:
        """Give `value` the name `hint` if the last op appended defines it (and nothing
        has used it yet); otherwise return it unchanged."""
        from dataclasses import replace

        block = self._blocks[-1]
        if block and block[-1].results == (value,) and not block[-1].regions:
            new = Value(self.names.fresh(hint), value.type)
            block[-1] = replace(block[-1], results=(new,))
            return new
        return value

    def definition(self, value: Value) -> Op | None:
        """The op of an open block that defines `value` (None if it is defined elsewhere)."""
        for block in reversed(self._blocks):
            for op in reversed(block):
                if any(r.name == value.name for r in op.results):
                    return op
        return None

    # blocks -----------------------------------------------------------
    def open_block(self) -> None:
        self._blocks.append([])

    def pop_block(self) -> list[Op]:
        """Take the innermost open block's ops off the stack (to finish it later)."""
        return self._blocks.pop()

    def push_block(self, ops: list[Op]) -> None:
        """Reopen a block taken off with `pop_block`."""
        self._blocks.append(ops)

    def close_block(self, args, yields) -> Region:
        ops = self._blocks.pop()
        return Region(tuple(args), tuple(ops), tuple(yields))

    def finish_region(self, args, yields) -> Region:
        """Close the outermost block (the function body)."""
        assert len(self._blocks) == 1, "unbalanced blocks"
        ops = self._blocks[0]
        self._blocks = [[]]
        return Region(tuple(args), tuple(ops), tuple(yields))
