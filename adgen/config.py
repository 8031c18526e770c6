"""Settings read from the environment.

ADGEN_CACHE_DIR   where generated modules are written (default: $XDG_CACHE_HOME/adgen
                  or ~/.cache/adgen)
ADGEN_DUMP_AFTER  comma-separated pass names (or `all`) whose output IR is printed
ADGEN_VERIFY      `1` to verify the IR after every pass (always on in the tests)
ADGEN_CHECK_NANS  `1` to compile derivative code that raises `adgen.AdgenNaNError` at the
                  first statement producing NaN or inf from finite operands

Settings can also be changed from Python: the module is callable,

    adgen.config(check_nans=True)            # from now on
    with adgen.config(check_nans=True):      # only inside the block
        ...

and a setting given this way wins over its environment variable.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("ADGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "adgen"


def verify_passes() -> bool:
    return os.environ.get("ADGEN_VERIFY", "") not in ("", "0")


# settings changed from Python --------------------------------------------------------------
_ENV = {"check_nans": "ADGEN_CHECK_NANS"}  # setting -> the environment variable behind it
_OVERRIDES: dict[str, object] = {}
_UNSET = object()


def _flag(name: str) -> bool:
    if name in _OVERRIDES:
        return bool(_OVERRIDES[name])
    return os.environ.get(_ENV[name], "") not in ("", "0")


def check_nans() -> bool:
    """Whether generated code checks every statement for NaN/inf (`adgen.config(check_nans=
    True)` or ADGEN_CHECK_NANS=1). Read when a transform compiles a signature."""
    return _flag("check_nans")


class settings:
    """`adgen.config(**settings)`: change settings now; as a context manager, restore the
    previous ones on exit.

    Example:
        >>> import adgen
        >>> with adgen.config(check_nans=True):
        ...     adgen.config.check_nans()
        True
        >>> adgen.config.check_nans()
        False
    """

    def __init__(self, **values):
        unknown = sorted(set(values) - set(_ENV))
        if unknown:
            raise TypeError(f"unknown adgen setting(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(_ENV))}")
        self._previous = {name: _OVERRIDES.get(name, _UNSET) for name in values}
        _OVERRIDES.update({name: bool(value) for name, value in values.items()})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name, value in self._previous.items():
            if value is _UNSET:
                _OVERRIDES.pop(name, None)
            else:
                _OVERRIDES[name] = value
        return False

    def __repr__(self) -> str:
        return "adgen.config(" + ", ".join(f"{n}={_flag(n)!r}" for n in sorted(_ENV)) + ")"


class _CallableModule(types.ModuleType):
    """This module, callable: `adgen.config(check_nans=True)` is `settings(...)`, while
    `adgen.config.cache_dir()` and `from adgen.config import ...` keep working."""

    def __call__(self, **values) -> settings:
        return settings(**values)


sys.modules[__name__].__class__ = _CallableModule
