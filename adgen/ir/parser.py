"""Reading the canonical text form of the IR back: the inverse of `adgen.ir.printer`.

`parse_function(print_function(f)) == f` for every function `f` (names, types,
attribute order, regions, locations, `tuple_return`), with one exception: a
float attribute `nan` is never equal to itself, so where `f` holds one the
round trip holds by text, `print_function(parse_function(t)) == t`.

Example:
    >>> from adgen.ir.printer import print_function
    >>> text = '''func @f(%x: f64) @"f.py":1:0 {
    ...   %y: f64 = sin %x @2:11
    ...   return %y
    ... }
    ... '''
    >>> fn = parse_function(text)
    >>> fn.body.ops[0].loc
    Loc(file='f.py', line=2, col=11)
    >>> print_function(fn) == text
    True

A use (`%x`) is resolved by name to the latest definition before it (an op's
results count as defined after its regions), so it carries its definition's
type; a use of a name not defined yet is a parse error. Everything else
(dominance, types) is left to `adgen.ir.verify`. Malformed text raises
`AdgenInternalError` naming the line.
"""

from __future__ import annotations

import ast
import re

from adgen.errors import AdgenInternalError
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region
from adgen.ir.types import parse_type
from adgen.ir.values import Loc, Value

# One token per alternative; the order matters where two could start at the same place
# (a location `@6:11` before a symbol `@f`, `->` before `-`).
_TOKEN = re.compile(r"""
    (?P<loc>@(?:"[^"]*":)?\d+:\d+)
  | (?P<sym>@[\w.<>]+)
  | (?P<value>%[\w.]+)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<attrtype>!(?:array<[^>]*>|\w+))
  | (?P<type>array<[^>]*>)
  | (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<punct>->|[-=,:(){}])
""", re.VERBOSE)
_LOC = re.compile(r'@(?:"([^"]*)":)?(\d+):(\d+)')
_WORDS = {"True": True, "False": False, "None": None, "inf": float("inf"),
          "nan": float("nan")}


class _Line:
    """The tokens of one line of text and a cursor over them.

    A token is (kind, text); punctuation is its own kind (`"{"`, `"->"`).
    """

    def __init__(self, lineno: int, text: str):
        self.lineno = lineno
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        self.pos = 0
        at = 0
        while at < len(text):
            if text[at].isspace():
                at += 1
                continue
            m = _TOKEN.match(text, at)
            if m is None:
                self.fail(f"unexpected character {text[at]!r}")
            kind = m.lastgroup
            self.tokens.append((m.group() if kind == "punct" else kind, m.group()))
            at = m.end()

    def fail(self, message: str):
        raise AdgenInternalError(f"IR text, line {self.lineno}: {message}\n"
                                 f"    {self.text.strip()}")

    def peek(self) -> str:
        """The kind of the next token ("end" at the end of the line)."""
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else "end"

    def peek_text(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of line"

    def take(self, kind: str, text: str | None = None) -> str:
        """The next token's text; it must be of `kind` (and spelled `text`)."""
        if self.peek() != kind or (text is not None and self.peek_text() != text):
            self.fail(f"expected {text or kind!r}, found {self.peek_text()!r}")
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def accept(self, kind: str) -> bool:
        if self.peek() == kind:
            self.pos += 1
            return True
        return False

    def end(self) -> None:
        if self.peek() != "end":
            self.fail(f"unexpected {self.peek_text()!r}")


class _Parser:
    def __init__(self, text: str):
        self.lines = [_Line(n, t) for n, t in enumerate(text.splitlines(), 1) if t.strip()]
        self.next_line = 0
        self.values: dict[str, Value] = {}  # name -> latest definition in text order
        self.file: str | None = None  # the function's file, for `@line:col`

    def line(self) -> _Line:
        if self.next_line >= len(self.lines):
            last = self.lines[-1].lineno if self.lines else 0
            raise AdgenInternalError(f"IR text, line {last + 1}: unexpected end of text")
        self.next_line += 1
        return self.lines[self.next_line - 1]

    # values, types, locations ----------------------------------------------------
    def define(self, ln: _Line, register: bool = True) -> Value:
        name = ln.take("value")[1:]
        type_ = None
        if ln.accept(":"):
            kind = ln.peek() if ln.peek() in ("name", "type") else "type"
            text = ln.take(kind)
            try:
                type_ = parse_type(text)
            except (ValueError, KeyError):
                ln.fail(f"unknown type {text!r}")
        value = Value(name, type_)
        if register:
            self.values[name] = value
        return value

    def use(self, ln: _Line) -> Value:
        name = ln.take("value")[1:]
        if name not in self.values:
            ln.fail(f"use of undefined value %{name}")
        return self.values[name]

    def define_list(self, ln: _Line, register: bool = True) -> tuple[Value, ...]:
        values = [self.define(ln, register)]
        while ln.accept(","):
            values.append(self.define(ln, register))
        return tuple(values)

    def use_list(self, ln: _Line) -> tuple[Value, ...]:
        if ln.peek() != "value":
            return ()
        values = [self.use(ln)]
        while ln.accept(","):
            values.append(self.use(ln))
        return tuple(values)

    def region_args(self, ln: _Line) -> tuple[Value, ...]:
        ln.take("(")
        if ln.accept(")"):
            return ()
        args = self.define_list(ln)
        ln.take(")")
        return args

    def loc(self, ln: _Line) -> Loc | None:
        if ln.peek() != "loc":
            return None
        file, line, col = _LOC.fullmatch(ln.take("loc")).groups()
        return Loc(self.file if file is None else file, int(line), int(col))

    # attributes -------------------------------------------------------------------
    def literal(self, ln: _Line):
        kind = ln.peek()
        if kind == "(":
            ln.take("(")
            items = []
            while not ln.accept(")"):
                items.append(self.literal(ln))
                if not ln.accept(","):
                    ln.take(")")
                    break
            return tuple(items)
        if kind == "-":  # -inf
            ln.take("-")
            ln.take("name", "inf")
            return float("-inf")
        if kind == "end":
            ln.fail("expected a literal, found the end of the line")
        text = ln.take(kind)
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "string":
            return ast.literal_eval(text)
        if kind == "attrtype":
            try:
                return parse_type(text[1:])
            except (ValueError, KeyError):
                ln.fail(f"unknown type {text!r}")
        if kind == "name" and text in _WORDS:
            return _WORDS[text]
        ln.fail(f"expected a literal, found {text!r}")

    def attrs(self, ln: _Line) -> tuple:
        attrs = []
        while not ln.accept("}"):
            key = ln.take("name")
            ln.take("=")
            attrs.append((key, self.literal(ln)))
            if not ln.accept(","):
                ln.take("}")
                break
        return tuple(attrs)

    # ops, regions, the function ---------------------------------------------------
    def block(self, terminator: str) -> tuple[tuple[Op, ...], tuple[Value, ...]]:
        """Op lines up to the `terminator` line (`yield` or `return`): (ops, yields)."""
        ops = []
        while True:
            ln = self.line()
            if ln.peek() == "name" and ln.peek_text() == terminator:
                ln.take("name")
                yields = self.use_list(ln)
                ln.end()
                return tuple(ops), yields
            if ln.peek() not in ("value", "name"):
                ln.fail(f"expected an op or {terminator!r}, found {ln.peek_text()!r}")
            ops.append(self.op(ln))

    def op(self, ln: _Line) -> Op:
        results = ()
        if ln.peek() == "value":
            results = self.define_list(ln, register=False)  # defined after the op
            ln.take("=")
        opcode = ln.take("name")
        operands = self.use_list(ln)
        attrs = self.attrs(ln) if ln.accept("{") else ()
        loc = self.loc(ln)
        regions = []
        while ln.peek() == "(":  # `(args) {` opens a region; `} (args) {` the next one
            args = self.region_args(ln)
            ln.take("{")
            ln.end()
            ops, yields = self.block("yield")
            regions.append(Region(args, ops, yields))
            ln = self.line()
            ln.take("}")
        ln.end()
        self.values.update((r.name, r) for r in results)
        return Op(opcode, operands, results, attrs, tuple(regions), loc)

    def function(self) -> Function:
        ln = self.line()
        ln.take("name", "func")
        name = ln.take("sym")[1:]
        params = self.region_args(ln)
        tuple_return = ln.accept("->")
        if tuple_return:
            ln.take("name", "tuple")
        fn_loc = self.loc(ln)
        self.file = fn_loc.file if fn_loc else None
        ln.take("{")
        ln.end()
        ops, returns = self.block("return")
        ln = self.line()
        ln.take("}")
        ln.end()
        if self.next_line < len(self.lines):
            self.lines[self.next_line].fail("text after the end of the function")
        return Function(name, Region(params, ops, returns), fn_loc, tuple_return)


def parse_function(text: str) -> Function:
    """The function that `adgen.ir.printer.print_function` printed as `text`."""
    return _Parser(text).function()
