"""MCAP recordings: the SDK's own format (round trips) and third-party ROS 2 MCAPs."""

import hashlib
import struct
import subprocess
import sys
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
from expect import assert_names
from mcap.reader import make_reader
from mcap.writer import Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

import sensors
from sensors import (
    Calibration,
    CalibrationError,
    CameraIntrinsics,
    FormatError,
    GroundTruth,
    ImuNoise,
    ImuSample,
    Reader,
    Record,
    RGBDFrame,
    SyncError,
    Trajectory,
    UnknownFormatError,
)
from sensors.formats import _ros
from sensors.formats._io import encode_color
from sensors.formats.mcap import McapReader, McapWriter, write_mcap

STORE = get_typestore(Stores.ROS2_HUMBLE)
T = STORE.types
NS = 1_000_000_000


# -- a small hand-made session ------------------------------------------------------------------
K_COLOR = CameraIntrinsics(60.0, 61.0, 15.5, 11.5, 32, 24, (0.1, -0.05, 0.001, 0.002, 0.01), "radtan")
K_DEPTH = CameraIntrinsics(40.0, 40.0, 7.5, 5.5, 16, 12)
T_IMU_CAM = np.array([[0.0, -1.0, 0.0, 0.01], [1.0, 0.0, 0.0, -0.02], [0.0, 0.0, 1.0, 0.005], [0.0, 0.0, 0.0, 1.0]])
T_COLOR_DEPTH = np.array([[1.0, 0, 0, 0.025], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])


class HandMadeReader(Reader):
    """A tiny in-memory capture: 6 frames (raw colour, depth in metres that are not whole
    millimetres, separate depth camera) at 10 Hz with 200 Hz IMU and IMU-body ground truth."""

    format_name = "handmade"

    def __init__(self, n=6, with_encoded=False):
        super().__init__("handmade")
        self.n, self.with_encoded = n, with_encoded
        self.calibration = Calibration(
            color=K_COLOR, depth=K_DEPTH, T_color_depth=T_COLOR_DEPTH, T_imu_camera=T_IMU_CAM,
            depth_scale=1000.0, time_offset_ns=1234, imu_noise=ImuNoise(),
        )
        ts = np.arange(n) * 100_000_000 + 7
        poses = np.repeat(np.eye(4)[None], n, axis=0)
        poses[:, 0, 3] = np.arange(n) * 0.1
        self.ground_truth = GroundTruth(poses=Trajectory(ts, poses, body="imu"))

    def frame(self, i):
        rng = np.random.default_rng(i)
        color = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        depth = rng.uniform(0.5, 3.0, (12, 16)).astype(np.float32)
        depth[0, :4] = 0.0
        t = i * 100_000_000 + 7
        enc = encode_color(color, "png") if self.with_encoded else None
        return RGBDFrame(t, color, depth, K_COLOR, K_DEPTH, depth_timestamp_ns=t + 1_000_000, index=i,
                         color_encoded=enc, color_encoding="png" if enc else None)

    def imu_samples(self):
        ts = np.arange(0, self.n * 100_000_000, 5_000_000) + 3
        return [ImuSample(int(t), np.array([0.1, 0.2, 9.81]) + t / 1e10, np.array([0.01, -0.02, t / 1e11])) for t in ts]

    def timestamps(self):
        return {"rgbd": np.arange(self.n) * 100_000_000 + 7, "imu": np.array([s.timestamp_ns for s in self.imu_samples()])}

    def records(self):
        recs = [Record(s.timestamp_ns, "imu", s) for s in self.imu_samples()]
        recs += [Record(i * 100_000_000 + 7, "rgbd", partial(self.frame, i)) for i in range(self.n)]
        yield from sorted(recs, key=lambda r: r.timestamp_ns)


def test_round_trip_7scenes(shared_data, tmp_path):
    src = shared_data / "7scenes"
    out = tmp_path / "kitchen.mcap"
    calls = []
    with sensors.open(src) as a:
        assert write_mcap(a, out, progress=calls.append) == out
        frames_a = list(a.frames())
        cal_a, gt_a = a.calibration, a.ground_truth.poses
    assert calls == [1] * 300
    assert McapReader.detect(out) and not McapReader.detect(src)
    with sensors.open(out) as b:
        assert b.format == "mcap" and b.num_frames == 300
        assert b.calibration.to_dict() == cal_a.to_dict()
        gt_b = b.ground_truth.poses
        assert gt_b.body == gt_a.body == "camera"
        assert np.array_equal(gt_b.timestamps_ns, gt_a.timestamps_ns)
        np.testing.assert_allclose(gt_b.T_world_body, gt_a.T_world_body, rtol=0, atol=1e-12)  # via quaternions
        np.testing.assert_array_equal(b.timestamps()["rgbd"], [f.timestamp_ns for f in frames_a])
        n = 0
        for fa, fb in zip(frames_a, b.frames(), strict=True):
            assert (fb.timestamp_ns, fb.depth_timestamp_ns, fb.index) == (fa.timestamp_ns, fa.depth_timestamp_ns, fa.index)
            assert fb.depth_m.dtype == np.float32 and np.array_equal(fb.depth_m, fa.depth_m)
            assert fb.color_encoding == "jpeg" and fb.color_encoded == fa.color_encoded
            assert np.array_equal(fb.color, fa.color)
            assert fb.intrinsics == fa.intrinsics and fb.depth_intrinsics is None
            n += 1
        assert n == 300


def test_recording_is_plain_ros2(tmp_path):
    """What a third-party tool sees: ros2msg schemas, CDR messages, header stamps == log times."""
    out = write_mcap(sensors.Session(HandMadeReader(n=2)), tmp_path / "r.mcap")
    with open(out, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert reader.get_header().profile == "ros2"
        meta = {m.name: m.metadata for m in reader.iter_metadata()}
        store = get_typestore(Stores.EMPTY)
        for s in summary.schemas.values():
            assert s.encoding == "ros2msg"
            store.register(get_types_from_msg(s.data.decode(), s.name))
        seen = {}
        for schema, channel, message in reader.iter_messages():
            assert channel.message_encoding == "cdr"
            msg = store.deserialize_cdr(message.data, schema.name)
            seen[channel.topic] = schema.name
            if hasattr(msg, "header") and channel.topic != "/ground_truth/pose":
                assert _ros.stamp_ns(msg.header) == message.log_time == message.publish_time
        assert all(ci.compression == "zstd" for ci in summary.chunk_indexes)
    assert seen == {
        "/tf_static": "tf2_msgs/msg/TFMessage", "/imu": "sensor_msgs/msg/Imu",
        "/camera/color/image_raw": "sensor_msgs/msg/Image", "/camera/color/camera_info": "sensor_msgs/msg/CameraInfo",
        "/camera/depth/image_raw": "sensor_msgs/msg/Image", "/camera/depth/camera_info": "sensor_msgs/msg/CameraInfo",
        "/ground_truth/pose": "geometry_msgs/msg/PoseStamped",
    }
    assert meta["spatial.session"]["source_format"] == "handmade"
    assert meta["spatial.session"]["ground_truth_body"] == "imu"


@pytest.mark.parametrize("with_encoded", [False, True])
def test_round_trip_imu_and_separate_depth(tmp_path, with_encoded):
    src = HandMadeReader(with_encoded=with_encoded)
    out = write_mcap(sensors.Session(src), tmp_path / "hand.mcap")
    with McapReader(out) as r:
        assert r.calibration.to_dict() == src.calibration.to_dict()
        assert r.calibration.imu_noise == ImuNoise()
        assert r.ground_truth.poses.body == "imu"
        np.testing.assert_allclose(r.ground_truth.poses.T_world_body, src.ground_truth.poses.T_world_body, atol=1e-12)
        ts = r.timestamps()
        np.testing.assert_array_equal(ts["imu"], src.timestamps()["imu"])
        np.testing.assert_array_equal(ts["depth"], src.timestamps()["rgbd"] + 1_000_000)
        recs = list(r.records())
        assert [x.timestamp_ns for x in recs] == sorted(x.timestamp_ns for x in recs)
        items = [x.load() if callable(x.load) else x.load for x in recs]
        imu = r.imu()
    samples = [x for x in items if isinstance(x, ImuSample)]
    assert samples == src.imu_samples()  # exact float64 values and ns timestamps
    assert np.array_equal(imu.accel_mps2, np.stack([s.accel_mps2 for s in samples]))
    frames = [x for x in items if isinstance(x, RGBDFrame)]
    assert len(frames) == 6
    for f in frames:
        g = src.frame(f.index)
        assert (f.timestamp_ns, f.depth_timestamp_ns) == (g.timestamp_ns, g.depth_timestamp_ns)
        assert np.array_equal(f.color, g.color) and np.array_equal(f.depth_m, g.depth_m)  # 32FC1 path
        assert f.intrinsics == K_COLOR and f.depth_intrinsics == K_DEPTH
        assert f.color_encoded == g.color_encoded


def test_metadata_less_fallback_reads_our_recording(tmp_path, monkeypatch):
    """Without usable message indexes the reader scans the messages; same result."""
    src = HandMadeReader(n=3)
    out = write_mcap(sensors.Session(src), tmp_path / "hand.mcap")
    monkeypatch.setattr(McapReader, "_index_stamps", lambda *a: None)
    with McapReader(out) as r:
        assert r.calibration.to_dict() == src.calibration.to_dict()
        assert [f.timestamp_ns for f in sensors.Session(r).frames()] == list(src.timestamps()["rgbd"][:3])
        assert len(r.imu()) == 60


def test_atomic_write(tmp_path):
    out = tmp_path / "rec.mcap"
    out.write_bytes(b"previous recording")
    src = HandMadeReader(n=3)
    with pytest.raises(RuntimeError, match="boom"), McapWriter(out, src.calibration) as w:
        w.write(src.frame(0))
        w.write(src.frame(1))
        raise RuntimeError("boom")
    assert out.read_bytes() == b"previous recording"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.mcap"]  # no temporary file left
    out2 = tmp_path / "new.mcap"
    with pytest.raises(SyncError, match="time order") as err, McapWriter(out2, src.calibration) as w:
        w.write(src.frame(2))
        w.write(src.frame(1))
    assert str(out2) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.mcap"]


KILL_SCRIPT = """
import time
import numpy as np
from sensors import Calibration, ImuSample
from sensors.formats.mcap import McapWriter
with McapWriter({out!r}, Calibration()) as w:
    i = 0
    while True:
        w.write(ImuSample(i * 1000 + 1, np.array([0.0, 0.0, 9.8]), np.zeros(3)))
        i += 1
        if i == 10:
            print("writing", flush=True)
        time.sleep(0.001)
"""


def test_killed_writer_leaves_no_file(tmp_path):
    out = tmp_path / "killed.mcap"
    script = KILL_SCRIPT.format(out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
    try:
        assert proc.stdout.readline() == b"writing\n"
    finally:
        proc.kill()
        proc.wait()
    assert not out.exists()
    assert all(p.name.startswith(".killed.mcap.tmp-") for p in tmp_path.iterdir())  # only the documented leftover


# -- third-party MCAPs ---------------------------------------------------------------------------
def hdr(t, frame):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=t // NS, nanosec=t % NS), frame_id=frame)


def camera_info(t, frame, K, model="plumb_bob", d=(0.0,) * 5):
    roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return T["sensor_msgs/msg/CameraInfo"](
        header=hdr(t, frame), height=K.height, width=K.width, distortion_model=model, d=np.array(d, float),
        k=K.K.ravel(), r=np.eye(3).ravel(), p=np.c_[K.K, np.zeros(3)].ravel(), binning_x=0, binning_y=0, roi=roi,
    )


def image(t, frame, arr, encoding, step_pad=0):
    h, w = arr.shape[:2]
    rows = arr.reshape(h, -1).view(np.uint8)
    rows = np.hstack([rows, np.zeros((h, step_pad), np.uint8)])
    return T["sensor_msgs/msg/Image"](header=hdr(t, frame), height=h, width=w, encoding=encoding, is_bigendian=0,
                                      step=rows.shape[1], data=rows.ravel())


def vec(x, y, z):
    return T["geometry_msgs/msg/Vector3"](x=x, y=y, z=z)


def imu(t, a, g):
    q = T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)
    return T["sensor_msgs/msg/Imu"](header=hdr(t, "imu0"), orientation=q, orientation_covariance=np.zeros(9),
                                    angular_velocity=vec(*g), angular_velocity_covariance=np.zeros(9),
                                    linear_acceleration=vec(*a), linear_acceleration_covariance=np.zeros(9))


def tf_static(parent, child, xyz, quat):
    tr = T["geometry_msgs/msg/Transform"](translation=vec(*xyz), rotation=T["geometry_msgs/msg/Quaternion"](
        x=quat[0], y=quat[1], z=quat[2], w=quat[3]))
    ts = T["geometry_msgs/msg/TransformStamped"](header=hdr(0, parent), child_frame_id=child, transform=tr)
    return T["tf2_msgs/msg/TFMessage"](transforms=[ts])


K3 = CameraIntrinsics(30.0, 31.0, 9.5, 7.5, 20, 15)


def write_third_party(path, messages):
    """messages: [(topic, msgtype, log_time, msg)] written like `ros2 bag record` would (log time
    = receive time, schemas from the message definitions)."""
    with open(path, "wb") as f:
        w = Writer(f)
        w.start(profile="ros2", library="test")
        schemas, channels = {}, {}
        for topic, msgtype, log_time, msg in messages:
            if msgtype not in schemas:
                schemas[msgtype] = w.register_schema(msgtype, "ros2msg", STORE.generate_msgdef(msgtype, ros_version=2)[0].encode())
            if topic not in channels:
                channels[topic] = w.register_channel(topic, "cdr", schemas[msgtype])
            data = bytes(STORE.serialize_cdr(msg, msgtype)) if msgtype else msg
            w.add_message(channels[topic], log_time=log_time, data=data, publish_time=log_time)
        w.finish()
    return path


def bgr_of(i):
    return np.random.default_rng(i).integers(0, 256, (15, 20, 3), dtype=np.uint8)


def depth_of(i):
    return np.random.default_rng(100 + i).integers(500, 4000, (15, 20)).astype(np.uint16)


def third_party_messages(n=5, depth_encoding="16UC1", color_stamps=None):
    t0 = 1_700_000_000 * NS
    color_stamps = color_stamps or [t0 + i * 33_000_000 for i in range(n)]
    msgs = [("/tf_static", "tf2_msgs/msg/TFMessage", t0, tf_static("imu0", "cam_rgb_optical", (0.1, 0.0, 0.0), (0, 0, 0, 1)))]
    msgs.append(("/rosout_like", "std_msgs/msg/String", t0, T["std_msgs/msg/String"](data="hello")))
    for i, tc in enumerate(color_stamps):
        td = t0 + i * 33_000_000 + 3_000_000  # depth 3 ms after colour
        received = t0 + i * 33_000_000 + 10_000_000
        msgs.append(("/cam/rgb/image_bgr", "sensor_msgs/msg/Image", received, image(tc, "cam_rgb_optical", bgr_of(i), "bgr8", step_pad=4)))
        msgs.append(("/cam/rgb/info", "sensor_msgs/msg/CameraInfo", received,
                     camera_info(tc, "cam_rgb_optical", K3, d=(0.1, 0.01, 0.0, 0.0, 0.0))))
        msgs.append(("/cam/aligned_depth/image", "sensor_msgs/msg/Image", td + 12_000_000, image(td, "cam_rgb_optical", depth_of(i), depth_encoding)))
        msgs.append(("/cam/aligned_depth/info", "sensor_msgs/msg/CameraInfo", td + 12_000_000,
                     camera_info(td, "cam_rgb_optical", K3, d=(0.1, 0.01, 0.0, 0.0, 0.0))))
    for j in range(n * 10):
        t = t0 - 5_000_000 + j * 4_000_000
        msgs.append(("/sensors/imu0", "sensor_msgs/msg/Imu", t + 1_000_000, imu(t, (0.0, j * 0.01, 9.8), (j * 0.001, 0.0, 0.0))))
    return sorted(msgs, key=lambda m: m[2])


def test_third_party_mcap(tmp_path):
    path = write_third_party(tmp_path / "foxglove.mcap", third_party_messages())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with sensors.open(path) as s:
        assert s.format == "mcap" and s.num_frames == 5
        r = s.reader
        assert (r.topics.color, r.topics.depth, r.topics.imu) == ("/cam/rgb/image_bgr", "/cam/aligned_depth/image", ("/sensors/imu0",))
        cal = s.calibration
        assert cal.color.K.tolist() == K3.K.tolist() and cal.color.distortion_model == "radtan"
        assert cal.color.distortion == (0.1, 0.01, 0.0, 0.0, 0.0)
        assert cal.depth is None and cal.depth_scale == 1000.0  # same intrinsics: registered
        np.testing.assert_allclose(cal.T_imu_camera[:3, 3], [0.1, 0.0, 0.0])
        t0 = 1_700_000_000 * NS
        np.testing.assert_array_equal(s.timestamps()["rgbd"], [t0 + i * 33_000_000 for i in range(5)])  # header stamps
        assert np.all(r.association.gaps_ns == 3_000_000)
        items = list(s)
        assert [i.timestamp_ns for i in items] == sorted(i.timestamp_ns for i in items)
        frames = [i for i in items if isinstance(i, RGBDFrame)]
        for k, f in enumerate(frames):
            assert np.array_equal(f.color, bgr_of(k)[..., ::-1])
            assert np.array_equal(f.depth_m, depth_of(k).astype(np.float32) / np.float32(1000))
            assert f.depth_timestamp_ns == t0 + k * 33_000_000 + 3_000_000
        imu = s.imu()
        assert len(imu) == 50 and imu.timestamps_ns[0] == t0 - 5_000_000
        assert np.allclose(imu.accel_mps2[:, 1], np.arange(50) * 0.01)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_time_order_despite_late_depth(tmp_path):
    """Depth received half a second after colour (15 frames of skew): records still come out in
    timestamp order, complete, and identical with or without read-ahead."""
    msgs = [(t, ty, lt + (500_000_000 if "depth" in t else 0), m) for t, ty, lt, m in third_party_messages(n=20)]
    path = write_third_party(tmp_path / "skew.mcap", sorted(msgs, key=lambda m: m[2]))
    with sensors.open(path) as s:
        items = list(s)
        again = list(s.replay(readahead=0))
    assert [i.timestamp_ns for i in items] == sorted(i.timestamp_ns for i in items)
    assert sum(isinstance(i, RGBDFrame) for i in items) == 20 and sum(isinstance(i, ImuSample) for i in items) == 200
    assert [(type(a), a.timestamp_ns) for a in items] == [(type(b), b.timestamp_ns) for b in again]


def test_third_party_32fc1_compressed_and_overrides(tmp_path):
    t0 = 5 * NS
    msgs = []
    for i in range(3):
        t = t0 + i * NS // 10
        rgb = np.full((15, 20, 3), (10 * i, 20, 30), np.uint8)
        d = np.full((15, 20), 1.25 + i, np.float32)
        d[0, 0] = np.nan
        msgs += [
            ("/a/color/compressed", "sensor_msgs/msg/CompressedImage", t,
             T["sensor_msgs/msg/CompressedImage"](header=hdr(t, "c"), format="png", data=np.frombuffer(encode_color(rgb), np.uint8))),
            ("/a/ir/image", "sensor_msgs/msg/Image", t, image(t, "c", np.full((15, 20), 7, np.uint8), "mono8")),
            ("/a/color/camera_info", "sensor_msgs/msg/CameraInfo", t, camera_info(t, "c", K3)),
            ("/a/depth/image", "sensor_msgs/msg/Image", t, image(t, "c", d, "32FC1")),
        ]
    path = write_third_party(tmp_path / "x.mcap", msgs)
    with McapReader(path) as r:
        assert r.topics.color == "/a/color/compressed"
        assert r.calibration.depth_scale == 1.0 and r.calibration.color.distortion_model == "none"
        f = next(sensors.Session(r).frames())
        assert f.color_encoding == "png" and f.color[0, 0].tolist() == [0, 20, 30]
        assert f.depth_m[0, 0] == 0.0 and f.depth_m[1, 1] == np.float32(1.25)
    with McapReader(path, color_topic="/a/ir/image") as r:
        f = next(sensors.Session(r).frames())
        assert f.color.shape == (15, 20, 3) and np.all(f.color == 7) and f.color_encoded is None
    with pytest.raises(FormatError, match="IMU topic '/imu': it is not in the recording") as err:
        McapReader(path, imu_topic="/imu")
    assert str(path) in str(err.value) and "/a/depth/image" in str(err.value)


# -- bad inputs ----------------------------------------------------------------------------------
def test_truncated_mcap(tmp_path):
    good = write_third_party(tmp_path / "good.mcap", third_party_messages())
    bad = tmp_path / "cut.mcap"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormatError) as err:
        McapReader(bad)
    assert_names(err, bad, "truncated")


def test_random_bytes_named_mcap(tmp_path):
    bad = tmp_path / "noise.mcap"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    assert not McapReader.detect(bad)
    with pytest.raises(FormatError) as err:
        McapReader(bad)
    assert_names(err, bad, "not an MCAP file")
    with pytest.raises(UnknownFormatError) as err:
        sensors.open(bad)
    assert_names(err, bad, "not a recognised capture")


def test_corrupt_chunk(tmp_path):
    good = write_third_party(tmp_path / "good.mcap", third_party_messages())
    data = bytearray(good.read_bytes())
    mid = len(data) // 3
    data[mid : mid + 64] = bytes(64)  # zero a stretch inside the compressed data section
    bad = tmp_path / "damaged.mcap"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError) as err:
        list(sensors.Session(McapReader(bad)))
    assert_names(err, bad)


def test_imu_only_recording_opens(tmp_path):
    msgs = [m for m in third_party_messages() if m[1] in ("sensor_msgs/msg/Imu", "tf2_msgs/msg/TFMessage")]
    path = write_third_party(tmp_path / "imu_only.mcap", msgs)
    with sensors.open(path) as s:
        assert s.num_frames == 0 and len(s.imu()) == 50
        assert len(list(s)) == 50 and s.calibration.color is None


def test_no_image_or_imu_topics(tmp_path):
    msgs = [m for m in third_party_messages() if m[1] in ("sensor_msgs/msg/CameraInfo", "std_msgs/msg/String")]
    bad = write_third_party(tmp_path / "info_only.mcap", msgs)
    with pytest.raises(FormatError) as err:
        McapReader(bad)
    assert_names(err, bad, "no image or IMU topics", "/cam/rgb/info (sensor_msgs/msg/CameraInfo)")


def test_no_camera_info(tmp_path):
    msgs = [m for m in third_party_messages() if m[1] != "sensor_msgs/msg/CameraInfo"]
    bad = write_third_party(tmp_path / "no_info.mcap", msgs)
    with pytest.raises(CalibrationError) as err:
        McapReader(bad)
    assert_names(err, bad, "no sensor_msgs/CameraInfo", "/cam/rgb/image_bgr", "/cam/aligned_depth/image",
                 "camera info topics found: none")


def test_non_monotonic_header_stamps(tmp_path):
    t0 = 1_700_000_000 * NS
    stamps = [t0, t0 + 33_000_000, t0 + 20_000_000, t0 + 99_000_000, t0 + 132_000_000]
    bad = write_third_party(tmp_path / "jumpy.mcap", third_party_messages(color_stamps=stamps))
    with pytest.raises(SyncError) as err:
        McapReader(bad)
    assert_names(err, bad, "non-monotonic", "/cam/rgb/image_bgr")


def test_corrupt_compressed_image(tmp_path):
    msgs = []
    for i in range(2):
        t = NS + i * NS // 10
        jpeg = b"\xff\xd8\xff\xe0" + bytes(200) + b"\xff\xd9"  # JPEG markers around garbage
        msgs += [
            ("/c/color/image/compressed", "sensor_msgs/msg/CompressedImage", t,
             T["sensor_msgs/msg/CompressedImage"](header=hdr(t, "c"), format="jpeg", data=np.frombuffer(jpeg, np.uint8))),
            ("/c/color/camera_info", "sensor_msgs/msg/CameraInfo", t, camera_info(t, "c", K3)),
        ]
    bad = write_third_party(tmp_path / "bad_jpeg.mcap", msgs)
    with McapReader(bad) as r, pytest.raises(FormatError) as err:
        next(sensors.Session(r).frames())
    assert_names(err, bad, "corrupt", "/c/color/image/compressed")


def test_unsupported_encoding(tmp_path):
    msgs = [m for m in third_party_messages() if "depth" not in m[0]]
    msgs = [(t, ty, lt, image(lt, "c", np.zeros((4, 4, 2), np.uint8), "yuv422") if "image_bgr" in t else m)
            for t, ty, lt, m in msgs]
    bad = write_third_party(tmp_path / "yuv.mcap", msgs)
    with pytest.raises(FormatError) as err:
        McapReader(bad)
    assert_names(err, bad, "'yuv422'", "/cam/rgb/image_bgr")


def test_compressed_depth(tmp_path):
    """compressed_depth_image_transport payloads: 12-byte header, then PNG (16UC1 millimetres, or
    32FC1 as quantised inverse depth)."""
    mm = np.full((15, 20), 1500, np.uint16)
    mm[0, 0] = 0
    qa, qb = 100.0 * 101.0, 1.0 - 100.0 * 101.0 / 10.0  # the transport's defaults (quantisation 100, max 10 m)
    inv = np.where(mm > 0, np.round(qa / (np.maximum(mm, 1) / 1000.0) + qb), 0).astype(np.uint16)
    payloads = {
        "16UC1; compressedDepth png": struct.pack("<iff", 0, 0.0, 0.0) + cv2.imencode(".png", mm)[1].tobytes(),
        "32FC1; compressedDepth png": struct.pack("<iff", 0, qa, qb) + cv2.imencode(".png", inv)[1].tobytes(),
    }
    for k, (fmt, data) in enumerate(payloads.items()):
        msgs = [
            ("/d/depth/compressedDepth", "sensor_msgs/msg/CompressedImage", NS,
             T["sensor_msgs/msg/CompressedImage"](header=hdr(NS, "d"), format=fmt, data=np.frombuffer(data, np.uint8))),
            ("/d/depth/camera_info", "sensor_msgs/msg/CameraInfo", NS, camera_info(NS, "d", K3)),
        ]
        with McapReader(write_third_party(tmp_path / f"cd{k}.mcap", msgs)) as r:
            f = next(sensors.Session(r).frames())
        assert f.color is None and f.depth_m[0, 0] == 0.0
        np.testing.assert_allclose(f.depth_m[1:, 1:], 1.5, atol=2e-4 if k else 0)
