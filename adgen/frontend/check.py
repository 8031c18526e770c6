"""The subset check: which Python constructs adgen accepts, and why not the rest.

`check_function` walks a function's `ast` tree before lowering and returns one
`Diagnostic` for every unsupported construct it finds (all of them, not only
the first), each with a hint that suggests a rewrite. It reports the outermost
offending node once and does not look inside it, but keeps checking the
statements around it.

This module owns the syntactic subset only. What needs name resolution
(recursion, calls to unknown functions, closures over mutable state, unknown
names) is reported by the lowering.
"""

from __future__ import annotations

import ast
from operator import attrgetter

from adgen.errors import Diagnostic
from adgen.frontend.parallel import is_prange_call
from adgen.frontend.source import SourceInfo, diagnostic

_PURE = "adgen functions are pure: no I/O or calls for their side effects; "
_BITWISE = (
    "bitwise operators are not differentiable; "
    "use and/or/not for conditions or np.floor for rounding"
)
_MEMBERSHIP = (
    "compare values instead: `x == 0.0`, `i < n`; "
    "for an optional argument use a default value such as 0.0"
)
_COMPREHENSION = (
    "write a for loop that fills a preallocated array: "
    "`out = np.zeros(n)` then `for i in range(n): out[i] = ...`"
)
_STAR = "pass or unpack the elements one by one: `f(xs[0], xs[1])`, `a, b = xs[0], xs[1]`"

# Node type -> (message, hint). Operator node types (ast.BitAnd, ast.Is, ...)
# are reported at the expression that uses them.
_UNSUPPORTED: dict[type, tuple[str, str]] = {
    ast.Lambda: (
        "lambda is not supported",
        "define the function with def at module level and call it by name",
    ),
    ast.FunctionDef: (
        "nested function definitions (closures) are not supported",
        "define the helper at module level and call it",
    ),
    ast.AsyncFunctionDef: (
        "nested async function definitions are not supported",
        "define the helper at module level with a plain def and call it",
    ),
    ast.ClassDef: (
        "class definitions are not supported inside an adgen function",
        "define the class outside, or keep the values in tuples or NumPy arrays",
    ),
    ast.Yield: (
        "generators (yield) are not supported",
        "return all values at once, as a tuple or a NumPy array filled in a loop",
    ),
    ast.YieldFrom: (
        "generators (yield from) are not supported",
        "return all values at once, as a tuple or a NumPy array filled in a loop",
    ),
    ast.Await: (
        "await is not supported",
        "call a plain (non-async) function and use its result directly",
    ),
    ast.AsyncFor: (
        "async for is not supported",
        "use a plain for loop over range(n)",
    ),
    ast.AsyncWith: (
        "async with is not supported",
        "remove the context manager; adgen functions only compute values",
    ),
    ast.Try: (
        "try/except/finally is not supported",
        "remove the try block and guard the computation with if, "
        "e.g. `y = np.log(x) if x > 0.0 else 0.0`",
    ),
    ast.With: (
        "with statements are not supported",
        "remove the with block and keep its body; "
        "adgen functions do no I/O and need no context managers",
    ),
    ast.Raise: (
        "raise is not supported",
        "check the inputs before calling the adgen function, "
        "or return a sentinel value such as np.nan",
    ),
    ast.Assert: (
        "assert is not supported",
        "check the inputs before calling the adgen function",
    ),
    ast.Global: (
        "global is not supported",
        "pass the value in as a parameter and return the new value",
    ),
    ast.Nonlocal: (
        "nonlocal is not supported",
        "pass the value in as a parameter and return the new value",
    ),
    ast.Delete: (
        "del is not supported",
        "remove the del statement; drop the name by not using it any more",
    ),
    ast.Import: (
        "import inside an adgen function is not supported",
        "move the import to the top of the module",
    ),
    ast.ImportFrom: (
        "from ... import inside an adgen function is not supported",
        "move the import to the top of the module",
    ),
    ast.ListComp: ("list comprehensions are not supported", _COMPREHENSION),
    ast.SetComp: ("set comprehensions are not supported", _COMPREHENSION),
    ast.DictComp: ("dict comprehensions are not supported", _COMPREHENSION),
    ast.GeneratorExp: (
        "generator expressions are not supported",
        "write a for loop that accumulates: `s = 0.0` then `for i in range(n): s += ...`, "
        "or use np.sum on an array",
    ),
    ast.List: ("list literals are not supported", "use a tuple, or np.array for arrays"),
    ast.Dict: (
        "dict literals are not supported",
        "use separate variables or a tuple, and pass parameters as arguments",
    ),
    ast.Set: ("set literals are not supported", "use a tuple, or np.array for arrays"),
    ast.JoinedStr: (
        "f-strings are not supported (string operations are not supported)",
        "remove the string; format messages outside the adgen function",
    ),
    ast.Starred: ("star-unpacking (*xs) is not supported", _STAR),
    ast.NamedExpr: (
        "the walrus operator := is not supported",
        "assign on its own line first: `y = x * 2.0` then `if y > 1.0:`",
    ),
    ast.Match: (
        "match statements are not supported",
        "use if/elif/else: `if x == 0: ... elif x == 1: ... else: ...`",
    ),
    ast.BitAnd: ("the bitwise operator & is not supported", _BITWISE),
    ast.BitOr: ("the bitwise operator | is not supported", _BITWISE),
    ast.BitXor: ("the bitwise operator ^ is not supported", _BITWISE),
    ast.LShift: ("the shift operator << is not supported", _BITWISE),
    ast.RShift: ("the shift operator >> is not supported", _BITWISE),
    ast.Invert: ("the bitwise operator ~ is not supported", _BITWISE),
    ast.Is: ("the comparison `is` is not supported", _MEMBERSHIP),
    ast.IsNot: ("the comparison `is not` is not supported", _MEMBERSHIP),
    ast.In: ("the membership test `in` is not supported", _MEMBERSHIP),
    ast.NotIn: ("the membership test `not in` is not supported", _MEMBERSHIP),
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    _UNSUPPORTED[ast.TryStar] = (
        "try/except* is not supported",
        "remove the try block and guard the computation with if",
    )

# Python value type of a Constant -> (message, hint); int, float, bool, None pass.
_CONSTANTS: dict[type, tuple[str, str]] = {
    str: (
        "string operations are not supported",
        "remove the string; pass choices as numbers or booleans (e.g. `use_relu=True`)",
    ),
    bytes: (
        "string operations are not supported (bytes constant)",
        "remove the bytes; adgen functions compute on floats and NumPy arrays",
    ),
    complex: (
        "complex numbers are not supported",
        "carry the real and imaginary parts as two float variables",
    ),
    type(Ellipsis): (
        "Ellipsis (...) is not supported",
        "spell out the slices: `x[:, 0]` instead of `x[..., 0]`; use pass for an empty body",
    ),
}

# Nodes that are fine themselves and whose children are checked as they are.
_TRANSPARENT = (
    ast.Return, ast.If, ast.Break, ast.Continue, ast.Pass,
    ast.BoolOp, ast.IfExp, ast.Name, ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple,
    ast.expr_context, ast.boolop,
)
_AUGMENTABLE = (ast.Name, ast.Subscript)


class _Checker:
    """Collects the diagnostics of one function; rules below call `visit` and `report`."""

    def __init__(self, info: SourceInfo):
        self.info = info
        self.found: list[Diagnostic] = []

    def report(self, node: ast.AST, message: str, hint: str) -> None:
        self.found.append(diagnostic(self.info, node, message, hint))

    def visit_all(self, nodes) -> None:
        for node in nodes:
            self.visit(node)

    def visit(self, node: ast.AST) -> None:
        entry = _UNSUPPORTED.get(type(node))
        if entry is not None:
            self.report(node, *entry)
        elif type(node) in _RULES:
            _RULES[type(node)](self, node)
        elif isinstance(node, _TRANSPARENT):
            self.visit_all(ast.iter_child_nodes(node))
        else:
            self.report(
                node,
                f"`{type(node).__name__}` syntax is not supported",
                "rewrite it with assignments, if/for/while, arithmetic "
                "and calls of NumPy or math functions",
            )

    def visit_target(self, node: ast.expr) -> None:
        """An assignment target: a name, a subscript, or a tuple/list of targets."""
        if isinstance(node, ast.Name):
            return
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.visit_target(elt)
        elif isinstance(node, ast.Subscript):
            self.visit(node.value)
            self.visit(node.slice)
        elif isinstance(node, ast.Starred):
            self.report(node, *_UNSUPPORTED[ast.Starred])
        elif isinstance(node, ast.Attribute):
            self.report(
                node,
                "assigning to an attribute is not supported",
                "adgen functions are pure: compute a new value and return it "
                "instead of setting `obj.attr`",
            )
        else:
            self.visit(node)

    def report_operator(self, node: ast.AST, op: ast.AST) -> bool:
        """Report `node` if its operator `op` is unsupported; True when reported."""
        entry = _UNSUPPORTED.get(type(op))
        if entry is not None:
            self.report(node, *entry)
        return entry is not None


def _check_signature(checker: _Checker, fn: ast.FunctionDef) -> None:
    # Defaults and annotations are not checked: Python evaluates them when the
    # def runs, and the lowering takes their values, not their source.
    args = fn.args
    if args.vararg is not None:
        checker.report(
            args.vararg,
            f"*{args.vararg.arg} parameters are not supported",
            "name each parameter (`def f(x, y)`), or pass one array and index it: xs[i]",
        )
    if args.kwonlyargs:
        checker.report(
            args.kwonlyargs[0],
            "keyword-only parameters are not supported",
            "drop the `*` so they become positional parameters with defaults: "
            "`def f(x, scale=2.0)`",
        )
    if args.kwarg is not None:
        checker.report(
            args.kwarg,
            f"**{args.kwarg.arg} parameters are not supported",
            "name each parameter with a default value: `def f(x, scale=1.0)`",
        )


def _check_expr_statement(checker: _Checker, node: ast.Expr) -> None:
    # The docstring never reaches here (check_function skips it).
    if isinstance(node.value, (ast.Yield, ast.YieldFrom, ast.Await, ast.NamedExpr)):
        checker.visit(node.value)
        return
    checker.report(
        node,
        "expression statements are not supported (the value is discarded)",
        _PURE + "remove it or return the value",
    )


def _check_assign(checker: _Checker, node: ast.Assign) -> None:
    for target in node.targets:
        checker.visit_target(target)
    checker.visit(node.value)


def _check_aug_assign(checker: _Checker, node: ast.AugAssign) -> None:
    if checker.report_operator(node, node.op):
        return
    if not isinstance(node.target, _AUGMENTABLE):
        checker.report(
            node,
            "augmented assignment to this target is not supported",
            "augment a name or an element: `s += v`, `a[i] += v`",
        )
        return
    checker.visit_target(node.target)
    checker.visit(node.value)


def _check_ann_assign(checker: _Checker, node: ast.AnnAssign) -> None:
    if node.value is None:
        checker.report(
            node,
            "an annotation without a value is not supported",
            "give it a value (`y: float = 0.0`) or drop the line",
        )
    elif not isinstance(node.target, ast.Name):
        checker.report(
            node,
            "annotated assignment to this target is not supported",
            "drop the annotation: `a[i] = v`",
        )
    else:
        checker.visit(node.value)


def _check_for(checker: _Checker, node: ast.For) -> None:
    if node.orelse:
        checker.report(
            node,
            "for-else (an else: clause on a for loop) is not supported",
            "use a flag: `found = False` before the loop, set it before break, "
            "then `if not found:` after the loop",
        )
        return
    target = node.target
    names = target.elts if isinstance(target, ast.Tuple) else [target]
    if not all(isinstance(name, ast.Name) for name in names):
        checker.report(
            target,
            "a for-loop target must be a name or a tuple of names",
            "loop over an index and assign inside: `for i in range(n): a[i] = ...`",
        )
    checker.visit(node.iter)
    checker.visit_all(node.body)
    if is_prange_call(node.iter):
        for stop in _early_exits(node.body):
            word = "return from" if isinstance(stop, ast.Return) else "break out of"
            checker.report(
                stop,
                f"cannot {word} a prange loop: its iterations run in parallel",
                "use range(...) for a loop that stops early, or record the result of each "
                "iteration in an array and decide after the loop",
            )


def _early_exits(body) -> list[ast.stmt]:
    """The `return`s in `body` and the `break`s that leave the loop whose body it is."""
    found = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Return):
                found.append(node)
        found.extend(_breaks(stmt))
    return found


def _breaks(node) -> list[ast.Break]:
    if isinstance(node, ast.Break):
        return [node]
    if isinstance(node, (ast.For, ast.While)):
        return []  # a nested loop's own breaks
    return [b for child in ast.iter_child_nodes(node) for b in _breaks(child)]


def _check_while(checker: _Checker, node: ast.While) -> None:
    if node.orelse:
        checker.report(
            node,
            "while-else (an else: clause on a while loop) is not supported",
            "use a flag: `done = False` before the loop, set it before break, "
            "then `if not done:` after the loop",
        )
        return
    checker.visit(node.test)
    checker.visit_all(node.body)


def _check_bin_op(checker: _Checker, node: ast.BinOp) -> None:
    if not checker.report_operator(node, node.op):
        checker.visit(node.left)
        checker.visit(node.right)


def _check_unary_op(checker: _Checker, node: ast.UnaryOp) -> None:
    if not checker.report_operator(node, node.op):
        checker.visit(node.operand)


def _check_compare(checker: _Checker, node: ast.Compare) -> None:
    for op in node.ops:
        if checker.report_operator(node, op):
            return
    checker.visit(node.left)
    checker.visit_all(node.comparators)


def _is_dotted_name(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _check_call(checker: _Checker, node: ast.Call) -> None:
    if isinstance(node.func, ast.Attribute) and not _is_dotted_name(node.func):
        checker.visit(node.func.value)  # a method of an expression: `X[:, k].reshape(n, 1)`
    elif not _is_dotted_name(node.func):
        checker.report(
            node,
            "only calls of a name, a dotted name or a method (`f(x)`, `np.sin(x)`, "
            "`(a + b).sum()`) are supported",
            "assign the callee to a name first (`t = a + b` then `t.sum()`), "
            "or call a module-level function by name",
        )
        return
    checker.visit_all(node.args)  # a Starred argument is reported by the table
    for keyword in node.keywords:
        if keyword.arg is None:
            checker.report(keyword, "**-unpacking in a call is not supported", _STAR)
        else:
            checker.visit(keyword.value)


def _check_constant(checker: _Checker, node: ast.Constant) -> None:
    entry = _CONSTANTS.get(type(node.value))
    if entry is not None:
        checker.report(node, *entry)


_RULES = {
    ast.Expr: _check_expr_statement,
    ast.Assign: _check_assign,
    ast.AugAssign: _check_aug_assign,
    ast.AnnAssign: _check_ann_assign,
    ast.For: _check_for,
    ast.While: _check_while,
    ast.BinOp: _check_bin_op,
    ast.UnaryOp: _check_unary_op,
    ast.Compare: _check_compare,
    ast.Call: _check_call,
    ast.Constant: _check_constant,
}


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def check_function(info: SourceInfo) -> list[Diagnostic]:
    """Every unsupported construct of `info.tree`, in source order ([] when none).

    Decorators, parameter defaults and annotations are not checked.

    Example:
        >>> from adgen.frontend.source import load_source
        >>> def f(x):
        ...     return [x, x]
        >>> [d.message for d in check_function(load_source(f))]  # doctest: +SKIP
        ['list literals are not supported']
    """
    checker = _Checker(info)
    tree = info.tree
    if isinstance(tree, ast.AsyncFunctionDef):
        checker.report(
            tree,
            "async functions are not supported",
            "write it as a plain def that computes and returns its value",
        )
        return checker.found
    _check_signature(checker, tree)
    body = tree.body[1:] if tree.body and _is_docstring(tree.body[0]) else tree.body
    checker.visit_all(body)
    return sorted(checker.found, key=attrgetter("lineno", "col"))
