"""Debugging NaN and inf: the error that `adgen.config(check_nans=True)` raises.

With the setting on (or ADGEN_CHECK_NANS=1), every transform compiles code in
which each statement computing floats is followed by a check; the first
statement whose float operands are all finite but whose result is NaN or inf
raises `AdgenNaNError`, naming that generated statement, the primitive it
computes and the line of the user's function it comes from. Statements that
merely pass on a NaN or inf they were given are not reported: only its origin.

Example:
    >>> import math, adgen
    >>> def f(x):
    ...     return math.log(x) * x
    >>> with adgen.config(check_nans=True):           # doctest: +SKIP
    ...     adgen.grad(f, backend="python")(-1.0)
    Traceback (most recent call last):
    adgen.debug.AdgenNaNError: f_grad: `tmp = np.log(x)` (primitive 'log') produced NaN or
    inf from finite operands; it comes from line 2 of <doctest>: return math.log(x) * x
"""

from __future__ import annotations

from adgen.errors import AdgenError


class AdgenNaNError(AdgenError, FloatingPointError):
    """The first statement of generated code that turned finite operands into NaN or inf.

    Attributes: `statement` (the generated Python statement), `opcode` (the primitive it
    computes), `filename`, `lineno` and `source_line` (the user's source it comes from;
    "" and 0 where unknown), `function` (the generated function's name).
    """

    def __init__(self, message: str, statement: str = "", opcode: str = "",
                 filename: str = "", lineno: int = 0, source_line: str = "",
                 function: str = ""):
        super().__init__(message)
        self.statement = statement
        self.opcode = opcode
        self.filename = filename
        self.lineno = lineno
        self.source_line = source_line
        self.function = function

    def __reduce__(self):
        return (type(self), (str(self), self.statement, self.opcode, self.filename,
                             self.lineno, self.source_line, self.function))
