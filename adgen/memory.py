"""`adgen.memory_report`: what a reverse-mode derivative keeps on its tapes.

Reverse mode stores, for each loop, the carried values its reverse sweep needs
(one tape entry per iteration, preallocated for `for` loops, growable for
`while` loops; under `memory_budget=`, a checkpointed loop's snapshots instead,
`<value>_snapshot_tape` and the steps they hold, `snapshot_step_tape`), and logs
the old elements of arrays written in place. The
report reads the tapes off the derivative IR, before anything runs: their
shapes are computed from the example arguments by evaluating only the ops the
tape sizes depend on (trip counts, array dimensions), never the function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adgen.errors import AdgenTypeError
from adgen.ir.function import Function
from adgen.ir.interpret import run_op
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.tapes import grown_tapes, is_tape_allocation
from adgen.ir.types import NUMPY_DTYPES, ArrayType, scalar_of
from adgen.transforms.entries import COUNTS_ENTRIES


@dataclass(frozen=True)
class TapeEntry:
    """One tape of the forward sweep.

    `entries` is the loop's trip count, or the number of snapshots of a checkpointed
    loop (the snapshot tapes), None for a growable tape; `entry_shape`
    the shape of one entry (() for a scalar), `loops` the source lines of the
    loops the tape is allocated inside (allocated anew on each of their
    iterations, so one instance is live at a time).
    """

    name: str
    line: int | None
    dtype: str
    entry_shape: tuple | None
    entries: int | None
    loops: tuple

    @property
    def bytes_per_entry(self) -> int | None:
        if self.entry_shape is None:
            return None
        return int(np.dtype(NUMPY_DTYPES[self.dtype]).itemsize * int(np.prod(self.entry_shape)))

    @property
    def bytes(self) -> int | None:
        """Bytes of one instance (None where the size is only known at run time)."""
        if self.entries is None or self.bytes_per_entry is None:
            return None
        return self.entries * self.bytes_per_entry

    @property
    def growable(self) -> bool:
        return self.entries is None


@dataclass(frozen=True)
class MemoryReport:
    """The tapes of one specialization, and an estimate of their peak."""

    function: str
    tapes: tuple
    undo_logs: int  # arrays written in place whose old elements are logged (growable)

    @property
    def peak_bytes(self) -> int:
        """All tapes alive at once: one instance of each, known sizes only."""
        return sum(t.bytes for t in self.tapes if t.bytes is not None)

    def __str__(self) -> str:
        width = max([16] + [len(t.name) + 2 for t in self.tapes])
        rows = [f"memory report: {self.function}",
                f"{'tape':<{width}}{'loop line':>10}{'entry':>14}{'bytes/entry':>12}"
                f"{'entries':>12}{'bytes':>14}"]
        for t in self.tapes:
            shape = "scalar" if t.entry_shape == () else str(t.entry_shape)
            rows.append(f"{t.name:<{width}}{str(t.line):>10}{shape:>14}"
                        f"{_fmt(t.bytes_per_entry):>12}"
                        f"{('growable' if t.growable else str(t.entries)):>12}"
                        f"{_fmt(t.bytes):>14}"
                        + (f"  (inside the loop(s) at line {', '.join(map(str, t.loops))})"
                           if t.loops else ""))
        rows.append(f"peak estimate: {_human(self.peak_bytes)}"
                    + (f"; plus {self.undo_logs} growable undo log(s) of in-place writes"
                       if self.undo_logs else "")
                    + ("; plus growable tapes of while loops"
                       if any(t.growable for t in self.tapes) else ""))
        return "\n".join(rows)


def _fmt(n) -> str:
    return "?" if n is None else f"{n:,}"


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


class _Sizes:
    """Evaluates the values tape sizes depend on, from the example arguments alone.

    Only straight-line ops are evaluated (never a loop or a branch); a loop-carried
    array has the shape of its initial value (a tape's entries all share one shape),
    so the shape of a carried array is read off the array the loop starts from.
    """

    def __init__(self, fn: Function, args):
        self.env = {p.name: a for p, a in zip(fn.params, args)}
        self.defining: dict[str, Op] = {}
        self.initial: dict[str, object] = {}  # loop-carried region arg -> its initial value
        self.first_index: dict[str, object] = {}  # loop variable -> the loop's start
        for op in walk_ops(fn.body):
            for r in op.results:
                self.defining[r.name] = op
            if op.opcode == "for":
                pairs = [*zip(op.regions[0].args[1:], op.operands[3:]),
                         *zip(op.results, op.operands[3:])]
                # a tape allocated inside a loop is sized as on the loop's first iteration
                self.first_index[op.regions[0].args[0].name] = op.operands[0]
            elif op.opcode == "while":
                pairs = [(a, v) for r in op.regions for a, v in zip(r.args, op.operands)]
                pairs += list(zip(op.results, op.operands))
            else:
                continue
            for arg, init in pairs:
                self.initial[arg.name] = init

    def shape_source(self, v):
        """The value whose shape `v` has: `v`, or the initial value of a carried array."""
        seen = set()
        while v.name in self.initial and v.name not in seen:
            seen.add(v.name)
            v = self.initial[v.name]
        return v

    def shape(self, v, depth: int = 0):
        """The shape of array `v`, where its value is unknown too: a carried array has its
        initial value's shape, an entry `a[k]` of a tape has the tape's shape less one axis."""
        v = self.shape_source(v)
        known = self.value(v, depth)
        if known is not None:
            return np.shape(known)
        op = self.defining.get(v.name)
        if op is None or op.regions or depth > 200:
            return None
        if op.opcode == "getitem" and all(kind == "i" for kind in op.attr("index", ("i",))):
            base = self.shape(op.operands[0], depth + 1)
            return None if base is None else base[len(op.operands) - 1:]
        # Evaluate the op on stand-ins: zeros of the known shape for arrays, 0.0 for floats
        # (neither decides a result's shape); an unknown integer may, so it stops here.
        stand_ins = []
        for o in op.operands:
            known = self.value(o, depth + 1)
            if known is None and isinstance(o.type, ArrayType):
                shape = self.shape(o, depth + 1)
                if shape is None:
                    return None
                known = np.zeros(shape)
            elif known is None and getattr(o.type, "name", None) in ("f64", "f32"):
                known = 0.0
            if known is None:
                return None
            stand_ins.append(known)
        from adgen.primitives import registry

        prim = registry.get(op.opcode)
        try:
            with np.errstate(all="ignore"):
                out = prim.impl(*stand_ins, **dict(op.attrs))
        except Exception:
            return None
        if prim.nresults > 1:
            out = out[[r.name for r in op.results].index(v.name)]
        return np.shape(out)

    def value(self, v, depth: int = 0):
        """The value of `v`, or None where it depends on a loop variable or on a branch."""
        if v.name in self.env:
            return self.env[v.name]
        if v.name in self.first_index:
            return self.value(self.first_index[v.name], depth + 1)
        op = self.defining.get(v.name)
        if op is not None and op.attr(COUNTS_ENTRIES, False) and depth <= 200:
            return self.count(op, v, depth)
        if op is None or op.regions or depth > 200:
            return None
        if op.opcode in ("dim", "size"):
            shape = self.shape(op.operands[0], depth + 1)
            if shape is None:
                return None
            out = shape[op.attr("axis")] if op.opcode == "dim" else int(np.prod(shape))
            self.env[v.name] = out
            return out
        operands = [self.value(o, depth + 1) for o in op.operands]
        if any(o is None for o in operands):
            return None
        from adgen.primitives import registry

        prim = registry.get(op.opcode)
        with np.errstate(all="ignore"):
            out = prim.impl(*operands, **dict(op.attrs))
        if prim.nresults > 1:
            for r, o in zip(op.results, out):
                self.env[r.name] = o
            return self.env[v.name]
        self.env[v.name] = out
        return out


    def count(self, op: Op, v, depth: int):
        """The result of a loop that counts a tape's entries (`transforms/entries.py`):
        it reads only integers known on entry to the nest, so it is run here."""
        inside = {a.name for r in op.regions for a in r.args}
        inside.update(r.name for o in walk_ops(op.regions[0]) for r in o.results)
        free = {u.name: u for o in [op, *walk_ops(op.regions[0])] for u in o.operands
                if u.name not in inside}
        free.update({u.name: u for u in op.regions[0].yields if u.name not in inside})
        env = {}
        for name, u in free.items():
            env[name] = self.value(u, depth + 1)
            if env[name] is None:
                return None
        run_op(op, env)
        for r in op.results:
            self.env[r.name] = env[r.name]
        return self.env[v.name]


def _tapes(region: Region, loops: tuple):
    """(op, enclosing loop lines) for every tape allocation."""
    for op in region.ops:
        if is_tape_allocation(op):
            yield op, loops
        for r in op.regions:
            inner = loops + ((op.loc.line if op.loc else None),) if op.opcode in (
                "for", "while") else loops
            yield from _tapes(r, inner)


def tape_report(fn: Function, args, name: str | None = None) -> MemoryReport:
    """The report of a reverse-mode derivative IR `fn` for these argument values."""
    sizes = _Sizes(fn, args)
    pushed = grown_tapes(fn)
    tapes = []
    for op, loops in _tapes(fn.body, ()):
        size, *dims = op.operands
        growable = op.result.name in pushed
        entries = None if growable else sizes.value(size)
        dims = [sizes.value(d) for d in dims]
        shape = None if any(d is None for d in dims) else tuple(int(d) for d in dims)
        tapes.append(TapeEntry(op.result.name, op.loc.line if op.loc else None,
                               scalar_of(op.result.type).name, shape,
                               None if entries is None else int(entries), loops))
    logs = sum(1 for op in walk_ops(fn.body) if op.opcode == "log_new")
    return MemoryReport(name or fn.name, tuple(tapes), logs)


def memory_report(transformed, *example_args, **kwargs) -> MemoryReport:
    """What the reverse sweep of `transformed` stores, for arguments like these.

    Lists every tape (one per loop-carried value the reverse sweep needs): its
    loop's line, the shape and bytes of one entry, the trip count, its bytes, and
    a peak estimate (all tapes alive at once). Nothing runs but the arithmetic of
    the tape sizes.

    Example:
        >>> # def f(r, x0, steps):
        >>> #     x = x0
        >>> #     for t in range(steps):
        >>> #         x = r * x * (1.0 - x)
        >>> #     return np.sum(x)
        >>> # print(adgen.memory_report(adgen.grad(f), 3.7, np.full(1000, 0.3), 100))
        >>> # x_tape, line 3, entry (1000,), 8,000 bytes/entry, 100 entries, 800,000 bytes
    """
    from adgen.api import Transformed

    if not isinstance(transformed, Transformed):
        raise AdgenTypeError("memory_report: the first argument must be an adgen transform "
                             f"(adgen.grad(f), ...), not {type(transformed).__name__}")
    args = transformed.bind(list(example_args)[:transformed.n_params], kwargs)
    compiled = transformed.compile(transformed.arg_types(args))
    return tape_report(compiled.ir, args, transformed.__name__)
