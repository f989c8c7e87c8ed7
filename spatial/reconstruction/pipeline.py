"""``reconstruct``: a session and camera poses in, a :class:`~spatial.scene.Scene` out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

import sensors
from sensors.errors import CalibrationError, ConfigError, EmptySessionError, SyncError
from sensors.session import Session
from sensors.types import RGBDFrame, Trajectory

from ..scene import Keyframe, Scene
from .config import ReconstructionConfig
from .tsdf import TSDFVolume

if TYPE_CHECKING:
    from ..fusion import TrackerConfig

log = logging.getLogger(__name__)


PoseSource = Literal["track", "ground_truth"]


def camera_trajectory(session: Session, poses: Trajectory | None = None) -> Trajectory:
    """``T_world_camera`` poses for ``session``: ``poses`` if given, else its ground truth;
    IMU-body poses are moved to the camera with ``calibration.T_imu_camera``."""
    source = "given poses"
    if poses is None:
        poses = session.ground_truth.poses if session.ground_truth is not None else None
        source = "ground truth"
        if poses is None or len(poses) == 0:
            raise EmptySessionError(
                "the session has no ground-truth poses: reconstruct it with tracked poses (the default) "
                "or pass a trajectory", session.path,
            )
    if len(poses) == 0:
        raise EmptySessionError("the given trajectory is empty", session.path)
    camera = poses.camera_poses(session.calibration.T_imu_camera)
    if camera is not None:
        return camera
    if poses.body == "imu":
        raise CalibrationError(
            f"{source} are IMU poses and the calibration has no T_imu_camera to turn them into camera poses",
            session.path,
        )
    raise CalibrationError(f"{source} are for body '{poses.body}'; expected 'camera' or 'imu'", session.path)


def has_ground_truth_poses(session: Session) -> bool:
    """Whether ``session`` carries a non-empty ground-truth trajectory."""
    gt = session.ground_truth
    return gt is not None and gt.poses is not None and len(gt.poses) > 0


def tracked_trajectory(session: Session, tracker: TrackerConfig | None = None,
                       progress: Callable[[int], None] | None = None) -> tuple[Trajectory, dict]:
    """Track ``session`` with :func:`spatial.fusion.track`; returns ``T_world_camera`` of the
    tracked frames and the tracking statistics. Raises :class:`EmptySessionError` when no frame
    could be tracked."""
    from ..fusion import track

    result = track(session, tracker, progress)
    if len(result.trajectory) == 0:
        raise EmptySessionError(
            f"tracking lost all {result.stats['frames']} frames ({result.stats['lost_reasons']}); nothing to reconstruct",
            session.path,
        )
    return result.trajectory, result.stats


def _keyframe(frame: RGBDFrame, T: np.ndarray, scale: float) -> Keyframe:
    K = frame.depth_intrinsics or frame.intrinsics
    color, depth = frame.color, frame.depth_m
    if scale != 1.0:
        K = K.scaled(scale)
        size = (K.width, K.height)
        depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST) if depth is not None else None
        color = cv2.resize(color, size, interpolation=cv2.INTER_AREA) if color is not None else None
    if frame.depth_intrinsics is not None:
        color = None  # colour is in another camera; the keyframe keeps the depth camera's view
    return Keyframe(frame.timestamp_ns, T.copy(), K, color, depth)


def reconstruct(
    session: Session,
    config: ReconstructionConfig | None = None,
    poses: Trajectory | PoseSource | None = "track",
    progress: Callable[[int], None] | None = None,
    tracker: TrackerConfig | None = None,
) -> Scene:
    """Fuse every RGB-D frame of ``session`` into a TSDF volume and return the scene (mesh,
    cloud with normals, the poses used, keyframes).

    ``poses``: ``"track"`` (default, or ``None``): track the camera first with
    :func:`spatial.fusion.track` (configured by ``tracker``; the scene's world frame is then the
    tracker's, gravity-aligned z-up with an IMU); ``"ground_truth"``: the session's ground truth
    (only when asked, so that a capture with ground truth still exercises the pipeline); or a
    trajectory of ``T_world_camera`` (or IMU-body poses, moved with ``T_imu_camera``) by
    timestamp. A frame is fused with the pose
    interpolated at its timestamp when poses lie within ``config.pose_max_gap_ms`` around it;
    other frames (e.g. frames the tracker lost) are skipped and counted in ``scene.metadata``.
    ``progress(1)`` is called per frame read, in each pass (tracking, then fusion).
    Raises :class:`EmptySessionError` (no frames, no frame with valid depth, no pose for a
    ``"ground_truth"`` request, or tracking lost every frame) and :class:`SyncError` (no frame
    has a pose).
    """
    config = config or ReconstructionConfig()
    if session.num_frames == 0:
        raise EmptySessionError("the session has no RGB-D frames to reconstruct", session.path)
    tracking = None
    if isinstance(poses, Trajectory):
        trajectory, source = camera_trajectory(session, poses), "given"
    elif poses == "ground_truth":
        trajectory, source = camera_trajectory(session), "ground truth"
    elif poses in (None, "track"):
        trajectory, tracking = tracked_trajectory(session, tracker, progress)
        source = "tracked"
    else:
        raise ConfigError(f"poses must be a Trajectory, 'track' or 'ground_truth', got {poses!r}")
    max_gap = int(config.pose_max_gap_ms * 1e6)
    volume = TSDFVolume.from_config(config)
    stats = {"frames_read": 0, "frames_fused": 0, "skipped_no_pose": 0, "skipped_no_depth": 0}
    used_ts, used_T, keyframes = [], [], []
    intrinsics = None
    try:
        for frame in session.frames(every=config.every):
            if config.max_frames is not None and stats["frames_read"] >= config.max_frames:
                break
            stats["frames_read"] += 1
            intrinsics = intrinsics or frame.intrinsics
            T = _pose_at(trajectory, frame.timestamp_ns, max_gap)
            if T is None:
                stats["skipped_no_pose"] += 1
            elif not _fuse(volume, frame, T, session.calibration.T_color_depth):
                stats["skipped_no_depth"] += 1
            else:
                stats["frames_fused"] += 1
                used_ts.append(frame.timestamp_ns)
                used_T.append(T)
                if config.keyframe_every and (stats["frames_fused"] - 1) % config.keyframe_every == 0:
                    keyframes.append(_keyframe(frame, T, config.keyframe_scale))
            if progress is not None:
                progress(1)
        if stats["frames_fused"] == 0:
            if stats["skipped_no_pose"] == stats["frames_read"]:
                t0, t1 = trajectory.timestamps_ns[0], trajectory.timestamps_ns[-1]
                raise SyncError(
                    f"none of the {stats['frames_read']} frames has a pose within {config.pose_max_gap_ms:g} ms "
                    f"(poses cover {t0 / 1e9:.3f}-{t1 / 1e9:.3f} s)", session.path,
                )
            raise EmptySessionError(
                f"no frame has valid depth within {config.depth_min_m:g}-{config.depth_max_m:g} m "
                f"({stats['skipped_no_depth']} frames with poses had none)", session.path,
            )
        if stats["frames_fused"] < stats["frames_read"]:
            log.warning(
                "%s: skipped %d of %d frames without a pose within %g ms and %d without valid depth",
                session.path, stats["skipped_no_pose"], stats["frames_read"], config.pose_max_gap_ms,
                stats["skipped_no_depth"],
            )
        mesh, cloud = volume.extract_mesh(), volume.extract_cloud()
        stats.update(blocks=volume.num_blocks, memory_bytes=volume.memory_bytes, blocks_evicted=volume.blocks_evicted)
    finally:
        volume.close()
    metadata = {
        "source": str(session.path),
        "format": session.format,
        "poses": source,
        "config": config.model_dump(),
        "stats": stats,
        "sensors_version": getattr(sensors, "__version__", None),
    }
    if tracking is not None:
        metadata["tracking"] = tracking
    return Scene(
        Trajectory(np.array(used_ts, np.int64), np.stack(used_T), body="camera"),
        intrinsics, mesh, cloud, keyframes, None, metadata,
    )


def _fuse(volume: TSDFVolume, frame: RGBDFrame, T: np.ndarray, T_color_depth: np.ndarray) -> bool:
    """Integrate ``frame``; whether it had valid depth in range."""
    if frame.depth_m is None:
        return False
    before = volume.frames_integrated
    volume.integrate_frame(frame, T, T_color_depth)
    return volume.frames_integrated > before


def _pose_at(trajectory: Trajectory, t_ns: int, max_gap_ns: int) -> np.ndarray | None:
    """The pose at ``t_ns``: exact, interpolated between neighbours at most ``max_gap_ns``
    apart, or the nearest one within ``max_gap_ns`` / 2 at either end."""
    j = trajectory.index_of(t_ns, max_gap_ns // 2)
    if j is not None and trajectory.timestamps_ns[j] == t_ns:
        return trajectory.T_world_body[j]
    T = trajectory.interpolate(t_ns, max_gap_ns)
    if T is None and j is not None:
        T = trajectory.T_world_body[j]
    return T
