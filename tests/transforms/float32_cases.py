"""Functions run in float32: gradients must stay float32 end to end."""

import numpy as np
def f(x, W):
    h = np.tanh(W @ x)
    m = np.max(h)
    return m + np.log(np.sum(np.exp(h - m))) + np.mean(x * x, axis=0)
def g(a):
    out = np.zeros(len(a), dtype=np.float32)
    for i in range(1, len(a)):
        out[i] = out[i - 1] * 0.5 + a[i]
    return np.sum(out * out)
