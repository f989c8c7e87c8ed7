"""Configuration of room capture (pydantic; invalid values raise :class:`ConfigError`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sensors.errors import validated


class RoomOptions(BaseModel):
    """What shapes :func:`spatial.rooms.capture`; the defaults suit a room reconstructed at 1-2 cm.

    ``up``: which input axis points up. ``"auto"`` trusts a map from tracking with an IMU
    (gravity-aligned, z up) and otherwise estimates it from the geometry and the cameras; ``"z"``
    or ``"y"`` (a y-up mesh, e.g. from ARKit, glTF or many OBJ exporters) say so. ``scale``
    multiplies the input's coordinates into metres (0.001 for millimetres); ``None`` refuses
    geometry larger than ``max_extent_m``, which is almost always a unit mistake.
    ``voxel_m``: the spacing the surface is pooled to before anything else (metres).
    ``wall_thickness_m``: the thickness given to walls whose other side was not seen.
    ``openings`` / ``objects`` turn those stages off. ``classifier``: the object-classifier
    backend by name (see :mod:`spatial.rooms.classify`); ``classifier_path`` the file a learned
    backend loads (``None``: its weights shipped with the package).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    up: Literal["auto", "z", "y"] = "auto"
    scale: float | None = Field(None, gt=0)
    max_extent_m: float = Field(100.0, gt=0)
    voxel_m: float = Field(0.02, ge=0.005, le=0.1)
    wall_thickness_m: float = Field(0.12, gt=0, le=1.0)
    min_floor_m2: float = Field(0.5, gt=0)
    openings: bool = True
    objects: bool = True
    classifier: str = "default"
    classifier_path: str | None = None

    @classmethod
    def create(cls, **values) -> RoomOptions:
        """Validate ``values``, turning pydantic's errors into one :class:`ConfigError`."""
        return validated(cls, "room", **values)
