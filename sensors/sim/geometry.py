"""Small mesh and plan-geometry helpers for the simulator (numpy only).

A mesh is a pair ``(vertices (N, 3) float64, triangles (M, 3) int32)`` in metres; triangles are
counter-clockwise seen from outside, so normals point out. The closed primitives (boxes,
cylinders, slabs with holes) are watertight once coincident vertices are merged.
2D helpers work on (K, 2) outlines: convex ones (rectangles, segments, points) for clearances,
orthogonal ones (rooms) for point tests and floor meshes.
"""

from __future__ import annotations

import numpy as np

Mesh = tuple[np.ndarray, np.ndarray]


def _orient(ids: list[int], pts: np.ndarray, normal: np.ndarray) -> list[list[int]]:
    """Two triangles of the quad ``ids`` (corners in ring order) facing ``normal``."""
    a, b, c, d = ids
    n = np.cross(pts[b] - pts[a], pts[c] - pts[a])
    return [[a, b, c], [a, c, d]] if n @ normal > 0 else [[a, c, b], [a, d, c]]


def _box_triangles() -> np.ndarray:
    unit = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    tris: list[list[int]] = []
    for axis in range(3):
        a, b = (x for x in range(3) if x != axis)
        for side in (0, 1):
            ring = []
            for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
                c = [0, 0, 0]
                c[axis], c[a], c[b] = side, u, v
                ring.append(4 * c[0] + 2 * c[1] + c[2])
            tris += _orient(ring, unit, np.eye(3)[axis] * (1 if side else -1))
    return np.array(tris, np.int32)


_BOX_TRIS = _box_triangles()


def box(lo, hi) -> Mesh:
    """Axis-aligned box between corners ``lo`` and ``hi`` (8 vertices, 12 triangles)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return v, _BOX_TRIS.copy()


def cylinder(base, radius, height: float, segments: int = 16) -> Mesh:
    """Closed cylinder along +z from ``base`` (x, y, z of the bottom centre); ``radius`` a number
    or (rx, ry) for an elliptic one."""
    rx, ry = np.broadcast_to(np.asarray(radius, float), (2,))
    ang = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([rx * np.cos(ang), ry * np.sin(ang), np.zeros(segments)], 1)
    top = ring + np.array([0.0, 0.0, height])
    v = np.vstack([ring, top, [[0, 0, 0], [0, 0, height]]]) + np.asarray(base, float)
    i = np.arange(segments)
    j = (i + 1) % segments
    bc, tc = 2 * segments, 2 * segments + 1
    sides = np.concatenate([np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)])
    caps = np.concatenate([np.stack([np.full_like(i, tc), i + segments, j + segments], 1),
                           np.stack([np.full_like(i, bc), j, i], 1)])
    return v, np.concatenate([sides, caps]).astype(np.int32)


def rotation_z(yaw: float) -> np.ndarray:
    """3x3 rotation by ``yaw`` radians about +z."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def pose(yaw: float, xyz) -> np.ndarray:
    """4x4 transform: rotation ``yaw`` about +z, then translation ``xyz``."""
    T = np.eye(4)
    T[:3, :3] = rotation_z(yaw)
    T[:3, 3] = xyz
    return T


def transform(mesh: Mesh, T: np.ndarray) -> Mesh:
    """Apply a rigid 4x4 transform (or a 3x3 rotation) to a mesh."""
    T = np.asarray(T, float)
    R, t = T[:3, :3], (T[:3, 3] if T.shape == (4, 4) else np.zeros(3))
    return mesh[0] @ R.T + t, mesh[1]


def merge(meshes: list[Mesh]) -> Mesh:
    """Concatenate meshes into one."""
    verts, tris, base = [], [], 0
    for v, f in meshes:
        verts.append(v)
        tris.append(f + base)
        base += len(v)
    return np.vstack(verts), np.vstack(tris).astype(np.int32)


def slab_with_holes(length: float, thickness: float, height: float, holes=()) -> Mesh:
    """A wall slab x ∈ [0, length], y ∈ [−thickness/2, thickness/2], z ∈ [0, height] with
    rectangular through-holes ``(x0, x1, z0, z1)`` (doors, windows, openings). Faces follow the
    grid of hole edges, so the hole reveals are real faces and the slab stays closed."""
    holes = [tuple(float(c) for c in h) for h in holes]
    xs = np.unique(np.round(np.clip([0.0, length, *(c for h in holes for c in h[:2])], 0, length), 9))
    zs = np.unique(np.round(np.clip([0.0, height, *(c for h in holes for c in h[2:])], 0, height), 9))
    xs[-1], zs[-1] = length, height  # exact ends (rounding may have moved them)
    nx, nz = len(xs) - 1, len(zs) - 1
    solid = np.zeros((nx + 2, nz + 2), bool)  # padded with empty cells all round
    cx, cz = (xs[:-1] + xs[1:]) / 2, (zs[:-1] + zs[1:]) / 2
    inner = np.ones((nx, nz), bool)
    for x0, x1, z0, z1 in holes:
        inner &= ~(((cx > x0) & (cx < x1))[:, None] & ((cz > z0) & (cz < z1))[None, :])
    solid[1:-1, 1:-1] = inner
    y0, y1 = -thickness / 2, thickness / 2
    pts: list[list[float]] = []
    tris: list[list[int]] = []

    def add(corners, normal) -> None:
        base = len(pts)
        pts.extend(corners)
        tris.extend(_orient([base, base + 1, base + 2, base + 3], np.asarray(pts), np.asarray(normal, float)))

    for i in range(nx):
        for j in range(nz):
            if inner[i, j]:
                a, b, c, d = xs[i], xs[i + 1], zs[j], zs[j + 1]
                add([[a, y0, c], [b, y0, c], [b, y0, d], [a, y0, d]], [0, -1, 0])
                add([[a, y1, c], [b, y1, c], [b, y1, d], [a, y1, d]], [0, 1, 0])
    for i in range(nx + 1):  # faces on vertical grid lines x = xs[i]
        for j in range(nz):
            left, right = solid[i, j + 1], solid[i + 1, j + 1]
            if left != right:
                x, c, d = xs[i], zs[j], zs[j + 1]
                add([[x, y0, c], [x, y1, c], [x, y1, d], [x, y0, d]], [1 if left else -1, 0, 0])
    for j in range(nz + 1):  # faces on horizontal grid lines z = zs[j]
        for i in range(nx):
            below, above = solid[i + 1, j], solid[i + 1, j + 1]
            if below != above:
                z, a, b = zs[j], xs[i], xs[i + 1]
                add([[a, y0, z], [b, y0, z], [b, y1, z], [a, y1, z]], [0, 0, 1 if below else -1])
    return np.asarray(pts, float), np.asarray(tris, np.int32)


def plate_with_holes(lo, hi, holes=()) -> Mesh:
    """Horizontal plate between corners ``lo`` and ``hi`` with vertical rectangular through-holes
    ``(x0, x1, y0, y1)`` in the same coordinates (a countertop with a basin cut-out)."""
    (x0, y0, z0), (x1, y1, z1) = np.asarray(lo, float), np.asarray(hi, float)
    slab = slab_with_holes(x1 - x0, z1 - z0, y1 - y0, [(a - x0, b - x0, c - y0, d - y0) for a, b, c, d in holes])
    R = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # slab (x, y, z) → plate (x, z, −y): thickness → height
    v, f = transform(slab, R)
    return v + np.array([x0, y0, (z0 + z1) / 2]), f


def orthogonal_polygon_mesh(poly: np.ndarray, z: float, up: bool) -> Mesh:
    """Triangulate an axis-aligned (orthogonal) simple polygon at height ``z``, facing +z if ``up``."""
    poly = np.asarray(poly, float)
    xs, ys = np.unique(np.round(poly[:, 0], 9)), np.unique(np.round(poly[:, 1], 9))
    pts: list[list[float]] = []
    tris: list[list[int]] = []
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            if points_in_polygon([[(xs[i] + xs[i + 1]) / 2, (ys[j] + ys[j + 1]) / 2]], poly)[0]:
                base = len(pts)
                pts += [[xs[i], ys[j], z], [xs[i + 1], ys[j], z], [xs[i + 1], ys[j + 1], z], [xs[i], ys[j + 1], z]]
                tris += _orient([base, base + 1, base + 2, base + 3], np.asarray(pts), np.array([0, 0, 1 if up else -1]))
    return np.asarray(pts, float), np.asarray(tris, np.int32)


def signed_volume(mesh: Mesh) -> float:
    """Enclosed volume of a closed mesh; positive when its normals point out."""
    v, f = mesh
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6)


# --- 2D plan geometry -------------------------------------------------------------------------


def rect_corners(centre, yaw: float, width: float, depth: float) -> np.ndarray:
    """(4, 2) counter-clockwise corners of a ``width`` x ``depth`` rectangle rotated by ``yaw``."""
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, depth / 2]
    return half @ rotation_z(yaw)[:2, :2].T + np.asarray(centre, float)[:2]


def points_in_polygon(pts, poly) -> np.ndarray:
    """Even-odd test: which (N, 2) points lie inside the simple polygon (K, 2)."""
    pts, poly = np.atleast_2d(np.asarray(pts, float)), np.asarray(poly, float)
    a, b = poly, np.roll(poly, -1, axis=0)
    x, y = pts[:, :1], pts[:, 1:2]
    crosses = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return (crosses & (x < xint)).sum(1) % 2 == 1


def point_segment_distances(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances from points (N, 2) to the segments a[k]→b[k] (E, 2) → (N, E)."""
    ab = b - a
    t = np.clip(((p[:, None] - a[None]) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-18), 0, 1)
    return np.linalg.norm(p[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1)


def _edges(poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(poly) == 1:
        return poly, poly
    if len(poly) == 2:
        return poly[:1], poly[1:]
    return poly, np.roll(poly, -1, axis=0)


def convex_gap(a, b) -> float:
    """Clearance in metres between two convex outlines (K, 2): polygons, segments or points
    (not two crossing segments); 0 when they touch or overlap."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    for poly in (a, b):  # separating-axis test on every edge normal
        s, e = _edges(poly)
        d = e - s
        normals = np.stack([-d[:, 1], d[:, 0]], 1)
        normals = normals[np.linalg.norm(normals, axis=1) > 1e-12]
        if not len(normals):
            continue
        pa, pb = a @ normals.T, b @ normals.T
        if np.any((pa.max(0) < pb.min(0)) | (pb.max(0) < pa.min(0))):
            break
    else:
        if len(a) > 2 or len(b) > 2:
            return 0.0  # no separating axis among polygon edges: overlap
    sa, ea = _edges(a)
    sb, eb = _edges(b)
    return float(min(point_segment_distances(a, sb, eb).min(), point_segment_distances(b, sa, ea).min()))
