"""Reductions of device arrays over any set of axes: sum, max, min, prod, mean.

`reduce(x, axes, how)` is `np.<how>(x, axis=axes)` on the device.

* **Over some axes** a generated kernel gives each output element one thread,
  which combines its input elements in row-major order: the order depends on the
  shapes alone, so results are bitwise reproducible.
* **Over all axes** a tree: each block combines a fixed slice of the input
  (each thread a strided part of it, then a shared-memory tree), then the
  partial results are combined the same way until one is left.
* **Atomics** (`atomic=True`, sums only, opt-in): one thread per input element
  adds it into its output element with `cuda.atomic.add`. Faster where few
  outputs gather many inputs, but the order of the additions, hence the last
  bits of the result, varies from run to run.

max and min propagate NaN as NumPy does. Results are device arrays (0-d for a
reduction over all axes).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from adgen.errors import AdgenTypeError

HOW = ("sum", "max", "min", "prod", "mean")
TREE_THREADS = 256  # threads per block of the all-axes tree (a power of two)
TREE_CHUNK = 4096  # input elements per block of one round of the tree
_START = {"sum": "0", "prod": "1", "mean": "0"}  # max/min start from the first element
# `acc` combined with `v`; max/min keep a NaN once seen, and take one when it comes
_COMBINE = {"sum": "acc + v", "mean": "acc + v", "prod": "acc * v",
            "max": "v if (acc == acc and (v > acc or v != v)) else acc",
            "min": "v if (acc == acc and (v < acc or v != v)) else acc"}


def result_dtype(dtype, how: str):
    dtype = np.dtype(dtype)
    if how == "mean" or (dtype == np.bool_ and how in ("sum", "prod")):
        return np.dtype(np.float64) if how == "mean" else np.dtype(np.int64)
    return dtype


def _unravel(names: list[str], extents: list[str], flat: str, indent: str) -> list[str]:
    """Lines setting `names` (row-major) from the flat index `flat`."""
    if not names:
        return []
    lines, rest = [], flat
    for k in range(len(names) - 1, 0, -1):
        lines.append(f"{indent}{names[k]} = {rest} % {extents[k]}")
        lines.append(f"{indent}{rest}_{k} = {rest} // {extents[k]}")
        rest = f"{rest}_{k}"
    lines.append(f"{indent}{names[0]} = {rest}")
    return lines


def axes_kernel_text(ndim: int, axes: tuple, how: str, atomic: bool) -> str:
    """The kernel reducing `x` (rank `ndim`) over `axes` into the flat `out`."""
    kept = [a for a in range(ndim) if a not in axes]
    index = "[" + ", ".join(f"i{a}" for a in range(ndim)) + "]"
    out_at = " + ".join(
        f"i{a}" + "".join(f" * x.shape[{b}]" for b in kept[p + 1:]) for p, a in enumerate(kept)
    ) or "0"
    if atomic:
        every = list(range(ndim))
        lines = ["def kernel(x, out):",
                 "    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):"]
        lines += _unravel([f"i{a}" for a in every], [f"x.shape[{a}]" for a in every], "k",
                          "        ")
        lines.append(f"        cuda.atomic.add(out, {out_at}, x{index})")
        return "\n".join(lines) + "\n"
    lines = ["def kernel(x, count, out):",
             "    for k in range(cuda.grid(1), out.size, cuda.gridsize(1)):"]
    lines += _unravel([f"i{a}" for a in kept], [f"x.shape[{a}]" for a in kept], "k", "        ")
    reduced_names = [f"i{a}" for a in axes]
    reduced_extents = [f"x.shape[{a}]" for a in axes]
    if how in _START:
        lines.append(f"        acc = {_START[how]}")
        lines.append("        for j in range(count):")
    else:
        lines += [f"        {name} = 0" for name in reduced_names]
        lines.append(f"        acc = x{index}")
        lines.append("        for j in range(1, count):")
    lines += _unravel(reduced_names, reduced_extents, "j", "            ")
    lines.append(f"            v = x{index}")
    lines.append(f"            acc = {_COMBINE[how]}")
    lines.append("        out[k] = acc / count" if how == "mean" else "        out[k] = acc")
    return "\n".join(lines) + "\n"


def tree_kernel_text(how: str, threads: int) -> str:
    """One round of the all-axes tree: block b combines x[b*chunk:(b+1)*chunk]."""
    combine = _COMBINE["sum" if how == "mean" else how]
    first = "x[start + t] if start + t < stop else x[start]"
    start = _START.get(how)
    init = f"acc = {start}" if start is not None else f"acc = {first}"
    return f"""def kernel(x, chunk, out):
    buf = cuda.shared.array({threads}, numba.{'{dtype}'})
    t = cuda.threadIdx.x
    start = cuda.blockIdx.x * chunk
    stop = min(start + chunk, x.shape[0])
    {init}
    for e in range(start + t{'' if start is not None else f' + {threads}'}, stop, {threads}):
        v = x[e]
        acc = {combine}
    buf[t] = acc
    cuda.syncthreads()
    width = {threads // 2}
    while width > 0:
        if t < width:
            v = buf[t + width]
            acc = buf[t]
            buf[t] = {combine}
        cuda.syncthreads()
        width //= 2
    if t == 0:
        out[cuda.blockIdx.x] = buf[0]
"""


@functools.lru_cache(maxsize=None)
def _compile(text: str):
    from adgen.cuda.elementwise import compile_kernel

    return compile_kernel(text)


def _tree_threads() -> int:
    from adgen.cuda.launch import simulator

    return 8 if simulator() else TREE_THREADS


def _tree(x, how: str):
    """The reduction of all of `x`, a 0-d device array."""
    from numba import cuda

    from adgen.cuda.elementwise import cast, copy

    flat = x if x.is_c_contiguous() else copy(x)
    flat = flat.reshape(flat.size)
    dtype = result_dtype(x.dtype, how)
    if dtype != flat.dtype:
        flat = cast(flat, dtype)
    threads = _tree_threads()
    name = {np.dtype(np.float64): "float64", np.dtype(np.float32): "float32",
            np.dtype(np.int64): "int64"}[dtype]
    kernel = _compile(tree_kernel_text(how, threads).replace("{dtype}", name))
    count = flat.shape[0]
    while True:
        blocks = max(math.ceil(flat.shape[0] / TREE_CHUNK), 1)
        partial = cuda.device_array(blocks, dtype=dtype)
        kernel[blocks, threads](flat, TREE_CHUNK, partial)
        flat = partial
        if blocks == 1:
            break
    if how == "mean":
        from adgen.cuda.elementwise import Elementwise

        return Elementwise(_divide)(flat.reshape(()), float(count))
    return flat.reshape(())


def _divide(s, n):
    return s / n


def reduce(x, axes=None, how: str = "sum", keepdims: bool = False, atomic: bool = False):
    """`np.<how>(x, axis=axes, keepdims=keepdims)` of a device array (see the module's
    docstring); `axes` an int, a tuple of ints or None (all).

    Example:
        >>> from adgen.cuda.reduce import reduce          # doctest: +SKIP
        >>> reduce(cuda.to_device(np.ones((2, 3))), 1).copy_to_host()   # doctest: +SKIP
        array([3., 3.])
    """
    from numba import cuda

    if how not in HOW:
        raise ValueError(f"unknown reduction {how!r}; choose one of {HOW}")
    ndim = x.ndim
    if axes is None:
        axes = tuple(range(ndim))
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    try:
        axes = tuple(sorted({a % ndim if ndim else a for a in axes}))
    except ZeroDivisionError:
        axes = ()
    if any(not 0 <= a < max(ndim, 1) for a in axes):
        raise AdgenTypeError(f"reduction over axes {axes} of an array of rank {ndim}")
    shape = tuple(x.shape)
    kept_shape = tuple(s for a, s in enumerate(shape) if a not in axes)
    final_shape = tuple(1 if a in axes else s for a, s in enumerate(shape)) if keepdims \
        else kept_shape
    count = int(np.prod([shape[a] for a in axes])) if axes else 1
    if ndim == 0:
        return x
    if len(axes) == ndim and not atomic and count:
        out = _tree(x, how)
    else:
        dtype = result_dtype(x.dtype, how)
        if count == 0 and how in ("max", "min"):
            raise AdgenTypeError(f"{how} of an empty array (shape {shape})")
        from adgen.cuda.launch import array_launch

        size = int(np.prod(kept_shape)) if kept_shape else 1
        if atomic:
            if how != "sum":
                raise AdgenTypeError(f"atomic reductions are sums; {how} is order-independent, "
                                     "use atomic=False")
            from adgen.cuda.elementwise import full

            out = full(size, 0, dtype)
            kernel = _compile(axes_kernel_text(ndim, axes, how, True))
            if x.size:
                blocks, threads = array_launch(x.size, kernel)
                kernel[blocks, threads](x, out)
        else:
            out = cuda.device_array(size, dtype=dtype)
            kernel = _compile(axes_kernel_text(ndim, axes, how, False))
            blocks, threads = array_launch(size, kernel)
            kernel[blocks, threads](x, count, out)
    return out.reshape(final_shape)

