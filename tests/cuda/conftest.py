"""tests/cuda: the CUDA back end, on Numba's CUDA simulator (CI) or a real GPU.

Every test here carries the `gpu` marker (`pytest -m gpu` selects them). Whether
they run on the simulator is decided in tests/conftest.py, before numba is
imported (NUMBA_ENABLE_CUDASIM, ADGEN_CUDA_REAL). On a machine whose GPU numba
cannot use, they are skipped with the reason.
"""

import pathlib

import pytest

_HERE = pathlib.Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gpu)


@pytest.fixture(autouse=True)
def _cuda_available():
    from adgen.cuda import available

    if not available():
        pytest.skip("numba.cuda finds no usable GPU: run with ADGEN_CUDA_REAL=0 (the "
                    "simulator) or install the CUDA driver and toolkit")
