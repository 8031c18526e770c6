"""Optimized and unoptimized derivative IR compute the same numbers, on the corpus.

Every scalar-corpus function's forward and reverse derivative IR is interpreted
before and after each simplification pass (every pass of SIMPLIFY: fold, CSE,
loop-invariant hoisting, shape sources, DCE; and the whole pipeline), at random
points of the function's domain: the results agree to rounding (the passes only
reassociate what fold's identities allow).
"""

import numpy as np
import pytest

from adgen.ir.interpret import interpret
from adgen.ir.verify import verify
from adgen.transforms.forward import differentiate_forward
from adgen.transforms.pipeline import SIMPLIFY, simplify
from adgen.transforms.reverse import differentiate_reverse

from tests.ir.test_corpus_ir import ALL, _full_args, _types  # noqa: F401  (loads the corpus)
from adgen.frontend.lower import lower_function
from adgen.transforms.specialize import specialize


def _derivatives(case):
    typed = specialize(lower_function(case.fn), _types(case))
    wrt = tuple(case.wrt)
    seeds = [1.0 for _ in wrt]
    yield "forward", differentiate_forward(typed, wrt), seeds
    yield "reverse", differentiate_reverse(typed, wrt, seed_params=True), \
        [1.0] * (2 if typed.tuple_return else 1)


def _same(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("case", ALL, ids=[c.fn.__name__ for c in ALL])
def test_every_pass_keeps_the_numbers(case):
    rng = np.random.default_rng(11)
    points = [_full_args(case, rng) for _ in range(2)]
    for mode, fn, seeds in _derivatives(case):
        variants = {name: pass_fn(fn) for name, pass_fn in SIMPLIFY}
        variants["pipeline"] = simplify(fn)
        for out in variants.values():
            verify(out)
        n_extra = len(fn.params) - len(points[0])
        for args in points:
            full = list(args) + seeds[:n_extra] + [1.0] * max(0, n_extra - len(seeds))
            expected = interpret(fn, *full)
            for name, out in variants.items():
                got = interpret(out, *full)
                for e, g in zip(np.atleast_1d(np.array(expected, dtype=object)),
                                np.atleast_1d(np.array(got, dtype=object))):
                    _same(g, e)
