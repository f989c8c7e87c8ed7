"""Configuration of TSDF reconstruction (pydantic; invalid values raise :class:`ConfigError`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sensors.errors import validated


class ReconstructionConfig(BaseModel):
    """Everything that shapes a reconstruction; the defaults suit a room scanned at 640x480.

    Volume: ``voxel_size_m`` (1 cm), truncation ``sdf_trunc_m`` (``None``: 4 voxels), depth used
    within ``[depth_min_m, depth_max_m]``, ``block_resolution`` voxels per block side, the block
    grid starting at ``initial_blocks`` (40 MB at 8³ voxels) and growing by ``growth`` whenever a
    frame would overflow it (each growth copies the grid, so fewer, larger steps are faster).
    Pre-filtering: bilateral smoothing (``bilateral``: window ``bilateral_diameter_px``, range
    sigma ``bilateral_sigma_m``, spatial sigma ``bilateral_sigma_px``) and removal of pixels on
    depth discontinuities (``edge_removal``: a 3x3 neighbourhood spanning more than
    ``edge_threshold`` times the depth). Eviction: with ``evict_distance_m`` set, every
    ``evict_every`` frames the blocks farther than that from the camera are dropped
    (``evict_mode="drop"``) or spilled to disk and brought back when seen again (``"spill"``).
    Poses: a frame is used when a pose lies within ``pose_max_gap_ms`` (interpolated between
    neighbours). Outputs: surfaces need ``weight_threshold`` observations; one frame in
    ``keyframe_every`` is kept in the scene at ``keyframe_scale`` of its size (0 keeps none);
    ``every`` integrates one frame in that many and ``max_frames`` stops early.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    voxel_size_m: float = Field(0.01, gt=0.0005, le=0.5)
    sdf_trunc_m: float | None = Field(None, gt=0)
    depth_min_m: float = Field(0.1, ge=0)
    depth_max_m: float = Field(4.0, gt=0, le=16.0)
    block_resolution: int = Field(8, ge=2, le=32)
    initial_blocks: int = Field(4096, ge=1)
    growth: float = Field(2.0, gt=1.0, le=4.0)
    device: str = "CPU:0"
    bilateral: bool = True
    bilateral_diameter_px: int = Field(5, ge=3, le=15)
    bilateral_sigma_m: float = Field(0.03, gt=0)
    bilateral_sigma_px: float = Field(2.0, gt=0)
    edge_removal: bool = True
    edge_threshold: float = Field(0.05, gt=0)
    evict_distance_m: float | None = Field(None, gt=0)
    evict_mode: Literal["drop", "spill"] = "drop"
    evict_every: int = Field(30, ge=1)
    pose_max_gap_ms: float = Field(50.0, ge=0)
    weight_threshold: float = Field(3.0, ge=0)
    keyframe_every: int = Field(30, ge=0)
    keyframe_scale: float = Field(0.5, gt=0, le=1)
    every: int = Field(1, ge=1)
    max_frames: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> ReconstructionConfig:
        if self.depth_min_m >= self.depth_max_m:
            raise ValueError(f"depth_min_m ({self.depth_min_m}) must be below depth_max_m ({self.depth_max_m})")
        return self

    @property
    def trunc_m(self) -> float:
        """The truncation distance actually used (metres)."""
        return self.sdf_trunc_m if self.sdf_trunc_m is not None else 4.0 * self.voxel_size_m

    @classmethod
    def create(cls, **values) -> ReconstructionConfig:
        """Validate ``values``, turning pydantic's errors into one :class:`ConfigError`."""
        return validated(cls, "reconstruction", **values)
