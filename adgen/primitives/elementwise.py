"""Element-wise math functions (math.* and numpy ufuncs), each with its partials.

Conventions at non-differentiable points (see docs/CONVENTIONS.md):
abs'(0) = 0; maximum/minimum split the derivative 1/2-1/2 at ties;
sqrt'(0) = +inf; log'(0) = +inf; arcsin'/arccos'(+-1) = +-inf.
"""

from __future__ import annotations

import math

import numpy as np

from adgen.primitives.arithmetic import scalar
from adgen.primitives.derive import fconst
from adgen.primitives.emit import call_emitter
from adgen.primitives.typerules import float_type, same_type, signed_type


def _names(*python_names):
    return tuple(python_names)


def unary(name, impl, partials, trace, python_names, emit_path=None, type_rule=float_type,
          doc=""):
    return scalar(name, impl, call_emitter(emit_path or f"np.{name}"), type_rule, partials,
                  trace=trace, python_names=python_names, doc=doc,
                  transcendental=name not in _ALGEBRAIC)


_ALGEBRAIC = ("sqrt", "abs", "maximum", "minimum")  # a few cycles each, not libm calls


def sin_partials(b, args, out, active):
    return (b.emit("cos", args[0]),)


def cos_partials(b, args, out, active):
    return (b.emit("neg", b.emit("sin", args[0])),)


def tan_partials(b, args, out, active):
    return (b.emit("add", fconst(b, 1.0, out), b.emit("mul", out, out)),)


def exp_partials(b, args, out, active):
    return (out,)


def log_partials(b, args, out, active):
    return (b.emit("div", fconst(b, 1.0, out), args[0]),)


def log2_partials(b, args, out, active):
    return (b.emit("div", fconst(b, 1.0 / math.log(2.0), out), args[0]),)


def log10_partials(b, args, out, active):
    return (b.emit("div", fconst(b, 1.0 / math.log(10.0), out), args[0]),)


def log1p_partials(b, args, out, active):
    return (b.emit("div", fconst(b, 1.0, out), b.emit("add", fconst(b, 1.0, out), args[0])),)


def expm1_partials(b, args, out, active):
    return (b.emit("add", out, fconst(b, 1.0, out)),)


def exp2_partials(b, args, out, active):
    return (b.emit("mul", out, fconst(b, math.log(2.0), out)),)


def sqrt_partials(b, args, out, active):
    return (b.emit("div", fconst(b, 0.5, out), out),)


def tanh_partials(b, args, out, active):
    return (b.emit("sub", fconst(b, 1.0, out), b.emit("mul", out, out)),)


def sinh_partials(b, args, out, active):
    return (b.emit("cosh", args[0]),)


def cosh_partials(b, args, out, active):
    return (b.emit("sinh", args[0]),)


def _one_minus_square_root(b, x, out):
    return b.emit("sqrt", b.emit("sub", fconst(b, 1.0, out), b.emit("mul", x, x)))


def arcsin_partials(b, args, out, active):
    return (b.emit("div", fconst(b, 1.0, out), _one_minus_square_root(b, args[0], out)),)


def arccos_partials(b, args, out, active):
    return (b.emit("div", fconst(b, -1.0, out), _one_minus_square_root(b, args[0], out)),)


def arctan_partials(b, args, out, active):
    x = args[0]
    return (b.emit("div", fconst(b, 1.0, out),
                   b.emit("add", fconst(b, 1.0, out), b.emit("mul", x, x))),)


def arctan2_partials(b, args, out, active):
    y, x = args
    r2 = b.emit("add", b.emit("mul", x, x), b.emit("mul", y, y))
    dy = b.emit("div", x, r2) if active[0] else None
    dx = b.emit("neg", b.emit("div", y, r2)) if active[1] else None
    return (dy, dx)


def hypot_partials(b, args, out, active):
    x, y = args
    return (b.emit("div", x, out) if active[0] else None,
            b.emit("div", y, out) if active[1] else None)


def abs_partials(b, args, out, active):
    return (b.emit("sign", args[0]),)


def _tie_split(b, first, second, out, strict):
    """1 where `first` wins strictly, 1/2 at a tie, 0 where it loses."""
    one, half, zero = fconst(b, 1.0, out), fconst(b, 0.5, out), fconst(b, 0.0, out)
    from adgen.primitives.nondiff import choose

    wins = b.emit(strict, first, second)
    tie = b.emit("eq", first, second)
    return choose(b, wins, one, choose(b, tie, half, zero))


def maximum_partials(b, args, out, active):
    x, y = args
    return (_tie_split(b, x, y, out, "gt") if active[0] else None,
            _tie_split(b, y, x, out, "gt") if active[1] else None)


def minimum_partials(b, args, out, active):
    x, y = args
    return (_tie_split(b, x, y, out, "lt") if active[0] else None,
            _tie_split(b, y, x, out, "lt") if active[1] else None)


def erf_partials(b, args, out, active):
    x = args[0]
    gauss = b.emit("exp", b.emit("neg", b.emit("mul", x, x)))
    return (b.emit("mul", fconst(b, 2.0 / math.sqrt(math.pi), out), gauss),)


def erfc_partials(b, args, out, active):
    x = args[0]
    gauss = b.emit("exp", b.emit("neg", b.emit("mul", x, x)))
    return (b.emit("mul", fconst(b, -2.0 / math.sqrt(math.pi), out), gauss),)


unary("sin", np.sin, sin_partials, "sin {0}", _names("math.sin", "numpy.sin"))
unary("cos", np.cos, cos_partials, "cos {0}", _names("math.cos", "numpy.cos"))
unary("tan", np.tan, tan_partials, "tan {0}", _names("math.tan", "numpy.tan"))
unary("exp", np.exp, exp_partials, "exp {0}", _names("math.exp", "numpy.exp"))
unary("log", np.log, log_partials, "ln {0}", _names("math.log", "numpy.log"))
unary("log2", np.log2, log2_partials, "log2 {0}", _names("math.log2", "numpy.log2"))
unary("log10", np.log10, log10_partials, "log10 {0}", _names("math.log10", "numpy.log10"))
unary("log1p", np.log1p, log1p_partials, "ln(1 + {0})", _names("math.log1p", "numpy.log1p"))
unary("expm1", np.expm1, expm1_partials, "exp {0} - 1", _names("math.expm1", "numpy.expm1"))
unary("exp2", np.exp2, exp2_partials, "2 ^ {0}", _names("numpy.exp2"))
unary("sqrt", np.sqrt, sqrt_partials, "sqrt {0}", _names("math.sqrt", "numpy.sqrt"))
unary("tanh", np.tanh, tanh_partials, "tanh {0}", _names("math.tanh", "numpy.tanh"))
unary("sinh", np.sinh, sinh_partials, "sinh {0}", _names("math.sinh", "numpy.sinh"))
unary("cosh", np.cosh, cosh_partials, "cosh {0}", _names("math.cosh", "numpy.cosh"))
unary("arcsin", np.arcsin, arcsin_partials, "arcsin {0}", _names("math.asin", "numpy.arcsin"))
unary("arccos", np.arccos, arccos_partials, "arccos {0}", _names("math.acos", "numpy.arccos"))
unary("arctan", np.arctan, arctan_partials, "arctan {0}", _names("math.atan", "numpy.arctan"))
unary("arctan2", np.arctan2, arctan2_partials, "arctan2({0}, {1})",
      _names("math.atan2", "numpy.arctan2"))
unary("hypot", np.hypot, hypot_partials, "hypot({0}, {1})", _names("math.hypot", "numpy.hypot"))
unary("abs", np.abs, abs_partials, "|{0}|", _names("builtins.abs", "numpy.abs",
                                                    "numpy.absolute", "math.fabs"),
      type_rule=signed_type)
unary("maximum", np.maximum, maximum_partials, "max({0}, {1})",
      _names("numpy.maximum", "builtins.max"), type_rule=same_type)
unary("minimum", np.minimum, minimum_partials, "min({0}, {1})",
      _names("numpy.minimum", "builtins.min"), type_rule=same_type)


def _erf(x):
    return np.vectorize(math.erf, otypes=[float])(x) if np.ndim(x) else math.erf(x)


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[float])(x) if np.ndim(x) else math.erfc(x)


unary("erf", _erf, erf_partials, "erf {0}", _names("math.erf"), emit_path="math.erf")
unary("erfc", _erfc, erfc_partials, "erfc {0}", _names("math.erfc"), emit_path="math.erfc")


def clip_partials(b, args, out, active):
    from adgen.primitives.nondiff import choose

    x, lo, hi = args
    one, zero = fconst(b, 1.0, out), fconst(b, 0.0, out)
    below, above = b.emit("lt", x, lo), b.emit("gt", x, hi)
    inside = b.emit("not", b.emit("or", below, above))
    return (choose(b, inside, one, zero) if active[0] else None,
            choose(b, below, one, zero) if active[1] else None,
            choose(b, above, one, zero) if active[2] else None)


def _clip(x, lo, hi):
    return np.clip(x, lo, hi)


def emit_clip(args, attrs):
    from adgen.ir.types import ArrayType
    from adgen.primitives.emit import call

    if any(isinstance(t, ArrayType) for t in attrs.get("_types", ())):
        return call("np.clip", args)
    return call("min", [call("max", args[:2]), args[2]])  # Numba has no scalar np.clip


scalar("clip", _clip, emit_clip, same_type, clip_partials, trace="clip({0}, {1}, {2})",
       python_names=("numpy.clip",))
