"""Synthetic depth of a hand with known 3D joints, to measure metric lifting (benchmark, tests).

:func:`render_hand_depth` draws the hand as sphere-swept bones (radii of :data:`RADII_M` times
the hand's scale) plus a filled palm, in front of a background plane, optionally behind an
occluding bar, then adds depth noise (σ = 1.5 mm + 2.5 mm·z²), 3 % dropouts and 1 mm
quantisation, like a structured-light or time-of-flight sensor.
"""

from __future__ import annotations

import numpy as np

from sensors.types import CameraIntrinsics

from .joints import BONES, RADII_M

PALM = ((0, 1, 5), (0, 5, 9), (0, 9, 13), (0, 13, 17))  # triangles filled as the palm


def _spheres(joints: np.ndarray, scale: float, step_m: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    centres, radii = [joints], [RADII_M * scale]
    for p, c in BONES:
        n = max(2, int(np.linalg.norm(joints[c] - joints[p]) / step_m))
        t = np.linspace(0, 1, n)[:, None]
        centres.append(joints[p] + t * (joints[c] - joints[p]))
        radii.append((RADII_M[p] + t[:, 0] * (RADII_M[c] - RADII_M[p])) * scale)
    for a, b, c in PALM:
        uv = np.array([(i, j) for i in np.linspace(0, 1, 12) for j in np.linspace(0, 1, 12) if i + j <= 1])
        centres.append(joints[a] + uv[:, :1] * (joints[b] - joints[a]) + uv[:, 1:] * (joints[c] - joints[a]))
        radii.append(np.full(len(uv), 0.011 * scale))
    return np.concatenate(centres), np.concatenate(radii)


def render_hand_depth(
    joints_camera_m: np.ndarray,
    K: CameraIntrinsics,
    scale: float = 1.0,
    background_m: float = 1.5,
    occluder: tuple[float, float, float, float] | None = None,
    noise: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """HxW float32 depth (metres, 0 = missing) of a hand with joints ``joints_camera_m`` (21, 3).

    ``occluder`` = (u0, u1, v0, v1) pixel box of a flat bar in front of the hand, 6 cm nearer than
    the wrist."""
    rng = np.random.default_rng(seed)
    depth = np.full((K.height, K.width), background_m, dtype=np.float64)
    C, R = _spheres(np.asarray(joints_camera_m, dtype=np.float64), scale)
    for (x, y, z), r in zip(C, R):
        if z <= r:
            continue
        u, v, rp = K.fx * x / z + K.cx, K.fy * y / z + K.cy, K.fx * r / z
        u0, u1 = int(max(np.floor(u - rp), 0)), int(min(np.ceil(u + rp) + 1, K.width))
        v0, v1 = int(max(np.floor(v - rp), 0)), int(min(np.ceil(v + rp) + 1, K.height))
        if u0 >= u1 or v0 >= v1:
            continue
        uu, vv = np.meshgrid(np.arange(u0, u1), np.arange(v0, v1))
        d2 = ((uu - u) ** 2 + (vv - v) ** 2) * (z / K.fx) ** 2
        inside = d2 < r * r
        front = z - np.sqrt(np.maximum(r * r - d2, 0.0))
        win = depth[v0:v1, u0:u1]
        win[inside] = np.minimum(win[inside], front[inside])
    if occluder is not None:
        u0, u1, v0, v1 = (round(a) for a in occluder)
        depth[max(v0, 0) : v1, max(u0, 0) : u1] = float(joints_camera_m[0][2]) - 0.06
    if noise:
        depth += rng.normal(0.0, 1.0, depth.shape) * (0.0015 + 0.0025 * depth**2)
        depth[rng.random(depth.shape) < 0.03] = 0.0
        depth = np.round(depth * 1000) / 1000
    return depth.astype(np.float32)


def random_hand_pose(
    model_joints_m: np.ndarray, rng: np.random.Generator, K: CameraIntrinsics, scale: float, articulation_m: float = 0.005
) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth camera-frame joints for a model hand (21, 3): scaled by ``scale``, perturbed
    per joint by ``articulation_m`` (the landmark model's own 3D error), randomly rotated and
    placed 0.35-0.8 m in front of the camera, inside the image. Returns (joints, 2D pixels)."""
    from scipy.spatial.transform import Rotation

    W = np.asarray(model_joints_m) - np.asarray(model_joints_m).mean(0)
    G = scale * (W + rng.normal(0.0, articulation_m, W.shape))
    G = G @ Rotation.from_rotvec(rng.normal(0.0, 0.35, 3)).as_matrix().T
    z = rng.uniform(0.35, 0.8)
    half = 0.35 * z * np.array([K.width / K.fx, K.height / K.fy]) / 2
    G = G + np.array([*rng.uniform(-half, half), z])
    px = G[:, :2] / G[:, 2:] * (K.fx, K.fy) + (K.cx, K.cy)
    return G, px
