"""A corpus of small scalar numerical programs for adgen's end-to-end tests.

Every function in `CASES` is an ordinary Python function over float scalars,
written in adgen's supported subset, that returns a single float.
`TUPLE_CASES` lists functions that return a tuple of floats (for the jvp/vjp
tests). Each entry is a `Case`: the function, one domain per argument it is
called with (a `(low, high)` interval for a float argument, or an `int` that is
passed as that fixed value and never differentiated), whether the Hessian is
tested, and the arguments to differentiate (`wrt`, default: every float one).

Domains are chosen so that each function is finite and smooth on them, except
on a set of measure zero (branch switches, kinks, changes of a trip count);
the drivers resample points that land next to such a switch (see
`sample_points` at the end of this module).

Used by `tests/test_corpus.py` (adgen against finite differences) and by
`tests/cases/test_corpus_selfcheck.py` (the corpus alone, without adgen).
"""

import math
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------
# Module-level constants used by the corpus functions.
# --------------------------------------------------------------------------

G = 9.81
PENDULUM_LENGTH = 1.5
DRAG = 0.05
TWO_PI = 6.283185307179586
SQRT_TWO_PI = 2.5066282746310002
SQRT_2_OVER_PI = 0.7978845608028654
GAS_R = 0.0821
VDW_A = 1.36
VDW_B = 0.0318
NEWTON_TOL = 1e-15
MAX_ITER = 100
MAX_STEPS = 10000


# --------------------------------------------------------------------------
# Straight-line arithmetic: + - * / ** // and unary minus.
# --------------------------------------------------------------------------


def baydin(x1, x2):
    # The example of Baydin et al., "Automatic differentiation in machine learning: a survey".
    return math.log(x1) + x1 * x2 - math.sin(x2)


def quadratic_form(x, y):
    return 3.0 * x * x - 2.0 * x * y + 0.25 * y * y + 1.0


def rational_function(x, y):
    num = x * y - 1.0
    den = x * x + y * y + 1.0
    return num / den


def unary_minus_mix(x, y):
    a = -x
    b = -(y - 2.0 * x)
    return -a * b + -(a / (1.0 + y * y)) - -y


def horner_quartic(x):
    # p(x) = 2x^4 - 3x^3 + 0.5x^2 + x - 1 in Horner form, one variable overwritten.
    p = 2.0
    p = p * x - 3.0
    p = p * x + 0.5
    p = p * x + 1.0
    p = p * x - 1.0
    return p


def integer_powers(x):
    return x ** 3 - 2.0 * x ** 2 + pow(x, 4) / 4.0 - 3.0 * x + pow(x, 2)


def float_powers(x, y):
    return x ** 2.5 + pow(y, 1.5) - 0.5 * x ** y + pow(x, -0.5)


def exponential_powers(x, y):
    return 2.0 ** x + x ** -2 + pow(1.5, y) * y ** 0.5


def power_with_int_argument(x, n):
    # Integer argument used as an exponent, with builtin pow and **.
    return pow(x, n) - 0.5 * x ** (n - 1) + x ** 2


def geometric_sum_closed_form(r, n):
    return (1.0 - r ** n) / (1.0 - r)


def sawtooth_floor_div(x):
    period = 0.75
    k = x // period
    frac = x - k * period
    return frac * frac + 0.1 * x


def quantized_levels(x, y):
    level = (x + 2.0 * y) // 0.5
    return 0.5 * level + x * y - 0.01 * level * level


def repeated_squaring(x):
    x = x * x
    x = x - 0.5
    x = x * x
    x = x + 0.25 * x * x
    x = -x + 2.0
    return x


def augmented_updates(x, y):
    s = 0.0
    s += x * y
    s -= 0.5 * x
    p = 1.0
    p *= 1.0 + x * x
    p /= 2.0 + y * y
    s *= 1.5
    s += p
    return s


def cubic_hermite(t, p0, p1, m0, m1):
    t2 = t * t
    t3 = t2 * t
    h00 = 2.0 * t3 - 3.0 * t2 + 1.0
    h10 = t3 - 2.0 * t2 + t
    h01 = -2.0 * t3 + 3.0 * t2
    h11 = t3 - t2
    return h00 * p0 + h10 * m0 + h01 * p1 + h11 * m1


def cosine_similarity(a, b, c, d):
    return (a * c + b * d) / (math.hypot(a, b) * math.hypot(c, d))


def rosenbrock(x, y, a=1.0, b=10.0):
    return (a - x) ** 2 + b * (y - x * x) ** 2


def himmelblau(x, y):
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


# --------------------------------------------------------------------------
# Elementary functions, math.* and np.* forms.
# --------------------------------------------------------------------------


def trig_math(x, y):
    return math.sin(x) * math.cos(y) + math.tan(0.5 * x * y)


def trig_numpy(x, y):
    s = np.sin(x)
    return s * s + np.cos(x * y) - np.tan(y / 3.0)


def exp_log_math(x, y):
    return math.exp(-x * x) * math.log(1.0 + y * y) + math.exp(0.3 * y) - math.log(x)


def exp_log_numpy(x, y):
    e = np.exp(x - y)
    return e / (1.0 + e) + np.log(x * y)


def log1p_expm1_math(x):
    return math.log1p(x * x) + math.expm1(-x)


def log1p_expm1_numpy(x, y):
    return np.log1p(x * x + y) - np.expm1(-0.5 * y) * x


def sqrt_math(x, y):
    return math.sqrt(x) + math.sqrt(x * y + 1.0) / y


def sqrt_numpy(x):
    return np.sqrt(1.0 + x * x) - np.sqrt(np.sqrt(x * x + 2.0))


def sqrt_via_exp_log(x):
    return math.exp(0.5 * math.log(x)) + np.exp(np.log(x) / 3.0)


def hyperbolic_math(x):
    return math.tanh(x) + math.sinh(0.5 * x) * math.cosh(0.3 * x)


def hyperbolic_numpy(x, y):
    return np.tanh(x * y) + np.sinh(x) - 0.5 * np.cosh(y)


def catenary(x, a):
    return a * math.cosh(x / a) - a


def inverse_trig_math(x, y):
    return math.asin(x) + math.acos(y) * math.atan(x - y)


def inverse_trig_numpy(x, y):
    return np.arcsin(x * y) + np.arccos(0.5 * x) - np.arctan(3.0 * y)


def atan2_math(x, y):
    return math.atan2(y, x) + 0.1 * math.atan2(x * y, 1.0 + x * x)


def atan2_numpy(x, y):
    theta = np.arctan2(y, x)
    return np.cos(2.0 * theta) * np.hypot(x, y)


def hypot_math(x, y):
    return math.hypot(x, y) + 0.5 * math.hypot(x - 1.0, 2.0)


def vector_angle(x1, y1, x2, y2):
    cross = x1 * y2 - y1 * x2
    dot = x1 * x2 + y1 * y2
    return math.atan2(cross, dot)


def abs_builtin_and_numpy(x, y):
    return abs(x - y) + 0.5 * np.abs(x + 2.0 * y) - abs(x * y)


def max_min_builtin(x, y):
    hi = max(x, y)
    lo = min(x * x, y)
    return hi - lo + max(0.0, x - 1.0)


def max_min_numpy(x, y):
    return np.maximum(x, 0.5) * np.minimum(y, 1.0) + np.maximum(x * y, -0.25)


def clip_numpy(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi) + 0.1 * x


def softsign(x):
    return x / (1.0 + abs(x))


def smooth_abs(x, eps=0.01):
    return math.sqrt(x * x + eps)


def logit(p):
    return np.log(p / (1.0 - p))


def binary_entropy(p):
    return -p * math.log(p) - (1.0 - p) * math.log1p(-p)


def planck_spectrum(x, t):
    return x ** 3 / math.expm1(x / t)


def wave_packet(x, t):
    d = x - t
    return math.exp(-d * d) * math.cos(5.0 * x - 2.0 * t)


def damped_oscillation(t, omega, decay=0.3, phase=0.5):
    return math.exp(-decay * t) * math.cos(omega * t + phase)


def relativistic_kinetic_energy(v):
    return 1.0 / math.sqrt(1.0 - v * v) - 1.0


# --------------------------------------------------------------------------
# Machine-learning style functions.
# --------------------------------------------------------------------------


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def softplus(x):
    # Numerically stable: two branches computing the same smooth function.
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


def mish(x):
    return x * math.tanh(softplus(x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def elu(x, alpha=1.0):
    return x if x > 0.0 else alpha * math.expm1(x)


def swish_neuron(x, w, b):
    z = w * x + b
    return z * sigmoid(z)


def log_sum_exp3(a, b, c):
    m = max(max(a, b), c)
    return m + math.log(math.exp(a - m) + math.exp(b - m) + math.exp(c - m))


def softmax_expectation(a, b, c):
    lse = log_sum_exp3(a, b, c)
    pa = math.exp(a - lse)
    pb = math.exp(b - lse)
    pc = math.exp(c - lse)
    return 1.0 * pa + 2.0 * pb + 3.0 * pc


def bce_with_logits(z, target):
    return max(z, 0.0) - z * target + math.log1p(math.exp(-abs(z)))


def tiny_relu_net(x, y):
    h1 = max(0.0, 1.5 * x - 0.5 * y + 0.2)
    h2 = max(0.0, -0.7 * x + 1.1 * y - 0.1)
    h3 = np.maximum(0.0, 0.3 * x + 0.9 * y)
    return 0.8 * h1 - 1.2 * h2 + 0.5 * h3 + 0.1


def huber(r, delta=1.0):
    if -delta <= r <= delta:
        return 0.5 * r * r
    return delta * (abs(r) - 0.5 * delta)


def scaled_tanh(x, k=2.0):
    return math.tanh(k * x) / k


def tanh_with_defaults(x, y):
    return scaled_tanh(x) + scaled_tanh(y, 3.0) * scaled_tanh(x * y)


# --------------------------------------------------------------------------
# Conditionals: if/elif/else, nesting, conditional expressions, and/or/not,
# chained comparisons, early returns.
# --------------------------------------------------------------------------


def smoothstep_ramp(x):
    # 0 below 0, smoothstep on [0, 1], 1 above, plus a gentle slope everywhere.
    if x <= 0.0:
        y = 0.0
    elif 0.0 < x < 1.0:
        y = x * x * (3.0 - 2.0 * x)
    else:
        y = 1.0
    return y + 0.1 * x


def smoothstep_clamped(x, edge0, edge1):
    if x <= edge0:
        return 0.0
    if x >= edge1:
        return 1.0
    t = (x - edge0) / (edge1 - edge0)
    return t * t * (3.0 - 2.0 * t)


def nested_regions(x, y, z):
    if x > 0.0:
        if y > 0.0:
            v = x * y + z
        elif y > -1.0:
            v = x - y * z
        else:
            v = x * x + y
    else:
        if z > 0.5:
            v = math.exp(x) * z
        else:
            if y > x:
                v = y - x * z
            else:
                v = -x * y
    return v


def region_logic(x, y):
    if x > 0.0 and y > 0.0:
        r = x * y
    elif x < -1.0 or y < -1.0:
        r = x + y
    elif not (x > y):
        r = x - 0.5 * y * y
    else:
        r = math.sin(x) + y
    return r


def soft_threshold(x, lam):
    if not (x > lam or x < -lam):
        return 0.0
    if x > 0.0:
        return x - lam
    return x + lam


def leaky_clip(x, y):
    a = x if x > 0.0 else 0.1 * x
    b = y * y if y < 1.0 else 2.0 * y - 1.0
    c = a if a > b else b
    return c + (a * b if a * b > 0.0 else -a * b)


def band_response(x):
    if 0.0 < x < 1.0:
        return x * x
    elif 1.0 <= x <= 2.0:
        return 2.0 * x - 1.0
    elif -1.0 < x <= 0.0:
        return -x * x * x
    return 3.0 + 0.5 * (x - 2.0)


def piecewise_tax(income):
    if income <= 1.0:
        return 0.0
    if income <= 3.0:
        return 0.1 * (income - 1.0)
    if income <= 6.0:
        return 0.2 + 0.25 * (income - 3.0)
    return 0.95 + 0.4 * (income - 6.0)


def quadratic_larger_root(a, b, c):
    # Numerically stable quadratic formula; the root of larger magnitude.
    disc = math.sqrt(b * b - 4.0 * a * c)
    q = -0.5 * (b + disc) if b >= 0.0 else -0.5 * (b - disc)
    r1 = q / a
    r2 = c / q
    return r1 if abs(r1) >= abs(r2) else r2


def sinc(x):
    if abs(x) < 1e-4:
        return 1.0 - x * x / 6.0
    return math.sin(x) / x


def norm_cdf_tanh(x):
    # erf-free approximation of the standard normal CDF.
    return 0.5 * (1.0 + math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def norm_cdf_poly(x):
    # Abramowitz & Stegun 26.2.17, with symmetry for x < 0.
    z = abs(x)
    t = 1.0 / (1.0 + 0.2316419 * z)
    poly = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937
                                                       + t * (-1.821255978 + t * 1.330274429))))
    upper = math.exp(-0.5 * z * z) / SQRT_TWO_PI * poly
    if x >= 0.0:
        return 1.0 - upper
    return upper


def black_scholes_call(spot, strike, maturity, rate, vol):
    sqrt_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return spot * norm_cdf_tanh(d1) - strike * math.exp(-rate * maturity) * norm_cdf_tanh(d2)


def black_scholes_put(spot, strike, maturity, vol, rate=0.03):
    sqrt_t = math.sqrt(maturity)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * maturity) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return strike * np.exp(-rate * maturity) * norm_cdf_poly(-d2) - spot * norm_cdf_poly(-d1)


# --------------------------------------------------------------------------
# Physics and geometry.
# --------------------------------------------------------------------------


def lennard_jones(r, epsilon, sigma):
    sr6 = (sigma / r) ** 6
    return 4.0 * epsilon * (sr6 * sr6 - sr6)


def morse_potential(r, depth, width, r0=1.2):
    e = math.exp(-width * (r - r0))
    return depth * (1.0 - e) ** 2


def gaussian_pdf(x, mu, sigma):
    z = (x - mu) / sigma
    return math.exp(-0.5 * z * z) / (sigma * SQRT_TWO_PI)


def van_der_waals_pressure(volume, temperature):
    return GAS_R * temperature / (volume - VDW_B) - VDW_A / (volume * volume)


def drop_time(height, v0):
    # Time for a stone thrown upward at v0 from `height` to reach the ground.
    return (v0 + math.sqrt(v0 * v0 + 2.0 * G * height)) / G


def pendulum_period(length, amplitude):
    a2 = amplitude * amplitude
    return TWO_PI * math.sqrt(length / G) * (1.0 + a2 / 16.0 + 11.0 * a2 * a2 / 3072.0)


def heron_area(a, b, c):
    s = 0.5 * (a + b + c)
    return math.sqrt(s * (s - a) * (s - b) * (s - c))


def triangle_angle(a, b, c):
    return math.acos((a * a + b * b - c * c) / (2.0 * a * b))


def to_polar(x, y):
    return math.hypot(x, y), math.atan2(y, x)


def polar_rose(x, y):
    r, theta = to_polar(x, y)
    return r * r * math.cos(3.0 * theta) + r


def distance_to_segment(px, py, ax=0.0, ay=0.0, bx=2.0, by=1.0):
    dx = bx - ax
    dy = by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = max(0.0, min(1.0, t))
    cx = ax + t * dx
    cy = ay + t * dy
    return math.hypot(px - cx, py - cy)


def grid_value(i, j):
    return math.sin(0.7 * i) + math.cos(0.4 * j) * 0.5


def bilinear_interpolation(x, y):
    # Interpolates grid_value on the integer grid; int() picks the cell.
    i = int(x)
    j = int(y)
    fx = x - i
    fy = y - j
    v00 = grid_value(i, j)
    v10 = grid_value(i + 1, j)
    v01 = grid_value(i, j + 1)
    v11 = grid_value(i + 1, j + 1)
    return (1.0 - fx) * ((1.0 - fy) * v00 + fy * v01) + fx * ((1.0 - fy) * v10 + fy * v11)


def sqrt_table_interpolation(x):
    i = int(x)
    frac = x - i
    return (1.0 - frac) * math.sqrt(i) + frac * math.sqrt(i + 1)


# --------------------------------------------------------------------------
# for loops over range(...): loop-carried values, negative steps, nesting.
# --------------------------------------------------------------------------


def horner_exp_poly(x, n):
    # Truncated exp series 1 + x/1 (1 + x/2 (1 + ...)) evaluated from the inside out.
    p = 1.0
    for k in range(n, 0, -1):
        p = 1.0 + x * p / k
    return p


def logistic_map(r, x0, n):
    x = x0
    for _ in range(n):
        x = r * x * (1.0 - x)
    return x


def compound_interest(principal, rate, years):
    balance = principal
    for _ in range(int(years)):
        balance *= 1.0 + rate
    return balance


def savings_plan(deposit, rate, years):
    balance = 0.0
    monthly = rate / 12.0
    for year in range(int(years)):
        for month in range(12):
            balance = balance * (1.0 + monthly) + deposit
        deposit *= 1.02
    return balance / 10.0


def loan_payment(principal, annual_rate, years):
    n = int(years) * 12
    r = annual_rate / 12.0
    return principal * r / (1.0 - (1.0 + r) ** (-n))


def euler_decay(y0, k, t_end, steps):
    dt = t_end / steps
    y = y0
    t = 0.0
    for i in range(int(steps)):
        y = y + dt * (-k * y + math.sin(t))
        t += dt
    return y


def euler_adaptive_steps(y0, horizon):
    # The number of steps depends on a float argument through int().
    steps = int(horizon * 8.0) + 1
    dt = horizon / steps
    y = y0
    for i in range(steps):
        y += dt * (math.cos(y) - 0.5 * y)
    return y


def oscillator_rhs(x, v, omega, damping=0.1):
    return v, -omega * omega * x - damping * v


def rk4_oscillator_step(x, v, omega, dt):
    k1x, k1v = oscillator_rhs(x, v, omega)
    k2x, k2v = oscillator_rhs(x + 0.5 * dt * k1x, v + 0.5 * dt * k1v, omega)
    k3x, k3v = oscillator_rhs(x + 0.5 * dt * k2x, v + 0.5 * dt * k2v, omega)
    k4x, k4v = oscillator_rhs(x + dt * k3x, v + dt * k3v, omega)
    x_new = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
    v_new = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return x_new, v_new


def rk4_oscillator_energy(x0, v0, omega, steps):
    x = x0
    v = v0
    dt = 2.0 / steps
    for i in range(steps):
        x, v = rk4_oscillator_step(x, v, omega, dt)
    return 0.5 * v * v + 0.5 * omega * omega * x * x


def logistic_rhs(y, r, capacity=10.0):
    return r * y * (1.0 - y / capacity)


def rk4_logistic(y0, r, t_end, steps):
    h = t_end / steps
    y = y0
    for i in range(steps):
        k1 = logistic_rhs(y, r)
        k2 = logistic_rhs(y + 0.5 * h * k1, r)
        k3 = logistic_rhs(y + 0.5 * h * k2, r)
        k4 = logistic_rhs(y + h * k3, r)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def pendulum_symplectic(theta0, omega0, steps):
    dt = 0.02
    theta = theta0
    omega = omega0
    for i in range(steps):
        omega -= dt * G / PENDULUM_LENGTH * math.sin(theta)
        theta += dt * omega
    return theta


def coupled_oscillators(x1, x2, k, steps):
    # Four loop-carried values updated together (symplectic Euler).
    v1 = 0.0
    v2 = 0.0
    dt = 0.05
    for i in range(steps):
        f1 = -x1 - k * (x1 - x2)
        f2 = -x2 - k * (x2 - x1)
        v1, v2 = v1 + dt * f1, v2 + dt * f2
        x1, x2 = x1 + dt * v1, x2 + dt * v2
    return x1 * x1 + 2.0 * x2 + v1 * v2


def lorenz_euler(x, y, z, steps):
    dt = 0.005
    for i in range(steps):
        dx = 10.0 * (y - x)
        dy = x * (28.0 - z) - y
        dz = x * y - 8.0 / 3.0 * z
        x, y, z = x + dt * dx, y + dt * dy, z + dt * dz
    return (x + y + z) / 10.0


def van_der_pol_euler(x0, mu, steps):
    x = x0
    v = 0.0
    t = 0.0
    dt = 0.01
    for i in range(steps):
        a = mu * (1.0 - x * x) * v - x
        x += dt * v
        v += dt * a
        t += dt
    return x + 0.1 * v + 0.01 * t


def damped_fibonacci(x, y, n):
    a = x
    b = y
    for i in range(n):
        a, b = b, 0.5 * a + 0.4 * b + 0.1 * math.sin(a)
    return a + 2.0 * b


def atanh_series(x, n):
    # Odd terms only: range with a step of 2.
    total = 0.0
    power = x
    for k in range(1, 2 * n, 2):
        total += power / k
        power *= x * x
    return total


def tanh_continued_fraction(x, depth):
    # Lambert's continued fraction, evaluated bottom-up with a negative step.
    t = 0.0
    for k in range(depth, 0, -1):
        t = x * x / (2 * k + 1 + t)
    return x / (1.0 + t)


def falling_product(x, n):
    prod = 1.0
    for k in range(2 * n, 0, -2):
        prod *= 1.0 + x / k
    return prod


def chebyshev_clenshaw(x, n):
    # sum_{k=0}^{n} T_k(x) / (1 + k^2) by Clenshaw's recurrence.
    b1 = 0.0
    b2 = 0.0
    for k in range(n, 0, -1):
        b1, b2 = 2.0 * x * b1 - b2 + 1.0 / (1.0 + k * k), b1
    return x * b1 - b2 + 1.0


def legendre(x, n):
    p_prev = 1.0
    p = x
    for k in range(1, n):
        p_prev, p = p, ((2 * k + 1) * x * p - k * p_prev) / (k + 1)
    return p


def double_sum(x, y, n, m):
    total = 0.0
    for i in range(n):
        for j in range(m):
            total += math.sin(i * x + j * y) / (1.0 + i + j)
    return total


def triangular_sum(x, n):
    total = 0.0
    for i in range(1, n + 1):
        inner = 0.0
        for j in range(i):
            inner += x ** j / (j + 1)
        total += inner / i
    return total


def gaussian_integrand(x, s):
    return math.exp(-x * x / (2.0 * s * s))


def trapezoid_gaussian(a, b, s, n):
    h = (b - a) / n
    total = 0.5 * (gaussian_integrand(a, s) + gaussian_integrand(b, s))
    for i in range(1, n):
        total += gaussian_integrand(a + i * h, s)
    return total * h


def damped_sine(x):
    return math.sin(x) * math.exp(-0.25 * x)


def simpson_damped_sine(a, b, n):
    h = (b - a) / n
    total = damped_sine(a) + damped_sine(b)
    for i in range(1, n, 2):
        total += 4.0 * damped_sine(a + i * h)
    for i in range(2, n - 1, 2):
        total += 2.0 * damped_sine(a + i * h)
    return total * h / 3.0


def arc_length_sine(amplitude, freq, n):
    dx = TWO_PI / n
    total = 0.0
    x_prev = 0.0
    y_prev = 0.0
    for i in range(1, n + 1):
        x = i * dx
        y = amplitude * math.sin(freq * x)
        total += math.hypot(x - x_prev, y - y_prev)
        x_prev = x
        y_prev = y
    return total


def unrolled_gradient_descent(a, lr, steps):
    # Minimises (x - a)^2 + 0.1 x^4; the result is differentiated through the optimizer.
    x = 0.0
    for i in range(steps):
        g = 2.0 * (x - a) + 0.4 * x ** 3
        x -= lr * g
    return x * x + a


def mixed_int_float(x, n):
    half = n // 2
    total = 0.0
    for i in range(half):
        total += (i / n) * x ** 2 + float(i) * 0.1
    return total + int(n) * x


def power_iteration_defaults(x, y, k=2.0, n=5):
    v = x
    for i in range(n):
        v = (v + k * y) / (1.0 + 0.1 * v * v)
    return v


# --------------------------------------------------------------------------
# Loops with branches, break, continue and early return.
# --------------------------------------------------------------------------


def loop_in_branch(x, n):
    if x > 0.0:
        s = 0.0
        for k in range(1, n + 1):
            s += math.log1p(x / k)
        return s
    else:
        p = 1.0
        k = 0
        while k < n:
            p *= 1.0 + x / (k + 2.0)
            k += 1
        return p - 1.0


def branch_in_loop(x, n):
    for i in range(n):
        if x > 1.0:
            x = 0.5 * x + 0.3 * math.sin(x)
        elif x > -1.0:
            x = 1.2 * x + 0.1
        else:
            x = -0.5 * x
    return x


def bouncing_ball(h0, v0, restitution, steps):
    y = h0
    v = v0
    dt = 0.01
    for i in range(steps):
        v -= G * dt
        y += v * dt
        if y < 0.0:
            y = -y
            v = -restitution * v
    return y + 0.1 * v


def fourier_series_break(x, n):
    total = 0.0
    weight = 1.0
    for k in range(1, n):
        total += weight * math.cos(k * x)
        weight *= 0.5
        if weight < 1e-17:
            break
    return total


def sin_taylor(x, n):
    term = x
    total = x
    for k in range(1, n):
        term = -term * x * x / ((2 * k) * (2 * k + 1))
        total += term
        if abs(term) < 1e-17 * abs(total):
            break
    return total


def skip_multiples_of_three(x, n):
    total = 0.0
    for k in range(1, n):
        if k // 3 * 3 == k:
            continue
        total += math.sin(k * x) / k
    return total


def while_with_continue(x, n):
    k = 0
    acc = 0.0
    while k < n:
        k += 1
        v = math.sin(k * x)
        if v < 0.0:
            acc += 0.1 * v
            continue
        acc += v * v
    return acc


def first_passage_time(x0, drift, n):
    # Interpolated first time at which the walk crosses 5; early return in a loop.
    x = x0
    for k in range(n):
        x_next = x + drift + 0.3 * math.sin(x)
        if x_next >= 5.0:
            return k + (5.0 - x) / (x_next - x)
        x = x_next
    return n + 0.0 * x


def amortization_months(principal, rate, payment):
    balance = principal
    months = 0.0
    for m in range(600):
        interest = balance * rate / 12.0
        if balance + interest <= payment:
            return months + (balance + interest) / payment
        balance = balance + interest - payment
        months += 1.0
    return months


def annuity_value(payment, rate, n, due):
    # Present value of n payments; `due` (an int flag) says whether they come at the start.
    total = 0.0
    if due == 1:
        for k in range(n):
            total += payment / (1.0 + rate) ** k
    else:
        for k in range(1, n + 1):
            total += payment / (1.0 + rate) ** k
    return total


def population_harvest(p0, growth, quota, years):
    p = p0
    for year in range(years):
        p = p + growth * p * (1.0 - p / 5.0) - quota
        if p <= 0.0:
            return 0.0
    return p


def projectile_range(speed, angle):
    # Euler integration with quadratic drag until the ground, then linear interpolation.
    vx = speed * math.cos(angle)
    vy = speed * math.sin(angle)
    x = 0.0
    y = 0.0
    x_prev = 0.0
    y_prev = 0.0
    dt = 0.01
    steps = 0
    while y >= 0.0 and steps < MAX_STEPS:
        x_prev = x
        y_prev = y
        v = math.hypot(vx, vy)
        vx = vx - dt * DRAG * v * vx
        vy = vy - dt * (G + DRAG * v * vy)
        x = x + dt * vx
        y = y + dt * vy
        steps += 1
    return x_prev + (x - x_prev) * y_prev / (y_prev - y)


# --------------------------------------------------------------------------
# while loops: Newton iterations, bisection, fixed points, series to a tolerance.
# --------------------------------------------------------------------------


def newton_sqrt(a):
    x = max(a, 1.0)
    dx = 1.0
    it = 0
    while abs(dx) > NEWTON_TOL * x and it < MAX_ITER:
        dx = 0.5 * (x - a / x)
        x -= dx
        it += 1
    return x


def babylonian_sqrt(a, n):
    x = 0.5 * (a + 1.0)
    for i in range(n):
        x = 0.5 * (x + a / x)
    return x


def newton_cbrt(a):
    x = 1.0 + a / 3.0
    it = 0
    while it < MAX_ITER:
        step = (x * x * x - a) / (3.0 * x * x)
        x = x - step
        it += 1
        if abs(step) < 1e-14 * x:
            break
    return x


def kepler_eccentric_anomaly(mean_anomaly, ecc):
    e_anom = mean_anomaly + ecc * math.sin(mean_anomaly)
    for it in range(MAX_ITER):
        residual = e_anom - ecc * math.sin(e_anom) - mean_anomaly
        step = residual / (1.0 - ecc * math.cos(e_anom))
        e_anom -= step
        if abs(step) < 1e-14:
            break
    return e_anom


def fixed_point_cosine(a):
    # x = cos(a x), a contraction for 0 < a < 1.
    x = 0.5
    delta = 1.0
    count = 0
    while abs(delta) > 1e-15 and count < 500:
        x_new = math.cos(a * x)
        delta = x_new - x
        x = x_new
        count += 1
    return x


def cubic_root_bisection(c):
    # Real root of x^3 + x - c: bisection to a small bracket, then two Newton polish steps.
    lo = -10.0
    hi = 10.0
    it = 0
    while hi - lo > 1e-9 and it < 200:
        mid = 0.5 * (lo + hi)
        if mid * mid * mid + mid - c > 0.0:
            hi = mid
        else:
            lo = mid
        it += 1
    x = 0.5 * (lo + hi)
    for k in range(2):
        x = x - (x * x * x + x - c) / (3.0 * x * x + 1.0)
    return x


def exp_taylor(x):
    term = 1.0
    total = 1.0
    k = 0
    while abs(term) > 1e-17 * abs(total) and k < 200:
        k += 1
        term *= x / k
        total += term
    return total


def exp_range_reduced(x):
    # exp(x) = exp(x / 2^k)^(2^k): halve until small, Horner series, square back.
    k = 0
    while abs(x) > 0.5:
        x = 0.5 * x
        k += 1
    p = 1.0
    for j in range(14, 0, -1):
        p = 1.0 + x * p / j
    if k > 0:
        for i in range(k):
            p = p * p
    return p


def log_atanh_series(x):
    # log(x) = 2 atanh(u) with u = (x - 1) / (x + 1), summed until the term is negligible.
    u = (x - 1.0) / (x + 1.0)
    u2 = u * u
    power = u
    total = 0.0
    k = 1
    while k < 400:
        term = power / k
        total += term
        if abs(term) <= 1e-17 * abs(total):
            break
        power *= u2
        k += 2
    return 2.0 * total


def bessel_j0(x):
    q = 0.25 * x * x
    term = 1.0
    total = 1.0
    k = 0
    while k < 100:
        k += 1
        term *= -q / (k * k)
        total += term
        if abs(term) < 1e-17:
            break
    return total


def agm(a, b):
    # Arithmetic-geometric mean, with tuple assignment.
    it = 0
    while abs(a - b) > 1e-15 * a and it < 50:
        a, b = 0.5 * (a + b), math.sqrt(a * b)
        it += 1
    return a


def log_gamma_stirling(x):
    # Shift up with lgamma(x) = lgamma(x + 1) - log(x), then Stirling's series.
    acc = 0.0
    while x < 8.0:
        acc -= math.log(x)
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0
                                                               - inv2 / 1680.0)))
    return acc + (x - 0.5) * math.log(x) - x + 0.5 * math.log(TWO_PI) + series


# --------------------------------------------------------------------------
# Tuple-returning functions (for the jvp / vjp tests).
# --------------------------------------------------------------------------


def rk4_oscillator_state(x0, v0, omega, steps):
    x = x0
    v = v0
    dt = 1.5 / steps
    for i in range(steps):
        x, v = rk4_oscillator_step(x, v, omega, dt)
    return x, v


def complex_exp(a, b):
    r = math.exp(a)
    return r * math.cos(b), r * math.sin(b)


def spherical_to_cartesian(r, theta, phi):
    s = np.sin(theta)
    return r * s * np.cos(phi), r * s * np.sin(phi), r * np.cos(theta)


def sqrt_and_inverse(a):
    x = max(a, 1.0)
    it = 0
    while it < MAX_ITER:
        x_new = 0.5 * (x + a / x)
        if abs(x_new - x) <= NEWTON_TOL * x:
            x = x_new
            break
        x = x_new
        it += 1
    return x, 1.0 / x


def mean_and_variance3(a, b, c):
    mean = (a + b + c) / 3.0
    var = ((a - mean) ** 2 + (b - mean) ** 2 + (c - mean) ** 2) / 3.0
    return mean, var


def lotka_volterra(prey, predator, alpha, steps):
    dt = 0.02
    for i in range(steps):
        growth = alpha * prey - 0.4 * prey * predator
        decline = 0.3 * prey * predator - 0.8 * predator
        prey, predator = prey + dt * growth, predator + dt * decline
    return prey, predator


def quadratic_roots(a, b, c):
    disc = math.sqrt(b * b - 4.0 * a * c)
    q = -0.5 * (b + disc) if b >= 0.0 else -0.5 * (b - disc)
    return q / a, c / q


# --------------------------------------------------------------------------
# The case tables.
# --------------------------------------------------------------------------


@dataclass
class Case:
    """One corpus function and how to test it.

    `domains` has one entry per argument the test passes: a `(low, high)`
    float interval, or an `int` passed as is and never differentiated.
    `wrt` lists the differentiated argument indices (default: every float one).
    """

    fn: object
    domains: tuple
    hessian: bool = False
    wrt: tuple | None = None

    def __post_init__(self):
        self.domains = tuple(self.domains)
        if self.wrt is None:
            self.wrt = tuple(i for i, d in enumerate(self.domains) if isinstance(d, tuple))
        else:
            self.wrt = tuple(self.wrt)

    @property
    def name(self) -> str:
        return self.fn.__name__


CASES = [
    # straight-line arithmetic
    Case(baydin, ((0.5, 3.0), (-2.0, 2.0)), hessian=True),
    Case(quadratic_form, ((-2.0, 2.0), (-2.0, 2.0)), hessian=True),
    Case(rational_function, ((-2.0, 2.0), (-2.0, 2.0)), hessian=True),
    Case(unary_minus_mix, ((-2.0, 2.0), (-2.0, 2.0)), hessian=True),
    Case(horner_quartic, ((-1.5, 1.5),), hessian=True),
    Case(integer_powers, ((-2.0, 2.0),), hessian=True),
    Case(float_powers, ((0.5, 2.0), (0.5, 2.0)), hessian=True),
    Case(exponential_powers, ((0.5, 2.0), (0.5, 2.0)), hessian=True),
    Case(power_with_int_argument, ((0.5, 1.5), 5)),
    Case(geometric_sum_closed_form, ((0.2, 0.8), 7)),
    Case(sawtooth_floor_div, ((-3.0, 3.0),)),
    Case(quantized_levels, ((-1.0, 1.0), (-1.0, 1.0))),
    Case(repeated_squaring, ((-1.2, 1.2),), hessian=True),
    Case(augmented_updates, ((-2.0, 2.0), (-2.0, 2.0)), hessian=True),
    Case(cubic_hermite, ((0.0, 1.0), (-1.0, 1.0), (-1.0, 1.0), (-2.0, 2.0), (-2.0, 2.0)),
         hessian=True),
    Case(cosine_similarity, ((0.2, 2.0), (-2.0, 2.0), (0.2, 2.0), (-2.0, 2.0)), hessian=True),
    Case(rosenbrock, ((-1.5, 1.5), (-0.5, 2.0))),
    Case(himmelblau, ((-3.0, 3.0), (-3.0, 3.0))),
    # elementary functions
    Case(trig_math, ((-1.0, 1.0), (-1.0, 1.0)), hessian=True),
    Case(trig_numpy, ((-2.0, 2.0), (-2.0, 2.0)), hessian=True),
    Case(exp_log_math, ((0.2, 3.0), (-2.0, 2.0)), hessian=True),
    Case(exp_log_numpy, ((0.3, 3.0), (0.3, 3.0))),
    Case(log1p_expm1_math, ((-2.0, 2.0),), hessian=True),
    Case(log1p_expm1_numpy, ((-1.5, 1.5), (0.0, 2.0))),
    Case(sqrt_math, ((0.2, 4.0), (0.2, 4.0)), hessian=True),
    Case(sqrt_numpy, ((-2.0, 2.0),)),
    Case(sqrt_via_exp_log, ((0.2, 5.0),)),
    Case(hyperbolic_math, ((-2.0, 2.0),), hessian=True),
    Case(hyperbolic_numpy, ((-1.5, 1.5), (-1.5, 1.5))),
    Case(catenary, ((-2.0, 2.0), (0.8, 3.0))),
    Case(inverse_trig_math, ((-0.9, 0.9), (-0.9, 0.9)), hessian=True),
    Case(inverse_trig_numpy, ((-0.9, 0.9), (-0.9, 0.9))),
    Case(atan2_math, ((0.5, 2.0), (-2.0, 2.0)), hessian=True),
    Case(atan2_numpy, ((-2.0, 2.0), (0.3, 2.0))),
    Case(hypot_math, ((0.2, 2.0), (0.2, 2.0))),
    Case(vector_angle, ((0.5, 2.0), (-1.0, 1.0), (0.5, 2.0), (-1.0, 1.0))),
    Case(abs_builtin_and_numpy, ((-2.0, 2.0), (-2.0, 2.0))),
    Case(max_min_builtin, ((-2.0, 2.0), (-2.0, 2.0))),
    Case(max_min_numpy, ((-2.0, 2.0), (-2.0, 2.0))),
    Case(clip_numpy, ((-2.0, 2.0), (-1.0, -0.2), (0.2, 1.0))),
    Case(softsign, ((-3.0, 3.0),)),
    Case(smooth_abs, ((-2.0, 2.0),)),
    Case(logit, ((0.05, 0.95),)),
    Case(binary_entropy, ((0.05, 0.95),), hessian=True),
    Case(planck_spectrum, ((0.5, 5.0), (0.5, 2.0))),
    Case(wave_packet, ((-2.0, 2.0), (-1.0, 1.0)), hessian=True),
    Case(damped_oscillation, ((0.0, 5.0), (0.5, 3.0))),
    Case(relativistic_kinetic_energy, ((0.0, 0.9),)),
    # machine-learning style
    Case(sigmoid, ((-5.0, 5.0),)),
    Case(softplus, ((-5.0, 5.0),), hessian=True),
    Case(mish, ((-3.0, 3.0),)),
    Case(gelu_tanh, ((-3.0, 3.0),)),
    Case(elu, ((-3.0, 3.0),)),
    Case(swish_neuron, ((-2.0, 2.0), (-1.5, 1.5), (-1.0, 1.0))),
    Case(log_sum_exp3, ((-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0)), hessian=True),
    Case(softmax_expectation, ((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0))),
    Case(bce_with_logits, ((-4.0, 4.0), (0.0, 1.0))),
    Case(tiny_relu_net, ((-2.0, 2.0), (-2.0, 2.0))),
    Case(huber, ((-3.0, 3.0),)),
    Case(tanh_with_defaults, ((-1.5, 1.5), (-1.5, 1.5))),
    # conditionals
    Case(smoothstep_ramp, ((-0.5, 1.5),)),
    Case(smoothstep_clamped, ((-1.0, 2.0), (-0.5, 0.2), (0.8, 1.5))),
    Case(nested_regions, ((-2.0, 2.0), (-2.0, 2.0), (-1.0, 1.5))),
    Case(region_logic, ((-2.0, 2.0), (-2.0, 2.0))),
    Case(soft_threshold, ((-3.0, 3.0), (0.2, 1.0))),
    Case(leaky_clip, ((-2.0, 2.0), (-2.0, 2.0))),
    Case(band_response, ((-2.0, 3.0),)),
    Case(piecewise_tax, ((0.5, 8.0),)),
    Case(quadratic_larger_root, ((0.5, 1.5), (-3.0, 3.0), (-2.0, -0.5))),
    Case(sinc, ((-4.0, 4.0),)),
    Case(norm_cdf_tanh, ((-3.0, 3.0),)),
    Case(norm_cdf_poly, ((-3.0, 3.0),)),
    Case(black_scholes_call, ((0.8, 1.2), (0.9, 1.1), (0.25, 2.0), (0.0, 0.05), (0.1, 0.4)),
         hessian=True),
    Case(black_scholes_put, ((0.8, 1.2), (0.9, 1.1), (0.25, 2.0), (0.1, 0.4))),
    # physics and geometry
    Case(lennard_jones, ((1.0, 2.0), (0.5, 2.0), (0.8, 1.1)), hessian=True),
    Case(morse_potential, ((0.8, 3.0), (0.5, 2.0), (0.5, 2.0)), hessian=True),
    Case(gaussian_pdf, ((-2.0, 2.0), (-1.0, 1.0), (0.5, 2.0)), hessian=True),
    Case(van_der_waals_pressure, ((0.5, 3.0), (250.0, 350.0))),
    Case(drop_time, ((0.5, 20.0), (0.0, 10.0)), hessian=True),
    Case(pendulum_period, ((0.5, 3.0), (0.1, 1.0)), hessian=True),
    Case(heron_area, ((2.0, 3.0), (2.0, 3.0), (2.0, 3.0)), hessian=True),
    Case(triangle_angle, ((2.0, 3.0), (2.0, 3.0), (2.0, 3.0))),
    Case(polar_rose, ((0.2, 2.0), (0.2, 2.0)), hessian=True),
    Case(distance_to_segment, ((-1.0, 3.0), (-1.0, 2.0))),
    Case(bilinear_interpolation, ((0.1, 3.9), (0.1, 3.9))),
    Case(sqrt_table_interpolation, ((0.5, 9.5),)),
    # for loops
    Case(horner_exp_poly, ((-1.5, 1.5), 12), hessian=True),
    Case(logistic_map, ((2.6, 2.9), (0.2, 0.8), 10)),
    Case(compound_interest, ((1.0, 2.0), (0.01, 0.1), 10)),
    Case(savings_plan, ((0.5, 2.0), (0.01, 0.08), 5)),
    Case(loan_payment, ((1.0, 3.0), (0.02, 0.12), 10)),
    Case(euler_decay, ((0.5, 2.0), (0.1, 2.0), (0.5, 2.0), 20)),
    Case(euler_adaptive_steps, ((-1.0, 1.0), (0.5, 3.0))),
    Case(rk4_oscillator_energy, ((-1.0, 1.0), (-1.0, 1.0), (0.5, 2.0), 20), hessian=True),
    Case(rk4_logistic, ((0.5, 3.0), (0.2, 1.0), (0.5, 3.0), 10), hessian=True),
    Case(pendulum_symplectic, ((-1.0, 1.0), (-1.0, 1.0), 50)),
    Case(coupled_oscillators, ((-1.0, 1.0), (-1.0, 1.0), (0.1, 1.0), 40)),
    Case(lorenz_euler, ((-2.0, 2.0), (-2.0, 2.0), (10.0, 20.0), 40)),
    Case(van_der_pol_euler, ((0.5, 2.0), (0.2, 1.5), 100)),
    Case(damped_fibonacci, ((-1.0, 1.0), (-1.0, 1.0), 12)),
    Case(atanh_series, ((-0.6, 0.6), 30)),
    Case(tanh_continued_fraction, ((-2.0, 2.0), 12), hessian=True),
    Case(falling_product, ((-1.0, 2.0), 6)),
    Case(chebyshev_clenshaw, ((-1.0, 1.0), 10), hessian=True),
    Case(legendre, ((-0.95, 0.95), 8)),
    Case(double_sum, ((-1.0, 1.0), (-1.0, 1.0), 5, 4), hessian=True),
    Case(triangular_sum, ((-0.8, 0.8), 6)),
    Case(trapezoid_gaussian, ((-2.0, -0.5), (0.5, 2.0), (0.5, 1.5), 50), hessian=True),
    Case(simpson_damped_sine, ((0.0, 1.0), (2.0, 4.0), 20)),
    Case(arc_length_sine, ((0.2, 2.0), (0.5, 2.0), 40)),
    Case(unrolled_gradient_descent, ((-1.5, 1.5), (0.05, 0.2), 25)),
    Case(mixed_int_float, ((-2.0, 2.0), 9)),
    Case(power_iteration_defaults, ((-1.0, 1.0), (-1.0, 1.0))),
    # loops with branches, break, continue, early return
    Case(loop_in_branch, ((-1.0, 2.0), 6)),
    Case(branch_in_loop, ((-2.0, 2.0), 6)),
    Case(bouncing_ball, ((0.5, 2.0), (-1.0, 1.0), (0.5, 0.9), 150)),
    Case(fourier_series_break, ((-3.0, 3.0), 80)),
    Case(sin_taylor, ((-3.0, 3.0), 40)),
    Case(skip_multiples_of_three, ((-2.0, 2.0), 12)),
    Case(while_with_continue, ((-2.0, 2.0), 8)),
    Case(first_passage_time, ((0.0, 1.0), (0.4, 0.7), 60)),
    Case(amortization_months, ((5.0, 10.0), (0.02, 0.1), (0.5, 1.0))),
    Case(annuity_value, ((0.5, 2.0), (0.01, 0.1), 10, 1)),
    Case(population_harvest, ((1.0, 4.0), (0.2, 0.5), (0.0, 0.3), 10)),
    Case(projectile_range, ((5.0, 15.0), (0.3, 1.2))),
    # while loops
    Case(newton_sqrt, ((0.1, 50.0),), hessian=True),
    Case(babylonian_sqrt, ((0.5, 20.0), 8)),
    Case(newton_cbrt, ((0.5, 30.0),)),
    Case(kepler_eccentric_anomaly, ((0.2, 3.0), (0.05, 0.7)), hessian=True),
    Case(fixed_point_cosine, ((0.3, 0.9),)),
    Case(cubic_root_bisection, ((-5.0, 5.0),)),
    Case(exp_taylor, ((-3.0, 3.0),)),
    Case(exp_range_reduced, ((-3.0, 3.0),)),
    Case(log_atanh_series, ((0.3, 4.0),)),
    Case(bessel_j0, ((0.1, 3.0),)),
    Case(agm, ((1.0, 3.0), (0.5, 2.0)), hessian=True),
    Case(log_gamma_stirling, ((0.5, 12.0),)),
]

TUPLE_CASES = [
    Case(to_polar, ((0.2, 2.0), (-2.0, 2.0))),
    Case(rk4_oscillator_state, ((-1.0, 1.0), (-1.0, 1.0), (0.5, 2.0), 15)),
    Case(complex_exp, ((-1.0, 1.0), (-3.0, 3.0))),
    Case(spherical_to_cartesian, ((0.5, 2.0), (0.2, 2.9), (-3.0, 3.0))),
    Case(sqrt_and_inverse, ((0.1, 50.0),)),
    Case(mean_and_variance3, ((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0))),
    Case(lotka_volterra, ((1.0, 3.0), (0.5, 2.0), (0.8, 1.2), 50)),
    Case(quadratic_roots, ((0.5, 1.5), (-3.0, 3.0), (-2.0, -0.5))),
]


# --------------------------------------------------------------------------
# Sampling and finite differences shared by the drivers (not corpus functions).
# --------------------------------------------------------------------------

FD_REL_STEP = 1e-6          # central difference step h = FD_REL_STEP * max(1, |x|)
FD_CONSISTENCY_RTOL = 1e-5  # steps h and h/2 must agree this well, else the point is resampled
FD_CONSISTENCY_ATOL = 1e-7
HESSIAN_FD_REL_STEP = 1e-5  # central differences of a gradient, for the Hessian checks
POINTS_PER_CASE = 3
MAX_DRAWS_PER_POINT = 20


def case_seed(index: int, tuple_case: bool = False) -> int:
    """The fixed seed of the random points of case number `index`."""
    return (90_000 if tuple_case else 10_000) + index


def as_outputs(value) -> tuple:
    """A function's result as a tuple of floats (a scalar result gives a 1-tuple)."""
    if isinstance(value, tuple):
        return tuple(float(v) for v in value)
    return (float(value),)


def draw_args(case: Case, rng: np.random.Generator) -> tuple:
    """One random argument tuple: uniform in each float domain, the fixed int otherwise."""
    args = []
    for domain in case.domains:
        if isinstance(domain, tuple):
            low, high = domain
            args.append(float(rng.uniform(low, high)))
        else:
            args.append(int(domain))
    return tuple(args)


def fd_jacobian(fn, args, wrt, rel_step: float = FD_REL_STEP) -> np.ndarray:
    """Central differences of `fn` at `args`: shape (outputs, len(wrt)).

    The step of argument i is rel_step * max(1, |x_i|); the divisor is the
    step actually representable ((x + h) - (x - h)), not 2h.
    """
    columns = []
    for i in wrt:
        x = args[i]
        h = rel_step * max(1.0, abs(x))
        plus = list(args)
        minus = list(args)
        plus[i] = x + h
        minus[i] = x - h
        f_plus = as_outputs(fn(*plus))
        f_minus = as_outputs(fn(*minus))
        step = plus[i] - minus[i]
        columns.append([(a - b) / step for a, b in zip(f_plus, f_minus)])
    return np.array(columns, dtype=np.float64).T


def fd_is_consistent(fn, args, wrt) -> bool:
    """True when the steps h and h/2 agree (so `args` is not next to a branch switch)."""
    try:
        j1 = fd_jacobian(fn, args, wrt)
        j2 = fd_jacobian(fn, args, wrt, rel_step=0.5 * FD_REL_STEP)
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    if not (np.all(np.isfinite(j1)) and np.all(np.isfinite(j2))):
        return False
    bound = FD_CONSISTENCY_RTOL * np.maximum(np.abs(j1), np.abs(j2)) + FD_CONSISTENCY_ATOL
    return bool(np.all(np.abs(j1 - j2) <= bound))


def sample_points(case: Case, seed: int, count: int = POINTS_PER_CASE,
                  max_draws: int = MAX_DRAWS_PER_POINT):
    """`count` argument tuples drawn from the domains where finite differences are reliable.

    Returns (points, rejected): a draw whose steps h and h/2 disagree lies next
    to a branch switch and is replaced by a new draw, at most `max_draws` per
    point; AssertionError when no draw succeeds.
    """
    rng = np.random.default_rng(seed)
    points = []
    rejected = 0
    for _ in range(count):
        for _draw in range(max_draws):
            args = draw_args(case, rng)
            if fd_is_consistent(case.fn, args, case.wrt):
                points.append(args)
                break
            rejected += 1
        else:
            raise AssertionError(
                f"{case.name}: no point with consistent finite differences in {max_draws} draws")
    return points, rejected
