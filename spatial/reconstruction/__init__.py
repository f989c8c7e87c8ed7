"""Reconstruction: streaming TSDF fusion (Open3D ``VoxelBlockGrid``) of posed RGB-D frames into
meshes, point clouds and raycasts. Poses come from tracking the camera
(:func:`spatial.fusion.track`), or from the session's ground truth when asked.

>>> scene = spatial.reconstruct(sensors.open("capture.mcap"))   # doctest: +SKIP
>>> scene.export("room.usdz")                                     # doctest: +SKIP

Open3D is imported on first use, so ``import spatial`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from .config import ReconstructionConfig

if TYPE_CHECKING:
    from sensors.session import Session
    from sensors.types import Trajectory

    from ..fusion import TrackerConfig
    from ..scene import Scene
    from .pipeline import camera_trajectory
    from .tsdf import Raycast, TSDFVolume

__all__ = ["Raycast", "ReconstructionConfig", "TSDFVolume", "camera_trajectory", "reconstruct"]

_LAZY = {"Raycast": "tsdf", "TSDFVolume": "tsdf", "camera_trajectory": "pipeline"}


def reconstruct(
    session: Session,
    config: ReconstructionConfig | None = None,
    poses: Trajectory | Literal["track", "ground_truth"] | None = "track",
    progress: Callable[[int], None] | None = None,
    tracker: TrackerConfig | None = None,
) -> Scene:
    """Fuse ``session``'s RGB-D frames at ``poses`` (default ``"track"``: the camera tracked by
    :func:`spatial.fusion.track`; ``"ground_truth"``: the session's) into a
    :class:`~spatial.scene.Scene`; see :func:`spatial.reconstruction.pipeline.reconstruct`."""
    from .pipeline import reconstruct as run

    return run(session, config, poses, progress, tracker)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
