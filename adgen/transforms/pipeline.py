"""The pass pipeline: which passes run, in which order, and IR dumps.

`ADGEN_DUMP_AFTER=reverse,cse` (or `all`) prints the IR after those passes.
"""

from __future__ import annotations

import os
import sys

from adgen.ir.function import Function
from adgen.ir.printer import print_function
from adgen.transforms.simplify.cells import sum_in_cells
from adgen.transforms.simplify.cse import eliminate_common_subexpressions
from adgen.transforms.simplify.dce import eliminate_dead_code
from adgen.transforms.simplify.fold import fold_constants
from adgen.transforms.simplify.gather import gather_stencils
from adgen.transforms.simplify.hoist import hoist_loop_invariants
from adgen.transforms.simplify.linear import shorten_linear_chains
from adgen.transforms.simplify.promote import promote_accumulations
from adgen.transforms.simplify.shapes import use_shape_sources

# hoist after cse: duplicates in a loop merge first; the next round's cse merges what
# hoisting put next to an equal value outside the loop
SIMPLIFY = (("fold", fold_constants), ("cse", eliminate_common_subexpressions),
            ("hoist", hoist_loop_invariants), ("promote", promote_accumulations),
            ("gather", gather_stencils), ("cells", sum_in_cells),
            ("linear", shorten_linear_chains),
            ("shapes", use_shape_sources),
            ("dce", eliminate_dead_code))


def dump(name: str, fn: Function) -> Function:
    """Print `fn` if `ADGEN_DUMP_AFTER` names the pass `name` (or is `all`)."""
    wanted = {w.strip() for w in os.environ.get("ADGEN_DUMP_AFTER", "").split(",") if w}
    if name in wanted or "all" in wanted:
        print(f"--- IR after {name} ---\n{print_function(fn)}", file=sys.stderr)
    return fn


def run_pass(name: str, pass_fn, fn: Function, check: bool = False) -> Function:
    out = pass_fn(fn)
    if check:
        from adgen.ir.verify import verify

        verify(out)
    return dump(name, out)


def simplify(fn: Function, check: bool = False, rounds: int = 4) -> Function:
    """Fold, CSE, hoisting, shape sources and DCE until nothing changes (`rounds` at most)."""
    for _ in range(rounds):
        before = fn
        for name, pass_fn in SIMPLIFY:
            fn = run_pass(name, pass_fn, fn, check)
        if fn == before:
            break
    return fn
