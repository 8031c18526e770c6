"""adgen.config(check_nans=True): generated code names the first statement that turns
finite operands into NaN or inf, with the line of the user's function."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import adgen
import adgen.config


def log_of_difference(x, y):
    a = x * y
    b = math.log(a - 1.0)
    return b * x + y


def zero_over_zero(x, y):
    d = x - y
    q = d / d
    return q + x


def sqrt_of_square(x):
    y = x * x
    return math.sqrt(y) + x


def log_in_loop(a):
    s = 0.0
    for i in range(a.shape[0]):
        s = s + math.log(a[i]) * a[i]
    return s


def smooth(x, y):
    s = 0.0
    for i in range(3):
        s = s + math.sin(x * i) * math.exp(-y)
    return s * s


def line_of(fn, text: str) -> int:
    lines, start = inspect.getsourcelines(fn)
    for k, line in enumerate(lines):
        if text in line:
            return start + k
    raise AssertionError(f"{text!r} not in {fn.__name__}")


def nan_error(transformed, *args) -> adgen.AdgenNaNError:
    with pytest.raises(adgen.AdgenNaNError) as info:
        transformed(*args)
    return info.value


def test_log_of_a_negative_number_in_the_primal():
    with adgen.config(check_nans=True):
        error = nan_error(adgen.grad(log_of_difference, backend="python"), 0.25, 2.0)
    assert isinstance(error, FloatingPointError) and isinstance(error, adgen.AdgenError)
    assert error.opcode == "log"
    assert error.lineno == line_of(log_of_difference, "math.log")
    assert error.filename == __file__
    assert error.source_line == "b = math.log(a - 1.0)"
    assert error.statement.endswith("= np.log(tmp)")
    assert error.function == "log_of_difference_grad"
    assert f"line {error.lineno} of {__file__}" in str(error)


def test_zero_over_zero():
    with adgen.config(check_nans=True):
        error = nan_error(adgen.grad(zero_over_zero, argnums=(0, 1), backend="python"),
                          1.5, 1.5)
    assert error.opcode == "div"
    assert error.lineno == line_of(zero_over_zero, "d / d")
    assert error.statement == "q = d / d"


def test_origin_in_the_derivative_code_only():
    """sqrt(0) is fine, its derivative 0.5/sqrt(0) is inf: named, in the derivative code."""
    assert math.isnan(adgen.grad(sqrt_of_square, backend="python")(0.0))  # unchecked: nan
    with adgen.config(check_nans=True):
        error = nan_error(adgen.grad(sqrt_of_square, backend="python"), 0.0)
        assert error.opcode == "div"
        assert error.lineno == line_of(sqrt_of_square, "math.sqrt")
        assert error.function == "sqrt_of_square_grad"
        # the primal alone is finite: no error
        assert adgen.value_and_grad(sqrt_of_square, backend="python")(1.0)[0] == 2.0


def test_forward_mode_is_checked_too():
    with adgen.config(check_nans=True):
        error = nan_error(adgen.jvp(zero_over_zero, argnums=(0, 1), backend="python"),
                          1.0, 1.0, 1.0, 0.0)
    assert error.opcode == "div" and error.function == "zero_over_zero_jvp"


def test_array_element_in_a_loop():
    a = np.array([1.0, 0.0, 2.0])
    with adgen.config(check_nans=True):
        error = nan_error(adgen.grad(log_in_loop, backend="python"), a)
    assert error.opcode == "log"
    assert error.lineno == line_of(log_in_loop, "math.log")


def test_silent_and_equal_on_finite_computations():
    args = (0.3, 0.2)
    expected = adgen.grad(smooth, argnums=(0, 1), backend="python")(*args)
    with adgen.config(check_nans=True):
        df = adgen.grad(smooth, argnums=(0, 1), backend="python")
        assert df(*args) == pytest.approx(expected, rel=1e-14)
        source = adgen.source(df, *args)
    assert "_adgen_nan.finite" in source and "AdgenNaNError" in source
    a = np.array([1.0, 3.0, 2.0])
    with adgen.config(check_nans=True):
        np.testing.assert_allclose(adgen.grad(log_in_loop, backend="python")(a),
                                   np.log(a) + 1.0, rtol=1e-14)


def test_nan_inputs_are_not_reported():
    """Only the origin is reported: a NaN given as an argument just flows through."""
    with adgen.config(check_nans=True):
        assert math.isnan(adgen.grad(smooth, backend="python")(float("nan"), 0.2))


def test_the_flag_is_part_of_the_cache_key():
    df = adgen.grad(log_of_difference, backend="python")
    assert math.isnan(df(0.25, 2.0))
    with adgen.config(check_nans=True):
        nan_error(df, 0.25, 2.0)
    assert math.isnan(df(0.25, 2.0))  # the unchecked code again
    assert len(df.cache) == 2
    plain = adgen.source(df, 0.25, 2.0)
    assert "_adgen_nan" not in plain


def test_environment_variable(monkeypatch):
    monkeypatch.setenv("ADGEN_CHECK_NANS", "1")
    assert adgen.config.check_nans()
    nan_error(adgen.grad(zero_over_zero, backend="python"), 2.0, 2.0)
    with adgen.config(check_nans=False):  # a setting made in Python wins
        assert not adgen.config.check_nans()
        assert math.isnan(adgen.grad(zero_over_zero, backend="python")(2.0, 2.0))
    monkeypatch.setenv("ADGEN_CHECK_NANS", "0")
    assert not adgen.config.check_nans()


def test_config_api():
    assert not adgen.config.check_nans()
    adgen.config(check_nans=True)
    try:
        assert adgen.config.check_nans()
    finally:
        adgen.config(check_nans=False)
    assert not adgen.config.check_nans()
    with adgen.config(check_nans=True) as settings:
        assert "check_nans=True" in repr(settings)
        with adgen.config(check_nans=False):
            assert not adgen.config.check_nans()
        assert adgen.config.check_nans()
    assert not adgen.config.check_nans()
    with pytest.raises(TypeError, match="unknown adgen setting"):
        adgen.config(check_infs=True)
    assert adgen.config.cache_dir()  # still the module


def test_numba_backend():
    with adgen.config(check_nans=True):
        df = adgen.grad(log_of_difference, backend="numba")
        assert df(2.0, 3.0) == pytest.approx(math.log(5.0) + 3.0 / 5.0 * 2.0)
        error = nan_error(df, 0.25, 2.0)
    assert error.opcode == "log"
    assert error.lineno == line_of(log_of_difference, "math.log")
    assert error.statement.endswith("= np.log(tmp)")
