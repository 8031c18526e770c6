"""Every exception adgen raises, all deriving from `AdgenError`.

`AdgenSyntaxError` carries one `Diagnostic` per unsupported construct found in
the user's function (all of them, not only the first), each pointing at
file:line:col with the source line, a caret and a hint.
"""

from __future__ import annotations

from dataclasses import dataclass


class AdgenError(Exception):
    """Base class of every error adgen raises."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place of the user's source.

    Example:
        >>> d = Diagnostic("lambda is not supported", "f.py", 3, 8, "    g = lambda x: x", "use def")
        >>> print(d.format())  # doctest: +NORMALIZE_WHITESPACE
        f.py:3:9: lambda is not supported
            g = lambda x: x
                ^
          hint: use def
    """

    message: str
    filename: str
    lineno: int
    col: int  # 0-based, as in `ast`
    source_line: str = ""
    hint: str = ""

    def format(self) -> str:
        lines = [f"{self.filename}:{self.lineno}:{self.col + 1}: {self.message}"]
        if self.source_line:
            text = self.source_line.rstrip("\n")
            lines.append("    " + text)
            lines.append("    " + " " * self.col + "^")
        if self.hint:
            lines.append("  hint: " + self.hint)
        return "\n".join(lines)


class AdgenSyntaxError(AdgenError):
    """The function uses Python that adgen does not support.

    `diagnostics` lists every problem found; `filename`, `lineno`, `col`,
    `line` and `hint` describe the first one.
    """

    def __init__(self, diagnostics):
        diagnostics = list(diagnostics)
        if not diagnostics:
            raise ValueError("AdgenSyntaxError needs at least one diagnostic")
        self.diagnostics = diagnostics
        first = diagnostics[0]
        self.filename = first.filename
        self.lineno = first.lineno
        self.col = first.col
        self.line = first.source_line
        self.hint = first.hint
        text = "\n".join(d.format() for d in diagnostics)
        if len(diagnostics) > 1:
            text = f"{len(diagnostics)} unsupported constructs:\n" + text
        super().__init__(text)


class AdgenTypeError(AdgenError, TypeError):
    """An argument has a type or shape that adgen cannot specialize on.

    `argument` names the offending argument (None when it is not one argument).
    """

    def __init__(self, message: str, argument: str | None = None):
        self.argument = argument
        super().__init__(message)


class AdgenDerivativeError(AdgenError):
    """A derivative was asked for that no rule provides; never a silent wrong answer."""


class AdgenInternalError(AdgenError):
    """A bug in adgen (an IR invariant was broken); please report it."""
