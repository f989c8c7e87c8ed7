"""Tracking: dense alignment on synthetic views, tracking simulated and real sessions, lost-frame
detection, bad input, the ``spatial track`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sensors
from sensors.errors import CalibrationError, SyncError
from sensors.session import Reader, Record, Session
from sensors.sync import ImuSeries
from sensors.types import Calibration, CameraIntrinsics, RGBDFrame
from spatial.eval.trajectory import ate
from spatial.fusion import Tracker, TrackerConfig, track
from spatial.fusion.geometry import motion, se3_exp
from spatial.fusion.icp import IcpConfig, SourcePyramid, align, align_open3d, target_from_frame

K = CameraIntrinsics(262.5, 262.5, 159.5, 119.5, 320, 240)


def _planes_depth(T_world_camera: np.ndarray, K: CameraIntrinsics = K) -> tuple[np.ndarray, np.ndarray]:
    """Depth and a textured colour image of a room corner (three walls and a box) seen from a pose."""
    planes = [  # (normal, offset): n·x = d
        (np.array([1.0, 0, 0]), -1.2), (np.array([0, 1.0, 0]), 1.0), (np.array([0, 0, 1.0]), 3.0),
        (np.array([-1.0, 0, 0]), -1.5),
    ]
    v, u = np.mgrid[0:K.height, 0:K.width].astype(np.float64)
    rays_c = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u)], -1)
    R, o = T_world_camera[:3, :3], T_world_camera[:3, 3]
    rays = rays_c @ R.T
    best = np.full(u.shape, np.inf)
    for n, d in planes:
        den = rays @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (d - o @ n) / den
        best = np.where((s > 0.1) & (s < best), s, best)
    # a box on the floor: its top face y = 0.6 for |x - 0.2| < 0.3, 2.0 < z < 2.5
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (0.6 - o[1]) / rays[..., 1]
    p = o + s[..., None] * rays
    box = (s > 0.1) & (np.abs(p[..., 0] - 0.2) < 0.3) & (p[..., 2] > 2.0) & (p[..., 2] < 2.5) & (s < best)
    best = np.where(box, s, best)
    depth = np.where(np.isfinite(best), best, 0).astype(np.float32)  # ray parameter = z-depth (z of rays_c is 1)
    pw = o + best[..., None] * rays
    cell = np.floor(np.nan_to_num(pw) * 12)  # 8 cm cells of pseudo-random grey (corners for ORB)
    tex = np.modf(np.abs(np.sin(cell @ [12.9898, 78.233, 37.719]) * 43758.5453))[0] * 200 + 28
    color = np.repeat(np.clip(np.nan_to_num(tex), 0, 255).astype(np.uint8)[..., None], 3, -1)
    return depth, color


@pytest.mark.parametrize("backend", ["numpy", "open3d"])
def test_icp_recovers_known_transform(backend):
    T_a = np.eye(4)
    T_rel = se3_exp(np.array([0.02, -0.03, 0.015, 0.03, -0.02, 0.04]))  # ~2° and 5 cm
    da, ca = _planes_depth(T_a)
    db, cb = _planes_depth(T_a @ T_rel)
    tgt = target_from_frame(da, ca, K, scale=1.0)
    src = SourcePyramid.build(db, cb, K, 1.0)
    cfg = IcpConfig(iterations=(10, 10, 10), max_dist_m=(0.2, 0.1, 0.05), huber_m=0.05, photometric_weight=0.0)
    r = align_open3d(src, tgt, np.eye(4), cfg) if backend == "open3d" else align(src, tgt, np.eye(4), cfg)
    dt, dr = motion(T_rel, r.T)
    assert r.ok and dt < 2e-3 and np.degrees(dr) < 0.1, (dt, np.degrees(dr))
    assert r.inlier_ratio > 0.9 and r.constraint > 0.005
    # the same views with the box and three walls hidden: a single wall constrains only 3 directions
    flat = np.where(np.abs(da - da[120, 160]) < 1e-3, da, 0)
    src_flat = SourcePyramid.build(np.where(np.abs(db - db[120, 160]) < 0.05, db, 0), None, K, 1.0)
    r2 = align(src_flat, target_from_frame(flat, None, K, scale=1.0), np.eye(4), cfg)
    assert r2.constraint < 1e-3


@pytest.fixture(scope="module")
def sim_session(tmp_path_factory) -> Path:
    from sensors.sim import SimConfig, simulate

    out = tmp_path_factory.mktemp("sim") / "studio.mcap"
    cfg = SimConfig.create(preset="studio", seed=1, duration_s=5.0, width=320, height=240, focal_px=262.5)
    return simulate(cfg, out)


def test_track_simulated_session_with_imu(sim_session):
    with sensors.open(sim_session) as s:
        res = track(s)
        gt = s.ground_truth.poses
    assert res.stats["lost"] == 0
    assert res.stats["imu"]["used"] and res.gravity_aligned
    assert ate(gt, res.trajectory).rmse_m < 0.02
    # z-up: the world z axis seen from the camera agrees with the simulator's within 2°
    k = len(res.trajectory) - 1
    z_est = res.trajectory.T_world_body[k][:3, :3].T @ [0, 0, 1]
    z_gt = gt.T_world_body[gt.index_of(int(res.trajectory.timestamps_ns[k]))][:3, :3].T @ [0, 0, 1]
    assert np.degrees(np.arccos(np.clip(z_est @ z_gt, -1, 1))) < 2.0
    assert {s.source for s in res.status} >= {"start", "vision+imu"}


def _blank(f: RGBDFrame) -> RGBDFrame:
    return RGBDFrame(f.timestamp_ns, np.zeros_like(f.color), np.zeros_like(f.depth_m), f.intrinsics, index=f.index)


def test_dark_start_and_blackout_are_flagged_lost_then_relocalised(sim_session):
    with sensors.open(sim_session) as s:
        frames = list(s.frames())
        cal, imu = s.calibration, s.imu()
        gt = s.ground_truth.poses
    frames = [_blank(f) if k < 5 or 60 <= k < 75 else f for k, f in enumerate(frames)]
    tr = Tracker(cal, TrackerConfig(imu="off"), imu)
    st = [tr.process(f) for f in frames]
    res = tr.finish()
    assert all(not x.tracked for x in st[:5]) and "dark image" in st[0].reason and "valid depth" in st[0].reason
    assert st[5].source == "start"
    assert all(not x.tracked for x in st[60:75]) and "valid depth" in st[60].reason
    # the camera moved ~30 cm / 8° while blind, beyond ICP's reach from the last pose: ORB
    # matches against a keyframe place it, ICP against the model confirms
    assert st[75].source == "relocalised" and "keyframe" in st[75].reason, st[75].reason
    assert all(x.tracked for x in st[75:])
    assert ate(gt, res.trajectory).rmse_m < 0.02
    lost_ts = {f.timestamp_ns for k, f in enumerate(frames) if k < 5 or 60 <= k < 75}
    assert not lost_ts & set(res.trajectory.timestamps_ns.tolist())  # lost frames get no pose
    assert res.stats["lost"] >= 20 and all(x.tracked for x in st[5:60])


def test_imu_bridges_a_short_blackout(sim_session):
    with sensors.open(sim_session) as s:
        frames = list(s.frames())
        cal, imu, gt = s.calibration, s.imu(), s.ground_truth.poses
    frames = [_blank(f) if 100 <= k < 110 else f for k, f in enumerate(frames)]
    tr = Tracker(cal, TrackerConfig(), imu)
    st = [tr.process(f) for f in frames]
    res = tr.finish()
    assert all(x.tracked and x.source == "imu" for x in st[100:110]), [x.source for x in st[100:110]]
    assert "valid depth" in st[100].reason
    assert ate(gt, res.trajectory).rmse_m < 0.03


def test_imu_gap_is_reported_and_tracking_continues(sim_session):
    with sensors.open(sim_session) as s:
        frames = list(s.frames())[:90]
        cal, imu = s.calibration, s.imu()
    t = imu.timestamps_ns
    gap = (t > t[0] + 2_500_000_000) & (t < t[0] + 2_700_000_000)
    imu_gap = ImuSeries(t[~gap], imu.accel_mps2[~gap], imu.gyro_radps[~gap])
    tr = Tracker(cal, TrackerConfig(imu_init_s=1.0), imu_gap)
    st = [tr.process(f) for f in frames]
    res = tr.finish()
    assert res.stats["imu"]["gaps"] and res.stats["lost"] == 0
    assert all(x.tracked for x in st)


class _UnsortedImuReader(Reader):
    format_name = "test"

    def __init__(self, path):
        super().__init__(path)
        self.calibration = Calibration(color=K, T_imu_camera=np.eye(4))

    def timestamps(self):
        return {"rgbd": np.array([0], np.int64)}

    def records(self):
        d, c = _planes_depth(np.eye(4))
        yield Record(0, "rgbd", RGBDFrame(0, c, d, K))

    def imu(self):
        return ImuSeries(np.array([0, 10, 5], np.int64), np.zeros((3, 3)), np.zeros((3, 3)))


def test_bad_input_errors(tmp_path):
    with pytest.raises(SyncError, match="IMU stream unusable.*non-monotonic") as exc:
        track(Session(_UnsortedImuReader(tmp_path / "capture.bin")))
    assert "capture.bin" in str(exc.value)
    with pytest.raises(CalibrationError, match="no camera intrinsics") as exc:
        Tracker(Calibration(), path=tmp_path / "capture.bin")
    assert "capture.bin" in str(exc.value)
    imu = ImuSeries(np.arange(10) * 5_000_000, np.zeros((10, 3)), np.zeros((10, 3)))
    with pytest.raises(CalibrationError, match="no T_imu_camera"):
        Tracker(Calibration(color=K), TrackerConfig(imu="on"), imu, tmp_path / "capture.bin")


def test_sevenscenes_segment(shared_data):
    with sensors.open(shared_data / "7scenes") as s:
        res = track(s, TrackerConfig(max_frames=60))
        gt = s.ground_truth.poses
    assert res.stats["lost"] == 0 and not res.gravity_aligned
    assert ate(gt, res.trajectory).rmse_m < 0.015


def test_reconstruct_tracks_the_camera_by_default(sim_session):
    """``spatial.reconstruct`` tracks the camera unless asked for ground truth. Put into the
    simulator's world through the first camera (where the tracked map starts), the mesh lies on
    the true room (median 9 mm at 2 cm voxels; 3 mm with ground-truth poses)."""
    import spatial
    from spatial.eval.reconstruction import distance_to
    from spatial.reconstruction import ReconstructionConfig
    from spatial.scene import Mesh

    config = ReconstructionConfig(voxel_size_m=0.02, max_frames=60)
    with sensors.open(sim_session) as s:
        scene = spatial.reconstruct(s, config, tracker=TrackerConfig(max_frames=60))  # tracks by default
        gt, truth = s.ground_truth.poses, Mesh.load(s.ground_truth.mesh_path)
    assert scene.metadata["poses"] == "tracked" and scene.metadata["tracking"]["tracked"] == 60
    assert scene.metadata["stats"]["frames_fused"] == 60
    assert ate(gt, scene.trajectory).rmse_m < 0.02
    first = scene.trajectory.timestamps_ns[0]
    T = gt.T_world_body[gt.index_of(int(first))] @ np.linalg.inv(scene.trajectory.T_world_body[0])
    assert np.median(distance_to(truth, scene.mesh.vertices @ T[:3, :3].T + T[:3, 3])) < 0.015


def test_cli_track(sim_session, tmp_path):
    from typer.testing import CliRunner

    from spatial.cli import app

    out = tmp_path / "out"
    rrd = tmp_path / "track.rrd"
    r = CliRunner().invoke(app, ["track", str(sim_session), "--out", str(out), "--max-frames", "40", "--set", "voxel_size_m=0.02",
                                 "--rrd", str(rrd)])
    assert r.exit_code == 0, r.output
    assert "tracked 40/40 frames" in r.output and "ATE" in r.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ground_truth"]["ate_rmse_m"] < 0.02 and metrics["tracking"]["frames"] == 40
    assert json.loads((out / "config.json").read_text())["tracker"]["voxel_size_m"] == 0.02
    lines = (out / "tracking.jsonl").read_text().splitlines()
    assert len(lines) == 40 and json.loads(lines[0])["source"] == "start"
    assert len((out / "trajectory.tum").read_text().splitlines()) == 42  # two header lines
    from rrd import read_rrd

    data = read_rrd(rrd)  # rerun's own reader: the tracked camera per frame, aligned onto the ground truth
    assert len(data["/world/camera"]["time"]) == 40 and len(data["/tracking/inlier_ratio"]["time"]) == 40
    with sensors.open(sim_session) as s:
        gt = s.ground_truth.poses
    cam = np.array([t[0] for t in data["/world/camera"]["Transform3D:translation"]])
    ref = np.array([gt.T_world_body[gt.index_of(int(t))][:3, 3] for t in data["/world/camera"]["time"]])
    assert np.sqrt(np.mean(np.sum((cam - ref) ** 2, 1))) < 0.02
    assert "/world/ground_truth" in data and "/world/estimate" in data and "/world/keyframes" in data
    rec = tmp_path / "rec"
    for poses in ("track", str(out / "trajectory.tum")):
        r = CliRunner().invoke(app, ["reconstruct", str(sim_session), "--out", str(rec), "--poses", poses,
                                     "--max-frames", "40", "--voxel", "0.02", "--no-preview"])
        assert r.exit_code == 0, r.output
        assert "fused 40 of 40 frames" in r.output
        config = json.loads((rec / "config.json").read_text())
        assert ("ATE against the ground truth" in r.output) == (poses == "track")
        assert ("tracking" in config) == (poses == "track")
        assert config["poses"] == ("tracked" if poses == "track" else poses)
    bad = CliRunner().invoke(app, ["reconstruct", str(sim_session), "--out", str(rec), "--poses", "nowhere.tum"])
    assert bad.exit_code == 2 and "--poses" in bad.output
    bad = CliRunner().invoke(app, ["track", str(tmp_path / "missing"), "--out", str(out)])
    assert bad.exit_code == 2 and "missing" in bad.output
    bad = CliRunner().invoke(app, ["track", str(sim_session), "--out", str(out), "--set", "voxel_size_m=-1"])
    assert bad.exit_code == 2 and "voxel_size_m" in bad.output


def test_orb_relative_pose_and_pose_graph_loop():
    from spatial.fusion.loop import features, match, optimize_pose_graph

    T_rel = se3_exp(np.array([0.01, 0.05, -0.02, 0.08, 0.02, -0.05]))
    da, ca = _planes_depth(np.eye(4))
    db, cb = _planes_depth(T_rel)
    fa = features(ca[..., 0], da, K)
    fb = features(cb[..., 0], db, K)
    T, n = match(fa, fb, np.random.default_rng(0))
    dt, dr = motion(T_rel, T)
    assert n >= 25 and dt < 0.02 and np.degrees(dr) < 1.0, (n, dt, np.degrees(dr))
    # a square loop of 8 poses whose odometry drifted 3.5 cm by the end; the loop edge says the
    # last pose is the first one moved 1 m along +y
    true = [se3_exp(np.array([0, 0, 0, *p])) for p in
            [(0, 0, 0), (1, 0, 0), (2, 0, 0), (2, 1, 0), (2, 2, 0), (1, 2, 0), (0, 2, 0), (0, 1, 0)]]
    drift = [T @ se3_exp(np.array([0, 0, 0, 0.005 * k, 0, 0])) for k, T in enumerate(true)]
    loop = np.linalg.inv(true[0]) @ true[-1]
    fixed = optimize_pose_graph(drift, [(0, 7, loop)])
    before = np.linalg.norm(drift[-1][:3, 3] - true[-1][:3, 3])
    after = np.linalg.norm(fixed[-1][:3, 3] - true[-1][:3, 3])
    assert before > 0.03 and after < 0.4 * before  # weights: 7 odometry edges of 5 mm vs a 1 cm loop


def test_a_residual_jump_is_a_lost_frame():
    """A partial misalignment can pass the absolute checks; a residual that jumps against the
    recent ones cannot."""
    from spatial.fusion.odometry import OdometryResult

    tr = Tracker(Calibration(color=K), TrackerConfig(imu="off"))

    def result(rmse_m):
        return OdometryResult(np.eye(4), True, "", 0.99, rmse_m, 0.01, False, np.eye(6), 0.9)

    for k in range(12):
        assert tr._check_residual(result(0.004 + 0.0002 * (k % 3)), np.eye(4)).ok
    assert tr._check_residual(result(0.009), np.eye(4)).ok  # 2.1x: noisier, still accepted
    bad = tr._check_residual(result(0.012), np.eye(4))
    assert not bad.ok and bad.reason.startswith("residual jump (12.0 mm, 2.9x the recent median 4.2 mm)")
