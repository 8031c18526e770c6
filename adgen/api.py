"""The public transforms: grad, value_and_grad, jvp, vjp, hessian.

Each returns a `Transformed` callable that specializes on the types of its
arguments at the first call (like a Numba dispatcher), generates and compiles
the derivative code, and caches it per signature. All work as decorators.
"""

from __future__ import annotations

import functools
import inspect
import threading
from dataclasses import dataclass

import numpy as np

from adgen.codegen.loader import BACKENDS, load_function
from adgen.codegen.python_source import TAPE_MEMORY_PARAM, module_source
from adgen.config import check_nans, verify_passes
from adgen.cuda.elementwise import is_device_array as _is_device_array
from adgen.errors import AdgenTypeError
from adgen.frontend.lower import lower_function
from adgen.frontend.source import unchanged
from adgen.ir.function import Function
from adgen.ir.types import BOOL, F32, F64, I64, ArrayType, Type, is_float
from adgen.transforms.fission import hoist_invariant_parts
from adgen.transforms.forward import differentiate_forward
from adgen.transforms.pipeline import SIMPLIFY, dump, simplify
from adgen.transforms.reverse import differentiate_reverse, prepare_reverse
from adgen.transforms.simplify.dce import eliminate_dead_code
from adgen.transforms.specialize import specialize

TRANSFORM_BACKENDS = BACKENDS + ("cuda",)  # "cuda": an array program (adgen.cuda.program)
KINDS = ("call", "grad", "value_and_grad", "jvp", "vjp", "hessian", "hvp")
VERSION = "0.1.0"


def argument_type(value, name: str) -> Type:
    """The IR type adgen specializes on for one argument value."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        if not -2 ** 63 <= int(value) < 2 ** 63:  # Numba could not type it
            raise AdgenTypeError(f"argument {name!r} is the integer {int(value)}, outside "
                                 "the int64 range adgen compiles for", name)
        return I64
    if isinstance(value, np.float32):
        return F32
    if isinstance(value, (float, np.float64)):
        return F64
    if isinstance(value, np.ndarray) or _is_device_array(value):  # numba.cuda's too
        if isinstance(value, (np.matrix, np.ma.MaskedArray)):
            # Their operators differ from ndarray's (`*` is a matrix product, masked
            # elements are skipped) and Numba ignores that: the backends would disagree.
            raise AdgenTypeError(f"argument {name!r} is a {type(value).__module__}."
                                 f"{type(value).__name__}; pass a plain array "
                                 "(np.asarray(...))", name)
        dtype = _array_dtype(value, name)
        if value.ndim == 0:
            raise AdgenTypeError(f"argument {name!r} is a 0-d array; pass a float "
                                 "(float(x)) or a 1-d array", name)
        return ArrayType(dtype, value.ndim)
    if isinstance(value, (list, tuple)):
        raise AdgenTypeError(f"argument {name!r} is a {type(value).__name__}; pass a NumPy "
                             "array (np.asarray(...))", name)
    raise AdgenTypeError(f"argument {name!r} has type {type(value).__name__}; expected a "
                         "float, int or bool", name)


_ARRAY_DTYPES = {np.dtype(np.float64): F64, np.dtype(np.float32): F32,
                 np.dtype(np.int64): I64, np.dtype(np.bool_): BOOL}


def _array_dtype(value, name: str) -> Type:
    if value.dtype not in _ARRAY_DTYPES:
        raise AdgenTypeError(f"argument {name!r} is an array of {value.dtype}; adgen takes "
                             "float64, float32, int64 or bool arrays (convert with "
                             ".astype)", name)
    return _ARRAY_DTYPES[value.dtype]


@dataclass(frozen=True)
class Static:
    """A static argument's value in a signature: generated code is specialized on it
    (a new compilation per value, as JAX's static_argnums)."""

    value: object
    type: Type

    @staticmethod
    def of(value, name: str) -> "Static":
        if isinstance(value, np.ndarray) or not isinstance(value, (bool, int, float,
                                                                     np.number)):
            raise AdgenTypeError(f"static argument {name!r} must be a number, got "
                                 f"{type(value).__name__}", name)
        t = argument_type(value, name)
        return Static(float(value) if is_float(t) else int(value) if t == I64 else
                      bool(value), t)

    def __str__(self) -> str:
        return f"{self.type}={self.value!r}"


def _bind_static(fn: Function, types) -> Function:
    """`fn` with each static parameter's uses replaced by its value (the parameter stays,
    unused, so that argument positions do not move)."""
    from adgen.ir.builder import Builder, NameTable
    from adgen.transforms.clone import Scope, clone_op
    from adgen.transforms.specialize import all_names

    if not any(isinstance(t, Static) for t in types):
        return fn
    b = Builder(NameTable(all_names(fn)), fn.loc)
    scope = Scope()
    for param, t in zip(fn.params, types):
        if isinstance(t, Static):
            scope.subst[param.name] = b.const(t.value, t.type, name=param.name)
    for op in fn.body.ops:
        b.append(clone_op(op, scope, b.names, False))
    body = b.finish_region(fn.params, [scope.map(v) for v in fn.returns])
    return Function(fn.name, body, fn.loc, fn.tuple_return)


class TapeMemory:
    """Calls a generated derivative with the memory its tapes take (`tape_memory`), kept
    from one call to the next, one per thread: large tapes would otherwise be new memory
    on every call, which the operating system hands out page by page (page faults that
    cost as much as the gradient at the benchmark's sizes). The memory grows to the
    largest call's tapes and is kept while the transform is.

    Example:
        >>> # TapeMemory(dispatcher)(x, y)  calls  dispatcher(x, y, (arena, counters))
    """

    def __init__(self, func):
        self.func = func
        self.local = threading.local()

    def __call__(self, *args):
        local = self.local
        memory = getattr(local, "memory", None)
        if memory is None:
            memory = local.memory = (np.empty(0), np.zeros(1, dtype=np.int64))
        memory[1][0] = 0
        out = self.func(*args, memory)
        if memory[1][0] > memory[0].shape[0]:  # this call's tapes did not fit: next time
            local.memory = (np.empty(int(memory[1][0])), memory[1])
        return out


class Compiled:
    """One specialization: its IR, its Python source and the compiled callable."""

    def __init__(self, ir: Function, source: str, func, base_tuple: bool, sources=()):
        self.ir = ir
        self.source = source
        self.func = func
        # what adgen calls: with the tape memory it keeps for the function, where it has one
        self.call = TapeMemory(func) if TAPE_MEMORY_PARAM in source else func
        self.base_tuple = base_tuple  # whether the transformed function returns a tuple
        self.sources = sources  # stamps of the source files it was made from


class Transformed:
    """A transform of a Python function (or of another `Transformed`).

    Example:
        >>> import math
        >>> def f(x):
        ...     return math.sin(x) * x
        >>> df = grad(f, backend="python")   # doctest: +SKIP
        >>> df(1.0)                           # doctest: +SKIP
        1.3817732906760363
    """

    def __init__(self, fn, kind: str, argnums=0, backend: str = "numba", static_argnums=(),
                 memory_budget=None, atomics: bool = False):
        if kind not in KINDS:
            raise ValueError(f"unknown transform {kind!r}")
        if backend not in TRANSFORM_BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {TRANSFORM_BACKENDS}")
        if atomics and backend != "cuda":
            raise ValueError("atomics=True applies to backend=\"cuda\" (its reductions)")
        self.atomics = atomics
        self.fn = fn
        self.kind = kind
        self.adgen_transform = True  # callable inside differentiated code (transforms/nested)
        self.single = isinstance(argnums, int)
        self.argnums = (argnums,) if self.single else tuple(argnums)
        if not self.argnums and kind != "call":
            raise ValueError("argnums must name at least one argument")
        self.static = (static_argnums,) if isinstance(static_argnums, int) else tuple(
            static_argnums)
        if set(self.static) & set(self.argnums):
            raise ValueError(f"an argument cannot be both differentiated (argnums="
                             f"{self.argnums}) and static (static_argnums={self.static})")
        self.backend = backend
        self.memory_budget = None
        if memory_budget is not None:
            if kind not in ("grad", "value_and_grad", "vjp"):
                raise ValueError(f"memory_budget applies to reverse mode (grad, value_and_grad,"
                                 f" vjp), not to {kind}")
            from adgen.transforms.checkpoint import parse_budget

            self.memory_budget = parse_budget(memory_budget)
        self.cache: dict[tuple, Compiled] = {}
        self.lock = threading.Lock()
        self._signature = inspect.signature(self.python_function)
        functools.update_wrapper(self, self.python_function, updated=())

    @property
    def python_function(self):
        fn = self.fn
        while isinstance(fn, Transformed):
            fn = fn.fn
        fn = getattr(fn, "fun", fn)  # adgen.custom_jvp / custom_vjp
        return getattr(fn, "py_func", fn)

    @property
    def user_primitive(self) -> str | None:
        """The user primitive this transforms, when `fn` is registered as one: its rules,
        not its implementation's body, are what gets differentiated."""
        from adgen.extend import user_primitive_of

        fn = self.fn
        while isinstance(fn, Transformed):
            fn = fn.fn
        return user_primitive_of(fn)

    @property
    def n_params(self) -> int:
        return len(self._signature.parameters)

    def __repr__(self) -> str:
        static = f" static_argnums={self.static}" if self.static else ""
        return f"<adgen.{self.kind} of {self.__name__} argnums={self.argnums}{static}>"

    # arguments --------------------------------------------------------------------------
    def bind(self, args, kwargs) -> list:
        """Primal arguments with defaults filled in."""
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return list(bound.args)

    def arg_types(self, args) -> tuple:
        names = list(self._signature.parameters)
        for i in self.argnums:
            if not 0 <= i < len(args):
                raise AdgenTypeError(f"argnums {i} is out of range for {len(args)} arguments")
        for i in self.static:
            if not 0 <= i < len(args):
                raise AdgenTypeError(f"static_argnums {i} is out of range for {len(args)} "
                                     "arguments")
        return tuple(Static.of(a, n) if i in self.static else argument_type(a, n)
                     for i, (a, n) in enumerate(zip(args, names)))

    # IR ----------------------------------------------------------------------------------
    def base_ir(self, types) -> Function:
        """The typed IR of the function being transformed."""
        if isinstance(self.fn, Transformed):
            return self.fn.transformed_ir(types)
        plain = tuple(t.type if isinstance(t, Static) else t for t in types)
        if self.user_primitive is not None:
            from adgen.extend import call_ir

            return call_ir(self.user_primitive, self.python_function, plain)
        return _bind_static(specialize(_untyped_ir(self.python_function), plain), types)

    def transformed_ir(self, types) -> Function:
        """The typed IR of this transform, before simplification."""
        base = dump("specialize", self.base_ir(types))
        if self.kind != "call":  # dead loop-carried values would only cost tapes
            base = eliminate_dead_code(base)
            if self.backend != "cuda":  # inner loops' work done once per enclosing loop
                base = dump("fission", hoist_invariant_parts(base))
        self._base_tuple = base.tuple_return
        wrt = self.argnums
        for i in wrt:
            if self.kind != "call" and not is_float(base.params[i].type):
                name = base.params[i].name
                raise AdgenTypeError(f"cannot differentiate with respect to argument {name!r} "
                                     f"of type {base.params[i].type}; pass a float", name)
        if self.kind == "call":
            return base
        if self.kind != "jvp":  # what reverse mode follows element by element, by slot
            base = dump("scalarize", prepare_reverse(base))
        if self.memory_budget is not None:
            from adgen.transforms.checkpoint import checkpoint_loops

            base = dump("checkpoint", checkpoint_loops(base, self.memory_budget))
        if self.kind in ("grad", "value_and_grad", "hessian", "hvp"):
            if len(base.returns) != 1 or not is_float(base.returns[0].type):
                raise AdgenTypeError(f"{self.kind} needs a function returning one float; "
                                     f"{base.name} returns {len(base.returns)} value(s)")
        if self.kind == "jvp":
            ir = differentiate_forward(base, wrt)
            return dump("forward", ir)
        if self.kind == "vjp":
            return dump("reverse", differentiate_reverse(base, wrt, True, True))
        keep = self.kind == "value_and_grad"
        ir = dump("reverse", differentiate_reverse(base, wrt, False, keep))
        if self.kind == "grad" and self.single:
            ir = Function(ir.name, ir.body, ir.loc, False)
        if self.kind in ("hessian", "hvp"):
            ir = dump("forward", differentiate_forward(ir, wrt))
        return ir

    def compile(self, types) -> Compiled:
        nan_checks = check_nans()  # adgen.config(check_nans=True): other code, other entry
        key = (types, "check_nans") if nan_checks else types
        with self.lock:
            hit = self.cache.get(key)
            if hit is not None and unchanged(hit.sources):
                return hit
            # Stamped before the IR is built, so an edit from now on recompiles.
            sources = () if self.user_primitive else _lowered(self.python_function)[0]
            ir = simplify(self.transformed_ir(types), check=verify_passes())
            name = f"{self.python_function.__name__}_{self.kind}"
            header = [f"Generated by adgen {VERSION}; edits are overwritten.",
                      f"source: {self.python_function.__qualname__} "
                      f"({inspect.getsourcefile(self.python_function)}:"
                      f"{self.python_function.__code__.co_firstlineno})",
                      f"transform: {self.description(ir)}",
                      "signature: (" + ", ".join(str(t) for t in types) + ")",
                      f"passes: specialize, {self.pass_names()}, "
                      + ", ".join(name for name, _ in SIMPLIFY)]
            if self.backend == "cuda":  # the python back end's source, as an array program
                from adgen.cuda.program import array_variables, program_source

                numpy_source = module_source(ir, name, header, "python")
                source = program_source(numpy_source, name, array_variables(ir), self.atomics)
                func = load_function(source, name + "_cuda", name, "python")
            else:
                source = module_source(ir, name, header, self.backend, check_nans=nan_checks,
                                       tape_memory=True)
                func = load_function(source, name, name, self.backend)
            compiled = Compiled(ir, source, func, self._base_tuple, sources)
            self.cache[key] = compiled
            return compiled

    def compiled(self, *example_args, **kwargs):
        """The generated function for these argument types, as generated: on the numba
        backend a Numba dispatcher, which your own `numba.njit` code can call.

        It takes the primal arguments (then the tangents of a jvp/hvp, the cotangents of
        a vjp) and returns a flat result: the gradient (a tuple of them for a tuple
        `argnums`), `(value, *grads)` for value_and_grad, `(*outputs, *tangents)` for jvp.

        Example:
            >>> # dfdx = adgen.grad(f).compiled(1.0)
            >>> # @numba.njit
            >>> # def descend(x):
            >>> #     for _ in range(100):
            >>> #         x -= 0.1 * dfdx(x)
            >>> #     return x
        """
        args = self.bind(list(example_args)[:self.n_params], kwargs)
        return self.compile(self.arg_types(args)).func

    def pass_names(self) -> str:
        names = {"call": "none", "grad": "reverse", "value_and_grad": "reverse",
                 "jvp": "forward", "vjp": "reverse", "hessian": "reverse, forward",
                 "hvp": "reverse, forward"}[self.kind]
        return names if self.memory_budget is None else "checkpoint, " + names

    def description(self, ir: Function) -> str:
        names = [list(self._signature.parameters)[i] for i in self.argnums]
        mode = {"call": "none", "grad": "gradient (reverse mode)",
                "value_and_grad": "value and gradient (reverse mode)",
                "jvp": "Jacobian-vector product (forward mode)",
                "vjp": "vector-Jacobian product (reverse mode)",
                "hessian": "Hessian (forward over reverse)",
                "hvp": "Hessian-vector product (forward over reverse)"}[self.kind]
        return f"{mode} w.r.t. {', '.join(names)}"

    # calling ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        extra = {"jvp": len(self.argnums), "vjp": 1, "hvp": len(self.argnums)}.get(self.kind, 0)
        if extra:
            if kwargs:
                raise TypeError(f"{self.kind} takes positional arguments only")
            primal, rest = list(args[:len(args) - extra]), list(args[len(args) - extra:])
            if len(rest) != extra:
                raise TypeError(f"{self.kind} needs {extra} extra argument(s) after the "
                                "primal ones")
        else:
            primal, rest = list(args), []
        primal = self.bind(primal, kwargs)
        types = self.arg_types(primal)
        compiled = self.compile(types)
        try:
            if self.backend == "python":
                # IEEE semantics as under Numba (error_model="numpy"): 1/0 is inf, not an
                # error.
                primal = [np.float64(a) if type(a) is float else a for a in primal]
                with np.errstate(all="ignore"):
                    out = self.finish(compiled, primal, rest)
            else:
                out = self.finish(compiled, primal, rest)
        except ValueError as exc:  # NumPy's or Numba's shape errors, from generated code
            names = list(self._signature.parameters)
            shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, primal)
                               if isinstance(a, np.ndarray))
            raise AdgenTypeError(f"{self.__name__}: arrays of incompatible shapes ({shapes}):"
                                 f" {exc}") from exc
        return _unaliased(out, list(primal) + list(rest))

    def finish(self, compiled: Compiled, primal, rest):
        func, k = compiled.call, len(self.argnums)
        pick = self._pick
        if self.kind == "call":
            return func(*primal)
        if self.kind == "grad":
            return func(*primal)
        if self.kind == "value_and_grad":
            out = func(*primal)
            return out[0], pick(out[1:])
        if self.kind == "jvp":
            tangents = [_like(t, primal[i], "tangent") for t, i in zip(rest, self.argnums)]
            out = func(*primal, *tangents)
            n = len(out) // 2
            if compiled.base_tuple:
                return tuple(out[:n]), tuple(out[n:])
            return out[0], out[1]
        if self.kind == "vjp":
            (cotangent,) = rest
            n_out = len(compiled.ir.returns) - k
            cts = list(cotangent) if isinstance(cotangent, (tuple, list)) else [cotangent]
            if len(cts) != n_out:
                raise AdgenTypeError(f"vjp expects {n_out} cotangent(s), got {len(cts)}",
                                     "cotangent")
            outs = compiled.ir.returns[:n_out]
            out = func(*primal, *[_like_type(c, v.type, "cotangent") for c, v in zip(cts, outs)])
            values = tuple(out[:n_out])
            for value, c in zip(values, cts):
                if np.shape(c) != np.shape(value):
                    raise AdgenTypeError(f"cotangent has shape {np.shape(c)}, the output "
                                         f"{np.shape(value)}", "cotangent")
            return (values if compiled.base_tuple else values[0]), pick(out[n_out:])
        if self.kind == "hvp":
            tangents = [_like(t, primal[i], "tangent") for t, i in zip(rest, self.argnums)]
            out = func(*primal, *tangents)
            return self._pick(out[k:])
        return self.hessian_blocks(func, primal)

    def hessian_blocks(self, func, primal):
        """H[i][j] = d^2 f / d x_i d x_j, one forward-over-reverse sweep per input element."""
        k = len(self.argnums)
        inputs = [primal[i] for i in self.argnums]
        shapes = [np.shape(x) for x in inputs]
        blocks = [[np.zeros(shapes[i] + shapes[j]) for j in range(k)] for i in range(k)]
        for j in range(k):
            for index in np.ndindex(shapes[j]):
                seeds = [_zeros_like(x) for x in inputs]
                if shapes[j]:
                    seeds[j][index] = 1.0
                else:
                    seeds[j] = np.float64(1.0)
                out = func(*primal, *seeds)
                for i in range(k):
                    blocks[i][j][(Ellipsis,) + index] = _on_host(out[k + i])
        if self.single:
            block = blocks[0][0]
            return float(block) if block.ndim == 0 else block
        return tuple(tuple(float(b) if b.ndim == 0 else b for b in row) for row in blocks)

    def _pick(self, grads):
        grads = tuple(grads)
        return grads[0] if self.single else grads



def _unaliased(out, inputs):
    """`out` with every array that is one of the caller's arrays, or that appears twice,
    replaced by a copy (generated code may return an input as it is: d(x @ y)/dx = y)."""
    seen = {id(a) for a in inputs if isinstance(a, np.ndarray) or _is_device_array(a)}
    seen |= {id(b) for a in inputs if isinstance(a, tuple) for b in a}

    def fresh(value):
        if isinstance(value, tuple):
            return tuple(fresh(v) for v in value)
        if isinstance(value, np.ndarray) or _is_device_array(value):
            if id(value) in seen:
                return _copy_array(value)
            seen.add(id(value))
        return value

    return fresh(out)


def _copy_array(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    from adgen.cuda.ops import copy_of

    return copy_of(a)


def _zeros_like(x):
    if isinstance(x, np.ndarray) or _is_device_array(x):
        return np.zeros(x.shape, dtype=np.float64)
    return np.float64(0.0)


def _on_host(x):
    """A device array (the cuda back end's results) copied to the host."""
    return x.copy_to_host() if _is_device_array(x) else x


def _real(value, what, dtype, ndim=None):
    """`value` (a tangent or cotangent) as a real array of `dtype`, a view of the caller's
    array where no conversion is needed; AdgenTypeError naming `what` for a value that is
    not real numbers (complex, None, strings, ragged lists: never silently truncated or
    turned into NaN) or, for `ndim=0`, not a scalar."""
    try:
        out = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise AdgenTypeError(f"{what} is not a number or an array of numbers ({error})",
                             what) from None
    if out.dtype.kind not in "biuf":
        kind = type(value).__name__ if out.dtype.kind == "O" else f"{out.dtype}"
        raise AdgenTypeError(f"{what} has type {kind}; expected real numbers (float, int "
                             "or bool)", what)
    if ndim == 0 and out.ndim:
        raise AdgenTypeError(f"{what} has shape {out.shape}, expected a scalar", what)
    return out.astype(dtype, copy=False)


def _like(value, primal, what):
    """`value` converted to match the primal argument it is a tangent of."""
    if _is_device_array(primal) and _is_device_array(value):  # the cuda back end's
        if tuple(value.shape) != tuple(primal.shape):
            raise AdgenTypeError(f"{what} has shape {tuple(value.shape)}, expected "
                                 f"{tuple(primal.shape)}", what)
        return value
    if isinstance(primal, np.ndarray) or _is_device_array(primal):
        out = _real(value, what, primal.dtype)
        if out.shape != primal.shape:
            raise AdgenTypeError(f"{what} has shape {out.shape}, expected {primal.shape}", what)
        return out
    return np.float64(_real(value, what, np.float64, ndim=0))


def _like_type(value, t, what):
    """`value` converted to the IR type `t` (a cotangent of an output)."""
    if isinstance(t, ArrayType):
        from adgen.ir.types import NUMPY_DTYPES

        out = _real(value, what, NUMPY_DTYPES[t.dtype.name])
        if out.ndim != t.ndim:
            raise AdgenTypeError(f"{what} has rank {out.ndim}, expected {t.ndim}", what)
        return out
    return np.float64(_real(value, what, np.float64, ndim=0))


_LOWERED: dict = {}  # fn -> (stamps of the files read, untyped IR)


def _lowered(fn) -> tuple:
    """(source stamps, untyped IR) of `fn`, re-lowered when its file or the file of a
    function it calls changes (a race only lowers twice)."""
    hit = _LOWERED.get(fn)
    if hit is None or not unchanged(hit[0]):
        sources: set = set()
        ir = lower_function(fn, sources)
        hit = _LOWERED[fn] = (tuple(sorted(sources)), ir)
    return hit


def _untyped_ir(fn) -> Function:
    """The untyped IR of `fn`, re-lowered when a source file it was read from changes."""
    return _lowered(fn)[1]


def _transform(kind):
    def make(fn=None, argnums=0, backend="numba", static_argnums=(), **options):
        if fn is None:
            return functools.partial(make, argnums=argnums, backend=backend,
                                     static_argnums=static_argnums, **options)
        return Transformed(fn, kind, argnums, backend, static_argnums, **options)

    make.__name__ = kind
    return make


grad = _transform("grad")
grad.__doc__ = """Gradient of a scalar function, by reverse mode (as `jax.grad`).

`memory_budget="200MB"` (also on value_and_grad and vjp) checkpoints long loops so
that their tapes fit: each top-level loop keeps as many snapshots of its carried values
as the budget holds and recomputes the steps in between on the binomial schedule of
revolve (adgen/transforms/revolve.py); no annotation in the function.

Example:
    >>> import math
    >>> def f(x1, x2):
    ...     return math.log(x1) + x1 * x2 - math.sin(x2)
    >>> grad(f, argnums=(0, 1))(2.0, 5.0)   # doctest: +SKIP
    (5.5, 1.7163378145367738)
"""
value_and_grad = _transform("value_and_grad")
value_and_grad.__doc__ = """Value and gradient of a scalar function: vg(*args) -> (value, grads).

Example:
    >>> # value_and_grad(f)(2.0, 5.0) -> (11.652071455223084, 5.5)
"""
jvp = _transform("jvp")
jvp.__doc__ = """Forward mode: fj(*args, *tangents) -> (value, tangent), one tangent per argnum.

Example:
    >>> # jvp(f, argnums=(0, 1))(2.0, 5.0, 1.0, 0.0) -> (11.652..., 5.5)
"""
vjp = _transform("vjp")
vjp.__doc__ = """Reverse mode with a cotangent: fv(*args, cotangent) -> (value, grads).

Example:
    >>> # vjp(f)(2.0, 5.0, 1.0) -> (11.652..., 5.5)
"""
hessian = _transform("hessian")
jit = _transform("call")
jit.__doc__ = """`f` itself compiled through adgen (no derivative), as `jax.jit`: the same
specialization, cache and backends as the transforms; for evaluating a model.

Example:
    >>> # fast_predict = adgen.jit(predict); fast_predict(W, X)
"""
hvp = _transform("hvp")
hvp.__doc__ = """Hessian-vector product without forming the Hessian: hv(*args, *v) -> H v.

One forward-over-reverse sweep (the directional derivative of the gradient along v);
one `v` per argnum, shaped like that argument.

Example:
    >>> # hvp(f, argnums=0)(x, v) -> np.ndarray shaped like x
"""
hessian.__doc__ = """Hessian of a scalar function, forward over reverse (as `jax.hessian`).

Example:
    >>> # hessian(f, argnums=(0, 1))(2.0, 5.0) -> ((-0.25, 1.0), (1.0, 0.9589...))
"""


def source(transformed, *example_args, **kwargs) -> str:
    """The generated Python source of `transformed` for these example arguments.

    Example:
        >>> # print(adgen.source(adgen.grad(f), 2.0, 5.0))
    """
    if not isinstance(transformed, Transformed):
        transformed = Transformed(transformed, "call", (), "python")
    args = transformed.bind(list(example_args)[:transformed.n_params], kwargs)
    return transformed.compile(transformed.arg_types(args)).source


def ir(f, *example_args, **kwargs) -> str:
    """The IR text of `f` (or of a transform of it) specialized on the example arguments.

    Example:
        >>> # print(adgen.ir(f, 2.0, 5.0))
    """
    from adgen.ir.printer import print_function

    transformed = f if isinstance(f, Transformed) else Transformed(f, "call", (), "python")
    args = transformed.bind(list(example_args)[:transformed.n_params], kwargs)
    fn = transformed.transformed_ir(transformed.arg_types(args))
    if transformed.kind != "call":
        fn = simplify(fn)
    return print_function(fn)


class Jacobian:
    """The Jacobian of `f` w.r.t. `argnums`, shaped out.shape + in.shape (as `jax.jacobian`).

    `mode="fwd"` builds it column by column with forward mode (one jvp per input
    element), `"rev"` row by row with reverse mode (one vjp per output element),
    `"auto"` picks forward mode when there are fewer inputs than outputs.
    """

    def __init__(self, fn, argnums=0, mode="auto", backend="numba"):
        if mode not in ("auto", "fwd", "rev"):
            raise ValueError(f"mode must be 'auto', 'fwd' or 'rev', not {mode!r}")
        self.mode = mode
        self.adgen_transform = True  # callable inside differentiated code (transforms/nested)
        self.single = isinstance(argnums, int)
        self.argnums = (argnums,) if self.single else tuple(argnums)
        self.forward = Transformed(fn, "jvp", self.argnums, backend)
        self.reverse = Transformed(fn, "vjp", self.argnums, backend)
        functools.update_wrapper(self, self.forward.python_function, updated=())

    def __call__(self, *args):
        primal = self.forward.bind(list(args), {})
        inputs = [primal[i] for i in self.argnums]
        value, _ = self.forward(*primal, *[_zeros_like(x) for x in inputs])
        outputs = list(value) if isinstance(value, tuple) else [value]
        n_in = sum(max(np.size(x), 1) for x in inputs)
        n_out = sum(max(np.size(v), 1) for v in outputs)
        mode = self.mode
        if mode == "auto":
            mode = "fwd" if n_in < n_out else "rev"
        # blocks[o][j]: d output o / d input j, shaped out_o.shape + in_j.shape
        blocks = [[np.zeros(np.shape(v) + np.shape(x)) for x in inputs] for v in outputs]
        if mode == "fwd":
            for j, x in enumerate(inputs):
                for index in np.ndindex(np.shape(x)):
                    seeds = [_zeros_like(t) for t in inputs]
                    seeds[j] = _unit(x, index)
                    _, tangent = self.forward(*primal, *seeds)
                    tangents = tangent if isinstance(value, tuple) else (tangent,)
                    for o, t in enumerate(tangents):
                        blocks[o][j][(Ellipsis,) + index] = t
        else:
            for o, v in enumerate(outputs):
                for index in np.ndindex(np.shape(v)):
                    cts = [_zeros_like(w) for w in outputs]
                    cts[o] = _unit(v, index)
                    cotangent = tuple(cts) if isinstance(value, tuple) else cts[0]
                    _, grads = self.reverse(*primal, cotangent)  # a tuple: argnums is a tuple
                    for j, g in enumerate(grads):
                        blocks[o][j][index] = g
        result = [[float(b) if b.ndim == 0 else b for b in row] for row in blocks]
        per_output = [row[0] if self.single else tuple(row) for row in result]
        return tuple(per_output) if isinstance(value, tuple) else per_output[0]


def _unit(like, index):
    """A one-hot array shaped like `like` (or 1.0 for a scalar)."""
    if not np.shape(like):
        return np.float64(1.0)
    out = np.zeros(np.shape(like))
    out[index] = 1.0
    return out


def jacobian(fn=None, argnums=0, mode="auto", backend="numba"):
    """Jacobian of `fn` (as `jax.jacobian`): J[out_index + in_index].

    Example:
        >>> import numpy as np
        >>> def f(x):
        ...     return np.sin(x) * x[0]
        >>> J = jacobian(f, mode="rev", backend="python")(np.array([1.0, 2.0]))  # doctest: +SKIP
    """
    if fn is None:
        return functools.partial(jacobian, argnums=argnums, mode=mode, backend=backend)
    return Jacobian(fn, argnums, mode, backend)
