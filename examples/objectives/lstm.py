"""The ADBench LSTM objective: the loss of a stacked LSTM predicting the next
character of a one-hot encoded sequence.

Source: the ADBench repository (Microsoft, github.com/microsoft/ADBench), which
extends the benchmark of F. Srajer, Z. Kukelova, A. Fitzgibbon, "A benchmark
of selected algorithmic differentiation tools on some problems in computer
vision and machine learning", Optimization Methods and Software 33(4-6), 2018,
with this objective; reference implementations src/cpp/shared/lstm.h and
src/python/modules/PyTorch/lstm_objective.py. The LSTM cell is that of
S. Hochreiter and J. Schmidhuber, "Long short-term memory", Neural Computation
9(8), 1997, in ADBench's diagonal form: every gate of hidden unit i sees only
component i of the input and of the hidden state.

Shapes, for l layers, b hidden units (= the character width) and c characters:

* `main_params` (2*l, 4*b): row 2*j holds layer j's weights, row 2*j + 1 its
  biases, each as [forget | ingate | outgate | change];
* `extra_params` (3, b): input weight, output weight, output bias;
* `state` (2*l, b): row 2*j the hidden state of layer j, row 2*j + 1 its cell;
* `sequence` (c, b): one one-hot character per row.

At each step t the network reads character t (scaled by the input weight),
runs the layers, predicts y = hidden_top * out_weight + out_bias, and the loss
is -sum_t sum_i sequence[t+1, i] * (y_i - log(2 + sum_j exp(y_j))) / ((c-1) b).
The "+ 2" inside the log is ADBench's (its reference computes
log(sum(exp(y), 2)) with Python's `sum` starting at 2); we keep it so that the
values match ADBench's. The input of every step is the true character
(teacher forcing), as in ADBench.

Both versions are generic in the number of layers (`make_data` builds the usual
two). The vectorized version replaces the two state rows of a layer by
concatenating slices (no array is written, which keeps it runnable on
jax.numpy); the loops version writes the state in place, unit by unit, as
ADBench's C++ reference does. Both carry the state array through the time
loop; adgen differentiates both in forward and in reverse mode.

`lstm_objective_inplace` is the loops version laid out as ADBench's C++
reference (lstm.h) runs it: the hidden states, the cells, the layer input and
the prediction are arrays allocated once, before the time loop, and rewritten
in place at every step, element by element, one layer after the other; the
log-softmax is that of each prediction, y_i - log(2 + sum_j exp(y_j)).
"""

import math

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_objective_vectorized(main_params, extra_params, state, sequence):
    n_layers = main_params.shape[0] // 2
    c = sequence.shape[0]
    b = sequence.shape[1]
    total = 0.0
    for t in range(c - 1):
        x = sequence[t] * extra_params[0]
        for layer in range(n_layers):
            weight = main_params[2 * layer]
            bias = main_params[2 * layer + 1]
            hidden = state[2 * layer]
            cell = state[2 * layer + 1]
            gates = np.concatenate((x, hidden, x, hidden)) * weight + bias
            forget = sigmoid(gates[0:b])
            ingate = sigmoid(gates[b:2 * b])
            outgate = sigmoid(gates[2 * b:3 * b])
            change = np.tanh(gates[3 * b:])
            cell = cell * forget + ingate * change
            hidden = outgate * np.tanh(cell)
            # the state with rows 2*layer and 2*layer + 1 replaced
            state = np.concatenate((state[0:2 * layer], hidden.reshape(1, b),
                                    cell.reshape(1, b), state[2 * layer + 2:]))
            x = hidden
        ypred = x * extra_params[1] + extra_params[2]
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        total += np.sum(sequence[t + 1] * ynorm)
    return -total / ((c - 1) * b)


def lstm_objective_loops(main_params, extra_params, state, sequence):
    n_layers = main_params.shape[0] // 2
    c = sequence.shape[0]
    b = sequence.shape[1]
    s = state.copy()
    total = 0.0
    for t in range(c - 1):
        sum_exp = 0.0      # sum_i exp(ypred_i)
        gold_pred = 0.0    # sum_i ygold_i * ypred_i
        gold_sum = 0.0     # sum_i ygold_i
        for i in range(b):
            inp = sequence[t, i] * extra_params[0, i]
            for layer in range(n_layers):
                w = 2 * layer
                forget = sigmoid(inp * main_params[w, i] + main_params[w + 1, i])
                ingate = sigmoid(s[w, i] * main_params[w, b + i] + main_params[w + 1, b + i])
                outgate = sigmoid(inp * main_params[w, 2 * b + i]
                                  + main_params[w + 1, 2 * b + i])
                change = math.tanh(s[w, i] * main_params[w, 3 * b + i]
                                   + main_params[w + 1, 3 * b + i])
                cell = s[w + 1, i] * forget + ingate * change
                s[w + 1, i] = cell
                s[w, i] = outgate * math.tanh(cell)
                inp = s[w, i]
            ypred = inp * extra_params[1, i] + extra_params[2, i]
            sum_exp += math.exp(ypred)
            gold_pred += sequence[t + 1, i] * ypred
            gold_sum += sequence[t + 1, i]
        total += gold_pred - gold_sum * math.log(sum_exp + 2.0)
    return -total / ((c - 1) * b)


def lstm_objective_inplace(main_params, extra_params, state, sequence):
    n_layers = main_params.shape[0] // 2
    c = sequence.shape[0]
    b = sequence.shape[1]
    hidden = np.empty((n_layers, b))
    cell = np.empty((n_layers, b))
    for layer in range(n_layers):
        for i in range(b):
            hidden[layer, i] = state[2 * layer, i]
            cell[layer, i] = state[2 * layer + 1, i]
    inp = np.empty(b)
    ypred = np.empty(b)
    total = 0.0
    for t in range(c - 1):
        for i in range(b):
            inp[i] = sequence[t, i] * extra_params[0, i]
        for layer in range(n_layers):
            w = 2 * layer
            for i in range(b):
                forget = sigmoid(inp[i] * main_params[w, i] + main_params[w + 1, i])
                ingate = sigmoid(hidden[layer, i] * main_params[w, b + i]
                                 + main_params[w + 1, b + i])
                outgate = sigmoid(inp[i] * main_params[w, 2 * b + i]
                                  + main_params[w + 1, 2 * b + i])
                change = math.tanh(hidden[layer, i] * main_params[w, 3 * b + i]
                                   + main_params[w + 1, 3 * b + i])
                cell[layer, i] = cell[layer, i] * forget + ingate * change
                hidden[layer, i] = outgate * math.tanh(cell[layer, i])
            for i in range(b):
                inp[i] = hidden[layer, i]
        sum_exp = 0.0
        for i in range(b):
            ypred[i] = inp[i] * extra_params[1, i] + extra_params[2, i]
            sum_exp += math.exp(ypred[i])
        lse = math.log(sum_exp + 2.0)
        for i in range(b):
            total += sequence[t + 1, i] * (ypred[i] - lse)
    return -total / ((c - 1) * b)


def make_data(n_layers, b, c, seed):
    """(main_params, extra_params, state, sequence): normal parameters and state, and a
    random one-hot character sequence of length c over b characters."""
    rng = np.random.default_rng(seed)
    main_params = rng.normal(size=(2 * n_layers, 4 * b))
    extra_params = rng.normal(size=(3, b))
    state = rng.normal(size=(2 * n_layers, b))
    sequence = np.zeros((c, b))
    sequence[np.arange(c), rng.integers(0, b, size=c)] = 1.0
    return main_params, extra_params, state, sequence
