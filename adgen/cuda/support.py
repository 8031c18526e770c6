"""The helpers generated CUDA modules call (`import adgen.cuda.support as _adgen`).

Device-function versions of the scalar helpers of `adgen.codegen.support`
(the ones listed in `adgen.cuda.device.DEVICE_HELPERS`); the array helpers have
no counterpart here because per-sample code holds no arrays but its tapes.
"""

from __future__ import annotations

from numba import cuda

from adgen.codegen import support as _cpu


# The CPU helper's own source, compiled as a device function.
trip_count = cuda.jit(device=True)(_cpu.trip_count)
