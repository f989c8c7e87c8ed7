"""ROS 1 bags (RealSense layout) and ROS 2 bag folders, written with rosbags' own writers."""

import hashlib

import numpy as np
import pytest
from expect import assert_names
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation

import sensors
from sensors import CameraIntrinsics, EmptySessionError, FormatError, ImuSample, RGBDFrame, SyncError
from sensors.formats.rosbag import RosbagReader

NS = 1_000_000_000
ROS1 = get_typestore(Stores.ROS1_NOETIC)
ROS2 = get_typestore(Stores.ROS2_HUMBLE)
KC = CameraIntrinsics(61.5, 61.0, 15.25, 11.75, 32, 24)
KD = CameraIntrinsics(40.0, 40.0, 10.0, 7.5, 20, 15)
T0 = 1_650_000_000 * NS  # RealSense header stamps: device "global time"


def header(store, t, frame=""):
    time = store.types["builtin_interfaces/msg/Time"](sec=t // NS, nanosec=t % NS)
    if "seq" in store.types["std_msgs/msg/Header"].__dataclass_fields__:
        return store.types["std_msgs/msg/Header"](seq=0, stamp=time, frame_id=frame)
    return store.types["std_msgs/msg/Header"](stamp=time, frame_id=frame)


def image(store, t, arr, encoding, frame=""):
    h, w = arr.shape[:2]
    data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
    return store.types["sensor_msgs/msg/Image"](header=header(store, t, frame), height=h, width=w, encoding=encoding,
                                                is_bigendian=0, step=data.size // h, data=data)


def camera_info(store, K, model, d=(0.0,) * 5, frame=""):
    names = store.types["sensor_msgs/msg/CameraInfo"].__dataclass_fields__
    upper = "K" in names
    P = np.c_[K.K, np.zeros(3)].ravel()
    fields = {"D": np.array(d, float), "K": K.K.ravel(), "R": np.eye(3).ravel(), "P": P}
    fields = {k if upper else k.lower(): v for k, v in fields.items()}
    roi = store.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return store.types["sensor_msgs/msg/CameraInfo"](header=header(store, 0, frame), height=K.height, width=K.width,
                                                     distortion_model=model, binning_x=0, binning_y=0, roi=roi, **fields)


def vec(store, v):
    return store.types["geometry_msgs/msg/Vector3"](x=float(v[0]), y=float(v[1]), z=float(v[2]))


def quat(store, q):
    return store.types["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3])


def imu(store, t, accel=(0.0, 0.0, 0.0), gyro=(0.0, 0.0, 0.0), frame=""):
    z = np.zeros(9)
    return store.types["sensor_msgs/msg/Imu"](
        header=header(store, t, frame), orientation=quat(store, (0.0, 0.0, 0.0, 1.0)), orientation_covariance=z,
        angular_velocity=vec(store, gyro), angular_velocity_covariance=z,
        linear_acceleration=vec(store, accel), linear_acceleration_covariance=z,
    )


def color_of(i):
    return np.random.default_rng(i).integers(0, 256, (24, 32, 3), dtype=np.uint8)


def depth_of(i):
    return np.random.default_rng(50 + i).integers(5000, 30000, (15, 20)).astype(np.uint16)


R_ACCEL = Rotation.from_euler("z", 90, degrees=True)


def write_realsense_bag(path, depth_units=0.0001, n=4):
    """A ROS 1 bag in librealsense's recorder layout: static info at time 0, frames with device
    stamps in the header and recording-relative bag times, accel (100 Hz) and gyro (200 Hz)
    published separately."""
    D0, C0, A0, G0 = ("/device_0/sensor_0/Depth_0", "/device_0/sensor_1/Color_0",
                      "/device_0/sensor_2/Accel_0", "/device_0/sensor_2/Gyro_0")
    msgs = [
        ("/file_version", "std_msgs/msg/UInt32", 0, ROS1.types["std_msgs/msg/UInt32"](data=3)),
        (f"{C0}/info/camera_info", "sensor_msgs/msg/CameraInfo", 0, camera_info(ROS1, KC, "Inverse Brown Conrady")),
        (f"{D0}/info/camera_info", "sensor_msgs/msg/CameraInfo", 0, camera_info(ROS1, KD, "Brown Conrady")),
        (f"{D0}/tf/0", "geometry_msgs/msg/Transform", 0,
         ROS1.types["geometry_msgs/msg/Transform"](translation=vec(ROS1, (0, 0, 0)), rotation=quat(ROS1, (0.0, 0.0, 0.0, 1.0)))),
        (f"{C0}/tf/0", "geometry_msgs/msg/Transform", 0,
         ROS1.types["geometry_msgs/msg/Transform"](translation=vec(ROS1, (0.015, 0, 0)), rotation=quat(ROS1, (0.0, 0.0, 0.0, 1.0)))),
        (f"{A0}/tf/0", "geometry_msgs/msg/Transform", 0,
         ROS1.types["geometry_msgs/msg/Transform"](translation=vec(ROS1, (-0.005, 0.005, 0.01)), rotation=quat(ROS1, R_ACCEL.as_quat()))),
    ]
    if depth_units is not None:
        msgs.append(("/device_0/sensor_0/option/Depth_Units/value", "std_msgs/msg/Float32", 0,
                     ROS1.types["std_msgs/msg/Float32"](data=depth_units)))
    for i in range(n):
        t = T0 + i * 33_333_333
        msgs.append((f"{C0}/image/data", "sensor_msgs/msg/Image", 1000 + i * 33_400_000, image(ROS1, t + 2_000_000, color_of(i), "rgb8")))
        msgs.append((f"{D0}/image/data", "sensor_msgs/msg/Image", 1000 + i * 33_400_000, image(ROS1, t, depth_of(i), "mono16")))
    for j in range(n * 4):  # accel at 100 Hz
        t = T0 - 10_000_000 + j * 10_000_000
        msgs.append((f"{A0}/imu/data", "sensor_msgs/msg/Imu", 500 + j * 10_000_000, imu(ROS1, t, accel=(0.0, -9.8, j * 0.1))))
    for j in range(n * 8 + 2):  # gyro at 200 Hz, a linear ramp so interpolation is exact
        t = T0 - 12_000_000 + j * 5_000_000
        msgs.append((f"{G0}/imu/data", "sensor_msgs/msg/Imu", 700 + j * 5_000_000, imu(ROS1, t, gyro=((t - T0) / 1e9, 0.5, 0.0))))
    with Writer1(path) as w:
        conns = {}
        for topic, msgtype, bag_t, msg in sorted(msgs, key=lambda m: m[2]):
            if topic not in conns:
                conns[topic] = w.add_connection(topic, msgtype, typestore=ROS1)
            w.write(conns[topic], bag_t, ROS1.serialize_ros1(msg, msgtype))
    return path


def test_realsense_ros1_bag(tmp_path):
    path = write_realsense_bag(tmp_path / "d435i.bag")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert RosbagReader.detect(path)
    with sensors.open(path) as s:
        assert s.format == "rosbag" and s.num_frames == 4
        r = s.reader
        assert r.topics.imu == ("/device_0/sensor_2/Accel_0/imu/data", "/device_0/sensor_2/Gyro_0/imu/data")
        cal = s.calibration
        assert cal.color == KC and cal.depth == KD  # zero coefficients: no distortion
        assert cal.depth_scale == pytest.approx(10000.0)
        np.testing.assert_allclose(cal.T_color_depth[:3, 3], [0.015, 0, 0], atol=1e-12)
        expected_ic = np.eye(4)
        expected_ic[:3, :3] = R_ACCEL.as_matrix()
        expected_ic[:3, 3] = [-0.005, 0.005, 0.01]
        expected_ic = expected_ic @ np.linalg.inv(cal.T_color_depth)  # T_accel_ref @ T_ref_color
        np.testing.assert_allclose(cal.T_imu_camera, expected_ic, atol=1e-12)
        np.testing.assert_array_equal(s.timestamps()["rgbd"], [T0 + i * 33_333_333 + 2_000_000 for i in range(4)])
        items = list(s)
        assert [i.timestamp_ns for i in items] == sorted(i.timestamp_ns for i in items)
        frames = [i for i in items if isinstance(i, RGBDFrame)]
        for k, f in enumerate(frames):
            assert np.array_equal(f.color, color_of(k))
            np.testing.assert_array_equal(f.depth_m, depth_of(k).astype(np.float32) / np.float32(10000.0))
            assert f.depth_intrinsics == KD and f.depth_timestamp_ns == T0 + k * 33_333_333
        imu = s.imu()
    # accel samples inside the gyro span, each with the gyro interpolated at its time
    samples = [i for i in items if isinstance(i, ImuSample)]
    assert len(imu) == len(samples) == 16
    assert imu.timestamps_ns[0] == T0 - 10_000_000
    np.testing.assert_allclose(imu.accel_mps2[:, 2], np.arange(16) * 0.1)
    np.testing.assert_allclose(imu.gyro_radps[:, 0], (imu.timestamps_ns - T0) / 1e9, atol=1e-12)
    np.testing.assert_allclose(imu.gyro_radps[:, 1], 0.5)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # never written to


def test_realsense_default_depth_units(tmp_path):
    path = write_realsense_bag(tmp_path / "old.bag", depth_units=None, n=2)
    with RosbagReader(path) as r:
        assert r.calibration.depth_scale == 1000.0
        f = next(sensors.Session(r).frames())
        np.testing.assert_array_equal(f.depth_m, depth_of(0).astype(np.float32) / np.float32(1000.0))


def write_ros2_bag(path, n=4, stamps=None):
    t0 = 42 * NS
    stamps = stamps or [t0 + i * 50_000_000 for i in range(n)]
    with Writer2(path, version=8) as w:
        conns = {
            "/camera/color/image_raw": w.add_connection("/camera/color/image_raw", "sensor_msgs/msg/Image", typestore=ROS2),
            "/camera/depth/image_rect_raw": w.add_connection("/camera/depth/image_rect_raw", "sensor_msgs/msg/Image", typestore=ROS2),
            "/camera/color/camera_info": w.add_connection("/camera/color/camera_info", "sensor_msgs/msg/CameraInfo", typestore=ROS2),
            "/imu/data": w.add_connection("/imu/data", "sensor_msgs/msg/Imu", typestore=ROS2),
        }
        for i, t in enumerate(stamps):
            recv = t0 + i * 50_000_000 + 5_000_000
            w.write(conns["/camera/color/camera_info"], recv, ROS2.serialize_cdr(camera_info(ROS2, KC, "plumb_bob"), "sensor_msgs/msg/CameraInfo"))
            w.write(conns["/camera/color/image_raw"], recv, ROS2.serialize_cdr(image(ROS2, t, color_of(i)[..., ::-1], "bgr8"), "sensor_msgs/msg/Image"))
            depth = image(ROS2, t0 + i * 50_000_000, np.resize(depth_of(i), (24, 32)), "16UC1")
            w.write(conns["/camera/depth/image_rect_raw"], recv + 1, ROS2.serialize_cdr(depth, "sensor_msgs/msg/Image"))
            for j in range(5):
                ti = t0 + i * 50_000_000 + j * 10_000_000
                w.write(conns["/imu/data"], ti + 1000, ROS2.serialize_cdr(imu(ROS2, ti, (0.0, 0.0, 9.81), (0.0, 0.0, 0.1)), "sensor_msgs/msg/Imu"))
    return path


def test_ros2_bag_folder(tmp_path):
    path = write_ros2_bag(tmp_path / "bag2")
    assert path.is_dir() and RosbagReader.detect(path)
    with sensors.open(path) as s:
        assert s.format == "rosbag" and s.num_frames == 4
        assert s.calibration.color == KC and s.calibration.depth is None
        frames = list(s.frames())
        assert np.array_equal(frames[2].color, color_of(2))
        np.testing.assert_array_equal(frames[2].depth_m, np.resize(depth_of(2), (24, 32)).astype(np.float32) / np.float32(1000))
        assert frames[1].timestamp_ns == 42 * NS + 50_000_000
        assert len(s.imu()) == 20 and s.imu().timestamps_ns[-1] == 42 * NS + 190_000_000


# -- bad inputs ----------------------------------------------------------------------------------


def test_not_a_bag(tmp_path):
    bad = tmp_path / "noise.bag"
    bad.write_bytes(np.random.default_rng(1).bytes(2000))
    assert not RosbagReader.detect(bad)
    with pytest.raises(FormatError) as err:
        RosbagReader(bad)
    assert_names(err, bad, "cannot read bag")
    with pytest.raises(FormatError) as err:
        RosbagReader(tmp_path / "missing.bag")
    assert_names(err, tmp_path / "missing.bag", "no such file")


def test_truncated_bag(tmp_path):
    good = write_realsense_bag(tmp_path / "good.bag")
    bad = tmp_path / "cut.bag"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormatError) as err:
        RosbagReader(bad)
    assert_names(err, bad)


def test_bag_without_images_or_imu(tmp_path):
    path = tmp_path / "imu.bag"
    with Writer1(path) as w:
        c = w.add_connection("/imu", "sensor_msgs/msg/Imu", typestore=ROS1)
        w.write(c, 1, ROS1.serialize_ros1(imu(ROS1, NS), "sensor_msgs/msg/Imu"))
    with sensors.open(path) as s:  # IMU only is a valid session
        assert s.num_frames == 0 and len(s.imu()) == 1
    path = tmp_path / "info.bag"
    with Writer1(path) as w:
        c = w.add_connection("/cam/info", "sensor_msgs/msg/CameraInfo", typestore=ROS1)
        w.write(c, 1, ROS1.serialize_ros1(camera_info(ROS1, KC, "plumb_bob"), "sensor_msgs/msg/CameraInfo"))
    with pytest.raises(FormatError) as err:
        RosbagReader(path)
    assert_names(err, path, "no image or IMU topics", "/cam/info (sensor_msgs/msg/CameraInfo)")


def test_bag_non_monotonic_stamps(tmp_path):
    t0 = 42 * NS
    path = write_ros2_bag(tmp_path / "jumpy", stamps=[t0, t0 + 100_000_000, t0 + 50_000_000, t0 + 150_000_000])
    with pytest.raises(SyncError) as err:
        RosbagReader(path)
    assert_names(err, path, "non-monotonic", "/camera/color/image_raw")


def test_bag_unpaired_streams(tmp_path):
    path = write_ros2_bag(tmp_path / "bag2", stamps=[42 * NS + i * 50_000_000 + 2_000_000 for i in range(4)])
    with pytest.raises(EmptySessionError) as err:
        RosbagReader(path, max_gap_ns=1)
    assert_names(err, path, "no colour image", "max_gap_ns")


@pytest.mark.parametrize(
    ("model", "d", "expected_model", "expected_d"),
    [
        ("plumb_bob", (0.1, -0.2, 0.001, 0.002, 0.03), "radtan", (0.1, -0.2, 0.001, 0.002, 0.03)),
        ("rational_polynomial", (0.1, 0.2, 0.0, 0.0, 0.3, 0.4, 0.5, 0.6), "rational_polynomial", (0.1, 0.2, 0.0, 0.0, 0.3, 0.4, 0.5, 0.6)),
        ("equidistant", (0.1, 0.01, 0.001, 0.0001), "equidistant", (0.1, 0.01, 0.001, 0.0001)),
        ("Kannala Brandt4", (0.1, 0.01, 0.001, 0.0001, 0.0), "equidistant", (0.1, 0.01, 0.001, 0.0001)),
        ("Brown Conrady", (0.1, 0.0, 0.0, 0.0, 0.0), "brown_conrady", (0.1, 0.0, 0.0, 0.0, 0.0)),
        ("plumb_bob", (0.0,) * 5, "none", ()),
    ],
)
def test_distortion_models(model, d, expected_model, expected_d):
    from sensors.formats._ros import camera_info_msg, intrinsics_from_info

    K = intrinsics_from_info(camera_info(ROS2, KC, model, d), "x.bag:/info")
    assert (K.distortion_model, K.distortion) == (expected_model, expected_d)
    back = intrinsics_from_info(camera_info_msg(0, "c", K), "y")  # what the MCAP writer stores
    assert back.distortion == K.distortion and back.K.tolist() == KC.K.tolist()


def test_unknown_distortion_model():
    from sensors import CalibrationError
    from sensors.formats._ros import intrinsics_from_info

    with pytest.raises(CalibrationError, match=r"x\.bag:/cam/info: unsupported distortion model 'FTheta'"):
        intrinsics_from_info(camera_info(ROS2, KC, "FTheta", (0.1, 0.2, 0.0, 0.0, 0.0)), "x.bag:/cam/info")
