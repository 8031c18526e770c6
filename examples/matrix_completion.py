"""Matrix completion with a nuclear-norm regularizer (adgen.runtime.models):
a synthetic rank-3 50x50 matrix recovered from 40 % of its entries by proximal
gradient, the gradient of 1/2 ||P_Omega(W - M)||^2 from adgen and
singular-value thresholding as the proximal step, with lam decreasing
geometrically (continuation).

Prints the relative error, rank, iterations and time, and writes a PNG: the
objective over the iterations, and the singular values of the recovered matrix
against the true ones.

Run: python examples/matrix_completion.py [--out matrix_completion.png] [--backend numba]
"""

import os

# 50x50 SVDs: BLAS threads cost more than they save (and the machine may be shared).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from adgen.runtime.models.matrix_completion import (low_rank_problem,  # noqa: E402
                                                    matrix_completion, relative_error)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="matrix_completion.png", help="PNG path")
    parser.add_argument("--backend", default="numba", choices=["numba", "python"])
    parser.add_argument("--lam", type=float, default=1e-2, help="final regularization weight")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    M, mask = low_rank_problem(50, 50, 3, 0.4, seed=args.seed)
    W, res = matrix_completion(M * mask, mask, args.lam, backend=args.backend)
    error = relative_error(W, M)
    print(f"rank-3 50x50 matrix, {int(mask.sum())} of {mask.size} entries observed")
    print(f"relative error {error:.2e}  rank {res.info['rank']}  "
          f"{res.info['stages']} continuation stages (lam {res.info['lams'][0]:.3g} -> "
          f"{res.info['lams'][-1]:.3g})  {res.iterations} iterations  "
          f"{res.seconds:.2f} s (+{res.setup_seconds:.1f} s first calls)  "
          f"converged {res.converged}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.semilogy(res.history)
    left.set_xlabel("iteration (all stages)")
    left.set_ylabel("1/2 ||P(W - M)||^2 + lam ||W||_*")
    left.set_title("objective (lam drops at each stage)")
    k = np.arange(1, 11)
    right.semilogy(k, np.linalg.svd(M, compute_uv=False)[:10] + 1e-16, "o", label="true")
    right.semilogy(k, np.linalg.svd(W, compute_uv=False)[:10] + 1e-16, "x", label="recovered")
    right.set_xlabel("index")
    right.set_title(f"singular values (relative error {error:.1e})")
    right.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
