"""The benchmark's objectives, their sizes and which arguments are differentiated.

Each problem names an objective of `examples/objectives/` written as one or more
sources, (label, function name) pairs, the first being the vectorized NumPy one
(the NumPy primal and the tools' reference); the others the loop idioms a Numba
user writes (explicit loops, scratch buffers, in-place state, buffer swaps...),
all computing the same function. adgen's gradient of every source is timed
against the hand-written Numba adjoint (`bench/adjoints.py`) of that source's own
algorithm, and against that source's own primal compiled by Numba: `adjoint` is
the problem's, of the vectorized source (and of every source not in `adjoints`),
and `adjoints` names, per source label, the adjoint written for a loop source whose
loops or arithmetic differ from it (`hand_adjoint(label)` gives the one that
applies). A problem is a "loop" objective (many small operations: where tracing frameworks pay per operation)
or a "dense" one (a few large array operations: where XLA fuses and calls BLAS).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from objectives import (conv1d, gmm, heat, logistic_map, logistic_regression,  # noqa: E402
                        lstm, mlp, ode)


@dataclass(frozen=True)
class Problem:
    name: str
    label: str                       # the size, as the issue and the table name it
    module: object
    sources: tuple                   # ((label, function name), ...): vectorized first
    argnums: tuple
    kind: str                        # "loop" or "dense"
    make: Callable[[bool], tuple]    # make(small) -> arguments; small for tests
    adjoint: str                     # function of bench/adjoints.py: args -> (value, *grads)
    # source label -> the function of bench/adjoints.py of that source's algorithm;
    # the sources not listed use `adjoint`
    adjoints: dict = field(default_factory=dict, hash=False)

    def __post_init__(self):
        unknown = set(self.adjoints) - set(self.labels)
        if unknown:
            raise ValueError(f"{self.name}: no source labelled {sorted(unknown)}")

    def hand_adjoint(self, source: str) -> str:
        """The name of the hand-written adjoint of the source labelled `source`."""
        return self.adjoints.get(source, self.adjoint)

    @property
    def labels(self) -> tuple:
        return tuple(label for label, _ in self.sources)

    @property
    def vectorized(self) -> str:
        """The name of the first (vectorized NumPy) source's function."""
        return self.sources[0][1]

    def function(self, source: str):
        """The function of the source labelled `source`."""
        return getattr(self.module, dict(self.sources)[source])


def pair(vectorized: str, loops: str, *more) -> tuple:
    """The sources ("vectorized", vectorized), ("loops", loops) and the (label, name)
    pairs `more`."""
    return (("vectorized", vectorized), ("loops", loops)) + tuple(more)


PROBLEMS = [
    Problem("gmm_d10_k25", "GMM d=10 k=25 n=1000", gmm,
            pair("gmm_objective_vectorized", "gmm_objective_loops",
                 ("scratch", "gmm_objective_scratch")), (0, 1, 2), "loop",
            lambda small: gmm.make_data(3, 4, 5, 0, 1.3, 2) if small
            else gmm.make_data(10, 25, 1000, 0), "gmm_adjoint",
            {"loops": "gmm_objective_loops_adjoint",
             "scratch": "gmm_objective_scratch_adjoint"}),
    Problem("gmm_d64_k50", "GMM d=64 k=50 n=1000", gmm,
            pair("gmm_objective_vectorized", "gmm_objective_loops"), (0, 1, 2), "dense",
            lambda small: gmm.make_data(4, 3, 6, 1, 1.0, 0) if small
            else gmm.make_data(64, 50, 1000, 0), "gmm_adjoint",
            {"loops": "gmm_objective_loops_adjoint"}),
    Problem("lstm", "LSTM l=2 b=14 c=1024", lstm,
            pair("lstm_objective_vectorized", "lstm_objective_loops",
                 ("inplace", "lstm_objective_inplace")), (0, 1, 2), "loop",
            lambda small: lstm.make_data(2, 4, 5, 0) if small
            else lstm.make_data(2, 14, 1024, 0), "lstm_adjoint",
            {"loops": "lstm_objective_loops_adjoint"}),
    Problem("mlp", "MLP 784-256-10 batch 256", mlp, pair("mlp_vectorized", "mlp_loops"),
            (0, 1, 2, 3), "dense",
            lambda small: mlp.make_data(5, 3, 4, 3, 0) if small
            else mlp.make_data(256, 784, 256, 10, 0), "mlp_adjoint",
            {"loops": "mlp_loops_adjoint"}),
    Problem("logistic_map", "logistic map 1000 steps, 1000 orbits", logistic_map,
            pair("logistic_map_vectorized", "logistic_map_loops"), (0, 1), "loop",
            lambda small: logistic_map.make_data(7, 20, 0) if small
            else logistic_map.make_data(1000, 1000, 0), "logistic_map_adjoint",
            {"loops": "logistic_map_loops_adjoint"}),
    Problem("ode", "RK4 ODE 1000 steps, 256 orbits", ode,
            pair("lotka_volterra_vectorized", "lotka_volterra_loops"), (0, 1, 2), "loop",
            lambda small: ode.make_data(5, 30, 0) if small else ode.make_data(256, 1000, 0),
            "lotka_volterra_adjoint", {"loops": "lotka_volterra_loops_adjoint"}),
    Problem("heat", "heat equation FTCS 1000 cells, 1000 steps", heat,
            (("slices", "heat_slices"), ("elementwise", "heat_elementwise"),
             ("slice_copy", "heat_slice_copy"), ("swap", "heat_swap")), (0, 1), "loop",
            lambda small: heat.make_data(12, 15, 0) if small
            else heat.make_data(1000, 1000, 0), "heat_adjoint"),
    Problem("logistic_regression", "logistic regression n=10000 d=100", logistic_regression,
            pair("logistic_regression_vectorized", "logistic_regression_loops"), (0, 1),
            "dense",
            lambda small: logistic_regression.make_data(8, 3, 0) if small
            else logistic_regression.make_data(10000, 100, 0), "logistic_regression_adjoint",
            {"loops": "logistic_regression_loops_adjoint"}),
    Problem("conv1d", "conv1d n=100000 m=16", conv1d, pair("conv1d_shifted", "conv1d_loops"),
            (0, 1), "dense",
            lambda small: conv1d.make_data(12, 3, 0) if small
            else conv1d.make_data(100000, 16, 0), "conv1d_adjoint"),
]

BY_NAME = {p.name: p for p in PROBLEMS}
