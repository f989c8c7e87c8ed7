"""Small SE(3)/SO(3) helpers shared by the fusion modules.

Twists are 6-vectors ``(ω, v)`` (rotation first, as in gtsam). Updates are applied on the left:
``T ← exp(ξ) T``, so ``ξ`` is expressed in the frame ``T`` maps into.
"""

from __future__ import annotations

import numpy as np


def skew(w: np.ndarray) -> np.ndarray:
    """3x3 cross-product matrix of ``w``."""
    x, y, z = w
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def so3_exp(w: np.ndarray) -> np.ndarray:
    """Rotation matrix of the rotation vector ``w`` (radians)."""
    th = float(np.linalg.norm(w))
    K = skew(w)
    if th < 1e-10:
        return np.eye(3) + K
    return np.eye(3) + np.sin(th) / th * K + (1 - np.cos(th)) / th**2 * K @ K


def so3_log(R: np.ndarray) -> np.ndarray:
    """Rotation vector of ``R`` (radians)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(R).as_rotvec()


def se3_exp(xi: np.ndarray) -> np.ndarray:
    """4x4 transform of the twist ``(ω, v)``."""
    w, v = np.asarray(xi[:3], float), np.asarray(xi[3:], float)
    th = float(np.linalg.norm(w))
    K = skew(w)
    R = so3_exp(w)
    if th < 1e-10:
        V = np.eye(3) + 0.5 * K
    else:
        V = np.eye(3) + (1 - np.cos(th)) / th**2 * K + (th - np.sin(th)) / th**3 * K @ K
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, V @ v
    return T


def inv(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    out = np.eye(4)
    R = T[:3, :3]
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ T[:3, 3]
    return out


def rotation_angle(T_or_R: np.ndarray) -> float:
    """Rotation angle (radians) of a 3x3 rotation or the rotation block of a 4x4 transform."""
    R = T_or_R[:3, :3]
    return float(np.arccos(np.clip((np.trace(R) - 1) / 2, -1.0, 1.0)))


def motion(T_a: np.ndarray, T_b: np.ndarray) -> tuple[float, float]:
    """(translation metres, rotation radians) between two poses."""
    D = inv(T_a) @ T_b
    return float(np.linalg.norm(D[:3, 3])), rotation_angle(D)


def adjoint(T: np.ndarray) -> np.ndarray:
    """6x6 adjoint of ``T`` for ``(ω, v)`` twists: ``T exp(ξ) T⁻¹ = exp(Ad_T ξ)``."""
    R, t = T[:3, :3], T[:3, 3]
    A = np.zeros((6, 6))
    A[:3, :3] = R
    A[3:, 3:] = R
    A[3:, :3] = skew(t) @ R
    return A


def interpolate_pose(T0: np.ndarray, T1: np.ndarray, a: float) -> np.ndarray:
    """Pose a fraction ``a`` of the way from ``T0`` to ``T1`` (slerp rotation, linear translation)."""
    w = so3_log(T0[:3, :3].T @ T1[:3, :3])
    T = np.eye(4)
    T[:3, :3] = T0[:3, :3] @ so3_exp(a * w)
    T[:3, 3] = (1 - a) * T0[:3, 3] + a * T1[:3, 3]
    return T
