"""Small builders of Python AST used by the primitives' `emit` functions."""

from __future__ import annotations

import ast


def name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def dotted(path: str) -> ast.expr:
    parts = path.split(".")
    node: ast.expr = name(parts[0])
    for part in parts[1:]:
        node = ast.Attribute(value=node, attr=part, ctx=ast.Load())
    return node


def call(path: str, args, keywords=None) -> ast.Call:
    kws = [ast.keyword(arg=k, value=v) for k, v in (keywords or {}).items()]
    return ast.Call(func=dotted(path), args=list(args), keywords=kws)


def binop_emitter(op_class):
    """An emitter printing `a <op> b`."""

    def emit_binop(args, attrs):
        return ast.BinOp(left=args[0], op=op_class(), right=args[1])

    emit_binop.__name__ = f"emit_{op_class.__name__.lower()}"
    return emit_binop


def compare_emitter(op_class):
    def emit_compare(args, attrs):
        return ast.Compare(left=args[0], ops=[op_class()], comparators=[args[1]])

    emit_compare.__name__ = f"emit_{op_class.__name__.lower()}"
    return emit_compare


def call_emitter(path: str):
    """An emitter printing `path(args...)`, e.g. `np.sin(x)`."""

    def emit_call(args, attrs):
        return call(path, args)

    emit_call.__name__ = "emit_" + path.replace(".", "_")
    return emit_call


def literal(value) -> ast.expr:
    """A Python literal for a constant, with inf/nan spelled through numpy."""
    if isinstance(value, float):
        if value != value:
            return dotted("np.nan")
        if value in (float("inf"), float("-inf")):
            node = dotted("np.inf")
            return ast.UnaryOp(op=ast.USub(), operand=node) if value < 0 else node
        if value < 0 or (value == 0 and str(value).startswith("-")):
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    elif isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)
