"""Numba's on-disk cache, made to survive damaged files.

Numba raises (a pickle error) when a function's index (`.nbi`) or data
(`.nbc`) file under `__pycache__` is truncated or garbled. `RepairingCache`
treats any failure to load as a miss: it deletes that function's files, and
Numba compiles and saves them afresh. Imported only by the numba backend.
"""

from __future__ import annotations

import glob
import os
import warnings

import numba
from numba.core.caching import FunctionCache


class RepairingCache(FunctionCache):
    """Numba's `FunctionCache`, except that a damaged file is a miss, never an error."""

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception:
            self.remove_files()
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception:  # the index was damaged after we loaded it: start it again
            self.remove_files()
            try:
                super().save_overload(sig, data)
            except Exception as exc:  # a cache that cannot be written only costs time
                warnings.warn(f"adgen: cannot write Numba's cache in {self.cache_path}: {exc}",
                              RuntimeWarning, stacklevel=2)

    def remove_files(self) -> None:
        """Delete this function's index and data files (other processes rebuild them)."""
        index = self._cache_file._index_path
        for path in [index] + glob.glob(glob.escape(index[:-len(".nbi")]) + ".*.nbc"):
            try:
                os.remove(path)
            except OSError:
                pass


def cached_njit(func, parallel: bool = False):
    """`numba.njit(cache=True, error_model="numpy", parallel=parallel)(func)`, with a
    `RepairingCache`."""
    dispatcher = numba.njit(error_model="numpy", parallel=parallel)(func)
    dispatcher._cache = RepairingCache(func)  # what `cache=True` sets, with our class
    return dispatcher
