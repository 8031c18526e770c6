"""Max and average pooling over windows of a batch of images (n, c, h, w).

`kernel` and `stride` are (height, width) pairs; stride (0, 0), the default,
means the kernel size (non-overlapping windows). No padding: the output is
(n, c, (h - kh) // sh + 1, (w - kw) // sw + 1). As for the convolutions, the
check that the stride covers the input lives in a Python helper,
`pool2d_output_shape`, which model code calls when it builds the model.

Max pooling sends the gradient of each window to its maximum; among exact ties,
to the first in row-major order (as PyTorch).
"""

import numpy as np

from adgen.runtime.layers.conv import _axis_size, _pair


def max_pool2d(x, kernel=(2, 2), stride=(0, 0)):
    """The maximum of each kh x kw window of x (n, c, h, w), windows sh rows and sw columns
    apart.

    Example:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> max_pool2d(x)[0, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    n, c, h, w = x.shape
    kh, kw = kernel
    sh = stride[0] if stride[0] > 0 else kh
    sw = stride[1] if stride[1] > 0 else kw
    h_out = (h - kh) // sh + 1
    w_out = (w - kw) // sw + 1
    out = np.zeros((n, c, h_out, w_out))
    for s in range(n):
        for k in range(c):
            for i in range(h_out):
                for j in range(w_out):
                    r = i * sh
                    t = j * sw
                    best = x[s, k, r, t]
                    bp = 0
                    bq = 0
                    for p in range(kh):
                        for q in range(kw):
                            v = x[s, k, r + p, t + q]
                            if v > best:
                                best = v
                                bp = p
                                bq = q
                    # read at the integer position of the maximum: the reverse sweep
                    # recomputes two ints, and needs no tape of the running maximum
                    out[s, k, i, j] = x[s, k, r + bp, t + bq]
    return out


def avg_pool2d(x, kernel=(2, 2), stride=(0, 0)):
    """The mean of each kh x kw window of x (n, c, h, w), windows sh rows and sw columns
    apart.

    Example:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> avg_pool2d(x)[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])
    """
    n, c, h, w = x.shape
    kh, kw = kernel
    sh = stride[0] if stride[0] > 0 else kh
    sw = stride[1] if stride[1] > 0 else kw
    h_out = (h - kh) // sh + 1
    w_out = (w - kw) // sw + 1
    scale = 1.0 / (kh * kw)
    out = np.zeros((n, c, h_out, w_out))
    for s in range(n):
        for k in range(c):
            for i in range(h_out):
                for j in range(w_out):
                    acc = 0.0
                    for p in range(kh):
                        for q in range(kw):
                            acc += x[s, k, i * sh + p, j * sw + q]
                    out[s, k, i, j] = acc * scale
    return out


def pool2d_output_shape(x_shape, kernel=2, stride=0):
    """The shape (n, c, h_out, w_out) of max_pool2d / avg_pool2d for x of shape x_shape.
    kernel and stride are ints or (height, width) pairs; stride 0 means the kernel size.

    Raises ValueError naming the axis when a stride does not cover the input (the last
    rows or columns would never be pooled).

    Example:
        >>> pool2d_output_shape((64, 8, 6, 6), 2)
        (64, 8, 3, 3)
        >>> pool2d_output_shape((64, 8, 7, 6), 2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: pool2d: stride 2 does not cover the input along height: ...
    """
    n, c, h, w = x_shape
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(stride, "stride")
    return (n, c, _axis_size("pool2d", "height", h, kh, sh or kh, 0, 1),
            _axis_size("pool2d", "width", w, kw, sw or kw, 0, 1))
