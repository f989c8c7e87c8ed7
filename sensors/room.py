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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import FormatError
from .frames import box_pose_arkit_to_sdk, box_pose_sdk_to_arkit, dims_arkit_to_sdk, dims_sdk_to_arkit
from .types import as_transform

SURFACE_CATEGORIES = ("wall", "door", "window", "opening", "floor")
OBJECT_CATEGORIES = (
    "bathtub", "bed", "chair", "dishwasher", "fireplace", "oven", "refrigerator", "sink", "sofa",
    "stairs", "storage", "stove", "table", "television", "toilet", "washerDryer",
)
CONFIDENCES = ("low", "medium", "high")
SCHEMA_VERSION = 2


@dataclass(frozen=True, eq=False)
class RoomElement:
    """A wall, door, window, opening, floor or object: a category and an oriented box.

    ``dimensions_m`` = (width, depth, height) along the local x, y, z axes (depth is 0 for
    surfaces in RoomPlan; walls carry their thickness). ``T_world_element`` is its pose.
    ``parent`` is the identifier of the wall holding a door/window/opening.
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

    def __post_init__(self) -> None:
        if self.category not in SURFACE_CATEGORIES + OBJECT_CATEGORIES:
            raise FormatError(f"unknown room element category '{self.category}'")
        if self.confidence not in CONFIDENCES:
            raise FormatError(f"confidence must be one of {CONFIDENCES}, got '{self.confidence}'")
        dims = tuple(float(d) for d in self.dimensions_m)
        if len(dims) != 3 or any(not np.isfinite(d) or d < 0 for d in dims):
            raise FormatError(f"{self.category} {self.identifier}: dimensions must be 3 non-negative metres, got {dims}")
        object.__setattr__(self, "dimensions_m", dims)
        object.__setattr__(self, "T_world_element", as_transform(self.T_world_element, f"{self.category} transform"))

    @property
    def center_m(self) -> np.ndarray:
        return self.T_world_element[:3, 3].copy()

    @property
    def is_object(self) -> bool:
        return self.category in OBJECT_CATEGORIES

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
            )
        except FormatError as exc:
            raise FormatError(exc.problem, where) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"invalid room element {d.get('identifier', '?')}: {exc!r}", where) from None


_SECTIONS = {"wall": "walls", "door": "doors", "window": "windows", "opening": "openings", "floor": "floors"}


@dataclass
class RoomDescription:
    """All elements of a room (or an apartment of several rooms joined by openings)."""

    elements: list[RoomElement] = field(default_factory=list)
    identifier: str = ""

    def of(self, category: str) -> list[RoomElement]:
        return [e for e in self.elements if e.category == category]

    @property
    def objects(self) -> list[RoomElement]:
        return [e for e in self.elements if e.is_object]

    def to_json(self) -> dict:
        out: dict = {"version": SCHEMA_VERSION, "identifier": self.identifier, "story": 0}
        for section in _SECTIONS.values():
            out[section] = []
        out["objects"] = []
        for e in self.elements:
            out[_SECTIONS.get(e.category, "objects")].append(e.to_json())
        return out

    @classmethod
    def from_json(cls, d: dict, where: str | Path | None = None) -> RoomDescription:
        if not isinstance(d, dict) or "walls" not in d:
            raise FormatError("not a room description (no 'walls' list)", where)
        elems = [RoomElement.from_json(e, where) for s in (*_SECTIONS.values(), "objects") for e in d.get(s, [])]
        return cls(elems, str(d.get("identifier", "")))

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
        return cls.from_json(d, path)
