"""IMU: gtsam preintegration on EuRoC, inertial initialisation, time offset, gaps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import sensors
from sensors.errors import SyncError
from sensors.sync import ImuSeries
from spatial.fusion.imu import (
    estimate_time_offset,
    initialize,
    preintegrate,
    preintegrate_np,
    preintegration_params,
)


@pytest.fixture(scope="module")
def euroc(shared_data):
    folder = shared_data / "euroc_v1_01"
    with sensors.open(folder) as s:
        imu, noise = s.imu(), s.calibration.imu_noise
    rows = [line.split(",") for line in (folder / "mav0/state_groundtruth_estimate0/data.csv").read_text().splitlines()
            if line and not line.startswith("#")]
    t = np.array([int(r[0]) for r in rows], np.int64)
    v = np.array([[float(x) for x in r[1:]] for r in rows])
    R = Rotation.from_quat(v[:, [4, 5, 6, 3]]).as_matrix()
    return imu, noise, t, R, v[:, 0:3], v[:, 7:10], v[:, 10:13], v[:, 13:16]


def test_preintegration_on_euroc_half_second_windows(euroc):
    import gtsam

    imu, noise, t, R, P, V, BG, BA = euroc
    params = preintegration_params(noise)
    errs, errs_np = [], []
    for i in range(0, 600, 10):  # 30 s of 0.5 s windows seeded from ground truth
        j = i + 10
        bias = gtsam.imuBias.ConstantBias(BA[i], BG[i])
        pred = preintegrate(imu, int(t[i]), int(t[j]), params, bias).predict(gtsam.NavState(gtsam.Rot3(R[i]), P[i], V[i]), bias)
        errs.append(np.linalg.norm(pred.position() - P[j]))
        pn = preintegrate_np(imu, int(t[i]), int(t[j]), BG[i], BA[i])
        p = P[i] + V[i] * pn.dt + 0.5 * np.array([0, 0, -9.81]) * pn.dt**2 + R[i] @ pn.dp
        errs_np.append(np.linalg.norm(p - P[j]))
    assert np.mean(errs) < 0.012 and np.max(errs) < 0.03
    assert abs(np.mean(errs_np) - np.mean(errs)) < 0.002  # the numpy deltas agree with gtsam's


def test_inertial_initialisation_on_euroc(euroc):
    imu, _, t, R, P, _, BG, BA = euroc
    Rr = Rotation.from_rotvec([0.4, -1.1, 0.7]).as_matrix()  # an arbitrary odometry frame
    idx = np.arange(400, 460, 4)  # 3 s, a pose every 0.2 s
    T = np.tile(np.eye(4), (len(idx), 1, 1))
    T[:, :3, :3] = Rr @ R[idx]
    T[:, :3, 3] = P[idx] @ Rr.T
    ini = initialize(T, t[idx], imu)
    g_true = Rr @ [0, 0, -1.0]
    assert np.degrees(np.arccos(ini.gravity_ref @ g_true / 9.81)) < 1.5
    assert np.linalg.norm(ini.gyro_bias - BG[idx].mean(0)) < 0.005
    assert np.linalg.norm(ini.accel_bias - BA[idx].mean(0)) < 0.25
    assert np.allclose(ini.R_world_ref @ ini.gravity_ref, [0, 0, -9.81], atol=1e-6)  # z-up world
    with pytest.raises(SyncError, match="at least 4 poses"):
        initialize(T[:3], t[idx[:3]], imu)


def test_time_offset_recovered(euroc):
    imu, _, t, R, *_ = euroc
    shifted = ImuSeries(imu.timestamps_ns - 30_000_000, imu.accel_mps2, imu.gyro_radps)
    off, q = estimate_time_offset(t[100:300], R[100:300], shifted, np.eye(3))
    assert abs(off - 30_000_000) < 3_000_000 and q > 0.9


def test_preintegration_refuses_gaps_and_uncovered_windows():
    t = np.arange(0, 1_000_000_000, 5_000_000, dtype=np.int64)
    keep = (t < 400_000_000) | (t > 500_000_000)
    imu = ImuSeries(t[keep], np.tile([0, 0, 9.81], (keep.sum(), 1)), np.zeros((keep.sum(), 3)))
    params = preintegration_params()
    pim = preintegrate(imu, 0, 300_000_000, params)
    assert pim.deltaTij() == pytest.approx(0.3)
    import gtsam

    rest = pim.predict(gtsam.NavState(), gtsam.imuBias.ConstantBias())
    assert np.allclose(rest.position(), 0, atol=1e-9)  # at rest: the specific force cancels gravity
    with pytest.raises(SyncError, match="IMU gap of 110.0 ms at 395000000 ns"):
        preintegrate(imu, 300_000_000, 600_000_000, params)
    with pytest.raises(SyncError, match="does not cover"):
        preintegrate(imu, 900_000_000, 1_200_000_000, params)


def test_tracker_finds_an_unstated_imu_clock_offset(tmp_path):
    from sensors.sim import SimConfig, simulate
    from spatial.eval.trajectory import ate
    from spatial.fusion import track

    cfg = SimConfig.create(preset="kitchen", seed=3, duration_s=4.0, width=320, height=240, focal_px=262.5,
                           imu_clock_offset_ns=40_000_000, offset_in_calibration=False)
    with sensors.open(simulate(cfg, tmp_path / "offset.mcap")) as s:
        assert s.calibration.time_offset_ns == 0  # the reader does not know it
        res = track(s)
        gt = s.ground_truth.poses
    imu = res.stats["imu"]
    assert imu["used"] and abs(imu["time_offset_applied_ns"] + 40_000_000) < 4_000_000
    assert res.stats["lost"] == 0 and ate(gt, res.trajectory).rmse_m < 0.02
