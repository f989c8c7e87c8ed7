"""The simulator end to end: a session written as MCAP, read back with sensors.open, checked
against its own ground truth."""

import hashlib

import numpy as np
import open3d as o3d
import pytest
from typer.testing import CliRunner

import sensors
from sensors import ConfigError
from sensors.room import RoomDescription
from sensors.sim import SimConfig, simulate
from sensors.sim.noise import depth_sigma_m
from sensors.sim.simulate import T0_NS
from sensors.sync import stream_stats
from spatial.cli import app

SMALL = dict(preset="studio", seed=3, duration_s=4.0, width=320, height=240, focal_px=262.5)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "studio.mcap"
    return simulate(SimConfig.create(**SMALL), out)


def test_same_seed_same_bytes_other_seed_differs(studio, tmp_path):
    again = simulate(SimConfig.create(**SMALL), tmp_path / "studio.mcap")
    for a, b in zip((studio, *sidecars(studio)), (again, *sidecars(again))):
        assert digest(a) == digest(b), a.name
    other = simulate(SimConfig.create(**(SMALL | {"seed": 4})), tmp_path / "other.mcap")
    assert digest(other) != digest(studio)


def sidecars(path):
    return [path.with_name(path.stem + s) for s in (".mesh.ply", ".room.json", ".imu_truth.npz")]


def test_session_reads_back_with_ground_truth(studio):
    with sensors.open(studio) as s:
        assert s.format == "mcap"
        assert s.num_frames == 121  # 4 s at 30 fps, both ends
        ts = s.timestamps()
        assert stream_stats(ts["rgbd"]).rate_hz == pytest.approx(30.0, rel=1e-3)
        assert stream_stats(ts["imu"]).rate_hz == pytest.approx(200.0, rel=1e-3)
        assert ts["rgbd"][0] == T0_NS
        gt = s.ground_truth
        assert np.array_equal(gt.poses.timestamps_ns, ts["rgbd"]) and gt.poses.body == "camera"
        assert gt.mesh_path.exists() and gt.room_path.exists() and gt.imu_path.exists()
        truth = np.load(gt.imu_path)
        assert np.array_equal(truth["timestamps_ns"], ts["imu"])
        # the IMU truth is the camera truth through the rigid mount: T_world_imu = T_world_camera · T_camera_imu
        k = int(np.searchsorted(truth["true_time_ns"], ts["rgbd"][30]))
        assert truth["true_time_ns"][k] == ts["rgbd"][30]
        T_ci = np.linalg.inv(s.calibration.T_imu_camera)
        assert np.allclose(truth["T_world_imu"][k], gt.poses.T_world_body[30] @ T_ci, atol=1e-9)
        assert truth["gyro_bias_radps"].shape == truth["accel_bias_mps2"].shape == (len(ts["imu"]), 3)
        room = RoomDescription.load_json(gt.room_path)
        assert room.of("wall") and room.of("floor") and len(room.objects) >= 6
        cal = s.calibration
        assert cal.color.fx == 262.5 and cal.T_imu_camera is not None and cal.imu_noise is not None
        frame = next(s.frames())
        assert frame.color.shape == (240, 320, 3) and frame.color_encoding == "jpeg"
        # positions move at walking pace, at head height
        p = gt.poses.positions_m
        speed = np.linalg.norm(np.diff(p, axis=0), axis=1) * 30
        assert speed.max() < 1.2 and 1.3 < p[:, 2].mean() < 1.8


def test_depth_matches_a_raycast_of_the_ground_truth_mesh(studio):
    """Rendered depth against an independent raycast of the sidecar mesh at the GT pose."""
    with sensors.open(studio) as s:
        mesh = o3d.t.io.read_triangle_mesh(str(s.ground_truth.mesh_path))
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(mesh)
        K = s.calibration.color
        checked = 0
        for frame in s.frames(every=40):
            T = s.ground_truth.poses.interpolate(frame.timestamp_ns)
            u, v = np.meshgrid(np.arange(K.width), np.arange(K.height))
            dirs_c = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u, float)], -1).reshape(-1, 3)
            dirs_w = dirs_c @ T[:3, :3].T
            rays = np.hstack([np.broadcast_to(T[:3, 3], dirs_w.shape), dirs_w]).astype(np.float32)
            t_hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy().reshape(K.height, K.width)
            z_ref = t_hit  # rays have unit z in the camera frame, so t is z-depth
            z = frame.depth_m
            ok = (z > 0) & np.isfinite(z_ref)
            assert ok.mean() > 0.6
            err = np.abs(z[ok] - z_ref[ok])
            # noise (Nguyen 2012) + disparity steps (≤ half a step) + 1 mm storage; 99 % within 4σ + step
            step = z_ref[ok] ** 2 * 0.125 / (K.fx * 0.075)
            bound = 4 * depth_sigma_m(z_ref[ok], np.zeros_like(z_ref[ok])) + step / 2 + 0.001
            assert np.mean(err <= bound) > 0.97
            assert abs(np.median(z[ok] - z_ref[ok])) < 0.005  # no bias: same geometry, same pose
            checked += 1
        assert checked == 4


def test_timing_faults_and_clock_offset(tmp_path):
    base = SMALL | {"duration_s": 4.0, "width": 160, "height": 120, "focal_px": 131.25}
    faulty = simulate(
        SimConfig.create(**base, frame_drop_rate=0.2, imu_clock_offset_ns=5_000_000, offset_in_calibration=False),
        tmp_path / "faulty.mcap",
    )
    told = simulate(SimConfig.create(**base, imu_clock_offset_ns=5_000_000), tmp_path / "told.mcap")
    with sensors.open(faulty) as a, sensors.open(told) as b:
        assert stream_stats(a.timestamps()["rgbd"]).dropped > 10
        assert a.calibration.time_offset_ns == 0 and b.calibration.time_offset_ns == -5_000_000
        # the stated offset is removed from the recorded IMU stamps; the unstated one stays in them
        assert a.imu().timestamps_ns[0] - b.imu().timestamps_ns[0] == 5_000_000
        assert b.imu().timestamps_ns[0] == T0_NS


@pytest.mark.parametrize(
    "values, words",
    [
        ({"fps": 0}, "fps"),
        ({"width_m": -2.0}, "width_m"),
        ({"preset": "garage"}, "preset"),
        ({"preset": "bedroom", "width_m": 1.5}, "too small for its furniture"),
        ({"imu_drop_rate": 1.0}, "imu_drop_rate"),
        ({"imu_clock_offset_ns": 2_000_000_000}, "imu_clock_offset_ns"),
    ],
)
def test_bad_configs_raise_clear_errors(tmp_path, values, words):
    with pytest.raises(ConfigError, match=words):
        simulate(SimConfig.create(**(SMALL | values)), tmp_path / "x.mcap")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_output_must_be_mcap(tmp_path):
    with pytest.raises(ConfigError, match=r"\.mcap") as e:
        simulate(SimConfig.create(**SMALL), tmp_path / "x.bag")
    assert e.value.path == tmp_path / "x.bag"


def test_cli_sim(tmp_path):
    out = tmp_path / "k.mcap"
    args = ["sim", "--preset", "kitchen", "--seed", "1", "--duration", "4", "--out", str(out),
            "--set", "width=160", "--set", "height=120", "--set", "focal_px=131.25", "--set", "depth_noise=false"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (121 frames, 801 IMU samples, 4.0 s of kitchen)" in result.stdout
    with sensors.open(out) as s:
        assert s.calibration.color.width == 160
    bad = CliRunner().invoke(app, ["sim", "--out", str(tmp_path / "b.mcap"), "--set", "fps"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
