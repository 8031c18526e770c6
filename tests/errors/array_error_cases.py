"""Functions using array forms adgen refuses; `# ERR` marks the reported line."""

import numpy as np


def fancy_index(a, idx):
    return np.sum(a[idx])  # ERR


def linalg_inv(A):
    return np.sum(np.linalg.inv(A))  # ERR


def bool_condition_on_array(a):
    if a > 0.0:  # ERR
        return 1.0
    return 0.0


def rank_three_dot(a):
    return np.sum(np.dot(a, a))  # ERR


def writes_in_loop_reverse(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = x * i
    return np.sum(out * out)
