"""The benchmark's bookkeeping: timing, ratios, tables and the markers of
docs/BENCHMARKS.md (no objective is compiled here)."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import report, run  # noqa: E402
from bench.timing import median_time  # noqa: E402


def row(**times):
    base = {"name": "toy", "label": "toy n=3", "kind": "loop", "notes": [], "numpy": 4e-3,
            "numba_vectorized": 2e-3, "numba_loops": None, "adgen_vectorized": 6e-3,
            "adgen_loops": 5e-3, "hand": 4e-3, "jax": 20e-3, "torch": None,
            "autograd": 0.1, "adgen_vectorized_compile": 1.5, "adgen_loops_compile": 0.5,
            "adgen_vectorized_warm": 0.2, "adgen_loops_warm": 0.1, "hand_compile": 0.3,
            "jax_compile": 0.4, "adgen_vectorized_error": 1e-15, "jax_error": 3e-15}
    base.update(times)
    return base


def test_every_source_has_its_own_ratios():
    d = report.derived(row())
    assert [x["source"] for x in d] == ["vectorized", "loops"]
    vec, loops = d
    assert vec["adgen"] == 6e-3 and vec["primal"] == 2e-3
    assert np.isclose(vec["vs_hand"], 1.5) and np.isclose(vec["vs_primal"], 3.0)
    assert np.isclose(vec["jax_speedup"], 20 / 6)
    assert np.isclose(loops["vs_hand"], 1.25) and loops["vs_primal"] is None  # no primal
    assert vec["hand"] == loops["hand"] == 4e-3       # no adjoint of their own: the problem's
    assert report.derived(row(jax=None))[0]["jax_speedup"] is None


def test_every_source_is_divided_by_its_own_hand_adjoint():
    """A source with an adjoint of its own algorithm: its line gives that adjoint's time
    and divides by it; the other sources keep theirs (no "best of" the adjoints)."""
    r = row(hand_vectorized=4e-3, hand_loops=2e-3, hand_vectorized_compile=0.3,
            hand_loops_compile=0.8)
    vec, loops = report.derived(r)
    assert vec["hand"] == 4e-3 and np.isclose(vec["vs_hand"], 1.5)
    assert loops["hand"] == 2e-3 and np.isclose(loops["vs_hand"], 2.5)
    lines = report.table([r]).splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert cells[0][6:] == ["vectorized", "2", "4", "6", "1.50", "3.00", "3.33"]
    assert cells[1][6:] == ["loops", "n/a", "2", "5", "2.50", "n/a", "4.00"]
    compile_lines = report.compile_table([r]).splitlines()[2:]
    assert "| vectorized | 1.50 / 0.20 | 0.30 | 0.40 |" in compile_lines[0]
    assert "| loops | 0.50 / 0.10 | 0.80 |  |" in compile_lines[1]
    # the first call less one run, for each source's adjoint as for the problem's
    done = run.compile_only(dict(r))
    assert np.isclose(done["hand_loops_compile"], 0.8 - 2e-3)
    assert np.isclose(done["hand_compile"], 0.3 - 4e-3)


def test_more_sources_and_a_source_adgen_does_not_differentiate():
    r = row(sources=["slices", "swap", "elementwise"], numba_slices=1e-3, adgen_slices=None,
            numba_swap=5e-4, adgen_swap=2e-3, numba_elementwise=1e-3, adgen_elementwise=8e-3,
            adgen_swap_compile=0.7, adgen_swap_warm=0.05, adgen_elementwise_compile=0.9,
            adgen_elementwise_warm=0.06)
    d = {x["source"]: x for x in report.derived(r)}
    assert list(d) == ["slices", "swap", "elementwise"]
    assert d["slices"]["vs_hand"] is None and d["slices"]["jax_speedup"] is None
    assert np.isclose(d["swap"]["vs_hand"], 0.5) and np.isclose(d["swap"]["vs_primal"], 4.0)
    assert np.isclose(d["elementwise"]["vs_primal"], 8.0)
    lines = report.table([r]).splitlines()[2:]
    assert len(lines) == 3
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0][6:] == ["slices", "1", "4", "n/a", "n/a", "n/a", "n/a"]
    assert cells[1][:6] == [""] * 6                       # the problem's cells once
    assert cells[1][6:] == ["swap", "0.5", "4", "2", "0.50", "4.00", "10.00"]
    compile_lines = report.compile_table([r]).splitlines()[2:]
    assert [c.strip() for c in compile_lines[0].strip("|").split("|")][1:3] == ["slices", "n/a"]
    assert "| swap | 0.70 / 0.05 |" in compile_lines[1]


def test_table_rows_hold_the_numbers():
    text = report.table([row()])
    lines = text.splitlines()
    assert len(lines) == 4                                    # head, rule, two sources
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[:6] == ["toy n=3", "loop", "4", "20", "n/a", "100"]
    assert cells[6:] == ["vectorized", "2", "4", "6", "1.50", "3.00", "3.33"]
    cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert cells[6:] == ["loops", "n/a", "4", "5", "1.25", "n/a", "4.00"]
    assert "| vectorized | 1.50 / 0.20 |" in report.compile_table([row()])
    assert report.errors([row()]) == "adgen_vectorized 1.0e-15, jax 3.0e-15"


def test_rows_saved_before_sources_were_listed_render(tmp_path):
    """bench/results.json as saved: tables and chart from its rows, whatever they hold."""
    import json

    saved = json.loads((ROOT / "bench" / "results.json").read_text())["rows"]
    rows = [run.compile_only(dict(r)) for r in saved]
    rows.append(row(sources=["a", "b", "c"], numba_a=1e-3, adgen_a=2e-3, numba_b=None,
                    adgen_b=None, numba_c=1e-3, adgen_c=3e-3, hand_a=4e-3, hand_b=4e-3,
                    hand_c=1e-3, hand_c_compile=0.5))
    for text in (report.table(rows), report.compile_table(rows)):
        assert len(text.splitlines()) == 2 + sum(len(report.sources(r)) for r in rows)
    pytest.importorskip("matplotlib")
    report.chart(rows, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 1000


def test_write_section_replaces_only_between_the_markers(tmp_path):
    doc = tmp_path / "B.md"
    doc.write_text(f"intro\n{report.BEGIN}\nold\n{report.END}\noutro\n")
    report.write_section(doc, "new table")
    assert doc.read_text() == f"intro\n{report.BEGIN}\nnew table\n{report.END}\noutro\n"


def test_median_time_takes_the_median_of_enough_runs():
    calls = []

    def sleepy():
        calls.append(1)
        time.sleep(0.002)

    t = median_time(sleepy, budget=0.02, min_runs=3, max_runs=50)
    assert 0.0015 < t < 0.05 and len(calls) >= 4               # warm-up + >= 3 timed


def test_max_relative_error():
    err = run.max_relative_error([np.array([1.0, 2.0]), 3.0],
                                 [np.array([1.0, 2.0 + 2e-6]), 3.0])
    assert np.isclose(err, 2e-6 / (2.0 + 2e-6), rtol=1e-6)


def test_the_benchmark_document_has_its_markers():
    text = (ROOT / "docs" / "BENCHMARKS.md").read_text()
    assert text.count(report.BEGIN) == 1 and text.count(report.END) == 1


def test_measure_times_each_sources_own_hand_adjoint(monkeypatch):
    """run.measure's bookkeeping, with every compile and timing stubbed: each source gets
    its own adjoint's time and compile time (an adjoint that two sources share is timed
    once), and adgen's gradient of a source is checked against that source's adjoint."""
    from types import SimpleNamespace

    from bench import adjoints
    from bench.problems import Problem

    def objective(x):
        return float(np.sum(x * x))

    def gradient(x):
        return (2.0 * x,)

    def hand(x):
        return (objective(x), 2.0 * x)

    def hand_loops(x):
        return (objective(x), 2.0 * x * (1.0 + 1e-9))   # another algorithm's rounding

    module = SimpleNamespace(vec=objective, loops=objective, idiom=objective)
    problem = Problem("toy", "toy n=3", module,
                      (("vectorized", "vec"), ("loops", "loops"), ("idiom", "idiom")), (0,),
                      "loop", lambda small: (np.arange(1.0, 4.0),), "toy_adjoint",
                      {"loops": "toy_loops_adjoint"})
    assert problem.hand_adjoint("idiom") == "toy_adjoint"
    monkeypatch.setattr(adjoints, "toy_adjoint", hand, raising=False)
    monkeypatch.setattr(adjoints, "toy_loops_adjoint", hand_loops, raising=False)
    times = {hand: 1e-3, hand_loops: 3e-3, objective: 5e-4}
    timed = []

    def fake_median(fn, *args, **kwargs):
        timed.append(fn)
        return times.get(fn, 7e-3)

    monkeypatch.setattr(run.adgen, "grad", lambda f, argnums, backend: gradient)
    monkeypatch.setattr(run, "njit_module_function", lambda module, name: getattr(module, name))
    monkeypatch.setattr(run, "first_call", lambda fn, *args: (times.get(fn, 0.0) + 0.25,
                                                              fn(*args)))
    monkeypatch.setattr(run, "median_time", fake_median)
    r = run.measure(problem, quick=True, tools=(), log=lambda *a: None)
    assert r["hand_adjoints"] == {"vectorized": "toy_adjoint", "loops": "toy_loops_adjoint",
                                  "idiom": "toy_adjoint"}
    assert r["hand"] == r["hand_vectorized"] == r["hand_idiom"] == 1e-3
    assert r["hand_loops"] == 3e-3
    assert timed.count(hand) == timed.count(hand_loops) == 2     # once per round, each
    assert r["hand_loops_compile"] == 3e-3 + 0.25 and r["hand_idiom_compile"] == 1e-3 + 0.25
    assert r["adgen_vectorized_error"] == 0.0 and r["adgen_idiom_error"] == 0.0
    assert np.isclose(r["adgen_loops_error"], 1e-9 / (1.0 + 1e-9))
    d = {x["source"]: x for x in report.derived(run.compile_only(r))}
    assert np.isclose(d["loops"]["vs_hand"], 7e-3 / 3e-3)
    assert np.isclose(d["idiom"]["vs_hand"], 7.0) and np.isclose(d["vectorized"]["vs_hand"], 7.0)
    assert np.isclose(r["hand_loops_compile"], 0.25)
