"""Primitives of the undo log (reverse mode through loops that write arrays).

These are the only impure primitives: they read and change the log, so they
are never merged, moved or removed by the simplification passes. Arrays keep
value semantics: `log_undo_to(a, log, mark)` yields the restored array.
"""

from __future__ import annotations


from adgen.errors import AdgenDerivativeError
from adgen.ir.types import I64, LOG
from adgen.primitives.emit import call
from adgen.primitives.registry import Primitive, Zero, register


def no_adjoint(b, op, *rest):
    raise AdgenDerivativeError(
        "reverse mode over reverse mode through a loop that writes an array is not supported "
        "yet; use forward over reverse (adgen.hessian, adgen.hvp)")


def log_jvp(b, op, tangents):
    """Forward mode mirrors the undo log: the tangents of the arrays are logged and undone
    in a tangent log, in lockstep with the primal one (so the same marks apply). Every log
    op is mirrored, even for a zero tangent, to keep the two logs aligned."""
    from adgen.primitives.arrays import materialize

    name = op.opcode
    if name == "log_new":
        return [b.emit("log_new", name="undo_log_dot")]
    if name == "log_len":
        return [Zero(op.result.type)]
    log_dot = tangents[0] if name == "log_write" else tangents[1]
    if isinstance(log_dot, Zero):
        raise AdgenDerivativeError("internal: an undo log without its tangent log")
    if name == "log_write":
        a = op.operands[1]
        b.emit("log_write", log_dot, materialize(b, tangents[1], a), *op.operands[2:], types=())
        return []
    a = op.operands[0]
    rest = op.operands[2:]
    return [b.emit(name, materialize(b, tangents[0], a), log_dot, *rest, name=a.name + "_dot")]


def _log_type(types, attrs):
    return (LOG,)


def _log_new_impl():
    return []


def _len_type(types, attrs):
    return (I64,)


def _array_type(types, attrs):
    return (types[0],)


def _no_result(types, attrs):
    return ()


def _support(name):
    def emit_support(args, attrs):
        return call(f"_adgen.{name}", args)

    emit_support.__name__ = f"emit_{name}"
    return emit_support


def _impl(name):
    def run_support(*args, **attrs):
        from adgen.codegen import support

        return getattr(support, name)(*args)

    run_support.__name__ = f"{name}_impl"
    return run_support


for _name, _rule, _nresults in (("log_new", _log_type, 1), ("log_len", _len_type, 1),
                                ("log_write", _no_result, 0),
                                ("log_undo_to", _array_type, 1),
                                ("log_undo_last", _array_type, 1)):
    register(Primitive(_name, _rule, _impl(_name), _support(_name), nresults=_nresults,
                       jvp=log_jvp, vjp=no_adjoint, pure=False, effect=True,
                       inplace_operand=0 if _name.startswith("log_undo") else None,
                       doc="undo log of reverse mode"))

