"""Scenes: the map (mesh, cloud), camera trajectory, intrinsics and keyframes of a
reconstruction, saved as a folder and exported to PLY, OBJ, GLB, USDZ and TUM."""

from .geometry import Mesh, PointCloud
from .scene import Keyframe, Scene

__all__ = ["Keyframe", "Mesh", "PointCloud", "Scene"]
