"""Linear models of the lecture trained on adgen's gradients (adgen.runtime.models):
ridge regression, the lasso, logistic regression and the soft-margin linear SVM,
on synthetic data.

Prints each model's objective, iterations and time (ridge also against its
closed form) and writes a PNG of the objective curves: F(w_k) - F*, with F* the
closed form's objective for ridge and the best value reached otherwise.

Run: python examples/linear_models.py [--out linear_models.png] [--backend numba]
"""

import os

# Small problems: BLAS threads cost more than they save (and the machine may be shared).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from adgen.runtime.losses import zero_one_loss  # noqa: E402
from adgen.runtime.models.linear import (lasso, linear_svm, logistic_regression,  # noqa: E402
                                         ridge, ridge_objective)


def make_data(n=400, d=20, seed=0):
    """X (n, d); a real target from a sparse linear model; labels in {-1, +1}."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = np.where(np.arange(d) < 5, rng.normal(size=d), 0.0)   # 5 active features
    y = X @ w_true + 0.1 * rng.normal(size=n)
    labels = np.where(X @ w_true + 0.3 * rng.normal(size=n) > 0.0, 1.0, -1.0)
    return X, y, labels, w_true


def report(name, res, extra=""):
    print(f"{name:<20} objective {res.objective:.10g}  iterations {res.iterations:5d}  "
          f"{res.seconds * 1e3:7.1f} ms (+{res.setup_seconds:.1f} s first call)  {extra}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="linear_models.png", help="PNG path")
    parser.add_argument("--backend", default="numba", choices=["numba", "python"])
    args = parser.parse_args(argv)
    X, y, labels, w_true = make_data()
    n, d = X.shape
    results = {}

    lam = 0.1
    w, res = ridge(X, y, lam, backend=args.backend)
    closed = np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y)
    report("ridge", res, f"max |w - closed form| {np.max(np.abs(w - closed)):.1e}")
    results["ridge"] = (res, ridge_objective(closed, X, y, lam))

    w, res = lasso(X, y, 0.05, backend=args.backend)
    report("lasso", res, f"{res.info['nonzeros']} nonzeros of {d} "
                         f"(true support: {np.count_nonzero(w_true)})")
    results["lasso"] = (res, None)

    w, res = logistic_regression(X, labels, 0.01, backend=args.backend)
    report("logistic regression", res,
           f"training error {zero_one_loss(np.sign(X @ w), labels):.3f}")
    results["logistic regression"] = (res, None)

    w, res = linear_svm(X, labels, 1.0, backend=args.backend)
    report("linear SVM", res, f"training error {zero_one_loss(np.sign(X @ w), labels):.3f}  "
                              f"duality gap {res.info['gap']:.1e}  "
                              f"{res.info['support_vectors']} support vectors")
    results["linear SVM"] = (res, None)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (res, best) in results.items():
        best = np.min(res.history) if best is None else best
        gap = np.maximum((res.history - best) / max(abs(best), 1.0), 1e-16)
        ax.semilogy(np.arange(len(gap)), gap, label=name)
    ax.set_xlabel("iteration")
    ax.set_ylabel("relative suboptimality (F - F*) / max(|F*|, 1)")
    ax.set_title("Accelerated proximal gradient on adgen gradients")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
