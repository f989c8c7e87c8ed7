"""sensors: time-stamped RGB-D and IMU streams from files, simulators and devices.

>>> import sensors
>>> session = sensors.open("path/to/capture")      # doctest: +SKIP
>>> print(session.summary())                         # doctest: +SKIP
"""

from .errors import (
    CalibrationError,
    ConfigError,
    EmptySessionError,
    FormatError,
    MissingDependencyError,
    SpatialError,
    SyncError,
    UnknownFormatError,
)
from .formats import available as available_formats
from .formats import open_session as open
from .formats import register as register_format
from .session import Reader, Record, Session, SessionSummary
from .sync import ImuSeries
from .types import (
    Calibration,
    CameraIntrinsics,
    GroundTruth,
    ImuNoise,
    ImuSample,
    Pose,
    RGBDFrame,
    Trajectory,
)

__all__ = [
    "CalibrationError", "ConfigError", "EmptySessionError", "FormatError", "MissingDependencyError",
    "SpatialError", "SyncError", "UnknownFormatError",
    "available_formats", "open", "register_format",
    "Reader", "Record", "Session", "SessionSummary", "ImuSeries",
    "Calibration", "CameraIntrinsics", "GroundTruth", "ImuNoise", "ImuSample", "Pose", "RGBDFrame", "Trajectory",
]
__version__ = "0.1.0"
