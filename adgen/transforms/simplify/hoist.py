"""Loop-invariant code motion: a pure op of a loop whose operands all come from outside
the loop is computed once, just before the loop.

Reverse mode recomputes each iteration's primal intermediates and the partial
derivatives of the body; what of that depends only on values from outside the loop
(`cos(a)` in the adjoint of `sin(a) * x[i]`) would otherwise be computed again on every
iteration.

An op moves out of a loop when all of these hold:

* It is a top-level op of a `for` body or of a `while` condition or body, and none of
  its operands is a region argument (induction variable, carried values) or the result
  of an op that stays in the loop. Ops inside an `if` stay in their branch. Inner loops
  are done first, so an op leaves nested loops as far out as the rules allow.
* It is a primitive the registry calls pure, without an effect or an in-place operand:
  never an allocation (`empty`, `zeros`, `copy`, ...: a new array on every iteration), a
  write (`setitem`, `index_add`, a tape `push`), the undo log, or `undef`. Except a
  tape that never grows (`adgen.ir.tapes`): the iteration that allocates it writes every
  entry it reads, so one allocation of its loop-invariant size serves all iterations.
* An array result is only ever read: it is not written in place, carried by a loop or
  yielded out of a region (codegen may reuse such an array's storage for a write).
* A loop may run zero times, and a hoisted op then runs once where it ran never before,
  so it must be cheap and unable to raise: scalar arithmetic and math on floats (IEEE
  results, inf and nan, under Numba's error_model="numpy" and the python backend's
  np.float64 under np.errstate(all="ignore")), integer +, -, *, comparisons, logic,
  select, casts except float -> int (`int(nan)` raises), constants, and an array's
  len/dim/size. Not: integer /, //, %, ** (division by zero, negative powers), getitem
  (out of bounds), any other op on arrays (shapes may not match; a pass over memory),
  trip_count (a zero step), and user primitives (their code may raise).
  A `while` condition runs at least once, and so does a `for` whose bounds are
  constants giving a non-empty range: out of those, every op the first three rules
  allow may move.

A known gap of the python backend: a float op on two Python floats rather than
np.float64 values (math.erf returns one) raises where Numba gives inf or nan, e.g.
`1.0 / math.erf(a)` at a == 0: inside a loop that runs, and, once hoisted, before a loop
that does not. (Casts to float print `np.float64(m)` for this reason.)
"""

from __future__ import annotations

from dataclasses import replace

from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.tapes import grown_tapes, is_tape_allocation
from adgen.ir.types import ArrayType, is_float
from adgen.primitives import registry

_LOOPS = ("for", "while")

# scalar ops that cannot raise (and cost next to nothing), on any scalar operands
_SAFE_SCALAR = frozenset({
    "const", "add", "sub", "mul", "neg", "abs", "sign", "maximum", "minimum", "clip",
    "sin", "cos", "tan", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
    "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan", "arctan2", "hypot", "erf", "erfc",
    "floor", "ceil", "trunc", "rint", "stop_gradient",
    "lt", "le", "gt", "ge", "eq", "ne", "not", "and", "or", "select", "where"})
# safe on floats only: on integers they divide by zero or raise to negative powers
_SAFE_ON_FLOATS = frozenset({"div", "floordiv", "mod", "pow"})
# read an array's shape, never its elements
_SHAPE_READS = frozenset({"len", "dim", "size"})


def _cannot_raise(op: Op) -> bool:
    """Whether `op` is cheap and raises on no input, so that it may run before a loop
    that runs zero times."""
    if op.opcode in _SHAPE_READS:
        return True
    if any(isinstance(v.type, ArrayType) for v in op.operands + op.results):
        return False
    if op.opcode in _SAFE_ON_FLOATS:
        return all(is_float(v.type) for v in op.operands)
    if op.opcode == "cast":
        return not (op.attr("to") == "i64" and is_float(op.operands[0].type))
    return op.opcode in _SAFE_SCALAR


def _movable(op: Op, runs: bool, pinned: set[str], fixed_tapes=frozenset(),
             consts=None) -> bool:
    """Whether `op` may be computed once instead of on each iteration (`runs`: the loop
    region surely runs at least once)."""
    if is_tape_allocation(op):
        # every entry is written before it is read, in the iteration that allocates it,
        # and its size is a trip count (never negative): one allocation serves them all
        return op.results[0].name in fixed_tapes
    if op.opcode == "trip_count" and (consts or {}).get(op.operands[2].name) not in (None, 0):
        return True  # a constant step other than 0: it cannot raise
    if op.regions or op.opcode == "undef":
        return False
    prim = registry.get(op.opcode)
    if not prim.pure or prim.effect or prim.inplace_operand is not None:
        return False
    if any(r.name in pinned for r in op.results):
        return False
    return runs or _cannot_raise(op)


def _pinned_arrays(fn: Function) -> set[str]:
    """Arrays that may be written in place: in-place operands, loop inits, yields."""
    values = []
    for op in walk_ops(fn.body):
        if op.opcode in _LOOPS:
            values += op.operands[3:] if op.opcode == "for" else op.operands
        elif op.opcode != "if":
            written = registry.get(op.opcode).inplace_operand
            values += [] if written is None else [op.operands[written]]
        for sub in op.regions:
            values += sub.yields
    return {v.name for v in values if isinstance(v.type, ArrayType)}


def _runs_at_least_once(loop: Op, region: Region, consts: dict) -> bool:
    if loop.opcode == "while":
        return region is loop.regions[0]  # the condition is tested at least once
    bounds = [consts.get(v.name) for v in loop.operands[:3]]
    if not all(type(b) is int for b in bounds) or bounds[2] == 0:
        return False
    return len(range(*bounds)) > 0


def _split(region: Region, movable) -> tuple[list[Op], tuple[Op, ...]]:
    """The ops of `region` that move out (in order) and those that stay."""
    inside = {a.name for a in region.args}
    moved, kept = [], []
    for op in region.ops:
        if not any(v.name in inside for v in op.operands) and movable(op):
            moved.append(op)
        else:
            kept.append(op)
            inside.update(r.name for r in op.results)
    return moved, tuple(kept)


def _hoist_from_loop(loop: Op, consts: dict, pinned: set[str],
                     fixed_tapes: set[str]) -> tuple[list[Op], Op]:
    hoisted, regions = [], []
    for sub in loop.regions:
        runs = _runs_at_least_once(loop, sub, consts)
        moved, kept = _split(sub, lambda op: _movable(op, runs, pinned, fixed_tapes, consts))
        hoisted += moved
        regions.append(Region(sub.args, kept, sub.yields))
    return hoisted, replace(loop, regions=tuple(regions))


def _region(region: Region, consts: dict, pinned: set[str], fixed_tapes: set[str]) -> Region:
    ops = []
    for op in region.ops:
        if op.regions:  # inner loops first: what they hoist may leave this loop too
            op = replace(op, regions=tuple(_region(sub, consts, pinned, fixed_tapes)
                                           for sub in op.regions))
        if op.opcode in _LOOPS:
            hoisted, op = _hoist_from_loop(op, consts, pinned, fixed_tapes)
            ops += hoisted
        ops.append(op)
    return Region(region.args, tuple(ops), region.yields)


def hoist_loop_invariants(fn: Function) -> Function:
    """`fn` with loop-invariant pure ops computed once, before their loops (rules above).

    Example:
        >>> # for i in range(n): s += cos(a) * x[i]   becomes
        >>> # t = cos(a); for i in range(n): s += t * x[i]
    """
    consts = {op.result.name: op.attr("value") for op in walk_ops(fn.body)
              if op.opcode == "const"}
    grown = grown_tapes(fn)
    fixed_tapes = {op.results[0].name for op in walk_ops(fn.body)
                   if is_tape_allocation(op) and op.results[0].name not in grown}
    body = _region(fn.body, consts, _pinned_arrays(fn), fixed_tapes)
    return Function(fn.name, body, fn.loc, fn.tuple_return)
