"""Errors for unsupported Python: the subset check, and the same cases end to end.

The cases live in `error_cases.py`, next to this file; each marks the line of
its offending construct with `# ERR`, and the expected line numbers are read
from there.
"""

import ast
import importlib.util
import inspect
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.errors import AdgenSyntaxError
from adgen.frontend.check import check_function
from adgen.frontend.source import SourceInfo, load_source


def _load_error_cases():
    path = Path(__file__).resolve().parent / "error_cases.py"
    name = "adgen_tests_frontend_error_cases"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that inspect finds the module of each function
    spec.loader.exec_module(module)
    return module


cases = _load_error_cases()


def _ids(functions):
    return [fn.__name__ for fn in functions]


def err_lines(fn):
    """The file line numbers of `fn`'s source lines that carry `# ERR`."""
    lines, first = inspect.getsourcelines(fn)
    return [first + i for i, line in enumerate(lines) if "# ERR" in line]


def positional_count(fn):
    """How many float arguments a call of `fn` needs (at least one, for argnums=0)."""
    params = inspect.signature(fn).parameters.values()
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    needed = [p for p in params if p.kind in plain and p.default is inspect.Parameter.empty]
    return max(1, len(needed))


def assert_well_formed(diag, fn):
    source_line = Path(inspect.getsourcefile(fn)).read_text().splitlines()[diag.lineno - 1]
    assert diag.source_line.rstrip("\n") == source_line
    assert 0 <= diag.col < len(source_line)
    assert diag.hint.strip()
    assert diag.message.strip()
    text = diag.format()
    assert f"{diag.filename}:{diag.lineno}:{diag.col + 1}" in text
    assert source_line in text
    assert re.search(r"^ *\^$", text, flags=re.MULTILINE)


# --- the subset check ----------------------------------------------------


def test_every_case_marks_its_lines():
    for fn in cases.CHECKER_CASES + cases.LOWERING_CASES:
        assert len(err_lines(fn)) == 1, fn.__name__
    for fn in cases.TWO_ERROR_CASES:
        assert len(err_lines(fn)) == 2, fn.__name__
    assert len(cases.CHECKER_CASES) + len(cases.TWO_ERROR_CASES) >= 40


@pytest.mark.parametrize("fn", cases.CHECKER_CASES, ids=_ids(cases.CHECKER_CASES))
def test_checker_reports_case(fn):
    diagnostics = check_function(load_source(fn))
    assert diagnostics, f"{fn.__name__}: nothing reported"
    assert diagnostics[0].lineno == err_lines(fn)[0]
    assert [d.lineno for d in diagnostics] == err_lines(fn), "one diagnostic, at the # ERR line"
    assert diagnostics[0].filename.endswith("error_cases.py")
    assert_well_formed(diagnostics[0], fn)


@pytest.mark.parametrize("fn", cases.TWO_ERROR_CASES, ids=_ids(cases.TWO_ERROR_CASES))
def test_checker_reports_every_construct(fn):
    diagnostics = check_function(load_source(fn))
    assert [d.lineno for d in diagnostics] == err_lines(fn)
    for diag in diagnostics:
        assert_well_formed(diag, fn)


@pytest.mark.parametrize("fn", cases.LOWERING_CASES, ids=_ids(cases.LOWERING_CASES))
def test_checker_leaves_name_resolution_to_lowering(fn):
    assert check_function(load_source(fn)) == []


def test_messages_name_the_construct():
    def message(fn):
        return check_function(load_source(fn))[0].message

    assert "lambda" in message(cases.lambda_expr)
    assert "nested function" in message(cases.nested_def)
    assert "list literal" in message(cases.list_literal)
    assert "string operations" in message(cases.string_constant)
    assert "for-else" in message(cases.for_else)
    assert "while-else" in message(cases.while_else)
    assert "bitwise" in message(cases.bitwise_and)
    assert "`is not`" in message(cases.is_not_compare)
    assert "*args" in message(cases.star_args)
    assert "**options" in message(cases.star_kwargs)
    hint = check_function(load_source(cases.print_call))[0].hint
    assert "pure" in hint and "return the value" in hint
    hint = check_function(load_source(cases.list_literal))[0].hint
    assert "tuple" in hint and "np.array" in hint
    hint = check_function(load_source(cases.nested_def))[0].hint
    assert "module level" in hint


# Constructs that cannot stand in a plain def of an importable module (Python
# rejects them at compile time, after parsing), checked on parsed text.
SNIPPETS = {
    "await": "def f(x):\n    y = await x  # ERR\n    return y\n",
    "async_for": "def f(x):\n    async for t in x:  # ERR\n        pass\n    return x\n",
    "async_with": "def f(x):\n    async with x:  # ERR\n        pass\n    return x\n",
    "nonlocal": "def f(x):\n    nonlocal y  # ERR\n    return x\n",
    "try_star": (
        "def f(x):\n    try:  # ERR\n        y = x\n    except* ValueError:\n"
        "        y = 0.0\n    return y\n"
    ),
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_checker_reports_snippet(name):
    text = SNIPPETS[name]
    if name == "try_star" and not hasattr(ast, "TryStar"):
        pytest.skip("except* needs Python 3.11")
    tree = ast.parse(text).body[0]
    info = SourceInfo("snippet.py", tree, tuple(text.splitlines(keepends=True)), text)
    diagnostics = check_function(info)
    expected = [i + 1 for i, line in enumerate(text.splitlines()) if "# ERR" in line]
    assert [d.lineno for d in diagnostics] == expected
    assert diagnostics[0].hint.strip()
    assert "snippet.py:" in diagnostics[0].format()


def test_function_without_source_is_an_error():
    namespace = {}
    exec("def made_by_exec(x):\n    return x * x\n", namespace)
    with pytest.raises(AdgenSyntaxError) as caught:
        load_source(namespace["made_by_exec"])
    assert "source" in str(caught.value)
    assert caught.value.hint.strip()


# --- the supported subset passes cleanly ---------------------------------


def tag(name):
    """A decorator with an argument adgen would reject in a body; decorators are ignored."""

    def decorate(fn):
        return fn

    return decorate


@tag("decorators are not checked")
def control_flow(x, y=2.0, /, z=0.5):
    """Loops, branches, early exits."""
    total: float = 0.0
    a = b = 0.0
    for i in range(10):
        if i % 2 == 0:
            continue
        elif i > 7:
            break
        else:
            total += x * i
    n = 0
    while n < 3 and total > -1.0 or not (x > y):
        n += 1
        total -= 0.5
        if n == 2:
            break
        pass
    if 0.0 < x <= y != z:
        return total + a + b
    if x >= y or x == z:
        return -total
    return total if x > 0.0 else -total


def arrays(x, w, n=3):
    a = np.zeros((n, 4))
    a[0, 1] = np.sin(x)
    a[1:3] = math.exp(x)
    a[:, ::2] += 1.0
    a[0] *= 2.0
    h, (p, q) = a.shape, (x, w)
    [c, d] = x, w
    m = np.sum(a, axis=0, keepdims=True)
    v = a.T @ m.T
    v @= np.ones((1, 1))
    s = x**2 // 3 % 2 - +x / -w
    s **= 2
    s /= 2.0
    s //= 1.0
    s %= 7.0
    for j, k in np.ndindex(2, 2):
        s = s + a[j, k] + a[-1, 0]
    lo, hi = -1.0, 1.0
    return np.clip(v, lo, hi), h, p * q * c * d, None, True, np.pi, s, x.sum()


def early_return(x):
    """Early return inside a loop."""
    i = 0
    while True:
        if x > 10.0:
            return x
        x = x * 2.0
        i += 1
        if i >= 5:
            break
    return -x


def helper(t, scale=1.0):
    return t * scale


def calls(x):
    y = helper(x, scale=np.float64(2.0))
    z = np.where(x > 0.0, np.tanh(y), math.log1p(abs(y)))
    return np.linalg.norm(z, ord=2) + max(x, 0.0) + float(int(3))


SUPPORTED = (control_flow, arrays, early_return, helper, calls)


@pytest.mark.parametrize("fn", SUPPORTED, ids=_ids(SUPPORTED))
def test_supported_subset_passes(fn):
    assert check_function(load_source(fn)) == []


# --- end to end, through the public API ----------------------------------
# These need the lowering and `adgen.grad`; they fail until those exist.

ALL_CASES = cases.CHECKER_CASES + cases.TWO_ERROR_CASES + cases.LOWERING_CASES


@pytest.mark.parametrize("fn", ALL_CASES, ids=_ids(ALL_CASES))
def test_public_api_reports_error(fn):
    args = [1.0] * positional_count(fn)
    with pytest.raises(adgen.AdgenSyntaxError) as caught:
        adgen.grad(fn, argnums=0, backend="python")(*args)
    error = caught.value
    expected = err_lines(fn)
    assert error.lineno == expected[0]
    assert error.filename.endswith("error_cases.py")
    source_line = Path(inspect.getsourcefile(fn)).read_text().splitlines()[expected[0] - 1]
    assert error.line.rstrip("\n") == source_line
    assert 0 <= error.col < len(source_line)
    assert source_line in str(error)
    assert "^" in str(error)
    assert error.hint.strip()
    assert all(d.hint.strip() for d in error.diagnostics)
    if fn in cases.TWO_ERROR_CASES:
        assert [d.lineno for d in error.diagnostics] == expected


def test_public_api_reports_missing_source():
    namespace = {}
    exec("def made_by_exec(x):\n    return x * x\n", namespace)
    with pytest.raises(adgen.AdgenSyntaxError) as caught:
        adgen.grad(namespace["made_by_exec"], argnums=0, backend="python")(1.0)
    assert "source" in str(caught.value)
    assert caught.value.hint.strip()
