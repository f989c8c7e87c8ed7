"""Shared geometric helpers: planes, lines, polygons and oriented boxes (DESIGN.md rule 11).

Every stage that fits a plane, measures a polygon or compares two boxes calls the one function
here, so there is a single definition of each operation. Pure numpy; no I/O, no state.

Conventions used throughout:

* Lengths are metres, areas m², volumes m³; angles are radians unless a name ends in ``_deg``.
* 3D points and box poses share one frame; in the SDK that is the world (z up, gravity −z).
* 2D helpers work in that frame's x–y plane (a floor plan seen from above). A polygon is a
  (K, 2) array of vertices, implicitly closed, of either winding unless stated otherwise.
* A box is a pose ``T_world_box`` (4x4 rigid transform, box frame → world) and ``dims_m`` =
  (width, depth, height) along its local x, y, z axes, centred on the pose's origin: the
  convention of :class:`sensors.room.RoomElement`.
* A box is *gravity-aligned* when its local z axis is parallel (or anti-parallel) to world z
  within :data:`GRAVITY_TOLERANCE_DEG`; it may turn freely about z (yaw).
"""

from __future__ import annotations

import numpy as np

GRAVITY_TOLERANCE_DEG = 5.0  # how far a "gravity-aligned" box's local z may lean off world z (alignment noise)


# --- input checks -------------------------------------------------------------------------------


def _points(values, dim: int, name: str = "points") -> np.ndarray:
    """``values`` as a float (N, dim) array (a single point becomes (1, dim))."""
    arr = np.asarray(values, dtype=float)
    if arr.size % dim:
        raise ValueError(f"{name} must hold {dim}-vectors, got shape {arr.shape}")
    return arr.reshape(-1, dim)


def _weights(weights, n: int) -> np.ndarray:
    """(n,) finite non-negative weights; all ones when ``weights`` is None."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != n or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be {n} finite non-negative numbers")
    return w


def _dims(dims_m) -> np.ndarray:
    """(3,) box dimensions in metres, each finite and ≥ 0."""
    d = np.asarray(dims_m, dtype=float).reshape(-1)
    if d.shape != (3,) or not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"box dimensions must be 3 non-negative metres, got {dims_m!r}")
    return d


def _pose(T) -> np.ndarray:
    """A 4x4 float pose (rigidity is the caller's business; RoomElement already checks it)."""
    T = np.asarray(T, dtype=float)
    if T.shape != (4, 4):
        raise ValueError(f"a box pose must be a 4x4 matrix, got shape {T.shape}")
    return T


# --- planes and lines ---------------------------------------------------------------------------


def _principal_axes(p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weighted centroid, right singular vectors by decreasing spread) of points ``p`` (N, D);
    needs at least D points of positive weight."""
    centroid = w @ p / w.sum()
    _, _, vt = np.linalg.svd((p - centroid) * np.sqrt(w)[:, None], full_matrices=False)
    return centroid, vt


def fit_plane(points: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Least-squares plane through (N, 3) ``points`` (metres): ``(normal (3,), offset)`` with
    ``normal · p + offset = 0`` and a unit ``normal``.

    Total least squares: minimises the weighted sum of squared point-to-plane distances (SVD of
    the weighted, centred points; the normal is the direction of least spread). ``weights`` (N,)
    are non-negative, all 1 by default. The normal's sign is arbitrary: callers orient it.

    Fewer than 3 points of positive weight determine no plane: the normal and offset are then
    NaN (so ``normal · up > cos(tolerance)`` tests fail); callers that can should check first.
    Collinear points are not detected. Raises ValueError for malformed points or weights.
    """
    p = _points(points, 3)
    w = _weights(weights, len(p))
    if np.count_nonzero(w) < 3:
        return np.full(3, np.nan), float("nan")
    centroid, vt = _principal_axes(p, w)
    normal = vt[-1]
    return normal, -float(normal @ centroid)


def fit_line(xy: np.ndarray, weights: np.ndarray | None = None,
             like: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Least-squares line through (N, 2) points ``xy`` (metres): ``(normal (2,), offset)`` with
    ``normal · p = offset`` and a unit ``normal``.

    Note the line form: the offset is on the right-hand side (the signed distance of the line
    from the origin along ``normal``), unlike :func:`fit_plane`'s ``n · p + offset = 0``; room
    layout code relies on this form. Total least squares as in :func:`fit_plane`; the normal is
    turned to agree with ``like`` (2,) when given. Fewer than 2 points of positive weight
    determine no line: NaN normal and offset, as in :func:`fit_plane`.
    """
    p = _points(xy, 2, "xy")
    w = _weights(weights, len(p))
    if np.count_nonzero(w) < 2:
        return np.full(2, np.nan), float("nan")
    centroid, vt = _principal_axes(p, w)
    normal = vt[-1]
    if like is not None and normal @ np.asarray(like, dtype=float) < 0:
        normal = -normal
    return normal, float(normal @ centroid)


# --- polygons -----------------------------------------------------------------------------------


def signed_area(poly: np.ndarray) -> float:
    """Area (m²) of a simple polygon (K, 2): positive when counter-clockwise, 0 below 3 vertices."""
    p = _points(poly, 2, "polygon")
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(x @ np.roll(y, -1) - y @ np.roll(x, -1))


def polygon_area(poly: np.ndarray) -> float:
    """Absolute area (m²) of a simple polygon (K, 2) of either winding (shoelace formula)."""
    return abs(signed_area(poly))


def _ccw(poly: np.ndarray) -> np.ndarray:
    """The polygon's vertices in counter-clockwise order."""
    return poly[::-1].copy() if signed_area(poly) < 0 else poly


def points_in_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(N,) bool: whether each point of ``xy`` (N, 2) lies inside the polygon ``poly`` (K, 2).

    Even-odd rule (a horizontal ray from each point crosses the outline an odd number of times),
    so any simple polygon of either winding works. Points exactly on an edge may go either way.
    """
    pts, p = _points(xy, 2, "xy"), _points(poly, 2, "polygon")
    if len(p) < 3:
        return np.zeros(len(pts), dtype=bool)
    a, b = p, np.roll(p, -1, axis=0)  # edges a → b, (K, 2) each
    y = pts[:, 1:2]  # (N, 1) against (K,) edges
    straddles = (a[:, 1] > y) != (b[:, 1] > y)
    dy = np.where(b[:, 1] == a[:, 1], 1.0, b[:, 1] - a[:, 1])  # horizontal edges never straddle
    x_cross = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / dy
    crossings = np.count_nonzero(straddles & (pts[:, 0:1] < x_cross), axis=1)
    return crossings % 2 == 1


def _clip_half_plane(poly: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The part of ``poly`` on the left of (or on) the directed line p → q: one
    Sutherland–Hodgman step."""
    edge = q - p
    side = edge[0] * (poly[:, 1] - p[1]) - edge[1] * (poly[:, 0] - p[0])  # > 0: left of p → q
    out = []
    for k in range(len(poly)):
        prev, cur, s_prev, s_cur = poly[k - 1], poly[k], side[k - 1], side[k]
        if (s_prev >= 0) != (s_cur >= 0):  # the edge prev → cur crosses the line
            out.append(prev + (cur - prev) * (s_prev / (s_prev - s_cur)))
        if s_cur >= 0:
            out.append(cur)
    return np.asarray(out, dtype=float).reshape(-1, 2)


def convex_clip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection of two convex polygons ``a`` (K, 2) and ``b`` (M, 2), either winding:
    an (L, 2) counter-clockwise polygon, or an empty (0, 2) array when they share no area.

    Sutherland–Hodgman: ``a`` clipped by each edge of ``b`` in turn. Only ``b`` strictly has to
    be convex; neither is checked.
    """
    subject, clip = _ccw(_points(a, 2, "a")), _ccw(_points(b, 2, "b"))
    if polygon_area(subject) == 0 or polygon_area(clip) == 0:
        return np.empty((0, 2))
    for p, q in zip(clip, np.roll(clip, -1, axis=0)):
        subject = _clip_half_plane(subject, p, q)
        if len(subject) < 3:
            return np.empty((0, 2))
    return subject if polygon_area(subject) > 0 else np.empty((0, 2))


def rect_corners_2d(center: np.ndarray, yaw_rad: float, width: float, depth: float) -> np.ndarray:
    """(4, 2) counter-clockwise corners of a ``width`` x ``depth`` rectangle (metres) centred at
    ``center`` (2,) whose width runs along the direction at ``yaw_rad`` from the x axis."""
    if width < 0 or depth < 0:
        raise ValueError(f"rectangle sides must be non-negative, got {width} x {depth}")
    c = _points(center, 2, "center")[0]
    hx, hy = width / 2, depth / 2
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    cos, sin = np.cos(yaw_rad), np.sin(yaw_rad)
    return local @ np.array([[cos, sin], [-sin, cos]]) + c


def box_point_distance(points: np.ndarray, T_world_box: np.ndarray, dims_m) -> np.ndarray:
    """(N,) Euclidean distance (metres) from each of (N, 3) world ``points`` to the solid box of
    size ``dims_m`` at ``T_world_box``: 0 inside or on the surface."""
    T, half = _pose(T_world_box), _dims(dims_m) / 2
    local = (_points(points, 3) - T[:3, 3]) @ T[:3, :3]  # R^T (p − t), row-wise
    return np.linalg.norm(np.maximum(np.abs(local) - half, 0.0), axis=1)


def _check_gravity_aligned(T: np.ndarray) -> None:
    """Raise ValueError unless the box's local z lies within GRAVITY_TOLERANCE_DEG of world ±z."""
    if abs(T[2, 2]) < np.cos(np.radians(GRAVITY_TOLERANCE_DEG)):
        tilt = np.degrees(np.arccos(np.clip(abs(T[2, 2]), 0.0, 1.0)))
        raise ValueError(f"box is tilted {tilt:.1f}° off vertical; only gravity-aligned boxes "
                         f"(≤ {GRAVITY_TOLERANCE_DEG}°) have a footprint")


def box_footprint(T_world_box: np.ndarray, dims_m) -> np.ndarray:
    """(4, 2) counter-clockwise world x–y corners of a gravity-aligned box's footprint (width x
    depth, turned by the box's yaw). Raises ValueError for a box tilted more than
    :data:`GRAVITY_TOLERANCE_DEG`."""
    T, d = _pose(T_world_box), _dims(dims_m)
    _check_gravity_aligned(T)
    yaw = float(np.arctan2(T[1, 0], T[0, 0]))  # heading of the local x axis
    return rect_corners_2d(T[:2, 3], yaw, d[0], d[1])


def _z_range(T: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """(bottom, top) world heights (metres) of a gravity-aligned box."""
    return T[2, 3] - d[2] / 2, T[2, 3] + d[2] / 2


def box_iou_3d(Ta: np.ndarray, da, Tb: np.ndarray, db) -> float:
    """Intersection over union of the volumes of two gravity-aligned oriented boxes.

    Intersection = (area of the intersection of the two footprints) x (overlap of their height
    ranges); union = volume a + volume b − intersection. A box with a zero dimension has no
    volume, and the IoU is then 0. Raises ValueError for a tilted box (see :func:`box_footprint`).
    """
    Ta, Tb, da, db = _pose(Ta), _pose(Tb), _dims(da), _dims(db)
    va, vb = float(np.prod(da)), float(np.prod(db))
    if va <= 0 or vb <= 0:
        return 0.0
    area = polygon_area(convex_clip(box_footprint(Ta, da), box_footprint(Tb, db)))
    (a0, a1), (b0, b1) = _z_range(Ta, da), _z_range(Tb, db)
    inter = area * max(min(a1, b1) - max(a0, b0), 0.0)
    return min(inter / (va + vb - inter), 1.0)


def box_midline_2d(T_world_box: np.ndarray, dims_m) -> np.ndarray:
    """(2, 2) x–y endpoints of a box's local x axis through its centre, from −width/2 to
    +width/2, projected onto the x–y plane: a wall's segment on a floor plan."""
    T, d = _pose(T_world_box), _dims(dims_m)
    half = T[:2, 0] * d[0] / 2
    return np.stack([T[:2, 3] - half, T[:2, 3] + half])


def _xz_rect_world(T: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(4, 3) world corners of a box's width x height rectangle through its centre (local x–z)."""
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) / 2
    return T[:3, 3] + (signs[:, :1] * d[0]) * T[:3, 0] + (signs[:, 1:] * d[2]) * T[:3, 2]


def xz_rect_iou(Ta: np.ndarray, da, Tb: np.ndarray, db, max_offset_m: float = 0.3,
                max_angle_deg: float = 10.0) -> float:
    """IoU of box a's width x height rectangle (its local x–z plane through the centre) with box
    b's, measured in b's x–z plane: how well two doors, windows or openings agree within a wall.

    a's rectangle is projected orthogonally onto b's plane and the two are intersected there
    (exactly, as convex polygons, in b's local (x, z) coordinates). The IoU is 0 when the planes
    are more than ``max_angle_deg`` apart (local y axes, either sign) or a's centre lies more
    than ``max_offset_m`` from b's plane; also when either rectangle has no area.
    """
    Ta, Tb, da, db = _pose(Ta), _pose(Tb), _dims(da), _dims(db)
    normal = Tb[:3, 1]
    if abs(Ta[:3, 1] @ normal) < np.cos(np.radians(max_angle_deg)):
        return 0.0
    if abs((Ta[:3, 3] - Tb[:3, 3]) @ normal) > max_offset_m:
        return 0.0
    projected = (_xz_rect_world(Ta, da) - Tb[:3, 3]) @ Tb[:3, [0, 2]]  # (4, 2) in b's (x, z)
    own = rect_corners_2d(np.zeros(2), 0.0, db[0], db[2])
    inter = polygon_area(convex_clip(projected, own))
    union = polygon_area(projected) + db[0] * db[2] - inter
    return inter / union if union > 0 else 0.0
