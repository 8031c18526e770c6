"""The results as Markdown tables (into docs/BENCHMARKS.md) and a PNG bar chart.

A row of bench/results.json is one problem; its `sources` lists the labels of its
sources (rows measured before it existed had the two sources "vectorized" and
"loops"), and each source has its own adgen gradient time (`adgen_<label>`) and
Numba primal time (`numba_<label>`) and its own hand-written adjoint's time
(`hand_<label>`: the adjoint of that source's algorithm; rows measured before it
existed had one adjoint, `hand`, for every source). The tables give every source a
line of its own, with its own ratios: no "best of" the sources or of the adjoints."""

from __future__ import annotations

from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TOOLS = ("jax", "torch", "autograd")
DEFAULT_SOURCES = ("vectorized", "loops")   # rows measured before `sources` was recorded


def _ms(seconds) -> str:
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _ratio(a, b) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.2f}"


def sources(row: dict) -> tuple:
    """The labels of the row's sources, in the problem's order."""
    return tuple(row.get("sources") or DEFAULT_SOURCES)


def _div(a, b):
    return None if a is None or b is None else a / b


def hand(row: dict, label: str):
    """The time of the hand-written adjoint of the source labelled `label`."""
    return row.get(f"hand_{label}", row["hand"])


def derived(row: dict) -> list:
    """Per source: adgen's gradient time, the source's own Numba primal and hand-written
    adjoint times, and the ratios the targets are about (gradient / the source's own
    hand-written adjoint, gradient / the source's Numba primal, JAX / gradient); None
    where a time is missing."""
    out = []
    for label in sources(row):
        adgen, primal = row.get(f"adgen_{label}"), row.get(f"numba_{label}")
        own = hand(row, label)
        out.append({"source": label, "adgen": adgen, "primal": primal, "hand": own,
                    "vs_hand": _div(adgen, own), "vs_primal": _div(adgen, primal),
                    "jax_speedup": _div(row.get("jax"), adgen)})
    return out


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def table(rows) -> str:
    """One line per source, with that source's own hand-written adjoint; the problem's
    own columns (NumPy primal, the tools) on its first line only."""
    head = ("| objective | kind | primal NumPy | JAX | PyTorch | autograd | "
            "source | primal Numba | hand adjoint | adgen | adgen / hand | "
            "adgen / primal Numba | JAX / adgen |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        for i, d in enumerate(derived(r)):
            if i == 0:
                common = [r["label"], r["kind"], _ms(r["numpy"])] \
                    + [_ms(r.get(t)) for t in TOOLS]
            else:
                common = [""] * (3 + len(TOOLS))
            cells = common + [d["source"], _ms(d["primal"]), _ms(d["hand"]), _ms(d["adgen"]),
                              _fmt(d["vs_hand"]), _fmt(d["vs_primal"]),
                              _fmt(d["jax_speedup"])]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compile_table(rows) -> str:
    lines = ["| objective | source | adgen: first call / warm start (s) | "
             "hand adjoint njit (s) | JAX jit (s) |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        for i, label in enumerate(sources(r)):
            if r.get(f"adgen_{label}") is None:
                adgen = "n/a"
            else:
                adgen = (f"{_fmt(r.get(f'adgen_{label}_compile'))} / "
                         f"{_fmt(r.get(f'adgen_{label}_warm'))}")
            own = _fmt(r.get(f"hand_{label}_compile", r.get("hand_compile")))
            if i == 0:
                cells = [r["label"], label, adgen, own, _fmt(r.get("jax_compile"))]
            else:
                cells = ["", label, adgen, own, ""]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def errors(rows) -> str:
    worst = {}
    for r in rows:
        for key, value in r.items():
            if key.endswith("_error"):
                worst[key[:-6]] = max(worst.get(key[:-6], 0.0), value)
    return ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items()))


def chart(rows, path: Path) -> None:
    """Time of each gradient relative to a hand-written Numba adjoint (log scale): per
    problem, one bar per adgen source (its label above it) relative to that source's own
    hand-written adjoint, then the tools relative to the problem's (vectorized) one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tools = (("hand-written Numba", "hand", "black"), ("JAX", "jax", "tab:orange"),
             ("PyTorch", "torch", "tab:red"), ("autograd", "autograd", "tab:purple"))
    width = 0.85 / max(len(sources(r)) + len(tools) for r in rows)
    fig, ax = plt.subplots(figsize=(13, 4.8))
    seen, top = set(), 1.0
    for x, r in enumerate(rows):
        bars = [(r.get(f"adgen_{label}"), hand(r, label), "tab:blue", "adgen", label)
                for label in sources(r)]
        bars += [(r.get(key), r["hand"], color, name, None) for name, key, color in tools]
        left = x - len(bars) * width / 2
        for j, (value, base, color, legend, text) in enumerate(bars):
            ratio = np.nan if value is None else value / base
            at = left + (j + 0.5) * width
            ax.bar(at, ratio, width, color=color, label=None if legend in seen else legend)
            seen.add(legend)
            if value is not None:
                top = max(top, ratio)
            if text is not None:            # the source's label, "n/a" without a bar
                ax.text(at, 1.08 * (1.0 if value is None else ratio),
                        text if value is not None else f"{text}: n/a", rotation=90,
                        ha="center", va="bottom", fontsize=6)
    ax.set_yscale("log")
    ax.set_ylim(top=top * 8)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(rows)), [r["name"] for r in rows], rotation=20, ha="right")
    ax.set_ylabel("gradient time / hand-written adjoint")  # adgen: the source's own
    ax.legend(ncol=5, fontsize=8)
    ax.set_title("Gradient time relative to a hand-written Numba adjoint (lower is faster; "
                 "one blue bar per adgen source, against that source's own adjoint)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_section(doc: Path, text: str) -> None:
    """Replace what lies between the markers in `doc` with `text`."""
    current = doc.read_text()
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
