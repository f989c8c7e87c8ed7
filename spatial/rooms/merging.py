"""Several scans of one home merged into one structure (RoomPlan's ``CapturedStructure``).

:func:`merge` takes room descriptions that are already in one world frame (z up, metres) and
returns one description of the whole:

* **Walls.** Two walls are one wall when their boxes overlap in height and along their length
  (the overlap of their segments, measured along the first one's direction, is positive) and
  either

  - they are the same wall seen twice, from the same side: local +y (the normal into the room)
    within 5° of each other and mid-planes within 10 cm (each centre from the other's
    mid-plane); or
  - they are the two faces of one partition seen from the rooms either side: normals opposite
    within 5° and the inner faces (box centre + depth/2 along the normal: the surface a room
    sees) back to back, 0-35 cm apart.

  Walls related this way, directly or through others, become one wall. It takes the pose
  orientation, identifier and other attributes of its longest contributor (the reference) and
  spans the union of all contributors along the reference's length and in height. With
  contributors facing one way only, it keeps the reference's mid-plane and thickness; with both
  faces of a partition, its thickness is the distance between the reference's inner face and
  the inner face of the longest contributor facing the other way, and its box is centred
  between the two faces. A wall related to no other is kept unchanged, and so is a wall whose
  box does not stand upright (local z more than GRAVITY_TOLERANCE_DEG, 5°, off vertical).
* **Doors, windows, openings** are re-parented to the wall their wall became and, when that
  wall was merged, moved along its normal onto its mid-plane (where the simulator puts them).
  Two of the same category in the same wall whose rectangles overlap at 2D IoU ≥ 0.5
  (:func:`~spatial.scene.shapes.xz_rect_iou`) are one: the better is kept.
* **Objects** of the same category whose boxes overlap at 3D IoU ≥ 0.5 are one: the better is
  kept. "Better" means the higher ``score``; then the higher ``confidence``; then the one from
  the earlier room in ``rooms`` (an element without a score ranks below one with a score).
* **Floors** and **sections** are all kept (one per room); **warnings** are concatenated.

Kept elements keep their identifiers; elements come out in the order walls, openings, floors,
objects, each in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sensors.room import CONFIDENCES, RoomDescription, RoomElement

from ..scene.shapes import GRAVITY_TOLERANCE_DEG, box_iou_3d, xz_rect_iou

SAME_WALL_MAX_ANGLE_DEG = 5.0  # same wall seen twice: normals within this angle
SAME_WALL_MAX_PLANE_M = 0.10  # … and mid-planes within this distance
PARTITION_MAX_ANGLE_DEG = 5.0  # two faces of a partition: normals opposite within this angle
PARTITION_MAX_M = 0.35  # … and the inner faces at most this far apart, back to back
DUPLICATE_MIN_IOU = 0.5  # openings (2D, in the wall) and objects (3D) this alike are one
OPENING_CATEGORIES = ("door", "window", "opening")

WallKey = tuple[int, str]  # (index of the room in the input, wall identifier)


@dataclass(frozen=True)
class _Wall:
    """A wall box seen from above: unit direction ``u`` (local x) and normal ``n`` (local +y,
    into its room) in x–y, centre ``c`` (x–y), width and depth (metres), heights ``z0``–``z1``."""

    element: RoomElement
    u: np.ndarray
    n: np.ndarray
    c: np.ndarray
    width: float
    depth: float
    z0: float
    z1: float

    @classmethod
    def of(cls, e: RoomElement) -> _Wall:
        T, (width, depth, height) = e.T_world_element, e.dimensions_m
        u = T[:2, 0] / np.linalg.norm(T[:2, 0])
        n = T[:2, 1] - (T[:2, 1] @ u) * u  # exactly perpendicular to u
        return cls(e, u, n / np.linalg.norm(n), T[:2, 3].copy(), width, depth, T[2, 3] - height / 2,
                   T[2, 3] + height / 2)

    def face_point(self) -> np.ndarray:
        """The x–y point of the inner face (the surface its room sees) in front of the centre."""
        return self.c + self.n * self.depth / 2

    def span(self, direction: np.ndarray) -> tuple[float, float]:
        """(lo, hi) of the wall's segment projected on the unit x–y ``direction`` (metres)."""
        ends = (self.c @ direction) + np.array([-1.0, 1.0]) * (self.u @ direction) * self.width / 2
        return float(ends.min()), float(ends.max())


def _overlap(lo_hi_a: tuple[float, float], lo_hi_b: tuple[float, float]) -> float:
    """Length of the overlap of two intervals (negative: the gap between them)."""
    return min(lo_hi_a[1], lo_hi_b[1]) - max(lo_hi_a[0], lo_hi_b[0])


def _overlapping(a: _Wall, b: _Wall) -> bool:
    """Whether the walls overlap in height and along ``a``'s length."""
    return _overlap((a.z0, a.z1), (b.z0, b.z1)) > 0 and _overlap(a.span(a.u), b.span(a.u)) > 0


def _same_wall(a: _Wall, b: _Wall) -> bool:
    """The same wall seen twice from the same side (module docstring)."""
    if a.n @ b.n < np.cos(np.radians(SAME_WALL_MAX_ANGLE_DEG)):
        return False
    apart = max(abs(a.n @ (b.c - a.c)), abs(b.n @ (a.c - b.c)))
    return apart <= SAME_WALL_MAX_PLANE_M and _overlapping(a, b)


def _partition_faces(a: _Wall, b: _Wall) -> bool:
    """The two faces of one partition, seen from either side (module docstring)."""
    if a.n @ b.n > -np.cos(np.radians(PARTITION_MAX_ANGLE_DEG)):
        return False
    gap = a.n @ (a.face_point() - b.face_point())  # b's face lies this far behind a's
    return 0.0 <= gap <= PARTITION_MAX_M and _overlapping(a, b)


def _related(a: _Wall, b: _Wall) -> bool:
    return _same_wall(a, b) or _partition_faces(a, b)


def _groups(walls: Sequence[_Wall]) -> list[list[int]]:
    """Indices of the walls joined directly or through others, each group in input order
    (connected components by union–find)."""
    parent = list(range(len(walls)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(walls)):
        for j in range(i + 1, len(walls)):
            if root(i) != root(j) and _related(walls[i], walls[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(walls)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _mid_plane_and_depth(ref: _Wall, members: Sequence[_Wall]) -> tuple[float, float]:
    """(offset of the merged mid-plane along ``ref.n``, thickness), metres (module docstring)."""
    back = [m for m in members if m.n @ ref.n < 0]
    if not back:
        return float(ref.n @ ref.c), ref.depth
    other = max(back, key=lambda m: m.width)
    front_face, back_face = float(ref.n @ ref.face_point()), float(ref.n @ other.face_point())
    return (front_face + back_face) / 2, max(front_face - back_face, 0.0)


def _merged_wall(members: Sequence[_Wall]) -> RoomElement:
    """One wall for a group of walls (module docstring)."""
    if len(members) == 1:
        return members[0].element
    ref = max(members, key=lambda m: m.width)  # the first of the longest
    mid, depth = _mid_plane_and_depth(ref, members)
    spans = [m.span(ref.u) for m in members]
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    z0, z1 = min(m.z0 for m in members), max(m.z1 for m in members)
    T = np.eye(4)
    x_axis, y_axis = np.array([*ref.u, 0.0]), np.array([*ref.n, 0.0])
    T[:3, :3] = np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)], axis=1)
    T[:2, 3] = ref.u * (lo + hi) / 2 + ref.n * mid
    T[2, 3] = (z0 + z1) / 2
    return replace(ref.element, dimensions_m=(hi - lo, depth, z1 - z0), T_world_element=T)


def _upright(e: RoomElement) -> bool:
    """Whether a wall's box stands vertical (local z within GRAVITY_TOLERANCE_DEG of world ±z)."""
    return abs(e.T_world_element[2, 2]) >= np.cos(np.radians(GRAVITY_TOLERANCE_DEG))


def _merge_walls(walls: Sequence[tuple[WallKey, RoomElement]]) -> tuple[list[RoomElement], dict[WallKey, RoomElement]]:
    """The walls after merging (upright walls only are merged; others are kept as they are),
    and for each input wall that was merged with others the wall it became."""
    upright = [i for i, (_, e) in enumerate(walls) if _upright(e)]
    lines = [_Wall.of(walls[i][1]) for i in upright]
    result: dict[int, RoomElement] = {i: e for i, (_, e) in enumerate(walls) if not _upright(e)}
    became: dict[WallKey, RoomElement] = {}
    for group in _groups(lines):
        wall = _merged_wall([lines[i] for i in group])
        result[upright[group[0]]] = wall
        if len(group) > 1:
            became.update({walls[upright[i]][0]: wall for i in group})
    return [result[i] for i in sorted(result)], became


def _onto_wall(opening: RoomElement, wall: RoomElement) -> RoomElement:
    """``opening`` re-parented to ``wall`` and moved along the wall's normal onto its mid-plane."""
    n = wall.T_world_element[:3, 1]
    T = opening.T_world_element.copy()
    T[:3, 3] += n * (n @ (wall.center_m - opening.center_m))
    return replace(opening, parent=wall.identifier, T_world_element=T)


def _reparent(room_index: int, opening: RoomElement, became: dict[WallKey, RoomElement]) -> RoomElement:
    """``opening`` of room ``room_index`` in the wall its wall became (unchanged when its wall was
    not merged with another, or is not in the room)."""
    wall = became.get((room_index, opening.parent or ""))
    return opening if wall is None else _onto_wall(opening, wall)


def _rank(e: RoomElement) -> tuple[float, int]:
    """Sort key of "better" (module docstring): score (−1 without one), then confidence."""
    return (e.score if e.score is not None else -1.0, CONFIDENCES.index(e.confidence))


def _deduplicate(elements: Sequence[RoomElement],
                 same: Callable[[RoomElement, RoomElement], bool]) -> list[RoomElement]:
    """``elements`` without duplicates: the best of each set of ``same`` ones, in input order."""
    order = sorted(range(len(elements)), key=lambda i: _rank(elements[i]), reverse=True)  # stable: ties keep order
    kept: list[int] = []
    for i in order:
        if not any(same(elements[i], elements[k]) for k in kept):
            kept.append(i)
    return [elements[i] for i in sorted(kept)]


def _same_opening(a: RoomElement, b: RoomElement) -> bool:
    return (a.category == b.category and a.parent == b.parent
            and xz_rect_iou(a.T_world_element, a.dimensions_m, b.T_world_element, b.dimensions_m) >= DUPLICATE_MIN_IOU)


def _same_object(a: RoomElement, b: RoomElement) -> bool:
    return (a.category == b.category
            and box_iou_3d(a.T_world_element, a.dimensions_m, b.T_world_element, b.dimensions_m) >= DUPLICATE_MIN_IOU)


def merge(rooms: list[RoomDescription], identifier: str = "") -> RoomDescription:
    """One structure from several scans of one home in one world frame (module docstring).

    ``identifier`` names the result; by default the input identifiers joined by ``+``.
    """
    indexed = [(k, e) for k, room in enumerate(rooms) for e in room.elements]
    walls, became = _merge_walls([((k, e.identifier), e) for k, e in indexed if e.category == "wall"])
    openings = [_reparent(k, e, became) for k, e in indexed if e.category in OPENING_CATEGORIES]
    floors = [e for _, e in indexed if e.category == "floor"]
    objects = [e for _, e in indexed if e.is_object]
    return RoomDescription(
        walls + _deduplicate(openings, _same_opening) + floors + _deduplicate(objects, _same_object),
        identifier or "+".join(r.identifier for r in rooms if r.identifier),
        [s for r in rooms for s in r.sections],
        [w for r in rooms for w in r.warnings],
    )
