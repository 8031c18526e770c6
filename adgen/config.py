"""Settings read from the environment.

ADGEN_CACHE_DIR   where generated modules are written (default: $XDG_CACHE_HOME/adgen
                  or ~/.cache/adgen)
ADGEN_DUMP_AFTER  comma-separated pass names (or `all`) whose output IR is printed
ADGEN_VERIFY      `1` to verify the IR after every pass (always on in the tests)
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("ADGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "adgen"


def verify_passes() -> bool:
    return os.environ.get("ADGEN_VERIFY", "") not in ("", "0")
