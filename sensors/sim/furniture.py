"""Parametric furniture for the 16 RoomPlan object categories, built from boxes and cylinders.

Every builder works in the object's box frame *before centring*: x ∈ [−w/2, w/2] (width),
y ∈ [−d/2, d/2] (depth, the **front is −y**, the back +y goes against a wall), z ∈ [0, h] up from
the floor. So a placed object's :class:`~sensors.room.RoomElement` box is exactly the builder's
(w, d, h) box, and in RoomPlan's y-up frame the object faces its local +z.

Real-world size ranges, metres (width x depth x height), drawn uniformly:

============  ===========  ===========  ===========  ==============================================
category      width        depth        height       shape / notes
============  ===========  ===========  ===========  ==============================================
bathtub       1.50-1.80    0.70-0.80    0.50-0.60    hollow tub: floor and four rims
bed           1.40-1.80    2.00-2.15    0.90-1.10    frame, mattress (top 0.50-0.58), duvet,
                                                     pillows, headboard (the height)
chair         0.45-0.65    0.50-0.65    0.82-1.00    seat at ~0.46, 4 legs, backrest
dishwasher    0.59-0.60    0.57-0.62    0.82-0.90    box, control strip, handle
fireplace     1.20-1.60    0.35-0.50    1.05-1.30    surround, firebox recess with logs, mantel
oven          0.59-0.60    0.57-0.62    0.82-0.90    box, door with window, handle
refrigerator  0.60-0.75    0.62-0.75    1.70-1.95    tall box, two doors (freezer below), handles
sink          0.55-0.90    0.45-0.60    1.02-1.12    cabinet, counter with basin (0.82-0.90), tap
sofa          1.60-2.20    0.85-0.95    0.75-0.90    base, back, arms, seat and back cushions
stairs        1.04-2.10    0.80-1.00    0.68-1.33    4-7 steps (rise 0.17-0.19, tread 0.26-0.30)
                                                     climbing along +x; width is the run
storage       0.60-1.20    0.35-0.50    0.80-1.90    cabinet with doors or open shelves
stove         0.59-0.76    0.57-0.62    0.82-0.90    box, 4 burner discs, knobs, handle
table         0.80-1.60    0.70-0.90    0.72-0.76    top and 4 legs
television    0.90-1.45    0.30-0.40    0.90-1.45    16:9 panel on a floor stand
toilet        0.36-0.42    0.62-0.72    0.74-0.82    pedestal, bowl, seat, tank
washerDryer   0.59-0.60    0.55-0.62    0.82-0.90    box, round door with glass, control strip
============  ===========  ===========  ===========  ==============================================

Counter-height appliances in one kitchen run share one height (see :func:`sample_dims`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..room import OBJECT_CATEGORIES
from .geometry import Mesh, box, cylinder, plate_with_holes, transform
from .world import Part

Range = tuple[float, float]
SIZE_RANGES: dict[str, tuple[Range, Range, Range]] = {
    "bathtub": ((1.50, 1.80), (0.70, 0.80), (0.50, 0.60)),
    "bed": ((1.40, 1.80), (2.00, 2.15), (0.90, 1.10)),
    "chair": ((0.45, 0.65), (0.50, 0.65), (0.82, 1.00)),
    "dishwasher": ((0.59, 0.60), (0.57, 0.62), (0.82, 0.90)),
    "fireplace": ((1.20, 1.60), (0.35, 0.50), (1.05, 1.30)),
    "oven": ((0.59, 0.60), (0.57, 0.62), (0.82, 0.90)),
    "refrigerator": ((0.60, 0.75), (0.62, 0.75), (1.70, 1.95)),
    "sink": ((0.55, 0.90), (0.45, 0.60), (1.02, 1.12)),
    "sofa": ((1.60, 2.20), (0.85, 0.95), (0.75, 0.90)),
    "stairs": ((1.04, 2.10), (0.80, 1.00), (0.68, 1.33)),
    "storage": ((0.60, 1.20), (0.35, 0.50), (0.80, 1.90)),
    "stove": ((0.59, 0.76), (0.57, 0.62), (0.82, 0.90)),
    "table": ((0.80, 1.60), (0.70, 0.90), (0.72, 0.76)),
    "television": ((0.90, 1.45), (0.30, 0.40), (0.90, 1.45)),
    "toilet": ((0.36, 0.42), (0.62, 0.72), (0.74, 0.82)),
    "washerDryer": ((0.59, 0.60), (0.55, 0.62), (0.82, 0.90)),
}
COUNTER_CATEGORIES = ("dishwasher", "oven", "stove", "washerDryer")
TAP_HEIGHT_M = 0.2  # a sink's box reaches this far above its counter

WOOD = ((0.62, 0.43, 0.26), (0.76, 0.58, 0.40), (0.42, 0.28, 0.18), (0.86, 0.74, 0.58))
FABRIC = ((0.33, 0.40, 0.56), (0.62, 0.26, 0.21), (0.52, 0.52, 0.50), (0.26, 0.46, 0.36), (0.80, 0.74, 0.62))
LINEN = ((0.93, 0.93, 0.90), (0.85, 0.88, 0.93))
STEEL, WHITE, BLACK = (0.78, 0.78, 0.80), (0.93, 0.93, 0.91), (0.10, 0.10, 0.11)
CERAMIC = (0.95, 0.95, 0.93)


def sample_dims(category: str, rng: np.random.Generator, counter_m: float | None = None) -> tuple[float, float, float]:
    """Draw (width, depth, height) in metres from :data:`SIZE_RANGES`. ``counter_m`` fixes the
    counter height of counter appliances and sinks (their tap rises above it)."""
    w, d, h = (float(rng.uniform(*r)) for r in SIZE_RANGES[category])
    if category == "stairs":  # whole steps of a plausible rise and tread
        n = int(rng.integers(4, 8))
        w, h = n * float(rng.uniform(0.26, 0.30)), n * float(rng.uniform(0.17, 0.19))
    elif category == "television":  # 16:9 panel on a stand
        h = min(0.5625 * w + 0.05 + float(rng.uniform(0.35, 0.6)), SIZE_RANGES[category][2][1])
    elif counter_m is not None and category in COUNTER_CATEGORIES:
        h = counter_m
    elif counter_m is not None and category == "sink":
        h = counter_m + TAP_HEIGHT_M
    return w, d, h


def _b(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> Mesh:
    return box((x0, y0, z0), (x1, y1, z1))


def _pick(rng: np.random.Generator, options) -> tuple[float, float, float]:
    return tuple(options[int(rng.integers(len(options)))])


def _legs(w: float, d: float, top: float, size: float, inset: float = 0.0) -> list[Mesh]:
    xs, ys = w / 2 - inset, d / 2 - inset
    return [_b(sx * xs - (size if sx > 0 else 0), sx * xs + (size if sx < 0 else 0),
               sy * ys - (size if sy > 0 else 0), sy * ys + (size if sy < 0 else 0), 0, top)
            for sx in (-1, 1) for sy in (-1, 1)]


def _disc_front(x: float, y_front: float, z: float, r: float, depth: float) -> Mesh:
    """A disc of radius ``r`` facing −y whose front face is at ``y_front``, centred at (x, z)."""
    Rx = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # +z → −y
    v, f = transform(cylinder((0, 0, 0), r, depth), Rx)
    return v + np.array([x, y_front + depth, z]), f


def _chair(w, d, h, rng):
    wood, seat = _pick(rng, WOOD), min(0.47, 0.52 * h)
    legs = _legs(w, d, seat - 0.04, 0.04)
    back_legs = [_b(sx * w / 2 - (0.04 if sx > 0 else 0), sx * w / 2 + (0.04 if sx < 0 else 0), d / 2 - 0.04, d / 2, 0, h)
                 for sx in (-1, 1)]
    parts = [(m, "wood", wood) for m in [*legs[::2], *back_legs]]  # front legs are legs[0], legs[2]
    parts += [(_b(-w / 2, w / 2, -d / 2, d / 2, seat - 0.04, seat), "wood", wood),
              (_b(-w / 2 + 0.04, w / 2 - 0.04, d / 2 - 0.03, d / 2, seat + 0.15, h - 0.02), "wood", wood)]
    if rng.random() < 0.5:
        parts.append((_b(-w / 2 + 0.02, w / 2 - 0.02, -d / 2 + 0.02, d / 2 - 0.05, seat, seat + 0.04), "fabric", _pick(rng, FABRIC)))
    return parts


def _table(w, d, h, rng):
    wood = _pick(rng, WOOD)
    return [(_b(-w / 2, w / 2, -d / 2, d / 2, h - 0.04, h), "wood", wood),
            *((m, "wood", wood) for m in _legs(w, d, h - 0.04, 0.06, 0.04))]


def _bed(w, d, h, rng):
    wood, top = _pick(rng, WOOD), min(0.3 + float(rng.uniform(0.2, 0.28)), h - 0.2)
    linen = _pick(rng, LINEN)
    parts = [(_b(-w / 2, w / 2, d / 2 - 0.06, d / 2, 0, h), "wood", wood),
             (_b(-w / 2, w / 2, -d / 2, d / 2 - 0.06, 0, 0.3), "wood", wood),
             (_b(-w / 2 + 0.03, w / 2 - 0.03, -d / 2 + 0.03, d / 2 - 0.08, 0.3, top), "fabric", linen),
             (_b(-w / 2 + 0.01, w / 2 - 0.01, -d / 2 + 0.01, d / 2 - 0.65, top - 0.15, top + 0.04), "fabric", _pick(rng, FABRIC))]
    n = 2 if w >= 1.2 else 1
    pw = (w - 0.1) / n - 0.06
    for k in range(n):
        cx = -w / 2 + 0.05 + (k + 0.5) * (w - 0.1) / n
        parts.append((_b(cx - pw / 2, cx + pw / 2, d / 2 - 0.5, d / 2 - 0.12, top, top + 0.12), "fabric", linen))
    return parts


def _sofa(w, d, h, rng):
    mat = "leather" if rng.random() < 0.25 else "fabric"
    tint, arm, back, seat = _pick(rng, FABRIC), 0.18, 0.2, 0.4
    parts = [(_b(-w / 2, -w / 2 + arm, -d / 2, d / 2, 0, 0.62), mat, tint),
             (_b(w / 2 - arm, w / 2, -d / 2, d / 2, 0, 0.62), mat, tint),
             (_b(-w / 2 + arm, w / 2 - arm, d / 2 - back, d / 2, 0, h), mat, tint),
             (_b(-w / 2 + arm, w / 2 - arm, -d / 2, d / 2 - back, 0, seat - 0.1), mat, tint)]
    n = 3 if w > 1.9 else 2
    cw = (w - 2 * arm) / n
    for k in range(n):
        x0 = -w / 2 + arm + k * cw
        parts.append((_b(x0 + 0.005, x0 + cw - 0.005, -d / 2, d / 2 - back, seat - 0.1, seat), mat, tint))
        parts.append((_b(x0 + 0.005, x0 + cw - 0.005, d / 2 - back - 0.15, d / 2 - back, seat, h - 0.06), mat, tint))
    return parts


def _toilet(w, d, h, rng):
    tank = 0.18
    ry = (d - tank) / 2
    yb = -d / 2 + ry
    return [(cylinder((0, yb + 0.03, 0), (0.11, 0.15), 0.3), "ceramic", CERAMIC),
            (cylinder((0, yb, 0.28), (w / 2, ry), 0.12), "ceramic", CERAMIC),
            (cylinder((0, yb, 0.40), (w / 2, ry), 0.025), "ceramic", _pick(rng, (CERAMIC, WHITE, WOOD[1]))),
            (_b(-w / 2, w / 2, d / 2 - tank, d / 2, 0.36, h), "ceramic", CERAMIC),
            (_b(-0.04, 0.04, d / 2 - tank, d / 2, 0.0, 0.36), "ceramic", CERAMIC)]


def _bathtub(w, d, h, rng):
    t = 0.07
    return [(m, "ceramic", CERAMIC) for m in (
        _b(-w / 2, w / 2, -d / 2, -d / 2 + t, 0, h), _b(-w / 2, w / 2, d / 2 - t, d / 2, 0, h),
        _b(-w / 2, -w / 2 + t, -d / 2 + t, d / 2 - t, 0, h), _b(w / 2 - t, w / 2, -d / 2 + t, d / 2 - t, 0, h),
        _b(-w / 2 + t, w / 2 - t, -d / 2 + t, d / 2 - t, 0, 0.12))]


def _sink(w, d, h, rng):
    counter = h - TAP_HEIGHT_M
    top_mat = "metal" if rng.random() < 0.5 else "ceramic"
    top_tint = STEEL if top_mat == "metal" else CERAMIC
    bw, bd = min(w - 0.16, 0.55), d - 0.22
    by = -d / 2 + 0.08 + bd / 2
    tap_y = d / 2 - 0.07
    return [(_b(-w / 2, w / 2, -d / 2 + 0.02, d / 2, 0, counter - 0.16), "wood", _pick(rng, WOOD)),
            (plate_with_holes((-w / 2, -d / 2, counter - 0.16), (w / 2, d / 2, counter),
                              [(-bw / 2, bw / 2, by - bd / 2, by + bd / 2)]), top_mat, top_tint),
            (cylinder((0, tap_y, counter), 0.015, h - 0.03 - counter, 10), "metal", STEEL),
            (_b(-0.015, 0.015, tap_y - 0.14, tap_y + 0.015, h - 0.03, h), "metal", STEEL)]


def _stove(w, d, h, rng):
    body = _pick(rng, (STEEL, WHITE, BLACK))
    r = min(w, d) * 0.13
    parts = [(_b(-w / 2, w / 2, -d / 2 + 0.02, d / 2, 0, h - 0.012), "metal", body),
             (_b(-w / 2 + 0.05, w / 2 - 0.05, -d / 2, -d / 2 + 0.02, h - 0.2, h - 0.17), "metal", STEEL)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append((cylinder((sx * w / 4, 0.02 + sy * d / 4.5, h - 0.012), r, 0.012), "metal", BLACK))
    for k in range(4):
        parts.append((_disc_front(-w / 2 + (k + 0.5) * w / 4, -d / 2, h - 0.08, 0.018, 0.02), "metal", BLACK))
    return parts


def _oven(w, d, h, rng):
    body = _pick(rng, (STEEL, WHITE, BLACK))
    return [(_b(-w / 2, w / 2, -d / 2 + 0.03, d / 2, 0, h), "metal", body),
            (_b(-w / 2 + 0.02, w / 2 - 0.02, -d / 2 + 0.01, -d / 2 + 0.03, 0.08, h - 0.14), "metal", body),
            (_b(-w / 2 + 0.1, w / 2 - 0.1, -d / 2, -d / 2 + 0.01, 0.2, h - 0.3), "glass", BLACK),
            (_b(-w / 2 + 0.08, w / 2 - 0.08, -d / 2, -d / 2 + 0.01, h - 0.22, h - 0.19), "metal", STEEL)]


def _refrigerator(w, d, h, rng):
    body, split = _pick(rng, (STEEL, WHITE)), 0.38 * h
    hx0, hx1 = w / 2 - 0.09, w / 2 - 0.06
    return [(_b(-w / 2, w / 2, -d / 2 + 0.04, d / 2, 0, h), "metal", body),
            (_b(-w / 2 + 0.005, w / 2 - 0.005, -d / 2 + 0.012, -d / 2 + 0.04, 0.03, split - 0.008), "metal", body),
            (_b(-w / 2 + 0.005, w / 2 - 0.005, -d / 2 + 0.012, -d / 2 + 0.04, split + 0.008, h - 0.01), "metal", body),
            (_b(hx0, hx1, -d / 2, -d / 2 + 0.012, split - 0.35, split - 0.06), "metal", STEEL),
            (_b(hx0, hx1, -d / 2, -d / 2 + 0.012, split + 0.06, split + 0.6), "metal", STEEL)]


def _dishwasher(w, d, h, rng):
    body = _pick(rng, (STEEL, WHITE))
    return [(_b(-w / 2, w / 2, -d / 2 + 0.02, d / 2, 0, h), "metal", body),
            (_b(-w / 2, w / 2, -d / 2 + 0.005, -d / 2 + 0.02, h - 0.1, h), "metal", BLACK),
            (_b(-w / 2 + 0.1, w / 2 - 0.1, -d / 2, -d / 2 + 0.02, h - 0.17, h - 0.14), "metal", STEEL)]


def _washer_dryer(w, d, h, rng):
    z = min(0.42, h - 0.34)
    return [(_b(-w / 2, w / 2, -d / 2 + 0.03, d / 2, 0, h), "metal", WHITE),
            (_b(-w / 2, w / 2, -d / 2 + 0.015, -d / 2 + 0.03, h - 0.12, h), "metal", STEEL),
            (_disc_front(0, -d / 2 + 0.01, z, 0.2, 0.02), "metal", STEEL),
            (_disc_front(0, -d / 2, z, 0.15, 0.01), "glass", BLACK),
            (_disc_front(w / 2 - 0.1, -d / 2, h - 0.06, 0.03, 0.015), "metal", BLACK)]


def _television(w, d, h, rng):
    ph = min(0.5625 * w + 0.05, h - 0.3)
    return [(_b(-0.22 * w, 0.22 * w, -d / 2, d / 2, 0, 0.03), "metal", BLACK),
            (_b(-0.03, 0.03, 0.05, 0.09, 0.03, h - ph + 0.1), "metal", BLACK),
            (_b(-w / 2, w / 2, 0.0, 0.05, h - ph, h), "metal", BLACK),
            (_b(-w / 2 + 0.015, w / 2 - 0.015, -0.008, 0.0, h - ph + 0.015, h - 0.015), "screen", (1.0, 1.0, 1.0))]


def _storage(w, d, h, rng):
    wood, t = _pick(rng, WOOD), 0.02
    if rng.random() < 0.5:  # cabinet with doors
        n = 1 if w < 0.7 else 2
        dw = w / n
        parts = [(_b(-w / 2, w / 2, -d / 2 + t, d / 2, 0, h), "wood", wood)]
        for k in range(n):
            x0 = -w / 2 + k * dw
            parts.append((_b(x0 + 0.003, x0 + dw - 0.003, -d / 2 + 0.005, -d / 2 + t, 0.08, h - 0.01), "wood", wood))
            kx = x0 + dw - 0.06 if k == 0 else x0 + 0.04
            parts.append((_b(kx, kx + 0.02, -d / 2, -d / 2 + 0.005, h / 2 - 0.06, h / 2 + 0.06), "metal", STEEL))
        return parts
    parts = [(_b(-w / 2, -w / 2 + t, -d / 2, d / 2, 0, h), "wood", wood),
             (_b(w / 2 - t, w / 2, -d / 2, d / 2, 0, h), "wood", wood),
             (_b(-w / 2 + t, w / 2 - t, d / 2 - t, d / 2, 0, h), "wood", wood),
             (_b(-w / 2 + t, w / 2 - t, -d / 2, d / 2 - t, h - t, h), "wood", wood),
             (_b(-w / 2 + t, w / 2 - t, -d / 2, d / 2 - t, 0, 0.08), "wood", wood)]
    n = max(1, round((h - 0.1) / 0.36))
    for k in range(1, n):
        z = 0.08 + k * (h - 0.08 - t) / n
        parts.append((_b(-w / 2 + t, w / 2 - t, -d / 2, d / 2 - t, z - t, z), "wood", wood))
    return parts


def _fireplace(w, d, h, rng):
    wall = _pick(rng, (CERAMIC, (0.80, 0.76, 0.70), (0.55, 0.52, 0.50)))
    pw, top = max(0.16, 0.2 * w), h - 0.06
    opening = min(0.75, 0.62 * h)
    Ry = np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])  # +z → +x
    logs = [transform(cylinder((0, 0, 0), 0.05, 0.4 * (w - 2 * pw), 10), Ry) for _ in range(2)]
    back = d / 2 - 0.08
    logs = [(v + np.array([-0.2 * (w - 2 * pw), y, 0.1]), f) for (v, f), y in zip(logs, (back - 0.06, back - 0.17))]
    return [(_b(-w / 2, w / 2, -d / 2, d / 2, 0, 0.05), "tile", (0.35, 0.33, 0.32)),
            (_b(-w / 2, -w / 2 + pw, -d / 2 + 0.05, d / 2, 0.05, top), "plaster", wall),
            (_b(w / 2 - pw, w / 2, -d / 2 + 0.05, d / 2, 0.05, top), "plaster", wall),
            (_b(-w / 2 + pw, w / 2 - pw, -d / 2 + 0.05, d / 2, opening, top), "plaster", wall),
            (_b(-w / 2 + pw, w / 2 - pw, d / 2 - 0.08, d / 2, 0.05, opening), "metal", BLACK),
            (_b(-w / 2, w / 2, -d / 2, d / 2, top, h), "wood", _pick(rng, WOOD)),
            *((m, "wood", WOOD[2]) for m in logs)]


def _stairs(w, d, h, rng):
    n = max(2, round(h / 0.18))
    tread, rise, wood = w / n, h / n, _pick(rng, WOOD)
    return [(_b(-w / 2 + k * tread, -w / 2 + (k + 1) * tread, -d / 2, d / 2, 0, (k + 1) * rise), "wood", wood)
            for k in range(n)]


BUILDERS: dict[str, Callable] = {
    "bathtub": _bathtub, "bed": _bed, "chair": _chair, "dishwasher": _dishwasher, "fireplace": _fireplace,
    "oven": _oven, "refrigerator": _refrigerator, "sink": _sink, "sofa": _sofa, "stairs": _stairs,
    "storage": _storage, "stove": _stove, "table": _table, "television": _television, "toilet": _toilet,
    "washerDryer": _washer_dryer,
}
assert set(BUILDERS) == set(SIZE_RANGES) == set(OBJECT_CATEGORIES)


def build(category: str, dims: tuple[float, float, float], rng: np.random.Generator,
          T_world_object: np.ndarray, element_id: str) -> list[Part]:
    """Parts of one object of ``dims`` = (width, depth, height) metres, placed by
    ``T_world_object`` (the pose of its box centre, yaw only) and labelled ``element_id``."""
    w, d, h = dims
    T = np.array(T_world_object, float)
    T[:3, 3] -= T[:3, 2] * h / 2  # builders put the floor at z = 0
    return [Part(*transform(mesh, T), material, tint, element_id) for mesh, material, tint in BUILDERS[category](w, d, h, rng)]
