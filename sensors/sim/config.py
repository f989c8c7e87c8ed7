"""Configuration of a simulated capture (pydantic; invalid values raise :class:`ConfigError`)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import validated
from ..types import CameraIntrinsics

Preset = Literal["studio", "kitchen", "bedroom", "apartment"]


class SimConfig(BaseModel):
    """Everything that determines a simulated session; the same config gives the same bytes.

    Camera: ``width`` x ``height`` pinhole with focal ``focal_px`` (principal point at the image
    centre), ``fps`` frames per second, colour stored as JPEG of ``jpeg_quality``. IMU:
    ``imu_rate_hz`` with EuRoC-like noise when ``imu_noise``. Timing faults: the IMU clock runs
    ``imu_clock_offset_ns`` ahead of the camera's (told to the reader through the calibration
    when ``offset_in_calibration``, else left for time-offset estimation to find), timestamp
    jitter (standard deviation, ns) and independent drop probabilities.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Preset = "studio"
    seed: int = Field(0, ge=0)
    duration_s: float | None = Field(None, gt=0, description="None: one tour facing every wall")
    width_m: float | None = Field(None, gt=0, description="interior width of the main room")
    length_m: float | None = Field(None, gt=0, description="interior length of the main room")
    ceiling_m: float | None = Field(None, gt=0)
    fps: float = Field(30.0, gt=0, le=240)
    width: int = Field(640, gt=0, le=4096)
    height: int = Field(480, gt=0, le=4096)
    focal_px: float = Field(525.0, gt=0)
    jpeg_quality: int = Field(95, ge=1, le=100)
    depth_noise: bool = True
    max_depth_m: float = Field(6.0, gt=0.3)
    imu_rate_hz: float = Field(200.0, gt=0, le=4000)
    imu_noise: bool = True
    imu_clock_offset_ns: int = 0
    offset_in_calibration: bool = True
    imu_jitter_ns: float = Field(0.0, ge=0)
    imu_drop_rate: float = Field(0.0, ge=0, lt=1)
    frame_jitter_ns: float = Field(0.0, ge=0)
    frame_drop_rate: float = Field(0.0, ge=0, lt=1)

    @classmethod
    def create(cls, **values) -> SimConfig:
        """Validate ``values`` into a config, turning pydantic's errors into one :class:`ConfigError`."""
        return validated(cls, "simulation", **values)

    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics(
            self.focal_px, self.focal_px, (self.width - 1) / 2, (self.height - 1) / 2, self.width, self.height
        )

    def room_overrides(self) -> dict[str, float]:
        return {k: v for k in ("width_m", "length_m", "ceiling_m") if (v := getattr(self, k)) is not None}

    def rng(self, stream: int) -> np.random.Generator:
        """Independent random stream ``stream`` of this seed (trajectory, IMU, frames, render)."""
        return np.random.default_rng([self.seed, stream])
