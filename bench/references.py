"""Gradients of the benchmark objectives by other tools, each written its best way.

* JAX: `jax.jit(jax.grad(...))`, loops as `lax.fori_loop` / `lax.scan` (a Python
  loop under `jit` would be unrolled), the GMM batched with `einsum` as in
  ADBench's JAX module, float64 (`jax_enable_x64`).
* PyTorch eager: the vectorized formulation on float64 tensors, `backward()`.
* HIPS autograd: the objective's own vectorized NumPy source, run on
  `autograd.numpy` (the heat equation's writes slices, which autograd cannot
  differentiate: there the same steps concatenate the end cells back, as for
  PyTorch).

`gradient(tool, problem)` returns a callable `args -> grads` (a tuple, one per
differentiated argument, as NumPy arrays or floats), or None when the tool is
not installed. Each is checked against adgen's gradient before it is timed.
"""

from __future__ import annotations

import importlib
import types

import numpy as np

from bench.problems import Problem
from objectives import gmm


def _have(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


def versions() -> dict:
    out = {}
    for name in ("jax", "torch", "autograd"):
        try:
            mod = importlib.import_module(name)
            out[name] = getattr(mod, "__version__", "installed")
        except ImportError:
            out[name] = None
    return out


def gradient(tool: str, problem: Problem):
    """A callable computing the problem's gradient with `tool`, or None if not installed."""
    maker = {"jax": _jax, "torch": _torch, "autograd": _autograd}[tool]
    if not _have(tool):
        return None
    return maker(problem)


# JAX ------------------------------------------------------------------------------------
def _jax(problem: Problem):
    import jax
    import jax.numpy as jnp
    from jax import lax

    jax.config.update("jax_enable_x64", True)

    def logistic_map(r, x0, steps):
        x = lax.fori_loop(0, steps, lambda t, x: r * x * (1.0 - x), x0)
        return jnp.sum(x) / x0.shape[0]

    def ode(theta, u0, v0, dt, steps):
        a, b, c, d = theta[0], theta[1], theta[2], theta[3]

        def rhs(u, v):
            return a * u - b * u * v, c * u * v - d * v

        def step(t, uv):
            u, v = uv
            k1u, k1v = rhs(u, v)
            k2u, k2v = rhs(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v)
            k3u, k3v = rhs(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v)
            k4u, k4v = rhs(u + dt * k3u, v + dt * k3v)
            return (u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u),
                    v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v))

        u, v = lax.fori_loop(0, steps, step, (u0, v0))
        return jnp.sum((u - 1.0) ** 2 + (v - 1.0) ** 2) / u0.shape[0]

    def lstm(main_params, extra_params, state, sequence):
        n_layers = main_params.shape[0] // 2
        c, b = sequence.shape

        def step(state, xy):
            x_t, y_t = xy
            x = x_t * extra_params[0]
            rows = []
            for layer in range(n_layers):
                w, bias = main_params[2 * layer], main_params[2 * layer + 1]
                hidden, cell = state[2 * layer], state[2 * layer + 1]
                gates = jnp.concatenate((x, hidden, x, hidden)) * w + bias
                forget = jax.nn.sigmoid(gates[0:b])
                ingate = jax.nn.sigmoid(gates[b:2 * b])
                outgate = jax.nn.sigmoid(gates[2 * b:3 * b])
                change = jnp.tanh(gates[3 * b:])
                cell = cell * forget + ingate * change
                hidden = outgate * jnp.tanh(cell)
                rows += [hidden, cell]
                x = hidden
            ypred = x * extra_params[1] + extra_params[2]
            ynorm = ypred - jnp.log(jnp.sum(jnp.exp(ypred)) + 2.0)
            return jnp.stack(rows), jnp.sum(y_t * ynorm)

        _, totals = lax.scan(step, state, (sequence[:-1], sequence[1:]))
        return -jnp.sum(totals) / ((c - 1) * b)

    def gmm_fn(alphas, means, icf, x, wishart_gamma, wishart_m):
        n, d = x.shape
        k = alphas.shape[0]
        rows, cols = _tril_indices(d)
        q_diags = jnp.exp(icf[:, :d])
        sum_qs = jnp.sum(icf[:, :d], axis=1)
        lower = jnp.zeros((k, d, d)).at[:, rows, cols].set(icf[:, d:])
        centered = x[:, None, :] - means[None, :, :]                     # (n, k, d)
        qx = q_diags * centered + jnp.einsum("kij,nkj->nki", lower, centered)
        main_term = alphas + sum_qs - 0.5 * jnp.sum(qx * qx, axis=2)
        slse = jnp.sum(jax.scipy.special.logsumexp(main_term, axis=1))
        frobenius = jnp.sum(q_diags * q_diags) + jnp.sum(icf[:, d:] ** 2)
        prior = 0.5 * wishart_gamma ** 2 * frobenius - wishart_m * jnp.sum(sum_qs) \
            - k * gmm.wishart_constant(d, wishart_gamma, wishart_m)
        return (-n * d * 0.5 * np.log(2.0 * np.pi) + slse
                - n * jax.scipy.special.logsumexp(alphas) + prior)

    def mlp(W1, b1, W2, b2, X, Y):
        Z = jnp.tanh(X @ W1 + b1) @ W2 + b2
        return -jnp.sum(Y * jax.nn.log_softmax(Z, axis=1)) / X.shape[0]

    def heat(u0, r, steps):
        def step(t, u):
            return u.at[1:-1].set(u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:]))
        u = lax.fori_loop(0, steps, step, u0)
        return jnp.sum(u * u)

    def logistic_regression(w, b, X, y, lam):
        margins = -y * (X @ w + b)
        return jnp.mean(jnp.logaddexp(margins, 0.0)) + 0.5 * lam * jnp.sum(w * w)

    def conv1d(x, u, target):
        n_out = x.shape[0] - u.shape[0] + 1
        s = jnp.convolve(x, u[::-1], mode="valid")
        r = jnp.tanh(s[:n_out]) - target
        return 0.5 * jnp.sum(r * r)

    fns = {"gmm": gmm_fn, "lstm": lstm, "mlp": mlp, "logistic_map": logistic_map,
           "ode": ode, "heat": heat, "logistic_regression": logistic_regression,
           "conv1d": conv1d}
    f = fns[problem.name.split("_d")[0] if problem.name.startswith("gmm") else problem.name]
    static = {"gmm": (4, 5), "logistic_map": (2,), "ode": (3, 4), "heat": (2,)}.get(
        "gmm" if problem.name.startswith("gmm") else problem.name, ())
    g = jax.jit(jax.grad(f, argnums=problem.argnums), static_argnums=static)

    def run(*args):
        args = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        return jax.block_until_ready(g(*args))
    return run


def _tril_indices(d):
    """(rows, cols) of icf's strictly lower entries, in icf's column-major order."""
    pairs = sorted(((gmm.tril_offset(d, r, c), r, c) for c in range(d) for r in range(c + 1, d)))
    return np.array([p[1] for p in pairs], dtype=np.int64), np.array([p[2] for p in pairs],
                                                                     dtype=np.int64)


# PyTorch --------------------------------------------------------------------------------
def _torch(problem: Problem):
    import torch

    torch.set_default_dtype(torch.float64)

    def logistic_map(r, x0, steps):
        x = x0
        for _ in range(steps):
            x = r * x * (1.0 - x)
        return torch.sum(x) / x0.shape[0]

    def ode(theta, u0, v0, dt, steps):
        a, b, c, d = theta[0], theta[1], theta[2], theta[3]

        def rhs(u, v):
            return a * u - b * u * v, c * u * v - d * v
        u, v = u0, v0
        for _ in range(steps):
            k1u, k1v = rhs(u, v)
            k2u, k2v = rhs(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v)
            k3u, k3v = rhs(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v)
            k4u, k4v = rhs(u + dt * k3u, v + dt * k3v)
            u = u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
            v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        return torch.sum((u - 1.0) ** 2 + (v - 1.0) ** 2) / u0.shape[0]

    def lstm(main_params, extra_params, state, sequence):
        n_layers = main_params.shape[0] // 2
        c, b = sequence.shape
        state = list(state)
        total = 0.0
        for t in range(c - 1):
            x = sequence[t] * extra_params[0]
            for layer in range(n_layers):
                w, bias = main_params[2 * layer], main_params[2 * layer + 1]
                hidden, cell = state[2 * layer], state[2 * layer + 1]
                gates = torch.cat((x, hidden, x, hidden)) * w + bias
                forget = torch.sigmoid(gates[0:b])
                ingate = torch.sigmoid(gates[b:2 * b])
                outgate = torch.sigmoid(gates[2 * b:3 * b])
                change = torch.tanh(gates[3 * b:])
                cell = cell * forget + ingate * change
                hidden = outgate * torch.tanh(cell)
                state[2 * layer], state[2 * layer + 1] = hidden, cell
                x = hidden
            ypred = x * extra_params[1] + extra_params[2]
            ynorm = ypred - torch.log(torch.sum(torch.exp(ypred)) + 2.0)
            total = total + torch.sum(sequence[t + 1] * ynorm)
        return -total / ((c - 1) * b)

    def gmm_fn(alphas, means, icf, x, wishart_gamma, wishart_m):
        n, d = x.shape
        k = alphas.shape[0]
        rows, cols = _tril_indices(d)
        q_diags = torch.exp(icf[:, :d])
        sum_qs = torch.sum(icf[:, :d], dim=1)
        lower = torch.zeros((k, d, d))
        lower[:, rows, cols] = icf[:, d:]
        centered = x[:, None, :] - means[None, :, :]
        qx = q_diags * centered + torch.einsum("kij,nkj->nki", lower, centered)
        main_term = alphas + sum_qs - 0.5 * torch.sum(qx * qx, dim=2)
        slse = torch.sum(torch.logsumexp(main_term, dim=1))
        frobenius = torch.sum(q_diags * q_diags) + torch.sum(icf[:, d:] ** 2)
        prior = 0.5 * wishart_gamma ** 2 * frobenius - wishart_m * torch.sum(sum_qs) \
            - k * gmm.wishart_constant(d, wishart_gamma, wishart_m)
        return (-n * d * 0.5 * np.log(2.0 * np.pi) + slse
                - n * torch.logsumexp(alphas, dim=0) + prior)

    def mlp(W1, b1, W2, b2, X, Y):
        Z = torch.tanh(X @ W1 + b1) @ W2 + b2
        return -torch.sum(Y * torch.log_softmax(Z, dim=1)) / X.shape[0]

    def heat(u0, r, steps):
        u = u0
        for _ in range(steps):     # no in-place writes: the ends are concatenated back
            u = torch.cat((u[:1], u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:]), u[-1:]))
        return torch.sum(u * u)

    def logistic_regression(w, b, X, y, lam):
        margins = -y * (X @ w + b)
        return torch.mean(torch.nn.functional.softplus(margins)) + 0.5 * lam * torch.sum(w * w)

    def conv1d(x, u, target):
        s = torch.nn.functional.conv1d(x.reshape(1, 1, -1), u.reshape(1, 1, -1)).reshape(-1)
        r = torch.tanh(s) - target
        return 0.5 * torch.sum(r * r)

    key = "gmm" if problem.name.startswith("gmm") else problem.name
    f = {"gmm": gmm_fn, "lstm": lstm, "mlp": mlp, "logistic_map": logistic_map, "ode": ode,
         "heat": heat, "logistic_regression": logistic_regression, "conv1d": conv1d}[key]

    def run(*args):
        inputs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        wrt = []
        for i in problem.argnums:
            if not isinstance(inputs[i], torch.Tensor):
                inputs[i] = torch.tensor(float(inputs[i]))
            inputs[i].requires_grad_(True)
            wrt.append(inputs[i])
        f(*inputs).backward()
        return tuple(t.grad.numpy() for t in wrt)
    return run


# HIPS autograd --------------------------------------------------------------------------
def _autograd(problem: Problem):
    import autograd
    import autograd.numpy as anp

    module = problem.module
    namespace = dict(vars(module))
    namespace["np"] = anp
    keep = ("icf_to_q_selection", "component_selection")  # constants built by writes
    for key, obj in vars(module).items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__ \
                and key not in keep:
            namespace[key] = types.FunctionType(obj.__code__, namespace, obj.__name__,
                                                obj.__defaults__, obj.__closure__)
    f = namespace[problem.vectorized]
    if problem.name == "heat":      # its vectorized source writes slices: not on autograd
        def f(u0, r, steps):
            u = u0
            for _ in range(steps):
                u = anp.concatenate((u[:1], u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:]),
                                     u[-1:]))
            return anp.sum(u * u)
    g = autograd.grad(f, problem.argnums)

    def run(*args):
        return g(*args)
    return run
