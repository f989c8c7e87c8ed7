"""MCAP recordings with ROS 2 messages: the SDK's recording format, and third-party ROS 2 MCAPs.

Recording layout (written by :class:`McapWriter`; profile ``ros2``, CDR messages, ``ros2msg``
schemas, zstd chunk compression at level 3, the library default and a fast level):

============================================ ================================ =========================================
topic                                        type                             content
============================================ ================================ =========================================
``/camera/color/image_raw/compressed``       sensor_msgs/msg/CompressedImage  the source's JPEG/PNG bytes, unchanged
                                                                              (``format`` "jpeg"/"png"), when frames
                                                                              carry them; frames that do not are stored
                                                                              as PNG (lossless)
``/camera/color/image_raw``                  sensor_msgs/msg/Image            ``rgb8`` pixels, used instead of the topic
                                                                              above when the first frame has no encoded
                                                                              bytes
``/camera/depth/image_raw``                  sensor_msgs/msg/Image            ``16UC1`` millimetres (ROS convention, 0 =
                                                                              invalid) when that is exact, else ``32FC1``
                                                                              metres
``/camera/color/camera_info``                sensor_msgs/msg/CameraInfo       colour intrinsics, one per frame; models
                                                                              plumb_bob / rational_polynomial /
                                                                              equidistant
``/camera/depth/camera_info``                sensor_msgs/msg/CameraInfo       depth intrinsics, only when depth is not
                                                                              registered to colour
``/imu``                                     sensor_msgs/msg/Imu              accelerometer (m/s², gravity included) and
                                                                              gyroscope (rad/s) in the IMU frame;
                                                                              orientation unknown (covariance[0] = -1)
``/tf_static``                               tf2_msgs/msg/TFMessage           ``imu_link`` → ``camera_color_optical_frame``
                                                                              (T_imu_camera) and
                                                                              ``camera_color_optical_frame`` →
                                                                              ``camera_depth_optical_frame``
                                                                              (T_color_depth), once, at the first item
``/ground_truth/pose``                       geometry_msgs/msg/PoseStamped    every ground-truth pose: ``T_world_body``
                                                                              with ``header.frame_id = "world"``; the
                                                                              body ("camera"/"imu") is the channel's
                                                                              ``body`` metadata; written as one block
                                                                              when the recording closes
============================================ ================================ =========================================

Every message has ``header.stamp`` = the item's timestamp exactly (sec, nanosec) and MCAP
``log_time`` = ``publish_time`` = the same nanoseconds. IMU timestamps are already on the camera
clock (``Calibration.time_offset_ns`` is applied by the source reader and kept for information).
Two metadata records: ``spatial.calibration`` (key ``json``: ``json.dumps(Calibration.to_dict())``)
and ``spatial.session`` (``source_format``, ``ground_truth_body``, ``sdk_version``,
``format_version``). The file appears under its final name only when complete. Ground truth that
is not a trajectory travels as sidecar files next to the recording (:func:`sidecar_paths`):
``<stem>.mesh.ply``, ``<stem>.room.json`` and ``<stem>.imu_truth.npz``, which the reader exposes
as ``GroundTruth.mesh_path`` / ``room_path`` / ``imu_path``.

:class:`McapReader` reads these recordings exactly (calibration from the metadata, header stamps
from the MCAP message indexes without decompressing images, depth ``16UC1`` through
``depth_to_metres(raw, 1000)`` so the round trip is bit-identical), and reads other ROS 2 MCAPs
(``ros2 bag record``, Foxglove) by finding topics by message type (see
:func:`sensors.formats._ros.select_topics`).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from mcap.opcode import Opcode
from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore

from ..errors import CalibrationError, FormatError, SpatialError, SyncError
from ..session import Session
from ..types import Calibration, GroundTruth, ImuSample, RGBDFrame
from . import _ros
from ._atomic import atomic_path
from ._io import encode_color, image_encoding, metres_to_depth
from ._ros import MAX_GAP_NS, STORE, RosReader, Topics

MAGIC = b"\x89MCAP0\r\n"
COLOR_TOPIC = "/camera/color/image_raw"
COMPRESSED_TOPIC = "/camera/color/image_raw/compressed"
DEPTH_TOPIC = "/camera/depth/image_raw"
COLOR_INFO_TOPIC = "/camera/color/camera_info"
DEPTH_INFO_TOPIC = "/camera/depth/camera_info"
IMU_TOPIC = "/imu"
TF_TOPIC = "/tf_static"
GT_TOPIC = _ros.GT_TOPIC
COLOR_FRAME = "camera_color_optical_frame"
DEPTH_FRAME = "camera_depth_optical_frame"
IMU_FRAME = "imu_link"
WORLD_FRAME = "world"
FORMAT_VERSION = "1"


class McapWriter:
    """Write RGB-D frames and IMU samples to an MCAP recording (layout in the module docs).

    >>> with McapWriter("out.mcap", session.calibration, session.ground_truth) as w:  # doctest: +SKIP
    ...     for item in session:
    ...         w.write(item)

    Items must come in time order per stream. ``metadata`` adds MCAP metadata records (name →
    string map) beside ``spatial.calibration`` and ``spatial.session``. On an exception inside the ``with`` block (or a
    kill) nothing appears under ``path``; a clean exit renames the finished temporary file.
    """

    def __init__(
        self,
        path: str | Path,
        calibration: Calibration,
        ground_truth: GroundTruth | None = None,
        source_format: str = "",
        chunk_size: int = 4 * 1024 * 1024,
        metadata: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.path = Path(path)
        self.metadata = metadata or {}
        self.calibration = calibration
        self.ground_truth = ground_truth
        self.source_format = source_format
        self._chunk_size = chunk_size
        self._stack: ExitStack | None = None
        self._channels: dict[str, int] = {}
        self._schemas: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._color_topic: str | None = None
        self.frames = 0
        self.imu_samples = 0

    def __enter__(self) -> McapWriter:
        with ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(self.path))
            fh = stack.enter_context(open(tmp, "wb"))
            self._mcap = Writer(fh, chunk_size=self._chunk_size, compression=CompressionType.ZSTD)
            from .. import __version__

            self._mcap.start(profile="ros2", library=f"spatial-sdk {__version__}")
            body = self.ground_truth.poses.body if self.ground_truth and self.ground_truth.poses else ""
            self._mcap.add_metadata("spatial.calibration", {"json": json.dumps(self.calibration.to_dict())})
            self._mcap.add_metadata("spatial.session", {
                "source_format": self.source_format, "ground_truth_body": body,
                "sdk_version": __version__, "format_version": FORMAT_VERSION,
            })
            for name, record in self.metadata.items():
                self._mcap.add_metadata(name, record)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        if exc_type is not None:
            stack.__exit__(exc_type, exc, tb)  # closes and deletes the temporary file
            return
        with stack:
            self._write_ground_truth()
            self._mcap.finish()

    # -- low level ----------------------------------------------------------------------------
    def _channel(self, topic: str, msgtype: str, metadata: dict[str, str] | None = None) -> int:
        if topic not in self._channels:
            if msgtype not in self._schemas:
                text, _ = STORE.generate_msgdef(msgtype, ros_version=2)
                self._schemas[msgtype] = self._mcap.register_schema(msgtype, "ros2msg", text.encode())
            self._channels[topic] = self._mcap.register_channel(topic, "cdr", self._schemas[msgtype], metadata or {})
        return self._channels[topic]

    def _put(self, topic: str, msgtype: str, msg: object, t: int, metadata: dict[str, str] | None = None) -> None:
        channel = self._channel(topic, msgtype, metadata)
        self._mcap.add_message(channel, log_time=t, data=bytes(STORE.serialize_cdr(msg, msgtype)), publish_time=t)

    def _check_time(self, stream: str, t: int) -> None:
        if self._stack is None:
            raise FormatError("McapWriter is not open: use it as a context manager", self.path)
        if t < 0:
            raise SyncError(f"{stream} timestamp {t} ns is negative: MCAP log times are unsigned", self.path)
        prev = self._last.get(stream)
        if prev is not None and t <= prev:
            raise SyncError(f"{stream} timestamp {t} ns is not after the previous one ({prev} ns): write items in time order", self.path)
        if not self._last:
            self._write_tf(t)
        self._last[stream] = t

    def _write_tf(self, t: int) -> None:
        cal = self.calibration
        transforms = [(COLOR_FRAME, DEPTH_FRAME, cal.T_color_depth)]
        if cal.T_imu_camera is not None:
            transforms.insert(0, (IMU_FRAME, COLOR_FRAME, cal.T_imu_camera))
        self._put(TF_TOPIC, _ros.TF, _ros.tf_msg(transforms, t), t)

    def _write_ground_truth(self) -> None:
        gt = self.ground_truth.poses if self.ground_truth else None
        if gt is None:
            return
        meta = {"body": gt.body, "frame_id": WORLD_FRAME}
        self._mcap.flush()  # close the data chunk: the poses get chunks of their own, cheap to read alone
        for pose in gt:
            self._put(GT_TOPIC, _ros.POSE, _ros.pose_msg(pose.timestamp_ns, WORLD_FRAME, pose.T_world_body), pose.timestamp_ns, meta)

    # -- public -------------------------------------------------------------------------------
    def write(self, item: RGBDFrame | ImuSample) -> None:
        """Append one frame or IMU sample."""
        if isinstance(item, ImuSample):
            t = int(item.timestamp_ns)
            self._check_time("IMU", t)
            self._put(IMU_TOPIC, _ros.IMU, _ros.imu_msg(item, IMU_FRAME), t)
            self.imu_samples += 1
        elif isinstance(item, RGBDFrame):
            self._write_frame(item)
            self.frames += 1
        else:
            raise TypeError(f"McapWriter.write takes RGBDFrame or ImuSample, got {type(item).__name__}")

    def _write_frame(self, f: RGBDFrame) -> None:
        if f.color is not None:
            t = int(f.timestamp_ns)
            self._check_time("colour", t)
            if self._color_topic is None:
                self._color_topic = COMPRESSED_TOPIC if f.color_encoded else COLOR_TOPIC
            if self._color_topic == COMPRESSED_TOPIC:
                data = f.color_encoded or encode_color(f.color, "png")
                fmt = (f.color_encoding if f.color_encoded else None) or image_encoding(data) or "png"
                self._put(COMPRESSED_TOPIC, _ros.COMPRESSED, _ros.compressed_msg(t, COLOR_FRAME, data, fmt), t)
            else:
                self._put(COLOR_TOPIC, _ros.IMAGE, _ros.image_msg(t, COLOR_FRAME, f.color, "rgb8"), t)
            self._put(COLOR_INFO_TOPIC, _ros.CAMERA_INFO, _ros.camera_info_msg(t, COLOR_FRAME, f.intrinsics), t)
        if f.depth_m is not None:
            t = int(f.depth_timestamp_ns if f.depth_timestamp_ns is not None else f.timestamp_ns)
            self._check_time("depth", t)
            registered = f.depth_intrinsics is None and f.color is not None
            frame_id = COLOR_FRAME if registered else DEPTH_FRAME
            raw = metres_to_depth(f.depth_m, 1000.0)
            msg = (_ros.image_msg(t, frame_id, raw, "16UC1") if raw is not None
                   else _ros.image_msg(t, frame_id, f.depth_m.astype(np.float32), "32FC1"))
            self._put(DEPTH_TOPIC, _ros.IMAGE, msg, t)
            if not registered:
                K = f.depth_intrinsics or f.intrinsics
                self._put(DEPTH_INFO_TOPIC, _ros.CAMERA_INFO, _ros.camera_info_msg(t, frame_id, K), t)


SIDECARS = {"mesh_path": ".mesh.ply", "room_path": ".room.json", "imu_path": ".imu_truth.npz"}


def sidecar_paths(path: str | Path) -> dict[str, Path]:
    """Ground-truth files that travel with recording ``path``, by :class:`GroundTruth` field:
    ``<stem>.mesh.ply`` (scene mesh), ``<stem>.room.json`` (room description) and
    ``<stem>.imu_truth.npz`` (IMU truth)."""
    path = Path(path)
    return {field: path.with_name(path.stem + suffix) for field, suffix in SIDECARS.items()}


def write_mcap(session: Session, path: str | Path, progress: Callable[[int], None] | None = None) -> Path:
    """Write every frame and IMU sample of ``session`` (with its calibration and ground truth) to
    an MCAP recording at ``path``; ``progress(1)`` is called per item. Ground-truth mesh and room
    files are copied to the new recording's sidecars. Returns ``path``."""
    with McapWriter(path, session.calibration, session.ground_truth, source_format=session.format) as w:
        for item in session:
            w.write(item)
            if progress is not None:
                progress(1)
    gt = session.ground_truth
    for field, dst in sidecar_paths(path).items():
        src = getattr(gt, field) if gt else None
        if src is not None and Path(src).resolve() != dst.resolve():
            with atomic_path(dst) as tmp:
                tmp.write_bytes(Path(src).read_bytes())
    return Path(path)


# -- reading ------------------------------------------------------------------------------------
@contextmanager
def _mcap_errors(path: Path) -> Iterator[None]:
    """Turn the mcap library's (and zstd/struct) errors into :class:`FormatError` naming the file."""
    try:
        yield
    except SpatialError:
        raise
    except Exception as exc:
        raise FormatError(f"corrupt MCAP data ({type(exc).__name__}: {exc})", path) from None


def _typestore(schemas: list) -> object:
    """A typestore with the recording's own ROS message definitions (ROS 2 Humble for any
    schema the file does not embed)."""
    typs: dict = {}
    for s in schemas:
        text = s.data.decode()
        if s.encoding in ("ros2msg", "ros1msg") and text:
            typs.update(get_types_from_msg(text, _ros.normalize_type(s.name)))
        elif s.encoding == "ros2idl" and text:
            for part in text.split("=" * 80 + "\n"):
                if part.strip():
                    typs.update(get_types_from_idl(part.split("\n", 1)[1] if part.startswith("IDL: ") else part))
    store = get_typestore(Stores.EMPTY)
    store.register(typs)
    missing = {_ros.normalize_type(s.name) for s in schemas} - set(store.types)
    if missing:
        store.register({k: v for k, v in STORE.fielddefs.items() if k not in store.fielddefs})
    return store


class McapReader(RosReader):
    """Reader for an MCAP file with ROS 2 (CDR) or ROS 1 messages.

    Options (see :class:`~sensors.formats._ros.RosReader`): ``color_topic``, ``depth_topic``,
    ``imu_topic``, ``max_gap_ns``. Without CameraInfo messages and without the SDK's calibration
    metadata it raises :class:`CalibrationError` naming the topics it found.
    """

    format_name = "mcap"

    def __init__(
        self,
        path: str | Path,
        color_topic: str | None = None,
        depth_topic: str | None = None,
        imu_topic: str | tuple[str, str] | None = None,
        max_gap_ns: int = MAX_GAP_NS,
    ) -> None:
        super().__init__(path, color_topic, depth_topic, imu_topic, max_gap_ns)
        self._check_ends()
        with open(self.path, "rb") as f, _mcap_errors(self.path):
            reader = make_reader(f)
            summary = reader.get_summary()
            meta = {m.name: m.metadata for m in reader.iter_metadata()}
            channels = self._channels(reader, summary)
        self._decoders = {}
        types = {}
        with _mcap_errors(self.path):
            store = _typestore([schema for _, schema, _ in channels.values() if schema is not None])
        for topic, (channel, schema, count) in channels.items():
            if schema is None or count == 0 or channel.message_encoding not in ("cdr", "ros1"):
                continue
            msgtype = _ros.normalize_type(schema.name)
            types[topic] = msgtype
            deser = store.deserialize_cdr if channel.message_encoding == "cdr" else store.deserialize_ros1
            self._decoders[topic] = (deser, msgtype)
        self.topics = _ros.select_topics(types, self.path, color_topic, depth_topic, imu_topic)
        calibration = self._metadata_calibration(meta)
        session = meta.get("spatial.session", {})
        gt_meta = channels[self.topics.gt][0].metadata if self.topics.gt else {}
        body = session.get("ground_truth_body") or gt_meta.get("body") or "camera"
        stamps = None
        if session and calibration is not None and calibration.color is not None:
            stamps = self._index_stamps(summary, channels)
        if stamps is not None:  # our own recording: log_time == header stamp, nothing to decode
            self.calibration = calibration
            self._setup(stamps)
            if self.topics.gt:
                self._set_ground_truth([self._pose(raw) for _, raw in self._messages([self.topics.gt])], body)
        else:
            scan = self._scan()
            self._setup({t: np.array(v, dtype=np.int64) for t, v in scan.stamps.items()})
            if calibration is None or calibration.color is None:
                found = self._calibration_from_scan(scan)
                calibration = found if calibration is None else replace(calibration, color=found.color, depth=found.depth)
            self._set_calibration(calibration)
            self._imu_cache = self._merge_imu(scan)
            self._set_ground_truth(scan.gt, body)
        files = {field: p for field, p in sidecar_paths(self.path).items() if p.is_file()}
        if files:
            self.ground_truth = GroundTruth(self.ground_truth.poses if self.ground_truth else None, **files)

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not (path.is_file() and path.suffix.lower() == ".mcap"):
            return False
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC

    def _check_ends(self) -> None:
        if not self.path.is_file():
            raise FormatError("MCAP input must be a file" if self.path.exists() else "file is missing", self.path)
        size = self.path.stat().st_size
        with open(self.path, "rb") as f:
            head = f.read(len(MAGIC))
            f.seek(max(size - len(MAGIC), 0))
            tail = f.read(len(MAGIC))
        if head != MAGIC:
            raise FormatError("not an MCAP file (the first bytes are not the MCAP magic)", self.path)
        if size < 2 * len(MAGIC) or tail != MAGIC:
            raise FormatError(
                "MCAP file is truncated (no end magic): the recording was not closed cleanly; "
                "`mcap recover` can rebuild what was written", self.path,
            )

    def _channels(self, reader, summary) -> dict[str, tuple]:
        """topic → (channel, schema or None, message count or None)."""
        if summary is not None and summary.channels:
            counts = summary.statistics.channel_message_counts if summary.statistics else {}
            return {
                ch.topic: (ch, summary.schemas.get(ch.schema_id), counts.get(cid) if counts else None)
                for cid, ch in sorted(summary.channels.items())
            }
        out: dict[str, tuple] = {}  # no summary: one pass over the file
        for schema, channel, _ in reader.iter_messages(log_time_order=False):
            prev = out.get(channel.topic)
            out[channel.topic] = (channel, schema, (prev[2] if prev else 0) + 1)
        return out

    def _metadata_calibration(self, meta: dict) -> Calibration | None:
        text = meta.get("spatial.calibration", {}).get("json")
        if text is None:
            return None
        try:
            return Calibration.from_dict(json.loads(text))
        except (ValueError, CalibrationError) as exc:
            raise CalibrationError(f"invalid spatial.calibration metadata: {exc}", self.path) from None

    def _index_stamps(self, summary, channels: dict[str, tuple]) -> dict[str, np.ndarray] | None:
        """Per-topic log times from the MCAP message indexes (no chunk is decompressed), or
        ``None`` when the file has no complete indexes."""
        tp: Topics = self.topics
        wanted = {channels[t][0].id: t for t in (tp.color, tp.depth, *tp.imu) if t}
        if summary is None or not summary.chunk_indexes:
            return None
        parts: dict[str, list[np.ndarray]] = {t: [] for t in wanted.values()}
        with open(self.path, "rb") as f, _mcap_errors(self.path):
            for ci in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset):
                if not ci.message_index_offsets:
                    return None
                for cid, offset in ci.message_index_offsets.items():
                    if cid in wanted:
                        f.seek(offset)
                        opcode, _, _, n = struct.unpack("<BQHI", f.read(15))
                        if opcode != Opcode.MESSAGE_INDEX:
                            raise FormatError(f"message index at byte {offset} is corrupt", self.path)
                        parts[wanted[cid]].append(np.frombuffer(f.read(n), "<u8")[::2])
        stamps = {t: np.concatenate(p).astype(np.int64) if p else np.zeros(0, np.int64) for t, p in parts.items()}
        if any(channels[t][2] is not None and len(stamps[t]) != channels[t][2] for t in stamps):
            return None
        return stamps

    def _pose(self, raw: bytes) -> tuple[int, np.ndarray]:
        msg = self._decode(self.topics.gt, raw)
        return _ros.stamp_ns(msg.header), _ros.transform_matrix(msg.pose.position, msg.pose.orientation)

    def _messages(self, topics: list[str]) -> Iterator[tuple[str, bytes]]:
        if not topics:
            return
        with open(self.path, "rb") as f, _mcap_errors(self.path):
            for _, channel, message in make_reader(f).iter_messages(topics=topics):
                yield channel.topic, message.data

    def _decode(self, topic: str, raw: bytes) -> object:
        deser, msgtype = self._decoders[topic]
        try:
            return deser(raw, msgtype)
        except Exception as exc:
            raise FormatError(f"cannot decode {msgtype} message: {exc}", self._where(topic)) from None
