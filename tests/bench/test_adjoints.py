"""The benchmark's hand-written adjoints (bench/adjoints.py) are correct: for every
problem of bench/problems.py, at its small size,

* the problem's adjoint's value is the objective's (every source, 1e-12);
* its gradients are adgen's reverse-mode gradients of the vectorized source
  (Python backend: cheap to generate; 1e-9), except where adgen's reverse mode is
  not asked to differentiate that source here (`NOT_BY_ADGEN`);
* with JAX installed, they are the JAX reference gradient of bench/references.py (1e-9);
* every source's own adjoint (`Problem.hand_adjoint`: the problem's, or the one of
  that loop source's algorithm) has the source's value (1e-12), and its gradients
  are central finite differences of that source along one random direction per
  argument (Richardson-extrapolated, 1e-6);
* and every adjoint of a loop source's own algorithm (`Problem.adjoints`, `OWN`) has
  the gradients of adgen's Numba backend for that same source, compiled as the
  benchmark compiles it (1e-9), and of the problem's adjoint (1e-9).

The adjoints are called as the benchmark calls them, njit-compiled.
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
from numba.core.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT))          # `bench` (and adgen) from any working directory

import adgen  # noqa: E402
from bench import adjoints  # noqa: E402
from bench.problems import PROBLEMS  # noqa: E402

NAMES = [p.name for p in PROBLEMS]
BY_NAME = {p.name: p for p in PROBLEMS}
# Relative finite-difference steps. The logistic map is chaotic: the higher derivatives
# of an orbit's end in its start grow like the first to a power, so x0 needs a step
# far below the default (which keeps round-off low for the small derivatives elsewhere).
FD_STEP = {("logistic_map", 1): 1e-6}
# The heat equation's vectorized source assigns slices in its time loop, which adgen's
# reverse mode is being taught now: its adjoint is checked against finite differences
# and JAX instead.
NOT_BY_ADGEN = {"heat"}
SOURCES = [(p.name, label) for p in PROBLEMS for label in p.labels]
# The loop sources with an adjoint of their own algorithm, and that adjoint: the
# problem's adjoint has other loops (BLAS products, a matrix formulation, blocks of
# orbits stepped together, the unit loop inside the layer loop) or other arithmetic.
OWN_ADJOINTS = {
    ("gmm_d10_k25", "loops"): "gmm_objective_loops_adjoint",
    ("gmm_d10_k25", "scratch"): "gmm_objective_scratch_adjoint",
    ("gmm_d64_k50", "loops"): "gmm_objective_loops_adjoint",
    ("lstm", "loops"): "lstm_objective_loops_adjoint",
    ("mlp", "loops"): "mlp_loops_adjoint",
    ("logistic_map", "loops"): "logistic_map_loops_adjoint",
    ("ode", "loops"): "lotka_volterra_loops_adjoint",
    ("logistic_regression", "loops"): "logistic_regression_loops_adjoint",
}
OWN = list(OWN_ADJOINTS)


def copy_args(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def run_adjoint(p, source=None):
    """(arguments, value, gradients) of the problem's adjoint, or of the source's own."""
    name = p.adjoint if source is None else p.hand_adjoint(source)
    args = p.make(True)
    fn = getattr(adjoints, name)
    assert isinstance(fn, Dispatcher), f"{name} is not njit-compiled"
    out = fn(*copy_args(args))
    assert len(out) == 1 + len(p.argnums)
    return args, out[0], out[1:]


def check_gradient_types(p, args, grads):
    for i, g in zip(p.argnums, grads):
        a = args[i]
        if isinstance(a, np.ndarray):
            assert isinstance(g, np.ndarray) and g.shape == a.shape and g.dtype == np.float64
        else:
            assert isinstance(g, float)


@pytest.fixture(scope="module")
def adgen_numba():
    """adgen's Numba-backend gradient of a source function, compiled once per module
    (gmm_objective_loops serves two problems)."""
    compiled = {}

    def gradient(p, source):
        key = (p.function(source), p.argnums)
        if key not in compiled:
            compiled[key] = adgen.grad(p.function(source), argnums=p.argnums,
                                       backend="numba")
        return compiled[key]

    return gradient


def test_every_loop_source_names_the_adjoint_of_its_algorithm():
    own = {(p.name, label): p.hand_adjoint(label) for p in PROBLEMS for label in p.labels
           if p.hand_adjoint(label) != p.adjoint}
    assert own == OWN_ADJOINTS
    for (name, label), adjoint in OWN_ADJOINTS.items():
        p = BY_NAME[name]
        assert adjoint == dict(p.sources)[label] + "_adjoint"
        assert isinstance(getattr(adjoints, adjoint), Dispatcher)
    for p in PROBLEMS:
        assert p.hand_adjoint(p.labels[0]) == p.adjoint       # the vectorized source's
        assert set(p.adjoints) <= set(p.labels)
    with pytest.raises(ValueError, match="no source labelled"):
        dataclasses.replace(PROBLEMS[0], adjoints={"nope": "gmm_adjoint"})


@pytest.mark.parametrize("name", NAMES)
def test_value(name):
    p = BY_NAME[name]
    args, value, _ = run_adjoint(p)
    for label in p.labels:
        before = copy_args(args)
        expected = p.function(label)(*copy_args(args))
        assert value == pytest.approx(expected, rel=1e-12, abs=0.0), label
        for a, b in zip(args, before):      # neither the source nor the adjoint writes
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NOT_BY_ADGEN])
def test_gradient_matches_adgen(name):
    p = BY_NAME[name]
    args, _, grads = run_adjoint(p)
    expected = adgen.grad(p.function("vectorized"), argnums=p.argnums,
                          backend="python")(*copy_args(args))
    check_gradient_types(p, args, grads)
    for i, g, e in zip(p.argnums, grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, err_msg=f"argument {i}")


@pytest.mark.parametrize("name,source", SOURCES)
def test_own_adjoint_value(name, source):
    p = BY_NAME[name]
    args, value, grads = run_adjoint(p, source)
    before = copy_args(args)
    expected = p.function(source)(*copy_args(args))
    assert value == pytest.approx(expected, rel=1e-12, abs=0.0)
    check_gradient_types(p, args, grads)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,source", OWN)
def test_own_adjoint_matches_adgen(name, source, adgen_numba):
    p = BY_NAME[name]
    args, _, grads = run_adjoint(p, source)
    expected = adgen_numba(p, source)(*copy_args(args))
    assert len(expected) == len(grads)
    for i, g, e in zip(p.argnums, grads, expected):
        assert np.max(np.abs(e)) > 0.0
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, err_msg=f"argument {i}")


@pytest.mark.parametrize("name,source", OWN)
def test_own_adjoint_matches_the_problems_adjoint(name, source):
    p = BY_NAME[name]
    _, value, grads = run_adjoint(p, source)
    _, expected_value, expected = run_adjoint(p)
    assert value == pytest.approx(expected_value, rel=1e-12, abs=0.0)
    for i, g, e in zip(p.argnums, grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, err_msg=f"argument {i}")


@pytest.mark.parametrize("name,source", SOURCES)
def test_gradient_matches_finite_differences(name, source):
    """Each source's own adjoint against finite differences of that source."""
    p = BY_NAME[name]
    args, _, grads = run_adjoint(p, source)
    f = p.function(source)
    rng = np.random.default_rng(7)
    for i, g in zip(p.argnums, grads):
        a = args[i]
        v = rng.normal(size=a.shape) if isinstance(a, np.ndarray) else float(rng.normal())
        scale = max(1.0, float(np.max(np.abs(a))))

        def central(h):
            plus, minus = copy_args(args), copy_args(args)
            plus[i] = a + h * v
            minus[i] = a - h * v
            return (f(*plus) - f(*minus)) / (2 * h)

        h = FD_STEP.get((name, i), 1e-4) * scale
        fd = (4 * central(h / 2) - central(h)) / 3    # Richardson: error O(h^4)
        exact = float(np.sum(np.asarray(g) * v))
        assert exact == pytest.approx(fd, rel=1e-6, abs=1e-9), f"argument {i}"


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_jax(name):
    pytest.importorskip("jax")
    from bench import references

    p = BY_NAME[name]
    args, _, grads = run_adjoint(p)
    expected = references.gradient("jax", p)(*copy_args(args))
    for i, g, e in zip(p.argnums, grads, expected):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-9, atol=1e-12,
                                   err_msg=f"argument {i}")
