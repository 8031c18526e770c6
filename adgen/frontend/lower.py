"""Lowering of a (desugared) Python function's AST to untyped structured SSA IR.

Variables are tracked in an environment from name to SSA value (or to a tuple
of values); `if` and loops merge the environments of their regions by
yielding every variable their bodies assign. Calls to plain Python functions
in the supported subset are inlined; calls to math/NumPy functions become
primitives. Anything else raises `AdgenSyntaxError` at the user's line.
"""

from __future__ import annotations

import ast
import inspect
import math
import types

import numpy as np

from adgen.errors import AdgenSyntaxError
from adgen.frontend import arrays
from adgen.frontend.check import check_function
from adgen.frontend.desugar import desugar
from adgen.frontend.parallel import check_parallel_loops, is_prange, is_prange_call
from adgen.frontend.resolve import (Unresolved, is_number, lookup, primitive_for,
                                    python_function_of)
from adgen.frontend.source import SourceInfo, diagnostic, load_source
from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.parallel import PARALLEL
from adgen.ir.types import BOOL, F64, I64
from adgen.ir.values import Loc, Value
from adgen.transforms import nested

BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
          ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow", ast.MatMult: "dot"}
CMPOPS = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq",
          ast.NotEq: "ne"}
UNSAFE_BINOPS = (ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
TEMP = "tmp"


# environments hold a Value or a (nested) tuple of them ----------------------------------
def leaves(item) -> list[Value]:
    if isinstance(item, tuple):
        return [leaf for part in item for leaf in leaves(part)]
    return [item]


def shape_of(item):
    if isinstance(item, tuple):
        return tuple(shape_of(part) for part in item)
    return None


def width(shape) -> int:
    """How many values a variable of this shape holds."""
    return 1 if shape is None else sum(width(part) for part in shape)


def rebuild(shape, values):
    values = list(values)

    def take(s):
        if s is None:
            return values.pop(0)
        return tuple(take(part) for part in s)

    return take(shape)


def assigned_names(stmts) -> list[str]:
    """Variables a statement list may assign, in order of first appearance."""
    found: dict[str, None] = {}

    def targets(node):
        if isinstance(node, ast.Name):
            found.setdefault(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Subscript):
            targets(node.value)

    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets(node.target)
            elif isinstance(node, ast.For):
                targets(node.target)
    return list(found)


def _is_boolean_shaped(node) -> bool:
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return True
    return False  # a name may hold any value: truthiness is taken with a cast


def _is_safe(node) -> bool:
    """Evaluating `node` cannot raise (so it may be evaluated eagerly)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, UNSAFE_BINOPS):
            return False
        if isinstance(sub, (ast.Subscript, ast.IfExp)):
            return False
        if isinstance(sub, ast.Call):
            return False
    return True


def _arity(name: str) -> int:
    """How many operands the primitive takes (from its implementation's signature)."""
    from adgen.primitives import registry

    prim = registry.get(name)
    if "arity" in prim.extra:
        return prim.extra["arity"]
    impl = prim.impl
    nin = getattr(impl, "nin", None)
    if nin is not None:
        return nin
    params = inspect.signature(impl).parameters.values()
    return sum(1 for p in params
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


class _Callee:
    """A non-value object reached by a name: a module, function or constant holder."""

    def __init__(self, obj, description: str):
        self.obj = obj
        self.description = description


class Lowerer:
    """Lowers one function body into the builder `b` (shared with inlined callees)."""

    def __init__(self, info: SourceInfo, fn, b: Builder, stack: tuple, sources=None):
        self.info = info
        self.fn = fn
        self.b = b
        self.stack = stack
        self.env: dict = {}
        # stamps of every source file read, shared with inlined callees (see lower_function)
        self.sources = set() if sources is None else sources
        if info.stamp is not None:
            self.sources.add(info.stamp)

    # diagnostics and locations ---------------------------------------------------------
    def error(self, node, message, hint=""):
        return AdgenSyntaxError([diagnostic(self.info, node, message, hint)])

    def at(self, node) -> None:
        self.b.loc = Loc(self.info.filename, getattr(node, "lineno", 0),
                         getattr(node, "col_offset", 0))

    def emit(self, node, opcode, *operands, name=None, attrs=None):
        self.at(node)
        return self.b.emit(opcode, *operands, name=name or TEMP, attrs=attrs)

    def const(self, node, value, name="c"):
        self.at(node)
        if isinstance(value, (bool, np.bool_)):
            return self.b.const(bool(value), BOOL, name)
        if isinstance(value, (int, np.integer)):
            return self.b.const(int(value), I64, name)
        return self.b.const(float(value), F64, name)

    def undef(self, name):
        return self.b.emit("undef", attrs={"type": None, "value": None}, name=name,
                           types=(None,))

    # statements -----------------------------------------------------------------------
    def lower_body(self, tree: ast.FunctionDef):
        """Lower the desugared body; returns the returned value (or tuple)."""
        *stmts, last = tree.body
        self.block(stmts)
        if not isinstance(last, ast.Return) or last.value is None:
            raise self.error(last, "the function must end by returning a value",
                             "add `return <value>` at the end of the function")
        if isinstance(last.value, ast.Constant) and last.value.value is None:
            raise self.error(last, "the function returns None on some path",
                             "return a float on every path")
        return self.expr(last.value, "out")

    def block(self, stmts) -> None:
        for stmt in stmts:
            self.statement(stmt)

    def statement(self, node) -> None:
        self.at(node)
        if isinstance(node, ast.Assign):
            hint = node.targets[0].id if isinstance(node.targets[0], ast.Name) else None
            value = self.expr(node.value, hint)
            for target in node.targets:
                self.bind(target, value)
        elif isinstance(node, ast.AnnAssign):
            self.bind(node.target, self.expr(node.value, node.target.id))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            value = self.scalar(node.value, self.expr(node.value))
            if isinstance(node.op, ast.Add):
                arrays.store(self, node.target, value, node, add=True)
            else:
                current = arrays.subscript(self, node.target, None)
                new = self.binop(node, node.op, current, value)
                arrays.store(self, node.target, new, node)
        elif isinstance(node, ast.AugAssign):
            current = self.name(node.target)
            value = self.binop(node, node.op, current, self.expr(node.value), node.target.id)
            self.bind(node.target, value)
        elif isinstance(node, ast.If):
            self.lower_if(node)
        elif isinstance(node, ast.For):
            self.lower_for(node)
        elif isinstance(node, ast.While):
            self.lower_while(node)
        elif isinstance(node, ast.Pass):
            pass
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            pass  # a docstring
        else:
            raise self.error(node, f"unsupported statement {type(node).__name__}",
                             "see the supported subset in README.md")

    def bind(self, target, value) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, arrays.Shape):
                value = tuple(self.emit(target, "dim", value.array, attrs={"axis": k})
                              for k in range(len(target.elts)))
            if not isinstance(value, tuple) or len(value) != len(target.elts):
                count = len(value) if isinstance(value, tuple) else 1
                raise self.error(target, f"cannot unpack {count} value(s) into "
                                 f"{len(target.elts)} names",
                                 "the right-hand side must be a tuple of the same length")
            for sub, part in zip(target.elts, value):
                self.bind(sub, part)
        elif isinstance(target, ast.Subscript):
            arrays.store(self, target, self.scalar(target, value), target)
        else:
            raise self.error(target, "only names, tuples of names and subscripts can be "
                             "assigned", "assign to a variable or an array element")

    # control flow -------------------------------------------------------------------------
    def lower_if(self, node) -> None:
        cond = self.condition(node.test)
        before = dict(self.env)
        names = assigned_names(node.body + node.orelse)
        branches = []
        for stmts in (node.body, node.orelse):
            self.env = dict(before)
            self.b.open_block()
            self.block(stmts)
            branches.append((self.b.pop_block(), self.env))
        self.env = before
        shapes = []
        for name in names:
            sides = [env.get(name) for _, env in branches]
            known = [shape_of(side) for side in sides if side is not None]
            if any(k != known[0] for k in known):
                raise self.error(node, f"variable {name!r} holds tuples of different shapes "
                                 "on different paths", "give it the same shape on every path")
            shapes.append(known[0])
        regions = []
        for ops, env in branches:
            self.b.push_block(ops)
            yields = []
            for name, shape in zip(names, shapes):
                value = env.get(name)
                if value is None:
                    yields.extend(self.undef(name) for _ in range(width(shape)))
                else:
                    yields.extend(leaves(value))
            regions.append(self.b.close_block((), yields))
        self.at(node)
        results = self.b.control("if", (cond,), regions, self._hints(names, shapes),
                                 [None] * sum(width(s) for s in shapes))
        self._bind_results(names, shapes, results)

    def _carried(self, node, names, before):
        """Initial leaves and shapes of the loop-carried variables."""
        inits, shapes = [], []
        for name in names:
            value = before.get(name)
            if value is None:
                self.at(node)
                value = self.undef(name)
            shapes.append(shape_of(value))
            inits.extend(leaves(value))
        return inits, shapes

    def _region_env(self, names, shapes, before):
        args, env = [], dict(before)
        for name, shape in zip(names, shapes):
            count = width(shape)
            new = [self.b.value(name, None) for _ in range(count)]
            args.extend(new)
            env[name] = rebuild(shape, new)
        return args, env

    def _yields(self, node, names, shapes):
        out = []
        for name, shape in zip(names, shapes):
            value = self.env.get(name)
            if shape_of(value) != shape:
                raise self.error(node, f"loop variable {name!r} changes shape in the loop",
                                 "assign it a value of the same shape before the loop")
            out.extend(leaves(value))
        return out

    def _bind_results(self, names, shapes, results):
        results = list(results)
        for name, shape in zip(names, shapes):
            count = width(shape)
            self.env[name] = rebuild(shape, results[:count])
            del results[:count]

    def _hints(self, names, shapes):
        return [name for name, shape in zip(names, shapes)
                for _ in range(width(shape))]

    def range_args(self, node):
        """(start, stop, step) of `for i in range(...)` or `prange(...)`, and whether the
        loop is parallel (a prange)."""
        call = node.iter
        ok = (isinstance(call, ast.Call) and 1 <= len(call.args) <= 3 and not call.keywords
              and (is_prange_call(call) or (isinstance(call.func, ast.Name)
                                            and call.func.id == "range")))
        if not ok:
            raise self.error(node.iter, "only `for i in range(...)` loops are supported",
                             "loop over an index: `for i in range(n):` (or `prange(n)` for "
                             "a parallel loop)")
        if not isinstance(node.target, ast.Name):
            raise self.error(node.target, "the loop variable must be a single name",
                             "write `for i in range(n):` and index inside the loop")
        parallel = is_prange_call(call)
        if parallel:
            self.check_prange(call)
        args = [self.expr(a) for a in call.args]
        if len(args) == 1:
            return (self.const(node, 0), args[0], self.const(node, 1)), parallel
        if len(args) == 2:
            return (args[0], args[1], self.const(node, 1)), parallel
        return tuple(args), parallel

    def check_prange(self, call) -> None:
        """`prange` must be Numba's or adgen's, with a step of 1 (as Numba requires)."""
        target = self.callee(call)
        if not is_prange(target.obj):
            raise self.error(call.func, f"{target.description} is not numba.prange or "
                             "adgen.prange", "import it: `from numba import prange` or "
                             "`from adgen import prange`")
        step = call.args[2] if len(call.args) == 3 else None
        if step is not None and not (isinstance(step, ast.Constant) and step.value == 1):
            raise self.error(step, "a prange loop must have a step of 1 (as in Numba)",
                             "loop over `prange(count)` and compute the index from the "
                             "loop variable, or use range(...)")

    def lower_for(self, node) -> None:
        (start, stop, step), parallel = self.range_args(node)
        var = node.target.id
        before = dict(self.env)
        names = assigned_names(node.body)
        if var not in names:
            names.append(var)
        inits, shapes = self._carried(node, names, before)
        self.b.open_block()
        induction = self.b.value(var, None)
        args, self.env = self._region_env(names, shapes, before)
        self.env[var] = induction
        self.block(node.body)
        body = self.b.close_block((induction, *args), self._yields(node, names, shapes))
        self.env = before
        self.at(node)
        attrs = {PARALLEL: True} if parallel else None
        results = self.b.control("for", (start, stop, step, *inits), [body],
                                 self._hints(names, shapes), [None] * len(inits), attrs)
        self._bind_results(names, shapes, results)

    def lower_while(self, node) -> None:
        before = dict(self.env)
        names = assigned_names(node.body)
        inits, shapes = self._carried(node, names, before)
        self.b.open_block()
        cond_args, self.env = self._region_env(names, shapes, before)
        cond = self.condition(node.test)
        cond_region = self.b.close_block(cond_args, (cond,))
        self.b.open_block()
        body_args, self.env = self._region_env(names, shapes, before)
        self.block(node.body)
        body = self.b.close_block(body_args, self._yields(node, names, shapes))
        self.env = before
        self.at(node)
        results = self.b.control("while", tuple(inits), [cond_region, body],
                                 self._hints(names, shapes), [None] * len(inits))
        self._bind_results(names, shapes, results)

    # expressions ------------------------------------------------------------------------
    def scalar(self, node, value):
        if isinstance(value, tuple):
            raise self.error(node, "a tuple is used where a number is expected",
                             "unpack the tuple first: `a, b = t`")
        if isinstance(value, _Callee):
            raise self.error(node, f"{value.description} is used as a value",
                             "call it, or use a number")
        if isinstance(value, arrays.Shape):
            raise self.error(node, "a shape is used where a number is expected",
                             "index it (`a.shape[0]`) or unpack it (`n, m = a.shape`)")
        return value

    def expr(self, node, hint=None):
        """Lower an expression; `hint` names its result after the user's variable."""
        if isinstance(node, ast.Constant):
            if node.value is None or not is_number(node.value):
                raise self.error(node, f"unsupported constant {node.value!r}",
                                 "use int, float or bool constants")
            return self.const(node, node.value)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Tuple):
            return tuple(self.expr(elt) for elt in node.elts)
        if isinstance(node, ast.BinOp):
            left = self.scalar(node.left, self.expr(node.left))
            right = self.scalar(node.right, self.expr(node.right))
            return self.binop(node, node.op, left, right, hint)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, hint)
        if isinstance(node, ast.Compare):
            return self.compare(node, hint)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node, hint)
        if isinstance(node, ast.IfExp):
            return self.ifexp(node, hint)
        if isinstance(node, ast.Call):
            return self.call(node, hint)
        if isinstance(node, ast.Attribute):
            return self.value_of(node, self.attribute(node))
        if isinstance(node, ast.Subscript):
            return arrays.subscript(self, node, hint)
        raise self.error(node, f"unsupported expression {type(node).__name__}",
                         "see the supported subset in README.md")

    def value_of(self, node, obj):
        if isinstance(obj, _Callee):
            if is_number(obj.obj):
                return self.const(node, obj.obj)
            return obj
        return obj

    def name(self, node):
        if node.id in self.env:
            return self.env[node.id]
        try:
            obj = lookup(self.fn, node.id)
        except Unresolved:
            raise self.error(node, f"name {node.id!r} is not defined",
                             "define it before use, or pass it as an argument") from None
        return self.value_of(node, self.classify(node, obj, node.id))

    def classify(self, node, obj, description):
        if is_number(obj) or isinstance(obj, (types.ModuleType, types.FunctionType,
                                              types.BuiltinFunctionType, np.ufunc, type)):
            return _Callee(obj, description)
        if python_function_of(obj) is not None or callable(obj):
            return _Callee(obj, description)
        kind = type(obj).__name__
        raise self.error(node, f"{description!r} refers to a {kind} defined outside the "
                         "function (a closure over mutable state)",
                         "pass it as an argument, or bind a number to a module-level "
                         "constant")

    def attribute(self, node):
        base = node.value
        if isinstance(base, (ast.Name, ast.Attribute)):
            owner = self.name(base) if isinstance(base, ast.Name) else self.attribute(base)
            if isinstance(owner, Value):
                return arrays.value_attribute(self, node, owner)
            if isinstance(owner, _Callee):
                try:
                    obj = getattr(owner.obj, node.attr)
                except AttributeError:
                    raise self.error(node, f"{owner.description}.{node.attr} does not exist",
                                     "check the spelling") from None
                return self.classify(node, obj, f"{owner.description}.{node.attr}")
        else:  # an attribute of an expression: `(a * b).T`, `X[0].shape`
            owner = self.expr(base)
            if isinstance(owner, Value):
                return arrays.value_attribute(self, node, owner)
        raise self.error(node, f"attribute .{node.attr} of a value is not supported",
                         "attributes of arrays come with array support; use scalars")

    def binop(self, node, op, left, right, hint=None):
        opcode = BINOPS.get(type(op))
        if opcode is None:
            raise self.error(node, f"operator {type(op).__name__} is not supported",
                             "use + - * / // % **")
        return self.emit(node, opcode, left, right, name=hint)

    def unary(self, node, hint):
        if isinstance(node.op, ast.UAdd):
            return self.scalar(node, self.expr(node.operand, hint))
        if isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.Constant) and is_number(node.operand.value) \
                    and not isinstance(node.operand.value, bool):
                return self.const(node, -node.operand.value)
            return self.emit(node, "neg", self.scalar(node, self.expr(node.operand)), name=hint)
        if isinstance(node.op, ast.Not):
            return self.emit(node, "not", self.condition(node.operand), name=hint)
        raise self.error(node, f"operator {type(node.op).__name__} is not supported",
                         "use -x, +x or `not c`")

    def compare(self, node, hint):
        values = [self.scalar(node.left, self.expr(node.left))]
        values += [self.scalar(c, self.expr(c)) for c in node.comparators]
        result = None
        for op, left, right in zip(node.ops, values, values[1:]):
            opcode = CMPOPS.get(type(op))
            if opcode is None:
                raise self.error(node, f"comparison {type(op).__name__} is not supported",
                                 "use < <= > >= == !=")
            test = self.emit(node, opcode, left, right, name=hint)
            result = test if result is None else self.emit(node, "and", result, test, name=hint)
        return result

    def condition(self, node):
        """A bool value for a test expression (Python truthiness for numbers)."""
        value = self.scalar(node, self.expr(node))
        if _is_boolean_shaped(node):
            return value
        return self.emit(node, "cast", value, attrs={"to": "bool"})

    def boolop(self, node, hint):
        opcode = "and" if isinstance(node.op, ast.And) else "or"
        first, *rest = node.values
        if all(_is_boolean_shaped(v) for v in node.values) and all(_is_safe(v) for v in rest):
            result = self.condition(first)
            for value in rest:
                result = self.emit(node, opcode, result, self.condition(value), name=hint)
            return result
        # Python semantics exactly: `a and b` is `b if a else a`, evaluated lazily.
        result = self.scalar(first, self.expr(first))
        for value in rest:
            test = self.emit(node, "cast", result, attrs={"to": "bool"})
            lazy, kept = (value, None) if opcode == "and" else (None, value)
            result = self._if_value(node, test, lazy, result, kept, result, hint)
        return result

    def _if_value(self, node, test, then_node, then_value, else_node, else_value, hint):
        regions = []
        for branch_node, value in ((then_node, then_value), (else_node, else_value)):
            self.b.open_block()
            if branch_node is not None:
                value = self.scalar(branch_node, self.expr(branch_node))
            regions.append(self.b.close_block((), (value,)))
        self.at(node)
        (result,) = self.b.control("if", (test,), regions, [hint or TEMP], [None])
        return result

    def ifexp(self, node, hint):
        test = self.condition(node.test)
        simple = (ast.Name, ast.Constant)
        if isinstance(node.body, simple) and isinstance(node.orelse, simple):
            a = self.scalar(node.body, self.expr(node.body))
            b = self.scalar(node.orelse, self.expr(node.orelse))
            return self.emit(node, "select", test, a, b, name=hint)
        return self._if_value(node, test, node.body, None, node.orelse, None, hint)

    # calls --------------------------------------------------------------------------------------
    def callee(self, node):
        func = node.func
        if isinstance(func, ast.Name):
            target = self.name(func)
        elif isinstance(func, ast.Attribute):
            target = self.attribute(func)
        else:
            raise self.error(func, "only named functions can be called",
                             "call a function by its name")
        if not isinstance(target, _Callee):
            raise self.error(func, "a value is called like a function",
                             "only functions can be called")
        return target

    def call(self, node, hint):
        func = node.func
        if isinstance(func, ast.Attribute):
            # a method of a value (`x.sum()`, `X[:, k].reshape(n, 1)`, `(a + b).sum()`);
            # `np.sum` and `math.sin` are dotted names of modules, not values
            dotted = _dotted_root(func.value)
            owner = None if dotted is not None and dotted not in self.env else \
                self.expr(func.value)
            if isinstance(owner, Value):
                args = [self.expr(a) for a in node.args]
                kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
                return arrays.method_call(self, node, owner, func.attr, args, kwargs, hint)
        target = self.callee(node)
        obj = target.obj
        args = [self.expr(a) for a in node.args]
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
        if getattr(obj, "adgen_transform", False):
            return self.nested_transform(node, target, obj, args, kwargs, hint)
        special = self.special_call(node, obj, args, kwargs, hint)
        if special is not None:
            return special
        numpy_result = arrays.numpy_call(self, node, obj, args, kwargs, hint)
        if numpy_result is not None:
            return numpy_result
        prim = primitive_for(obj)
        if prim is not None:
            if kwargs:
                raise self.error(node, f"{target.description}() takes no keyword arguments "
                                 "in adgen", "pass the arguments by position")
            args = [self.scalar(a_node, a) for a_node, a in zip(node.args, args)]
            arity = _arity(prim)
            if prim in ("maximum", "minimum") and len(args) > 2:
                result = args[0]
                for arg in args[1:]:
                    result = self.emit(node, prim, result, arg, name=hint)
                return result
            if len(args) != arity:
                raise self.error(node, f"{target.description}() takes {arity} argument(s) "
                                 f"here, got {len(args)}", "check the call's arguments")
            return self.emit(node, prim, *args, name=hint)
        function = python_function_of(obj)
        if function is not None and function is not obj:  # a numba dispatcher: read py_func
            try:
                return self.inline(node, function, args, kwargs)
            except AdgenSyntaxError as exc:
                first = exc.diagnostics[0]
                raise self.error(
                    node, f"cannot differentiate through the njit function "
                    f"{target.description}: {first.message} "
                    f"({first.filename}:{first.lineno})", "give it derivative rules: "
                    f"adgen.primitive({target.description}, partials=...) or jvp=/vjp= "
                    "(see docs/EXTENDING.md)") from None
        if function is not None:
            return self.inline(node, function, args, kwargs)
        raise self.error(node, f"call to unsupported function {target.description}",
                         "adgen calls the math/NumPy functions it knows and inlines plain "
                         "Python functions in the supported subset; for anything else "
                         f"register its derivative: adgen.primitive({target.description}, "
                         "partials=...) (see docs/EXTENDING.md)")

    def nested_transform(self, node, target, transformed, args, kwargs, hint):
        """`adgen.grad(f)(...)` called here: one `call_transformed` op, replaced by the
        derivative code of `f` when the types are known (adgen/transforms/nested.py)."""
        name = target.description
        kind = transformed.kind
        if kind not in nested.EXTRA_ARGUMENTS or transformed.static:
            raise self.error(node, f"{name} (adgen.{kind}"
                             f"{' with static_argnums' if transformed.static else ''}) cannot "
                             "be called inside differentiated code yet",
                             "call adgen.grad, value_and_grad, jvp, hvp or jit transforms "
                             "(without static_argnums) here, or compute it outside")
        if kwargs:
            raise self.error(node, f"{name}() takes no keyword arguments in adgen",
                             "pass the arguments by position")
        inner = lower_function(transformed.python_function, self.sources)
        n_args = len(inner.params)
        extra = nested.EXTRA_ARGUMENTS[kind]
        extra = len(transformed.argnums) if extra is None else extra
        if len(args) != n_args + extra:
            raise self.error(node, f"{name}() takes {n_args + extra} argument(s) here, got "
                             f"{len(args)}", "pass every argument by position")
        args = [self.scalar(a_node, a) for a_node, a in zip(node.args, args)]
        n_out, n_wrt = len(inner.returns), len(transformed.argnums)
        if kind == "jvp" and n_out != 1:
            raise self.error(node, f"{name}: a jvp of a function with {n_out} outputs "
                             "cannot be called inside differentiated code yet",
                             "differentiate a function returning one value")
        n_flat = {"call": n_out, "grad": n_wrt, "value_and_grad": 1 + n_wrt, "jvp": 2,
                  "hvp": 2 * n_wrt}[kind]
        self.at(node)
        flat = self.b.emit(nested.OPCODE, *args, attrs={"transform": nested.register(transformed)},
                           name=hint or TEMP, types=(None,) * n_flat)
        flat = list(flat) if isinstance(flat, tuple) else [flat]
        if kind == "call":
            return tuple(flat) if inner.tuple_return else flat[0]
        if kind == "jvp":
            return flat[0], flat[1]
        if kind == "value_and_grad":
            return flat[0], (flat[1] if transformed.single else tuple(flat[1:]))
        if kind == "hvp":
            flat = flat[n_wrt:]
        return flat[0] if transformed.single else tuple(flat)

    def special_call(self, node, obj, args, kwargs, hint):
        """Builtins and functions that are not one primitive each."""
        casts = {float: "f64", int: "i64", bool: "bool", np.float64: "f64",
                 np.float32: "f32", np.int64: "i64"}
        if obj in casts and len(args) == 1 and not kwargs:
            return self.emit(node, "cast", self.scalar(node, args[0]),
                             attrs={"to": casts[obj]}, name=hint)
        if obj in (math.floor, math.ceil, math.trunc) and len(args) == 1:
            op = {math.floor: "floor", math.ceil: "ceil", math.trunc: "trunc"}[obj]
            rounded = self.emit(node, op, self.scalar(node, args[0]))
            return self.emit(node, "cast", rounded, attrs={"to": "i64"}, name=hint)
        if obj is math.log and len(args) == 2:
            top = self.emit(node, "log", self.scalar(node, args[0]))
            base = self.emit(node, "log", self.scalar(node, args[1]))
            return self.emit(node, "div", top, base, name=hint)
        if obj is range or is_prange(obj):
            raise self.error(node, f"{obj.__name__}() is supported only as the iterable of a "
                             "for loop", "write `for i in range(n):`")
        return None

    def inline(self, node, function, args, kwargs):
        code = function.__code__
        if code in self.stack:
            raise self.error(node, f"recursive call to {function.__name__}",
                             "rewrite the recursion as a loop")
        signature = inspect.signature(function)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"bad call to {function.__name__}: {exc}",
                             "match the function's parameters") from None
        info = load_source(function)
        diagnostics = check_function(info)
        if diagnostics:
            raise AdgenSyntaxError(diagnostics)
        tree = desugar(info.tree)
        inner = Lowerer(info, function, self.b, self.stack + (code,), self.sources)
        for param in signature.parameters.values():
            if param.name in bound.arguments:
                inner.env[param.name] = bound.arguments[param.name]
            elif param.default is not inspect.Parameter.empty and is_number(param.default):
                inner.env[param.name] = inner.const(info.tree, param.default)
            elif (isinstance(param.default, tuple) and param.default
                  and all(is_number(v) for v in param.default)):  # stride=(1, 1)
                inner.env[param.name] = tuple(inner.const(info.tree, v) for v in param.default)
            else:
                raise self.error(node, f"argument {param.name!r} of {function.__name__} "
                                 "is missing or has a non-numeric default",
                                 "pass it explicitly")
        saved = self.b.loc
        result = inner.lower_body(tree)
        self.b.loc = saved
        return result


def _dotted_root(node) -> str | None:
    """`a` for the expression `a.b.c`; None for anything but a dotted name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def lower_function(fn, sources: set | None = None) -> Function:
    """Untyped IR of the Python function `fn`.

    `sources`, if given, receives the `file_stamp` of every file read (`fn`'s and
    its inlined callees'), so that callers can tell when the IR is stale.

    Example:
        >>> def f(x):
        ...     return x * x
        >>> lower_function(f).name  # doctest: +SKIP
        'f'
    """
    info = load_source(fn)
    diagnostics = check_function(info)
    if diagnostics:
        raise AdgenSyntaxError(diagnostics)
    tree = desugar(info.tree)
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args]
    b = Builder(NameTable())
    values = [b.param(p, None) for p in params]
    lowerer = Lowerer(info, fn, b, (fn.__code__,), sources)
    lowerer.env = dict(zip(params, values))
    result = lowerer.lower_body(tree)
    tuple_return = isinstance(result, tuple)
    if tuple_return and any(isinstance(part, tuple) for part in result):
        raise lowerer.error(tree.body[-1], "nested tuples cannot be returned",
                            "return a flat tuple of numbers")
    returns = list(result) if tuple_return else [lowerer.scalar(tree.body[-1], result)]
    body = b.finish_region(values, returns)
    fn = Function(tree.name, body, Loc(info.filename, tree.lineno, tree.col_offset),
                  tuple_return)
    check_parallel_loops(fn)
    return fn


def lower_rule(fn, widths) -> tuple[Function, object]:
    """Untyped IR of a derivative rule `fn` (a user's function in the subset).

    Parameter k is one value (`widths[k] is None`) or a tuple of `widths[k]`
    values (JAX-style `primals`, `tangents`, residuals); the result may be a
    nested tuple. The IR's parameters and returns are the flattened leaves;
    the second result is the shape of the returned tuple (see `rebuild`).

    Example:
        >>> def softplus_partial(x):
        ...     return 1.0 / (1.0 + math.exp(-x))
        >>> lower_rule(softplus_partial, [None])[0].name  # doctest: +SKIP
        'softplus_partial'
    """
    info = load_source(fn)
    diagnostics = check_function(info)
    if diagnostics:
        raise AdgenSyntaxError(diagnostics)
    tree = desugar(info.tree)
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args]
    if len(params) != len(widths):
        raise AdgenSyntaxError([diagnostic(
            info, tree, f"rule {fn.__name__} takes {len(params)} parameter(s); adgen passes "
            f"{len(widths)}", "see docs/EXTENDING.md for the rule signatures")])
    b = Builder(NameTable())
    lowerer = Lowerer(info, fn, b, (fn.__code__,))
    flat = []
    for name, w in zip(params, widths):
        if w is None:
            lowerer.env[name] = b.param(name, None)
            flat.append(lowerer.env[name])
        else:
            parts = tuple(b.param(f"{name}{k}", None) for k in range(w))
            lowerer.env[name] = parts
            flat.extend(parts)
    result = lowerer.lower_body(tree)
    shape = shape_of(result)
    returns = [lowerer.scalar(tree.body[-1], leaf) for leaf in leaves(result)]
    body = b.finish_region(flat, returns)
    fn = Function(tree.name, body, Loc(info.filename, tree.lineno, tree.col_offset), True)
    check_parallel_loops(fn)
    return fn, shape
