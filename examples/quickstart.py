"""adgen in one page: the example of Baydin et al. (2018),
f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5), in forward and reverse mode.

Run with `make demo`.
"""

import math

import adgen


def f(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def main():
    x1, x2 = 2.0, 5.0

    # Reverse mode: one sweep gives the whole gradient.
    df = adgen.grad(f, argnums=(0, 1))
    print("reverse mode  grad f(2, 5) =", df(x1, x2))

    # Forward mode: one sweep per input direction (tangent seeds).
    fj = adgen.jvp(f, argnums=(0, 1))
    d1 = fj(x1, x2, 1.0, 0.0)[1]
    d2 = fj(x1, x2, 0.0, 1.0)[1]
    print("forward mode  grad f(2, 5) =", (d1, d2))

    print("hessian       H f(2, 5)    =", adgen.hessian(f, argnums=(0, 1))(x1, x2))

    print("\nThe generated reverse-mode code (compiled by Numba):\n")
    print(adgen.source(df, x1, x2))

    print("The evaluation traces (Baydin et al. 2018, Tables 2 and 3):\n")
    print(adgen.trace(f, x1, x2))


if __name__ == "__main__":
    main()
