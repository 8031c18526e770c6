"""The loop idioms of the benchmark (issue 16): the same objective written the ways a
Numba user writes a time loop or a scratch buffer, each computing the same function.

* the heat equation (examples/objectives/heat.py) in four idioms (element-wise
  copy-back, slice copy-back, buffer swap, slice updates): equal values in plain
  Python and compiled by Numba, equal to the dense matrix form A^steps u0, and
  the caller's u0 untouched;
* the GMM with scratch vectors reused across points (`gmm_objective_scratch`) and
  the LSTM with its state updated in place (`lstm_objective_inplace`): the values of
  the existing versions (1e-12), plain and compiled, inputs untouched.

Their gradients (the hand-written adjoints against finite differences of every
source, and against JAX) are checked in tests/bench/test_adjoints.py. adgen is not
called on these sources here: reverse mode through slice copy-back and buffer swaps
is still being built.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT))

from bench.numba_primal import njit_module_function  # noqa: E402
from objectives import gmm, heat, lstm  # noqa: E402

HEAT = ("heat_elementwise", "heat_slice_copy", "heat_swap", "heat_slices")


def copy_args(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def heat_dense(u0, r, steps):
    """The same steps as one matrix: the interior rows of I + r L, the end rows of I."""
    m = u0.shape[0]
    A = np.eye(m)
    for i in range(1, m - 1):
        A[i, i - 1] += r
        A[i, i] -= 2.0 * r
        A[i, i + 1] += r
    u = np.linalg.matrix_power(A, steps) @ u0
    return float(u @ u)


def run_unchanged(f, args):
    """f(*args), asserting that it leaves its array arguments as they were."""
    before = copy_args(args)
    value = f(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    return value


@pytest.mark.parametrize("m,steps", [(12, 15), (3, 4), (2, 3), (7, 0), (40, 60)])
def test_heat_idioms_agree(m, steps):
    args = heat.make_data(m, steps, seed=m)
    values = [run_unchanged(getattr(heat, name), args) for name in HEAT]
    assert all(v == values[0] for v in values), values       # the same floating point
    assert values[0] == pytest.approx(heat_dense(*args), rel=1e-12)


@pytest.fixture(scope="module")
def compiled():
    """Each source compiled by Numba as the benchmark compiles its primal (once)."""
    cache = {}

    def get(module, name):
        if (module, name) not in cache:
            cache[module, name] = njit_module_function(module, name)
        return cache[module, name]
    return get


@pytest.mark.parametrize("name", HEAT)
def test_heat_idioms_compiled_by_numba(name, compiled):
    args = heat.make_data(12, 15, seed=0)
    expected = heat.heat_slices(*copy_args(args))
    assert run_unchanged(compiled(heat, name), args) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("size", [(3, 4, 5, 0, 1.3, 2), (4, 3, 6, 1, 1.0, 0),
                                  (1, 2, 3, 2, 0.7, 5), (6, 5, 7, 3, 1.0, 1)])
def test_gmm_scratch_matches_loops(size, compiled):
    args = gmm.make_data(*size)
    expected = gmm.gmm_objective_loops(*copy_args(args))
    assert run_unchanged(gmm.gmm_objective_scratch, args) == pytest.approx(expected, rel=1e-12)
    assert gmm.gmm_objective_vectorized(*copy_args(args)) == pytest.approx(expected, rel=1e-12)
    assert run_unchanged(compiled(gmm, "gmm_objective_scratch"), args) == \
        pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("size", [(2, 4, 5, 0), (1, 3, 2, 1), (3, 5, 9, 2)])
def test_lstm_inplace_matches_loops(size, compiled):
    args = lstm.make_data(*size)
    expected = lstm.lstm_objective_loops(*copy_args(args))
    assert run_unchanged(lstm.lstm_objective_inplace, args) == pytest.approx(expected, rel=1e-12)
    assert lstm.lstm_objective_vectorized(*copy_args(args)) == \
        pytest.approx(expected, rel=1e-12)
    assert run_unchanged(compiled(lstm, "lstm_objective_inplace"), args) == \
        pytest.approx(expected, rel=1e-12)
