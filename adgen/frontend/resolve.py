"""Name resolution: what a name that is not a local variable refers to.

Module-level numbers become constants; modules and functions become call
targets; known math/NumPy callables map to primitives of the registry.
Mutable objects (lists, dicts, arrays) captured from outside are refused:
their contents could change between calls without adgen noticing.
"""

from __future__ import annotations

import builtins
import importlib
import numbers
import types

import numpy as np

from adgen.primitives.registry import by_python_name

_PRIMITIVE_BY_ID: dict[int, str] | None = None
_USER_CALLABLES: dict[int, tuple[object, str]] = {}  # id -> (the object, kept alive; name)


def primitive_for(obj) -> str | None:
    """The primitive implementing the Python callable `obj` (math.sin -> 'sin')."""
    global _PRIMITIVE_BY_ID
    user = _USER_CALLABLES.get(id(obj))
    if user is not None and user[0] is obj:
        return user[1]
    if _PRIMITIVE_BY_ID is None:
        table = {}
        for pyname, prim in by_python_name().items():
            module, _, attr = pyname.rpartition(".")
            try:
                target = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                continue
            table[id(target)] = prim
        _PRIMITIVE_BY_ID = table
    return _PRIMITIVE_BY_ID.get(id(obj))


def register_callable(obj, name: str) -> None:
    """Calls to `obj` in differentiated code become the (user) primitive `name`."""
    for key, (other, other_name) in list(_USER_CALLABLES.items()):
        if other_name == name:  # registered again: the old object no longer maps to it
            del _USER_CALLABLES[key]
    _USER_CALLABLES[id(obj)] = (obj, name)


def reset_primitive_table() -> None:
    """Forget the callable -> primitive table (after a user registers a primitive)."""
    global _PRIMITIVE_BY_ID
    _PRIMITIVE_BY_ID = None


def is_number(obj) -> bool:
    return isinstance(obj, (numbers.Real, np.number, np.bool_)) and not isinstance(obj, complex)


def is_plain_function(obj) -> bool:
    return isinstance(obj, types.FunctionType)


def python_function_of(obj):
    """The Python function behind `obj` (a plain function or a numba dispatcher)."""
    if is_plain_function(obj):
        return obj
    py_func = getattr(obj, "py_func", None)
    if is_plain_function(py_func):
        return py_func
    return None


class Unresolved(Exception):
    """A name is defined nowhere."""


def lookup(fn, name: str):
    """The object bound to `name` as seen from inside `fn` (closure, globals, builtins)."""
    code = fn.__code__
    if name in code.co_freevars and fn.__closure__:
        cell = fn.__closure__[code.co_freevars.index(name)]
        try:
            return cell.cell_contents
        except ValueError:
            raise Unresolved(name) from None
    if name in fn.__globals__:
        return fn.__globals__[name]
    if hasattr(builtins, name):
        return getattr(builtins, name)
    raise Unresolved(name)
