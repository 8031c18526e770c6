"""Prints the fuzzer's statistics (programs, points, skipped samples) after the run."""

import sys


def pytest_terminal_summary(terminalreporter):
    module = sys.modules.get("adgen_fuzz_stats_holder")
    stats = None
    for name, mod in list(sys.modules.items()):
        if name.endswith("test_fuzz") and hasattr(mod, "STATS"):
            stats = mod.STATS
    if stats:
        terminalreporter.write_sep("-", "adgen fuzz statistics")
        for key in sorted(stats):
            terminalreporter.write_line(f"{key}: {stats[key]}")
