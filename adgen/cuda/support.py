"""The helpers generated CUDA modules call (`import adgen.cuda.support as _adgen`).

Device-function versions of the scalar helpers of `adgen.codegen.support`
(the ones listed in `adgen.cuda.device.DEVICE_HELPERS`); the array helpers have
no counterpart here because per-sample code holds no arrays but its tapes.
"""

from __future__ import annotations

from numba import cuda


@cuda.jit(device=True)
def trip_count(start, stop, step):
    """len(range(start, stop, step)) without building the range."""
    if step > 0:
        n = (stop - start + step - 1) // step
    else:
        n = (start - stop - step - 1) // (-step)
    return max(n, 0)
