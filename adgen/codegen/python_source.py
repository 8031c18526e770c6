"""IR -> readable Python source.

Expressions are built as `ast` nodes by the primitives' emitters and printed
with `ast.unparse`; statements, indentation and comments are laid out here.
Names are the IR's (the user's own, `x_dot`, `x_bar`); single-use temporaries
are inlined; loop-carried values and `if` results are plain variables
reassigned in place, so loops print as the loops a person would write.

A parallel loop (adgen.ir.parallel) whose carried values obey Numba's rules
and keep one variable each prints as `for i in numba.prange(...)` on the numba
backend (as `range`, marked by a comment, on the python backend), with its
reductions as `acc += e`: also on arrays, which Numba reduces in place, while
`acc = acc + e` would not be a reduction to it. Other loops, and every loop
under check_nans, print as `range` loops.
"""

from __future__ import annotations

import ast

from adgen.codegen.layout import Layout, plan_layout
from adgen.ir.access import walks_rows
from adgen.ir.function import Function
from adgen.ir.ops import Op, Region, walk_ops
from adgen.ir.parallel import carried_values, is_parallel
from adgen.ir.tapes import ONE_ITERATION, grown_tapes, is_tape_allocation, tape_values
from adgen.ir.types import ArrayType
from adgen.primitives import registry

INDENT = "    "
TAPE_MEMORY_PARAM = "tape_memory=None"  # the caller's memory for the tapes (api.TapeMemory)
_AUG = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_REDUCE = {"add": "+", "sub": "-", "mul": "*"}


def _emit_attrs(op: Op) -> dict:
    """The op's attributes, plus its operand types under `_types` for emitters that
    print scalars and arrays differently."""
    return {**dict(op.attrs), "_types": tuple(v.type for v in op.operands)}


class _Printer:
    def __init__(self, fn: Function, layout: Layout, source_lines=None, backend=None,
                 tape_memory: bool = False):
        self.fn = fn
        self.backend = backend  # None: no parallel loops (check_nans)
        self.layout = layout
        self.lines: list[str] = []
        self.source_lines = source_lines or {}
        self.last_line: dict[int, int] = {}
        self.nan_guard = None  # a nanguard.NanGuard under adgen.config(check_nans=True)
        # parallel loops that print as prange (op ids) and their reduction steps
        # (op id -> the operand that is the reduction variable)
        self.prange, self.steps = _parallel_loops(fn, layout) if backend else (set(), {})
        self.order, self.writes, self.allocated_in = _write_order(fn, layout, self.steps)
        self.written = set(self.writes)  # variables some op writes into in place
        tapes = tape_values(fn)
        self.tapes = {layout.name(v) for v in _values(fn) if v.name in tapes}
        # tapes allocated at the top level from the memory the caller keeps between calls
        self.pooled = _pooled_tapes(fn, layout) if tape_memory else set()

    # expressions ----------------------------------------------------------------------
    def expr(self, value) -> ast.expr:
        name = value.name
        if name in self.layout.literal:
            return self.op_expr(self.layout.defining[name])
        if name in self.layout.inline:
            return self.op_expr(self.layout.defining[name])
        return ast.Name(id=self.layout.name(value), ctx=ast.Load())

    def op_expr(self, op: Op) -> ast.expr:
        prim = registry.get(op.opcode)
        return prim.emit([self.expr(v) for v in op.operands], _emit_attrs(op))

    def text(self, value) -> str:
        return ast.unparse(self.expr(value))

    # statements -----------------------------------------------------------------------
    def emit(self, depth: int, line: str) -> None:
        self.lines.append(INDENT * depth + line)

    def comment(self, op: Op, depth: int) -> None:
        if op.loc is None:
            return
        if self.last_line.get(0) == (op.loc.file, op.loc.line):
            return
        self.last_line[0] = (op.loc.file, op.loc.line)
        text = self.source_lines.get((op.loc.file, op.loc.line), "").strip()
        where = f"line {op.loc.line}"
        self.emit(depth, f"# {where}: {text}" if text else f"# {where}")

    def copies(self, depth: int, targets, values) -> None:
        pairs = [(self.layout.name(t), self.copied(v)) for t, v in zip(targets, values)
                 if not (v.name not in self.layout.inline and v.name not in self.layout.literal
                         and self.layout.name(v) == self.layout.name(t))]
        if not pairs:
            return
        if len(pairs) == 1:
            self.emit(depth, f"{pairs[0][0]} = {pairs[0][1]}")
        else:
            self.emit(depth, ", ".join(p[0] for p in pairs) + " = "
                      + ", ".join(p[1] for p in pairs))

    def copied(self, value) -> str:
        """`value` for a copy into another variable: arrays still used elsewhere (or the
        caller's) are copied, so later in-place writes cannot reach them."""
        text = self.text(value)
        if isinstance(value.type, ArrayType) and value.name in self.layout.shared:
            return f"{text}.copy()"
        return text

    def region(self, region: Region, depth: int, targets=()) -> int:
        start = len(self.lines)
        for op in region.ops:
            self.op(op, depth)
        if targets:
            self.copies(depth, targets, region.yields)
        return len(self.lines) - start

    def op(self, op: Op, depth: int) -> None:
        if op.opcode in ("const", "undef") or (op.results and op.results[0].name in
                                                 self.layout.inline):
            return
        if op.opcode == "if":
            return self.if_op(op, depth)
        if op.opcode == "for":
            return self.for_op(op, depth)
        if op.opcode == "while":
            return self.while_op(op, depth)
        self.comment(op, depth)
        prim = registry.get(op.opcode)
        if not op.results:  # an effect: a call statement
            self.emit(depth, ast.unparse(self.op_expr(op)))
            return
        target = self.layout.name(op.result)
        if prim.inplace_operand is not None:
            return self.inplace(op, prim, target, depth)
        if self.nan_guard is not None:
            return self.nan_guard.wrap(self, op, target, depth,
                                       lambda: self.assign(op, target, depth))
        self.assign(op, target, depth)

    def assign(self, op: Op, target: str, depth: int) -> None:
        if id(op) in self.pooled:
            node = registry.get("empty").emit([self.expr(v) for v in op.operands],
                                              _emit_attrs(op))
            shape = node.args[0]
            if not isinstance(shape, ast.Tuple):
                shape = ast.Tuple(elts=[shape], ctx=ast.Load())
            self.emit(depth, f"{target} = _adgen.tape_array(tape_memory, "
                             f"{ast.unparse(shape)}, {ast.unparse(node.keywords[0].value)})")
            return
        if id(op) in self.steps:  # `acc += e`: the form Numba's prange reduces
            (other,) = [v for v in op.operands if v is not self.steps[id(op)]]
            self.emit(depth, f"{target} {_REDUCE[op.opcode]}= {self.text(other)}")
            return
        node = self.op_expr(op)
        if (_may_alias(op) and isinstance(op.result.type, ArrayType)
                and self.needs_copy(op, target)):
            # NumPy returns a view: a later in-place write to either array would show
            # through the other, where the IR means two values
            node = ast.Call(func=ast.Attribute(value=node, attr="copy", ctx=ast.Load()),
                            args=[], keywords=[])
        if (isinstance(node, ast.BinOp) and isinstance(node.left, ast.Name)
                and node.left.id == target and not hasattr(op.result.type, "ndim")
                and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div))):
            self.emit(depth, f"{target} {_AUG[type(node.op)]}= {ast.unparse(node.right)}")
            return
        self.emit(depth, f"{target} = {ast.unparse(node)}")

    def needs_copy(self, op: Op, target: str) -> bool:
        """Whether a view `target` of `op`'s first operand must be a copy: either array is
        written in place; except a tape entry (never written again once the forward
        sweep filled it) read into a variable nothing writes."""
        base = self.layout.name(op.operands[0])
        if target in self.written:
            return True
        if base not in self.written:
            return False
        if base not in self.tapes:
            return True
        pos, loops = self.order[id(op)]
        # a loop that allocates the tape anew on each iteration writes a new array next time
        fresh = self.allocated_in.get(base, frozenset())
        return any(w_pos > pos or ((w_loops & loops) - fresh)
                   for w_pos, w_loops in self.writes[base])

    def inplace(self, op: Op, prim, target: str, depth: int) -> None:
        array = op.operands[prim.inplace_operand]
        if self.layout.name(array) != target:
            self.emit(depth, f"{target} = {self.text(array)}.copy()")
        args = [ast.Name(id=target, ctx=ast.Load())] + [self.expr(v) for v in op.operands[1:]]
        node = prim.emit(args, _emit_attrs(op))
        if isinstance(node, ast.stmt):  # a store: target[index] = value, or +=
            self.emit(depth, ast.unparse(node))
        else:
            self.emit(depth, f"{target} = {ast.unparse(node)}")

    def if_op(self, op: Op, depth: int) -> None:
        self.comment(op, depth)
        self.emit(depth, f"if {self.text(op.operands[0])}:")
        if self.region(op.regions[0], depth + 1, op.results) == 0:
            self.emit(depth + 1, "pass")
        mark = len(self.lines)
        self.emit(depth, "else:")
        if self.region(op.regions[1], depth + 1, op.results) == 0:
            del self.lines[mark:]

    def for_op(self, op: Op, depth: int) -> None:
        self.comment(op, depth)
        body = op.regions[0]
        self.copies(depth, op.results, op.operands[3:])
        start, stop, step = op.operands[:3]
        args = [self.text(start), self.text(stop), self.text(step)]
        if args[2] == "1":
            args = [args[1]] if args[0] == "0" else args[:2]
        var = self.layout.name(body.args[0])
        if (self.backend == "numba" and args[1:] == ["-1", "-1"] and id(op) not in self.prange
                and not _is_int(args[0])
                and walks_rows(body) and not self.reuses(op, var)):
            return self.countdown(op, var, args[0], depth)
        head = f"for {var} in range({', '.join(args)}):"
        if id(op) in self.prange and self.backend == "numba":
            head = f"for {var} in numba.prange({', '.join(args)}):"
        elif id(op) in self.prange:
            head += "  # numba.prange on the numba backend"
        self.emit(depth, head)
        if self.region(body, depth + 1, op.results) == 0:
            self.emit(depth + 1, "pass")

    def reuses(self, op: Op, var: str) -> bool:
        """Whether a value assigned in the loop `op`'s body shares the variable `var`
        (the counter's, which the layout may give to a value after the counter's last
        use, or to a carried value, assigned at the end of the body)."""
        values = [*op.results]
        for inner in walk_ops(op.regions[0]):
            values += [*inner.results, *(a for r in inner.regions for a in r.args)]
        return any(self.layout.name(v) == var for v in values)

    def countdown(self, op: Op, var: str, start: str, depth: int) -> None:
        """A loop from `start` down to 0 (a reverse sweep's, innermost, walking rows) as
        `while var >= 0`, on the numba backend (in Python a count may be an unsigned NumPy
        integer that wraps below 0, and nothing would be gained): Numba lowers
        `range(start, -1, -1)` through a trip count, so LLVM cannot see that `var` stays
        >= 0, and every `a[var + c]` keeps the test for a negative index that wraps: a
        select per access, no vectorization (measured 2.1 against 0.4 ms for a reverse
        stencil loop over 10^6 elements)."""
        self.emit(depth, f"{var} = {start}")
        self.emit(depth, f"while {var} >= 0:")
        self.region(op.regions[0], depth + 1, op.results)
        self.emit(depth + 1, f"{var} -= 1")

    def while_op(self, op: Op, depth: int) -> None:
        self.comment(op, depth)
        cond, body = op.regions
        self.copies(depth, op.results, op.operands)
        simple = all(o.opcode in ("const", "undef") or o.results[0].name in self.layout.inline
                     for o in cond.ops)
        if simple:
            self.emit(depth, f"while {self.text(cond.yields[0])}:")
        else:
            self.emit(depth, "while True:")
            self.region(cond, depth + 1)
            test = ast.UnaryOp(op=ast.Not(), operand=self.expr(cond.yields[0]))
            self.emit(depth + 1, f"if {ast.unparse(test)}:")
            self.emit(depth + 2, "break")
        if self.region(body, depth + 1, op.results) == 0:
            self.emit(depth + 1, "pass")

    def function(self, name: str) -> None:
        params = ", ".join([p.name for p in self.fn.params]
                           + ([TAPE_MEMORY_PARAM] if self.pooled else []))
        self.emit(0, f"def {name}({params}):")
        self.region(self.fn.body, 1)
        outs = [self.text(v) for v in self.fn.returns]
        if self.fn.tuple_return or len(outs) != 1:
            self.emit(1, "return " + (", ".join(outs) + ("," if len(outs) == 1 else "")))
        else:
            self.emit(1, f"return {outs[0]}")


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _values(fn: Function):
    for op in walk_ops(fn.body):
        yield from op.results
        for region in op.regions:
            yield from region.args


def _pooled_tapes(fn: Function, layout: Layout) -> set[int]:
    """The tape allocations (op ids) that take their memory from `tape_memory`: those of
    the function's top level (allocated once per call) that never grow and are never
    returned (the memory is the next call's too), except tapes of one iteration (small,
    reused by every iteration: the tape memory would only cost compile time)."""
    grown = grown_tapes(fn)
    returned = {layout.name(v) for v in fn.returns}
    return {id(op) for op in fn.body.ops if is_tape_allocation(op)
            and not op.attr(ONE_ITERATION, False)
            and op.results[0].name not in grown and layout.name(op.results[0]) not in returned}


_VIEWS = ("getitem", "transpose", "reshape", "reshape_like", "stop_gradient")


def _may_alias(op: Op) -> bool:
    """Whether the printed expression of `op` may return (a view of) its first operand."""
    if op.opcode in _VIEWS:
        return True
    # sum_like(g, like) returns g itself when the shapes agree (the common case)
    return (op.opcode == "sum_like" and isinstance(op.operands[0].type, ArrayType)
            and isinstance(op.operands[1].type, ArrayType)
            and op.operands[0].type.ndim == op.operands[1].type.ndim)


def _write_order(fn: Function, layout: Layout, steps=()):
    """The position (program order) and enclosing loops of every op; for each variable
    the positions and loops of the ops that write into it in place (reductions of
    arrays in `steps` too: `acc += e`), and the loops that enclose its allocation
    (`empty`), when it has exactly one."""
    order, writes, allocs = {}, {}, {}

    def walk(region: Region, loops: frozenset) -> None:
        for op in region.ops:
            order[id(op)] = (len(order), loops)
            if op.opcode == "empty":
                allocs.setdefault(layout.name(op.result), []).append(loops)
            inplace = op.results and registry.has(op.opcode) \
                and registry.get(op.opcode).inplace_operand is not None
            if inplace or (id(op) in steps and isinstance(op.result.type, ArrayType)):
                writes.setdefault(layout.name(op.result), []).append(order[id(op)])
            inner = loops | {id(op)} if op.opcode in ("for", "while") else loops
            for sub in op.regions:
                walk(sub, inner)

    walk(fn.body, frozenset())
    return order, writes, {name: found[0] for name, found in allocs.items() if len(found) == 1}


def _parallel_loops(fn: Function, layout: Layout):
    """The parallel loops of `fn` that may print as `numba.prange` (a set of op ids), and
    the reduction steps in them (op id -> the reduction variable's operand)."""
    loops, steps = set(), {}
    for op in walk_ops(fn.body):
        if not is_parallel(op) or not _step_is_one(op, layout):
            continue
        carried = carried_values(op.regions[0])
        # each carried value keeps one variable, updated in place (`acc += e`, `a[i] = v`)
        if all(c.valid and len({layout.name(v) for v in c.values}) <= 1
               and not any(s.results[0].name in layout.inline for s in c.steps)
               for c in carried):
            loops.add(id(op))
            for c in carried:
                if c.kind == "reduction":
                    names = {v.name for v in c.values}
                    steps.update({id(s): next(v for v in s.operands if v.name in names)
                                  for s in c.steps})
    return loops, steps


def _step_is_one(op: Op, layout: Layout) -> bool:
    """Whether the loop's step is the constant 1 (Numba's prange takes no other)."""
    step = layout.defining.get(op.operands[2].name)
    return step is not None and step.opcode == "const" and step.attr("value") == 1


def _source_lines(fn: Function) -> dict:
    """(file, line) -> text for every line the IR's locations point at."""
    from adgen.ir.ops import walk_ops

    files = {op.loc.file for op in walk_ops(fn.body) if op.loc}
    table = {}
    for file in files:
        try:
            with open(file, encoding="utf-8") as handle:
                for number, text in enumerate(handle, start=1):
                    table[(file, number)] = text.rstrip("\n")
        except OSError:
            continue
    return table


def _printed(fn: Function, name: str | None, check_nans: bool, backend: str,
             tape_memory: bool = False) -> _Printer:
    if check_nans:
        from adgen.codegen.nanguard import NanGuard, plan_checked_layout

        printer = _Printer(fn, plan_checked_layout(fn), _source_lines(fn))
        printer.nan_guard = NanGuard(name or fn.name)
    else:
        printer = _Printer(fn, plan_layout(fn), _source_lines(fn), backend, tape_memory)
    printer.function(name or fn.name)
    return printer


def function_source(fn: Function, name: str | None = None, check_nans: bool = False,
                    backend: str = "python") -> str:
    """The Python source of one function (no imports, no header); with `check_nans`,
    nothing inlined and every float statement checked (`adgen.codegen.nanguard`).
    Parallel loops print as `numba.prange` loops on the numba backend only.

    Example:
        >>> # print(function_source(simplify(differentiate_reverse(...))))
    """
    return "\n".join(_printed(fn, name, check_nans, backend).lines) + "\n"


IMPORTS = "import math\n\nimport numpy as np\n\nimport adgen.codegen.support as _adgen\n"
PARALLEL_IMPORTS = ("import math\n\nimport numba\nimport numpy as np\n\n"
                    "import adgen.codegen.support as _adgen\n")
# read by the loader (adgen/codegen/loader.py): compile with numba.njit(parallel=True)
PARALLEL_FLAG = "__adgen_parallel__"


def module_source(fn: Function, name: str, header: list[str], backend: str = "python",
                  check_nans: bool = False, tape_memory: bool = False) -> str:
    """A whole module: header comment, imports, the user primitives it calls (bound for
    `backend`) and the function."""
    from adgen import extend

    head = "".join(f"# {line}\n" for line in header)
    printer = _printed(fn, name, check_nans, backend, tape_memory)
    parallel = bool(printer.prange) and backend == "numba"
    imports = PARALLEL_IMPORTS if parallel else IMPORTS
    users = extend.user_primitives_in(fn)
    if users:
        imports += "import adgen.extend as _adgen_ext\n\n"
        # the digest changes when the user's implementation does: a new cache file
        imports += "".join(f"{u} = _adgen_ext.implementation({u!r}, {backend!r})  "
                           f"# {extend.digest(u)}\n" for u in users)
    if check_nans:  # adgen.config(check_nans=True)
        from adgen.codegen.nanguard import IMPORT

        head += "# checks: NaN/inf after every statement (adgen.config(check_nans=True))\n"
        imports += IMPORT
    if parallel:
        imports += f"\n{PARALLEL_FLAG} = True  # numba.prange loops: numba.njit(parallel=True)\n"
    source = "\n".join(printer.lines) + "\n"
    return f"{head}\n{imports}\n\n{source}"
