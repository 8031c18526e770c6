"""Variable sharing in generated code: regressions found by the fuzzer and by the
objectives, and a sweep of the whole scalar corpus comparing the generated primal
code with the Python function itself."""

import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.api import Transformed

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("layout_cases", HERE / "layout_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

sys.path.insert(0, str(HERE.parent / "cases"))
import scalar_corpus as corpus  # noqa: E402


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("fn, args", [(cases.f, (0.5,)), (cases.swap_slots, (1.26, -0.65, 2)),
                                      (cases.swap_slots, (-0.7, 0.4, 3)),
                                      (cases.dead_slot, (-1.15, -0.2, 0)),
                                      (cases.dead_slot, (0.3, 0.9, 2))],
                         ids=["nested-read", "swap-2", "swap-3", "dead-0", "dead-2"])
def test_generated_code_keeps_values_apart(fn, args, backend):
    assert Transformed(fn, "call", (), backend)(*args) == pytest.approx(fn(*args), rel=1e-14)
    grads = adgen.grad(fn, argnums=0, backend=backend)(*args)
    _, tangent = adgen.jvp(fn, argnums=0, backend=backend)(*args, 1.0)
    assert grads == pytest.approx(tangent, rel=1e-12)


def _args(case, rng):
    args = [d if isinstance(d, int) else rng.uniform(*d) for d in case.domains]
    params = list(inspect.signature(case.fn).parameters.values())
    return args + [p.default for p in params[len(args):]]


ALL = list(corpus.CASES) + list(corpus.TUPLE_CASES)


@pytest.mark.parametrize("case", ALL, ids=[c.fn.__name__ for c in ALL])
def test_generated_primal_equals_the_python_function(case):
    rng = np.random.default_rng(5)
    call = Transformed(case.fn, "call", (), "python")
    for _ in range(2):
        args = _args(case, rng)
        np.testing.assert_allclose(call(*args), case.fn(*args), rtol=1e-13)
