import numpy as np
import pytest

from sensors import Calibration, CalibrationError, CameraIntrinsics, SyncError, Trajectory
from sensors.types import as_transform, orthonormalize


def test_intrinsics_K_scaled_and_roundtrip():
    k = CameraIntrinsics(585.0, 580.0, 320.0, 240.0, 640, 480, (0.1, -0.2, 0.0, 0.0), "radtan")
    assert np.allclose(k.K, [[585, 0, 320], [0, 580, 240], [0, 0, 1]])
    half = k.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    assert half.fx == pytest.approx(292.5)
    assert half.cx == pytest.approx(159.75)  # pixel-centre convention
    assert CameraIntrinsics.from_dict(k.to_dict()) == k
    assert k.has_distortion


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(fx=0.0), "fx"),
        (dict(fy=-3.0), "fy"),
        (dict(width=0), "image size"),
        (dict(cx=float("nan")), "principal point"),
        (dict(distortion_model="fisheye9"), "distortion model"),
    ],
)
def test_intrinsics_rejects_bad_values(kw, msg):
    base = dict(fx=500.0, fy=500.0, cx=320.0, cy=240.0, width=640, height=480)
    with pytest.raises(CalibrationError, match=msg):
        CameraIntrinsics(**(base | kw))


def test_transform_validation():
    T = np.eye(4)
    T[:3, 3] = (1, 2, 3)
    assert as_transform(T) is not None
    bad = T.copy()
    bad[0, 0] = 2.0
    with pytest.raises(CalibrationError, match="rotation"):
        as_transform(bad, "T_x_y")
    with pytest.raises(CalibrationError, match="NaN"):
        as_transform(np.full((4, 4), np.nan))
    with pytest.raises(CalibrationError, match="4x4"):
        as_transform(np.eye(3))
    noisy = T.copy()
    noisy[:3, :3] += 3e-4
    fixed = orthonormalize(noisy)
    assert np.allclose(fixed[:3, :3] @ fixed[:3, :3].T, np.eye(3), atol=1e-12)
    assert np.allclose(fixed[:3, 3], (1, 2, 3))


def test_calibration_roundtrip_and_checks():
    c = Calibration(color=CameraIntrinsics(1, 1, 0, 0, 4, 3), depth_scale=5000.0, time_offset_ns=-12)
    assert Calibration.from_dict(c.to_dict()).to_dict() == c.to_dict()
    assert c.depth_registered
    with pytest.raises(CalibrationError, match="depth_scale"):
        Calibration(depth_scale=0.0)


def test_trajectory_interpolation_and_checks():
    from scipy.spatial.transform import Rotation

    T = np.tile(np.eye(4), (2, 1, 1))
    T[1, :3, :3] = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    T[1, :3, 3] = (2.0, 0.0, 0.0)
    traj = Trajectory([0, 1_000_000_000], T)
    mid = traj.interpolate(500_000_000, max_gap_ns=2_000_000_000)
    assert np.allclose(mid[:3, 3], (1.0, 0.0, 0.0))
    assert Rotation.from_matrix(mid[:3, :3]).as_euler("xyz", degrees=True)[2] == pytest.approx(45.0)
    assert traj.interpolate(2_000_000_000) is None
    assert traj.interpolate(500_000_000, max_gap_ns=10) is None  # gap too long
    assert traj.index_of(990_000_000, max_gap_ns=20_000_000) == 1
    assert traj.index_of(500_000_000, max_gap_ns=1) is None
    with pytest.raises(SyncError, match="strictly increasing"):
        Trajectory([5, 5], T)
    with pytest.raises(CalibrationError, match="NaN"):
        Trajectory([0, 1], np.full((2, 4, 4), np.nan))


def test_trajectory_camera_poses():
    T = np.tile(np.eye(4), (2, 1, 1))
    T[1, 0, 3] = 1.0
    T_imu_camera = np.eye(4)
    T_imu_camera[:3, 3] = [0.1, 0.0, 0.0]
    cam = Trajectory([1, 2], T, body="camera")
    assert cam.camera_poses() is cam
    imu = Trajectory([1, 2], T, body="imu")
    moved = imu.camera_poses(T_imu_camera)
    assert moved.body == "camera"
    np.testing.assert_allclose(moved.positions_m, [[0.1, 0, 0], [1.1, 0, 0]])
    assert imu.camera_poses() is None and Trajectory([1, 2], T, body="hand").camera_poses(T_imu_camera) is None
