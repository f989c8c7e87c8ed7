"""spatial.eval.rooms: room-understanding metrics on simulated ground truth and hand-made cases."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.room import UNCATEGORISED, RoomDescription, RoomElement
from sensors.sim.rooms import generate_world
from spatial.eval import rooms as metrics

OPENINGS = ("door", "window", "opening")


def pose(yaw_deg: float = 0.0, xyz=(0.0, 0.0, 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    T[:3, 3] = xyz
    return T


def about_centre(e: RoomElement, yaw_deg: float) -> RoomElement:
    """``e`` turned by ``yaw_deg`` about the vertical through its centre."""
    c = e.center_m
    return e.transformed(pose(0, c) @ pose(yaw_deg) @ pose(0, -c))


def moved(room: RoomDescription, T: np.ndarray, categories=None) -> RoomDescription:
    """``room`` with the elements of ``categories`` (all by default) mapped by ``T``."""
    return RoomDescription([e.transformed(T) if categories is None or e.category in categories else e
                            for e in room.elements])


def scaled(elements, f_width: float, f_depth: float, f_height: float) -> RoomDescription:
    """The elements with their boxes scaled about their centres."""
    return RoomDescription([replace(e, dimensions_m=(e.dimensions_m[0] * f_width, e.dimensions_m[1] * f_depth,
                                                     e.dimensions_m[2] * f_height)) for e in elements])


def strict_json(d: dict) -> str:
    return json.dumps(d, allow_nan=False)  # raises on NaN or infinity


@pytest.fixture(scope="module")
def rooms() -> dict[str, RoomDescription]:
    return {p: generate_world(p, s).room for p, s in (("studio", 2), ("kitchen", 3), ("apartment", 0))}


# --- the whole room ------------------------------------------------------------------------------


def test_a_room_scored_against_itself_is_perfect(rooms):
    for name, room in rooms.items():
        m = metrics.evaluate(room, room)
        assert m.walls.f1 == 1 and m.wall_endpoint_error_m == 0, name
        assert m.openings.overall.f1 == 1 and m.openings.agnostic.f1 == 1, name
        assert m.objects_25.overall.f1 == 1 and m.objects_50.overall.f1 == 1, name
        assert m.objects_25.mean_iou == pytest.approx(1.0), name
        assert m.area_error == 0 and m.area_pred_m2 == m.area_true_m2 > 5, name
        d = json.loads(strict_json(m.to_dict()))
        assert d["walls"]["f1"] == 1 and d["floor_area_true_m2"] == pytest.approx(m.area_true_m2)


def test_the_same_room_shifted_by_15_cm_has_no_wall_right(rooms):
    room = rooms["studio"]
    shifted = moved(room, pose(0, (0.15, 0.0, 0.0)))
    assert metrics.wall_f1(shifted, room).f1 == 0
    near = metrics.wall_f1(moved(room, pose(0, (0.08, 0.0, 0.0))), room)
    assert near.f1 == 1 and near.mean_endpoint_error_m == pytest.approx(0.08)


def test_a_prediction_in_another_world_is_aligned_first(rooms):
    room = rooms["apartment"]
    T_pred_gt = pose(73, (2.0, -1.0, 0.3))
    m = metrics.evaluate(room.transformed(T_pred_gt), room, np.linalg.inv(T_pred_gt))
    assert m.walls.f1 == 1 and m.openings.overall.f1 == 1 and m.objects_50.overall.f1 == 1
    assert metrics.evaluate(room.transformed(T_pred_gt), room).walls.f1 == 0


def test_empty_rooms_are_scored_without_dividing_by_zero(rooms):
    room, empty = rooms["kitchen"], RoomDescription()
    m = metrics.evaluate(empty, room)
    assert (m.walls.precision, m.walls.recall, m.walls.f1) == (0, 0, 0)
    assert m.objects_25.overall.recall == 0 and m.openings.overall.f1 == 0 and m.area_error == 1
    assert m.wall_endpoint_error_m is None and m.objects_25.mean_iou is None
    assert metrics.evaluate(room, empty).walls.precision == 0
    nothing = metrics.evaluate(empty, empty)
    assert nothing.walls.f1 == 1 and nothing.objects_25.agnostic.f1 == 1 and nothing.area_error == 0
    for score in (m, nothing):
        assert strict_json(score.to_dict())


# --- walls ---------------------------------------------------------------------------------------


def test_a_wall_turned_6_degrees_does_not_match_but_4_does():
    wall = RoomElement("W", "wall", (1.0, 0.1, 2.5), pose(30, (1.0, 2.0, 1.25)))  # short: ends move < 10 cm
    truth = RoomDescription([wall])
    assert metrics.wall_f1(RoomDescription([about_centre(wall, 6.0)]), truth).tp == 0
    assert metrics.wall_f1(RoomDescription([about_centre(wall, 4.0)]), truth).tp == 1
    assert metrics.wall_f1(RoomDescription([about_centre(wall, 180.0)]), truth).tp == 1  # ends in either order


def test_wall_endpoints_must_lie_within_10_cm(rooms):
    wall = rooms["studio"].of("wall")[0]
    truth = RoomDescription([wall])
    w = wall.dimensions_m[0]
    for shorter_m, tp in ((0.18, 1), (0.22, 0)):  # 9 and 11 cm per end
        pred = RoomDescription([replace(wall, dimensions_m=(w - shorter_m, *wall.dimensions_m[1:]))])
        s = metrics.wall_f1(pred, truth)
        assert s.tp == tp
    assert s.to_dict()["matches"] == []


def test_walls_match_one_to_one(rooms):
    walls = rooms["studio"].of("wall")
    twice = RoomDescription([walls[0], replace(walls[0], identifier="copy")])
    s = metrics.wall_f1(twice, RoomDescription([walls[0]]))
    assert (s.tp, s.n_pred, s.n_true, s.precision, s.recall) == (1, 2, 1, 0.5, 1.0)
    assert s.matches[0].true_id == walls[0].identifier and s.matches[0].endpoint_error_m == 0
    total = sum([s, s], metrics.Counts(0, 0, 0))
    assert (total.tp, total.n_pred, total.n_true) == (2, 4, 2)


# --- openings ------------------------------------------------------------------------------------


def test_openings_match_by_2d_iou_in_their_wall(rooms):
    room = rooms["apartment"]
    ops = [e for e in room.elements if e.category in OPENINGS]
    truth = RoomDescription(ops)
    assert metrics.opening_f1(scaled(ops, 0.52, 1, 1), truth).overall.f1 == 1  # IoU 0.52
    assert metrics.opening_f1(scaled(ops, 0.48, 1, 1), truth).overall.f1 == 0  # IoU 0.48
    away = RoomDescription([e.transformed(pose(0, 0.35 * e.T_world_element[:3, 1])) for e in ops])
    assert metrics.opening_f1(away, truth).overall.tp == 0  # 35 cm off the wall plane
    closer = RoomDescription([e.transformed(pose(0, 0.25 * e.T_world_element[:3, 1])) for e in ops])
    assert metrics.opening_f1(closer, truth).overall.f1 == 1


def test_opening_categories_and_door_state(rooms):
    room = rooms["apartment"]
    ops = [e for e in room.elements if e.category in OPENINGS]
    truth = RoomDescription(ops)
    assert {e.category for e in ops} == set(OPENINGS)
    swapped = RoomDescription([replace(e, category="window" if e.category == "door" else e.category) for e in ops])
    s = metrics.opening_f1(swapped, truth)
    doors = len(room.of("door"))
    assert s.agnostic.f1 == 1 and s.overall.tp == len(ops) - doors and s.per_category["door"].recall == 0
    flipped = RoomDescription([replace(e, is_open=not e.is_open) if e.category == "door" else e for e in ops])
    s = metrics.opening_f1(flipped, truth)
    assert s.overall.f1 == 1 and (s.doors_matched, s.doors_open_agree) == (doors, 0)
    assert metrics.opening_f1(truth, truth).doors_open_agree == doors
    assert set(s.to_dict()["per_category"]) == set(OPENINGS)


# --- objects -------------------------------------------------------------------------------------


@pytest.mark.parametrize("min_iou", [0.25, 0.5])
def test_objects_match_at_the_iou_threshold(rooms, min_iou):
    truth = RoomDescription(rooms["kitchen"].objects)
    for iou, expected in ((min_iou + 0.01, 1.0), (min_iou - 0.01, 0.0)):
        f = iou ** (1 / 3)  # a box shrunk about its centre by f in each direction: IoU f³
        s = metrics.object_f1(scaled(truth.objects, f, f, f), truth, min_iou)
        assert s.overall.f1 == expected and s.agnostic.f1 == expected
    assert s.min_iou == min_iou


def test_uncategorised_objects_count_only_class_agnostic(rooms):
    objects = rooms["kitchen"].objects
    truth = RoomDescription(objects)
    unknown = RoomDescription([replace(e, category=UNCATEGORISED) for e in objects])
    s = metrics.object_f1(unknown, truth)
    assert (s.overall.tp, s.overall.n_pred, s.overall.n_true) == (0, 0, len(objects))
    assert s.uncategorised == len(objects) and s.agnostic.f1 == 1
    wrong = RoomDescription([replace(e, category="bathtub" if e.category != "bathtub" else "bed") for e in objects])
    s = metrics.object_f1(wrong, truth)
    assert s.overall.tp == 0 and s.overall.n_pred == len(objects) and s.agnostic.f1 == 1


def test_objects_of_other_categories_can_be_left_out(rooms):
    objects = rooms["kitchen"].objects
    chairs = [e for e in objects if e.category == "chair"]
    s = metrics.object_f1(RoomDescription(objects), chairs, categories=("chair",))
    assert (s.overall.tp, s.overall.n_pred, s.overall.n_true) == (len(chairs),) * 3
    assert set(s.to_dict()["per_category"]) == {"chair"}


# --- floor area ----------------------------------------------------------------------------------


def test_floor_area_error(rooms):
    room = rooms["studio"]
    (floor,) = room.of("floor")
    bigger = replace(floor, polygon_m=tuple((1.1 * x, y) for x, y in floor.polygon_m))
    err, a_pred, a_true = metrics.floor_area_error(RoomDescription([bigger]), room)
    assert err == pytest.approx(0.1) and a_pred == pytest.approx(1.1 * a_true)
    box_only = replace(floor, polygon_m=())
    width, depth, _ = floor.dimensions_m
    assert metrics.floor_area_m2(RoomDescription([box_only])) == pytest.approx(width * depth)
    assert metrics.floor_area_error(room, RoomDescription()).relative_error == 1.0
    assert metrics.floor_area_error(RoomDescription(), RoomDescription()).relative_error == 0.0


# --- structure over labelled vertices ------------------------------------------------------------


def test_structure_f1_over_hand_made_vertices():
    wall = RoomElement("W", "wall", (4.0, 0.1, 2.5), pose(0, (0, 0.05, 1.25)))  # x in ±2, y in [0, 0.1]
    floor = RoomElement("F", "floor", (4.0, 4.0, 0.0), pose(0, (0, 2.1, 0.0)))
    door = RoomElement("D", "door", (1.0, 0.0, 2.0), pose(0, (5, 5, 1)), parent="W")  # not structure
    v = np.array([
        [0.0, 0.14, 1.0],  # 4 cm in front of the wall: predicted, is wall
        [0.0, 0.20, 1.0],  # 10 cm in front: not predicted, not structure
        [1.0, 2.0, 0.03],  # 3 cm above the floor: predicted, is floor
        [1.0, 2.0, 0.50],  # a chair: not predicted, not structure
        [3.0, 0.05, 1.0],  # 1 m past the wall's end: missed wall
        [0.0, 1.0, 0.01],  # on the floor but a curtain (not scored)
        [5.0, 5.0, 1.0],  # in the door's box, a picture: doors are not structure
        [0.5, 0.12, 0.3],  # near the wall but a table: a false positive
    ])
    labels = np.array([1, 3, 2, 5, 1, 16, 11, 7])
    true, scored = metrics.structure_masks(labels)
    assert true.tolist() == [True, False, True, False, True, False, False, False]
    assert scored.tolist() == [True, True, True, True, True, False, True, True]
    c = metrics.structure_f1(v, true, scored, RoomDescription([wall, floor, door]))
    assert (c.tp, c.n_pred, c.n_true) == (2, 3, 3)
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 3)
    assert metrics.structure_f1(v, true, scored, RoomDescription()).n_pred == 0
    with pytest.raises(ValueError):
        metrics.structure_f1(v, true[:-1], scored, RoomDescription([wall]))


def test_structure_masks_from_nyu40_labels():
    true, scored = metrics.structure_masks(np.array([0, 1, 2, 8, 9, 16, 22, 3]))
    assert true.tolist() == [False, True, True, False, False, False, False, False]
    assert scored.tolist() == [False, True, True, False, False, False, False, True]
