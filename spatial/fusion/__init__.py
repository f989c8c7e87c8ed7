"""Tracking and fusion: a session without poses in, a trajectory out.

>>> result = spatial.fusion.track(sensors.open("capture.mcap"))   # doctest: +SKIP
>>> result.trajectory, result.lost, result.stats["imu"]            # doctest: +SKIP

Pieces: :mod:`~spatial.fusion.icp` (dense RGB-D alignment), :mod:`~spatial.fusion.odometry`
(frame-to-model tracking on the TSDF), :mod:`~spatial.fusion.imu` (preintegration, inertial
initialisation, time offset), :mod:`~spatial.fusion.vio` (fixed-lag visual-inertial smoother),
:mod:`~spatial.fusion.loop` (keyframes, relocalisation, loop closure, pose graph) and
:mod:`~spatial.fusion.tracker` (the loop that ties them together).
"""

from .config import TrackerConfig
from .tracker import FrameStatus, Tracker, TrackingResult, track

__all__ = ["FrameStatus", "Tracker", "TrackerConfig", "TrackingResult", "track"]
