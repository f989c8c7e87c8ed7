import numpy as np
import pytest

from sensors import EmptySessionError, SyncError
from sensors.sync import ImuSeries, associate, check_timestamps, stream_stats, sync_report

MS = 1_000_000


def test_check_timestamps_names_file_and_place(tmp_path):
    f = tmp_path / "rgb.txt"
    with pytest.raises(SyncError, match="non-monotonic colour timestamps: entry 2") as e:
        check_timestamps([0, 10, 5], f, "colour")
    assert str(f) in str(e.value)
    with pytest.raises(SyncError, match="duplicate"):
        check_timestamps([0, 10, 10], f, "depth")
    assert list(check_timestamps([0, 10, 10], f, "depth", strict=False)) == [0, 10, 10]


def test_associate_nearest_one_to_one_within_gap():
    color = np.array([0, 33, 66, 100, 133]) * MS
    depth = np.array([2, 31, 70, 170]) * MS  # 100 has no depth within 20 ms; 170 unmatched
    a = associate(color, depth, 20 * MS)
    assert a.index_a.tolist() == [0, 1, 2]
    assert a.index_b.tolist() == [0, 1, 2]
    assert a.gaps_ns.tolist() == [2 * MS, 2 * MS, 4 * MS]
    assert (a.unmatched_a, a.unmatched_b) == (2, 1)
    # one depth image is never used twice
    b = associate(np.array([0, 1]) * MS, np.array([0]) * MS, 5 * MS)
    assert len(b) == 1 and b.index_a.tolist() == [0]
    assert len(associate([], depth, MS)) == 0


def test_stream_stats_rate_drops_jumps():
    ts = np.arange(100) * 33_333_333
    ts = np.delete(ts, [10, 11, 50])  # three dropped frames
    ts[80:] += 5_000_000_000  # a 5 s pause
    s = stream_stats(ts)
    assert s.rate_hz == pytest.approx(30.0, rel=1e-3)
    assert s.dropped == 3
    assert s.jumps == 1
    assert s.count == 97


def test_imu_interpolation_and_between_frames():
    t = np.arange(0, 11) * 5 * MS  # 200 Hz over 50 ms
    acc = np.stack([t / 1e9, np.zeros(11), np.full(11, 9.81)], 1)
    gyro = np.stack([np.zeros(11), t / 1e9, np.zeros(11)], 1)
    imu = ImuSeries(t, acc, gyro)
    s = imu.interpolate(7 * MS)
    assert s.accel_mps2[0] == pytest.approx(0.007)
    part = imu.between(7 * MS, 23 * MS)
    assert part.timestamps_ns[0] == 7 * MS and part.timestamps_ns[-1] == 23 * MS
    assert part.timestamps_ns[1:-1].tolist() == [10 * MS, 15 * MS, 20 * MS]
    # consecutive slices share only their boundary instant
    nxt = imu.between(23 * MS, 40 * MS)
    assert nxt.timestamps_ns[0] == part.timestamps_ns[-1]
    with pytest.raises(SyncError, match="outside"):
        imu.interpolate(100 * MS)
    with pytest.raises(SyncError, match="before its start"):
        imu.between(10, 5)
    with pytest.raises(SyncError, match="non-monotonic"):
        ImuSeries([0, 2, 1], np.zeros((3, 3)), np.zeros((3, 3)))


def test_sync_report_and_empty():
    a = associate(np.array([0, 33]) * MS, np.array([1, 34]) * MS, 20 * MS)
    r = sync_report({"color": np.array([0, 33]) * MS, "depth": np.array([1, 34]) * MS}, a, 7)
    d = r.to_dict()
    assert d["rgbd_pairs"] == 2 and d["rgbd_max_gap_ms"] == pytest.approx(1.0)
    assert d["imu_time_offset_ns"] == 7
    with pytest.raises(EmptySessionError):
        sync_report({"color": np.zeros(0, np.int64)})
