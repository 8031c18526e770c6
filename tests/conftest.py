"""Shared test set-up: a private compile cache, IR verification after every pass,
and `--update-golden` to rewrite golden files."""

import os
import tempfile

os.environ.setdefault("ADGEN_CACHE_DIR", tempfile.mkdtemp(prefix="adgen-test-cache-"))
os.environ.setdefault("ADGEN_VERIFY", "1")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files from the current output")
