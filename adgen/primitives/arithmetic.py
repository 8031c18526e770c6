"""Arithmetic primitives: + - * / // % ** and negation, with their partials."""

from __future__ import annotations

import ast

import numpy as np

from adgen.primitives.derive import fconst, jvp_from_partials, vjp_from_partials
from adgen.primitives.emit import binop_emitter
from adgen.primitives.registry import Primitive, register
from adgen.primitives.typerules import arith_type, signed_type, truediv_type


def scalar(name, impl, emit, type_rule, partials=None, nondiff=False, trace=None,
           python_names=(), doc="", transcendental=False):
    """Declare a scalar element-wise primitive; its jvp/vjp come from `partials`.
    `transcendental`: a libm call of tens of cycles (reverse mode stores its results
    rather than recompute them: adgen/transforms/store.py)."""
    extra = {"elementwise": True, **({"transcendental": True} if transcendental else {})}
    prim = Primitive(name=name, type_rule=type_rule, impl=impl, emit=emit, partials=partials,
                     nondiff=nondiff, trace=trace, python_names=tuple(python_names), doc=doc,
                     extra=extra)
    if partials is not None:
        prim = Primitive(**{**prim.__dict__, "jvp": jvp_from_partials(prim),
                            "vjp": vjp_from_partials(prim)})
    return register(prim)


def add_partials(b, args, out, active):
    one = fconst(b, 1.0, out)
    return (one if active[0] else None, one if active[1] else None)


def sub_partials(b, args, out, active):
    return (fconst(b, 1.0, out) if active[0] else None,
            fconst(b, -1.0, out) if active[1] else None)


def mul_partials(b, args, out, active):
    x, y = args
    return (y if active[0] else None, x if active[1] else None)


def div_partials(b, args, out, active):
    x, y = args
    dx = b.emit("div", fconst(b, 1.0, out), y) if active[0] else None
    dy = b.emit("neg", b.emit("div", out, y)) if active[1] else None
    return (dx, dy)


def pow_partials(b, args, out, active):
    x, y = args
    dx = dy = None
    if active[0]:
        ym1 = b.emit("sub", y, fconst(b, 1.0, out))
        dx = b.emit("mul", y, b.emit("pow", x, ym1))
    if active[1]:  # d/dy x**y = x**y log x, and 0 at x == 0 (its limit; log 0 = -inf)
        from adgen.primitives.nondiff import choose

        at_zero = b.emit("eq", x, fconst(b, 0.0, out))
        dy = choose(b, at_zero, fconst(b, 0.0, out), b.emit("mul", out, b.emit("log", x)))
    return (dx, dy)


def mod_partials(b, args, out, active):
    x, y = args
    dx = fconst(b, 1.0, out) if active[0] else None
    dy = b.emit("neg", b.emit("floor", b.emit("div", x, y))) if active[1] else None
    return (dx, dy)


def neg_partials(b, args, out, active):
    return (fconst(b, -1.0, out),)


def _floor_divide(x, y):
    return np.floor_divide(x, y)


def _negative(x):
    return -x


scalar("add", np.add, binop_emitter(ast.Add), arith_type, add_partials, trace="{0} + {1}",
       doc="x + y")
scalar("sub", np.subtract, binop_emitter(ast.Sub), arith_type, sub_partials, trace="{0} - {1}",
       doc="x - y")
scalar("mul", np.multiply, binop_emitter(ast.Mult), arith_type, mul_partials,
       trace="{0} × {1}", doc="x * y")
scalar("div", np.true_divide, binop_emitter(ast.Div), truediv_type, div_partials,
       trace="{0} / {1}", doc="x / y")
scalar("pow", np.power, binop_emitter(ast.Pow), arith_type, pow_partials, trace="{0} ^ {1}",
       python_names=("builtins.pow", "math.pow", "numpy.power"), doc="x ** y",
       transcendental=True)
scalar("mod", np.mod, binop_emitter(ast.Mod), arith_type, mod_partials, trace="{0} mod {1}",
       python_names=("numpy.mod",), doc="x % y (Python's sign convention)")
scalar("floordiv", _floor_divide, binop_emitter(ast.FloorDiv), arith_type, nondiff=True,
       trace="{0} // {1}", python_names=("numpy.floor_divide",),
       doc="x // y: piecewise constant, derivative 0")


def emit_neg(args, attrs):
    return ast.UnaryOp(op=ast.USub(), operand=args[0])


scalar("neg", _negative, emit_neg, signed_type, neg_partials, trace="-{0}",
       python_names=("numpy.negative",), doc="-x")
