"""`adgen.check(f, *args)`: a self-check of adgen's derivatives of `f` at `args`
that, when something is wrong, names the primitive rule and the line of `f`.

The checks (each a `Check` of the `CheckReport`):

* reverse mode against finite differences, one check per differentiated
  argument (`adgen.grad` for a function returning one float, `adgen.vjp` with
  a random cotangent w otherwise), along a random direction for an array;
* forward mode (`adgen.jvp` along a random direction v) against finite
  differences, and its primal value against `f(*args)`;
* the dot-product test <w, J v> == <J^T w, v> between forward and reverse;
* with float arguments, the same call in float32: forward against reverse,
  and float32 against float64 at the float32-rounded point.

Finite differences are `adgen.testing.finite_difference` (Ridders) of the
Python function `f` itself. When a float64 check fails, the culprit is looked
for in three stages (`localize=`), and `CheckReport.culprit` names it:

1. "rules": `f`'s typed IR is evaluated op by op at `args`; for every
   differentiable primitive op that executed with varied operands, its tangent
   rule is evaluated on those operand values and compared with finite
   differences of the primitive's implementation, and its adjoint rule is
   compared with its tangent rule by the dot-product test (the logic of
   `adgen.testing.check_primitive`, at the values the program really reached,
   arrays included). The first op in execution order whose rule is wrong is the
   culprit: its opcode, which rule, and `f`'s file:line and source text.
2. "bisect": if every rule is right, the transform itself is suspect. The
   top-level statements of `f`'s IR are bisected: the program cut after its
   k-th statement, returning a random weighting of every varied value it has
   computed, is differentiated (forward and reverse, run by the IR
   interpreter) and compared with finite differences of the cut program. A cut
   is wrong as soon as any statement in it is, so binary search finds the first
   wrong statement (a loop or `if` is named as a whole).
3. If the whole program's derivative IR is right under the interpreter, the
   error lies after the transform: the simplified IR is interpreted too, which
   tells simplification from code generation.

Example:
    >>> import math, adgen
    >>> def f(x, y):
    ...     return math.sin(x) * y + math.exp(x * y)
    >>> report = adgen.check(f, 0.3, 1.2)   # doctest: +SKIP
    >>> report.passed                        # doctest: +SKIP
    True
"""

from __future__ import annotations

import linecache
import math
from dataclasses import dataclass, field

import numpy as np

from adgen import api
from adgen.ir.builder import Builder, NameTable
from adgen.ir.function import Function
from adgen.ir.interpret import interpret
from adgen.ir.ops import Op
from adgen.ir.types import F64, NUMPY_DTYPES, ArrayType, is_float, scalar_of
from adgen.primitives import registry
from adgen.primitives.registry import Scatter, Zero
from adgen.testing import TypedNumericBuilder, _rng, _transformed, finite_difference
from adgen.trace import Num

__all__ = ["check", "CheckReport", "Check", "Culprit", "CheckError"]

_CONTROL = ("if", "for", "while")


# the report -------------------------------------------------------------------------------
@dataclass
class Check:
    """One comparison: `got` against `expected` (worst element), within `tolerance`."""

    name: str
    passed: bool
    got: float | None = None
    expected: float | None = None
    tolerance: float | None = None
    note: str = ""

    @property
    def difference(self) -> float | None:
        if self.got is None or self.expected is None:
            return None
        return abs(self.got - self.expected)

    def __str__(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        text = f"[{mark}] {self.name}"
        if self.got is not None:
            text += (f": got {self.got:.10g}, expected {self.expected:.10g}, "
                     f"|difference| {self.difference:.2e}, tolerance {self.tolerance:.2e}")
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass
class Culprit:
    """Where a wrong derivative comes from.

    `stage` is "rule" (a primitive's `rule` is wrong at the operand values the
    program reached), "transform" (the derivative of the statement is wrong
    although every rule passed), "simplify" or "codegen" (the derivative IR is
    right; what comes after it is not). `opcode` is the primitive (or `for`,
    `while`, `if`); `filename`, `lineno` and `source_line` locate the user's
    source (None/"" when the op has no location).
    """

    stage: str
    opcode: str | None = None
    rule: str = ""
    filename: str | None = None
    lineno: int | None = None
    source_line: str = ""
    detail: str = ""
    rules_passed: bool = False  # every rule was checked at the program's values and passed

    def __str__(self) -> str:
        if self.stage == "rule":
            head = f"the {self.rule} of primitive {self.opcode!r}"
        elif self.stage == "transform" and self.opcode is None:
            head = "the derivative IR of the whole function (reverse mode)"
        elif self.stage == "transform":
            what = {"for": "the for loop", "while": "the while loop",
                    "if": "the if statement"}.get(self.opcode, f"primitive {self.opcode!r}")
            head = f"the derivative of {what}"
            if self.rules_passed:
                head += ", although every primitive rule passed on its own"
        elif self.stage == "simplify":
            head = "simplification of the derivative IR (fold, cse, shapes, dce)"
        else:
            head = "code generation or the backend (the derivative IR itself is right)"
        where = ""
        if self.lineno is not None:
            where = f"\n    at {self.filename}:{self.lineno}: {self.source_line.strip()}"
        detail = f"\n    {self.detail}" if self.detail else ""
        return f"culprit: {head}{where}{detail}"


@dataclass
class CheckReport:
    """The outcome of `adgen.check`: the checks, and the culprit of a failure."""

    function: str
    args: tuple
    argnums: tuple
    backend: str
    checks: list = field(default_factory=list)
    culprit: Culprit | None = None
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list:
        return [c for c in self.checks if not c.passed]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        status = "passed" if self.passed else f"FAILED ({len(self.failures)} of " \
                                               f"{len(self.checks)} checks)"
        args = ", ".join(_short(a) for a in self.args)
        lines = [f"adgen.check of {self.function}({args}), argnums={self.argnums}, "
                 f"backend={self.backend!r}: {status}"]
        lines += ["  " + str(c) for c in self.checks]
        if self.culprit is not None:
            lines.append(str(self.culprit))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


class CheckError(AssertionError):
    """Raised by `adgen.check` when a check fails; `report` is the `CheckReport`."""

    def __init__(self, report: CheckReport):
        super().__init__(str(report))
        self.report = report


def _short(a) -> str:
    if isinstance(a, np.ndarray):
        return f"array{a.shape}<{a.dtype}>"
    return repr(a)


# values -------------------------------------------------------------------------------------
def _is_float_arg(a) -> bool:
    if isinstance(a, (bool, np.bool_)):
        return False
    if isinstance(a, (float, np.floating)):
        return True
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _flat(value) -> np.ndarray:
    """An output (float, array, tuple of them) as one float64 vector."""
    if isinstance(value, (tuple, list)):
        return np.concatenate([np.zeros(0)] + [_flat(p) for p in value])
    return np.ravel(np.asarray(value, dtype=np.float64))


def _random_like(value, rng, dtype=np.float64):
    """Standard normal numbers shaped like `value` (a tuple: one per part)."""
    if isinstance(value, (tuple, list)):
        return tuple(_random_like(v, rng, dtype) for v in value)
    if np.ndim(value) == 0:
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(value)).astype(dtype)


def _copied(args) -> list:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _along(args, nums, v, t) -> list:
    """args + t v on the arguments at `nums` (copies: `f` may write into its arrays)."""
    out = _copied(args)
    for k, i in enumerate(nums):
        x = np.asarray(args[i], dtype=np.float64)
        moved = x + t * np.asarray(v[k], dtype=np.float64)
        out[i] = moved if isinstance(args[i], np.ndarray) else float(moved)
    return out


def _step_scale(args, nums, v) -> float:
    """The step scale of finite differences along v: 1e-3 of the arguments' size."""
    scales = []
    for k, i in enumerate(nums):
        size = max(float(np.max(np.abs(args[i]), initial=0.0)), 1.0)
        reach = float(np.max(np.abs(v[k]), initial=0.0))
        if reach > 0:
            scales.append(size / reach)
    return min(scales, default=1.0)


def _inner(a, b) -> float:
    return float(np.dot(_flat(a), _flat(b)))


def _abs_inner(a, b) -> float:
    return float(np.dot(np.abs(_flat(a)), np.abs(_flat(b))))


def _compare(name, got, expected, tolerance, note="") -> Check:
    """Worst element of |got - expected| against `tolerance` (a scalar)."""
    got, expected = _flat(got), _flat(expected)
    if got.shape != expected.shape:
        return Check(name, False, note=f"shape mismatch: {got.size} vs {expected.size} "
                                      f"elements; {note}")
    if got.size == 0:
        return Check(name, True, note=note)
    with np.errstate(all="ignore"):
        diff = np.abs(got - expected)
    both_nan = np.isnan(got) & np.isnan(expected)
    same_inf = np.isinf(got) & (got == expected)
    diff = np.where(both_nan | same_inf, 0.0, np.where(np.isnan(diff), np.inf, diff))
    k = int(np.argmax(diff))
    passed = bool(diff[k] <= tolerance)
    if got.size > 1:
        note = f"worst of {got.size} elements, at {k}" + (f"; {note}" if note else "")
    return Check(name, passed, float(got[k]), float(expected[k]), float(tolerance), note)


_SHRINK = (1.0, 1e-3, 1e-6)  # step scales tried before a mismatch is believed


def _fd_compare(name, g, got, scale, eps, tolerance, note=""):
    """`got` against finite differences of `g` at 0 (`tolerance(expected, error estimate)`).
    On a mismatch the step is shrunk (a kink or branch switch within the step, such as
    |x| at x = 1e-5, fools a large step but not a small one); a wrong derivative disagrees
    at every step, and the check at the normal step is reported."""
    first = None
    for shrink in (_SHRINK if eps is None else (1.0,)):
        with np.errstate(all="ignore"):
            expected, err = finite_difference(g, 0.0, eps, scale=scale * shrink)
        text = f"finite differences error estimate {err:.1e}"
        if shrink != 1.0:
            text += f", step scaled by {shrink:g}"
        check = _compare(name, got, expected, tolerance(expected, err),
                         f"{note}; {text}" if note else text)
        if check.passed:
            return check
        first = first or check
    return first


# the checks ---------------------------------------------------------------------------------
class _Checker:
    def __init__(self, fn, args, nums, backend, rtol, atol, dot_rtol, eps, seed):
        self.fn, self.args, self.nums, self.backend = fn, args, nums, backend
        self.rtol, self.atol, self.dot_rtol, self.eps = rtol, atol, dot_rtol, eps
        self.seed = seed
        rng = _rng(seed, "adgen.check")
        self.v = [_random_like(args[i], rng) if isinstance(args[i], np.ndarray) else 1.0
                  for i in nums]
        self.v_all = [_random_like(args[i], rng) for i in nums]  # forward mode direction
        with np.errstate(all="ignore"):
            self.value = fn(*_copied(args))
        if isinstance(self.value, (bool, np.bool_, int, np.integer)) or not (
                isinstance(self.value, (float, np.floating, np.ndarray, tuple, list))):
            raise TypeError(f"adgen.check needs a function returning floats; "
                            f"{fn.__qualname__} returned {type(self.value).__name__}")
        self.scalar = np.ndim(self.value) == 0 and not isinstance(self.value, (tuple, list))
        self.w = 1.0 if self.scalar else _random_like(self.value, rng)
        self.names = _param_names(fn, len(args))
        self.float32_raised = False

    # the transforms ---------------------------------------------------------------------
    def reverse(self, args, w):
        """J^T w at `args`: one array or float per argnum."""
        if self.scalar:
            return tuple(_transformed("grad", self.fn, self.nums, self.backend)(*args))
        _, grads = _transformed("vjp", self.fn, self.nums, self.backend)(*args, w)
        return tuple(grads)

    def forward(self, args, v):
        return _transformed("jvp", self.fn, self.nums, self.backend)(*args, *v)

    def projected(self, args):
        """t -> <w, f(args + t v)> is what reverse mode is compared with."""
        w = _flat(self.w)

        def g(nums, v):
            def at(t):
                return float(np.dot(w, _flat(self.fn(*_along(args, nums, v, t)))))
            return at
        return g

    def fd_tol(self, expected, err) -> float:
        size = float(np.max(np.abs(_flat(expected)), initial=0.0))
        slack = 10.0 * err if math.isfinite(err) else 0.0
        return self.atol + self.rtol * size + slack

    # float64 ------------------------------------------------------------------------------
    def float64(self, report: CheckReport) -> None:
        args, nums = self.args, self.nums
        grads = None
        try:
            grads = self.reverse(args, self.w)
        except Exception as exc:  # noqa: BLE001 - a failing check with the reason
            _reraise_user_error(exc)
            report.checks.append(Check("reverse mode", False, note=f"raised {exc!r}"))
        if grads is not None:
            g = self.projected(args)
            for k, i in enumerate(nums):
                what = "adgen.grad" if self.scalar else "adgen.vjp with random w"
                along = " along a random direction" if isinstance(args[i], np.ndarray) else ""
                report.checks.append(_fd_compare(
                    f"reverse ({what}) vs finite differences, d/d{self.names[i]}{along}",
                    g((i,), (self.v[k],)), _inner(grads[k], self.v[k]),
                    _step_scale(args, (i,), (self.v[k],)), self.eps, self.fd_tol))
        try:
            primal, tangent = self.forward(args, self.v_all)
        except Exception as exc:  # noqa: BLE001
            _reraise_user_error(exc)
            report.checks.append(Check("forward mode", False, note=f"raised {exc!r}"))
            return
        report.checks.append(_fd_compare(
            "forward (adgen.jvp along a random v) vs finite differences",
            lambda t: tuple(_flat(self.fn(*_along(args, nums, self.v_all, t)))), tangent,
            _step_scale(args, nums, self.v_all), self.eps, self.fd_tol))
        size = float(np.max(np.abs(_flat(self.value)), initial=0.0))
        report.checks.append(_compare("primal value of adgen.jvp vs f(*args)", primal,
                                      self.value, 1e-10 * size + 1e-3 * self.atol))
        if grads is not None:
            report.checks.append(self.dot("dot-product test <w, J v> (forward) vs <J^T w, v> "
                                          "(reverse)", tangent, self.w, grads, self.v_all,
                                          self.dot_rtol))

    @staticmethod
    def dot(name, tangent, w, grads, v, rtol) -> Check:
        left, right = _inner(w, tangent), sum(_inner(g, x) for g, x in zip(grads, v))
        scale = max(_abs_inner(w, tangent), sum(_abs_inner(g, x) for g, x in zip(grads, v)))
        return _compare(name, left, right, rtol * scale + 1e-300)

    # float32 ------------------------------------------------------------------------------
    def float32(self, report: CheckReport, rtol: float) -> None:
        args32 = [_cast(a, np.float32) for a in self.args]
        back = [_cast(a, np.float64) for a in args32]  # the float32 point, in float64
        v32 = [_cast(x, np.float32) for x in self.v_all]
        v64 = [_cast(x, np.float64) for x in v32]
        w32 = _cast(self.w, np.float32)
        w64 = _cast(w32, np.float64)
        try:
            _, t32 = self.forward(args32, v32)
            g32 = self.reverse(args32, w32)
            _, t64 = self.forward(back, v64)
            g64 = self.reverse(back, w64)
        except Exception as exc:  # noqa: BLE001
            report.checks.append(Check("float32: forward and reverse mode on float32 "
                                       "arguments", False, note=f"raised {exc!r}"))
            self.float32_raised = True
            return
        report.checks.append(self.dot("float32: dot-product test, forward vs reverse", t32,
                                      w64, g32, v64, rtol))
        size = max(float(np.max(np.abs(_flat(t64)), initial=0.0)),
                   float(np.max(np.abs(_flat(g64)), initial=0.0)))
        report.checks.append(_compare("float32 vs float64 (J v and J^T w at the float32 "
                                      "point)", (t32,) + tuple(g32), (t64,) + tuple(g64),
                                      rtol * size + 1e-30))
        kinds = {np.asarray(x).dtype.name for x in (t32, *g32)}
        if kinds != {"float32"}:
            report.notes.append(f"in float32, derivatives came out as {sorted(kinds)}")


def _cast(value, dtype):
    if isinstance(value, (tuple, list)):
        return tuple(_cast(v, dtype) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return dtype(value)
    return value


def _reraise_user_error(exc) -> None:
    from adgen.errors import AdgenSyntaxError, AdgenTypeError

    if isinstance(exc, (AdgenSyntaxError, AdgenTypeError)):
        raise exc


def _param_names(fn, n) -> list:
    import inspect

    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return names + [f"arg{i}" for i in range(len(names), n)]


# evaluating the IR op by op -------------------------------------------------------------
def _evaluate(fn: Function, args, on_primitive=None) -> dict:
    """Run `fn` like `adgen.ir.interpret`, calling `on_primitive(op, operand values, result
    values)` after every primitive op; returns the values of the top-level region."""

    def region(reg, env, values):
        env = dict(env)
        for a, value in zip(reg.args, values):
            env[a.name] = value
        for op in reg.ops:
            run(op, env)
        return [env[y.name] for y in reg.yields], env

    def run(op, env):
        operands = [env[v.name] for v in op.operands]
        if op.opcode == "if":
            outs, _ = region(op.regions[0] if operands[0] else op.regions[1], env, ())
        elif op.opcode == "for":
            start, stop, step, *carried = operands
            for i in range(int(start), int(stop), int(step)):
                carried, _ = region(op.regions[0], env, [i] + list(carried))
            outs = carried
        elif op.opcode == "while":
            cond, body = op.regions
            carried = operands
            while True:
                (test,), _ = region(cond, env, carried)
                if not test:
                    break
                carried, _ = region(body, env, carried)
            outs = carried
        else:
            prim = registry.get(op.opcode)
            with np.errstate(all="ignore"):
                value = prim.impl(*operands, **dict(op.attrs))
            outs = list(value) if prim.nresults > 1 else [value]
            if on_primitive is not None:
                on_primitive(op, operands, outs)
        for r, value in zip(op.results, outs):
            env[r.name] = value

    _, env = region(fn.body, {}, list(args))
    return env


def _base_ir(fn, args, nums, backend):
    """f's typed IR as the transforms see it, and the names of its varied values."""
    from adgen.transforms.activity import varied_values
    from adgen.transforms.simplify.dce import eliminate_dead_code

    t = api.Transformed(fn, "call", (), backend)
    base = eliminate_dead_code(t.base_ir(t.arg_types(list(args))))
    return base, varied_values(base, nums)


def _where(op: Op) -> tuple:
    if op.loc is None:
        return None, None, ""
    return op.loc.file, op.loc.line, linecache.getline(op.loc.file, op.loc.line).rstrip("\n")


def _all_finite(values) -> bool:
    with np.errstate(all="ignore"):
        return all(bool(np.all(np.isfinite(v))) for v in values
                   if isinstance(v, (float, np.floating, np.ndarray)) and
                   np.asarray(v).dtype.kind in "fc")


def _typed(value, t):
    """`value` in the dtype of IR type `t`."""
    s = scalar_of(t)
    if s is None:
        return value
    dtype = NUMPY_DTYPES[s.name]
    if isinstance(t, ArrayType):
        return np.asarray(value, dtype=dtype)
    return dtype(value)


# stage 1: every rule at the values the program reached --------------------------------------
class _RuleSuspects:
    MAX_VISITS = 2  # executions of one op whose operands are recorded
    MAX_CHECKS = 400

    def __init__(self, active, rtol, atol, dot_rtol, seed, check_types=False):
        self.active = active
        self.rtol, self.atol, self.dot_rtol = rtol, atol, dot_rtol
        self.rng = _rng(seed, "adgen.check rules")
        self.check_types = check_types
        self.visits: dict[int, int] = {}
        self.records: list = []
        self.unjudged = 0

    def record(self, op, operands, outs) -> None:
        prim = registry.get(op.opcode)
        if (prim.nondiff or prim.effect or len(op.results) != 1 or op.opcode in _CONTROL
                or not is_float(op.result.type)
                or not any(v.name in self.active for v in op.operands)):
            return
        if self.visits.get(id(op), 0) >= self.MAX_VISITS or len(self.records) >= \
                self.MAX_CHECKS or not _all_finite(list(operands) + list(outs)) or \
                np.size(outs[0]) == 0:
            return
        self.visits[id(op)] = self.visits.get(id(op), 0) + 1
        self.records.append((op, [v.copy() if isinstance(v, np.ndarray) else v
                                  for v in operands]))

    def tolerance(self, expected, err) -> float:
        slack = 10.0 * err if math.isfinite(err) else 0.0
        return self.atol + self.rtol * float(np.max(np.abs(expected), initial=0.0)) + slack

    def first_wrong(self):
        for op, values in self.records:
            try:
                found = self.check(op, values)
            except Exception:  # noqa: BLE001 - an op this checker cannot judge
                self.unjudged += 1
                continue
            if found is not None:
                return op, found
        return None

    def check(self, op: Op, values):
        """None if the op's rules pass at `values`, else (rule, detail)."""
        prim = registry.get(op.opcode)
        if prim.jvp is None or prim.vjp is None:
            return None  # the transform reports a missing rule itself
        attrs = dict(op.attrs)
        active = tuple(v.name in self.active and is_float(v.type) for v in op.operands)
        typed = [_typed(x, v.type) for x, v in zip(values, op.operands)]
        with np.errstate(all="ignore"):
            out = _typed(prim.impl(*typed, **attrs), op.result.type)
        nums = tuple(Num(x, v.type) for x, v in zip(typed, op.operands))
        num_op = Op(op.opcode, nums, (Num(out, op.result.type),), op.attrs)
        builder = TypedNumericBuilder()
        v = [_typed(_random_like(x, self.rng), t.type) if on else None
             for x, t, on in zip(typed, op.operands, active)]
        tangents = [Num(x, t.type) if on else Zero(t.type)
                    for x, t, on in zip(v, op.operands, active)]
        try:
            with np.errstate(all="ignore"):
                (tangent,) = prim.jvp(builder, num_op, tangents)
        except Exception:  # noqa: BLE001 - a rule that cannot run on numbers: not judged
            return None
        narrow = scalar_of(op.result.type).name == "f32"  # a float32 result
        if self.check_types and narrow and not isinstance(tangent, Zero) and \
                scalar_of(tangent.type) != scalar_of(op.result.type):
            return ("tangent rule (jvp)", f"its tangent has type {tangent.type}, the result "
                                          f"has type {op.result.type}")
        jv = _numeric(tangent, out)
        wide = [np.asarray(x, dtype=np.float64) if on else x for x, on in zip(typed, active)]

        def moved(t):  # finite differences in float64, whatever the operands' dtype
            shifted = [x + t * np.asarray(d, dtype=np.float64) if on else x
                       for x, d, on in zip(wide, v, active)]
            shifted = [np.float64(x) if on and np.ndim(x) == 0 else x
                       for x, on in zip(shifted, active)]
            return tuple(_flat(prim.impl(*shifted, **attrs)))

        scale = min((max(float(np.max(np.abs(x), initial=0.0)), 1.0) /
                     max(float(np.max(np.abs(d), initial=0.0)), 1e-300)
                     for x, d, on in zip(wide, v, active) if on), default=1.0)
        check = _fd_compare("jvp", moved, jv, scale, None, self.tolerance)
        point = _point_text(op, typed)
        if not check.passed and check.expected is not None and math.isfinite(check.expected):
            return ("tangent rule (jvp)",
                    f"at operands {point}, along tangents {_point_text(op, v)}: the tangent "
                    f"rule gives {check.got:.10g} but finite differences of the "
                    f"implementation give {check.expected:.10g} (|difference| "
                    f"{check.difference:.2e}, tolerance {check.tolerance:.2e})")
        w = _typed(_random_like(out, self.rng), op.result.type)
        try:
            with np.errstate(all="ignore"):
                cts = prim.vjp(builder, num_op, [Num(w, op.result.type)], active)
        except Exception:  # noqa: BLE001
            return None
        terms, magnitude = 0.0, 0.0
        for k, (ct, on) in enumerate(zip(cts, active)):
            if not on:
                continue
            if self.check_types and narrow and isinstance(ct, Num) and \
                    scalar_of(ct.type) != scalar_of(op.operands[k].type):
                return ("adjoint rule (vjp)", f"its cotangent of operand {k} has type "
                                              f"{ct.type}, the operand has type "
                                              f"{op.operands[k].type}")
            value = _numeric(ct, typed[k])
            terms += _inner(value, v[k])
            magnitude += _abs_inner(value, v[k])
        left = _inner(w, jv)
        scale = max(abs(left), magnitude, _abs_inner(w, jv))
        if not (math.isfinite(left) and math.isfinite(terms)) or \
                abs(left - terms) > self.dot_rtol * scale + 1e-300:
            return ("adjoint rule (vjp)",
                    f"at operands {point}: dot-product test against the tangent rule "
                    f"(which agrees with finite differences): <w, jvp(v)> = {left:.10g} but "
                    f"<vjp(w), v> = "
                    f"{terms:.10g} (|difference| {abs(left - terms):.2e}, tolerance "
                    f"{self.dot_rtol * scale:.2e})")
        return None


def _numeric(num, like):
    """A rule's output (Num, Zero or Scatter) as a float64 value shaped like `like`."""
    if isinstance(num, Zero):
        return np.zeros(np.shape(like))
    if isinstance(num, Scatter):
        base = np.zeros(np.shape(like))
        prim = registry.get("index_add")
        with np.errstate(all="ignore"):
            return prim.impl(base, *[i.value for i in num.indices],
                             np.asarray(num.value.value, dtype=np.float64), **num.attrs)
    return np.asarray(num.value, dtype=np.float64)


def _point_text(op, values) -> str:
    parts = []
    for v, x in zip(op.operands, values):
        if x is not None:
            big = isinstance(x, np.ndarray) and x.size > 4
            parts.append(f"{v.name}={_short(x) if big else _num_text(x)}")
    return ", ".join(parts)


def _num_text(x) -> str:
    if isinstance(x, np.ndarray):
        return np.array2string(x, precision=6)
    try:
        return f"{float(x):.10g}"
    except (TypeError, ValueError):
        return repr(x)


# stage 2: bisection over the top-level statements ---------------------------------------
def _cut(fn: Function, stop: int, active) -> tuple:
    """`fn` cut after its `stop` first top-level ops, returning sum_j <w_j, value_j> over
    the varied values they define; the w_j are extra parameters. Returns (cut, values)."""
    from adgen.transforms.specialize import all_names

    ops = fn.body.ops[:stop]
    outs = [r for op in ops for r in op.results if r.name in active and is_float(r.type)]
    if not outs:
        return None, []
    b = Builder(NameTable(all_names(fn)))
    weights = [b.param(r.name + "_w", r.type) for r in outs]
    for op in ops:
        b.append(op)
    total = None
    for r, w in zip(outs, weights):
        term = b.emit("mul", r, w)
        if isinstance(r.type, ArrayType):
            term = b.emit("reduce", term, attrs={"how": "sum", "axis": None, "keepdims": False})
        if scalar_of(term.type) != F64:
            term = b.emit("cast", term, attrs={"to": "f64"})
        total = term if total is None else b.emit("add", total, term)
    body = b.finish_region(tuple(fn.params) + tuple(weights), (total,))
    return Function(f"{fn.name}_cut{stop}", body, fn.loc, False), outs


class _Bisection:
    def __init__(self, fn: Function, args, nums, active, v, rtol, atol, eps, seed):
        self.fn, self.args, self.nums, self.active, self.v = fn, args, nums, active, v
        self.rtol, self.atol, self.eps = rtol, atol, eps
        self.env = _evaluate(fn, args)
        self.rng_seed = seed

    def wrong(self, stop: int):
        """None if the cut after `stop` ops differentiates right, else a description."""
        from adgen.transforms.forward import differentiate_forward
        from adgen.transforms.reverse import differentiate_reverse

        cut, outs = _cut(self.fn, stop, self.active)
        if cut is None:
            return None
        rng = _rng(self.rng_seed, "adgen.check bisect", stop)
        weights = [_typed(_random_like(self.env[r.name], rng), r.type) for r in outs]
        args = list(self.args)

        def run(t):
            return interpret(cut, *_along(args, self.nums, self.v, t), *weights)

        scale = _step_scale(args, self.nums, self.v)
        problems, checks = [], []
        with np.errstate(all="ignore"):
            try:
                rev = differentiate_reverse(cut, self.nums, False, False)
                grads = interpret(rev, *_copied(args), *weights)
                grads = grads if isinstance(grads, tuple) else (grads,)
                got = sum(_inner(g, x) for g, x in zip(grads, self.v))
                checks.append(("reverse", _fd_compare("reverse", run, got, scale, self.eps,
                                                      self.tolerance)))
            except Exception as exc:  # noqa: BLE001
                problems.append(f"reverse mode raised {exc!r}")
            try:
                fwd = differentiate_forward(cut, self.nums)
                tangents = [_typed(x, self.fn.params[i].type) for x, i in zip(self.v, self.nums)]
                _, tangent = interpret(fwd, *_copied(args), *weights, *tangents)
                checks.append(("forward", _fd_compare("forward", run, tangent, scale, self.eps,
                                                      self.tolerance)))
            except Exception as exc:  # noqa: BLE001
                problems.append(f"forward mode raised {exc!r}")
        expected = None
        for mode, check in checks:
            if not check.passed:
                problems.append(f"{mode} mode gives {check.got:.10g}")
                expected = check
        if not problems:
            return None
        if expected is None:
            return "; ".join(problems)
        return (f"{' and '.join(problems)}, finite differences {expected.expected:.10g} "
                f"(tolerance {expected.tolerance:.2e}), for a random weighting of the values "
                f"computed up to here")

    def tolerance(self, expected, err) -> float:
        slack = 10.0 * err if math.isfinite(err) else 0.0
        return self.atol + self.rtol * float(np.max(np.abs(expected), initial=0.0)) + slack

    def first_wrong(self):
        """(index of the first wrong top-level op, description), or None if even the
        whole program differentiates right."""
        ops = self.fn.body.ops
        stops = [k + 1 for k, op in enumerate(ops)
                 if any(r.name in self.active for r in op.results)]
        if not stops:
            return None
        last = self.wrong(stops[-1])
        if last is None:
            return None
        lo, hi = 0, len(stops) - 1  # invariant: the cut at stops[hi] is wrong
        found = {hi: last}
        while lo < hi:
            mid = (lo + hi) // 2
            bad = self.wrong(stops[mid])
            if bad is None:
                lo = mid + 1
            else:
                hi, found[mid] = mid, bad
        return stops[hi] - 1, found[hi]


# stage 3: after the transform ---------------------------------------------------------------
def _after_transform(fn, args, nums, checker, report):
    """The derivative IR of the whole function run by the interpreter before and after
    simplification, and the compiled code, each against finite differences: the first of
    the three that is wrong is the culprit."""
    from adgen.transforms.pipeline import simplify

    kind = "grad" if checker.scalar else "vjp"
    t = _transformed(kind, fn, nums, checker.backend)
    raw = t.transformed_ir(t.arg_types(list(args)))
    extra = [] if checker.scalar else list(checker.w if isinstance(checker.w, tuple)
                                           else (checker.w,))

    def interpreted(ir):
        with np.errstate(all="ignore"):
            out = interpret(ir, *_copied(args), *extra)
        return (out if isinstance(out, tuple) else (out,))[-len(nums):]

    stages = (("transform", "the derivative IR, run by the interpreter,", lambda:
               interpreted(raw)),
              ("simplify", "the simplified derivative IR, run by the interpreter,", lambda:
               interpreted(simplify(raw))),
              ("codegen", f"the code compiled for backend {checker.backend!r} (see "
                          f"adgen.source)", lambda: checker.reverse(args, checker.w)))
    g = checker.projected(args)
    for stage, what, run in stages:
        grads = run()
        for k, i in enumerate(nums):
            v = (checker.v[k],)
            c = _fd_compare("", g((i,), v), _inner(grads[k], v[0]),
                            _step_scale(args, (i,), v), checker.eps, checker.fd_tol)
            if not c.passed:
                return Culprit(stage, detail=(
                    f"{what} gives {c.got:.10g} for d/d{checker.names[i]} instead of "
                    f"{c.expected:.10g}" + ("; every earlier stage is right" if stage !=
                                            "transform" else "")))
    report.notes.append("the whole reverse-mode derivative is right at every stage when "
                        "checked again; the failing check is forward mode or the primal")
    return None


# the entry point ------------------------------------------------------------------------------
def check(f, *args, argnums=None, rtol=1e-6, atol=1e-9, dot_rtol=1e-9, float32=True,
          float32_rtol=1e-3, backend="python", eps=None, seed=0, localize=True,
          raise_on_failure=True) -> CheckReport:
    """Check adgen's derivatives of `f` at `args`; on failure, name the culprit.

    `f` is a plain Python function of adgen's subset returning floats (a float,
    an array or a tuple); `argnums` (int or tuple) names the float or
    float-array arguments to differentiate, by default all of them. Checks:
    reverse mode against finite differences for each argument (`rtol`, `atol`,
    plus ten times the finite differences' own error estimate), forward mode
    along a random direction against finite differences and its primal value,
    the dot-product test between the two (`dot_rtol` relative to the sum of
    the magnitudes of the terms), and, with `float32`, the same call on the
    arguments rounded to float32: forward against reverse and float32 against
    float64 at the rounded point (`float32_rtol`).

    When a float64 check fails and `localize` is True, the culprit is looked
    for: first every primitive rule at the operand values the program reached
    ("rules"), then a bisection over `f`'s top-level statements ("bisect"),
    then simplification vs code generation; `localize` may also be "rules" or
    "bisect" for one stage, or False. A float32-only failure checks the rules
    at float32 values (types included).

    Returns the `CheckReport` (printable; `report.passed`, `report.checks`,
    `report.culprit`). With `raise_on_failure` (the default) a failure raises
    `CheckError`, an AssertionError whose message is the printed report and
    whose `.report` is the report.

    Example:
        >>> import math
        >>> def f(x, y):
        ...     return math.sin(x) * y + math.exp(x * y)
        >>> print(check(f, 0.3, 1.2).passed)   # doctest: +SKIP
        True
    """
    if isinstance(f, api.Transformed):
        if f.kind != "call":
            raise TypeError("adgen.check takes the plain function, not a transform of it")
        backend = f.backend
    fn = f
    while isinstance(fn, api.Transformed):
        fn = fn.fn
    fn = getattr(fn, "py_func", fn)
    if localize not in (True, False, "rules", "bisect"):
        raise ValueError(f"localize must be True, False, 'rules' or 'bisect', not {localize!r}")
    args = tuple(api.Transformed(fn, "call", (), backend).bind(list(args), {}))
    if argnums is None:
        nums = tuple(i for i, a in enumerate(args) if _is_float_arg(a))
        if not nums:
            raise TypeError(f"adgen.check: no float argument to differentiate in {args!r}")
    else:
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        for i in nums:
            if not 0 <= i < len(args) or not _is_float_arg(args[i]):
                raise TypeError(f"adgen.check: argument {i} is not a float or a float array")
    checker = _Checker(fn, args, nums, backend, rtol, atol, dot_rtol, eps, seed)
    report = CheckReport(fn.__qualname__, args, nums, backend)
    checker.float64(report)
    f64_failed = not report.passed
    if float32:
        checker.float32(report, float32_rtol)
    if localize and not report.passed:
        try:
            report.culprit = _localize(checker, report, f64_failed, localize, float32_rtol)
        except Exception as exc:  # noqa: BLE001 - the checks stand; say why not localized
            report.notes.append(f"could not localize the failure: {exc!r}")
    if raise_on_failure and not report.passed:
        raise CheckError(report)
    return report


def _localize(checker, report, f64_failed, how, float32_rtol):
    fn, args, nums = checker.fn, checker.args, checker.nums
    if not f64_failed and checker.float32_raised:
        return None  # the exception in the report says where
    if not f64_failed:  # float32 only: the rules at float32 values, types included
        args32 = [_cast(a, np.float32) for a in args]
        base, active = _base_ir(fn, args32, nums, checker.backend)
        suspects = _RuleSuspects(active, float32_rtol, 1e-6, float32_rtol, checker.seed,
                                 check_types=True)
        _evaluate(base, args32, suspects.record)
        found = suspects.first_wrong()
        if found is None:
            report.notes.append("the float32 failure is not explained by a primitive rule "
                                "at float32 values")
            return None
        return _rule_culprit(*found, "in float32: ")
    base, active = _base_ir(fn, args, nums, checker.backend)
    if how in (True, "rules"):
        suspects = _RuleSuspects(active, checker.rtol, checker.atol, max(checker.dot_rtol,
                                                                           1e-10), checker.seed)
        _evaluate(base, args, suspects.record)
        found = suspects.first_wrong()
        if found is not None:
            return _rule_culprit(*found)
        report.notes.append(f"every primitive rule passed at the values the program reached "
                            f"({len(suspects.records)} op executions checked)")
        if how == "rules":
            return None
    v = [np.asarray(x) if isinstance(x, np.ndarray) else float(x) for x in checker.v_all]
    bisection = _Bisection(base, args, nums, active, v, checker.rtol, checker.atol,
                           checker.eps, checker.seed)
    found = bisection.first_wrong()
    if found is not None:
        index, detail = found
        op = base.body.ops[index]
        file, line, text = _where(op)
        return Culprit("transform", op.opcode, "", file, line, text,
                       f"bisection over the top-level statements: the first wrong cut ends "
                       f"here: {detail}", rules_passed=how is True)
    return _after_transform(fn, args, nums, checker, report)


def _rule_culprit(op, found, prefix="") -> Culprit:
    rule, detail = found
    file, line, text = _where(op)
    return Culprit("rule", op.opcode, rule, file, line, text, prefix + detail)
