"""Recurrent layers: an Elman cell, LSTM and GRU, over batches of sequences of
different lengths.

A batch is a zero-padded array X of shape (n, T, d) with the true lengths in
an int array `lengths` (n,); the outputs H have shape (n, T, hidden), rows past
a sequence's length are zero (varying-length outputs), and `last_state(H,
lengths)` takes each sequence's final state. Loops run to each sequence's own
length, so padding costs no work and gets no gradient. Gate layouts follow
PyTorch (LSTM: input, forget, cell, output; GRU: reset, update, new), so
weights can be compared with torch.nn.LSTM / GRU.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Wx, Wh, b = lstm_init(rng, 3, 4)
    >>> X, lengths = rng.standard_normal((2, 5, 3)), np.array([5, 2])
    >>> lstm(Wx, Wh, b, X, lengths).shape
    (2, 5, 4)
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    # the stable form would branch per element; gates never see |z| > 700 in practice
    return 1.0 / (1.0 + np.exp(-z))


# cells: one step, one sequence ----------------------------------------------------------------
def rnn_cell(Wx, Wh, b, x, h):
    """h' = tanh(Wx x + Wh h + b)."""
    return np.tanh(Wx @ x + Wh @ h + b)


def lstm_cell(Wx, Wh, b, x, h, c):
    """One LSTM step: returns (h', c'). Wx (4H, d), Wh (4H, H), b (4H,)."""
    k = Wh.shape[1]
    z = Wx @ x + Wh @ h + b
    i = _sigmoid(z[0:k])
    f = _sigmoid(z[k:2 * k])
    g = np.tanh(z[2 * k:3 * k])
    o = _sigmoid(z[3 * k:4 * k])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def gru_cell(Wx, Wh, bx, bh, x, h):
    """One GRU step (PyTorch's equations): Wx (3H, d), Wh (3H, H), bx, bh (3H,)."""
    k = Wh.shape[1]
    a = Wx @ x + bx
    r_h = Wh @ h + bh
    r = _sigmoid(a[0:k] + r_h[0:k])
    u = _sigmoid(a[k:2 * k] + r_h[k:2 * k])
    n = np.tanh(a[2 * k:3 * k] + r * r_h[2 * k:3 * k])
    return (1.0 - u) * n + u * h


# sequences: a padded batch with lengths ------------------------------------------------------
def rnn(Wx, Wh, b, X, lengths):
    """Elman RNN over each sequence X[i, :lengths[i]]; H (n, T, hidden), zero past the end."""
    n, T = X.shape[0], X.shape[1]
    k = Wh.shape[1]
    H = np.zeros((n, T, k))
    for i in range(n):
        h = np.zeros(k)
        for t in range(lengths[i]):
            h = rnn_cell(Wx, Wh, b, X[i, t], h)
            for j in range(k):
                H[i, t, j] = h[j]
    return H


def lstm(Wx, Wh, b, X, lengths):
    """LSTM over each sequence X[i, :lengths[i]] from zero state; H (n, T, hidden)."""
    n, T = X.shape[0], X.shape[1]
    k = Wh.shape[1]
    H = np.zeros((n, T, k))
    for i in range(n):
        h = np.zeros(k)
        c = np.zeros(k)
        for t in range(lengths[i]):
            h, c = lstm_cell(Wx, Wh, b, X[i, t], h, c)
            for j in range(k):
                H[i, t, j] = h[j]
    return H


def gru(Wx, Wh, bx, bh, X, lengths):
    """GRU over each sequence X[i, :lengths[i]] from zero state; H (n, T, hidden)."""
    n, T = X.shape[0], X.shape[1]
    k = Wh.shape[1]
    H = np.zeros((n, T, k))
    for i in range(n):
        h = np.zeros(k)
        for t in range(lengths[i]):
            h = gru_cell(Wx, Wh, bx, bh, X[i, t], h)
            for j in range(k):
                H[i, t, j] = h[j]
    return H


def last_state(H, lengths):
    """Each sequence's state at its last step: (n, hidden) (zeros for an empty sequence)."""
    n, k = H.shape[0], H.shape[2]
    out = np.zeros((n, k))
    for i in range(n):
        if lengths[i] > 0:
            for j in range(k):
                out[i, j] = H[i, lengths[i] - 1, j]
    return out


# initializers -----------------------------------------------------------------------------------
def _uniform(rng, shape, hidden):
    bound = 1.0 / np.sqrt(hidden)   # PyTorch's default for recurrent layers
    return rng.uniform(-bound, bound, size=shape)


def rnn_init(rng, d_in, hidden):
    """(Wx, Wh, b) for `rnn`, uniform in ±1/sqrt(hidden)."""
    return (_uniform(rng, (hidden, d_in), hidden), _uniform(rng, (hidden, hidden), hidden),
            np.zeros(hidden))


def lstm_init(rng, d_in, hidden):
    """(Wx, Wh, b) for `lstm`; the forget gate's bias starts at 1 (Jozefowicz et al. 2015)."""
    b = np.zeros(4 * hidden)
    b[hidden:2 * hidden] = 1.0
    return (_uniform(rng, (4 * hidden, d_in), hidden),
            _uniform(rng, (4 * hidden, hidden), hidden), b)


def gru_init(rng, d_in, hidden):
    """(Wx, Wh, bx, bh) for `gru`."""
    return (_uniform(rng, (3 * hidden, d_in), hidden), _uniform(rng, (3 * hidden, hidden), hidden),
            np.zeros(3 * hidden), np.zeros(3 * hidden))
