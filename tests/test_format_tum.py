import hashlib
import itertools
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

import sensors
from sensors import CalibrationError, EmptySessionError, FormatError, SyncError
from sensors.formats._io import depth_to_metres
from sensors.formats.tum import FREIBURG_INTRINSICS, TumReader, format_time, parse_time_ns, write_tum
from sensors.session import Reader, Record, Session
from sensors.sync import ImuSeries
from sensors.types import Calibration, CameraIntrinsics, GroundTruth, RGBDFrame, Trajectory

T0 = 1_305_031_102_175_304_000  # 1305031102.175304 s, a real TUM fr1 timestamp
K_SMALL = CameraIntrinsics(50.0, 50.0, 31.5, 23.5, 64, 48)


def tree_digest(path):
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode())
            h.update(p.read_bytes())
            h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


class FirstFrames(Reader):
    """The first ``n`` frames of another reader (a short slice of a real session)."""

    format_name = "slice"

    def __init__(self, inner: Reader, n: int) -> None:
        super().__init__(inner.path)
        self.inner, self.n = inner, n
        self.calibration, self.ground_truth = inner.calibration, inner.ground_truth

    def timestamps(self):
        return {"rgbd": self.inner.timestamps()["rgbd"][: self.n]}

    def records(self):
        return itertools.islice((r for r in self.inner.records() if r.kind == "rgbd"), self.n)


class MemoryReader(Reader):
    """An in-memory session: frames, IMU and ground truth given directly."""

    format_name = "memory"

    def __init__(self, frames, calibration, imu=None, ground_truth=None) -> None:
        super().__init__("memory")
        self.frames, self.calibration, self.ground_truth = frames, calibration, ground_truth
        self._imu = imu or ImuSeries(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))

    def timestamps(self):
        return {"rgbd": np.array([f.timestamp_ns for f in self.frames]), "imu": self._imu.timestamps_ns}

    def imu(self):
        return self._imu

    def records(self):
        recs = [Record(f.timestamp_ns, "rgbd", f) for f in self.frames]
        recs += [Record(int(t), "imu", self._imu[i]) for i, t in enumerate(self._imu.timestamps_ns)]
        return iter(sorted(recs, key=lambda r: r.timestamp_ns))


def synthetic_frames(n=3, k=K_SMALL, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        raw = rng.integers(5000, 15000, size=(k.height, k.width)).astype(np.uint16)  # 1-3 m at 5000/m
        raw[:4, :4] = 0  # some invalid pixels
        color = rng.integers(0, 256, size=(k.height, k.width, 3), dtype=np.uint8)
        t = T0 + i * 33_333_333
        frames.append(RGBDFrame(t, color, depth_to_metres(raw, 5000.0), k, depth_timestamp_ns=t + 1_234_567, index=i))
    return frames


def entries(folder, listing):
    return [ln.split()[1] for ln in (folder / listing).read_text().splitlines() if ln and not ln.startswith("#")]


def read_all(path, **kw):
    with sensors.open(path, format="tum", **kw) as s:
        return list(s.replay(readahead=0))


@pytest.fixture
def tum_dir(tmp_path):
    """A small valid TUM folder written by write_tum (3 frames, 64x48), for damaging."""
    session = Session(MemoryReader(synthetic_frames(), Calibration(color=K_SMALL, depth_scale=5000.0)))
    return write_tum(session, tmp_path / "seq")


# -- timestamps --------------------------------------------------------------------------------
def test_parse_time_ns_is_exact():
    assert parse_time_ns("1305031102.175304") == T0
    assert int(float("1305031102.175304") * 1e9) != T0  # why floats are never used
    assert parse_time_ns("1305031102.1753") == 1_305_031_102_175_300_000
    assert parse_time_ns("12") == 12 * 10**9
    assert parse_time_ns("0.000000001") == 1
    assert parse_time_ns("-0.5") == -500_000_000
    assert parse_time_ns("1.0000000005") == 1_000_000_001  # rounded at the 10th decimal
    assert parse_time_ns("1.0000000004") == 1_000_000_000
    for bad in ("1e9", "abc", "1.2.3", "", " 1"):
        with pytest.raises(ValueError):
            parse_time_ns(bad)
    for ns in (0, 1, T0, 999_999_999, -1, -1_500_000_000):
        assert parse_time_ns(format_time(ns)) == ns
    assert format_time(T0) == "1305031102.175304000"


# -- round trips -------------------------------------------------------------------------------
def test_real_7scenes_round_trip(shared_data, tmp_path):
    src = shared_data / "7scenes"
    digest_src = tree_digest(src)
    n = 30
    with sensors.open(src, format="7scenes") as s7:
        calls = []
        out = write_tum(Session(FirstFrames(s7.reader, n)), tmp_path / "tum", progress=calls.append)
        originals = list(itertools.islice(s7.frames(), n))
        gt_in = s7.ground_truth.poses
    assert calls == [1] * n
    assert TumReader.detect(out) and not TumReader.detect(src)
    assert len(list((out / "rgb").glob("*.jpg"))) == n  # JPEG bytes kept, not re-encoded

    digest_out = tree_digest(out)
    with sensors.open(out, format="tum") as s:
        assert s.format == "tum"
        assert s.calibration.color == s7.calibration.color and s.calibration.depth_scale == 5000.0
        assert np.array_equal(s.timestamps()["rgbd"], [f.timestamp_ns for f in originals])
        frames = list(s.frames())
        gt = s.ground_truth.poses
    assert len(frames) == n
    for a, b in zip(originals, frames, strict=True):
        assert a.timestamp_ns == b.timestamp_ns and a.depth_timestamp_ns == b.depth_timestamp_ns
        assert b.depth_m.dtype == np.float32 and np.array_equal(a.depth_m, b.depth_m)
        assert np.array_equal(a.color, b.color) and a.color_encoded == b.color_encoded
    assert gt.body == "camera" and np.array_equal(gt.timestamps_ns, gt_in.timestamps_ns)
    assert np.array_equal(gt.positions_m, gt_in.positions_m)  # written with repr: exact
    assert np.abs(gt.T_world_body - gt_in.T_world_body).max() < 1e-12  # via quaternion
    assert tree_digest(out) == digest_out and tree_digest(src) == digest_src


def test_round_trip_imu_png_and_depth_scale_fallback(tmp_path):
    frames = synthetic_frames(3)
    # frame 1 holds depth beyond 13.1 m, which uint16 cannot hold at 5000/m: the writer must fall
    # back to the session's 1000/m and re-encode frame 0 at that scale too
    raw = np.full((48, 64), 2000, np.uint16)
    raw[0, :8] = 20000
    frames[0] = replace(frames[0], depth_m=depth_to_metres(np.full_like(raw, 1999), 1000.0))
    frames[1] = replace(frames[1], depth_m=depth_to_metres(raw, 1000.0))
    frames[2] = replace(frames[2], depth_m=depth_to_metres(np.rint(frames[2].depth_m * 1000).astype(np.uint16), 1000.0))
    ts = T0 + np.arange(0, 100_000_000, 5_000_003, dtype=np.int64)
    rng = np.random.default_rng(1)
    imu = ImuSeries(ts, rng.normal(size=(len(ts), 3)) + np.array([0, 0, 9.81]), rng.normal(size=(len(ts), 3)))
    T_imu_camera = np.eye(4)
    T_imu_camera[:3, 3] = [0.01, -0.02, 0.03]
    T = np.tile(np.eye(4), (4, 1, 1))
    T[:, :3, 3] = np.arange(12).reshape(4, 3) * 0.1
    gt = Trajectory(T0 + np.arange(4) * 10_000_000, T, body="imu")
    calib = Calibration(color=K_SMALL, T_imu_camera=T_imu_camera, depth_scale=1000.0, time_offset_ns=-5)
    out = write_tum(Session(MemoryReader(frames, calib, imu, GroundTruth(poses=gt))), tmp_path / "seq")

    assert json.loads((out / "calibration.json").read_text())["depth_scale"] == 1000.0
    assert len(list((out / "rgb").glob("*.png"))) == 3
    with sensors.open(out, format="tum") as s:
        back = list(s.frames())
        imu_back = s.imu()
        kinds = [type(x).__name__ for x in s]
        assert s.calibration.time_offset_ns == 0  # timestamps were written on the camera clock
        assert np.allclose(s.calibration.T_imu_camera, T_imu_camera)
        gt_back = s.ground_truth.poses
    for a, b in zip(frames, back, strict=True):
        assert np.array_equal(a.depth_m, b.depth_m) and np.array_equal(a.color, b.color)
        assert b.timestamp_ns == a.timestamp_ns and b.depth_timestamp_ns == a.depth_timestamp_ns
    assert np.array_equal(imu_back.timestamps_ns, ts)
    assert np.array_equal(imu_back.accel_mps2, imu.accel_mps2) and np.array_equal(imu_back.gyro_radps, imu.gyro_radps)
    assert kinds.count("RGBDFrame") == 3 and kinds.count("ImuSample") == len(ts)
    assert np.allclose(gt_back.T_world_body, T @ T_imu_camera, atol=1e-12)  # imu poses → camera poses


def write_png(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def test_handmade_freiburg_folder(tmp_path):
    """A folder laid out like the real TUM download, with 6-decimal timestamps."""
    d = tmp_path / "rgbd_dataset_freiburg1_xyz"
    rgb_ts = ["1305031102.175304", "1305031102.211214", "1305031102.243211"]
    depth_ts = ["1305031102.160407", "1305031102.194330", "1305031102.226738", "1305031102.262886"]
    color = np.zeros((480, 640, 3), np.uint8)
    color[:, :, 2] = 200  # red, as cv2.imwrite takes BGR
    for t in rgb_ts:
        write_png(d / "rgb" / f"{t}.png", color)
    for t in depth_ts:
        write_png(d / "depth" / f"{t}.png", np.full((480, 640), 7500, np.uint16))  # 1.5 m
    (d / "rgb.txt").write_text(
        "# color images\n# file: 'rgbd_dataset_freiburg1_xyz.bag'\n# timestamp filename\n"
        + "".join(f"{t} rgb/{t}.png\n" for t in rgb_ts)
    )
    (d / "depth.txt").write_text("# depth maps\n" + "".join(f"{t}\tdepth/{t}.png\n" for t in depth_ts))
    (d / "groundtruth.txt").write_text(
        "# ground truth trajectory\n# timestamp tx ty tz qx qy qz qw\n"
        "1305031098.6659 1.3563 0.6305 1.6380 0.6132 0.5962 -0.3311 -0.3986\n"
        "1305031098.6758 1.3543 0.6306 1.6360 0.6129 0.5966 -0.3316 -0.3980\n"
    )
    (d / "accelerometer.txt").write_text(
        "# accelerometer data\n# timestamp ax ay az\n"
        "1305031102.170000 -0.0747 -9.4972 -2.5385\n1305031102.180000 -0.0823 -9.5050 -2.5271\n"
    )
    digest = tree_digest(d)

    with sensors.open(d, format="tum") as s:
        assert s.calibration.color == FREIBURG_INTRINSICS["freiburg1"]
        assert s.calibration.color.has_distortion and s.calibration.depth_scale == 5000.0
        assert s.timestamps()["color"][0] == T0
        assert s.timestamps()["depth"][3] == 1_305_031_102_262_886_000
        items = list(s)
        gt = s.ground_truth.poses
        imu = s.imu()
    frames = [x for x in items if isinstance(x, RGBDFrame)]
    # greedy one-to-one by smallest gap, as TUM's associate.py: colour 1 takes depth 2 (15.5 ms),
    # so colour 2 gets depth 3 (19.7 ms, under 20) and depth 1 stays unmatched
    assert [f.timestamp_ns for f in frames] == [parse_time_ns(t) for t in rgb_ts]
    assert [f.depth_timestamp_ns for f in frames] == [parse_time_ns(depth_ts[j]) for j in (0, 2, 3)]
    assert s.reader.association.unmatched_b == 1
    assert [x.timestamp_ns for x in items] == sorted(x.timestamp_ns for x in items)
    assert len(items) == 5 and items[0].timestamp_ns == 1_305_031_102_170_000_000  # IMU interleaved
    assert np.all(frames[0].depth_m == np.float32(1.5)) and frames[0].color[0, 0].tolist() == [200, 0, 0]
    assert gt.timestamps_ns.tolist() == [1_305_031_098_665_900_000, 1_305_031_098_675_800_000]
    R = gt.T_world_body[0][:3, :3]
    assert np.allclose(R @ R.T, np.eye(3)) and np.allclose(gt.positions_m[0], [1.3563, 0.6305, 1.6380])
    assert np.array_equal(imu.accel_mps2[0], [-0.0747, -9.4972, -2.5385])
    assert np.all(np.isnan(imu.gyro_radps))  # TUM has no gyroscope: NaN, never a fake zero rate
    assert tree_digest(d) == digest

    # an explicit intrinsics option wins over the folder name (dicts accepted)
    k = CameraIntrinsics(525.0, 525.0, 319.5, 239.5, 640, 480)
    with sensors.open(d, format="tum", intrinsics=k.to_dict()) as s:
        assert s.calibration.color == k


# -- writer refusals ---------------------------------------------------------------------------
def test_writer_refuses_unregistered_and_inexact_depth(tmp_path):
    out = tmp_path / "seq"
    calib = Calibration(color=K_SMALL, depth=K_SMALL.scaled(0.5))
    with pytest.raises(FormatError, match="registered"):
        write_tum(Session(MemoryReader(synthetic_frames(), calib)), out)
    frames = synthetic_frames(2)
    frames[1] = replace(frames[1], depth_m=frames[1].depth_m + np.float32(1e-5))
    with pytest.raises(FormatError, match=r"frame 1 depth cannot be stored exactly .* 5000 or 1000"):
        write_tum(Session(MemoryReader(frames, Calibration(color=K_SMALL))), out)
    assert list(tmp_path.iterdir()) == []  # atomic: nothing left behind, not even a temp folder


# -- bad inputs --------------------------------------------------------------------------------
def _drop_first_image(d):
    (d / entries(d, "rgb.txt")[0]).unlink()


def _truncate_depth(d):
    p = d / entries(d, "depth.txt")[1]
    p.write_bytes(p.read_bytes()[:200])


def _corrupt_color(d):
    p = d / entries(d, "rgb.txt")[1]
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def _depth_8bit(d):
    cv2.imwrite(str(d / entries(d, "depth.txt")[0]), np.full((48, 64), 100, np.uint8))


def _depth_small(d):
    cv2.imwrite(str(d / entries(d, "depth.txt")[2]), np.full((24, 32), 9000, np.uint16))


def _swap_rgb_lines(d):
    lines = (d / "rgb.txt").read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    (d / "rgb.txt").write_text("\n".join(lines) + "\n")


def _duplicate_depth_line(d):
    lines = (d / "depth.txt").read_text().splitlines()
    (d / "depth.txt").write_text("\n".join([*lines[:3], lines[2], *lines[3:]]) + "\n")


def _append(name, text):
    def f(d):
        with open(d / name, "a") as fh:
            fh.write(text)
    return f


def _empty_rgb(d):
    (d / "rgb.txt").write_text("# color images\n# timestamp filename\n")


def _depth_units(d):
    c = json.loads((d / "calibration.json").read_text())
    c["depth_scale"] = 5.0  # 1-3 m of 5000/m data read as 5/m: kilometres
    (d / "calibration.json").write_text(json.dumps(c))


def _shift_depth_by_1s(d):
    lines = [ln.split() for ln in (d / "depth.txt").read_text().splitlines() if not ln.startswith("#")]
    (d / "depth.txt").write_text("".join(f"{format_time(parse_time_ns(t) + 10**9)} {f}\n" for t, f in lines))


BAD = [
    # (mutation, error class, problem in the message, file named in the message)
    (_drop_first_image, FormatError, "listed in rgb.txt (entry 1) is missing", "rgb/1305031102.175304000.png"),
    (_truncate_depth, FormatError, "truncated", "depth/1305031102.209871900.png"),
    (_corrupt_color, FormatError, "colour image is corrupt", "rgb/1305031102.208637333.png"),
    (_depth_8bit, FormatError, "must be 16-bit", "depth/1305031102.176538567.png"),
    (_depth_small, FormatError, "depth image is 32x24 but the colour image is 64x48", "rgb/1305031102.241970666.png"),
    (_swap_rgb_lines, SyncError, "non-monotonic rgb timestamps", "rgb.txt"),
    (_duplicate_depth_line, SyncError, "duplicate depth timestamps", "depth.txt"),
    (_append("rgb.txt", "1305031103.0\n"), FormatError, "line 6: expected 2 fields", "rgb.txt"),
    (_append("depth.txt", "13050311o3.0 depth/x.png\n"), FormatError, "line 6: '13050311o3.0' is not a decimal", "depth.txt"),
    (_append("groundtruth.txt", "1.0 1 2 3 0 0 0\n"), FormatError, "line 1: expected 8 fields", "groundtruth.txt"),
    (_append("accelerometer.txt", "1.0 nan 0 9.8\n"), FormatError, "NaN", "accelerometer.txt"),
    (lambda d: (d / "calibration.json").unlink(), CalibrationError, "no camera intrinsics", "seq"),
    (_depth_units, CalibrationError, "median depth is", "depth/1305031102.176538567.png"),
    (_empty_rgb, EmptySessionError, "rgb.txt lists no images", "rgb.txt"),
    (lambda d: (d / "depth.txt").unlink(), FormatError, "depth.txt is missing", "depth.txt"),
    (_shift_depth_by_1s, SyncError, "no colour image has a depth image within 20 ms", "seq"),
]


@pytest.mark.parametrize(("mutate", "error", "problem", "file"), BAD, ids=[b[0].__name__ for b in BAD])
def test_bad_input(tum_dir, mutate, error, problem, file):
    mutate(tum_dir)
    with pytest.raises(error) as info:
        read_all(tum_dir)
    msg = str(info.value)
    assert problem in msg, msg
    assert str(info.value.path).endswith(file), msg
    assert file.split("/")[-1] in msg


def test_no_intrinsics_message_says_how_to_fix(tum_dir):
    (tum_dir / "calibration.json").unlink()
    with pytest.raises(CalibrationError, match=r"freiburg1/2/3.*intrinsics=CameraIntrinsics"):
        TumReader(tum_dir)
    assert TumReader(tum_dir, intrinsics=K_SMALL).calibration.color == K_SMALL


def test_detect(tum_dir, tmp_path):
    assert TumReader.detect(tum_dir)
    (tum_dir / "depth.txt").unlink()
    assert not TumReader.detect(tum_dir) and not TumReader.detect(tmp_path)
