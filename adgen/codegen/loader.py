"""Generated source -> a real module in the cache directory -> a callable.

Modules are files named after the function, the transform and `cache_key`
(a hash of the source, the backend and the versions of adgen, Numba and
NumPy), so `inspect`, tracebacks, `pdb` and Numba's on-disk cache all work.
A file is written whole or not at all (a temporary file, then `os.replace`),
and the module runs the text we generated, never what the file holds, so a
damaged file is rewritten and never run. See "Compile cache" in
docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import sys
import tempfile
import threading

import numpy as np

from adgen.config import cache_dir

BACKENDS = ("python", "numba")

# One module object and one callable per generated file and backend, even when
# several threads (or several Transformed objects) load it at once.
_LOCK = threading.Lock()
_LOADED: dict[tuple, tuple] = {}  # (module name, function, backend) -> (module, callable)


@functools.lru_cache(maxsize=None)
def versions() -> tuple[str, str, str]:
    """The versions of adgen, Numba and NumPy (Numba's without importing it)."""
    import adgen

    try:
        numba_version = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba_version = "none"
    return getattr(adgen, "__version__", "unknown"), numba_version, np.__version__


def cache_key(source: str, backend: str) -> str:
    """16 hex digits of the SHA-256 of everything that decides the compiled code."""
    digest = hashlib.sha256()
    for part in (source, backend, *versions()):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def write_module(source: str, stem: str, backend: str = "python") -> str:
    """Write `source` to `<cache>/<stem>_<key>.py` unless it is there intact; the path."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{cache_key(source, backend)}.py"
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current != source:  # missing, truncated or garbled: write it again
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(source)
            os.replace(tmp, path)  # readers see the old file or the new one, never half
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise
    return str(path)


def _module(path: str, source: str):
    """The module of `path`, run from `source` (reused only if made from that file and text)."""
    name = "adgen_generated." + os.path.basename(path)[:-3]
    module = sys.modules.get(name)
    if (module is not None and getattr(module, "__file__", None) == path
            and getattr(module, "__adgen_source__", None) == source):
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__adgen_source__ = source
    exec(compile(source, path, "exec"), module.__dict__)
    sys.modules[name] = module
    return module


def load_function(source: str, stem: str, name: str, backend: str):
    """The function `name` of the generated module, compiled for `backend`."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    with _LOCK:
        module = _module(write_module(source, stem, backend), source)
        key = (module.__name__, name, backend)
        hit = _LOADED.get(key)
        if hit is None or hit[0] is not module:
            func = getattr(module, name)
            if backend == "numba":
                from adgen.codegen.numba_cache import cached_njit
                from adgen.codegen.python_source import PARALLEL_FLAG

                # compiles (or loads from disk) at its first call; parallel=True where the
                # module has numba.prange loops
                func = cached_njit(func, parallel=getattr(module, PARALLEL_FLAG, False))
            hit = _LOADED[key] = (module, func)
        return hit[1]
