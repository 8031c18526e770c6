"""Loading a user function's source: file, line numbers and its `ast` tree.

Line and column numbers in the tree are the real ones of the file, so every
diagnostic and every `Loc` points at the user's own line.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from dataclasses import dataclass

from adgen.errors import AdgenSyntaxError, Diagnostic


@dataclass(frozen=True)
class SourceInfo:
    """Where a function's source came from.

    `tree` is the `ast.FunctionDef` with `lineno`/`col_offset` of the file;
    `file_lines` are all lines of that file (1-based via `line(n)`).
    """

    filename: str
    tree: ast.FunctionDef
    file_lines: tuple[str, ...]
    text: str  # the function's own source, as in the file
    stamp: tuple | None = None  # file_stamp(filename), taken before the file was read

    def line(self, lineno: int) -> str:
        if 1 <= lineno <= len(self.file_lines):
            return self.file_lines[lineno - 1].rstrip("\n")
        return ""


def diagnostic(info: SourceInfo, node: ast.AST, message: str, hint: str = "") -> Diagnostic:
    """A `Diagnostic` at `node` of the function described by `info`."""
    lineno = getattr(node, "lineno", info.tree.lineno)
    col = getattr(node, "col_offset", 0)
    return Diagnostic(message, info.filename, lineno, col, info.line(lineno), hint)


def file_stamp(filename: str) -> tuple | None:
    """`(filename, mtime_ns, size)` of a source file; None if there is no such file
    (`<stdin>`, a notebook cell: those sources never change under a function)."""
    try:
        st = os.stat(filename)
    except (OSError, ValueError):
        return None
    return (filename, st.st_mtime_ns, st.st_size)


def unchanged(stamps) -> bool:
    """Whether every file stamped in `stamps` (by `file_stamp`) is as it was."""
    return all(file_stamp(stamp[0]) == stamp for stamp in stamps)


def _no_source(fn, why: str) -> AdgenSyntaxError:
    code = getattr(fn, "__code__", None)
    filename = code.co_filename if code else "<unknown>"
    lineno = code.co_firstlineno if code else 0
    name = getattr(fn, "__qualname__", repr(fn))
    return AdgenSyntaxError([Diagnostic(
        f"cannot read the source of {name}: {why}", filename, lineno, 0, "",
        "adgen reads Python source; define the function in a .py file "
        "(not with exec, eval or at an interactive prompt without a file)")])


def load_source(fn) -> SourceInfo:
    """Source and tree of the plain Python function `fn`.

    Example:
        >>> def f(x):
        ...     return x * x
        >>> load_source(f).tree.name  # doctest: +SKIP
        'f'
    """
    fn = inspect.unwrap(fn)
    try:
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
        # Stamped before reading: an edit from now on shows as a change.
        stamp = file_stamp(filename)
        file_lines, first = inspect.getsourcelines(fn)  # re-reads the file if it changed
    except (OSError, TypeError) as exc:
        raise _no_source(fn, str(exc)) from None
    text = "".join(file_lines)
    dedented = textwrap.dedent(text)
    indent = len(file_lines[0]) - len(file_lines[0].lstrip()) if file_lines else 0
    try:
        module = ast.parse(dedented)
    except SyntaxError as exc:
        raise _no_source(fn, f"its source does not parse ({exc.msg})") from None
    defs = [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defs:
        raise _no_source(fn, "its source is not a def statement (a lambda?)")
    tree = defs[0]
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            node.lineno += first - 1
            node.col_offset += indent
            if getattr(node, "end_lineno", None) is not None:
                node.end_lineno += first - 1
                node.end_col_offset += indent
    try:
        with open(filename, encoding="utf-8") as handle:
            all_lines = tuple(handle.readlines())
    except OSError:
        all_lines = tuple([""] * (first - 1) + list(file_lines))
    return SourceInfo(filename, tree, all_lines, text, stamp)
