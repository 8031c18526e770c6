"""Generated source -> a real module in the cache directory -> a callable.

Modules are files named after the function, the transform and a hash of the
source, so `inspect`, tracebacks, `pdb` and Numba's on-disk cache all work.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile

from adgen.config import cache_dir

BACKENDS = ("python", "numba")


def write_module(source: str, stem: str) -> str:
    """Write `source` to `<cache>/<stem>_<hash>.py` (atomically); returns the path."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{digest}.py"
    try:
        current = path.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != source:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(source)
        os.replace(tmp, path)
    return str(path)


def load_function(source: str, stem: str, name: str, backend: str):
    """The function `name` of the generated module, compiled for `backend`."""
    path = write_module(source, stem)
    module_name = "adgen_generated." + os.path.basename(path)[:-3]
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    func = getattr(module, name)
    if backend == "python":
        return func
    if backend == "numba":
        import numba

        return numba.njit(cache=True, error_model="numpy")(func)
    raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
