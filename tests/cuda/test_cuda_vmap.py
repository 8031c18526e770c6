"""adgen.vmap(..., backend="cuda"): per-sample kernels on the simulator (or a GPU).

Each result is compared, sample by sample, with the CPU numba back end's result for
that sample (to 1e-12) and, for gradients, with central finite differences.
"""

import math

import numpy as np
import pytest
from cuda_objectives import LOOP_LINE, branchy, call_option, doubling, logistic, rk4, two_outputs

import adgen
from adgen.cuda import vmap

N = 13  # not a multiple of the block size: the grid-stride loop's tail is exercised
RNG = np.random.default_rng(7)
R = 3.5 + 0.4 * RNG.random(N)
X0 = 0.1 + 0.8 * RNG.random(N)


def per_sample(transformed, *columns):
    """The transform called on the CPU (numba back end) for every sample."""
    return [transformed(*[c[i] if isinstance(c, np.ndarray) else c for c in columns])
            for i in range(N)]


def leaves(tree):
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def assert_matches_cpu(batched, reference):
    """Every output array of `batched` equals, sample by sample, the CPU results."""
    outs = leaves(batched)
    rows = [leaves(r) for r in reference]
    assert all(len(row) == len(outs) for row in rows)
    for j, out in enumerate(outs):
        assert isinstance(out, np.ndarray) and out.shape == (N,)
        expected = np.array([row[j] for row in rows])
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def central_difference(f, args, k, h=1e-6):
    up, down = list(args), list(args)
    up[k] += h
    down[k] -= h
    return (f(*up) - f(*down)) / (2 * h)


def test_logistic_map_gradient_matches_cpu_and_finite_differences():
    g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
    dr, dx0 = vmap(g, in_axes=(0, 0, None))(R, X0, 8)
    assert_matches_cpu((dr, dx0), per_sample(g, R, X0, 8))
    for i in range(N):
        args = [R[i], X0[i], 8]
        assert dr[i] == pytest.approx(central_difference(logistic, args, 0), rel=1e-5)
        assert dx0[i] == pytest.approx(central_difference(logistic, args, 1), rel=1e-5)


@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "jvp", "vjp", "hvp", "hessian"])
def test_every_transform_of_a_loop_with_branches(kind):
    t = getattr(adgen, kind)(branchy, argnums=(0, 1), static_argnums=2)
    extra = {"jvp": [np.linspace(-1, 1, N), np.ones(N)], "hvp": [np.ones(N),
             np.linspace(0, 2, N)], "vjp": [np.linspace(0.5, 1.5, N)]}.get(kind, [])
    out = vmap(t, in_axes=(0, 0, None) + (0,) * len(extra))(R, X0, 5, *extra)
    assert_matches_cpu(out, per_sample(t, R, X0, 5, *extra))


def test_single_argnum_broadcast_scalar_and_threads_override():
    """A broadcast float (in_axes=None, not static), one argnum (one array back), and a
    launch of one block of 4 threads covering 13 samples."""
    g = adgen.grad(logistic, argnums=1, static_argnums=2)
    dx0 = vmap(g, in_axes=(None, 0, None), threads_per_block=4, blocks=1)(3.7, X0, 6)
    assert isinstance(dx0, np.ndarray)
    assert_matches_cpu(dx0, per_sample(g, 3.7, X0, 6))


def test_ode_sensitivities_rk4():
    """d loss / d (u0, v0, a) of an RK4 integration per sample, theta partly broadcast."""
    g = adgen.grad(rk4, argnums=(0, 1, 2), static_argnums=7)
    u0, v0 = 4.0 + RNG.random(N), 2.0 + RNG.random(N)
    a = 1.1 + 0.05 * RNG.random(N)
    out = vmap(g, in_axes=(0, 0, 0, None, None, None, None, None))(u0, v0, a, 0.4, 0.1, 0.4,
                                                                   0.05, 4)
    assert_matches_cpu(out, per_sample(g, u0, v0, a, 0.4, 0.1, 0.4, 0.05, 4))
    i = 3
    args = [u0[i], v0[i], a[i], 0.4, 0.1, 0.4, 0.05, 4]
    assert out[0][i] == pytest.approx(central_difference(rk4, args, 0), rel=1e-6)


def test_option_greeks_with_a_batched_integer_flag():
    """Delta and vega of calls and puts: a batched int argument picks the branch."""
    vg = adgen.value_and_grad(call_option, argnums=(0, 2))
    s = 90.0 + 20.0 * RNG.random(N)
    sigma = 0.1 + 0.3 * RNG.random(N)
    flag = (np.arange(N) % 2).astype(np.int64)
    value, (delta, vega) = vmap(vg, in_axes=(0, None, 0, None, 0))(s, 100.0, sigma, 1.5, flag)
    assert_matches_cpu((value, delta, vega), per_sample(vg, s, 100.0, sigma, 1.5, flag))
    for i in (0, 1):
        args = [s[i], 100.0, sigma[i], 1.5, int(flag[i])]
        assert delta[i] == pytest.approx(central_difference(call_option, args, 0), rel=1e-6)


def test_plain_function_with_two_outputs():
    a, b = vmap(two_outputs)(R, X0)
    np.testing.assert_allclose(a, R * X0, rtol=1e-15)
    np.testing.assert_allclose(b, np.sin(R) + X0, rtol=1e-14)


def test_device_arrays_stay_on_the_device():
    from numba import cuda

    g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
    dr, dx0 = vmap(g, in_axes=(0, 0, None))(cuda.to_device(R), X0, 4)
    assert not isinstance(dr, np.ndarray) and hasattr(dr, "copy_to_host")
    host = vmap(g, in_axes=(0, 0, None))(R, X0, 4)
    np.testing.assert_array_equal(dr.copy_to_host(), host[0])
    np.testing.assert_array_equal(dx0.copy_to_host(), host[1])


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_cpu_backends_agree_with_cuda(backend):
    g = adgen.grad(branchy, argnums=(0, 1), static_argnums=2)
    on_gpu = vmap(g, in_axes=(0, 0, None))(R, X0, 5)
    on_cpu = vmap(g, in_axes=(0, 0, None), backend=backend)(R, X0, 5)
    for a, b in zip(on_gpu, on_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_cpu_backend_needs_no_static_trip_count():
    g = adgen.grad(logistic, argnums=(0, 1))
    out = vmap(g, in_axes=(0, 0, None), backend="python")(R, X0, 6)
    assert_matches_cpu(out, per_sample(g, R, X0, 6))


def test_generated_kernel_source_is_readable_and_cached(tmp_path):
    g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
    v = vmap(g, in_axes=(0, 0, None))
    text = v.source(R, X0, 7)
    assert "@cuda.jit(device=True)" in text
    assert "x_tape = cuda.local.array(7, numba.float64)" in text
    assert "np.empty" not in text
    assert "for i in range(cuda.grid(1), r_bar_out.shape[0], cuda.gridsize(1)):" in text
    assert "result = logistic_grad(r[i], x0[i], 7)" in text
    assert "# line" in text  # the user's lines, as in the CPU source
    import os

    cache = os.environ["ADGEN_CACHE_DIR"]
    assert any(name.startswith("logistic_grad_vmap_cuda_") for name in os.listdir(cache))


# errors ------------------------------------------------------------------------------------
def test_trip_count_not_static_names_the_loop_and_the_fix():
    g = adgen.grad(logistic, argnums=(0, 1))
    with pytest.raises(adgen.AdgenTypeError) as info:
        vmap(g, in_axes=(0, 0, None))(R, X0, 6)
    message = str(info.value)
    assert f"cuda_objectives.py line {LOOP_LINE} (`for i in range(n):`)" in message
    assert "'n'" in message and "static_argnums=2" in message


def test_growable_tape_of_a_while_loop_is_refused():
    with pytest.raises(adgen.AdgenTypeError, match="while.*growable tape"):
        vmap(adgen.grad(doubling))(X0)


def test_mismatched_batch_sizes():
    g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
    with pytest.raises(adgen.AdgenTypeError, match="mismatched batch sizes.*'x0' has 12"):
        vmap(g, in_axes=(0, 0, None))(R, X0[:12], 4)


def test_wrong_in_axes():
    g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
    with pytest.raises(adgen.AdgenTypeError, match="in_axes has 2 entries for 3 arguments"):
        vmap(g, in_axes=(0, 0))(R, X0, 4)
    with pytest.raises(adgen.AdgenTypeError, match="0 .batched. or None"):
        vmap(g, in_axes=(0, 1, None))
    with pytest.raises(adgen.AdgenTypeError, match="'n' is static"):
        vmap(g, in_axes=0)(R, X0, np.full(N, 4))
    with pytest.raises(adgen.AdgenTypeError, match="'r' is an array with in_axes=None"):
        vmap(g, in_axes=(None, 0, None))(R, X0, 4)
    with pytest.raises(adgen.AdgenTypeError, match="has shape \\(13, 2\\)"):
        vmap(g, in_axes=(0, 0, None))(R, np.ones((N, 2)), 4)
    with pytest.raises(adgen.AdgenTypeError, match="at least one batched argument"):
        vmap(g, in_axes=None)(3.7, 0.5, 4)
    with pytest.raises(adgen.AdgenTypeError, match="in_axes=0 but is a float"):
        vmap(g, in_axes=(0, 0, None))(R, 0.5, 4)
    with pytest.raises(ValueError, match="unknown vmap backend"):
        vmap(g, backend="opencl")


def test_zero_samples():
    g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
    dr, dx0 = vmap(g, in_axes=(0, 0, None))(np.empty(0), np.empty(0), 4)
    assert dr.shape == (0,) and dx0.shape == (0,)


def test_launch_config():
    from adgen.cuda import launch_config, simulator

    assert launch_config(10 ** 6, threads_per_block=128, blocks=7) == (7, 128)
    blocks, threads = launch_config(N)
    assert blocks * threads >= min(N, blocks * threads) and threads >= 1
    if simulator():
        assert threads <= 32 and blocks <= 4
    with pytest.raises(ValueError):
        launch_config(10, threads_per_block=0)


def test_math_agrees_with_numpy():
    """Sanity of the comparison itself: CPU numba equals the closed form."""
    g = adgen.grad(logistic, argnums=0, static_argnums=2)
    assert g(3.7, 0.3, 1) == pytest.approx(0.3 * 0.7)
    assert math.isfinite(g(3.7, 0.3, 8))
