"""Differential fuzzing of adgen on random programs (see generator.py).

For every generated program `prog(x, y, n)` or, for about a third of them, `prog(x, y, n,
w)` with a float64 array w of length 2..5, at 3 random points (x, y and the elements of w
uniform in [-1.5, 1.5], n drawn by the strategy), with argnums=(0, 1) or (0, 1, 3):

- reverse mode (adgen.grad) == forward mode (adgen.jvp) to rtol 1e-10, atol 1e-12, along
  the unit directions of x and y and, for array programs, along a random direction v of w
  (<grad_w, v> against the jvp tangent, atol also 1e-10 * sum |grad_w * v|);
- both == central finite differences (step 1e-6) along the same directions to rtol 1e-5,
  atol 1e-7 (plus 10x the difference between the steps 1e-6 and 5e-7, our estimate of
  the finite-difference error). A point where the two steps disagree by more
  than 1e-6 relative is next to a branch switch or a kink: it is resampled
  (up to 10 tries) and the finite-difference checks are not made there;
- value_and_grad's value (and jvp's) == prog(...) to rel 1e-12, and
  value_and_grad's gradient == grad's;
- optimized == unoptimized: at one point of every program (the one with the largest n; every
  point of the corpus), the output of every grad, value_and_grad, jvp (and Hessian) call
  made by these checks == the IR interpreter (adgen/ir/interpret.py) run on the derivative
  IR before simplification (`Transformed.transformed_ir`, which must verify), to rtol
  1e-12, atol 1e-14. On a mismatch the interpreter also runs the simplified IR, to tell a
  simplification bug ([optimized vs unoptimized]) from a codegen bug ([codegen vs IR]);
- no input is ever mutated: every call of a transformed function (and of the IR
  interpreter) gets the caller's array, which is compared with a copy afterwards;
- on every 5th program (a hash of the example is 4 or 9 mod 10): adgen.hessian == central
  differences of adgen.grad to rtol 1e-4, atol 1e-6, and it is symmetric; for array
  programs adgen.hvp along a random direction d instead (against central differences of
  the gradient along d, and <d2, H d> == <d, H d2> for a second direction d2);
- on every 10th scalar program and every 20th array program (the hash is 9 mod 10, 19 mod
  20): grad with backend="numba" == backend="python" to rtol 1e-12.

The python backend is used everywhere else (it compiles nothing). The random directions are
a function of the point, so that a corpus point replays exactly.

`ADGEN_FUZZ_TIMEOUT` (seconds, 60) bounds the checks of one program.
`ADGEN_FUZZ_N` sets the number of programs (300 by default; derandomized, so
CI always runs the same ones; `ADGEN_FUZZ_SEED=<int>` draws other ones).
`ADGEN_FUZZ_HESSIAN_EVERY`, `ADGEN_FUZZ_NUMBA_EVERY` and `ADGEN_FUZZ_NUMBA_ARRAY_EVERY` set
the rates above, `ADGEN_FUZZ_ARRAY_EVERY` (generator.py) the share of array programs.
`ADGEN_FUZZ_SAVE=<dir>` writes the latest failing program of every check to
<dir>/failure_<check>.py in the corpus format (hypothesis replays the shrunk example last,
so that is what stays).

`test_regressions` runs the same checks at the recorded points of every `corpus/*.py` file
(POINTS holds (x, y, n) or, for array programs, (x, y, n, [w...])). Known failures are
listed in KNOWN_FAILURES below: the test xfails on them, fails if one of them passes (remove
it from the list then), and while a regression is listed, `test_fuzz` rejects failing
examples that match its signature in KNOWN_BUG_FILTERS (hypothesis `assume`),
so that the fuzzer looks for other bugs.
"""

from __future__ import annotations

import ast
import collections
import hashlib
import importlib.util
import inspect
import math
import os
import pathlib
import random
import signal
import sys
import threading
import tempfile
import traceback

import pytest
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

import numpy as np

import adgen
from adgen.errors import AdgenInternalError
from adgen.ir.interpret import interpret
from adgen.ir.verify import verify

# Regressions (file names in corpus/) that fail on the current adgen, with the reason.
# Empty this as the bugs get fixed: a listed regression that passes fails the test.
KNOWN_FAILURES: dict[str, str] = {
}

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def _load_generator():
    spec = importlib.util.spec_from_file_location("adgen_fuzz_generator", HERE / "generator.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = _load_generator()

# Known bugs, so that one bug does not hide the others: while a regression named here is
# in KNOWN_FAILURES, test_fuzz rejects (hypothesis `assume`) a failing example whose failure
# matches the signature. A signature is a predicate on (program, transforms, exception),
# asked only after a check failed, so the filters cost nothing on passing programs.
KNOWN_BUG_FILTERS = {
    "regression_003.py": lambda program, t, exc: uses_name(program, "np", "_adgen"),
    "regression_004.py": lambda program, t, exc: uses_name(program, *DESUGAR_NAMES),
    "regression_005.py": lambda program, t, exc: uses_name(program, *DESUGAR_NAMES),
    "regression_006.py": lambda program, t, exc: known_bug_negated_while_condition(t),
    "regression_007.py": lambda program, t, exc: (type(exc).__name__ == "AdgenCrash_KeyError"
                                                  and "reverse_if" in str(exc)),
    "regression_008.py": lambda program, t, exc: ("zeros_like" in str(exc) and "outside the "
                                                  "region that defines it" in str(exc)),
    "regression_009.py": lambda program, t, exc: rebinds_iterated_array(program.source),
    "regression_010.py": lambda program, t, exc: ("np.prod" in program.features
                                                  and "nan" in str(exc)),
    "regression_011.py": lambda program, t, exc: ("'_seq" in str(exc)
                                                  and "is not defined" in str(exc)),
}
# Names adgen's desugaring of break/continue/return and of for loops introduces.
DESUGAR_NAMES = ("_returned", "_ret", "_break", "_continue", "_i_next", "_i_stop", "_j_next",
                 "_k", "_seq")


def uses_name(program, *names) -> bool:
    """regression_003/004/005: the program has a variable that adgen's own names collide
    with (np and _adgen in generated code, the flags of the desugaring)."""
    return any("name:" + name in program.features for name in names)


def rebinds_iterated_array(source: str) -> bool:
    """regression_009: `for e in u:` whose body assigns u (`u = ...`, not `u[i] = ...`)."""
    def names(target):
        if isinstance(target, (ast.Tuple, ast.List)):
            return [n for elt in target.elts for n in names(elt)]
        return [target.id] if isinstance(target, ast.Name) else []

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Name):
            for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                if isinstance(inner, ast.Assign) and any(
                        node.iter.id in names(target) for target in inner.targets):
                    return True
    return False


def generated_sources(t):
    """The generated Python sources of the transforms of `t` compiled so far."""
    for transformed in t.all():
        for compiled in list(transformed.cache.values()):
            yield compiled.source


def known_bug_negated_while_condition(t) -> bool:
    """regression_006: `while True:` whose exit test is printed `if not A and B: break`."""
    for source in generated_sources(t):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.While) and isinstance(node.test, ast.Constant):
                for stmt in node.body:
                    if (isinstance(stmt, ast.If) and isinstance(stmt.body[0], ast.Break)
                            and isinstance(stmt.test, ast.BoolOp)
                            and isinstance(stmt.test.values[0], ast.UnaryOp)
                            and isinstance(stmt.test.values[0].op, ast.Not)):
                        return True
    return False


N_PROGRAMS = int(os.environ.get("ADGEN_FUZZ_N", "300"))
HESSIAN_EVERY = int(os.environ.get("ADGEN_FUZZ_HESSIAN_EVERY", "5"))   # 1: every program
NUMBA_EVERY = int(os.environ.get("ADGEN_FUZZ_NUMBA_EVERY", "10"))
# Numba compiles array programs about 3x slower than scalar ones: half as often.
NUMBA_ARRAY_EVERY = int(os.environ.get("ADGEN_FUZZ_NUMBA_ARRAY_EVERY", str(2 * NUMBA_EVERY)))
# ADGEN_FUZZ_SEED=<int> draws another sequence of programs (the default is derandomized: CI
# always runs the same ones).
SEED = os.environ.get("ADGEN_FUZZ_SEED")
SAVE_DIR = os.environ.get("ADGEN_FUZZ_SAVE")

LO, HI = -1.5, 1.5
FD_STEP, FD_STEP2 = 1e-6, 5e-7
FD_CONSISTENCY = 1e-6            # relative disagreement of the two steps that means "kink"
HESS_STEP, HESS_STEP2 = 1e-5, 5e-6
TRIES = 10
RF_RTOL, RF_ATOL = 1e-10, 1e-12          # reverse vs forward
FD_RTOL, FD_ATOL = 1e-5, 1e-7            # AD vs finite differences
VALUE_RTOL = 1e-12                       # value_and_grad / jvp value vs prog()
GRAD_MATCH_RTOL, GRAD_MATCH_ATOL = 1e-12, 1e-14   # value_and_grad's grads vs grad's
HESS_RTOL, HESS_ATOL = 1e-4, 1e-6
SYM_RTOL, SYM_ATOL = 1e-8, 1e-10         # relative to the largest Hessian entry
BACKEND_RTOL, BACKEND_ATOL = 1e-12, 1e-14
UNOPT_RTOL, UNOPT_ATOL = 1e-12, 1e-14    # simplified vs unsimplified derivative IR

# seconds for all checks of one program (a hang fails); raise it on a loaded machine
PROGRAM_TIMEOUT = int(os.environ.get("ADGEN_FUZZ_TIMEOUT", "60"))

STATS: collections.Counter = collections.Counter()

_MODULE_DIR = pathlib.Path(tempfile.mkdtemp(prefix="adgen-fuzz-programs-"))


# ------------------------------------------------------------------------------ loading
def load_source(source: str):
    """Write `source` to a real file (adgen reads source with inspect) and import it."""
    name = "adgen_fuzz_" + hashlib.sha256(source.encode()).hexdigest()[:20]
    if name in sys.modules:
        return sys.modules[name]
    path = _MODULE_DIR / f"{name}.py"
    path.write_text(source)
    return _import(name, path)


def _import(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class AdgenCrash(Exception):
    """adgen raised (or its generated code did) on a valid program."""


_CRASH_TYPES: dict[str, type] = {}


def crash_type(exc: BaseException) -> type:
    """One AdgenCrash subclass per exception type: hypothesis tells failures apart by the
    exception's type and the line that raised it, and the line in generated code varies."""
    name = f"AdgenCrash_{type(exc).__name__}"
    if name not in _CRASH_TYPES:
        _CRASH_TYPES[name] = type(name, (AdgenCrash,), {})
    return _CRASH_TYPES[name]


class Guarded:
    """A transformed callable whose exceptions become AdgenCrash_<type> (raised outside the
    `except`, so that the original is not the exception's context), and which checks that
    the call left the caller's arrays as they were."""

    def __init__(self, kind: str, transformed):
        self.kind = kind
        self.transformed = transformed
        self.unoptimized: dict = {}   # argument types -> IR before simplification
        self.verified: set = set()    # argument types whose unoptimized IR verifies
        self.check_ir = True          # whether check_unoptimized runs (see check_point)
        # Keep the IR that Transformed.compile simplifies (the IR is immutable), so that
        # check_unoptimized need not build it again.
        build = transformed.transformed_ir

        def transformed_ir(types):
            ir = build(types)
            self.unoptimized[types] = ir
            return ir

        transformed.transformed_ir = transformed_ir

    def __call__(self, *args):
        before = copies(args)
        try:
            out = self.transformed(*args)
        except ProgramTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 -- every exception is a finding
            error = exc
            frames = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        else:
            check_not_mutated(self.kind, args, before)
            check_not_aliased(self.kind, args, out)
            return out
        raise crash_type(error)(f"[crash in {self.kind}] args={args!r}: "
                                f"{type(error).__name__}: {error}\n{frames}")


class Transforms:
    """The adgen transforms of one program, each created once."""

    def __init__(self, fn, hessian: bool, numba: bool):
        self.fn = fn
        self.arrays = len(inspect.signature(fn).parameters) == 4   # prog(x, y, n, w)
        self.argnums = (0, 1, 3) if self.arrays else (0, 1)
        self.grad = self._make("grad", fn)
        self.jvp = self._make("jvp", fn)
        self.value_and_grad = self._make("value_and_grad", fn)
        self.hessian = self._make("hessian", fn) if hessian and not self.arrays else None
        self.hvp = self._make("hvp", fn) if hessian and self.arrays else None
        self.numba_grad = self._make("grad", fn, "numba") if numba else None

    def _make(self, kind, fn, backend="python"):
        transformed = getattr(adgen, kind)(fn, argnums=self.argnums, backend=backend)
        return Guarded(f"{kind} [{backend}]", transformed)

    def guarded(self):
        return [g for g in (self.grad, self.jvp, self.value_and_grad, self.hessian, self.hvp,
                            self.numba_grad) if g is not None]

    def all(self):
        """The adgen Transformed objects."""
        return [g.transformed for g in (self.grad, self.jvp, self.value_and_grad,
                                        self.hessian, self.hvp, self.numba_grad)
                if g is not None]

    def reference(self, *args):
        """prog(*args) on copies of the arrays (prog may write into its argument w)."""
        with np.errstate(all="ignore"):
            return float(self.fn(*copies(args)))


# ------------------------------------------------------------------------------ helpers
def copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def check_not_mutated(kind, args, before):
    for i, (a, b) in enumerate(zip(args, before)):
        if isinstance(a, np.ndarray):
            STATS["array arguments checked unmutated"] += 1
            if not np.array_equal(a, b):
                raise AssertionError(f"[input mutated] {kind} changed its argument {i} from "
                                     f"{list(b)!r} to {list(a)!r}")


def check_not_aliased(kind, args, out):
    """No returned array shares memory with an argument (the caller may write into it)."""
    outs = out if isinstance(out, tuple) else (out,)
    arrays = [o for v in outs for o in (v if isinstance(v, tuple) else (v,))
              if isinstance(o, np.ndarray)]
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and any(np.shares_memory(a, o) for o in arrays):
            raise AssertionError(f"[output aliases input] {kind} returned an array that "
                                 f"shares memory with its argument {i}")


def close(a: float, b: float, rtol: float, atol: float) -> bool:
    return a == b or abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def finite(*values) -> bool:
    return all(math.isfinite(v) for v in values)


def flat(values) -> list:
    """The floats of a (nested) tuple of floats and arrays, in order."""
    if isinstance(values, (tuple, list)):
        return [v for value in values for v in flat(value)]
    if isinstance(values, np.ndarray):
        return [float(v) for v in values.ravel()]
    return [float(values)]


def all_close(a, b, rtol, atol) -> bool:
    a, b = flat(a), flat(b)
    return len(a) == len(b) and all(close(u, v, rtol, atol) for u, v in zip(a, b))


# A point is an argument tuple: (x, y, n) or (x, y, n, w). A direction in the space of the
# differentiated arguments is (dx, dy) or (dx, dy, dw).
def shifted(args, d, h):
    """args + h * d."""
    out = [args[0] + h * d[0], args[1] + h * d[1], args[2]]
    if len(args) == 4:
        out.append(args[3] + h * d[2])
    return tuple(out)


def inner(grads, d) -> tuple[float, float]:
    """(<grads, d>, sum |grads_i d_i|), the second a scale for rounding errors. Components
    where d is 0 are left out (a unit direction picks one gradient, even next to an inf)."""
    terms = [g * t for g, t in zip(flat(grads), flat(d)) if t != 0.0]
    return float(math.fsum(terms)), float(sum(abs(v) for v in terms))


def point_rng(args) -> random.Random:
    return random.Random(repr(tuple(flat(list(args)))) + "directions")


def directions(args) -> list:
    """The first-order directions: the unit vectors of x and y, and a random direction of w
    (a function of the point, so that corpus points replay exactly)."""
    if len(args) == 3:
        return [(1.0, 0.0), (0.0, 1.0)]
    zero = np.zeros(len(args[3]))
    rng = point_rng(args)
    v = np.array([rng.uniform(-1.0, 1.0) for _ in range(len(args[3]))])
    return [(1.0, 0.0, zero), (0.0, 1.0, zero), (0.0, 0.0, v)]


def hvp_directions(args) -> list:
    """Two random directions of (x, y, w) for the Hessian-vector product checks."""
    rng = point_rng(args)
    rng.random()   # not the first-order direction
    return [(rng.uniform(-1, 1), rng.uniform(-1, 1),
             np.array([rng.uniform(-1, 1) for _ in range(len(args[3]))])) for _ in range(2)]


def fd_derivatives(f, args, dirs, h):
    """Central differences of a scalar f along each direction."""
    return tuple((f(*shifted(args, d, h)) - f(*shifted(args, d, -h))) / (2 * h) for d in dirs)


def fd_consistent(d1, d2, scale) -> bool:
    return all(finite(a, b) and abs(a - b) <= FD_CONSISTENCY * max(abs(a), abs(b))
               + 1e-9 * scale for a, b in zip(d1, d2))


def fd_estimate(f, args, value):
    """(directional derivatives by FD, their error estimates) or None where the two steps
    disagree."""
    dirs = directions(args)
    try:
        d1 = fd_derivatives(f, args, dirs, FD_STEP)
        d2 = fd_derivatives(f, args, dirs, FD_STEP2)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    if not fd_consistent(d1, d2, max(1.0, abs(value))):
        return None
    return d1, tuple(abs(a - b) for a, b in zip(d1, d2))


def show(args) -> tuple:
    """The point with w as a list (the corpus format)."""
    return tuple(list(map(float, a)) if isinstance(a, np.ndarray) else a for a in args)


def where(args) -> str:
    text = "prog(" + ", ".join(repr(a) for a in show(args)) + ")"
    if len(args) == 4:
        text += f" along v = {list(map(float, directions(args)[2][2]))!r} for w"
    return text


# ------------------------------------------------------------------------------ the checks
# Each check raises from its own line, so that hypothesis tells the failures apart.
def check_value(t: Transforms, args, expected):
    value, grads = t.value_and_grad(*args)
    if not (value == expected or math.isclose(value, expected, rel_tol=VALUE_RTOL)):
        raise AssertionError(f"[value] value_and_grad value at {where(args)}: "
                             f"expected prog() = {expected!r}, got {value!r}")
    check_unoptimized(t.value_and_grad, args)
    return grads


def check_reverse_vs_forward(t: Transforms, args, expected):
    grads = t.grad(*args)
    check_unoptimized(t.grad, args)
    reverse, scales, forward = [], [], []
    for d in directions(args):
        projection, scale = inner(grads, d)
        reverse.append(projection)
        scales.append(scale)
        value, tangent = t.jvp(*args, *d)
        check_unoptimized(t.jvp, args, d)
        if not (value == expected or math.isclose(value, expected, rel_tol=VALUE_RTOL)):
            raise AssertionError(f"[jvp value] jvp value at {where(args)}: "
                                 f"expected prog() = {expected!r}, got {value!r}")
        forward.append(float(tangent))
    reverse, forward = tuple(reverse), tuple(forward)
    if not all(close(r, f, RF_RTOL, RF_ATOL + RF_RTOL * s)
               for r, f, s in zip(reverse, forward, scales)):
        raise AssertionError(f"[reverse vs forward] at {where(args)}: "
                             f"forward (jvp) = {forward!r}, reverse (grad) = {reverse!r}")
    return grads, reverse, forward


def check_grad_match(grads, reverse_grads, args):
    if not all_close(grads, reverse_grads, GRAD_MATCH_RTOL, GRAD_MATCH_ATOL):
        raise AssertionError(f"[value_and_grad grads] at {where(args)}: "
                             f"grad = {reverse_grads!r}, value_and_grad = {grads!r}")


def check_fd(reverse, forward, fd, err, args):
    for name, ad in (("reverse", reverse), ("forward", forward)):
        if not all(close(a, d, FD_RTOL, FD_ATOL + 10 * e) for a, d, e in zip(ad, fd, err)):
            raise AssertionError(f"[{name} vs finite differences] at {where(args)}: "
                                 f"expected (FD) {fd!r}, got ({name}) {ad!r}")


def check_hessian(t: Transforms, args):
    hess = t.hessian(*args)
    for seeds in ((1.0, 0.0), (0.0, 1.0)):
        check_unoptimized(t.hessian, args, seeds)
    h = [[float(v) for v in row] for row in hess]
    scale = max(abs(v) for row in h for v in row)
    if not abs(h[0][1] - h[1][0]) <= SYM_ATOL + SYM_RTOL * scale:
        raise AssertionError(f"[hessian symmetry] at {where(args)}: hessian = {hess!r}")
    try:
        cols1 = [fd_column(t.grad, args, j, HESS_STEP) for j in range(2)]
        cols2 = [fd_column(t.grad, args, j, HESS_STEP2) for j in range(2)]
    except (OverflowError, ZeroDivisionError, ValueError):
        return False
    gscale = max(1.0, max(abs(v) for v in t.grad(*args)))
    for j in range(2):
        if not fd_consistent(cols1[j], cols2[j], gscale):
            return False          # the gradient has a kink or a branch switch nearby
    for i in range(2):
        for j in range(2):
            fd, err = cols1[j][i], abs(cols1[j][i] - cols2[j][i])
            if not close(h[i][j], fd, HESS_RTOL, HESS_ATOL + 10 * err):
                fd_matrix = tuple(tuple(cols1[c][r] for c in range(2)) for r in range(2))
                raise AssertionError(f"[hessian vs finite differences of grad] at "
                                     f"{where(args)}: expected (FD) {fd_matrix!r}, "
                                     f"got {hess!r}")
    return True


def fd_column(grad, args, j, h):
    d = (1.0, 0.0) if j == 0 else (0.0, 1.0)
    plus, minus = grad(*shifted(args, d, h)), grad(*shifted(args, d, -h))
    return tuple((p - m) / (2 * h) for p, m in zip(plus, minus))


def check_hvp(t: Transforms, args):
    """Array programs: H d against central differences of the gradient along d, and
    <d2, H d> == <d, H d2>."""
    d, d2 = hvp_directions(args)
    hv = flat(t.hvp(*args, *d))
    check_unoptimized(t.hvp, args, d)
    hv2 = flat(t.hvp(*args, *d2))
    left, lscale = inner(hv, d2)
    right, rscale = inner(hv2, d)
    if not abs(left - right) <= SYM_ATOL + SYM_RTOL * max(lscale, rscale):
        raise AssertionError(f"[hvp symmetry] at {where(args)}, d = {show(d)!r}, "
                             f"d2 = {show(d2)!r}: <d2, H d> = {left!r}, <d, H d2> = {right!r}")

    def fd(h):
        plus, minus = flat(t.grad(*shifted(args, d, h))), flat(t.grad(*shifted(args, d, -h)))
        return [(p - m) / (2 * h) for p, m in zip(plus, minus)]

    try:
        fd1, fd2 = fd(HESS_STEP), fd(HESS_STEP2)
    except (OverflowError, ZeroDivisionError, ValueError):
        return False
    gscale = max([1.0] + [abs(v) for v in flat(t.grad(*args))])
    if not fd_consistent(fd1, fd2, gscale):
        return False              # the gradient has a kink or a branch switch nearby
    for a, b, c in zip(hv, fd1, fd2):
        if not close(a, b, HESS_RTOL, HESS_ATOL + 10 * abs(b - c)):
            raise AssertionError(f"[hvp vs finite differences of grad] at {where(args)}, "
                                 f"d = {show(d)!r}: expected (FD) {fd1!r}, got {hv!r}")
    return True


def check_backends(t: Transforms, reverse_grads, args):
    compiled = t.numba_grad(*args)
    if not all_close(compiled, reverse_grads, BACKEND_RTOL, BACKEND_ATOL):
        raise AssertionError(f"[numba vs python] grad at {where(args)}: "
                             f"python = {reverse_grads!r}, numba = {compiled!r}")


def check_unoptimized(g: Guarded, args, extra=()):
    """The compiled (simplified) derivative code == the IR interpreter on the derivative IR
    before simplification, with the arguments of the call just made."""
    if not g.check_ir:
        return
    transformed = g.transformed
    primal = [np.float64(a) if type(a) is float else a for a in args]
    types = transformed.arg_types(transformed.bind(primal, {}))
    compiled = transformed.cache[types]
    if types not in g.unoptimized:
        g.unoptimized[types] = transformed.transformed_ir(types)
    unoptimized = g.unoptimized[types]
    if types not in g.verified:
        try:
            verify(unoptimized)
        except AdgenInternalError as exc:
            raise AssertionError(f"[invalid unoptimized IR] {g.kind} at {where(args)}: the "
                                 f"derivative IR before simplification: {exc}") from None
        g.verified.add(types)
    extra = [np.asarray(e, dtype=np.float64) if isinstance(e, np.ndarray) else np.float64(e)
             for e in extra]
    inputs = primal + extra
    before = copies(inputs)
    STATS["unoptimized IR checks"] += 1
    with np.errstate(all="ignore"):
        got = compiled.func(*copies(inputs))
        try:
            expected = interpret(unoptimized, *inputs)
        except ProgramTimeout:
            raise
        except Exception as exc:  # noqa: BLE001
            raise crash_type(exc)(f"[crash in the IR interpreter] {g.kind} at {where(args)}: "
                                  f"{type(exc).__name__}: {exc}") from None
    check_not_mutated(f"the IR interpreter ({g.kind})", inputs, before)
    if same(got, expected):
        return
    with np.errstate(all="ignore"):
        simplified = interpret(compiled.ir, *copies(inputs))
    if same(simplified, expected):
        raise AssertionError(f"[codegen vs IR] {g.kind} at {where(args)}, extra arguments "
                             f"{show(extra)!r}: the generated code gives {flat(got)!r}, the IR "
                             f"interpreter on the same (simplified) IR {flat(simplified)!r}")
    raise AssertionError(f"[optimized vs unoptimized] {g.kind} at {where(args)}, extra "
                         f"arguments {show(extra)!r}: simplified IR (interpreted) "
                         f"{flat(simplified)!r}, generated code {flat(got)!r}, IR before "
                         f"simplification {flat(expected)!r}")


def same(a, b) -> bool:
    a, b = flat(a), flat(b)
    return len(a) == len(b) and all(
        close(u, v, UNOPT_RTOL, UNOPT_ATOL) or (math.isnan(u) and math.isnan(v))
        for u, v in zip(a, b))


def check_point(t: Transforms, args, fd_ok=None, check_ir=True):
    """All checks at one point; the FD checks only where finite differences are reliable;
    the unoptimized-IR checks where `check_ir`."""
    for g in t.guarded():
        g.check_ir = check_ir
    f = t.reference
    expected = f(*args)
    STATS["points"] += 1
    if t.arrays:
        STATS["array points"] += 1
    grads = check_value(t, args, expected)
    reverse_grads, reverse, forward = check_reverse_vs_forward(t, args, expected)
    check_grad_match(grads, reverse_grads, args)
    if fd_ok is None:
        fd_ok = fd_estimate(f, args, expected) if finite(expected) else None
    if fd_ok is not None:
        STATS["points with FD checks"] += 1
        if t.arrays:
            STATS["array points with FD checks"] += 1
        check_fd(reverse, forward, fd_ok[0], fd_ok[1], args)
    if t.hessian is not None and finite(expected):
        STATS["hessian points"] += 1
        if not check_hessian(t, args):
            STATS["hessian points without FD (kink nearby)"] += 1
    if t.hvp is not None and finite(expected):
        STATS["hvp points"] += 1
        if not check_hvp(t, args):
            STATS["hvp points without FD (kink nearby)"] += 1
    if t.numba_grad is not None:
        STATS["numba points"] += 1
        check_backends(t, reverse_grads, args)


def sample_point(f, rng: random.Random, n: int, length):
    """A point where the two FD steps agree (up to TRIES tries), or the last one tried."""
    for _ in range(TRIES):
        args = (rng.uniform(LO, HI), rng.uniform(LO, HI), n)
        if length is not None:
            args += (np.array([rng.uniform(LO, HI) for _ in range(length)]),)
        value = f(*args)
        if not finite(value):
            STATS["samples not finite"] += 1
            continue
        fd = fd_estimate(f, args, value)
        if fd is not None:
            return args, fd
        STATS["samples next to a kink (resampled)"] += 1
    STATS["points without a reliable FD sample"] += 1
    return args, None


# ------------------------------------------------------------------------------ saving
def corpus_text(source: str, points, message: str) -> str:
    comment = "\n".join("# " + line for line in message.splitlines())
    return (f"{comment}\n{source}\n\nPOINTS = [\n"
            + "".join(f"    {show(point)!r},\n" for point in points) + "]\n")


def save_failure(source, points, exc):
    if not SAVE_DIR:
        return
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    check = message.split("]")[0].split("[")[-1] if isinstance(exc, AssertionError) \
        else type(exc).__name__
    slug = "".join(c if c.isalnum() else "_" for c in check)
    os.makedirs(SAVE_DIR, exist_ok=True)
    pathlib.Path(SAVE_DIR, f"failure_{slug}.py").write_text(corpus_text(source, points,
                                                                        message))


# ------------------------------------------------------------------------------ the tests
class ProgramTimeout(Exception):
    pass


class ProgramHang(Exception):
    """The checks of one program ran past PROGRAM_TIMEOUT."""


class time_limit:
    """Raise ProgramTimeout after `seconds` (SIGALRM; a no-op where that is unavailable)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.usable = (hasattr(signal, "SIGALRM")
                       and threading.current_thread() is threading.main_thread())

    def _fire(self, signum, frame):
        raise ProgramTimeout(f"the checks of one program took more than {self.seconds} s")

    def __enter__(self):
        if self.usable:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def count_features(program) -> None:
    """Statistics: how many programs used each construct (the generator's feature names)."""
    lines = program.source.split("def prog(")[1].count("\n")
    STATS["lines of prog, all programs"] += lines
    if program.array_length is not None:
        STATS["programs with an array argument"] += 1
        STATS["lines of prog, array programs"] += lines
    for feature in program.features:
        if not feature.startswith(("name:", "array_op:")):
            STATS[f"programs using {feature}"] += 1


def active_filters():
    return {name: hits for name, hits in KNOWN_BUG_FILTERS.items() if name in KNOWN_FAILURES}


@(seed(int(SEED)) if SEED else (lambda test: test))
@settings(max_examples=N_PROGRAMS, deadline=None, derandomize=SEED is None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much, HealthCheck.large_base_example])
@given(program=generator.programs(),
       ns=st.tuples(*[st.integers(0, generator.N_MAX)] * 3),
       selector=st.integers(0, 2**31 - 1))
def test_fuzz(program, ns, selector):
    STATS["programs"] += 1
    count_features(program)
    module = load_source(program.source)
    # Which programs get the Hessian and Numba checks: a hash of the example, because the
    # values hypothesis draws are far from uniform (a drawn `selector % 10` alone picked 4%
    # to 11% of the programs for Numba, depending on the rest of the strategy). The drawn
    # selector is part of it so that hypothesis can keep the checks of a failing example.
    pick = int.from_bytes(hashlib.sha256(f"{selector}/{ns}/{program.source}".encode())
                          .digest()[:8], "big")
    numba_every = NUMBA_EVERY if program.array_length is None else NUMBA_ARRAY_EVERY
    t = Transforms(module.prog, hessian=pick % HESSIAN_EVERY == HESSIAN_EVERY - 1,
                   numba=pick % numba_every == numba_every - 1)
    rng = random.Random(hashlib.sha256(program.source.encode()).hexdigest() + repr(ns))
    done = []
    failure = None
    try:
        with time_limit(PROGRAM_TIMEOUT):
            for k, n in enumerate(ns):
                args, fd = sample_point(t.reference, rng, n, program.array_length)
                done.append(args)
                # the IR interpreter at one point: the one with the most loop iterations
                check_point(t, args, fd_ok=fd, check_ir=k == ns.index(max(ns)))
    except ProgramTimeout as exc:
        failure = ProgramHang(f"[hang] {exc} at {[show(p) for p in done[-1:]]}")
    except Exception as exc:
        failure = exc
    if failure is not None:
        for name, hits in active_filters().items():
            if hits(program, t, failure):
                STATS[f"rejected: known bug of {name}"] += 1
                assume(False)  # a known bug (KNOWN_BUG_FILTERS[name]); look for others
        save_failure(program.source, done[-1:], failure)
        raise failure


def corpus_files():
    return sorted(CORPUS.glob("*.py"))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_regressions(path):
    def run():
        module = _import("adgen_fuzz_corpus_" + path.stem, path)
        t = Transforms(module.prog, hessian=True, numba=True)
        for point in module.POINTS:
            args = tuple(np.array(p, dtype=np.float64) if isinstance(p, list) else p
                         for p in point)
            check_point(t, args)

    name = path.name
    if name not in KNOWN_FAILURES:
        with time_limit(PROGRAM_TIMEOUT):
            run()
        return
    try:
        with time_limit(PROGRAM_TIMEOUT):
            run()
    except Exception as exc:  # the known failure still happens
        first = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[0]
        pytest.xfail(f"known failure {name}: {KNOWN_FAILURES[name]} -- {first[:300]}")
    pytest.fail(f"{name} passes now: remove it from KNOWN_FAILURES in {__file__}")


def test_known_failures_exist():
    names = {p.name for p in corpus_files()}
    missing = sorted(set(KNOWN_FAILURES) - names)
    assert not missing, f"KNOWN_FAILURES lists files missing from {CORPUS}: {missing}"


def test_checks_see_mutation_aliasing_and_unoptimized_mismatch():
    """The checks themselves: a transform that writes into its argument, or returns it, or
    whose simplified code disagrees with its unsimplified IR, is reported."""
    class Fake:
        def __init__(self, fn):
            self.fn = fn

        def transformed_ir(self, types):
            raise AssertionError("not used")

        def __call__(self, *args):
            return self.fn(*args)

    def writes(x, w):
        w[0] = x
        return x

    with pytest.raises(AssertionError, match=r"\[input mutated\]"):
        Guarded("fake", Fake(writes))(1.0, np.zeros(2))
    with pytest.raises(AssertionError, match=r"\[output aliases input\]"):
        Guarded("fake", Fake(lambda x, w: (x, w[1:])))(1.0, np.zeros(2))

    def prog(x, y, n):
        return x * y + 2.0 * x

    grad = Guarded("grad", adgen.grad(prog, argnums=(0, 1), backend="python"))
    grad(0.5, 0.25, 1)
    check_unoptimized(grad, (0.5, 0.25, 1))          # agrees
    (types,) = list(grad.unoptimized)
    compiled = grad.transformed.cache[types]
    real = compiled.func
    try:
        compiled.func = lambda x, y, n: (real(x, y, n)[0] * (1 + 1e-9), real(x, y, n)[1])
        with pytest.raises(AssertionError, match=r"\[codegen vs IR\]"):
            check_unoptimized(grad, (0.5, 0.25, 1))
    finally:
        compiled.func = real
