"""No allocation in a loop body that the user did not write: over the generated reverse
source (python back end: no compile) of the whole corpus (the scalar corpus, the array
loop cases, the loop idioms and the loop sources of the objectives), a loop body calls
no allocating function (`np.empty`, `np.zeros`, `.copy()`, ...) unless the user's own
loop body computes an array there (an array expression, an allocation of the user's),
where the generated code allocates what NumPy would."""

import ast
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests" / "cases"))

import scalar_corpus  # noqa: E402
from objectives import conv1d, gmm, heat, logistic_map, logistic_regression, lstm, mlp, ode  # noqa: E402


def _load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


idioms = _load("idiom_cases")
array_cases = _load("array_loop_cases")
ALLOCATING = {"empty", "zeros", "ones", "full", "empty_like", "zeros_like", "ones_like",
              "full_like", "array", "copy", "concatenate", "stack", "log_new"}


def _allocations_in_loops(tree) -> list:
    found = []

    def visit(node, in_loop):
        for child in ast.iter_child_nodes(node):
            if in_loop and isinstance(child, ast.Call):
                f = child.func
                if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")) \
                        in ALLOCATING:
                    found.append(ast.unparse(child)[:80])
            visit(child, in_loop or isinstance(child, (ast.For, ast.While)))
    visit(tree, False)
    return found


def _user_loops_compute_arrays(fn, args) -> bool:
    """Whether a loop body of `fn` (or of a function it calls, inlined) allocates or
    computes an array: judged on adgen's primal code of it (adgen.jit), where arrays
    computed are visible as array-typed temporaries."""
    source = adgen.source(adgen.jit(fn, backend="python"), *args)
    if _allocations_in_loops(ast.parse(source)):
        return True
    ir = adgen.ir(fn, *args)
    depth, computes = 0, False
    for line in ir.splitlines():
        stripped = line.strip()
        if stripped.startswith("}"):
            depth -= stripped.count("}")
        if depth > 0 and "array<" in stripped.split("=")[0] and " = " in stripped and \
                not stripped.split("=", 1)[1].strip().startswith(("setitem", "index_add",
                                                                  "getitem")):
            computes = True
        if stripped.endswith("{") and (" for " in stripped or " while " in stripped):
            depth += 1
    return computes


def _cases():
    rng = np.random.default_rng(3)
    out = []
    for case in scalar_corpus.CASES:
        args = scalar_corpus.draw_args(case, rng)
        out.append((f"corpus:{case.name}", case.fn, tuple(args), case.wrt))
    a5 = rng.normal(size=5)
    out += [
        ("array:recurrence", array_cases.recurrence, (a5, 0.8), (0, 1)),
        ("array:overwrite", array_cases.overwrite, (a5, 0.9), (0, 1)),
        ("array:matfill", array_cases.matfill, (rng.normal(size=(3, 4)), rng.normal(size=4)),
         (0, 1)),
        ("array:conv1d", array_cases.conv1d, (rng.normal(size=7), rng.normal(size=3)), (0, 1)),
        ("array:branchy", array_cases.branchy, (a5, 1.3), (0, 1)),
        ("array:whiley", array_cases.whiley, (a5, 0.3), (0, 1)),
        ("array:scatter_add", array_cases.scatter_add, (a5, rng.normal(size=3)), (0, 1)),
    ]
    u0 = np.sin(np.linspace(0.0, 3.0, 9))
    for name in ("heat_elementwise", "heat_slice_copy", "heat_swap", "heat_slices",
                 "heat_rebound", "rotate_three", "while_inplace", "early_exit"):
        out.append((f"idiom:{name}", getattr(idioms, name), (u0, 0.2, 5), (0, 1)))
    out += [
        ("objective:gmm_loops", gmm.gmm_objective_loops, gmm.make_data(3, 4, 5, 0, 1.3, 2),
         (0, 1, 2)),
        ("objective:gmm_scratch", gmm.gmm_objective_scratch, gmm.make_data(3, 4, 5, 0, 1.3, 2),
         (0, 1, 2)),
        ("objective:lstm_loops", lstm.lstm_objective_loops, lstm.make_data(2, 4, 5, 0),
         (0, 1, 2)),
        ("objective:lstm_inplace", lstm.lstm_objective_inplace, lstm.make_data(2, 4, 5, 0),
         (0, 1, 2)),
        ("objective:mlp_loops", mlp.mlp_loops, mlp.make_data(5, 3, 4, 3, 0), (0, 1, 2, 3)),
        ("objective:logistic_map_loops", logistic_map.logistic_map_loops,
         logistic_map.make_data(7, 20, 0), (0, 1)),
        ("objective:ode_loops", ode.lotka_volterra_loops, ode.make_data(5, 30, 0), (0, 1, 2)),
        ("objective:logistic_regression_loops",
         logistic_regression.logistic_regression_loops,
         logistic_regression.make_data(8, 3, 0), (0, 1)),
        ("objective:conv1d_loops", conv1d.conv1d_loops, conv1d.make_data(12, 3, 0), (0, 1)),
    ]
    # (the other three heat idioms are the idiom cases' own)
    out.append(("objective:heat_swap", heat.heat_swap, heat.make_data(9, 5, 0), (0, 1)))
    return out


CASES = _cases()


@pytest.mark.parametrize("label, fn, args, wrt", CASES, ids=[c[0] for c in CASES])
def test_no_allocation_in_a_loop_body_the_user_did_not_write(label, fn, args, wrt):
    source = adgen.source(adgen.grad(fn, argnums=wrt, backend="python"), *args)
    found = _allocations_in_loops(ast.parse(source))
    if found and _user_loops_compute_arrays(fn, args):
        return  # the user's loop computes arrays: NumPy allocates there too
    assert found == [], f"{label}: {found}"
