"""Several scans of one home, already in one world frame, merged into one structure (RoomPlan's
``CapturedStructure``).

* A wall seen twice from the same side (parallel within 5°, facing the same way, inner faces
  within 10 cm, overlapping along their length) becomes one wall spanning both.
* The two sides of one partition, each seen from its own room (facing opposite ways, inner faces
  3-45 cm apart back to back, overlapping over half the shorter) become one wall whose thickness
  is the distance between the faces, centred between them, facing like the longer one.
* Doors, windows and openings follow their wall; the same opening seen twice (same category, 2D
  IoU ≥ 0.5 in the wall) is kept once. Objects of the same category whose boxes overlap at 3D
  IoU ≥ 0.5 are kept once (the higher score). Floors and sections are all kept (one per room);
  warnings are concatenated. Kept elements keep their identifiers; a merged wall keeps the
  identifier of its longest contributor.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sensors.room import RoomDescription, RoomElement

from ..eval.rooms import object_iou, opening_iou

OPENINGS = ("door", "window", "opening")


def _inner(w: RoomElement) -> tuple[np.ndarray, np.ndarray, float]:
    """(2D normal into the room, a point on the inner face, offset n·p) of a wall box."""
    n = w.T_world_element[:2, 1] / np.linalg.norm(w.T_world_element[:2, 1])
    p = w.T_world_element[:2, 3] + n * w.dimensions_m[1] / 2
    return n, p, float(n @ p)


def _span(w: RoomElement, direction: np.ndarray) -> tuple[float, float]:
    c = float(w.T_world_element[:2, 3] @ direction)
    half = abs(w.T_world_element[:2, 0] @ direction) * w.dimensions_m[0] / 2
    return c - half, c + half


def _join(a: RoomElement, b: RoomElement) -> RoomElement | None:
    """The one wall ``a`` and ``b`` are (see the module docstring), or None."""
    na, _, oa = _inner(a)
    nb, pb, _ = _inner(b)
    u = a.T_world_element[:2, 0] / np.linalg.norm(a.T_world_element[:2, 0])
    (a0, a1), (b0, b1) = _span(a, u), _span(b, u)
    overlap = min(a1, b1) - max(a0, b0)
    longer, shorter = (a, b) if a.dimensions_m[0] >= b.dimensions_m[0] else (b, a)
    height = max(a.dimensions_m[2], b.dimensions_m[2])
    if na @ nb > np.cos(np.radians(5)) and abs(na @ pb - oa) < 0.1 and overlap > -0.05:
        lo, hi = min(a0, b0), max(a1, b1)
        n, _, off = _inner(longer)
        thickness = max(a.dimensions_m[1], b.dimensions_m[1])
        centre = u * (lo + hi) / 2 + n * (off - n @ (u * (lo + hi) / 2)) - n * thickness / 2
        return _wall_like(longer, centre, (hi - lo, thickness, height), n)
    gap = oa - na @ pb  # b's inner face lies this far behind a's
    if na @ nb < -np.cos(np.radians(5)) and 0.03 <= gap <= 0.45 and overlap >= 0.5 * shorter.dimensions_m[0]:
        n, p, _ = _inner(longer)
        lo, hi = _span(longer, u)
        mid = u * (lo + hi) / 2
        centre = mid + n * (n @ p - n @ mid) - n * gap / 2
        return _wall_like(longer, centre, (hi - lo, gap, height), n)
    return None


def _wall_like(w: RoomElement, centre_xy: np.ndarray, dims, normal: np.ndarray) -> RoomElement:
    T = w.T_world_element.copy()
    T[:2, 0], T[:2, 1] = np.array([normal[1], -normal[0]]), normal
    T[:2, 3] = centre_xy
    T[2, 3] = w.T_world_element[2, 3] - w.dimensions_m[2] / 2 + dims[2] / 2
    return replace(w, dimensions_m=tuple(float(x) for x in dims), T_world_element=T)


def _merge_walls(walls: list[RoomElement]) -> tuple[list[RoomElement], dict[str, str]]:
    """Walls joined until none joins; and each original identifier → the identifier kept."""
    kept = list(walls)
    alias = {w.identifier: w.identifier for w in walls}
    changed = True
    while changed:
        changed = False
        for i in range(len(kept)):
            for j in range(i + 1, len(kept)):
                joined = _join(kept[i], kept[j])
                if joined is not None:
                    gone = kept[j] if joined.identifier == kept[i].identifier else kept[i]
                    for k, v in alias.items():
                        if v == gone.identifier:
                            alias[k] = joined.identifier
                    kept[i] = joined
                    del kept[j]
                    changed = True
                    break
            if changed:
                break
    return kept, alias


def _dedupe(elements: list[RoomElement], iou, min_iou: float) -> list[RoomElement]:
    out: list[RoomElement] = []
    for e in sorted(elements, key=lambda e: -(e.score if e.score is not None else 1.0)):
        if not any(o.category == e.category and iou(e, o) >= min_iou for o in out):
            out.append(e)
    return out


def merge(rooms: list[RoomDescription], identifier: str = "") -> RoomDescription:
    """One structure from ``rooms`` (same world frame); see the module docstring."""
    elements = [e for r in rooms for e in r.elements]
    walls, alias = _merge_walls([e for e in elements if e.category == "wall"])
    openings = [replace(e, parent=alias.get(e.parent, e.parent)) for e in elements if e.category in OPENINGS]
    objects = _dedupe([e for e in elements if e.is_object], object_iou, 0.5)
    floors = [e for e in elements if e.category == "floor"]
    return RoomDescription(
        walls + _dedupe(openings, opening_iou, 0.5) + floors + objects,
        identifier or "+".join(r.identifier for r in rooms if r.identifier),
        [s for r in rooms for s in r.sections],
        [w for r in rooms for w in r.warnings],
    )
