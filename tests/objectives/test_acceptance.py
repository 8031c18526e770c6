"""Issue 3's acceptance on the objectives: the bundle-adjustment Jacobian agrees in
forward, reverse and auto modes (and with finite differences), and the GMM Hessian is
symmetric and matches finite differences of adgen's gradient."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen

sys.path.insert(0, str(Path(__file__).parents[2]))
ba = importlib.import_module("examples.objectives.bundle_adjustment")
gmm = importlib.import_module("examples.objectives.gmm")


@pytest.mark.parametrize("version", ["reprojection_error_vectorized",
                                     "reprojection_error_loops"])
def test_bundle_adjustment_jacobian_in_three_modes(version):
    fn = getattr(ba, version)
    cam, X, w, feat = ba.make_data(4)
    modes = {}
    for mode in ("fwd", "rev", "auto"):
        modes[mode] = adgen.jacobian(fn, argnums=(0, 1, 2), mode=mode,
                                     backend="python")(cam, X, w, feat)
    for mode in ("rev", "auto"):
        for out_f, out_m in zip(modes["fwd"], modes[mode]):
            for block_f, block_m in zip(out_f, out_m):
                np.testing.assert_allclose(block_m, block_f, rtol=1e-12, atol=1e-14)
    (r0_cam, _, _), _ = modes["fwd"]
    h = 1e-6
    fd = np.array([(fn(cam + h * e, X, w, feat)[0] - fn(cam - h * e, X, w, feat)[0]) / (2 * h)
                   for e in np.eye(11)])
    np.testing.assert_allclose(r0_cam, fd, rtol=1e-6, atol=1e-9)


def test_gmm_hessian_is_symmetric_and_matches_fd_of_the_gradient():
    alphas, means, icf, x, gamma, m = gmm.make_data(2, 2, 5, seed=3)
    fn = gmm.gmm_objective_vectorized
    H = adgen.hessian(fn, argnums=0, backend="python")(alphas, means, icf, x, gamma, m)
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    g = adgen.grad(fn, argnums=0, backend="python")
    h = 1e-6
    fd = np.stack([(g(alphas + h * e, means, icf, x, gamma, m)
                    - g(alphas - h * e, means, icf, x, gamma, m)) / (2 * h)
                   for e in np.eye(alphas.size)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-8)
    H_means = adgen.hessian(fn, argnums=1, backend="python")(alphas, means, icf, x, gamma, m)
    assert H_means.shape == means.shape + means.shape
    flat = H_means.reshape(means.size, means.size)
    np.testing.assert_allclose(flat, flat.T, atol=1e-10)
