"""Seeded room generator: walls with doors, windows and doorways, floors, ceiling and furniture.

:func:`generate_world` turns a preset name and a seed into a :class:`~sensors.sim.world.SimWorld`
whose triangle parts and :class:`~sensors.room.RoomDescription` describe the same geometry
(world frame z up, metres, floor at z = 0). All randomness comes from
``np.random.default_rng(seed)``, so one seed always gives the same world.

Presets (sizes are interior, between the inner wall faces):

* ``studio``: rectangle 5.0-6.0 x 4.0-4.8 m: bed, sofa, television, storage, a kitchenette run
  (refrigerator, sink, stove, oven), a table with two chairs.
* ``kitchen``: L-shaped, bounding box 4.6-6.0 x 4.0-5.0 m with a 35-45 % notch: a counter run
  (sink, dishwasher, stove, oven), refrigerator, storage, washerDryer, a table with 2-4 chairs.
* ``bedroom``: rectangle 4.4-5.2 x 3.8-4.5 m: bed, storage, television, fireplace, a desk
  (table) with a chair.
* ``apartment``: a living room 4.6-5.6 m wide (sofa, fireplace, stairs, television, table and
  chairs) and a bathroom 2.3-2.8 m wide (bathtub, toilet, sink, washerDryer), both 3.9-4.6 m
  deep, joined by an open doorway in the partition wall.

Overrides: ``width_m`` (x extent of the main room; of the L's bounding box in ``kitchen``),
``length_m`` (y extent), ``ceiling_m`` (2.2 m or more). Ceilings are drawn from 2.4-3.2 m, wall
thickness from 0.10-0.15 m.

Placement: wall furniture stands 2 cm off a wall with its back (local +y) to it; tables and
chairs stand free (a desk in the bedroom goes against a wall). Footprints keep 5 cm apart, stay
inside their room, keep 1 m in front of doors and doorways clear, stay lower than the sill in
the 0.5 m in front of a window, and keep out of a disc of radius :data:`WALK_RADIUS_M` around
each room's centre (its point farthest from the walls), so the scanner has a free patch at
least 0.8 m wide there. A room that cannot take its furniture raises :class:`ConfigError`.

Conventions of the description: a wall's box is its slab (width = length of its inner face,
depth = thickness, height = ceiling), local y pointing into its room. Doors, windows and openings
are depth-0 boxes on their wall's mid-plane with the wall's orientation and ``parent`` = the wall.
A floor's box spans its outline's bounding rectangle at z = 0 (depth 0), with the outline in
``polygon_m``. Objects face their local −y (see :mod:`sensors.sim.furniture`). Wall corners are
closed by unlabelled posts; ceilings, door thresholds and the floor under a partition are
unlabelled (``element_id`` ""). An open door's leaf swings outwards, away from its room, so rays
through it (and through windows' glass, if the renderer treats it as transparent) leave the
world: nothing is modelled outside the walls.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..room import RoomDescription, RoomElement
from . import furniture
from .geometry import (
    box,
    convex_gap,
    orthogonal_polygon_mesh,
    point_segment_distances,
    points_in_polygon,
    pose,
    rect_corners,
    slab_with_holes,
    transform,
)
from .world import Part, SimWorld

PRESETS = ("studio", "kitchen", "bedroom", "apartment")
OVERRIDES = ("width_m", "length_m", "ceiling_m")
MAX_SIZE_M = 20.0
MIN_CEILING_M = 2.2
WALK_RADIUS_M = 0.55  # furniture keeps this far from each room's centre (free standing room for the scanner)
WALL_GAP_M = 0.02  # objects stand this far off the wall
OBJECT_GAP_M = 0.05  # clearance between separately placed objects
DOOR_ZONE_M = 1.0  # kept free in front of doors and doorways
WINDOW_ZONE_M = 0.5  # kept free of objects taller than the sill in front of windows
ATTEMPTS = 20  # room layouts tried
GROUP_TRIES = 4  # sizes tried per furniture group within a layout


@dataclass
class _Hole:
    kind: str  # door | window | opening
    s: float  # centre along the wall from p0, metres
    width: float
    z0: float
    z1: float
    identifier: str
    is_open: bool | None = None
    swing_rad: float = 0.0


@dataclass
class _Wall:
    p0: np.ndarray  # inner face, room on the left of p0 → p1
    p1: np.ndarray
    thickness: float
    exterior: bool
    identifier: str
    holes: list[_Hole] = field(default_factory=list)

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.p1 - self.p0))

    @property
    def u(self) -> np.ndarray:
        return (self.p1 - self.p0) / self.length

    @property
    def n(self) -> np.ndarray:  # unit normal into the room
        return np.array([-self.u[1], self.u[0]])

    def T_world_slab(self) -> np.ndarray:
        """Frame of :func:`slab_with_holes`: x along the wall from p0, y = n, z up from the floor."""
        return pose(np.arctan2(self.u[1], self.u[0]), (*(self.p0 - self.n * self.thickness / 2), 0.0))


@dataclass
class _Room:
    name: str
    poly: np.ndarray  # (K, 2) counter-clockwise, inner wall faces
    floor: str  # material
    groups: list[tuple]  # furniture: ("wall", [categories]) | ("table", n_chairs, against_wall)
    doors: int = 0
    windows: tuple[int, tuple[float, float], tuple[float, float], tuple[float, float]] = (1, (0.8, 1.6), (1.0, 1.5), (0.8, 1.0))


@dataclass
class _Plan:
    outline: np.ndarray  # exterior walls run along its edges (inner faces)
    rooms: list[_Room]
    partitions: list[tuple[int, int, float]] = field(default_factory=list)  # (room, edge, thickness): interior walls


@dataclass
class _Placed:
    category: str
    dims: tuple[float, float, float]
    xy: np.ndarray
    yaw: float
    footprint: np.ndarray = field(init=False)  # (4, 2) corners

    def __post_init__(self) -> None:
        self.footprint = rect_corners(self.xy, self.yaw, self.dims[0], self.dims[1])


def _rect(w: float, ln: float, x0: float = 0.0, y0: float = 0.0) -> np.ndarray:
    return np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + ln], [x0, y0 + ln]], float)


def _draw(rng: np.random.Generator, overrides: dict, key: str, lo: float, hi: float) -> float:
    value = float(rng.uniform(lo, hi))  # always drawn, so an override leaves the rest unchanged
    return float(overrides[key]) if key in overrides else value


def _studio(rng, o) -> _Plan:
    w, ln = _draw(rng, o, "width_m", 5.0, 6.0), _draw(rng, o, "length_m", 4.0, 4.8)
    run = ["refrigerator", "sink", "stove", "oven"]
    room = _Room("studio", _rect(w, ln), "wood", [
        ("wall", run if rng.random() < 0.5 else run[::-1]), ("wall", ["bed"]), ("wall", ["sofa"]),
        ("table", 2, False), ("wall", ["television"]), ("wall", ["storage"])], doors=1,
        windows=(int(rng.integers(1, 3)), (0.8, 1.4), (1.0, 1.5), (0.8, 1.0)))
    return _Plan(room.poly, [room])


def _kitchen(rng, o) -> _Plan:
    w, ln = _draw(rng, o, "width_m", 4.6, 6.0), _draw(rng, o, "length_m", 4.0, 5.0)
    nw, nl = w * rng.uniform(0.35, 0.45), ln * rng.uniform(0.35, 0.45)
    poly = np.array([[0, 0], [w, 0], [w, ln - nl], [w - nw, ln - nl], [w - nw, ln], [0, ln]], float)
    flip_x, flip_y = rng.random() < 0.5, rng.random() < 0.5  # which corner the notch takes
    if flip_x:
        poly[:, 0] = w - poly[:, 0]
    if flip_y:
        poly[:, 1] = ln - poly[:, 1]
    if flip_x != flip_y:  # one mirror reverses the winding
        poly = poly[::-1].copy()
    run = ["sink", "dishwasher", "stove", "oven"]
    room = _Room("kitchen", poly, "tile", [
        ("wall", run if rng.random() < 0.5 else run[::-1]), ("table", int(rng.integers(2, 5)), False),
        ("wall", ["refrigerator"]), ("wall", ["storage"]), ("wall", ["washerDryer"])], doors=1,
        windows=(2, (0.8, 1.4), (0.9, 1.2), (1.1, 1.2)))
    return _Plan(poly, [room])


def _bedroom(rng, o) -> _Plan:
    w, ln = _draw(rng, o, "width_m", 4.4, 5.2), _draw(rng, o, "length_m", 3.8, 4.5)
    floor = "carpet" if rng.random() < 0.5 else "wood"
    room = _Room("bedroom", _rect(w, ln), floor, [
        ("wall", ["bed"]), ("table", 1, True), ("wall", ["fireplace"]), ("wall", ["storage"]),
        ("wall", ["television"])], doors=1, windows=(int(rng.integers(1, 3)), (0.8, 1.6), (1.0, 1.5), (0.8, 1.0)))
    return _Plan(room.poly, [room])


def _apartment(rng, o) -> _Plan:
    w, ln = _draw(rng, o, "width_m", 4.6, 5.6), _draw(rng, o, "length_m", 3.9, 4.6)
    wb, t = float(rng.uniform(2.3, 2.8)), float(rng.uniform(0.1, 0.15))
    living = _Room("living room", _rect(w, ln), "wood", [
        ("wall", ["sofa"]), ("wall", ["stairs"]), ("wall", ["fireplace"]), ("table", 2, False),
        ("wall", ["television"])], doors=1, windows=(1, (0.8, 1.6), (1.0, 1.5), (0.8, 1.0)))
    bath = _Room("bathroom", _rect(wb, ln, w + t), "tile", [
        ("wall", ["bathtub"]), ("wall", ["sink"]), ("wall", ["toilet"]), ("wall", ["washerDryer"])],
        windows=(1, (0.5, 0.8), (0.5, 0.7), (1.3, 1.5)))
    return _Plan(_rect(w + t + wb, ln), [living, bath], partitions=[(0, 1, t)])


_PRESETS: dict[str, Callable[[np.random.Generator, dict], _Plan]] = {
    "studio": _studio, "kitchen": _kitchen, "bedroom": _bedroom, "apartment": _apartment,
}


def _check_config(preset: str, seed, overrides: dict) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"the simulator seed must be a non-negative integer, got {seed!r}")
    if preset not in _PRESETS:
        raise ConfigError(f"unknown simulator preset '{preset}'; choose one of: {', '.join(PRESETS)}")
    for key, value in overrides.items():
        if key not in OVERRIDES:
            raise ConfigError(f"unknown room override '{key}'; allowed: {', '.join(OVERRIDES)}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number of metres, got {value!r}") from None
        if not np.isfinite(v) or v <= 0:
            raise ConfigError(f"{key} must be a positive number of metres, got {value!r}")
        if v > MAX_SIZE_M:
            raise ConfigError(f"{key}={v:g} m is larger than the simulator's limit of {MAX_SIZE_M:g} m")
    if "ceiling_m" in overrides and float(overrides["ceiling_m"]) < MIN_CEILING_M:
        raise ConfigError(f"ceiling_m={float(overrides['ceiling_m']):g} m is too low: doors and furniture "
                          f"need at least {MIN_CEILING_M:g} m")


def generate_world(preset: str, seed: int, **overrides) -> SimWorld:
    """Build the room or apartment ``preset`` (one of :data:`PRESETS`) for ``seed``.

    ``overrides`` may force ``width_m``, ``length_m`` (interior size of the main room, metres) and
    ``ceiling_m``. Raises :class:`~sensors.errors.ConfigError` for an unknown preset or override,
    a non-positive size, a bad seed, or a room too small for its furniture.
    """
    _check_config(preset, seed, overrides)
    rng = np.random.default_rng(seed)
    id_rng = rng.spawn(1)[0]

    def new_id() -> str:
        return str(uuid.UUID(bytes=bytes(id_rng.bytes(16)), version=4))

    room_id = new_id()
    height = _draw(rng, overrides, "ceiling_m", 2.4, 3.2)
    thickness = float(rng.uniform(0.1, 0.15))
    plan = _PRESETS[preset](rng, overrides)
    outline = plan.outline
    walls = [_Wall(a, b, thickness, True, new_id()) for a, b in zip(outline, np.roll(outline, -1, axis=0))]
    for r, e, t in plan.partitions:
        poly = plan.rooms[r].poly
        walls.append(_Wall(poly[e], poly[(e + 1) % len(poly)], t, False, new_id()))
    _cut_holes(plan, walls, height, rng, new_id)
    zones = _keep_out_zones(walls)
    placed = [_place_room(preset, room, zones, rng) for room in plan.rooms]

    parts: list[Part] = []
    elements: list[RoomElement] = []
    for w in walls:
        _wall_geometry(w, height, rng, parts, elements)
    parts += _corner_posts(outline, thickness, height)
    for room in plan.rooms:
        fid = new_id()
        lo, hi = room.poly.min(0), room.poly.max(0)
        centre = (lo + hi) / 2
        elements.append(RoomElement(fid, "floor", (*(hi - lo), 0.0), pose(0.0, (*centre, 0.0)),
                                    polygon_m=tuple(tuple(map(float, p - centre)) for p in room.poly)))
        parts.append(Part(*orthogonal_polygon_mesh(room.poly, 0.0, True), room.floor, _floor_tint(room.floor, rng), fid))
    for w in walls[len(outline):]:  # floor strip under each partition (seen through its doorway)
        strip = np.array([w.p0, w.p1, w.p1 - w.n * w.thickness, w.p0 - w.n * w.thickness])
        parts.append(Part(*orthogonal_polygon_mesh(strip, 0.0, True), plan.rooms[0].floor, (0.8, 0.8, 0.8)))
    parts.append(Part(*orthogonal_polygon_mesh(outline, height, False), "plaster", (0.97, 0.97, 0.96)))
    for objects in placed:
        for obj in objects:
            oid = new_id()
            T = pose(obj.yaw, (*obj.xy, obj.dims[2] / 2))
            elements.append(RoomElement(oid, obj.category, obj.dims, T))
            parts += furniture.build(obj.category, obj.dims, rng, T, oid)
    doorways = [w.T_world_slab()[:2, :2] @ [h.s, 0.0] + w.T_world_slab()[:2, 3]
                for w in walls for h in w.holes if h.kind == "opening"]
    order = ("wall", "door", "window", "opening", "floor")  # the JSON's section order
    elements.sort(key=lambda e: order.index(e.category) if e.category in order else len(order))
    return SimWorld(parts, RoomDescription(elements, room_id), [r.poly.copy() for r in plan.rooms], height,
                    preset=preset, seed=seed, doorways=doorways)


# --- doors, windows, openings -------------------------------------------------------------------


def _free_s(wall: _Wall, lo: float, hi: float, width: float, rng: np.random.Generator) -> float | None:
    """A random centre in [lo, hi] along ``wall`` for a hole of ``width`` clear of its other holes."""
    lo, hi = lo + width / 2, hi - width / 2
    for _ in range(30):
        if hi < lo:
            return None
        s = float(rng.uniform(lo, hi))
        if all(abs(s - h.s) >= (width + h.width) / 2 + 0.3 for h in wall.holes):
            return s
    return None


def _room_walls(room: _Room, walls: list[_Wall]) -> list[tuple[_Wall, float, float]]:
    """Exterior walls along ``room``'s edges, each with the stretch [s0, s1] the room sees."""
    out = []
    for a, b in zip(room.poly, np.roll(room.poly, -1, axis=0)):
        for w in walls:
            if not w.exterior:
                continue
            da, db = a - w.p0, b - w.p0
            if abs(w.u[0] * da[1] - w.u[1] * da[0]) < 1e-6 and abs(w.u[0] * db[1] - w.u[1] * db[0]) < 1e-6 \
                    and (b - a) @ w.u > 0:
                out.append((w, float(da @ w.u), float(db @ w.u)))
    return out


def _cut_holes(plan: _Plan, walls: list[_Wall], height: float, rng: np.random.Generator, new_id) -> None:
    margin = 0.25  # from wall ends
    for room in plan.rooms:
        stretches = _room_walls(room, walls)
        for _ in range(room.doors):
            width, top = float(rng.uniform(0.8, 0.95)), min(float(rng.uniform(2.0, 2.1)), height - 0.1)
            is_open = bool(rng.random() < 0.5)
            swing = float(rng.uniform(np.radians(25), np.radians(70))) if is_open else 0.0
            for k in rng.permutation(len(stretches)):
                w, s0, s1 = stretches[k]
                s = _free_s(w, s0 + margin, s1 - margin, width, rng)
                if s is not None:
                    w.holes.append(_Hole("door", s, width, 0.0, top, new_id(), is_open, swing))
                    break
        count, wr, hr, sill_r = room.windows
        for _ in range(count):
            width, sill = float(rng.uniform(*wr)), float(rng.uniform(*sill_r))
            top = min(sill + float(rng.uniform(*hr)), height - 0.15)
            for k in rng.permutation(len(stretches)):
                w, s0, s1 = stretches[k]
                s = _free_s(w, s0 + margin, s1 - margin, width, rng)
                if s is not None and top - sill > 0.3:
                    w.holes.append(_Hole("window", s, width, sill, top, new_id()))
                    break
    for w in walls:
        if not w.exterior:
            width, top = float(rng.uniform(0.9, 1.2)), min(float(rng.uniform(2.0, 2.2)), height - 0.1)
            s = _free_s(w, margin, w.length - margin, width, rng)
            if s is not None:
                w.holes.append(_Hole("opening", s, width, 0.0, top, new_id()))


def _keep_out_zones(walls: list[_Wall]) -> list[tuple[np.ndarray, float]]:
    """(footprint, max object height allowed) in front of every hole, on both sides of its wall."""
    zones = []
    for w in walls:
        for h in w.holes:
            mid = w.p0 + w.u * h.s - w.n * w.thickness / 2
            depth = WINDOW_ZONE_M if h.kind == "window" else DOOR_ZONE_M
            limit = h.z0 if h.kind == "window" else 0.0
            for side in (1, -1):
                c = mid + side * w.n * (w.thickness / 2 + depth / 2)
                zones.append((rect_corners(c, np.arctan2(w.u[1], w.u[0]), h.width + 0.3, depth), limit))
    return zones


# --- furniture placement ------------------------------------------------------------------------


def _yaw_facing(direction: np.ndarray) -> float:
    """Yaw that turns an object's front (local −y) towards ``direction`` (xy)."""
    return float(np.arctan2(direction[0], -direction[1]))


def _walk_centre(poly: np.ndarray) -> np.ndarray:
    """The point of the floor farthest from the walls (nearest the centroid among near-ties)."""
    lo, hi = poly.min(0), poly.max(0)
    gx, gy = np.meshgrid(np.arange(lo[0] + 0.025, hi[0], 0.05), np.arange(lo[1] + 0.025, hi[1], 0.05))
    pts = np.vstack([np.stack([gx.ravel(), gy.ravel()], 1), (lo + hi) / 2])
    pts = pts[points_in_polygon(pts, poly)]
    clear = point_segment_distances(pts, poly, np.roll(poly, -1, axis=0)).min(1)
    near = clear >= clear.max() - 0.05
    centroid = pts.mean(0)
    cand = pts[near]
    return cand[np.argmin(np.linalg.norm(cand - centroid, axis=1))]


def _group(spec: tuple, rng: np.random.Generator) -> tuple[list[tuple[str, tuple, np.ndarray, float]], bool]:
    """Members (category, dims, xy, yaw) in the group frame and whether the group goes against a
    wall. Wall groups have their back on the line y = 0 and extend to −y (their front)."""
    if spec[0] == "wall":
        counter = float(rng.uniform(0.86, 0.9))
        dims = [furniture.sample_dims(c, rng, counter) for c in spec[1]]
        total = sum(d[0] for d in dims) + 0.02 * (len(dims) - 1)
        members, x = [], -total / 2
        for c, d in zip(spec[1], dims):
            members.append((c, d, np.array([x + d[0] / 2, -d[1] / 2]), 0.0))
            x += d[0] + 0.02
        return members, True
    _, n_chairs, against_wall = spec
    table = furniture.sample_dims("table", rng)
    tw, td, _ = table
    chair = furniture.sample_dims("chair", rng)
    cw, cd, _ = chair
    off_y, off_x = td / 2 + 0.06 + cd / 2, tw / 2 + 0.06 + cd / 2
    if against_wall:  # a desk: back to the wall, the chair in front
        return [("table", table, np.array([0.0, -td / 2]), 0.0),
                ("chair", chair, np.array([0.0, -td - 0.06 - cd / 2]), np.pi)], True
    seats = [(0.0, -off_y, np.pi), (0.0, off_y, 0.0), (-off_x, 0.0, np.pi / 2), (off_x, 0.0, -np.pi / 2)]
    if n_chairs >= 3 and tw >= 2 * cw + 0.15:  # two a side along a long table
        seats = [(-tw / 4, -off_y, np.pi), (tw / 4, -off_y, np.pi), (-tw / 4, off_y, 0.0), (tw / 4, off_y, 0.0)]
    members = [("table", table, np.zeros(2), 0.0)]
    members += [("chair", chair, np.array([x, y]), yaw) for x, y, yaw in seats[:n_chairs]]
    return members, False


def _near(a: np.ndarray, b: np.ndarray, gap: float) -> bool:
    """Whether the bounding boxes of two outlines come closer than ``gap`` (a cheap pre-test)."""
    return bool(np.all(a.min(0) - gap < b.max(0)) and np.all(b.min(0) - gap < a.max(0)))


def _fits(members: list[_Placed], room: _Room, centre: np.ndarray, placed: list[_Placed],
          zones: list[tuple[np.ndarray, float]]) -> bool:
    edge_ends = np.roll(room.poly, -1, axis=0)
    for m in members:
        fp = m.footprint
        if convex_gap(fp, centre[None]) < WALK_RADIUS_M:
            return False
        if not points_in_polygon(fp, room.poly).all() or points_in_polygon(room.poly, fp).any():
            return False  # a corner outside, or an inner corner of an L-shaped room inside the footprint
        if point_segment_distances(fp, room.poly, edge_ends).min() < WALL_GAP_M / 2:
            return False
        if any(m.dims[2] > limit and _near(fp, zone, 0.0) and convex_gap(fp, zone) == 0.0 for zone, limit in zones):
            return False
        if any(_near(fp, p.footprint, OBJECT_GAP_M) and convex_gap(fp, p.footprint) < OBJECT_GAP_M for p in placed):
            return False
    return True


def _pose_members(members, origin: np.ndarray, yaw: float) -> list[_Placed]:
    R = pose(yaw, (0, 0, 0))[:2, :2]
    return [_Placed(c, d, origin + R @ xy, float(np.angle(np.exp(1j * (yaw + y))))) for c, d, xy, y in members]


def _try_group(members, against_wall: bool, room: _Room, centre, placed, zones, rng) -> list[_Placed] | None:
    if against_wall:
        x_lo = min(xy[0] - d[0] / 2 for _, d, xy, _ in members)
        x_hi = max(xy[0] + d[0] / 2 for _, d, xy, _ in members)
        cands = []
        for a, b in zip(room.poly, np.roll(room.poly, -1, axis=0)):
            length = float(np.linalg.norm(b - a))
            u = (b - a) / length
            n = np.array([-u[1], u[0]])
            lo, hi = x_hi + WALL_GAP_M, length - WALL_GAP_M + x_lo  # group local x runs along −u
            if hi >= lo:
                for s in np.unique(np.r_[lo, hi, np.arange(lo, hi, 0.1)]):
                    cands.append((a + u * s + n * WALL_GAP_M, _yaw_facing(n)))
        order = rng.permutation(len(cands))
        cands = [cands[i] for i in order]
    else:
        lo, hi = room.poly.min(0), room.poly.max(0)
        cands = [(rng.uniform(lo, hi), float(rng.integers(4) * np.pi / 2 + rng.uniform(-0.35, 0.35)))
                 for _ in range(250)]
    for origin, yaw in cands:
        posed = _pose_members(members, np.asarray(origin, float), yaw)
        if _fits(posed, room, centre, placed, zones):
            return posed
    return None


def _describe(members) -> str:
    return " + ".join(f"{c} {d[0]:.2f} x {d[1]:.2f} m" for c, d, _, _ in members)


def _place_room(preset: str, room: _Room, zones, rng: np.random.Generator) -> list[_Placed]:
    centre = _walk_centre(room.poly)
    failures: Counter = Counter()  # how often each group failed, and its last sizes
    last: dict[str, str] = {}
    for _ in range(ATTEMPTS):
        placed: list[_Placed] = []
        for spec in room.groups:
            for _ in range(GROUP_TRIES):  # fresh sizes for this group before starting the room again
                members, against_wall = _group(spec, rng)
                got = _try_group(members, against_wall, room, centre, placed, zones, rng)
                if got is not None:
                    break
                key = " + ".join(c for c, _, _, _ in members)
                failures[key] += 1
                last[key] = _describe(members) + (" against a wall" if against_wall else "")
            if got is None:
                break
            placed += got
        else:
            return placed
    lo, hi = room.poly.min(0), room.poly.max(0)
    what = last[failures.most_common(1)[0][0]]
    raise ConfigError(
        f"{preset}: the {room.name} ({hi[0] - lo[0]:.2f} x {hi[1] - lo[1]:.2f} m) is too small for its furniture: "
        f"could not place {what} with {WALK_RADIUS_M:.2f} m free around the room centre and doors clear "
        f"({ATTEMPTS} layouts tried)")


# --- meshes and elements ------------------------------------------------------------------------


def _floor_tint(material: str, rng: np.random.Generator) -> tuple[float, float, float]:
    options = {"wood": furniture.WOOD, "tile": ((0.9, 0.9, 0.88), (0.75, 0.78, 0.8), (0.82, 0.74, 0.66)),
               "carpet": ((0.55, 0.5, 0.45), (0.4, 0.45, 0.5), (0.7, 0.66, 0.6))}[material]
    return tuple(options[int(rng.integers(len(options)))])


def _wall_geometry(w: _Wall, height: float, rng, parts: list[Part], elements: list[RoomElement]) -> None:
    T_slab = w.T_world_slab()
    L, t = w.length, w.thickness
    T_wall = T_slab @ pose(0.0, (L / 2, 0.0, height / 2))
    elements.append(RoomElement(w.identifier, "wall", (L, t, height), T_wall))
    slab = slab_with_holes(L, t, height, [(h.s - h.width / 2, h.s + h.width / 2, h.z0, h.z1) for h in w.holes])
    tint = (0.93, 0.92, 0.88) if rng.random() < 0.7 else (0.85, 0.88, 0.9)
    parts.append(Part(*transform(slab, T_slab), "plaster", tint, w.identifier))
    for h in w.holes:
        T_hole = T_slab @ pose(0.0, (h.s, 0.0, (h.z0 + h.z1) / 2))
        elements.append(RoomElement(h.identifier, h.kind, (h.width, 0.0, h.z1 - h.z0), T_hole,
                                    parent=w.identifier, is_open=h.is_open))
        x0, x1 = h.s - h.width / 2, h.s + h.width / 2
        if h.kind == "door":
            # leaf hinged at x0 on the outer face; an open door swings outwards (away from the room)
            T_leaf = T_slab @ pose(-h.swing_rad, (x0, -t / 2 + 0.02, 0.0)) if h.is_open else T_slab @ pose(0.0, (x0, 0.0, 0.0))
            wood = furniture.WOOD[int(rng.integers(len(furniture.WOOD)))]
            leaf = box((0.005, -0.02, 0.0), (h.width - 0.005, 0.02, h.z1 - 0.005))
            handle = box((h.width - 0.12, -0.045, 0.98), (h.width - 0.06, 0.045, 1.02))
            parts.append(Part(*transform(leaf, T_leaf), "wood", wood, h.identifier))
            parts.append(Part(*transform(handle, T_leaf), "metal", furniture.STEEL, h.identifier))
            threshold = box((x0, -t / 2, -0.02), (x1, t / 2, 0.0))  # floor across the wall's thickness
            parts.append(Part(*transform(threshold, T_slab), "wood", wood))
        elif h.kind == "window":
            f, y = 0.05, min(0.03, t / 2)
            parts.append(Part(*transform(box((x0, -0.004, h.z0), (x1, 0.004, h.z1)), T_slab), "glass", (0.75, 0.85, 0.9), h.identifier))
            bars = [box((x0, -y, h.z0), (x0 + f, y, h.z1)), box((x1 - f, -y, h.z0), (x1, y, h.z1)),
                    box((x0 + f, -y, h.z0), (x1 - f, y, h.z0 + f)), box((x0 + f, -y, h.z1 - f), (x1 - f, y, h.z1))]
            if h.width > 1.0:
                bars.append(box((h.s - f / 2, -y, h.z0 + f), (h.s + f / 2, y, h.z1 - f)))
            for bar in bars:
                parts.append(Part(*transform(bar, T_slab), "wood", (0.95, 0.95, 0.95), h.identifier))


def _corner_posts(outline: np.ndarray, t: float, height: float) -> list[Part]:
    """Fill the t x t square outside every convex corner of the outline (walls stop at inner corners)."""
    posts = []
    k = len(outline)
    for i in range(k):
        a, p, b = outline[i - 1], outline[i], outline[(i + 1) % k]
        u1, u2 = (p - a) / np.linalg.norm(p - a), (b - p) / np.linalg.norm(b - p)
        if u1[0] * u2[1] - u1[1] * u2[0] > 0:  # left turn on a counter-clockwise outline: convex
            out1, out2 = np.array([u1[1], -u1[0]]), np.array([u2[1], -u2[0]])
            corners = np.array([p, p + out1 * t, p + out2 * t, p + (out1 + out2) * t])
            posts.append(Part(*box((*corners.min(0), 0.0), (*corners.max(0), height)), "plaster", (0.93, 0.92, 0.88)))
    return posts
