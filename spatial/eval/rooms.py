"""Room-understanding metrics: one set of pure functions scores every room, simulated or real.

The inputs are :class:`~sensors.room.RoomDescription` objects (and, for structure, arrays of mesh
vertices), all in one world frame (z up, metres); nothing here reads files or knows of a CLI.
A prediction captured in another world (a tracker's) is first mapped onto the ground truth's by
``evaluate(..., T_gt_pred=...)``, e.g. the SE(3) alignment of the tracked trajectory.

* **Walls**: each wall is the 2D segment of its box's local x axis through the centre, ±width/2,
  projected onto the floor (:func:`~spatial.scene.shapes.box_midline_2d`). A predicted and a
  true wall match when their directions differ by at most ``max_angle_deg`` (5°, mod 180°) and
  both endpoints, in the better of the two orderings, lie within ``max_endpoint_m`` (10 cm) of
  the other's. The endpoint error of a pair is the larger of its two endpoint distances.
* **Openings** (doors, windows, openings): the rectangles (width x height) in their walls,
  compared in the true opening's vertical plane by 2D IoU
  (:func:`~spatial.scene.shapes.xz_rect_iou`; a prediction more than 0.3 m off that plane or
  10° from it scores 0). A pair counts at IoU ≥ ``min_iou`` (0.5); categories must agree, and a
  category-agnostic F1 is reported too, as is whether matched doors agree on ``is_open``.
* **Objects**: 3D IoU of gravity-aligned oriented boxes
  (:func:`~spatial.scene.shapes.box_iou_3d`) at ``min_iou`` (0.25; :func:`evaluate` also reports
  0.5), within each category. Predictions of category ``unknown`` make no category claim: they
  are left out of the per-category precision, counted apart, and included in the class-agnostic
  F1 (every predicted object against every true one, categories ignored).
* **Floor area**: |A_pred − A_true| / A_true, A the summed areas of the floor elements' polygons
  (width x depth of the box for a floor without one).
* **Structure** over labelled mesh vertices (real scans): a vertex is predicted structure when
  within ``threshold_m`` (5 cm) of a predicted wall or floor box; precision, recall and F1 over
  the scored vertices, against labels from :func:`structure_masks` (ScanNet's NYU40 classes).

Matching is one-to-one: among admissible pairs (within the thresholds), the Hungarian algorithm
first maximises the number of pairs, then minimises the summed endpoint error (walls) or
maximises the summed IoU (openings, objects).

Empty inputs never divide by zero (:class:`Counts`): with nothing predicted and nothing true,
precision, recall and F1 are all 1 (nothing to find, nothing wrongly claimed); with only one
side empty, the precision or recall on the empty side is 0 and F1 is 0. Means over no matched
pairs are None. A floor-area error against a truth without floor area is 0 when the prediction
has none either and 1 otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from sensors.room import OBJECT_CATEGORIES, UNCATEGORISED, RoomDescription, RoomElement

from ..scene.shapes import box_iou_3d, box_midline_2d, box_point_distance, polygon_area, xz_rect_iou

OPENING_CATEGORIES = ("door", "window", "opening")
STRUCTURE_CATEGORIES = ("wall", "floor")
NYU40_WALL, NYU40_FLOOR = 1, 2
NYU40_NOT_SCORED = (0, 8, 9, 16, 22)  # unlabelled, door, window, curtain, ceiling

IndexPairs = list[tuple[int, int]]


def _json_float(x: float | None) -> float | None:
    """``x`` as a plain float for JSON; None for None or NaN."""
    return None if x is None or math.isnan(x) else float(x)


def _mean(values: Sequence[float]) -> float | None:
    """The mean of ``values``, or None when there are none."""
    return float(np.mean(values)) if len(values) else None


# --- counts and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """True positives, predictions and truths; precision, recall and F1 follow from them (see the
    module docstring for empty cases). ``+`` adds counts, e.g. over many rooms."""

    tp: int
    n_pred: int
    n_true: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else float(self.n_true == 0)

    @property
    def recall(self) -> float:
        return self.tp / self.n_true if self.n_true else float(self.n_pred == 0)

    @property
    def f1(self) -> float:
        total = self.n_pred + self.n_true
        return 2 * self.tp / total if total else 1.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.n_pred + other.n_pred, self.n_true + other.n_true)

    def to_dict(self) -> dict:
        return {"tp": self.tp, "n_pred": self.n_pred, "n_true": self.n_true,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class WallMatch:
    """A matched wall pair (identifiers) and the larger of its two endpoint distances (metres)."""

    pred_id: str
    true_id: str
    endpoint_error_m: float


@dataclass(frozen=True)
class WallScore(Counts):
    """Wall counts plus the matched pairs; adding two gives plain :class:`Counts`."""

    matches: tuple[WallMatch, ...] = ()

    @property
    def mean_endpoint_error_m(self) -> float | None:
        """Mean over matched pairs of the larger endpoint distance (metres); None without pairs."""
        return _mean([m.endpoint_error_m for m in self.matches])

    def to_dict(self) -> dict:
        return {**super().to_dict(), "mean_endpoint_error_m": _json_float(self.mean_endpoint_error_m),
                "matches": [{"pred": m.pred_id, "true": m.true_id, "endpoint_error_m": m.endpoint_error_m}
                            for m in self.matches]}


@dataclass(frozen=True)
class Match:
    """A matched pair of openings or objects: identifiers, the true category and their IoU."""

    pred_id: str
    true_id: str
    category: str
    iou: float


@dataclass(frozen=True)
class CategoryScore:
    """Counts summed over categories (``overall``, categories must agree), per category, and
    ``agnostic`` (categories ignored); the category-matched pairs; the IoU threshold used."""

    overall: Counts
    per_category: dict[str, Counts]
    agnostic: Counts
    matches: tuple[Match, ...] = ()
    min_iou: float = 0.0

    @property
    def mean_iou(self) -> float | None:
        """Mean IoU of the category-matched pairs; None without pairs."""
        return _mean([m.iou for m in self.matches])

    def to_dict(self) -> dict:
        """JSON-friendly; categories with neither predictions nor truths are left out."""
        return {"min_iou": self.min_iou, "overall": self.overall.to_dict(), "agnostic": self.agnostic.to_dict(),
                "mean_iou": _json_float(self.mean_iou),
                "per_category": {c: v.to_dict() for c, v in self.per_category.items() if v.n_pred or v.n_true},
                "matches": [{"pred": m.pred_id, "true": m.true_id, "category": m.category, "iou": m.iou}
                            for m in self.matches]}


@dataclass(frozen=True)
class OpeningScore(CategoryScore):
    """Opening figures plus how many matched doors agree on being open (``is_open``, None read
    as closed, as RoomPlan's JSON does)."""

    doors_matched: int = 0
    doors_open_agree: int = 0

    def to_dict(self) -> dict:
        return {**super().to_dict(), "doors_matched": self.doors_matched, "doors_open_agree": self.doors_open_agree}


@dataclass(frozen=True)
class ObjectScore(CategoryScore):
    """Object figures plus the number of predictions of category ``unknown`` (in ``agnostic``
    only)."""

    uncategorised: int = 0

    def to_dict(self) -> dict:
        return {**super().to_dict(), "uncategorised": self.uncategorised}


class FloorArea(NamedTuple):
    """Relative floor-area error (unitless) and both areas (m²)."""

    relative_error: float
    pred_m2: float
    true_m2: float


# --- matching -----------------------------------------------------------------------------------


def _match(cost: np.ndarray, admissible: np.ndarray) -> IndexPairs:
    """One-to-one (row, column) pairs among ``admissible`` ones: as many as possible, then the
    least total ``cost`` (Hungarian)."""
    if not admissible.any():
        return []
    # an inadmissible pair costs more than any set of admissible ones, so the count comes first
    penalty = 1.0 + float(np.abs(cost[admissible]).sum()) * 2
    rows, cols = linear_sum_assignment(np.where(admissible, cost, penalty))
    return [(int(i), int(j)) for i, j in zip(rows, cols) if admissible[i, j]]


def _iou_matrix(pred: Sequence[RoomElement], true: Sequence[RoomElement],
                iou: Callable[[RoomElement, RoomElement], float]) -> np.ndarray:
    """(len(pred), len(true)) matrix of ``iou`` values."""
    out = np.zeros((len(pred), len(true)))
    for i, p in enumerate(pred):
        for j, t in enumerate(true):
            out[i, j] = iou(p, t)
    return out


Pair = tuple[RoomElement, RoomElement, float]  # (predicted, true, IoU)


def _pairs_by_iou(pred: Sequence[RoomElement], true: Sequence[RoomElement],
                  iou: Callable[[RoomElement, RoomElement], float], min_iou: float) -> list[Pair]:
    """One-to-one pairs at IoU ≥ ``min_iou``, the summed IoU as large as possible."""
    ious = _iou_matrix(pred, true, iou)
    return [(pred[i], true[j], float(ious[i, j])) for i, j in _match(-ious, ious >= min_iou)]


def _per_category(pred: Sequence[RoomElement], true: Sequence[RoomElement], categories: Iterable[str],
                  iou: Callable[[RoomElement, RoomElement], float],
                  min_iou: float) -> tuple[dict[str, Counts], list[Pair]]:
    """Counts per category (pairs only within a category) and every matched pair."""
    per, pairs = {}, []
    for c in categories:
        P = [e for e in pred if e.category == c]
        T = [e for e in true if e.category == c]
        found = _pairs_by_iou(P, T, iou, min_iou)
        per[c] = Counts(len(found), len(P), len(T))
        pairs += found
    return per, pairs


def _agnostic(pred: Sequence[RoomElement], true: Sequence[RoomElement],
              iou: Callable[[RoomElement, RoomElement], float], min_iou: float) -> Counts:
    """Counts with categories ignored."""
    return Counts(len(_pairs_by_iou(pred, true, iou, min_iou)), len(pred), len(true))


def _matches(pairs: Iterable[Pair]) -> tuple[Match, ...]:
    """The pairs as identifiers, true category and IoU."""
    return tuple(Match(p.identifier, t.identifier, t.category, score) for p, t, score in pairs)


def _total(counts: Iterable[Counts]) -> Counts:
    return sum(counts, Counts(0, 0, 0))


# --- walls --------------------------------------------------------------------------------------


def wall_segment(e: RoomElement) -> np.ndarray:
    """(2, 2) x–y endpoints (metres) of a wall's segment (its box's mid-line)."""
    return box_midline_2d(e.T_world_element, e.dimensions_m)


def _endpoint_errors(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(n, m) larger endpoint distance of each segment pair, better of the two orderings;
    ``P`` (n, 2, 2) and ``T`` (m, 2, 2) segments."""
    d = np.linalg.norm(P[:, None, :, None] - T[None, :, None, :], axis=-1)  # (n, m, end of P, end of T)
    same = np.maximum(d[..., 0, 0], d[..., 1, 1])
    swapped = np.maximum(d[..., 0, 1], d[..., 1, 0])
    return np.minimum(same, swapped)


def _direction_cosines(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(n, m) |cos| of the angle between segment directions (0 for a zero-length segment)."""
    dp, dt = P[:, 1] - P[:, 0], T[:, 1] - T[:, 0]
    norms = np.linalg.norm(dp, axis=1)[:, None] * np.linalg.norm(dt, axis=1)[None]
    return np.abs(dp @ dt.T) / np.maximum(norms, 1e-12)


def wall_f1(pred: RoomDescription, gt: RoomDescription, max_endpoint_m: float = 0.10,
            max_angle_deg: float = 5.0) -> WallScore:
    """Wall precision, recall and F1 by segment endpoints and direction (module docstring), with
    the matched pairs and their endpoint errors (metres)."""
    P_walls, T_walls = pred.of("wall"), gt.of("wall")
    P = np.array([wall_segment(e) for e in P_walls]).reshape(-1, 2, 2)
    T = np.array([wall_segment(e) for e in T_walls]).reshape(-1, 2, 2)
    errors = _endpoint_errors(P, T)
    parallel = _direction_cosines(P, T) >= np.cos(np.radians(max_angle_deg))
    pairs = _match(errors, parallel & (errors <= max_endpoint_m))
    matches = tuple(WallMatch(P_walls[i].identifier, T_walls[j].identifier, float(errors[i, j])) for i, j in pairs)
    return WallScore(len(pairs), len(P_walls), len(T_walls), matches)


# --- openings -----------------------------------------------------------------------------------


def opening_iou(p: RoomElement, t: RoomElement, max_offset_m: float = 0.3, max_angle_deg: float = 10.0) -> float:
    """2D IoU of the rectangles of opening ``p`` and opening ``t`` in ``t``'s vertical plane (0
    when ``p`` is more than ``max_offset_m`` off that plane or ``max_angle_deg`` from it)."""
    return xz_rect_iou(p.T_world_element, p.dimensions_m, t.T_world_element, t.dimensions_m,
                       max_offset_m, max_angle_deg)


def _doors_open_agree(pairs: Iterable[Pair]) -> tuple[int, int]:
    """(matched doors, of which agree on ``is_open``; None reads as closed)."""
    doors = [(p, t) for p, t, _ in pairs if t.category == "door"]
    return len(doors), sum(bool(p.is_open) == bool(t.is_open) for p, t in doors)


def opening_f1(pred: RoomDescription, gt: RoomDescription, min_iou: float = 0.5) -> OpeningScore:
    """Door, window and opening precision, recall and F1 at 2D IoU ≥ ``min_iou`` in the wall:
    overall (categories must agree), per category and category-agnostic; door open-state."""
    P = [e for e in pred.elements if e.category in OPENING_CATEGORIES]
    T = [e for e in gt.elements if e.category in OPENING_CATEGORIES]
    per, pairs = _per_category(P, T, OPENING_CATEGORIES, opening_iou, min_iou)
    doors, agree = _doors_open_agree(pairs)
    return OpeningScore(_total(per.values()), per, _agnostic(P, T, opening_iou, min_iou), _matches(pairs), min_iou,
                        doors, agree)


# --- objects ------------------------------------------------------------------------------------


def object_iou(p: RoomElement, t: RoomElement) -> float:
    """3D IoU of two objects' gravity-aligned boxes."""
    return box_iou_3d(p.T_world_element, p.dimensions_m, t.T_world_element, t.dimensions_m)


def _objects(room: RoomDescription | Sequence[RoomElement]) -> list[RoomElement]:
    return room.objects if isinstance(room, RoomDescription) else [e for e in room if e.is_object]


def object_f1(pred: RoomDescription | Sequence[RoomElement], gt: RoomDescription | Sequence[RoomElement],
              min_iou: float = 0.25, categories: Sequence[str] = OBJECT_CATEGORIES) -> ObjectScore:
    """Object precision, recall and F1 at 3D box IoU ≥ ``min_iou``, per category and overall
    (categories must agree; ``unknown`` predictions are left out and counted), and class-agnostic
    (``unknown`` predictions included).

    Only ``categories`` (default: RoomPlan's 16) are scored: true objects and categorised
    predictions of other categories are ignored, e.g. to score against a ground truth that
    annotates chairs and tables only. Either side may be a room or a list of elements.
    """
    categories = tuple(c for c in categories if c != UNCATEGORISED)
    claimed = [e for e in _objects(pred) if e.category in categories]
    unknown = [e for e in _objects(pred) if e.category == UNCATEGORISED]
    T = [e for e in _objects(gt) if e.category in categories]
    per, pairs = _per_category(claimed, T, categories, object_iou, min_iou)
    return ObjectScore(_total(per.values()), per, _agnostic(claimed + unknown, T, object_iou, min_iou),
                       _matches(pairs), min_iou, len(unknown))


# --- floor area ---------------------------------------------------------------------------------


def floor_area_m2(room: RoomDescription) -> float:
    """Summed area (m²) of the room's floors: each floor's polygon, or its box's width x depth
    when it has none."""
    return float(sum(polygon_area(np.array(e.polygon_m)) if e.polygon_m else e.dimensions_m[0] * e.dimensions_m[1]
                     for e in room.of("floor")))


def floor_area_error(pred: RoomDescription, gt: RoomDescription) -> FloorArea:
    """|A_pred − A_true| / A_true with both areas (m²); against a truth without floor area the
    error is 0 when the prediction has none either and 1 otherwise."""
    a_pred, a_true = floor_area_m2(pred), floor_area_m2(gt)
    error = abs(a_pred - a_true) / a_true if a_true > 0 else float(a_pred > 0)
    return FloorArea(error, a_pred, a_true)


# --- structure over labelled vertices -----------------------------------------------------------


def structure_masks(nyu40_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true_structure, scored), both (N,) bool, from per-vertex NYU40 labels (N,): wall (1) and
    floor (2) are structure; unlabelled (0), door (8), window (9), curtain (16) and ceiling (22)
    are not scored (a room's walls and floor do not include them, nor exclude them reliably)."""
    labels = np.asarray(nyu40_labels).reshape(-1)
    return np.isin(labels, (NYU40_WALL, NYU40_FLOOR)), ~np.isin(labels, NYU40_NOT_SCORED)


def predicted_structure(vertices: np.ndarray, pred: RoomDescription, threshold_m: float = 0.05) -> np.ndarray:
    """(N,) bool: whether each of (N, 3) world ``vertices`` lies within ``threshold_m`` of one of
    ``pred``'s wall or floor boxes."""
    v = np.asarray(vertices, dtype=float).reshape(-1, 3)
    near = np.zeros(len(v), dtype=bool)
    for e in pred.elements:
        if e.category in STRUCTURE_CATEGORIES:
            near |= box_point_distance(v, e.T_world_element, e.dimensions_m) <= threshold_m
    return near


def structure_f1(vertices: np.ndarray, true_structure: np.ndarray, scored: np.ndarray, pred: RoomDescription,
                 threshold_m: float = 0.05) -> Counts:
    """Vertex counts over the ``scored`` vertices: predicted structure (:func:`predicted_structure`)
    against ``true_structure``; all three arrays describe the same N vertices (world, metres)."""
    near = predicted_structure(vertices, pred, threshold_m)
    true, keep = np.asarray(true_structure, dtype=bool).reshape(-1), np.asarray(scored, dtype=bool).reshape(-1)
    if not len(near) == len(true) == len(keep):
        raise ValueError(f"vertices ({len(near)}), true_structure ({len(true)}) and scored ({len(keep)}) "
                         "differ in length")
    return Counts(int(np.sum(near & true & keep)), int(np.sum(near & keep)), int(np.sum(true & keep)))


def opening_on_labelled_vertices(room: RoomDescription, points: np.ndarray, kind: str) -> bool:
    """Whether some predicted ``kind`` (door, window or opening) lies where a real scan's vertices
    labelled as that kind are, in the right wall: its rectangle (grown by 5 cm each side, 15 cm
    either side of the wall) holds at least 30 % of ``points`` (N, 3; world, metres) within
    5 cm, and its parent wall's box holds more than half of them within 10 cm."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if not len(pts):
        return False
    walls = {w.identifier: w for w in room.of("wall")}
    for e in room.of(kind):
        wall = walls.get(e.parent)
        if wall is None:
            continue
        on_wall = np.mean(box_point_distance(pts, wall.T_world_element, wall.dimensions_m) < 0.10)
        grown = (e.dimensions_m[0] + 0.10, 0.30, e.dimensions_m[2] + 0.10)
        covered = np.mean(box_point_distance(pts, e.T_world_element, grown) < 0.05)
        if on_wall > 0.5 and covered >= 0.3:
            return True
    return False


# --- everything ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomMetrics:
    """Everything :func:`evaluate` measures for one room (objects at IoU 0.25 and 0.5)."""

    walls: WallScore
    openings: OpeningScore
    objects_25: ObjectScore
    objects_50: ObjectScore
    area_error: float
    area_pred_m2: float
    area_true_m2: float

    @property
    def wall_endpoint_error_m(self) -> float | None:
        """Mean endpoint error (metres) of the matched walls; None when none matched."""
        return self.walls.mean_endpoint_error_m

    def to_dict(self) -> dict:
        """JSON-friendly figures (plain floats and ints; None for undefined means)."""
        return {"walls": self.walls.to_dict(), "wall_endpoint_error_m": _json_float(self.wall_endpoint_error_m),
                "openings": self.openings.to_dict(), "objects_iou25": self.objects_25.to_dict(),
                "objects_iou50": self.objects_50.to_dict(), "floor_area_relative_error": self.area_error,
                "floor_area_pred_m2": self.area_pred_m2, "floor_area_true_m2": self.area_true_m2}


def evaluate(pred: RoomDescription, gt: RoomDescription, T_gt_pred: np.ndarray | None = None) -> RoomMetrics:
    """All room metrics of ``pred`` against ``gt`` with the default thresholds; ``T_gt_pred``
    (4x4 rigid) first maps the prediction into the ground truth's world (e.g. the SE(3)
    alignment of a tracked trajectory onto the true one)."""
    if T_gt_pred is not None:
        pred = pred.transformed(T_gt_pred)
    area = floor_area_error(pred, gt)
    return RoomMetrics(wall_f1(pred, gt), opening_f1(pred, gt), object_f1(pred, gt, 0.25), object_f1(pred, gt, 0.5),
                       area.relative_error, area.pred_m2, area.true_m2)
