"""Run-time support of `adgen.config(check_nans=True)`: generated modules compiled
with the checks import this module as `_adgen_nan` (it imports Numba, so only
they do). `finite(x)` is plain NumPy under the python backend and a Numba
`overload` under Numba (floats, arrays of any rank, and anything else: True)."""

from __future__ import annotations

import math

import numpy as np
from numba import types as _types
from numba.extending import overload

from adgen.debug import AdgenNaNError  # noqa: F401  (raised by generated code)


def finite(x) -> bool:
    """Whether the float or every element of the array `x` is finite (ints, bools: True)."""
    return bool(np.all(np.isfinite(x)))


@overload(finite)
def _finite(x):
    if isinstance(x, _types.Array):
        if not isinstance(x.dtype, _types.Float):
            return lambda x: True

        def impl(x):
            for v in np.nditer(x):
                if not math.isfinite(v.item()):
                    return False
            return True

        return impl
    if isinstance(x, _types.Float):
        return lambda x: math.isfinite(x)
    return lambda x: True
