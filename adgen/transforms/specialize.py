"""Specialization: untyped IR + argument types -> typed IR.

Types flow forward through the registry's type rules. Where paths join (if
results, loop-carried values) the joined type wins and narrower values are
cast to it (`s = 0` before `s += x` makes `s` f64). Loop-carried types and the
types of `undef` placeholders are found by iterating to a fixpoint.
"""

from __future__ import annotations

from adgen.errors import AdgenTypeError
from adgen.ir.builder import NameTable
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, make_attrs, walk_ops
from adgen.ir.types import BOOL, F32, F64, I64, Type, join, scalar_of
from adgen.ir.values import Value
from adgen.primitives import registry
from adgen.transforms import nested

_ZERO = {F64: 0.0, F32: 0.0, I64: 0, BOOL: False}


def all_names(fn: Function) -> set[str]:
    names = {p.name for p in fn.params}
    for op in walk_ops(fn.body):
        names.update(r.name for r in op.results)
        for region in op.regions:
            names.update(a.name for a in region.args)
    return names


def _where(op: Op) -> str:
    return f"{op.loc.file}:{op.loc.line}" if op.loc else "?"


class _Typer:
    def __init__(self, hints: dict[str, Type], names: NameTable, inlined: dict):
        self.hints = hints
        self.names = names
        self.inlined = inlined  # nested transforms, inlined once per op and types
        self.changed = False

    def hint(self, name: str, t: Type | None) -> None:
        if t is None:
            return
        old = self.hints.get(name)
        new = join(old, t)
        if new != old:
            self.hints[name] = new
            self.changed = True

    def coerce(self, value: Value, t: Type | None, out: list[Op], loc) -> Value:
        if t is None or value.type is None or value.type == t:
            return value
        result = Value(self.names.fresh(value.name), t)
        out.append(Op("cast", (value,), (result,), make_attrs({"to": str(scalar_of(t))}), (), loc))
        return result

    # regions ------------------------------------------------------------------------------
    def region(self, region: Region, env: dict, args) -> tuple[list[Op], list[Value]]:
        env = dict(env)
        for old, new in zip(region.args, args):
            env[old.name] = new
        out: list[Op] = []
        for op in region.ops:
            self.op(op, env, out)
        return out, [env[v.name] for v in region.yields], env

    def op(self, op: Op, env: dict, out: list[Op]) -> None:
        operands = tuple(env[v.name] for v in op.operands)
        if op.opcode == "if":
            return self.if_op(op, operands, env, out)
        if op.opcode in ("for", "while"):
            return self.loop_op(op, operands, env, out)
        if op.opcode == nested.OPCODE:
            return self.nested(op, operands, env, out)
        attrs = dict(op.attrs)
        if op.opcode == "undef":
            t = self.hints.get(op.result.name)
            attrs = {"type": t, "value": _ZERO.get(t)}
            types = (t,)
        elif op.opcode == "const":
            types = (attrs["type"],)
        elif any(v.type is None for v in operands):
            types = (None,) * len(op.results)
        else:
            try:
                types = tuple(registry.get(op.opcode).type_rule(
                    tuple(v.type for v in operands), attrs))
            except (TypeError, KeyError, ValueError) as exc:
                shown = ", ".join(str(v.type) for v in operands)
                raise AdgenTypeError(f"{_where(op)}: {op.opcode} cannot take ({shown}): "
                                     f"{exc}") from None
        results = tuple(Value(r.name, t) for r, t in zip(op.results, types))
        for old, new in zip(op.results, results):
            env[old.name] = new
        out.append(Op(op.opcode, operands, results, make_attrs(attrs), (), op.loc))

    def nested(self, op, operands, env, out):
        """A transform called here: its derivative IR, inlined once the types are known."""
        if any(v.type is None for v in operands):
            for r in op.results:
                env[r.name] = Value(r.name, None)
            return
        ops, results = nested.inline(op, operands, self.names, self.inlined)
        if len(results) != len(op.results):
            raise AdgenTypeError(f"{_where(op)}: the transform returns {len(results)} "
                                 f"value(s) here, the call expects {len(op.results)}")
        out.extend(ops)
        for old, new in zip(op.results, results):
            env[old.name] = new

    def if_op(self, op, operands, env, out):
        (cond,) = operands
        if cond.type not in (None, BOOL):
            raise AdgenTypeError(f"{_where(op)}: the condition has type {cond.type}, not bool")
        branches = [self.region(r, env, ()) for r in op.regions]
        types = []
        for k in range(len(op.results)):
            t = None
            for _, yields, _ in branches:
                t = join(t, yields[k].type)
            types.append(t)
            for region, (_, yields, _) in zip(op.regions, branches):
                self.hint(region.yields[k].name, t)
        regions = []
        for (ops, yields, _), region in zip(branches, op.regions):
            yields = [self.coerce(v, t, ops, op.loc) for v, t in zip(yields, types)]
            regions.append(Region((), tuple(ops), tuple(yields)))
        results = tuple(Value(r.name, t) for r, t in zip(op.results, types))
        for old, new in zip(op.results, results):
            env[old.name] = new
        out.append(Op("if", operands, results, op.attrs, tuple(regions), op.loc))

    def loop_op(self, op, operands, env, out):
        is_for = op.opcode == "for"
        bounds, inits = (operands[:3], operands[3:]) if is_for else ((), operands)
        for v in bounds:
            if v.type not in (None, I64, BOOL):
                raise AdgenTypeError(f"{_where(op)}: range() arguments must be integers, "
                                     f"got {v.type}")
        bounds = tuple(self.coerce(v, I64, out, op.loc) for v in bounds)
        body = op.regions[-1]
        carried_args = body.args[1:] if is_for else body.args
        slot_types = []
        for init, arg in zip(inits, carried_args):
            t = join(init.type, self.hints.get(arg.name))
            self.hint(arg.name, t)
            self.hint(op.operands[len(bounds) + len(slot_types)].name, t)
            slot_types.append(t)
        inits = tuple(self.coerce(v, t, out, op.loc) for v, t in zip(inits, slot_types))
        regions = []
        for region in op.regions:
            is_body = region is body
            args = [Value(a.name, t) for a, t in zip(region.args[-len(slot_types):]
                                                       if slot_types else (), slot_types)]
            if is_for:
                args = [Value(region.args[0].name, I64)] + args
            ops, yields, _ = self.region(region, env, args)
            if is_body:
                for arg, y, t in zip(carried_args, yields, slot_types):
                    self.hint(arg.name, join(t, y.type))
                yields = [self.coerce(v, t, ops, op.loc) for v, t in zip(yields, slot_types)]
            elif yields[0].type not in (None, BOOL):
                raise AdgenTypeError(f"{_where(op)}: the loop condition has type "
                                     f"{yields[0].type}, not bool")
            regions.append(Region(tuple(args), tuple(ops), tuple(yields)))
        results = tuple(Value(r.name, t) for r, t in zip(op.results, slot_types))
        for old, new in zip(op.results, results):
            env[old.name] = new
        out.append(Op(op.opcode, bounds + inits, results, op.attrs, tuple(regions), op.loc))


def _untyped(fn: Function) -> list[str]:
    missing = [p.name for p in fn.params if p.type is None]
    for op in walk_ops(fn.body):
        missing += [r.name for r in op.results if r.type is None]
    return missing


def specialize(fn: Function, arg_types) -> Function:
    """`fn` with every value typed, for arguments of `arg_types`.

    Example:
        >>> from adgen.ir.types import F64
        >>> # specialize(lower_function(f), (F64, F64))
    """
    arg_types = tuple(arg_types)
    if len(arg_types) != len(fn.params):
        raise AdgenTypeError(f"{fn.name} takes {len(fn.params)} arguments, "
                             f"got {len(arg_types)}")
    hints: dict[str, Type] = {}
    names = NameTable(all_names(fn))
    inlined: dict = {}
    for _ in range(50):
        typer = _Typer(hints, names, inlined)
        params = tuple(Value(p.name, t) for p, t in zip(fn.params, arg_types))
        ops, yields, _ = typer.region(fn.body, {}, params)
        typed = Function(fn.name, Region(params, tuple(ops), tuple(yields)), fn.loc,
                         fn.tuple_return)
        if not typer.changed:
            break
    missing = _untyped(typed)
    if missing:
        raise AdgenTypeError(f"cannot infer the type of {', '.join(sorted(set(missing)))} "
                             f"in {fn.name}: a variable is read on a path where it was never "
                             "assigned", None)
    return typed
