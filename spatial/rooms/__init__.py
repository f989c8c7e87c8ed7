"""Room understanding: walls, floors, doors, windows, openings and objects (RoomPlan's 16
categories) from a reconstruction, a session or a mesh file, as a
:class:`~sensors.room.RoomDescription` (RoomPlan-shaped JSON, USDZ, floor plans).

>>> room = spatial.rooms.capture(scene)          # doctest: +SKIP
>>> room.save_json("room.json"); room.export("room.usdz"); room.floorplan("plan.svg")  # doctest: +SKIP

Stages, each a small module: :mod:`.source` (input), :mod:`.gravity` (up and wall directions),
:mod:`.levels` (floors, ceilings, stories), :mod:`.walls` and :mod:`.layout` (wall faces, the wall
graph and room outlines), :mod:`.openings`, :mod:`.objects`, :mod:`.features` and
:mod:`.classify` (instances and their categories), :mod:`.merging` (several scans into one
structure); :mod:`.pipeline` is the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .options import RoomOptions

if TYPE_CHECKING:
    from .merging import merge
    from .pipeline import capture

__all__ = ["RoomOptions", "capture", "merge"]
_LAZY = {"capture": "pipeline", "merge": "merging"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
