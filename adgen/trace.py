"""Evaluation traces in the layout of Baydin et al. (2018), "Automatic
differentiation in machine learning: a survey", Tables 2 and 3: the forward
primal trace, the forward tangent trace and the reverse adjoint trace, one
row per primitive operation actually executed (loops are unrolled, branches
not taken are absent).

Inputs are v_{1-n} ... v_0 and intermediates v_1, v_2, ... . Rows are in
order of dependency level (every operation as early as its operands allow),
which is the order of the survey's tables and a valid evaluation order.
The numbers come from the registry's own derivative rules, evaluated on
numbers, so the trace shows exactly what adgen's generated code computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adgen.ir.interpret import interpret
from adgen.ir.ops import Op
from adgen.ir.types import is_float
from adgen.primitives import registry
from adgen.primitives.registry import Zero

DOT, BAR = "\u0307", "\u0304"


@dataclass
class Num:
    """A number standing in for an IR value while rules are evaluated numerically."""

    value: float
    type: object
    name: str = "num"


class NumericBuilder:
    """The `Builder` interface over numbers: each emitted op is evaluated at once."""

    def emit(self, opcode, *operands, attrs=None, name=None, types=None):
        prim = registry.get(opcode)
        value = prim.impl(*[o.value for o in operands], **(attrs or {}))
        kind = (types[0] if types else None) or _type_like(operands, value)
        return Num(float(value) if np.ndim(value) == 0 and kind is not None and is_float(kind)
                   else value, kind)

    def const(self, value, type_, name="c"):
        return Num(value, type_)

    def rename_last(self, value, hint):
        return value


def _type_like(operands, value):
    from adgen.ir.types import BOOL, F64

    if isinstance(value, (bool, np.bool_)):
        return BOOL
    for o in operands:
        if o.type is not None and is_float(o.type):
            return o.type
    return F64


@dataclass
class Row:
    """One row: `index` is i of v_i; `expr` shows how it is computed; `value` its value."""

    index: int
    expr: str
    value: float
    kind: str = "primal"  # "primal", "tangent", "adjoint"
    target: int | None = None  # for adjoint rows, the v_j whose adjoint this row sets

    def label(self) -> str:
        i = self.target if self.kind == "adjoint" else self.index
        mark = {"primal": "", "tangent": DOT, "adjoint": BAR}[self.kind]
        return f"v{mark}{_sub(i)}"


def _sub(i: int) -> str:
    return str(i)


@dataclass
class Trace:
    """The three traces of one evaluation; `str()` prints them as tables."""

    inputs: list[str]
    primal: list[Row] = field(default_factory=list)
    tangent: list[Row] = field(default_factory=list)
    adjoint: list[Row] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    seed: tuple = ()

    def __str__(self) -> str:
        n = len(self.inputs)
        lines = ["Forward primal trace" + " " * 40 + "Forward tangent trace "
                 f"(seed {', '.join(f'{x}{DOT}={s:g}' for x, s in zip(self.inputs, self.seed))})"]
        for p, t in zip(self.primal, self.tangent):
            left = f"  {p.label()} = {p.expr} = {_fmt(p.value)}"
            right = f"{t.label()} = {t.expr} = {_fmt(t.value)}"
            lines.append(f"{left:<60}{right}")
        lines.append("")
        lines.append("Reverse adjoint trace")
        for r in self.adjoint:
            lines.append(f"  {r.label()} = {r.expr} = {_fmt(r.value)}")
        for k, name in enumerate(self.inputs):
            final = [r for r in self.adjoint if r.target == k + 1 - n]
            value = final[-1].value if final else 0.0
            lines.append(f"  {name}{BAR} = v{BAR}{k + 1 - n} = {_fmt(value)}")
        return "\n".join(lines)


def _fmt(value) -> str:
    return f"{float(value):.4f}".rstrip("0").rstrip(".") if np.isfinite(value) else str(value)


class _Tracer:
    def __init__(self, names):
        self.var: dict[str, int] = {}
        self.values: dict[int, float] = {}
        self.level: dict[int, int] = {}
        self.ops: list[tuple] = []  # (index, op, operand vars or literals, level)
        self.next = 1
        self.input_names = names

    def operand(self, value):
        """The v index of a value, or its literal number."""
        return self.var.get(value.name)

    def on_op(self, op: Op | None, sources, targets, kind) -> None:
        if kind == "alias":
            for s, t in zip(sources, targets):
                if s.name in self.var:
                    self.var[t.name] = self.var[s.name]
                else:
                    self.var.pop(t.name, None)
                    self.literal[t.name] = self.literal.get(s.name)
            return
        result = op.results[0]
        if op.opcode in ("const", "undef"):
            self.literal[result.name] = op.attr("value")
            return
        args = [self.var.get(v.name) for v in op.operands]
        if all(a is None for a in args):  # a constant (the seed 1.0 * 2.0 of an inlined grad)
            literals = [self.literal.get(v.name) for v in op.operands]
            if len(op.results) == 1 and all(v is not None for v in literals):
                with np.errstate(all="ignore"):
                    self.literal[result.name] = registry.get(op.opcode).impl(
                        *literals, **dict(op.attrs))
            return
        if not is_float(result.type):
            return
        index = self.next
        self.next += 1
        self.var[result.name] = index
        level = 1 + max((self.level.get(a, 0) for a in args if a is not None), default=0)
        self.level[index] = level
        literals = [self.literal.get(v.name) for v in op.operands]
        self.ops.append([index, op, args, literals, level])


def trace(f, *args, seed=None, wrt=None) -> Trace:
    """Forward primal, forward tangent and reverse adjoint traces of `f` at `args`.

    `wrt` are the argument indices traced as inputs (default: every float
    argument); `seed` is the tangent seed (default: the first input's, as in
    the survey's Table 2).

    Example:
        >>> import math
        >>> def f(x1, x2):
        ...     return math.log(x1) + x1 * x2 - math.sin(x2)
        >>> t = trace(f, 2.0, 5.0)            # doctest: +SKIP
        >>> [round(r.value, 3) for r in t.primal][-1]  # doctest: +SKIP
        11.652
    """
    from adgen.api import Transformed

    transformed = Transformed(f, "call", (), "python")
    bound = transformed.bind(list(args), {})
    typed = transformed.base_ir(transformed.arg_types(bound))
    if wrt is None:
        wrt = [i for i, p in enumerate(typed.params) if is_float(p.type)]
    names = [typed.params[i].name for i in wrt]
    n = len(wrt)
    seed = tuple(seed) if seed is not None else tuple(1.0 if k == 0 else 0.0 for k in range(n))
    tracer = _Tracer(names)
    tracer.literal = {}
    result = Trace(names, seed=seed)
    for k, i in enumerate(wrt):
        index = k + 1 - n
        tracer.var[typed.params[i].name] = index
        tracer.values[index] = float(bound[i])
        tracer.level[index] = 0
    outputs = interpret(typed, *bound, on_op=tracer.on_op)
    _renumber(tracer, n)
    b = NumericBuilder()
    values, tangents = dict(tracer.values), {}
    for k in range(n):
        index = k + 1 - n
        result.primal.append(Row(index, names[k], values[index]))
        tangents[index] = seed[k]
        result.tangent.append(Row(index, f"{names[k]}{DOT}", seed[k], "tangent"))
    partials: dict[int, list] = {}
    for index, op, vars_, literals, _ in tracer.ops:
        nums = [Num(values[a], op.operands[j].type) if a is not None
                else Num(literals[j], op.operands[j].type) for j, a in enumerate(vars_)]
        prim = registry.get(op.opcode)
        out = prim.impl(*[x.value for x in nums], **dict(op.attrs))
        values[index] = float(out)
        fake = Op(op.opcode, tuple(nums), (Num(float(out), op.results[0].type),), op.attrs)
        shown = [_show(a, lit) for a, lit in zip(vars_, literals)]
        result.primal.append(Row(index, _expr(prim, shown, dict(op.attrs)), values[index]))
        active = tuple(a is not None for a in vars_)
        parts = _partials(b, prim, fake, active)
        partials[index] = parts
        total, terms = 0.0, []
        for a, p in zip(vars_, parts):
            if a is not None and p is not None:
                total += p * tangents[a]
                terms.append(f"{_fmt(p)} × v{DOT}{a}")
        tangents[index] = total
        result.tangent.append(Row(index, " + ".join(terms) or "0", total, "tangent"))
    outs = list(outputs) if isinstance(outputs, tuple) else [outputs]
    out_vars = [tracer.var.get(v.name) for v in typed.returns]
    result.outputs = [v for v in out_vars if v is not None]
    adjoints: dict[int, float] = {}
    for v in result.outputs[:1]:
        adjoints[v] = 1.0
        result.adjoint.append(Row(v, "y" + BAR, 1.0, "adjoint", v))
    for index, op, vars_, literals, _ in reversed(tracer.ops):
        if index not in adjoints:
            continue
        for a, p in zip(vars_, partials[index]):
            if a is None or p is None:
                continue
            contribution = adjoints[index] * p
            if a in adjoints:
                adjoints[a] += contribution
                expr = f"v{BAR}{a} + v{BAR}{index} × {_fmt(p)}"
            else:
                adjoints[a] = contribution
                expr = f"v{BAR}{index} × {_fmt(p)}"
            result.adjoint.append(Row(index, expr, adjoints[a], "adjoint", a))
    del outs
    return result


def _renumber(tracer: _Tracer, n: int) -> None:
    """Order the rows by dependency level (stable) and number them 1, 2, ..."""
    order = sorted(tracer.ops, key=_level_key)
    mapping = {old[0]: new for new, old in enumerate(order, start=1)}
    for k in range(n):
        mapping[k + 1 - n] = k + 1 - n
    for entry in order:
        entry[0] = mapping[entry[0]]
        entry[2] = [mapping[a] if a is not None else None for a in entry[2]]
    tracer.ops = order
    tracer.var = {name: mapping[v] for name, v in tracer.var.items() if v in mapping}


def _level_key(entry):
    return (entry[4], entry[0])


def _partials(b, prim, fake, active):
    """d out / d operand for each active operand, from the registry's rules."""
    if prim.nondiff:
        return [0.0 if on else None for on in active]
    if prim.partials is not None:
        parts = prim.partials(b, fake.operands, fake.results[0], active)
        return [float(p.value) if p is not None else None for p in parts]
    one = Num(1.0, fake.results[0].type)
    cts = prim.vjp(b, fake, [one], active)
    return [float(c.value) if on and not isinstance(c, Zero) else (0.0 if on else None)
            for c, on in zip(cts, active)]


def _show(var, literal) -> str:
    return f"v{var}" if var is not None else _fmt(literal)


def _expr(prim, shown, attrs) -> str:
    template = prim.trace or (prim.name + "(" + ", ".join("{%d}" % i for i in range(len(shown)))
                              + ")")
    try:
        return template.format(*shown, **attrs)
    except (IndexError, KeyError):
        return f"{prim.name}({', '.join(shown)})"
