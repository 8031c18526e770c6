"""Acceptance of the core: the Baydin example in both modes and on both
backends, its trace tables, and the golden reverse-mode source."""

import math
import re
from pathlib import Path

import pytest

import adgen

GOLDEN = Path(__file__).parent / "golden"
EXPECTED_GRAD = (5.5, 1.7163378145367738)


def baydin(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_gradient_in_both_modes(backend):
    reverse = adgen.grad(baydin, argnums=(0, 1), backend=backend)(2.0, 5.0)
    assert reverse == pytest.approx(EXPECTED_GRAD, rel=1e-15)
    fj = adgen.jvp(baydin, argnums=(0, 1), backend=backend)
    forward = (fj(2.0, 5.0, 1.0, 0.0)[1], fj(2.0, 5.0, 0.0, 1.0)[1])
    assert forward == pytest.approx(EXPECTED_GRAD, rel=1e-15)
    value, grads = adgen.value_and_grad(baydin, argnums=(0, 1), backend=backend)(2.0, 5.0)
    assert value == pytest.approx(math.log(2) + 10 - math.sin(5), rel=1e-15)
    assert grads == pytest.approx(EXPECTED_GRAD, rel=1e-15)
    value, grads = adgen.vjp(baydin, argnums=(0, 1), backend=backend)(2.0, 5.0, 2.0)
    assert grads == pytest.approx((11.0, 2 * EXPECTED_GRAD[1]), rel=1e-15)
    hess = adgen.hessian(baydin, argnums=(0, 1), backend=backend)(2.0, 5.0)
    assert hess == (pytest.approx((-0.25, 1.0)), pytest.approx((1.0, math.sin(5.0))))


def test_single_argnum_gives_a_float_like_jax():
    assert adgen.grad(baydin, backend="python")(2.0, 5.0) == pytest.approx(5.5)
    assert adgen.grad(baydin, argnums=1, backend="python")(2.0, 5.0) == pytest.approx(
        EXPECTED_GRAD[1])


def test_decorator_forms():
    @adgen.grad
    def g(x):
        return x * x * x

    @adgen.grad(argnums=1, backend="python")
    def h(x, y):
        return x * y * y

    assert g(2.0) == pytest.approx(12.0)
    assert h(3.0, 2.0) == pytest.approx(12.0)


# Baydin et al. 2018, Table 2 (forward mode, x1' = 1) and Table 3 (reverse mode).
PRIMAL = [(-1, 2.0), (0, 5.0), (1, 0.6931), (2, 10.0), (3, -0.9589), (4, 10.6931),
          (5, 11.6521)]
TANGENT = [(-1, 1.0), (0, 0.0), (1, 0.5), (2, 5.0), (3, 0.0), (4, 5.5), (5, 5.5)]
ADJOINT = [(5, 1.0), (4, 1.0), (3, -1.0), (1, 1.0), (2, 1.0), (0, -0.2837), (-1, 5.0),
           (0, 1.7163), (-1, 5.5)]


def test_trace_tables_are_baydins():
    t = adgen.trace(baydin, 2.0, 5.0)
    assert [(r.index, round(r.value, 4)) for r in t.primal] == PRIMAL
    assert [(r.index, round(r.value, 4)) for r in t.tangent] == TANGENT
    assert [(r.target, round(r.value, 4)) for r in t.adjoint] == ADJOINT
    assert [r.expr for r in t.primal[2:]] == ["ln v-1", "v-1 × v0", "sin v0", "v1 + v2",
                                              "v4 - v3"]
    text = str(t)
    assert "Forward primal trace" in text and "Reverse adjoint trace" in text


def test_trace_of_a_loop_unrolls_it():
    def power(x, n):
        y = 1.0
        for _ in range(n):
            y = y * x
        return y

    t = adgen.trace(power, 1.5, 3)
    assert [round(r.value, 6) for r in t.primal] == [1.5, 1.5, 2.25, 3.375]
    assert round(t.tangent[-1].value, 6) == round(3 * 1.5 ** 2, 6)
    assert round(t.adjoint[-1].value, 6) == round(3 * 1.5 ** 2, 6)


def _normalize(source: str) -> str:
    return re.sub(r"# source: .*", "# source: <file>", source)


def test_golden_reverse_source(request):
    text = _normalize(adgen.source(adgen.grad(baydin, argnums=(0, 1)), 2.0, 5.0))
    golden = GOLDEN / "quickstart_grad.py.txt"
    if request.config.getoption("--update-golden"):
        golden.write_text(text)
    assert golden.exists(), "run pytest --update-golden once to create the golden file"
    assert text == golden.read_text()


def test_quickstart_example_runs(capsys):
    import runpy

    runpy.run_path(str(Path(__file__).parents[1] / "examples" / "quickstart.py"),
                   run_name="__main__")
    out = capsys.readouterr().out
    assert "(5.5, 1.7163378145367738)" in out
    assert "def baydin" not in out and "def f_grad" in out
