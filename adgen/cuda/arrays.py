"""Array kernels the runtime needs on the GPU: dense layers and their adjoints.

* `matmul(A, B, trans_a, trans_b)`: C = op(A) @ op(B), a tiled shared-memory kernel
  (one TILE x TILE block of threads per TILE x TILE block of C; each thread sums its
  element's products over the tiles in a fixed order).
* `matmul_vjp(A, B, dC)`: the adjoints of C = A @ B, dA = dC @ B.T and dB = A.T @ dC,
  by the same kernel with transposed indexing (no transposed copies).
* `sum_rows(G)`: G summed over axis 0 (the adjoint of a bias broadcast over rows),
  and `total(x)`, the sum of all elements: `adgen.cuda.reduce` (one thread per
  output adding its inputs in order; a fixed shared-memory tree over all axes).
* `add_rows(Z, b)`, `axpy(a, x, y)` (y += a x: the SGD step, in place).
* `elementwise(transform, *arrays)`: a generated per-sample kernel (`adgen.vmap`)
  applied to every element of same-shaped arrays of any rank: the element-wise
  derivative kernels of the primitives and activations, generated, not written.

Determinism: every kernel here fixes its order of summation by the shapes alone
(never by the device, the launch configuration or timing), and none uses
atomics, so results are bitwise reproducible run to run and device to device.

All functions take and return device arrays (NumPy arrays are copied to the
device first). Importing this module imports numba.cuda.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float64  # a module global: the simulator swaps `cuda` in kernels

TILE = 16  # threads per block side of the matmul kernel on a GPU (TILE * TILE threads)


def _device(x):
    return cuda.to_device(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x


def _tile() -> int:
    from adgen.cuda.launch import simulator

    return 4 if simulator() else TILE


@functools.lru_cache(maxsize=None)
def _matmul_kernel(tile: int, trans_a: bool, trans_b: bool):
    """C[m, n] = sum_k op(A)[m, k] op(B)[k, n], op = transpose where asked."""
    @cuda.jit
    def kernel(A, B, C):
        sa = cuda.shared.array((tile, tile), float64)
        sb = cuda.shared.array((tile, tile), float64)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row = cuda.blockIdx.y * tile + ty
        col = cuda.blockIdx.x * tile + tx
        m = C.shape[0]
        n = C.shape[1]
        depth = A.shape[0] if trans_a else A.shape[1]
        acc = 0.0
        for t in range((depth + tile - 1) // tile):
            k_a = t * tile + tx
            if row < m and k_a < depth:
                sa[ty, tx] = A[k_a, row] if trans_a else A[row, k_a]
            else:
                sa[ty, tx] = 0.0
            k_b = t * tile + ty
            if col < n and k_b < depth:
                sb[ty, tx] = B[col, k_b] if trans_b else B[k_b, col]
            else:
                sb[ty, tx] = 0.0
            cuda.syncthreads()
            for k in range(tile):
                acc += sa[ty, k] * sb[k, tx]
            cuda.syncthreads()
        if row < m and col < n:
            C[row, col] = acc

    return kernel


def matmul(A, B, trans_a: bool = False, trans_b: bool = False, out=None):
    """op(A) @ op(B) on the device (op transposes where `trans_a` / `trans_b`).

    Example:
        >>> import numpy as np
        >>> from adgen.cuda.arrays import matmul           # doctest: +SKIP
        >>> matmul(np.eye(2), np.ones((2, 3))).copy_to_host()  # doctest: +SKIP
        array([[1., 1., 1.],
               [1., 1., 1.]])
    """
    A, B = _device(A), _device(B)
    m = A.shape[1] if trans_a else A.shape[0]
    ka = A.shape[0] if trans_a else A.shape[1]
    kb = B.shape[1] if trans_b else B.shape[0]
    n = B.shape[0] if trans_b else B.shape[1]
    if ka != kb:
        from adgen.errors import AdgenTypeError

        raise AdgenTypeError(f"matmul: inner dimensions differ ({ka} and {kb})")
    if out is None:
        out = cuda.device_array((m, n), dtype=np.float64)
    tile = _tile()
    grid = (max(math.ceil(n / tile), 1), max(math.ceil(m / tile), 1))
    _matmul_kernel(tile, bool(trans_a), bool(trans_b))[grid, (tile, tile)](A, B, out)
    return out


def matmul_vjp(A, B, dC):
    """(dA, dB) = (dC @ B.T, A.T @ dC): the adjoints of C = A @ B."""
    return matmul(dC, B, trans_b=True), matmul(A, dC, trans_a=True)


@functools.lru_cache(maxsize=None)
def _kernels():
    @cuda.jit
    def add_rows_kernel(Z, b):
        for e in range(cuda.grid(1), Z.shape[0] * Z.shape[1], cuda.gridsize(1)):
            j = e % Z.shape[1]
            Z[e // Z.shape[1], j] += b[j]

    @cuda.jit
    def axpy_kernel(a, x, y):
        for e in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
            y[e] += a * x[e]

    return add_rows_kernel, axpy_kernel


def _grid(n, threads=128):
    from adgen.cuda.launch import launch_config

    return launch_config(n, threads_per_block=threads if n >= threads else max(n, 1))


def sum_rows(G):
    """G.sum(axis=0) of a 2-d device array (rows added in order)."""
    from adgen.cuda.reduce import reduce

    return reduce(_device(G), 0)


def add_rows(Z, b):
    """Z[i, :] += b for every row, in place; Z."""
    blocks, threads = _grid(Z.shape[0] * Z.shape[1])
    _kernels()[0][blocks, threads](Z, _device(b))
    return Z


def axpy(a: float, x, y):
    """y += a * x in place (1-d or any contiguous shape, flattened); y."""
    xf, yf = _device(x).reshape(-1), y.reshape(-1)
    blocks, threads = _grid(yf.shape[0])
    _kernels()[1][blocks, threads](float(a), xf, yf)
    return y


def total(x) -> float:
    """The sum of all elements of `x`, deterministic (see the module's docstring)."""
    from adgen.cuda.reduce import reduce

    return float(reduce(_device(x)).copy_to_host())


def elementwise(transformed, *arrays, backend: str = "cuda"):
    """`transformed` (a transform of a scalar function) applied to every element of
    same-shaped arrays (scalars are broadcast), by a generated per-sample kernel; the
    outputs keep the arrays' shape (device arrays if an input is one, else NumPy).

    Example:
        >>> # dtanh = elementwise(adgen.vjp(math.tanh), Z, dA)  -> (tanh Z, dA * tanh'(Z))
    """
    from adgen.cuda.elementwise import is_device_array as _is_device_array
    from adgen.cuda.vmap import Vmapped

    shapes = {tuple(a.shape) for a in arrays if isinstance(a, np.ndarray)
              or _is_device_array(a)}
    if len(shapes) != 1:
        from adgen.errors import AdgenTypeError

        raise AdgenTypeError(f"elementwise needs arrays of one shape, got {sorted(shapes)}")
    (shape,) = shapes
    axes = tuple(0 if (isinstance(a, np.ndarray) or _is_device_array(a)) else None
                 for a in arrays)
    flat = [a.reshape(-1) if axis == 0 else a for a, axis in zip(arrays, axes)]
    key = (axes, backend)
    cache = transformed.__dict__.setdefault("_adgen_elementwise", {})
    mapped = cache.get(key)
    if mapped is None:
        mapped = cache[key] = Vmapped(transformed, in_axes=axes, backend=backend)
    out = mapped(*flat)

    def shaped(value):
        if isinstance(value, tuple):
            return tuple(shaped(v) for v in value)
        return value.reshape(shape)

    return shaped(out)
