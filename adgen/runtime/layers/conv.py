"""Convolution layers: 1-D, 2-D, and 2-D transposed ("deconvolution").

As in deep-learning libraries (and PyTorch), "convolution" is the
cross-correlation (Goodfellow et al., "Deep Learning", 2016, eq. 9.6). With
zero padding p, stride s and dilation d, 0-based:

    conv1d:  out[i] = sum_j xp[i*s + j*d] u[j],        xp = x padded by p zeros
    conv2d:  out[n, o, i, j] = b[o] + sum_{c, p, q} xp[n, c, i*sh + p*dh, j*sw + q*dw]
                                                   * K[o, c, p, q]

(for s = d = 1, p = 0 this is the issue's (x ⊛ u)_i = sum_j x_{i-1+j} u_j in
1-based indices). Output size along an axis of input size h and kernel size k:
floor((h + 2p - d(k - 1) - 1) / s) + 1.

Layout: images are (batch, channels, height, width); conv2d kernels are
(c_out, c_in, kh, kw), transposed-conv kernels (c_in, c_out, kh, kw) (the
kernel of the conv2d it transposes, as in PyTorch). Stride, padding and
dilation of the 2-D layers are (height, width) pairs.

The layers are explicit loops with a scalar accumulator per output element
and a zero-padded copy of the input (inner loops without branches): adgen
turns them into equally plain adjoint loops that Numba compiles to tight
code. They call no helper, so `numba.njit(conv2d)` compiles them as they are
(fast inference outside adgen; called directly they run as Python loops). Compiled layers cannot raise, so the shape checks live in the Python
helpers `conv1d_output_size`, `conv2d_output_shape` and
`conv_transpose2d_output_shape`: model code calls them when it builds the
model (it needs the shapes anyway to size the next layer). They raise
ValueError naming the axis when a stride does not cover the input: when
(h + 2p - d(k - 1) - 1) mod s > p, the last rows of the input itself (not
only of its zero padding) never reach the output; the layers themselves,
like PyTorch, would silently ignore them.
"""

import numpy as np

from adgen.runtime.layers.dense import _weights


# the layers (adgen's subset) --------------------------------------------------------------
def conv1d(x, u, stride=1, padding=0, dilation=1):
    """The 1-D cross-correlation of a signal x (n,) with a kernel u (m,), zero padding.

    Example:
        >>> conv1d(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, -1.0]))
        array([-1., -1., -1.])
        >>> conv1d(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]), 2, 1)
        array([3., 5.])
    """
    n = x.shape[0]
    m = u.shape[0]
    n_out = (n + 2 * padding - dilation * (m - 1) - 1) // stride + 1
    xp = np.zeros(n + 2 * padding)
    for i in range(n):
        xp[i + padding] = x[i]
    out = np.zeros(n_out)
    for i in range(n_out):
        acc = 0.0
        for j in range(m):
            acc += xp[i * stride + j * dilation] * u[j]
        out[i] = acc
    return out


def conv2d(x, K, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """2-D cross-correlation of a batch x (n, c_in, h, w) with kernels K (c_out, c_in, kh,
    kw), plus a bias b (c_out,) per output channel; shape (n, c_out, h_out, w_out).

    Example:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> K = np.ones((1, 1, 2, 2))
        >>> conv2d(x, K, np.zeros(1), stride=(2, 2))[0, 0]
        array([[10., 18.],
               [42., 50.]])
    """
    n, c_in, h, w = x.shape
    c_out = K.shape[0]
    kh = K.shape[2]
    kw = K.shape[3]
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    # a zero-padded copy (even without padding: cheap, and no branch on it)
    xp = np.zeros((n, c_in, h + 2 * ph, w + 2 * pw))
    for s in range(n):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    xp[s, c, i + ph, j + pw] = x[s, c, i, j]
    out = np.zeros((n, c_out, h_out, w_out))
    for s in range(n):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    acc = b[o]
                    for c in range(c_in):
                        for p in range(kh):
                            r = i * sh + p * dh
                            for q in range(kw):
                                acc += xp[s, c, r, j * sw + q * dw] * K[o, c, p, q]
                    out[s, o, i, j] = acc
    return out


def conv_transpose2d(x, K, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                     output_padding=(0, 0)):
    """The transposed convolution of x (n, c_in, h, w) with K (c_in, c_out, kh, kw), plus
    b (c_out,): the adjoint of conv2d(., K) with respect to its input, whose output it
    maps back to an input-shaped array (n, c_out, h_out, w_out) with
    h_out = (h - 1) sh - 2 ph + dh (kh - 1) + oph + 1. `output_padding` (oph, opw) adds
    rows and columns at the bottom and right: the ones a strided conv2d ignored.

    Each input element adds x[n, c, i, j] K[c, o, p, q] at row i*sh + p*dh - ph,
    column j*sw + q*dw - pw of the output (rows outside it are dropped).

    Example:
        >>> x = np.array([[[[1.0, 2.0]]]])                     # (1, 1, 1, 2)
        >>> conv_transpose2d(x, np.ones((1, 1, 1, 2)), np.zeros(1))[0, 0]
        array([[1., 3., 2.]])
    """
    n, c_in, h, w = x.shape
    c_out = K.shape[1]
    kh = K.shape[2]
    kw = K.shape[3]
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    oph, opw = output_padding
    h_full = (h - 1) * sh + dh * (kh - 1) + 1 + oph      # before removing the padding
    w_full = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    full = np.zeros((n, c_out, h_full, w_full))
    for s in range(n):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    v = x[s, c, i, j]
                    for o in range(c_out):
                        for p in range(kh):
                            r = i * sh + p * dh
                            for q in range(kw):
                                full[s, o, r, j * sw + q * dw] += v * K[c, o, p, q]
    h_out = h_full - 2 * ph
    w_out = w_full - 2 * pw
    out = np.zeros((n, c_out, h_out, w_out))
    for s in range(n):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    out[s, o, i, j] = full[s, o, i + ph, j + pw] + b[o]
    return out


# shapes and their checks (Python) --------------------------------------------------------
def _pair(value, name):
    """(value, value) for an int, or the pair itself."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")
    return pair


def _axis_size(layer, axis, size, k, stride, padding, dilation):
    """Output size of a convolution along one axis; ValueError if the stride skips rows."""
    if stride < 1 or dilation < 1 or padding < 0:
        raise ValueError(f"{layer}: stride and dilation must be >= 1 and padding >= 0 along "
                         f"{axis}, got stride={stride}, padding={padding}, "
                         f"dilation={dilation}")
    span = size + 2 * padding - dilation * (k - 1) - 1
    if span < 0:
        raise ValueError(f"{layer}: the kernel (size {k}, dilation {dilation}) is larger "
                         f"than the padded input along {axis} ({size} + 2*{padding})")
    if span % stride > padding:  # skipping some of the trailing zeros of padding is harmless
        raise ValueError(
            f"{layer}: stride {stride} does not cover the input along {axis}: "
            f"{size} + 2*{padding} - {dilation}*({k} - 1) - 1 = {span} leaves remainder "
            f"{span % stride} modulo {stride}, so the last {span % stride - padding} "
            f"position(s) of the input along {axis} never reach the output; change the "
            f"padding, stride or kernel size, or crop the input")
    return span // stride + 1


def conv1d_output_size(n, m, stride=1, padding=0, dilation=1):
    """The length of conv1d's output for a signal of length n and a kernel of length m.

    Raises ValueError when the stride does not cover the input (see the module docstring).

    Example:
        >>> conv1d_output_size(8, 3, stride=1)
        6
        >>> conv1d_output_size(8, 3, stride=2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: conv1d: stride 2 does not cover the input along the signal: ...
    """
    return _axis_size("conv1d", "the signal", n, m, stride, padding, dilation)


def conv2d_output_shape(x_shape, K_shape, stride=1, padding=0, dilation=1):
    """The shape (n, c_out, h_out, w_out) of conv2d(x, K, ...) for x of shape x_shape
    (n, c_in, h, w) and K of shape K_shape (c_out, c_in, kh, kw). Stride, padding and
    dilation are ints or (height, width) pairs.

    Raises ValueError when the channels differ, or when a stride does not cover the
    input: some rows (or columns) of the padded input would never reach the output.

    Example:
        >>> conv2d_output_shape((64, 1, 8, 8), (8, 1, 3, 3))
        (64, 8, 6, 6)
        >>> conv2d_output_shape((1, 3, 9, 8), (4, 3, 2, 2), stride=2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: conv2d: stride 2 does not cover the input along height: ...
    """
    n, c_in, h, w = x_shape
    c_out, k_in, kh, kw = K_shape
    if c_in != k_in:
        raise ValueError(f"conv2d: the input has {c_in} channel(s), the kernel expects "
                         f"{k_in} (K is (c_out, c_in, kh, kw) = {tuple(K_shape)})")
    (sh, sw), (ph, pw), (dh, dw) = (_pair(stride, "stride"), _pair(padding, "padding"),
                                    _pair(dilation, "dilation"))
    return (n, c_out, _axis_size("conv2d", "height", h, kh, sh, ph, dh),
            _axis_size("conv2d", "width", w, kw, sw, pw, dw))


def conv_transpose2d_output_shape(x_shape, K_shape, stride=1, padding=0, dilation=1,
                                  output_padding=0):
    """The shape (n, c_out, h_out, w_out) of conv_transpose2d(x, K, ...) for x (n, c_in,
    h, w) and K (c_in, c_out, kh, kw): h_out = (h - 1) sh - 2 ph + dh (kh - 1) + oph + 1.

    Raises ValueError when the channels differ, when the padding removes the whole
    output, or when output_padding is not smaller than the stride.

    Example:
        >>> conv_transpose2d_output_shape((2, 8, 3, 3), (8, 1, 4, 4), stride=2, padding=1)
        (2, 1, 6, 6)
    """
    n, c_in, h, w = x_shape
    k_in, c_out, kh, kw = K_shape
    if c_in != k_in:
        raise ValueError(f"conv_transpose2d: the input has {c_in} channel(s), the kernel "
                         f"expects {k_in} (K is (c_in, c_out, kh, kw) = {tuple(K_shape)})")
    pairs = [_pair(v, name) for v, name in ((stride, "stride"), (padding, "padding"),
                                            (dilation, "dilation"),
                                            (output_padding, "output_padding"))]
    shape = [n, c_out]
    for axis, size, k, (s, p, d, op) in (("height", h, kh, [v[0] for v in pairs]),
                                         ("width", w, kw, [v[1] for v in pairs])):
        if s < 1 or d < 1 or p < 0 or not 0 <= op < s:
            raise ValueError(f"conv_transpose2d: need stride, dilation >= 1, padding >= 0 "
                             f"and 0 <= output_padding < stride along {axis}, got "
                             f"stride={s}, padding={p}, dilation={d}, output_padding={op}")
        out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        if out < 1:
            raise ValueError(f"conv_transpose2d: padding {p} leaves no output along {axis}")
        shape.append(out)
    return tuple(shape)


# initializers ----------------------------------------------------------------------------
def conv2d_init(rng, c_in, c_out, kernel_size, scale="he"):
    """(K, b) for conv2d: K (c_out, c_in, kh, kw) float64 drawn from `rng`, b zero (c_out,).
    kernel_size is an int or (kh, kw). Fan-in is c_in*kh*kw, fan-out c_out*kh*kw; scale
    "he" (normal, std sqrt(2 / fan_in), for ReLU) or "glorot" (uniform).

    Example:
        >>> K, b = conv2d_init(np.random.default_rng(0), 3, 8, 3)
        >>> K.shape, b.shape
        ((8, 3, 3, 3), (8,))
    """
    kh, kw = _pair(kernel_size, "kernel_size")
    K = _weights(rng, (c_out, c_in, kh, kw), c_in * kh * kw, c_out * kh * kw, scale)
    return K, np.zeros(c_out)


def conv_transpose2d_init(rng, c_in, c_out, kernel_size, scale="he"):
    """(K, b) for conv_transpose2d: K (c_in, c_out, kh, kw), b zero (c_out,); the scale as
    for conv2d_init with the same fan-in c_in*kh*kw.

    Example:
        >>> K, b = conv_transpose2d_init(np.random.default_rng(0), 8, 1, (4, 4))
        >>> K.shape, b.shape
        ((8, 1, 4, 4), (1,))
    """
    kh, kw = _pair(kernel_size, "kernel_size")
    K = _weights(rng, (c_in, c_out, kh, kw), c_in * kh * kw, c_out * kh * kw, scale)
    return K, np.zeros(c_out)
