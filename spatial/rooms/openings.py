"""Doors, windows and open doorways: rectangles in their wall (working frame, metres).

Each wall face is rasterised in its own (t along the wall, z up) coordinates at ``cell_m``, with
what the surface shows at every cell: the wall itself (surfels on the face plane, facing the
room), a *recess* (surfaces 2.5-30 cm behind the plane facing the room: a closed door leaf or a
window's glass and frame set into the wall's thickness), a *hole* (surfaces farther behind, or
keyframes whose depth ran past the plane there: an open door, a doorway, a window without
glass), something in front (furniture hiding the wall: no evidence either way) or nothing.
Recess and hole cells that form a rectangle surrounded by wall become an opening, classified by
size priors and sill height: from the floor and door-sized → a door (closed when a recess; open
when a hole with a leaf behind it) or an open doorway (a hole without a leaf); above the floor →
a window. A flush door is found by colour instead: a door-sized rectangle from the floor whose
colour differs from the rest of the wall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .points import Surfels, cielab
from .structure import Structure, Wall

ON_M = 0.025  # |depth| within which a surfel is the wall itself
RECESS_M = 0.30  # deeper than this behind the face: seen through the wall
WALL, RECESS, HOLE, HIDDEN, EMPTY = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Opening:
    """``kind`` door | window | opening in wall ``wall`` (index into ``Structure.walls``), spanning
    ``t0..t1`` along its face and ``z0..z1`` in height (metres); ``is_open`` for doors;
    ``score`` in [0, 1]."""

    kind: str
    wall: int
    t0: float
    t1: float
    z0: float
    z1: float
    is_open: bool | None
    score: float

    @property
    def width_m(self) -> float:
        return self.t1 - self.t0

    @property
    def height_m(self) -> float:
        return self.z1 - self.z0


@dataclass(frozen=True)
class OpeningSettings:
    cell_m: float = 0.05
    min_fill: float = 0.55  # share of recess/hole/empty cells inside the rectangle
    door_width_m: tuple[float, float] = (0.6, 2.4)
    door_min_height_m: float = 1.7  # or up to the top of what was seen
    window_width_m: tuple[float, float] = (0.3, 3.5)
    window_height_m: tuple[float, float] = (0.3, 2.6)
    floor_contact_m: float = 0.15
    colour_delta: float = 25.0  # CIELab distance from the wall's colour for a flush door


@dataclass(frozen=True)
class WallGrid:
    """One wall face rasterised (rows from the floor up, columns along the face): ``state`` per
    cell (WALL, RECESS, HOLE, HIDDEN, EMPTY), ``colours`` the mean CIELab of the surface seen there
    (the wall or what is set into it; NaN where none; None without colours) and ``recess_m`` the
    mean depth of recessed surfaces behind the wall's surface (NaN where none)."""

    state: np.ndarray
    colours: np.ndarray | None
    recess_m: np.ndarray


@dataclass(frozen=True)
class View:
    """A keyframe in the working frame: ``T_work_camera`` (OpenCV axes), its intrinsics and depth
    (metres, 0 = no return)."""

    T_work_camera: np.ndarray
    intrinsics: object
    depth_m: np.ndarray


def see_through(wall: Wall, st: Structure, views: list[View], nz: int, nt: int, cfg: OpeningSettings) -> np.ndarray:
    """Per cell of ``wall``'s face, how many views looked through it: the cell's centre lies in
    the image, in front of the camera, within 60° of the face's normal, and the depth there runs
    past it by 30 cm (or has no return while the wall around was in range)."""
    f, lv = wall.face, st.level
    tt = f.t0 + (np.arange(nt) + 0.5) * cfg.cell_m
    zz = lv.floor_z + (np.arange(nz) + 0.5) * cfg.cell_m
    xy = f.offset * f.normal + tt[:, None] * f.direction  # (nt, 2)
    P = np.concatenate([np.repeat(xy[None], nz, 0), np.repeat(zz[:, None, None], nt, 1)], axis=2).reshape(-1, 3)
    count = np.zeros(len(P), int)
    for v in views:
        R, c = v.T_work_camera[:3, :3], v.T_work_camera[:3, 3]
        ray = P - c
        dist = np.linalg.norm(ray, axis=1)
        facing = -(ray[:, :2] @ f.normal) / np.maximum(dist, 1e-9) > 0.5  # seen from the room, ≤ 60°
        pc = ray @ R
        K, depth = v.intrinsics, v.depth_m
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.round(K.fx * pc[:, 0] / pc[:, 2] + K.cx).astype(np.int64, copy=False)
            w = np.round(K.fy * pc[:, 1] / pc[:, 2] + K.cy).astype(np.int64, copy=False)
        ok = facing & (pc[:, 2] > 0.3) & (u >= 0) & (u < depth.shape[1]) & (w >= 0) & (w < depth.shape[0])
        d = np.zeros(len(P))
        d[ok] = depth[w[ok], u[ok]]
        beyond = ok & (d > pc[:, 2] + 0.3)
        count += beyond
    return count.reshape(nz, nt)


def wall_grid(wall: Wall, st: Structure, s: Surfels, views: list[View] | None, cfg: OpeningSettings) -> WallGrid:
    """The :class:`WallGrid` of ``wall``'s face; ``views`` (keyframes) add free-space evidence:
    a cell two views looked through is a hole."""
    f, lv = wall.face, st.level
    nt = max(int(np.ceil(f.length_m / cfg.cell_m)), 1)
    nz = max(int(np.ceil(lv.height_m / cfg.cell_m)), 1)
    t = s.xyz[:, :2] @ f.direction
    z = s.xyz[:, 2] - lv.floor_z
    d = f.offset - s.xyz[:, :2] @ f.normal  # > 0 behind the face
    near = (t > f.t0) & (t < f.t1) & (z >= 0) & (z < lv.height_m) & (d > -1.5) & (d < 3.0)
    ti = np.minimum(((t[near] - f.t0) / cfg.cell_m).astype(int), nt - 1)
    zi = np.minimum((z[near] / cfg.cell_m).astype(int), nz - 1)
    dn, a = d[near], s.area_m2[near]
    facing = s.normals[near, :2] @ f.normal
    surface = (np.abs(dn) < 2 * ON_M) & (facing > 0.5)
    if surface.any():  # depths from the wall's median surface (the face itself sits at its front)
        order = np.argsort(dn[surface])
        half = np.searchsorted(np.cumsum(a[surface][order]), a[surface].sum() / 2)
        dn = dn - dn[surface][order][min(half, surface.sum() - 1)]
    cell = cfg.cell_m**2

    def layer(mask):
        return np.bincount(zi[mask] * nt + ti[mask], a[mask], nz * nt).reshape(nz, nt)

    on = layer((np.abs(dn) <= ON_M) & (facing > 0.5))
    recessed = (dn > ON_M) & (dn <= RECESS_M) & (facing > 0.5)
    rec = layer(recessed)
    with np.errstate(invalid="ignore"):
        recess_m = np.bincount(zi[recessed] * nt + ti[recessed], a[recessed] * dn[recessed], nz * nt).reshape(nz, nt) / rec
    far = layer(dn > RECESS_M)
    front = layer(dn < -0.05)
    state = np.full((nz, nt), EMPTY, np.int8)
    state[front > 0.2 * cell] = HIDDEN
    state[far > 0.1 * cell] = HOLE
    if views:
        state[see_through(wall, st, views, nz, nt, cfg) >= 2] = HOLE
    state[rec > 0.25 * cell] = RECESS
    state[on > 0.25 * cell] = WALL
    colours = None
    if s.colors is not None:  # colour of the surface seen at each cell: the wall, or what is set into it
        seen = (dn >= -ON_M) & (dn <= RECESS_M) & (facing > 0.5)
        lab = cielab(s.colors[near][seen])
        idx = zi[seen] * nt + ti[seen]
        w = a[seen]
        total = np.bincount(idx, w, nz * nt)
        colours = np.stack([np.bincount(idx, w * lab[:, k], nz * nt) for k in range(3)], 1)
        colours = (colours / np.maximum(total, 1e-12)[:, None]).reshape(nz, nt, 3)
        colours[(total == 0).reshape(nz, nt)] = np.nan
    return WallGrid(state, colours, recess_m)


def _rectangles(mask: np.ndarray) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Bounding boxes (r0, r1, c0, c1) exclusive ends and the component mask of ``mask``'s
    4-connected components."""
    import cv2

    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    out = []
    for k in range(1, n):
        rr, cc = np.nonzero(labels == k)
        out.append((rr.min(), rr.max() + 1, cc.min(), cc.max() + 1, labels == k))
    return out


def _classify(kind_hint: str, width: float, z0: float, z1: float, seen_top: float, hole_share: float,
              leaf: bool, cfg: OpeningSettings) -> tuple[str, bool | None] | None:
    """(kind, is_open) from size priors, or None when the rectangle fits no opening."""
    from_floor = z0 <= cfg.floor_contact_m
    tall = z1 >= min(cfg.door_min_height_m, seen_top - 0.1)
    if from_floor and tall and cfg.door_width_m[0] <= width <= cfg.door_width_m[1]:
        if hole_share < 0.5:
            return "door", False
        return ("door", True) if leaf else ("opening", None)
    if kind_hint == "colour":
        return None
    if cfg.window_width_m[0] <= width <= cfg.window_width_m[1] and \
            cfg.window_height_m[0] <= z1 - z0 <= cfg.window_height_m[1] and (not from_floor or width < cfg.door_width_m[0]):
        return "window", None
    return None


def _leaf_behind(wall: Wall, st: Structure, s: Surfels, t0: float, t1: float) -> bool:
    """Whether a vertical surface stands beyond the wall within a door's width of either jamb (an
    open door's leaf)."""
    f = wall.face
    d = f.offset - s.xyz[:, :2] @ f.normal
    t = s.xyz[:, :2] @ f.direction
    z = s.xyz[:, 2] - st.level.floor_z
    width = t1 - t0
    beyond = (d > wall.thickness_m + 0.02) & (d < width + 0.3) & (t > t0 - width) & (t < t1 + width)
    beyond &= (z > 0.3) & (z < 1.8) & (np.abs(s.normals[:, 2]) < 0.3)
    return float(s.area_m2[beyond].sum()) > 0.1 * width * 1.5


def find_openings(st: Structure, s: Surfels, views: list[View] | None = None,
                  cfg: OpeningSettings = OpeningSettings()) -> list[Opening]:
    """Openings of every wall of ``st``; ``views`` (keyframes) add free-space evidence."""
    out: list[Opening] = []
    seen_top = st.level.height_m
    grids = [wall_grid(wall, st, s, views, cfg) for wall in st.walls]
    samples = [g.colours[(g.state == WALL) & ~np.isnan(g.colours[..., 0])] for g in grids if g.colours is not None]
    samples = [x for x in samples if len(x)]
    reference = np.median(np.vstack(samples), axis=0) if samples else None  # the room's wall colour
    for k, (wall, grid) in enumerate(zip(st.walls, grids)):
        state, colours = grid.state, grid.colours
        found = _distinct(_from_depth(k, wall, st, s, grid, reference, seen_top, cfg))
        if colours is not None and reference is not None:
            taken = np.zeros(state.shape, bool)
            for o in found:
                taken[:, int((o.t0 - wall.face.t0) / cfg.cell_m):int(np.ceil((o.t1 - wall.face.t0) / cfg.cell_m))] = True
            found += _from_colour(k, wall, state, colours, reference, taken, seen_top, cfg)
        out += found
    return out


def _differs(colours: np.ndarray | None, reference: np.ndarray | None, r0: int, r1: int, c0: int, c1: int,
             cfg: OpeningSettings) -> bool | None:
    """Whether the cells of the rectangle that show colour differ from the room's wall colour
    (median CIELab distance above ``colour_delta``); None when there is no colour to tell."""
    if colours is None or reference is None:
        return None
    inside = colours[r0:r1, c0:c1].reshape(-1, 3)
    inside = inside[~np.isnan(inside[:, 0])]
    if len(inside) < 4:
        return None
    return bool(np.median(np.linalg.norm(inside - reference, axis=1)) > cfg.colour_delta)


def _from_depth(k: int, wall: Wall, st: Structure, s: Surfels, grid: WallGrid, reference: np.ndarray | None,
                seen_top: float, cfg: OpeningSettings) -> list[Opening]:
    import cv2

    state, colours = grid.state, grid.colours
    c = cfg.cell_m
    evidence = np.isin(state, (RECESS, HOLE))
    evidence = cv2.morphologyEx(evidence.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    out = []
    for r0, r1, c0, c1, _comp in _rectangles(evidence):
        if (r1 - r0) * (c1 - c0) < 16:
            continue
        r0, r1, c0, c1 = _grow(state, r0, r1, c0, c1)
        box = state[r0:r1, c0:c1]
        fill = np.isin(box, (RECESS, HOLE, EMPTY)).mean()
        if fill < cfg.min_fill:
            continue
        ev = np.isin(box, (RECESS, HOLE))
        hole_share = (box == HOLE).sum() / max(ev.sum(), 1)
        t0, t1 = wall.face.t0 + c0 * c, wall.face.t0 + c1 * c
        z0, z1 = r0 * c, min(r1 * c, seen_top)
        leaf = hole_share >= 0.5 and _leaf_behind(wall, st, s, t0, t1)
        kind = _classify("depth", t1 - t0, z0, z1, seen_top, hole_share, leaf, cfg)
        if kind is None:
            continue
        if hole_share < 0.5 and not _framed(state, r0, r1, c0, c1, kind[0]):
            continue  # a recess reaching the end of the wall: a bent or doubled wall surface, not an opening
        if kind == ("door", False) and not _leaf_like(grid.recess_m[r0:r1, c0:c1]) and \
                _differs(colours, reference, r0, r1, c0, c1, cfg) is not True:
            continue  # a closed door is a flat leaf set into the wall, or differs from it in colour
        z0 = 0.0 if z0 <= cfg.floor_contact_m and kind[0] != "window" else z0
        score = float(np.clip(fill * (0.5 + 0.5 * ev.mean()), 0, 1))
        out.append(Opening(kind[0], k, t0, t1, z0, z1, kind[1], score))
    return out


def _distinct(openings: list[Opening]) -> list[Opening]:
    """The best-scoring of openings of one wall that overlap (a rectangle found twice)."""
    kept: list[Opening] = []
    for o in sorted(openings, key=lambda o: -o.score):
        if all(min(o.t1, k.t1) - max(o.t0, k.t0) <= 0.3 * min(o.width_m, k.width_m)
               or min(o.z1, k.z1) - max(o.z0, k.z0) <= 0 for k in kept):
            kept.append(o)
    return kept


def _grow(state: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> tuple[int, int, int, int]:
    """Widen a rectangle sideways and down over cells that show no wall and hide nothing (parts
    of an opening seen through to nothing, or not seen at all), and up too when it stands on the
    floor (a doorway's head is rarely seen through): (r0, r1, c0, c1)."""
    def open_share(block):
        return np.isin(block, (RECESS, HOLE, EMPTY)).mean() if block.size else 0.0

    while c0 > 0 and open_share(state[r0:r1, c0 - 1]) >= 0.7:
        c0 -= 1
    while c1 < state.shape[1] and open_share(state[r0:r1, c1]) >= 0.7:
        c1 += 1
    while r0 > 0 and open_share(state[r0 - 1, c0:c1]) >= 0.7:
        r0 -= 1
    while r0 == 0 and r1 < state.shape[0] and open_share(state[r1, c0:c1]) >= 0.7:
        r1 += 1
    return r0, r1, c0, c1


def _leaf_like(depths: np.ndarray, max_spread_m: float = 0.012) -> bool:
    """Whether the recessed cells of a rectangle lie on one plane parallel to the wall (a door
    leaf, a window's glass) rather than at drifting depths (a bent or doubled wall surface)."""
    d = depths[~np.isnan(depths)]
    if len(d) < 10:
        return False
    q1, q3 = np.percentile(d, [25, 75])
    return bool(q3 - q1 <= max_spread_m)


def _framed(state: np.ndarray, r0: int, r1: int, c0: int, c1: int, kind: str) -> bool:
    """Whether the wall shows (or furniture hides it) on both sides of the rectangle, and below
    a window."""

    def wall_share(block):
        return np.isin(block, (WALL, HIDDEN)).mean() if block.size else 0.0

    sides = wall_share(state[r0:r1, max(c0 - 2, 0):c0]) > 0.3 and wall_share(state[r0:r1, c1:c1 + 2]) > 0.3
    below = kind != "window" or wall_share(state[max(r0 - 2, 0):r0, c0:c1]) > 0.3 or r0 == 0
    return bool(sides and below)


def _from_colour(k: int, wall: Wall, state: np.ndarray, colours: np.ndarray, reference: np.ndarray, taken: np.ndarray,
                 seen_top: float, cfg: OpeningSettings) -> list[Opening]:
    """Flush doors: door-sized rectangles from the floor whose colour differs from the room's walls."""
    import cv2

    c = cfg.cell_m
    valid = (state == WALL) & ~np.isnan(colours[..., 0])
    delta = np.linalg.norm(np.nan_to_num(colours - reference, nan=0.0), axis=2)
    odd = valid & (delta > cfg.colour_delta) & ~taken
    odd = cv2.morphologyEx(odd.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    out = []
    for r0, r1, c0, c1, comp in _rectangles(odd):
        fill = comp[r0:r1, c0:c1].mean()
        inside = colours[r0:r1, c0:c1][comp[r0:r1, c0:c1]]
        spread = np.nanstd(inside, axis=0)  # lighting varies the lightness more than the hue
        if fill < 0.8 or spread[0] > 25 or spread[1:].max() > 8:
            continue
        t0, t1 = wall.face.t0 + c0 * c, wall.face.t0 + c1 * c
        kind = _classify("colour", t1 - t0, r0 * c, min(r1 * c, seen_top), seen_top, 0.0, False, cfg)
        if kind is not None:
            out.append(Opening("door", k, t0, t1, 0.0, min(r1 * c, seen_top), False, float(fill)))
    return out
