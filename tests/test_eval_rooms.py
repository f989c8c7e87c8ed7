"""Room metrics (spatial.eval.rooms) and the shared box/polygon helpers (spatial.scene.shapes)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.room import RoomDescription, RoomElement
from sensors.sim.rooms import generate_world
from spatial.eval import rooms as metrics
from spatial.scene.shapes import box_iou_3d, box_point_distance, convex_clip, fit_plane, points_in_polygon, polygon_area


def pose(yaw_deg: float, xyz) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    T[:3, 3] = xyz
    return T


def moved(room: RoomDescription, T: np.ndarray, categories) -> RoomDescription:
    return RoomDescription([e.transformed(T) if e.category in categories else e for e in room.elements])


def test_shapes():
    assert box_iou_3d(pose(0, (0, 0, 0)), (1, 1, 1), pose(0, (0.5, 0, 0)), (1, 1, 1)) == pytest.approx(1 / 3)
    assert box_iou_3d(pose(0, (0, 0, 0)), (1, 1, 1), pose(45, (0, 0, 0)), (1, 1, 1)) == pytest.approx(1 / np.sqrt(2))
    assert box_iou_3d(pose(0, (0, 0, 0)), (1, 1, 1), pose(0, (0, 0, 0.5)), (1, 1, 1)) == pytest.approx(1 / 3)
    assert box_iou_3d(pose(0, (0, 0, 0)), (1, 1, 0), pose(0, (0, 0, 0)), (1, 1, 1)) == 0.0
    d = box_point_distance(np.array([[0, 0, 0], [1.5, 0, 0], [1.5, 1.5, 0]]), pose(30, (0, 0, 0)), (2, 2, 2))
    assert (d[0] == 0 and d[1] == pytest.approx(0.0, abs=1e-9)) or d[1] > 0
    assert box_point_distance(np.array([[3.0, 0, 0]]), pose(0, (0, 0, 0)), (2, 2, 2))[0] == pytest.approx(2.0)
    sq = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    assert polygon_area(sq) == 4 and polygon_area(sq[::-1]) == 4
    assert polygon_area(convex_clip(sq, sq + 1)) == pytest.approx(1.0)
    assert len(convex_clip(sq, sq + 5)) == 0
    assert points_in_polygon(np.array([[1, 1], [3, 1]]), sq).tolist() == [True, False]
    n, off = fit_plane(np.array([[0, 0, 1.0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]))
    assert abs(abs(n[2]) - 1) < 1e-9 and abs(off / n[2] + 1) < 1e-9


@pytest.fixture(scope="module")
def rooms():
    return {p: generate_world(p, 2).room for p in ("studio", "kitchen", "apartment")}


def test_a_room_scores_perfectly_against_itself(rooms):
    for room in rooms.values():
        m = metrics.evaluate(room, room)
        assert m.walls.f1 == 1 and m.openings.overall.f1 == 1 and m.objects_25.overall.f1 == 1
        assert m.objects_50.overall.f1 == 1 and m.area_error == 0 and m.wall_endpoint_error_m == 0


def test_walls_match_within_10_cm_and_5_degrees(rooms):
    room = rooms["studio"]
    assert metrics.wall_f1(moved(room, pose(0, (0.08, 0, 0)), ("wall",)), room).f1 == 1
    assert metrics.wall_f1(moved(room, pose(0, (0.15, 0, 0)), ("wall",)), room).f1 == 0
    wall = room.of("wall")[0]
    centre = wall.center_m
    turned = replace(wall, T_world_element=pose(6, (0, 0, 0)) @ pose(0, -centre) @ wall.T_world_element)
    turned = replace(turned, T_world_element=pose(0, centre) @ turned.T_world_element)
    assert metrics.wall_f1(RoomDescription([turned]), RoomDescription([wall])).tp == 0
    shorter = replace(wall, dimensions_m=(wall.dimensions_m[0] - 0.3, *wall.dimensions_m[1:]))
    assert metrics.wall_f1(RoomDescription([shorter]), RoomDescription([wall])).tp == 0  # 15 cm per end


def test_objects_match_by_category_at_the_iou_threshold(rooms):
    room = rooms["kitchen"]
    truth = RoomDescription(room.objects)
    # shrink every box to IoU 0.3 (≥ 0.25, < 0.5): scale volume by 0.3
    f = 0.3 ** (1 / 3)
    shrunk = RoomDescription([replace(e, dimensions_m=tuple(d * f for d in e.dimensions_m)) for e in room.objects])
    assert metrics.object_f1(shrunk, truth, 0.25).overall.f1 == 1
    assert metrics.object_f1(shrunk, truth, 0.5).overall.f1 == 0
    wrong = RoomDescription([replace(e, category="unknown") for e in room.objects])
    s = metrics.object_f1(wrong, truth, 0.25)
    assert s.overall.tp == 0 and s.overall.n_pred == 0 and s.agnostic.f1 == 1 and s.extra["uncategorised"] == len(room.objects)
    assert metrics.object_f1(RoomDescription(), truth).overall.recall == 0


def test_openings_by_2d_iou_in_their_wall(rooms):
    room = rooms["apartment"]
    ops = [e for e in room.elements if e.category in ("door", "window", "opening")]
    truth = RoomDescription(ops)
    half = RoomDescription([replace(e, dimensions_m=(e.dimensions_m[0] * 0.6, 0.0, e.dimensions_m[2])) for e in ops])
    assert metrics.opening_f1(half, truth).overall.f1 == 1  # IoU 0.6
    narrow = RoomDescription([replace(e, dimensions_m=(e.dimensions_m[0] * 0.4, 0.0, e.dimensions_m[2])) for e in ops])
    assert metrics.opening_f1(narrow, truth).overall.f1 == 0
    away = RoomDescription([e.transformed(pose(0, 0.4 * e.T_world_element[:3, 1])) for e in ops])
    assert metrics.opening_f1(away, truth).overall.tp == 0  # 40 cm off the wall plane
    swapped = RoomDescription([replace(e, category="window" if e.category == "door" else e.category, is_open=None) for e in ops])
    s = metrics.opening_f1(swapped, truth)
    assert s.agnostic.f1 == 1 and s.overall.f1 < 1


def test_area_error_and_empty_rooms(rooms):
    room = rooms["studio"]
    floor = room.of("floor")[0]
    bigger = replace(floor, polygon_m=tuple((1.1 * x, y) for x, y in floor.polygon_m))
    err, a, b = metrics.floor_area_error(RoomDescription([bigger]), room)
    assert err == pytest.approx(0.1) and a == pytest.approx(1.1 * b)
    empty = RoomDescription()
    m = metrics.evaluate(empty, room)
    assert m.walls.f1 == 0 and m.area_error == 1 and m.objects_25.overall.recall == 0
    assert metrics.evaluate(empty, empty).walls.f1 == 1


def test_structure_f1_over_labelled_vertices():
    wall = RoomElement("W", "wall", (4.0, 0.1, 2.5), pose(0, (0, 0.05, 1.25)))  # inner face y = 0.1, x ±2
    floor = RoomElement("F", "floor", (4.0, 4.0, 0.0), pose(0, (0, 2.1, 0.0)))
    v = np.array([[0, 0.12, 1.0], [0, 0.2, 1.0], [1, 2, 0.03], [1, 2, 0.5], [3.0, 0.1, 1.0], [0, 1, 2.0]])
    true = np.array([True, False, True, False, True, True])
    scored = np.array([True, True, True, True, True, False])
    c = metrics.structure_f1(v, true, scored, RoomDescription([wall, floor]))
    assert (c.tp, c.n_pred, c.n_true) == (2, 2, 3)  # the vertex 1 m past the wall's end is missed
    assert c.precision == 1 and c.recall == pytest.approx(2 / 3)
