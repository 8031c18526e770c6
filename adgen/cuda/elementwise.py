"""Fused element-wise kernels with NumPy broadcasting, generated from a scalar function.

`elementwise(fn)` wraps a scalar Python function (`def e(H, g): return (1.0 - H * H) * g`);
calling the wrapper with device arrays (NumPy arrays are copied to the device, scalars
passed as they are) launches one kernel that evaluates `fn` once per element of the
broadcast shape: one read of each input element, one write of each output, whatever
the number of operations in `fn`. Called with no array, it is `fn` itself.

The kernel is generated for the output's rank, which argument is an array and which
of its axes are broadcast (size 1 or missing), and cached on those; its text, for the
rank-2 case with one broadcast row vector:

    def kernel(out0, a0, a1):
        for k in range(cuda.grid(1), out0.size, cuda.gridsize(1)):
            i1 = k % out0.shape[1]
            i0 = k // out0.shape[1]
            out0[i0, i1] = fn(a0[i0, i1], a1[i1])

A function returning a tuple writes one output array per element. Output dtypes are
those `fn` returns for the inputs' dtypes (found by calling it once on the host).
"""

from __future__ import annotations

import numpy as np

from adgen.errors import AdgenTypeError


def is_device_array(x) -> bool:
    return hasattr(x, "__cuda_array_interface__") or getattr(x, "__cuda_ndarray__", False)


def is_array(x) -> bool:
    """A NumPy or device array, or a lazy device array (`adgen.cuda.ops.Transposed`)."""
    return isinstance(x, np.ndarray) or is_device_array(x) or hasattr(x, "materialize")


def to_device(x):
    """`x` on the device: NumPy arrays are copied there, lazy arrays materialized, device
    arrays returned as they are."""
    from numba import cuda

    if hasattr(x, "materialize"):
        return x.materialize()
    if isinstance(x, np.ndarray):
        return cuda.to_device(np.require(x, requirements="C"))  # keeps 0-d arrays 0-d
    return x


def _sample(dtype):
    return np.dtype(dtype).type(True if np.dtype(dtype) == np.bool_ else 0.5)


def _index(pattern, ndim: int) -> str:
    """`[i0, i1]` for an argument whose axes (aligned to the right of the output's) are
    `pattern` (True where broadcast)."""
    offset = ndim - len(pattern)
    return "[" + ", ".join("0" if broadcast else f"i{offset + axis}"
                           for axis, broadcast in enumerate(pattern)) + "]"


def kernel_text(ndim: int, patterns: tuple, n_out: int) -> str:
    """The kernel's source (see the module's docstring); `patterns[j]` is None for a
    scalar argument."""
    outs = [f"out{k}" for k in range(n_out)]
    args = [f"a{j}" for j in range(len(patterns))]
    lines = [f"def kernel({', '.join(outs + args)}):",
             "    for k in range(cuda.grid(1), out0.size, cuda.gridsize(1)):"]
    rest = "k"
    for axis in range(ndim - 1, 0, -1):
        lines.append(f"        i{axis} = {rest} % out0.shape[{axis}]")
        lines.append(f"        r{axis} = {rest} // out0.shape[{axis}]")
        rest = f"r{axis}"
    lines.append(f"        i0 = {rest}")
    reads = [name if pattern is None else name + _index(pattern, ndim)
             for name, pattern in zip(args, patterns)]
    where = "[" + ", ".join(f"i{axis}" for axis in range(ndim)) + "]"
    call = f"fn({', '.join(reads)})"
    if n_out == 1:
        lines.append(f"        out0{where} = {call}")
    else:
        lines.append(f"        result = {call}")
        lines += [f"        out{k}{where} = result[{k}]" for k in range(n_out)]
    return "\n".join(lines) + "\n"


class Elementwise:
    """A scalar function applied element-wise on the device (see the module's docstring).

    Example:
        >>> import numpy as np
        >>> from adgen.cuda.elementwise import elementwise
        >>> @elementwise
        ... def tanh_bar(H, g):
        ...     return (1.0 - H * H) * g
        >>> tanh_bar(0.5, 2.0)                      # no array: the function itself
        1.5
        >>> tanh_bar(np.ones((2, 3)), np.arange(3.0)).copy_to_host()   # doctest: +SKIP
        array([[0., 0., 0.],
               [0., 0., 0.]])
    """

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.kernels: dict = {}
        self._device_fn = None

    def __repr__(self) -> str:
        return f"<adgen.cuda elementwise {self.fn.__name__}>"

    def __call__(self, *args, shape=None, dtype=None, out=None):
        """`fn` of every element of the broadcast arguments; `shape` forces the result's
        shape (the arguments must broadcast to it), `dtype` the (single) output's dtype;
        `out`, a device array (a view is fine), receives the (single) result."""
        if out is not None:
            shape, dtype = tuple(out.shape), out.dtype
        if shape is None and not any(is_array(a) for a in args):
            return self.fn(*args)
        from adgen.cuda.launch import array_launch
        from numba import cuda

        args = [to_device(a) for a in args]
        shapes = [tuple(a.shape) for a in args if is_device_array(a)]
        try:
            out_shape = np.broadcast_shapes(*shapes, *([] if shape is None else [shape]))
        except ValueError as exc:
            raise AdgenTypeError(f"{self.fn.__name__}: arrays of shapes {shapes} do not "
                                 "broadcast" + ("" if shape is None else f" to {shape}")) from exc
        if shape is not None and out_shape != tuple(shape):
            raise AdgenTypeError(f"{self.fn.__name__}: arrays of shapes {shapes} do not "
                                 f"broadcast to {shape}")
        shape = out_shape
        dtypes = [np.dtype(dtype)] if dtype is not None else self.result_dtypes(args)
        ndim = max(len(shape), 1)  # a 0-d result is computed as shape (1,)
        flat_shape = shape if shape else (1,)
        patterns, passed = [], []
        for a in args:
            if not is_device_array(a):
                patterns.append(None)
                passed.append(a)
                continue
            a_shape = tuple(a.shape) if a.shape else (1,)
            if not a.shape:
                a = a.reshape(1)
            offset = ndim - len(a_shape)
            patterns.append(tuple(size == 1 and flat_shape[offset + axis] != 1
                                  for axis, size in enumerate(a_shape)))
            passed.append(a)
        if out is not None:
            outs = [out if shape else out.reshape(1)]
        else:
            outs = [cuda.device_array(flat_shape, dtype=d) for d in dtypes]
        kernel = self.kernel(ndim, tuple(patterns), len(outs))
        size = int(np.prod(flat_shape))
        if size:
            blocks, threads = array_launch(size, kernel)
            kernel[blocks, threads](*outs, *passed)
        if not shape:
            outs = [o.reshape(()) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def result_dtypes(self, args) -> list:
        """The dtypes `fn` returns for one element of each argument."""
        samples = [_sample(a.dtype) if is_device_array(a) else a for a in args]
        with np.errstate(all="ignore"):
            result = self.fn(*samples)
        values = result if isinstance(result, tuple) else (result,)
        return [np.result_type(v) if not isinstance(v, float) else np.dtype(np.float64)
                for v in values]

    @property
    def device_fn(self):
        if self._device_fn is None:
            from numba import cuda

            self._device_fn = cuda.jit(device=True)(self.fn)
        return self._device_fn

    def kernel(self, ndim: int, patterns: tuple, n_out: int):
        key = (ndim, patterns, n_out)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = compile_kernel(kernel_text(ndim, patterns, n_out),
                                                        fn=self.device_fn)
        return kernel


def compile_kernel(text: str, **names):
    """`cuda.jit` of the function `kernel` defined by `text`, whose globals are `cuda`,
    `numba` and `names` (module globals, which the CUDA simulator needs to swap `cuda`)."""
    import numba
    from numba import cuda

    namespace = {"cuda": cuda, "numba": numba, **names}
    exec(compile(text, "<adgen.cuda generated kernel>", "exec"), namespace)
    return cuda.jit(namespace["kernel"])


def elementwise(fn) -> Elementwise:
    """Decorator: `fn`, a scalar function, applied element-wise on the device with
    NumPy broadcasting (see `Elementwise`)."""
    return Elementwise(fn)


def _same(v):
    return v


def _to_float(v):
    return float(v)


def _to_int(v):
    return int(v)


def _to_bool(v):
    return bool(v)


copy = Elementwise(_same)
"""A contiguous copy of a device array; `copy(value, shape=s, dtype=d)` fills an array."""
CASTS = {np.dtype(np.float64): Elementwise(_to_float), np.dtype(np.int64): Elementwise(_to_int),
         np.dtype(np.bool_): Elementwise(_to_bool)}


def cast(x, dtype):
    """`x.astype(dtype)` on the device (float64, int64 or bool)."""
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return copy(x)
    if dtype not in CASTS:
        raise AdgenTypeError(f"no cast to {dtype} on the device; float64, int64 or bool")
    return CASTS[dtype](x)


def full(shape, value, dtype=np.float64):
    """`np.full(shape, value, dtype)` on the device."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return copy(value, shape=shape, dtype=dtype)
