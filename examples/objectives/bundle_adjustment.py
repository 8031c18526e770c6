"""The ADBench bundle adjustment residuals.

Source: F. Srajer, Z. Kukelova, A. Fitzgibbon, "A benchmark of selected
algorithmic differentiation tools on some problems in computer vision and
machine learning", Optimization Methods and Software 33(4-6), 2018, section 3.2,
and its reference implementation in the ADBench repository
(src/cpp/shared/ba.h, src/python/modules/PyTorch/ba_objective.py); the camera
model is that of B. Triggs, P. McLauchlan, R. Hartley, A. Fitzgibbon, "Bundle
adjustment - a modern synthesis", 1999, with the Rodrigues rotation formula.

One observation: a camera `cam` (11,) = [rodrigues rotation (3), center (3),
focal length (1), principal point (2), radial distortion (2)], a point `X`
(3,), a weight `w` (float) and a feature `feat` (2,). The reprojection
residual is

    w * (f * distort(p) + x0 - feat),   p = (Xcam[0], Xcam[1]) / Xcam[2],
    Xcam = R(rot) (X - center),         distort(p) = p (1 + k1 |p|^2 + k2 |p|^4),

returned as the tuple (r0, r1), and the weight error is 1 - w^2.

`reprojection_error_vectorized` uses array operations (np.cross is not in
adgen's subset: the cross product rotates coordinates with slices and
np.concatenate);
`reprojection_error_loops` writes the Rodrigues rotation with explicit sums
over the three coordinates. As in ADBench, a zero rotation vector takes the
first-order formula X + rot x X.
"""

import math

import numpy as np

ROT_IDX = 0
C_IDX = 3
F_IDX = 6
X0_IDX = 7
RAD_IDX = 9


def cross(a, b):
    """a x b for 3-vectors, by rotating the coordinates with slices."""
    a_yzx = np.concatenate((a[1:3], a[0:1]))
    a_zxy = np.concatenate((a[2:3], a[0:2]))
    b_yzx = np.concatenate((b[1:3], b[0:1]))
    b_zxy = np.concatenate((b[2:3], b[0:2]))
    return a_yzx * b_zxy - a_zxy * b_yzx


def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot * rot)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        w = rot / theta
        w_cross_X = cross(w, X)
        tmp = np.sum(w * X) * (1.0 - costheta)
        rotated = X * costheta + w_cross_X * sintheta + w * tmp
    else:
        rotated = X + cross(rot, X)
    return rotated


def reprojection_error_vectorized(cam, X, w, feat):
    Xcam = rodrigues_rotate_point(cam[ROT_IDX:ROT_IDX + 3], X - cam[C_IDX:C_IDX + 3])
    proj = Xcam[0:2] / Xcam[2]
    rsq = np.sum(proj * proj)
    distortion = 1.0 + cam[RAD_IDX] * rsq + cam[RAD_IDX + 1] * rsq * rsq
    projected = proj * distortion * cam[F_IDX] + cam[X0_IDX:X0_IDX + 2]
    err = w * (projected - feat)
    return err[0], err[1]


def reprojection_error_loops(cam, X, w, feat):
    # the point relative to the camera center, and |rot|^2
    p0 = X[0] - cam[C_IDX]
    p1 = X[1] - cam[C_IDX + 1]
    p2 = X[2] - cam[C_IDX + 2]
    sqtheta = 0.0
    for j in range(3):
        sqtheta += cam[ROT_IDX + j] * cam[ROT_IDX + j]
    r0 = cam[ROT_IDX]
    r1 = cam[ROT_IDX + 1]
    r2 = cam[ROT_IDX + 2]
    if sqtheta != 0.0:
        theta = math.sqrt(sqtheta)
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        w0 = r0 / theta
        w1 = r1 / theta
        w2 = r2 / theta
        # (w . p) (1 - cos theta), the dot product as an explicit sum
        dot = 0.0
        for j in range(3):
            dot += cam[ROT_IDX + j] / theta * (X[j] - cam[C_IDX + j])
        tmp = dot * (1.0 - costheta)
        x0 = p0 * costheta + (w1 * p2 - w2 * p1) * sintheta + w0 * tmp
        x1 = p1 * costheta + (w2 * p0 - w0 * p2) * sintheta + w1 * tmp
        x2 = p2 * costheta + (w0 * p1 - w1 * p0) * sintheta + w2 * tmp
    else:
        x0 = p0 + (r1 * p2 - r2 * p1)
        x1 = p1 + (r2 * p0 - r0 * p2)
        x2 = p2 + (r0 * p1 - r1 * p0)
    u = x0 / x2
    v = x1 / x2
    rsq = u * u + v * v
    distortion = 1.0 + cam[RAD_IDX] * rsq + cam[RAD_IDX + 1] * rsq * rsq
    e0 = w * (u * distortion * cam[F_IDX] + cam[X0_IDX] - feat[0])
    e1 = w * (v * distortion * cam[F_IDX] + cam[X0_IDX + 1] - feat[1])
    return e0, e1


def weight_error(w):
    """ADBench's weight error 1 - w^2 (the same in both styles)."""
    return 1.0 - w * w


def make_data(seed):
    """(cam, X, w, feat): a camera looking down +z at a point in front of it, a weight
    near 1 and a feature near the projection."""
    rng = np.random.default_rng(seed)
    cam = np.empty(11)
    cam[ROT_IDX:ROT_IDX + 3] = 0.3 * rng.normal(size=3)
    cam[C_IDX:C_IDX + 3] = 0.5 * rng.normal(size=3)
    cam[F_IDX] = 1.0 + 0.2 * rng.uniform()
    cam[X0_IDX:X0_IDX + 2] = 0.1 * rng.normal(size=2)
    cam[RAD_IDX:RAD_IDX + 2] = 0.05 * rng.normal(size=2)
    X = np.array([0.3, -0.2, 4.0]) + 0.2 * rng.normal(size=3)
    w = float(1.0 + 0.1 * rng.normal())
    feat = 0.2 * rng.normal(size=2)
    return cam, X, w, feat
