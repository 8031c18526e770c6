"""Generated scalar code -> the text of a `numba.cuda.jit(device=True)` function.

The CUDA back end compiles the very source the CPU back ends run (see
`adgen.codegen.python_source`); only what a GPU thread cannot do is rewritten,
on the function's `ast`:

* **Tapes live in thread-local arrays.** `x_tape = np.empty(100, dtype=np.float64)`
  becomes `x_tape = cuda.local.array(100, numba.float64)`: the size must be a
  literal, known when the kernel is compiled. `np.zeros`/`np.ones`/`np.full`
  become a local array and a loop that fills it, `np.zeros_like(t)` /
  `np.empty_like(t)` / `t.copy()` of a local array a local array of `t`'s size.
  A size known only at run time (a loop over `range(n)` with `n` an argument)
  raises `AdgenTypeError` naming the user's loop and the argument to make static
  (`static_argnums=`, and `in_axes=None` under `vmap`).
* **No heap.** A `while` loop whose reverse sweep needs a growable tape
  (`_adgen.push`), undo logs of arrays written in loops, and array arguments are
  refused with the same kind of error.

Everything else (arithmetic, `np.sin` and the other ufuncs on scalars, `math`)
is compiled by numba.cuda as it is; generated CUDA modules import
`adgen.cuda.support as _adgen`, whose `trip_count` is a device function.
"""

from __future__ import annotations

import ast
import re

from adgen.codegen.python_source import TAPE_MEMORY_PARAM
from adgen.errors import AdgenTypeError

_ALLOC_SIZED = ("empty", "zeros", "ones", "full")  # np.<f>(shape, [fill], dtype=...)
_ALLOC_LIKE = ("empty_like", "zeros_like", "ones_like")  # np.<f>(array)
_FILL = {"zeros": "0", "ones": "1", "zeros_like": "0", "ones_like": "1"}
_DTYPES = {"np.float64": "numba.float64", "np.float32": "numba.float32",
           "np.int64": "numba.int64", "np.bool_": "numba.boolean"}
# helpers of adgen.codegen.support that allocate or grow memory: not on a GPU thread
_HEAP_HELPERS = {
    "push": "a `while` loop whose reverse sweep needs a growable tape",
    "log_new": "an array written inside a loop (its undo log grows at run time)",
    "log_write": "an array written inside a loop (its undo log grows at run time)",
    "sum_like": "an array operation", "broadcast_like": "an array operation",
    "reduce_axis": "an array operation", "keep_axis": "an array operation",
    "spread_axis": "an array operation", "reshape": "an array operation",
    "reshape_like": "an array operation",
}
# the helpers of adgen.codegen.support that adgen.cuda.support provides as device functions
DEVICE_HELPERS = ("trip_count",)
_LINE_COMMENT = re.compile(r"^\s*# line (\d+)(?:: (.*))?$")
_SOURCE_HEADER = re.compile(r"^# source: (\S+) \((.*):(\d+)\)$", re.M)


class _Context:
    """What error messages need: the generated text (for `# line N:` comments), the
    user's function and file, and the parameters that may be made static."""

    def __init__(self, source: str, func: ast.FunctionDef, static_hint: str):
        self.lines = source.splitlines()
        header = _SOURCE_HEADER.search(source)
        self.user_function = header.group(1) if header else func.name
        self.user_file = header.group(2) if header else "<unknown>"
        self.params = [a.arg for a in func.args.args]
        self.static_hint = static_hint
        # name -> the value expression of its first plain assignment (for size origins)
        self.defs: dict[str, ast.expr] = {}
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    self.defs.setdefault(target.id, node.value)

    def where(self, node: ast.AST) -> str:
        """`file line N (`text`)` of the user's line nearest above `node`."""
        for index in range(getattr(node, "lineno", 1) - 1, -1, -1):
            found = _LINE_COMMENT.match(self.lines[index])
            if found:
                text = f" (`{found.group(2).strip()}`)" if found.group(2) else ""
                return f"{self.user_file} line {found.group(1)}{text}"
        return f"{self.user_file}"

    def origins(self, expr: ast.expr) -> list[str]:
        """The parameters the value of `expr` is computed from."""
        seen, params, todo = set(), [], [expr]
        while todo:
            for node in ast.walk(todo.pop()):
                if isinstance(node, ast.Name) and node.id not in seen:
                    seen.add(node.id)
                    if node.id in self.params:
                        params.append(node.id)
                    elif node.id in self.defs:
                        todo.append(self.defs[node.id])
        return params

    def fail(self, node: ast.AST, what: str, hint: str) -> None:
        raise AdgenTypeError(f"{self.user_function}: {what} at {self.where(node)}: the CUDA "
                             f"back end keeps it in thread-local memory, sized when the "
                             f"kernel is compiled; {hint}")


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _literal_shape(node: ast.expr):
    """A tuple of ints for a literal shape (`100`, `(3, 4)`), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return (node.value,)
    if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) and type(e.value) is int
                                           for e in node.elts):
        return tuple(e.value for e in node.elts)
    return None


class _Rewriter:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.local: dict[str, tuple] = {}  # local array name -> (shape, numba dtype)
        self.counter = 0
        self.replace: dict[int, list[str]] = {}  # line number -> the lines replacing it

    # statements ---------------------------------------------------------------------------
    def body(self, statements: list) -> None:
        for stmt in statements:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and self.allocation(stmt.targets[0].id, stmt.value, stmt)):
            return
        self.check(stmt)
        for field in ("body", "orelse"):
            if isinstance(getattr(stmt, field, None), list):
                self.body(getattr(stmt, field))

    def allocation(self, target: str, value: ast.expr, stmt: ast.stmt):
        """Whether `target = value` allocates an array: then its replacement is noted."""
        if not isinstance(value, ast.Call):
            return False
        path = dotted(value.func)
        kind = path[3:] if path and path.startswith("np.") else None
        if path == "_adgen.tape_array" and len(value.args) == 3:
            # a tape from the memory the CPU caller keeps: here, a local array as np.empty
            value = ast.Call(func=ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()),
                                                attr="empty", ctx=ast.Load()),
                             args=[value.args[1]],
                             keywords=[ast.keyword(arg="dtype", value=value.args[2])])
            shape = value.args[0]
            if isinstance(shape, ast.Tuple) and len(shape.elts) == 1:
                value.args = [shape.elts[0]]
            kind = "empty"
        fill = None
        if kind in _ALLOC_SIZED:
            if not value.args:
                return False
            shape = _literal_shape(value.args[0])
            if shape is None:
                names = self.ctx.origins(value.args[0])
                which = (f"argument {', '.join(repr(n) for n in names)}" if names
                         else "a value computed at run time")
                self.ctx.fail(stmt, f"the tape `{target}` of the loop has a length known only "
                              f"at run time (from {which})",
                              f"make the trip count static ({self.ctx.static_hint(names)})")
            dtype = "numba.float64"
            for kw in value.keywords:
                if kw.arg == "dtype":
                    dtype = _DTYPES.get(dotted(kw.value) or "", None)
                    if dtype is None:
                        self.ctx.fail(stmt, f"the array `{target}` has dtype "
                                      f"{ast.unparse(kw.value)}", "use float64, int64 or bool")
            fill = _FILL.get(kind)
            if kind == "full":
                fill = ast.unparse(value.args[1])
        elif kind in _ALLOC_LIKE or (isinstance(value.func, ast.Attribute)
                                     and value.func.attr == "copy" and not value.args):
            source = value.args[0] if kind in _ALLOC_LIKE else value.func.value
            if not (isinstance(source, ast.Name) and source.id in self.local):
                what = ast.unparse(value)
                self.ctx.fail(stmt, f"`{what}` makes an array of a size not known when "
                              "the kernel is compiled", "only scalar arguments and tapes "
                              "of loops with static trip counts are supported")
            shape, dtype = self.local[source.id]
            fill = _FILL.get(kind)
            if kind is None:  # .copy()
                fill = ("copy", source.id)
        else:
            return False
        self.local[target] = (shape, dtype)
        if len(shape) > 1:
            self.ctx.fail(stmt, f"the {len(shape)}-d array `{target}`", "use 1-d arrays")
        lines = [f"{target} = cuda.local.array({shape[0]}, {dtype})"]
        if fill is not None:
            index = f"_adgen_i{self.counter}"
            self.counter += 1
            if isinstance(fill, tuple):
                value_text = f"{fill[1]}[{index}]"
            elif dtype == "numba.boolean":
                value_text = str(fill not in ("0", "0.0"))
            elif dtype.startswith("numba.float") and fill in ("0", "1"):
                value_text = fill + ".0"
            else:
                value_text = fill
            lines += [f"for {index} in range({shape[0]}):",
                      f"    {target}[{index}] = {value_text}"]
        if stmt.lineno != stmt.end_lineno:
            raise ValueError("an allocation spread over several lines")
        self.replace[stmt.lineno] = lines
        return True

    def check(self, stmt: ast.stmt) -> None:
        """Refuse what a GPU thread cannot run (only in `stmt` itself, not nested bodies)."""
        nested = {id(n) for field in ("body", "orelse") for s in getattr(stmt, field, []) or []
                  for n in ast.walk(s)} if hasattr(stmt, "body") else set()
        for node in ast.walk(stmt):
            if id(node) in nested or not isinstance(node, ast.Call):
                continue
            path = dotted(node.func) or ""
            if path.startswith("_adgen.") and path[7:] not in DEVICE_HELPERS:
                self.ctx.fail(node, _HEAP_HELPERS.get(path[7:], "an array operation"),
                              "bound the loop with `for ... in range(...)` and a static trip "
                              "count, or use the numba back end")
            if path.startswith("_adgen_ext."):
                self.ctx.fail(node, "a user primitive", "user primitives have no CUDA "
                              "implementation; use the numba back end")
            if path[3:] in _ALLOC_SIZED + _ALLOC_LIKE and path.startswith("np."):
                self.ctx.fail(node, f"`{ast.unparse(node)}` allocates an array",
                              "only tapes of loops with static trip counts are supported")


def transform_hint(transformed, vmapped: bool = False):
    """A `static_hint` naming the transform, e.g. `adgen.grad(f, ..., static_argnums=2)`."""
    params = list(transformed._signature.parameters)

    def hint(found):
        idx = [params.index(x) for x in found if x in params]
        if not idx:
            return "static_argnums= on the transform"
        which = idx[0] if len(idx) == 1 else tuple(idx)
        text = f"adgen.{transformed.kind}({transformed.__name__}, ..., static_argnums={which})"
        if vmapped:
            text += " with in_axes=None for " + ", ".join(repr(params[i]) for i in idx)
        return text

    return hint


def _default_hint(names):
    if not names:
        return "static_argnums= on the transform"
    return ("static_argnums= naming " + ", ".join(repr(n) for n in names)
            + " on the transform, e.g. adgen.grad(f, static_argnums=...)")


def device_function_source(source: str, name: str, static_hint=_default_hint) -> str:
    """The text of function `name` of the generated module `source`, rewritten to run on
    one GPU thread and decorated with `@cuda.jit(device=True)`.

    Raises `AdgenTypeError` naming the user's loop where a tape's size is not a
    compile-time constant. `static_hint(names)` words the advice for making the
    parameters `names` static.

    Example:
        >>> src = '''def f_grad(r, x0, n):
        ...     # line 4: for i in range(n):
        ...     x_tape = np.empty(100, dtype=np.float64)
        ...     return x_tape[0]
        ... '''
        >>> print(device_function_source(src, "f_grad"))
        @cuda.jit(device=True)
        def f_grad(r, x0, n):
            # line 4: for i in range(n):
            x_tape = cuda.local.array(100, numba.float64)
            return x_tape[0]
        <BLANKLINE>
    """
    tree = ast.parse(source)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    if not funcs:
        raise ValueError(f"no function {name!r} in the generated source")
    func = funcs[0]
    rewriter = _Rewriter(_Context(source, func, static_hint))
    rewriter.body(func.body)
    lines = source.splitlines()
    out = ["@cuda.jit(device=True)"]
    for number in range(func.lineno, func.end_lineno + 1):
        line = lines[number - 1]
        if number == func.lineno:  # a GPU thread's tapes are local arrays, not the caller's
            line = line.replace(", " + TAPE_MEMORY_PARAM + ")", ")")
        if number in rewriter.replace:
            indent = line[:len(line) - len(line.lstrip())]
            out.extend(indent + new for new in rewriter.replace[number])
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def function_text(source: str, name: str) -> str:
    """The text of function `name` in `source` as generated (comments kept)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return "\n".join(lines[node.lineno - 1:node.end_lineno]) + "\n"
    raise ValueError(f"no function {name!r} in the generated source")
