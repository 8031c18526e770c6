"""`device_function`: a transform's generated code as a numba.cuda device function."""

from __future__ import annotations

from adgen.errors import AdgenTypeError


def device_function(transformed, *example_args):
    """The generated code of `transformed` for the types of `example_args`, as a
    `numba.cuda.jit(device=True)` function that a user's own kernel calls.

    It takes the arguments the generated function takes (the transform's
    arguments, then the tangents of a `jvp`/`hvp` or the cotangent of a `vjp`;
    a `hessian`'s generated function takes one seed per argnum and returns the
    gradient then H @ seed) and returns them flat: the gradients of
    `grad(f, argnums=(0, 1))` as a tuple, `value_and_grad` as (value, *grads),
    `jvp` as (*values, *tangents). Static arguments (`static_argnums`) are
    compiled in: their example value is used whatever the kernel passes. The
    loops' tapes are thread-local arrays sized at compile time, so every loop
    that needs one must have a static trip count (an `AdgenTypeError` names the
    loop otherwise). `.adgen_source` holds the generated module's text.

    Example:
        >>> import adgen
        >>> from adgen.cuda import device_function
        >>> from numba import cuda          # doctest: +SKIP
        >>> def logistic(r, x0, n):
        ...     x = x0
        ...     for i in range(n):
        ...         x = r * x * (1.0 - x)
        ...     return x
        >>> dlogistic = device_function(adgen.grad(logistic, argnums=(0, 1), static_argnums=2),
        ...                             3.7, 0.5, 10)   # doctest: +SKIP
        >>> @cuda.jit                        # doctest: +SKIP
        ... def kernel(r, x0, dr, dx0):
        ...     i = cuda.grid(1)
        ...     if i < r.shape[0]:
        ...         dr[i], dx0[i] = dlogistic(r[i], x0[i], 10)
    """
    from adgen.api import Transformed
    from adgen.codegen.loader import load_function
    from adgen.cuda.device import device_function_source, transform_hint
    from adgen.cuda.kernels import CUDA_IMPORTS, _header

    if not isinstance(transformed, Transformed):
        raise AdgenTypeError(f"device_function needs an adgen transform (adgen.grad(f), "
                             f"adgen.jit(f), ...), not {type(transformed).__name__}")
    t = transformed
    extra = {"jvp": len(t.argnums), "hvp": len(t.argnums), "vjp": 1}.get(t.kind, 0)
    primal = t.bind(list(example_args[:len(example_args) - extra]), {})
    types = t.arg_types(primal)
    for name, typ in zip(t._signature.parameters, types):
        if hasattr(typ, "ndim"):
            raise AdgenTypeError(f"argument {name!r} is an array; device functions take "
                                 "scalar arguments", name)
    compiled = t.compile(types)
    if "import adgen.extend as _adgen_ext" in compiled.source:
        raise AdgenTypeError(f"{t.__name__} calls a user primitive, which has no CUDA "
                             "implementation; use the numba back end")
    name = f"{t.python_function.__name__}_{t.kind}"
    function = device_function_source(compiled.source, name, transform_hint(t))
    text = (f"{_header(compiled.source, ['backend: cuda (device function)'])}\n"
            f"{CUDA_IMPORTS}\n\n{function}")
    func = load_function(text, f"{name}_device", name, "python")
    try:
        func.adgen_source = text
    except AttributeError:
        pass
    return func
