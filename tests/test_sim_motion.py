"""Simulator motion: the scanning trajectory spline and the IMU synthesised from it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.errors import ConfigError
from sensors.room import RoomDescription, RoomElement
from sensors.sim.imu import synthesize_imu
from sensors.sim.rooms import PRESETS, generate_world
from sensors.sim.trajectory import DEFAULT_T_IMU_CAMERA, plan_scan
from sensors.sim.world import Part, SimWorld
from sensors.types import ImuNoise

G = np.array([0.0, 0.0, -9.81])
_BOX_TRIS = np.array([[0, 2, 3], [0, 3, 1], [4, 5, 7], [4, 7, 6], [0, 1, 5], [0, 5, 4],
                      [2, 6, 7], [2, 7, 3], [0, 4, 6], [0, 6, 2], [1, 3, 7], [1, 7, 5]])


# --- small worlds built from boxes (shared with test_sim_render) -----------------------------------
def box_part(lo, hi, material, tint=(1.0, 1.0, 1.0), element_id=""):
    """Axis-aligned box between corners ``lo`` and ``hi``, outward-facing triangles."""
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], float)
    return Part(v, _BOX_TRIS, material, tint, element_id)


def box_element(ident, category, lo, hi, along_y=False, parent=None):
    """Room element for an axis-aligned box (local x along world y when ``along_y``)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    T = np.eye(4)
    T[:3, 3] = (lo + hi) / 2
    size = hi - lo
    if along_y:
        T[:3, :2] = [[0.0, -1.0], [1.0, 0.0], [0.0, 0.0]]
        size = size[[1, 0, 2]]
    return RoomElement(ident, category, tuple(size), T, parent=parent)


def _shell(x1, y1, height, t, floor_mat, walls):
    parts = [box_part((-t, -t, -t), (x1 + t, y1 + t, 0.0), floor_mat, (0.75, 0.6, 0.45)),
             box_part((-t, -t, height), (x1 + t, y1 + t, height + t), "plaster", (0.95, 0.95, 0.95))]
    elems = []
    for i, (lo, hi) in enumerate(walls):
        parts.append(box_part(lo, hi, "plaster", (0.9, 0.87, 0.8), f"wall{i}"))
        elems.append(box_element(f"wall{i}", "wall", lo, hi, along_y=(hi[0] - lo[0]) < (hi[1] - lo[1])))
    return parts, elems


def _furnish(parts, elems, objects):
    for i, (cat, lo, hi, mat, tint) in enumerate(objects):
        parts.append(box_part(lo, hi, mat, tint, f"obj{i}"))
        elems.append(box_element(f"obj{i}", cat, lo, hi))


def box_world(width=5.0, depth=4.0, height=2.7, t=0.1) -> SimWorld:
    """A furnished rectangular room [0, width] × [0, depth] with 0.1 m thick walls."""
    walls = [((-t, -t, 0), (width + t, 0, height)), ((-t, depth, 0), (width + t, depth + t, height)),
             ((-t, 0, 0), (0, depth, height)), ((width, 0, 0), (width + t, depth, height))]
    parts, elems = _shell(width, depth, height, t, "wood", walls)
    _furnish(parts, elems, [
        ("table", (2.0, 1.5, 0), (3.2, 2.3, 0.75), "wood", (0.6, 0.4, 0.25)),
        ("storage", (0.0, 3.4, 0), (1.2, 4.0, 1.9), "wood", (0.9, 0.85, 0.8)),
        ("sofa", (3.6, 0.0, 0), (5.0, 0.9, 0.8), "fabric", (0.3, 0.4, 0.6)),
        ("television", (4.85, 2.0, 0.9), (5.0, 3.2, 1.6), "screen", (1.0, 1.0, 1.0)),
    ])
    poly = np.array([[0, 0], [width, 0], [width, depth], [0, depth]], float)
    return SimWorld(parts, RoomDescription(elems, "box"), [poly], height, "test", 0)


def two_room_world(height=2.6, t=0.1) -> SimWorld:
    """Two 4 × 3.6 m rooms side by side, joined by a 0.9 m opening in the shared wall at x = 4."""
    W, D = 4.0, 3.6
    walls = [((-t, -t, 0), (2 * W + 2 * t, 0, height)), ((-t, D, 0), (2 * W + 2 * t, D + t, height)),
             ((-t, 0, 0), (0, D, height)), ((2 * W + t, 0, 0), (2 * W + 2 * t, D, height)),
             ((W, 0, 0), (W + t, 1.35, height)), ((W, 2.25, 0), (W + t, D, height)),
             ((W, 1.35, 2.1), (W + t, 2.25, height))]
    parts, elems = _shell(2 * W + t, D, height, t, "tile", walls[:4])
    parts += [box_part(lo, hi, "plaster", (0.85, 0.9, 0.8), "wallmid") for lo, hi in walls[4:]]
    elems.append(box_element("wallmid", "wall", (W, 0, 0), (W + t, D, height), along_y=True))
    elems.append(box_element("open0", "opening", (W, 1.35, 0), (W + t, 2.25, 2.1), along_y=True, parent="wallmid"))
    _furnish(parts, elems, [
        ("bed", (0.0, 0.0, 0), (1.6, 2.0, 0.55), "fabric", (0.8, 0.3, 0.3)),
        ("refrigerator", (2 * W + t - 0.7, D - 0.7, 0), (2 * W + t, D, 1.8), "metal", (0.9, 0.9, 0.9)),
    ])
    polys = [np.array([[0, 0], [W, 0], [W, D], [0, D]], float),
             np.array([[W + t, 0], [2 * W + t, 0], [2 * W + t, D], [W + t, D]], float)]
    return SimWorld(parts, RoomDescription(elems, "two"), polys, height, "test2", 0, doorways=[np.array([W + t / 2, 1.8])])


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def room():
    return box_world()


@pytest.fixture(scope="module")
def scans(room):
    return {seed: plan_scan(room, np.random.default_rng(seed)) for seed in (0, 1, 2)}


@pytest.fixture(scope="module")
def apartment():
    w = two_room_world()
    return w, plan_scan(w, np.random.default_rng(7))


def _samples(traj, rate=100.0):
    return np.arange(0.0, traj.duration_s, 1.0 / rate)


# --- trajectory --------------------------------------------------------------------------------
def test_pose_is_rigid_continuous_and_opencv(scans):
    traj = scans[0]
    t = np.arange(0.0, traj.duration_s, 0.001)
    T = traj.pose(t)
    R = T[:, :3, :3]
    assert np.abs(np.einsum("nji,njk->nik", R, R) - np.eye(3)).max() < 1e-9
    assert np.allclose(np.linalg.det(R), 1.0)
    assert np.allclose(T[:, 3], [0, 0, 0, 1])
    # 1 ms steps: no jumps in position (< 1.2 m/s · 1 ms) or orientation (< 90°/s · 1 ms)
    assert np.linalg.norm(np.diff(T[:, :3, 3], axis=0), axis=1).max() < 1.2e-3
    dang = Rotation.from_matrix(np.einsum("nji,njk->nik", R[:-1], R[1:])).magnitude()
    assert dang.max() < np.radians(90) * 1e-3
    # velocity and acceleration are continuous too (quintic spline: C4)
    v, a = traj.velocity_world(t), traj.acceleration_world(t)
    assert np.linalg.norm(np.diff(v, axis=0), axis=1).max() < 5 * 1e-3  # |a| < 5 m/s²
    assert np.linalg.norm(np.diff(a, axis=0), axis=1).max() < 50 * 1e-3  # |jerk| < 50 m/s³
    # OpenCV camera in a z-up world: image y points down, optical axis 8–32° below the horizon
    y_up = R[:, 2, 1]
    assert (y_up < -0.8).all()
    elev = np.degrees(np.arcsin(R[:, 2, 2]))
    assert elev.min() > -32 and elev.max() < -8
    assert abs(np.degrees(np.arcsin(R[:, 2, 0])).max()) < 6  # roll: image x stays near level


def test_walking_speed_height_and_turn_rate(scans):
    for traj in scans.values():
        t = _samples(traj)
        speed = np.linalg.norm(traj.velocity_world(t), axis=1)
        assert 0.3 <= speed.mean() <= 0.8
        assert speed.max() <= 1.2
        z = traj.position(t)[:, 2]
        assert z.min() >= 1.4 and z.max() <= 1.7 and np.ptp(z) > 0.002  # head height with some bob
        rate = np.linalg.norm(traj.angular_velocity_camera(t), axis=1)
        assert np.degrees(rate.max()) < 90
        for end in (0.0, traj.duration_s):  # starts and ends at rest
            assert np.linalg.norm(traj.velocity_world(end)) < 1e-6
            assert np.linalg.norm(traj.acceleration_world(end)) < 1e-6
            assert np.linalg.norm(traj.angular_velocity_camera(end)) < 1e-6


def test_stays_in_free_space(room, scans):
    for traj in scans.values():
        xy = traj.position(_samples(traj))[:, :2]
        assert room.is_free(xy, clearance_m=0.1).all()


def test_every_wall_is_faced(room, scans):
    half_fov = np.degrees(np.arctan(320 / 525))  # a 640 px, f = 525 px camera
    for traj in scans.values():
        fwd = traj.pose(_samples(traj, 30))[:, :3, 2]
        yaw = np.degrees(np.arctan2(fwd[:, 1], fwd[:, 0]))
        # outward normals of the walls at y = 0, y = 4, x = 0, x = 5 point at -90°, 90°, 180°, 0°
        for normal_deg in (-90, 90, 180, 0):
            off = np.abs((yaw - normal_deg + 180) % 360 - 180)
            assert off.min() < half_fov, f"wall facing {normal_deg}° never in view"


def test_apartment_walks_through_the_doorway(apartment):
    world, traj = apartment
    xy = traj.position(_samples(traj))[:, :2]
    in_door = (np.abs(xy[:, 0] - 4.05) < 0.3) & (np.abs(xy[:, 1] - 1.8) < 0.3)
    assert (world.is_free(xy, 0.1) | in_door).all()
    assert (xy[:, 0] < 3.9).any() and (xy[:, 0] > 4.2).any() and in_door.any()


@pytest.mark.parametrize("preset", PRESETS)
def test_generated_rooms_are_scanned(preset):
    world = generate_world(preset, 0)
    traj = plan_scan(world, np.random.default_rng(0))
    t = _samples(traj)
    xy = traj.position(t)[:, :2]
    near_door = np.zeros(len(xy), bool)
    for c in world.doorways:
        near_door |= np.linalg.norm(xy - np.asarray(c)[:2], axis=1) < 0.5
    assert (world.is_free(xy, 0.1) | near_door).all()
    speed = np.linalg.norm(traj.velocity_world(t), axis=1)
    assert 0.3 <= speed.mean() <= 0.8 and speed.max() <= 1.2
    fwd = traj.pose(t[::3])[:, :3, 2]
    yaw = np.arctan2(fwd[:, 1], fwd[:, 0])
    for poly in world.floor_polygons:  # every wall (CCW outline edge) is faced at some time
        e = np.roll(poly, -1, axis=0) - poly
        for normal in np.arctan2(-e[:, 0], e[:, 1]):
            assert np.abs(np.angle(np.exp(1j * (yaw - normal)))).min() < np.arctan(320 / 525)


def test_a_walkable_patch_too_small_to_tour_is_refused():
    # kitchen seed 101 leaves a 20 x 10 cm walkable patch: its tour bounced inside it and smoothing
    # collapsed it to 0.2 m (a 2.3 s "scan" standing still); now refused like any unplannable world
    from sensors.sim import SimConfig, plan

    with pytest.raises(ConfigError, match="could not plan a scan trajectory"):
        plan(SimConfig.create(preset="kitchen", seed=101))


def test_duration_is_honoured(room):
    traj = plan_scan(room, np.random.default_rng(3), duration_s=25.0)
    assert traj.duration_s == pytest.approx(25.0, abs=0.02)
    speed = np.linalg.norm(traj.velocity_world(_samples(traj)), axis=1)
    assert 0.3 <= speed.mean() <= 0.8


def test_same_seed_same_motion(room):
    a = plan_scan(room, np.random.default_rng(11))
    b = plan_scan(room, np.random.default_rng(11))
    t = _samples(a)
    assert a.duration_s == b.duration_s and np.array_equal(a.pose(t), b.pose(t))
    c = plan_scan(room, np.random.default_rng(12))
    assert not np.allclose(a.pose(t[:10]), c.pose(t[:10]))


def test_bad_configs_raise(room):
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="speed_mps"):
        plan_scan(room, rng, speed_mps=(0.8, 0.3))
    with pytest.raises(ConfigError, match="speed_mps"):
        plan_scan(room, rng, speed_mps=(0.0, 0.5))
    with pytest.raises(ConfigError, match="duration_s"):
        plan_scan(room, rng, duration_s=1.0)
    with pytest.raises(ConfigError, match="no connected walkable space"):
        plan_scan(box_world(width=0.5, depth=0.5), rng)
    with pytest.raises(ConfigError, match="no floor polygons"):
        plan_scan(SimWorld(room.parts, room.room, [], 2.7), rng)


# --- IMU ---------------------------------------------------------------------------------------
def test_analytic_rates_match_finite_differences(scans):
    traj = scans[1]
    t, h = np.linspace(1.0, traj.duration_s - 1.0, 40), 1e-5
    R0, R1 = traj.rotation(t - h), traj.rotation(t + h)
    w_fd = Rotation.from_matrix(np.einsum("nji,njk->nik", R0, R1)).as_rotvec() / (2 * h)
    assert np.abs(w_fd - traj.angular_velocity_camera(t)).max() < 1e-6
    h = 1e-3
    p = [traj.T_world_imu(t + k * h)[:, :3, 3] for k in (-1, 0, 1)]
    gyro, force, vel = traj.imu_motion(t)
    R_wi = traj.T_world_imu(t)[:, :3, :3]
    a = np.einsum("nij,nj->ni", R_wi, force) + G
    assert np.abs((p[2] - 2 * p[1] + p[0]) / h**2 - a).max() < 1e-3
    assert np.abs((p[2] - p[0]) / (2 * h) - vel).max() < 1e-5
    assert np.abs(gyro - traj.angular_velocity_camera(t) @ DEFAULT_T_IMU_CAMERA[:3, :3].T).max() < 1e-12


def _integrate(traj, imu, k0, n, truth=None):
    """Trapezoidal strapdown integration of IMU samples k0..k0+n from the true initial state
    (and, given ``truth``, the true biases at k0 — as a filter with converged biases would)."""
    ts = imu.timestamps_ns * 1e-9
    T0 = traj.T_world_imu(ts[k0])
    R, p, v = T0[:3, :3], T0[:3, 3].copy(), traj.imu_motion(ts[k0])[2]
    gyro, acc = imu.gyro_radps, imu.accel_mps2
    if truth is not None:
        gyro, acc = gyro - truth.gyro_bias_radps[k0], acc - truth.accel_bias_mps2[k0]
    for k in range(k0, k0 + n):
        dt = ts[k + 1] - ts[k]
        R1 = R @ Rotation.from_rotvec(0.5 * (gyro[k] + gyro[k + 1]) * dt).as_matrix()
        a0, a1 = R @ acc[k] + G, R1 @ acc[k + 1] + G
        p = p + v * dt + (2 * a0 + a1) / 6 * dt * dt
        v = v + 0.5 * (a0 + a1) * dt
        R = R1
    T1 = traj.T_world_imu(ts[k0 + n])
    return p - T1[:3, 3], np.degrees(Rotation.from_matrix(R.T @ T1[:3, :3]).magnitude())


def test_noise_free_imu_integrates_to_the_spline(scans):
    traj = scans[0]
    imu, truth = synthesize_imu(traj, noise=None)
    assert len(imu) == int(np.floor(traj.duration_s * 200 + 1e-9)) + 1
    assert np.array_equal(imu.timestamps_ns, truth.true_time_ns)
    assert np.abs(imu.accel_mps2[0] - DEFAULT_T_IMU_CAMERA[:3, :3] @ traj.rotation(0.0).T @ -G).max() < 1e-9
    for k0 in (0, 700, len(imu) - 201):  # 1 s windows: start (from rest), middle, end
        dp, dang = _integrate(traj, imu, k0, 200)
        assert np.linalg.norm(dp) < 2e-3 and dang < 0.01, (k0, dp, dang)


def test_noisy_imu_drift_within_three_sigma(scans):
    traj, noise = scans[0], ImuNoise()
    imu, truth = synthesize_imu(traj, noise=noise, rng=np.random.default_rng(5))
    dt, T = 1 / 200, 1.0
    # white noise has the discrete std the densities promise
    resid_g = imu.gyro_radps - truth.gyro_radps - truth.gyro_bias_radps
    resid_a = imu.accel_mps2 - truth.accel_mps2 - truth.accel_bias_mps2
    assert resid_g.std() == pytest.approx(noise.gyro_noise_density / np.sqrt(dt), rel=0.05)
    assert resid_a.std() == pytest.approx(noise.accel_noise_density / np.sqrt(dt), rel=0.05)
    steps = np.diff(truth.accel_bias_mps2, axis=0)
    assert steps.std() == pytest.approx(noise.accel_random_walk * np.sqrt(dt), rel=0.05)
    # position error over 1 s from the true state and biases: accel white noise, accel bias walk,
    # gyro angle walk tilting gravity
    sigma_p = np.sqrt(noise.accel_noise_density**2 * T**3 / 3 + noise.accel_random_walk**2 * T**5 / 20
                      + (9.81 * noise.gyro_noise_density) ** 2 * T**5 / 20)
    sigma_ang = np.degrees(noise.gyro_noise_density * np.sqrt(T) + noise.gyro_random_walk * T**1.5)
    for k0 in range(0, len(imu) - 201, 400):
        dp, dang = _integrate(traj, imu, k0, 200, truth)
        assert (np.abs(dp) < 3 * sigma_p + 1e-3).all(), (k0, dp, sigma_p)
        assert dang < 3 * np.sqrt(3) * sigma_ang + 0.01


def test_imu_clock_offset_jitter_and_drops(scans):
    traj = scans[2]
    imu, truth = synthesize_imu(traj, noise=None, rng=np.random.default_rng(1),
                                clock_offset_ns=-2_500_000, jitter_ns=200_000, drop_rate=0.05)
    n_all = int(np.floor(traj.duration_s * 200 + 1e-9)) + 1
    assert 0.9 * n_all < len(imu) < 0.99 * n_all
    err = imu.timestamps_ns - truth.true_time_ns + 2_500_000
    assert 100_000 < err.std() < 300_000 and np.abs(err).max() <= 0.45 * 5e6
    assert (np.diff(imu.timestamps_ns) > 0).all()
    assert (truth.true_time_ns % 5_000_000 == 0).all()


def test_imu_same_seed_identical_and_bad_config(scans):
    traj = scans[0]
    a, ta = synthesize_imu(traj, rng=np.random.default_rng(9), jitter_ns=1000, drop_rate=0.01)
    b, tb = synthesize_imu(traj, rng=np.random.default_rng(9), jitter_ns=1000, drop_rate=0.01)
    for x, y in ((a.timestamps_ns, b.timestamps_ns), (a.accel_mps2, b.accel_mps2), (a.gyro_radps, b.gyro_radps),
                 (ta.gyro_bias_radps, tb.gyro_bias_radps)):
        assert np.array_equal(x, y)
    with pytest.raises(ConfigError, match="rate"):
        synthesize_imu(traj, rate_hz=0, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="drop_rate"):
        synthesize_imu(traj, drop_rate=1.0, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="needs an rng"):
        synthesize_imu(traj)
    with pytest.raises(ConfigError, match="accel_noise_density"):
        synthesize_imu(traj, noise=ImuNoise(accel_noise_density=-1.0), rng=np.random.default_rng(0))
