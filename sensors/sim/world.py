"""The simulated world: textured triangle parts plus the room description they realise.

The room generator (:mod:`sensors.sim.rooms`) builds a :class:`SimWorld`; the trajectory planner
uses its floor outline and obstacle footprints; the renderer raycasts its parts and shades them
with the procedural material named on each part. World frame: z up, metres, floor at z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..room import RoomDescription

MATERIALS = ("plaster", "wood", "tile", "fabric", "metal", "ceramic", "carpet", "screen", "leather", "glass")


@dataclass(eq=False)
class Part:
    """One piece of geometry with one material.

    ``vertices`` (N, 3) float64 world metres; ``triangles`` (M, 3) int32, counter-clockwise seen
    from outside (normals point out); ``material`` one of :data:`MATERIALS`; ``tint`` linear RGB
    albedo multiplier in [0, 1]; ``element_id`` the :class:`~sensors.room.RoomElement` this part
    belongs to ("" for ceilings and other unlabelled structure).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    material: str
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    element_id: str = ""

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.triangles = np.ascontiguousarray(self.triangles, dtype=np.int32).reshape(-1, 3)
        if self.material not in MATERIALS:
            raise ValueError(f"unknown material '{self.material}', expected one of {MATERIALS}")


@dataclass(eq=False)
class SimWorld:
    """Geometry, semantics and walkable space of a generated room or apartment."""

    parts: list[Part]
    room: RoomDescription
    floor_polygons: list[np.ndarray]  # each (K, 2) counter-clockwise outline of a room's floor (inner wall faces)
    ceiling_height_m: float
    preset: str = ""
    seed: int = 0
    doorways: list[np.ndarray] = field(default_factory=list)  # (2,) xy centres of passable openings between rooms

    def mesh_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All parts as one mesh: vertices (N, 3), triangles (M, 3), part index per triangle (M,)."""
        verts, tris, owner, base = [], [], [], 0
        for i, p in enumerate(self.parts):
            verts.append(p.vertices)
            tris.append(p.triangles + base)
            owner.append(np.full(len(p.triangles), i, np.int32))
            base += len(p.vertices)
        return np.vstack(verts), np.vstack(tris).astype(np.int32), np.concatenate(owner)

    def obstacle_footprints(self) -> list[np.ndarray]:
        """(4, 2) xy corners of every object's box footprint (counter-clockwise)."""
        out = []
        for e in self.room.objects:
            c = e.corners_m()
            lo = c[c[:, 2] <= c[:, 2].min() + 1e-9][:, :2]
            centre = lo.mean(0)
            ang = np.arctan2(lo[:, 1] - centre[1], lo[:, 0] - centre[0])
            out.append(lo[np.argsort(ang)])
        return out

    def is_free(self, xy: np.ndarray, clearance_m: float = 0.3) -> np.ndarray:
        """Whether each (x, y) lies inside some floor polygon and at least ``clearance_m`` from walls
        and object footprints. ``xy`` (N, 2) → (N,) bool."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        inside = np.zeros(len(xy), bool)
        for poly in self.floor_polygons:
            inside |= inside_polygon(xy, poly) & _far_from_edges(xy, poly, clearance_m)
        for fp in self.obstacle_footprints():
            inside &= ~inside_polygon(xy, fp) & _far_from_edges(xy, fp, clearance_m)
        return inside


def inside_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule: whether each point of ``xy`` (N, 2) lies inside the polygon (K, 2)."""
    a, b = poly, np.roll(poly, -1, axis=0)
    x, y = xy[:, :1], xy[:, 1:]
    straddles = (a[:, 1] > y) != (b[:, 1] > y)  # (N, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return (np.count_nonzero(straddles & (x < x_cross), axis=1) % 2) == 1


def _far_from_edges(xy: np.ndarray, poly: np.ndarray, d: float) -> np.ndarray:
    """True where the distance from each point to every edge of ``poly`` exceeds ``d``."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    ab = b - a  # (E, 2)
    ap = xy[:, None, :] - a[None]  # (N, E, 2)
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    closest = a[None] + t[..., None] * ab[None]
    dist = np.linalg.norm(xy[:, None, :] - closest, axis=-1)
    return dist.min(axis=1) > d
