"""The scene graph: every room element with its measured attributes, and the relations between
them, in JSON and in a compact text form for language-model prompts.

Built from a :class:`~sensors.room.RoomDescription` (what to describe) and the reconstruction's
coloured points (a :class:`~spatial.scene.Scene`'s mesh or cloud, or a bare mesh/cloud), all in
the room's world frame (z up, metres). ``left``/``right`` are as seen from :attr:`SceneGraph.viewpoint`:
a camera pose when one is given, else the room's entrance (its first door, looking in), else where
the scan started.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from sensors.errors import ConfigError
from sensors.room import RoomDescription, RoomElement

from ..scene.geometry import Mesh, PointCloud
from . import relations as rel
from .attributes import Attributes, measure
from .colors import exposure_gain
from .fixtures import wall_fixtures
from .options import GroundingOptions

STRUCTURE = ("wall", "door", "window", "opening", "floor")


@dataclass(eq=False)
class Node:
    """One element of the room (as given, in the input's frame), its
    :class:`~spatial.grounding.attributes.Attributes` and its
    :class:`~spatial.grounding.relations.Shape` (both measured in the gravity-aligned frame)."""

    element: RoomElement
    attributes: Attributes
    shape: rel.Shape

    @property
    def identifier(self) -> str:
        return self.element.identifier

    @property
    def name(self) -> str:
        """The category, or an uncategorised object's label ("object" without one)."""
        if self.element.is_object and self.element.category == "unknown":
            return self.element.label or "object"
        return self.element.category


@dataclass(frozen=True)
class Edge:
    """``subject`` ``predicate`` ``object`` (and ``object2`` for "between"), with the relation's
    score in [0, 1]; unary relations ("in_corner") have no object."""

    subject: str
    predicate: str
    object: str | None = None
    object2: str | None = None
    score: float = 1.0

    def to_dict(self) -> dict:
        d = {"subject": self.subject, "predicate": self.predicate, "score": round(self.score, 3)}
        if self.object is not None:
            d["object"] = self.object
        if self.object2 is not None:
            d["object2"] = self.object2
        return d


@dataclass(eq=False)
class SceneGraph:
    """Nodes (objects and structure), edges, the viewpoint for left/right, the room's corners
    (x–y), middle and radius, and what it was built from (``scene`` for keyframes, ``options``).
    :meth:`query` answers natural-language queries (:mod:`spatial.grounding.query`)."""

    nodes: list[Node]
    edges: list[Edge]
    viewpoint: rel.Viewpoint
    corners: np.ndarray
    middle: np.ndarray
    radius: float
    options: GroundingOptions
    scene: object | None = None
    build_s: float = 0.0
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def aliases(self) -> dict[str, str]:
        """Short names for prompts ("chair_2", "door_1"), numbered per category in identifier
        order, keyed by element identifier (room identifiers are often long UUIDs)."""
        if "aliases" not in self.cache:
            counts: dict[str, int] = {}
            names = {}
            for n in sorted(self.nodes, key=lambda n: (n.name, n.identifier)):
                k = counts[n.name] = counts.get(n.name, 0) + 1
                names[n.identifier] = f"{n.name.replace(' ', '_')}_{k}"
            self.cache["aliases"] = names
        return self.cache["aliases"]

    def node(self, identifier: str) -> Node:
        for n in self.nodes:
            if n.identifier == identifier:
                return n
        raise KeyError(identifier)

    @property
    def objects(self) -> list[Node]:
        return [n for n in self.nodes if n.element.is_object]

    def load_models(self) -> SceneGraph:
        """Load the configured models now rather than at the first query (to time queries
        alone, or to fail early on a missing model); returns the graph."""
        from .query import load_models

        load_models(self)
        return self

    def query(self, text: str, top_k: int = 5):
        """Ranked :class:`~spatial.grounding.query.QueryHit` for ``text`` (best first, at most
        ``top_k``; empty when nothing in the room fits)."""
        from .query import run_query

        return run_query(self, text, top_k)

    # -- serialisation ------------------------------------------------------------------------
    def to_json(self) -> dict:
        """A JSON-ready dict: viewpoint, nodes (identifier, category, label, score, centre,
        dimensions, yaw, 4x4 transform, attributes) and edges."""
        nodes = []
        for n in self.nodes:
            e, T = n.element, n.element.T_world_element
            nodes.append({
                "identifier": e.identifier, "category": e.category, "label": e.label or None,
                "score": e.score, "parent": e.parent, "is_open": e.is_open,
                "center_m": [round(float(v), 4) for v in T[:3, 3]],
                "dimensions_m": [round(v, 4) for v in e.dimensions_m],
                "yaw_deg": round(float(np.degrees(np.arctan2(T[1, 0], T[0, 0]))), 2),
                "transform": [[round(float(v), 6) for v in row] for row in T],
                "attributes": n.attributes.to_dict(),
            })
        vp = self.viewpoint
        return {
            "viewpoint": {"source": vp.source, "position_m": [round(float(v), 3) for v in vp.position],
                          "forward": [round(float(v), 4) for v in vp.forward]},
            "nodes": nodes,
            "edges": [e.to_dict() for e in self.edges],
        }

    def to_text(self) -> str:
        """The graph as a line per element, for a language model's prompt: :attr:`aliases` in
        square brackets, sizes in metres (width x depth x height), heights above the floor."""
        alias = self.aliases
        by_subject: dict[str, list[str]] = {}
        for e in self.edges:
            what = e.predicate.replace("_", " ")
            if e.object2 is not None:
                s = f"{what} [{alias[e.object]}] and [{alias[e.object2]}]"
            elif e.object is not None:
                s = f"{what} [{alias[e.object]}]"
            else:
                s = what
            by_subject.setdefault(e.subject, []).append(s)
        walls = sum(n.element.category == "wall" for n in self.nodes)
        source = self.viewpoint.source
        for ident, short in alias.items():
            source = source.replace(ident, short)
        lines = [f"Room seen from {source}; {walls} walls; sizes in metres (width x depth x height); "
                 "heights above the floor."]
        for n in sorted(self.nodes, key=lambda n: (n.element.category in STRUCTURE, n.identifier)):
            e, a = n.element, n.attributes
            w, d, h = e.dimensions_m
            parts = [f"[{alias[e.identifier]}]"]
            if e.score is not None and e.is_object:
                parts[0] += f" (p={e.score:.2f})"
            if e.category == "unknown":
                parts[0] += " (uncategorised)"
            if e.category == "door":
                parts.append("open" if e.is_open else "closed")
            parts.append(f"{w:.2f}x{d:.2f}x{h:.2f}" if e.is_object else f"{w:.2f} wide, {h:.2f} high")
            if a.colors:
                parts.append(" ".join(f"{c} {round(100 * s)}%" for c, s in a.colors))
            if e.is_object:
                parts.append(f"from {a.bottom_m:.2f} to {a.top_m:.2f} high, {a.footprint_shape}")
            elif e.category in ("window", "door", "opening"):
                parts.append(f"bottom {a.bottom_m:.2f} high" + (f", in [{alias[e.parent]}]" if e.parent in alias else ""))
            if n.identifier in by_subject:
                parts.append("; ".join(by_subject[n.identifier]))
            lines.append(", ".join(parts))
        return "\n".join(lines)


def _points(scene, geometry, max_points: int) -> tuple[np.ndarray, np.ndarray | None]:
    """World points (N, 3) and uint8 colours (N, 3) or None, at most ``max_points`` (an even
    stride, so the same scene gives the same sample)."""
    geo = geometry
    if geo is None and scene is not None:
        geo = scene.mesh if scene.mesh is not None and not scene.mesh.is_empty else scene.cloud
    if geo is None:
        return np.zeros((0, 3)), None
    if isinstance(geo, Mesh):
        xyz, rgb = geo.vertices, geo.vertex_colors
    elif isinstance(geo, PointCloud):
        xyz, rgb = geo.points, geo.colors
    else:
        raise ConfigError(f"geometry must be a Mesh or PointCloud, got {type(geo).__name__}")
    step = max(1, int(np.ceil(len(xyz) / max_points)))
    return np.asarray(xyz[::step], np.float64), None if rgb is None else np.asarray(rgb[::step])


def _floor_z(room: RoomDescription, xyz: np.ndarray) -> float:
    floors = [e for e in room.elements if e.category == "floor"]
    if floors:
        return float(min(e.T_world_element[2, 3] for e in floors))
    if len(xyz):
        return float(np.percentile(xyz[:, 2], 1))
    objects = [e for e in room.elements if e.is_object]
    return float(min((e.T_world_element[2, 3] - e.dimensions_m[2] / 2 for e in objects), default=0.0))


def _structure_mask(xyz: np.ndarray, room: RoomDescription) -> np.ndarray:
    """Points within 3 cm of a wall's surface (they colour the wall, not what stands at it)."""
    from ..scene.shapes import box_point_distance

    mask = np.zeros(len(xyz), bool)
    for e in room.elements:
        if e.category == "wall" and len(xyz):
            mask |= box_point_distance(xyz, e.T_world_element, e.dimensions_m) < 0.03
    return mask


def _gravity_alignment(room: RoomDescription) -> np.ndarray | None:
    """A rotation (4x4) taking the room's up (every element's local z) to world z, or ``None``
    when they agree within 1°."""
    if not room.elements:
        return None
    up = np.median([e.T_world_element[:3, 2] for e in room.elements], axis=0)
    up /= max(float(np.linalg.norm(up)), 1e-9)
    if up[2] > np.cos(np.radians(1.0)):
        return None
    from scipy.spatial.transform import Rotation

    R, _ = Rotation.align_vectors([[0.0, 0.0, 1.0]], [up])
    T = np.eye(4)
    T[:3, :3] = R.as_matrix()
    return T


def _is_entrance(door: RoomElement, room: RoomDescription) -> bool:
    """A door with floor on one side only (it leads out of the capture), not between two rooms."""
    from ..scene.shapes import points_in_polygon

    n = door.T_world_element[:2, 1] / max(float(np.linalg.norm(door.T_world_element[:2, 1])), 1e-9)
    probes = np.array([door.center_m[:2] + 0.4 * n, door.center_m[:2] - 0.4 * n])
    inside = np.zeros(2, bool)
    for f in room.of("floor"):
        if f.polygon_m:
            poly = np.asarray(f.polygon_m) @ f.T_world_element[:2, :2].T + f.T_world_element[:2, 3]
            inside |= points_in_polygon(probes, poly)
    return int(inside.sum()) == 1


def _viewpoint(shapes: dict[str, rel.Shape], room: RoomDescription, scene, middle: np.ndarray,
               camera: np.ndarray | None, T_up: np.ndarray | None) -> rel.Viewpoint:
    def unit(v):
        n = float(np.linalg.norm(v))
        return v / n if n > 1e-9 else np.array([0.0, 1.0])

    if camera is not None:
        T = np.asarray(camera, float)
        return rel.Viewpoint(T[:2, 3].copy(), unit(T[:2, 2]), "the given camera")
    doors = sorted((e for e in room.elements if e.category == "door"), key=lambda e: (not _is_entrance(e, room), e.identifier))
    if doors:
        s = shapes[doors[0].identifier]
        return rel.Viewpoint(s.center[:2].copy(), unit(s.normal), f"the entrance [{doors[0].identifier}]")
    if scene is not None and len(getattr(scene, "trajectory", ())):
        T = scene.trajectory.T_world_body[0] if T_up is None else T_up @ scene.trajectory.T_world_body[0]
        return rel.Viewpoint(T[:2, 3].copy(), unit(T[:2, 2]), "where the scan started")
    return rel.Viewpoint(middle - np.array([0.0, 1.0]), np.array([0.0, 1.0]), "the room's south side")


def build_graph(room: RoomDescription, scene=None, geometry: Mesh | PointCloud | None = None,
                options: GroundingOptions | None = None, camera: np.ndarray | None = None) -> SceneGraph:
    """The scene graph of ``room``, with colours and shapes measured on ``scene``'s map (or on
    ``geometry``); ``camera`` (a 4x4 ``T_world_camera``) sets the viewpoint for left/right.
    Every element must be in the world frame of the scene. When the room's up is not the world's
    z (room understanding levelled a map made without an IMU), attributes and relations are
    measured in a levelled copy; nodes keep the elements as given."""
    t0 = time.perf_counter()
    options = options or GroundingOptions()
    xyz, rgb = _points(scene, geometry, options.max_points)
    T_up = _gravity_alignment(room)
    originals = {e.identifier: e for e in room.elements}
    if T_up is not None:  # the room's up is not world z (a map without IMU): measure in a levelled frame
        room = room.transformed(T_up)
        xyz = xyz @ T_up[:3, :3].T + T_up[:3, 3]
        camera = None if camera is None else T_up @ np.asarray(camera, float)
    gain = exposure_gain(rgb) if rgb is not None else 1.0
    floor_z = _floor_z(room, xyz)
    fixtures = wall_fixtures(room, xyz, rgb, gain, floor_z) if options.wall_fixtures else []
    if fixtures:
        room = RoomDescription(room.elements + fixtures, room.identifier, room.sections, room.warnings)
        originals.update({e.identifier: e.transformed(np.linalg.inv(T_up)) if T_up is not None else e for e in fixtures})
    structure = _structure_mask(xyz, room)
    elements = sorted(room.elements, key=lambda e: (e.is_object, e.category, e.identifier))
    shapes = {e.identifier: rel.Shape.of(e) for e in elements}
    floor_xy = [e.T_world_element[:2, 3] for e in elements if e.category == "floor"]
    if floor_xy:
        middle = np.mean(floor_xy, axis=0)
    elif elements:
        middle = np.mean([s.center[:2] for s in shapes.values()], axis=0)
    else:
        middle = np.zeros(2)
    surfaces = [e.identifier for e in elements if e.category in ("wall", "door", "window", "opening")]
    shapes = rel.orient_surfaces(shapes, surfaces, middle)
    nodes = [Node(originals[e.identifier], measure(e, xyz, rgb, floor_z, gain, structure), shapes[e.identifier])
             for e in elements]
    walls = [n.shape for n in nodes if n.element.category == "wall"]
    corners = rel.corner_points(walls)
    wall_pts = np.concatenate([n.shape.footprint for n in nodes if n.element.category == "wall"] or [np.zeros((0, 2))])
    radius = float(np.max(np.linalg.norm(wall_pts - middle, axis=1))) if len(wall_pts) else 3.0
    view = _viewpoint(shapes, room, scene, middle, camera, T_up)
    edges = _edges(nodes, corners, options.edge_min_score)
    return SceneGraph(nodes, edges, view, corners, middle, radius, options, scene, time.perf_counter() - t0)


def _edges(nodes: list[Node], corners: np.ndarray, threshold: float) -> list[Edge]:
    """Relations worth stating: between objects (on, under, next to, facing, between) and from
    objects to structure (near a door or window, by a wall, in a corner)."""
    objs = [n for n in nodes if n.element.is_object]
    marks = [n for n in nodes if n.element.category in ("door", "window", "opening")]
    walls = [n for n in nodes if n.element.category == "wall"]
    out: list[Edge] = []
    for a in objs:
        if (s := rel.in_corner(a.shape, corners)) >= threshold:
            out.append(Edge(a.identifier, "in_corner", score=s))
        if walls and (s := max(rel.near(a.shape, w.shape, 0.25) for w in walls)) >= threshold:
            out.append(Edge(a.identifier, "by_wall", score=s))
        for b in objs:
            if a is b:
                continue
            for pred, f in (("on", rel.on), ("under", rel.under)):
                if (s := f(a.shape, b.shape)) >= threshold:
                    out.append(Edge(a.identifier, pred, b.identifier, score=s))
            if rel.gap(a.shape, b.shape) < 1.5 and (s := rel.facing(a.shape, b.shape)) >= max(threshold, 0.7):
                out.append(Edge(a.identifier, "facing", b.identifier, score=s))
            if (s := rel.near(a.shape, b.shape, 0.35)) >= threshold and rel.on(a.shape, b.shape) < threshold \
                    and rel.on(b.shape, a.shape) < threshold:
                out.append(Edge(a.identifier, "next_to", b.identifier, score=s))
        for m in marks:
            if (s := rel.near(a.shape, m.shape)) >= threshold:
                out.append(Edge(a.identifier, f"near_{m.element.category}", m.identifier, score=s))
            if (s := rel.under(a.shape, m.shape)) >= threshold:
                out.append(Edge(a.identifier, "under", m.identifier, score=s))
    for a, (b, c) in itertools.product(objs, itertools.combinations(objs, 2)):  # flanked closely on two sides
        if a is b or a is c or max(rel.gap(a.shape, b.shape), rel.gap(a.shape, c.shape)) > 1.0:
            continue
        if (s := rel.between(a.shape, b.shape, c.shape)) >= max(threshold, 0.8):
            out.append(Edge(a.identifier, "between", b.identifier, c.identifier, score=s))
    return out
