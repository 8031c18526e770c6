"""Unsupported array forms raise located errors naming the line (or the argument),
and no generated function ever modifies its caller's arrays."""

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pytest

import adgen

_spec = importlib.util.spec_from_file_location(
    "array_error_cases", Path(__file__).with_name("array_error_cases.py"))
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


def err_line(fn) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, text in enumerate(lines) if "# ERR" in text)


def test_fancy_indexing_names_the_line():
    with pytest.raises(adgen.AdgenTypeError, match=f"array_error_cases.py:"
                       f"{err_line(cases.fancy_index)}.*indices must be integers"):
        adgen.grad(cases.fancy_index, backend="python")(np.ones(3), np.array([0, 2]))


def test_linalg_is_refused_with_a_hint():
    with pytest.raises(adgen.AdgenSyntaxError) as info:
        adgen.grad(cases.linalg_inv, backend="python")(np.eye(2))
    assert info.value.lineno == err_line(cases.linalg_inv)
    assert "not supported yet" in str(info.value) and info.value.hint


def test_array_condition_names_the_line():
    with pytest.raises(adgen.AdgenTypeError, match=f":{err_line(cases.bool_condition_on_array)}"
                       ".*condition"):
        adgen.grad(cases.bool_condition_on_array, backend="python")(np.ones(3))


def test_dot_of_rank_three_is_refused():
    with pytest.raises(adgen.AdgenTypeError, match="1-D or 2-D"):
        adgen.grad(cases.rank_three_dot, backend="python")(np.ones((2, 2, 2)))


def test_derivatives_through_a_loop_writing_an_array():
    # d/dx sum((x i)^2) = 2 x sum(i^2); d2/dx2 = 2 sum(i^2)
    g = adgen.grad(cases.writes_in_loop_reverse, backend="python")(0.5, 4)
    assert g == pytest.approx(2 * 0.5 * (0 + 1 + 4 + 9))
    h = adgen.hessian(cases.writes_in_loop_reverse, backend="python")(0.5, 4)
    assert h == pytest.approx(2 * (0 + 1 + 4 + 9))
    _, tangent = adgen.jvp(cases.writes_in_loop_reverse, backend="python")(0.5, 4, 1.0)
    assert tangent == pytest.approx(2 * 0.5 * (0 + 1 + 4 + 9))


@pytest.mark.parametrize("bad, word", [
    (np.array([1, 2], dtype=np.int32), "int32"),
    (np.array([1.0 + 2j]), "complex128"),
    (np.array(["a"]), "<U1"),
    (np.array(1.0), "0-d"),
    ([1.0, 2.0], "list"),
    (np.array([1.0], dtype=np.float16), "float16"),
])
def test_unsupported_array_arguments_name_the_argument(bad, word):
    def total(values):
        return np.sum(values)

    with pytest.raises(adgen.AdgenTypeError) as info:
        adgen.grad(total, backend="python")(bad)
    assert info.value.argument == "values" and word in str(info.value)


def writes_its_argument(a, x):
    a[0] = a[0] * x
    a[1] += x
    return np.sum(a * a)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_function_writing_its_argument_works_on_a_private_copy(backend):
    a = np.array([1.0, 2.0, 3.0])
    keep = a.copy()
    value, (ga, gx) = adgen.value_and_grad(writes_its_argument, argnums=(0, 1),
                                           backend=backend)(a, 2.0)
    np.testing.assert_array_equal(a, keep)
    assert value == pytest.approx(2.0 ** 2 + 4.0 ** 2 + 9.0)
    # a0' = a0 x, a1' = a1 + x: d/da = (2 a0' x, 2 a1', 2 a2), d/dx = 2 a0' a0 + 2 a1'
    np.testing.assert_allclose(ga, [2 * 2.0 * 2.0, 2 * 4.0, 6.0])
    assert gx == pytest.approx(2 * 2.0 * 1.0 + 2 * 4.0)
    _, tangent = adgen.jvp(writes_its_argument, argnums=1, backend=backend)(a, 2.0, 1.0)
    np.testing.assert_array_equal(a, keep)
    assert tangent == pytest.approx(gx)
