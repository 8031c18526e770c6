"""Hand-written reverse-mode adjoints of the benchmark objectives (bench/problems.py).

These are hand-written on purpose: they are the benchmark's baseline, the gradients
an expert Numba user writes by hand, that adgen's generated gradients are timed
against. adgen never uses them, and they must never be generated from adgen's output.

Each adjoint takes exactly the objective's arguments and returns
`(value, d_arg0, d_arg1, ...)` for the problem's argnums, compiled with
`numba.njit(cache=False, fastmath=False)`: exact IEEE arithmetic, as adgen's Numba
backend compiles, so the comparison is of algorithms and memory traffic, not of
reassociated floating point.

A gradient is compared with the adjoint of the same algorithm. The problem's adjoint
(`Problem.adjoint`, e.g. `gmm_adjoint`) is that of its vectorized source: matrix and
matrix-vector products go to BLAS (`np.dot` on contiguous arrays), everything else is
explicit loops that store only what the reverse sweep reads, and objectives made of
independent scalar recurrences (the logistic map, the ODE) step a block of them
together, so that the adjoint is not bound by the latency of one chain. A loop source
whose loops or arithmetic differ from that has its own, `<function name>_adjoint`
(`Problem.adjoints`): its forward pass is the source's, loop for loop and operation for
operation (no BLAS unless the source calls `np.dot`/`@`), and its reverse sweep is
written for speed, storing what is dear to recompute and recomputing what is cheap.
"""

import math

import numba
import numpy as np

from bench.numba_primal import njit_module_function
from bench.problems import PROBLEMS  # noqa: F401  (puts examples/ on sys.path)
from objectives import gmm

jit = numba.njit(cache=False, fastmath=False)


# --- GMM -------------------------------------------------------------------------

# The objective's own constant (its summation, not math.lgamma, so it matches to the ulp),
# compiled with the module's helpers.
_wishart_constant = njit_module_function(gmm, "wishart_constant")


@jit
def gmm_adjoint(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    kd = k * d
    # All k factors side by side, transposed: qt[col, c*d + j] = Q_c[j, col]. Then
    # x @ qt gives every Q_c x_i in one BLAS product, and the reverse sweep's
    # dQ is one more product x^T @ dY: dense d x d blocks, twice the triangular
    # flops, but at BLAS speed.
    qt = np.zeros((d, kd))
    sum_q = np.empty(k)
    for c in range(k):
        s = 0.0
        for j in range(d):
            qt[j, c * d + j] = math.exp(icf[c, j])
            s += icf[c, j]
        sum_q[c] = s
        t = d
        for col in range(d):
            for row in range(col + 1, d):
                qt[col, c * d + row] = icf[c, t]
                t += 1
    # Q_c mu_c, subtracted from Q_c x_i
    qmu = np.zeros(kd)
    for c in range(k):
        for col in range(d):
            m = means[c, col]
            for j in range(col, d):
                qmu[c * d + j] += qt[col, c * d + j] * m
    y = np.dot(x, qt)                       # (n, kd), becomes dY in place below
    # main terms, their logsumexp and the softmax weights (overwriting the main terms)
    w = np.empty((n, k))
    slse = 0.0
    for i in range(n):
        mx = -np.inf
        for c in range(k):
            sq = 0.0
            for j in range(d):
                v = y[i, c * d + j] - qmu[c * d + j]
                y[i, c * d + j] = v
                sq += v * v
            main = alphas[c] + sum_q[c] - 0.5 * sq
            w[i, c] = main
            if main > mx:
                mx = main
        s = 0.0
        for c in range(k):
            e = math.exp(w[i, c] - mx)
            w[i, c] = e
            s += e
        slse += math.log(s) + mx
        inv = 1.0 / s
        for c in range(k):
            w[i, c] *= inv
    mx_alpha = alphas[0]
    for c in range(1, k):
        mx_alpha = max(mx_alpha, alphas[c])
    se_alpha = 0.0
    for c in range(k):
        se_alpha += math.exp(alphas[c] - mx_alpha)
    lse_alphas = math.log(se_alpha) + mx_alpha

    g2 = wishart_gamma * wishart_gamma
    prior = 0.0
    for c in range(k):
        frob = 0.0
        for j in range(d):
            q = qt[j, c * d + j]
            frob += q * q
        for t in range(d, icf.shape[1]):
            frob += icf[c, t] * icf[c, t]
        prior += 0.5 * g2 * frob - wishart_m * sum_q[c]
    prior -= k * _wishart_constant(d, wishart_gamma, wishart_m)
    value = -n * d * 0.5 * math.log(2.0 * math.pi) + slse - n * lse_alphas + prior

    # reverse sweep: d main[i, c] = w[i, c]; d sqnorm = -w / 2, so dY = -w Y
    d_alphas = np.zeros(k)
    wsum = np.zeros(k)
    dqmu = np.zeros(kd)                     # -sum_i dY[i, :]
    for i in range(n):
        for c in range(k):
            wic = w[i, c]
            wsum[c] += wic
            for j in range(d):
                g = -wic * y[i, c * d + j]
                y[i, c * d + j] = g
                dqmu[c * d + j] -= g
    for c in range(k):
        d_alphas[c] = wsum[c] - n * math.exp(alphas[c] - mx_alpha) / se_alpha
    dqt = np.dot(x.T, y)                     # (d, kd): d Q_c[j, col] at [col, c*d + j]
    d_means = np.zeros((k, d))
    d_icf = np.empty_like(icf)
    for c in range(k):
        # qmu = Q_c mu_c: its adjoint feeds back into Q_c and mu_c
        for col in range(d):
            m = means[c, col]
            acc = 0.0
            for j in range(col, d):
                g = dqmu[c * d + j]
                dqt[col, c * d + j] += g * m
                acc += qt[col, c * d + j] * g
            d_means[c, col] = acc
        dsum_q = wsum[c] - wishart_m
        for j in range(d):
            q = qt[j, c * d + j]
            d_icf[c, j] = dqt[j, c * d + j] * q + g2 * q * q + dsum_q
        t = d
        for col in range(d):
            for row in range(col + 1, d):
                d_icf[c, t] = dqt[col, c * d + row] + g2 * icf[c, t]
                t += 1
    return value, d_alphas, d_means, d_icf


@jit
def _gmm_component_adjoint(c, wgt, xc, qx, q, icf, g, dq, d_means, d_icf):
    """The reverse of one (point, component) term, weighted `wgt` in the log-sum-exp:
    -wgt/2 ||Q_c (x_i - mu_c)||^2 back through the lower triangle of Q_c, column by
    column (contiguous in icf). `xc` = x_i - mu_c, `qx` = Q_c xc, `q` = Q_c's diagonal;
    d exp(icf[c, j]) is summed in dq (times q later); g is scratch of length d."""
    d = xc.shape[0]
    for j in range(d):
        g[j] = -wgt * qx[j]
    t = d
    for col in range(d):
        xcc = xc[col]
        gc = g[col]
        acc = gc * q[col]
        dq[c, col] += gc * xcc
        for row in range(col + 1, d):
            gr = g[row]
            d_icf[c, t] += gr * xcc
            acc += gr * icf[c, t]
            t += 1
        d_means[c, col] -= acc


@jit
def _gmm_weights_and_prior(alphas, icf, q_diags, sum_qs, wsum, dq, d_icf, n,
                           wishart_gamma, wishart_m):
    """The terms of the GMM outside the points' loop and their adjoints: -n log_sum_exp(
    alphas), the constant and the Wishart prior. `q_diags`, `sum_qs`: exp of Q's diagonal
    and the sum of its logs per component; `wsum[c]`: sum over points of the weights of
    component c; `dq`: d of the diagonal from the points' terms. Fills d_icf's diagonal
    and adds the prior to its lower part; returns (those terms' value, d alphas)."""
    k = alphas.shape[0]
    d = q_diags.shape[1]
    n_icf = icf.shape[1]
    mx_alpha = alphas[0]
    for c in range(1, k):
        mx_alpha = max(mx_alpha, alphas[c])
    se_alpha = 0.0
    for c in range(k):
        se_alpha += math.exp(alphas[c] - mx_alpha)
    lse_alphas = math.log(se_alpha) + mx_alpha
    constant = -n * d * 0.5 * math.log(2.0 * math.pi)
    g2 = wishart_gamma * wishart_gamma
    prior = 0.0
    for c in range(k):
        frobenius = 0.0
        dsum_q = wsum[c] - wishart_m         # d sum_qs[c]
        for j in range(d):
            q = q_diags[c, j]
            frobenius += q * q
            # through the diagonal (main terms and prior) and the sum of its logs
            d_icf[c, j] = dq[c, j] * q + g2 * q * q + dsum_q
        for t in range(d, n_icf):
            frobenius += icf[c, t] * icf[c, t]
            d_icf[c, t] += g2 * icf[c, t]
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_qs[c]
    prior -= k * _wishart_constant(d, wishart_gamma, wishart_m)
    d_alphas = np.empty(k)
    for c in range(k):
        d_alphas[c] = wsum[c] - n * math.exp(alphas[c] - mx_alpha) / se_alpha
    return constant - n * lse_alphas + prior, d_alphas


# Mirrors gmm_objective_loops: per point, every main term twice (maximum, then shifted
# sum), row by row, exp(icf) in the loop. Stores from the second pass Q_c (x_i - mu_c)
# and the diagonal (k x d, rewritten per point); recomputes x_i - mu_c (a subtraction).
# The point's reverse sweep follows its forward pass (the objective sums over points).

@jit
def gmm_objective_loops_adjoint(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    comp = np.empty((k, d))                  # Q_c (x_i - mu_c), per component
    qd = np.empty((k, d))                    # exp(log Q_c[j, j])
    ev = np.empty(k)                         # exp(main - mx)
    g = np.empty(d)
    xc_row = np.empty(d)                     # x_i - mu_c, for the reverse
    wsum = np.zeros(k)                       # sum_i of the softmax weights
    dq = np.zeros((k, d))                    # d exp(icf[c, j]), summed over points
    d_means = np.zeros((k, d))
    d_icf = np.zeros_like(icf)
    slse = 0.0
    for i in range(n):
        # gmm_main_term of every component, for their maximum
        mx = -np.inf
        for c in range(k):
            sum_q = 0.0
            sqnorm = 0.0
            for j in range(d):
                sum_q += icf[c, j]
                v = math.exp(icf[c, j]) * (x[i, j] - means[c, j])
                t = d + j - 1                # tril_offset(d, j, col), col = 0, 1, ...
                for col in range(j):
                    v += icf[c, t] * (x[i, col] - means[c, col])
                    t += d - col - 2
                sqnorm += v * v
            mx = max(mx, alphas[c] + sum_q - 0.5 * sqnorm)
        # and again, for the shifted sum, storing Q_c (x_i - mu_c) and the diagonal
        semx = 0.0
        for c in range(k):
            sum_q = 0.0
            sqnorm = 0.0
            for j in range(d):
                sum_q += icf[c, j]
                q = math.exp(icf[c, j])
                v = q * (x[i, j] - means[c, j])
                t = d + j - 1
                for col in range(j):
                    v += icf[c, t] * (x[i, col] - means[c, col])
                    t += d - col - 2
                comp[c, j] = v
                qd[c, j] = q
                sqnorm += v * v
            e = math.exp(alphas[c] + sum_q - 0.5 * sqnorm - mx)
            ev[c] = e
            semx += e
        slse += math.log(semx) + mx
        # reverse: d main[i, c] = exp(main - mx) / semx, and d sqnorm = -d main / 2;
        # the maximum's adjoint is exactly 0 (log(sum exp(v - mx)) + mx does not depend
        # on mx) and is dropped. The strict lower part of Q_c is walked column by column
        # (contiguous in icf); d exp(icf[c, j]) is summed in dq, times q at the end.
        for c in range(k):
            wgt = ev[c] / semx
            wsum[c] += wgt
            for j in range(d):
                xc_row[j] = x[i, j] - means[c, j]
            _gmm_component_adjoint(c, wgt, xc_row, comp[c], qd[c], icf, g, dq, d_means,
                                   d_icf)
    # the diagonal's exp and log sums (the source computes them in its prior's loop)
    q_diags = np.empty((k, d))
    sum_qs = np.empty(k)
    for c in range(k):
        sum_q = 0.0
        for j in range(d):
            q_diags[c, j] = math.exp(icf[c, j])
            sum_q += icf[c, j]
        sum_qs[c] = sum_q
    rest, d_alphas = _gmm_weights_and_prior(alphas, icf, q_diags, sum_qs, wsum, dq, d_icf, n,
                                            wishart_gamma, wishart_m)
    return slse + rest, d_alphas, d_means, d_icf


# Mirrors gmm_objective_scratch: exp(icf) once into q_diags, then per point and component
# the scratch vectors x_i - mu_c and Q_c (x_i - mu_c) (lower part scattered by columns).
# Stores both scratch vectors of all k components (k x d, rewritten per point; nothing
# recomputed); the point's reverse sweep follows its forward pass.

@jit
def gmm_objective_scratch_adjoint(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    q_diags = np.empty((k, d))
    sum_qs = np.empty(k)
    for c in range(k):
        sum_q = 0.0
        for j in range(d):
            q_diags[c, j] = math.exp(icf[c, j])
            sum_q += icf[c, j]
        sum_qs[c] = sum_q
    xcentered = np.empty((k, d))
    qxcentered = np.empty((k, d))
    main_term = np.empty(k)
    g = np.empty(d)
    wsum = np.zeros(k)
    dq = np.zeros((k, d))
    d_means = np.zeros((k, d))
    d_icf = np.zeros_like(icf)
    slse = 0.0
    for i in range(n):
        for c in range(k):
            for j in range(d):
                xcentered[c, j] = x[i, j] - means[c, j]
            for j in range(d):
                qxcentered[c, j] = q_diags[c, j] * xcentered[c, j]
            t = d
            for col in range(d):
                xc = xcentered[c, col]
                for row in range(col + 1, d):
                    qxcentered[c, row] += icf[c, t] * xc
                    t += 1
            sqnorm = 0.0
            for j in range(d):
                sqnorm += qxcentered[c, j] * qxcentered[c, j]
            main_term[c] = alphas[c] + sum_qs[c] - 0.5 * sqnorm
        mx = main_term[0]
        for c in range(1, k):
            mx = max(mx, main_term[c])
        semx = 0.0
        for c in range(k):
            e = math.exp(main_term[c] - mx)
            main_term[c] = e
            semx += e
        slse += math.log(semx) + mx
        # reverse (the maximum's adjoint is exactly 0, dropped): d main = softmax weight
        for c in range(k):
            wgt = main_term[c] / semx
            wsum[c] += wgt
            _gmm_component_adjoint(c, wgt, xcentered[c], qxcentered[c], q_diags[c], icf, g,
                                   dq, d_means, d_icf)
    rest, d_alphas = _gmm_weights_and_prior(alphas, icf, q_diags, sum_qs, wsum, dq, d_icf, n,
                                            wishart_gamma, wishart_m)
    return slse + rest, d_alphas, d_means, d_icf


# --- LSTM ------------------------------------------------------------------------

@jit
def _lstm_cell_adjoint(f, g, o, z, tcell, h_old, c_old, inp, dhn, dc, main_params, d_main,
                       w, b, i):
    """One LSTM unit's step backwards: from its gates (f, g, o, z = the cell candidate),
    tanh(cell), the hidden state and cell before the step, its input, and the adjoints
    of its new hidden state (dhn) and cell (dc), adds the weights' adjoints into d_main
    (rows w, w + 1) and returns the adjoints of the old cell, the old hidden state and
    the input."""
    dcn = dc + dhn * o * (1.0 - tcell * tcell)
    dpf = dcn * c_old * f * (1.0 - f)
    dpi = dcn * z * g * (1.0 - g)
    dpo = dhn * tcell * o * (1.0 - o)
    dpc = dcn * g * (1.0 - z * z)
    d_main[w, i] += dpf * inp
    d_main[w + 1, i] += dpf
    d_main[w, b + i] += dpi * h_old
    d_main[w + 1, b + i] += dpi
    d_main[w, 2 * b + i] += dpo * inp
    d_main[w + 1, 2 * b + i] += dpo
    d_main[w, 3 * b + i] += dpc * h_old
    d_main[w + 1, 3 * b + i] += dpc
    return (dcn * f, dpi * main_params[w, b + i] + dpc * main_params[w, 3 * b + i],
            dpf * main_params[w, i] + dpo * main_params[w, 2 * b + i])


@jit
def lstm_adjoint(main_params, extra_params, state, sequence):
    n_layers = main_params.shape[0] // 2
    c = sequence.shape[0]
    b = sequence.shape[1]
    steps = c - 1
    # The tape, per step, layer and unit: the gate activations and tanh(cell) (they
    # cost transcendental calls to recompute), and the hidden state and cell after
    # the step (the next step's inputs). Units are independent within a layer, so
    # the unit loop is innermost and contiguous.
    hs = np.empty((steps + 1, n_layers, b))
    cs = np.empty((steps + 1, n_layers, b))
    fg = np.empty((steps, n_layers, b))
    ig = np.empty((steps, n_layers, b))
    og = np.empty((steps, n_layers, b))
    ch = np.empty((steps, n_layers, b))
    tc = np.empty((steps, n_layers, b))
    probs = np.empty((steps, b))             # exp(ypred) / (sum exp + 2)
    gold_sums = np.empty(steps)
    for layer in range(n_layers):
        for i in range(b):
            hs[0, layer, i] = state[2 * layer, i]
            cs[0, layer, i] = state[2 * layer + 1, i]
    total = 0.0
    for t in range(steps):
        for layer in range(n_layers):
            w = 2 * layer
            for i in range(b):
                if layer == 0:
                    inp = sequence[t, i] * extra_params[0, i]
                else:
                    inp = hs[t + 1, layer - 1, i]
                h_old = hs[t, layer, i]
                f = 1.0 / (1.0 + math.exp(-(inp * main_params[w, i] + main_params[w + 1, i])))
                g = 1.0 / (1.0 + math.exp(-(h_old * main_params[w, b + i]
                                            + main_params[w + 1, b + i])))
                o = 1.0 / (1.0 + math.exp(-(inp * main_params[w, 2 * b + i]
                                            + main_params[w + 1, 2 * b + i])))
                z = math.tanh(h_old * main_params[w, 3 * b + i] + main_params[w + 1, 3 * b + i])
                cell = cs[t, layer, i] * f + g * z
                tcell = math.tanh(cell)
                fg[t, layer, i] = f
                ig[t, layer, i] = g
                og[t, layer, i] = o
                ch[t, layer, i] = z
                tc[t, layer, i] = tcell
                cs[t + 1, layer, i] = cell
                hs[t + 1, layer, i] = o * tcell
        sum_exp = 0.0
        gold_pred = 0.0
        gold_sum = 0.0
        for i in range(b):
            ypred = hs[t + 1, n_layers - 1, i] * extra_params[1, i] + extra_params[2, i]
            e = math.exp(ypred)
            probs[t, i] = e
            sum_exp += e
            gold_pred += sequence[t + 1, i] * ypred
            gold_sum += sequence[t + 1, i]
        total += gold_pred - gold_sum * math.log(sum_exp + 2.0)
        inv = 1.0 / (sum_exp + 2.0)
        for i in range(b):
            probs[t, i] *= inv
        gold_sums[t] = gold_sum
    scale = -1.0 / (steps * b)
    value = scale * total

    d_main = np.zeros_like(main_params)
    d_extra = np.zeros_like(extra_params)
    dh = np.zeros((n_layers, b))             # adjoints of the state carried back in time
    dc = np.zeros((n_layers, b))
    dx = np.empty(b)                         # adjoint of the current layer's output
    for t in range(steps - 1, -1, -1):
        for i in range(b):
            dy = scale * (sequence[t + 1, i] - gold_sums[t] * probs[t, i])
            d_extra[1, i] += dy * hs[t + 1, n_layers - 1, i]
            d_extra[2, i] += dy
            dx[i] = dy * extra_params[1, i]
        for layer in range(n_layers - 1, -1, -1):
            w = 2 * layer
            for i in range(b):
                if layer == 0:
                    inp = sequence[t, i] * extra_params[0, i]
                else:
                    inp = hs[t + 1, layer - 1, i]
                h_old = hs[t, layer, i]
                f = fg[t, layer, i]
                g = ig[t, layer, i]
                o = og[t, layer, i]
                z = ch[t, layer, i]
                tcell = tc[t, layer, i]
                dc[layer, i], dh[layer, i], dinp = _lstm_cell_adjoint(
                    f, g, o, z, tcell, h_old, cs[t, layer, i], inp, dh[layer, i] + dx[i],
                    dc[layer, i], main_params, d_main, w, b, i)
                if layer == 0:
                    d_extra[0, i] += dinp * sequence[t, i]
                else:
                    dx[i] = dinp
    d_state = np.empty_like(state)
    for layer in range(n_layers):
        for i in range(b):
            d_state[2 * layer, i] = dh[layer, i]
            d_state[2 * layer + 1, i] = dc[layer, i]
    return value, d_main, d_extra, d_state


# Mirrors lstm_objective_loops: per step, unit by unit, all layers of the unit (unit loop
# outside), loss gold_pred - gold_sum log(sum_exp + 2). Stores one record per (step,
# unit, layer), contiguous for both sweeps: the gates and tanh(cell) (transcendental),
# the old hidden state and cell and the layer's input; recomputes nothing.

@jit
def lstm_objective_loops_adjoint(main_params, extra_params, state, sequence):
    n_layers = main_params.shape[0] // 2
    c = sequence.shape[0]
    b = sequence.shape[1]
    steps = c - 1
    tape = np.empty((steps, b, n_layers, 8))  # f, ingate, o, change, tanh cell, h, cell, inp
    probs = np.empty((steps, b))             # exp(ypred) / (sum exp + 2)
    gold_sums = np.empty(steps)
    s = state.copy()
    total = 0.0
    for t in range(steps):
        sum_exp = 0.0
        gold_pred = 0.0
        gold_sum = 0.0
        for i in range(b):
            inp = sequence[t, i] * extra_params[0, i]
            for layer in range(n_layers):
                w = 2 * layer
                h_old = s[w, i]
                c_old = s[w + 1, i]
                f = 1.0 / (1.0 + math.exp(-(inp * main_params[w, i] + main_params[w + 1, i])))
                g = 1.0 / (1.0 + math.exp(-(h_old * main_params[w, b + i]
                                            + main_params[w + 1, b + i])))
                o = 1.0 / (1.0 + math.exp(-(inp * main_params[w, 2 * b + i]
                                            + main_params[w + 1, 2 * b + i])))
                z = math.tanh(h_old * main_params[w, 3 * b + i] + main_params[w + 1, 3 * b + i])
                cell = c_old * f + g * z
                tcell = math.tanh(cell)
                tape[t, i, layer, 0] = f
                tape[t, i, layer, 1] = g
                tape[t, i, layer, 2] = o
                tape[t, i, layer, 3] = z
                tape[t, i, layer, 4] = tcell
                tape[t, i, layer, 5] = h_old
                tape[t, i, layer, 6] = c_old
                tape[t, i, layer, 7] = inp
                s[w + 1, i] = cell
                inp = o * tcell
                s[w, i] = inp
            ypred = inp * extra_params[1, i] + extra_params[2, i]
            e = math.exp(ypred)
            probs[t, i] = e
            sum_exp += e
            gold_pred += sequence[t + 1, i] * ypred
            gold_sum += sequence[t + 1, i]
        total += gold_pred - gold_sum * math.log(sum_exp + 2.0)
        inv = 1.0 / (sum_exp + 2.0)
        for i in range(b):
            probs[t, i] *= inv
        gold_sums[t] = gold_sum
    scale = -1.0 / (steps * b)

    d_main = np.zeros_like(main_params)
    d_extra = np.zeros_like(extra_params)
    dh = np.zeros((b, n_layers))             # adjoints of the state carried back in time
    dc = np.zeros((b, n_layers))
    top = n_layers - 1
    for t in range(steps - 1, -1, -1):
        for i in range(b):
            dy = scale * (sequence[t + 1, i] - gold_sums[t] * probs[t, i])
            d_extra[1, i] += dy * (tape[t, i, top, 2] * tape[t, i, top, 4])
            d_extra[2, i] += dy
            dx = dy * extra_params[1, i]     # adjoint of the layer's output
            for layer in range(top, -1, -1):
                w = 2 * layer
                f = tape[t, i, layer, 0]
                g = tape[t, i, layer, 1]
                o = tape[t, i, layer, 2]
                z = tape[t, i, layer, 3]
                tcell = tape[t, i, layer, 4]
                h_old = tape[t, i, layer, 5]
                c_old = tape[t, i, layer, 6]
                inp = tape[t, i, layer, 7]
                dc[i, layer], dh[i, layer], dx = _lstm_cell_adjoint(
                    f, g, o, z, tcell, h_old, c_old, inp, dh[i, layer] + dx, dc[i, layer],
                    main_params, d_main, w, b, i)
            d_extra[0, i] += dx * sequence[t, i]
    d_state = np.empty_like(state)
    for layer in range(n_layers):
        for i in range(b):
            d_state[2 * layer, i] = dh[i, layer]
            d_state[2 * layer + 1, i] = dc[i, layer]
    return -total / (steps * b), d_main, d_extra, d_state


# --- MLP -------------------------------------------------------------------------

@jit
def mlp_adjoint(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    h = W1.shape[1]
    n_classes = W2.shape[1]
    H = np.dot(X, W1)
    for i in range(n):
        for j in range(h):
            H[i, j] = math.tanh(H[i, j] + b1[j])
    Z = np.dot(H, W2)                        # becomes dZ in place
    total = 0.0
    inv_n = 1.0 / n
    for i in range(n):
        mx = -np.inf
        for c in range(n_classes):
            z = Z[i, c] + b2[c]
            Z[i, c] = z
            mx = max(mx, z)
        s = 0.0
        for c in range(n_classes):
            s += math.exp(Z[i, c] - mx)
        lse = math.log(s)
        weight = 0.0
        for c in range(n_classes):
            total += Y[i, c] * (Z[i, c] - mx - lse)
            weight += Y[i, c]
        for c in range(n_classes):
            Z[i, c] = (weight * math.exp(Z[i, c] - mx - lse) - Y[i, c]) * inv_n
    value = -total * inv_n
    dW2 = np.dot(H.T, Z)
    db2 = np.zeros(n_classes)
    for i in range(n):
        for c in range(n_classes):
            db2[c] += Z[i, c]
    dH = np.dot(Z, W2.T)                     # becomes d pre in place
    db1 = np.zeros(h)
    for i in range(n):
        for j in range(h):
            hij = H[i, j]
            g = dH[i, j] * (1.0 - hij * hij)
            dH[i, j] = g
            db1[j] += g
    dW1 = np.dot(X.T, dH)
    return value, dW1, db1, dW2, db2


# Mirrors mlp_loops: per example, each logit recomputes the hidden layer (C times, W1
# read by columns, no BLAS), online softmax. Stores the example's logits and hidden units
# and d pre-activation (n x h): the C adjoints of the identical hidden units are summed,
# one hidden layer back, not C; d W1 = X^T d pre at the end, by rows (a row stays in L1).

@jit
def _mlp_logit(W1, b1, W2, b2, X, i, c, hid):
    """mlp_logit(W1, b1, W2, b2, X, i, c), storing tanh of the hidden units in hid."""
    d = W1.shape[0]
    h = W1.shape[1]
    z = b2[c]
    for k in range(h):
        a = b1[k]
        for j in range(d):
            a += X[i, j] * W1[j, k]
        t = math.tanh(a)
        hid[k] = t
        z += t * W2[k, c]
    return z


@jit
def mlp_loops_adjoint(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    d = W1.shape[0]
    h = W1.shape[1]
    n_classes = W2.shape[1]
    zs = np.empty(n_classes)
    dz = np.empty(n_classes)
    hid = np.empty(h)
    da = np.empty((n, h))                    # d pre-activation of the hidden units
    dW1 = np.zeros_like(W1)
    db1 = np.zeros(h)
    dW2 = np.zeros_like(W2)
    db2 = np.zeros(n_classes)
    inv_n = 1.0 / n
    total = 0.0
    for i in range(n):
        z = _mlp_logit(W1, b1, W2, b2, X, i, 0, hid)
        zs[0] = z
        mx = z
        s = 1.0
        gold = Y[i, 0] * z
        weight = Y[i, 0]
        for c in range(1, n_classes):
            z = _mlp_logit(W1, b1, W2, b2, X, i, c, hid)
            zs[c] = z
            if z > mx:
                s = s * math.exp(mx - z) + 1.0
                mx = z
            else:
                s += math.exp(z - mx)
            gold += Y[i, c] * z
            weight += Y[i, c]
        lse = mx + math.log(s)
        total += gold - weight * lse
        # reverse: d logit c = (weight softmax_c - Y[i, c]) / n
        for c in range(n_classes):
            g = (weight * math.exp(zs[c] - lse) - Y[i, c]) * inv_n
            dz[c] = g
            db2[c] += g
        for k in range(h):
            t = hid[k]
            acc = 0.0
            for c in range(n_classes):
                dW2[k, c] += dz[c] * t
                acc += dz[c] * W2[k, c]
            a = acc * (1.0 - t * t)
            da[i, k] = a
            db1[k] += a
    for j in range(d):
        for i in range(n):
            xij = X[i, j]
            for k in range(h):
                dW1[j, k] += xij * da[i, k]
    return -total / n, dW1, db1, dW2, db2


# --- logistic map ------------------------------------------------------------------

LANES_LOGISTIC = 32    # orbits advanced together: 32 x steps of tape stays in L2


@jit
def logistic_map_adjoint(r, x0, steps):
    n = x0.shape[0]
    # One orbit alone is a chain of dependent multiplies (latency-bound, forward and
    # back); a block of independent orbits stepped together fills the SIMD lanes and
    # the pipeline. The tape holds the block's states; the reverse sweep reads it back.
    B = LANES_LOGISTIC
    tape = np.empty((steps, B))
    xs = np.empty(B)
    gs = np.empty(B)
    drs = np.zeros(B)                        # d r per lane: no cross-lane dependence
    d_x0 = np.empty(n)
    total = 0.0
    inv_n = 1.0 / n
    for i0 in range(0, n, B):
        nb = min(B, n - i0)
        for q in range(nb):
            xs[q] = x0[i0 + q]
        for t in range(steps):
            for q in range(nb):
                x = xs[q]
                tape[t, q] = x
                xs[q] = r * x * (1.0 - x)
        for q in range(nb):
            total += xs[q]
            gs[q] = inv_n
        for t in range(steps - 1, -1, -1):
            for q in range(nb):
                xt = tape[t, q]
                drs[q] += gs[q] * (xt * (1.0 - xt))
                gs[q] *= r * (1.0 - 2.0 * xt)
        for q in range(nb):
            d_x0[i0 + q] = gs[q]
    d_r = 0.0
    for q in range(B):
        d_r += drs[q]
    return total / n, d_r, d_x0


# Mirrors logistic_map_loops: one orbit at a time, its steps a chain of dependent
# multiplies (no block of orbits stepped together). Stores the orbit's states (steps
# floats, in L1: the map cannot be run backwards, recomputing would be quadratic); the
# reverse sweep's two chains, d x and d r, overlap.

@jit
def logistic_map_loops_adjoint(r, x0, steps):
    n = x0.shape[0]
    tape = np.empty(steps)
    d_x0 = np.empty(n)
    inv_n = 1.0 / n
    total = 0.0
    d_r = 0.0
    for i in range(n):
        x = x0[i]
        for t in range(steps):
            tape[t] = x
            x = r * x * (1.0 - x)
        total += x
        g = inv_n
        dr = 0.0
        for t in range(steps - 1, -1, -1):
            xt = tape[t]
            dr += g * (xt * (1.0 - xt))
            g *= r * (1.0 - 2.0 * xt)
        d_x0[i] = g
        d_r += dr
    return total / n, d_r, d_x0


# --- Lotka-Volterra RK4 ------------------------------------------------------------

LANES_ODE = 16         # orbits integrated together (see logistic_map_adjoint)


@jit
def _lotka_volterra_rhs_adjoint(gku, gkv, us, vs, a, b, c, d):
    """A stage's adjoint (gku, gkv) through f(us, vs) = (a us - b us vs, c us vs - d vs):
    the adjoint of (us, vs) and the stage's d theta terms (d a, -d b, d c, -d d)."""
    uv = us * vs
    gsu = gku * (a - b * vs) + gkv * c * vs
    gsv = gkv * (c * us - d) - gku * b * us
    return gsu, gsv, gku * us, gku * uv, gkv * uv, gkv * vs


@jit
def _lotka_volterra_step_adjoint(u, v, gu, gv, a, b, c, d, dt, h2, h6):
    """One RK4 step of Lotka-Volterra backwards: the stages recomputed from the state
    (u, v) at the step's start, the adjoint (gu, gv) of the state after it taken back
    through them; returns the adjoint before the step and the step's d theta terms
    (pa, pb, pc, pd: d a, -d b, d c, -d d)."""
    k1u = a * u - b * u * v
    k1v = c * u * v - d * v
    u2 = u + h2 * k1u
    v2 = v + h2 * k1v
    k2u = a * u2 - b * u2 * v2
    k2v = c * u2 * v2 - d * v2
    u3 = u + h2 * k2u
    v3 = v + h2 * k2v
    k3u = a * u3 - b * u3 * v3
    k3v = c * u3 * v3 - d * v3
    u4 = u + dt * k3u
    v4 = v + dt * k3v
    # stage adjoints, last stage first: each stage's (gku, gkv) goes through the
    # right-hand side at its point to (gsu, gsv), which reaches u, v and the stage before
    gsu, gsv, pa, pb, pc, pd = _lotka_volterra_rhs_adjoint(h6 * gu, h6 * gv, u4, v4,
                                                           a, b, c, d)
    nu = gu + gsu                    # u4 = u + dt k3: to u and to k3
    nv = gv + gsv
    gsu, gsv, qa, qb, qc, qd = _lotka_volterra_rhs_adjoint(
        2.0 * h6 * gu + dt * gsu, 2.0 * h6 * gv + dt * gsv, u3, v3, a, b, c, d)
    nu += gsu
    nv += gsv
    pa, pb, pc, pd = pa + qa, pb + qb, pc + qc, pd + qd
    gsu, gsv, qa, qb, qc, qd = _lotka_volterra_rhs_adjoint(
        2.0 * h6 * gu + h2 * gsu, 2.0 * h6 * gv + h2 * gsv, u2, v2, a, b, c, d)
    nu += gsu
    nv += gsv
    pa, pb, pc, pd = pa + qa, pb + qb, pc + qc, pd + qd
    gsu, gsv, qa, qb, qc, qd = _lotka_volterra_rhs_adjoint(
        h6 * gu + h2 * gsu, h6 * gv + h2 * gsv, u, v, a, b, c, d)
    return nu + gsu, nv + gsv, pa + qa, pb + qb, pc + qc, pd + qd


@jit
def lotka_volterra_adjoint(theta, u0, v0, dt, steps):
    a = theta[0]
    b = theta[1]
    c = theta[2]
    d = theta[3]
    n = u0.shape[0]
    h2 = 0.5 * dt
    h6 = dt / 6.0
    # Blocks of B orbits stepped together, for the same reason as the logistic map.
    # Only the state at the start of each step is taped: the reverse sweep recomputes
    # that step's stages, which do not depend on the adjoint chain and so overlap it.
    B = LANES_ODE
    tu = np.empty((steps, B))
    tv = np.empty((steps, B))
    us = np.empty(B)
    vs = np.empty(B)
    gus = np.empty(B)
    gvs = np.empty(B)
    dth = np.zeros((4, B))                   # d theta per lane
    d_u0 = np.empty(n)
    d_v0 = np.empty(n)
    total = 0.0
    for i0 in range(0, n, B):
        nb = min(B, n - i0)
        for q in range(nb):
            us[q] = u0[i0 + q]
            vs[q] = v0[i0 + q]
        for t in range(steps):
            for q in range(nb):
                u = us[q]
                v = vs[q]
                tu[t, q] = u
                tv[t, q] = v
                k1u = a * u - b * u * v
                k1v = c * u * v - d * v
                u2 = u + h2 * k1u
                v2 = v + h2 * k1v
                k2u = a * u2 - b * u2 * v2
                k2v = c * u2 * v2 - d * v2
                u3 = u + h2 * k2u
                v3 = v + h2 * k2v
                k3u = a * u3 - b * u3 * v3
                k3v = c * u3 * v3 - d * v3
                u4 = u + dt * k3u
                v4 = v + dt * k3v
                k4u = a * u4 - b * u4 * v4
                k4v = c * u4 * v4 - d * v4
                us[q] = u + h6 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
                vs[q] = v + h6 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        for q in range(nb):
            u = us[q]
            v = vs[q]
            total += (u - 1.0) ** 2 + (v - 1.0) ** 2
            gus[q] = 2.0 * (u - 1.0) / n
            gvs[q] = 2.0 * (v - 1.0) / n
        for t in range(steps - 1, -1, -1):
            for q in range(nb):
                gus[q], gvs[q], pa, pb, pc, pd = _lotka_volterra_step_adjoint(
                    tu[t, q], tv[t, q], gus[q], gvs[q], a, b, c, d, dt, h2, h6)
                dth[0, q] += pa
                dth[1, q] -= pb
                dth[2, q] += pc
                dth[3, q] -= pd
        for q in range(nb):
            d_u0[i0 + q] = gus[q]
            d_v0[i0 + q] = gvs[q]
    d_theta = np.zeros(4)
    for j in range(4):
        for q in range(B):
            d_theta[j] += dth[j, q]
    return total / n, d_theta, d_u0, d_v0


# Mirrors lotka_volterra_loops: one orbit at a time, all its RK4 steps (no block of
# orbits). Stores only the state at the start of each step (2 x steps floats, in L1) and
# recomputes the step's stages in the reverse sweep: they are off the adjoint's chain of
# dependences and overlap it. d theta is summed in registers per orbit.

@jit
def lotka_volterra_loops_adjoint(theta, u0, v0, dt, steps):
    a = theta[0]
    b = theta[1]
    c = theta[2]
    d = theta[3]
    n = u0.shape[0]
    h2 = 0.5 * dt
    h6 = dt / 6.0
    tu = np.empty(steps)
    tv = np.empty(steps)
    d_u0 = np.empty(n)
    d_v0 = np.empty(n)
    da = 0.0
    db = 0.0
    dc = 0.0
    dd = 0.0
    total = 0.0
    for i in range(n):
        u = u0[i]
        v = v0[i]
        for t in range(steps):
            tu[t] = u
            tv[t] = v
            k1u = a * u - b * u * v
            k1v = c * u * v - d * v
            u2 = u + h2 * k1u
            v2 = v + h2 * k1v
            k2u = a * u2 - b * u2 * v2
            k2v = c * u2 * v2 - d * v2
            u3 = u + h2 * k2u
            v3 = v + h2 * k2v
            k3u = a * u3 - b * u3 * v3
            k3v = c * u3 * v3 - d * v3
            u4 = u + dt * k3u
            v4 = v + dt * k3v
            k4u = a * u4 - b * u4 * v4
            k4v = c * u4 * v4 - d * v4
            u = u + h6 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
            v = v + h6 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        total += (u - 1.0) ** 2 + (v - 1.0) ** 2
        gu = 2.0 * (u - 1.0) / n
        gv = 2.0 * (v - 1.0) / n
        pa = 0.0
        pb = 0.0
        pc = 0.0
        pd = 0.0
        for t in range(steps - 1, -1, -1):
            gu, gv, sa, sb, sc, sd = _lotka_volterra_step_adjoint(
                tu[t], tv[t], gu, gv, a, b, c, d, dt, h2, h6)
            pa += sa
            pb += sb
            pc += sc
            pd += sd
        d_u0[i] = gu
        d_v0[i] = gv
        da += pa
        db -= pb
        dc += pc
        dd -= pd
    d_theta = np.empty(4)
    d_theta[0] = da
    d_theta[1] = db
    d_theta[2] = dc
    d_theta[3] = dd
    return total / n, d_theta, d_u0, d_v0


# --- logistic regression -----------------------------------------------------------

@jit
def logistic_regression_adjoint(w, b, X, y, lam):
    n = X.shape[0]
    dim = X.shape[1]
    # Two BLAS matrix-vector products (X w, then gz^T X): faster than one fused pass
    # whose per-row dot product is a serial chain without reassociation.
    z = np.dot(X, w)                          # becomes d z in place
    total = 0.0
    d_b = 0.0
    inv_n = 1.0 / n
    for i in range(n):
        t = -y[i] * (z[i] + b)
        e = math.exp(-abs(t))
        total += max(t, 0.0) + math.log1p(e)
        # d softplus(t) / dt = sigmoid(t), from the same exp(-|t|)
        if t >= 0.0:
            s = 1.0 / (1.0 + e)
        else:
            s = e / (1.0 + e)
        gz = -y[i] * s * inv_n
        z[i] = gz
        d_b += gz
    d_w = np.dot(z, X)
    penalty = 0.0
    for j in range(dim):
        penalty += w[j] * w[j]
        d_w[j] += lam * w[j]
    return total / n + 0.5 * lam * penalty, d_w, d_b


# Mirrors logistic_regression_loops: per example x_i . w as a scalar chain from b, then
# the stable softplus (no BLAS). Stores nothing: fused, the example's gradient is
# scattered into d_w while its row of X is still in L1.

@jit
def logistic_regression_loops_adjoint(w, b, X, y, lam):
    n = X.shape[0]
    d = X.shape[1]
    d_w = np.zeros(d)
    d_b = 0.0
    inv_n = 1.0 / n
    total = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        t = -y[i] * z
        e = math.exp(-abs(t))
        total += max(t, 0.0) + math.log1p(e)
        # d softplus(t) / dt = sigmoid(t), from the same exp(-|t|)
        if t >= 0.0:
            s = 1.0 / (1.0 + e)
        else:
            s = e / (1.0 + e)
        gz = -y[i] * s * inv_n
        d_b += gz
        for j in range(d):
            d_w[j] += gz * X[i, j]
    penalty = 0.0
    for j in range(d):
        penalty += w[j] * w[j]
        d_w[j] += lam * w[j]
    return total / n + 0.5 * lam * penalty, d_w, d_b


# --- conv1d ------------------------------------------------------------------------

@jit
def conv1d_adjoint(x, u, target):
    n = x.shape[0]
    m = u.shape[0]
    n_out = n - m + 1
    d_x = np.zeros(n)
    d_u = np.zeros(m)
    total = 0.0
    # Fused: each output's adjoint is known as soon as it is computed, and the
    # window x[i:i+m] is still in registers/L1 for both scatters.
    for i in range(n_out):
        s = 0.0
        for j in range(m):
            s += x[i + j] * u[j]
        o = math.tanh(s)
        r = o - target[i]
        total += r * r
        g = r * (1.0 - o * o)
        for j in range(m):
            d_x[i + j] += g * u[j]
            d_u[j] += g * x[i + j]
    return 0.5 * total, d_x, d_u


# --- heat equation (FTCS) ------------------------------------------------------------

HEAT_SEGMENT_BYTES = 1 << 18   # a segment's tape (steps x cells) fits in L2


@jit
def _heat_step(u, u_new, r, m):
    """One FTCS step from u into u_new (the end cells copied)."""
    u_new[0] = u[0]
    u_new[m - 1] = u[m - 1]
    for i in range(1, m - 1):
        u_new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])


@jit
def _heat_step_adjoint(u, ga, gb, drs, r, m):
    """The transpose of a step on the interior adjoint (ga into gb, whose end entries
    stay 0), and the step's d r per cell into drs (u: the state before the step)."""
    for i in range(1, m - 1):
        drs[i] += ga[i] * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        gb[i] = ga[i] + r * (ga[i - 1] - 2.0 * ga[i] + ga[i + 1])


@jit
def heat_adjoint(u0, r, steps):
    m = u0.shape[0]
    # A tape of every state (steps x m floats, 8 MB at the benchmark's size) would make
    # both sweeps memory-bound. Instead: checkpoints of the state every S steps (S about
    # sqrt(steps), bounded by L2), and the reverse sweep recomputes each segment's S
    # states from its checkpoint into a small tape before reversing it: three stencil
    # sweeps over data in cache, in place of two over data in memory.
    S = max(1, min(steps, HEAT_SEGMENT_BYTES // (8 * m), int(math.sqrt(steps)) + 1))
    n_seg = (steps + S - 1) // S
    checkpoints = np.empty((max(n_seg, 1), m))
    u = u0.copy()
    u_new = u0.copy()
    for t in range(steps):
        if t % S == 0:
            checkpoints[t // S, :] = u
        _heat_step(u, u_new, r, m)
        u, u_new = u_new, u
    value = 0.0
    for i in range(m):
        value += u[i] * u[i]
    # Reverse sweep. The end cells are copied by every step: their adjoints are two
    # scalars, fed by their interior neighbours. The interior adjoint is kept in a
    # buffer whose end entries stay 0; then the transpose of a step is the same
    # stencil, u_bar[i] + r (u_bar[i-1] - 2 u_bar[i] + u_bar[i+1]), two buffers in turn.
    # d r is accumulated per cell (independent lanes, no serial chain), summed at the end.
    # The stencils are small functions of 1-D arrays: LLVM vectorizes their loops
    # (written inline here, on rows of the 2-D tape, the reverse one stayed scalar).
    ga = np.zeros(m)
    gb = np.zeros(m)
    drs = np.zeros(m)
    for i in range(1, m - 1):
        ga[i] = 2.0 * u[i]
    g_left = 2.0 * u[0]
    g_right = 2.0 * u[m - 1]
    tape = np.empty((S, m))
    for seg in range(n_seg - 1, -1, -1):
        t0 = seg * S
        n = min(S, steps - t0)
        tape[0, :] = checkpoints[seg]
        for k in range(n - 1):
            _heat_step(tape[k], tape[k + 1], r, m)
        for k in range(n - 1, -1, -1):
            _heat_step_adjoint(tape[k], ga, gb, drs, r, m)
            if m >= 3:
                g_left += r * ga[1]
                g_right += r * ga[m - 2]
            ga, gb = gb, ga
    d_u0 = ga
    d_u0[0] = g_left
    d_u0[m - 1] = g_right
    d_r = 0.0
    for i in range(m):
        d_r += drs[i]
    return value, d_u0, d_r
