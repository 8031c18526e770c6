"""Store or recompute (adgen/transforms/store.py): the forward sweep of a loop tapes the
results of transcendental functions its reverse sweep would recompute, where the
forward sweep runs anyway; derivatives are the same as when everything is recomputed."""

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
import adgen.transforms.store as store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from objectives.logistic_regression import logistic_regression_loops  # noqa: E402
from objectives.mlp import make_data, mlp_loops  # noqa: E402


def recurrence(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.tanh(s * x + i) * math.exp(-s)
    return s


@pytest.fixture
def recompute_everything(monkeypatch):
    """The derivative as before this pass: nothing stored."""
    def build(transform, *args):
        monkeypatch.setattr(store, "expensive", lambda opcode: False)
        try:
            return transform(*args)
        finally:
            monkeypatch.undo()
    return build


def _reverse_loop(source: str) -> str:
    return source[re.search(r"for k_\d+ in range\(n_1 - 1, -1, -1\)", source).start():]


def test_the_reverse_loop_reads_transcendentals_back_from_tapes():
    text = adgen.source(adgen.grad(recurrence, backend="python"), 0.3, 10)
    reverse = _reverse_loop(text)
    assert "np.tanh" not in reverse and "np.exp" not in reverse
    assert re.search(r"tmp_2_1 = tmp_2_tape\[k_\d+\]", reverse)
    assert re.search(r"tmp_4_1 = tmp_4_tape\[k_\d+\]", reverse)
    assert "tmp_2_tape[k] = tmp_2" in text  # filled by the forward sweep


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_stored_and_recomputed_derivatives_agree(backend, recompute_everything):
    x, n = 0.3, 25
    stored = adgen.grad(recurrence, backend=backend)(x, n)
    recomputed = recompute_everything(adgen.grad(recurrence, backend=backend), x, n)
    assert stored == recomputed
    h = 1e-6
    fd = (recurrence(x + h, n) - recurrence(x - h, n)) / (2 * h)
    assert abs(stored - fd) < 1e-7
    hessian = adgen.hessian(recurrence, backend="python")(x, n)
    assert hessian == pytest.approx(
        recompute_everything(adgen.hessian(recurrence, backend="python"), x, n), rel=1e-12)


def test_a_loop_that_sums_into_the_output_stores_nothing():
    """A sum into the output is reversed one iteration at a time, right after its
    primal code (transforms/eager.py): exp(-|t|) and the dot product z are computed
    once, in the iteration, and read from there; no tape at all."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)), (rng.random(6) > 0.5).astype(float)
    text = adgen.source(adgen.grad(logistic_regression_loops, argnums=(0, 1)),
                        rng.normal(size=3), 0.1, X, y, 0.01)
    assert "_tape" not in text
    assert text.count("np.exp(") == 1
    assert text.count("# line 34: z += X[i, j] * w[j]") == 2  # its forward, its reverse


def test_mlp_hidden_units_are_read_back_not_recomputed(recompute_everything):
    data = make_data(5, 3, 4, 3, 0)
    transform = adgen.grad(mlp_loops, argnums=(0, 1, 2, 3), backend="python")
    text = adgen.source(transform, *data)
    plain = recompute_everything(adgen.source, adgen.grad(mlp_loops, argnums=(0, 1, 2, 3),
                                                          backend="python"), *data)
    # tanh(a) of each hidden unit comes from a tape: its dot product over the inputs is
    # not recomputed by the reverse sweeps
    assert re.search(r"= tmp_3\w*_tape\w*\[\w+\]", text)
    # and neither version recomputes the dot product in the reverse sweep (the inner
    # loop's result is taped where tanh is not); mlp_logit is inlined twice, for class 0
    # and in the loop over the others, but the hidden units are computed once per example
    # for both (transforms/fission.py)
    for source in (text, plain):
        assert len(re.findall(r"^ *a_\w* \+= X\[", source, re.M)) == 1
    stored = transform(*data)
    recomputed = recompute_everything(adgen.grad(mlp_loops, argnums=(0, 1, 2, 3),
                                                 backend="python"), *data)
    for a, b in zip(stored, recomputed):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
