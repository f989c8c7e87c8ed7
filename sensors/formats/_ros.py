"""ROS message ↔ SDK type conversion and the replay engine shared by the MCAP and bag readers.

Both containers hold the same ROS messages (``sensor_msgs/Image``, ``CompressedImage``,
``CameraInfo``, ``Imu``, ``tf2_msgs/TFMessage``, ``geometry_msgs/PoseStamped``), serialised as
CDR (ROS 2) or ROS 1. This module turns them into colour/depth arrays, intrinsics, IMU samples and
transforms (and back, for the writer), picks the topics of a recording, and implements
:class:`RosReader`: a :class:`~sensors.session.Reader` that indexes header stamps once, pairs
colour with depth (:func:`sensors.sync.associate`) and replays messages in time order with
lazy image decoding. A container module only says how to list topics, iterate raw messages and
deserialise them.

Timestamps are ``header.stamp`` (the sensor time), in int nanoseconds. Depth in ``16UC1`` /
``mono16`` is millimetres (ROS convention) unless the recording says otherwise (RealSense depth
units); ``32FC1`` is metres with NaN/inf as invalid (stored as 0).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation

from ..errors import CalibrationError, EmptySessionError, FormatError
from ..session import Reader, Record
from ..sync import ImuSeries, associate, check_timestamps
from ..types import Calibration, CameraIntrinsics, GroundTruth, ImuSample, RGBDFrame, Trajectory
from ._io import check_depth_units, decode_color, decode_depth_raw, depth_to_metres, image_encoding, make_frame

log = logging.getLogger(__name__)

NS = 1_000_000_000
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
IMU = "sensor_msgs/msg/Imu"
TF = "tf2_msgs/msg/TFMessage"
POSE = "geometry_msgs/msg/PoseStamped"
IMAGE_TYPES = (IMAGE, COMPRESSED)
GT_TOPIC = "/ground_truth/pose"
MAX_GAP_NS = 20_000_000  # colour↔depth pairing tolerance, as TUM's associate.py (0.02 s)

STORE = get_typestore(Stores.ROS2_HUMBLE)  # message classes for writing, schemas for MCAP

# encoding -> (dtype, channels)
ENCODINGS = {
    "rgb8": ("u1", 3), "bgr8": ("u1", 3), "rgba8": ("u1", 4), "bgra8": ("u1", 4),
    "mono8": ("u1", 1), "8UC1": ("u1", 1),
    "16UC1": ("u2", 1), "mono16": ("u2", 1), "32FC1": ("f4", 1),
}
COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1")
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")

# ROS CameraInfo distortion_model -> ours (RealSense names, lower-cased with "_", included)
_FROM_ROS_MODEL = {
    "plumb_bob": "radtan", "rational_polynomial": "rational_polynomial", "equidistant": "equidistant",
    "fisheye": "equidistant", "kannala_brandt": "equidistant", "kannala_brandt4": "equidistant",
    "brown_conrady": "brown_conrady", "modified_brown_conrady": "brown_conrady",
    "inverse_brown_conrady": "brown_conrady", "none": "none", "": "none",
}


def normalize_type(name: str) -> str:
    """``sensor_msgs/Image`` (ROS 1 style) → ``sensor_msgs/msg/Image``."""
    parts = name.split("/")
    return f"{parts[0]}/msg/{parts[1]}" if len(parts) == 2 else name


def attr(msg: object, name: str):
    """A message field by its ROS 2 name, falling back to the ROS 1 spelling (``k`` → ``K``)."""
    try:
        return getattr(msg, name)
    except AttributeError:
        return getattr(msg, name.upper())


def stamp_ns(header: object) -> int:
    return int(header.stamp.sec) * NS + int(header.stamp.nanosec)


# -- decoding ---------------------------------------------------------------------------------
def _pixels(msg: object, where: str) -> tuple[np.ndarray, str]:
    enc = msg.encoding
    if enc not in ENCODINGS:
        raise FormatError(f"unsupported image encoding '{enc}' (supported: {', '.join(ENCODINGS)})", where)
    kind, ch = ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    dtype = np.dtype(kind).newbyteorder(">" if msg.is_bigendian else "<")
    row = w * ch * dtype.itemsize
    data = np.asarray(msg.data, dtype=np.uint8)
    if h <= 0 or w <= 0 or step < row or data.size < step * h:
        raise FormatError(f"image data is {data.size} bytes, too short for {w}x{h} {enc} with step {step}", where)
    rows = np.ascontiguousarray(data[: step * h].reshape(h, step)[:, :row])
    return rows.view(dtype).astype(dtype.newbyteorder("="), copy=False).reshape(h, w, ch), enc


def color_from_msg(msg: object, where: str) -> tuple[np.ndarray, bytes | None, str | None]:
    """Image / CompressedImage → (HxWx3 uint8 RGB, encoded bytes or None, "jpeg"/"png" or None)."""
    if hasattr(msg, "format"):  # CompressedImage
        data = bytes(msg.data)
        if not data:
            raise FormatError("compressed colour image is empty", where)
        rgb = decode_color(data, where)
        enc = image_encoding(data)
        return rgb, (data if enc else None), enc
    px, enc = _pixels(msg, where)
    if enc not in COLOR_ENCODINGS:
        raise FormatError(f"colour topic has encoding '{enc}', expected one of {', '.join(COLOR_ENCODINGS)}", where)
    if enc.startswith("bgr"):
        px = px[..., 2::-1]
    elif px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    return np.ascontiguousarray(px[..., :3]), None, None


def _compressed_depth(msg: object, where: str, depth_scale: float) -> np.ndarray:
    data = bytes(msg.data)
    start = data.find(b"\x89PNG")
    if start < 0:
        raise FormatError(f"compressed depth image ('{msg.format}') is not PNG: only PNG depth is supported", where)
    raw = decode_depth_raw(data[start:], where)
    if "32FC1" not in msg.format:
        return depth_to_metres(raw, depth_scale)
    # compressed_depth_image_transport: 12-byte header (int32 format, float32 quantA, quantB),
    # then inverse depth quantised as value = quantA / depth + quantB.
    if start < 12:
        raise FormatError("compressedDepth 32FC1 image lacks its quantisation header", where)
    _, qa, qb = struct.unpack_from("<iff", data, start - 12)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.float32(qa) / (raw.astype(np.float32) - np.float32(qb))
    d[(raw == 0) | ~np.isfinite(d) | (d < 0)] = 0.0
    return d.astype(np.float32)


def depth_from_msg(msg: object, where: str, depth_scale: float = 1000.0) -> np.ndarray:
    """Image / CompressedImage → HxW float32 metres (0 = invalid). Integer depth is divided by
    ``depth_scale`` (raw units per metre) through :func:`depth_to_metres`, so it round-trips."""
    if hasattr(msg, "format"):
        return _compressed_depth(msg, where, depth_scale)
    px, enc = _pixels(msg, where)
    if enc not in DEPTH_ENCODINGS:
        raise FormatError(f"depth topic has encoding '{enc}', expected one of {', '.join(DEPTH_ENCODINGS)}", where)
    px = px[..., 0]
    if enc == "32FC1":
        return np.nan_to_num(px.astype(np.float32, copy=True), nan=0.0, posinf=0.0, neginf=0.0)
    return depth_to_metres(px, depth_scale)


def intrinsics_from_info(msg: object, where: str) -> CameraIntrinsics:
    """CameraInfo → :class:`CameraIntrinsics` (all-zero distortion becomes model ``"none"``)."""
    K = np.asarray(attr(msg, "k"), dtype=np.float64).reshape(3, 3)
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise CalibrationError(f"camera info has no calibration (K = {K.ravel().tolist()})", where)
    d = tuple(float(x) for x in attr(msg, "d"))
    name = str(msg.distortion_model).strip().lower().replace(" ", "_")
    if not any(d):
        model, d = "none", ()
    elif name in _FROM_ROS_MODEL:
        model = _FROM_ROS_MODEL[name]
        d = d[:4] if model == "equidistant" else d
        if name == "inverse_brown_conrady":
            log.debug("%s: treating RealSense 'Inverse Brown Conrady' distortion as Brown-Conrady", where)
    else:
        raise CalibrationError(f"unsupported distortion model '{msg.distortion_model}' with coefficients {list(d)}", where)
    return CameraIntrinsics.from_K(K, int(msg.width), int(msg.height), distortion=d, distortion_model=model)


def transform_matrix(translation: object, rotation: object) -> np.ndarray:
    """geometry_msgs Vector3/Point + Quaternion → 4x4 ``T_parent_child``."""
    T = np.eye(4)
    q = [rotation.x, rotation.y, rotation.z, rotation.w]
    if not np.any(q):
        raise CalibrationError(f"zero quaternion in transform {q}")
    T[:3, :3] = Rotation.from_quat(q).as_matrix()
    T[:3, 3] = [translation.x, translation.y, translation.z]
    return T


def imu_from_msg(msg: object) -> tuple[int, np.ndarray, np.ndarray]:
    a, g = msg.linear_acceleration, msg.angular_velocity
    return stamp_ns(msg.header), np.array([a.x, a.y, a.z]), np.array([g.x, g.y, g.z])


# -- encoding (for writers) ---------------------------------------------------------------------
_T = STORE.types


def header(timestamp_ns: int, frame_id: str):
    sec, nsec = divmod(int(timestamp_ns), NS)
    return _T["std_msgs/msg/Header"](stamp=_T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec), frame_id=frame_id)


def image_msg(timestamp_ns: int, frame_id: str, pixels: np.ndarray, encoding: str):
    h, w = pixels.shape[:2]
    data = np.ascontiguousarray(pixels)
    return _T[IMAGE](
        header=header(timestamp_ns, frame_id), height=h, width=w, encoding=encoding,
        is_bigendian=0, step=data.nbytes // h, data=data.view(np.uint8).reshape(-1),
    )


def compressed_msg(timestamp_ns: int, frame_id: str, data: bytes, fmt: str):
    return _T[COMPRESSED](header=header(timestamp_ns, frame_id), format=fmt, data=np.frombuffer(data, np.uint8))


def camera_info_msg(timestamp_ns: int, frame_id: str, K: CameraIntrinsics):
    """:class:`CameraIntrinsics` → CameraInfo (radtan/brown_conrady → plumb_bob, 5 coefficients)."""
    d = list(K.distortion)
    if K.distortion_model == "equidistant":
        model, n = "equidistant", 4
    elif K.distortion_model == "rational_polynomial" or len(d) > 5:
        model, n = "rational_polynomial", 8
    else:
        model, n = "plumb_bob", 5
    d = np.array((d + [0.0] * n)[:n] if len(d) <= n else d, dtype=np.float64)
    P = np.zeros((3, 4))
    P[:, :3] = K.K
    return _T[CAMERA_INFO](
        header=header(timestamp_ns, frame_id), height=K.height, width=K.width, distortion_model=model,
        d=d, k=K.K.ravel(), r=np.eye(3).ravel(), p=P.ravel(), binning_x=0, binning_y=0,
        roi=_T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )


def _vec(v) -> object:
    return _T["geometry_msgs/msg/Vector3"](x=float(v[0]), y=float(v[1]), z=float(v[2]))


def _quat(R: np.ndarray) -> object:
    x, y, z, w = Rotation.from_matrix(R).as_quat()
    return _T["geometry_msgs/msg/Quaternion"](x=x, y=y, z=z, w=w)


def imu_msg(sample: ImuSample, frame_id: str):
    """Orientation unknown (``orientation_covariance[0] = -1``, the ROS convention)."""
    cov = np.zeros(9)
    return _T[IMU](
        header=header(sample.timestamp_ns, frame_id),
        orientation=_T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        orientation_covariance=np.r_[-1.0, np.zeros(8)], angular_velocity=_vec(sample.gyro_radps),
        angular_velocity_covariance=cov, linear_acceleration=_vec(sample.accel_mps2),
        linear_acceleration_covariance=cov,
    )


def tf_msg(transforms: list[tuple[str, str, np.ndarray]], timestamp_ns: int = 0):
    """[(parent, child, T_parent_child)] → TFMessage."""
    out = [
        _T["geometry_msgs/msg/TransformStamped"](
            header=header(timestamp_ns, parent), child_frame_id=child,
            transform=_T["geometry_msgs/msg/Transform"](translation=_vec(T[:3, 3]), rotation=_quat(T[:3, :3])),
        )
        for parent, child, T in transforms
    ]
    return _T[TF](transforms=out)


def pose_msg(timestamp_ns: int, frame_id: str, T: np.ndarray):
    p = T[:3, 3]
    return _T[POSE](
        header=header(timestamp_ns, frame_id),
        pose=_T["geometry_msgs/msg/Pose"](
            position=_T["geometry_msgs/msg/Point"](x=float(p[0]), y=float(p[1]), z=float(p[2])),
            orientation=_quat(T[:3, :3]),
        ),
    )


# -- topic selection ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Topics:
    """The topics a reader uses. ``imu`` is one topic, or (accel, gyro) when a device publishes
    them as separate streams (RealSense)."""

    color: str | None = None
    depth: str | None = None
    color_info: str | None = None
    depth_info: str | None = None
    imu: tuple[str, ...] = ()
    tf: tuple[str, ...] = ()
    gt: str | None = None
    camera_infos: tuple[str, ...] = ()  # every CameraInfo topic, for error messages


def _listing(types: dict[str, str]) -> str:
    return ", ".join(f"{t} ({ty})" for t, ty in sorted(types.items())) or "none"


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.strip("/").split("/"), b.strip("/").split("/")):
        if x != y:
            break
        n += 1
    return n


def _match_info(image: str, infos: list[str], depth: bool) -> str | None:
    """The CameraInfo topic that belongs to an image topic: the longest shared namespace."""
    if not infos:
        return None
    best = max(infos, key=lambda i: (_common(image, i), ("depth" in i.lower()) == depth, -len(i)))
    if _common(image, best) > 0 or (len(infos) == 1 and ("depth" in best.lower()) == depth):
        return best
    return None


def select_topics(
    types: dict[str, str],
    where: Path,
    color_topic: str | None = None,
    depth_topic: str | None = None,
    imu_topic: str | tuple[str, str] | None = None,
) -> Topics:
    """Pick colour, depth, camera-info, IMU, tf and ground-truth topics by message type.

    ``types`` maps each topic that holds messages to its (normalised) type. Image topics whose
    name contains "depth" are depth, others colour (names with "color"/"rgb" preferred over
    infrared; raw Image over CompressedImage; aligned depth over unaligned). Explicit topics
    override the guess and must exist with an image (or Imu) type.
    """

    def check(topic: str, allowed: tuple[str, ...], what: str) -> str:
        if types.get(topic) not in allowed:
            have = f"it has type {types[topic]}" if topic in types else "it is not in the recording"
            raise FormatError(f"{what} topic '{topic}': {have}; topics found: {_listing(types)}", where)
        return topic

    images = sorted(t for t, ty in types.items() if ty in IMAGE_TYPES)
    depths = [t for t in images if "depth" in t.lower()]
    colors = [t for t in images if t not in depths]

    def color_rank(t: str):
        low = t.lower()
        return ("color" not in low and "rgb" not in low, any(s in low for s in ("infra", "fisheye", "/ir")),
                types[t] == COMPRESSED, len(t), t)

    def depth_rank(t: str):
        low = t.lower()
        return ("aligned" not in low and "registered" not in low, types[t] == COMPRESSED, len(t), t)

    color = check(color_topic, IMAGE_TYPES, "colour") if color_topic else min(colors, key=color_rank, default=None)
    depth = check(depth_topic, IMAGE_TYPES, "depth") if depth_topic else min(depths, key=depth_rank, default=None)
    imus = sorted(t for t, ty in types.items() if ty == IMU)
    if imu_topic:
        imu = tuple(check(t, (IMU,), "IMU") for t in ((imu_topic,) if isinstance(imu_topic, str) else imu_topic))
    else:
        accel = [t for t in imus if "accel" in t.lower()]
        gyro = [t for t in imus if "gyro" in t.lower()]
        if len(accel) == 1 and len(gyro) == 1 and accel != gyro:
            imu = (accel[0], gyro[0])
        else:
            imu = tuple(sorted(imus, key=lambda t: ("imu" not in t.lower(), t))[:1])
    if color is None and depth is None and not imu:
        raise FormatError(
            f"no image or IMU topics (sensor_msgs Image, CompressedImage or Imu); topics found: {_listing(types)}", where
        )
    infos = sorted(t for t, ty in types.items() if ty == CAMERA_INFO)
    gts = sorted(t for t, ty in types.items() if ty == POSE and "ground_truth" in t)
    return Topics(
        color=color, depth=depth,
        color_info=_match_info(color, infos, False) if color else None,
        depth_info=_match_info(depth, infos, True) if depth else None,
        imu=imu, tf=tuple(t for t, ty in types.items() if ty == TF and t.endswith("tf_static")),
        gt=GT_TOPIC if GT_TOPIC in gts else (gts[0] if gts else None), camera_infos=tuple(infos),
    )


class TfTree:
    """Static transforms: each child frame has one parent and ``T_parent_child``."""

    def __init__(self) -> None:
        self.parent: dict[str, tuple[str, np.ndarray]] = {}

    def add_msg(self, msg: object) -> None:
        for t in msg.transforms:
            child, parent = t.child_frame_id.lstrip("/"), t.header.frame_id.lstrip("/")
            self.parent.setdefault(child, (parent, transform_matrix(t.transform.translation, t.transform.rotation)))

    def _to_root(self, frame: str) -> tuple[str, np.ndarray]:
        T = np.eye(4)
        for _ in range(len(self.parent) + 1):
            if frame not in self.parent:
                break
            frame, Tp = self.parent[frame]
            T = Tp @ T
        return frame, T

    def lookup(self, target: str | None, source: str | None) -> np.ndarray | None:
        """``T_target_source`` or ``None`` when the frames are unknown or not connected."""
        if not target or not source:
            return None
        (ra, Ta), (rb, Tb) = self._to_root(target.lstrip("/")), self._to_root(source.lstrip("/"))
        return np.linalg.inv(Ta) @ Tb if ra == rb else None


# -- the shared reader -------------------------------------------------------------------------
@dataclass
class Scan:
    """What one pass over a recording's messages found."""

    stamps: dict[str, list[int]] = field(default_factory=dict)  # topic -> header stamps
    first: dict[str, object] = field(default_factory=dict)  # topic -> first decoded message
    imu: dict[str, tuple[list, list]] = field(default_factory=dict)  # topic -> (accels, gyros)
    tf: TfTree = field(default_factory=TfTree)
    gt: list[tuple[int, np.ndarray]] = field(default_factory=list)


class RosReader(Reader):
    """Replay engine of ROS recordings. Subclasses set ``self.topics`` (:func:`select_topics`),
    implement :meth:`_messages` and :meth:`_decode`, then call :meth:`_setup`.

    Options shared by every ROS reader: ``color_topic``, ``depth_topic``, ``imu_topic`` (a topic
    or an (accel, gyro) pair) override the automatic choice; ``max_gap_ns`` is the largest
    colour↔depth stamp difference that still makes a pair.
    """

    def __init__(
        self,
        path: str | Path,
        color_topic: str | None = None,
        depth_topic: str | None = None,
        imu_topic: str | tuple[str, str] | None = None,
        max_gap_ns: int = MAX_GAP_NS,
    ) -> None:
        super().__init__(path)
        self.max_gap_ns = int(max_gap_ns)
        self.topics = Topics()
        self.depth_scale = 1000.0  # raw units per metre of integer depth images
        self._imu_cache: ImuSeries | None = None

    # -- container API (subclasses) ---------------------------------------------------------
    def _messages(self, topics: list[str]) -> Iterator[tuple[str, bytes]]:
        """(topic, raw message) of ``topics`` in recording order; a fresh pass on each call."""
        raise NotImplementedError

    def _decode(self, topic: str, raw: bytes) -> object:
        raise NotImplementedError

    # -- scanning ---------------------------------------------------------------------------
    def _where(self, topic: str, k: int | None = None) -> str:
        return f"{self.path}:{topic}" + (f"#{k}" if k is not None else "")

    def _scan(self, extra: list[str] = ()) -> Scan:
        """One pass over every topic of interest: header stamps, first messages, IMU values,
        static transforms and ground truth. ``extra`` topics get their first message kept."""
        tp = self.topics
        images = {t for t in (tp.color, tp.depth) if t}
        firsts = {t for t in (tp.color_info, tp.depth_info, *extra) if t}
        wanted = [*images, *firsts, *tp.imu, *tp.tf, *([tp.gt] if tp.gt else [])]
        scan = Scan(stamps={t: [] for t in [*images, *tp.imu]}, imu={t: ([], []) for t in tp.imu})
        for topic, raw in self._messages(list(dict.fromkeys(wanted))):
            if topic in firsts and topic in scan.first:
                continue
            msg = self._decode(topic, raw)
            scan.first.setdefault(topic, msg)
            if topic in scan.stamps:
                scan.stamps[topic].append(stamp_ns(msg.header))
            if topic in scan.imu:
                _, a, g = imu_from_msg(msg)
                scan.imu[topic][0].append(a)
                scan.imu[topic][1].append(g)
            elif topic in tp.tf:
                scan.tf.add_msg(msg)
            elif topic == tp.gt:
                scan.gt.append((stamp_ns(msg.header), transform_matrix(msg.pose.position, msg.pose.orientation)))
        for topic in images:
            if not scan.stamps[topic]:
                raise EmptySessionError(f"topic '{topic}' holds no messages", self.path)
            first = scan.first[topic]
            if hasattr(first, "encoding"):  # check the encoding early, not at the first frame
                ok = DEPTH_ENCODINGS if topic == tp.depth else COLOR_ENCODINGS
                if first.encoding not in ok:
                    raise FormatError(f"encoding '{first.encoding}' is not supported (expected {', '.join(ok)})", self._where(topic))
        return scan

    def _calibration_from_scan(self, scan: Scan) -> Calibration:
        """Intrinsics from CameraInfo, extrinsics from /tf_static (or identity when absent)."""
        tp = self.topics
        infos = {t: intrinsics_from_info(scan.first[t], self._where(t)) for t in (tp.color_info, tp.depth_info) if t in scan.first}
        color_k = infos.get(tp.color_info) if tp.color else infos.get(tp.depth_info)
        if color_k is None and (tp.color or tp.depth):
            missing = tp.color or tp.depth
            raise CalibrationError(
                f"no sensor_msgs/CameraInfo for image topic '{missing}' and no calibration in the file "
                f"(image topics used: {', '.join(t for t in (tp.color, tp.depth) if t)}; camera info topics "
                f"found: {', '.join(tp.camera_infos) or 'none'}; pass the intrinsics by converting with a "
                f"calibration, or record the camera_info topic)",
                self.path,
            )
        depth_k = infos.get(tp.depth_info) if tp.color and tp.depth_info != tp.color_info else None
        if depth_k is not None and depth_k == color_k:
            depth_k = None  # depth registered to colour
        frames = {t: scan.first[t].header.frame_id for t in (tp.color, tp.depth, *tp.imu) if t in scan.first}
        T_cd = scan.tf.lookup(frames.get(tp.color), frames.get(tp.depth)) if depth_k is not None else None
        T_ic = scan.tf.lookup(frames.get(tp.imu[0]) if tp.imu else None, frames.get(tp.color or tp.depth))
        depth_msg = scan.first.get(tp.depth)
        scale = 1.0 if getattr(depth_msg, "encoding", "") == "32FC1" else self.depth_scale
        return Calibration(
            color=color_k, depth=depth_k, T_color_depth=T_cd if T_cd is not None else np.eye(4),
            T_imu_camera=T_ic, depth_scale=scale,
        )

    def _setup(self, stamps: dict[str, np.ndarray]) -> None:
        """Check the header stamps of every stream and pair colour with depth."""
        tp = self.topics
        for topic, ts in stamps.items():
            stamps[topic] = check_timestamps(ts, self.path, f"'{topic}' header")
        self._stamps = stamps
        c = stamps.get(tp.color, np.zeros(0, np.int64))
        d = stamps.get(tp.depth, np.zeros(0, np.int64))
        if tp.color and tp.depth:
            self.association = associate(c, d, self.max_gap_ns)
            if len(self.association) == 0:
                raise EmptySessionError(
                    f"no colour image of '{tp.color}' has a depth image of '{tp.depth}' within "
                    f"{self.max_gap_ns / 1e6:g} ms (pass max_gap_ns= to widen)", self.path,
                )
            self._pairs = (self.association.index_a, self.association.index_b)
        else:
            idx = np.arange(len(c) or len(d))
            none = np.full(len(idx), -1)
            self._pairs = (idx, none) if tp.color else (none, idx)
        self._ts_rgbd = c[self._pairs[0]] if tp.color else d[self._pairs[1]]

    def _set_calibration(self, calibration: Calibration) -> None:
        self.calibration = calibration
        if self.topics.imu and calibration.T_imu_camera is None:
            log.warning("%s: no transform between the IMU and the camera; T_imu_camera unknown", self.path)

    def _set_ground_truth(self, poses: list[tuple[int, np.ndarray]], body: str) -> None:
        if poses:
            ts, T = zip(*sorted(poses, key=lambda p: p[0]))
            self.ground_truth = GroundTruth(poses=Trajectory(np.array(ts), np.stack(T), body=body))

    def _merge_imu(self, scan: Scan) -> ImuSeries | None:
        """The scanned IMU values as one series (after :meth:`_setup`)."""
        tp = self.topics
        if not tp.imu:
            return None
        ts = {t: self._stamps[t] for t in tp.imu}
        if len(tp.imu) == 1:
            (t,) = tp.imu
            return ImuSeries(ts[t], np.array(scan.imu[t][0]).reshape(-1, 3), np.array(scan.imu[t][1]).reshape(-1, 3))
        # separate accelerometer and gyroscope streams: gyro interpolated at accelerometer times
        at, gt = tp.imu
        ta, tg = ts[at], ts[gt]
        if len(ta) == 0 or len(tg) < 2:
            raise EmptySessionError(f"IMU topics '{at}' and '{gt}' need accelerometer and gyroscope samples", self.path)
        keep = (ta >= tg[0]) & (ta <= tg[-1])
        gyro = np.array(scan.imu[gt][1])
        rel = (ta[keep] - tg[0]).astype(np.float64)
        g = np.stack([np.interp(rel, (tg - tg[0]).astype(np.float64), gyro[:, i]) for i in range(3)], axis=1)
        return ImuSeries(ta[keep], np.array(scan.imu[at][0])[keep], g)

    # -- Reader API -------------------------------------------------------------------------
    def timestamps(self) -> dict[str, np.ndarray]:
        tp = self.topics
        out = {"rgbd": self._ts_rgbd}
        for name, topic in (("color", tp.color), ("depth", tp.depth)):
            if topic:
                out[name] = self._stamps[topic]
        if self._imu_cache is not None:
            out["imu"] = self._imu_cache.timestamps_ns
        elif tp.imu:
            out["imu"] = self._stamps[tp.imu[0]]
        return out

    def imu(self) -> ImuSeries:
        if self._imu_cache is None:
            if not self.topics.imu:
                return ImuSeries(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))
            (t,) = self.topics.imu
            samples = [imu_from_msg(self._decode(t, raw)) for _, raw in self._messages([t])]
            ts, a, g = zip(*samples) if samples else ((), (), ())
            return ImuSeries(np.array(ts, np.int64), np.array(a).reshape(-1, 3), np.array(g).reshape(-1, 3))
        return self._imu_cache

    def _frame(self, p: int, color_raw: bytes | None, depth_raw: bytes | None) -> RGBDFrame:
        tp, cal = self.topics, self.calibration
        ci, di = int(self._pairs[0][p]), int(self._pairs[1][p])
        color = encoded = enc = depth = None
        where = self._where(tp.color, ci) if tp.color else self._where(tp.depth, di)
        if color_raw is not None:
            color, encoded, enc = color_from_msg(self._decode(tp.color, color_raw), where)
        if depth_raw is not None:
            dwhere = self._where(tp.depth, di)
            depth = depth_from_msg(self._decode(tp.depth, depth_raw), dwhere, self.depth_scale)
            check_depth_units(depth, dwhere, self.depth_scale)
        return make_frame(
            int(self._ts_rgbd[p]), color, depth, cal.color, where, depth_intrinsics=cal.depth,
            depth_timestamp_ns=int(self._stamps[tp.depth][di]) if di >= 0 else None, index=p,
            color_encoded=encoded, color_encoding=enc,
        )

    def records(self) -> Iterator[Record]:
        """Stream the recording once, pairing colour and depth messages as they pass and holding
        each record back only until nothing earlier can still arrive (bounded by the colour↔depth
        and IMU skew), so records come out in timestamp order without loading the file."""
        tp = self.topics
        n = len(self._ts_rgbd)
        roles: dict[str, tuple[str, np.ndarray]] = {}
        for role, topic, idx in (("color", tp.color, self._pairs[0]), ("depth", tp.depth, self._pairs[1])):
            if topic:
                to_pair = np.full(len(self._stamps[topic]), -1)
                to_pair[idx] = np.arange(n)
                roles[topic] = (role, to_pair)
        parts_needed = len(roles)
        stream_imu = self._imu_cache is None and len(tp.imu) == 1
        imu_topic = tp.imu[0] if stream_imu else None
        imu_ts = self._stamps[imu_topic] if stream_imu else np.zeros(0, np.int64)
        cache = self._imu_cache
        end = np.iinfo(np.int64).max
        heap: list = []
        order = itertools.count()
        state = {"cache": 0}

        def release(horizon: int) -> Iterator[Record]:
            if cache is not None:
                j = state["cache"]
                stop = int(np.searchsorted(cache.timestamps_ns, horizon, side="right"))
                for i in range(j, stop):
                    heapq.heappush(heap, (int(cache.timestamps_ns[i]), next(order), cache[i]))
                state["cache"] = stop
            while heap and heap[0][0] <= horizon:
                t, _, item = heapq.heappop(heap)
                yield Record(t, "imu" if isinstance(item, ImuSample) else "rgbd", item)

        pending: dict[int, dict[str, bytes]] = {}
        done = np.zeros(n, bool)
        low = 0
        counts = dict.fromkeys([*roles, *([imu_topic] if imu_topic else [])], 0)
        for topic, raw in self._messages(list(counts)):
            k = counts[topic]
            counts[topic] += 1
            if topic == imu_topic:
                t, a, g = imu_from_msg(self._decode(topic, raw))
                heapq.heappush(heap, (t, next(order), ImuSample(t, a, g)))
            else:
                role, to_pair = roles[topic]
                p = int(to_pair[k]) if k < len(to_pair) else -1
                if p < 0:
                    continue
                got = pending.setdefault(p, {})
                got[role] = raw
                if len(got) == parts_needed:
                    del pending[p]
                    load = partial(self._frame, p, got.get("color"), got.get("depth"))
                    heapq.heappush(heap, (int(self._ts_rgbd[p]), next(order), load))
                    done[p] = True
                    while low < n and done[low]:
                        low += 1
            horizon = min(
                int(self._ts_rgbd[low]) if low < n else end,
                int(imu_ts[counts[imu_topic]]) if imu_topic and counts[imu_topic] < len(imu_ts) else end,
            )
            yield from release(horizon)
        yield from release(end)
