from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from rrd import read_rrd

import sensors
from sensors.errors import ConfigError, MissingDependencyError
from sensors.session import Reader, Record, Session
from sensors.types import Calibration, CameraIntrinsics, GroundTruth, ImuSample, RGBDFrame, Trajectory
from spatial.viz import log_session

rr = pytest.importorskip("rerun")

K = CameraIntrinsics(50.0, 50.0, 15.5, 11.5, 32, 24)
T_IMU_CAMERA = np.array([[0.0, 0, 1, 0.05], [-1, 0, 0, 0], [0, -1, 0, 0.02], [0, 0, 0, 1]])


class SyntheticReader(Reader):
    """Three raw-RGB frames at 10 Hz and IMU at 100 Hz; ground truth is the IMU pose."""

    format_name = "synthetic"

    def __init__(self, path: Path, t0_ns: int = 0) -> None:
        super().__init__(path)
        self.frame_ts = t0_ns + np.arange(3, dtype=np.int64) * 100_000_000
        self.imu_ts = t0_ns + np.arange(21, dtype=np.int64) * 10_000_000
        self.calibration = Calibration(color=K, T_imu_camera=T_IMU_CAMERA)
        T = np.tile(np.eye(4), (len(self.imu_ts), 1, 1))
        T[:, 0, 3] = np.arange(len(self.imu_ts)) * 0.01  # IMU moves 1 m/s along world x
        self.ground_truth = GroundTruth(poses=Trajectory(self.imu_ts, T, body="imu"))

    def timestamps(self) -> dict[str, np.ndarray]:
        return {"rgbd": self.frame_ts, "imu": self.imu_ts}

    def records(self):
        items = [Record(int(t), "imu", ImuSample(int(t), np.array([0.0, 0, 9.81]), np.array([0.0, 0, i * 0.1])))
                 for i, t in enumerate(self.imu_ts)]
        for i, t in enumerate(self.frame_ts):
            color = np.full((24, 32, 3), 40 * i, np.uint8)
            depth = np.full((24, 32), 1.5 if i < 2 else 1.23456, np.float32)  # the last one is not whole mm
            items.append(Record(int(t), "rgbd", RGBDFrame(int(t), color, depth, K, index=i)))
        return iter(sorted(items, key=lambda r: (r.timestamp_ns, r.kind)))


def test_missing_rerun_names_the_viz_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "rerun", None)
    with pytest.raises(MissingDependencyError) as info:
        log_session(Session(SyntheticReader(tmp_path)), tmp_path / "out.rrd")
    assert info.value.extra == "viz"
    assert "spatial-sdk[viz]" in str(info.value) and "rerun" in str(info.value)
    assert not (tmp_path / "out.rrd").exists()


@pytest.mark.parametrize("kw", [{"every": 0}, {"max_frames": 0}])
def test_bad_selection_is_a_config_error(tmp_path, kw):
    with pytest.raises(ConfigError, match="must be >= 1"):
        log_session(Session(SyntheticReader(tmp_path)), tmp_path / "out.rrd", **kw)


def test_synthetic_session_content(tmp_path):
    calls = []
    path = log_session(Session(SyntheticReader(tmp_path)), tmp_path / "rec" / "out.rrd", progress=calls.append)
    assert path == tmp_path / "rec" / "out.rrd" and calls == [1, 1, 1]
    assert [p.name for p in path.parent.iterdir()] == ["out.rrd"]  # no temp file left behind
    data = read_rrd(path)

    images = data["/world/camera/color/image"]
    assert images["time"] == [0, 100_000_000, 200_000_000]
    assert "Image:buffer" in images  # raw RGB (no encoded bytes in this session)
    assert len(data["/world/camera/depth/image"]["DepthImage:meter"]) == 3
    # whole millimetres are logged as uint16 (meter 1000), anything else as float32 metres
    assert [m[0] for m in data["/world/camera/depth/image"]["DepthImage:meter"]] == [1000.0, 1000.0, 1.0]

    # ground truth is the IMU pose: the camera must be placed at T_world_imu @ T_imu_camera
    cam = data["/world/camera"]
    assert cam["time"] == [0, 100_000_000, 200_000_000]
    for t_ns, trans in zip(cam["time"], cam["Transform3D:translation"], strict=True):
        expected = np.array([t_ns / 1e9, 0.0, 0.0]) + T_IMU_CAMERA[:3, 3]
        np.testing.assert_allclose(trans[0], expected, atol=1e-6)
    strip = np.array(data["/world/ground_truth"]["LineStrips3D:strips"][0][0])
    assert strip.shape == (21, 3)
    np.testing.assert_allclose(strip[-1], [0.2 + 0.05, 0, 0.02], atol=1e-6)

    gyro = data["/imu/gyro"]
    assert len(gyro["time"]) == 21 and gyro["time"][-1] == 200_000_000
    np.testing.assert_allclose([v[2] for v in gyro["Scalars:scalars"]], np.arange(21) * 0.1, atol=1e-9)
    assert data["/world"]["ViewCoordinates:xyz"]  # world z-up


def test_unix_clock_uses_timestamps_and_max_frames_cuts_imu(tmp_path):
    t0 = 1_403_636_579_763_555_584  # a EuRoC-style Unix-time clock
    path = log_session(Session(SyntheticReader(tmp_path, t0)), tmp_path / "out.rrd", max_frames=2)
    chunks = [c for c in rr.chunk.RrdReader(path).store().stream() if not c.is_static]
    assert {str(c.to_record_batch().schema.field("time").type) for c in chunks} == {"timestamp[ns]"}
    data = read_rrd(path)
    assert len(data["/world/camera/color/image"]["time"]) == 2
    assert data["/imu/accel"]["time"][-1] == t0 + 100_000_000  # IMU stops at the last logged frame


@pytest.mark.shared_data
def test_7scenes_logged_frames(shared_data, tmp_path):
    session = sensors.open(shared_data / "7scenes", format="7scenes")
    path = log_session(session, tmp_path / "kitchen.rrd", max_frames=4, every=3)
    data = read_rrd(path)
    images = data["/world/camera/color/image"]
    assert images["time"] == [round(i * 1e9 / 30) for i in (0, 3, 6, 9)]
    assert images["EncodedImage:media_type"][0] == ["image/jpeg"]  # the JPEG bytes, not raw pixels
    assert len(data["/world/camera/depth/image"]["time"]) == 4
    gt = session.ground_truth.poses
    for t_ns, trans in zip(data["/world/camera"]["time"], data["/world/camera"]["Transform3D:translation"], strict=True):
        np.testing.assert_allclose(trans[0], gt.T_world_body[gt.index_of(t_ns)][:3, 3], atol=1e-6)
    assert np.array(data["/world/ground_truth"]["LineStrips3D:strips"][0][0]).shape == (300, 3)
    assert "/imu/accel" not in data
