"""The 2D wall graph: wall faces joined into closed rooms (levelled frame, metres).

Steps, each a small function:

1. :func:`merge_collinear` joins pieces of one wall face split by occlusions or unseen stretches
   (same direction and offset, gaps up to ``max_gap_m``);
2. :func:`drop_recessed` removes a face standing in front of a longer wall line that continues on
   both sides of it, when it ends clearly lower than that wall was seen (a refrigerator or a
   wardrobe whose wall was never seen above it);
3. :func:`close_corners` extends or trims each face end to the nearest crossing wall line
   (corners, and T-junctions where a partition meets another wall), and :func:`close_jogs` adds
   the short face between two parallel faces that step in or out;
4. :func:`pair_partitions` finds the two faces of one partition (back to back, a few cm apart);
5. :func:`room_polygons` floods the free space between the faces from the cameras and the floor
   and turns each enclosed region into a polygon whose corners are wall-line crossings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..scene.shapes import fit_line, signed_area
from .walls import WallFace


def _angle_between(a: WallFace, b: WallFace) -> float:
    """Unsigned angle between the normals, radians in [0, π]."""
    return float(np.arccos(np.clip(a.normal @ b.normal, -1.0, 1.0)))


def _refit(faces: list[WallFace], xy: np.ndarray, area: np.ndarray) -> WallFace:
    """One face through the surfels of ``faces`` (same side of one wall), spanning all of them."""
    members = np.concatenate([f.members for f in faces])
    ref = max(faces, key=lambda f: f.area_m2)
    if len(members) >= 3:
        n, off = fit_line(xy[members], area[members], ref.normal)
    else:
        n, off = ref.normal, ref.offset
    direction = np.array([n[1], -n[0]])
    ends = np.concatenate([[f.point(f.t0) @ direction, f.point(f.t1) @ direction] for f in faces])
    return WallFace(n, off, float(ends.min()), float(ends.max()), min(f.z0 for f in faces), max(f.z1 for f in faces),
                    float(sum(f.area_m2 for f in faces)), members)


def merge_collinear(faces: list[WallFace], xy: np.ndarray, area: np.ndarray, max_gap_m: float = 1.0,
                    max_angle_deg: float = 4.0, max_offset_m: float = 0.06) -> list[WallFace]:
    """Join faces on one line (normals within ``max_angle_deg``, offsets within ``max_offset_m``)
    whose extents overlap or leave a gap of at most ``max_gap_m``; repeated until stable."""
    faces = list(faces)
    changed = True
    while changed:
        changed = False
        for i in range(len(faces)):
            for j in range(i + 1, len(faces)):
                a, b = faces[i], faces[j]
                if _angle_between(a, b) > np.radians(max_angle_deg):
                    continue
                if abs(b.point(0.5 * (b.t0 + b.t1)) @ a.normal - a.offset) > max_offset_m:
                    continue
                bt = sorted(p @ a.direction for p in b.endpoints)
                gap = max(bt[0] - a.t1, a.t0 - bt[1])
                if gap <= max_gap_m:
                    faces[i] = _refit([a, b], xy, area)
                    del faces[j]
                    changed = True
                    break
            if changed:
                break
    return faces


def snap_manhattan(faces: list[WallFace], xy: np.ndarray, area: np.ndarray, max_deg: float = 3.0) -> list[WallFace]:
    """Faces within ``max_deg`` of the working frame's x or y axis turned onto it (about the
    centre of their surfels): a wall a degree or two off is almost always reconstruction drift, not
    design. Faces at other angles keep theirs."""
    out = []
    for f in faces:
        axis = np.round(f.normal).astype(float) if np.abs(f.normal).max() > np.cos(np.radians(max_deg)) else None
        if axis is None or f.angle == np.arctan2(axis[1], axis[0]):
            out.append(f)
            continue
        mid = f.point(0.5 * (f.t0 + f.t1))
        if len(f.members):
            mid = np.average(xy[f.members], axis=0, weights=area[f.members])
        direction = np.array([axis[1], -axis[0]])
        ts = sorted(p @ direction for p in f.endpoints)
        out.append(replace(f, normal=axis, offset=float(axis @ mid), t0=float(ts[0]), t1=float(ts[1])))
    return out


def front_surface(faces: list[WallFace], xy: np.ndarray, area: np.ndarray, quantile: float = 0.85) -> list[WallFace]:
    """Each face moved along its normal to the ``quantile`` of its surfels' offsets (towards the
    room): a wall's inner face is where the room ends, in front of the surface's noise and of the
    doubled layers a misregistered scan leaves, not in the middle of them (a few mm on a clean
    reconstruction, 1-2 cm on a real one)."""
    out = []
    for f in faces:
        if len(f.members) < 10:
            out.append(f)
            continue
        rho = xy[f.members] @ f.normal
        w = area[f.members]
        order = np.argsort(rho)
        k = np.searchsorted(np.cumsum(w[order]), quantile * w.sum())
        out.append(replace(f, offset=float(rho[order][min(k, len(rho) - 1)])))
    return out


def drop_recessed(faces: list[WallFace], min_depth_m: float = 0.1, max_depth_m: float = 1.2, reach_m: float = 1.5,
                  height_margin_m: float = 0.15) -> tuple[list[WallFace], list[WallFace]]:
    """(kept, dropped): a face is dropped when faces facing the same way lie ``min_depth_m`` to
    ``max_depth_m`` behind it on one line, ending within ``reach_m`` of both its ends, and it
    ends at least ``height_margin_m`` lower than they were seen."""
    kept, dropped = [], []
    for f in faces:
        left = right = None
        for g in faces:
            if g is f or _angle_between(f, g) > np.radians(5):
                continue
            depth = f.offset - g.point(0.5 * (g.t0 + g.t1)) @ f.normal
            if not min_depth_m <= depth <= max_depth_m:
                continue
            gt = sorted(p @ f.direction for p in g.endpoints)
            if gt[0] <= f.t0 + 0.2 and gt[1] >= f.t0 - reach_m:  # reaches f's start from before it
                left = g if left is None or g.z1 > left.z1 else left
            if gt[1] >= f.t1 - 0.2 and gt[0] <= f.t1 + reach_m:  # reaches f's end from beyond it
                right = g if right is None or g.z1 > right.z1 else right
        if left is not None and right is not None and f.z1 < min(left.z1, right.z1) - height_margin_m:
            dropped.append(f)
        else:
            kept.append(f)
    return kept, dropped


def _cross(a: WallFace, b: WallFace) -> np.ndarray | None:
    """Crossing point of the two face lines (None when nearly parallel)."""
    A = np.stack([a.normal, b.normal])
    if abs(np.linalg.det(A)) < np.sin(np.radians(20)):
        return None
    return np.linalg.solve(A, [a.offset, b.offset])


def close_corners(faces: list[WallFace], extend_m: float = 1.2, trim_m: float = 0.35,
                  far_m: float = 3.0) -> list[WallFace]:
    """Move each face end to the crossing with another face's line when that crossing lies within
    ``extend_m`` beyond or ``trim_m`` before the end, and on (or within ``extend_m`` of) the other
    face; the nearest such crossing wins. Ends still open are then joined in pairs up to
    ``far_m`` away when each face lies in front of the other (a corner the scan never reached:
    rooms are closed)."""
    ends = [[f.t0, f.t1] for f in faces]
    snapped = [[False, False] for _ in faces]
    for i, f in enumerate(faces):
        for end in (0, 1):
            best = None
            for j, g in enumerate(faces):
                x = None if i == j else _cross(f, g)
                if x is None:
                    continue
                tx, sx = float(x @ f.direction), float(x @ g.direction)
                off_g = max(g.t0 - sx, sx - g.t1, 0.0)
                lo, hi = (f.t0 - extend_m, f.t0 + trim_m) if end == 0 else (f.t1 - trim_m, f.t1 + extend_m)
                if off_g <= extend_m and lo <= tx <= hi:
                    cost = abs(tx - (f.t0, f.t1)[end]) + off_g
                    if best is None or cost < best[0]:
                        best = (cost, tx)
            if best is not None:
                ends[i][end], snapped[i][end] = best[1], True
    open_ends = [(i, e) for i in range(len(faces)) for e in (0, 1) if not snapped[i][e]]
    pairs = []
    for a, (i, ei) in enumerate(open_ends):
        for j, ej in open_ends[a + 1:]:
            f, g = faces[i], faces[j]
            x = None if i == j else _cross(f, g)
            if x is None:
                continue
            beyond_f = (f.t0 - x @ f.direction) if ei == 0 else (x @ f.direction - f.t1)
            beyond_g = (g.t0 - x @ g.direction) if ej == 0 else (x @ g.direction - g.t1)
            in_front = g.normal @ f.point(0.5 * (f.t0 + f.t1)) > g.offset and f.normal @ g.point(0.5 * (g.t0 + g.t1)) > f.offset
            if -trim_m <= beyond_f <= far_m and -trim_m <= beyond_g <= far_m and in_front:
                pairs.append((beyond_f + beyond_g, i, ei, j, ej, x))
    used = set()
    for _, i, ei, j, ej, x in sorted(pairs, key=lambda p: p[0]):
        if (i, ei) in used or (j, ej) in used:
            continue
        used |= {(i, ei), (j, ej)}
        ends[i][ei], ends[j][ej] = float(x @ faces[i].direction), float(x @ faces[j].direction)
    return [replace(f, t0=t0, t1=t1) for f, (t0, t1) in zip(faces, ends) if t1 - t0 > 0.05]


def close_jogs(faces: list[WallFace], max_gap_m: float = 0.4, min_step_m: float = 0.05,
               max_step_m: float = 1.0) -> list[WallFace]:
    """Add the face joining two parallel faces (same facing) whose ends meet along the wall but
    whose offsets differ by ``min_step_m`` to ``max_step_m``, when no face joins them already."""
    added = []
    for a in faces:
        for b in faces:
            if a is b or _angle_between(a, b) > np.radians(5):
                continue
            bt0 = b.point(b.t0) @ a.direction
            step = a.offset - b.point(b.t0) @ a.normal
            if abs(bt0 - a.t1) > max_gap_m or not min_step_m <= abs(step) <= max_step_m:
                continue
            p, q = a.point(a.t1), b.point(b.t0)
            tm = 0.5 * (a.t1 + bt0)
            p, q = p + (tm - a.t1) * a.direction, q + (tm - bt0) * a.direction
            d = (q - p) / np.linalg.norm(q - p)
            n = np.array([-d[1], d[0]])  # room on the left walking from a to b
            if any(n @ g.normal > np.cos(np.radians(10))
                   and abs(g.point(0.5 * (g.t0 + g.t1)) @ n - n @ p) < 0.1 for g in faces):
                continue
            z0, z1 = min(a.z0, b.z0), max(a.z1, b.z1)
            added.append(WallFace(n, float(n @ p), float(p @ np.array([n[1], -n[0]])),
                                  float(q @ np.array([n[1], -n[0]])), z0, z1, 0.0))
    return faces + added


@dataclass(frozen=True)
class Partition:
    """Two faces of one wall seen from both sides: ``thickness_m`` apart, ``front`` the longer."""

    front: WallFace
    back: WallFace
    thickness_m: float


def pair_partitions(faces: list[WallFace], min_m: float = 0.03, max_m: float = 0.45) -> tuple[list[Partition], list[WallFace]]:
    """(partitions, single faces): back-to-back faces ``min_m`` to ``max_m`` apart whose extents
    overlap by at least half the shorter one are one wall."""
    pairs: list[Partition] = []
    used: set[int] = set()
    candidates = []
    for i, a in enumerate(faces):
        for j, b in enumerate(faces):
            if j <= i or _angle_between(a, b) < np.radians(175):
                continue
            thick = a.offset + b.offset  # b's plane lies this far behind a's
            bt = sorted(p @ a.direction for p in b.endpoints)
            overlap = min(a.t1, bt[1]) - max(a.t0, bt[0])
            if min_m <= thick <= max_m and overlap >= 0.5 * min(a.length_m, b.length_m):
                candidates.append((thick, i, j))
    for thick, i, j in sorted(candidates):
        if i in used or j in used:
            continue
        used |= {i, j}
        a, b = faces[i], faces[j]
        front, back = (a, b) if a.length_m >= b.length_m else (b, a)
        pairs.append(Partition(front, back, float(thick)))
    return pairs, [f for k, f in enumerate(faces) if k not in used]


def on_room_outlines(faces: list[WallFace], rooms: list[np.ndarray], max_m: float = 0.15,
                     min_share: float = 0.5) -> list[WallFace]:
    """The faces lying along a room outline (at least ``min_share`` of their length within
    ``max_m`` of one): a tall surface outside every room, such as an open door's leaf swung out
    into the corridor, bounds nothing. All faces when there are no outlines."""
    if not rooms:
        return faces
    edges = [(p, q) for poly in rooms for p, q in zip(poly, np.roll(poly, -1, axis=0))]
    a = np.array([e[0] for e in edges])
    ab = np.array([e[1] for e in edges]) - a
    out = []
    for f in faces:
        pts = np.array([f.point(t) for t in np.linspace(f.t0, f.t1, 12)])
        t = np.clip(((pts[:, None] - a[None]) * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
        d = np.linalg.norm(pts[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1).min(1)
        if (d <= max_m).mean() >= min_share:
            out.append(f)
    return out


def corner_points(faces: list[WallFace]) -> np.ndarray:
    """(K, 2) crossings of face lines that lie at (within 5 cm of) an end of both faces or at an
    end of one and on the other (T-junctions)."""
    pts = []
    for i, a in enumerate(faces):
        for b in faces[i + 1:]:
            x = _cross(a, b)
            if x is None:
                continue
            ta, tb = x @ a.direction, x @ b.direction
            on_a = a.t0 - 0.05 <= ta <= a.t1 + 0.05
            on_b = b.t0 - 0.05 <= tb <= b.t1 + 0.05
            end_a = min(abs(ta - a.t0), abs(ta - a.t1)) < 0.05
            end_b = min(abs(tb - b.t0), abs(tb - b.t1)) < 0.05
            if on_a and on_b and (end_a or end_b):
                pts.append(x)
    return np.array(pts).reshape(-1, 2)


def room_polygons(faces: list[WallFace], seeds_xy: np.ndarray, seed_m2: np.ndarray, cell_m: float = 0.01,
                  min_area_m2: float = 1.0) -> list[np.ndarray]:
    """Counter-clockwise polygons (K, 2) of the regions enclosed by ``faces`` holding at least
    ``min_area_m2`` of seed area (``seeds_xy`` floor surfels or camera positions, ``seed_m2`` the
    area each stands for), largest first. When the faces enclose no region, the open region with
    the most seeds is closed by their convex hull (walls were missed)."""
    import cv2

    if not faces or len(seeds_xy) == 0:
        return []
    ends = np.array([p for f in faces for p in f.endpoints])
    lo = np.minimum(ends.min(0), seeds_xy.min(0)) - 0.5
    hi = np.maximum(ends.max(0), seeds_xy.max(0)) + 0.5
    shape = tuple(np.ceil((hi - lo) / cell_m).astype(int)[::-1] + 1)
    if shape[0] * shape[1] > 64e6:  # more than 80 x 80 m at 1 cm: coarser cells
        return room_polygons(faces, seeds_xy, seed_m2, cell_m * 2, min_area_m2)
    barrier = np.zeros(shape, np.uint8)
    for f in faces:
        a, b = ((f.point(t) - lo) / cell_m for t in (f.t0 - 0.02, f.t1 + 0.02))
        cv2.line(barrier, tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int)), 1, 2)
    _, labels = cv2.connectedComponents((barrier == 0).astype(np.uint8), connectivity=4)
    px = np.clip(np.round((seeds_xy - lo) / cell_m).astype(int), 0, np.array(shape[::-1]) - 1)
    seed_labels = labels[px[:, 1], px[:, 0]]
    weight = np.bincount(seed_labels, seed_m2, labels.max() + 1)
    weight[0] = 0.0  # seeds on a barrier
    border = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    open_weight = weight[border].copy()
    weight[border] = 0.0
    corners = corner_points(faces)
    polys = []
    for lab in np.flatnonzero(weight >= min_area_m2):
        contours, _ = cv2.findContours((labels == lab).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        c = max(contours, key=cv2.contourArea)
        poly = _snap(lo + cv2.approxPolyDP(c, 2.5, True).reshape(-1, 2).astype(float) * cell_m, corners, 0.1)
        if len(poly) >= 3 and abs(signed_area(poly)) >= min_area_m2:
            polys.append(poly if signed_area(poly) > 0 else poly[::-1])
    if not polys and len(border) and open_weight.max() >= min_area_m2:
        lab = border[int(np.argmax(open_weight))]
        hull = cv2.convexHull(seeds_xy[seed_labels == lab].astype(np.float32)).reshape(-1, 2).astype(float)
        if len(hull) >= 3:
            polys.append(hull if signed_area(hull) > 0 else hull[::-1])
    return sorted(polys, key=lambda p: -abs(signed_area(p)))


def _snap(poly: np.ndarray, corners: np.ndarray, radius: float) -> np.ndarray:
    """Each vertex moved to the nearest corner point within ``radius``; duplicates removed."""
    if len(corners):
        d = np.linalg.norm(poly[:, None] - corners[None], axis=2)
        j = d.argmin(1)
        near = d[np.arange(len(poly)), j] < radius
        poly = np.where(near[:, None], corners[j], poly)
    keep = [0] + [k for k in range(1, len(poly)) if np.linalg.norm(poly[k] - poly[k - 1]) > 1e-6]
    poly = poly[keep]
    if len(poly) > 1 and np.linalg.norm(poly[0] - poly[-1]) < 1e-6:
        poly = poly[:-1]
    return poly
