"""Printing the NaN/inf checks of `adgen.config(check_nans=True)`.

Under the setting the printer inlines nothing (each primitive op is its own
statement, so a check names one primitive), and wraps every statement that
computes floats:

    x_bar = tmp_3 / y
    if not _adgen_nan.finite(x_bar) and _adgen_nan.finite(tmp_3) and _adgen_nan.finite(y):
        raise _adgen_nan.AdgenNaNError('...', 'x_bar = tmp_3 / y', 'div', file, line, ...)

When the statement overwrites one of its own operands (`s = s + x`, `x_bar += g`)
the operands are tested before it, into `_adgen_ok`. Only a statement whose
float operands were all finite is reported, so the error names where a NaN or
inf appears, not every statement it flows through. Ops that only move or
allocate values (indexing, copies, reshapes, `np.empty` tapes, stores into
arrays) cannot create one and are not checked; a store's value is checked
where it is computed.
"""

from __future__ import annotations

import math

from adgen.codegen.layout import Layout, _Builder
from adgen.ir.function import Function
from adgen.ir.ops import Op
from adgen.ir.types import is_float

IMPORT = "import adgen.codegen.nancheck as _adgen_nan\n"

# Ops that cannot turn finite operands into NaN or inf (or that hold uninitialized memory).
UNCHECKED = frozenset({
    "const", "undef", "empty", "zeros", "ones", "full", "zeros_like", "ones_like",
    "full_like", "arange", "getitem", "setitem", "index_add", "push", "copy", "transpose",
    "reshape", "reshape_like", "concatenate", "stack", "broadcast_like", "select", "where",
    "neg", "abs", "sign", "floor", "ceil", "trunc", "rint", "trip_count", "len", "dim", "size",
    "log_new", "log_len", "log_write", "log_undo_to", "log_undo_last",
})


class _NoInline(_Builder):
    def choose_inlines(self) -> None:  # every op gets its own statement
        return None


def plan_checked_layout(fn: Function) -> Layout:
    """The layout of `plan_layout` without inlining (variable sharing as usual)."""
    return _NoInline(fn).run()


class NanGuard:
    """Wraps the statements printed for one generated function with checks."""

    def __init__(self, function: str):
        self.function = function

    def wrap(self, printer, op: Op, target: str, depth: int, emit_statement) -> None:
        if (op.opcode in UNCHECKED or len(op.results) != 1
                or not is_float(op.results[0].type)):
            emit_statement()
            return
        names = []
        for v in op.operands:
            if not is_float(v.type):
                continue
            if v.name in printer.layout.literal:
                value = printer.layout.defining[v.name].attr("value")
                if isinstance(value, (int, float)) and not math.isfinite(value):
                    emit_statement()  # a literal inf or nan: this cannot be the origin
                    return
                continue
            name = printer.layout.name(v)
            if name not in names:
                names.append(name)
        alias = target in names
        if alias:
            printer.emit(depth, "_adgen_ok = " + " and ".join(
                f"_adgen_nan.finite({n})" for n in names))
        start = len(printer.lines)
        emit_statement()
        statement = "; ".join(line.strip() for line in printer.lines[start:])
        test = f"not _adgen_nan.finite({target})"
        if alias:
            test = f"_adgen_ok and {test}"
        else:
            test += "".join(f" and _adgen_nan.finite({n})" for n in names)
        loc = op.loc
        file, line = (loc.file, loc.line) if loc is not None else ("", 0)
        source = printer.source_lines.get((file, line), "").strip() if loc else ""
        if loc is None:
            where = "it has no line of the user's source"
        else:
            where = f"it comes from line {line} of {file}" + (f": {source}" if source else "")
        message = (f"{self.function}: `{statement}` (primitive {op.opcode!r}) produced NaN "
                   f"or inf from finite operands; {where}")
        args = ", ".join(repr(a) for a in (message, statement, op.opcode, file, line, source,
                                           self.function))
        printer.emit(depth, f"if {test}:")
        printer.emit(depth + 1, f"raise _adgen_nan.AdgenNaNError({args})")
