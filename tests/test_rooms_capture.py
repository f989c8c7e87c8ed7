"""Room capture end to end on synthetic scans of simulated rooms (what a camera path sees, with
noise) written as point clouds, and on the real ScanNet room."""

from __future__ import annotations

import json

import numpy as np
import pytest
from expect import raises_naming

from sensors.errors import ConfigError, EmptySessionError, FormatError
from sensors.frames import points_sdk_to_arkit
from sensors.sim import SimConfig, plan
from spatial.eval import rooms as metrics
from spatial.rooms import RoomOptions, capture
from spatial.rooms.train_classifier import synthetic_scan
from spatial.scene import Scene
from spatial.scene.geometry import PointCloud


def _scan(preset: str, seed: int, n_cams: int = 24):
    world, traj = plan(SimConfig.create(preset=preset, seed=seed))
    s, _ = synthetic_scan(world, traj, np.random.default_rng(seed), n_cams)
    return world, s


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """(world, cloud .ply path) of a synthetic scan of the simulated studio, seed 4."""
    world, s = _scan("studio", 4)
    path = tmp_path_factory.mktemp("studio") / "studio.ply"
    PointCloud(s.xyz, s.normals, s.colors).save_ply(path)
    return world, path


@pytest.fixture(scope="module")
def studio_room(studio):
    return capture(studio[1], RoomOptions(up="z"))


def test_studio_walls_openings_area_and_objects_match_the_truth(studio, studio_room):
    world, _ = studio
    m = metrics.evaluate(studio_room, world.room)
    assert m.walls.f1 == 1.0, m.walls
    assert m.wall_endpoint_error_m < 0.05
    assert m.area_error < 0.03, (m.area_pred_m2, m.area_true_m2)
    assert m.openings.agnostic.recall >= 2 / 3, m.openings.to_dict()
    assert m.objects_25.agnostic.f1 >= 0.6, m.objects_25.to_dict()
    for e in studio_room.of("door") + studio_room.of("window"):
        assert e.parent in {w.identifier for w in studio_room.of("wall")}
    assert all(0.0 <= e.score <= 1.0 for e in studio_room.objects)
    (section,) = studio_room.sections  # one room; the studio's bed makes it a bedroom
    assert section.label == ("bedroom" if any(e.category == "bed" for e in studio_room.objects) else section.label)
    floor = studio_room.of("floor")[0]
    assert np.all(np.abs(np.array(section.center_m[:2]) - floor.center_m[:2]) < np.array(floor.dimensions_m[:2]) / 2)


def test_sections_are_told_by_their_objects():
    from spatial.rooms.sections import label

    assert label({"bed", "television"}) == "bedroom" and label({"toilet", "sink"}) == "bathroom"
    assert label({"stove", "table", "chair"}) == "kitchen" and label({"table", "chair"}) == "diningRoom"
    assert label({"sofa"}) == "livingRoom" and label(set()) == "unidentified"


def test_capture_is_deterministic_and_stored_on_a_scene(studio, studio_room):
    again = capture(studio[1], RoomOptions(up="z"))
    assert json.dumps(again.to_json()) == json.dumps(studio_room.to_json())
    cloud = PointCloud.from_open3d(__import__("open3d").t.io.read_point_cloud(str(studio[1])))
    scene = Scene(trajectory=_no_poses(), intrinsics=_intrinsics(), cloud=cloud)
    room = capture(scene, RoomOptions(up="z"))
    assert scene.room is room and len(room.of("wall")) == len(studio_room.of("wall"))


def _no_poses():
    from sensors.types import Trajectory

    return Trajectory(np.zeros(0, np.int64), np.zeros((0, 4, 4)), body="camera")


def _intrinsics():
    from sensors.types import CameraIntrinsics

    return CameraIntrinsics(525.0, 525.0, 319.5, 239.5, 640, 480)


def test_a_y_up_cloud_is_found_to_be_y_up_and_comes_back_in_its_own_coordinates(studio, studio_room, tmp_path):
    cloud = PointCloud.from_open3d(__import__("open3d").t.io.read_point_cloud(str(studio[1])))
    yup = tmp_path / "yup.ply"
    PointCloud(points_sdk_to_arkit(cloud.points), points_sdk_to_arkit(cloud.normals), cloud.colors).save_ply(yup)
    auto = capture(yup)  # no up given: found, and said
    assert any("y-up" in w for w in auto.warnings)
    given = capture(yup, RoomOptions(up="y"))
    assert not any("y-up" in w for w in given.warnings)
    for room in (auto, given):  # the SDK world of a y-up input is the z-up version of its frame
        m = metrics.evaluate(room, studio_room)
        assert m.walls.f1 == 1.0 and m.area_error < 0.01
        # the room's y-up JSON is in the input's own coordinates: floor corners overlay the cloud
        floor = room.of("floor")[0]
        corners = points_sdk_to_arkit(floor.corners_m())
        lo = corners.min(0)
        pts = points_sdk_to_arkit(cloud.points)
        assert np.all(lo[[0, 2]] < np.percentile(pts[:, [0, 2]], 50, axis=0))
        assert abs(lo[1] - np.percentile(pts[:, 1], 1)) < 0.05  # the floor sits at the cloud's bottom


def test_a_cloud_in_millimetres_is_refused_with_the_fix_and_works_scaled(studio, tmp_path):
    cloud = PointCloud.from_open3d(__import__("open3d").t.io.read_point_cloud(str(studio[1])))
    mm = tmp_path / "mm.ply"
    PointCloud(cloud.points * 1000, cloud.normals, cloud.colors).save_ply(mm)
    raises_naming(ConfigError, lambda: capture(mm), mm, "millimetres", "scale=0.001")
    room = capture(mm, RoomOptions(up="z", scale=0.001))
    assert len(room.of("wall")) == 4


def test_bad_inputs_give_warnings_or_named_errors(studio, tmp_path):
    cloud = PointCloud.from_open3d(__import__("open3d").t.io.read_point_cloud(str(studio[1])))
    # one wall only: the points of the most populated vertical plane
    wall = (np.abs(cloud.normals[:, 0]) > 0.9) & (cloud.points[:, 0] < cloud.points[:, 0].min() + 0.05)
    one = tmp_path / "one_wall.ply"
    PointCloud(cloud.points[wall], cloud.normals[wall]).save_ply(one)
    room = capture(one, RoomOptions(up="z"))
    assert not room.of("floor") and room.warnings and "no floor" in room.warnings[0]
    # floor cut away: no floor in view
    nofloor = tmp_path / "no_floor.ply"
    keep = cloud.points[:, 2] > 0.3
    PointCloud(cloud.points[keep], cloud.normals[keep]).save_ply(nofloor)
    room = capture(nofloor, RoomOptions(up="z"))
    assert not room.elements and any("no floor in view" in w for w in room.warnings)
    # walls too few to close a room
    part = tmp_path / "corner.ply"
    corner = (cloud.points[:, 0] < np.percentile(cloud.points[:, 0], 40)) & (cloud.points[:, 1] < np.percentile(cloud.points[:, 1], 40))
    PointCloud(cloud.points[corner], cloud.normals[corner]).save_ply(part)
    room = capture(part, RoomOptions(up="z"))
    assert room.warnings
    empty = tmp_path / "empty.ply"
    empty.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n")
    with pytest.raises((EmptySessionError, FormatError)) as e:
        capture(empty)
    assert str(empty) in str(e.value)
    raises_naming(FormatError, lambda: capture(tmp_path / "missing.ply"), tmp_path / "missing.ply", "missing")
    with pytest.raises(EmptySessionError, match="no mesh or point cloud"):
        capture(Scene(trajectory=_no_poses(), intrinsics=_intrinsics()))
    with pytest.raises(ConfigError, match="classifier"):
        capture(studio[1], RoomOptions(classifier="no-such-backend"))


@pytest.mark.shared_data
def test_scannet_room_walls_door_window_and_structure(shared_data):
    from spatial.eval.scannet import read_vertex_labels, structure_masks

    d = shared_data / "scannet_scene0470_00_scan2cad"
    room = capture(d / "scene0470_00_vh_clean_2.ply")
    assert 4 <= len(room.of("wall")) <= 8 and len(room.of("floor")) == 1
    xyz, labels = read_vertex_labels(d / "scene0470_00_vh_clean_2.labels.ply")
    true, scored = structure_masks(labels)
    s = metrics.structure_f1(xyz, true, scored, room)
    assert s.f1 > 0.9 and s.recall > 0.95, s.to_dict()  # the naive RANSAC baseline gets 0.89
    for kind, label in (("door", 8), ("window", 9)):
        assert metrics.opening_on_labelled_vertices(room, xyz[labels == label], kind), kind
    assert any("no ceiling" in w for w in room.warnings)  # the scan stops at 1.4 m


def test_two_stories_are_separated(studio, tmp_path):
    cloud = PointCloud.from_open3d(__import__("open3d").t.io.read_point_cloud(str(studio[1])))
    top = cloud.points[:, 2].max() + 0.3  # the upper story's floor slab above the lower ceiling
    two = tmp_path / "two.ply"
    lifted = cloud.points + np.array([0.0, 0.0, top])
    PointCloud(np.vstack([cloud.points, lifted]), np.vstack([cloud.normals, cloud.normals]),
               np.vstack([cloud.colors, cloud.colors])).save_ply(two)
    room = capture(two, RoomOptions(up="z"))
    floors = room.of("floor")
    assert sorted(f.story for f in floors) == [0, 1]
    assert abs(floors[1].center_m[2] - floors[0].center_m[2] - top) < 0.05 if floors[0].story == 0 else True
    for story in (0, 1):
        assert len([w for w in room.of("wall") if w.story == story]) == 4
