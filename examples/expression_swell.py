"""Expression swell: the logistic map, differentiated symbolically and by adgen.

Baydin et al. (2018), section 2, use the logistic map

    l_1 = x,    l_{n+1} = 4 l_n (1 - l_n)

to show "expression swell". l_n, written out as a formula in x, is a polynomial
of degree 2^(n-1); a computer-algebra system that differentiates that formula
has to carry the whole, repeatedly nested expression around, and its derivative
dl_n/dx grows exponentially with n (unexpanded the nested copies of l_k pile
up; expanded it is a polynomial with up to 2^(n-1) terms).

Automatic differentiation does not work on the formula but on the program.
`logistic(x, n)` below is four lines with a loop, and adgen differentiates the
loop body once: the reverse-mode code records l on a tape in a forward loop and
runs the adjoint loop backwards; the forward-mode code carries (l, dl) through
the same loop. Neither contains n: the generated code is specialized on the
argument *types* (float, int), n is only the loop's trip count at run time, so
its size is the same for n = 2 and for n = 64, while the symbolic derivative
explodes.

The script prints
  1. for n = 1..64: the line count of adgen's reverse-mode (grad) and
     forward-mode (jvp) code next to the size of the symbolic derivative
     (sympy.count_ops, unexpanded and expanded, where sympy is installed and
     the computation is cheap; otherwise the closed-form bound 2^(n-1) on the
     number of terms of the expanded derivative);
  2. dl_4/dx from adgen next to the expanded polynomial
     64(1 - 42x + 504x^2 - 2640x^3 + 7040x^4 - 9984x^5 + 7168x^6 - 2048x^7);
  3. adgen's reverse-mode code for n = 4.

Run with `python examples/expression_swell.py`.
"""

from __future__ import annotations

import time

import adgen

N_MAX = 64            # table rows: n = 1..N_MAX
CAS_MAX_N = 12        # sympy's unexpanded derivative only up to here ("-" beyond)
EXPAND_MAX_N = 8      # sympy.expand only up to here ...
EXPAND_SECONDS = 1.0  # ... and only while the previous expansion took less than this


def logistic(x, n):
    """l_n of the logistic map l_{k+1} = 4 l_k (1 - l_k) with l_1 = x."""
    l = x
    for _ in range(n - 1):
        l = 4.0 * l * (1.0 - l)
    return l


def dl4_polynomial(x):
    """dl_4/dx written out: the expanded derivative of the degree-8 polynomial l_4."""
    return 64.0 * (1.0 - 42.0 * x + 504.0 * x ** 2 - 2640.0 * x ** 3 + 7040.0 * x ** 4
                   - 9984.0 * x ** 5 + 7168.0 * x ** 6 - 2048.0 * x ** 7)


def code_lines(source: str) -> int:
    """Non-blank, non-comment lines of the (first) function in generated `source`.

    The module header, imports and comments are not counted: only the `def`
    line and the statements of the function body.
    """
    lines = source.splitlines()
    for start, line in enumerate(lines):
        if line.startswith("def "):
            break
    else:
        raise ValueError("no function definition in the source")
    return sum(1 for line in lines[start:]
               if line.strip() and not line.strip().startswith("#"))


def reverse_lines(n: int) -> int:
    """Lines of adgen's reverse-mode code for dl_n/dx (a fresh transform per n)."""
    return code_lines(adgen.source(adgen.grad(logistic, backend="python"), 0.3, n))


def forward_lines(n: int) -> int:
    """Lines of adgen's forward-mode (jvp) code for dl_n/dx (a fresh transform per n)."""
    return code_lines(adgen.source(adgen.jvp(logistic, backend="python"), 0.3, n))


def have_sympy() -> bool:
    try:
        import sympy  # noqa: F401
    except ImportError:
        return False
    return True


def symbolic_logistic(n: int):
    """(x, l_n) as sympy expressions, built by iterating the recurrence (unexpanded)."""
    import sympy

    x = sympy.Symbol("x")
    l = x
    for _ in range(n - 1):
        l = 4 * l * (1 - l)
    return x, l


def symbolic_derivative(n: int):
    """(x, dl_n/dx) by sympy.diff of the symbolic l_n."""
    import sympy

    x, l = symbolic_logistic(n)
    return x, sympy.diff(l, x)


def closed_form_terms(n: int) -> int:
    """Bound on the terms of expanded dl_n/dx: l_n has degree 2^(n-1), so its
    derivative has degree 2^(n-1) - 1 and at most 2^(n-1) terms."""
    return 2 ** (n - 1)


def symbolic_sizes(n: int, expand: bool = True):
    """(count_ops of dl_n/dx unexpanded, count_ops of it expanded, or None when
    `expand` is false). Needs sympy."""
    import sympy

    _, d = symbolic_derivative(n)
    unexpanded = sympy.count_ops(d)
    expanded = sympy.count_ops(sympy.expand(d)) if expand else None
    return unexpanded, expanded


def swell_table(n_max: int = N_MAX):
    """Rows (n, reverse lines, forward lines, CAS column(s)) for n = 1..n_max.

    With sympy, the CAS columns are count_ops of dl_n/dx unexpanded (n <= CAS_MAX_N)
    and expanded (n <= EXPAND_MAX_N, while the previous expansion was fast), None
    where not computed; without sympy, the closed-form term bound 2^(n-1).
    """
    sympy_ok = have_sympy()
    expand_ok = True
    rows = []
    for n in range(1, n_max + 1):
        row = [n, reverse_lines(n), forward_lines(n)]
        if sympy_ok:
            unexpanded = expanded = None
            if n <= CAS_MAX_N:
                expand = expand_ok and n <= EXPAND_MAX_N
                start = time.perf_counter()
                unexpanded, expanded = symbolic_sizes(n, expand=expand)
                if expand:
                    expand_ok = time.perf_counter() - start < EXPAND_SECONDS
            row += [unexpanded, expanded]
        else:
            row.append(closed_form_terms(n))
        rows.append(row)
    return sympy_ok, rows


def _cell(value) -> str:
    return "-" if value is None else str(value)


def print_table(n_max: int = N_MAX) -> None:
    sympy_ok, rows = swell_table(n_max)
    print("Expression swell: dl_n/dx of the logistic map l_{n+1} = 4 l_n (1 - l_n), l_1 = x\n")
    print("adgen columns: non-blank, non-comment lines of the generated derivative function.")
    if sympy_ok:
        print("sympy columns: sympy.count_ops(sympy.diff(l_n, x)), unexpanded and expanded "
              "(\"-\": not computed, too slow).\n")
        header = f"{'n':>3}  {'reverse':>7}  {'forward':>7}  {'sympy ops':>11}  {'expanded':>9}"
    else:
        print("sympy is not installed: the last column is the closed-form bound 2^(n-1) on "
              "the terms of the expanded dl_n/dx.\n")
        header = f"{'n':>3}  {'reverse':>7}  {'forward':>7}  {'terms <= 2^(n-1)':>20}"
    print(header)
    print("-" * len(header))
    for row in rows:
        if sympy_ok:
            n, rev, fwd, unexpanded, expanded = row
            print(f"{n:>3}  {rev:>7}  {fwd:>7}  {_cell(unexpanded):>11}  {_cell(expanded):>9}")
        else:
            n, rev, fwd, terms = row
            print(f"{n:>3}  {rev:>7}  {fwd:>7}  {terms:>20}")


def print_check(xs=(0.1, 0.3, 0.5, 0.7, 0.9)) -> None:
    df = adgen.grad(logistic)  # numba backend (the default)
    print("\ndl_4/dx: adgen (numba backend) vs. the expanded polynomial\n"
          "64(1 - 42x + 504x^2 - 2640x^3 + 7040x^4 - 9984x^5 + 7168x^6 - 2048x^7)\n")
    header = f"{'x':>5}  {'adgen':>22}  {'polynomial':>22}  {'difference':>11}"
    print(header)
    print("-" * len(header))
    for x in xs:
        ad, poly = df(x, 4), dl4_polynomial(x)
        print(f"{x:>5}  {ad:>22.15g}  {poly:>22.15g}  {ad - poly:>11.2e}")


def print_reverse_source(n: int = 4) -> None:
    print(f"\nThe reverse-mode code adgen generates (the same for every n; here n = {n}):\n")
    print(adgen.source(adgen.grad(logistic), 0.3, n))


def main() -> None:
    print_table()
    print_check()
    print_reverse_source()


if __name__ == "__main__":
    main()
