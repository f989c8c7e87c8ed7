"""Floor plans of a room description as SVG or PNG.

The plan is a top-down view of the SDK world's x–y plane (x right, world y up on the page) of
one story: walls as filled footprints (width x thickness) with their length along each wall on
the room side, doors as gaps with the leaf and a quarter-circle swing on the room side (open
doors labelled "open"), windows as a thin double line across the wall, openings as gaps with
dashed jambs, objects as their rotated footprints with their category, each floor filled with
its area in m² (and the label of a section whose centre lies on it), a 1 m scale bar, an
optional title and, when the room has several stories, which one is drawn.

The drawing is built once (:func:`build_floorplan`) as a :class:`FloorPlan`: a page size, the
:class:`PlanView` mapping world metres to page pixels, and a list of primitives (:class:`Polygon`,
:class:`Polyline`, :class:`Line`, :class:`Arc`, :class:`Text`) in page pixels (x right, y down).
Two small backends render it: :func:`render_svg` (self-contained SVG text, ``viewBox`` in pixels)
and :func:`render_png` (OpenCV, anti-aliased, drawn at 2x and downsampled).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import cv2
import numpy as np

from .errors import ConfigError
from .formats._atomic import atomic_path
from .room import RoomDescription, RoomElement, RoomSection

log = logging.getLogger(__name__)

FLOORPLAN_SUFFIXES = (".svg", ".png")
MARGIN_PX = 48.0  # around the drawn room, pixels
MIN_WALL_PX = 5.0  # drawn thickness of walls thinner than this (RoomPlan walls have depth 0)
MIN_PAGE_WIDTH_PX = 360
MAX_PAGE_PX = 8000  # the scale is lowered so that neither side of the page exceeds this
HOST_DISTANCE_M = 0.3  # a door/window/opening without a known parent belongs to a wall this close
EMPTY_EXTENT_M = (4.0, 3.0)  # page extent when there is nothing to draw
FONT_FAMILY = "DejaVu Sans, Helvetica, Arial, sans-serif"

Colour = tuple[int, int, int]  # RGB, 0-255
BACKGROUND: Colour = (255, 255, 255)
INK: Colour = (34, 34, 38)
MUTED: Colour = (120, 120, 126)
WALL_FILL: Colour = (58, 58, 64)
FLOOR_FILL: Colour = (245, 240, 229)
FLOOR_EDGE: Colour = (214, 204, 184)
OBJECT_FILL: Colour = (223, 231, 241)
OBJECT_EDGE: Colour = (106, 122, 150)
OBJECT_TEXT: Colour = (60, 72, 96)
DOOR: Colour = (150, 92, 40)
WINDOW: Colour = (40, 118, 200)
OPENING: Colour = (110, 110, 116)


# --- primitives (page pixels: x right, y down) ----------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How a shape is painted: ``stroke``/``fill`` colours (``None`` = not painted), the stroke
    width and an optional dash pattern (on, off), in pixels."""

    stroke: Colour | None = None
    fill: Colour | None = None
    width_px: float = 1.0
    dash_px: tuple[float, float] | None = None


@dataclass(frozen=True, eq=False)
class Polygon:
    """One shape of one or more closed rings, each (K, 2) pixels (even-odd fill)."""

    rings: tuple[np.ndarray, ...]
    style: Style
    role: str


@dataclass(frozen=True, eq=False)
class Polyline:
    """An open (N, 2) pixel path."""

    points: np.ndarray
    style: Style
    role: str


@dataclass(frozen=True, eq=False)
class Line:
    """A segment from ``a`` to ``b`` (pixels)."""

    a: np.ndarray
    b: np.ndarray
    style: Style
    role: str


@dataclass(frozen=True, eq=False)
class Arc:
    """A circular arc around ``centre`` (pixels) from ``start_deg`` through ``sweep_deg``; angles
    as on the page (y down), so a positive sweep turns clockwise on screen."""

    centre: np.ndarray
    radius_px: float
    start_deg: float
    sweep_deg: float
    style: Style
    role: str


@dataclass(frozen=True, eq=False)
class Text:
    """A line of text whose vertical middle sits at ``position`` (pixels); ``anchor`` is its
    horizontal alignment (start, middle, end) and ``rotation_deg`` turns it clockwise on screen
    about ``position``; ``size_px`` is the font size (em), pixels."""

    position: np.ndarray
    text: str
    size_px: float
    colour: Colour
    role: str
    anchor: str = "middle"
    rotation_deg: float = 0.0
    bold: bool = False
    halo: Colour | None = None  # an outline of this colour keeps it readable over other shapes


Primitive = Polygon | Polyline | Line | Arc | Text


@dataclass(frozen=True)
class PlanView:
    """World (SDK x, y; metres) → page pixels (x right, y down): ``x_px = (x - left_m) * scale``,
    ``y_px = (top_m - y) * scale``, so world y points up the page."""

    left_m: float
    top_m: float
    scale_px_per_m: float

    def to_px(self, xy_m) -> np.ndarray:
        """(N, 2) or (N, 3) world points (z ignored) → (N, 2) page pixels; a single point → (2,)."""
        p = np.asarray(xy_m, dtype=np.float64)
        flat = p.ndim == 1
        p = np.atleast_2d(p)[:, :2]
        px = np.column_stack([(p[:, 0] - self.left_m), (self.top_m - p[:, 1])]) * self.scale_px_per_m
        return px[0] if flat else px


@dataclass(eq=False)
class FloorPlan:
    """A drawing ready to render: page size (pixels), the world → page mapping, the story drawn,
    the stories present, and the primitives in painting order."""

    width_px: int
    height_px: int
    view: PlanView
    story: int
    stories: tuple[int, ...]
    primitives: list[Primitive] = field(default_factory=list)
    title: str | None = None


# --- public entry points --------------------------------------------------------------------------


def write_floorplan(room: RoomDescription, path: str | Path, story: int | None = None,
                    scale_px_per_m: float = 100, title: str | None = None) -> Path:
    """Draw ``room``'s ``story`` (default: the lowest present) at ``scale_px_per_m`` pixels per
    metre to ``path`` (``.svg`` or ``.png``), atomically. An unknown suffix, a non-positive
    scale or a story the room does not have raise :class:`ConfigError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FLOORPLAN_SUFFIXES:
        raise ConfigError(f"cannot draw a floor plan as '{suffix or path.name}': use one of "
                          f"{', '.join(FLOORPLAN_SUFFIXES)}", path)
    plan = build_floorplan(room, story, scale_px_per_m, title)
    if suffix == ".svg":
        data = render_svg(plan).encode("utf-8")
    else:
        ok, buf = cv2.imencode(".png", cv2.cvtColor(render_png(plan), cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"OpenCV could not encode the floor plan for {path}")
        data = buf.tobytes()
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def build_floorplan(room: RoomDescription, story: int | None = None, scale_px_per_m: float = 100,
                    title: str | None = None) -> FloorPlan:
    """The drawing of one story of ``room`` (see the module docstring), not yet rendered; its
    ``view`` maps world points to the page pixels of both renderings."""
    scale = _check_scale(scale_px_per_m)
    stories = room_stories(room)
    story = _pick_story(stories, story)
    elements = [e for e in room.elements if e.story == story]
    sections = [s for s in room.sections if s.story == story]
    floors = [e for e in elements if e.category == "floor"]
    centroids = [c for c in map(_floor_centroid_xy, floors) if c is not None]
    walls = [_wall_frame(e, centroids, MIN_WALL_PX / scale) for e in elements if e.category == "wall"]
    holes = [e for e in elements if e.category in ("door", "window", "opening")]
    objects = [e for e in elements if e.is_object]
    font = float(np.clip(0.12 * scale, 9.0, 16.0))
    header_px = (2.4 * font if title else 0.0) + (1.8 * font if len(stories) > 1 else 0.0)
    footer_px = 3.0 * font
    extent = _content_points(walls, floors, objects, sections)
    plan, scale = _page(extent, scale, header_px, footer_px)
    plan.story, plan.stories, plan.title = story, stories, title
    hosted = [(h, _host(h, walls, centroids, MIN_WALL_PX / scale)) for h in holes]
    plan.primitives += _floor_primitives(floors, sections, plan.view, font)
    plan.primitives += _object_primitives(objects, plan.view, font)
    plan.primitives += _wall_primitives(walls, hosted, plan.view)
    plan.primitives += [p for h, f in hosted for p in _hole_primitives(h, f, plan.view, font)]
    plan.primitives += [_wall_length(f, plan.view, font) for f in walls]
    plan.primitives += _frame_primitives(plan, font, header_px, footer_px, has_walls=bool(walls))
    return plan


def room_stories(room: RoomDescription) -> tuple[int, ...]:
    """The stories of ``room``'s elements and sections, ascending (empty for an empty room)."""
    return tuple(sorted({e.story for e in room.elements} | {s.story for s in room.sections}))


# --- geometry -------------------------------------------------------------------------------------


def floor_outline_m(element: RoomElement) -> np.ndarray:
    """(K, 2) counter-clockwise outline of a floor in its local (x, y), metres: its polygon, or
    the rectangle of its width x depth when it has none."""
    if element.polygon_m:
        poly = np.asarray(element.polygon_m, dtype=np.float64)
    else:
        w, d, _ = element.dimensions_m
        poly = np.array([[-w, -d], [w, -d], [w, d], [-w, d]], dtype=np.float64) / 2
    if len(poly) >= 3 and cv2.contourArea(poly.astype(np.float32), oriented=True) < 0:
        poly = poly[::-1]
    return poly


def floor_area_m2(element: RoomElement) -> float:
    """Area of a floor's outline (:func:`floor_outline_m`) in square metres."""
    outline = floor_outline_m(element)
    return float(cv2.contourArea(outline.astype(np.float32))) if len(outline) >= 3 else 0.0


def _local_to_world_xy(element: RoomElement, local_xy: np.ndarray) -> np.ndarray:
    """(N, 2) points of the element's local x–y plane (z = 0) → (N, 2) world x, y, metres."""
    local = np.asarray(local_xy, dtype=np.float64).reshape(-1, 2)
    T = element.T_world_element
    return local @ T[:2, :2].T + T[:2, 3]


def _world_to_local_xy(element: RoomElement, point_m) -> np.ndarray:
    """A world point (x, y, z) → the element's local (x, y), metres."""
    T = element.T_world_element
    return (T[:3, :3].T @ (np.asarray(point_m, dtype=np.float64) - T[:3, 3]))[:2]


def _footprint_m(element: RoomElement) -> np.ndarray:
    """(4, 2) world x, y of the element's width x depth rectangle (its footprint), metres."""
    w, d, _ = element.dimensions_m
    return _local_to_world_xy(element, np.array([[-w, -d], [w, -d], [w, d], [-w, d]]) / 2)


def _label_point_local(outline: np.ndarray) -> np.ndarray:
    """Where to write a floor's label, in its local (x, y): the outline's centroid, or the point
    farthest inside it when the centroid falls outside (an L-shaped room)."""
    poly = outline.astype(np.float32)
    m = cv2.moments(poly)
    centroid = np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])
    if cv2.pointPolygonTest(poly, (float(centroid[0]), float(centroid[1])), True) > 0.3:
        return centroid
    res = 0.02  # metres per raster cell
    lo = outline.min(0) - res
    size = np.ceil((outline.max(0) - lo) / res).astype(int) + 2
    mask = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(mask, [np.round((outline - lo) / res).astype(np.int32)], 255)
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return lo + np.array([col, row]) * res


@dataclass(frozen=True, eq=False)
class _WallFrame:
    """A wall seen from above: ``centre`` (world x, y, metres), unit ``u`` along its width, unit
    ``n`` towards the room side, its ``length`` and drawn ``thickness`` (metres)."""

    element: RoomElement
    centre: np.ndarray
    u: np.ndarray
    n: np.ndarray
    length: float
    thickness: float

    def point(self, s: float, d: float) -> np.ndarray:
        """The world x, y at ``s`` metres along the wall from its centre, ``d`` towards the room."""
        return self.centre + self.u * s + self.n * d

    def rect(self, s0: float, s1: float, d0: float, d1: float) -> np.ndarray:
        """(4, 2) world corners of the band [s0, s1] along x [d0, d1] across the wall."""
        return np.array([self.point(s0, d0), self.point(s1, d0), self.point(s1, d1), self.point(s0, d1)])

    def along(self, element: RoomElement) -> tuple[float, float]:
        """The interval (metres from the centre) an element in this wall spans, clipped to it."""
        s = float((element.center_m[:2] - self.centre) @ self.u)
        half = element.dimensions_m[0] / 2
        return max(s - half, -self.length / 2), min(s + half, self.length / 2)


def _unit(v: np.ndarray, fallback) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-9 else np.asarray(fallback, dtype=np.float64)


def _floor_centroid_xy(floor: RoomElement) -> np.ndarray | None:
    """World x, y (metres) of the centroid of a floor's outline; ``None`` when it has no area."""
    m = cv2.moments(floor_outline_m(floor).astype(np.float32))
    if m["m00"] <= 0:
        return None
    return _local_to_world_xy(floor, np.array([m["m10"], m["m01"]]) / m["m00"])[0]


def _wall_frame(element: RoomElement, centroids: list[np.ndarray], min_thickness_m: float) -> _WallFrame:
    """The plan frame of a wall (or of a door/window/opening drawn on its own). The room side is
    the local +y, except for a zero-thickness wall, whose normal may point either way: there the
    nearest of the floors' ``centroids`` (world x, y) decides."""
    T = element.T_world_element
    u = _unit(T[:2, 0], (1.0, 0.0))
    n = _unit(T[:2, 1], (-u[1], u[0]))
    centre = T[:2, 3].copy()
    width, depth, _ = element.dimensions_m
    if depth <= 0 and centroids:
        nearest = min(centroids, key=lambda c: float(np.linalg.norm(c - centre)))
        if float((nearest - centre) @ n) < 0:
            n = -n
    return _WallFrame(element, centre, u, n, float(width), max(float(depth), min_thickness_m))


def _host(hole: RoomElement, walls: list[_WallFrame], centroids: list[np.ndarray], min_thickness_m: float) -> _WallFrame:
    """The wall a door/window/opening sits in: its ``parent``, else the nearest parallel wall
    within :data:`HOST_DISTANCE_M` whose span covers it, else a frame of its own."""
    for f in walls:
        if hole.parent is not None and f.element.identifier == hole.parent:
            return f
    c = hole.center_m[:2]
    u = _unit(hole.T_world_element[:2, 0], (1.0, 0.0))
    best, best_d = None, HOST_DISTANCE_M
    for f in walls:
        d = abs(float((c - f.centre) @ f.n))
        if abs(float(u @ f.u)) > 0.9 and abs(float((c - f.centre) @ f.u)) <= f.length / 2 and d <= best_d:
            best, best_d = f, d
    return best if best is not None else _wall_frame(hole, centroids, min_thickness_m)


# --- page layout ----------------------------------------------------------------------------------


def _check_scale(scale_px_per_m) -> float:
    try:
        scale = float(scale_px_per_m)
    except (TypeError, ValueError):
        raise ConfigError(f"scale_px_per_m must be a number of pixels per metre, got {scale_px_per_m!r}") from None
    if not math.isfinite(scale) or scale <= 0:
        raise ConfigError(f"scale_px_per_m must be a positive number of pixels per metre, got {scale_px_per_m!r}")
    return scale


def _pick_story(stories: tuple[int, ...], story: int | None) -> int:
    if story is None:
        return stories[0] if stories else 0
    if stories and story not in stories:
        raise ConfigError(f"the room has no story {story}; its stories are {', '.join(map(str, stories))}")
    return int(story)


def _content_points(walls: list[_WallFrame], floors: list[RoomElement], objects: list[RoomElement],
                    sections: list[RoomSection]) -> np.ndarray:
    """(N, 2) world x, y of everything drawn, metres (to frame the page)."""
    pts = [f.rect(-f.length / 2, f.length / 2, -f.thickness / 2, f.thickness / 2) for f in walls]
    pts += [_local_to_world_xy(f, floor_outline_m(f)) for f in floors]
    pts += [_footprint_m(o) for o in objects]
    pts += [np.array([s.center_m[:2]]) for s in sections]
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def _page(points_m: np.ndarray, scale: float, header_px: float, footer_px: float) -> tuple[FloorPlan, float]:
    """An empty :class:`FloorPlan` framing ``points_m`` with margins, and the scale used (lowered
    when the page would exceed :data:`MAX_PAGE_PX`)."""
    if len(points_m):
        lo, hi = points_m.min(0), points_m.max(0)
    else:
        lo, hi = -np.array(EMPTY_EXTENT_M) / 2, np.array(EMPTY_EXTENT_M) / 2
    extent = np.maximum(hi - lo, 1e-3)
    fixed = np.array([2 * MARGIN_PX, 2 * MARGIN_PX + header_px + footer_px])
    fit = float(np.min((MAX_PAGE_PX - fixed) / extent))
    if scale > fit:
        log.warning("floor plan: %.3g px/m would make a page wider than %d px; drawing at %.3g px/m",
                    scale, MAX_PAGE_PX, fit)
        scale = fit
    width = max(math.ceil(extent[0] * scale + fixed[0]), MIN_PAGE_WIDTH_PX)
    height = math.ceil(extent[1] * scale + fixed[1])
    left = lo[0] - (width - extent[0] * scale) / 2 / scale
    top = hi[1] + (MARGIN_PX + header_px) / scale
    return FloorPlan(width, height, PlanView(float(left), float(top), scale), 0, ()), scale


# --- drawing --------------------------------------------------------------------------------------


def _humanise(name: str) -> str:
    """``washerDryer`` → ``washer dryer``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


def _floor_primitives(floors: list[RoomElement], sections: list[RoomSection], view: PlanView,
                      font: float) -> list[Primitive]:
    """Each floor filled lightly, its area (m²) and the labels of the sections on it."""
    out: list[Primitive] = []
    for f in floors:
        outline = floor_outline_m(f)
        if len(outline) < 3:
            continue
        out.append(Polygon((view.to_px(_local_to_world_xy(f, outline)),), Style(FLOOR_EDGE, FLOOR_FILL, 1.0), "floor"))
        area = floor_area_m2(f)
        if area <= 0:
            continue
        anchor = view.to_px(_local_to_world_xy(f, _label_point_local(outline))[0])
        poly = outline.astype(np.float32)
        names = [_humanise(s.label) for s in sections
                 if cv2.pointPolygonTest(poly, tuple(map(float, _world_to_local_xy(f, s.center_m))), False) >= 0]
        if names:
            out.append(Text(anchor - (0, 1.3 * font), ", ".join(names), 1.1 * font, INK, "section-label", bold=True,
                            halo=FLOOR_FILL))
        out.append(Text(anchor, f"{area:.1f} m²", font, MUTED, "floor-area", halo=FLOOR_FILL))
    return out


def _object_label(element: RoomElement) -> str:
    if element.category == "unknown":
        return element.label or "object"
    return _humanise(element.category)


def _object_primitives(objects: list[RoomElement], view: PlanView, font: float) -> list[Primitive]:
    """Each object's rotated footprint and its category (or label) fitted inside it."""
    out: list[Primitive] = []
    for o in objects:
        corners = view.to_px(_footprint_m(o))
        out.append(Polygon((corners,), Style(OBJECT_EDGE, OBJECT_FILL, 1.0), "object"))
        text = _object_label(o)
        span = max(o.dimensions_m[0], o.dimensions_m[1]) * view.scale_px_per_m
        size = float(np.clip(span / (0.62 * max(len(text), 1)), 7.0, 0.85 * font))
        out.append(Text(corners.mean(0), text, size, OBJECT_TEXT, "object-label"))
    return out


def _wall_primitives(walls: list[_WallFrame], hosted: list[tuple[RoomElement, _WallFrame]],
                     view: PlanView) -> list[Primitive]:
    """One filled shape per wall: its footprint minus the gaps of its doors, windows, openings."""
    out: list[Primitive] = []
    for f in walls:
        gaps = sorted(f.along(h) for h, host in hosted if host is f)
        pieces, s = [], -f.length / 2 - _corner_extension(f, -1, walls)
        for g0, g1 in gaps:
            if g0 > s:
                pieces.append((s, g0))
            s = max(s, g1)
        end = f.length / 2 + _corner_extension(f, 1, walls)
        if s < end:
            pieces.append((s, end))
        rings = tuple(view.to_px(f.rect(a, b, -f.thickness / 2, f.thickness / 2)) for a, b in pieces if b - a > 1e-6)
        out.append(Polygon(rings, Style(None, WALL_FILL), "wall"))
    return out


def _corner_extension(f: _WallFrame, side: int, walls: list[_WallFrame]) -> float:
    """How far (metres) to draw wall ``f`` past its ``side`` end (-1 or +1) so that it closes
    the corner with a crossing wall whose centre line its end reaches (walls measured along
    their inner face stop short of the corner square); 0 when no wall meets that end."""
    p, direction = f.point(side * f.length / 2, 0.0), side * f.u
    best = None
    for g in walls:
        cos = float(direction @ g.n)
        if g is f or abs(cos) < 0.5:
            continue
        dist = float((g.centre - p) @ g.n) / cos  # along ``direction`` to g's centre line
        reach = g.thickness / 2 / abs(cos)
        meets = abs(float((p + direction * dist - g.centre) @ g.u)) <= g.length / 2 + f.thickness + 0.05
        if meets and -0.05 <= dist <= reach + 0.05 and (best is None or abs(dist) < abs(best[0])):
            best = (dist, dist + reach)
    return max(best[1], 0.0) if best else 0.0


def _wall_length(f: _WallFrame, view: PlanView, font: float) -> Text:
    """The wall's length ("4.52 m") along it, just off its face on the room side."""
    offset_m = f.thickness / 2 + 0.9 * font / view.scale_px_per_m
    return Text(view.to_px(f.point(0.0, offset_m)), f"{f.length:.2f} m", font, INK, "wall-length",
                rotation_deg=_reading_angle(f.u), halo=FLOOR_FILL)


def _reading_angle(u: np.ndarray) -> float:
    """Page rotation (degrees, clockwise on screen) of text running along world direction ``u``,
    turned so that it never reads upside down."""
    angle = math.degrees(math.atan2(-u[1], u[0]))  # page y points down
    if angle > 90:
        angle -= 180
    elif angle <= -90:
        angle += 180
    return angle


def _page_angle(v_px: np.ndarray) -> float:
    return math.degrees(math.atan2(v_px[1], v_px[0]))


def _hole_primitives(hole: RoomElement, f: _WallFrame, view: PlanView, font: float) -> list[Primitive]:
    s0, s1 = f.along(hole)
    if s1 - s0 <= 1e-6:
        return []
    if hole.category == "door":
        return _door(hole, f, s0, s1, view, font)
    if hole.category == "window":
        return _window(f, s0, s1, view)
    return _opening(f, s0, s1, view)


def _door(door: RoomElement, f: _WallFrame, s0: float, s1: float, view: PlanView, font: float) -> list[Primitive]:
    """Leaf opened 90° into the room from the hinge at ``s0`` and its quarter-circle swing."""
    width = s1 - s0
    hinge = f.point(s0, f.thickness / 2)
    h, tip, shut = view.to_px(np.array([hinge, hinge + f.n * width, f.point(s1, f.thickness / 2)]))
    start, end = _page_angle(tip - h), _page_angle(shut - h)
    sweep = (end - start + 180.0) % 360.0 - 180.0
    out: list[Primitive] = [
        Line(h, tip, Style(DOOR, None, 2.0), "door-leaf"),
        Arc(h, width * view.scale_px_per_m, start, sweep, Style(DOOR, None, 1.0), "door-swing"),
    ]
    if door.is_open:
        label = view.to_px(hinge + (f.u + f.n) * width * 0.38)
        out.append(Text(label, "open", 0.75 * font, DOOR, "door-label"))
    return out


def _window(f: _WallFrame, s0: float, s1: float, view: PlanView) -> list[Primitive]:
    """Jambs across the wall at both ends and two thin glazing lines between them."""
    t = f.thickness / 2
    style = Style(WINDOW, None, 1.2)
    segments = [(f.point(s0, -t), f.point(s0, t)), (f.point(s1, -t), f.point(s1, t)),
                (f.point(s0, -t / 3), f.point(s1, -t / 3)), (f.point(s0, t / 3), f.point(s1, t / 3))]
    return [Line(view.to_px(a), view.to_px(b), style, "window") for a, b in segments]


def _opening(f: _WallFrame, s0: float, s1: float, view: PlanView) -> list[Primitive]:
    """Dashed jambs across the wall (a little beyond its faces) at both ends of the gap."""
    t = f.thickness / 2 + 4.0 / view.scale_px_per_m
    style = Style(OPENING, None, 1.2, (3.0, 2.0))
    return [Line(view.to_px(f.point(s, -t)), view.to_px(f.point(s, t)), style, "opening") for s in (s0, s1)]


def _frame_primitives(plan: FloorPlan, font: float, header_px: float, footer_px: float,
                      has_walls: bool) -> list[Primitive]:
    """Title, story, the 1 m scale bar and, without walls, the "no walls found" message."""
    out: list[Primitive] = []
    y = MARGIN_PX / 2 + font
    if plan.title:
        out.append(Text(np.array([MARGIN_PX / 2, y]), plan.title, 1.5 * font, INK, "title", "start", bold=True))
        y += 2.4 * font
    if len(plan.stories) > 1:
        others = ", ".join(map(str, plan.stories))
        out.append(Text(np.array([MARGIN_PX / 2, y]), f"story {plan.story} (stories {others})", font, MUTED,
                        "story", "start"))
    out += _scale_bar(plan, font, footer_px)
    if not has_walls:
        middle = np.array([plan.width_px / 2, (header_px + plan.height_px - footer_px) / 2])
        out.append(Text(middle, "no walls found", 1.3 * font, MUTED, "message"))
    return out


def _scale_bar(plan: FloorPlan, font: float, footer_px: float) -> list[Primitive]:
    """A 1 m bar with end ticks at the bottom left, labelled "1 m"."""
    x0, y = MARGIN_PX / 2, plan.height_px - MARGIN_PX / 2 - 0.2 * footer_px
    x1 = x0 + plan.view.scale_px_per_m
    tick = 0.4 * font
    style = Style(INK, None, 1.5)
    return [
        Line(np.array([x0, y]), np.array([x1, y]), style, "scale-bar"),
        Line(np.array([x0, y - tick]), np.array([x0, y + tick]), style, "scale-bar"),
        Line(np.array([x1, y - tick]), np.array([x1, y + tick]), style, "scale-bar"),
        Text(np.array([(x0 + x1) / 2, y - 1.1 * font]), "1 m", 0.9 * font, INK, "scale-bar"),
    ]


# --- SVG backend ----------------------------------------------------------------------------------


def render_svg(plan: FloorPlan) -> str:
    """The drawing as a self-contained SVG document (``viewBox`` in page pixels, generic fonts,
    no external resources); each shape's ``class`` names its role (wall, door-swing, …)."""
    w, h = plan.width_px, plan.height_px
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family={quoteattr(FONT_FAMILY)}>',
        f"<title>{escape(_xml_text(plan.title or 'floor plan'))}</title>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="{_hex(BACKGROUND)}"/>',
    ]
    lines += [_SVG[type(p)](p) for p in plan.primitives]
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def _hex(c: Colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if math.isfinite(v) else "0"


def _xml_text(text: str) -> str:
    """Text without the control characters XML 1.0 forbids."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)


def _svg_style(s: Style, role: str) -> str:
    parts = [f'class="{role}"', f'fill="{_hex(s.fill)}"' if s.fill else 'fill="none"']
    if s.stroke:
        parts += [f'stroke="{_hex(s.stroke)}"', f'stroke-width="{_num(s.width_px)}"', 'stroke-linecap="round"',
                  'stroke-linejoin="round"']
    if s.dash_px:
        parts.append(f'stroke-dasharray="{_num(s.dash_px[0])} {_num(s.dash_px[1])}"')
    return " ".join(parts)


def _svg_points(points: np.ndarray) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def _svg_polygon(p: Polygon) -> str:
    d = " ".join(f"M {_svg_points(ring)} Z" for ring in p.rings if len(ring))
    return f'<path d="{d}" fill-rule="evenodd" {_svg_style(p.style, p.role)}/>'


def _svg_polyline(p: Polyline) -> str:
    return f'<polyline points="{_svg_points(p.points)}" {_svg_style(p.style, p.role)}/>'


def _svg_line(p: Line) -> str:
    (x1, y1), (x2, y2) = p.a, p.b
    return f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" {_svg_style(p.style, p.role)}/>'


def _svg_arc(p: Arc) -> str:
    (a, b) = (np.radians(p.start_deg), np.radians(p.start_deg + p.sweep_deg))
    x0, y0 = p.centre + p.radius_px * np.array([math.cos(a), math.sin(a)])
    x1, y1 = p.centre + p.radius_px * np.array([math.cos(b), math.sin(b)])
    r, large, sweep = _num(p.radius_px), int(abs(p.sweep_deg) > 180), int(p.sweep_deg > 0)
    d = f"M {_num(x0)},{_num(y0)} A {r} {r} 0 {large} {sweep} {_num(x1)},{_num(y1)}"
    return f'<path d="{d}" {_svg_style(p.style, p.role)}/>'


def _svg_text(p: Text) -> str:
    x, y = p.position
    attrs = [f'class="{p.role}"', f'x="{_num(x)}"', f'y="{_num(y + 0.35 * p.size_px)}"',
             f'font-size="{_num(p.size_px)}"', f'text-anchor="{p.anchor}"', f'fill="{_hex(p.colour)}"']
    if p.bold:
        attrs.append('font-weight="bold"')
    if p.halo:
        attrs.append(f'stroke="{_hex(p.halo)}" stroke-width="{_num(0.3 * p.size_px)}" stroke-linejoin="round" '
                     'paint-order="stroke"')
    if p.rotation_deg:
        attrs.append(f'transform="rotate({_num(p.rotation_deg)} {_num(x)} {_num(y)})"')
    return f"<text {' '.join(attrs)}>{escape(_xml_text(p.text))}</text>"


_SVG = {Polygon: _svg_polygon, Polyline: _svg_polyline, Line: _svg_line, Arc: _svg_arc, Text: _svg_text}


# --- PNG backend (OpenCV) -------------------------------------------------------------------------

_SHIFT = 4  # fractional bits of OpenCV's sub-pixel drawing
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def render_png(plan: FloorPlan, supersample: int = 2) -> np.ndarray:
    """The drawing as an (H, W, 3) uint8 RGB image, drawn ``supersample`` times larger with
    anti-aliased OpenCV primitives and reduced to the page size."""
    k = supersample if plan.width_px * plan.height_px * supersample**2 <= 64e6 else 1
    img = np.empty((plan.height_px * k, plan.width_px * k, 3), np.uint8)
    img[:] = BACKGROUND
    for p in plan.primitives:
        _CV[type(p)](img, p, k)
    if k > 1:
        img = cv2.resize(img, (plan.width_px, plan.height_px), interpolation=cv2.INTER_AREA)
    return img


def _fixed(points: np.ndarray, k: int) -> np.ndarray:
    """Pixel coordinates (at ``k`` x) as OpenCV's fixed-point int32 (``_SHIFT`` fractional bits)."""
    return np.round(np.asarray(points, dtype=np.float64).reshape(-1, 2) * k * (1 << _SHIFT)).astype(np.int32)


def _thickness(s: Style, k: int) -> int:
    return max(1, round(s.width_px * k))


def _dashes(points: np.ndarray, on: float, off: float) -> list[np.ndarray]:
    """The "on" pieces of a dashed path (N, 2), in the same units as ``on``/``off``."""
    pieces, t, drawing, left = [], 0.0, True, on
    current = [points[0]]
    for a, b in itertools.pairwise(points):
        seg = float(np.linalg.norm(b - a))
        t = 0.0
        while seg - t > left:
            t += left
            p = a + (b - a) * (t / seg)
            if drawing:
                pieces.append(np.array([*current, p]))
            current, drawing = [p], not drawing
            left = on if drawing else off
        left -= seg - t
        current.append(b)
    if drawing and len(current) > 1:
        pieces.append(np.array(current))
    return pieces


def _cv_path(img: np.ndarray, points: np.ndarray, s: Style, k: int, closed: bool = False) -> None:
    if s.stroke is None or len(points) < 2:
        return
    points = np.asarray(points, dtype=np.float64)
    if closed:
        points = np.vstack([points, points[:1]])
    paths = _dashes(points, *s.dash_px) if s.dash_px else [points]
    for path in paths:
        cv2.polylines(img, [_fixed(path, k)], False, s.stroke, _thickness(s, k), cv2.LINE_AA, _SHIFT)


def _cv_polygon(img: np.ndarray, p: Polygon, k: int) -> None:
    rings = [_fixed(r, k) for r in p.rings if len(r) >= 3]
    if p.style.fill is not None and rings:
        cv2.fillPoly(img, rings, p.style.fill, cv2.LINE_AA, _SHIFT)
    for ring in p.rings:
        _cv_path(img, ring, p.style, k, closed=True)


def _cv_polyline(img: np.ndarray, p: Polyline, k: int) -> None:
    _cv_path(img, p.points, p.style, k)


def _cv_line(img: np.ndarray, p: Line, k: int) -> None:
    _cv_path(img, np.array([p.a, p.b]), p.style, k)


def _cv_arc(img: np.ndarray, p: Arc, k: int) -> None:
    steps = max(8, int(abs(p.sweep_deg) / 4))
    angles = np.radians(p.start_deg + np.linspace(0.0, p.sweep_deg, steps + 1))
    _cv_path(img, p.centre + p.radius_px * np.column_stack([np.cos(angles), np.sin(angles)]), p.style, k)


def _ascii(text: str) -> str:
    """OpenCV's fonts are ASCII only: accents dropped, "²" → "2", anything else → "?"."""
    out = []
    for ch in _xml_text(text):
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append(ch if ch.isascii() else (plain or "?"))
    return "".join(out)


def _cv_text(img: np.ndarray, p: Text, k: int) -> None:
    """Text drawn into a mask, rotated about its anchor and blended into ``img``."""
    text = _ascii(p.text)
    if not text.strip():
        return
    weight = max(1, round(p.size_px * k / 14)) + (1 if p.bold else 0)
    scale = cv2.getFontScaleFromHeight(_FONT, max(1, round(0.72 * p.size_px * k)), weight)
    (w, h), base = cv2.getTextSize(text, _FONT, scale, weight)
    pad = weight + 2
    mask = np.zeros((h + base + 2 * pad, w + 2 * pad), np.uint8)
    cv2.putText(mask, text, (pad, pad + h), _FONT, scale, 255, weight, cv2.LINE_AA)
    anchor = np.array([pad + w * {"start": 0.0, "middle": 0.5, "end": 1.0}[p.anchor], pad + h / 2])
    half = math.ceil(math.hypot(*mask.shape)) + 1
    M = cv2.getRotationMatrix2D((float(anchor[0]), float(anchor[1])), -p.rotation_deg, 1.0)
    target = np.asarray(p.position, dtype=np.float64) * k
    origin = np.floor(target).astype(int) - half
    M[:, 2] += target - origin - anchor
    alpha = cv2.warpAffine(mask, M, (2 * half, 2 * half), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    if p.halo:
        radius = max(1, round(0.15 * p.size_px * k))
        _blend(img, cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)),
               origin, p.halo)
    _blend(img, alpha, origin, p.colour)


def _blend(img: np.ndarray, alpha: np.ndarray, origin: np.ndarray, colour: Colour) -> None:
    """Paint ``colour`` into ``img`` with coverage ``alpha`` whose top-left pixel is ``origin``
    (x, y), clipped to the image."""
    x0, y0 = max(origin[0], 0), max(origin[1], 0)
    x1, y1 = min(origin[0] + alpha.shape[1], img.shape[1]), min(origin[1] + alpha.shape[0], img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - origin[1]:y1 - origin[1], x0 - origin[0]:x1 - origin[0], None]
    roi = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = np.round(roi * (1 - a) + np.array(colour, np.float32) * a).astype(np.uint8)


_CV = {Polygon: _cv_polygon, Polyline: _cv_polyline, Line: _cv_line, Arc: _cv_arc, Text: _cv_text}
