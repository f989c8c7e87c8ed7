"""Room descriptions: walls, doors, windows, openings, floors and objects as oriented boxes.

One schema serves the simulator's ground truth and room understanding's output, so evaluation
compares like with like. In memory everything is in the SDK world (z-up, metres); each element
has a pose ``T_world_element`` whose local axes are x = width, y = depth (thickness, the wall
normal for surfaces), z = height, with the origin at the box centre.

On disk (:meth:`RoomDescription.to_json`) the shape is that of Apple RoomPlan's ``CapturedRoom``
JSON: ``walls``/``doors``/``windows``/``openings``/``floors``/``objects`` lists whose entries carry
``identifier``, ``category`` (``{"door": {"isOpen": true}}`` style), ``dimensions`` (width,
height, depth), a column-major 4x4 ``transform`` in ARKit's y-up world, ``confidence``
(``{"high": {}}``) and ``parentIdentifier``. Conversion lives in :mod:`sensors.frames`.

Extensions beyond RoomPlan (all optional, so RoomPlan-shaped files still load):

* objects that fit none of RoomPlan's 16 categories keep the category :data:`UNCATEGORISED`
  (``{"unknown": {}}``) instead of being dropped; ``label`` is a free-text name for them (the
  grounding layer fills it) and ``score`` the classifier's probability of ``category`` in [0, 1];
* ``sections`` (RoomPlan 2's ``CapturedRoom.Section``): a label per room of the capture
  (bedroom, kitchen, …), its centre and story;
* ``warnings``: what room understanding could not do (no floor in view, one wall only, …).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import FormatError
from .frames import (
    box_pose_arkit_to_sdk,
    box_pose_sdk_to_arkit,
    dims_arkit_to_sdk,
    dims_sdk_to_arkit,
    points_arkit_to_sdk,
    points_sdk_to_arkit,
)
from .types import as_transform

SURFACE_CATEGORIES = ("wall", "door", "window", "opening", "floor")
OBJECT_CATEGORIES = (
    "bathtub", "bed", "chair", "dishwasher", "fireplace", "oven", "refrigerator", "sink", "sofa",
    "stairs", "storage", "stove", "table", "television", "toilet", "washerDryer",
)
UNCATEGORISED = "unknown"  # an object instance none of the 16 categories fits
CONFIDENCES = ("low", "medium", "high")
SECTION_LABELS = ("bedroom", "bathroom", "kitchen", "livingRoom", "diningRoom", "unidentified")
SCHEMA_VERSION = 3


@dataclass(frozen=True, eq=False)
class RoomElement:
    """A wall, door, window, opening, floor or object: a category and an oriented box.

    ``dimensions_m`` = (width, depth, height) along the local x, y, z axes (depth is 0 for
    surfaces in RoomPlan; walls carry their thickness). ``T_world_element`` is its pose.
    ``parent`` is the identifier of the wall holding a door/window/opening. ``score``: the
    probability in [0, 1] of ``category`` given by the classifier that chose it (``None`` for
    ground truth); ``label``: a free-text name (objects of category :data:`UNCATEGORISED`).
    """

    identifier: str
    category: str
    dimensions_m: tuple[float, float, float]
    T_world_element: np.ndarray
    confidence: str = "high"
    parent: str | None = None
    is_open: bool | None = None  # doors only
    polygon_m: tuple[tuple[float, float], ...] = ()  # floors: outline in local (x, y), metres
    story: int = 0
    score: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.category not in SURFACE_CATEGORIES + OBJECT_CATEGORIES + (UNCATEGORISED,):
            raise FormatError(f"unknown room element category '{self.category}'")
        if self.confidence not in CONFIDENCES:
            raise FormatError(f"confidence must be one of {CONFIDENCES}, got '{self.confidence}'")
        dims = tuple(float(d) for d in self.dimensions_m)
        if len(dims) != 3 or any(not np.isfinite(d) or d < 0 for d in dims):
            raise FormatError(f"{self.category} {self.identifier}: dimensions must be 3 non-negative metres, got {dims}")
        object.__setattr__(self, "dimensions_m", dims)
        if self.score is not None:
            score = float(self.score)
            if not 0.0 <= score <= 1.0:
                raise FormatError(f"{self.category} {self.identifier}: score must lie in [0, 1], got {self.score!r}")
            object.__setattr__(self, "score", score)
        object.__setattr__(self, "T_world_element", as_transform(self.T_world_element, f"{self.category} transform"))

    @property
    def center_m(self) -> np.ndarray:
        return self.T_world_element[:3, 3].copy()

    @property
    def is_object(self) -> bool:
        """An object (one of the 16 categories or :data:`UNCATEGORISED`), not a surface."""
        return self.category not in SURFACE_CATEGORIES

    def transformed(self, T: np.ndarray) -> RoomElement:
        """This element with its pose mapped by the rigid 4x4 ``T`` (``T_new_world``)."""
        from dataclasses import replace

        return replace(self, T_world_element=as_transform(T, "room transform") @ self.T_world_element)

    def corners_m(self) -> np.ndarray:
        """(8, 3) world coordinates of the box corners."""
        half = np.array(self.dimensions_m) / 2
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
        local = signs * half
        return local @ self.T_world_element[:3, :3].T + self.T_world_element[:3, 3]

    def to_json(self) -> dict:
        cat: dict = {self.category: {"isOpen": bool(self.is_open)} if self.category == "door" else {}}
        d = {
            "identifier": self.identifier,
            "category": cat,
            "dimensions": dims_sdk_to_arkit(self.dimensions_m),
            "transform": box_pose_sdk_to_arkit(self.T_world_element).T.reshape(-1).tolist(),
            "confidence": {self.confidence: {}},
            "story": self.story,
        }
        if self.parent is not None:
            d["parentIdentifier"] = self.parent
        if self.polygon_m:
            # RoomPlan polygons are in the element's local x/z plane of the y-up frame
            d["polygonCorners"] = [[x, 0.0, -y] for x, y in self.polygon_m]
        if self.score is not None:
            d["score"] = self.score
        if self.label:
            d["label"] = self.label
        return d

    @classmethod
    def from_json(cls, d: dict, where: str | Path | None = None) -> RoomElement:
        try:
            (category, attrs), = d["category"].items()
            (confidence,) = d.get("confidence", {"high": {}}).keys()
            T = np.asarray(d["transform"], dtype=np.float64).reshape(4, 4).T
            return cls(
                identifier=str(d["identifier"]),
                category=category,
                dimensions_m=dims_arkit_to_sdk(d["dimensions"]),
                T_world_element=box_pose_arkit_to_sdk(T),
                confidence=confidence,
                parent=d.get("parentIdentifier"),
                is_open=attrs.get("isOpen") if category == "door" else None,
                polygon_m=tuple((float(p[0]), -float(p[2])) for p in d.get("polygonCorners", ())),
                story=int(d.get("story", 0)),
                score=d.get("score"),
                label=str(d.get("label", "")),
            )
        except FormatError as exc:
            raise FormatError(exc.problem, where) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError(f"invalid room element {d.get('identifier', '?')}: {exc!r}", where) from None


@dataclass(frozen=True, eq=False)
class RoomSection:
    """One room of a capture (RoomPlan's ``CapturedRoom.Section``): ``label`` one of
    :data:`SECTION_LABELS`, ``center_m`` a point on its floor (world, metres), its ``story``."""

    label: str
    center_m: tuple[float, float, float]
    story: int = 0

    def __post_init__(self) -> None:
        if self.label not in SECTION_LABELS:
            raise FormatError(f"unknown section label '{self.label}'; expected one of {SECTION_LABELS}")
        c = tuple(float(v) for v in self.center_m)
        if len(c) != 3 or not np.all(np.isfinite(c)):
            raise FormatError(f"section centre must be 3 finite metres, got {self.center_m!r}")
        object.__setattr__(self, "center_m", c)

    def to_json(self) -> dict:
        return {"label": {self.label: {}}, "center": points_sdk_to_arkit([self.center_m])[0].tolist(), "story": self.story}

    @classmethod
    def from_json(cls, d: dict, where: str | Path | None = None) -> RoomSection:
        try:
            (label,) = d["label"].keys()
            return cls(label, tuple(points_arkit_to_sdk([d["center"]])[0]), int(d.get("story", 0)))
        except FormatError as exc:
            raise FormatError(exc.problem, where) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError(f"invalid section: {exc!r}", where) from None


_SECTIONS = {"wall": "walls", "door": "doors", "window": "windows", "opening": "openings", "floor": "floors"}


@dataclass
class RoomDescription:
    """All elements of a room (or an apartment of several rooms joined by openings), the rooms'
    ``sections`` and the ``warnings`` of the stage that made it."""

    elements: list[RoomElement] = field(default_factory=list)
    identifier: str = ""
    sections: list[RoomSection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def of(self, category: str) -> list[RoomElement]:
        return [e for e in self.elements if e.category == category]

    @property
    def objects(self) -> list[RoomElement]:
        return [e for e in self.elements if e.is_object]

    def transformed(self, T: np.ndarray) -> RoomDescription:
        """A copy with every element and section centre mapped by the rigid 4x4 ``T``
        (``T_new_world``); e.g. onto a ground truth's world for evaluation."""
        T = as_transform(T, "room transform")
        sections = [RoomSection(s.label, tuple(T[:3, :3] @ s.center_m + T[:3, 3]), s.story) for s in self.sections]
        return RoomDescription([e.transformed(T) for e in self.elements], self.identifier, sections, list(self.warnings))

    def to_json(self) -> dict:
        out: dict = {"version": SCHEMA_VERSION, "identifier": self.identifier, "story": 0}
        for section in _SECTIONS.values():
            out[section] = []
        out["objects"] = []
        for e in self.elements:
            out[_SECTIONS.get(e.category, "objects")].append(e.to_json())
        if self.sections:
            out["sections"] = [s.to_json() for s in self.sections]
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_json(cls, d: dict, where: str | Path | None = None) -> RoomDescription:
        if not isinstance(d, dict) or not isinstance(d.get("walls"), list):
            raise FormatError("not a room description (no 'walls' list)", where)
        lists = {s: d.get(s, []) for s in (*_SECTIONS.values(), "objects", "sections", "warnings")}
        for name, value in lists.items():
            if not isinstance(value, list) or (name != "warnings" and not all(isinstance(e, dict) for e in value)):
                raise FormatError(f"'{name}' must be a list of {'strings' if name == 'warnings' else 'objects'}", where)
        elems = [RoomElement.from_json(e, where) for s in (*_SECTIONS.values(), "objects") for e in lists[s]]
        sections = [RoomSection.from_json(s, where) for s in lists["sections"]]
        return cls(elems, str(d.get("identifier", "")), sections, [str(w) for w in lists["warnings"]])

    def save_json(self, path: str | Path) -> Path:
        """Write atomically as RoomPlan-shaped JSON."""
        from .formats._atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1))
        return Path(path)

    @classmethod
    def load_json(cls, path: str | Path) -> RoomDescription:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise FormatError("room description file is missing", path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FormatError(f"room description is not valid JSON ({exc})", path) from None
        except OSError as exc:
            raise FormatError(f"cannot read room description ({exc.strerror or exc})", path) from None
        return cls.from_json(d, path)

    def export(self, path: str | Path) -> Path:
        """Write the room as a parametric USD scene (``.usdz``, ``.usda`` or ``.usdc``; needs the
        ``usd`` extra) or as JSON (``.json``, same as :meth:`save_json`); see
        :mod:`sensors.room_usd`. Written atomically."""
        if Path(path).suffix.lower() == ".json":
            return self.save_json(path)
        from .room_usd import write_usd

        return write_usd(self, path)

    def floorplan(self, path: str | Path, **options) -> Path:
        """Draw the floor plan as ``.svg`` or ``.png`` (walls with lengths, doors with swing arcs,
        windows, object footprints with labels, room areas); see :mod:`sensors.room_floorplan`
        for ``options``. Written atomically."""
        from .room_floorplan import write_floorplan

        return write_floorplan(self, path, **options)
