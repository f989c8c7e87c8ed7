"""Log a session to a rerun recording (``.rrd``): images, camera frustums along ground truth,
the ground-truth path and IMU time series (:func:`log_tracking`: a tracking result). Needs the ``viz`` extra (``rerun-sdk``).

Entity layout (world z-up, metres; the camera uses OpenCV axes, rerun's ``RDF``)::

    world                      ViewCoordinates RIGHT_HAND_Z_UP (static)
    world/ground_truth         LineStrips3D of the camera path (static)
    world/camera               Transform3D T_world_camera per frame (from ground truth)
    world/camera/color         Pinhole of the colour camera; .../color/image the colour image
    world/camera/depth         Transform3D T_color_depth + Pinhole; .../depth/image DepthImage
                               (uint16 millimetres when exact, else float32 metres)
    imu/accel, imu/gyro        Scalars (x, y, z) in m/s² and rad/s, IMU frame

All data sits on one timeline, ``time``: a timestamp when the session clock is Unix time, else a
duration since the session clock's zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sensors.errors import ConfigError, require
from sensors.formats._atomic import atomic_path
from sensors.formats._io import metres_to_depth
from sensors.session import Session
from sensors.types import CameraIntrinsics, RGBDFrame, Trajectory

if TYPE_CHECKING:
    from spatial.fusion import TrackingResult

TIMELINE = "time"
_UNIX_TIME_NS = 10**17  # session clocks past 1973 are taken to be Unix time
_MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


def log_session(
    session: Session,
    rrd_path: str | Path,
    max_frames: int | None = None,
    every: int = 1,
    progress: Callable[[int], None] | None = None,
    **replay_options,
) -> Path:
    """Write ``session`` to the rerun file ``rrd_path`` (atomically) and return its path.

    ``every``: log every k-th RGB-D frame; ``max_frames``: stop after this many logged frames
    (IMU is then logged only up to the last logged frame). ``progress(1)`` is called per logged
    frame. ``replay_options`` go to :meth:`Session.replay` (``readahead``, ``realtime``, …).
    """
    rr = require("rerun", "viz", "rerun recordings")
    if every < 1:
        raise ConfigError(f"every must be >= 1, got {every}")
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1, got {max_frames}")
    rrd_path = Path(rrd_path)
    clock = _Clock(bool(session.streams) and session.start_ns > _UNIX_TIME_NS)

    with atomic_path(rrd_path) as tmp:
        rec = start_recording(rr, tmp)
        try:
            rec.send_recording_name(f"{session.path.name} ({session.format})")
            cameras = _camera_trajectory(session)
            if cameras is not None:
                rec.log("world/ground_truth", rr.LineStrips3D([cameras.positions_m]), static=True)
            last_ns = None
            if session.num_frames:
                last_ns = _log_frames(rr, rec, session, cameras, clock, max_frames, every, progress, replay_options)
            _log_imu(rr, rec, session, clock, last_ns if max_frames is not None else None)
            rec.flush()
        finally:
            rec.disconnect()
    return rrd_path


def start_recording(rr, path: Path, application_id: str = "spatial"):
    """A rerun recording stream saving to ``path``: only the capture's own clock (no log-time
    timeline), ``world`` z-up. The caller flushes and disconnects it."""
    rec = rr.RecordingStream(application_id, recording_id=uuid.uuid4())
    rec.set_log_time_enabled(False)
    rec.save(path)
    rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    return rec


class _Clock:
    """Session-clock nanoseconds as rerun time values (Unix timestamps or durations)."""

    def __init__(self, absolute: bool) -> None:
        self.kind, self.dtype = ("timestamp", "datetime64[ns]") if absolute else ("duration", "timedelta64[ns]")

    def at(self, ns: int) -> dict:
        return {self.kind: np.int64(ns).astype(self.dtype)}

    def column(self, rr, ns: np.ndarray):
        return rr.TimeColumn(TIMELINE, **{self.kind: np.asarray(ns, dtype=np.int64).astype(self.dtype)})


def _camera_trajectory(session: Session) -> Trajectory | None:
    """Ground-truth camera poses (``T_world_camera``), converted from IMU poses when needed."""
    gt = session.ground_truth.poses if session.ground_truth else None
    return gt.camera_poses(session.calibration.T_imu_camera) if gt is not None and len(gt) else None


def _pinhole(rr, K: CameraIntrinsics):
    return rr.Pinhole(image_from_camera=K.K, resolution=[K.width, K.height], image_plane_distance=0.2)


def _log_frames(rr, rec, session, cameras, clock, max_frames, every, progress, replay_options) -> int | None:
    """Log the selected frames; returns the last logged frame's timestamp (ns)."""
    last_ns = None
    intrinsics: tuple | None = None
    for logged, frame in enumerate(session.frames(every=every, **replay_options), start=1):
        rec.set_time(TIMELINE, **clock.at(frame.timestamp_ns))
        if intrinsics != (frame.intrinsics, frame.depth_intrinsics):  # logged again only when they change
            intrinsics = (frame.intrinsics, frame.depth_intrinsics)
            T_cd = session.calibration.T_color_depth if frame.depth_intrinsics is not None else np.eye(4)
            rec.log("world/camera/color", _pinhole(rr, frame.intrinsics))
            rec.log(
                "world/camera/depth",
                rr.Transform3D(translation=T_cd[:3, 3], mat3x3=T_cd[:3, :3]),
                _pinhole(rr, frame.depth_intrinsics or frame.intrinsics),
            )
        if cameras is not None:
            T = cameras.interpolate(frame.timestamp_ns)
            if T is not None:
                rec.log("world/camera", rr.Transform3D(translation=T[:3, 3], mat3x3=T[:3, :3]))
        _log_images(rr, rec, frame)
        last_ns = frame.timestamp_ns
        if progress is not None:
            progress(1)
        if max_frames is not None and logged >= max_frames:
            break
    return last_ns


def _log_images(rr, rec, frame: RGBDFrame) -> None:
    if frame.color_encoded is not None and frame.color_encoding in _MEDIA_TYPES:
        image = rr.EncodedImage(contents=frame.color_encoded, media_type=_MEDIA_TYPES[frame.color_encoding])
        rec.log("world/camera/color/image", image)
    elif frame.color is not None:
        rec.log("world/camera/color/image", rr.Image(frame.color))
    if frame.depth_m is not None:
        mm = metres_to_depth(frame.depth_m, 1000.0)  # half the size of float metres when exact
        depth = rr.DepthImage(mm, meter=1000.0) if mm is not None else rr.DepthImage(frame.depth_m, meter=1.0)
        rec.log("world/camera/depth/image", depth)


def _log_imu(rr, rec, session: Session, clock: _Clock, until_ns: int | None) -> None:
    if not len(session.timestamps().get("imu", ())):
        return
    imu = session.imu()
    keep = slice(None) if until_ns is None else slice(0, int(np.searchsorted(imu.timestamps_ns, until_ns, "right")))
    index = [clock.column(rr, imu.timestamps_ns[keep])]
    for name, values in (("accel", imu.accel_mps2), ("gyro", imu.gyro_radps)):
        rec.log(f"imu/{name}", rr.SeriesLines(names=["x", "y", "z"]), static=True)
        rec.send_columns(f"imu/{name}", indexes=index, columns=rr.Scalars.columns(scalars=values[keep]))


def log_tracking(result: TrackingResult, rrd_path: str | Path, ground_truth: Trajectory | None = None) -> Path:
    """Write a tracking result (:class:`spatial.fusion.TrackingResult`) to the rerun file
    ``rrd_path`` (atomically): the tracked camera over time, its path, keyframes and loop
    closures, per-frame ICP figures and a log line for every frame not tracked by vision.

    With ``ground_truth`` (``T_world_camera``), the estimate is aligned onto it (SE(3), as for
    ATE) and both paths are drawn. Entities: ``world/estimate`` and ``world/ground_truth``
    (LineStrips3D), ``world/camera`` (Transform3D per tracked frame), ``world/keyframes``
    (Points3D), ``world/loops`` (LineStrips3D between the two keyframes of each closure),
    ``tracking/inlier_ratio``, ``tracking/rmse_mm`` (Scalars), ``tracking/events`` (TextLog).
    """
    rr = require("rerun", "viz", "rerun recordings")
    traj = result.trajectory
    if ground_truth is not None and len(traj) >= 3:
        from spatial.eval.trajectory import ate

        A = ate(ground_truth, traj).T_ref_est
        traj = Trajectory(traj.timestamps_ns, A @ traj.T_world_body, body=traj.body)
    clock = _Clock(bool(len(traj)) and int(traj.timestamps_ns[0]) > _UNIX_TIME_NS)
    rrd_path = Path(rrd_path)
    with atomic_path(rrd_path) as tmp:
        rec = start_recording(rr, tmp)
        try:
            if ground_truth is not None:
                rec.log("world/ground_truth", rr.LineStrips3D([ground_truth.positions_m], colors=[[160, 160, 160]]), static=True)
            if len(traj):
                rec.log("world/estimate", rr.LineStrips3D([traj.positions_m], colors=[[40, 120, 230]]), static=True)
                T = traj.T_world_body
                rec.send_columns("world/camera", indexes=[clock.column(rr, traj.timestamps_ns)],
                                 columns=rr.Transform3D.columns(translation=T[:, :3, 3], mat3x3=T[:, :3, :3]))
                at = {int(t): k for k, t in enumerate(traj.timestamps_ns)}
                kf = [at[int(s.timestamp_ns)] for s in result.status if s.keyframe and int(s.timestamp_ns) in at]
                if kf:
                    rec.log("world/keyframes", rr.Points3D(traj.positions_m[kf], radii=0.01), static=True)
                times = {s.index: int(s.timestamp_ns) for s in result.status}
                segs = [[traj.positions_m[at[times[a]]], traj.positions_m[at[times[b]]]]
                        for a, b in result.loops if times.get(a) in at and times.get(b) in at]
                if segs:
                    rec.log("world/loops", rr.LineStrips3D(segs, colors=[[230, 90, 40]]), static=True)
            ts = np.array([s.timestamp_ns for s in result.status], np.int64)
            for name, values in (("inlier_ratio", [s.inlier_ratio for s in result.status]),
                                 ("rmse_mm", [1e3 * s.rmse_m for s in result.status])):
                rec.send_columns(f"tracking/{name}", indexes=[clock.column(rr, ts)],
                                 columns=rr.Scalars.columns(scalars=np.asarray(values, np.float64)))
            for s in result.status:
                if s.source not in ("start", "vision", "vision+imu"):
                    rec.set_time(TIMELINE, **clock.at(int(s.timestamp_ns)))
                    level = rr.TextLogLevel.WARN if s.tracked else rr.TextLogLevel.ERROR
                    rec.log("tracking/events", rr.TextLog(f"frame {s.index}: {s.source}: {s.reason}", level=level))
            rec.flush()
        finally:
            rec.disconnect()
    return rrd_path
