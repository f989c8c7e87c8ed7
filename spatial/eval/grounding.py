"""Grounding metrics: does a query's first answer point at the element the query describes?

Pure functions on :class:`~sensors.room.RoomElement` boxes, all in one world frame (z up,
metres); a prediction made in another world (a tracker's) is mapped onto the ground truth's
before it is scored (``RoomElement.transformed``).

* **Objects**: the predicted box matches the target when their 3D IoU
  (:func:`~spatial.scene.shapes.box_iou_3d`, gravity-aligned oriented boxes) is at least
  ``iou_min`` (0.25).
* **Thin targets** — doors, windows, openings, walls, floors, and flat boxes (a whiteboard; see
  :func:`is_thin`) — have (almost) no volume, so IoU says little. They match when each
  box contains the other's centre, every box first grown by ``thin_m`` (0.1 m) on each side of
  its thinnest axis only (a door found 8 cm off its wall plane still counts): the answer lies on the target and is not much larger or smaller (a whole
  wall answered for the door in it contains the door's centre, but the door does not contain
  the wall's). An IoU of at least ``iou_min`` counts too.
* A query answered by nothing is wrong. Accuracy over no queries is NaN, never a division by zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sensors.room import SURFACE_CATEGORIES, RoomElement
from spatial.scene.shapes import box_iou_3d, box_point_distance

FLAT_RATIO = 0.35  # a box whose thinnest side is under this share of its middle one is flat

__all__ = ["QueryResult", "contains_centre", "hit_matches", "is_thin", "per_kind_accuracy", "top1_accuracy"]


def is_thin(e: RoomElement, thin_m: float = 0.1) -> bool:
    """A surface (wall, door, window, opening, floor), or a flat box: its thinnest dimension
    under ``thin_m`` metres, or at most twice that and under :data:`FLAT_RATIO` of its middle
    dimension (a whiteboard boxed around scanned vertices, 13 cm x 46 cm x 2.4 m)."""
    d = sorted(e.dimensions_m)
    return e.category in SURFACE_CATEGORIES or d[0] < thin_m or (d[0] <= 2 * thin_m and d[0] < FLAT_RATIO * d[1])


def _grown(e: RoomElement, thin_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(pose, dims) of ``e``'s box grown by ``thin_m`` metres on each side of its thinnest axis."""
    dims = np.array(e.dimensions_m, float)
    dims[int(np.argmin(dims))] += 2 * thin_m
    return e.T_world_element, dims


def contains_centre(box: RoomElement, other: RoomElement, thin_m: float = 0.1) -> bool:
    """Whether ``box``, grown by ``thin_m`` metres on each side of its thinnest axis, contains
    ``other``'s centre."""
    T, dims = _grown(box, thin_m)
    return bool(box_point_distance(other.center_m[None], T, dims)[0] <= 1e-9)


def hit_matches(pred: RoomElement | None, target: RoomElement, iou_min: float = 0.25, thin_m: float = 0.1) -> bool:
    """Whether the answer ``pred`` (None: no answer) is the ``target`` element: 3D IoU ≥
    ``iou_min``, or, for a thin target (:func:`is_thin`), each box containing the other's centre
    with ``thin_m`` metres of slack on its thinnest axis. Boxes must be gravity-aligned."""
    if pred is None:
        return False
    iou = box_iou_3d(pred.T_world_element, pred.dimensions_m, target.T_world_element, target.dimensions_m)
    if iou >= iou_min:
        return True
    return is_thin(target, thin_m) and contains_centre(pred, target, thin_m) and contains_centre(target, pred, thin_m)


@dataclass(frozen=True)
class QueryResult:
    """One query scored: its ``text``, ``kinds`` (category, attribute, relation, …), the
    ``room``, the ``target`` identifier, what came first (``hit`` identifier, ``hit_category``,
    ``hit_label``, ``score``, ``hit_center_m`` in the target's world; empty / None when nothing
    came back), whether it is ``correct``, the IoU of the first answer with the target, and the
    query's time ``ms`` (milliseconds)."""

    text: str
    kinds: tuple[str, ...]
    room: str
    target: str
    target_category: str
    hit: str | None
    hit_category: str | None
    correct: bool
    iou: float = 0.0
    score: float | None = None
    hit_label: str = ""
    ms: float = 0.0
    hit_center_m: tuple[float, float, float] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kinds"] = list(self.kinds)
        return d


def score_hit(text: str, kinds: tuple[str, ...], room: str, target: RoomElement, pred: RoomElement | None,
              score: float | None = None, ms: float = 0.0, iou_min: float = 0.25, thin_m: float = 0.1) -> QueryResult:
    """A :class:`QueryResult` for the first answer ``pred`` (None: no answer) to a query whose
    ground truth is ``target``."""
    iou = 0.0 if pred is None else box_iou_3d(pred.T_world_element, pred.dimensions_m,
                                              target.T_world_element, target.dimensions_m)
    return QueryResult(text, tuple(kinds), room, target.identifier, target.category,
                       None if pred is None else pred.identifier, None if pred is None else pred.category,
                       hit_matches(pred, target, iou_min, thin_m), float(iou), score,
                       "" if pred is None else pred.label, ms,
                       None if pred is None else tuple(round(float(v), 4) for v in pred.center_m))


def top1_accuracy(results: list[QueryResult]) -> float:
    """Share of ``results`` whose first answer is right, in [0, 1]; NaN for no results."""
    if not results:
        return float("nan")
    return sum(r.correct for r in results) / len(results)


def per_kind_accuracy(results: list[QueryResult]) -> dict[str, tuple[float, int]]:
    """Top-1 accuracy and count per query kind (a query of several kinds counts in each)."""
    kinds = sorted({k for r in results for k in r.kinds})
    return {k: (top1_accuracy(sel := [r for r in results if k in r.kinds]), len(sel)) for k in kinds}
