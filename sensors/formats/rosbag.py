"""ROS 1 ``.bag`` files and ROS 2 bag folders (``metadata.yaml`` + ``.db3``/``.mcap``), read with
``rosbags`` (no ROS install), including Intel RealSense recordings.

Topics are found by message type as for MCAP (:func:`sensors.formats._ros.select_topics`).
RealSense ``.bag`` files (librealsense's ``rs2::recorder`` layout) are recognised by their topics:

* ``/device_0/sensor_1/Color_0/image/data`` and ``/device_0/sensor_0/Depth_0/image/data`` (Image,
  depth ``mono16``/``16UC1``), intrinsics in ``…/<stream>/info/camera_info``;
* ``/device_0/sensor_2/Accel_0/imu/data`` and ``/device_0/sensor_2/Gyro_0/imu/data``: separate
  accelerometer and gyroscope streams, merged into :class:`~sensors.types.ImuSample` s at the
  accelerometer times with the gyroscope linearly interpolated (samples outside the gyroscope's
  span are dropped);
* depth units (metres per raw unit) from ``/device_0/sensor_0/option/Depth_Units/value``
  (``std_msgs/Float32``), else 0.001;
* extrinsics ``…/<stream>/tf/<ref>`` (``geometry_msgs/Transform``, maps reference-stream points
  into the stream), giving ``T_color_depth`` and ``T_imu_camera`` (accelerometer frame).

Timestamps are ``header.stamp`` (RealSense: the frame timestamp), not the bag's receive time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from rosbags.highlevel import AnyReader

from ..errors import CalibrationError, FormatError, SpatialError
from ..types import Calibration
from . import _ros
from ._ros import MAX_GAP_NS, RosReader, Scan

ROSBAG1_MAGIC = b"#ROSBAG V2.0\n"
RS_DEPTH_UNITS = re.compile(r"^/device_\d+/sensor_\d+/option/Depth_Units/value$")
RS_EXTRINSICS = re.compile(r"^(/device_\d+/sensor_\d+/[A-Za-z]+_\d+)/tf/\d+$")


class RosbagReader(RosReader):
    """Reader for a ROS 1 ``.bag`` file or a ROS 2 bag folder.

    Options (see :class:`~sensors.formats._ros.RosReader`): ``color_topic``, ``depth_topic``,
    ``imu_topic`` (a topic, or an (accel, gyro) pair), ``max_gap_ns``.
    """

    format_name = "rosbag"

    def __init__(
        self,
        path: str | Path,
        color_topic: str | None = None,
        depth_topic: str | None = None,
        imu_topic: str | tuple[str, str] | None = None,
        max_gap_ns: int = MAX_GAP_NS,
    ) -> None:
        super().__init__(path, color_topic, depth_topic, imu_topic, max_gap_ns)
        if not self.path.exists():
            raise FormatError("no such file or directory", self.path)
        with self._open() as reader:
            self._store, self._is2 = reader.typestore, reader.is2
            self._types = {t: info.msgtype for t, info in reader.topics.items() if info.msgcount and info.msgtype}
        types = {t: _ros.normalize_type(ty) for t, ty in self._types.items()}
        self.topics = _ros.select_topics(types, self.path, color_topic, depth_topic, imu_topic)
        extra = [t for t in types if RS_DEPTH_UNITS.match(t) or RS_EXTRINSICS.match(t)]
        scan = self._scan(extra)
        units = [float(scan.first[t].data) for t in extra if RS_DEPTH_UNITS.match(t) and t in scan.first]
        if units:
            if not units[0] > 0:
                raise CalibrationError(f"RealSense depth units must be positive, got {units[0]}", self.path)
            self.depth_scale = 1.0 / float(str(np.float32(units[0])))  # 0.001 stored as float32 → 1000.0
        self._setup({t: np.array(v, dtype=np.int64) for t, v in scan.stamps.items()})
        self._set_calibration(self._realsense_extrinsics(self._calibration_from_scan(scan), scan, extra))
        self._imu_cache = self._merge_imu(scan)
        self._set_ground_truth(scan.gt, "camera")

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_file():
            if path.suffix.lower() != ".bag":
                return False
            with open(path, "rb") as f:
                return f.read(len(ROSBAG1_MAGIC)) == ROSBAG1_MAGIC
        meta = path / "metadata.yaml"
        return meta.is_file() and "rosbag2_bagfile_information" in meta.read_text(errors="replace")[:4096]

    @contextmanager
    def _open(self) -> Iterator[AnyReader]:
        try:
            with AnyReader([self.path], default_typestore=_ros.STORE) as reader:
                yield reader
        except SpatialError:
            raise
        except Exception as exc:
            raise FormatError(f"cannot read bag: {exc}", self.path) from None

    def _messages(self, topics: list[str]) -> Iterator[tuple[str, bytes]]:
        with self._open() as reader:
            conns = [c for c in reader.connections if c.topic in topics]
            if conns:  # an empty selection would mean "all topics"
                for conn, _, raw in reader.messages(connections=conns):
                    yield conn.topic, raw

    def _decode(self, topic: str, raw: bytes) -> object:
        msgtype = self._types[topic]
        try:
            if self._is2:
                return self._store.deserialize_cdr(raw, msgtype)
            return self._store.deserialize_ros1(raw, msgtype)
        except Exception as exc:
            raise FormatError(f"cannot decode {msgtype} message: {exc}", self._where(topic)) from None

    def _realsense_extrinsics(self, cal: Calibration, scan: Scan, extra: list[str]) -> Calibration:
        """Replace tf-derived extrinsics with RealSense ``…/tf/<ref>`` ones (``T_stream_ref``)."""
        T_ref = {}
        for t in extra:
            m = RS_EXTRINSICS.match(t)
            if m and t in scan.first:
                T_ref[m.group(1)] = _ros.transform_matrix(scan.first[t].translation, scan.first[t].rotation)
        if not T_ref:
            return cal
        tp = self.topics

        def T_of(topic: str | None) -> np.ndarray | None:
            return T_ref.get(topic.rsplit("/", 2)[0]) if topic else None

        cam = T_of(tp.color or tp.depth)
        depth, imu = T_of(tp.depth), T_of(tp.imu[0] if tp.imu else None)
        T_cd, T_ic = cal.T_color_depth, cal.T_imu_camera
        if cam is not None and depth is not None and cal.depth is not None:
            T_cd = cam @ np.linalg.inv(depth)
        if cam is not None and imu is not None:
            T_ic = imu @ np.linalg.inv(cam)
        return replace(cal, T_color_depth=T_cd, T_imu_camera=T_ic)
