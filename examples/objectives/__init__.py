"""Objectives from the literature, each written twice for adgen: vectorized NumPy
(`*_vectorized`) and explicit loops in the style a Numba user writes (`*_loops`).
Both versions of an objective compute the same value; `make_data` builds inputs.

| module | objective | source |
| --- | --- | --- |
| `gmm` | Gaussian mixture negative log-likelihood with a Wishart prior | ADBench |
| `lstm` | loss of a 2-layer LSTM on a one-hot character sequence | ADBench |
| `bundle_adjustment` | reprojection residual of one observation, weight error | ADBench |
| `logistic_regression` | mean logistic loss + L2 | Hastie et al. |
| `ridge` | mean squared loss + L2 | Hoerl and Kennard |
| `svm` | soft-margin linear SVM: mean hinge loss + L2 | Cortes and Vapnik |
| `conv1d` | valid 1-D convolution (also as shifted slices), tanh, squared loss | Goodfellow et al. |
| `mlp` | two-layer tanh MLP, softmax cross-entropy | Goodfellow et al. |
| `logistic_map` | mean of a batch of logistic-map orbits after n steps | May (1976) |
| `ode` | Lotka-Volterra by RK4, squared distance of the final states | Hairer et al. |

ADBench: F. Srajer, Z. Kukelova, A. Fitzgibbon, "A benchmark of selected
algorithmic differentiation tools on some problems in computer vision and
machine learning", Optimization Methods and Software 33(4-6), 2018.
"""
