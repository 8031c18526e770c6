"""`python -m bench [--quick] [--only a,b] [--no-write]`: run the benchmark suite.

Writes bench/results.json, the tables of docs/BENCHMARKS.md (between its markers)
and docs/benchmarks.png, unless `--no-write`. `--quick` times fewer runs (about
5 minutes on 2 cores, most of it Numba compiling); the full mode times more.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    import numba
    import numpy

    from bench import references

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    tools = ", ".join(f"{k} {v}" for k, v in references.versions().items() if v)
    return (f"{cpu}, {os.cpu_count()} cores visible; Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, Numba {numba.__version__}; {tools}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer timed runs")
    parser.add_argument("--only", default="", help="comma-separated problem names")
    parser.add_argument("--no-write", action="store_true", help="print, write nothing")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: write the tables and chart of bench/results.json")
    opts = parser.parse_args()
    os.environ.setdefault("ADGEN_CACHE_DIR", tempfile.mkdtemp(prefix="adgen-bench-"))

    from bench import report, run
    from bench.problems import PROBLEMS

    names = [n for n in opts.only.split(",") if n] or [p.name for p in PROBLEMS]
    if opts.render:
        saved = json.loads((ROOT / "bench" / "results.json").read_text())
        rows, header = [run.compile_only(r) for r in saved["rows"]], saved["header"]
    else:
        rows = run.measure_all(names, opts.quick)
        when = datetime.date.today().isoformat()
        header = (f"Measured {when} with `python -m bench{' --quick' if opts.quick else ''}`"
                  f" on {machine()}.")
    text = (f"{header}\n\nMedian milliseconds per gradient after warm-up:\n\n"
            f"{report.table(rows)}\n\nCompile times in seconds (the first call in a fresh cache"
            f" less one run; warm start: the same for the first call in a new process that "
            f"finds the disk cache):\n\n"
            f"{report.compile_table(rows)}\n\nLargest relative difference from the hand-"
            f"written adjoint's gradient (adgen's of each source: from that source's own): "
            f"{report.errors(rows)}.\n\n"
            f"![gradient time relative to the hand-written adjoint](benchmarks.png)")
    print(text)
    if not opts.no_write:
        run.save({"header": header, "rows": rows}, ROOT / "bench" / "results.json")
        report.chart(rows, ROOT / "docs" / "benchmarks.png")
        report.write_section(ROOT / "docs" / "BENCHMARKS.md", text)


if __name__ == "__main__":
    main()
