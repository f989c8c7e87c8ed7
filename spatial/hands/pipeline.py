"""``spatial.hands.track``: hands of every frame of a session, video or image folder, in the map
frame when poses are known."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

import sensors
from sensors.room import RoomDescription
from sensors.types import RGBDFrame, Trajectory

from .gestures import SceneTargets
from .landmarker import HandLandmarkerOptions
from .result import HandsResult
from .sources import Source, open_source
from .tracking import HandTracker, TrackerOptions


def mesh_arrays(mesh) -> tuple[np.ndarray, np.ndarray] | None:
    """(vertices (N, 3), triangles (M, 3)) from a ``(V, F)`` pair, an object with ``vertices`` and
    ``triangles`` (open3d, the SDK's Scene mesh) or ``faces`` (trimesh), or ``None``."""
    if mesh is None:
        return None
    if isinstance(mesh, tuple | list) and len(mesh) == 2:
        V, F = mesh
    else:
        V = getattr(mesh, "vertices", None)
        F = getattr(mesh, "triangles", getattr(mesh, "faces", None))
    if V is None or F is None:
        return None
    V, F = np.asarray(V, dtype=np.float64), np.asarray(F, dtype=np.int64)
    return (V, F) if len(V) and len(F) else None


def scene_targets(scene=None, room: RoomDescription | None = None) -> SceneTargets | None:
    """Pointing/proximity targets from a scene's mesh and a room description (or the scene's)."""
    room = room if room is not None else getattr(scene, "room", None)
    arrays = mesh_arrays(getattr(scene, "mesh", None)) if scene is not None else None
    if arrays is None and room is None:
        return None
    V, F = arrays if arrays is not None else (None, None)
    return SceneTargets(vertices=V, triangles=F, room=room if isinstance(room, RoomDescription) else None)


def track(
    source: sensors.Session | Source | str | Path | Iterable[RGBDFrame],
    scene=None,
    trajectory: Trajectory | None = None,
    room: RoomDescription | None = None,
    landmarker: HandLandmarkerOptions | None = None,
    options: TrackerOptions | None = None,
    every: int = 1,
    max_frames: int | None = None,
) -> Iterator[HandsResult]:
    """Yield one :class:`HandsResult` per frame (empty when no hand).

    Camera poses (``T_world_camera``) come from ``trajectory``, else ``scene.trajectory``, else the
    session's ground truth; without any, hands have camera-frame joints only (flag
    ``"no_pose"``). Pointing rays and object proximity use ``scene.mesh`` and ``room`` (or
    ``scene.room``). Image folders run in image mode (independent stills), everything else in
    video mode (tracked) unless ``landmarker`` says otherwise.
    """
    for _, _, result in track_frames(source, scene, trajectory, room, landmarker, options, every, max_frames):
        yield result


def track_frames(
    source: sensors.Session | Source | str | Path | Iterable[RGBDFrame],
    scene=None,
    trajectory: Trajectory | None = None,
    room: RoomDescription | None = None,
    landmarker: HandLandmarkerOptions | None = None,
    options: TrackerOptions | None = None,
    every: int = 1,
    max_frames: int | None = None,
) -> Iterator[tuple[RGBDFrame, np.ndarray | None, HandsResult]]:
    """Like :func:`track`, yielding (frame, ``T_world_camera`` or None, result)."""
    opened = None
    if isinstance(source, str | Path):
        source = opened = open_source(source)
    try:
        session = source.session if isinstance(source, Source) else source if isinstance(source, sensors.Session) else None
        known = source.intrinsics_known if isinstance(source, Source) else True
        frames = source.frames(every=every) if isinstance(source, Source | sensors.Session) else iter(source)
        if landmarker is None:
            mode = "image" if isinstance(source, Source) and source.kind == "images" else "video"
            landmarker = HandLandmarkerOptions(running_mode=mode)
        poses = trajectory if trajectory is not None else getattr(scene, "trajectory", None)
        T_imu_camera = None
        if poses is None and session is not None and session.ground_truth is not None:
            poses, T_imu_camera = session.ground_truth.poses, session.calibration.T_imu_camera
        poses = poses.camera_poses(T_imu_camera) if poses is not None and len(poses) else None
        T_cd = session.calibration.T_color_depth if session is not None else None
        with HandTracker(landmarker, options, scene_targets(scene, room), T_cd) as tracker:
            for n, frame in enumerate(frames):
                if max_frames is not None and n >= max_frames:
                    break
                T = poses.interpolate(frame.timestamp_ns) if poses is not None else None
                yield frame, T, tracker.process(frame, T, intrinsics_known=known)
    finally:
        if opened is not None:
            opened.close()
