"""Where the CUDA back end runs and how it launches kernels.

`simulator()` says whether numba.cuda is Numba's CUDA simulator
(`NUMBA_ENABLE_CUDASIM=1`, read once when numba is first imported).
`launch_config(n, ...)` picks (blocks, threads per block) for a grid-stride
kernel over `n` samples: on a GPU, 256 threads per block (fewer if the
compiled kernel allows fewer) and as many blocks as the driver's occupancy
calculator says fit on all multiprocessors at once, capped by the blocks `n`
needs; on the simulator, which runs every thread as a Python thread, at most 32
threads per block and 4 blocks (the grid-stride loop covers the rest). Both
numbers can be given instead.
"""

from __future__ import annotations

import math

DEFAULT_THREADS = 256
SIMULATOR_THREADS = 32
SIMULATOR_BLOCKS = 4


def simulator() -> bool:
    """Whether numba.cuda is the CUDA simulator."""
    from numba.core import config

    return bool(config.ENABLE_CUDASIM)


def available() -> bool:
    """Whether CUDA kernels can run here (a GPU with a driver, or the simulator)."""
    if simulator():
        return True
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # no driver, no toolkit
        return False


def device_name() -> str:
    """A readable name of the device kernels run on."""
    if simulator():
        return "Numba CUDA simulator"
    from numba import cuda

    device = cuda.get_current_device()
    name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
    return f"{name} (cc {device.compute_capability[0]}.{device.compute_capability[1]})"


def _occupancy(kernel, args, threads):
    """(max threads per block, active blocks per multiprocessor, multiprocessors) of
    `kernel` compiled for `args`; None where the driver does not tell."""
    try:
        from numba import cuda

        device = cuda.get_current_device()
        sms = device.MULTIPROCESSOR_COUNT
        specialized = kernel.specialize(*args)
        limit = specialized.get_max_threads_per_block()
        threads = min(threads, limit)
        compiled = next(iter(specialized.overloads.values()))
        cufunc = compiled._codelibrary.get_cufunc()
        ctx = cuda.current_context()
        active = ctx.get_active_blocks_per_multiprocessor(cufunc, threads, 0)
        return limit, max(int(active), 1), sms
    except Exception:
        try:
            from numba import cuda

            device = cuda.get_current_device()
            per_sm = device.MAX_THREADS_PER_MULTI_PROCESSOR
            return None, max(per_sm // threads, 1), device.MULTIPROCESSOR_COUNT
        except Exception:
            return None


def launch_config(n: int, kernel=None, args=(), threads_per_block=None, blocks=None):
    """(blocks, threads_per_block) for a grid-stride kernel over `n` items.

    Example:
        >>> launch_config(1000, threads_per_block=128, blocks=2)
        (2, 128)
    """
    if threads_per_block is not None and int(threads_per_block) < 1:
        raise ValueError(f"threads_per_block must be positive, not {threads_per_block}")
    if blocks is not None and int(blocks) < 1:
        raise ValueError(f"blocks must be positive, not {blocks}")
    n = max(int(n), 1)
    if simulator():
        threads = int(threads_per_block or min(SIMULATOR_THREADS, n))
        return int(blocks or min(math.ceil(n / threads), SIMULATOR_BLOCKS)), threads
    threads = int(threads_per_block or DEFAULT_THREADS)
    if blocks is not None:
        return int(blocks), threads
    needed = math.ceil(n / threads)
    info = _occupancy(kernel, args, threads) if kernel is not None else None
    if info is None:
        return needed, threads
    limit, active, sms = info
    if threads_per_block is None and limit is not None and limit < threads:
        threads = max(32 * (limit // 32), 1)
        needed = math.ceil(n / threads)
    return max(min(needed, active * sms), 1), threads


def array_launch(n: int, kernel=None):
    """(blocks, threads_per_block) for the grid-stride kernels of array programs: as
    `launch_config` on a GPU; on the simulator, which runs a Python thread per GPU
    thread, two blocks of four (still several threads and blocks striding the data)."""
    if simulator():
        return max(min(math.ceil(max(int(n), 1) / 4), 2), 1), 4
    return launch_config(n, kernel)

