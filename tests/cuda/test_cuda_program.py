"""`backend="cuda"` on the transforms: the generated NumPy code as a CUDA array program
(adgen/cuda/program.py), its fused element-wise kernels, reductions and products.

Every result is compared with the python back end running the same generated code
on NumPy (to 1e-12; most agree to the last bit), on the corpus of objectives, every
element-wise primitive of the registry and the activations, for every transform
kind; an MLP trains on the device with the project's optimizers, its parameters
never leaving it, along the same trajectory as on the CPU.
"""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.cuda import ops
from adgen.cuda.elementwise import elementwise, is_device_array
from adgen.cuda.reduce import reduce
from adgen.primitives.registry import _REGISTRY

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests" / "primitives"))
sys.path.insert(0, str(ROOT / "tests" / "objectives"))

from objectives import mlp  # noqa: E402
from samplers import SAMPLERS  # noqa: E402

TOL = 1e-12


def host(x):
    if isinstance(x, (tuple, list)):
        return tuple(host(v) for v in x)
    return x.copy_to_host() if is_device_array(x) else x


def assert_close(got, expected, tol=TOL, what=""):
    got, expected = host(got), host(expected)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected), what
        for g, e in zip(got, expected):
            assert_close(g, e, tol, what)
        return
    g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert g.shape == e.shape, (what, g.shape, e.shape)
    assert np.allclose(g, e, rtol=tol, atol=tol, equal_nan=True), (what, g, e)


def to_device(args):
    from numba import cuda

    return tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args)


# the corpus -----------------------------------------------------------------------------------
def _cases():
    import test_objectives

    out = []
    for key, case in test_objectives.CASES.items():
        # two outputs: a vjp; the RK4 ODE's 4 x 30 steps of launches take half a minute on
        # the simulator (its time loop is the logistic map's, tested here)
        if case.outputs != 1 or key == "ode":
            continue
        out.append(pytest.param(case, "vectorized", id=f"{key}-vectorized"))
    # loops run on the host, element reads and undo logs one element at a time: slow on
    # the simulator, so two of them
    for key in ("logistic_map", "mlp"):
        out.append(pytest.param(test_objectives.CASES[key], "loops", id=f"{key}-loops"))
    return out


@pytest.mark.parametrize("case, version", _cases())
def test_corpus_gradients_equal_the_python_backend(case, version):
    fn = case.function(version)
    expected = adgen.value_and_grad(fn, argnums=case.argnums, backend="python")(*case.args)
    on_device = adgen.value_and_grad(fn, argnums=case.argnums, backend="cuda")
    got = on_device(*to_device(case.args))
    if version == "vectorized":  # (a loops version computes from host scalars)
        assert is_device_array(got[0]) and got[0].shape == ()  # the value stays there
        assert all(is_device_array(g) for g in got[1])
    assert_close(got, expected, 1e-12, version)


def test_checkpointed_loops_run_on_the_device():
    """memory_budget= (binomial checkpointing): the schedule's helpers run on the host."""
    from objectives.logistic_map import logistic_map_vectorized

    r, x0 = np.full(4, 3.0), np.linspace(0.2, 0.6, 4)
    expected = adgen.grad(logistic_map_vectorized, argnums=(0, 1), backend="python")(r, x0, 40)
    got = adgen.grad(logistic_map_vectorized, argnums=(0, 1), backend="cuda",
                     memory_budget=400)(r, x0, 40)
    assert_close(got, expected)


def test_numpy_arguments_are_moved_to_the_device():
    args = mlp.make_data(12, 5, 4, 3, 1)
    expected = adgen.grad(mlp.mlp_vectorized, argnums=(0, 2), backend="python")(*args)
    got = adgen.grad(mlp.mlp_vectorized, argnums=(0, 2), backend="cuda")(*args)
    assert_close(got, expected)


# every transform kind ---------------------------------------------------------------------------
def _logistic(w, X, y):
    z = X @ w
    return np.sum(np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))) - y * z) / X.shape[0]


@pytest.fixture(scope="module")
def logistic_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 4))
    return rng.normal(size=4), X, (rng.random(20) > 0.5).astype(float), rng.normal(size=4)


@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "jvp", "vjp", "hvp", "hessian"])
def test_every_kind_equals_the_python_backend(kind, logistic_data):
    w, X, y, v = logistic_data
    extra = {"jvp": (v,), "hvp": (v,), "vjp": (1.0,)}.get(kind, ())
    expected = getattr(adgen, kind)(_logistic, backend="python")(w, X, y, *extra)
    transform = getattr(adgen, kind)(_logistic, backend="cuda")
    assert_close(transform(w, X, y, *extra), expected, what=kind)
    assert_close(transform(*to_device((w, X, y)), *to_device(extra)), expected, what=kind)


def test_gradient_agrees_with_finite_differences(logistic_data):
    w, X, y, v = logistic_data
    g = host(adgen.grad(_logistic, backend="cuda")(w, X, y))
    h = 1e-6
    fd = (_logistic(w + h * v, X, y) - _logistic(w - h * v, X, y)) / (2 * h)
    assert abs(g @ v - fd) < 1e-8


# every element-wise primitive, and the activations ----------------------------------------------
def _array_spelling(name):
    """`numpy.<f>` or the operator that reaches primitive `name` with arrays, or None."""
    from test_registry_audit import OPERATOR_FORMS

    if name in OPERATOR_FORMS:
        return OPERATOR_FORMS[name]
    for pyname in _REGISTRY[name].python_names:
        if pyname.startswith("numpy."):
            return pyname + "({args})"
    return None


def _elementwise_primitives():
    from test_registry_audit import REACHABLE

    return [n for n in REACHABLE if _array_spelling(n) is not None]


def test_the_audit_reaches_the_elementwise_primitives():
    names = _elementwise_primitives()
    for expected in ("add", "mul", "div", "pow", "exp", "log", "tanh", "sqrt", "arctan2",
                     "maximum", "where", "clip", "abs"):
        assert expected in names, expected


@pytest.fixture(scope="module")
def primitive_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cuda_primitives")
    lines = ["import math", "import numpy", ""]
    for name in _elementwise_primitives():
        arity = len(SAMPLERS[name](np.random.default_rng(0)))
        params = ", ".join(f"x{i}" for i in range(arity))
        template = _array_spelling(name)
        expr = (template.format(args=params) if "{args}" in template
                else template.format(*[f"x{i}" for i in range(arity)]))
        lines += ["", f"def prim_{name}({params}):", f"    return {expr}", ""]
    path = folder / "cuda_primitives.py"
    path.write_text("\n".join(lines), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("adgen_cuda_primitives", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", _elementwise_primitives())
def test_elementwise_derivative_kernels_of_every_primitive(name, primitive_module):
    """vjp and jvp of the primitive on arrays of 12 points of its domain: cuda == python."""
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    points = [SAMPLERS[name](rng) for _ in range(12)]
    arrays = tuple(np.array([p[k] for p in points]).reshape(3, 4) for k in range(len(points[0])))
    argnums = tuple(k for k, a in enumerate(arrays) if a.dtype == np.float64)
    f = getattr(primitive_module, f"prim_{name}")
    ct = rng.normal(size=(3, 4))
    expected = adgen.vjp(f, argnums=argnums, backend="python")(*arrays, ct)
    assert_close(adgen.vjp(f, argnums=argnums, backend="cuda")(*arrays, ct), expected,
                 what=name)
    tangents = tuple(rng.normal(size=(3, 4)) for _ in argnums)
    expected = adgen.jvp(f, argnums=argnums, backend="python")(*arrays, *tangents)
    assert_close(adgen.jvp(f, argnums=argnums, backend="cuda")(*arrays, *tangents), expected,
                 what=name)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                        "softmax", "log_softmax"])
def test_activation_vjps(activation):
    from adgen.runtime import activations

    f = getattr(activations, activation)
    x = np.random.default_rng(5).normal(size=(4, 6))
    ct = np.random.default_rng(6).normal(size=(4, 6))
    expected = adgen.vjp(f, backend="python")(x, ct)
    assert_close(adgen.vjp(f, backend="cuda")(x, ct), expected, what=activation)


# the generated program ----------------------------------------------------------------------------
def test_program_source_fuses_elementwise_work_and_keeps_the_users_lines():
    args = mlp.make_data(8, 5, 4, 3, 0)
    text = adgen.source(adgen.value_and_grad(mlp.mlp_vectorized, argnums=(0, 1, 2, 3),
                                             backend="cuda"), *args)
    assert "# backend: cuda (array program" in text
    assert "@_cu.elementwise\ndef pre_bar_expr(H, tmp_42):\n    return (1.0 - H * H) * tmp_42" \
        in text
    assert "pre_bar = _cu.sum_like(pre_bar_expr(H, tmp_42), pre)" in text
    assert "tmp = _cu.dot(X, W1)" in text and "np.dot" not in text
    assert "    # line 29: H = np.tanh(pre)\n    H = H_expr(pre)" in text
    assert "tmp_6_bar = -(1.0 / n)" in text  # scalar code stays on the host
    assert "atomic" not in text


def _until_large(x, y):
    s = np.sum(x)
    while s < 100.0:
        s = s * s * 0.5 + y
    return s


def test_unsupported_operations_name_the_users_line():
    # the reverse sweep of a while loop grows its tape on the host (`_adgen.push`)
    with pytest.raises(adgen.AdgenTypeError, match=r"`_adgen.push\(...\)` at line \d+ "
                       r"\(`while s < 100.0:`\) has no form on the CUDA array back end"):
        adgen.grad(_until_large, argnums=1, backend="cuda")(np.ones(3), 2.0)


# reductions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["sum", "max", "min", "prod", "mean"])
def test_reductions_over_any_axes(how):
    from numba import cuda

    x = np.random.default_rng(1).normal(size=(3, 4, 5))
    dx = cuda.to_device(x)
    for axes in (None, 0, 1, 2, (0, 2), (1, 2)):
        for keepdims in (False, True):
            got = reduce(dx, axes, how, keepdims).copy_to_host()
            assert_close(got, getattr(np, how)(x, axis=axes, keepdims=keepdims), 1e-13,
                         (how, axes))


def test_max_and_min_propagate_nan():
    from numba import cuda

    x = np.arange(12.0).reshape(3, 4)
    x[1, 2] = np.nan
    got = reduce(cuda.to_device(x), 1, "max").copy_to_host()
    assert np.isnan(got[1]) and got[0] == 3.0 and got[2] == 11.0
    assert np.isnan(reduce(cuda.to_device(x), None, "min").copy_to_host())


def test_reductions_are_deterministic_and_atomics_are_opt_in():
    args = mlp.make_data(12, 4, 5, 3, 2)
    plain = adgen.value_and_grad(mlp.mlp_vectorized, argnums=(0, 1, 2, 3), backend="cuda")
    first, second = host(plain(*args)), host(plain(*args))
    for a, b in zip((first[0],) + first[1], (second[0],) + second[1]):
        assert np.array_equal(a, b)  # bitwise, run to run
    atomic = adgen.value_and_grad(mlp.mlp_vectorized, argnums=(0, 1, 2, 3), backend="cuda",
                                  atomics=True)
    assert "atomic=True" in adgen.source(atomic, *args)
    assert_close(atomic(*args), first, 1e-12)
    with pytest.raises(ValueError, match="atomics"):
        adgen.grad(mlp.mlp_vectorized, atomics=True)


# fused kernels ------------------------------------------------------------------------------------
def test_elementwise_broadcasts_like_numpy_and_returns_several_outputs():
    @elementwise
    def both(a, b, c):
        return a * b + c, a > b

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 1, 3)), rng.normal(size=(4, 1))
    s, gt = both(a, b, 0.5)
    assert_close(s, a * b + 0.5)
    assert host(gt).dtype == np.bool_ and np.array_equal(host(gt), a > b)
    assert both(2.0, 1.0, 0.5) == (2.5, True)  # no array: the scalar function itself
    zero_d = both(np.array(2.0), 3.0, 1.0)[0]
    assert zero_d.shape == () and host(zero_d) == 7.0


def test_setitem_writes_elements_and_slices_on_the_device():
    from numba import cuda

    a = cuda.to_device(np.zeros((3, 4)))
    ops.setitem(a, (1, slice(0, 2)), cuda.to_device(np.array([5.0, 6.0])))
    ops.setitem(a, (2, 3), reduce(cuda.to_device(np.ones(4))))  # a 0-d device value
    ops.setitem(a, 0, 1.5)
    expected = np.zeros((3, 4))
    expected[1, :2] = [5.0, 6.0]
    expected[2, 3] = 4.0
    expected[0] = 1.5
    assert np.array_equal(a.copy_to_host(), expected)


def test_dot_reads_transposes_without_copying():
    from numba import cuda

    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    At = ops.transpose(cuda.to_device(A))
    assert isinstance(At, ops.Transposed)
    assert_close(ops.dot(At, cuda.to_device(B)), A.T @ B)
    assert_close(ops.dot(cuda.to_device(A[0]), cuda.to_device(A[1])), A[0] @ A[1])
    assert_close(ops.dot(cuda.to_device(A), cuda.to_device(A[0, :3].copy())), A @ A[0, :3])


# training on the device ---------------------------------------------------------------------------
def test_mlp_trains_on_the_device_along_the_cpu_trajectory(monkeypatch):
    from numba import cuda

    from adgen.runtime.optimizers import adam

    W1, b1, W2, b2, X, Y = mlp.make_data(8, 4, 5, 3, 4)
    cpu_step = adgen.value_and_grad(mlp.mlp_vectorized, argnums=(0, 1, 2, 3), backend="python")
    gpu_step = adgen.value_and_grad(mlp.mlp_vectorized, argnums=(0, 1, 2, 3), backend="cuda")
    opt = adam(0.05)

    cpu_params, cpu_state, cpu_losses = (W1, b1, W2, b2), opt.init((W1, b1, W2, b2)), []
    gpu_params = tuple(cuda.to_device(p) for p in (W1, b1, W2, b2))
    gpu_state = opt.init(gpu_params)
    dX, dY = cuda.to_device(X), cuda.to_device(Y)
    gpu_step(*gpu_params, dX, dY)  # generate and compile before watching the copies

    copies = []
    real_copy = type(dX).copy_to_host
    monkeypatch.setattr(type(dX), "copy_to_host",
                        lambda self, *a, **k: copies.append(1) or real_copy(self, *a, **k))
    gpu_losses = []
    for _ in range(10):
        loss, grads = cpu_step(*cpu_params, X, Y)
        cpu_losses.append(loss)
        cpu_params, cpu_state = opt.update(grads, cpu_state, cpu_params)
        loss, grads = gpu_step(*gpu_params, dX, dY)
        gpu_losses.append(loss)  # a 0-d device array: nothing waits for the device
        gpu_params, gpu_state = opt.update(grads, gpu_state, gpu_params)
        assert all(is_device_array(p) for p in gpu_params + gpu_state.mu + gpu_state.nu)
    assert not copies, "a training step copied an array back to the host"
    monkeypatch.undo()

    losses = [float(host(v)) for v in gpu_losses]
    assert losses[-1] < 0.5 * losses[0]
    assert_close(tuple(losses), tuple(cpu_losses), 1e-10)
    assert_close(tuple(host(p) for p in gpu_params), cpu_params, 1e-10)
    assert math.isfinite(losses[-1])
