"""Room exports: the parametric USD scene (sensors.room_usd) and the SVG/PNG floor plan
(sensors.room_floorplan), on simulated rooms and small hand-made ones."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.errors import ConfigError, MissingDependencyError
from sensors.frames import points_sdk_to_arkit
from sensors.room import RoomDescription, RoomElement, RoomSection
from sensors.room_floorplan import build_floorplan, write_floorplan
from sensors.sim.rooms import generate_world

SVG = {"svg": "http://www.w3.org/2000/svg"}
GROUPS = {"Walls": "wall", "Doors": "door", "Windows": "window", "Openings": "opening", "Floors": "floor"}


def pose(yaw_deg: float, xyz) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    T[:3, 3] = xyz
    return T


@pytest.fixture(scope="module")
def apartment() -> RoomDescription:
    return generate_world("apartment", 0).room


@pytest.fixture(scope="module")
def kitchen() -> RoomDescription:
    return generate_world("kitchen", 3).room


def shoelace(poly) -> float:
    x, y = np.asarray(poly, float).T
    return abs(float(x @ np.roll(y, -1) - y @ np.roll(x, -1))) / 2


def roomplan_like() -> RoomDescription:
    """A 5 x 4 m room far from the origin, turned 20°, with zero-thickness walls whose normals
    point out of the room (as RoomPlan's may), a door without a parent, an unknown object."""
    origin, yaw = np.array([1000.0, -2500.0, 0.0]), 20.0
    R = Rotation.from_euler("z", yaw, degrees=True).as_matrix()

    def at(x, y, z=0.0):
        return origin + R @ np.array([x, y, z])

    return RoomDescription([
        RoomElement("w-south", "wall", (5, 0, 2.5), pose(yaw + 180, at(0, -2, 1.25))),
        RoomElement("w-east", "wall", (4, 0, 2.5), pose(yaw - 90, at(2.5, 0, 1.25))),
        RoomElement("w-north", "wall", (5, 0, 2.5), pose(yaw, at(0, 2, 1.25))),
        RoomElement("w-west", "wall", (4, 0, 2.5), pose(yaw + 90, at(-2.5, 0, 1.25))),
        RoomElement("d1", "door", (0.9, 0, 2.0), pose(yaw, at(1.0, 2, 1.0)), is_open=True),
        RoomElement("win", "window", (1.2, 0, 1.2), pose(yaw - 90, at(2.5, 0.5, 1.4)), parent="w-east"),
        RoomElement("f", "floor", (5, 4, 0), pose(yaw, at(0, 0)), polygon_m=((-2.5, -2), (2.5, -2), (2.5, 2), (-2.5, 2))),
        RoomElement("lamp", "unknown", (0.4, 0.4, 1.6), pose(yaw, at(-1.5, 1.2, 0.8)), label="floor lamp", score=0.4),
        RoomElement("thing", "unknown", (0.5, 0.5, 0.5), pose(yaw, at(1.5, -1.0, 0.25))),
        RoomElement("upstairs", "wall", (3, 0.1, 2.5), pose(0, at(0, 0, 3.75)), story=1),
    ], "roomplan-like", [RoomSection("livingRoom", tuple(at(0.3, 0.2)))])


# --- USD -------------------------------------------------------------------------------------------


def world_box_corners(prim) -> np.ndarray:
    """(8, 3) y-up world corners of a unit-cube prim, from its transform and scale ops."""
    from pxr import Usd, UsdGeom

    M = np.array(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default()))
    cube = np.array([[x, y, z, 1.0] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    return (cube @ M)[:, :3]  # USD matrices act on row vectors


def same_points(a: np.ndarray, b: np.ndarray, atol: float = 1e-5) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a[np.lexsort(np.round(a, 4).T)], b[np.lexsort(np.round(b, 4).T)], atol=atol)


@pytest.mark.parametrize("suffix", [".usdz", ".usda"])
def test_usd_stage_mirrors_the_room(apartment, tmp_path, suffix):
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    path = apartment.export(tmp_path / f"room{suffix}")
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim().GetPath() == "/Room"
    for group, category in GROUPS.items():
        assert len(stage.GetPrimAtPath(f"/Room/{group}").GetChildren()) == len(apartment.of(category)), group
    assert len(stage.GetPrimAtPath("/Room/Objects").GetChildren()) == len(apartment.objects)
    walls = {p.GetAttribute("spatial:identifier").Get(): p for p in stage.GetPrimAtPath("/Room/Walls").GetChildren()}
    for wall in apartment.of("wall"):
        assert same_points(world_box_corners(walls[wall.identifier]), points_sdk_to_arkit(wall.corners_m()))
    door = apartment.of("door")[0]
    (prim,) = [p for p in stage.GetPrimAtPath("/Room/Doors").GetChildren()
               if p.GetAttribute("spatial:identifier").Get() == door.identifier]
    assert prim.GetTypeName() == "Cube" and prim.GetName().startswith("Door_")
    assert prim.GetAttribute("spatial:isOpen").Get() == bool(door.is_open)
    assert prim.GetAttribute("spatial:parent").Get() == door.parent
    assert prim.GetAttribute("xformOp:scale").Get()[2] == pytest.approx(0.02)  # display thickness
    assert tuple(prim.GetAttribute("spatial:dimensions").Get()) == pytest.approx((door.dimensions_m[0], door.dimensions_m[2], 0.0))


def test_usd_floor_is_a_mesh_of_its_polygon(apartment, tmp_path):
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(apartment.export(tmp_path / "room.usdc")))
    floors = {p.GetAttribute("spatial:identifier").Get(): p for p in stage.GetPrimAtPath("/Room/Floors").GetChildren()}
    for floor in apartment.of("floor"):
        mesh = UsdGeom.Mesh(floors[floor.identifier])
        M = np.array(mesh.ComputeLocalToWorldTransform(Usd.TimeCode.Default()))
        local = np.array(mesh.GetPointsAttr().Get(), dtype=np.float64)
        world = (np.column_stack([local, np.ones(len(local))]) @ M)[:, :3]
        poly = np.column_stack([floor.polygon_m, np.zeros(len(floor.polygon_m))]) @ floor.T_world_element[:3, :3].T
        assert same_points(world, points_sdk_to_arkit(poly + floor.T_world_element[:3, 3]), atol=1e-4)
        assert list(mesh.GetFaceVertexCountsAttr().Get()) == [len(floor.polygon_m)]


def test_usd_names_attributes_and_far_away_rooms(tmp_path):
    pytest.importorskip("pxr")
    from pxr import Sdf, Usd

    room = roomplan_like()
    stage = Usd.Stage.Open(str(room.export(tmp_path / "room.usda")))
    prims = [p for g in ("Walls", "Doors", "Windows", "Objects") for p in stage.GetPrimAtPath(f"/Room/{g}").GetChildren()]
    assert len(prims) == len(room.elements) - 1  # all but the floor
    assert all(Sdf.Path.IsValidIdentifier(p.GetName()) for p in prims)
    lamp = stage.GetPrimAtPath("/Room/Objects/Unknown_lamp")
    assert lamp.GetAttribute("spatial:label").Get() == "floor lamp"
    assert lamp.GetAttribute("spatial:score").Get() == pytest.approx(0.4)
    assert not lamp.HasAttribute("spatial:parent")
    assert stage.GetPrimAtPath("/Room/Walls/Wall_upstairs").GetAttribute("spatial:story").Get() == 1
    east = next(e for e in room.elements if e.identifier == "w-east")
    assert same_points(world_box_corners(stage.GetPrimAtPath("/Room/Walls/Wall_w_east")),
                       points_sdk_to_arkit(RoomElement("x", "wall", (4, 0.02, 2.5), east.T_world_element).corners_m()))
    assert len(stage.GetPrimAtPath("/Room/Sections").GetChildren()) == 1


def test_usd_empty_room_is_a_valid_stage(tmp_path):
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(RoomDescription().export(tmp_path / "empty.usdz")))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    groups = stage.GetDefaultPrim().GetChildren()
    assert sorted(g.GetName() for g in groups) == sorted([*GROUPS, "Objects"])
    assert all(not g.GetChildren() for g in groups)


def test_usd_unknown_suffix_and_missing_extra(tmp_path, monkeypatch):
    from sensors.room_usd import write_usd

    with pytest.raises(ConfigError, match=r"room\.obj.*\.usdz, \.usda, \.usdc"):
        write_usd(RoomDescription(), tmp_path / "room.obj")
    monkeypatch.setitem(sys.modules, "pxr", None)
    with pytest.raises(MissingDependencyError) as info:
        write_usd(RoomDescription(), tmp_path / "room.usdz")
    assert info.value.extra == "usd"


def test_usd_export_is_atomic(apartment, tmp_path, monkeypatch):
    pytest.importorskip("pxr")
    from pxr import UsdUtils

    target = tmp_path / "room.usdz"
    target.write_bytes(b"previous export")
    monkeypatch.setattr(UsdUtils, "CreateNewUsdzPackage", lambda *a: False)
    with pytest.raises(OSError, match="package"):
        apartment.export(target)
    assert target.read_bytes() == b"previous export"
    with pytest.raises(OSError):
        apartment.export(tmp_path / "new.usdz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room.usdz"]


# --- floor plan ------------------------------------------------------------------------------------


def texts(root: ET.Element, role: str) -> list[str]:
    return [t.text for t in root.iterfind(f".//svg:text[@class='{role}']", SVG)]


def open_spot(room: RoomDescription, wall: RoomElement) -> np.ndarray:
    """A world point on ``wall``'s centre line clear of its doors, windows and openings."""
    u = wall.T_world_element[:3, 0]
    holes = [e for e in room.elements if e.parent == wall.identifier]
    for s in np.linspace(-0.4, 0.4, 17) * wall.dimensions_m[0]:
        p = wall.center_m + u * s
        if all(abs((p - h.center_m) @ u) > h.dimensions_m[0] / 2 + 0.05 for h in holes):
            return p
    raise AssertionError("no clear spot on the wall")


def test_svg_floorplan_draws_every_element(apartment, tmp_path):
    path = apartment.floorplan(tmp_path / "plan.svg", title="Apartment & co")
    root = ET.parse(path).getroot()
    plan = build_floorplan(apartment, title="Apartment & co")
    assert root.get("viewBox") == f"0 0 {plan.width_px} {plan.height_px}"
    walls = apartment.of("wall")
    assert len(root.findall(".//svg:path[@class='wall']", SVG)) == len(walls)
    lengths = texts(root, "wall-length")
    assert len(lengths) == len(walls) and f"{walls[1].dimensions_m[0]:.2f} m" in lengths
    swings = root.findall(".//svg:path[@class='door-swing']", SVG)
    assert len(swings) == len(apartment.of("door")) >= 1 and all(" A " in s.get("d") for s in swings)
    assert len(root.findall(".//svg:line[@class='opening']", SVG)) == 2 * len(apartment.of("opening"))
    assert len(root.findall(".//svg:line[@class='window']", SVG)) == 4 * len(apartment.of("window"))
    assert len(root.findall(".//svg:path[@class='object']", SVG)) == len(apartment.objects)
    areas = sorted(float(t.split()[0]) for t in texts(root, "floor-area"))
    assert len(areas) == 2  # both rooms of the apartment
    assert areas == pytest.approx(sorted(shoelace(f.polygon_m) for f in apartment.of("floor")), abs=0.05 + 1e-9)
    assert texts(root, "title") == ["Apartment & co"] and texts(root, "scale-bar") == ["1 m"]


def test_png_floorplan_has_walls_where_the_view_puts_them(apartment, tmp_path):
    path = write_floorplan(apartment, tmp_path / "plan.png", scale_px_per_m=80)
    img = cv2.imread(str(path))
    plan = build_floorplan(apartment, scale_px_per_m=80)
    assert img.shape == (plan.height_px, plan.width_px, 3)
    extent = np.ptp(np.concatenate([w.corners_m()[:, :2] for w in apartment.of("wall")]), axis=0)
    assert 80 * extent[0] < img.shape[1] < 80 * extent[0] + 300
    for wall in apartment.of("wall"):
        x, y = np.round(plan.view.to_px(open_spot(apartment, wall))).astype(int)
        assert img[y, x].mean() < 110, wall.identifier  # dark wall fill
    x, y = np.round(plan.view.to_px([[-100.0, -100.0]])[0]).astype(int)
    assert x < 0 or y >= img.shape[0]  # far outside the room is off the page
    assert (img[:8] == 255).all()  # a white margin


def points_of(p) -> np.ndarray:
    """(N, 2) page pixels that a primitive's drawing passes through."""
    if hasattr(p, "rings"):
        return np.concatenate(p.rings)
    if hasattr(p, "points"):
        return p.points
    if hasattr(p, "a"):
        return np.array([p.a, p.b])
    if hasattr(p, "centre"):
        angles = np.radians(p.start_deg + np.linspace(0, p.sweep_deg, 9))
        return p.centre + p.radius_px * np.column_stack([np.cos(angles), np.sin(angles)])
    return np.array([p.position])


def test_plan_frames_rooms_far_from_the_origin_and_finds_the_room_side(tmp_path):
    room = roomplan_like()
    plan = build_floorplan(room)
    assert plan.story == 0 and plan.stories == (0, 1)
    for p in plan.primitives:
        pts = points_of(p)
        assert (pts >= 0).all() and (pts[:, 0] <= plan.width_px).all() and (pts[:, 1] <= plan.height_px).all(), p.role
    floor = room.of("floor")[0]
    outline = plan.view.to_px(floor.corners_m()[::2][[0, 1, 3, 2], :2]).astype(np.float32)
    leaf = next(p for p in plan.primitives if p.role == "door-leaf")
    swing = next(p for p in plan.primitives if p.role == "door-swing")
    assert cv2.pointPolygonTest(outline, tuple(map(float, leaf.b)), False) > 0  # swings into the room
    assert abs(swing.sweep_deg) == pytest.approx(90.0)
    for label in (p for p in plan.primitives if p.role == "wall-length"):
        assert cv2.pointPolygonTest(outline, tuple(map(float, label.position)), False) > 0
    words = {p.role: p.text for p in plan.primitives if hasattr(p, "text")}
    assert words["story"] == "story 0 (stories 0, 1)" and words["section-label"] == "living room"
    assert words["door-label"] == "open"
    objects = sorted(p.text for p in plan.primitives if p.role == "object-label")
    assert objects == ["floor lamp", "object"]
    upstairs = build_floorplan(room, story=1)
    assert [p.role for p in upstairs.primitives].count("wall") == 1
    with pytest.raises(ConfigError, match="no story 5"):
        build_floorplan(room, story=5)
    svg = ET.parse(write_floorplan(room, tmp_path / "far.svg")).getroot()
    assert len(svg.findall(".//svg:path[@class='wall']", SVG)) == 4


def test_empty_room_plan_says_so(tmp_path):
    svg = ET.parse(write_floorplan(RoomDescription(), tmp_path / "empty.svg")).getroot()
    assert texts(svg, "message") == ["no walls found"]
    img = cv2.imread(str(write_floorplan(RoomDescription(), tmp_path / "empty.png")))
    assert img is not None and img.shape[1] >= 300 and (img < 200).any()


def test_floorplan_errors_and_atomic_writes(kitchen, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"plan\.pdf"):
        kitchen.floorplan(tmp_path / "plan.pdf")
    with pytest.raises(ConfigError, match="positive"):
        write_floorplan(kitchen, tmp_path / "plan.svg", scale_px_per_m=0)
    monkeypatch.setattr(cv2, "imencode", lambda *a: (False, None))
    with pytest.raises(OSError):
        write_floorplan(kitchen, tmp_path / "plan.png")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    plan = build_floorplan(kitchen, title="Kitchen")
    assert sum(p.role == "floor-area" for p in plan.primitives) == 1
    write_floorplan(kitchen, tmp_path / "plan.png", title="Kitchen")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.png"]


def svg_rasteriser():
    """(name, command builder) of a browser or rasteriser available here, else ``None``."""
    for name in ("chromium", "chromium-browser"):
        exe = shutil.which(name)
        if exe:
            return lambda svg, png, w, h: [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                           f"--screenshot={png}", f"--window-size={w},{h}", svg.as_uri()]
    exe = shutil.which("rsvg-convert")
    if exe:
        return lambda svg, png, w, h: [exe, "-b", "white", "-o", str(png), str(svg)]
    return None


def test_svg_renders_in_a_browser(apartment, tmp_path):
    command = svg_rasteriser()
    if command is None:
        pytest.skip("no chromium or rsvg-convert to render the SVG")
    svg = apartment.floorplan(tmp_path / "plan.svg")
    plan = build_floorplan(apartment)
    png = tmp_path / "shot.png"
    subprocess.run(command(svg, png, plan.width_px, plan.height_px), check=True, capture_output=True, timeout=60)
    img = cv2.imread(str(png))
    assert img.shape[:2] == (plan.height_px, plan.width_px)
    wall = apartment.of("wall")[0]
    x, y = np.round(plan.view.to_px(open_spot(apartment, wall))).astype(int)
    assert img[y, x].mean() < 110
