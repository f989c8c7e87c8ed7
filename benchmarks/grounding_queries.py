"""Query sets of ``benchmarks/grounding.py``: templates over simulated rooms, and hand-written
queries over the real ScanNet room scene0470_00.

Ground truth comes from the simulator only (its room description, and the parts each element is
built from for colours) and from the ScanNet annotations; nothing here calls
``spatial.grounding``, so the benchmark can expose the method's errors. All geometry is in the
room's world frame (z up, metres); distances between objects are the 2D distances between their
footprints seen from above (0 when they touch or overlap).

A query is kept only when its description singles out one element with a margin: the nearest
must be at least ``NEAR_MARGIN_M`` closer than the runner-up (and nearest by centre distance
too), "next to" / "by" needs the target within ``NEXT_TO_M`` and every other candidate beyond
``NOT_NEXT_TO_M``, a colour must cover ``COLOUR_SHARE`` (65 %) of the object's visible surface and be
no other candidate's colour (not even a tenth of its surface, and no look-alike colour), a
"biggest" must be ``SIZE_RATIO`` times the runner-up, and so on (see each generator).
Generic nouns ("appliance", "piece of furniture") are checked against a strict and a loose
reading of the noun: both must single out the same element. Template choice is seeded, so the
query set is a pure function of (preset, seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.room import RoomDescription, RoomElement
from spatial.scene.shapes import box_footprint, convex_clip, polygon_area

KINDS = ("category", "affordance", "attribute", "relation", "structure", "description")
NEAR_MARGIN_M = 0.3      # nearest: runner-up at least this much farther (footprint gap, metres)
NEXT_TO_M = 0.45         # "next to", "by": the target's gap at most this (metres)
NOT_NEXT_TO_M = 1.0      # ... and every other candidate's at least this (metres)
SIZE_RATIO = 1.2         # biggest / smallest: volume ratio to the runner-up
HEIGHT_MARGIN_M = 0.15   # tallest / shortest: height difference to the runner-up (metres)
SIDE_MARGIN_M = 0.5      # left / right as seen from the door: lateral gap to the runner-up (metres)
CORNER_M = 0.35          # "in the corner": footprint within this of a convex corner of the floor (metres)
NOT_CORNER_M = 1.0       # ... and every other candidate farther than this from every corner (metres)


@dataclass(frozen=True)
class Query:
    """One query: ``text`` as a person would say it, ``target`` the identifier of the one ground
    truth element it describes, ``kinds`` a subset of :data:`KINDS`, ``room`` the room's name."""

    text: str
    target: str
    kinds: tuple[str, ...]
    room: str = ""


# --- geometry (own code, independent of spatial.grounding) ---------------------------------------


def footprint(e: RoomElement) -> np.ndarray:
    """(4, 2) world x–y corners of the element's box seen from above (a segment for a door)."""
    return box_footprint(e.T_world_element, e.dimensions_m)


def _point_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = 0.0 if ab @ ab < 1e-12 else float(np.clip((p - a) @ ab / (ab @ ab), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def polygon_gap_m(pa: np.ndarray, pb: np.ndarray) -> float:
    """Distance (metres) between two convex polygons (or segments, points) in the plane; 0 when
    they overlap."""
    solid = len(pa) >= 3 and len(pb) >= 3 and polygon_area(pa) > 1e-9 and polygon_area(pb) > 1e-9
    if solid and polygon_area(convex_clip(pa, pb)) > 1e-9:
        return 0.0
    d = min(_point_segment(p, a, b) for p in pa for a, b in zip(pb, np.roll(pb, -1, axis=0)))
    return min(d, min(_point_segment(p, a, b) for p in pb for a, b in zip(pa, np.roll(pa, -1, axis=0))))


def gap_m(a: RoomElement, b: RoomElement) -> float:
    """Footprint-to-footprint distance between two elements (metres, 0 when touching)."""
    return polygon_gap_m(footprint(a), footprint(b))


def centre_distance_m(a: RoomElement, b: RoomElement) -> float:
    """Horizontal distance between the two box centres (metres)."""
    return float(np.linalg.norm(a.center_m[:2] - b.center_m[:2]))


def volume_m3(e: RoomElement) -> float:
    return float(np.prod(e.dimensions_m))


@dataclass(frozen=True)
class Viewer:
    """Someone standing in a doorway looking into the room: ``origin`` (2,) world x–y of the door
    centre, ``forward`` (2,) unit direction into the room; ``left`` is forward turned +90° about z
    (world z up), so the left of what they see."""

    origin: np.ndarray
    forward: np.ndarray

    @property
    def left(self) -> np.ndarray:
        return np.array([-self.forward[1], self.forward[0]])

    def lateral(self, e: RoomElement) -> tuple[float, float, float]:
        """(min, centre, max) of the element along the viewer's left axis (metres, + = left)."""
        u = (footprint(e) - self.origin) @ self.left
        return float(u.min()), float((e.center_m[:2] - self.origin) @ self.left), float(u.max())

    def depth(self, e: RoomElement) -> tuple[float, float]:
        """(min, max) distance of the element's footprint ahead of the viewer (metres)."""
        v = (footprint(e) - self.origin) @ self.forward
        return float(v.min()), float(v.max())


def _floor_polygons(room: RoomDescription) -> list[np.ndarray]:
    out = []
    for f in room.of("floor"):
        T = f.T_world_element
        if f.polygon_m:
            local = np.array(f.polygon_m, float)
            out.append(local @ T[:2, :2].T + T[:2, 3])
        else:
            out.append(footprint(f))
    return out


def _inside(p: np.ndarray, poly: np.ndarray) -> bool:
    from spatial.scene.shapes import points_in_polygon

    return bool(points_in_polygon(p[None], poly)[0])


def convex_corners(room: RoomDescription) -> list[np.ndarray]:
    """World x–y of the convex corners (interior angle < 180°) of every floor outline."""
    out = []
    for poly in _floor_polygons(room):
        ccw = poly if np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1]) > 0 else poly[::-1]
        for i in range(len(ccw)):
            a, b, c = ccw[i - 1], ccw[i], ccw[(i + 1) % len(ccw)]
            cross = (b - a)[0] * (c - b)[1] - (b - a)[1] * (c - b)[0]
            if cross > 1e-9:
                out.append(b.copy())
    return out


def door_viewer(room: RoomDescription) -> Viewer | None:
    """The viewer in the room's only door, looking into the floor it opens onto (None without
    exactly one door)."""
    doors = room.of("door")
    if len(doors) != 1:
        return None
    d = doors[0]
    c, n = d.center_m[:2], d.T_world_element[:2, 1]
    n = n / np.linalg.norm(n)
    polys = _floor_polygons(room)
    for sign in (1.0, -1.0):
        if any(_inside(c + sign * 0.4 * n, p) for p in polys):
            return Viewer(c, sign * n)
    return None


# --- colours of simulated objects -----------------------------------------------------------------

# palette tint (rounded to 2 decimals) → (colour name, colour group); names chosen by hand for the
# simulator's palettes in sensors/sim/furniture.py; the group is what counts as "the same colour"
# when telling objects apart (light brown and beige look alike, so do silver and grey)
PALETTE: dict[tuple[float, float, float], tuple[str, str]] = {
    (0.62, 0.43, 0.26): ("brown", "brown"),          # WOOD
    (0.76, 0.58, 0.40): ("light brown", "brown"),
    (0.42, 0.28, 0.18): ("dark brown", "brown"),
    (0.86, 0.74, 0.58): ("beige", "brown"),
    (0.33, 0.40, 0.56): ("blue", "blue"),            # FABRIC
    (0.62, 0.26, 0.21): ("red", "red"),
    (0.52, 0.52, 0.50): ("grey", "grey"),
    (0.26, 0.46, 0.36): ("green", "green"),
    (0.80, 0.74, 0.62): ("beige", "brown"),
    (0.93, 0.93, 0.90): ("white", "white"),          # LINEN
    (0.85, 0.88, 0.93): ("white", "white"),
    (0.78, 0.78, 0.80): ("silver", "grey"),          # STEEL
    (0.93, 0.93, 0.91): ("white", "white"),          # WHITE
    (0.10, 0.10, 0.11): ("black", "black"),          # BLACK
    (0.95, 0.95, 0.93): ("white", "white"),          # CERAMIC
    (0.80, 0.76, 0.70): ("beige", "brown"),          # fireplace surrounds
    (0.55, 0.52, 0.50): ("grey", "grey"),
    (0.35, 0.33, 0.32): ("dark grey", "grey"),       # hearth tile
}
MATERIAL_COLOURS = {"screen": ("black", "black")}  # a dark screen whatever its tint
COLOUR_SHARE = 0.65  # an object is called by a colour covering at least this share of its visible surface
OTHER_COLOUR_SHARE = 0.1  # ... and no other candidate shows that colour on this share (a bed's green duvet)
UNNAMED_COLOUR = ("sink",)  # a wooden cabinet under a steel or ceramic basin: people disagree on its colour
MIN_PART_AREA_M2 = 0.005  # parts smaller than this (knobs, handles) are not what one names an object's colour by


@dataclass(frozen=True)
class Colour:
    """An object's colour: ``name`` and ``group`` of the largest visible share, that ``share`` of
    the visible area in [0, 1], and the share of every group."""

    name: str
    group: str
    share: float
    groups: dict[str, float] = field(default_factory=dict)


def _tri_areas(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    area = np.linalg.norm(cross, axis=1) / 2
    return area, cross / np.maximum(2 * area, 1e-12)[:, None]


def object_colours(world, samples: int = 3000, seed: int = 0) -> dict[str, Colour]:
    """Colour of each element of a :class:`sensors.sim.world.SimWorld` that has parts.

    The visible surface of an element is sampled (``samples`` points, area-weighted over its
    parts' triangles): points on faces looking down (normal z < −0.5), and points buried in
    another part of the same element (a seat board under its cushion, a mattress under the
    duvet: inside that part's box in the element's frame, 5 mm in) are not visible; parts smaller
    than :data:`MIN_PART_AREA_M2` are skipped. Each point takes its part's named colour
    (:data:`PALETTE`; parts of unknown tint are left out), and the shares are over the named
    points.
    """
    rng = np.random.default_rng(seed)
    T_of = {e.identifier: e.T_world_element for e in world.room.elements}
    by_element: dict[str, list] = {}
    for p in world.parts:
        if p.element_id in T_of:
            by_element.setdefault(p.element_id, []).append(p)
    out = {}
    for eid, parts in by_element.items():
        T_inv = np.linalg.inv(T_of[eid])
        local = [p.vertices @ T_inv[:3, :3].T + T_inv[:3, 3] for p in parts]
        boxes = [(v.min(0) + 0.005, v.max(0) - 0.005) for v in local]
        areas = [_tri_areas(v, p.triangles) for v, p in zip(local, parts)]
        total = np.array([a.sum() for a, _ in areas])
        keep = total >= MIN_PART_AREA_M2
        if not keep.any():
            continue
        counts = rng.multinomial(samples, total * keep / (total * keep).sum())
        shares: dict[tuple[str, str], float] = {}
        n_named = 0
        for k, (p, v, (area, normal)) in enumerate(zip(parts, local, areas)):
            if counts[k] == 0:
                continue
            named = MATERIAL_COLOURS.get(p.material) or PALETTE.get(tuple(round(float(t), 2) for t in p.tint))
            tri = rng.choice(len(area), counts[k], p=area / area.sum())
            r1, r2 = rng.random(counts[k]), rng.random(counts[k])
            s = np.sqrt(r1)
            f = p.triangles[tri]
            pts = (1 - s)[:, None] * v[f[:, 0]] + (s * (1 - r2))[:, None] * v[f[:, 1]] + (s * r2)[:, None] * v[f[:, 2]]
            ok = normal[tri, 2] >= -0.5  # in the element's frame, which is yaw-only: z is up
            for j, (lo, hi) in enumerate(boxes):
                if j != k:
                    ok &= ~np.all((pts > lo) & (pts < hi), axis=1)
            if named is not None:
                shares[named] = shares.get(named, 0.0) + float(ok.sum())
                n_named += int(ok.sum())
        if n_named == 0:
            continue
        groups: dict[str, float] = {}
        for (_, group), c in shares.items():
            groups[group] = groups.get(group, 0.0) + c / n_named
        top_group = max(groups, key=lambda g: (groups[g], g))
        top_name = max((nm for nm, g in shares if g == top_group), key=lambda nm: (shares[(nm, top_group)], nm))
        out[eid] = Colour(top_name, top_group, groups[top_group], groups)
    return out


def storage_kind(world) -> dict[str, str]:
    """"shelves" or "cabinet" for every storage element of a simulated world: a cabinet has metal
    handles on its doors (see ``sensors.sim.furniture._storage``), open shelves have none."""
    kinds = {}
    storages = {e.identifier for e in world.room.of("storage")}
    for p in world.parts:
        if p.element_id in storages:
            kinds.setdefault(p.element_id, "shelves")
            if p.material == "metal":
                kinds[p.element_id] = "cabinet"
    return kinds


# --- vocabulary ---------------------------------------------------------------------------------

# category → [(phrase, categories that phrase could also mean)]; the first phrase is the name used
# for the element as a landmark in other queries
NAMES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "bathtub": [("bathtub", ()), ("bath", ()), ("tub", ())],
    "bed": [("bed", ()), ("double bed", ())],
    "chair": [("chair", ())],
    "dishwasher": [("dishwasher", ())],
    "fireplace": [("fireplace", ()), ("hearth", ())],
    "oven": [("oven", ())],
    "refrigerator": [("fridge", ()), ("refrigerator", ()), ("fridge freezer", ())],
    "sink": [("sink", ()), ("washbasin", ("bathtub",))],
    "sofa": [("sofa", ()), ("couch", ()), ("settee", ())],
    "stairs": [("stairs", ()), ("staircase", ()), ("steps", ())],
    "storage": [("storage unit", ())],
    "stove": [("stove", ()), ("hob", ()), ("cooker", ("oven",))],
    "table": [("table", ()), ("desk", ())],
    "television": [("TV", ()), ("television", ()), ("telly", ())],
    "toilet": [("toilet", ()), ("loo", ()), ("WC", ())],
    "washerDryer": [("washing machine", ()), ("washer", ("dishwasher",)), ("laundry machine", ())],
}
STORAGE_NAMES = {"cabinet": [("cabinet", ("sink",)), ("cupboard", ("sink",))],
                 "shelves": [("bookshelf", ()), ("shelves", ()), ("bookcase", ())]}

# (phrases, categories meant, categories someone could also answer)
AFFORDANCES: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    (("where can I sleep?", "somewhere to sleep", "where do I lie down for the night"), ("bed",), ("sofa",)),
    (("something to keep food cold", "where do I put the milk to keep it cold", "where can I keep vegetables fresh"),
     ("refrigerator",), ()),
    (("where can I wash my hands?", "somewhere to rinse a cup under the tap"), ("sink",), ("bathtub",)),
    (("something to fry an egg on", "where can I boil water for pasta?"), ("stove",), ("oven",)),
    (("something to bake a cake in", "where do I roast a chicken?"), ("oven",), ("stove",)),
    (("the machine that cleans the dishes", "where do dirty plates go to be cleaned automatically?"), ("dishwasher",), ("sink",)),
    (("where can I wash my clothes?", "something to do the laundry with"), ("washerDryer",), ()),
    (("where can I take a bath?", "somewhere to soak after a long day"), ("bathtub",), ()),
    (("something to watch a film on", "where can I watch the news?"), ("television",), ()),
    (("where can I light a fire to warm up?", "somewhere cosy to warm my hands on a cold evening"), ("fireplace",), ()),
    (("somewhere to eat dinner", "something to put my laptop on while I work"), ("table",), ()),
    (("somewhere for three people to sit together", "where can we all sit and relax?"), ("sofa",), ("bed",)),
    (("somewhere to sit", "I need to sit down"), ("chair", "sofa"), ("bed", "toilet", "stairs", "bathtub")),
    (("how do I get upstairs?", "something to climb up"), ("stairs",), ()),
    (("where can I put my things away?", "somewhere to store my stuff"), ("storage",), ()),
]

# generic noun → (strict members, loose members): a query with the noun must single out the same
# element under both readings; "thing" and "object" mean every object
GENERIC: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "piece of furniture": (("bed", "chair", "sofa", "storage", "table"), ("fireplace", "stairs", "television", "bathtub")),
    "appliance": (("dishwasher", "oven", "refrigerator", "stove", "washerDryer"), ("television", "sink")),
    "seat": (("chair", "sofa"), ("bed", "toilet", "stairs", "bathtub")),
}


def _phrase(category: str, kinds: dict[str, str] | None = None, eid: str = "") -> str:
    if category == "storage" and kinds and eid in kinds:
        return STORAGE_NAMES[kinds[eid]][0][0]
    return NAMES[category][0][0]


# --- room facts ---------------------------------------------------------------------------------


@dataclass
class RoomFacts:
    """What the query templates need to know of one simulated room (ground truth only)."""

    name: str
    room: RoomDescription
    colours: dict[str, Colour]
    storage: dict[str, str]
    viewer: Viewer | None
    corners: list[np.ndarray]
    floors: list[np.ndarray] = field(default_factory=list)

    def rooms_of(self, e: RoomElement) -> set[int]:
        """Indices of the floor outlines ``e``'s centre lies in or within 0.3 m of (a door or
        window sits on the wall between, so next to one or two of them)."""
        c = e.center_m[:2]
        return {i for i, poly in enumerate(self.floors)
                if _inside(c, poly) or polygon_gap_m(poly, c[None]) <= 0.3}

    def same_room(self, a: RoomElement, b: RoomElement) -> bool:
        """Whether ``a`` and ``b`` share a room (always, in a room of one floor outline)."""
        return len(self.floors) <= 1 or bool(self.rooms_of(a) & self.rooms_of(b))

    @property
    def objects(self) -> list[RoomElement]:
        return self.room.objects

    def of(self, *categories: str) -> list[RoomElement]:
        return [e for e in self.room.elements if e.category in categories]

    def members(self, noun: str, loose: bool) -> list[RoomElement]:
        """Elements a generic ``noun`` may refer to (strict or loose reading)."""
        if noun in ("thing", "object"):
            return self.objects
        strict, extra = GENERIC[noun]
        return self.of(*(strict + extra if loose else strict))

    def called(self, e: RoomElement) -> str:
        return _phrase(e.category, self.storage, e.identifier)

    def landmark_name(self, e: RoomElement) -> str | None:
        """How to name ``e`` as a landmark (None when that name would not single it out)."""
        if e.category in ("door", "window", "opening"):
            if len(self.of(e.category)) != 1:
                return None
            return {"door": "door", "window": "window", "opening": "doorway"}[e.category]
        if not e.is_object or len(self.of(e.category)) != 1:
            return None
        phrase = self.called(e)
        confusable = dict(NAMES[e.category] + [p for names in STORAGE_NAMES.values() for p in names]).get(phrase, ())
        return None if self.of(*confusable) else phrase


def sim_facts(preset: str, seed: int, room: RoomDescription | None = None) -> RoomFacts:
    """Facts of the simulated room ``preset``/``seed`` (regenerated; ``room``, its saved ground
    truth, must be the same world when given)."""
    from sensors.sim.rooms import generate_world

    world = generate_world(preset, seed)
    room = room or world.room
    ids = {e.identifier for e in world.room.elements}
    if ids != {e.identifier for e in room.elements}:
        raise ValueError(f"{preset} seed {seed}: the saved ground truth is not the simulator's world")
    return RoomFacts(f"{preset}_{seed}", room, object_colours(world), storage_kind(world), door_viewer(room),
                     convex_corners(room), _floor_polygons(room))


# --- generators: each returns candidate queries, all unambiguous --------------------------------


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    """One of ``options``, drawn with ``rng`` (a plain ``str``)."""
    return str(options[int(rng.integers(len(options)))])


def _q(f: RoomFacts, text: str, target: RoomElement, *kinds: str) -> Query:
    return Query(text, target.identifier, tuple(kinds), f.name)


def category_queries(f: RoomFacts, rng: np.random.Generator) -> list[Query]:
    """"the couch", "the fridge": one per category present once, under a name or a synonym that
    no other element present could also carry."""
    out = []
    for cat, names in NAMES.items():
        es = f.of(cat)
        if len(es) != 1:
            continue
        e = es[0]
        options = list(names) + (STORAGE_NAMES[f.storage[e.identifier]] if cat == "storage" and e.identifier in f.storage else [])
        options = [(p, conf) for p, conf in options if not f.of(*conf)]
        if not options:
            continue
        phrase = options[int(rng.integers(len(options)))][0]
        template = ["the {}", "{}", "where is the {}?", "show me the {}", "find the {}"][int(rng.integers(5))]
        out.append(_q(f, template.format(phrase), e, "category"))
    return out


def affordance_queries(f: RoomFacts, rng: np.random.Generator) -> list[Query]:
    """"something to keep food cold": when exactly one element of the meant or also-possible
    categories is present."""
    out = []
    for phrases, meant, also in AFFORDANCES:
        es = f.of(*meant, *also)
        if len(es) == 1 and es[0].category in meant:
            out.append(_q(f, phrases[int(rng.integers(len(phrases)))], es[0], "affordance"))
    return out


def _colour_unique(f: RoomFacts, e: RoomElement, others: list[RoomElement]) -> str | None:
    """``e``'s colour name when it covers :data:`COLOUR_SHARE` of it and no other candidate shows
    that colour group on :data:`OTHER_COLOUR_SHARE` of its surface (None otherwise)."""
    c = f.colours.get(e.identifier)
    if c is None or c.share < COLOUR_SHARE or e.category in UNNAMED_COLOUR:
        return None
    for o in others:
        if o.identifier != e.identifier:
            oc = f.colours.get(o.identifier)
            if oc is None or oc.groups.get(c.group, 0.0) >= OTHER_COLOUR_SHARE:
                return None
    return c.name


def _extreme(values: dict[str, float], largest: bool, margin: float, ratio: bool) -> str | None:
    """Identifier whose value is the largest (smallest) by ``margin`` (a ratio when ``ratio``)."""
    if len(values) < 2:
        return None
    order = sorted(values, key=values.get, reverse=largest)
    a, b = values[order[0]], values[order[1]]
    if ratio:
        ok = a >= margin * b if largest else b >= margin * a
    else:
        ok = a - b >= margin if largest else b - a >= margin
    return order[0] if ok else None


def attribute_queries(f: RoomFacts, rng: np.random.Generator) -> list[Query]:
    """Colour, size and shape: "the red sofa", "the black appliance", "the biggest table", "the
    tallest piece of furniture", "the long table", "the open shelves"."""
    out = []
    by_id = {e.identifier: e for e in f.objects}
    for e in f.objects:  # colour + category name
        same = f.of(e.category)
        colour = _colour_unique(f, e, same)
        if colour is not None and (len(same) > 1 or f.landmark_name(e)):
            name = f.called(e) if len(same) == 1 else NAMES[e.category][0][0]
            out.append(_q(f, _pick(rng, ["the {} {}", "the {} {}", "that {} {}"]).format(colour, name), e, "attribute"))
    for noun in ("thing", "piece of furniture", "appliance"):  # colour + generic noun
        strict, loose = f.members(noun, False), f.members(noun, True)
        for e in strict:
            colour = _colour_unique(f, e, loose)
            if colour is not None and len(strict) > 1:
                out.append(_q(f, f"the {colour} {noun}", e, "attribute"))
    for cat in sorted({e.category for e in f.objects}):  # size within a category
        es = f.of(cat)
        if len(es) < 2:
            continue
        name = NAMES[cat][0][0]
        vol = {e.identifier: volume_m3(e) for e in es}
        hgt = {e.identifier: e.dimensions_m[2] for e in es}
        for word, values, largest, margin, ratio in (("biggest", vol, True, SIZE_RATIO, True),
                                                     ("smaller", vol, False, SIZE_RATIO, True),
                                                     ("tallest", hgt, True, HEIGHT_MARGIN_M, False)):
            if len(es) == 2 and word == "biggest":
                word = "bigger"
            ident = _extreme(values, largest, margin, ratio)
            if ident is not None and not (word == "smaller" and len(es) > 2):
                out.append(_q(f, f"the {word} {name}", by_id[ident], "attribute"))
    for noun, word, key, largest, margin, ratio in (
        ("object in the room", "tallest", "h", True, HEIGHT_MARGIN_M, False),
        ("piece of furniture", "biggest", "v", True, SIZE_RATIO, True),
        ("piece of furniture", "smallest", "v", False, SIZE_RATIO, True),
        ("appliance", "tallest", "h", True, HEIGHT_MARGIN_M, False),
    ):
        base = noun.replace(" in the room", "")
        strict, loose = f.members(base, False), f.members(base, True)
        if len(strict) < 2:
            continue
        winners = set()
        for group in (strict, loose):
            values = {e.identifier: (e.dimensions_m[2] if key == "h" else volume_m3(e)) for e in group}
            winners.add(_extreme(values, largest, margin, ratio))
        if len(winners) == 1 and None not in winners:
            out.append(_q(f, f"the {word} {noun}", by_id[winners.pop()], "attribute"))
    for e in f.of("table"):  # footprint shape
        if len(f.of("table")) != 1:
            break
        w, d = sorted(e.dimensions_m[:2], reverse=True)
        if w / d >= 1.6:
            out.append(_q(f, _pick(rng, ["the long rectangular table", "the long table"]), e, "attribute"))
        elif w / d <= 1.15:
            out.append(_q(f, "the square table", e, "attribute"))
    storages = f.of("storage")
    for e in storages:  # shape: open shelves or doors; tall or low
        kind = f.storage.get(e.identifier)
        others = [o for o in storages if o is not e]
        if kind and all(f.storage.get(o.identifier) not in (None, kind) for o in others) and not f.of("sink"):
            text = {"shelves": "the open shelves", "cabinet": "the cabinet with doors"}[kind]
            out.append(_q(f, text, e, "attribute"))
        h = e.dimensions_m[2]
        if h >= 1.5 and all(o.dimensions_m[2] <= 1.2 for o in others):
            out.append(_q(f, "the tall storage unit", e, "attribute"))
        if h <= 1.0 and all(o.dimensions_m[2] >= 1.3 for o in others) and others:
            out.append(_q(f, "the low storage unit", e, "attribute"))
    return out


def _landmarks(f: RoomFacts) -> list[tuple[RoomElement, str]]:
    out = []
    for e in f.room.elements:
        name = f.landmark_name(e)
        if name is not None:
            out.append((e, name))
    return out


def _candidate_sets(f: RoomFacts, exclude: RoomElement | None,
                    within: RoomElement | None = None) -> list[tuple[str, list[RoomElement], list[RoomElement]]]:
    """(noun, strict candidates, loose candidates) for "the <noun> …" relation queries: each
    category with two or more instances, and the generic nouns; ``exclude`` (the landmark) left
    out; only objects in the room of ``within`` when given (an apartment has several)."""
    def ok(e: RoomElement) -> bool:
        return e is not exclude and (within is None or f.same_room(e, within))

    sets = []
    for cat in sorted({e.category for e in f.objects}):
        es = [e for e in f.of(cat) if ok(e)]
        if len(es) >= 2:
            sets.append((NAMES[cat][0][0], es, es))
    for noun in ("thing", "piece of furniture", "appliance", "seat"):
        strict = [e for e in f.members(noun, False) if ok(e)]
        loose = [e for e in f.members(noun, True) if ok(e)]
        if len(strict) >= 2:
            sets.append((noun, strict, loose))
    return sets


def _nearest(target_gaps: dict[str, float], centre: dict[str, float]) -> str | None:
    if len(target_gaps) < 2:
        return None
    order = sorted(target_gaps, key=target_gaps.get)
    best = order[0]
    if target_gaps[order[1]] - target_gaps[best] < NEAR_MARGIN_M:
        return None
    if min(centre, key=centre.get) != best:
        return None
    return best


def _segment_fp(e: RoomElement) -> np.ndarray:
    """Footprint of an element; for a door/window (no depth) its segment along the wall."""
    T = e.T_world_element
    half = T[:2, 0] * e.dimensions_m[0] / 2
    if e.dimensions_m[1] < 0.02:
        return np.stack([T[:2, 3] - half, T[:2, 3] + half])
    return footprint(e)


def _gap(a: RoomElement, b: RoomElement) -> float:
    return polygon_gap_m(_segment_fp(a), _segment_fp(b))


def relation_queries(f: RoomFacts, rng: np.random.Generator) -> list[tuple[Query, int]]:
    """Spatial relations, each with the number of candidates it tells apart (≥ 2 is a real test):
    nearest / next to / by a landmark, in the corner, between two landmarks, under the window,
    in front of, and left / right as seen from the door."""
    out: list[tuple[Query, int]] = []
    landmarks = _landmarks(f)
    by_id = {e.identifier: e for e in f.room.elements}

    def add(text: str, ident: str, n: int, *kinds: str) -> None:
        out.append((_q(f, text, by_id[ident], "relation", *kinds), n))

    for lm, lname in landmarks:
        for noun, strict, loose in _candidate_sets(f, lm, lm):
            winners = set()
            for group in (strict, loose):
                winners.add(_nearest({e.identifier: _gap(e, lm) for e in group},
                                     {e.identifier: centre_distance_m(e, lm) for e in group}))
            if len(winners) == 1 and None not in winners:
                w = winners.pop()
                t = _pick(rng, ["the {} nearest the {}", "the {} closest to the {}", "which {} is nearest to the {}?"])
                add(t.format(noun, lname), w, len(strict))
            gaps = {e.identifier: _gap(e, lm) for e in loose}  # next to / by
            close = [i for i, g in gaps.items() if g <= NEXT_TO_M]
            if (len(close) == 1 and close[0] in {e.identifier for e in strict}
                    and all(g >= NOT_NEXT_TO_M for i, g in gaps.items() if i != close[0])):
                word = "by" if lm.category in ("window", "door") else _pick(rng, ["next to", "beside"])
                add(f"the {noun} {word} the {lname}", close[0], len(strict))
            if lm.category == "window":  # under the window: below its sill, in front of it
                sill = lm.center_m[2] - lm.dimensions_m[2] / 2
                under = [e for e in loose if _gap(e, lm) <= 0.3 and e.center_m[2] + e.dimensions_m[2] / 2 <= sill + 0.05
                         and abs((e.center_m[:2] - lm.center_m[:2]) @ lm.T_world_element[:2, 0]) <= lm.dimensions_m[0] / 2]
                if len(under) == 1 and under[0] in strict:
                    add(f"the {noun} under the {lname}", under[0].identifier, len(strict))
            if lm.is_object and lm.category in ("sofa", "television", "fireplace", "bed"):  # in front of
                front = -lm.T_world_element[:2, 1]
                side = lm.T_world_element[:2, 0]
                ahead = []
                for e in loose:
                    rel = e.center_m[:2] - lm.center_m[:2]
                    depth = rel @ front - lm.dimensions_m[1] / 2
                    reach = 1.0 if lm.category == "bed" else 2.0
                    if 0.0 < depth <= reach and abs(rel @ side) <= lm.dimensions_m[0] / 2:
                        ahead.append(e)
                if len(ahead) == 1 and ahead[0] in strict:
                    phrase = "at the foot of the bed" if lm.category == "bed" else f"in front of the {lname}"
                    add(f"the {noun} {phrase}", ahead[0].identifier, len(strict))
    for noun, strict, loose in _candidate_sets(f, None):  # in the corner
        if not f.corners:
            break
        cg = {e.identifier: min(polygon_gap_m(footprint(e), c[None]) for c in f.corners) for e in loose}
        near = [i for i, g in cg.items() if g <= CORNER_M]
        if len(near) == 1 and near[0] in {e.identifier for e in strict} and all(g >= NOT_CORNER_M for i, g in cg.items() if i != near[0]):
            add(_pick(rng, [f"the {noun} in the corner", f"the {noun} tucked in the corner"]), near[0], len(strict))
    pairs = [(a, an, b, bn) for i, (a, an) in enumerate(landmarks) for b, bn in landmarks[i + 1:] if a.is_object and b.is_object]
    chairs = f.of("chair")
    if len(chairs) == 2:
        pairs.append((chairs[0], None, chairs[1], None))
    for a, an, b, bn in pairs:  # between
        if centre_distance_m(a, b) > 4.0 or not f.same_room(a, b):
            continue
        what = "the two chairs" if an is None else f"the {an} and the {bn}"
        excl = [a, b]
        for noun, strict, loose in _candidate_sets(f, None, a):
            inside = []
            clear = True
            for e in loose:
                if e in excl:
                    continue
                ab = b.center_m[:2] - a.center_m[:2]
                t = (e.center_m[:2] - a.center_m[:2]) @ ab / (ab @ ab)
                lateral = abs(np.cross(ab, e.center_m[:2] - a.center_m[:2])) / np.linalg.norm(ab)
                if 0.2 <= t <= 0.8 and lateral <= 0.4:
                    inside.append(e)
                elif -0.05 <= t <= 1.05 and lateral <= 0.9:
                    clear = False
            n = len([e for e in strict if e not in excl])
            if len(inside) == 1 and clear and inside[0] in strict and n >= 1:
                add(f"the {noun} between {what}", inside[0].identifier, n)
    v = f.viewer
    if v is not None:
        door = f.of("door")[0]
        for noun, strict, loose in _candidate_sets(f, None, door):  # on the left / right of the room: one of two
            seen = [e for e in loose if v.depth(e)[0] > 0.3]
            if len(seen) != 2 or len(seen) != len(loose):
                continue
            lat = {e.identifier: v.lateral(e)[1] for e in seen}
            for side, sign in (("left", 1.0), ("right", -1.0)):
                order = sorted(lat, key=lambda i: -sign * lat[i])
                if sign * (lat[order[0]] - lat[order[1]]) >= SIDE_MARGIN_M and order[0] in {e.identifier for e in strict}:
                    t = _pick(rng, [f"the {noun} on the {side} as you come in through the door",
                                    f"the {noun} on the {side} as seen from the door"])
                    add(t, order[0], len(strict))
        for lm, lname in landmarks:  # left / right of a landmark, as seen from the door
            if not lm.is_object or v.depth(lm)[0] <= 0.3:
                continue
            l_lo, _, l_hi = v.lateral(lm)
            d_lo, d_hi = v.depth(lm)
            if not f.same_room(lm, door):
                continue
            for noun, strict, loose in _candidate_sets(f, lm, lm):
                for side, sign in (("left", 1.0), ("right", -1.0)):
                    yes, clear = [], True
                    for e in loose:
                        g = _gap(e, lm)
                        if g > 1.5:
                            continue
                        lo, _, hi = v.lateral(e)
                        e_lo, e_hi = v.depth(e)
                        beyond = (lo - l_hi) if sign > 0 else (l_lo - hi)  # > 0: entirely on that side
                        overlap = min(e_hi, d_hi) - max(e_lo, d_lo)  # depth overlap
                        if beyond >= -0.15 and overlap >= -0.3 and g <= 1.0:
                            yes.append(e)
                        elif beyond >= -0.4 and overlap >= -0.6:
                            clear = False
                    if len(yes) == 1 and clear and yes[0] in strict:
                        add(f"the {noun} to the {side} of the {lname} as seen from the door", yes[0].identifier, len(strict))
    return out


def structure_queries(f: RoomFacts, rng: np.random.Generator) -> list[tuple[Query, int]]:
    """Doors, windows, openings: "the door", "the entrance", "the window nearest the bed", "the
    bigger window", "the doorway to the other room"."""
    out: list[tuple[Query, int]] = []
    doors, windows, openings = f.of("door"), f.of("window"), f.of("opening")
    if len(doors) == 1:
        t = _pick(rng, ["the door", "the entrance", "the way in", "where is the door?", "the front door"])
        out.append((_q(f, t, doors[0], "structure"), 1))
        c = f.colours.get(doors[0].identifier)
        if c is not None and c.share >= COLOUR_SHARE and rng.random() < 0.5:
            out.append((_q(f, f"the {c.name} door", doors[0], "structure", "attribute"), 1))
    if len(windows) == 1:
        out.append((_q(f, _pick(rng, ["the window", "the only window"]), windows[0], "structure"), 1))
    if len(openings) == 1:
        t = _pick(rng, ["the doorway to the other room", "the opening into the next room", "the passage between the two rooms"])
        out.append((_q(f, t, openings[0], "structure"), 1))
    if len(windows) >= 2:
        area = {w.identifier: w.dimensions_m[0] * w.dimensions_m[2] for w in windows}
        ident = _extreme(area, True, 1.3, True)
        if ident is not None:
            out.append((_q(f, "the biggest window" if len(windows) > 2 else "the bigger window",
                           next(w for w in windows if w.identifier == ident), "structure", "attribute"), len(windows)))
        for lm, lname in _landmarks(f):
            if not lm.is_object:
                continue
            w = _nearest({w.identifier: _gap(w, lm) for w in windows}, {w.identifier: centre_distance_m(w, lm) for w in windows})
            if w is not None:
                out.append((_q(f, f"the window nearest the {lname}", next(x for x in windows if x.identifier == w),
                               "structure", "relation"), len(windows)))
    return out


def description_queries(f: RoomFacts, rng: np.random.Generator, relations: list[tuple[Query, int]]) -> list[Query]:
    """ScanRefer-style descriptions of two sentences: what the object is (with its colour when
    that is true) and a relation that alone singles it out among its category or a generic noun."""
    out = []
    by_id = {e.identifier: e for e in f.room.elements}
    for q, n in relations:
        e = by_id[q.target]
        if n < 2 or not e.is_object:
            continue
        rel = q.text.split(" ", 2)[2] if q.text.startswith("the ") else None
        if rel is None or rel.endswith("?"):
            continue
        for noun in ("thing", "piece of furniture", "appliance", "seat"):
            if q.text.startswith(f"the {noun} "):
                rel = q.text[len(f"the {noun} "):]
        name = f.called(e) if e.category != "storage" else "storage unit"
        c = f.colours.get(e.identifier)
        colour = f"{c.name} " if c is not None and c.share >= COLOUR_SHARE and e.category not in UNNAMED_COLOUR else ""
        first = _pick(rng, [f"this is a {colour}{name}.", f"there is a {colour}{name}.", f"it is a {colour}{name}."])
        text = f"{first} it is the one {rel}." if rel.startswith(("nearest", "closest")) else f"{first} it is {rel}."
        out.append(_q(f, text, e, "description", "relation", *(("attribute",) if colour else ())))
    return out


QUOTA = {"relation": 4, "attribute": 3, "category": 2, "affordance": 2, "structure": 1, "description": 1}


def sim_queries(facts: RoomFacts, seed: int = 0, per_room: int = 13) -> list[Query]:
    """About ``per_room`` unambiguous queries for one simulated room, drawn (seeded) per kind by
    :data:`QUOTA`, relations that tell candidates apart before those that do not; the rest of
    the budget filled from what is left."""
    f = facts
    rng = np.random.default_rng([seed, _stable(f.name)])
    rel = relation_queries(f, rng)
    struct = structure_queries(f, rng)
    pools: dict[str, list[Query]] = {
        "relation": [q for q, n in sorted(rel, key=lambda qn: -min(qn[1], 2))],
        "attribute": attribute_queries(f, rng),
        "category": category_queries(f, rng),
        "affordance": affordance_queries(f, rng),
        "structure": [q for q, _ in struct],
        "description": description_queries(f, rng, rel),
    }
    strong = {q.text for q, n in rel if n >= 2}
    chosen: list[Query] = []
    seen: set[str] = set()

    def take(pool: list[Query], k: int, prefer: set[str] | None = None) -> None:
        pool = [q for q in _dedupe(pool) if q.text not in seen]
        order = list(rng.permutation(len(pool)))
        if prefer:
            order.sort(key=lambda i: pool[i].text not in prefer)
        for i in order[:k]:
            chosen.append(pool[i])
            seen.add(pool[i].text)

    for kind, k in QUOTA.items():
        take(pools[kind], k, strong if kind == "relation" else None)
    rest = [q for kind in QUOTA for q in pools[kind]]
    take(rest, per_room - len(chosen), strong)
    return chosen


def _dedupe(qs: list[Query]) -> list[Query]:
    out, seen = [], set()
    for q in qs:
        if q.text not in seen:
            out.append(q)
            seen.add(q.text)
    return out


def _stable(text: str) -> int:
    """A hash of ``text`` that does not change between runs (Python's ``hash`` is salted)."""
    import zlib

    return zlib.crc32(text.encode())


# --- ScanNet scene0470_00 ---------------------------------------------------------------------------
# Ground-truth ids: Scan2CAD boxes (spatial.eval.scannet.read_scan2cad_all) scan2cad-0 the trash bin,
# scan2cad-1..4 and -6 the chairs, scan2cad-5 the round table; labelled-vertex boxes
# (spatial.eval.scannet.label_boxes) label8-0 the door, label9-0 the window, label30-0 the whiteboard.
# The room (mesh frame, metres): x 0–3.5, y 0–2.85. The round wooden table (1.46, 0.52) stands against
# the wall y = 0; black mesh office chairs at its two ends (scan2cad-2 (0.63, 0.65) on the far side
# from the door, scan2cad-3 (2.28, 0.56) on the door side), scan2cad-4 (3.03, 0.62) in the corner by
# the window; scan2cad-1 (0.97, 2.18) in front of the whiteboard with a red bag on it, scan2cad-6
# (0.34, 2.00) in the corner at the whiteboard's end. On the wall x = 3.4: the wooden door
# (y 1.7–2.85) and, beside it, a narrow window reaching down to the floor (y 1.13–1.72) with the
# trash bin (3.27, 1.50) on the floor in front of it. The whiteboard spans x 0.64–3.06 on the wall
# y = 2.85. ``benchmarks/grounding.py --scannet-facts`` prints the distances these rest on (footprint
# gaps, metres): nearest the window chair4 0.27 vs chair3 0.78; nearest the bin chair4 0.38 vs chair3
# 0.71; chairs at the table's ends chair2 and chair3 (gap 0), to the door 2.39 and 1.05; by the
# whiteboard chair1 0.02 and chair6 0.07, to the door 1.92 and 2.52; chair4 0.36 m from the corner
# (3.45, 0) by the window, chair2 0.55 and chair6 0.51 from the corners far from the window. Chairs near
# corners and the chairs "in front of" the whiteboard are too close to call, so no query asks for them.
SCANNET = "scene0470_00"
SCANNET_QUERIES: list[Query] = [
    Query("the round table", "scan2cad-5", ("attribute",), SCANNET),
    Query("the table", "scan2cad-5", ("category",), SCANNET),
    Query("somewhere to put my coffee down", "scan2cad-5", ("affordance",), SCANNET),
    Query("the trash can", "scan2cad-0", ("category",), SCANNET),
    Query("the bin", "scan2cad-0", ("category",), SCANNET),
    Query("where can I throw away this wrapper?", "scan2cad-0", ("affordance",), SCANNET),
    Query("the bin in front of the window", "scan2cad-0", ("relation",), SCANNET),
    Query("the whiteboard", "label30-0", ("category",), SCANNET),
    Query("something to draw a diagram on for everyone to see", "label30-0", ("affordance",), SCANNET),
    Query("the white board on the wall", "label30-0", ("category", "attribute"), SCANNET),
    Query("the door", "label8-0", ("structure",), SCANNET),
    Query("the way out of the room", "label8-0", ("structure",), SCANNET),
    Query("the wooden door next to the window", "label8-0", ("structure", "attribute", "relation"), SCANNET),
    Query("the window", "label9-0", ("structure",), SCANNET),
    Query("the narrow window beside the door", "label9-0", ("structure", "attribute", "relation"), SCANNET),
    Query("the chair closest to the window", "scan2cad-4", ("relation",), SCANNET),
    Query("the chair nearest the trash can", "scan2cad-4", ("relation",), SCANNET),
    Query("the chair in the corner by the window", "scan2cad-4", ("relation",), SCANNET),
    Query("the chair at the end of the table nearest the door", "scan2cad-3", ("relation",), SCANNET),
    Query("the chair at the far end of the table from the door", "scan2cad-2", ("relation",), SCANNET),
    Query("the chair by the whiteboard that is closer to the door", "scan2cad-1", ("relation",), SCANNET),
    Query("the chair with a red bag on it", "scan2cad-1", ("attribute", "relation"), SCANNET),
    Query("the chair by the whiteboard farthest from the door", "scan2cad-6", ("relation",), SCANNET),
    Query("this is a black office chair. it is at the end of the round table, closest to the door.", "scan2cad-3",
          ("description", "relation"), SCANNET),
    Query("there is a black chair in the corner of the room. it is next to the window and the trash can.", "scan2cad-4",
          ("description", "relation"), SCANNET),
    Query("this is a round wooden table. it is against the wall with chairs on both sides of it.", "scan2cad-5",
          ("description", "attribute"), SCANNET),
    Query("a whiteboard hangs on the wall. two chairs stand below it.", "label30-0", ("description", "relation"), SCANNET),
    Query("it is a small trash can. it is on the floor in front of the window, near the door.", "scan2cad-0",
          ("description", "relation"), SCANNET),
    Query("this is a black chair with a red bag on its seat. it is in front of the whiteboard.", "scan2cad-1",
          ("description", "attribute", "relation"), SCANNET),
    Query("the office chair at the table on the side away from the door, by the wall.", "scan2cad-2",
          ("description", "relation"), SCANNET),
]
