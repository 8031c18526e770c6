"""Measure every problem: primal, adgen's gradients, the hand-written adjoints and the
reference tools, each gradient checked against a hand-written adjoint's first (adgen's
gradient of a source against that source's own hand-written adjoint)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

import adgen
from bench import references
from bench.numba_primal import njit_module_function
from bench.problems import BY_NAME, Problem
from bench.timing import first_call, median_time

TOOLS = ("jax", "torch", "autograd")
ROOT = Path(__file__).resolve().parents[1]


def max_relative_error(grads, expected) -> float:
    """Largest |a - b| / max|b| over the differentiated arguments."""
    worst = 0.0
    for a, b in zip(grads, expected):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)))
    return worst


def _hand_adjoint(name: str):
    from bench import adjoints

    return getattr(adjoints, name)


def measure(problem: Problem, quick: bool, tools=TOOLS, log=print) -> dict:
    """One row of the table: seconds per call (medians) and compile seconds, for the
    NumPy primal (the first source), and for every source its Numba primal
    (`numba_<label>`), adgen's gradient (`adgen_<label>`) and its own hand-written
    adjoint (`hand_<label>`; `hand_adjoints` names them); `sources` lists the labels.
    `hand` is the problem's own adjoint (of the vectorized source), which the
    reference tools' gradients are checked against. A hand-written adjoint that
    several sources share is timed once, its time given to each of them.

    Everything is compiled and checked first; then the contenders are timed in
    interleaved rounds (each round times every one of them), and each gets the
    median of its round medians, so that a slow spell of a shared machine falls
    on all of them rather than on one. A source that Numba or adgen does not
    compile gets None and a note."""
    args = problem.make(False)
    rounds, budget, min_runs = (2, 0.15, 3) if quick else (5, 0.4, 3)
    labels = problem.labels
    row = {"name": problem.name, "label": problem.label, "kind": problem.kind,
           "sources": list(labels), "notes": []}
    contenders = {"numpy": problem.function(labels[0])}
    for label in labels:
        try:
            f = njit_module_function(problem.module, dict(problem.sources)[label])
            row[f"numba_{label}_compile"], _ = first_call(f, *args)
            contenders[f"numba_{label}"] = f
        except Exception as exc:  # Numba does not compile every NumPy idiom
            row[f"numba_{label}"] = None
            row["notes"].append(f"Numba does not compile the {label} primal "
                                f"({type(exc).__name__})")
    # the hand-written adjoints: the problem's ("hand") and each source's own, every
    # distinct one compiled, run and timed once
    row["hand_adjoints"] = {label: problem.hand_adjoint(label) for label in labels}
    timed = {problem.adjoint: "hand"}       # adjoint name -> its contender's key
    for label in labels:
        timed.setdefault(problem.hand_adjoint(label), f"hand_{label}")
    compiled, outputs = {}, {}
    for name, key in timed.items():
        adjoint = _hand_adjoint(name)
        compiled[name], out = first_call(adjoint, *args)
        outputs[name] = out[1:]
        contenders[key] = adjoint
    row["hand_compile"] = compiled[problem.adjoint]
    expected = outputs[problem.adjoint]
    for label in labels:
        row[f"hand_{label}_compile"] = compiled[problem.hand_adjoint(label)]
    for label in labels:
        try:
            g = adgen.grad(problem.function(label), argnums=problem.argnums, backend="numba")
            row[f"adgen_{label}_compile"], grads = first_call(g, *args)
        except Exception as exc:  # e.g. an idiom adgen's reverse mode does not support yet
            row[f"adgen_{label}"] = None
            message = (str(exc).strip().splitlines() or [""])[0][:200]
            row["notes"].append(f"adgen does not differentiate the {label} source "
                                f"({type(exc).__name__}" + (f": {message})" if message else ")"))
            log(f"  adgen {label}: {row['notes'][-1]}")
            continue
        row[f"adgen_{label}_error"] = max_relative_error(
            grads, outputs[problem.hand_adjoint(label)])
        contenders[f"adgen_{label}"] = g
        log(f"  adgen {label}: compile {row[f'adgen_{label}_compile']:.1f} s")
    for tool in tools:
        fn = references.gradient(tool, problem)
        if fn is None:
            row[tool] = None
            continue
        row[f"{tool}_compile"], grads = first_call(fn, *args)
        row[f"{tool}_error"] = max_relative_error(grads, expected)
        contenders[tool] = fn
    medians = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            medians[name].append(median_time(fn, *args, budget=budget, min_runs=min_runs))
    for name, values in medians.items():
        row[name] = statistics.median(values)
        log(f"  {name}: {row[name] * 1e3:.3f} ms")
    for label in labels:                     # each source: its own adjoint's time
        row[f"hand_{label}"] = row[timed[problem.hand_adjoint(label)]]
    return row


def compile_only(row: dict) -> dict:
    """The first call compiles and then runs once: keep the compiling part (the first
    call less the median call, never below 0) of every compile and warm-start time.
    Done once per row (`compile_only` marks it)."""
    if row.get("compile_only"):
        return row
    for key in list(row):
        for suffix in ("_compile", "_warm"):
            base = key[:-len(suffix)]
            if key.endswith(suffix) and row.get(base) is not None:
                row[key] = max(0.0, row[key] - row[base])
    row["compile_only"] = True
    return row


def warm_start(name: str, source: str, cache: str) -> float:
    """Seconds of the first call of adgen's gradient of the source labelled `source` in
    a new process whose cache directory already holds the generated module and Numba's
    compiled code."""
    env = dict(os.environ, ADGEN_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "bench.warm", name, source], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.split()[-1])


def measure_all(names, quick: bool, tools=TOOLS, log=print) -> list[dict]:
    rows = []
    for name in names:
        problem = BY_NAME[name]
        log(f"{problem.label}")
        row = measure(problem, quick, tools, log)
        from adgen.config import cache_dir

        for label in problem.labels:
            if row.get(f"adgen_{label}") is not None:
                row[f"adgen_{label}_warm"] = warm_start(name, label, str(cache_dir()))
        rows.append(compile_only(row))
    return rows


def save(rows, path: Path) -> None:
    path.write_text(json.dumps(rows, indent=1) + "\n")
