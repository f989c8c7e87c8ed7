"""EuRoC / ASL mav0 reader: the real V1_01_easy copy (IMU + ground truth, no images) and small
synthetic mav0 folders with images and broken inputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from expect import raises_naming
from scipy.spatial.transform import Rotation

import sensors
from sensors import CalibrationError, FormatError, SyncError
from sensors.formats.euroc import EurocReader

T0 = 1403715273262142976
CAM0_T_BS = np.array([
    [0.0148655429818, -0.999880929698, 0.00414029679422, -0.0216401454975],
    [0.999557249008, 0.0149672133247, 0.025715529948, -0.064676986768],
    [-0.0257744366974, 0.00375618835797, 0.999660727178, 0.00981073058949],
    [0.0, 0.0, 0.0, 1.0],
])


@pytest.fixture(scope="module")
def v101(shared_data: Path) -> sensors.Session:
    return sensors.open(shared_data / "euroc_v1_01", format="euroc")


# -- real data ------------------------------------------------------------------------------------
def test_real_imu_stream(v101):
    imu = v101.imu()
    assert len(imu) == 29120
    assert imu.timestamps_ns.dtype == np.int64
    assert int(imu.timestamps_ns[0]) == 1403715273262142976
    assert int(imu.timestamps_ns[-1]) == 1403715418857143040
    # first row: gyro columns come first in the file, accel after
    np.testing.assert_allclose(imu.gyro_radps[0], [-0.0020943951023931952, 0.017453292519943295, 0.07749261878854824])
    np.testing.assert_allclose(imu.accel_mps2[0], [9.0874956666666655, 0.13075533333333333, -3.6938381666666662])
    assert np.linalg.norm(imu.accel_mps2, axis=1).mean() == pytest.approx(9.80, abs=0.02)
    stats = v101.summary().sync.streams
    assert stats["imu"].rate_hz == pytest.approx(200.0, rel=1e-3)
    assert stats["cam0"].count == 95 and stats["cam0"].rate_hz == pytest.approx(20.0, rel=1e-3)


def test_real_calibration(v101):
    c = v101.calibration
    np.testing.assert_allclose(c.T_imu_camera, CAM0_T_BS, atol=1e-6)
    k = c.color
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (458.654, 457.296, 367.215, 248.375, 752, 480)
    assert k.distortion_model == "radtan"
    assert k.distortion == (-0.28340811, 0.07395907, 0.00019359, 1.76187114e-05)
    assert c.imu_noise.gyro_noise_density == 1.6968e-4 and c.imu_noise.accel_random_walk == 3.0e-3
    assert c.time_offset_ns == 0


def test_real_ground_truth_is_imu_in_a_z_up_world(v101):
    gt = v101.ground_truth.poses
    assert len(gt) == 2895 and gt.body == "imu"
    assert int(gt.timestamps_ns[0]) == T0 and int(gt.timestamps_ns[-1]) == 1403715417962142976
    np.testing.assert_allclose(gt.positions_m[0], [0.878895, 2.1834, 0.948427])
    q_wxyz = np.array([0.069433, -0.824237, -0.106942, -0.551702])
    R = Rotation.from_quat(np.r_[q_wxyz[1:], q_wxyz[0]] / np.linalg.norm(q_wxyz)).as_matrix()
    np.testing.assert_allclose(gt.T_world_body[0, :3, :3], R, atol=1e-9)
    # physical check of the convention: the specific force, rotated into the world, points up (+z)
    imu = v101.imu()
    idx = np.searchsorted(imu.timestamps_ns, gt.timestamps_ns)
    up = np.median(np.einsum("nij,nj->ni", gt.T_world_body[:, :3, :3], imu.accel_mps2[idx]), axis=0)
    assert up[2] == pytest.approx(9.8, abs=0.1) and np.hypot(up[0], up[1]) < 0.2


def test_real_without_images_is_imu_and_ground_truth_only(shared_data, v101):
    assert v101.reader.images_present is False
    ts = v101.timestamps()
    assert "rgbd" not in ts and len(ts["cam0"]) == 95 and int(ts["cam0"][0]) == T0
    assert v101.num_frames == 0
    with pytest.raises(sensors.EmptySessionError):
        next(iter(v101.frames(readahead=0)))
    kinds = {r.kind for r in v101.reader.records()}
    assert kinds == {"imu"}
    # the mav0 folder itself opens too, and detection recognises both
    assert EurocReader.detect(shared_data / "euroc_v1_01") and EurocReader.detect(shared_data / "euroc_v1_01" / "mav0")
    assert len(EurocReader(shared_data / "euroc_v1_01" / "mav0").imu()) == 29120


# -- synthetic mav0 folders -----------------------------------------------------------------------
YAML_IMU = """%YAML:1.0
sensor_type: imu
T_BS:
  cols: 4
  rows: 4
  data: [{T}]
rate_hz: 200
gyroscope_noise_density: 1.0e-04
gyroscope_random_walk: 2.0e-05
accelerometer_noise_density: 3.0e-3
accelerometer_random_walk: 4.0e-3
"""
YAML_CAM = """%YAML:1.0
sensor_type: camera
T_BS:
  cols: 4
  rows: 4
  data: [{T}]
rate_hz: 20
resolution: [752, 480]
camera_model: pinhole
intrinsics: [458.654, 457.296, 367.215, 248.375] #fu, fv, cu, cv
distortion_model: radial-tangential
distortion_coefficients: [-0.28340811, 0.07395907, 0.00019359, 1.76187114e-05]
"""
IMU_HEADER = "#timestamp [ns],w_RS_S_x [rad s^-1],w_RS_S_y [rad s^-1],w_RS_S_z [rad s^-1],a_RS_S_x [m s^-2],a_RS_S_y [m s^-2],a_RS_S_z [m s^-2]\n"
GT_HEADER = "#time(ns),px,py,pz,qw,qx,qy,qz,vx,vy,vz,bwx,bwy,bwz,bax,bay,baz\n"


def _flat(T: np.ndarray) -> str:
    return ", ".join(repr(float(v)) for v in T.reshape(-1))


def _T(rotvec, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    T[:3, 3] = t
    return T


T_B_IMU = _T([0.0, 0.0, np.pi / 2], [0.1, 0.0, 0.0])
T_B_CAM = _T([0.1, -0.2, 0.3], [0.0, 0.05, 0.02])


def make_mav0(root: Path, n_imu: int = 41, n_cam: int = 3, images: bool = True) -> Path:
    """A small mav0 folder: 200 Hz IMU, 20 Hz camera with grayscale PNGs, ground truth."""
    mav0 = root / "mav0"
    for d in ("imu0", "cam0/data", "state_groundtruth_estimate0"):
        (mav0 / d).mkdir(parents=True, exist_ok=True)
    (mav0 / "imu0/sensor.yaml").write_text(YAML_IMU.format(T=_flat(T_B_IMU)))
    (mav0 / "cam0/sensor.yaml").write_text(YAML_CAM.format(T=_flat(T_B_CAM)))
    rows = [f"{T0 + i * 5_000_000},0.01,-0.02,{0.03 + i * 1e-3:.6f},0.1,9.81,0.2" for i in range(n_imu)]
    (mav0 / "imu0/data.csv").write_text(IMU_HEADER + "\n".join(rows) + "\n")
    cam = [T0 + i * 50_000_000 for i in range(n_cam)]
    (mav0 / "cam0/data.csv").write_text("#timestamp [ns],filename\n" + "".join(f"{t},{t}.png\n" for t in cam))
    if images:
        y, x = np.mgrid[0:480, 0:752]
        for i, t in enumerate(cam):
            img = (128 + 60 * np.sin(x / 40.0 + i) * np.cos(y / 30.0)).astype(np.uint8)
            cv2.rectangle(img, (100 + 20 * i, 100), (220 + 20 * i, 200), 250, -1)
            cv2.imwrite(str(mav0 / "cam0/data" / f"{t}.png"), img)
    q = Rotation.from_rotvec([0.0, 0.0, 0.5]).as_quat()  # x, y, z, w
    gt = [f"{t},1.0,2.0,{3.0 + k * 0.01},{q[3]},{q[0]},{q[1]},{q[2]},0,0,0,0,0,0,0,0,0" for k, t in enumerate(cam)]
    (mav0 / "state_groundtruth_estimate0/data.csv").write_text(GT_HEADER + "\n".join(gt) + "\n")
    return mav0


def test_synthetic_frames_and_merged_records(tmp_path):
    mav0 = make_mav0(tmp_path)
    with sensors.open(tmp_path, format="euroc") as s:
        assert s.reader.images_present
        frames = list(s.frames())
        assert len(frames) == 3 and s.num_frames == 3
        f = frames[1]
        assert f.color.shape == (480, 752, 3) and f.color.dtype == np.uint8 and f.depth_m is None
        gray = cv2.imread(str(mav0 / "cam0/data" / f"{T0 + 50_000_000}.png"), cv2.IMREAD_GRAYSCALE)
        for ch in range(3):  # grayscale replicated to RGB, unchanged
            np.testing.assert_array_equal(f.color[..., ch], gray)
        assert f.timestamp_ns == T0 + 50_000_000 and f.index == 1
        assert f.color_encoding == "png" and f.color_encoded[:4] == b"\x89PNG"
        assert f.intrinsics == s.calibration.color
        items = list(s.replay(readahead=4))
        assert [type(i).__name__ for i in items].count("RGBDFrame") == 3 and len(items) == 41 + 3
        ts = [i.timestamp_ns for i in items]
        assert ts == sorted(ts)
        # at equal timestamps the IMU reading comes before the frame
        assert type(items[0]).__name__ == "ImuSample" and type(items[1]).__name__ == "RGBDFrame"
        inline = list(s.replay(readahead=0))
        assert [(i.timestamp_ns, type(i).__name__) for i in inline] == [(i.timestamp_ns, type(i).__name__) for i in items]
        np.testing.assert_array_equal(inline[1].color, items[1].color)


def test_synthetic_extrinsics_compose_with_non_identity_imu(tmp_path):
    make_mav0(tmp_path)
    r = EurocReader(tmp_path / "mav0")
    np.testing.assert_allclose(r.calibration.T_imu_camera, np.linalg.inv(T_B_IMU) @ T_B_CAM, atol=1e-12)
    # ground truth is of the body (GT sensor T_BS absent → identity); the trajectory is of the IMU
    gt = r.ground_truth.poses
    T_world_body = _T([0.0, 0.0, 0.5], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(gt.T_world_body[0], T_world_body @ T_B_IMU, atol=1e-12)
    assert r.calibration.imu_noise.accel_random_walk == 4.0e-3


def test_synthetic_without_images(tmp_path):
    make_mav0(tmp_path, images=False)
    r = EurocReader(tmp_path)
    assert not r.images_present and "rgbd" not in r.timestamps() and len(r.timestamps()["cam0"]) == 3
    assert all(rec.kind == "imu" for rec in r.records())


def test_detect(tmp_path):
    assert not EurocReader.detect(tmp_path)
    make_mav0(tmp_path)
    assert EurocReader.detect(tmp_path) and EurocReader.detect(tmp_path / "mav0")


# -- bad inputs -----------------------------------------------------------------------------------
def _edit(path: Path, line: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = new
    path.write_text("\n".join(lines) + "\n")


def _raises(exc_type, root: Path, expected_path: Path, *words: str):
    return raises_naming(exc_type, lambda: EurocReader(root), expected_path, *words)


def test_truncated_imu_row(tmp_path):
    mav0 = make_mav0(tmp_path)
    _edit(mav0 / "imu0/data.csv", 6, f"{T0 + 4 * 5_000_000},0.01,-0.02")
    _raises(FormatError, tmp_path, mav0 / "imu0/data.csv", "line 6", "expected 7", "got 3")


def test_float_timestamps_rejected(tmp_path):
    mav0 = make_mav0(tmp_path)
    # a file re-saved through float64: the timestamp is no longer an exact integer of ns
    _edit(mav0 / "imu0/data.csv", 3, f"{float(T0 + 5_000_000)!r},0.01,-0.02,0.03,0.1,9.81,0.2")
    _raises(FormatError, tmp_path, mav0 / "imu0/data.csv", "line 3", "not an integer", "float")


def test_non_monotonic_and_duplicate_imu_timestamps(tmp_path):
    mav0 = make_mav0(tmp_path)
    _edit(mav0 / "imu0/data.csv", 10, f"{T0},0.01,-0.02,0.03,0.1,9.81,0.2")
    _raises(SyncError, tmp_path, mav0 / "imu0/data.csv", "non-monotonic", "IMU")
    _edit(mav0 / "imu0/data.csv", 10, f"{T0 + 7 * 5_000_000},0.01,-0.02,0.03,0.1,9.81,0.2")  # same as row 9
    _raises(SyncError, tmp_path, mav0 / "imu0/data.csv", "duplicate")


def test_missing_sensor_yaml(tmp_path):
    mav0 = make_mav0(tmp_path)
    (mav0 / "imu0/sensor.yaml").unlink()
    _raises(CalibrationError, tmp_path, mav0 / "imu0/sensor.yaml", "missing")


def test_partly_missing_images(tmp_path):
    mav0 = make_mav0(tmp_path)
    missing = mav0 / "cam0/data" / f"{T0 + 50_000_000}.png"
    missing.unlink()
    _raises(FormatError, tmp_path, missing, "line 3", "missing", "1 of 3")


def test_nan_value(tmp_path):
    mav0 = make_mav0(tmp_path)
    _edit(mav0 / "imu0/data.csv", 5, f"{T0 + 3 * 5_000_000},0.01,nan,0.03,0.1,9.81,0.2")
    _raises(FormatError, tmp_path, mav0 / "imu0/data.csv", "line 5", "NaN")


def test_non_numeric_value(tmp_path):
    mav0 = make_mav0(tmp_path)
    _edit(mav0 / "imu0/data.csv", 4, f"{T0 + 2 * 5_000_000},0.01,-0.02,0.03,abc,9.81,0.2")
    _raises(FormatError, tmp_path, mav0 / "imu0/data.csv", "line 4", "column 5", "'abc'")


def test_bad_quaternion_norm(tmp_path):
    mav0 = make_mav0(tmp_path)
    _edit(mav0 / "state_groundtruth_estimate0/data.csv", 3, f"{T0 + 50_000_000},1,2,3,0.5,0.5,0,0,0,0,0,0,0,0,0,0,0")
    _raises(FormatError, tmp_path, mav0 / "state_groundtruth_estimate0/data.csv", "line 3", "norm 0.707")


def test_bad_camera_yaml(tmp_path):
    mav0 = make_mav0(tmp_path)
    text = (mav0 / "cam0/sensor.yaml").read_text().replace("radial-tangential", "fov")
    (mav0 / "cam0/sensor.yaml").write_text(text)
    _raises(CalibrationError, tmp_path, mav0 / "cam0/sensor.yaml", "distortion_model 'fov'")


def test_not_a_mav0_folder(tmp_path):
    (tmp_path / "mav0").mkdir()
    _raises(FormatError, tmp_path, tmp_path / "mav0", "not an ASL/EuRoC")
