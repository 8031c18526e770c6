"""The CUDA back end: generated derivative code as numba.cuda kernels and device functions.

`vmap(transform, in_axes=..., backend="cuda")` evaluates a transform for every
sample of a batch, one GPU thread each (`adgen.cuda.vmap`, `adgen.cuda.kernels`);
`device_function(transform, *example_args)` returns the generated derivative
as a `numba.cuda.jit(device=True)` function for the user's own kernels
(`adgen.cuda.device`). numba.cuda is imported only when a CUDA kernel is built,
so `import adgen` stays cheap; set `NUMBA_ENABLE_CUDASIM=1` before numba is
first imported to run everything on Numba's CUDA simulator.
"""

from adgen.cuda.vmap import VMAP_BACKENDS, Vmapped, vmap  # noqa: F401
from adgen.cuda.launch import available, device_name, launch_config, simulator  # noqa: F401
from adgen.cuda.functions import device_function  # noqa: F401

__all__ = ["vmap", "Vmapped", "VMAP_BACKENDS", "device_function", "launch_config", "simulator", "available",
           "device_name"]
