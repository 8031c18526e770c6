"""examples/expression_swell.py: the logistic map of Baydin et al. (2018), section 2.

adgen's dl_4/dx (reverse mode on both backends, forward mode) against the expanded
polynomial and against sympy; the derivative code does not grow with n while the
symbolic derivative does; the script runs and prints its table.
"""

import importlib.util
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import adgen

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "expression_swell.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("expression_swell", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


swell = _load_example()
logistic = swell.logistic

# dl_4/dx = 64(1 - 42x + 504x^2 - 2640x^3 + 7040x^4 - 9984x^5 + 7168x^6 - 2048x^7)
DL4_COEFFS = (1, -42, 504, -2640, 7040, -9984, 7168, -2048)
XS = [float(x) for x in np.random.default_rng(20180201).uniform(0.0, 1.0, 10)]


def dl4_exact(x: float) -> float:
    """The polynomial evaluated exactly at the float x (then rounded once).

    In floating point the expanded form itself loses up to ~1e-7 relative accuracy
    near its roots (terms up to 64 * 9984 x^5 cancel to a small value), far more
    than adgen's recurrence-based derivative does, so the reference is exact.
    """
    xf = Fraction(x)
    return float(64 * sum(c * xf ** k for k, c in enumerate(DL4_COEFFS)))


def _close(got, want):
    # rtol 1e-12; the tiny atol only matters right next to a root of dl_4/dx
    return got == pytest.approx(want, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_dl4_matches_the_polynomial(backend):
    df = adgen.grad(logistic, backend=backend)
    fj = adgen.jvp(logistic, backend=backend)
    for x in XS:
        want = dl4_exact(x)
        assert _close(df(x, 4), want), (backend, "grad", x)
        value, tangent = fj(x, 4, 1.0)
        assert _close(tangent, want), (backend, "jvp", x)
        assert value == pytest.approx(logistic(x, 4), rel=1e-15)


def test_forward_mode_default_backend():
    fj = adgen.jvp(logistic)
    for x in XS:
        assert _close(fj(x, 4, 1.0)[1], dl4_exact(x)), x


def test_logistic_base_cases():
    assert logistic(0.3, 1) == 0.3
    assert adgen.grad(logistic, backend="python")(0.3, 1) == 1.0
    assert adgen.grad(logistic, backend="python")(0.3, 2) == pytest.approx(4 - 8 * 0.3)


def test_dl4_matches_sympy():
    sympy = pytest.importorskip("sympy")
    x, d = swell.symbolic_derivative(4)
    expected_poly = 64 * sum(c * x ** k for k, c in enumerate(DL4_COEFFS))
    assert sympy.expand(d - expected_poly) == 0
    df = adgen.grad(logistic, backend="python")
    dfn = adgen.grad(logistic, backend="numba")
    fj = adgen.jvp(logistic)
    for xv in XS:
        want = float(d.subs(x, sympy.Rational(xv)))  # exact at the float xv
        assert _close(df(xv, 4), want), xv
        assert _close(dfn(xv, 4), want), xv
        assert _close(fj(xv, 4, 1.0)[1], want), xv


def test_code_lines_counts_only_the_function_body():
    source = ("# header\n\nimport math\n\n\ndef f(x):\n    # comment\n\n"
              "    y = x * x\n    return y\n")
    assert swell.code_lines(source) == 3


def test_generated_code_does_not_swell():
    ns = (2, 4, 16, 64)
    reverse = [swell.reverse_lines(n) for n in ns]
    forward = [swell.forward_lines(n) for n in ns]
    assert len(set(reverse)) == 1, reverse
    assert len(set(forward)) == 1, forward
    assert reverse[0] > 1 and forward[0] > 1


def test_symbolic_derivative_swells():
    pytest.importorskip("sympy")
    sizes = [swell.symbolic_sizes(n) for n in range(2, 7)]
    expanded = [e for _, e in sizes]
    unexpanded = [u for u, _ in sizes]
    assert all(a < b for a, b in zip(expanded, expanded[1:])), expanded
    assert all(a < b for a, b in zip(unexpanded, unexpanded[1:])), unexpanded


def test_closed_form_term_bound():
    assert [swell.closed_form_terms(n) for n in (1, 2, 4, 64)] == [1, 2, 8, 2 ** 63]


def test_script_main_prints_the_table(capsys):
    swell.main()
    out = capsys.readouterr().out
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s", out, flags=re.MULTILINE)
    table = {int(n): (int(r), int(f)) for n, r, f in rows if 1 <= int(n) <= 64}
    assert sorted(table) == list(range(1, 65))
    assert len(set(table.values())) == 1
    assert re.search(r"^\s*64\s+\d+\s+\d+\s", out, flags=re.MULTILINE)
    assert "def logistic_grad(x, n" in out
