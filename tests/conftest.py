"""Shared test set-up: a private compile cache, IR verification after every pass,
and `--update-golden` to rewrite golden files."""

import os
import tempfile

os.environ.setdefault("ADGEN_CACHE_DIR", tempfile.mkdtemp(prefix="adgen-test-cache-"))
os.environ.setdefault("ADGEN_VERIFY", "1")

# --- CUDA (issue 7): numba reads NUMBA_ENABLE_CUDASIM once, when it is first imported, so
# it is decided here, before anything imports numba. tests/cuda (marker `gpu`) runs on
# Numba's CUDA simulator unless ADGEN_CUDA_REAL=1, or ADGEN_CUDA_REAL is unset and an
# NVIDIA GPU is visible (/dev/nvidia0); ADGEN_CUDA_REAL=0 forces the simulator.
_CUDA_REAL = os.environ.get("ADGEN_CUDA_REAL")
if _CUDA_REAL == "1" or (_CUDA_REAL is None and os.path.exists("/dev/nvidia0")):
    pass  # a real GPU: leave NUMBA_ENABLE_CUDASIM as the environment has it
else:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# --- end CUDA


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files from the current output")
