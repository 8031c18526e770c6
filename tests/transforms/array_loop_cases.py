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
