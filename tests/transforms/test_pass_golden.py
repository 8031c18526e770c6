"""Golden IR before and after each simplification pass (tests/golden/passes/).

One small function, differentiated in reverse mode, shows each pass at work:
fold drops `* 1.0`, `+ 0.0` and constant arithmetic, CSE merges the repeated
`sin(x)` (and its adjoint's repeated `cos(x)`), DCE removes the unused `exp`
and the tape the reverse sweep never reads. The file holds the IR before the
pass, then after it; `pytest --update-golden` rewrites it (review the diff).
"""

import math
from pathlib import Path

import pytest

from adgen.frontend.lower import lower_function
from adgen.ir.interpret import interpret
from adgen.ir.printer import print_function
from adgen.ir.types import F64, I64
from adgen.transforms.reverse import differentiate_reverse
from adgen.transforms.simplify.cse import eliminate_common_subexpressions
from adgen.transforms.simplify.dce import eliminate_dead_code
from adgen.transforms.simplify.fold import fold_constants
from adgen.transforms.specialize import specialize

GOLDEN = Path(__file__).parents[1] / "golden" / "passes"


def showcase(x, y, n):
    unused = math.exp(x)
    a = math.sin(x) * 1.0 + 0.0
    b = math.sin(x) * y
    s = 0.0
    for i in range(n):
        s = s + a * b * (2.0 * 3.0 - 5.0)
    return s


PASSES = {"fold": fold_constants, "cse": eliminate_common_subexpressions,
          "dce": eliminate_dead_code}


def _reverse():
    typed = specialize(lower_function(showcase), (F64, F64, I64))
    return differentiate_reverse(typed, (0, 1), seed_params=False, return_primal=True)


@pytest.mark.parametrize("name", list(PASSES))
def test_pass_before_and_after(name, request):
    before = _reverse()
    after = PASSES[name](before)
    text = (f"# before {name}\n{print_function(before)}\n\n"
            f"# after {name}\n{print_function(after)}\n").replace(__file__, Path(__file__).name)
    golden = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), "run pytest --update-golden once to create the golden file"
    assert text == golden.read_text()
    for args in ((0.3, 1.7, 3), (-1.1, 0.4, 5)):
        assert interpret(after, *args) == pytest.approx(interpret(before, *args), rel=1e-14)


def _count(fn, opcode):
    from adgen.ir.ops import walk_ops

    return sum(op.opcode == opcode for op in walk_ops(fn.body))


def test_each_pass_removes_what_it_is_for():
    fn = _reverse()
    folded = fold_constants(fn)
    assert _count(folded, "mul") < _count(fn, "mul")          # * 1.0 and 2.0 * 3.0 gone
    merged = eliminate_common_subexpressions(fn)
    assert _count(merged, "sin") < _count(fn, "sin")
    assert _count(eliminate_dead_code(fn), "exp") == 0 < _count(fn, "exp")
