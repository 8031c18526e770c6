"""Loops that write arrays, the explicit style Numba users write."""

import numpy as np
def fill(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = x * i
    return np.sum(out * out)

def recurrence(a, c):
    n = len(a)
    h = np.zeros(n)
    h[0] = a[0]
    for i in range(1, n):
        h[i] = np.tanh(c * h[i - 1] + a[i])
    return np.sum(h * h)

def overwrite(a, x):
    b = a.copy()
    for i in range(len(b)):
        b[i] = b[i] * x + 1.0
        b[i] = b[i] * b[i]
    return np.sum(b)

def matfill(A, v):
    n, m = A.shape
    C = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            C[i, j] = A[i, j] * v[j] + np.sin(C[i, j - 1] if j > 0 else 0.0)
    return np.sum(C * C)

def conv1d(x, u):
    n = len(x) - len(u) + 1
    out = np.zeros(n)
    for i in range(n):
        s = 0.0
        for j in range(len(u)):
            s += x[i + j] * u[j]
        out[i] = np.tanh(s)
    return np.sum(out * out)

def branchy(a, x):
    b = np.zeros(len(a))
    for i in range(len(a)):
        if a[i] > 0.0:
            b[i] = a[i] * x
        else:
            b[i] = -a[i] * x * x
        b[i] += 0.5 * b[i] * b[i]
    return np.sum(b)

def whiley(a, x):
    b = a.copy()
    i = 0
    while i < len(b):
        b[i] = np.sin(b[i] + x)
        i += 1
    return np.sum(b * b)

def inplace_acc(a):
    out = np.zeros(len(a))
    for r in range(3):
        for i in range(len(a)):
            out[i] += a[i] * out[i] + 1.0
    return np.sum(out)

def writes_then_sum(a):
    b = a.copy()
    t = 0.0
    for i in range(len(a)):
        b[i] = b[i] * 2.0
        t += np.sum(b)
    return t


def scan_out(a, c):
    """Returns the array it fills (a vjp takes an array cotangent)."""
    h = np.zeros(len(a))
    prev = 0.0
    for i in range(len(a)):
        prev = np.tanh(c * prev + a[i])
        h[i] = prev
    return h


# Arrays of rank 4 (the (batch, channel, row, column) tensors of convolution layers), arrays a
# loop writes but never reads (no undo log, no tape), and tuple defaults of inlined callees.
def _shifted(x, offset=(1, 1)):
    """x[.., i + offset[0], j + offset[1]], 0 outside (a callee with a tuple default)."""
    di, dj = offset
    n, c, h, w = x.shape
    out = np.zeros((n, c, h, w))
    for s in range(n):
        for k in range(c):
            for i in range(h - di):
                for j in range(w - dj):
                    out[s, k, i, j] = x[s, k, i + di, j + dj]
    return out


def conv4d(x, K):
    """A valid 2-D convolution of (n, c, h, w) with (o, c, 2, 2): `out` is written element
    by element and never read in the loops (write-only)."""
    n, c, h, w = x.shape
    o_n = K.shape[0]
    out = np.zeros((n, o_n, h - 1, w - 1))
    for s in range(n):
        for o in range(o_n):
            for i in range(h - 1):
                for j in range(w - 1):
                    acc = 0.0
                    for k in range(c):
                        for p in range(2):
                            for q in range(2):
                                acc += x[s, k, i + p, j + q] * K[o, k, p, q]
                    out[s, o, i, j] = np.tanh(acc)
    return np.sum(out * out) + np.sum(_shifted(x) * x)


def recurrence4d(a, c):
    """A rank-4 array written and read in a loop: tracked, through the 4-D undo log."""
    b = a.copy()
    for i in range(1, b.shape[0]):
        for j in range(b.shape[3]):
            b[i, 0, 1, j] = np.tanh(c * b[i - 1, 0, 1, j] + b[i, 0, 0, j])
    return np.sum(b * b)


def rows_write_only(A, v):
    """Whole rows assigned in a loop that never reads them: allowed (no undo log needed)."""
    n = A.shape[0]
    out = np.zeros((n, v.shape[0]))
    for i in range(n):
        out[i, :] = A[i] * v
    return np.sum(out * out)


def scatter_add(x, u):
    """`out[i + j] += ...` in a loop (a transposed convolution): write-only as well."""
    out = np.zeros(x.shape[0] + u.shape[0] - 1)
    for i in range(x.shape[0]):
        for j in range(u.shape[0]):
            out[i + j] += x[i] * u[j]
    return np.sum(np.sin(out))
