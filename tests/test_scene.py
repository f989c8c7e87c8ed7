from __future__ import annotations

import json
import re

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

import spatial.commands.reconstruct  # noqa: F401  (registers the command)
from sensors.errors import ConfigError, EmptySessionError, FormatError
from sensors.formats.mcap import McapWriter
from sensors.formats.tum import TumReader
from sensors.frames import C_ARKIT_SDK
from sensors.room import RoomDescription
from sensors.types import Calibration, CameraIntrinsics, GroundTruth, RGBDFrame, Trajectory
from spatial.cli import app
from spatial.scene import Keyframe, Mesh, PointCloud, Scene
from spatial.viz.mesh_render import overview_pose, render_mesh

K = CameraIntrinsics(100.0, 100.0, 31.5, 23.5, 64, 48)


def make_scene(room: RoomDescription | None = None) -> Scene:
    rng = np.random.default_rng(0)
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    mesh = Mesh(box.vertices, box.faces, rng.integers(0, 255, (8, 3)), box.vertex_normals)
    cloud = PointCloud(rng.random((50, 3)), rng.normal(size=(50, 3)), rng.integers(0, 255, (50, 3)))
    T = np.tile(np.eye(4), (5, 1, 1))
    T[:, :3, 3] = rng.random((5, 3))
    traj = Trajectory(1_000_000_000 + np.arange(5) * 33_333_333, T)
    kf = [
        Keyframe(int(traj.timestamps_ns[k]), T[k], K, rng.integers(0, 255, (48, 64, 3), dtype=np.uint8),
                 np.round(rng.random((48, 64)), 3).astype(np.float32))
        for k in (0, 3)
    ]
    return Scene(traj, K, mesh, cloud, kf, room, {"note": "test", "voxel_size_m": np.float64(0.01)})


def test_save_load_round_trip(tmp_path):
    scene = make_scene()
    folder = scene.save(tmp_path / "scene")
    assert not list(tmp_path.glob(".scene.tmp-*"))  # atomic: no leftovers
    doc = json.loads((folder / "scene.json").read_text())
    assert doc["format"] == "spatial-scene" and doc["version"] == 1
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))
    back = Scene.load(folder)
    for field in ("vertices", "triangles", "vertex_colors", "vertex_normals"):
        np.testing.assert_array_equal(getattr(back.mesh, field), getattr(scene.mesh, field))
    for field in ("points", "normals", "colors"):
        np.testing.assert_array_equal(getattr(back.cloud, field), getattr(scene.cloud, field))
    np.testing.assert_array_equal(back.trajectory.timestamps_ns, scene.trajectory.timestamps_ns)
    np.testing.assert_array_equal(back.trajectory.T_world_body, scene.trajectory.T_world_body)
    assert back.intrinsics == K and back.metadata == {"note": "test", "voxel_size_m": 0.01}
    assert len(back.keyframes) == 2 and back.keyframes[1].timestamp_ns == scene.keyframes[1].timestamp_ns
    np.testing.assert_array_equal(back.keyframes[1].color, scene.keyframes[1].color)
    np.testing.assert_allclose(back.keyframes[1].depth_m, scene.keyframes[1].depth_m, atol=5e-4)
    np.testing.assert_array_equal(back.keyframes[1].T_world_camera, scene.keyframes[1].T_world_camera)
    # saving again replaces the folder; a scene without map or keyframes saves too
    Scene(scene.trajectory, K).save(folder)
    bare = Scene.load(folder)
    assert bare.mesh is None and bare.cloud is None and bare.keyframes == [] and bare.room is None


def test_room_travels_with_the_scene(tmp_path):
    room = RoomDescription([], identifier="r1")
    back = Scene.load(make_scene(room).save(tmp_path / "s"))
    assert isinstance(back.room, RoomDescription) and back.room.identifier == "r1"


@pytest.mark.parametrize(
    ("damage", "culprit", "problem"),
    [
        (lambda f: (f / "mesh_vertices.npy").write_bytes((f / "mesh_vertices.npy").read_bytes()[:100]), "mesh_vertices.npy", "corrupt or truncated"),
        (lambda f: (f / "cloud_normals.npy").unlink(), "cloud_normals.npy", "missing"),
        (lambda f: np.save(f / "mesh_vertex_colors.npy", np.zeros((3, 3), np.uint8)), "mesh_vertex_colors.npy", "shape (3, 3), expected (8, 3)"),
        (lambda f: np.save(f / "mesh_triangles.npy", np.full((4, 3), 99, np.int32)), "mesh_triangles.npy", "outside 0..7"),
        (lambda f: (f / "keyframes" / "000001.color.png").write_bytes(b"\x89PNG\r\n\x1a\n junk"), "000001.color.png", "truncated"),
        (lambda f: (f / "keyframes" / "000000.depth.png").unlink(), "000000.depth.png", "missing"),
        (lambda f: (f / "scene.json").write_text("{not json"), "scene.json", "not valid JSON"),
        (lambda f: (f / "scene.json").write_text(json.dumps({"format": "spatial-scene", "version": 99})), "scene.json", "version 99"),
        (lambda f: np.save(f / "trajectory_T_world_camera.npy", np.full((5, 4, 4), np.nan)), "trajectory_T_world_camera.npy", "NaN"),
        (lambda f: (f / "scene.json").unlink(), "scene.json", "scene.json is missing"),
    ],
)
def test_corrupt_scene_folder_names_the_bad_file(tmp_path, damage, culprit, problem):
    folder = make_scene().save(tmp_path / "scene")
    damage(folder)
    with pytest.raises(FormatError, match=re.escape(problem)) as e:
        Scene.load(folder)
    assert e.value.path.name == culprit and culprit in str(e.value)


def test_exports_reimport(tmp_path):
    scene = make_scene()
    ply = trimesh.load(scene.export(tmp_path / "m.ply"), process=False)
    np.testing.assert_allclose(ply.vertices, scene.mesh.vertices, atol=1e-6)
    np.testing.assert_array_equal(ply.visual.vertex_colors[:, :3], scene.mesh.vertex_colors)
    back = Mesh.load(tmp_path / "m.ply")
    np.testing.assert_allclose(back.vertex_normals, scene.mesh.vertex_normals, atol=1e-6)
    obj = trimesh.load(scene.export(tmp_path / "m.obj"), process=False)
    assert len(obj.faces) == 12 and np.allclose(np.sort(obj.vertices, 0), np.sort(scene.mesh.vertices, 0), atol=1e-6)
    glb = trimesh.load(scene.export(tmp_path / "m.glb"), force="mesh", process=False)
    # glTF is y-up: SDK (x, y, z) -> (x, z, -y); the 1 m (y) side becomes z, the 0.5 m (z) side y
    np.testing.assert_allclose(glb.extents, [2.0, 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(np.sort(glb.vertices, 0), np.sort(scene.mesh.vertices @ C_ARKIT_SDK[:3, :3].T, 0), atol=1e-6)
    cloud_only = Scene(scene.trajectory, K, None, scene.cloud)
    pc = trimesh.load(cloud_only.export(tmp_path / "c.ply"))
    assert isinstance(pc, trimesh.PointCloud) and len(pc.vertices) == 50
    with pytest.raises(ConfigError, match="needs a mesh"):
        cloud_only.export(tmp_path / "c.obj")
    with pytest.raises(ConfigError, match="'.stl'"):
        scene.export(tmp_path / "m.stl")
    with pytest.raises(EmptySessionError, match="no mesh or point cloud"):
        Scene(scene.trajectory, K).export(tmp_path / "e.ply")


def test_usdz_export_is_metres_and_z_up(tmp_path):
    from pxr import Usd, UsdGeom

    scene = make_scene()
    path = scene.export(tmp_path / "m.usdz")
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath("/Scene/Mesh"))
    np.testing.assert_allclose(np.array(mesh.GetPointsAttr().Get()), scene.mesh.vertices, atol=1e-6)
    assert list(mesh.GetFaceVertexIndicesAttr().Get()) == scene.mesh.triangles.reshape(-1).tolist()
    colors = np.array(UsdGeom.PrimvarsAPI(mesh).GetPrimvar("displayColor").Get())
    np.testing.assert_allclose(colors * 255, scene.mesh.vertex_colors, atol=1e-3)
    pts = Scene(scene.trajectory, K, None, scene.cloud).export(tmp_path / "c.usdz")
    stage = Usd.Stage.Open(str(pts))
    assert len(UsdGeom.Points(stage.GetPrimAtPath("/Scene/Points")).GetPointsAttr().Get()) == 50


def test_tum_trajectory_reads_back(tmp_path):
    scene = make_scene()
    path = scene.save_trajectory_tum(tmp_path / "traj.tum")
    back = TumReader._trajectory(path)
    np.testing.assert_array_equal(back.timestamps_ns, scene.trajectory.timestamps_ns)
    np.testing.assert_allclose(back.T_world_body, scene.trajectory.T_world_body, atol=1e-12)


def test_render_mesh_offscreen():
    box = trimesh.creation.box(extents=(2.0, 2.0, 2.0))
    top = box.vertices[:, 2] > 0
    # a room: faces wound to face inwards, red ceiling corners, blue floor corners
    mesh = Mesh(box.vertices, box.faces[:, ::-1], np.where(top[:, None], (200, 50, 50), (50, 50, 200)))
    img = render_mesh(mesh, width=160, height=120, cull_backfaces=False)
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    hit = np.any(img != 255, axis=2)
    assert 0.05 < hit.mean() < 0.9 and hit[60, 80]
    assert int(img[60, 80, 0]) > 2 * int(img[60, 80, 2])  # seen from above: the red ceiling, shaded
    # back-face culling leaves out the ceiling, which faces away: the blue floor shows inside
    culled = render_mesh(mesh, width=160, height=120)
    assert int(culled[60, 80, 2]) > 2 * int(culled[60, 80, 0])
    np.testing.assert_array_equal(render_mesh(mesh, overview_pose(mesh), 160, 120), culled)
    with pytest.raises(EmptySessionError):
        render_mesh(Mesh.empty())


def plane_session(path, n: int = 12):
    """A small MCAP session: a camera sliding past a tilted wall, with ground-truth poses."""
    K2 = CameraIntrinsics(120.0, 120.0, 79.5, 59.5, 160, 120)
    v, u = np.indices((120, 160))
    normal = np.array([0.2, 0.1, -1.0]) / np.linalg.norm([0.2, 0.1, -1.0])
    ts = 1_000_000_000 + np.arange(n) * 33_333_333
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, 0, 3] = np.linspace(0, 0.3, n)
    with McapWriter(path, Calibration(color=K2), GroundTruth(Trajectory(ts, T))) as w:
        for k in range(n):
            rays = np.stack([(u - K2.cx) / K2.fx, (v - K2.cy) / K2.fy, np.ones(u.shape)], -1)
            depth = ((-1.5 - normal @ T[k, :3, 3]) / (rays @ normal)).astype(np.float32)
            color = np.full((120, 160, 3), (90, 140, 200), np.uint8)
            w.write(RGBDFrame(int(ts[k]), color, depth, K2, depth_timestamp_ns=int(ts[k]), index=k))
    return path


def test_cli_reconstruct_writes_every_output(tmp_path):
    session = plane_session(tmp_path / "s.mcap")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["reconstruct", str(session), "--out", str(out), "--voxel", "0.02", "--set", "keyframe_every=5",
                                 "--poses", "gt"])
    assert r.exit_code == 0, r.output
    assert "fused 12 of 12 frames" in r.output and "fusing" in r.output  # summary and progress bar
    for name in ("mesh.ply", "cloud.ply", "trajectory.tum", "config.json", "mesh.png", "scene/scene.json"):
        assert (out / name).exists(), name
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["config"]["voxel_size_m"] == 0.02 and cfg["config"]["keyframe_every"] == 5
    assert {"spatial", "open3d", "numpy"} <= set(cfg["versions"]) and cfg["stats"]["frames_fused"] == 12
    scene = Scene.load(out / "scene")
    assert len(scene.trajectory) == 12 and len(scene.keyframes) == 3 and len(scene.mesh.triangles) > 1000
    assert trimesh.load(out / "mesh.ply").area > 1.0
    r = CliRunner().invoke(app, ["reconstruct", str(session), "--out", str(out), "--set", "voxel_size_m=-1"])
    assert r.exit_code == 2 and "voxel_size_m" in r.output
    r = CliRunner().invoke(app, ["reconstruct", str(session), "--out", str(out), "--set", "bogus"])
    assert r.exit_code == 2 and "KEY=VALUE" in r.output
