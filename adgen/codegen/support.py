"""Helpers that generated modules call (`import adgen.codegen.support as _adgen`).

They are `register_jitable`: plain Python under the python backend, inlined
into compiled code under Numba.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable


@register_jitable
def push(tape, k, v):
    """tape[k] = v, doubling the capacity first when k == len(tape)."""
    if k >= tape.shape[0]:
        grown = np.empty(max(2 * tape.shape[0], 16), dtype=tape.dtype)
        grown[: tape.shape[0]] = tape
        tape = grown
    tape[k] = v
    return tape


@register_jitable
def trip_count(start, stop, step):
    """len(range(start, stop, step)) without building the range."""
    if step > 0:
        n = (stop - start + step - 1) // step
    else:
        n = (start - stop - step - 1) // (-step)
    return max(n, 0)
