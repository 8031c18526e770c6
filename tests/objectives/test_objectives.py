"""Objectives from the literature (examples/objectives/), each written twice,
vectorized and with explicit loops, differentiated by adgen on both backends.

For every objective, at a size small enough for finite differences:

* both versions compute the same value (in plain Python and compiled, 1e-12);
* adgen's reverse-mode gradient of the vectorized version matches central finite
  differences, w.r.t. every float parameter;
* the loops version's reverse-mode gradient matches the vectorized one (1e-9);
* forward mode (`adgen.jvp`) along random directions for the objectives marked
  `check_forward` (the LSTM, whose loops carry and write arrays);
* where reverse mode does not support a version (`forward_only`; none at the
  moment: the LSTM moved when reverse mode learned loops that write arrays),
  only its forward mode is checked, and `adgen.grad` is asserted to raise, so
  that this test fails, and is switched to the full check, once it works;
* with JAX installed, adgen's gradients match `jax.grad` of the same vectorized
  source run on `jax.numpy`.

Compiled transforms are shared between tests (one value_and_grad, vjp or jvp per
function and backend), so each is generated and compiled by Numba once.
"""

import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.special

import adgen

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from objectives import (bundle_adjustment, conv1d, gmm, logistic_map,  # noqa: E402
                        logistic_regression, lstm, mlp, ode, ridge, svm)

BACKENDS = ["python", "numba"]
FD_RTOL, FD_ATOL = 1e-6, 1e-9


@dataclass
class Case:
    module: types.ModuleType
    vectorized: str
    loops: str
    args: tuple
    argnums: tuple
    outputs: int = 1                       # 2: returns (r0, r1)
    forward_only: tuple = ()               # versions ("vectorized", "loops") reverse mode lacks
    check_forward: bool = False            # also check adgen.jvp of both versions
    cotangents: tuple = ((1.0,),)
    numpy_helpers: tuple = ()              # helpers kept on NumPy under JAX (constants)

    def function(self, version):
        return getattr(self.module, getattr(self, version))


CASES = {
    "gmm": Case(gmm, "gmm_objective_vectorized", "gmm_objective_loops",
                gmm.make_data(3, 4, 5, seed=0, wishart_gamma=1.3, wishart_m=2), (0, 1, 2),
                numpy_helpers=("icf_to_q_selection", "component_selection")),
    "lstm": Case(lstm, "lstm_objective_vectorized", "lstm_objective_loops",
                 lstm.make_data(2, 4, 5, seed=0), (0, 1, 2), check_forward=True),
    "bundle_adjustment": Case(bundle_adjustment, "reprojection_error_vectorized",
                              "reprojection_error_loops", bundle_adjustment.make_data(seed=0),
                              (0, 1, 2), outputs=2, cotangents=((1.0, 0.0), (0.0, 1.0))),
    "logistic_regression": Case(logistic_regression, "logistic_regression_vectorized",
                                "logistic_regression_loops",
                                logistic_regression.make_data(8, 3, seed=0), (0, 1)),
    "ridge": Case(ridge, "ridge_vectorized", "ridge_loops", ridge.make_data(8, 3, seed=0),
                  (0, 1)),
    "svm": Case(svm, "svm_vectorized", "svm_loops", svm.make_data(8, 3, seed=0), (0, 1)),
    "conv1d": Case(conv1d, "conv1d_vectorized", "conv1d_loops", conv1d.make_data(9, 3, seed=0),
                   (0, 1)),
    "mlp": Case(mlp, "mlp_vectorized", "mlp_loops", mlp.make_data(5, 3, 4, 3, seed=0),
                (0, 1, 2, 3)),
    "conv1d_shifted": Case(conv1d, "conv1d_shifted", "conv1d_loops",
                           conv1d.make_data(9, 3, seed=1), (0, 1)),
    "logistic_map": Case(logistic_map, "logistic_map_vectorized", "logistic_map_loops",
                         logistic_map.make_data(6, 6, seed=0), (0, 1)),
    "ode": Case(ode, "lotka_volterra_vectorized", "lotka_volterra_loops",
                ode.make_data(4, 20, seed=0), (0, 1, 2)),
}
NAMES = list(CASES)
REVERSE = [(name, version) for name in NAMES for version in ("vectorized", "loops")
           if version not in CASES[name].forward_only]
FORWARD = [(name, version) for name in NAMES for version in ("vectorized", "loops")
           if version in CASES[name].forward_only or CASES[name].check_forward]


# helpers -------------------------------------------------------------------------------
def copy_args(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def as_vector(value):
    """A float or a tuple of floats as a 1-D array."""
    return np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()


def flat(grads):
    """Gradients w.r.t. several parameters (arrays or floats), concatenated."""
    return np.concatenate([np.ravel(np.asarray(g, dtype=np.float64)) for g in grads])


def unflat(vector, case):
    """A flat vector split like the parameters `case.argnums` (a direction)."""
    out, at = [], 0
    for i in case.argnums:
        a = case.args[i]
        size = a.size if isinstance(a, np.ndarray) else 1
        part = vector[at:at + size]
        out.append(part.reshape(a.shape) if isinstance(a, np.ndarray) else float(part[0]))
        at += size
    return out


_memo = {}


def memo(key, compute):
    if key not in _memo:
        _memo[key] = compute()
    return _memo[key]


def fd_jacobian(name):
    """Central finite differences of the vectorized version run as plain NumPy: one row
    per output, columns in the order of `flat` over the parameters."""
    def compute():
        case = CASES[name]
        f = case.function("vectorized")
        columns = []
        for i in case.argnums:
            a = case.args[i]
            for idx in (np.ndindex(a.shape) if isinstance(a, np.ndarray) else [None]):
                x0 = a[idx] if idx is not None else a
                h = 1e-5 * max(1.0, abs(x0))
                values = []
                for step in (h, -h):
                    args = copy_args(case.args)
                    if idx is None:
                        args[i] = x0 + step
                    else:
                        args[i][idx] = x0 + step
                    values.append(as_vector(f(*args)))
                columns.append((values[0] - values[1]) / (2 * h))
        return np.array(columns).T
    return memo(("fd", name), compute)


def fd_directional(name, v, h=1e-3):
    """d/dt f(p + t v) at t = 0 for the vectorized version run as plain NumPy: central
    differences at steps h and h/2 combined by Richardson extrapolation (error O(h^4),
    about 1e-11 here)."""
    case = CASES[name]
    f = case.function("vectorized")
    parts = unflat(v, case)

    def at(t):
        args = copy_args(case.args)
        for i, part in zip(case.argnums, parts):
            args[i] = args[i] + t * part
        return as_vector(f(*args))

    def central(step):
        return (at(step) - at(-step)) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


def reverse(name, version, backend):
    """(value, Jacobian rows) by adgen's reverse mode: value_and_grad for a scalar
    objective, vjp with each unit cotangent for a tuple-valued one."""
    def compute():
        case = CASES[name]
        f = case.function(version)
        if case.outputs == 1:
            value, grads = adgen.value_and_grad(f, argnums=case.argnums, backend=backend)(
                *copy_args(case.args))
            return as_vector(value), flat(grads)[None, :]
        fv = adgen.vjp(f, argnums=case.argnums, backend=backend)
        rows, value = [], None
        for cotangent in case.cotangents:
            value, grads = fv(*copy_args(case.args), cotangent)
            rows.append(flat(grads))
        return as_vector(value), np.array(rows)
    return memo(("reverse", name, version, backend), compute)


def directions(name):
    case = CASES[name]
    rng = np.random.default_rng(1234)
    size = sum(CASES[name].args[i].size if isinstance(case.args[i], np.ndarray) else 1
               for i in case.argnums)
    return [rng.normal(size=size) for _ in range(3)]


def forward(name, version, backend):
    """(value, [tangent along each of `directions(name)`]) by adgen's forward mode."""
    def compute():
        case = CASES[name]
        fj = adgen.jvp(case.function(version), argnums=case.argnums, backend=backend)
        value, tangents = None, []
        for v in directions(name):
            value, tangent = fj(*copy_args(case.args), *unflat(v, case))
            tangents.append(as_vector(tangent))
        return as_vector(value), tangents
    return memo(("forward", name, version, backend), compute)


def compiled_value(name, version, backend):
    if version in CASES[name].forward_only:
        return forward(name, version, backend)[0]
    return reverse(name, version, backend)[0]


# values --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_versions_agree_in_python(name):
    case = CASES[name]
    expected = as_vector(case.function("vectorized")(*copy_args(case.args)))
    got = as_vector(case.function("loops")(*copy_args(case.args)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_compiled_values_agree(name, backend):
    case = CASES[name]
    expected = as_vector(case.function("vectorized")(*copy_args(case.args)))
    for version in ("vectorized", "loops"):
        np.testing.assert_allclose(compiled_value(name, version, backend), expected,
                                   rtol=1e-12, atol=0, err_msg=version)


# gradients -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,version", REVERSE)
def test_reverse_gradient_matches_finite_differences(name, version, backend):
    _, jacobian = reverse(name, version, backend)
    np.testing.assert_allclose(jacobian, fd_jacobian(name), rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [n for n in NAMES if not CASES[n].forward_only])
def test_loops_gradient_matches_vectorized(name, backend):
    _, vectorized = reverse(name, "vectorized", backend)
    _, loops = reverse(name, "loops", backend)
    np.testing.assert_allclose(loops, vectorized, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,version", FORWARD)
def test_forward_mode(name, version, backend):
    """jvp along 3 random directions == gradient . direction (1e-8), the gradient being
    the vectorized version's by reverse mode where it has one; where it has none, the
    directional derivative by Richardson-extrapolated central differences."""
    case = CASES[name]
    _, tangents = forward(name, version, backend)
    for v, tangent in zip(directions(name), tangents):
        if "vectorized" in case.forward_only:
            expected = fd_directional(name, v)
        else:
            expected = reverse(name, "vectorized", backend)[1] @ v
        np.testing.assert_allclose(tangent, expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted({name for name, _ in FORWARD
                                          if (name, "vectorized") in FORWARD
                                          and (name, "loops") in FORWARD}))
def test_forward_modes_of_both_versions_agree(name, backend):
    _, vectorized = forward(name, "vectorized", backend)
    _, loops = forward(name, "loops", backend)
    np.testing.assert_allclose(loops, vectorized, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bundle_adjustment_weight_error(backend):
    w = bundle_adjustment.make_data(seed=0)[2]
    value, grad = adgen.value_and_grad(bundle_adjustment.weight_error, backend=backend)(w)
    assert value == pytest.approx(1.0 - w * w, rel=1e-15)
    assert grad == pytest.approx(-2.0 * w, rel=1e-15)


# independent references ----------------------------------------------------------------
def gmm_reference(alphas, means, icf, x, wishart_gamma, wishart_m):
    """ADBench's GMM objective evaluated directly: dense Q_k, scipy's logsumexp and
    multigammaln."""
    n, d = x.shape
    k = alphas.shape[0]
    Qs = np.zeros((k, d, d))
    for c in range(k):
        Qs[c][np.diag_indices(d)] = np.exp(icf[c, :d])
        t = d
        for col in range(d):           # strictly lower part, column by column
            for row in range(col + 1, d):
                Qs[c, row, col] = icf[c, t]
                t += 1
    sum_qs = icf[:, :d].sum(axis=1)
    main = np.empty((n, k))
    for i in range(n):
        for c in range(k):
            v = Qs[c] @ (x[i] - means[c])
            main[i, c] = alphas[c] + sum_qs[c] - 0.5 * v @ v
    likelihood = (-n * d * 0.5 * np.log(2 * np.pi) + scipy.special.logsumexp(main, axis=1).sum()
                  - n * scipy.special.logsumexp(alphas))
    n_w = d + wishart_m + 1
    C = n_w * d * (np.log(wishart_gamma) - 0.5 * np.log(2)) \
        - scipy.special.multigammaln(0.5 * n_w, d)
    prior = sum(0.5 * wishart_gamma ** 2 * np.sum(Qs[c] ** 2) - wishart_m * sum_qs[c]
                for c in range(k)) - k * C
    return likelihood + prior


@pytest.mark.parametrize("wishart", [(1.0, 0), (1.3, 2), (0.7, 5)])
@pytest.mark.parametrize("size", [(1, 1, 1), (2, 3, 4), (3, 4, 5), (5, 2, 3)])
def test_gmm_matches_scipy_reference(size, wishart):
    d, k, n = size
    args = gmm.make_data(d, k, n, seed=7, wishart_gamma=wishart[0], wishart_m=wishart[1])
    expected = gmm_reference(*args)
    assert gmm.gmm_objective_vectorized(*args) == pytest.approx(expected, rel=1e-12)
    assert gmm.gmm_objective_loops(*args) == pytest.approx(expected, rel=1e-12)
    assert gmm.gmm_objective_scratch(*args) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3, 5])
@pytest.mark.parametrize("two_a", [5, 6, 9, 14])
def test_gmm_log_multigamma(two_a, p):
    assert gmm.log_multigamma_half(two_a, p) == \
        pytest.approx(scipy.special.multigammaln(0.5 * two_a, p), rel=1e-13, abs=1e-13)


def test_svm_data_keeps_away_from_the_kink():
    """Finite differences of the hinge are exact only if no margin is within a step of 1."""
    w, b, X, y, lam = CASES["svm"].args
    margins = y * (X @ w + b)
    assert np.min(np.abs(1.0 - margins)) > 1e-3
    assert np.any(margins < 1.0) and np.any(margins > 1.0)


# JAX (optional) -------------------------------------------------------------------------
def on_jax_numpy(module, jnp, keep=()):
    """The module's functions with `np` bound to jax.numpy (helpers named in `keep`, which
    build constants by writing into arrays, stay on NumPy)."""
    namespace = dict(vars(module))
    namespace["np"] = jnp
    for key, obj in vars(module).items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__ \
                and key not in keep:
            namespace[key] = types.FunctionType(obj.__code__, namespace, obj.__name__,
                                                obj.__defaults__, obj.__closure__)
    return types.SimpleNamespace(**namespace)


def test_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = importlib.import_module("jax.numpy")
    for name, case in CASES.items():
        f = getattr(on_jax_numpy(case.module, jnp, case.numpy_helpers), case.vectorized)
        args = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in case.args]
        rows = []
        for cotangent in case.cotangents:
            def scalar(*a, cotangent=cotangent):
                out = f(*a)
                outs = out if isinstance(out, tuple) else (out,)
                return sum(c * o for c, o in zip(cotangent, outs))
            grads = jax.grad(scalar, argnums=case.argnums)(*args)
            rows.append(flat([np.asarray(g) for g in grads]))
        expected = np.array(rows)
        if "vectorized" in case.forward_only:
            for v, tangent in zip(directions(name), forward(name, "vectorized", "python")[1]):
                np.testing.assert_allclose(tangent, expected @ v, rtol=1e-9, atol=1e-12,
                                           err_msg=name)
        else:
            np.testing.assert_allclose(reverse(name, "vectorized", "python")[1], expected,
                                       rtol=1e-9, atol=1e-12, err_msg=name)
