"""Object instances: what stands on the floor once the structure is taken away, each with a
gravity-aligned oriented box (working frame: z up, metres).

1. Surfels of walls (their slab and ``wall_margin_m`` in front), the floor, the ceiling and
   everything outside the room outlines are removed.
2. The rest is voxelised at ``voxel_m`` and split into 26-connected components; components with
   too little surface or height are dropped (dust, skirting, cables).
3. A component whose footprint is an L or a T (a desk touching a bed, a chair pushed against a
   table) is cut by straight lines into parts that each fill their rectangle; a low part under
   another one's footprint (a swivel chair's star base, whose column was lost) joins it; a
   kitchen run (units side by side against a wall, a flat top at counter height) is cut into
   units where its front's colour or its top's height changes.
4. Each instance gets a box: its yaw from the direction most of its sides face (else its
   footprint's minimum-area rectangle), snapped to the
   wall in front of which it stands (within ``wall_reach_m``) when they agree within 5°, else to
   the room's axes within 5°; the box spans the footprint and reaches down to the floor. Its
   back is extended to that wall when it stands against it (within ``wall_touch_m``) or when
   the floor between them was never seen (a refrigerator seen only from the front): what hides
   the floor there is the object itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..scene.shapes import points_in_polygon
from .points import Surfels, cielab
from .structure import Structure


@dataclass(frozen=True)
class ObjectSettings:
    voxel_m: float = 0.04
    wall_margin_m: float = 0.06
    floor_margin_m: float = 0.04
    min_area_m2: float = 0.04
    min_height_m: float = 0.15
    wall_reach_m: float = 1.0  # an object this close to a wall may take its orientation
    wall_touch_m: float = 0.15  # ... and this close (beyond the wall strip), is extended back to it
    base_height_m: float = 0.35  # a part this low under another one's footprint is its base
    unit_width_m: tuple[float, float] = (0.5, 0.95)  # a counter run is cut into units this wide


@dataclass(eq=False)
class Instance:
    """Surfel indices ``members``, box pose ``T_work_box`` (x width, y depth with −y the front,
    z up), ``dims_m`` (width, depth, height), ``wall`` index it backs onto (or None)."""

    members: np.ndarray
    T_work_box: np.ndarray
    dims_m: tuple[float, float, float]
    wall: int | None = None


def structure_mask(s: Surfels, st: Structure, cfg: ObjectSettings) -> np.ndarray:
    """Surfels that belong to the walls, floor, ceiling or lie outside the rooms."""
    lv = st.level
    z = s.xyz[:, 2]
    mask = (z < lv.floor_z + cfg.floor_margin_m) | (z > lv.top_z - 0.02)
    if lv.ceiling_z is not None:
        mask |= z > lv.ceiling_z - 0.05
    xy = s.xyz[:, :2]
    for w in st.walls:
        f = w.face
        t = xy @ f.direction
        d = xy @ f.normal - f.offset  # > 0 in front of the face
        mask |= (t > f.t0 - 0.05) & (t < f.t1 + 0.05) & (d < cfg.wall_margin_m) & (d > -w.thickness_m - 0.05)
    if st.rooms:
        inside = np.zeros(len(s), bool)
        for poly in st.rooms:
            inside |= points_in_polygon(xy, poly)
        mask |= ~inside
    return mask


def _components(xyz: np.ndarray, voxel_m: float) -> np.ndarray:
    """Label (≥ 0) of each point's 26-connected voxel component."""
    from scipy import ndimage

    keys = np.floor(xyz / voxel_m).astype(np.int64)
    keys -= keys.min(0)
    shape = tuple(keys.max(0) + 1)
    grid = np.zeros(shape, bool)
    grid[keys[:, 0], keys[:, 1], keys[:, 2]] = True
    labels, _ = ndimage.label(grid, structure=np.ones((3, 3, 3), bool))
    return labels[keys[:, 0], keys[:, 1], keys[:, 2]] - 1


def _fill(occ: np.ndarray) -> float:
    """Share of occupied cells in the bounding rectangle of the occupied cells of ``occ``."""
    rows, cols = np.flatnonzero(occ.any(1)), np.flatnonzero(occ.any(0))
    if len(rows) == 0:
        return 0.0
    return float(occ[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].mean())


def split_footprint(occ: np.ndarray, min_cells: int = 40, min_fill: float = 0.85, depth: int = 3) -> np.ndarray:
    """Label (0..K-1, −1 empty) per cell of a top-down occupancy grid: the footprint cut by straight
    lines into parts that each fill their rectangle (objects standing together form an L or a T,
    or two rectangles joined by a seam; one object fills its box). A cut is kept when both parts
    hold ``min_cells`` cells and fill at least ``min_fill`` of their rectangles, and either fill
    0.12 more than the whole or meet along a seam (at most 15 % of the cut occupied on both
    sides); of the nearly best cuts, the one crossing the fewest occupied cells wins."""
    labels = np.where(occ, 0, -1)
    whole = _fill(occ)
    if depth == 0:
        return labels
    cuts = []
    for axis in (0, 1):
        length = occ.shape[1 - axis]
        for k in range(1, occ.shape[axis]):
            a, b = (occ[:k], occ[k:]) if axis == 0 else (occ[:, :k], occ[:, k:])
            if a.sum() < min_cells or b.sum() < min_cells:
                continue
            score = min(_fill(a), _fill(b))
            across = int((occ[k - 1] & occ[k]).sum() if axis == 0 else (occ[:, k - 1] & occ[:, k]).sum())
            seam = across <= 0.15 * length
            if score >= min_fill and (score >= whole + 0.12 or seam):
                cuts.append((score + seam, -across, axis, k))
    if not cuts:
        return labels
    top = max(c[0] for c in cuts)  # seams first; among the (nearly) best, the shortest cut
    _, _, axis, k = max((c for c in cuts if c[0] >= top - 0.02), key=lambda c: c[1])
    a, b = (occ[:k], occ[k:]) if axis == 0 else (occ[:, :k], occ[:, k:])
    la, lb = split_footprint(a, min_cells, min_fill, depth - 1), split_footprint(b, min_cells, min_fill, depth - 1)
    lb = np.where(lb >= 0, lb + la.max() + 1, -1)
    return np.concatenate([la, lb], axis=axis)


def _split(xyz: np.ndarray, normals: np.ndarray, area: np.ndarray, cell_m: float = 0.05) -> list[np.ndarray]:
    """Indices of the parts of one component after :func:`split_footprint`, in the frame its
    sides face (a table turned 15° with its chairs is cut along its own edges)."""
    import cv2

    yaw = _sides_yaw(normals, area)
    if yaw is None:
        yaw = np.radians(cv2.minAreaRect(xyz[:, :2].astype(np.float32))[2])
    c, s_ = np.cos(yaw), np.sin(yaw)
    local = xyz[:, :2] @ np.array([[c, -s_], [s_, c]])
    ij = np.floor((local - local.min(0)) / cell_m).astype(int)
    occ = np.zeros(tuple(ij.max(0) + 1), bool)
    occ[ij[:, 0], ij[:, 1]] = True
    labels = split_footprint(occ)
    per_point = labels[ij[:, 0], ij[:, 1]]
    return [np.flatnonzero(per_point == k) for k in range(labels.max() + 1)]


def _box(xyz: np.ndarray, floor_z: float, yaw: float) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Box of ``xyz`` at ``yaw``: footprint extents (1st-99th percentile), floor to top."""
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.array([[c, -s], [s, c]])
    local = xyz[:, :2] @ R
    lo, hi = np.percentile(local, 1, axis=0), np.percentile(local, 99, axis=0)
    top = float(np.percentile(xyz[:, 2], 99.5))
    centre = R @ ((lo + hi) / 2)
    T = np.eye(4)
    T[:2, :2] = R
    T[:3, 3] = (*centre, (floor_z + top) / 2)
    return T, (float(hi[0] - lo[0]), float(hi[1] - lo[1]), float(top - floor_z))


@dataclass(frozen=True)
class _Backing:
    wall: int
    face: object  # WallFace
    gap_m: float


def _sides_yaw(normals: np.ndarray, area: np.ndarray, min_share: float = 0.4) -> float | None:
    """The direction (radians, modulo 90°) most of an object's vertical surface faces, when at
    least ``min_share`` of it lies within 5° of it (a bed's, a cabinet's sides); else None."""
    vertical = np.abs(normals[:, 2]) < 0.3
    if area[vertical].sum() <= 0:
        return None
    ang = np.mod(np.arctan2(normals[vertical, 1], normals[vertical, 0]), np.pi / 2)
    w = area[vertical]
    hist = np.bincount(np.minimum((ang / (np.pi / 2) * 90).astype(int), 89), w, 90)
    window = sum(np.roll(hist, k) for k in range(-5, 6))
    peak = int(np.argmax(window))
    if window[peak] < min_share * w.sum():
        return None
    centre = (peak + 0.5) * np.pi / 180
    d = np.angle(np.exp(4j * (ang - centre))) / 4
    near = np.abs(d) < np.radians(5.5)
    return float(centre + (np.average(d[near], weights=w[near]) if w[near].sum() > 0 else 0.0))


def _yaw(xy: np.ndarray, normals: np.ndarray, area: np.ndarray, st: Structure, cfg: ObjectSettings,
         ) -> tuple[float, _Backing | None]:
    """Yaw of an instance's box and the wall face it stands in front of (see the module docstring).
    With a wall, the box's +y (its back) points at the wall."""
    import cv2

    rect_yaw = _sides_yaw(normals, area)
    if rect_yaw is None:
        rect_yaw = np.radians(cv2.minAreaRect(xy.astype(np.float32))[2])
    best = None
    for k, w in enumerate(st.walls):
        for f in (w.face, w.back):
            if f is None:
                continue
            t = xy @ f.direction
            inside = (t > f.t0) & (t < f.t1)
            if inside.mean() < 0.5:
                continue
            gap = float(np.percentile(xy[inside] @ f.normal - f.offset, 2))
            wall_yaw = float(np.arctan2(f.normal[0], -f.normal[1]))
            agree = abs(np.angle(np.exp(4j * (wall_yaw - rect_yaw)))) / 4 < np.radians(5)
            if agree and 0 <= gap <= cfg.wall_reach_m and (best is None or gap < best[0]):
                best = (gap, wall_yaw, _Backing(k, f, gap))
    if best is not None:
        return best[1], best[2]
    snapped = np.round(rect_yaw / (np.pi / 2)) * (np.pi / 2)
    return float(snapped if abs(rect_yaw - snapped) < np.radians(5) else rect_yaw), None


def _floor_seen(s: Surfels, floor_z: float, cell_m: float = 0.05):
    """A lookup (xy (N, 2) → bool) of floor cells where floor surfels were seen."""
    floor = (s.normals[:, 2] > 0.9) & (np.abs(s.xyz[:, 2] - floor_z) < 0.05)
    cells = {tuple(c) for c in np.floor(s.xyz[floor, :2] / cell_m).astype(int)}
    return lambda xy: np.array([tuple(c) in cells for c in np.floor(xy / cell_m).astype(int)], bool)


def _extend_to_wall(T: np.ndarray, dims, back: _Backing, normals: np.ndarray, area: np.ndarray, floor_seen,
                    cfg: ObjectSettings):
    """The box with its back moved to 2 cm off ``back``'s face, when its back was not seen and it
    touches the wall or the floor between them was not seen either; else unchanged."""
    f = back.face
    facing_back = area[normals[:, :2] @ -f.normal > 0.7].sum()
    if facing_back > 0.15 * area[np.abs(normals[:, 2]) < 0.3].sum():
        return T, dims  # its back was seen: it ends there
    if back.gap_m > cfg.wall_touch_m:
        y_axis = T[:2, 1]
        centre, half = T[:2, 3], dims[1] / 2
        depths = np.arange(half + 0.05, half + back.gap_m - 0.05, 0.05)
        xs = np.linspace(-dims[0] / 2 + 0.05, dims[0] / 2 - 0.05, max(int(dims[0] / 0.1), 2))
        if len(depths):
            strip = centre + depths[:, None, None] * y_axis + xs[None, :, None] * T[:2, 0]
            if floor_seen(strip.reshape(-1, 2)).mean() > 0.25:
                return T, dims
    back_y = -f.normal  # the box's +y
    centre = T[:2, 3]
    front = centre @ back_y - dims[1] / 2
    back_pos = max(-f.offset - 0.02, centre @ back_y + dims[1] / 2)
    T = T.copy()
    T[:2, 3] = centre + back_y * ((front + back_pos) / 2 - centre @ back_y)
    return T, (dims[0], float(back_pos - front), dims[2])


def find_instances(s: Surfels, st: Structure, cfg: ObjectSettings = ObjectSettings()) -> list[Instance]:
    """Object instances of ``st``'s story in ``s`` (see the module docstring)."""
    keep = np.flatnonzero(~structure_mask(s, st, cfg))
    if len(keep) == 0:
        return []
    labels = _components(s.xyz[keep], cfg.voxel_m)
    parts = [keep[labels == lab] for lab in range(labels.max() + 1)]
    parts = [p[q] for p in parts if s.area_m2[p].sum() >= cfg.min_area_m2
             for q in _split(s.xyz[p], s.normals[p], s.area_m2[p])]
    parts = [p for p in parts if len(p) and s.area_m2[p].sum() >= cfg.min_area_m2]
    floor_seen = _floor_seen(s, st.level.floor_z)
    merged = _merge_nested([_instance(s, p, st, floor_seen, cfg) for p in _merge_bases(s, parts, st.level.floor_z, cfg)
                            if s.xyz[p, 2].max() - st.level.floor_z >= cfg.min_height_m], s, st, floor_seen, cfg)
    out = []
    for inst in merged:
        if is_counter_run(s, inst, st.level.floor_z):
            out += [_unit(s, u, inst) for u in split_run(s, inst, cfg) if len(u)]
        else:
            out.append(inst)
    return out


def _unit(s: Surfels, members: np.ndarray, run: Instance) -> Instance:
    """One unit of a counter run: the run's depth and orientation, its own width and height."""
    T = run.T_work_box
    local = (s.xyz[members] - T[:3, 3]) @ T[:3, :3]
    x0, x1 = np.percentile(local[:, 0], [1, 99])
    top = float(np.percentile(local[:, 2], 98)) + T[2, 3]
    floor = T[2, 3] - run.dims_m[2] / 2
    U = T.copy()
    U[:3, 3] = T[:3, :3] @ np.array([(x0 + x1) / 2, 0.0, 0.0]) + T[:3, 3]
    U[2, 3] = (floor + top) / 2
    return Instance(members, U, (float(x1 - x0), run.dims_m[1], float(top - floor)), run.wall)


def _instance(s: Surfels, part: np.ndarray, st: Structure, floor_seen, cfg: ObjectSettings) -> Instance:
    xyz = s.xyz[part]
    yaw, back = _yaw(xyz[:, :2], s.normals[part], s.area_m2[part], st, cfg)
    T, dims = _box(xyz, st.level.floor_z, yaw)
    if back is not None:
        T, dims = _extend_to_wall(T, dims, back, s.normals[part], s.area_m2[part], floor_seen, cfg)
    return Instance(part, T, dims, back.wall if back is not None and back.gap_m <= cfg.wall_touch_m else None)


def is_counter_run(s: Surfels, inst: Instance, floor_z: float) -> bool:
    """An instance against a wall, counter-deep, wider than one unit, whose top along most of its
    width is at counter height: a kitchen run (sink, stove, dishwasher … side by side, perhaps
    with a refrigerator at its end)."""
    w, d, h = inst.dims_m
    if inst.wall is None or w < 1.05 or not 0.45 <= d <= 0.8 or not 0.75 <= h <= 2.1:
        return False
    T = inst.T_work_box
    local = (s.xyz[inst.members] - T[:3, 3]) @ T[:3, :3]
    col = np.floor((local[:, 0] + w / 2) / 0.05).astype(int)
    tops = np.full(col.max() + 1, -np.inf)
    np.maximum.at(tops, col, s.xyz[inst.members, 2] - floor_z)
    return bool(0.78 <= np.median(tops[np.isfinite(tops)]) <= 0.97)


def split_run(s: Surfels, inst: Instance, cfg: ObjectSettings, bin_m: float = 0.02) -> list[np.ndarray]:
    """Member indices of the units of a counter run, cut where the front's colour or the top's
    height changes (a dark oven door beside a white dishwasher, a sink's basin), with every unit
    ``unit_width_m`` wide (dynamic programming over the cut positions); equal widths when there
    are no colours."""
    T, (w, d, _) = inst.T_work_box, inst.dims_m
    local = (s.xyz[inst.members] - T[:3, 3]) @ T[:3, :3]
    nb = int(np.ceil(w / bin_m))
    col = np.clip(((local[:, 0] + w / 2) / bin_m).astype(int), 0, nb - 1)
    n_local = s.normals[inst.members] @ T[:3, :3]
    signal = []
    front = (n_local[:, 1] < -0.7) & (local[:, 1] < -d / 2 + 0.15)
    if s.colors is not None and front.any():
        lab = cielab(s.colors[inst.members][front])
        signal += [_profile(col[front], lab[:, k], nb) for k in range(3)]
    up = n_local[:, 2] > 0.8
    if up.any():
        signal.append(_profile(col[up], 300.0 * local[up, 2], nb))  # 1 cm of height weighs like 3 Lab units
    edge = np.zeros(nb + 1)
    for sig in signal:
        filled = np.interp(np.arange(nb), np.flatnonzero(~np.isnan(sig)), sig[~np.isnan(sig)]) if (~np.isnan(sig)).any() else np.zeros(nb)
        edge[2:nb - 1] += np.abs(filled[2:nb - 1] + filled[3:nb] - filled[0:nb - 3] - filled[1:nb - 2]) / 2
    lo, hi = (round(x / bin_m) for x in cfg.unit_width_m)
    best = np.full(nb + 1, -np.inf)
    prev = np.zeros(nb + 1, int)
    best[0] = 0.0
    for k in range(lo, nb + 1):
        for j in range(max(k - hi, 0), k - lo + 1):
            if best[j] == -np.inf:
                continue
            width = (k - j) * bin_m
            score = best[j] + (edge[k] if k < nb else 0.0) - 20.0 * (width - 0.6) ** 2
            if score > best[k]:
                best[k], prev[k] = score, j
    if best[nb] == -np.inf:
        return [inst.members]
    cuts, k = [], nb
    while k > 0:
        cuts.append(k)
        k = prev[k]
    bounds = [0, *sorted(cuts)]
    return [inst.members[(col >= a) & (col < b)] for a, b in pairwise(bounds)]


def _profile(col: np.ndarray, value: np.ndarray, nb: int) -> np.ndarray:
    """Mean of ``value`` per column (NaN where empty)."""
    total = np.bincount(col, value, nb)
    count = np.bincount(col, minlength=nb)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _merge_nested(instances: list[Instance], s: Surfels, st: Structure, floor_seen, cfg: ObjectSettings) -> list[Instance]:
    """Join an instance whose surface lies mostly (70 %) over a larger instance's footprint (a
    headboard and pillows behind a bed's mattress, cut off by the wall strip) into that one."""
    out = sorted(instances, key=lambda i: -np.prod(i.dims_m))
    k = 0
    while k < len(out):
        j = k + 1
        while j < len(out):
            if _share_inside(s, out[j].members, out[k]) >= 0.7:
                out[k] = _instance(s, np.concatenate([out[k].members, out[j].members]), st, floor_seen, cfg)
                del out[j]
                j = k + 1
            else:
                j += 1
        k += 1
    return out


def _share_inside(s: Surfels, members: np.ndarray, box: Instance, margin_m: float = 0.03) -> float:
    """Share of the surface of ``members`` over ``box``'s footprint (grown by ``margin_m``)."""
    local = (s.xyz[members, :2] - box.T_work_box[:2, 3]) @ box.T_work_box[:2, :2]
    inside = (np.abs(local) <= np.array(box.dims_m[:2]) / 2 + margin_m).all(1)
    return float(s.area_m2[members][inside].sum() / max(s.area_m2[members].sum(), 1e-12))


def _merge_bases(s: Surfels, parts: list[np.ndarray], floor_z: float, cfg: ObjectSettings) -> list[np.ndarray]:
    """Join each low part (top below ``base_height_m``: a swivel chair's star base, a table's
    feet) to the taller part whose footprint covers most of it (the thin column between them is
    often lost in the reconstruction)."""
    tops = [float(s.xyz[p, 2].max() - floor_z) for p in parts]
    lo = [s.xyz[p, :2].min(0) for p in parts]
    hi = [s.xyz[p, :2].max(0) for p in parts]
    merged = [list(p) for p in parts]
    alive = [True] * len(parts)
    for i in np.argsort(tops):
        if tops[i] >= cfg.base_height_m:
            break
        area_i = np.prod(np.maximum(hi[i] - lo[i], 1e-6))
        best, best_share = None, 0.5
        for j in range(len(parts)):
            if j == i or not alive[j] or tops[j] < cfg.base_height_m:
                continue
            overlap = np.prod(np.maximum(np.minimum(hi[i], hi[j]) - np.maximum(lo[i], lo[j]), 0.0))
            if overlap / area_i > best_share:
                best, best_share = j, overlap / area_i
        if best is not None:
            merged[best] += merged[i]
            alive[i] = False
    return [np.array(m) for m, a in zip(merged, alive) if a]
