"""The objectives' own source compiled with `numba.njit`: the primal a Numba user runs."""

from __future__ import annotations

import types

import numba


def njit_module_function(module, name: str):
    """`numba.njit` of `module.name`, with every function of the module it calls njit-ed
    too (Numba cannot call plain Python functions from compiled code)."""
    namespace = dict(vars(module))
    for key, obj in vars(module).items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
            namespace[key] = numba.njit(types.FunctionType(
                obj.__code__, namespace, obj.__name__, obj.__defaults__, obj.__closure__))
    return namespace[name]
