"""spatial: fusion, reconstruction, room understanding and hand tracking on ``sensors`` sessions."""

from sensors.errors import (
    CalibrationError,
    ConfigError,
    EmptySessionError,
    FormatError,
    MissingDependencyError,
    SpatialError,
    SyncError,
)

from . import rooms as rooms
from .reconstruction import reconstruct as reconstruct

__all__ = [
    "CalibrationError", "ConfigError", "EmptySessionError", "FormatError", "MissingDependencyError",
    "SpatialError", "SyncError",
]
__version__ = "0.1.0"
