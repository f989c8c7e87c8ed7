"""spatial.eval.grounding: whether a query's first answer is its target, on hand-made boxes; and
spatial.eval.scannet.label_boxes / read_scan2cad_all on the shared ScanNet room."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.room import RoomElement
from spatial.eval.grounding import (
    QueryResult,
    contains_centre,
    hit_matches,
    is_thin,
    per_kind_accuracy,
    score_hit,
    top1_accuracy,
)


def pose(yaw_deg: float = 0.0, xyz=(0.0, 0.0, 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    T[:3, 3] = xyz
    return T


def box(category: str, dims, xyz=(0.0, 0.0, 0.5), yaw_deg: float = 0.0, ident: str = "e") -> RoomElement:
    return RoomElement(ident, category, tuple(dims), pose(yaw_deg, xyz))


CHAIR = box("chair", (1.0, 1.0, 1.0), ident="chair")  # 1 m cube at the origin, 1 m³


@pytest.mark.parametrize(("shift_m", "expected"), [
    (0.0, True),     # IoU 1
    (0.5, True),     # overlap 0.5 m³ → IoU 0.5 / 1.5 = 0.33
    (0.6, True),     # overlap 0.4 → IoU 0.4 / 1.6 = 0.25: on the threshold counts
    (0.65, False),   # overlap 0.35 → IoU 0.35 / 1.65 = 0.21
    (2.0, False),    # apart
])
def test_iou_threshold(shift_m: float, expected: bool) -> None:
    pred = box("chair", (1.0, 1.0, 1.0), (shift_m, 0.0, 0.5))
    assert hit_matches(pred, CHAIR) is expected


def test_iou_threshold_is_a_parameter_and_category_free() -> None:
    pred = box("table", (1.0, 1.0, 1.0), (0.5, 0.0, 0.5))  # IoU 1/3, another category
    assert hit_matches(pred, CHAIR, iou_min=0.3)
    assert not hit_matches(pred, CHAIR, iou_min=0.4)


def test_turned_box_uses_oriented_iou() -> None:
    target = box("table", (2.0, 0.5, 1.0), yaw_deg=0.0)
    assert hit_matches(box("table", (2.0, 0.5, 1.0), yaw_deg=180.0), target)   # same box
    assert not hit_matches(box("table", (2.0, 0.5, 1.0), yaw_deg=90.0), target)  # a cross: IoU 0.25/1.75


def test_thin_elements_match_by_mutual_centre_containment() -> None:
    door = box("door", (0.9, 0.0, 2.0), (0.0, 0.0, 1.0), ident="door")
    assert is_thin(door) and not is_thin(CHAIR)
    # the same door found 8 cm off its wall plane and a bit narrower: no volume, so no IoU, but it matches
    found = box("door", (0.8, 0.0, 1.9), (0.05, 0.08, 0.95))
    assert hit_matches(found, door)
    # 15 cm off the plane: beyond the 0.1 m slack on the thin axis
    assert not hit_matches(box("door", (0.9, 0.0, 2.0), (0.0, 0.15, 1.0)), door)
    assert hit_matches(box("door", (0.9, 0.0, 2.0), (0.0, 0.15, 1.0)), door, thin_m=0.2)
    # the whole wall holding the door contains its centre, but the door does not contain the wall's
    wall = box("wall", (4.0, 0.12, 2.5), (1.2, 0.0, 1.25), ident="wall")
    assert contains_centre(wall, door) and not contains_centre(door, wall)
    assert not hit_matches(wall, door)
    # the window next to the door on the same wall
    assert not hit_matches(box("window", (1.0, 0.0, 1.0), (1.5, 0.0, 1.5)), door)


def test_thin_by_size_whiteboard() -> None:
    board = RoomElement("wb", "unknown", (2.4, 0.04, 0.5), pose(0.0, (1.0, 2.0, 1.1)), label="whiteboard")
    assert is_thin(board)
    assert is_thin(RoomElement("wb", "unknown", (2.44, 0.13, 0.46), np.eye(4)))  # flat: boxed around scanned vertices
    assert not is_thin(RoomElement("bin", "unknown", (0.43, 0.22, 0.36), np.eye(4)))
    assert not is_thin(RoomElement("tv", "television", (1.2, 0.3, 1.1), np.eye(4)))
    assert hit_matches(RoomElement("f", "unknown", (2.0, 0.0, 0.6), pose(0.0, (1.1, 2.06, 1.05))), board)
    assert not hit_matches(RoomElement("f", "unknown", (0.5, 0.0, 0.6), pose(0.0, (0.0, 2.0, 1.1))), board)  # its end only


def test_empty_answer_is_wrong_and_accuracy() -> None:
    assert not hit_matches(None, CHAIR)
    right = score_hit("the chair", ("category",), "r", CHAIR, CHAIR, score=0.9, ms=3.0)
    wrong = score_hit("the chair next to the table", ("relation",), "r", CHAIR, None)
    assert right.correct and right.iou == pytest.approx(1.0) and right.hit == "chair" and right.hit_center_m == (0, 0, 0.5)
    assert not wrong.correct and wrong.hit is None and wrong.hit_category is None
    assert top1_accuracy([right, wrong]) == 0.5
    assert math.isnan(top1_accuracy([]))
    both = score_hit("the red chair by the door", ("attribute", "relation"), "r", CHAIR, CHAIR)
    kinds = per_kind_accuracy([right, wrong, both])
    assert kinds == {"attribute": (1.0, 1), "category": (1.0, 1), "relation": (0.5, 2)}


def test_result_to_dict_is_json_ready() -> None:
    import json

    r = QueryResult("the sofa", ("category",), "studio_1", "s", "sofa", "x", "sofa", True, 0.8, 0.7, "", 2.5)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["kinds"] == ["category"] and d["correct"] is True and d["ms"] == 2.5


def test_scannet_label_boxes(shared_data) -> None:
    from spatial.eval.scannet import label_boxes, read_scan2cad, read_scan2cad_all

    folder = shared_data / "scannet_scene0470_00_scan2cad"
    if not folder.is_dir():
        pytest.skip("ScanNet scene0470_00 not in the shared data")
    labels = folder / "scene0470_00_vh_clean_2.labels.ply"
    (door,) = label_boxes(labels, 8)
    (window,) = label_boxes(labels, 9)
    (board,) = label_boxes(labels, 30)
    assert door.category == "door" and window.category == "window" and board.label == "whiteboard"
    # all three stand on the walls x ≈ 3.4 m and y ≈ 2.8 m of the mesh frame, thin across the wall (local y)
    for e in (door, window, board):
        assert e.dimensions_m[1] < 0.2 < e.dimensions_m[0]
        assert abs(e.T_world_element[2, 2] - 1.0) < 1e-9  # gravity-aligned
    assert door.center_m[0] > 3.1 and window.center_m[0] > 3.1 and board.center_m[1] > 2.5
    assert label_boxes(labels, 3) == []  # no cabinet vertices in this room
    every = read_scan2cad_all(folder / "scan2cad_annotation_scene0470_00.json")
    kept = read_scan2cad(folder / "scan2cad_annotation_scene0470_00.json")
    assert len(every) == 7 and len(kept) == 6
    (bin_,) = [e for e in every if e.category == "unknown"]
    assert bin_.label == "trash bin" and hit_matches(bin_, bin_)
    assert {e.identifier for e in kept} < {e.identifier for e in every}
