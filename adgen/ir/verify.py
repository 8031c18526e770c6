"""The IR verifier: the invariants every pass must keep, checked in one walk.

`verify(fn)` raises `AdgenInternalError` listing every problem found (not only
the first), or returns None. It checks:

- SSA: every value (parameter, op result, region argument) is defined exactly
  once in the function;
- structured dominance: a use (operand or yield) sees only values defined
  earlier in its own region or in an enclosing one, never a value from inside
  a nested or sibling region; a use carries its definition's type;
- ops: an opcode is `if`, `for`, `while` (with the layout documented in
  `adgen.ir.ops`) or a registered primitive with `nresults` results and no
  regions;
- the `parallel` mark (adgen.ir.parallel) is on `for` loops only;
- types, in typed IR: every value has a type; a primitive's result types are
  what its type rule gives; conditions are bool, `for` bounds are i64, and the
  values an `if`/`for`/`while` carries agree in type wherever they appear
  (inits, region arguments, yields, results).

Typed IR is the default when every parameter has a type (for a function
without parameters: when any of its values has one).

Example:
    >>> from adgen.ir.parser import parse_function
    >>> verify(parse_function('''func @f(%x: f64) {
    ...   %y: i64 = sin %x
    ...   return %y
    ... }'''))
    Traceback (most recent call last):
    ...
    adgen.errors.AdgenInternalError: invalid IR in @f (1 problem):
      - result types of sin: (i64) but its type rule gives (f64)
"""

from __future__ import annotations

from collections import ChainMap

from adgen import primitives
from adgen.errors import AdgenInternalError
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.parallel import PARALLEL
from adgen.ir.types import BOOL, I64, type_name
from adgen.ir.values import Value


def verify(fn: Function, typed: bool | None = None) -> None:
    """Raise `AdgenInternalError` listing every broken invariant of `fn`."""
    if typed is None:
        values = _all_definitions(fn)
        typed = (all(p.type is not None for p in fn.params) if fn.params
                 else any(v.type is not None for v in values))
    checker = _Verifier(fn, typed)
    checker.function()
    problems = checker.problems
    if problems:
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        raise AdgenInternalError(f"invalid IR in @{fn.name} ({count}):\n"
                                 + "\n".join("  - " + p for p in problems))


def _all_definitions(fn: Function) -> list[Value]:
    values = list(fn.params)
    for op in walk_ops(fn.body):
        values.extend(op.results)
        for region in op.regions:
            values.extend(region.args)
    return values


def _describe(op: Op) -> str:
    if op.loc is None:
        return op.opcode
    return f"{op.opcode} ({op.loc.file}:{op.loc.line}:{op.loc.col})"


def _types(values) -> str:
    return "(" + ", ".join(type_name(v.type) for v in values) + ")"


class _Verifier:
    def __init__(self, fn: Function, typed: bool):
        self.fn = fn
        self.typed = typed
        self.problems: list[str] = []
        self.everywhere = {v.name for v in _all_definitions(fn)}
        self.defined: dict[str, str] = {}  # name -> where, in the order of the walk

    def problem(self, message: str) -> None:
        self.problems.append(message)

    # definitions and uses -----------------------------------------------------------
    def define(self, v: Value, where: str, scope: ChainMap) -> None:
        if v.name in self.defined:
            self.problem(f"%{v.name} is defined twice: as {self.defined[v.name]} and as {where}")
        else:
            self.defined[v.name] = where
        if self.typed and v.type is None:
            self.problem(f"%{v.name} ({where}) has no type in typed IR")
        scope[v.name] = v

    def use(self, v: Value, where: str, scope: ChainMap) -> None:
        seen = scope.get(v.name)
        if seen is None:
            if v.name in self.defined:
                self.problem(f"%{v.name} is used in {where} outside the region that defines it "
                             f"(as {self.defined[v.name]})")
            elif v.name in self.everywhere:
                self.problem(f"%{v.name} is used in {where} before its definition")
            else:
                self.problem(f"%{v.name} is used in {where} but never defined")
        elif seen.type != v.type:
            self.problem(f"%{v.name} is used in {where} with type {type_name(v.type)} "
                         f"but defined with type {type_name(seen.type)}")

    def region(self, region: Region, where: str, scope: ChainMap) -> None:
        """Check `region` in a child scope: nothing it defines is visible after it."""
        inner = scope.new_child()
        for arg in region.args:
            self.define(arg, f"argument of {where}", inner)
        for op in region.ops:
            self.op(op, inner)
        for v in region.yields:
            self.use(v, f"yield of {where}", inner)

    def function(self) -> None:
        self.region(self.fn.body, f"@{self.fn.name}", ChainMap())

    # ops ------------------------------------------------------------------------------
    def op(self, op: Op, scope: ChainMap) -> None:
        where = _describe(op)
        for v in op.operands:
            self.use(v, where, scope)
        if op.opcode == "if":
            self.if_op(op, where, scope)
        elif op.opcode == "for":
            self.for_op(op, where, scope)
        elif op.opcode == "while":
            self.while_op(op, where, scope)
        elif not primitives.has(op.opcode):
            self.problem(f"unknown opcode {op.opcode!r}" + (f" in {where}" if op.loc else ""))
        else:
            self.primitive(op, where)
        if op.attr(PARALLEL) is not None and op.opcode != "for":
            self.problem(f"{where} is marked parallel, but only a for loop can be")
        for r in op.results:
            self.define(r, f"result of {where}", scope)

    def primitive(self, op: Op, where: str) -> None:
        prim = primitives.get(op.opcode)
        if op.regions:
            self.problem(f"primitive {where} has {len(op.regions)} regions")
        if len(op.results) != prim.nresults:
            self.problem(f"{where} has {len(op.results)} results, the primitive has "
                         f"{prim.nresults}")
            return
        if not self.typed or any(v.type is None for v in op.operands + op.results):
            return  # missing types are reported where the values are defined
        try:
            expected = tuple(prim.type_rule(tuple(v.type for v in op.operands), dict(op.attrs)))
        except Exception as e:  # noqa: BLE001 - a rule's failure is one more problem to report
            self.problem(f"type rule of {where} fails on {_types(op.operands)}: "
                         f"{type(e).__name__}: {e}")
            return
        if expected != tuple(r.type for r in op.results):
            shown = "(" + ", ".join(type_name(t) for t in expected) + ")"
            self.problem(f"result types of {where}: {_types(op.results)} but its type rule "
                         f"gives {shown}")

    def regions(self, op: Op, where: str, scope: ChainMap, names: tuple[str, ...]) -> bool:
        """Walk the regions of a control op; False if it does not have len(names) of them."""
        if len(op.regions) != len(names):
            self.problem(f"{where} has {len(op.regions)} regions, expected {len(names)} "
                         f"({', '.join(names)})")
            return False
        for name, region in zip(names, op.regions):
            self.region(region, f"{name} region of {where}", scope)
        return True

    def count(self, values, n: int, what: str, where: str) -> bool:
        if len(values) != n:
            self.problem(f"{what} of {where}: {len(values)} values, expected {n}")
        return len(values) == n

    def agree(self, where: str, k: int, labels: tuple[str, ...], values) -> None:
        """In typed IR, the k-th carried value has one type everywhere it appears."""
        if self.typed and len({v.type for v in values}) > 1:
            shown = ", ".join(f"{label} {type_name(v.type)}" for label, v in zip(labels, values))
            self.problem(f"types of carried value #{k} of {where} disagree: {shown}")

    def expect_type(self, v: Value, type_, what: str, where: str) -> None:
        if self.typed and v.type is not None and v.type != type_:
            self.problem(f"{what} of {where} is {type_name(v.type)}, expected {type_}")

    def if_op(self, op: Op, where: str, scope: ChainMap) -> None:
        if self.count(op.operands, 1, "operands", where):
            self.expect_type(op.operands[0], BOOL, "condition", where)
        if not self.regions(op, where, scope, ("then", "else")):
            return
        then, orelse = op.regions
        n = len(op.results)
        ok = True
        for name, region in (("then", then), ("else", orelse)):
            self.count(region.args, 0, f"arguments of {name} region", where)
            ok &= self.count(region.yields, n, f"yields of {name} region", where)
        if ok:
            for k, values in enumerate(zip(then.yields, orelse.yields, op.results)):
                self.agree(where, k, ("then yield", "else yield", "result"), values)

    def for_op(self, op: Op, where: str, scope: ChainMap) -> None:
        ok = self.count(op.operands[:3], 3, "operands (start, stop, step)", where)
        for v, what in zip(op.operands, ("start", "stop", "step")):
            self.expect_type(v, I64, what, where)
        if not self.regions(op, where, scope, ("body",)):
            return
        (body,) = op.regions
        inits, n = op.operands[3:], len(op.results)
        ok = ok and self.count(inits, n, "inits", where)
        if not body.args:
            self.problem(f"body region of {where} has no index argument")
            return
        self.expect_type(body.args[0], I64, "index", where)
        carried = body.args[1:]
        ok &= self.count(carried, n, "carried arguments of body region", where)
        ok &= self.count(body.yields, n, "yields of body region", where)
        if ok:
            for k, values in enumerate(zip(inits, carried, body.yields, op.results)):
                self.agree(where, k, ("init", "region arg", "yield", "result"), values)

    def while_op(self, op: Op, where: str, scope: ChainMap) -> None:
        if not self.regions(op, where, scope, ("cond", "body")):
            return
        cond, body = op.regions
        inits, n = op.operands, len(op.results)
        ok = self.count(inits, n, "inits", where)
        ok &= self.count(cond.args, n, "arguments of cond region", where)
        ok &= self.count(body.args, n, "arguments of body region", where)
        ok &= self.count(body.yields, n, "yields of body region", where)
        if self.count(cond.yields, 1, "yields of cond region", where):
            self.expect_type(cond.yields[0], BOOL, "condition", where)
        if ok:
            for k, values in enumerate(zip(inits, cond.args, body.args, body.yields, op.results)):
                self.agree(where, k, ("init", "cond arg", "body arg", "yield", "result"), values)
