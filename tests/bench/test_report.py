"""The benchmark's bookkeeping: timing, ratios, tables and the markers of
docs/BENCHMARKS.md (no objective is compiled here)."""

import sys
import time
from pathlib import Path

import numpy as np

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


def test_ratios_use_the_best_adgen_and_the_fastest_primal():
    d = report.derived(row())
    assert d["adgen"] == 5e-3 and d["primal"] == 2e-3
    assert np.isclose(d["vs_hand"], 1.25) and np.isclose(d["vs_primal"], 2.5)
    assert np.isclose(d["jax_speedup"], 4.0)
    assert report.derived(row(jax=None))["jax_speedup"] is None


def test_table_rows_hold_the_numbers():
    text = report.table([row()])
    line = text.splitlines()[2]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:4] == ["toy n=3", "loop", "4", "2 / n/a"]
    assert cells[-3:] == ["1.25", "2.50", "4.00"]
    assert "n/a" in cells[8]                                   # PyTorch not installed
    assert "1.50 / 0.20" in report.compile_table([row()])
    assert report.errors([row()]) == "adgen_vectorized 1.0e-15, jax 3.0e-15"


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
