"""First-order optimizers as pure (init, update) pairs, the optax convention.

    opt = adam(learning_rate=1e-3)
    state = opt.init(params)
    params, state = opt.update(grads, state, params)

`params` and `grads` are tuples of float arrays or floats, in the order the loss
takes them. Nothing is mutated: `update` returns new parameters and a new state
(a NamedTuple whose `count` is the number of updates done). `learning_rate` is a
float or a schedule from `adgen.runtime.schedules` (called with `count`).

The formulas, with g the gradient handed to `update` and eta = learning_rate(count):

    sgd         x <- x - eta g
    momentum    v <- gamma v + eta g;  x <- x - v
    nesterov    v <- gamma v + eta g;  x <- x - (gamma v + eta g)
    adagrad     G <- G + g^2;  x <- x - eta g / (sqrt(G) + eps)
    rmsprop     r <- rho r + (1 - rho) g^2;  x <- x - eta g / (sqrt(r) + eps)
    adam        m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;  t = count + 1
                x <- x - eta (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)

Wrappers change the gradient before an optimizer sees it (`clip_by_global_norm`,
`clip_by_value`) or constrain the parameters after its step (`weight_clip`,
`project_rows_l1`).

Example:
    >>> import numpy as np
    >>> opt = momentum(0.5, gamma=0.5)
    >>> params = (np.array([1.0, 2.0]),)
    >>> state = opt.init(params)
    >>> params, state = opt.update((np.array([1.0, -1.0]),), state, params)
    >>> params[0], state.count
    (array([0.5, 2.5]), 1)
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import numpy as np

from adgen.runtime.schedules import LearningRate, as_schedule

Params = tuple  # of float arrays / floats


class Optimizer(NamedTuple):
    """`init(params) -> state` and `update(grads, state, params) -> (params, state)`."""
    init: Callable[[Params], Any]
    update: Callable[[Params, Any, Params], tuple]


class SgdState(NamedTuple):
    count: int


class MomentumState(NamedTuple):
    count: int
    velocity: tuple


class AdagradState(NamedTuple):
    count: int
    sum_sq: tuple


class RmspropState(NamedTuple):
    count: int
    mean_sq: tuple


class AdamState(NamedTuple):
    count: int
    mu: tuple
    nu: tuple


# tuples of leaves ---------------------------------------------------------------------------
def _map(fn, *trees) -> tuple:
    if len({len(t) for t in trees}) > 1:
        raise ValueError(f"gradients and parameters differ in length: {[len(t) for t in trees]}")
    return tuple(fn(*leaves) for leaves in zip(*trees))


def _leafwise(formula, trees, *scalars) -> tuple:
    """`formula(*leaves, *scalars)` at each position of the trees. On NumPy arrays and
    floats that is the formula itself; on numba.cuda device arrays it is one fused
    kernel per leaf (`adgen.cuda.elementwise`), so parameters and optimizer state stay
    on the device."""
    if len({len(t) for t in trees}) > 1:
        raise ValueError(f"gradients and parameters differ in length: {[len(t) for t in trees]}")
    return tuple(_apply(formula, leaves, scalars) for leaves in zip(*trees))


def _apply(formula, leaves, scalars):
    from adgen.cuda.elementwise import is_device_array

    if any(is_device_array(leaf) for leaf in leaves):
        return _on_device(formula)(*leaves, *scalars)
    out = formula(*leaves, *scalars)
    if not any(isinstance(leaf, np.ndarray) for leaf in leaves):  # floats stay floats
        out = float(out)
    return out


@functools.lru_cache(maxsize=None)
def _on_device(formula):
    from adgen.cuda.elementwise import Elementwise

    return Elementwise(formula)


def _zeros(p):
    from adgen.cuda.elementwise import is_device_array

    if is_device_array(p):
        from adgen.cuda.ops import zeros_like

        return zeros_like(p)
    return np.zeros_like(p) if isinstance(p, np.ndarray) else 0.0


# the element-wise formulas (scalars after the leaves) ---------------------------------------
def _descend(x, g, eta):
    return x - eta * g


def _velocity(v, g, gamma, eta):
    return gamma * v + eta * g


def _minus(x, v):
    return x - v


def _look_ahead(y, v, g, gamma, eta):
    return y - (gamma * v + eta * g)


def _plus(a, value):
    return a + value


def _add_square(a, g):
    return a + g * g


def _decayed_square(r, g, decay):
    return decay * r + (1.0 - decay) * (g * g)


def _decayed(m, g, decay):
    return decay * m + (1.0 - decay) * g


def _rms_step(x, g, r, eta, eps):
    return x - eta * g / (np.sqrt(r) + eps)


def _adam_step(x, m, s, eta, c1, c2, eps):
    return x - eta * (m / c1) / (np.sqrt(s / c2) + eps)


def global_norm(tree) -> float:
    """sqrt of the sum of squares of every element of every leaf.

    >>> global_norm((np.array([3.0]), 4.0))
    5.0
    """
    return math.sqrt(sum(float(np.sum(np.square(x))) for x in tree))


# the optimizers -----------------------------------------------------------------------------
def sgd(learning_rate: LearningRate) -> Optimizer:
    """Gradient descent, x <- x - eta g.

    Batch gradient descent, stochastic gradient descent and mini-batch SGD are this
    same update; they differ only in the data the gradient is computed from (all
    samples, one, or a batch), which is `adgen.runtime.training.fit`'s `batch_size`.

    >>> opt = sgd(0.1)
    >>> opt.update((1.0,), opt.init((2.0,)), (2.0,))[0]
    (1.9,)
    """
    rate = as_schedule(learning_rate)

    def init(params):
        return SgdState(0)

    def update(grads, state, params):
        eta = rate(state.count)
        return _leafwise(_descend, (params, grads), eta), SgdState(state.count + 1)

    return Optimizer(init, update)


def momentum(learning_rate: LearningRate, gamma: float = 0.9) -> Optimizer:
    """Polyak's heavy ball: v <- gamma v + eta g; x <- x - v (v starts at 0).

    The learning rate sits inside the velocity, so a schedule changes the size of new
    contributions only (Sutskever et al. 2013, eq. 1).

    >>> opt = momentum(1.0, gamma=0.5)
    >>> p, s = opt.update((1.0,), opt.init((0.0,)), (0.0,))
    >>> opt.update((1.0,), s, p)[0]          # v = 1, then v = 0.5 + 1
    (-2.5,)
    """
    rate = as_schedule(learning_rate)

    def init(params):
        return MomentumState(0, _map(_zeros, params))

    def update(grads, state, params):
        eta = rate(state.count)
        v = _leafwise(_velocity, (state.velocity, grads), gamma, eta)
        return _leafwise(_minus, (params, v)), MomentumState(state.count + 1, v)

    return Optimizer(init, update)


def nesterov(learning_rate: LearningRate, gamma: float = 0.9) -> Optimizer:
    """Nesterov's accelerated gradient: the gradient is taken at the look-ahead point.

    Textbook form (Sutskever et al. 2013, eq. 3-4), iterate x, velocity v:

        v' = gamma v + eta grad f(x - gamma v);   x' = x - v'.

    `update` receives the gradient at the parameters it is given, so the parameters
    kept here are the look-ahead points y = x - gamma v themselves. Substituting,

        v' = gamma v + eta grad f(y);             y' = y - (gamma v' + eta grad f(y)),

    which is what this computes (the form of PyTorch's and optax's `nesterov=True`,
    with eta inside v). Both start from y_0 = x_0 (v_0 = 0) and produce the same v;
    the textbook iterate is recovered as x = params + gamma * state.velocity.

    >>> opt = nesterov(1.0, gamma=0.5)
    >>> opt.update((1.0,), opt.init((0.0,)), (0.0,))[0]   # v = 1, y = 0 - (0.5 + 1)
    (-1.5,)
    """
    rate = as_schedule(learning_rate)

    def init(params):
        return MomentumState(0, _map(_zeros, params))

    def update(grads, state, params):
        eta = rate(state.count)
        v = _leafwise(_velocity, (state.velocity, grads), gamma, eta)
        new = _leafwise(_look_ahead, (params, v, grads), gamma, eta)
        return new, MomentumState(state.count + 1, v)

    return Optimizer(init, update)


def adagrad(learning_rate: LearningRate, eps: float = 1e-7,
            initial_accumulator: float = 0.0) -> Optimizer:
    """Adagrad (Duchi, Hazan & Singer 2011; Goodfellow et al. 2016, Algorithm 8.4):
    G <- G + g^2; x <- x - eta g / (sqrt(G) + eps), element-wise, G starting at
    `initial_accumulator`.

    >>> opt = adagrad(1.0, eps=0.0)
    >>> opt.update((-4.0,), opt.init((0.0,)), (0.0,))[0]   # 0 + 4 / sqrt(16)
    (1.0,)
    """
    rate = as_schedule(learning_rate)

    def init(params):
        return AdagradState(0, _leafwise(_plus, (_map(_zeros, params),), initial_accumulator))

    def update(grads, state, params):
        eta = rate(state.count)
        acc = _leafwise(_add_square, (state.sum_sq, grads))
        new = _leafwise(_rms_step, (params, grads, acc), eta, eps)
        return new, AdagradState(state.count + 1, acc)

    return Optimizer(init, update)


def rmsprop(learning_rate: LearningRate, decay: float = 0.9, eps: float = 1e-8) -> Optimizer:
    """RMSprop (Tieleman & Hinton 2012, lecture 6e): r <- rho r + (1 - rho) g^2;
    x <- x - eta g / (sqrt(r) + eps), r starting at 0, rho = `decay`.

    >>> opt = rmsprop(1.0, decay=0.75, eps=0.0)
    >>> opt.update((2.0,), opt.init((0.0,)), (0.0,))[0]    # r = 1, step 2 / 1
    (-2.0,)
    """
    rate = as_schedule(learning_rate)

    def init(params):
        return RmspropState(0, _map(_zeros, params))

    def update(grads, state, params):
        eta = rate(state.count)
        r = _leafwise(_decayed_square, (state.mean_sq, grads), decay)
        new = _leafwise(_rms_step, (params, grads, r), eta, eps)
        return new, RmspropState(state.count + 1, r)

    return Optimizer(init, update)


def adam(learning_rate: LearningRate, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8) -> Optimizer:
    """Adam with bias correction (Kingma & Ba 2015, Algorithm 1), at step t = count + 1:

        m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2
        x <- x - eta (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps).

    The first step moves every coordinate by about eta (m-hat / sqrt(s-hat) = sign g).

    >>> opt = adam(0.1)
    >>> opt.update((3.0,), opt.init((1.0,)), (1.0,))[0]
    (0.9000000003333333,)
    """
    rate = as_schedule(learning_rate)

    def init(params):
        zeros = _map(_zeros, params)
        return AdamState(0, zeros, zeros)

    def update(grads, state, params):
        eta, t = rate(state.count), state.count + 1
        c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        m = _leafwise(_decayed, (state.mu, grads), b1)
        s = _leafwise(_decayed_square, (state.nu, grads), b2)
        new = _leafwise(_adam_step, (params, m, s), eta, c1, c2, eps)
        return new, AdamState(t, m, s)

    return Optimizer(init, update)


# gradient transforms ------------------------------------------------------------------------
def clip_by_global_norm(opt: Optimizer, max_norm: float) -> Optimizer:
    """`opt` on gradients rescaled to a global norm of at most `max_norm` (Pascanu et
    al. 2013): g <- g * max_norm / ||g|| when ||g|| > max_norm, over all leaves together.

    >>> opt = clip_by_global_norm(sgd(1.0), max_norm=1.0)
    >>> opt.update((3.0, 4.0), opt.init((0.0, 0.0)), (0.0, 0.0))[0]
    (-0.6000000000000001, -0.8)
    """
    def update(grads, state, params):
        norm = global_norm(grads)
        if norm > max_norm:
            scale = max_norm / norm
            grads = _map(lambda g: g * scale, grads)
        return opt.update(grads, state, params)

    return Optimizer(opt.init, update)


def clip_by_value(opt: Optimizer, max_value: float) -> Optimizer:
    """`opt` on gradients clipped element-wise to [-max_value, max_value].

    >>> opt = clip_by_value(sgd(1.0), 1.0)
    >>> opt.update((3.0, -0.5), opt.init((0.0, 0.0)), (0.0, 0.0))[0]
    (-1.0, 0.5)
    """
    def update(grads, state, params):
        clipped = _map(lambda g: _clip(g, -max_value, max_value), grads)
        return opt.update(clipped, state, params)

    return Optimizer(opt.init, update)


# parameter constraints ----------------------------------------------------------------------
def _selected(which, params) -> set:
    if which is None:
        return set(range(len(params)))
    return {which} if isinstance(which, int) else set(which)


def _clip(x, lo, hi):
    return np.clip(x, lo, hi) if isinstance(x, np.ndarray) else min(max(x, lo), hi)


def _constrained(opt: Optimizer, constrain, which) -> Optimizer:
    def update(grads, state, params):
        new, state = opt.update(grads, state, params)
        chosen = which(new)
        return tuple(constrain(p) if i in chosen else p for i, p in enumerate(new)), state

    return Optimizer(opt.init, update)


def weight_clip(opt: Optimizer, c: float, which=None) -> Optimizer:
    """`opt`, then the parameters clipped element-wise to [-c, c] (the WGAN critic's
    constraint, Arjovsky et al. 2017). `which`: an index or indices of the parameters
    to clip; None clips all.

    >>> opt = weight_clip(sgd(1.0), 0.5, which=0)
    >>> opt.update((-2.0, -2.0), opt.init((0.0, 0.0)), (0.0, 0.0))[0]
    (0.5, 2.0)
    """
    return _constrained(opt, lambda p: _clip(p, -c, c), lambda new: _selected(which, new))


def project_rows_l1(opt: Optimizer, radius: float = 1.0, which=None,
                    axis: int = -1) -> Optimizer:
    """`opt`, then each row of the selected weight matrices replaced by its Euclidean
    projection onto the L1 ball of `radius` (`project_l1_ball`).

    With radius 1 every row of W has an L1 norm of at most 1, that is ||W||_inf <= 1,
    so x -> W x + b is 1-Lipschitz in the max norm (the layers' convention, W of shape
    (n_out, n_in)); for weights applied as x @ W pass axis=0 (columns). `which`: an
    index or indices of parameters; None selects every 2-D parameter (biases stay free).

    >>> opt = project_rows_l1(sgd(1.0))
    >>> W = np.zeros((2, 2))
    >>> opt.update((np.array([[-3.0, -1.0], [-0.5, 0.0]]),), opt.init((W,)), (W,))[0][0]
    array([[1. , 0. ],
           [0.5, 0. ]])
    """
    def chosen(new):
        if which is None:
            return {i for i, p in enumerate(new) if np.ndim(p) == 2}
        return _selected(which, new)

    return _constrained(opt, lambda p: project_l1_ball(p, radius, axis), chosen)


def project_l1_ball(v, radius: float = 1.0, axis: int = -1):
    """The Euclidean projection of every 1-D slice of `v` along `axis` onto
    {w : sum |w_i| <= radius} (Duchi, Shalev-Shwartz, Singer & Chandra 2008, Figure 1):
    w = sign(v) max(|v| - theta, 0) with theta >= 0 the smallest shift reaching the
    ball. Slices already inside come back unchanged; outside ones land on the sphere
    (their L1 norm is `radius` up to rounding). Always a new array (or float).

    >>> project_l1_ball(np.array([[0.8, -0.6], [0.2, 0.3]]))
    array([[ 0.6, -0.4],
           [ 0.2,  0.3]])
    """
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    if np.ndim(v) == 0:
        return _clip(v, -radius, radius)
    v = np.asarray(v)
    if not np.issubdtype(v.dtype, np.floating):
        v = v.astype(np.float64)
    moved = np.moveaxis(v, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])  # a copy when moveaxis made a view
    out = rows.copy()
    a = np.abs(rows)
    outside = a.sum(axis=1) > radius
    if outside.any():
        u = -np.sort(-a[outside], axis=1)  # descending
        excess = np.cumsum(u, axis=1) - radius
        positive = u - excess / np.arange(1, u.shape[1] + 1) > 0
        rho = u.shape[1] - 1 - np.argmax(positive[:, ::-1], axis=1)  # last positive index
        theta = excess[np.arange(len(rho)), rho] / (rho + 1)
        out[outside] = np.sign(rows[outside]) * np.maximum(a[outside] - theta[:, None], 0.0)
    return np.moveaxis(out.reshape(moved.shape), -1, axis)
