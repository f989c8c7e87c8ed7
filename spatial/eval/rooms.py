"""Room-understanding metrics: one set of functions scores every room, simulated or real.

* Walls: each wall is the 2D segment of its box's mid-line (local x through the centre, ±width/2).
  A predicted and a true wall match when their directions differ by at most ``max_angle_deg``
  (5°) and both endpoints lie within ``max_endpoint_m`` (10 cm) of the other's (best of the two
  orderings); pairs are matched one-to-one (Hungarian, on the larger endpoint distance).
* Openings (doors, windows, openings): rectangles in their wall. A prediction is compared in the
  true opening's vertical plane (box local x and z) when its centre lies within 0.3 m of that
  plane and its plane within 10°: the 2D IoU of the two rectangles. Matched one-to-one within a
  category at ``min_iou`` (0.5); a category-agnostic F1 is reported as well.
* Objects: 3D IoU of gravity-aligned oriented boxes, matched one-to-one within a category at
  ``min_iou`` (0.25 and 0.5). Predictions of category ``unknown`` make no category claim: they
  are left out of the per-category figures, counted, and included in a class-agnostic F1.
* Floor area: |A_pred − A_true| / A_true over all floor polygons.
* Structure over mesh vertices (real scans with per-vertex labels): a vertex is predicted
  structure when within 5 cm of a predicted wall or floor box; precision, recall and F1 over the
  scored vertices against the labels.

Every figure is defined on empty rooms (an empty side gives precision or recall 0, F1 0; both
empty gives F1 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from sensors.room import OBJECT_CATEGORIES, UNCATEGORISED, RoomDescription, RoomElement

from ..scene.shapes import box_iou_3d, box_point_distance

OPENING_CATEGORIES = ("door", "window", "opening")


@dataclass(frozen=True)
class Counts:
    """True positives, predictions and truths; precision, recall and F1 from them."""

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
        return 2 * self.tp / (self.n_pred + self.n_true) if self.n_pred + self.n_true else 1.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.n_pred + other.n_pred, self.n_true + other.n_true)

    def to_dict(self) -> dict:
        return {"tp": self.tp, "n_pred": self.n_pred, "n_true": self.n_true, "precision": self.precision,
                "recall": self.recall, "f1": self.f1}


def _match(score: np.ndarray, admissible: np.ndarray, maximise: bool) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) among admissible ones, best total score (Hungarian)."""
    if score.size == 0 or not admissible.any():
        return []
    big = 1e6
    cost = np.where(admissible, -score if maximise else score, big)
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if admissible[i, j]]


def wall_segment(e: RoomElement) -> np.ndarray:
    """(2, 2) xy endpoints of a wall box's mid-line."""
    half = e.T_world_element[:2, 0] * e.dimensions_m[0] / 2
    c = e.T_world_element[:2, 3]
    return np.stack([c - half, c + half])


def wall_matches(pred: list[RoomElement], true: list[RoomElement], max_endpoint_m: float = 0.10,
                 max_angle_deg: float = 5.0) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Matched (pred, true) wall pairs and the matrix of larger endpoint distances (m)."""
    P = [wall_segment(e) for e in pred]
    T = [wall_segment(e) for e in true]
    dist = np.full((len(P), len(T)), np.inf)
    ok = np.zeros_like(dist, bool)
    for i, a in enumerate(P):
        da = a[1] - a[0]
        for j, b in enumerate(T):
            db = b[1] - b[0]
            cos = abs(da @ db) / max(np.linalg.norm(da) * np.linalg.norm(db), 1e-12)
            d = min(max(np.linalg.norm(a[0] - b[0]), np.linalg.norm(a[1] - b[1])),
                    max(np.linalg.norm(a[0] - b[1]), np.linalg.norm(a[1] - b[0])))
            dist[i, j] = d
            ok[i, j] = cos >= np.cos(np.radians(max_angle_deg)) and d <= max_endpoint_m
    return _match(dist, ok, maximise=False), dist


def wall_f1(pred: RoomDescription, true: RoomDescription, **kw) -> Counts:
    pairs, _ = wall_matches(pred.of("wall"), true.of("wall"), **kw)
    return Counts(len(pairs), len(pred.of("wall")), len(true.of("wall")))


def opening_iou(p: RoomElement, t: RoomElement, max_offset_m: float = 0.3, max_angle_deg: float = 10.0) -> float:
    """IoU of two openings' rectangles in the true one's plane (0 when the planes disagree)."""
    Tt = t.T_world_element
    normal = Tt[:3, 1]
    if abs(normal @ p.T_world_element[:3, 1]) < np.cos(np.radians(max_angle_deg)):
        return 0.0
    rel = p.center_m - t.center_m
    if abs(rel @ normal) > max_offset_m:
        return 0.0
    pc = np.array([rel @ Tt[:3, 0], rel @ Tt[:3, 2]])
    # the predicted rectangle's extent along the true plane's axes
    ph = 0.5 * np.array([abs(p.T_world_element[:3, 0] @ Tt[:3, 0]) * p.dimensions_m[0] + abs(p.T_world_element[:3, 2] @ Tt[:3, 0]) * p.dimensions_m[2],
                         abs(p.T_world_element[:3, 0] @ Tt[:3, 2]) * p.dimensions_m[0] + abs(p.T_world_element[:3, 2] @ Tt[:3, 2]) * p.dimensions_m[2]])
    th = 0.5 * np.array([t.dimensions_m[0], t.dimensions_m[2]])
    inter = np.prod(np.maximum(np.minimum(pc + ph, th) - np.maximum(pc - ph, -th), 0.0))
    union = 4 * np.prod(ph) + 4 * np.prod(th) - inter
    return float(inter / union) if union > 0 else 0.0


def _category_counts(pred: list[RoomElement], true: list[RoomElement], categories, iou, min_iou: float,
                     ) -> tuple[dict[str, Counts], list[tuple[RoomElement, RoomElement, float]]]:
    per, matched = {}, []
    for c in categories:
        P = [e for e in pred if e.category == c]
        T = [e for e in true if e.category == c]
        ious = np.array([[iou(p, t) for t in T] for p in P]).reshape(len(P), len(T))
        pairs = _match(ious, ious >= min_iou, maximise=True)
        per[c] = Counts(len(pairs), len(P), len(T))
        matched += [(P[i], T[j], float(ious[i, j])) for i, j in pairs]
    return per, matched


def _agnostic(pred: list[RoomElement], true: list[RoomElement], iou, min_iou: float) -> Counts:
    ious = np.array([[iou(p, t) for t in true] for p in pred]).reshape(len(pred), len(true))
    return Counts(len(_match(ious, ious >= min_iou, maximise=True)), len(pred), len(true))


@dataclass(frozen=True)
class GroupScore:
    """Overall (summed over categories) and per-category counts, and a category-agnostic F1."""

    overall: Counts
    per_category: dict[str, Counts]
    agnostic: Counts
    mean_iou: float = float("nan")
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"overall": self.overall.to_dict(), "agnostic": self.agnostic.to_dict(), "mean_iou": self.mean_iou,
                "per_category": {c: v.to_dict() for c, v in self.per_category.items() if v.n_pred or v.n_true},
                **self.extra}


def _sum(counts) -> Counts:
    total = Counts(0, 0, 0)
    for c in counts:
        total = total + c
    return total


def opening_f1(pred: RoomDescription, true: RoomDescription, min_iou: float = 0.5) -> GroupScore:
    P = [e for e in pred.elements if e.category in OPENING_CATEGORIES]
    T = [e for e in true.elements if e.category in OPENING_CATEGORIES]
    per, matched = _category_counts(P, T, OPENING_CATEGORIES, opening_iou, min_iou)
    doors = [(p, t) for p, t, _ in matched if p.category == "door"]
    extra = {"doors_open_state_right": sum(bool(p.is_open) == bool(t.is_open) for p, t in doors), "doors_matched": len(doors)}
    return GroupScore(_sum(per.values()), per, _agnostic(P, T, opening_iou, min_iou),
                      float(np.mean([m for *_, m in matched])) if matched else float("nan"), extra)


def object_iou(p: RoomElement, t: RoomElement) -> float:
    return box_iou_3d(p.T_world_element, p.dimensions_m, t.T_world_element, t.dimensions_m)


def object_f1(pred: RoomDescription | list[RoomElement], true: RoomDescription | list[RoomElement],
              min_iou: float = 0.25, categories=OBJECT_CATEGORIES) -> GroupScore:
    """Per-category box F1 at ``min_iou`` over ``categories`` (default all 16)."""
    P = pred.objects if isinstance(pred, RoomDescription) else pred
    T = true.objects if isinstance(true, RoomDescription) else true
    T = [e for e in T if e.category in categories]
    per, matched = _category_counts(P, T, categories, object_iou, min_iou)
    unknown = [e for e in P if e.category == UNCATEGORISED]
    claimed = [e for e in P if e.category in categories]
    return GroupScore(_sum(per.values()), per, _agnostic(claimed + unknown, T, object_iou, min_iou),
                      float(np.mean([m for *_, m in matched])) if matched else float("nan"), {"uncategorised": len(unknown)})


def floor_area_m2(room: RoomDescription) -> float:
    from ..scene.shapes import polygon_area

    return float(sum(polygon_area(e.polygon_m) if e.polygon_m else e.dimensions_m[0] * e.dimensions_m[1]
                     for e in room.of("floor")))


def floor_area_error(pred: RoomDescription, true: RoomDescription) -> tuple[float, float, float]:
    """(|A_pred − A_true| / A_true, A_pred m², A_true m²); the error is 1 when the truth has no floor."""
    a, b = floor_area_m2(pred), floor_area_m2(true)
    return (abs(a - b) / b if b > 0 else float(a > 0)), a, b


def structure_f1(vertices: np.ndarray, true_structure: np.ndarray, scored: np.ndarray, pred: RoomDescription,
                 threshold_m: float = 0.05) -> Counts:
    """Vertices within ``threshold_m`` of a predicted wall or floor box are predicted structure;
    counts over the ``scored`` vertices against ``true_structure``."""
    v = np.asarray(vertices, float)
    near = np.zeros(len(v), bool)
    for e in pred.elements:
        if e.category in ("wall", "floor"):
            near |= box_point_distance(v, e.T_world_element, e.dimensions_m) <= threshold_m
    t, s = np.asarray(true_structure, bool), np.asarray(scored, bool)
    return Counts(int((near & t & s).sum()), int((near & s).sum()), int((t & s).sum()))


def opening_on_labelled_vertices(room: RoomDescription, points: np.ndarray, kind: str) -> bool:
    """Whether some predicted ``kind`` (door, window, opening) covers at least 30 % of ``points``
    (a real scan's vertices labelled as that kind; within 5 cm of its rectangle, grown by 5 cm)
    and its parent wall's box holds most of them (within 10 cm): found, in the right wall."""
    walls = {w.identifier: w for w in room.of("wall")}
    for e in room.of(kind):
        wall = walls.get(e.parent)
        if wall is None or len(points) == 0:
            continue
        on_wall = np.mean(box_point_distance(points, wall.T_world_element, wall.dimensions_m) < 0.1)
        grown = (e.dimensions_m[0] + 0.1, 0.3, e.dimensions_m[2] + 0.1)
        covered = np.mean(box_point_distance(points, e.T_world_element, grown) < 0.05)
        if on_wall > 0.5 and covered > 0.3:
            return True
    return False


@dataclass(frozen=True)
class RoomMetrics:
    """Everything :func:`evaluate` measures for one room."""

    walls: Counts
    wall_endpoint_error_m: float
    openings: GroupScore
    objects_25: GroupScore
    objects_50: GroupScore
    area_error: float
    area_pred_m2: float
    area_true_m2: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["walls"] = self.walls.to_dict()
        for k in ("openings", "objects_25", "objects_50"):
            d[k] = getattr(self, k).to_dict()
        return d


def evaluate(pred: RoomDescription, true: RoomDescription, T_true_pred: np.ndarray | None = None) -> RoomMetrics:
    """All metrics of ``pred`` against ``true``; ``T_true_pred`` first maps the prediction into
    the truth's world (e.g. the SE(3) alignment of a tracked trajectory onto the true one)."""
    if T_true_pred is not None:
        pred = pred.transformed(T_true_pred)
    pairs, dist = wall_matches(pred.of("wall"), true.of("wall"))
    err, a, b = floor_area_error(pred, true)
    return RoomMetrics(
        Counts(len(pairs), len(pred.of("wall")), len(true.of("wall"))),
        float(np.mean([dist[i, j] for i, j in pairs])) if pairs else float("nan"),
        opening_f1(pred, true), object_f1(pred, true, 0.25), object_f1(pred, true, 0.5), err, a, b,
    )
