"""Sections: what each room of a capture is (RoomPlan's ``CapturedRoom.Section``), told by the
objects standing in it — a bed makes a bedroom, a bathtub or toilet a bathroom, a stove, oven,
sink with dishwasher or refrigerator a kitchen, a sofa, television or fireplace a living room, a
table with chairs and nothing else a dining room; otherwise ``unidentified``."""

from __future__ import annotations

import numpy as np

from sensors.room import RoomElement, RoomSection

from ..scene.shapes import points_in_polygon

RULES = (  # first match wins: (label, categories any of which decides it)
    ("bathroom", ("bathtub", "toilet")),
    ("bedroom", ("bed",)),
    ("kitchen", ("stove", "oven", "dishwasher", "refrigerator")),
    ("livingRoom", ("sofa", "television", "fireplace")),
    ("diningRoom", ("table",)),
)


def label(categories: set[str]) -> str:
    """The section label for a room holding objects of ``categories``."""
    for name, cats in RULES:
        if categories & set(cats):
            return name
    return "unidentified"


def sections(rooms: list[np.ndarray], objects: list[RoomElement], floor_z: float, story: int) -> list[RoomSection]:
    """One section per room outline (counter-clockwise (K, 2) polygons, working frame), labelled
    by the objects whose centres lie in it, centred on the outline's centroid at the floor."""
    out = []
    centres = np.array([e.center_m[:2] for e in objects]).reshape(-1, 2)
    for poly in rooms:
        inside = points_in_polygon(centres, poly) if len(centres) else np.zeros(0, bool)
        cats = {e.category for e, i in zip(objects, inside) if i}
        c = poly.mean(0)
        out.append(RoomSection(label(cats), (float(c[0]), float(c[1]), float(floor_z)), story))
    return out
