"""Configuration of camera tracking (pydantic; invalid values raise :class:`ConfigError`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sensors.errors import validated


class TrackerConfig(BaseModel):
    """Everything that shapes :func:`spatial.fusion.track`; the defaults suit a hand-held RGB-D
    camera at 640x480, 30 Hz, indoors.

    Odometry: frames are halved until narrower than twice ``track_width`` pixels (640x480 →
    160x120), then tracked and fused at that size, on a ``levels``-level pyramid with
    ``iterations`` Gauss-Newton steps per level (coarsest first), against the TSDF model
    (``voxel_size_m``, truncation ``sdf_trunc_m``) rendered at the same size every
    ``raycast_every`` frames or sooner when the camera moved ``raycast_move_m`` /
    ``raycast_turn_deg`` from the rendered view; depth outside ``[depth_min_m, depth_max_m]`` is
    ignored. ``icp_backend``: ``"open3d"`` (fast C++ point-to-plane kernels, Open3D's hybrid
    depth + intensity kernel when ``photometric_weight`` > 0) followed by ``refine_iterations``
    steps of this package's solver, or ``"numpy"`` (this package's solver throughout, with a
    photometric term weighted ``photometric_weight``). The refinement is off by default: with
    loop closure, on 7-Scenes and the simulator, it cost accuracy (``benchmarks/tracking.py``).
    ``depth_weighting`` (this package's solver only) weighs points by the inverse variance of
    structured-light depth noise (it grows with the square of depth). Pairs
    farther than ``max_correspondence_m`` are rejected, residuals above ``huber_m`` down-weighted.
    ``fuse_pixel_offset`` (pixels added to the principal point when fusing; ``None``: measured
    once, see :func:`~spatial.fusion.odometry.integration_offset_px`) corrects the half-pixel
    shift between Open3D's TSDF integration and its raycasts.

    Failure detection (a frame is *lost*, never silently accepted): fewer than
    ``min_valid_depth`` of the pixels with depth, less than ``min_overlap`` of the points landing
    on the map, fewer than ``min_inlier_ratio`` of those matching it,
    point-to-plane RMS above ``max_rmse_m`` or above ``max_rmse_ratio`` times the median of the last
    30 accepted frames (and 5 mm), a jump from the prediction above ``max_jump_m`` /
    ``max_jump_deg``, or degenerate geometry (the best-aligned share of normals in the weakest direction below
    ``min_constraint``) without IMU support.
    Relocalisation tries the last model view and keyframes (``keyframe_move_m`` /
    ``keyframe_turn_deg`` apart).

    IMU (``imu``: ``"auto"`` uses it when the session has IMU data and ``T_imu_camera``; ``"on"``
    requires it): inertial initialisation over the first ``imu_init_s`` seconds of odometry, the
    camera–IMU clock offset estimated when ``estimate_time_offset`` (``"auto"``: when the
    calibration gives none; applied when larger than ``min_time_offset_ms``, the estimate's
    typical error), fixed-lag smoothing over ``smoother_lag_s``; vision may drop out for
    at most ``imu_only_max_s`` before frames count as lost. ``visual_sigma_m`` bounds
    the confidence given to one odometry pose (its best-constrained direction).

    Loop closure: each new keyframe is compared with older ones (at least ``loop_min_separation``
    keyframes back): the nearest within ``loop_search_m`` by the current poses, and look-alikes by
    a global image descriptor placed with ORB + RANSAC (``loop_min_inliers``); dense ICP verifies
    each (well-constrained geometry, and within ``loop_max_correction_m`` of what odometry says, so
    a view that ICP slid along a wall cannot pull the map), and a gtsam pose graph spreads the
    corrections over the trajectory.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    track_width: int = Field(160, ge=40)
    levels: int = Field(2, ge=1, le=5)
    iterations: tuple[int, ...] = (6, 4)
    icp_backend: Literal["open3d", "numpy"] = "open3d"
    photometric_weight: float = Field(0.0, ge=0)
    depth_weighting: bool = True
    refine_iterations: int = Field(0, ge=0)
    refine_level: int = Field(0, ge=0)
    max_correspondence_m: float = Field(0.05, gt=0)
    huber_m: float = Field(0.05, gt=0)
    depth_min_m: float = Field(0.2, ge=0)
    depth_max_m: float = Field(4.0, gt=0)
    voxel_size_m: float = Field(0.02, gt=0.001, le=0.1)
    sdf_trunc_m: float | None = Field(None, gt=0)
    integrate_every: int = Field(1, ge=1)
    raycast_every: int = Field(3, ge=1)
    raycast_move_m: float = Field(0.05, gt=0)
    raycast_turn_deg: float = Field(5.0, gt=0)
    fuse_pixel_offset: float | None = None

    min_valid_depth: float = Field(0.05, ge=0, le=1)
    min_overlap: float = Field(0.15, ge=0, le=1)
    min_inlier_ratio: float = Field(0.5, ge=0, le=1)
    max_rmse_m: float = Field(0.03, gt=0)
    max_rmse_ratio: float = Field(2.5, gt=1)
    max_jump_m: float = Field(0.15, gt=0)
    max_jump_deg: float = Field(20.0, gt=0)
    min_constraint: float = Field(0.001, ge=0)
    dark_intensity: float = Field(0.04, ge=0, le=1)
    relocalise: bool = True
    keyframe_move_m: float = Field(0.15, gt=0)
    keyframe_turn_deg: float = Field(12.0, gt=0)

    imu: Literal["auto", "on", "off"] = "auto"
    imu_init_s: float = Field(2.0, gt=0.3)
    estimate_time_offset: Literal["auto", "on", "off"] = "auto"
    max_time_offset_ms: float = Field(200.0, gt=0)
    min_time_offset_ms: float = Field(5.0, ge=0)
    smoother_lag_s: float = Field(1.5, gt=0)
    imu_only_max_s: float = Field(1.0, ge=0)
    imu_max_gap_ms: float = Field(50.0, gt=0)
    visual_sigma_m: float = Field(0.003, gt=0)

    loop_closure: bool = True
    loop_min_separation: int = Field(8, ge=2)
    loop_min_inliers: int = Field(12, ge=6)
    loop_search_m: float = Field(0.5, gt=0)
    loop_max_correction_m: float = Field(0.1, gt=0)

    max_frames: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> TrackerConfig:
        if not self.iterations or any(i < 0 for i in self.iterations):
            raise ValueError(f"iterations must be non-negative counts, got {self.iterations}")
        if self.depth_min_m >= self.depth_max_m:
            raise ValueError(f"depth_min_m ({self.depth_min_m}) must be below depth_max_m ({self.depth_max_m})")
        return self

    @classmethod
    def create(cls, **values) -> TrackerConfig:
        """Validate ``values``, turning pydantic's errors into one :class:`ConfigError`."""
        return validated(cls, "tracker", **values)
