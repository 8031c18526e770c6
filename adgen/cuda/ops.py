"""The array operations of generated CUDA array programs (imported there as `_cu`).

`adgen.cuda.program` turns the generated NumPy source of a transform into a host
program over device arrays: element-wise expressions become fused kernels
(`_cu.elementwise`), and every other array operation one of the functions here,
each named after the NumPy function or the `adgen.codegen.support` helper it
replaces and computing the same thing on the device:

* `dot` (the tiled matmul of `adgen.cuda.arrays`; a `transpose` is not copied
  but read transposed by the matmul that consumes it);
* reductions (`total`, `reduce_axis`, `sum_like`, deterministic unless the
  program was generated with `atomics=True`) and their adjoints (`spread_axis`,
  `keep_axis`, `broadcast_like`);
* allocation (`empty`, `zeros`, `ones`, `full` and their `_like` forms), `copy`,
  `cast` and the reshapes.

Every function takes device arrays or host scalars (a NumPy array is copied to the
device first) and returns device arrays; a reduction to a scalar is a 0-d device
array, so nothing waits for the device until the caller reads a result.
"""

from __future__ import annotations

import numpy as np

from adgen.cuda.elementwise import (Elementwise, cast, compile_kernel, copy,  # noqa: F401
                                    elementwise, full, is_array, is_device_array, to_device)
# Host helpers that work on device arrays as they are: loop arithmetic, the schedule of
# checkpointed loops (memory_budget=), and the undo logs of arrays written in loops
# (each logged element is read from or written to the device one at a time: correct,
# but such loops are slow on the GPU).
from adgen.codegen.support import (checkpoint_below, log_len, log_new,  # noqa: F401
                                   log_undo_last, log_undo_to, log_write, revolve_split,
                                   trip_count)
from adgen.cuda.reduce import reduce
from adgen.errors import AdgenTypeError


class Transposed:
    """`transpose(a)` of a 2-d device array, not yet materialized: `dot` reads `a`
    with transposed indexing; anything else gets a transposed copy."""

    def __init__(self, base):
        self.base = base

    @property
    def shape(self):
        return tuple(reversed(self.base.shape))

    @property
    def ndim(self):
        return 2

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def size(self):
        return self.base.size

    def __getitem__(self, index):
        return self.materialize()[index]

    def materialize(self):
        return _transposed_copy(self)


def _transposed_copy(t: Transposed):
    """The transpose of `t.base` as a new device array (one read, one write per element)."""
    from adgen.cuda.launch import array_launch

    out = empty(t.shape, t.dtype)
    if out.size:
        kernel = _transpose_kernel()
        blocks, threads = array_launch(out.size, kernel)
        kernel[blocks, threads](t.base, out)
    return out


_KERNELS: dict = {}


_TRANSPOSE = """def kernel(a, out):
    for k in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[k // out.shape[1], k % out.shape[1]] = a[k % out.shape[1], k // out.shape[1]]
"""


def _transpose_kernel():
    if "transpose" not in _KERNELS:
        _KERNELS["transpose"] = compile_kernel(_TRANSPOSE)
    return _KERNELS["transpose"]


def array(x):
    """`x` as a device array: NumPy arrays copied to the device, transposes materialized."""
    return to_device(x)


def host(x):
    """A value for the host's control flow: a 0-d device array read back as a scalar."""
    if is_device_array(x):
        return x.copy_to_host()[()]
    return x


def setitem(a, index, value) -> None:
    """`a[index] = value` on the device: the element or slice is written by a kernel
    (an integer index becomes a slice of length one, so no value visits the host)."""
    if not isinstance(index, tuple):
        index = (index,)
    if not (is_array(value)) and \
            all(isinstance(i, (int, np.integer)) for i in index) and len(index) == a.ndim:
        a[index] = value  # one host scalar: one small copy
        return
    view = a[tuple(slice(i, i + 1 if i != -1 else None) if isinstance(i, (int, np.integer))
                   else i for i in index)]
    value = array(value) if is_array(value) else value
    if is_device_array(value) and value.ndim > view.ndim - _dropped(index):
        raise AdgenTypeError(f"cannot write an array of shape {tuple(value.shape)} into "
                             f"elements of shape {tuple(view.shape)}")
    if is_device_array(value) and value.ndim and _dropped(index):
        value = _reshaped(value, _keep_length_one(tuple(value.shape), index, view.ndim))
    copy(value, out=view)


def _dropped(index) -> int:
    return sum(isinstance(i, (int, np.integer)) for i in index)


def _keep_length_one(shape: tuple, index: tuple, ndim: int) -> tuple:
    """`shape`, a value's, with a 1 wherever `index` has an integer (aligned to the view)."""
    full_shape, rest = [], list(shape)
    padded = list(index) + [slice(None)] * (ndim - len(index))
    for i in padded:
        full_shape.append(1 if isinstance(i, (int, np.integer)) else None)
    for k in range(len(full_shape) - 1, -1, -1):
        if full_shape[k] is None:
            full_shape[k] = rest.pop() if rest else 1
    return tuple(full_shape)


def _shape(x) -> tuple:
    if is_array(x):
        return tuple(x.shape)
    return ()


# products ----------------------------------------------------------------------------------
def transpose(a):
    """np.transpose: lazy for 2-d arrays (see `Transposed`), the array itself for 1-d."""
    if isinstance(a, Transposed):
        return a.base
    a = to_device(a)
    if a.ndim < 2:
        return a
    if a.ndim > 2:
        raise AdgenTypeError(f"transpose of a rank-{a.ndim} array is not supported on the "
                             "CUDA array back end (rank 2 only)")
    return Transposed(a)


def _operand(x):
    """(2-d device array, transposed?) for the matmul kernel."""
    if isinstance(x, Transposed):
        return x.base, True
    return to_device(x), False


def dot(a, b):
    """np.dot of 1-d and 2-d device arrays (the tiled matmul of `adgen.cuda.arrays`)."""
    from adgen.cuda.arrays import matmul

    sa, sb = _shape(a), _shape(b)
    if len(sa) > 2 or len(sb) > 2 or not sa or not sb:
        raise AdgenTypeError(f"dot of arrays of shapes {sa} and {sb}: the CUDA array back end "
                             "multiplies 1-d and 2-d arrays")
    if len(sa) == 1 and len(sb) == 1:
        return reduce(_MULTIPLY(array(a), array(b)))
    A, trans_a = _operand(a) if len(sa) == 2 else (to_device(a).reshape(1, sa[0]), False)
    B, trans_b = _operand(b) if len(sb) == 2 else (to_device(b).reshape(sb[0], 1), False)
    out = matmul(A, B, trans_a=trans_a, trans_b=trans_b)
    if len(sa) == 1:
        return out.reshape(out.shape[1])
    if len(sb) == 1:
        return out.reshape(out.shape[0])
    return out


def _multiply(x, y):
    return x * y


_MULTIPLY = Elementwise(_multiply)


def outer(a, b):
    """np.outer of two 1-d device arrays."""
    a, b = array(a), array(b)
    return _MULTIPLY(a.reshape(a.size, 1), b.reshape(1, b.size))


# reductions and their adjoints ---------------------------------------------------------------
def total(x, how: str = "sum", atomic: bool = False):
    """np.sum(x) (or max, min, prod, mean): a 0-d device array."""
    if not (is_array(x)):
        return x
    return reduce(array(x), None, how, atomic=atomic)


def reduce_axis(x, axis, how, atomic: bool = False):
    """np.<how>(x, axis=axis)."""
    return reduce(array(x), axis, how, atomic=atomic)


def keep_axis(r, x, axis):
    """The reduction `r` of `x` along `axis`, that axis put back with size 1."""
    ndim = len(_shape(x))
    axis %= ndim
    shape = list(_shape(r))
    shape.insert(axis, 1)
    if not is_device_array(r):
        return full(tuple(shape), r, np.result_type(r))
    return _reshaped(r, tuple(shape))


def spread_axis(g, x, axis):
    """The cotangent `g` of a reduction of `x` along `axis` (None: all), repeated over
    that axis: an array of x's shape."""
    shape = _shape(x)
    g_shape = _shape(g)
    if axis is not None and len(g_shape) < len(shape):
        axis %= len(shape)
        kept = list(g_shape)
        kept.insert(axis, 1)
        g = _reshaped(array(g), tuple(kept))
    return copy(array(g) if is_array(g) else g, shape=shape,
                dtype=np.result_type(_dtype(g), np.float64))


def broadcast_like(v, like):
    """`v` broadcast to the shape of `like` (a new array)."""
    return copy(array(v) if _shape(v) else v, shape=_shape(like),
                dtype=np.result_type(_dtype(v), _dtype(like)))


def sum_like(g, like, atomic: bool = False):
    """`g` summed down to the shape of `like` (NumPy broadcasting, reversed)."""
    shape, g_shape = _shape(like), _shape(g)
    if not g_shape:
        return g
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + a for a, size in enumerate(shape)
                                      if size == 1 and g_shape[lead + a] != 1)
    if not axes:
        return g
    return _reshaped(reduce(array(g), axes, "sum", atomic=atomic), shape)


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


# shapes ----------------------------------------------------------------------------------------
def _reshaped(x, shape: tuple):
    x = array(x)
    if not x.is_c_contiguous():
        x = copy(x)
    return x.reshape(shape)


def reshape(x, shape):
    """np.reshape (a view of a contiguous array, else of a contiguous copy)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        shape = tuple(int(np.prod(_shape(x))) // max(known, 1) if s == -1 else s for s in shape)
    return _reshaped(x, shape)


def reshape_like(g, like):
    """`g` reshaped to the shape of `like`."""
    return _reshaped(g, _shape(like))


def expand_dims(x, axis):
    """np.expand_dims for one axis."""
    shape = list(_shape(x))
    axis = axis % (len(shape) + 1)
    shape.insert(axis, 1)
    return _reshaped(x, tuple(shape))


def _place_kernel(ndim: int, axis: int):
    """out[..., offset + i_axis, ...] = a[..., i_axis, ...] for every element of `a`."""
    key = ("place", ndim, axis)
    if key not in _KERNELS:
        from adgen.cuda.reduce import _unravel

        names = [f"i{a}" for a in range(ndim)]
        lines = ["def kernel(a, out, offset):",
                 "    for k in range(cuda.grid(1), a.size, cuda.gridsize(1)):"]
        lines += _unravel(names, [f"a.shape[{a}]" for a in range(ndim)], "k", "        ")
        target = ", ".join(f"offset + i{a}" if a == axis else f"i{a}" for a in range(ndim))
        lines.append(f"        out[{target}] = a[{', '.join(names)}]")
        _KERNELS[key] = compile_kernel("\n".join(lines) + "\n")
    return _KERNELS[key]


def concatenate(arrays, axis=0):
    """np.concatenate of device arrays along `axis`."""
    from adgen.cuda.launch import array_launch

    arrays = [array(a) for a in arrays]
    ndim = arrays[0].ndim
    axis %= ndim
    shape = list(arrays[0].shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = empty(tuple(shape), np.result_type(*[a.dtype for a in arrays]))
    kernel = _place_kernel(ndim, axis)
    offset = 0
    for a in arrays:
        if a.size:
            blocks, threads = array_launch(a.size, kernel)
            kernel[blocks, threads](a, out, offset)
        offset += a.shape[axis]
    return out


def stack(arrays, axis=0):
    """np.stack of device arrays along a new `axis`."""
    arrays = [array(a) for a in arrays]
    return concatenate([expand_dims(a, axis) for a in arrays], axis)


# allocation ------------------------------------------------------------------------------------
def empty(shape, dtype=np.float64):
    """np.empty on the device."""
    from numba import cuda

    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return cuda.device_array(shape, dtype=dtype)


def zeros(shape, dtype=np.float64):
    """np.zeros on the device."""
    return full(shape, 0, dtype)


def ones(shape, dtype=np.float64):
    """np.ones on the device."""
    return full(shape, 1, dtype)


def empty_like(x, dtype=None):
    return empty(_shape(x), dtype or _dtype(x))


def zeros_like(x, dtype=None):
    return full(_shape(x), 0, dtype or _dtype(x))


def ones_like(x, dtype=None):
    return full(_shape(x), 1, dtype or _dtype(x))


def full_like(x, value, dtype=None):
    return full(_shape(x), value, dtype or _dtype(x))


def copy_of(x):
    """`x.copy()`: a new device array (a host scalar as it is)."""
    if isinstance(x, Transposed):
        return x.materialize()
    if is_array(x):
        return copy(to_device(x))
    return x


def astype(x, dtype):
    """`x.astype(dtype)` of a device array or a host scalar."""
    if is_array(x):
        return cast(array(x), dtype)
    return np.dtype(dtype).type(x)
