"""`python -m bench.gpu [--quick] [--sizes 10000,100000]`: the CUDA back end's benchmark.

Per-sample gradients of three objectives, one GPU thread per sample
(`adgen.vmap(adgen.grad(...), backend="cuda")`), for 10^4 .. 10^7 samples:

* logistic map: d x_steps / d (r, x0) for 1000 steps (r and x0 per sample);
* RK4 ODE: d loss / d (u0, v0) of the Lotka-Volterra system of
  examples/objectives/ode.py integrated 100 RK4 steps (theta shared);
* GMM per point: d (-log p(x)) / d (x, mu_1, mu_2, mu_3) of a 3-component 1-D
  Gaussian mixture (weights, means, widths shared);

and two array programs (`backend="cuda"` on the transform: adgen/cuda/program.py):

* element-wise derivative kernels: `vjp` of tanh on arrays of n elements (x and the
  cotangent read, value and gradient written), as memory bandwidth;
* an MLP training step: value_and_grad of examples/objectives/mlp.py (784-256-10,
  batch 256) and an Adam update, parameters kept on the device.

Compared with
JAX `jit(vmap(grad))` on JAX's default device (when jax is importable; x64) and
with adgen on the CPU (`vmap(..., backend="numba")`: the same generated code in
a parallel loop). Prints a markdown table: time, throughput (samples/s), the
effective memory bandwidth (inputs read + outputs written) and estimated FP64
FLOP rate, with the fraction of the device's peak where it is known.

`--quick` runs tiny sizes (it also runs on the CUDA simulator:
`NUMBA_ENABLE_CUDASIM=1 python -m bench.gpu --quick`), to check that it works.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from objectives.ode import lotka_volterra, lotka_volterra_orbit  # noqa: E402

import adgen  # noqa: E402
from bench.timing import median_time  # noqa: E402

# FP64 peak (FLOP/s, without tensor cores) of common data-centre GPUs, by name
FP64_PEAK = {"H200": 34e12, "H100": 34e12, "A100": 9.7e12, "V100": 7.8e12, "A30": 5.2e12,
             "L40": 1.4e12, "A10": 0.98e12, "T4": 0.25e12}


# per-sample objectives (scalars in, a float out) -------------------------------------------
def logistic(r, x0, steps):
    x = x0
    for t in range(steps):
        x = r * x * (1.0 - x)
    return x


rk4 = lotka_volterra_orbit


def gmm_point(x, m1, m2, m3, w1, w2, w3, s1, s2, s3):
    """-log of a 3-component 1-D Gaussian mixture density at x (log-sum-exp)."""
    l1 = math.log(w1) - math.log(s1) - 0.5 * ((x - m1) / s1) ** 2
    l2 = math.log(w2) - math.log(s2) - 0.5 * ((x - m2) / s2) ** 2
    l3 = math.log(w3) - math.log(s3) - 0.5 * ((x - m3) / s3) ** 2
    top = max(l1, max(l2, l3))
    return -(top + math.log(math.exp(l1 - top) + math.exp(l2 - top) + math.exp(l3 - top))
             - 0.5 * math.log(2.0 * math.pi))


class Problem:
    def __init__(self, name, fn, argnums, static, make, flops, jax_fn):
        self.name, self.fn, self.argnums, self.static = name, fn, argnums, static
        self.make, self.flops, self.jax_fn = make, flops, jax_fn


def problems(quick: bool):
    steps_lm = 20 if quick else 1000
    steps_ode = 4 if quick else 100

    def make_lm(n, rng):
        return [3.6 + 0.1 * rng.random(n), 0.1 + 0.8 * rng.random(n), steps_lm], (0, 0, None)

    def make_ode(n, rng):
        return ([4.0 + rng.random(n), 2.0 + rng.random(n), 1.1, 0.4, 0.1, 0.4,
                 5.0 / steps_ode, steps_ode], (0, 0) + (None,) * 6)

    def make_gmm(n, rng):
        return ([rng.normal(size=n), -1.0 + 0.1 * rng.random(n), 0.0 + 0.1 * rng.random(n),
                 1.0 + 0.1 * rng.random(n), 0.3, 0.5, 0.2, 0.5, 1.0, 0.7],
                (0, 0, 0, 0) + (None,) * 6)

    return [
        Problem(f"logistic map ({steps_lm} steps)", logistic, (0, 1), 2, make_lm,
                9 * steps_lm, "logistic"),
        Problem(f"RK4 ODE ({steps_ode} steps)", rk4, (0, 1), 7, make_ode,
                150 * steps_ode, "rk4"),
        Problem("GMM per point (K=3)", gmm_point, (0, 1, 2, 3), (), make_gmm, 120, "gmm"),
    ]


# JAX references -----------------------------------------------------------------------------
def jax_reference(problem, args, axes):
    """A jitted jax.vmap(jax.grad(...)) of the problem and its arguments, or None."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    if problem.jax_fn == "logistic":
        steps = args[2]

        def f(r, x0):
            return jax.lax.fori_loop(0, steps, lambda t, x: r * x * (1.0 - x), x0)

        call_args = args[:2]
    elif problem.jax_fn == "rk4":
        a, b, c, d, dt, steps = args[2:]

        def f(u0, v0):
            def step(t, s):
                u, v = s
                k1u, k1v = lotka_volterra(u, v, a, b, c, d)
                k2u, k2v = lotka_volterra(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v, a, b, c, d)
                k3u, k3v = lotka_volterra(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v, a, b, c, d)
                k4u, k4v = lotka_volterra(u + dt * k3u, v + dt * k3v, a, b, c, d)
                return (u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u),
                        v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v))

            u, v = jax.lax.fori_loop(0, steps, step, (u0, v0))
            return (u - 1.0) ** 2 + (v - 1.0) ** 2

        call_args = args[:2]
    else:
        w1, w2, w3, s1, s2, s3 = args[4:]

        def f(x, m1, m2, m3):
            ls = jnp.stack([jnp.log(w) - jnp.log(s) - 0.5 * ((x - m) / s) ** 2
                            for w, m, s in ((w1, m1, s1), (w2, m2, s2), (w3, m3, s3))])
            return -(jax.scipy.special.logsumexp(ls) - 0.5 * jnp.log(2.0 * jnp.pi))

        call_args = args[:4]
    n_args = len(call_args)
    g = jax.jit(jax.vmap(jax.grad(f, argnums=tuple(range(n_args)))))
    device_args = [jnp.asarray(a) for a in call_args]

    def run():
        out = g(*device_args)
        jax.block_until_ready(out)
        return out

    return run, jax.devices()[0].platform


# device facts -------------------------------------------------------------------------------
def device_facts():
    """(name, peak bytes/s or None, peak FP64 FLOP/s or None)."""
    from adgen.cuda import device_name, simulator

    name = device_name()
    if simulator():
        return name, None, None
    from numba import cuda

    device = cuda.get_current_device()
    try:
        clock_hz = device.MEMORY_CLOCK_RATE * 1e3
        bus_bytes = device.GLOBAL_MEMORY_BUS_WIDTH / 8
        bandwidth = 2 * clock_hz * bus_bytes
    except Exception:
        bandwidth = None
    flops = next((v for k, v in FP64_PEAK.items() if k in name), None)
    return name, bandwidth, flops


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (works on the "
                        "CUDA simulator)")
    parser.add_argument("--sizes", help="comma-separated sample counts (default "
                        "10^4..10^7; --quick: 16)")
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--no-cpu", action="store_true")
    options = parser.parse_args()
    from numba import cuda

    from adgen.cuda import simulator

    if options.sizes:
        sizes = [int(s) for s in options.sizes.split(",")]
    else:
        sizes = [16] if options.quick and simulator() else (
            [10 ** 4] if options.quick else [10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7])
    budget = 0.2 if options.quick else 1.0
    name, bandwidth, peak = device_facts()
    print(f"# adgen CUDA benchmark\n\ndevice: {name}"
          + (f"; peak memory bandwidth {bandwidth / 1e9:.0f} GB/s" if bandwidth else "")
          + (f"; FP64 peak {peak / 1e12:.1f} TFLOP/s" if peak else "") + "\n")
    print("| objective | samples | method | time (ms) | samples/s | GB/s (% peak) "
          "| GFLOP/s (% FP64 peak) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for problem in problems(options.quick):
        g = adgen.grad(problem.fn, argnums=problem.argnums, static_argnums=problem.static)
        for n in sizes:
            args, axes = problem.make(n, rng)
            batched = [a for a, ax in zip(args, axes) if ax == 0]
            io_bytes = 8 * n * (len(batched) + len(problem.argnums))
            on_gpu = adgen.vmap(g, in_axes=axes, backend="cuda")
            device_args = [cuda.to_device(a) if ax == 0 else a for a, ax in zip(args, axes)]

            def gpu_run():
                out = on_gpu(*device_args)
                cuda.synchronize()
                return out

            rows = [("adgen cuda", gpu_run, True)]
            if not options.no_cpu and n <= 10 ** 6:
                on_cpu = adgen.vmap(g, in_axes=axes, backend="numba")
                rows.append(("adgen numba CPU", lambda: on_cpu(*args), False))
            if not options.no_jax:
                ref = jax_reference(problem, args, axes)
                if ref is not None:
                    rows.append((f"JAX jit(vmap(grad)) [{ref[1]}]", ref[0], False))
            for label, run, ours in rows:
                seconds = median_time(run, budget=budget, min_runs=2, max_runs=50)
                rate = n / seconds
                gbs = io_bytes / seconds / 1e9
                gfl = problem.flops * n / seconds / 1e9
                bw = f"{gbs:.1f}" + (f" ({100 * gbs * 1e9 / bandwidth:.1f}%)"
                                     if ours and bandwidth else "")
                fl = f"{gfl:.1f}" + (f" ({100 * gfl * 1e9 / peak:.1f}%)" if ours and peak
                                     else "")
                print(f"| {problem.name} | {n:,} | {label} | {1e3 * seconds:.3f} | "
                      f"{rate:.3g} | {bw} | {fl} |", flush=True)
    elementwise_rows([16] if options.quick and simulator() else sizes, budget, bandwidth)
    mlp_rows(options.quick and simulator(), budget, options.no_cpu, options.no_jax)


# array programs -------------------------------------------------------------------------------
def _tanh(x):
    return np.tanh(x)


def elementwise_rows(sizes, budget, bandwidth):
    """vjp of tanh on the device: bytes moved (x, cotangent in; value, gradient out) / s."""
    from numba import cuda

    vjp = adgen.vjp(_tanh, backend="cuda")
    rng = np.random.default_rng(1)
    print("\n| element-wise kernel | elements | time (ms) | GB/s (% peak) |\n|---|---:|---:|---:|")
    for n in sizes:
        x, ct = cuda.to_device(rng.normal(size=n)), cuda.to_device(rng.normal(size=n))

        def run():
            out = vjp(x, ct)
            cuda.synchronize()
            return out

        seconds = median_time(run, budget=budget, min_runs=2, max_runs=50)
        gbs = 4 * 8 * n / seconds / 1e9
        share = f" ({100 * gbs * 1e9 / bandwidth:.1f}%)" if bandwidth else ""
        print(f"| vjp of tanh | {n:,} | {1e3 * seconds:.3f} | {gbs:.1f}{share} |", flush=True)


def mlp_rows(quick: bool, budget, no_cpu: bool, no_jax: bool):
    """One training step (value_and_grad + Adam) of the MLP, on the device and off it."""
    from numba import cuda

    from adgen.runtime.optimizers import adam
    from objectives.mlp import make_data, mlp_vectorized

    sizes = (16, 12, 8, 4) if quick else (256, 784, 256, 10)
    data = make_data(*sizes, seed=0)
    params, (X, Y) = data[:4], data[4:]
    opt = adam(1e-3)
    print("\n| MLP training step (batch, in, hidden, classes) | method | time (ms) |"
          "\n|---|---|---:|")
    rows = []
    gpu_step = adgen.value_and_grad(mlp_vectorized, argnums=(0, 1, 2, 3), backend="cuda")
    state = {"params": tuple(cuda.to_device(p) for p in params)}
    state["opt"] = opt.init(state["params"])
    dX, dY = cuda.to_device(X), cuda.to_device(Y)

    def gpu_run():
        _, grads = gpu_step(*state["params"], dX, dY)
        state["params"], state["opt"] = opt.update(grads, state["opt"], state["params"])
        cuda.synchronize()

    rows.append(("adgen cuda (parameters on the device)", gpu_run))
    if not no_cpu:
        cpu_step = adgen.value_and_grad(mlp_vectorized, argnums=(0, 1, 2, 3))
        cpu = {"params": params, "opt": opt.init(params)}

        def cpu_run():
            _, grads = cpu_step(*cpu["params"], X, Y)
            cpu["params"], cpu["opt"] = opt.update(grads, cpu["opt"], cpu["params"])

        rows.append(("adgen numba CPU", cpu_run))
    if not no_jax:
        try:
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_enable_x64", True)
        except ImportError:
            jax = None
        if jax is not None:
            import objectives.mlp as source

            def loss(W1, b1, W2, b2, X, Y):
                saved, source.np = source.np, jnp
                try:
                    return source.mlp_vectorized(W1, b1, W2, b2, X, Y)
                finally:
                    source.np = saved

            grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
            jstate = {"params": tuple(jnp.asarray(p) for p in params),
                      "m": tuple(jnp.zeros_like(jnp.asarray(p)) for p in params)}
            jX, jY = jnp.asarray(X), jnp.asarray(Y)

            def jax_run():  # plain SGD-with-momentum-like update: the gradient dominates
                _, grads = grad(*jstate["params"], jX, jY)
                jstate["params"] = tuple(p - 1e-3 * g for p, g in zip(jstate["params"], grads))
                jax.block_until_ready(jstate["params"])

            rows.append((f"JAX jit(value_and_grad) + SGD [{jax.devices()[0].platform}]",
                         jax_run))
    for label, run in rows:
        seconds = median_time(run, budget=budget, min_runs=2, max_runs=30)
        print(f"| {sizes} | {label} | {1e3 * seconds:.3f} |", flush=True)


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"\n({time.time() - started:.1f} s)")
