"""Conversions between the SDK's conventions and y-up ones (OpenGL, ARKit, RoomPlan, USD y-up).

This is the only module that knows about other conventions (DESIGN.md, Frames):

* SDK world: z up, gravity −z, metres. SDK camera: OpenCV (x right, y down, z forward).
* ARKit/RoomPlan world: y up, gravity −y, metres, right-handed. OpenGL/ARKit camera:
  x right, y up, looking down −z.

``C_ARKIT_SDK`` maps SDK world coordinates to ARKit world coordinates:
(x, y, z)_sdk → (x, z, −y)_arkit. Object-local frames map the same way, so a box whose SDK
local axes are (width, depth, height) has ARKit local axes (width, height, −depth).
"""

from __future__ import annotations

import numpy as np

C_ARKIT_SDK = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
C_SDK_ARKIT = C_ARKIT_SDK.T

# OpenCV camera axes → OpenGL/ARKit camera axes (flip y and z)
C_GL_CV = np.diag([1.0, -1.0, -1.0, 1.0])


def points_sdk_to_arkit(p: np.ndarray) -> np.ndarray:
    """(N, 3) SDK world points → ARKit world points."""
    return np.asarray(p, dtype=np.float64) @ C_ARKIT_SDK[:3, :3].T


def points_arkit_to_sdk(p: np.ndarray) -> np.ndarray:
    """(N, 3) ARKit world points → SDK world points."""
    return np.asarray(p, dtype=np.float64) @ C_SDK_ARKIT[:3, :3].T


def box_pose_sdk_to_arkit(T_world_box: np.ndarray) -> np.ndarray:
    """Pose of a box/surface in the SDK world (local x width, y depth, z height) → its RoomPlan
    transform in the ARKit world (local x width, y height, z depth)."""
    return C_ARKIT_SDK @ np.asarray(T_world_box, dtype=np.float64) @ C_SDK_ARKIT


def box_pose_arkit_to_sdk(T_arkit: np.ndarray) -> np.ndarray:
    """Inverse of :func:`box_pose_sdk_to_arkit`."""
    return C_SDK_ARKIT @ np.asarray(T_arkit, dtype=np.float64) @ C_ARKIT_SDK


def dims_sdk_to_arkit(dims_m) -> list[float]:
    """(width, depth, height) → RoomPlan ``dimensions`` (width, height, depth)."""
    w, d, h = (float(x) for x in dims_m)
    return [w, h, d]


def dims_arkit_to_sdk(dims) -> tuple[float, float, float]:
    """RoomPlan ``dimensions`` (width, height, depth) → (width, depth, height)."""
    w, h, d = (float(x) for x in dims)
    return (w, d, h)


def camera_pose_cv_to_gl(T_world_camcv: np.ndarray) -> np.ndarray:
    """SDK camera pose (OpenCV axes, z-up world) → ARKit camera transform (GL axes, y-up world)."""
    return C_ARKIT_SDK @ np.asarray(T_world_camcv, dtype=np.float64) @ C_GL_CV


def camera_pose_gl_to_cv(T_arkit_camgl: np.ndarray) -> np.ndarray:
    """ARKit camera transform (GL axes, y-up world) → SDK camera pose (OpenCV axes, z-up world)."""
    return C_SDK_ARKIT @ np.asarray(T_arkit_camgl, dtype=np.float64) @ C_GL_CV
