"""One story's structure: wall faces found (:mod:`.walls`), joined into the wall graph and rooms
(:mod:`.layout`), and turned into wall and floor elements (levelled, Manhattan-aligned working
frame: z up, metres)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sensors.room import RoomElement

from ..scene.shapes import polygon_area
from . import layout
from .levels import Level
from .points import Surfels
from .walls import WallFace, WallSettings, wall_faces


@dataclass(eq=False)
class Wall:
    """A wall: its room-side ``face`` (or the longer one of a partition's two), its
    ``thickness_m`` and, when the other side was seen (a partition), its ``back`` face."""

    face: WallFace
    thickness_m: float
    back: WallFace | None = None

    def T_work_wall(self, level: Level) -> np.ndarray:
        """Box pose: x along the face, y its normal (into the room), z up; centred in the slab."""
        f = self.face
        mid = f.point(0.5 * (f.t0 + f.t1)) - f.normal * self.thickness_m / 2
        T = np.eye(4)
        T[:2, 0], T[:2, 1] = f.direction, f.normal
        T[:3, 3] = (*mid, level.floor_z + level.height_m / 2)
        return T


@dataclass(eq=False)
class Structure:
    """Walls and room outlines (counter-clockwise (K, 2) polygons) of one story."""

    level: Level
    walls: list[Wall]
    rooms: list[np.ndarray]

    @property
    def faces(self) -> list[WallFace]:
        return [w.face for w in self.walls] + [w.back for w in self.walls if w.back is not None]


def find_structure(s: Surfels, level: Level, seeds_xy: np.ndarray, seed_m2: np.ndarray,
                   thickness_m: float, settings: WallSettings = WallSettings()) -> Structure:
    """Walls and rooms of ``level`` in ``s`` (working frame); ``seeds_xy``/``seed_m2`` mark free
    floor (floor surfels, camera positions) for telling rooms from the outside."""
    faces, _ = wall_faces(s, level, settings)
    xy, area = s.xyz[:, :2], s.area_m2
    faces = layout.merge_collinear(faces, xy, area)
    faces, _ = layout.drop_recessed(faces)
    faces = layout.front_surface(layout.snap_manhattan(layout.merge_collinear(faces, xy, area), xy, area), xy, area)
    faces = layout.close_corners(layout.close_jogs(faces))
    rooms = layout.room_polygons(faces, seeds_xy, seed_m2)
    faces = layout.on_room_outlines(faces, rooms)
    pairs, singles = layout.pair_partitions(faces)
    walls = [Wall(p.front, p.thickness_m, p.back) for p in pairs] + [Wall(f, thickness_m) for f in singles]
    walls.sort(key=lambda w: (round(w.face.angle, 2), w.face.offset))
    return Structure(level, walls, rooms)


def structure_elements(st: Structure, new_id: Callable[[str], str], story: int = 0) -> tuple[list[RoomElement], dict[int, str]]:
    """Wall and floor elements in the working frame, and the identifier of each wall by its index
    in ``st.walls`` (openings name their parent with it)."""
    level = st.level
    out: list[RoomElement] = []
    ids: dict[int, str] = {}
    for k, w in enumerate(st.walls):
        ids[k] = new_id("wall")
        dims = (w.face.length_m, w.thickness_m, level.height_m)
        out.append(RoomElement(ids[k], "wall", dims, w.T_work_wall(level), confidence=_wall_confidence(w), story=story))
    for poly in st.rooms:
        lo, hi = poly.min(0), poly.max(0)
        centre = (lo + hi) / 2
        T = np.eye(4)
        T[:3, 3] = (*centre, level.floor_z)
        out.append(RoomElement(new_id("floor"), "floor", (*(hi - lo), 0.0), T, story=story,
                               confidence="high" if abs(polygon_area(poly)) > 0 else "low",
                               polygon_m=tuple(tuple(map(float, p - centre)) for p in poly)))
    return out, ids


def opening_elements(st: Structure, openings, wall_ids: dict[int, str], new_id: Callable[[str], str],
                     story: int = 0) -> list[RoomElement]:
    """Depth-0 boxes on their wall's mid-plane (like RoomPlan's), ``parent`` = the wall."""
    out = []
    for o in openings:
        w = st.walls[o.wall]
        T = w.T_work_wall(st.level)
        T[:2, 3] = w.face.point(0.5 * (o.t0 + o.t1)) - w.face.normal * w.thickness_m / 2
        T[2, 3] = st.level.floor_z + 0.5 * (o.z0 + o.z1)
        conf = "high" if o.score > 0.75 else "medium" if o.score > 0.5 else "low"
        out.append(RoomElement(new_id(o.kind), o.kind, (o.width_m, 0.0, o.height_m), T, confidence=conf,
                               parent=wall_ids[o.wall], is_open=o.is_open if o.kind == "door" else None,
                               story=story, score=o.score))
    return out


def _wall_confidence(w: Wall) -> str:
    """high: seen over most of its length and height; medium: over half; low: mostly inferred."""
    f = w.face
    seen = f.area_m2 / max(f.length_m * max(f.z1 - f.z0, 1e-6), 1e-6)
    return "high" if seen > 0.6 else "medium" if seen > 0.3 else "low"
