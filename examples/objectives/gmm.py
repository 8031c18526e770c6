"""The ADBench Gaussian mixture model objective.

Source: F. Srajer, Z. Kukelova, A. Fitzgibbon, "A benchmark of selected
algorithmic differentiation tools on some problems in computer vision and
machine learning", Optimization Methods and Software 33(4-6), 2018, section 3.1
(the GMM fitting problem), and its reference implementation in the ADBench
repository (src/cpp/shared/gmm.h, src/python/modules/PyTorch/gmm_objective.py).

Parameters of k components in d dimensions:

* `alphas` (k,): unnormalized log mixture weights;
* `means` (k, d);
* `icf` (k, d*(d+1)/2): the inverse-covariance factor Q_k of each component,
  lower triangular: first the d logs of its diagonal, then its strictly lower
  part column by column (Q_k[1,0], Q_k[2,0], ..., Q_k[d-1,0], Q_k[2,1], ...);

data `x` (n, d), and a Wishart prior with parameters `wishart_gamma` (float)
and `wishart_m` (int). The objective, with the signs of ADBench's reference, is

    -n d/2 log(2 pi)
    + sum_i logsumexp_k(alpha_k + sum_j log Q_k[j,j] - 1/2 ||Q_k (x_i - mu_k)||^2)
    - n logsumexp_k(alpha_k)
    + sum_k (gamma^2/2 ||Q_k||_F^2 - m sum_j log Q_k[j,j]) - k C(d, gamma, m),

with C = n_w d (log gamma - log(2)/2) - log Gamma_d(n_w / 2), n_w = d + m + 1,
exactly as ADBench computes it, every logsumexp shifted by its maximum.

`gmm_objective_vectorized` builds every Q_k at once with a constant 0/1
selection matrix and evaluates all n*k Mahalanobis terms with one matrix
product; another 0/1 matrix repeats the means and sums squares over blocks of d
columns. It uses 2-D arrays only: adgen's Numba backend does not compile
reductions and broadcasting adjoints of 3-D arrays. The two constant matrices
are filled by small loops; they do not depend on the parameters, so
differentiating through them costs nothing.

`gmm_objective_loops` computes each component of Q_k (x_i - mu_k) as a scalar
in an inner loop, accumulating its squared norm, and takes the logsumexp over
components in two passes (maximum, then the sum of shifted exponentials),
recomputing the main term instead of storing it in a buffer.

`gmm_objective_scratch` is written as ADBench's C++ reference (gmm.h) and most
Numba code is: the diagonals exp(log Q_c[j,j]) and their log sums computed once
into arrays, and per data point and component the scratch vectors `xcentered`
and `qxcentered` (Q_c (x_i - mu_c), the diagonal first, then the strictly
lower part column by column with a running index into `icf`) and the per-point
array `main_term` of the k terms, each allocated once outside the loops and
rewritten element by element for every point.

`math.lgamma` is not in adgen's subset; the constant log Gamma_d(n_w / 2) only
needs Gamma at positive half-integers, which `log_gamma_half` computes from
Gamma(1) = 1, Gamma(1/2) = sqrt(pi) and Gamma(a + 1) = a Gamma(a).
"""

import math

import numpy as np


def log_gamma_half(two_a):
    """log Gamma(two_a / 2) for an int two_a >= 1."""
    out = 0.0
    if two_a % 2 == 0:
        for i in range(1, two_a // 2):
            out += math.log(i)
    else:
        out = 0.5 * math.log(math.pi)
        for i in range(1, two_a // 2 + 1):
            out += math.log(i - 0.5)
    return out


def log_multigamma_half(two_a, p):
    """log of the multivariate gamma function Gamma_p(two_a / 2), for an int two_a >= p."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += log_gamma_half(two_a + 1 - j)
    return out


def wishart_constant(d, wishart_gamma, wishart_m):
    """The per-component constant C of ADBench's log_wishart_prior."""
    n_w = d + wishart_m + 1
    return n_w * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) \
        - log_multigamma_half(n_w, d)


def tril_offset(d, row, col):
    """Column of `icf` holding Q[row, col] for row > col (column-major strict lower part)."""
    return d + col * (d - 1) - col * (col - 1) // 2 + row - col - 1


def icf_to_q_selection(d):
    """The constant 0/1 matrix S, (d*(d+1)/2, d*d), such that [exp(log diag) | lower] @ S
    is Q flattened row-major: row t of S marks the flat position of the t-th icf entry."""
    S = np.zeros((d * (d + 1) // 2, d * d))
    for j in range(d):
        S[j, j * d + j] = 1.0
    for col in range(d):
        for row in range(col + 1, d):
            S[tril_offset(d, row, col), row * d + col] = 1.0
    return S


def component_selection(k, d):
    """The constant 0/1 matrix R, (k*d, k), with R[c*d + j, c] = 1: R @ means repeats
    each mean d times, once per row of Q_c."""
    R = np.zeros((k * d, k))
    for c in range(k):
        for j in range(d):
            R[c * d + j, c] = 1.0
    return R


def gmm_objective_vectorized(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    log_diag = icf[:, :d]
    q_diags = np.exp(log_diag)
    sum_qs = np.sum(log_diag, axis=1)
    q_entries = np.concatenate((q_diags, icf[:, d:]), axis=1)
    q_flat = q_entries @ icf_to_q_selection(d)           # (k, d*d): Q_c row-major
    q_rows = q_flat.reshape(k * d, d)                      # row c*d + j: row j of Q_c
    # Q_c (x_i - mu_c) = Q_c x_i - Q_c mu_c, for every point i and component c
    qx = x @ q_rows.T                                      # (n, k*d)
    blocks = component_selection(k, d)                     # (k*d, k)
    repeated_means = blocks @ means                        # (k*d, d)
    q_means = np.sum(q_rows * repeated_means, axis=1)      # (k*d,)
    mahal = qx - q_means
    sqnorm = (mahal * mahal) @ blocks                      # (n, k): sums over each block of d
    main_term = alphas + sum_qs - 0.5 * sqnorm             # (n, k)
    # logsumexp over components, shifted by the maximum
    mx = np.max(main_term, axis=1)
    shifted = np.exp(main_term - mx.reshape(n, 1))
    slse = np.sum(np.log(np.sum(shifted, axis=1)) + mx)
    mx_alpha = np.max(alphas)
    lse_alphas = np.log(np.sum(np.exp(alphas - mx_alpha))) + mx_alpha
    constant = -n * d * 0.5 * math.log(2.0 * math.pi)
    # Wishart prior: ||Q_c||_F^2 is the sum of squares of its diagonal and lower part
    lower = icf[:, d:]
    frobenius = np.sum(q_diags * q_diags) + np.sum(lower * lower)
    prior = 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * np.sum(sum_qs) \
        - k * wishart_constant(d, wishart_gamma, wishart_m)
    return constant + slse - n * lse_alphas + prior


def gmm_main_term(alphas, means, icf, x, i, c):
    """alpha_c + sum_j log Q_c[j,j] - 1/2 ||Q_c (x_i - mu_c)||^2, one scalar at a time."""
    d = x.shape[1]
    sum_q = 0.0
    sqnorm = 0.0
    for j in range(d):
        sum_q += icf[c, j]
        # component j of Q_c (x_i - mu_c): diagonal term plus the strictly lower row j
        comp = math.exp(icf[c, j]) * (x[i, j] - means[c, j])
        for col in range(j):
            comp += icf[c, tril_offset(d, j, col)] * (x[i, col] - means[c, col])
        sqnorm += comp * comp
    return alphas[c] + sum_q - 0.5 * sqnorm


def log_sum_exp(v):
    """log(sum(exp(v))) of a 1-D array, shifted by its maximum (the loop sources' form)."""
    mx = v[0]
    for c in range(1, v.shape[0]):
        mx = max(mx, v[c])
    s = 0.0
    for c in range(v.shape[0]):
        s += math.exp(v[c] - mx)
    return math.log(s) + mx


def gmm_objective_loops(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    n_icf = icf.shape[1]
    slse = 0.0
    for i in range(n):
        # logsumexp over components: first the maximum, then the shifted sum
        mx = gmm_main_term(alphas, means, icf, x, i, 0)
        for c in range(1, k):
            mx = max(mx, gmm_main_term(alphas, means, icf, x, i, c))
        semx = 0.0
        for c in range(k):
            semx += math.exp(gmm_main_term(alphas, means, icf, x, i, c) - mx)
        slse += math.log(semx) + mx
    lse_alphas = log_sum_exp(alphas)
    constant = -n * d * 0.5 * math.log(2.0 * math.pi)
    prior = 0.0
    for c in range(k):
        frobenius = 0.0
        sum_q = 0.0
        for j in range(d):
            q = math.exp(icf[c, j])
            frobenius += q * q
            sum_q += icf[c, j]
        for t in range(d, n_icf):
            frobenius += icf[c, t] * icf[c, t]
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_q
    prior -= k * wishart_constant(d, wishart_gamma, wishart_m)
    return constant + slse - n * lse_alphas + prior


def gmm_objective_scratch(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    n_icf = icf.shape[1]
    # per component: the diagonal of Q_c and the sum of its logs
    q_diags = np.empty((k, d))
    sum_qs = np.empty(k)
    for c in range(k):
        sum_q = 0.0
        for j in range(d):
            q_diags[c, j] = math.exp(icf[c, j])
            sum_q += icf[c, j]
        sum_qs[c] = sum_q
    # scratch, refilled for every point (and component)
    xcentered = np.empty(d)
    qxcentered = np.empty(d)
    main_term = np.empty(k)
    slse = 0.0
    for i in range(n):
        for c in range(k):
            for j in range(d):
                xcentered[j] = x[i, j] - means[c, j]
            for j in range(d):
                qxcentered[j] = q_diags[c, j] * xcentered[j]
            t = d
            for col in range(d):
                for row in range(col + 1, d):
                    qxcentered[row] += icf[c, t] * xcentered[col]
                    t += 1
            sqnorm = 0.0
            for j in range(d):
                sqnorm += qxcentered[j] * qxcentered[j]
            main_term[c] = alphas[c] + sum_qs[c] - 0.5 * sqnorm
        mx = main_term[0]
        for c in range(1, k):
            mx = max(mx, main_term[c])
        semx = 0.0
        for c in range(k):
            semx += math.exp(main_term[c] - mx)
        slse += math.log(semx) + mx
    lse_alphas = log_sum_exp(alphas)
    constant = -n * d * 0.5 * math.log(2.0 * math.pi)
    prior = 0.0
    for c in range(k):
        frobenius = 0.0
        for j in range(d):
            frobenius += q_diags[c, j] * q_diags[c, j]
        for t in range(d, n_icf):
            frobenius += icf[c, t] * icf[c, t]
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_qs[c]
    prior -= k * wishart_constant(d, wishart_gamma, wishart_m)
    return constant + slse - n * lse_alphas + prior


def make_data(d, k, n, seed, wishart_gamma=1.0, wishart_m=0):
    """(alphas, means, icf, x, wishart_gamma, wishart_m) drawn at random, as ADBench's
    generator does: standard normal alphas, uniform means, icf ~ N(0, 0.1^2)."""
    rng = np.random.default_rng(seed)
    alphas = rng.normal(size=k)
    means = rng.uniform(size=(k, d))
    icf = 0.1 * rng.normal(size=(k, d * (d + 1) // 2))
    x = rng.normal(size=(n, d))
    return alphas, means, icf, x, float(wishart_gamma), int(wishart_m)
