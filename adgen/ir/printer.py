"""The canonical text form of the IR (read back by `adgen.ir.parser`).

    func @f(%x1: f64, %x2: f64) @"quickstart.py":5:0 {
      %t: f64 = log %x1 @6:11
      %s: f64 = for %c, %n, %c_1, %x1 @7:4 (%i: i64, %acc: f64) {
        %acc_1: f64 = mul %acc, %x2 @8:8
        yield %acc_1
      }
      return %s
    }

Values print as `%name: type` where defined (`%name` when untyped) and as
`%name` where used. Attributes print as `{key = literal, ...}`, with types as
`!f64`. Locations print as `@line:col`, with the file only where it differs
from the function's.
"""

from __future__ import annotations

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.types import Type
from adgen.ir.values import Loc, Value


def _def(v: Value) -> str:
    return f"%{v.name}" if v.type is None else f"%{v.name}: {v.type}"


def _use(v: Value) -> str:
    return f"%{v.name}"


def format_literal(value) -> str:
    if isinstance(value, Type):
        return f"!{value}"
    if isinstance(value, tuple):
        inner = ", ".join(format_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float):
        return repr(value)  # 'inf', 'nan', '-inf' and shortest round-trip digits
    return repr(value)


def _loc(loc: Loc | None, file: str | None) -> str:
    if loc is None:
        return ""
    if loc.file != file:
        return f' @"{loc.file}":{loc.line}:{loc.col}'
    return f" @{loc.line}:{loc.col}"


def _region(region: Region, indent: str, file: str | None, out: list[str]) -> None:
    for op in region.ops:
        _op(op, indent, file, out)
    out.append(f"{indent}yield " + ", ".join(_use(v) for v in region.yields)
               if region.yields else f"{indent}yield")


def _op(op: Op, indent: str, file: str | None, out: list[str]) -> None:
    head = indent
    if op.results:
        head += ", ".join(_def(r) for r in op.results) + " = "
    head += op.opcode
    if op.operands:
        head += " " + ", ".join(_use(v) for v in op.operands)
    if op.attrs:
        head += " {" + ", ".join(f"{k} = {format_literal(v)}" for k, v in op.attrs) + "}"
    head += _loc(op.loc, file)
    if not op.regions:
        out.append(head)
        return
    for n, region in enumerate(op.regions):
        args = "(" + ", ".join(_def(a) for a in region.args) + ") {"
        if n == 0:
            out.append(f"{head} {args}")
        else:
            out.append(f"{indent}}} {args}")
        _region(region, indent + "  ", file, out)
    out.append(f"{indent}}}")


def print_function(fn: Function) -> str:
    """The text form of `fn` (ends with a newline)."""
    file = fn.loc.file if fn.loc else None
    params = ", ".join(_def(p) for p in fn.params)
    head = f"func @{fn.name}({params})"
    if fn.tuple_return:
        head += " -> tuple"
    if fn.loc is not None:
        head += f' @"{fn.loc.file}":{fn.loc.line}:{fn.loc.col}'
    out = [head + " {"]
    for op in fn.body.ops:
        _op(op, "  ", file, out)
    out.append("  return " + ", ".join(_use(v) for v in fn.returns) if fn.returns
               else "  return")
    out.append("}")
    return "\n".join(out) + "\n"
