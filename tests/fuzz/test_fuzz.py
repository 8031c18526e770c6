"""Differential fuzzing of adgen on random programs (see generator.py).

For every generated program `prog(x, y, n)`, at 3 random points (x, y uniform
in [-1.5, 1.5], n drawn by the strategy), with argnums=(0, 1):

- reverse mode (adgen.grad) == forward mode (adgen.jvp with unit tangents)
  to rtol 1e-10, atol 1e-12;
- both == central finite differences (step 1e-6) to rtol 1e-5, atol 1e-7
  (plus 10x the difference between the steps 1e-6 and 5e-7, our estimate of
  the finite-difference error). A point where the two steps disagree by more
  than 1e-6 relative is next to a branch switch or a kink: it is resampled
  (up to 10 tries) and the finite-difference checks are not made there;
- value_and_grad's value (and jvp's) == prog(x, y, n) to rel 1e-12, and
  value_and_grad's gradient == grad's;
- on every 5th program (a drawn selector is 4 or 9 mod 10): adgen.hessian == central
  differences of adgen.grad to rtol 1e-4, atol 1e-6, and it is symmetric;
- on every 10th program (selector 9 mod 10): grad with backend="numba" == backend="python" to
  rtol 1e-12.

The python backend is used everywhere else (it compiles nothing).
`ADGEN_FUZZ_N` sets the number of programs (300 by default; derandomized, so
CI always runs the same ones). `ADGEN_FUZZ_SAVE=<dir>` writes the latest
failing program of every check to <dir>/failure_<check>.py in the corpus
format (hypothesis replays the shrunk example last, so that is what stays).

`test_regressions` runs the same checks at the recorded points of every
`corpus/*.py` file. Known failures are listed in KNOWN_FAILURES below: the
test xfails on them, fails if one of them passes (remove it from the list
then), and while a regression is listed, `test_fuzz` rejects failing
examples that match its signature in KNOWN_BUG_FILTERS (hypothesis `assume`),
so that the fuzzer looks for other bugs.
"""

from __future__ import annotations

import ast
import collections
import hashlib
import importlib.util
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
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adgen

# Regressions (file names in corpus/) that fail on the current adgen, with the reason.
# Empty this as the bugs get fixed: a listed regression that passes fails the test.
KNOWN_FAILURES: dict[str, str] = {}  # all regressions found so far are fixed

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
}
# Names adgen's desugaring of break/continue/return and of for loops introduces.
DESUGAR_NAMES = ("_returned", "_ret", "_break", "_continue", "_i_next", "_i_stop", "_j_next",
                 "_k", "_seq")


def uses_name(program, *names) -> bool:
    """regression_003/004/005: the program has a variable that adgen's own names collide
    with (np and _adgen in generated code, the flags of the desugaring)."""
    return any("name:" + name in program.features for name in names)


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

PROGRAM_TIMEOUT = 60                    # seconds for all checks of one program (a hang fails)

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
    `except`, so that the original is not the exception's context)."""

    def __init__(self, kind: str, transformed):
        self.kind = kind
        self.transformed = transformed

    def __call__(self, *args):
        try:
            return self.transformed(*args)
        except ProgramTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 -- every exception is a finding
            error = exc
            frames = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        raise crash_type(error)(f"[crash in {self.kind}] args={args!r}: "
                                f"{type(error).__name__}: {error}\n{frames}")


class Transforms:
    """The adgen transforms of one program, each created once."""

    def __init__(self, fn, hessian: bool, numba: bool):
        self.fn = fn
        self.grad = self._make("grad", fn)
        self.jvp = self._make("jvp", fn)
        self.value_and_grad = self._make("value_and_grad", fn)
        self.hessian = self._make("hessian", fn) if hessian else None
        self.numba_grad = self._make("grad", fn, "numba") if numba else None

    @staticmethod
    def _make(kind, fn, backend="python"):
        transformed = getattr(adgen, kind)(fn, argnums=(0, 1), backend=backend)
        return Guarded(f"{kind} [{backend}]", transformed)

    def all(self):
        """The adgen Transformed objects."""
        return [g.transformed for g in (self.grad, self.jvp, self.value_and_grad,
                                        self.hessian, self.numba_grad) if g is not None]


# ------------------------------------------------------------------------------ helpers
def close(a: float, b: float, rtol: float, atol: float) -> bool:
    return a == b or abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def finite(*values) -> bool:
    return all(math.isfinite(v) for v in values)


def fd_gradient(f, x, y, n, h):
    """Central differences of a scalar f with respect to x and y."""
    dx = (f(x + h, y, n) - f(x - h, y, n)) / (2 * h)
    dy = (f(x, y + h, n) - f(x, y - h, n)) / (2 * h)
    return dx, dy


def fd_consistent(d1, d2, scale) -> bool:
    return all(finite(a, b) and abs(a - b) <= FD_CONSISTENCY * max(abs(a), abs(b))
               + 1e-9 * scale for a, b in zip(d1, d2))


def fd_estimate(f, x, y, n, value):
    """(gradient by FD, its error estimate) or None where the two steps disagree."""
    try:
        d1 = fd_gradient(f, x, y, n, FD_STEP)
        d2 = fd_gradient(f, x, y, n, FD_STEP2)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    if not fd_consistent(d1, d2, max(1.0, abs(value))):
        return None
    return d1, tuple(abs(a - b) for a, b in zip(d1, d2))


def where(x, y, n) -> str:
    return f"prog({x!r}, {y!r}, {n!r})"


# ------------------------------------------------------------------------------ the checks
# Each check raises from its own line, so that hypothesis tells the failures apart.
def check_value(t: Transforms, x, y, n, expected):
    value, grads = t.value_and_grad(x, y, n)
    if not (value == expected or math.isclose(value, expected, rel_tol=VALUE_RTOL)):
        raise AssertionError(f"[value] value_and_grad value at {where(x, y, n)}: "
                             f"expected prog() = {expected!r}, got {value!r}")
    return grads


def check_reverse_vs_forward(t: Transforms, x, y, n, expected):
    reverse = tuple(t.grad(x, y, n))
    forward = []
    for tangents in ((1.0, 0.0), (0.0, 1.0)):
        value, tangent = t.jvp(x, y, n, *tangents)
        if not (value == expected or math.isclose(value, expected, rel_tol=VALUE_RTOL)):
            raise AssertionError(f"[jvp value] jvp value at {where(x, y, n)}: "
                                 f"expected prog() = {expected!r}, got {value!r}")
        forward.append(tangent)
    forward = tuple(forward)
    if not all(close(r, f, RF_RTOL, RF_ATOL) for r, f in zip(reverse, forward)):
        raise AssertionError(f"[reverse vs forward] at {where(x, y, n)}: "
                             f"forward (jvp) = {forward!r}, reverse (grad) = {reverse!r}")
    return reverse, forward


def check_grad_match(grads, reverse, x, y, n):
    if not all(close(a, b, GRAD_MATCH_RTOL, GRAD_MATCH_ATOL) for a, b in zip(grads, reverse)):
        raise AssertionError(f"[value_and_grad grads] at {where(x, y, n)}: "
                             f"grad = {reverse!r}, value_and_grad = {tuple(grads)!r}")


def check_fd(reverse, forward, fd, err, x, y, n):
    for name, ad in (("reverse", reverse), ("forward", forward)):
        if not all(close(a, d, FD_RTOL, FD_ATOL + 10 * e) for a, d, e in zip(ad, fd, err)):
            raise AssertionError(f"[{name} vs finite differences] at {where(x, y, n)}: "
                                 f"expected (FD) {fd!r}, got ({name}) {ad!r}")


def check_hessian(t: Transforms, x, y, n):
    hess = t.hessian(x, y, n)
    h = [[float(v) for v in row] for row in hess]
    scale = max(abs(v) for row in h for v in row)
    if not abs(h[0][1] - h[1][0]) <= SYM_ATOL + SYM_RTOL * scale:
        raise AssertionError(f"[hessian symmetry] at {where(x, y, n)}: hessian = {hess!r}")
    try:
        cols1 = [fd_column(t.grad, x, y, n, j, HESS_STEP) for j in range(2)]
        cols2 = [fd_column(t.grad, x, y, n, j, HESS_STEP2) for j in range(2)]
    except (OverflowError, ZeroDivisionError, ValueError):
        return False
    gscale = max(1.0, max(abs(v) for v in t.grad(x, y, n)))
    for j in range(2):
        if not fd_consistent(cols1[j], cols2[j], gscale):
            return False          # the gradient has a kink or a branch switch nearby
    for i in range(2):
        for j in range(2):
            fd, err = cols1[j][i], abs(cols1[j][i] - cols2[j][i])
            if not close(h[i][j], fd, HESS_RTOL, HESS_ATOL + 10 * err):
                fd_matrix = tuple(tuple(cols1[c][r] for c in range(2)) for r in range(2))
                raise AssertionError(f"[hessian vs finite differences of grad] at "
                                     f"{where(x, y, n)}: expected (FD) {fd_matrix!r}, "
                                     f"got {hess!r}")
    return True


def fd_column(grad, x, y, n, j, h):
    if j == 0:
        plus, minus = grad(x + h, y, n), grad(x - h, y, n)
    else:
        plus, minus = grad(x, y + h, n), grad(x, y - h, n)
    return tuple((p - m) / (2 * h) for p, m in zip(plus, minus))


def check_backends(t: Transforms, reverse, x, y, n):
    compiled = tuple(t.numba_grad(x, y, n))
    if not all(close(a, b, BACKEND_RTOL, BACKEND_ATOL) for a, b in zip(compiled, reverse)):
        raise AssertionError(f"[numba vs python] grad at {where(x, y, n)}: "
                             f"python = {reverse!r}, numba = {compiled!r}")


def check_point(t: Transforms, x, y, n, fd_ok=None):
    """All checks at one point; the FD checks only where finite differences are reliable."""
    f = t.fn
    expected = f(x, y, n)
    STATS["points"] += 1
    grads = check_value(t, x, y, n, expected)
    reverse, forward = check_reverse_vs_forward(t, x, y, n, expected)
    check_grad_match(grads, reverse, x, y, n)
    if fd_ok is None:
        fd_ok = fd_estimate(f, x, y, n, expected) if finite(expected) else None
    if fd_ok is not None:
        STATS["points with FD checks"] += 1
        check_fd(reverse, forward, fd_ok[0], fd_ok[1], x, y, n)
    if t.hessian is not None and finite(expected):
        STATS["hessian points"] += 1
        if not check_hessian(t, x, y, n):
            STATS["hessian points without FD (kink nearby)"] += 1
    if t.numba_grad is not None:
        STATS["numba points"] += 1
        check_backends(t, reverse, x, y, n)


def sample_point(f, rng: random.Random, n: int):
    """A point where the two FD steps agree (up to TRIES tries), or the last one tried."""
    for _ in range(TRIES):
        x, y = rng.uniform(LO, HI), rng.uniform(LO, HI)
        value = f(x, y, n)
        if not finite(value):
            STATS["samples not finite"] += 1
            continue
        fd = fd_estimate(f, x, y, n, value)
        if fd is not None:
            return x, y, fd
        STATS["samples next to a kink (resampled)"] += 1
    STATS["points without a reliable FD sample"] += 1
    return x, y, None


# ------------------------------------------------------------------------------ saving
def corpus_text(source: str, points, message: str) -> str:
    comment = "\n".join("# " + line for line in message.splitlines())
    return (f"{comment}\n{source}\n\nPOINTS = [\n"
            + "".join(f"    ({x!r}, {y!r}, {n!r}),\n" for x, y, n in points) + "]\n")


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


def active_filters():
    return {name: hits for name, hits in KNOWN_BUG_FILTERS.items() if name in KNOWN_FAILURES}


@settings(max_examples=N_PROGRAMS, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much, HealthCheck.large_base_example])
@given(program=generator.programs(),
       ns=st.tuples(*[st.integers(0, generator.N_MAX)] * 3),
       selector=st.integers(0, 2**31 - 1))
def test_fuzz(program, ns, selector):
    STATS["programs"] += 1
    module = load_source(program.source)
    # selector % 10 is about uniform; 0 (what hypothesis shrinks to) runs the cheapest checks
    t = Transforms(module.prog, hessian=selector % HESSIAN_EVERY == HESSIAN_EVERY - 1,
                   numba=selector % NUMBA_EVERY == NUMBA_EVERY - 1)
    rng = random.Random(hashlib.sha256(program.source.encode()).hexdigest() + repr(ns))
    done = []
    failure = None
    try:
        with time_limit(PROGRAM_TIMEOUT):
            for n in ns:
                x, y, fd = sample_point(module.prog, rng, n)
                done.append((x, y, n))
                check_point(t, x, y, n, fd_ok=fd)
    except ProgramTimeout as exc:
        failure = ProgramHang(f"[hang] {exc} at {done[-1:]}")
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
        for x, y, n in module.POINTS:
            check_point(t, x, y, n)

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
