"""Where to test each primitive of the registry.

`SAMPLERS[name](rng)` draws one point (a tuple of operand values) inside the
primitive's domain, where it is differentiable, and far enough (relative to
the finite-difference steps of `adgen.testing`, about 1e-3 * max(|x|, 1))
from its jumps, kinks, poles and branch cuts. Float operands are Python
floats; non-float operands are `np.bool_` / ints.

`NOT_AUDITED[name]` is the reason a primitive has no sampler (it is not a
numeric scalar function). `test_registry_audit.py` fails when a registered
primitive is in neither table, so a new primitive needs one of the two.
"""

from __future__ import annotations

import math

import numpy as np


def _u(rng, lo, hi) -> float:
    return float(rng.uniform(lo, hi))


def _sign(rng) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _loguniform(rng, lo, hi) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _real(rng) -> float:
    return _u(rng, -3.0, 3.0)


def _nonzero(rng, lo=0.3, hi=3.0) -> float:
    return _sign(rng) * _u(rng, lo, hi)


def _distinct(rng, gap=0.2):
    x = _real(rng)
    y = x + _nonzero(rng, gap, 3.0)
    return (x, y) if rng.random() < 0.5 else (y, x)


def _away_from_integers(rng, margin=0.05, span=6):
    return float(rng.integers(-span, span + 1)) + _u(rng, margin, 1.0 - margin)


def _quotient_point(rng):
    """(x, y) with y away from 0 and x / y at least 0.05 away from an integer."""
    y = _nonzero(rng, 0.5, 3.0)
    return (_away_from_integers(rng, 0.05, 4) * y, y)


def _polar(rng, rmin=0.3, rmax=3.0, cut=0.1):
    """(y, x) at radius >= rmin, angle at least `cut` away from the branch cut at +-pi."""
    r, theta = _u(rng, rmin, rmax), _u(rng, -math.pi + cut, math.pi - cut)
    return (r * math.sin(theta), r * math.cos(theta))


def _clip_point(rng):
    """(x, lo, hi) with lo < hi and x below, inside or above, at least 0.2 from lo and hi."""
    lo = _real(rng)
    hi = lo + _u(rng, 0.5, 3.0)
    where = rng.integers(3)
    x = (lo - _u(rng, 0.2, 2.0) if where == 0 else hi + _u(rng, 0.2, 2.0) if where == 2
         else _u(rng, lo + 0.2, hi - 0.2))
    return (x, lo, hi)


def _bool(rng):
    return np.bool_(rng.random() < 0.5)


SAMPLERS = {
    # arithmetic
    "add": lambda rng: (_real(rng), _real(rng)),
    "sub": lambda rng: (_real(rng), _real(rng)),
    "mul": lambda rng: (_real(rng), _real(rng)),
    "div": lambda rng: (_real(rng), _nonzero(rng)),
    "pow": lambda rng: (_loguniform(rng, 0.2, 5.0), _u(rng, -2.5, 2.5)),
    "mod": _quotient_point,
    "floordiv": _quotient_point,
    "neg": lambda rng: (_real(rng),),
    # element-wise functions
    "sin": lambda rng: (_u(rng, -6.0, 6.0),),
    "cos": lambda rng: (_u(rng, -6.0, 6.0),),
    "tan": lambda rng: (_u(rng, -1.3, 1.3),),
    "exp": lambda rng: (_u(rng, -5.0, 5.0),),
    "log": lambda rng: (_loguniform(rng, 0.05, 20.0),),
    "log2": lambda rng: (_loguniform(rng, 0.05, 20.0),),
    "log10": lambda rng: (_loguniform(rng, 0.05, 20.0),),
    "log1p": lambda rng: (_u(rng, -0.9, 10.0),),
    "expm1": lambda rng: (_u(rng, -5.0, 5.0),),
    "exp2": lambda rng: (_u(rng, -5.0, 5.0),),
    "sqrt": lambda rng: (_loguniform(rng, 0.05, 20.0),),
    "tanh": lambda rng: (_real(rng),),
    "sinh": lambda rng: (_real(rng),),
    "cosh": lambda rng: (_real(rng),),
    "arcsin": lambda rng: (_u(rng, -0.95, 0.95),),
    "arccos": lambda rng: (_u(rng, -0.95, 0.95),),
    "arctan": lambda rng: (_u(rng, -5.0, 5.0),),
    "arctan2": _polar,
    "hypot": lambda rng: _polar(rng, cut=0.0),
    "abs": lambda rng: (_nonzero(rng, 0.1, 3.0),),
    "maximum": _distinct,
    "minimum": _distinct,
    "erf": lambda rng: (_real(rng),),
    "erfc": lambda rng: (_real(rng),),
    # piecewise constant (nondiff): away from their jumps
    "lt": _distinct,
    "le": _distinct,
    "gt": _distinct,
    "ge": _distinct,
    "eq": _distinct,
    "ne": _distinct,
    "not": lambda rng: (_bool(rng),),
    "and": lambda rng: (_bool(rng), _bool(rng)),
    "or": lambda rng: (_bool(rng), _bool(rng)),
    "sign": lambda rng: (_nonzero(rng, 0.1, 3.0),),
    "floor": lambda rng: (_away_from_integers(rng),),
    "ceil": lambda rng: (_away_from_integers(rng),),
    "trunc": lambda rng: (_away_from_integers(rng),),
    "rint": lambda rng: (_away_from_integers(rng) + 0.5,),  # away from the half-integers
    # conditionals: a bool condition, two floats
    "select": lambda rng: (_bool(rng), _real(rng), _real(rng)),
    "where": lambda rng: (_bool(rng), _real(rng), _real(rng)),
    "clip": _clip_point,
}

NOT_AUDITED = {
    "const": "a literal: no operands, nothing to differentiate",
    "undef": "a placeholder for a variable undefined on a path: no operands, never read",
    "empty": "allocates an uninitialized array (tapes): not a scalar function",
    "zeros": "allocates an array (tapes): not a scalar function",
    "len": "the length of an array: integer-valued, not a scalar float function",
    "revolve_split": "the checkpoint schedule's integer step count: not a float function",
    "checkpoint_below": "a search in the snapshot positions (an int array): not a float "
                        "function",
    "getitem": "array element read (tapes): array operand, not a scalar function",
    "setitem": "array element write with value semantics (tapes): array operand",
    "push": "growable-tape write (while loops): array operand",
    "trip_count": "len(range(start, stop, step)) on integers: nothing to differentiate",
    **{name: "the undo log of reverse mode (state, not numbers); covered by "
       "tests/transforms/test_array_loops.py" for name in
       ("log_new", "log_len", "log_write", "log_undo_to", "log_undo_last")},
    # array primitives (issue 3: NumPy arrays); check_primitive audits scalar ops only
    "arange": "np.arange(start, stop, step): builds an array; nondiff, not a scalar function",
    "ones": "np.ones(shape): builds an array; nondiff, not a scalar function",
    "ones_like": "np.ones_like(a): builds an array; nondiff, not a scalar function",
    "zeros_like": "np.zeros_like(a): builds an array; nondiff, not a scalar function",
    "full": "np.full(shape, value): array-valued, not a scalar function",
    "full_like": "np.full_like(a, value): array-valued, not a scalar function",
    "copy": "a.copy(): array operand and result, not a scalar function",
    "dim": "a.shape[axis]: integer-valued, array operand",
    "size": "a.size: integer-valued, array operand",
    "broadcast_like": "spreads a value to an array's shape (rules of broadcasting): array result",
    "sum_like": "sums an array down to another's shape (reversed broadcasting): array operands",
    "index_add": "a with a[index] += v (value semantics): array operand",
    "concatenate": "np.concatenate of arrays: array operands and result",
    "stack": "np.stack of arrays: array operands and result",
    "dot": "np.dot / np.matmul / @: array operands",
    "outer": "np.outer: array operands and result",
    "transpose": "a.T: array operand and result",
    "reshape": "a.reshape(...): array operand and result",
    "reshape_like": "g reshaped like another array: array operands",
    "expand_dims": "a new axis of length 1: array operands (tests/arrays: new_axis_*)",
    "reduce": "np.sum/mean/max/min/prod over axes: array operand, needs the 'how' attribute",
    "spread": "a reduced value repeated over the reduced axis: array result",
    "stop_gradient": ("the identity declared nondiff on purpose (its derivative is zero by "
                      "definition, not by the function); pinned by tests/extend"),
    "cast": ("needs the 'to' attribute (f64, f32, i64, bool), which a sampler of operands "
             "cannot give; audited by test_cast_rules in test_registry_audit.py with "
             "explicit attributes"),
}
