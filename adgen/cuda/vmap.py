"""`adgen.vmap`: a transform evaluated for every sample of a batch, one thread each.

`vmap(adgen.grad(f), in_axes=(0, 0, None))(r, x0, n)` calls the generated
gradient once per sample `i` with `(r[i], x0[i], n)` and returns one array per
output, as `jax.vmap(jax.grad(f), in_axes=(0, 0, None))` does. Backend "cuda"
runs one GPU thread per sample (`adgen.cuda.kernels`), "numba" a parallel CPU
loop over the same generated code, "python" a plain loop (the reference).
"""

from __future__ import annotations

import functools
import math
import re
import threading

import numpy as np

from adgen.cuda.elementwise import is_device_array as _is_device_array
from adgen.errors import AdgenTypeError

VMAP_BACKENDS = ("cuda", "numba", "python")
_EXTRA = {"jvp": "tangent", "hvp": "tangent", "vjp": "cotangent"}


def _per_sample_dtype(dtype, name):
    """The dtype a batched argument is passed with (and checked for)."""
    dtype = np.dtype(dtype)
    if dtype in (np.float64, np.float32, np.int64, np.bool_):
        return dtype
    if dtype.kind in "iu":
        return np.dtype(np.int64)
    if dtype.kind == "f":
        return np.dtype(np.float64)
    raise AdgenTypeError(f"argument {name!r} is an array of {dtype}; vmap takes float64, "
                         "float32, int64 or bool samples", name)


def _literal(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "math.nan" if value != value else ("math.inf" if value > 0 else "-math.inf")
    return repr(value)


class _Plan:
    """A compiled per-sample kernel and how its outputs make the result."""

    def __init__(self, kernel, function, source, out_dtypes, assemble):
        self.kernel = kernel
        self.function = function
        self.source = source
        self.out_dtypes = out_dtypes
        self.assemble = assemble


class Vmapped:
    """A transform mapped over a batch (see `vmap`).

    `source(*args)` is the text of the generated kernel module for those arguments.
    """

    def __init__(self, transformed, in_axes=0, out_axes=0, backend="cuda",
                 threads_per_block=None, blocks=None):
        from adgen.api import Transformed, jit

        if backend not in VMAP_BACKENDS:
            raise ValueError(f"unknown vmap backend {backend!r}; choose one of "
                             f"{VMAP_BACKENDS}")
        if not isinstance(transformed, Transformed):
            if not callable(transformed):
                raise TypeError(f"vmap needs a function or an adgen transform, not "
                                f"{type(transformed).__name__}")
            transformed = jit(transformed)
        if out_axes != 0:
            raise AdgenTypeError(f"out_axes={out_axes!r}: vmap stacks every output along "
                                 "axis 0 (out_axes=0)")
        if isinstance(in_axes, list):
            in_axes = tuple(in_axes)
        for axis in (in_axes if isinstance(in_axes, tuple) else (in_axes,)):
            if axis not in (0, None) or isinstance(axis, bool):
                raise AdgenTypeError(f"in_axes entries must be 0 (batched) or None "
                                     f"(broadcast), got {axis!r}: each sample is a scalar")
        self.transformed = transformed
        self.in_axes = in_axes
        self.backend = backend
        self.threads_per_block = threads_per_block
        self.blocks = blocks
        self.plans: dict = {}
        self.lock = threading.Lock()
        functools.update_wrapper(self, transformed, updated=())

    def __repr__(self):
        return (f"<adgen.vmap of {self.transformed!r} in_axes={self.in_axes!r} "
                f"backend={self.backend!r}>")

    # arguments ----------------------------------------------------------------------------
    def _axes(self, n_args):
        if isinstance(self.in_axes, tuple):
            if len(self.in_axes) != n_args:
                raise AdgenTypeError(f"in_axes has {len(self.in_axes)} entries for "
                                     f"{n_args} arguments; give one per argument (0 or None)")
            return list(self.in_axes)
        return [self.in_axes] * n_args

    def _split(self, args):
        """(call arguments as the generated function takes them, their names, axes,
        number of primal arguments)."""
        t = self.transformed
        axes = self._axes(len(args))
        extra = {"jvp": len(t.argnums), "hvp": len(t.argnums), "vjp": 1}.get(t.kind, 0)
        n_primal = len(args) - extra
        if n_primal < 0:
            raise AdgenTypeError(f"{t.kind} needs {extra} extra argument(s) after the primal "
                                 "ones")
        try:
            primal = t.bind(list(args[:n_primal]), {})
        except TypeError as error:
            raise AdgenTypeError(f"{t.__name__}: {error}") from None
        defaults = len(primal) - n_primal  # broadcast
        axes = axes[:n_primal] + [None] * defaults + axes[n_primal:]
        names = list(t._signature.parameters)
        if extra:
            suffix = "_bar" if t.kind == "vjp" else "_dot"
            names += (["cotangent"] if t.kind == "vjp" else
                      [names[i] + suffix for i in t.argnums])
        return primal + list(args[n_primal:]), names, axes, len(primal)

    def _classify(self, values, names, axes, n_primal):
        """(per-sample example values, batch size, whether any input is on the device)."""
        t = self.transformed
        examples, n, on_device = [], None, False
        for k, (value, name, axis) in enumerate(zip(values, names, axes)):
            if axis is None:
                if isinstance(value, np.ndarray) or _is_device_array(value):
                    raise AdgenTypeError(f"argument {name!r} is an array with in_axes=None; "
                                         "vmap's samples are scalars: batch it (in_axes=0) "
                                         "as a 1-d array of samples", name)
                if k >= n_primal and isinstance(value, (tuple, list)):
                    raise AdgenTypeError(f"{name} is a {type(value).__name__}; vmap takes one "
                                         "scalar cotangent per sample", name)
                examples.append(value)
                continue
            if k < n_primal and k in t.static:
                raise AdgenTypeError(f"argument {name!r} is static (static_argnums) and "
                                     "cannot be batched; give it in_axes=None", name)
            device = _is_device_array(value)
            if not device and not isinstance(value, np.ndarray):
                if isinstance(value, (list, tuple)):
                    value = np.asarray(value)
                else:
                    raise AdgenTypeError(f"argument {name!r} has in_axes=0 but is a "
                                         f"{type(value).__name__}; pass a 1-d array of "
                                         "samples, or give it in_axes=None", name)
            shape = tuple(value.shape)
            if len(shape) != 1:
                raise AdgenTypeError(f"argument {name!r} has shape {shape}; vmap takes a 1-d "
                                     "array of scalar samples", name)
            if n is not None and shape[0] != n:
                raise AdgenTypeError(f"mismatched batch sizes: argument {name!r} has "
                                     f"{shape[0]} samples, the arguments before it {n}", name)
            n = shape[0]
            on_device |= device
            dtype = _per_sample_dtype(value.dtype, name)
            if device and dtype != np.dtype(value.dtype):
                raise AdgenTypeError(f"device array {name!r} has dtype {value.dtype}; pass "
                                     "float64, float32, int64 or bool", name)
            if k >= n_primal and dtype.kind != "f":
                raise AdgenTypeError(f"{name} has dtype {dtype}; expected floats", name)
            examples.append(dtype.type(0))
        if n is None:
            raise AdgenTypeError("vmap needs at least one batched argument (in_axes=0)")
        return examples, n, on_device

    # compiling ----------------------------------------------------------------------------
    def _types(self, examples, n_primal):
        t = self.transformed
        return t.arg_types(examples[:n_primal])

    def _plan(self, types, names, axes, examples, n_primal) -> _Plan:
        static_values = {k: types[k].value for k in range(n_primal)
                         if type(types[k]).__name__ == "Static"}
        extra_types = tuple(np.dtype(type(e)).str if axes[k] == 0 else type(e).__name__
                            for k, e in enumerate(examples) if k >= n_primal)
        key = (types, tuple(axes), extra_types)
        with self.lock:
            plan = self.plans.get(key)
            if plan is None:
                plan = self.plans[key] = self._build(types, names, axes, n_primal,
                                                     static_values)
            return plan

    def _build(self, types, names, axes, n_primal, static_values) -> _Plan:
        from adgen.cuda.kernels import Call, per_sample_module
        from adgen.ir.types import NUMPY_DTYPES

        t = self.transformed
        compiled = t.compile(types)
        ir = compiled.ir
        fname = f"{t.python_function.__name__}_{t.kind}"
        params = [p.name for p in ir.params]
        kernel_params, exprs = [], []
        k_args = len(t.argnums) if t.kind == "hessian" else 0
        for k, pname in enumerate(params[:len(params) - k_args]):
            if k in static_values:
                exprs.append(_literal(static_values[k]))
            elif axes[k] == 0:
                kernel_params.append(pname)
                exprs.append(f"{pname}[i]")
            else:
                kernel_params.append(pname)
                exprs.append(pname)
        returns = ir.returns
        taken = set(params)

        def out_name(base):
            candidate = re.sub(r"(_\d+)+$", "", base) + "_out"
            while candidate in taken:
                candidate += "_"
            taken.add(candidate)
            return candidate

        k = len(t.argnums)
        n_res = len(returns)
        if t.kind == "hessian":
            calls, slots = [], []
            for j in range(k):
                seeds = ["1.0" if m == j else "0.0" for m in range(k)]
                call = Call(exprs + seeds)
                for i in range(k):
                    call.outputs.append((k + i, out_name(f"h_{i}_{j}")))
                    slots.append((k + i, (i, j)))
                calls.append(call)
        else:
            wanted = list(range(k, n_res)) if t.kind == "hvp" else list(range(n_res))
            call = Call(exprs, [(r, out_name(returns[r].name)) for r in wanted])
            calls = [call]
        outputs = [(r, o) for c in calls for r, o in c.outputs]
        for _, o in outputs:
            kernel_params.append(o)
        out_dtypes = [np.dtype(NUMPY_DTYPES[returns[r].type.name]) if hasattr(
            returns[r].type, "name") else np.dtype(np.float64) for r, _ in outputs]
        tuple_result = bool(ir.tuple_return or n_res != 1)
        from adgen.cuda.device import transform_hint

        hint = transform_hint(t, vmapped=True)
        description = f"vmap in_axes={tuple(axes)!r}"
        source, kernel, function = per_sample_module(
            compiled.source, fname, kernel_params, calls, tuple_result, self.backend,
            description, static_hint=hint)
        assemble = _assembler(t, compiled, len(outputs))
        return _Plan(kernel, function, source, out_dtypes, assemble)

    # calling ------------------------------------------------------------------------------
    def source(self, *args) -> str:
        """The generated module (device function and kernel) for these arguments."""
        values, names, axes, n_primal = self._split(args)
        examples, _, _ = self._classify(values, names, axes, n_primal)
        types = self._types(examples, n_primal)
        return self._plan(types, names, axes, examples, n_primal).source

    def __call__(self, *args):
        values, names, axes, n_primal = self._split(args)
        examples, n, on_device = self._classify(values, names, axes, n_primal)
        types = self._types(examples, n_primal)
        plan = self._plan(types, names, axes, examples, n_primal)
        static = {k for k in range(n_primal) if type(types[k]).__name__ == "Static"}
        inputs = []
        for k, (value, axis, example) in enumerate(zip(values, axes, examples)):
            if k in static:
                continue
            if axis == 0:
                if not _is_device_array(value):
                    value = np.ascontiguousarray(value, dtype=np.dtype(type(example)))
                inputs.append(value)
            elif isinstance(example, (bool, np.bool_)):
                inputs.append(np.bool_(example))
            elif k >= n_primal:
                inputs.append(np.float64(value))
            else:
                inputs.append(value)
        if self.backend == "cuda":
            outs = self._launch_cuda(plan, inputs, n, on_device)
        else:
            outs = self._run_cpu(plan, inputs, n)
        return plan.assemble(outs)

    def _launch_cuda(self, plan, inputs, n, on_device):
        from numba import cuda

        from adgen.cuda.launch import launch_config

        args = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in inputs]
        outs = [cuda.device_array(n, dtype=d) for d in plan.out_dtypes]
        if n:
            blocks, threads = launch_config(n, plan.kernel, args + outs,
                                            self.threads_per_block, self.blocks)
            plan.kernel[blocks, threads](*args, *outs)
        if on_device:
            return outs
        return [o.copy_to_host() for o in outs]

    def _run_cpu(self, plan, inputs, n):
        args = [a.copy_to_host() if _is_device_array(a) else a for a in inputs]
        outs = [np.empty(n, dtype=d) for d in plan.out_dtypes]
        if self.backend == "python":
            args = [np.float64(a) if type(a) is float else a for a in args]
            with np.errstate(all="ignore"):
                plan.kernel(*args, *outs)
        elif n:
            plan.kernel(*args, *outs)
        return outs


def _assembler(t, compiled, n_outputs):
    """outputs (one array per kernel output, in order) -> the transform's result shape."""
    k = len(t.argnums)
    ir = compiled.ir
    n_res = len(ir.returns)

    def pick(grads):
        grads = tuple(grads)
        return grads[0] if t.single else grads

    def assemble(outs):
        outs = list(outs)
        if t.kind in ("call", "grad"):
            return tuple(outs) if (ir.tuple_return or n_res != 1) else outs[0]
        if t.kind == "value_and_grad":
            return outs[0], pick(outs[1:])
        if t.kind == "jvp":
            half = len(outs) // 2
            if compiled.base_tuple:
                return tuple(outs[:half]), tuple(outs[half:])
            return outs[0], outs[1]
        if t.kind == "vjp":
            n_out = n_res - k
            values = tuple(outs[:n_out])
            return (values if compiled.base_tuple else values[0]), pick(outs[n_out:])
        if t.kind == "hvp":
            return pick(outs)
        # hessian: outputs ordered by column j, then row i
        blocks = [[None] * k for _ in range(k)]
        for index, out in enumerate(outs):
            j, i = divmod(index, k)
            blocks[i][j] = out
        if t.single:
            return blocks[0][0]
        return tuple(tuple(row) for row in blocks)

    return assemble


def vmap(fn, in_axes=0, out_axes=0, backend="cuda", threads_per_block=None, blocks=None):
    """Map an adgen transform over a batch of scalar samples (as `jax.vmap`).

    `fn` is a transform (`adgen.grad`, `value_and_grad`, `jvp`, `vjp`, `hvp`,
    `hessian`, `jit`) or a plain function (mapped as `adgen.jit(fn)`). `in_axes`
    gives, for every argument of the call (tangents and cotangents included), 0
    (a 1-d array, one sample per entry) or None (one scalar shared by all samples);
    a single 0 or None applies to all. Every output is stacked along axis 0.

    Backends: "cuda" evaluates the generated derivative code in one GPU thread per
    sample (a grid-stride loop; `threads_per_block` / `blocks` override the
    automatic launch configuration); NumPy inputs are copied to the device and the
    results copied back, device arrays stay on the device and the results are
    device arrays. "numba" runs the same code in a parallel CPU loop, "python"
    in a plain Python loop.

    Loops in the function need static trip counts on the GPU (their tapes live in
    thread-local arrays sized at compile time): pass the count with in_axes=None
    and name it in the transform's `static_argnums`.

    Example:
        >>> import numpy as np, adgen
        >>> def logistic(r, x0, n):
        ...     x = x0
        ...     for i in range(n):
        ...         x = r * x * (1.0 - x)
        ...     return x
        >>> g = adgen.grad(logistic, argnums=(0, 1), static_argnums=2)
        >>> r, x0 = np.full(8, 3.7), np.linspace(0.1, 0.9, 8)
        >>> dr, dx0 = adgen.vmap(g, in_axes=(0, 0, None))(r, x0, 10)  # doctest: +SKIP
        >>> dr.shape  # doctest: +SKIP
        (8,)
    """
    return Vmapped(fn, in_axes, out_axes, backend, threads_per_block, blocks)
