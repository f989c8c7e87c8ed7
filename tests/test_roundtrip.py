"""Every real capture converts to the SDK's MCAP recording and back without losing anything."""

import numpy as np
import pytest

import sensors
from sensors.convert import convert

CAPTURES = ["7scenes", "euroc_v1_01", "azure_kinect/recording.mkv"]


def items(session):
    return list(session.replay())


@pytest.mark.parametrize("name", CAPTURES)
def test_mcap_roundtrip_is_lossless(shared_data, tmp_path, name):
    with sensors.open(shared_data / name) as src:
        out = convert(src, tmp_path / "out.mcap")
        want = items(src)
        want_gt = src.ground_truth.poses if src.ground_truth else None
        want_cal = src.calibration.to_dict()
    with sensors.open(out) as back:
        assert back.format == "mcap"
        got = items(back)
        assert back.calibration.to_dict() == want_cal
        got_gt = back.ground_truth.poses if back.ground_truth else None
    assert len(got) == len(want) > 0
    for a, b in zip(want, got):
        assert type(a) is type(b) and a.timestamp_ns == b.timestamp_ns
        if isinstance(a, sensors.RGBDFrame):
            assert a.depth_timestamp_ns == b.depth_timestamp_ns
            for x, y in ((a.color, b.color), (a.depth_m, b.depth_m)):
                assert (x is None) == (y is None)
                if x is not None:
                    assert x.dtype == y.dtype and np.array_equal(x, y)  # bit-identical
            assert a.color_encoded == b.color_encoded
            assert a.intrinsics == b.intrinsics and a.depth_intrinsics == b.depth_intrinsics
        else:
            assert a == b  # IMU: timestamps and float values exact
    assert (want_gt is None) == (got_gt is None)
    if want_gt is not None:
        assert got_gt.body == want_gt.body
        assert np.array_equal(got_gt.timestamps_ns, want_gt.timestamps_ns)
        assert np.allclose(got_gt.T_world_body, want_gt.T_world_body, atol=1e-12)


def test_mcap_to_tum_and_back(shared_data, tmp_path):
    with sensors.open(shared_data / "7scenes") as src:
        mcap = convert(src, tmp_path / "k.mcap")
    with sensors.open(mcap) as s:
        tum = convert(s, tmp_path / "tum", to="tum")
        want = [(f.timestamp_ns, f.depth_m) for f in s.frames()]
    with sensors.open(tum) as t:
        assert t.format == "tum"
        got = [(f.timestamp_ns, f.depth_m) for f in t.frames()]
    assert [w[0] for w in want] == [g[0] for g in got]
    assert all(np.array_equal(w[1], g[1]) for w, g in zip(want, got))
