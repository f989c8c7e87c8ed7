"""A room description as a parametric USD scene, in the manner of RoomPlan's USDZ export.

The stage is y-up (ARKit/RoomPlan convention, converted with :mod:`sensors.frames`), one unit is
one metre, and its default prim is ``/Room``::

    /Room                      spatial:identifier, spatial:warnings
      /Walls/Wall_<id>         Cube (size 1) with xformOp:transform (pose) + xformOp:scale (dimensions)
      /Doors/Door_<id>         the same; depth-0 surfaces get a 2 cm display thickness
      /Windows/Window_<id>
      /Openings/Opening_<id>
      /Floors/Floor_<id>       Mesh of the floor outline (or of its rectangle) with xformOp:transform
      /Objects/Chair_<id>      Cube per object (16 RoomPlan categories and ``unknown``)
      /Sections/Bedroom_0      Xform at each section centre (only when the room has sections)

A box prim's world transform is the element's pose (``box_pose_sdk_to_arkit``) followed by a
scale of its RoomPlan ``dimensions`` (width, height, depth) in metres, so the unit cube maps
onto the element's box in the y-up world. Every element prim carries its description in custom
``spatial:`` attributes: ``identifier``, ``category``, ``confidence``, ``story``,
``dimensions`` (width, height, depth in metres as in RoomPlan, the true values even where a
display thickness was added), and when set ``parent``, ``isOpen`` (doors), ``score``, ``label``.
``displayColor`` is set per category (windows and openings are drawn see-through).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .errors import ConfigError, require
from .formats._atomic import atomic_path
from .frames import box_pose_sdk_to_arkit, dims_sdk_to_arkit, points_sdk_to_arkit
from .room import RoomDescription, RoomElement, RoomSection
from .room_floorplan import floor_outline_m

USD_SUFFIXES = (".usdz", ".usda", ".usdc")
DISPLAY_THICKNESS_M = 0.02  # drawn depth of depth-0 walls, doors, windows and openings
GROUPS = {"wall": "Walls", "door": "Doors", "window": "Windows", "opening": "Openings", "floor": "Floors"}
OBJECTS_GROUP = "Objects"
SECTIONS_GROUP = "Sections"

# displayColor (linear RGB in [0, 1]) per category; objects not listed use _OBJECT_COLOUR
CATEGORY_COLOURS: dict[str, tuple[float, float, float]] = {
    "wall": (0.85, 0.85, 0.82), "door": (0.55, 0.36, 0.2), "window": (0.55, 0.75, 0.9),
    "opening": (0.9, 0.9, 0.9), "floor": (0.7, 0.62, 0.5),
    "bathtub": (0.9, 0.92, 0.95), "bed": (0.45, 0.55, 0.75), "chair": (0.8, 0.5, 0.3),
    "dishwasher": (0.6, 0.62, 0.65), "fireplace": (0.55, 0.3, 0.25), "oven": (0.35, 0.35, 0.38),
    "refrigerator": (0.8, 0.82, 0.85), "sink": (0.7, 0.78, 0.82), "sofa": (0.4, 0.6, 0.5),
    "stairs": (0.6, 0.5, 0.4), "storage": (0.75, 0.65, 0.5), "stove": (0.3, 0.3, 0.32),
    "table": (0.7, 0.55, 0.35), "television": (0.15, 0.15, 0.18), "toilet": (0.95, 0.95, 0.95),
    "washerDryer": (0.85, 0.87, 0.9), "unknown": (0.8, 0.4, 0.7),
}
_OBJECT_COLOUR = (0.6, 0.6, 0.6)
_OPACITY = {"window": 0.35, "opening": 0.15}


def write_usd(room: RoomDescription, path: str | Path) -> Path:
    """Write ``room`` as a y-up, metre-unit USD stage to ``path`` (``.usdz``, ``.usda`` or
    ``.usdc``) atomically: the file appears only once complete. Needs the ``usd`` extra
    (``MissingDependencyError`` otherwise); another suffix raises :class:`ConfigError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in USD_SUFFIXES:
        raise ConfigError(f"cannot write a room as USD to '{suffix or path.name}': use one of {', '.join(USD_SUFFIXES)}", path)
    require("pxr", "usd", "room USD export")
    from pxr import Usd

    with tempfile.TemporaryDirectory(prefix="spatial-room-usd-") as work:
        layer = Path(work) / ("room.usdc" if suffix == ".usdz" else f"room{suffix}")
        stage = Usd.Stage.CreateNew(str(layer))
        build_stage(stage, room)
        stage.GetRootLayer().Save()
        del stage
        with atomic_path(path) as tmp:
            if suffix == ".usdz":
                _package_usdz(layer, Path(work) / f"room{suffix}", tmp)
            else:
                shutil.copyfile(layer, tmp)
    return path


def build_stage(stage, room: RoomDescription) -> None:
    """Fill an empty ``Usd.Stage`` with ``room``: y-up, metres, default prim ``/Room`` with one
    group Xform per kind of element (always all six, possibly empty) and a prim per element."""
    from pxr import Kind, Sdf, Usd, UsdGeom

    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/Room").GetPrim()
    stage.SetDefaultPrim(root)
    Usd.ModelAPI(root).SetKind(Kind.Tokens.component)
    root.CreateAttribute("spatial:identifier", Sdf.ValueTypeNames.String, custom=True).Set(room.identifier)
    if room.warnings:
        root.CreateAttribute("spatial:warnings", Sdf.ValueTypeNames.StringArray, custom=True).Set(list(room.warnings))
    groups = {name: UsdGeom.Xform.Define(stage, f"/Room/{name}").GetPath() for name in (*GROUPS.values(), OBJECTS_GROUP)}
    used: set[str] = set()
    for element in room.elements:
        parent = groups[GROUPS.get(element.category, OBJECTS_GROUP)]
        prim_path = parent.AppendChild(_unique(prim_name(element.category, element.identifier), used))
        if element.category == "floor":
            _define_floor(stage, prim_path, element)
        else:
            _define_box(stage, prim_path, element)
        _annotate(stage.GetPrimAtPath(prim_path), element)
    if room.sections:
        _define_sections(stage, root.GetPath().AppendChild(SECTIONS_GROUP), room.sections, used)


def prim_name(category: str, identifier: str) -> str:
    """A valid USD prim name from a category and an identifier: ``Chair_3f2a9c1e_…`` (characters
    other than ASCII letters, digits and ``_`` become ``_``)."""
    head = category[:1].upper() + category[1:]
    tail = re.sub(r"[^A-Za-z0-9_]", "_", identifier)
    return f"{head}_{tail}" if tail else head


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… if it was taken (duplicate identifiers)."""
    candidate, k = name, 1
    while candidate in used:
        k += 1
        candidate = f"{name}_{k}"
    used.add(candidate)
    return candidate


def display_dims(element: RoomElement) -> list[float]:
    """RoomPlan-order (width, height, depth) metres of the drawn box: the element's dimensions
    with :data:`DISPLAY_THICKNESS_M` in place of a zero depth."""
    w, h, d = dims_sdk_to_arkit(element.dimensions_m)
    return [w, h, d if d > 0 else DISPLAY_THICKNESS_M]


def _matrix(T: np.ndarray):
    """A column-vector 4x4 (``T @ p``) as a ``Gf.Matrix4d`` (USD uses row vectors: ``p @ M``)."""
    from pxr import Gf

    return Gf.Matrix4d(np.asarray(T, dtype=np.float64).T.tolist())


def _define_box(stage, prim_path, element: RoomElement) -> None:
    """A unit ``Cube`` posed at the element's y-up pose and scaled to its (display) dimensions."""
    from pxr import Gf, UsdGeom

    cube = UsdGeom.Cube.Define(stage, prim_path)
    cube.CreateSizeAttr(1.0)
    cube.CreateExtentAttr([Gf.Vec3f(-0.5, -0.5, -0.5), Gf.Vec3f(0.5, 0.5, 0.5)])
    cube.AddTransformOp().Set(_matrix(box_pose_sdk_to_arkit(element.T_world_element)))
    cube.AddScaleOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*display_dims(element)))
    _colour(cube, element.category)


def _define_floor(stage, prim_path, element: RoomElement) -> None:
    """A one-face ``Mesh`` of the floor outline (normal up), posed at the floor's y-up pose."""
    from pxr import Gf, UsdGeom, Vt

    outline = floor_outline_m(element)
    local = points_sdk_to_arkit(np.column_stack([outline, np.zeros(len(outline))]))
    mesh = UsdGeom.Mesh.Define(stage, prim_path)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(local.astype(np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray([len(local)] if len(local) >= 3 else []))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray(list(range(len(local))) if len(local) >= 3 else []))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateDoubleSidedAttr(True)
    if len(local):
        lo, hi = local.min(0), local.max(0)
        mesh.CreateExtentAttr([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))])
    mesh.AddTransformOp().Set(_matrix(box_pose_sdk_to_arkit(element.T_world_element)))
    _colour(mesh, "floor")


def _colour(gprim, category: str) -> None:
    from pxr import Gf

    gprim.CreateDisplayColorAttr([Gf.Vec3f(*CATEGORY_COLOURS.get(category, _OBJECT_COLOUR))])
    if category in _OPACITY:
        gprim.CreateDisplayOpacityAttr([_OPACITY[category]])


def _annotate(prim, element: RoomElement) -> None:
    """The element's description as custom ``spatial:`` attributes (dimensions in metres,
    RoomPlan order width, height, depth)."""
    from pxr import Gf, Sdf

    types = Sdf.ValueTypeNames
    values = {
        "identifier": (types.String, element.identifier),
        "category": (types.Token, element.category),
        "confidence": (types.Token, element.confidence),
        "story": (types.Int, int(element.story)),
        "dimensions": (types.Float3, Gf.Vec3f(*dims_sdk_to_arkit(element.dimensions_m))),
    }
    if element.parent is not None:
        values["parent"] = (types.String, element.parent)
    if element.category == "door":
        values["isOpen"] = (types.Bool, bool(element.is_open))
    if element.score is not None:
        values["score"] = (types.Float, float(element.score))
    if element.label:
        values["label"] = (types.String, element.label)
    for name, (value_type, value) in values.items():
        prim.CreateAttribute(f"spatial:{name}", value_type, custom=True).Set(value)


def _define_sections(stage, group_path, sections: list[RoomSection], used: set[str]) -> None:
    """An Xform per section, translated to its centre (y-up world), with ``spatial:label`` and
    ``spatial:story``."""
    from pxr import Gf, Sdf, UsdGeom

    UsdGeom.Xform.Define(stage, group_path)
    for k, section in enumerate(sections):
        xform = UsdGeom.Xform.Define(stage, group_path.AppendChild(_unique(prim_name(section.label, str(k)), used)))
        centre = points_sdk_to_arkit([section.center_m])[0]
        xform.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*map(float, centre)))
        prim = xform.GetPrim()
        prim.CreateAttribute("spatial:label", Sdf.ValueTypeNames.Token, custom=True).Set(section.label)
        prim.CreateAttribute("spatial:story", Sdf.ValueTypeNames.Int, custom=True).Set(int(section.story))


def _package_usdz(layer: Path, staging: Path, tmp: Path) -> None:
    """Package ``layer`` into a USDZ at ``staging`` (the packager wants a ``.usdz`` name), then
    copy it onto ``tmp`` (a copy, not a rename: the two may be on different file systems)."""
    from pxr import Sdf, UsdUtils

    if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(layer)), str(staging)):
        raise OSError(f"usd-core could not package {layer.name} as USDZ")
    shutil.copyfile(staging, tmp)
