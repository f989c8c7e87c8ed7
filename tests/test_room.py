import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors import FormatError
from sensors.frames import (
    box_pose_arkit_to_sdk,
    box_pose_sdk_to_arkit,
    camera_pose_cv_to_gl,
    camera_pose_gl_to_cv,
    points_arkit_to_sdk,
    points_sdk_to_arkit,
)
from sensors.room import OBJECT_CATEGORIES, RoomDescription, RoomElement


def pose(yaw_deg, xyz):
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    T[:3, 3] = xyz
    return T


def test_frame_conversions_are_inverse_and_put_up_on_y():
    up = points_sdk_to_arkit([[0.0, 0.0, 1.0]])
    assert np.allclose(up, [[0, 1, 0]])
    p = np.random.default_rng(0).normal(size=(5, 3))
    assert np.allclose(points_arkit_to_sdk(points_sdk_to_arkit(p)), p)
    T = pose(30, (1, 2, 3))
    assert np.allclose(box_pose_arkit_to_sdk(box_pose_sdk_to_arkit(T)), T)
    assert np.allclose(camera_pose_gl_to_cv(camera_pose_cv_to_gl(T)), T)
    # a box's height axis (local z in the SDK) is local y in ARKit and still points up
    Ta = box_pose_sdk_to_arkit(pose(30, (0, 0, 0)))
    assert np.allclose(Ta[:3, 1], [0, 1, 0])


def test_room_json_roundtrip_in_roomplan_shape(tmp_path):
    wall = RoomElement("W1", "wall", (4.0, 0.1, 2.6), pose(90, (2, 0, 1.3)))
    door = RoomElement("D1", "door", (0.9, 0.0, 2.0), pose(90, (2, 1, 1.0)), parent="W1", is_open=True)
    floor = RoomElement("F1", "floor", (4.0, 3.0, 0.0), pose(0, (0, 0, 0)), polygon_m=((-2, -1.5), (2, -1.5), (2, 1.5), (-2, 1.5)))
    sofa = RoomElement("O1", "sofa", (2.0, 0.9, 0.8), pose(-45, (0.5, 0.5, 0.4)), confidence="medium")
    room = RoomDescription([wall, door, floor, sofa], identifier="R")
    d = room.to_json()
    assert [len(d[k]) for k in ("walls", "doors", "windows", "openings", "floors", "objects")] == [1, 1, 0, 0, 1, 1]
    assert d["doors"][0]["category"] == {"door": {"isOpen": True}}
    assert d["objects"][0]["dimensions"] == [2.0, 0.8, 0.9]  # width, height, depth
    assert d["objects"][0]["transform"][13] == pytest.approx(0.4)  # column-major: y (up) translation
    path = room.save_json(tmp_path / "room.json")
    back = RoomDescription.load_json(path)
    assert [e.identifier for e in back.elements] == ["W1", "D1", "F1", "O1"]
    for a, b in zip(room.elements, back.elements):
        assert a.category == b.category and a.parent == b.parent and a.confidence == b.confidence
        assert np.allclose(a.T_world_element, b.T_world_element)
        assert np.allclose(a.dimensions_m, b.dimensions_m)
    assert np.allclose(back.of("floor")[0].polygon_m, floor.polygon_m)
    assert back.objects[0].corners_m()[:, 2].min() == pytest.approx(0.0)
    assert len(OBJECT_CATEGORIES) == 16


def test_room_bad_inputs(tmp_path):
    with pytest.raises(FormatError, match="unknown room element category 'lamp'"):
        RoomElement("x", "lamp", (1, 1, 1), np.eye(4))
    with pytest.raises(FormatError, match="non-negative"):
        RoomElement("x", "bed", (1, -1, 1), np.eye(4))
    bad = tmp_path / "room.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON") as e:
        RoomDescription.load_json(bad)
    assert str(bad) in str(e.value)
    bad.write_text(json.dumps({"walls": [{"identifier": "W", "category": {"wall": {}}}]}))
    with pytest.raises(FormatError, match="invalid room element W") as e:
        RoomDescription.load_json(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(FormatError, match="missing"):
        RoomDescription.load_json(tmp_path / "nope.json")


def test_room_extensions_round_trip_and_transform(tmp_path):
    from sensors.room import UNCATEGORISED, RoomSection

    wall = RoomElement("W1", "wall", (4.0, 0.1, 2.6), pose(90, (2, 0, 1.3)))
    board = RoomElement("O9", UNCATEGORISED, (1.2, 0.05, 0.9), pose(0, (1, 1, 1.2)), confidence="low", label="whiteboard")
    chair = RoomElement("O1", "chair", (0.5, 0.5, 0.9), pose(10, (0, 1, 0.45)), score=0.82)
    room = RoomDescription([wall, board, chair], "R", [RoomSection("kitchen", (1.0, 2.0, 0.0))], ["no ceiling seen"])
    assert [e.identifier for e in room.objects] == ["O9", "O1"]  # uncategorised objects are objects
    d = room.to_json()
    assert d["objects"][0]["category"] == {"unknown": {}} and d["objects"][0]["label"] == "whiteboard"
    assert d["sections"][0]["center"] == [1.0, 0.0, -2.0]  # ARKit y-up
    back = RoomDescription.load_json(room.save_json(tmp_path / "r.json"))
    assert back.objects[1].score == pytest.approx(0.82) and back.objects[0].label == "whiteboard"
    assert back.sections[0].label == "kitchen" and back.sections[0].center_m == (1.0, 2.0, 0.0)
    assert back.warnings == ["no ceiling seen"]
    moved = room.transformed(pose(90, (1, 0, 0)))
    assert np.allclose(moved.objects[1].center_m, [0.0, 0.0, 0.45])
    assert np.allclose(moved.sections[0].center_m, [-1.0, 1.0, 0.0])
    assert np.allclose(room.objects[1].center_m, [0, 1, 0.45])  # the original is untouched
    with pytest.raises(FormatError, match=r"score must lie in \[0, 1\]"):
        RoomElement("x", "chair", (1, 1, 1), np.eye(4), score=1.5)
    with pytest.raises(FormatError, match="unknown section label"):
        RoomSection("garage", (0, 0, 0))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"walls": [], "objects": "chair"}))
    with pytest.raises(FormatError, match="'objects' must be a list") as e:
        RoomDescription.load_json(bad)
    assert str(bad) in str(e.value)
    bad.write_text(json.dumps({"walls": [{"identifier": "W", "category": "wall"}]}))
    with pytest.raises(FormatError, match="invalid room element W"):
        RoomDescription.load_json(bad)
