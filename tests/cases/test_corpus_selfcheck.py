"""Checks of the scalar corpus itself, without adgen.

- the tables are large enough and well formed, and every function's source
  can be read (adgen reads source);
- every function is finite at the drivers' random points, and central
  differences with steps h and h/2 agree there (the domains are sane);
- exact derivatives computed by a small dual-number oracle (independent of
  adgen) meet the driver's finite-difference tolerances at exactly the
  driver's points, so that `tests/test_corpus.py` can pass whenever adgen's
  derivatives are right;
- the corpus covers the constructs it is meant to cover.
"""

import ast
import importlib
import inspect
import math
import pathlib
import sys
import textwrap
import types
from collections import Counter

import numpy as np
import pytest

_HERE = pathlib.Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
corpus = importlib.import_module("scalar_corpus")

CASES = corpus.CASES
TUPLE_CASES = corpus.TUPLE_CASES
HESSIAN_CASES = [c for c in CASES if c.hessian]

# The driver asserts assert_allclose(adgen, fd, rtol=1e-6, atol=1e-9); the exact
# derivatives must meet a tighter bound so that adgen's own rounding has room.
DRIVER_RTOL, DRIVER_ATOL = 1e-6, 1e-9
HESSIAN_RTOL, HESSIAN_ATOL = 1e-5, 1e-7
MARGIN = 0.5
# At most this many rejected draws (points next to a branch switch) per case.
MAX_REJECTED = 3

HARNESS_NAMES = {"case_seed", "as_outputs", "draw_args", "fd_jacobian",
                 "fd_is_consistent", "sample_points"}


def _ids(cases):
    return [c.name for c in cases]


def _corpus_functions():
    """Every plain function defined in the corpus module, harness helpers excluded."""
    return [obj for name, obj in vars(corpus).items()
            if isinstance(obj, types.FunctionType) and obj.__module__ == corpus.__name__
            and name not in HARNESS_NAMES]


def _points(case, index, tuple_case=False):
    return corpus.sample_points(case, corpus.case_seed(index, tuple_case))


# --------------------------------------------------------------------------
# Dual numbers: an exact-derivative oracle for the corpus functions.
# Nested duals (a dual whose parts are duals) give second derivatives.
# --------------------------------------------------------------------------


def _primal(x):
    while isinstance(x, Dual):
        x = x.v
    return x


class Dual:
    """v + d*eps with eps^2 = 0; v and d are floats or (inner) Duals."""

    __slots__ = ("v", "d")
    __hash__ = None

    def __init__(self, v, d):
        self.v = v
        self.d = d

    def __repr__(self):
        return f"Dual({self.v!r}, {self.d!r})"

    def __add__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v + o.v, self.d + o.d)
        return Dual(self.v + o, self.d)

    __radd__ = __add__

    def __sub__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v - o.v, self.d - o.d)
        return Dual(self.v - o, self.d)

    def __rsub__(self, o):
        return Dual(o - self.v, -self.d)

    def __mul__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v * o.v, self.d * o.v + self.v * o.d)
        return Dual(self.v * o, self.d * o)

    __rmul__ = __mul__

    def __truediv__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v / o.v, (self.d * o.v - self.v * o.d) / (o.v * o.v))
        return Dual(self.v / o, self.d / o)

    def __rtruediv__(self, o):
        return Dual(o / self.v, -o * self.d / (self.v * self.v))

    def __floordiv__(self, o):
        return _primal(self) // _primal(o)

    def __rfloordiv__(self, o):
        return _primal(o) // _primal(self)

    def __pow__(self, o):
        if isinstance(o, Dual):
            p = self.v ** o.v
            return Dual(p, o.v * self.v ** (o.v - 1) * self.d + _log(self.v) * p * o.d)
        if o == 0:
            return Dual(self.v ** 0, self.d * 0.0)
        return Dual(self.v ** o, o * self.v ** (o - 1) * self.d)

    def __rpow__(self, o):
        p = o ** self.v
        return Dual(p, _log(o) * p * self.d)

    def __neg__(self):
        return Dual(-self.v, -self.d)

    def __pos__(self):
        return self

    def __abs__(self):
        return -self if _primal(self) < 0.0 else self

    def __lt__(self, o):
        return _primal(self) < _primal(o)

    def __le__(self, o):
        return _primal(self) <= _primal(o)

    def __gt__(self, o):
        return _primal(self) > _primal(o)

    def __ge__(self, o):
        return _primal(self) >= _primal(o)

    def __eq__(self, o):
        return _primal(self) == _primal(o)

    def __ne__(self, o):
        return _primal(self) != _primal(o)

    def __int__(self):
        return int(_primal(self))

    def __float__(self):
        raise TypeError("float() of a Dual would drop its derivative (unshimmed function?)")

    def __bool__(self):
        raise TypeError("truth value of a Dual")


def _unary(real, derivative):
    def fn(x):
        if isinstance(x, Dual):
            return Dual(fn(x.v), derivative(x.v) * x.d)
        return real(x)
    fn.__name__ = real.__name__
    return fn


_sin = _unary(math.sin, lambda v: _cos(v))
_cos = _unary(math.cos, lambda v: -_sin(v))
_tan = _unary(math.tan, lambda v: 1.0 + _tan(v) * _tan(v))
_exp = _unary(math.exp, lambda v: _exp(v))
_log = _unary(math.log, lambda v: 1.0 / v)
_log1p = _unary(math.log1p, lambda v: 1.0 / (1.0 + v))
_expm1 = _unary(math.expm1, lambda v: _exp(v))
_sqrt = _unary(math.sqrt, lambda v: 0.5 / _sqrt(v))
_tanh = _unary(math.tanh, lambda v: 1.0 - _tanh(v) * _tanh(v))
_sinh = _unary(math.sinh, lambda v: _cosh(v))
_cosh = _unary(math.cosh, lambda v: _sinh(v))
_asin = _unary(math.asin, lambda v: 1.0 / _sqrt(1.0 - v * v))
_acos = _unary(math.acos, lambda v: -1.0 / _sqrt(1.0 - v * v))
_atan = _unary(math.atan, lambda v: 1.0 / (1.0 + v * v))


def _lift(x):
    return x if isinstance(x, Dual) else Dual(x, 0.0)


def _atan2(y, x):
    if not (isinstance(y, Dual) or isinstance(x, Dual)):
        return math.atan2(y, x)
    y, x = _lift(y), _lift(x)
    return Dual(_atan2(y.v, x.v), (x.v * y.d - y.v * x.d) / (x.v * x.v + y.v * y.v))


def _hypot(x, y):
    if not (isinstance(x, Dual) or isinstance(y, Dual)):
        return math.hypot(x, y)
    x, y = _lift(x), _lift(y)
    r = _hypot(x.v, y.v)
    return Dual(r, (x.v * x.d + y.v * y.d) / r)


def _maximum(a, b):
    if not (isinstance(a, Dual) or isinstance(b, Dual)):
        return np.maximum(a, b)
    return a if _primal(a) >= _primal(b) else b


def _minimum(a, b):
    if not (isinstance(a, Dual) or isinstance(b, Dual)):
        return np.minimum(a, b)
    return a if _primal(a) <= _primal(b) else b


def _np_abs(x):
    return abs(x) if isinstance(x, Dual) else np.abs(x)


MATH_SHIM = types.SimpleNamespace(
    sin=_sin, cos=_cos, tan=_tan, exp=_exp, log=_log, log1p=_log1p, expm1=_expm1,
    sqrt=_sqrt, tanh=_tanh, sinh=_sinh, cosh=_cosh, asin=_asin, acos=_acos, atan=_atan,
    atan2=_atan2, hypot=_hypot)
NP_SHIM = types.SimpleNamespace(
    sin=_sin, cos=_cos, tan=_tan, exp=_exp, log=_log, log1p=_log1p, expm1=_expm1,
    sqrt=_sqrt, tanh=_tanh, sinh=_sinh, cosh=_cosh, arcsin=_asin, arccos=_acos,
    arctan=_atan, arctan2=_atan2, hypot=_hypot, abs=_np_abs, maximum=_maximum,
    minimum=_minimum)


def _oracle_namespace():
    """The corpus functions re-bound to globals where math and np accept Duals."""
    namespace = dict(vars(corpus))
    namespace["math"] = MATH_SHIM
    namespace["np"] = NP_SHIM
    for fn in _corpus_functions():
        namespace[fn.__name__] = types.FunctionType(
            fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    return namespace


ORACLE = _oracle_namespace()


def _tangent(x):
    return x.d if isinstance(x, Dual) else 0.0


def exact_jacobian(case, args):
    """d outputs / d args[wrt] with dual numbers: shape (outputs, len(wrt))."""
    fn = ORACLE[case.name]
    columns = []
    for i in case.wrt:
        seeded = list(args)
        seeded[i] = Dual(args[i], 1.0)
        out = fn(*seeded)
        outs = out if isinstance(out, tuple) else (out,)
        columns.append([float(_tangent(o)) for o in outs])
        expected = corpus.as_outputs(case.fn(*args))
        primal = tuple(float(_primal(o)) for o in outs)
        np.testing.assert_allclose(primal, expected, rtol=1e-12, atol=1e-300,
                                   err_msg=f"{case.name}: the oracle computes another function")
    return np.array(columns).T


def exact_gradient_fn(case):
    """A function of the args returning the exact gradient as a tuple (like adgen.grad)."""
    def gradient(*args):
        return tuple(exact_jacobian(case, args)[0])
    return gradient


def exact_hessian(case, args):
    fn = ORACLE[case.name]
    n = len(case.wrt)
    hess = np.zeros((n, n))
    for a, i in enumerate(case.wrt):
        for b, j in enumerate(case.wrt):
            seeded = list(args)
            for k in case.wrt:
                seeded[k] = Dual(Dual(args[k], 1.0 if k == i else 0.0),
                                 Dual(1.0 if k == j else 0.0, 0.0))
            hess[a, b] = float(_tangent(_tangent(fn(*seeded))))
    return hess


# --------------------------------------------------------------------------
# The tables.
# --------------------------------------------------------------------------


def test_case_counts():
    assert len(CASES) >= 90
    assert len(HESSIAN_CASES) >= 25
    assert len(TUPLE_CASES) >= 5
    names = [c.name for c in CASES + TUPLE_CASES]
    assert len(names) == len(set(names)), "case names must be unique (they are test ids)"


def test_every_corpus_function_has_source():
    functions = _corpus_functions()
    for case in CASES + TUPLE_CASES:
        assert case.fn in functions, f"{case.name} is not defined in the corpus module"
    for fn in functions:
        source = inspect.getsource(fn)
        assert source.lstrip().startswith("def " + fn.__name__ + "(")


@pytest.mark.parametrize("case", CASES + TUPLE_CASES, ids=_ids(CASES + TUPLE_CASES))
def test_case_record_matches_signature(case):
    params = list(inspect.signature(case.fn).parameters.values())
    required = [p for p in params if p.default is inspect.Parameter.empty]
    assert len(required) <= len(case.domains) <= len(params)
    assert case.wrt, "at least one differentiated argument"
    for i in case.wrt:
        assert isinstance(case.domains[i], tuple), "only float arguments are differentiated"
    for domain in case.domains:
        if isinstance(domain, tuple):
            low, high = domain
            assert isinstance(low, float) and isinstance(high, float) and low < high
        else:
            assert type(domain) is int


# --------------------------------------------------------------------------
# Values and finite differences at the drivers' points.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids(CASES))
def test_finite_and_fd_consistent(index):
    case = CASES[index]
    points, rejected = _points(case, index)
    assert len(points) == corpus.POINTS_PER_CASE
    assert rejected <= MAX_REJECTED, f"{rejected} draws next to a branch switch: domain too rough"
    for args in points:
        value = case.fn(*args)
        assert isinstance(value, float), type(value)
        assert math.isfinite(value)
        assert corpus.fd_is_consistent(case.fn, args, case.wrt)
        assert np.all(np.isfinite(corpus.fd_jacobian(case.fn, args, case.wrt)))


@pytest.mark.parametrize("index", range(len(TUPLE_CASES)), ids=_ids(TUPLE_CASES))
def test_tuple_case_finite_and_fd_consistent(index):
    case = TUPLE_CASES[index]
    points, rejected = _points(case, index, tuple_case=True)
    assert rejected <= MAX_REJECTED
    for args in points:
        value = case.fn(*args)
        assert isinstance(value, tuple) and len(value) >= 2
        assert all(isinstance(v, float) and math.isfinite(v) for v in value)
        assert corpus.fd_is_consistent(case.fn, args, case.wrt)


# --------------------------------------------------------------------------
# Exact derivatives against the drivers' finite differences and tolerances.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids(CASES))
def test_exact_gradient_meets_driver_tolerance(index):
    case = CASES[index]
    points, _ = _points(case, index)
    for args in points:
        exact = exact_jacobian(case, args)[0]
        fd = corpus.fd_jacobian(case.fn, args, case.wrt)[0]
        np.testing.assert_allclose(exact, fd, rtol=MARGIN * DRIVER_RTOL,
                                   atol=MARGIN * DRIVER_ATOL, err_msg=f"{case.name}{args}")


@pytest.mark.parametrize("index", [i for i, c in enumerate(CASES) if c.hessian],
                         ids=_ids(HESSIAN_CASES))
def test_exact_hessian_meets_driver_tolerance(index):
    case = CASES[index]
    points, _ = _points(case, index)
    gradient = exact_gradient_fn(case)
    for args in points:
        hess = exact_hessian(case, args)
        np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)
        fd = corpus.fd_jacobian(gradient, args, case.wrt, rel_step=corpus.HESSIAN_FD_REL_STEP)
        np.testing.assert_allclose(hess, fd, rtol=MARGIN * HESSIAN_RTOL,
                                   atol=MARGIN * HESSIAN_ATOL, err_msg=f"{case.name}{args}")


@pytest.mark.parametrize("index", range(len(TUPLE_CASES)), ids=_ids(TUPLE_CASES))
def test_exact_tuple_jacobian_meets_driver_tolerance(index):
    case = TUPLE_CASES[index]
    points, _ = _points(case, index, tuple_case=True)
    for args in points:
        exact = exact_jacobian(case, args)
        fd = corpus.fd_jacobian(case.fn, args, case.wrt)
        np.testing.assert_allclose(exact, fd, rtol=MARGIN * DRIVER_RTOL,
                                   atol=MARGIN * DRIVER_ATOL, err_msg=f"{case.name}{args}")


# --------------------------------------------------------------------------
# Coverage of the constructs the corpus is meant to exercise.
# --------------------------------------------------------------------------


def _loops(node):
    return [n for n in ast.walk(node) if isinstance(n, (ast.For, ast.While))]


def _range_calls(tree):
    for n in ast.walk(tree):
        if isinstance(n, ast.For) and isinstance(n.iter, ast.Call) \
                and isinstance(n.iter.func, ast.Name) and n.iter.func.id == "range":
            yield n.iter


def _is_negative_constant(node):
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)) or \
        (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0)


def construct_counts():
    """How many corpus functions use each construct (name -> count)."""
    counts = Counter()
    module_constants = {name for name, value in vars(corpus).items()
                        if name.isupper() and isinstance(value, (int, float))}
    module_functions = {fn.__name__ for fn in _corpus_functions()}
    for fn in _corpus_functions():
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
        found = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Call):
                f = n.func
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                    found.add(f"{f.value.id}.{f.attr}")
                elif isinstance(f, ast.Name):
                    if f.id in module_functions:
                        found.add("call of a corpus helper")
                    else:
                        found.add(f"builtin {f.id}")
            elif isinstance(n, ast.BinOp):
                found.add(f"binop {type(n.op).__name__}")
                if isinstance(n.op, ast.Pow):
                    e = n.right
                    if isinstance(e, ast.Constant) and isinstance(e.value, float):
                        found.add("** float exponent")
                    elif isinstance(e, ast.Constant) and isinstance(e.value, int) or \
                            _is_negative_constant(e) and isinstance(e.operand, ast.Constant) \
                            and isinstance(e.operand.value, int):
                        found.add("** int literal exponent")
                    else:
                        found.add("** variable exponent")
            elif isinstance(n, ast.UnaryOp):
                found.add(f"unary {type(n.op).__name__}")
            elif isinstance(n, ast.IfExp):
                found.add("conditional expression")
            elif isinstance(n, ast.BoolOp):
                found.add(f"boolop {type(n.op).__name__}")
            elif isinstance(n, ast.Compare) and len(n.ops) >= 2:
                found.add("chained comparison")
            elif isinstance(n, ast.If):
                if len(n.orelse) == 1 and isinstance(n.orelse[0], ast.If):
                    found.add("elif")
                if any(isinstance(m, ast.If) for b in (n.body, n.orelse) for s in b
                       for m in ast.walk(s)):
                    found.add("nested if")
                if _loops(n):
                    found.add("loop inside if")
            elif isinstance(n, ast.While):
                found.add("while")
            elif isinstance(n, ast.For):
                found.add("for")
            elif isinstance(n, ast.Break):
                found.add("break")
            elif isinstance(n, ast.Continue):
                found.add("continue")
            elif isinstance(n, ast.AugAssign):
                found.add(f"augassign {type(n.op).__name__}")
            elif isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple):
                found.add("tuple assignment")
            elif isinstance(n, ast.Return) and isinstance(n.value, ast.Tuple):
                found.add("returns a tuple")
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) \
                    and n.id in module_constants:
                found.add("module constant")
        for loop in _loops(tree):
            inner = [m for s in loop.body for m in ast.walk(s)]
            if any(isinstance(m, (ast.For, ast.While)) for m in inner):
                found.add("nested loops")
            if any(isinstance(m, ast.If) for m in inner):
                found.add("if inside loop")
            if any(isinstance(m, ast.Return) for m in inner):
                found.add("return inside loop")
        for call in _range_calls(tree):
            found.add(f"range with {len(call.args)} argument(s)")
            if len(call.args) == 3 and _is_negative_constant(call.args[2]):
                found.add("range with a negative step")
            if any(isinstance(m, ast.Call) and isinstance(m.func, ast.Name) and m.func.id == "int"
                   for a in call.args for m in ast.walk(a)):
                found.add("trip count through int(...)")
        if sum(isinstance(m, ast.Return) for m in ast.walk(tree)) >= 2:
            found.add("several returns")
        params = [a.arg for a in tree.args.args]
        assigned = {t.id for m in ast.walk(tree) if isinstance(m, (ast.Assign, ast.AugAssign))
                    for t in ast.walk(m.targets[0] if isinstance(m, ast.Assign) else m.target)
                    if isinstance(t, ast.Name)}
        if assigned & set(params):
            found.add("overwritten argument")
        if fn.__defaults__:
            found.add("default arguments")
        counts.update(found)
    for case in CASES + TUPLE_CASES:
        if any(not isinstance(d, tuple) for d in case.domains):
            counts["int argument (not differentiated)"] += 1
    return counts


REQUIRED = {
    # elementary functions, both spellings
    **{f"math.{name}": 1 for name in ["sin", "cos", "tan", "exp", "log", "log1p", "expm1",
                                      "sqrt", "tanh", "sinh", "cosh", "asin", "acos", "atan",
                                      "atan2", "hypot"]},
    **{f"np.{name}": 1 for name in ["sin", "cos", "tan", "exp", "log", "log1p", "expm1",
                                    "sqrt", "tanh", "sinh", "cosh", "arcsin", "arccos",
                                    "arctan", "arctan2", "hypot", "abs", "maximum",
                                    "minimum"]},
    "builtin abs": 3, "builtin max": 3, "builtin min": 2, "builtin pow": 2, "builtin int": 3,
    "binop Add": 10, "binop Sub": 10, "binop Mult": 10, "binop Div": 10, "binop Pow": 5,
    "binop FloorDiv": 3, "unary USub": 5, "** float exponent": 2, "** int literal exponent": 3,
    "** variable exponent": 3,
    "elif": 3, "nested if": 3, "conditional expression": 4, "boolop And": 3, "boolop Or": 2,
    "unary Not": 2, "chained comparison": 3,
    "for": 30, "range with 1 argument(s)": 10, "range with 2 argument(s)": 5,
    "range with 3 argument(s)": 5, "range with a negative step": 4,
    "trip count through int(...)": 3, "while": 10, "nested loops": 3, "loop inside if": 3,
    "if inside loop": 10, "break": 5, "continue": 2, "return inside loop": 3,
    "several returns": 8, "call of a corpus helper": 10, "returns a tuple": 5,
    "tuple assignment": 5, "augassign Add": 10, "augassign Mult": 3, "augassign Sub": 3,
    "augassign Div": 1, "overwritten argument": 3, "module constant": 10,
    "default arguments": 5, "int argument (not differentiated)": 20,
}


def test_corpus_covers_the_constructs():
    counts = construct_counts()
    missing = {k: (counts.get(k, 0), need) for k, need in REQUIRED.items()
               if counts.get(k, 0) < need}
    assert not missing, f"constructs used by too few functions (have, need): {missing}"
