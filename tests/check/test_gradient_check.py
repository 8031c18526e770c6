"""adgen.check: passes on correct derivatives, and names the primitive rule and the line
of the user's function when a rule planted in the registry is wrong."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.ir.types import F32
from adgen.primitives import registry
from adgen.primitives.derive import jvp_from_partials, vjp_from_partials

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from objectives import conv1d, gmm, logistic_regression, mlp  # noqa: E402


# functions under test -----------------------------------------------------------------------
def loop_sin(x, y, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i + 0.5) * y
    return s / (1.0 + x * x)


def straight_sin(x, y):
    a = x * y
    b = math.sin(a)
    return b * x + math.exp(y)


def array_sin(a, b):
    c = np.cos(a) * b
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * b[i]
    return np.sum(np.sin(a) * c) + total


def polar(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


def branches(x, y):
    if x > y:
        z = x * x - y
    else:
        z = math.exp(x) * y
    while z < 10.0:
        z = z * 1.5 + x
    return z


def line_of(fn, text: str) -> int:
    """The line number (in its file) of the first line of `fn` containing `text`."""
    lines, start = inspect.getsourcelines(fn)
    for k, line in enumerate(lines):
        if text in line:
            return start + k
    raise AssertionError(f"{text!r} not in {fn.__name__}")


# planting wrong rules -----------------------------------------------------------------------
def plant(monkeypatch, name, partials=None, jvp=True, vjp=True):
    """Replace primitive `name` by one whose rules come from `partials`: both rules
    (jvp=vjp=True) or only one of them."""
    original = registry.get(name)
    wrong = dataclasses.replace(original, partials=partials)
    replaced = dataclasses.replace(
        original, partials=partials if jvp and vjp else original.partials,
        jvp=jvp_from_partials(wrong) if jvp else original.jvp,
        vjp=vjp_from_partials(wrong) if vjp else original.vjp)
    monkeypatch.setitem(registry._REGISTRY, name, replaced)


def minus_cos(b, args, out, active):  # the derivative of sin with the wrong sign
    return (b.emit("neg", b.emit("cos", args[0])),)


def cos_wrong_in_float32(b, args, out, active):  # right in float64, twice too big in f32
    part = b.emit("cos", args[0])
    if args[0].type == F32:
        part = b.emit("add", part, part)
    return (part,)


# no false alarms ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn, args", [
    (loop_sin, (0.3, 1.2, 4)),
    (straight_sin, (0.7, -0.4)),
    (array_sin, (np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0]))),
    (polar, (2.0, 0.7)),
    (branches, (0.4, 1.3)),
    (branches, (1.3, 0.4)),
], ids=["loop", "straight", "arrays", "tuple", "branch-while-1", "branch-while-2"])
def test_passes_on_correct_functions(fn, args):
    report = adgen.check(fn, *args)
    assert report.passed and bool(report)
    assert report.culprit is None
    names = [c.name for c in report.checks]
    assert any(n.startswith("reverse") for n in names)
    assert any(n.startswith("forward") for n in names)
    assert any(n.startswith("dot-product test") for n in names)
    assert any(n.startswith("float32") for n in names)
    assert "passed" in str(report).splitlines()[0]


@pytest.mark.parametrize("module, name", [
    (logistic_regression, "logistic_regression_vectorized"),
    (logistic_regression, "logistic_regression_loops"),
    (conv1d, "conv1d_loops"),
    (mlp, "mlp_loops"),
    (gmm, "gmm_objective_vectorized"),
])
def test_passes_on_objectives(module, name):
    data = {logistic_regression: lambda: logistic_regression.make_data(8, 3, seed=0),
            conv1d: lambda: conv1d.make_data(9, 3, seed=0),
            mlp: lambda: mlp.make_data(5, 3, 4, 3, seed=0),
            gmm: lambda: gmm.make_data(3, 4, 5, seed=0, wishart_gamma=1.3, wishart_m=2)}
    args = data[module]()
    argnums = {gmm: (0, 1, 2), mlp: (0, 1, 2, 3)}.get(module, (0, 1))
    report = adgen.check(getattr(module, name), *args, argnums=argnums)
    assert report.passed


def test_the_rule_stage_has_no_false_alarm_on_correct_code():
    """The localization stages themselves, forced on correct code, find nothing."""
    from adgen import selfcheck

    args = (np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0]))
    base, active = selfcheck._base_ir(array_sin, args, (0, 1), "python")
    suspects = selfcheck._RuleSuspects(active, 1e-6, 1e-9, 1e-9, 0)
    selfcheck._evaluate(base, args, suspects.record)
    assert len(suspects.records) >= 5
    assert suspects.first_wrong() is None
    v = [np.array([0.3, -1.0, 0.5]), np.array([1.0, 0.2, -0.7])]
    bisection = selfcheck._Bisection(base, args, (0, 1), active, v, 1e-6, 1e-9, None, 0)
    assert bisection.first_wrong() is None


# a planted wrong rule is named, with the user's line ---------------------------------------
def test_wrong_sin_rule_is_named_in_a_loop(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    with pytest.raises(adgen.CheckError) as info:
        adgen.check(loop_sin, 0.3, 1.2, 4)
    report = info.value.report
    assert isinstance(info.value, AssertionError)
    assert not report.passed
    failed = {c.name.split(",")[0] for c in report.failures}
    assert "reverse (adgen.grad) vs finite differences" in failed
    assert "forward (adgen.jvp along a random v) vs finite differences" in failed
    culprit = report.culprit
    assert culprit.stage == "rule"
    assert culprit.opcode == "sin"
    assert culprit.rule == "tangent rule (jvp)"
    assert culprit.lineno == line_of(loop_sin, "math.sin")
    assert culprit.filename == __file__
    assert "math.sin(x * i + 0.5)" in culprit.source_line
    text = str(info.value)
    assert "primitive 'sin'" in text and f":{culprit.lineno}:" in text


def test_wrong_adjoint_rule_only_is_named(monkeypatch):
    plant(monkeypatch, "sin", minus_cos, jvp=False)
    report = adgen.check(straight_sin, 0.7, -0.4, raise_on_failure=False)
    assert not report.passed
    # forward mode is right, reverse mode and the dot-product test are not
    def passed(prefix):
        (check,) = [c for c in report.checks if c.name.startswith(prefix)]
        return check.passed

    assert passed("forward (adgen.jvp along a random v) vs finite differences")
    assert not passed("dot-product test <w, J v> (forward) vs <J^T w, v> (reverse)")
    assert not passed("reverse (adgen.grad) vs finite differences, d/dx")
    assert report.culprit.opcode == "sin"
    assert report.culprit.rule == "adjoint rule (vjp)"
    assert report.culprit.lineno == line_of(straight_sin, "math.sin")


def test_wrong_rule_on_arrays_is_named(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    report = adgen.check(array_sin, np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0]),
                         raise_on_failure=False)
    assert report.culprit.stage == "rule"
    assert report.culprit.opcode == "sin"
    assert report.culprit.lineno == line_of(array_sin, "np.sin(a)")


def test_a_wrong_rule_of_another_primitive_is_named(monkeypatch):
    def exp_wrong(b, args, out, active):  # exp' = 2 exp
        return (b.emit("add", out, out),)

    plant(monkeypatch, "exp", exp_wrong)
    report = adgen.check(straight_sin, 0.7, -0.4, raise_on_failure=False)
    assert (report.culprit.opcode, report.culprit.lineno) == (
        "exp", line_of(straight_sin, "math.exp"))


def test_bisection_alone_names_the_statement(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    report = adgen.check(straight_sin, 0.7, -0.4, localize="bisect", raise_on_failure=False)
    culprit = report.culprit
    assert culprit.stage == "transform"
    assert culprit.opcode == "sin"
    assert culprit.lineno == line_of(straight_sin, "math.sin")
    assert "bisection" in culprit.detail


def test_bisection_alone_names_the_loop(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    report = adgen.check(loop_sin, 0.3, 1.2, 4, localize="bisect", raise_on_failure=False)
    assert report.culprit.opcode == "for"
    assert report.culprit.lineno == line_of(loop_sin, "for i in range(n)")
    assert "the for loop" in str(report.culprit)


def test_float32_only_error_is_localized(monkeypatch):
    plant(monkeypatch, "sin", cos_wrong_in_float32)
    report = adgen.check(straight_sin, 0.7, -0.4, raise_on_failure=False)
    float64 = [c for c in report.checks if not c.name.startswith("float32")]
    assert all(c.passed for c in float64)
    assert not report.passed
    assert [c.name for c in report.failures] == [
        "float32 vs float64 (J v and J^T w at the float32 point)"]
    assert report.culprit.opcode == "sin"
    assert report.culprit.lineno == line_of(straight_sin, "math.sin")
    assert "float32" in report.culprit.detail


def test_localize_false_and_rules_only(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    report = adgen.check(straight_sin, 0.7, -0.4, localize=False, raise_on_failure=False)
    assert not report.passed and report.culprit is None
    report = adgen.check(straight_sin, 0.7, -0.4, localize="rules", raise_on_failure=False)
    assert report.culprit.stage == "rule"


def test_restored_registry_checks_clean_again(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    assert not adgen.check(straight_sin, 0.7, -0.4, raise_on_failure=False).passed
    monkeypatch.undo()
    assert adgen.check(straight_sin, 0.7, -0.4).passed


# the interface ------------------------------------------------------------------------------
def test_argnums_and_report_figures():
    report = adgen.check(loop_sin, 0.3, 1.2, 4, argnums=1, float32=False)
    names = [c.name for c in report.checks]
    assert names[0] == "reverse (adgen.grad) vs finite differences, d/dy"
    assert not any(n.startswith("float32") for n in names)
    first = report.checks[0]
    assert first.got == pytest.approx(first.expected, rel=1e-8)
    assert first.difference <= first.tolerance
    expected = sum(math.sin(0.3 * i + 0.5) for i in range(4)) / (1.0 + 0.09)
    assert first.got == pytest.approx(expected, rel=1e-12)


def test_bad_arguments():
    with pytest.raises(TypeError, match="argument 2"):
        adgen.check(loop_sin, 0.3, 1.2, 4, argnums=2)
    with pytest.raises(ValueError, match="localize"):
        adgen.check(straight_sin, 0.7, -0.4, localize="everything")
    with pytest.raises(TypeError, match="plain function"):
        adgen.check(adgen.grad(straight_sin), 0.7, -0.4)


def long_chain(x, y):
    a = x * y
    b = a + x
    c = math.exp(-b * b)
    d = c * y + a
    e = math.sin(d)
    f = e * e + b
    g = math.log(1.0 + f * f)
    return g + c


def test_bisection_finds_the_statement_in_a_longer_chain(monkeypatch):
    plant(monkeypatch, "sin", minus_cos)
    report = adgen.check(long_chain, 0.6, 0.8, localize="bisect", raise_on_failure=False)
    assert (report.culprit.opcode, report.culprit.lineno) == (
        "sin", line_of(long_chain, "math.sin"))
    text = str(report)
    assert "FAILED" in text.splitlines()[0]
    assert f"at {__file__}:{report.culprit.lineno}: e = math.sin(d)" in text


# the scalar corpus: no false alarm, and no suspect rule when everything is right ------------
_CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
if str(_CASES_DIR) not in sys.path:
    sys.path.insert(0, str(_CASES_DIR))
corpus = importlib.import_module("scalar_corpus")


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_corpus_checks_clean(case):
    from adgen import selfcheck

    (point,), _ = corpus.sample_points(case, seed=7, count=1)
    report = adgen.check(case.fn, *point, argnums=case.wrt)
    assert report.passed
    args = report.args  # defaults filled in
    base, active = selfcheck._base_ir(case.fn, args, case.wrt, "python")
    suspects = selfcheck._RuleSuspects(active, 1e-6, 1e-9, 1e-9, 0)
    selfcheck._evaluate(base, args, suspects.record)
    assert suspects.first_wrong() is None
