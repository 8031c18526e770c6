"""The results as a Markdown table (into docs/BENCHMARKS.md) and a PNG bar chart."""

from __future__ import annotations

from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TOOLS = ("jax", "torch", "autograd")


def _ms(seconds) -> str:
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _ratio(a, b) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.2f}"


def derived(row: dict) -> dict:
    """Best adgen time, best primal, and the ratios the targets are about."""
    adgen = min(row["adgen_vectorized"], row["adgen_loops"])
    primals = [t for t in (row["numpy"], row.get("numba_vectorized"), row.get("numba_loops"))
               if t is not None]
    primal = min(primals)
    return {"adgen": adgen, "primal": primal, "vs_hand": adgen / row["hand"],
            "vs_primal": adgen / primal,
            "jax_speedup": None if row.get("jax") is None else row["jax"] / adgen}


def table(rows) -> str:
    head = ("| objective | kind | primal NumPy | primal Numba (vec / loops) | adgen vec | "
            "adgen loops | hand adjoint | JAX | PyTorch | autograd | adgen / hand | "
            "adgen / primal | JAX / adgen |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        d = derived(r)
        lines.append(
            f"| {r['label']} | {r['kind']} | {_ms(r['numpy'])} | "
            f"{_ms(r.get('numba_vectorized'))} / {_ms(r.get('numba_loops'))} | "
            f"{_ms(r['adgen_vectorized'])} | {_ms(r['adgen_loops'])} | {_ms(r['hand'])} | "
            + " | ".join(_ms(r.get(t)) for t in TOOLS)
            + f" | {d['vs_hand']:.2f} | {d['vs_primal']:.2f} | "
            f"{'n/a' if d['jax_speedup'] is None else format(d['jax_speedup'], '.2f')} |")
    return "\n".join(lines)


def compile_table(rows) -> str:
    lines = ["| objective | adgen vec: first call / warm start (s) | adgen loops: first call / "
             "warm start (s) | hand adjoint njit (s) | JAX jit (s) |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        jax = "n/a" if r.get("jax_compile") is None else f"{r['jax_compile']:.2f}"
        lines.append(f"| {r['label']} | {r['adgen_vectorized_compile']:.2f} / "
                     f"{r['adgen_vectorized_warm']:.2f} | {r['adgen_loops_compile']:.2f} / "
                     f"{r['adgen_loops_warm']:.2f} | {r['hand_compile']:.2f} | {jax} |")
    return "\n".join(lines)


def errors(rows) -> str:
    worst = {}
    for r in rows:
        for key, value in r.items():
            if key.endswith("_error"):
                worst[key[:-6]] = max(worst.get(key[:-6], 0.0), value)
    return ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items()))


def chart(rows, path: Path) -> None:
    """Time of each gradient relative to the hand-written Numba adjoint (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    series = [("adgen (best)", lambda r: derived(r)["adgen"]), ("hand-written Numba",
              lambda r: r["hand"])] + [(t, lambda r, t=t: r.get(t)) for t in
                                       ("jax", "torch", "autograd")]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(series)
    x = np.arange(len(rows))
    for i, (name, get) in enumerate(series):
        values = [get(r) / r["hand"] if get(r) is not None else np.nan for r in rows]
        ax.bar(x + (i - len(series) / 2 + 0.5) * width, values, width, label=name)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(x, [r["name"] for r in rows], rotation=20, ha="right")
    ax.set_ylabel("gradient time / hand-written adjoint")
    ax.legend(ncol=5, fontsize=8)
    ax.set_title("Gradient time relative to a hand-written Numba adjoint (lower is faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_section(doc: Path, text: str) -> None:
    """Replace what lies between the markers in `doc` with `text`."""
    current = doc.read_text()
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
