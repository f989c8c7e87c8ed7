from __future__ import annotations

import numpy as np
import pytest

import sensors
import spatial
from sensors.errors import CalibrationError, ConfigError, EmptySessionError, FormatError, SyncError
from sensors.formats.mcap import McapWriter
from sensors.sim import SimConfig, simulate
from sensors.types import Calibration, CameraIntrinsics, GroundTruth, ImuSample, RGBDFrame, Trajectory
from spatial.eval.reconstruction import reconstruction_metrics, sample_surface, visible_mask
from spatial.reconstruction import ReconstructionConfig, TSDFVolume, camera_trajectory
from spatial.reconstruction.filters import bilateral, clip_range, remove_edges
from spatial.reconstruction.tsdf import register_color
from spatial.scene import Mesh

K = CameraIntrinsics(200.0, 200.0, 79.5, 59.5, 160, 120)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A short simulated studio scan (320x240) with ground-truth poses and mesh."""
    path = tmp_path_factory.mktemp("sim") / "studio.mcap"
    simulate(SimConfig.create(preset="studio", seed=0, duration_s=4, width=320, height=240, focal_px=262.5), path)
    return path


def plane_depth(K: CameraIntrinsics, normal, offset: float) -> np.ndarray:
    """Depth (z) of the plane n·X = offset seen by camera K at the origin."""
    v, u = np.indices((K.height, K.width))
    rays = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(u.shape)], -1)
    return (offset / (rays @ np.asarray(normal))).astype(np.float32)


def write_session(path, frames, ground_truth=None):
    with McapWriter(path, Calibration(color=K), ground_truth) as w:
        for f in frames:
            w.write(f)
    return path


def frame(k: int, depth: np.ndarray) -> RGBDFrame:
    t = 1_000_000_000 + k * 33_333_333
    return RGBDFrame(t, np.full((*depth.shape, 3), 128, np.uint8), depth, K, depth_timestamp_ns=t, index=k)


# -- fusion quality -----------------------------------------------------------------------------
def test_sim_studio_fscore_against_ground_truth_mesh(studio):
    with sensors.open(studio) as session:
        config = ReconstructionConfig(voxel_size_m=0.02, keyframe_every=10)
        scene = spatial.reconstruct(session, config, poses="ground_truth")
        gt = Mesh.load(session.ground_truth.mesh_path)
    stats = scene.metadata["stats"]
    assert stats["frames_fused"] == stats["frames_read"] == len(scene.trajectory) > 100
    assert scene.mesh.vertex_colors is not None and scene.cloud.normals is not None
    assert len(scene.keyframes) == -(-len(scene.trajectory) // 10)
    ref = sample_surface(gt, 100_000, seed=1)
    seen = visible_mask(ref, gt, scene.trajectory.T_world_body[::10], scene.intrinsics, 0.1, 4.0)
    m = reconstruction_metrics(scene.mesh, gt, samples=100_000, reference_mask=seen)
    assert m.at(0.05)[2] > 0.9, m.to_dict()
    assert m.accuracy_m < 0.03


@pytest.mark.shared_data
def test_7scenes_mesh_and_raycast_match_the_frames(shared_data):
    with sensors.open(shared_data / "7scenes") as session:
        config = ReconstructionConfig(max_frames=30, weight_threshold=1.0)
        scene = spatial.reconstruct(session, config, poses="ground_truth")
        frames = list(session.frames(every=10))[:3]
        gt = session.ground_truth.poses
    assert len(scene.mesh.triangles) > 50_000
    lo, hi = scene.mesh.bounds_m
    assert np.all(hi - lo < 5.0) and np.all(hi - lo > 0.5)
    # fuse again and render from the frames' poses: the raycast depth is the measured depth
    volume = TSDFVolume(0.01, weight_threshold=1.0)
    for f in frames:
        volume.integrate_frame(f, gt.T_world_body[f.index])
    for f in frames:
        r = volume.raycast(gt.T_world_body[f.index], f.intrinsics)
        both = r.valid & (f.depth_m > 0)
        assert both.sum() > 0.8 * (f.depth_m > 0).sum()
        diff = r.depth_m[both] - f.depth_m[both]
        assert abs(np.median(diff)) < 0.003 and np.median(np.abs(diff)) < 0.008
        assert r.color is not None and r.color[both].mean() > 20
        facing = (r.normals_camera[both] * r.vertices_camera[both]).sum(1) < 0
        assert facing.mean() > 0.95


def test_raycast_of_a_plane_is_unbiased_from_another_view():
    K2 = CameraIntrinsics(262.5, 262.5, 159.5, 119.5, 320, 240)
    n = np.array([0.3, -0.2, -1.0]) / np.linalg.norm([0.3, -0.2, -1.0])
    depth = plane_depth(K2, n, -1.5)
    for voxel in (0.01, 0.02):
        vol = TSDFVolume(voxel, bilateral=False, edge_removal=False, weight_threshold=0.5)
        vol.integrate(depth, None, K2, np.eye(4))
        # a second camera, 10 cm to the side: its true depth is the same plane's in its frame
        T = np.eye(4)
        T[:3, 3] = [0.1, 0.05, 0.0]
        r = vol.raycast(T, K2)
        truth = plane_depth(K2, n, -1.5 - n @ T[:3, 3])
        ok = r.valid & (truth > 0)
        assert ok.mean() > 0.7
        err = r.depth_m[ok] - truth[ok]
        assert abs(np.median(err)) < 0.1 * voxel and np.percentile(np.abs(err), 90) < 0.3 * voxel, voxel
        assert r.color is None
        assert np.median(r.normals_camera[ok] @ n) > 0.99  # n faces the camera (its z is negative)
        np.testing.assert_allclose(r.vertices_camera[ok][:, 2], r.depth_m[ok], rtol=1e-5)
    empty = TSDFVolume(0.02).raycast(np.eye(4), K2)
    assert not empty.valid.any() and empty.vertices_camera.shape == (240, 320, 3)


# -- block grid ------------------------------------------------------------------------------------
def test_block_grid_grows_from_one_block_and_keeps_every_block(studio):
    with sensors.open(studio) as session:
        frames = list(session.frames(every=4))
        gt = session.ground_truth.poses
    tiny = TSDFVolume(0.02, initial_blocks=1)
    roomy = TSDFVolume(0.02, initial_blocks=50_000)
    for f in frames:
        T = gt.T_world_body[gt.index_of(f.timestamp_ns)]
        tiny.integrate_frame(f, T)
        roomy.integrate_frame(f, T)
    assert tiny.num_blocks == roomy.num_blocks > 1000
    assert tiny.num_blocks <= tiny.capacity < 2 * tiny.num_blocks + 2000  # no blind doubling
    assert tiny.memory_bytes < roomy.memory_bytes
    a, b = tiny.extract_mesh(), roomy.extract_mesh()
    assert len(a.vertices) == len(b.vertices)
    np.testing.assert_allclose(np.sort(a.vertices, axis=0), np.sort(b.vertices, axis=0), atol=1e-5)


def test_far_blocks_are_dropped_or_spilled_and_restored(studio):
    with sensors.open(studio) as session:
        frames = list(session.frames(every=3))
        gt = session.ground_truth.poses
    plain = TSDFVolume(0.02)
    drop = TSDFVolume(0.02, evict_distance_m=1.5, evict_every=5)
    spill = TSDFVolume(0.02, evict_distance_m=1.5, evict_every=5, evict_mode="spill")
    for f in frames:
        T = gt.T_world_body[gt.index_of(f.timestamp_ns)]
        for v in (plain, drop, spill):
            v.integrate_frame(f, T)
    assert drop.blocks_evicted > 0 and drop.num_blocks < plain.num_blocks
    assert spill.num_spilled > 0 and spill.num_blocks + spill.num_spilled == plain.num_blocks
    folder = spill._spill.directory
    assert any(folder.iterdir())
    m_plain, m_spill = plain.extract_mesh(), spill.extract_mesh()
    assert spill.num_spilled == 0 and spill.num_blocks == plain.num_blocks
    np.testing.assert_allclose(np.sort(m_spill.vertices, axis=0), np.sort(m_plain.vertices, axis=0), atol=1e-5)
    assert len(drop.extract_mesh().vertices) < len(m_plain.vertices)
    spill.close()
    assert not folder.exists()


# -- filters ---------------------------------------------------------------------------------------
def test_prefilters_clip_smooth_and_cut_edges():
    rng = np.random.default_rng(0)
    d = np.full((60, 80), 1.0, np.float32)
    d[:, 40:] = 2.0  # a step: flying pixels live on it
    noisy = d + rng.normal(0, 0.003, d.shape).astype(np.float32)
    noisy[10, 10] = np.nan
    noisy[20, 20] = d[20, 20] = 0.0
    clipped = clip_range(noisy, 0.5, 1.5)
    assert clipped[10, 10] == 0 and np.all(clipped[:, 41:] == 0) and clipped[30, 5] > 0
    smooth = bilateral(np.nan_to_num(noisy), 5, 0.03, 2.0)
    assert np.std(smooth[30:, 5:35]) < 0.5 * np.std(noisy[30:, 5:35])  # smoothed ...
    assert abs(smooth[30, 38] - 1.0) < 0.01 and abs(smooth[30, 41] - 2.0) < 0.01  # ... not across the step
    assert smooth[20, 20] == 0
    edges = remove_edges(np.nan_to_num(d), 0.05)
    assert np.all(edges[:, 39:41] == 0) and np.all(edges[:, 30:38] > 0)
    assert edges[21, 21] > 0  # next to a hole is not an edge


def test_register_color_moves_colour_onto_depth_pixels():
    color = np.zeros((120, 160, 3), np.uint8)
    color[:, 100:] = 255  # right part white in the colour camera
    depth = np.full((120, 160), 2.0, np.float32)
    T_color_depth = np.eye(4)
    T_color_depth[0, 3] = 0.2  # colour camera 20 cm to the left: things appear 20 px further right
    out = register_color(color, depth, K, K, T_color_depth)
    assert out[60, 85].tolist() == [255, 255, 255] and out[60, 75].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(register_color(color, depth, K, K, np.eye(4)), color)


def test_depth_not_registered_to_colour_is_fused_in_the_depth_camera():
    Kd = CameraIntrinsics(100.0, 100.0, 39.5, 29.5, 80, 60)  # a lower-resolution depth camera
    T_color_depth = np.eye(4)
    T_color_depth[0, 3] = -0.05  # 5 cm to the left of the colour camera
    depth = plane_depth(Kd, (0, 0, 1), 1.5)
    color = np.zeros((120, 160, 3), np.uint8)
    color[..., 1] = 200
    f = RGBDFrame(0, color, depth, K, depth_intrinsics=Kd)
    vol = TSDFVolume(0.02, weight_threshold=0.5)
    vol.integrate_frame(f, np.eye(4), T_color_depth)
    mesh = vol.extract_mesh()
    assert len(mesh.triangles) > 100 and np.median(mesh.vertex_colors[:, 1]) > 150
    # the wall sits 1.5 m in front of the depth camera, which is 5 cm left of the colour camera
    np.testing.assert_allclose(np.median(mesh.vertices, axis=0), [-0.05, 0, 1.5], atol=0.03)


# -- pipeline and bad input -----------------------------------------------------------------------
def test_poses_frames_without_pose_are_skipped_and_counted(studio):
    with sensors.open(studio) as session:
        gt = session.ground_truth.poses
        half = Trajectory(gt.timestamps_ns[::2][:20], gt.T_world_body[::2][:20])  # every other of 39 frames
        config = ReconstructionConfig(voxel_size_m=0.04, keyframe_every=0)
        scene = spatial.reconstruct(session, config, poses=half)
        s = scene.metadata["stats"]
        assert s["skipped_no_pose"] == s["frames_read"] - s["frames_fused"] > 50
        assert s["frames_fused"] == 20 and scene.metadata["poses"] == "given" and not scene.keyframes
        # 67 ms between poses: interpolated once the gap allowed is larger
        scene = spatial.reconstruct(session, config.model_copy(update={"pose_max_gap_ms": 70}), poses=half)
        assert scene.metadata["stats"]["frames_fused"] == 40  # the 40th: 33 ms past the last pose, nearest
        mid = scene.trajectory.T_world_body[1]
        np.testing.assert_allclose(mid[:3, 3], gt.T_world_body[1][:3, 3], atol=0.01)
        far = Trajectory(gt.timestamps_ns + 10**12, gt.T_world_body)
        with pytest.raises(SyncError, match="none of the .* frames has a pose") as e:
            spatial.reconstruct(session, poses=far)
        assert e.value.path == studio


def test_imu_poses_are_moved_to_the_camera(studio):
    with sensors.open(studio) as session:
        gt = session.ground_truth.poses
        T_ic = session.calibration.T_imu_camera
        imu = Trajectory(gt.timestamps_ns, gt.T_world_body @ np.linalg.inv(T_ic), body="imu")
        cam = camera_trajectory(session, imu)
        np.testing.assert_allclose(cam.T_world_body, gt.T_world_body, atol=1e-9)
        with pytest.raises(CalibrationError, match="body 'hand'"):
            camera_trajectory(session, Trajectory(gt.timestamps_ns, gt.T_world_body, body="hand"))


def test_bad_sessions_raise_clear_errors(tmp_path):
    depth = plane_depth(K, (0, 0, 1), 1.5)
    poses = GroundTruth(Trajectory([1_000_000_000, 1_033_333_333], np.stack([np.eye(4)] * 2)))
    imu_only = [ImuSample(1_000_000_000 + k * 5_000_000, np.array([0, 0, 9.81]), np.zeros(3)) for k in range(10)]
    empty = write_session(tmp_path / "empty.mcap", imu_only, poses)
    with sensors.open(empty) as session, pytest.raises(EmptySessionError, match="no RGB-D frames") as e:
        spatial.reconstruct(session)
    assert e.value.path == empty
    zeros = write_session(tmp_path / "zeros.mcap", [frame(k, np.zeros_like(depth)) for k in range(2)], poses)
    with sensors.open(zeros) as session, pytest.raises(EmptySessionError, match="no frame has valid depth") as e:
        spatial.reconstruct(session, poses="ground_truth")
    assert e.value.path == zeros
    with sensors.open(zeros) as session, pytest.raises(EmptySessionError, match="tracking lost all 2 frames") as e:
        spatial.reconstruct(session)
    assert e.value.path == zeros
    no_gt = write_session(tmp_path / "nogt.mcap", [frame(k, depth) for k in range(2)])
    with sensors.open(no_gt) as session, pytest.raises(EmptySessionError, match="no ground-truth poses") as e:
        spatial.reconstruct(session, poses="ground_truth")
    assert e.value.path == no_gt
    with sensors.open(no_gt) as session, pytest.raises(ConfigError, match="poses must be"):
        spatial.reconstruct(session, poses="auto")
    with sensors.open(no_gt) as session:  # the same frames with poses given fuse fine
        scene = spatial.reconstruct(session, ReconstructionConfig(voxel_size_m=0.02, weight_threshold=1), poses=poses.poses)
        assert len(scene.mesh.triangles) > 100


def test_volume_rejects_bad_frames():
    vol = TSDFVolume(0.02)
    depth = plane_depth(K, (0, 0, 1), 1.5)
    bad = np.eye(4)
    bad[0, 3] = np.nan
    with pytest.raises(CalibrationError, match="NaN"):
        vol.integrate(depth, None, K, bad)
    with pytest.raises(FormatError, match="float32 metres, got uint16"):
        vol.integrate((depth * 1000).astype(np.uint16), None, K, np.eye(4))
    with pytest.raises(CalibrationError, match="80x60 but the intrinsics are for 160x120"):
        vol.integrate(depth[::2, ::2], None, K, np.eye(4))
    with pytest.raises(FormatError, match="uint8 RGB"):
        vol.integrate(depth, np.zeros((120, 160, 3), np.float32), K, np.eye(4))
    vol.integrate(np.zeros_like(depth), None, K, np.eye(4))  # no depth: nothing happens
    vol.integrate(np.full_like(depth, 9.0), None, K, np.eye(4))  # all beyond depth_max_m
    assert vol.frames_integrated == 0 and vol.num_blocks == 0
    assert vol.extract_mesh().is_empty and vol.extract_cloud().is_empty
    with pytest.raises(ConfigError, match="depth_min_m"):
        TSDFVolume(0.01, depth_min_m=5.0, depth_max_m=4.0)
    with pytest.raises(ConfigError, match="voxel_size_m"):
        ReconstructionConfig.create(voxel_size_m=-1)


@pytest.mark.parametrize("frames", [1, 2, 3])
def test_surfaces_need_weight_threshold_observations(frames):
    """Mesh, cloud and raycast agree: a surface seen ``weight_threshold`` times is kept."""
    depth = plane_depth(K, (0.1, 0.05, 1), 1.513)  # tilted, off the voxel grid: no exact zeros
    for threshold, kept in ((frames, True), (frames + 1, False)):
        vol = TSDFVolume(0.02, weight_threshold=threshold, bilateral=False, edge_removal=False)
        for _ in range(frames):
            vol.integrate(depth, None, K, np.eye(4))
        assert (not vol.extract_mesh().is_empty) == kept
        assert (not vol.extract_cloud().is_empty) == kept
        assert (vol.raycast(np.eye(4), K).depth_m > 0).any() == kept
