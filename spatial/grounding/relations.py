"""Spatial relations between room elements, as continuous scores in [0, 1] resolved with geometry.

Every function takes :class:`Shape` records (an element's footprint, height range, facing and
long axis in the world frame: z up, metres) and returns how well the relation holds: 1 when it
clearly does, falling smoothly to 0, so a query can rank candidates and a scene graph can keep
the edges above a threshold. Length scales (the metres in each docstring) are those of
furniture in a room; they were set once by hand, not fitted to a benchmark.

Viewer-relative relations (left / right) take a :class:`Viewpoint`: a position and a forward
direction on the floor plane — the room's entrance looking in, or a camera pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.room import RoomElement

from ..scene.shapes import convex_clip, polygon_area, rect_corners_2d

THIN_M = 0.1  # a box thinner than this in its depth is a surface (wall, door, window, board)


@dataclass(frozen=True)
class Shape:
    """An element reduced to what relations need: ``center`` (3,) world metres, ``footprint``
    (4, 2) world x–y corners, ``bottom``/``top`` world heights, ``axis`` unit x–y direction of
    the box's width and ``length`` its width, ``normal`` unit x–y direction of its local −y
    (an object's front; a surface's side facing the room once :func:`orient_surfaces` ran),
    ``thin`` for surfaces and other boxes under :data:`THIN_M` deep."""

    center: np.ndarray
    footprint: np.ndarray
    bottom: float
    top: float
    axis: np.ndarray
    length: float
    depth: float
    normal: np.ndarray
    thin: bool

    @classmethod
    def of(cls, e: RoomElement) -> Shape:
        T, (w, d, h) = e.T_world_element, e.dimensions_m
        ax = T[:2, 0] / max(np.linalg.norm(T[:2, 0]), 1e-9)
        nrm = -T[:2, 1] / max(np.linalg.norm(T[:2, 1]), 1e-9)
        yaw = float(np.arctan2(ax[1], ax[0]))
        fp = rect_corners_2d(T[:2, 3], yaw, w, max(d, 1e-3))
        zc = float(T[2, 3])
        return cls(T[:3, 3].astype(float), fp, zc - h / 2, zc + h / 2, ax, float(w), float(d), nrm,
                   bool(d < THIN_M or not e.is_object))

    def with_normal(self, normal: np.ndarray) -> Shape:
        from dataclasses import replace

        return replace(self, normal=np.asarray(normal, float))


@dataclass(frozen=True)
class Viewpoint:
    """Where a viewer stands (``position`` (2,) world x–y metres) and looks (``forward`` (2,)
    unit x–y); ``source`` says which: "entrance <door id>", "camera" or "room centre"."""

    position: np.ndarray
    forward: np.ndarray
    source: str

    def right(self) -> np.ndarray:
        """Unit x–y direction to the viewer's right (z up: forward turned clockwise)."""
        return np.array([self.forward[1], -self.forward[0]])


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def gap_xy(a: Shape, b: Shape) -> float:
    """Distance (metres) between two footprints on the floor plane; 0 when they overlap."""
    if polygon_area(convex_clip(a.footprint, b.footprint)) > 1e-6:
        return 0.0
    best = np.inf
    for P, Q in ((a.footprint, b.footprint), (b.footprint, a.footprint)):
        for i in range(4):
            best = min(best, float(_segment_distance(P, Q[i], Q[(i + 1) % 4]).min()))
    return best


def gap_z(a: Shape, b: Shape) -> float:
    """Vertical gap (metres) between the height ranges; 0 when they overlap."""
    return max(0.0, a.bottom - b.top, b.bottom - a.top)


def gap(a: Shape, b: Shape) -> float:
    """Distance (metres) between the two boxes (0 when they touch or overlap)."""
    return float(np.hypot(gap_xy(a, b), gap_z(a, b)))


def overlap_share(a: Shape, b: Shape) -> float:
    """Share of ``a``'s footprint area that lies over ``b``'s footprint."""
    area = polygon_area(a.footprint)
    return float(polygon_area(convex_clip(a.footprint, b.footprint)) / area) if area > 1e-9 else 0.0


def near(a: Shape, b: Shape, scale_m: float = 0.6) -> float:
    """``a`` near ``b``: exp(−gap / ``scale_m``), 0.6 m ("near"; 0.35 m for "next to")."""
    return float(np.exp(-gap(a, b) / scale_m))


def on(a: Shape, b: Shape) -> float:
    """``a`` rests on ``b``: ``a``'s bottom within ~5 cm of ``b``'s top and over its footprint."""
    if a.top <= b.top or b.thin:
        return 0.0
    return float(np.exp(-abs(a.bottom - b.top) / 0.05) * min(1.0, overlap_share(a, b) / 0.5))


def under(a: Shape, b: Shape) -> float:
    """``a`` below ``b``: horizontally under it and lower. Under a piece of furniture: ``a``'s
    top under ``b``'s bottom (10 cm slack) and over its footprint. Under a surface in a wall (a
    window, a board): ``a``'s centre at least 20 cm below the surface's centre (its extent is
    often uncertain), within ~40 cm of the wall and inside its width grown by 30 cm."""
    if b.thin:
        s = abs(float((a.center[:2] - b.center[:2]) @ b.axis))
        inside = float(np.exp(-max(0.0, s - b.length / 2 - 0.3) / 0.2))
        vertical = float(1.0 / (1.0 + np.exp(-(b.center[2] - a.center[2] - 0.2) / 0.08)))
        return vertical * inside * float(np.exp(-gap_xy(a, b) / 0.4))
    if a.top > b.bottom + 0.1 or a.bottom >= b.bottom:
        return 0.0
    vertical = float(np.exp(-max(0.0, b.bottom - a.top - 0.6) / 0.5))  # far below still counts, less
    return vertical * max(min(1.0, overlap_share(a, b) / 0.3), float(np.exp(-gap_xy(a, b) / 0.1)) * 0.5)


def above(a: Shape, b: Shape) -> float:
    """``a`` above ``b`` (the converse of :func:`under`, including resting on it)."""
    return max(under(b, a), on(a, b))


def between(a: Shape, b: Shape, c: Shape) -> float:
    """``a`` between ``b`` and ``c``: its centre projects inside the segment joining their centres
    and lies close to it (within ~30 cm plus a quarter of the segment's length)."""
    p, q, x = b.center[:2], c.center[:2], a.center[:2]
    d = q - p
    L2 = float(d @ d)
    if L2 < 1e-6:
        return 0.0
    t = float((x - p) @ d) / L2
    outside = max(0.0, -t, t - 1.0) * np.sqrt(L2)
    perp = float(np.linalg.norm(x - (p + t * d)))
    return float(np.exp(-outside / 0.2) * np.exp(-perp / (0.3 + 0.25 * np.sqrt(L2))) * (0.0 < t < 1.0 or outside < 0.3))


def in_front_of(a: Shape, b: Shape) -> float:
    """``a`` in front of ``b``: on the side ``b`` faces, within ~1.5 m."""
    v = a.center[:2] - b.center[:2]
    r = float(np.linalg.norm(v))
    if r < 1e-6:
        return 0.0
    return float(max(0.0, (v @ b.normal) / r) * np.exp(-gap(a, b) / 1.5))


def behind(a: Shape, b: Shape) -> float:
    """``a`` behind ``b``: on the side ``b`` turns away from, within ~1.5 m."""
    return in_front_of(a, b.with_normal(-b.normal))


def facing(a: Shape, b: Shape) -> float:
    """``a`` faces ``b``: ``b`` lies within ~45° of ``a``'s front, within ~3 m."""
    v = b.center[:2] - a.center[:2]
    r = float(np.linalg.norm(v))
    if r < 1e-6:
        return 0.0
    c = float(v @ a.normal) / r
    return float(max(0.0, (c - 0.5) / 0.5) * np.exp(-gap(a, b) / 3.0))


def at_end_of(a: Shape, b: Shape) -> float:
    """``a`` at an end of ``b`` (a chair at the end of a table): beside ``b`` and beyond the
    middle of its long side, along its long axis."""
    axis = b.axis if b.length >= b.depth else np.array([-b.axis[1], b.axis[0]])
    half = max(b.length, b.depth) / 2
    s = abs(float((a.center[:2] - b.center[:2]) @ axis))
    return float(near(a, b, 0.35) / (1.0 + np.exp(-(s - 0.6 * half) / 0.08)))


def side_of(a: Shape, b: Shape | None, view: Viewpoint, left: bool) -> float:
    """``a`` left (or right) of ``b`` as the viewer sees them; with ``b`` = ``None``, ``a`` on the
    left (right) side of the view. Sigmoid of the sideways offset with a 20 cm scale."""
    r = view.right()
    xa = float((a.center[:2] - view.position) @ r)
    xb = 0.0 if b is None else float((b.center[:2] - view.position) @ r)  # None: the line of sight
    d = (xb - xa) if left else (xa - xb)
    return float(1.0 / (1.0 + np.exp(-d / 0.2)))


def corner_points(walls: list[Shape], max_gap_m: float = 0.4) -> np.ndarray:
    """(K, 2) x–y corners of the room: where two walls at more than 60° to each other meet
    (their mid-lines cross within ``max_gap_m`` of both walls' ends)."""
    out = []
    for i in range(len(walls)):
        for j in range(i + 1, len(walls)):
            a, b = walls[i], walls[j]
            if abs(float(a.axis @ b.axis)) > 0.5:
                continue
            A = np.array([a.axis, -b.axis]).T
            try:
                s, t = np.linalg.solve(A, b.center[:2] - a.center[:2])
            except np.linalg.LinAlgError:
                continue
            if abs(s) <= a.length / 2 + max_gap_m and abs(t) <= b.length / 2 + max_gap_m:
                out.append(a.center[:2] + s * a.axis)
    return np.array(out).reshape(-1, 2)


def in_corner(a: Shape, corners: np.ndarray) -> float:
    """``a`` in a corner: its footprint within ~40 cm of one of ``corners``."""
    if len(corners) == 0:
        return 0.0
    d = min(float(np.min(np.linalg.norm(a.footprint - c, axis=1))) for c in corners)
    return float(np.exp(-max(0.0, d - 0.1) / 0.4))


def centrality(a: Shape, middle_xy: np.ndarray, radius_m: float) -> float:
    """``a`` in the middle of the room: exp(−distance to ``middle_xy`` / (0.3 ``radius_m``))."""
    return float(np.exp(-np.linalg.norm(a.center[:2] - middle_xy) / max(0.3 * radius_m, 0.3)))


def orient_surfaces(shapes: dict[str, Shape], surfaces: list[str], inside_xy: np.ndarray) -> dict[str, Shape]:
    """Surfaces (walls, doors, windows) with ``normal`` turned to face ``inside_xy`` (a point in
    the room: the floor's centre)."""
    out = dict(shapes)
    for k in surfaces:
        s = shapes[k]
        n = np.array([-s.axis[1], s.axis[0]])
        if (inside_xy - s.center[:2]) @ n < 0:
            n = -n
        out[k] = s.with_normal(n)
    return out
