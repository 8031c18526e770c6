"""Activations, dense, convolution and pooling layers (adgen.runtime): values against
independent references (SciPy, NumPy, definitions written out in this file), and
adgen's gradients against finite differences at random float64 parameters.

* Values: activations against scipy.special; conv1d against np.correlate; conv2d
  against scipy.signal.correlate2d (padding by np.pad, dilation by a kernel with
  zeros inserted, stride by slicing); conv_transpose2d against the transpose of the
  matrix of conv2d (built column by column from the reference) and by the exact
  adjoint identity <conv2d(x, K), y> == <x, conv_transpose2d(y, K)>; pooling against
  sliding windows of NumPy.
* Gradients: each layer inside a scalar objective sum(layer(...) * R) with a fixed
  random R, w.r.t. every parameter and the input, by reverse mode (and forward mode
  for some) against finite differences (adgen.testing.check_grads), for several
  stride / padding / dilation combinations; check_vjp on the layers themselves. The
  python backend runs every case, the numba backend one case of each layer.
* The shape helpers raise a clear error when a stride does not cover the input; the
  initializers draw from the Generator they are given.
"""

import numpy as np
import pytest
import scipy.signal
import scipy.special
from numpy.lib.stride_tricks import sliding_window_view

import adgen
from adgen.runtime import activations as act
from adgen.runtime.layers import (avg_pool2d, conv1d, conv1d_output_size, conv2d,
                                  conv2d_init, conv2d_output_shape, conv_transpose2d,
                                  conv_transpose2d_init, conv_transpose2d_output_shape, dense,
                                  dense_init, max_pool2d, pool2d_output_shape)
from adgen.testing import check_grads, check_vjp

RNG = np.random.default_rng(20240601)
BACKENDS = ["python", "numba"]

# (stride, padding, dilation) of the 2-D convolutions, (height, width) each
CONV_COMBOS = [
    ((1, 1), (0, 0), (1, 1)),
    ((2, 1), (1, 0), (1, 1)),
    ((1, 2), (0, 1), (2, 1)),
    ((2, 2), (1, 2), (1, 2)),
    ((3, 1), (2, 1), (2, 2)),
]
NUMBA_COMBO = ((2, 1), (1, 2), (2, 1))  # stride, padding and dilation all at work


def _normal(*shape):
    return RNG.normal(size=shape)


def _away_from_zero(*shape, gap=0.1):
    """Random signs, |x| >= gap: no finite-difference step crosses a kink at 0."""
    return RNG.uniform(gap, 2.0, shape) * RNG.choice([-1.0, 1.0], shape)


# objectives (module level: adgen reads their source) --------------------------------------
def _dot(y, r):
    """sum(y * r) for y of any rank and r flat: 1-D operations only, quick to compile."""
    return np.sum(y.reshape(-1) * r)


def conv2d_objective(x, K, b, r, sh, sw, ph, pw, dh, dw):
    return _dot(conv2d(x, K, b, (sh, sw), (ph, pw), (dh, dw)), r)


def conv2d_layer(x, K, b, sh, sw, ph, pw, dh, dw):
    """conv2d with the pairs as ints (a transformed function takes no tuples)."""
    return conv2d(x, K, b, (sh, sw), (ph, pw), (dh, dw))


def conv_transpose2d_objective(x, K, b, r, sh, sw, ph, pw, dh, dw, oh, ow):
    return _dot(conv_transpose2d(x, K, b, (sh, sw), (ph, pw), (dh, dw), (oh, ow)), r)


def conv1d_objective(x, u, r, stride, padding, dilation):
    return np.sum(conv1d(x, u, stride, padding, dilation) * r)


def max_pool_objective(x, r, kh, kw, sh, sw):
    return _dot(max_pool2d(x, (kh, kw), (sh, sw)), r)


def avg_pool_objective(x, r, kh, kw, sh, sw):
    return _dot(avg_pool2d(x, (kh, kw), (sh, sw)), r)


def dense_objective(W, b, x, R):
    return np.sum(np.tanh(dense(W, b, x)) * R)


def sigmoid_objective(x, R):
    return np.sum(act.sigmoid(x) * R)


def tanh_objective(x, R):
    return np.sum(act.tanh(x) * R)


def relu_objective(x, R):
    return np.sum(act.relu(x) * R)


def leaky_relu_objective(x, R):
    return np.sum(act.leaky_relu(x, 0.2) * R)


def elu_objective(x, R):
    return np.sum(act.elu(x, 1.5) * R)


def softmax_objective(x, R):
    return np.sum(act.softmax(x) * R)


def log_softmax_objective(x, R):
    return np.sum(act.log_softmax(x) * R)


def maxout_objective(x, R):
    return np.sum(act.maxout(x, 3) * R)


def activations_objective(x, r):
    """Every activation in one function, on 1-D arrays (quick to compile): one compilation
    on numba."""
    groups = act.maxout(x.reshape(3, 6), 3)
    return (np.sum(act.sigmoid(x) * r) + np.sum(act.tanh(x) * r) + np.sum(act.relu(x) * r)
            + np.sum(act.leaky_relu(x, 0.2) * r) + np.sum(act.elu(x, 1.5) * r)
            + np.sum(act.softmax(x) * r) + np.sum(act.log_softmax(x) * r)
            + np.sum(groups.reshape(6) * r[0:6]))


# references ---------------------------------------------------------------------------------
def ref_conv2d(x, K, b, stride, padding, dilation):
    """Cross-correlation by scipy.signal.correlate2d of the padded input with the dilated
    kernel, every stride-th output kept."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c_in = x.shape[:2]
    c_out, _, kh, kw = K.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Kd = np.zeros((c_out, c_in, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    Kd[:, :, ::dh, ::dw] = K
    out = []
    for s in range(n):
        rows = []
        for o in range(c_out):
            full = sum(scipy.signal.correlate2d(xp[s, c], Kd[o, c], mode="valid")
                       for c in range(c_in))
            rows.append(full[::sh, ::sw] + b[o])
        out.append(rows)
    return np.array(out)


def ref_conv1d(x, u, stride, padding, dilation):
    ud = np.zeros(dilation * (len(u) - 1) + 1)
    ud[::dilation] = u
    return np.correlate(np.pad(x, padding), ud, mode="valid")[::stride]


def conv2d_matrix(x_shape, K, stride, padding, dilation):
    """The matrix of x -> ref_conv2d(x, K, 0), one column per element of x."""
    columns = []
    for k in range(int(np.prod(x_shape))):
        e = np.zeros(int(np.prod(x_shape)))
        e[k] = 1.0
        columns.append(ref_conv2d(e.reshape(x_shape), K, np.zeros(K.shape[0]), stride,
                                  padding, dilation).ravel())
    return np.array(columns).T


def ref_pool(x, kernel, stride, how):
    windows = sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    return windows.max(axis=(4, 5)) if how == "max" else windows.mean(axis=(4, 5))


def _remainder(size, k, s, p, d):
    """Rows of the padded input a strided conv2d leaves out: conv_transpose2d's
    output_padding that gives back the input's size."""
    return (size + 2 * p - d * (k - 1) - 1) % s


# activations --------------------------------------------------------------------------------
def test_activation_values():
    x = _normal(4, 6) * 3
    np.testing.assert_allclose(act.sigmoid(x), scipy.special.expit(x), rtol=1e-15)
    np.testing.assert_allclose(act.tanh(x), np.tanh(x), rtol=0)
    np.testing.assert_array_equal(act.relu(x), np.where(x > 0, x, 0.0))
    np.testing.assert_allclose(act.leaky_relu(x, 0.1), np.where(x > 0, x, 0.1 * x), rtol=1e-15)
    np.testing.assert_allclose(act.elu(x, 1.5), np.where(x > 0, x, 1.5 * np.expm1(x)),
                               rtol=1e-15)
    np.testing.assert_allclose(act.softmax(x), scipy.special.softmax(x, axis=-1), rtol=1e-14)
    np.testing.assert_allclose(act.log_softmax(x), scipy.special.log_softmax(x, axis=-1),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.softmax(x[0]), scipy.special.softmax(x[0]), rtol=1e-14)
    np.testing.assert_allclose(act.maxout(x, 3), x.reshape(4, 2, 3).max(axis=2), rtol=0)


def test_activations_are_stable_at_large_inputs():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    np.testing.assert_allclose(act.sigmoid(x), scipy.special.expit(x), rtol=1e-15)
    assert act.sigmoid(np.array([-40.0]))[0] > 0.0  # the tail keeps its relative accuracy
    big = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1002.0]])
    np.testing.assert_allclose(act.softmax(big), scipy.special.softmax(big, axis=-1),
                               rtol=1e-14)
    np.testing.assert_allclose(act.log_softmax(big), scipy.special.log_softmax(big, axis=-1),
                               rtol=1e-14)
    # the gradients there are finite and exact: R - softmax * sum(R) for log_softmax,
    # sigmoid(x) sigmoid(-x) R for sigmoid
    R = _normal(2, 3)
    g = adgen.grad(log_softmax_objective, backend="python")(big, R)
    expected = R - scipy.special.softmax(big, axis=-1) * R.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-300)
    R1 = _normal(5)
    g = adgen.grad(sigmoid_objective, backend="python")(x, R1)
    expected = scipy.special.expit(x) * scipy.special.expit(-x) * R1
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("objective, x", [
    (sigmoid_objective, _normal(3, 6) * 4),
    (tanh_objective, _normal(3, 6)),
    (relu_objective, _away_from_zero(3, 6)),
    (leaky_relu_objective, _away_from_zero(3, 6)),
    (elu_objective, _away_from_zero(3, 6)),
    (softmax_objective, _normal(3, 6) * 3),
    (log_softmax_objective, _normal(3, 6) * 3),
    (softmax_objective, _normal(6) * 3),          # 1-D: along its only axis
    (log_softmax_objective, _normal(6) * 3),
], ids=["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softmax", "log_softmax",
        "softmax_1d", "log_softmax_1d"])
def test_activation_gradients(objective, x):
    check_grads(objective, (x, _normal(*x.shape)), argnums=0, modes=("fwd", "rev"))


def test_maxout_gradient():
    # distinct values in every group: no finite-difference step changes the maximum
    x = (RNG.permutation(18).reshape(3, 6) * 0.25 + RNG.uniform(0, 0.01, (3, 6)))
    check_grads(maxout_objective, (x, _normal(3, 2)), argnums=0, modes=("fwd", "rev"))


def test_activations_on_numba():
    x = (RNG.permutation(18) - 8.5) * 0.3  # distinct, away from 0
    check_grads(activations_objective, (x, _normal(18)), argnums=0, modes=("rev",),
                backend="numba")


# dense --------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_dense(backend):
    W, b = _normal(4, 3), _normal(3)
    X = _normal(5, 4)
    np.testing.assert_allclose(dense(W, b, X), X @ W + b, rtol=1e-15)
    np.testing.assert_allclose(dense(W, b, X[0]), X[0] @ W + b, rtol=1e-15)
    modes = ("fwd", "rev") if backend == "python" else ("rev",)
    check_grads(dense_objective, (W, b, X, _normal(5, 3)), argnums=(0, 1, 2), modes=modes,
                backend=backend)


def test_dense_init():
    W, b = dense_init(np.random.default_rng(0), 300, 200)
    assert W.shape == (300, 200) and b.shape == (200,) and W.dtype == np.float64
    assert not b.any()
    limit = np.sqrt(6.0 / 500)
    assert np.abs(W).max() <= limit and np.std(W) == pytest.approx(limit / np.sqrt(3), rel=0.02)
    W2, _ = dense_init(np.random.default_rng(0), 300, 200)
    np.testing.assert_array_equal(W, W2)  # all randomness comes from the Generator
    W, _ = dense_init(np.random.default_rng(1), 300, 200, scale="he")
    assert np.std(W) == pytest.approx(np.sqrt(2.0 / 300), rel=0.02)
    with pytest.raises(ValueError, match="glorot"):
        dense_init(np.random.default_rng(0), 3, 2, scale="lecun")


# conv1d -------------------------------------------------------------------------------------
@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2),
                                                       (3, 2, 1)])
def test_conv1d(stride, padding, dilation):
    x, u = _normal(9), _normal(3)
    expected = ref_conv1d(x, u, stride, padding, dilation)
    out = conv1d(x, u, stride, padding, dilation)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-15)
    if (9 + 2 * padding - dilation * 2 - 1) % stride <= padding:  # only zeros left out
        assert conv1d_output_size(9, 3, stride, padding, dilation) == len(out)
    else:
        with pytest.raises(ValueError, match="does not cover the input along the signal"):
            conv1d_output_size(9, 3, stride, padding, dilation)
    r = _normal(len(out))
    args = (x, u, r, stride, padding, dilation)
    check_grads(conv1d_objective, args, argnums=(0, 1), modes=("fwd", "rev"), eps=1e-3)
    if stride == 2:
        check_grads(conv1d_objective, args, argnums=(0, 1), modes=("rev",), backend="numba",
                    eps=1e-3)


def test_conv1d_is_the_issues_definition():
    """(x ⊛ u)_i = sum_j x_{i-1+j} u_j, 1-based."""
    x, u = _normal(7), _normal(3)
    expected = [sum(x[i - 1 + j - 1] * u[j - 1] for j in range(1, 4)) for i in range(1, 6)]
    np.testing.assert_allclose(conv1d(x, u), expected, rtol=1e-13)


# conv2d -------------------------------------------------------------------------------------
@pytest.mark.parametrize("stride, padding, dilation", CONV_COMBOS)
def test_conv2d_values(stride, padding, dilation):
    x, K, b = _normal(2, 3, 7, 6), _normal(4, 3, 3, 2), _normal(4)
    out = conv2d(x, K, b, stride, padding, dilation)
    np.testing.assert_allclose(out, ref_conv2d(x, K, b, stride, padding, dilation),
                               rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("stride, padding, dilation", CONV_COMBOS)
def test_conv2d_gradients(stride, padding, dilation):
    # conv2d is linear in each argument: central differences are exact up to rounding
    x, K, b = _normal(1, 2, 5, 4), _normal(2, 2, 2, 3), _normal(2)
    r = _normal(conv2d(x, K, b, stride, padding, dilation).size)
    args = (x, K, b, r, *stride, *padding, *dilation)
    modes = ("fwd", "rev") if stride == (2, 2) else ("rev",)
    check_grads(conv2d_objective, args, argnums=(0, 1, 2), modes=modes, eps=1e-3)


def test_conv2d_on_numba():
    x, K, b = _normal(2, 2, 6, 5), _normal(3, 2, 2, 3), _normal(3)
    out = conv2d(x, K, b, *NUMBA_COMBO)
    r = _normal(out.size)
    ints = tuple(v for pair in NUMBA_COMBO for v in pair)
    check_grads(conv2d_objective, (x, K, b, r, *ints), argnums=(0, 1, 2), modes=("rev",),
                backend="numba", eps=1e-3)
    # the layer itself, array in and out: <J v, w> == <v, J^T w> and against differences
    ints = tuple(v for pair in NUMBA_COMBO for v in pair)
    check_vjp(conv2d_layer, (x, K, b, *ints), argnums=(0, 1, 2), backend="numba")
    value, _ = adgen.jvp(conv2d_layer, argnums=1, backend="numba")(x, K, b, *ints, K)
    np.testing.assert_allclose(value, ref_conv2d(x, K, b, *NUMBA_COMBO), rtol=1e-12,
                               atol=1e-13)


def test_conv2d_gradient_code_is_plain_loops():
    """No undo log, no tape, no array allocated in a loop: one accumulation per kernel tap
    (Numba compiles that to tight code)."""
    x, K, b = _normal(1, 1, 4, 4), _normal(1, 1, 2, 2), _normal(1)
    source = adgen.source(adgen.grad(conv2d_objective, argnums=(0, 1, 2), backend="python"),
                          x, K, b, _normal(9), 1, 1, 0, 0, 1, 1)
    assert "log_" not in source and "_tape" not in source
    assert "K_bar[" in source and "x_bar[" in source


# conv_transpose2d ---------------------------------------------------------------------------
@pytest.mark.parametrize("stride, padding, dilation", CONV_COMBOS)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(stride, padding, dilation):
    x, K = _normal(2, 3, 7, 6), _normal(4, 3, 3, 2)
    output_padding = tuple(_remainder(x.shape[2 + a], K.shape[2 + a], stride[a], padding[a],
                                      dilation[a]) for a in range(2))
    y = _normal(*conv2d(x, K, np.zeros(4), stride, padding, dilation).shape)
    back = conv_transpose2d(y, K, np.zeros(3), stride, padding, dilation, output_padding)
    assert back.shape == x.shape
    left = np.sum(conv2d(x, K, np.zeros(4), stride, padding, dilation) * y)
    assert np.sum(x * back) == pytest.approx(left, rel=1e-12)
    assert conv_transpose2d_output_shape(y.shape, K.shape, stride, padding, dilation,
                                         output_padding) == x.shape


@pytest.mark.parametrize("stride, padding, dilation", CONV_COMBOS)
def test_conv_transpose2d_values(stride, padding, dilation):
    """Against the transposed matrix of the reference conv2d, plus the bias. The kernel
    K (3, 2, kh, kw) is a conv2d kernel from 2 to 3 channels, and the kernel of the
    transposed convolution from 3 back to 2 channels."""
    x_shape = (1, 2, 5, 4)
    K, b = _normal(3, 2, 2, 3), _normal(2)
    output_padding = tuple(_remainder(x_shape[2 + a], K.shape[2 + a], stride[a], padding[a],
                                      dilation[a]) for a in range(2))
    M = conv2d_matrix(x_shape, K, stride, padding, dilation)
    y = _normal(*ref_conv2d(np.zeros(x_shape), K, np.zeros(3), stride, padding,
                            dilation).shape)
    expected = (M.T @ y.ravel()).reshape(x_shape) + b.reshape(1, 2, 1, 1)
    out = conv_transpose2d(y, K, b, stride, padding, dilation, output_padding)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("stride, padding, dilation", CONV_COMBOS)
def test_conv_transpose2d_gradients(stride, padding, dilation):
    x, K, b = _normal(1, 2, 3, 4), _normal(2, 3, 2, 2), _normal(3)
    output_padding = (stride[0] - 1, 0)
    out = conv_transpose2d(x, K, b, stride, padding, dilation, output_padding)
    args = (x, K, b, _normal(out.size), *stride, *padding, *dilation, *output_padding)
    modes = ("fwd", "rev") if stride == (2, 1) else ("rev",)
    check_grads(conv_transpose2d_objective, args, argnums=(0, 1, 2), modes=modes, eps=1e-3)


def test_conv_transpose2d_on_numba():
    x, K, b = _normal(2, 2, 3, 3), _normal(2, 3, 3, 2), _normal(3)
    combo = ((2, 1), (1, 0), (1, 2), (1, 0))
    out = conv_transpose2d(x, K, b, *combo)
    args = (x, K, b, _normal(out.size), *(v for pair in combo for v in pair))
    check_grads(conv_transpose2d_objective, args, argnums=(0, 1, 2), modes=("rev",),
                backend="numba", eps=1e-3)


# pooling ------------------------------------------------------------------------------------
def _distinct(*shape):
    """Distinct values at least 0.1 apart: no finite-difference step moves a maximum."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + RNG.uniform(
        0, 0.01, shape)


@pytest.mark.parametrize("kernel, stride", [((2, 2), (2, 2)), ((3, 2), (1, 2)),
                                            ((2, 3), (2, 1))])
def test_pool_values_and_gradients(kernel, stride):
    x = _distinct(2, 2, 6, 7)
    for how, layer, objective in (("max", max_pool2d, max_pool_objective),
                                  ("avg", avg_pool2d, avg_pool_objective)):
        out = layer(x, kernel, stride)
        np.testing.assert_allclose(out, ref_pool(x, kernel, stride, how), rtol=1e-14)
        args = (x, _normal(out.size), *kernel, *stride)
        check_grads(objective, args, argnums=0, modes=("fwd", "rev"), eps=1e-4)


def test_pool_default_stride_is_the_kernel():
    x = _distinct(1, 1, 4, 6)
    np.testing.assert_array_equal(max_pool2d(x, (2, 3)), max_pool2d(x, (2, 3), (2, 3)))
    np.testing.assert_allclose(avg_pool2d(x), ref_pool(x, (2, 2), (2, 2), "avg"), rtol=1e-15)


def test_max_pool_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 2, 2))
    g = adgen.grad(max_pool_objective, backend="python")(x, np.ones(1), 2, 2, 2, 2)
    np.testing.assert_array_equal(g[0, 0], [[1.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("objective", [max_pool_objective, avg_pool_objective],
                         ids=["max", "avg"])
def test_pool_on_numba(objective):
    x = _distinct(2, 3, 5, 6)
    args = (x, _normal(2 * 3 * 2 * 3), 2, 2, 2, 2)
    check_grads(objective, args, argnums=0, modes=("rev",), backend="numba", eps=1e-4)


# shapes, errors and initializers ------------------------------------------------------------
@pytest.mark.parametrize("stride, padding, dilation", CONV_COMBOS)
def test_output_shape_helpers_match_the_layers(stride, padding, dilation):
    x, K, b = _normal(2, 3, 7, 6), _normal(4, 3, 3, 2), _normal(4)
    out = conv2d(x, K, b, stride, padding, dilation)
    try:
        shape = conv2d_output_shape(x.shape, K.shape, stride, padding, dilation)
    except ValueError as exc:
        assert "does not cover the input" in str(exc)
        assert any(_remainder(x.shape[2 + a], K.shape[2 + a], stride[a], padding[a],
                              dilation[a]) > padding[a] for a in range(2))
    else:
        assert shape == out.shape
    Kt = _normal(4, 2, 3, 2)  # transposed: 4 -> 2 channels
    back = conv_transpose2d(out, Kt, np.zeros(2), stride, padding, dilation)
    assert conv_transpose2d_output_shape(out.shape, Kt.shape, stride, padding,
                                         dilation) == back.shape


def test_stride_that_does_not_cover_the_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"stride 2 does not cover the input along height: "
                                         r"8 \+ 2\*0 - 1\*\(3 - 1\) - 1 = 5 leaves "
                                         r"remainder 1 modulo 2, so the last 1 position"):
        conv2d_output_shape((1, 1, 8, 9), (4, 1, 3, 3), stride=2)
    with pytest.raises(ValueError, match="along width"):
        conv2d_output_shape((1, 1, 9, 8), (4, 1, 3, 3), stride=(2, 2))
    with pytest.raises(ValueError, match="the last 2 position"):
        conv2d_output_shape((1, 1, 9, 10), (4, 1, 2, 2), stride=(1, 3))
    # a stride that leaves out only zeros of the padding is fine (PyTorch's usual
    # kernel 3, stride 2, padding 1 on an even size)
    assert conv2d_output_shape((1, 1, 8, 8), (4, 1, 3, 3), stride=2, padding=1) == (1, 4, 4, 4)
    with pytest.raises(ValueError, match="3 channel"):
        conv2d_output_shape((1, 3, 8, 8), (4, 1, 3, 3))
    with pytest.raises(ValueError, match="larger than the padded input along width"):
        conv2d_output_shape((1, 1, 8, 2), (4, 1, 3, 3))
    with pytest.raises(ValueError, match="along height"):
        pool2d_output_shape((64, 8, 7, 6), 2)
    assert pool2d_output_shape((64, 8, 6, 6), 2) == (64, 8, 3, 3)
    assert pool2d_output_shape((64, 8, 7, 6), (3, 2), (2, 2)) == (64, 8, 3, 3)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d_output_shape((1, 2, 3, 3), (2, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="channel"):
        conv_transpose2d_output_shape((1, 2, 3, 3), (3, 1, 3, 3))


def test_conv_init():
    K, b = conv2d_init(np.random.default_rng(0), 16, 32, 3)
    assert K.shape == (32, 16, 3, 3) and b.shape == (32,) and K.dtype == np.float64
    assert not b.any()
    assert np.std(K) == pytest.approx(np.sqrt(2.0 / (16 * 9)), rel=0.03)
    K2, _ = conv2d_init(np.random.default_rng(0), 16, 32, (3, 3))
    np.testing.assert_array_equal(K, K2)
    K, _ = conv2d_init(np.random.default_rng(0), 16, 32, (3, 5), scale="glorot")
    assert K.shape == (32, 16, 3, 5)
    assert np.abs(K).max() <= np.sqrt(6.0 / (16 * 15 + 32 * 15))
    Kt, bt = conv_transpose2d_init(np.random.default_rng(0), 8, 1, 4)
    assert Kt.shape == (8, 1, 4, 4) and bt.shape == (1,)


def test_conv_and_pool_layers_compile_with_numba_as_they_are():
    """They call no helper: numba.njit compiles them directly, for fast inference outside
    adgen (called directly they run as Python loops)."""
    import numba

    x, K, b = _normal(2, 2, 6, 5), _normal(3, 2, 2, 3), _normal(3)
    y = numba.njit(conv2d)(x, K, b, *NUMBA_COMBO)
    np.testing.assert_allclose(y, conv2d(x, K, b, *NUMBA_COMBO), rtol=1e-13)
    combo = ((2, 1), (1, 0), (1, 2), (1, 0))
    np.testing.assert_allclose(numba.njit(conv_transpose2d)(y, K, b[:2], *combo),
                               conv_transpose2d(y, K, b[:2], *combo), rtol=1e-13)
    np.testing.assert_array_equal(numba.njit(max_pool2d)(x, (2, 2), (1, 2)),
                                  max_pool2d(x, (2, 2), (1, 2)))


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_relu_has_derivative_zero_at_zero(backend):
    x = np.array([-1.0, 0.0, 2.0])
    g = adgen.grad(relu_objective, backend=backend)(x, np.ones(3))
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])
    _, t = adgen.jvp(relu_objective, backend=backend)(x, np.ones(3), np.ones(3))
    assert t == 1.0
