"""Every corpus function's IR, before and after each transform and after
simplification: it verifies, and its text form parses back to the same IR."""

import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

from adgen.api import argument_type
from adgen.frontend.lower import lower_function
from adgen.ir.interpret import interpret
from adgen.ir.parser import parse_function
from adgen.ir.printer import print_function
from adgen.ir.verify import verify
from adgen.transforms.forward import differentiate_forward
from adgen.transforms.pipeline import simplify
from adgen.transforms.reverse import differentiate_reverse
from adgen.transforms.specialize import specialize

CASES_DIR = Path(__file__).parents[1] / "cases"
sys.path.insert(0, str(CASES_DIR))
_spec = importlib.util.spec_from_file_location("scalar_corpus", CASES_DIR / "scalar_corpus.py")
corpus = sys.modules.get("scalar_corpus") or importlib.util.module_from_spec(_spec)
if "scalar_corpus" not in sys.modules:
    sys.modules["scalar_corpus"] = corpus
    _spec.loader.exec_module(corpus)

ALL = list(corpus.CASES) + list(corpus.TUPLE_CASES)


def _full_args(case, rng):
    """Arguments for every parameter: sampled ones, then the defaults."""
    args = [d if isinstance(d, int) else rng.uniform(*d) for d in case.domains]
    params = list(inspect.signature(case.fn).parameters.values())
    return args + [p.default for p in params[len(args):]]


def _types(case):
    return tuple(argument_type(a, "arg") for a in _full_args(case, np.random.default_rng(0)))


def _round_trip(fn):
    verify(fn)
    text = print_function(fn)
    back = parse_function(text)
    assert print_function(back) == text
    if "nan" not in text:
        assert back == fn


@pytest.mark.parametrize("case", ALL, ids=[c.fn.__name__ for c in ALL])
def test_ir_round_trips_through_every_transform(case):
    untyped = lower_function(case.fn)
    _round_trip(untyped)
    typed = specialize(untyped, _types(case))
    _round_trip(typed)
    wrt = tuple(case.wrt)
    forward = differentiate_forward(typed, wrt)
    _round_trip(forward)
    _round_trip(simplify(forward, check=True))
    reverse = differentiate_reverse(typed, wrt, seed_params=True)
    _round_trip(reverse)
    _round_trip(simplify(reverse, check=True))
    if not typed.tuple_return:
        hess = differentiate_forward(differentiate_reverse(typed, wrt, False, False), wrt)
        _round_trip(hess)
        _round_trip(simplify(hess, check=True))


@pytest.mark.parametrize("case", ALL[::7], ids=[c.fn.__name__ for c in ALL[::7]])
def test_interpreter_agrees_with_python(case):
    rng = np.random.default_rng(7)
    args = _full_args(case, rng)
    typed = specialize(lower_function(case.fn), _types(case))
    expected = case.fn(*args)
    got = interpret(typed, *args)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
