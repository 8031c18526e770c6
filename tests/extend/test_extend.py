"""Users extend adgen (issue 9): registered primitives, custom_jvp / custom_vjp,
black boxes, stop_gradient, non-differentiable arguments and Numba interop.

Every derivative through a user rule is checked with the public `adgen.testing`
helpers (finite differences, forward vs reverse) or against a closed form.
"""

import math
import re
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.special

import adgen
from adgen.errors import AdgenSyntaxError, AdgenTypeError
from adgen.testing import check_grads, check_jvp, check_vjp

BACKENDS = ("python", "numba")
GOLDEN = Path(__file__).parent.parent / "golden"


# a numerically stable softplus, element-wise: only its partial derivative is given ----------
def softplus_partial(x):
    return 1.0 / (1.0 + math.exp(-x))


@adgen.primitive(partials=softplus_partial)
def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def softplus_model(x, y):
    s = 0.0
    for i in range(4):
        if x > 0.1 * i:
            s += softplus(x * y - i)
        else:
            s += softplus(y) * x
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_partials_primitive_all_modes(backend):
    for point in [(0.7, -0.4), (0.05, 1.3), (1.9, 2.2)]:
        # reverse, forward and forward-over-reverse (order 2 uses adgen.hessian)
        check_grads(softplus_model, point, argnums=(0, 1), order=2, backend=backend)
        check_jvp(softplus_model, point, argnums=(0, 1), backend=backend)
        check_vjp(softplus_model, point, argnums=(0, 1), backend=backend)


def softplus_of_square(x):
    return softplus(x * x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reverse_over_reverse_through_a_user_rule(backend):
    d1 = adgen.grad(softplus_of_square, backend=backend)
    d2 = adgen.grad(d1, backend=backend)
    for x in (-1.3, 0.2, 0.9):
        s = 1.0 / (1.0 + math.exp(-x * x))
        assert d1(x) == pytest.approx(2 * x * s, rel=1e-13)
        # d/dx (2 x s(x^2)) = 2 s + 4 x^2 s (1 - s)
        expected = 2 * s + 4 * x * x * s * (1 - s)
        assert d2(x) == pytest.approx(expected, rel=1e-12)
        assert adgen.hessian(softplus_of_square, backend=backend)(x) == pytest.approx(
            expected, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stable_rule_where_the_naive_derivative_overflows(backend):
    # d/dx log(1 + exp(x)) written out is exp(x) / (1 + exp(x)) = inf / inf at x = 800
    assert adgen.grad(softplus, backend=backend)(800.0) == 1.0
    assert adgen.grad(softplus, backend=backend)(-800.0) == 0.0
    assert adgen.grad(softplus, backend=backend)(0.0) == 0.5


# only one rule given: the other is its transpose -----------------------------------------------
def cube_vjp(x, g):
    return 3.0 * x * x * g


@adgen.primitive(vjp=cube_vjp)
def cube(x):
    return x * x * x


def cube_model(x):
    return cube(math.sin(x)) * x


def hyp_jvp(x, y, tx, ty):
    return (x * tx + y * ty) / hyp(x, y)


@adgen.primitive(jvp=hyp_jvp)
def hyp(x, y):
    return math.sqrt(x * x + y * y)


def hyp_model(x, y):
    return hyp(x * y, x + 1.0) ** 2 + hyp(y, 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_only_and_jvp_only_primitives(backend):
    for x in (0.7, -1.1):
        check_grads(cube_model, (x,), order=2, backend=backend)
        check_vjp(cube_model, (x,), backend=backend)
    for point in [(0.7, 0.4), (-1.3, 2.0)]:
        check_grads(hyp_model, point, argnums=(0, 1), order=2, backend=backend)
        check_vjp(hyp_model, point, argnums=(0, 1), backend=backend)


# arrays: a logsumexp with an adjoint rule only ------------------------------------------------
def logsumexp_vjp(x, g):
    return g * np.exp(x - logsumexp(x))


@adgen.primitive(vjp=logsumexp_vjp)
def logsumexp(x):
    m = np.max(x)
    return m + math.log(np.sum(np.exp(x - m)))


def lse_model(x):
    return logsumexp(x * x) * 2.0 + logsumexp(np.sin(x))


def _fd_gradient(f, x, h=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_array_primitive_with_an_adjoint_rule(backend):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5)
    x0 = x.copy()
    g = adgen.grad(lse_model, backend=backend)(x)
    np.testing.assert_allclose(g, _fd_gradient(lse_model, x), rtol=1e-7)
    v = rng.standard_normal(5)
    value, tangent = adgen.jvp(lse_model, backend=backend)(x, v)   # transposed rule
    assert value == pytest.approx(lse_model(x), rel=1e-14)
    assert tangent == pytest.approx(float(g @ v), rel=1e-12)
    hv = adgen.hvp(lse_model, backend=backend)(x, v)
    fd_hv = (adgen.grad(lse_model, backend=backend)(x + 1e-6 * v)
             - adgen.grad(lse_model, backend=backend)(x - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(hv, fd_hv, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, x0)


# JAX-style decorators --------------------------------------------------------------------------
@adgen.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))   # np.exp: inf past 709 where math.exp raises


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + math.exp(x)))


def log1pexp_model(x, y):
    return log1pexp(x * y) + x


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_jvp(backend):
    # the rule is used in both modes: finite at x = 800 where exp(x) / (1 + exp(x)) is nan
    assert adgen.grad(log1pexp, backend=backend)(800.0) == 1.0
    assert adgen.jvp(log1pexp, backend=backend)(800.0, 1.0)[1] == 1.0
    for point in [(0.3, 1.5), (-2.0, 0.7)]:
        check_grads(log1pexp_model, point, argnums=(0, 1), order=2, backend=backend)
        check_vjp(log1pexp_model, point, argnums=(0, 1), backend=backend)


@adgen.custom_vjp
def safe_norm(x, y):
    return math.sqrt(x * x + y * y)


def safe_norm_fwd(x, y):
    r = math.sqrt(x * x + y * y)
    return r, (x, y, r)


def safe_norm_bwd(res, g):
    x, y, r = res
    if r == 0.0:
        return 0.0, 0.0   # a subgradient where the true derivative does not exist
    return g * x / r, g * y / r


safe_norm.defvjp(safe_norm_fwd, safe_norm_bwd)


def norm_model(x, y):
    return safe_norm(x - 1.0, y) * (1.0 + x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_vjp_with_residuals_and_forward_mode(backend):
    for point in [(0.3, 1.5), (2.0, -0.7)]:
        check_grads(norm_model, point, argnums=(0, 1), order=2, backend=backend)
        check_vjp(norm_model, point, argnums=(0, 1), backend=backend)
    # at the kink the rule's branch is taken: 0, where sqrt would give 0/0 = nan
    assert adgen.grad(safe_norm, argnums=(0, 1), backend=backend)(0.0, 0.0) == (0.0, 0.0)


@adgen.custom_vjp
def doubled(x):
    return x


def doubled_fwd_ok(x):
    return x, x


def doubled_bwd_ok(res, g):
    return (2.0 * g,)


doubled.defvjp(doubled_fwd_ok, doubled_bwd_ok)


def doubled_sin(x):
    return doubled(math.sin(x)) * 3.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_vjp_rule_is_what_reverse_mode_uses(backend):
    x = 0.4
    # the rule says d doubled/dx = 2, so the gradient is 2 * 3 cos(x), not 3 cos(x)
    assert adgen.grad(doubled_sin, backend=backend)(x) == pytest.approx(6 * math.cos(x),
                                                                        rel=1e-15)
    # forward mode transposes the same rule: consistent with reverse mode, never silently
    # the derivative of the implementation
    value, tangent = adgen.jvp(doubled_sin, backend=backend)(x, 1.0)
    assert value == pytest.approx(3 * math.sin(x), rel=1e-15)
    assert tangent == pytest.approx(6 * math.cos(x), rel=1e-15)


# a planted wrong rule is caught ----------------------------------------------------------------
def sine_jvp(x, t):
    return math.cos(x) * t


def wrong_sine_vjp(x, g):
    return 1.1 * math.cos(x) * g


@adgen.primitive(jvp=sine_jvp, vjp=wrong_sine_vjp)
def planted_sine(x):
    return math.sin(x)


def planted_model(x, y):
    return planted_sine(x * y) + y


def test_check_vjp_catches_a_wrong_adjoint_rule():
    check_jvp(planted_model, (0.3, 0.8), argnums=(0, 1))     # the tangent rule is right
    with pytest.raises(AssertionError, match=r"<J v, w>"):
        check_vjp(planted_model, (0.3, 0.8), argnums=(0, 1))
    with pytest.raises(AssertionError, match="reverse mode"):
        check_grads(planted_model, (0.3, 0.8), argnums=(0, 1))


# black boxes -----------------------------------------------------------------------------------
def erfcx_partial(x):
    return 2.0 * x * scipy.special.erfcx(x) - 2.0 / math.sqrt(math.pi)


def erfcx_model(x):
    return scipy.special.erfcx(x * x) * x


def test_unregistered_black_box_is_refused_with_a_hint():
    def uses_gammaln(x):
        return scipy.special.gammaln(x) * x

    with pytest.raises(AdgenSyntaxError) as info:
        adgen.grad(uses_gammaln, backend="python")(1.5)
    text = str(info.value)
    assert "gammaln" in text and "adgen.primitive(" in text
    assert info.value.diagnostics[0].lineno == uses_gammaln.__code__.co_firstlineno + 1


@numba.njit
def opaque_kernel(x):
    try:
        return x * 2.0
    finally:
        pass


def uses_opaque(x):
    return opaque_kernel(x) + 1.0


def test_njit_function_outside_the_subset_is_refused_with_a_hint():
    with pytest.raises(AdgenSyntaxError) as info:
        adgen.grad(uses_opaque, backend="python")(1.5)
    text = str(info.value)
    assert "njit function opaque_kernel" in text and "adgen.primitive(opaque_kernel" in text
    assert info.value.diagnostics[0].lineno == uses_opaque.__code__.co_firstlineno + 1


@pytest.mark.filterwarnings("ignore:Cannot cache compiled function")  # ctypes: not cacheable
def test_scipy_black_box_with_a_rule():
    adgen.primitive(scipy.special.erfcx, partials=erfcx_partial)
    try:
        # higher orders: the partial calls erfcx itself, which has this very rule
        check_grads(erfcx_model, (0.8,), order=2)
        check_vjp(erfcx_model, (0.8,))
        # Numba cannot call a scipy ufunc: a clear error that says what to do
        with pytest.raises(AdgenTypeError, match="numba_impl"):
            adgen.grad(erfcx_model)(0.8)
        adgen.primitive(scipy.special.erfcx, partials=erfcx_partial, numba_impl=erfcx_numba())
        check_grads(erfcx_model, (0.8,), order=2, backend="numba")
    finally:
        _unregister("erfcx")


def erfcx_numba():
    import ctypes

    from numba.extending import get_cython_function_address

    addr = get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1erfcx")
    erfcx_c = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(addr)

    @numba.njit
    def erfcx(x):
        return erfcx_c(x)

    return erfcx


def _unregister(name):
    from adgen import extend
    from adgen.frontend import resolve
    from adgen.primitives import registry

    del registry._REGISTRY[name]
    del extend._USER[name]
    for key, (_, other) in list(resolve._USER_CALLABLES.items()):
        if other == name:
            del resolve._USER_CALLABLES[key]


# Numba kernels with rules, inside differentiated loops ------------------------------------------
@numba.njit
def bump(x):
    return math.exp(-x * x)


def bump_partial(x):
    return -2.0 * x * bump(x)


adgen.primitive(bump, partials=bump_partial)


def bump_sum(x, n):
    s = 0.0
    i = 0
    while i < n:
        s += bump(x * (i + 1) * 0.1) * x
        i += 1
    return s


def test_njit_kernel_with_rule_in_a_loop_stays_compiled():
    grad = adgen.grad(bump_sum)
    x, n = 0.7, 12
    expected = sum(math.exp(-(x * k * 0.1) ** 2) * (1 - 2 * (x * k * 0.1) ** 2)
                   for k in range(1, n + 1))
    assert grad(x, n) == pytest.approx(expected, rel=1e-13)
    (compiled,) = grad.cache.values()
    assert isinstance(compiled.func, numba.core.registry.CPUDispatcher)
    assert len(compiled.func.nopython_signatures) == 1   # compiled in nopython mode
    assert "bump = _adgen_ext.implementation('bump', 'numba')" in compiled.source
    check_grads(bump_sum, (x, n), order=2, backend="numba")


# stop_gradient and non-differentiable arguments -------------------------------------------------
def damped(x, y, n):
    s = 0.0
    for i in range(n):
        s += math.sin(x * i) * adgen.stop_gradient(math.exp(-y * i))
    return s + x * y


@pytest.mark.parametrize("backend", BACKENDS)
def test_stop_gradient_values(backend):
    x, y, n = 0.6, 0.3, 7
    dx = sum(math.cos(x * i) * i * math.exp(-y * i) for i in range(n)) + y
    assert adgen.grad(damped, backend=backend)(x, y, n) == pytest.approx(dx, rel=1e-13)
    # through y only the x * y term is seen
    assert adgen.grad(damped, argnums=1, backend=backend)(x, y, n) == pytest.approx(x)
    assert damped(x, y, n) == pytest.approx(
        adgen.value_and_grad(damped, backend=backend)(x, y, n)[0], rel=1e-15)


def test_stop_gradient_and_constant_arguments_carry_no_adjoints(request):
    text = re.sub(r"# source: .*", "# source: <file>",
                  adgen.source(adgen.grad(damped, argnums=0), 0.6, 0.3, 7))
    golden = GOLDEN / "stop_gradient_grad.py.txt"
    if request.config.getoption("--update-golden"):
        golden.write_text(text)
    assert text == golden.read_text()
    # x's adjoint (and at most the product's); none for y, n or the stopped exp(-y i)
    adjoints = set(re.findall(r"\b(\w+_bar(?:_\d+)?)\b", text))
    assert any(a.startswith("x_") for a in adjoints) and len(adjoints) <= 2
    assert all(a.startswith(("x_", "tmp_")) for a in adjoints)


# Numba interop ----------------------------------------------------------------------------------
@numba.njit
def jitted_objective(x, y):
    return math.sin(x) * y + x * x


def test_grad_of_an_njit_function_reads_its_python_source():
    g = adgen.grad(jitted_objective, argnums=(0, 1))
    dx, dy = g(0.5, 2.0)
    assert dx == pytest.approx(math.cos(0.5) * 2.0 + 1.0, rel=1e-15)
    assert dy == pytest.approx(math.sin(0.5), rel=1e-15)


def rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def test_generated_gradient_called_from_users_njit_code():
    gradient = adgen.grad(rosenbrock, argnums=(0, 1)).compiled(0.0, 0.0)

    @numba.njit
    def descend(x, y, steps, rate):
        for _ in range(steps):
            gx, gy = gradient(x, y)
            x -= rate * gx
            y -= rate * gy
        return x, y

    x, y = descend(-0.5, 0.5, 20000, 1e-3)
    assert abs(x - 1.0) < 1e-3 and abs(y - 1.0) < 2e-3
    # one step by hand agrees with the compiled loop's first step
    gx, gy = adgen.grad(rosenbrock, argnums=(0, 1))(-0.5, 0.5)
    assert descend(-0.5, 0.5, 1, 1e-3) == pytest.approx((-0.5 - 1e-3 * gx, 0.5 - 1e-3 * gy),
                                                        rel=1e-15)


def scaled_sum(x, n, scale):
    s = 0.0
    for i in range(n):
        s += math.sin(x * i) * scale
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_static_arguments_are_compiled_in(backend):
    g = adgen.grad(scaled_sum, static_argnums=(1, 2), backend=backend)
    for n, scale in [(3, 2.0), (5, -0.5), (3, 2.0)]:
        expected = sum(math.cos(0.5 * i) * i * scale for i in range(n))
        assert g(0.5, n, scale) == pytest.approx(expected, rel=1e-14)
    assert len(g.cache) == 2                    # one specialization per static value
    text = adgen.source(g, 0.5, 3, 2.0)
    assert "range(3)" in text and "2.0" in text   # the values are in the code
    assert "signature: (f64, i64=3, f64=2.0)" in text
    with pytest.raises(ValueError, match="both differentiated"):
        adgen.grad(scaled_sum, argnums=(0, 1), static_argnums=1)
    with pytest.raises(AdgenTypeError, match="'n'"):
        g(0.5, np.array([3]), 2.0)


def test_the_extending_example_runs(capsys):
    import runpy

    example = runpy.run_path(str(Path(__file__).parents[2] / "examples" / "extending.py"),
                             run_name="__main__")
    out = capsys.readouterr().out
    # the loss gradient by hand: softmax(w x) x - x[y] e_y + 0.1 sigmoid(w - 1)
    w, x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.3, -0.7]), 2
    p = np.exp(w * x) / np.sum(np.exp(w * x))
    by_hand = p * x - np.eye(3)[y] * x + 0.1 / (1 + np.exp(-(w - 1)))
    np.testing.assert_allclose(adgen.grad(example["loss"])(w, x, y), by_hand, rtol=1e-14)
    # d/dx log P(Z > x) = -(x + 1/x - 2/x^3) + O(x^-5) far in the tail
    value = float(re.search(r"d/dx log P\(Z > 30\) = (\S+)", out).group(1))
    assert value == pytest.approx(-30.0 - 1 / 30 + 2 / 30 ** 3, rel=1e-7)
    assert abs(float(re.search(r"from z = 2: (\S+)", out).group(1))) < 1e-8


def two(x):
    return 2.0


def test_two_primitives_of_one_name_from_two_modules_stay_apart():
    namespace = {"__name__": "another_module"}
    exec("def softplus(x):\n    return 2.0 * x\n", namespace)
    other = adgen.primitive(namespace["softplus"], partials=two)

    def both(x):
        return softplus(x) + other(x) * x

    x = 0.3
    expected = 1 / (1 + math.exp(-x)) + 4.0 * x
    assert adgen.grad(both, backend="python")(x) == pytest.approx(expected, rel=1e-15)
    from adgen.extend import user_primitive_of

    ours, theirs = user_primitive_of(softplus), user_primitive_of(other)
    assert ours == "softplus" and re.fullmatch(r"softplus_\d+", theirs)
    assert f"{theirs}(x)" in adgen.source(adgen.jvp(both), x, 1.0)


def softplus_of_product(x, y):
    return softplus(x * y) + x


def test_trace_tables_evaluate_user_rules():
    t = adgen.trace(softplus_of_product, 0.5, 2.0)
    sigmoid = 1 / (1 + math.exp(-1.0))
    assert t.primal[-1].value == pytest.approx(math.log1p(math.e) + 0.5, rel=1e-15)
    assert t.tangent[-1].value == pytest.approx(1 + 2 * sigmoid, rel=1e-15)
    assert t.adjoint[-1].value == pytest.approx(0.5 * sigmoid, rel=1e-15)
    assert "softplus" in str(t)
