"""Azure Kinect (k4arecorder) Matroska recordings, read with PyAV only (no Azure Kinect SDK).

Tracks (found by title or by their ``K4A_*_TRACK`` tag):

* ``COLOR``: MJPG (each packet one JPEG, decoded with :func:`_io.decode_color` and kept in
  ``RGBDFrame.color_encoded``), or raw NV12, YUY2 (k4arecorder's ``720p_NV12``/``720p_YUY2``)
  or BGRA32 frames in ``V_MS/VFW/FOURCC`` tracks, converted to RGB with OpenCV (BT.601).
* ``DEPTH``: ``b16g`` raw frames, big-endian uint16 millimetres, 0 = invalid.
* ``IMU``: blocks of 40-byte samples ``<Q3fQ3f``: accelerometer timestamp [ns], accel xyz [m/s²],
  gyroscope timestamp [ns], gyro xyz [rad/s]. ``IR`` is ignored.
* attachment ``calibration.json`` (tag ``K4A_CALIBRATION_FILE``): the factory calibration.

**Time.** Block timestamps are relative to the recording start; like the SDK, image times are
``block time + K4A_START_OFFSET_NS`` (the device timestamp), while IMU samples carry their
device timestamps in the payload (the accelerometer's is used). Everything is on the device clock
in ns, so ``Calibration.time_offset_ns`` is 0.

**Calibration** (as the SDK's ``calibration.c`` and ``mode_specific_calibration.c`` do it).
Intrinsics are stored normalised by the sensor size (``cx, cy, fx, fy, k1..k6, codx, cody, p2,
p1``). For an output mode with binned sensor size ``(bw, bh)`` and crop offset ``(ox, oy)``:
``fx = fx_n·bw``, ``fy = fy_n·bh``, ``cx = cx_n·bw − ox − 0.5``, ``cy = cy_n·bh − oy − 0.5``
(the −0.5 moves (0, 0) from the corner to the centre of the top-left pixel, OpenCV's
convention). The mode is identified by the track's image size. Distortion is returned in
OpenCV's ``rational_polynomial`` order (k1, k2, p1, p2, k3, k4, k5, k6); K4A's Brown-Conrady
model is that model (centre of distortion 0); its metric-radius validity limit is not kept.
Each sensor's ``Rt`` maps depth-camera points into that sensor's frame, translation in
**metres**: ``T_color_depth = Rt_color·Rt_depth⁻¹`` and
``T_imu_camera = Rt_accel·Rt_color⁻¹`` (the IMU frame is the accelerometer's; gyro readings are
rotated into it with ``R_accel·R_gyroᵀ``, a ~0.2° correction). Colour and depth are not
registered: ``Calibration.depth`` is set and frames carry ``depth_intrinsics``.

Colour and depth packets of one capture are paired by nearest timestamp within half a frame
period plus the configured depth delay (``K4A_DEPTH_DELAY_NS``, :func:`sync.associate`);
unpaired packets are counted in ``association`` and skipped.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import CalibrationError, FormatError
from ..session import Reader, Record
from ..sync import ImuSeries, associate, check_timestamps
from ..types import Calibration, CameraIntrinsics, ImuSample, as_transform, orthonormalize
from ._io import check_depth_units, decode_color, depth_to_metres, make_frame

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_SEGMENT_ID = 0x18538067
# raw colour (FFmpeg pixel format) -> (bytes per pixel, OpenCV conversion to RGB; None: BGRA)
RAW_COLOR = {
    "nv12": (1.5, cv2.COLOR_YUV2RGB_NV12),
    "yuyv422": (2, cv2.COLOR_YUV2RGB_YUY2),
    "bgra": (4, None),
    "bgr0": (4, None),
}
IMU_SAMPLE = np.dtype([("acc_ts", "<u8"), ("acc", "<f4", 3), ("gyro_ts", "<u8"), ("gyro", "<f4", 3)])

# output (width, height) -> (binned sensor size, crop offset), from the SDK's mode tables
COLOR_MODES = {
    (1280, 720): ((1280, 960), (0, 120)),
    (1920, 1080): ((1920, 1440), (0, 180)),
    (2560, 1440): ((2560, 1920), (0, 240)),
    (2048, 1536): ((2048, 1536), (0, 0)),
    (3840, 2160): ((3840, 2880), (0, 360)),
    (4096, 3072): ((4096, 3072), (0, 0)),
}
DEPTH_MODES = {  # NFOV 2x2 binned, NFOV unbinned, WFOV 2x2 binned, WFOV unbinned / passive IR
    (320, 288): ((512, 512), (96, 90)),
    (640, 576): ((1024, 1024), (192, 180)),
    (512, 512): ((512, 512), (0, 0)),
    (1024, 1024): ((1024, 1024), (0, 0)),
}


def _vint(buf: bytes, i: int) -> tuple[int, int, bool]:
    """EBML variable-length integer at ``buf[i]``: (value without length marker, next index, all-ones)."""
    n = 9 - buf[i].bit_length()
    if n > 8 or i + n > len(buf):
        raise IndexError
    raw = int.from_bytes(buf[i : i + n], "big") & ((1 << (7 * n)) - 1)
    return raw, i + n, raw == (1 << (7 * n)) - 1


def check_matroska(path: Path) -> None:
    """Raise :class:`FormatError` unless ``path`` starts with an EBML header and holds the whole
    Matroska segment its header declares (FFmpeg silently drops blocks of a truncated file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
        size = path.stat().st_size
    except OSError as exc:
        raise FormatError(f"cannot read file: {exc.strerror}", path) from None
    if head[:4] != EBML_MAGIC:
        raise FormatError("not a Matroska/MKV file (no EBML header)", path)
    try:
        hsize, i, _ = _vint(head, 4)
        i += hsize
        seg_id = int.from_bytes(head[i : i + 4], "big")
        seg_size, start, unknown = _vint(head, i + 4)
    except IndexError:
        raise FormatError("Matroska header is truncated or corrupt", path) from None
    if seg_id != _SEGMENT_ID:
        raise FormatError("Matroska file has no Segment after its EBML header", path)
    if not unknown and start + seg_size > size:
        raise FormatError(
            f"file is truncated: its Matroska segment declares {start + seg_size} bytes but the file has {size}", path
        )


def _ns(pts: int, time_base: Fraction) -> int:
    return int(pts * time_base * 1_000_000_000)


def _Rt(entry: dict, what: str, path: Path) -> np.ndarray:
    try:
        T = np.eye(4)
        T[:3, :3] = np.asarray(entry["Rt"]["Rotation"], dtype=np.float64).reshape(3, 3)  # row-major
        T[:3, 3] = np.asarray(entry["Rt"]["Translation"], dtype=np.float64).reshape(3)  # metres
        return orthonormalize(as_transform(T, f"{what} Rt"))
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{what} has no valid Rt (Rotation[9], Translation[3]): {exc}", path) from None
    except CalibrationError as exc:
        raise CalibrationError(exc.problem, path) from None


def _intrinsics(cam: dict, size: tuple[int, int], depth: bool, path: Path) -> CameraIntrinsics:
    """Pixel intrinsics of one camera for the recording's image ``size`` (see module docs)."""
    what = "depth camera" if depth else "colour camera"
    try:
        p = [float(v) for v in cam["Intrinsics"]["ModelParameters"]]
        sw, sh = int(cam["SensorWidth"]), int(cam["SensorHeight"])
        model = cam["Intrinsics"]["ModelType"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{what} calibration is incomplete: {exc}", path) from None
    if model != "CALIBRATION_LensDistortionModelBrownConrady" or len(p) < 14:
        raise CalibrationError(f"{what}: unsupported lens model {model} with {len(p)} parameters", path)
    cx, cy, fx, fy = p[:4]
    if not depth and sw * 9 // 16 == sh:  # legacy 16:9 calibration → the 4:3 sensor (SDK does the same)
        cy, fy = (cy * sh + 384) / (sw * 3 / 4), fy * sh / (sw * 3 / 4)
    elif (sw, sh) != ((1024, 1024) if depth else (sw, sw * 3 // 4)):
        raise CalibrationError(f"{what}: unexpected sensor size {sw}x{sh}", path)
    modes = DEPTH_MODES if depth else COLOR_MODES
    if size not in modes:
        raise FormatError(f"{what} image size {size[0]}x{size[1]} is not an Azure Kinect mode", path)
    (bw, bh), (ox, oy) = modes[size]
    k1, k2, k3, k4, k5, k6, _codx, _cody, p2, p1 = p[4:14]
    try:
        return CameraIntrinsics(
            fx * bw, fy * bh, cx * bw - ox - 0.5, cy * bh - oy - 0.5, size[0], size[1],
            (k1, k2, p1, p2, k3, k4, k5, k6), "rational_polynomial",
        )
    except CalibrationError as exc:
        raise CalibrationError(f"{what}: {exc.problem}", path) from None


def _find(container, kind: str, title: str):
    for s in container.streams:
        if s.type == kind and (s.metadata.get("title") == title or f"K4A_{title}_TRACK" in s.metadata):
            return s
    return None


class K4aMkvReader(Reader):
    """Reader for an Azure Kinect ``.mkv`` recording (colour + depth + IMU, see module docs)."""

    format_name = "k4a-mkv"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        check_matroska(self.path)
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise FormatError(f"cannot open as Matroska: {exc}", self.path) from None
        with container:
            color, depth = _find(container, "video", "COLOR"), _find(container, "video", "DEPTH")
            imu = _find(container, "subtitle", "IMU") or _find(container, "data", "IMU")
            if depth is None:
                raise FormatError("recording has no DEPTH track (not an Azure Kinect RGB-D recording)", self.path)
            if color is None:
                raise FormatError("recording has no COLOR track; depth-only recordings are not supported", self.path)
            cc = color.codec_context
            self._color_format = cc.name if cc.name == "mjpeg" else cc.pix_fmt if cc.name == "rawvideo" else None
            if self._color_format not in RAW_COLOR and self._color_format != "mjpeg":
                mode = color.metadata.get("K4A_COLOR_MODE", f"{cc.name}/{cc.pix_fmt}")
                raise FormatError(f"colour track is {mode}; supported: MJPG, NV12, YUY2, BGRA32", self.path)
            if depth.codec_context.codec_tag != "b16g":
                raise FormatError(f"depth track codec is '{depth.codec_context.codec_tag}', expected 'b16g'", self.path)
            self._color_size = (color.codec_context.width, color.codec_context.height)
            self._depth_size = (depth.codec_context.width, depth.codec_context.height)
            self._color_index, self._depth_index = color.index, depth.index
            self.calibration, R_acc_gyro = self._calibration(container)
            try:
                start_ns = int(container.metadata.get("K4A_START_OFFSET_NS", 0))
                delay_ns = abs(int(container.metadata.get("K4A_DEPTH_DELAY_NS", 0)))
            except ValueError:
                raise FormatError("K4A_START_OFFSET_NS or K4A_DEPTH_DELAY_NS tag is not an integer", self.path) from None
            fps = float(color.average_rate or 30)

            ts: dict[int, list[int]] = {color.index: [], depth.index: []}
            blocks = []
            for packet in container.demux([s for s in (color, depth, imu) if s is not None]):
                if packet.size == 0:
                    continue
                if imu is not None and packet.stream.index == imu.index:
                    if packet.size % IMU_SAMPLE.itemsize:
                        raise FormatError(f"IMU block of {packet.size} bytes is not a multiple of 40", self.path)
                    blocks.append(np.frombuffer(bytes(packet), IMU_SAMPLE))
                    continue
                pts = packet.pts if packet.pts is not None else packet.dts
                if pts is None:
                    raise FormatError(f"{packet.stream.metadata.get('title')} packet has no timestamp", self.path)
                ts[packet.stream.index].append(_ns(pts, packet.time_base) + start_ns)

        self._color_ts = check_timestamps(ts[self._color_index], self.path, "colour")
        self._depth_ts = check_timestamps(ts[self._depth_index], self.path, "depth")
        s = np.concatenate(blocks) if blocks else np.zeros(0, IMU_SAMPLE)
        self._imu = ImuSeries(
            check_timestamps(s["acc_ts"].astype(np.int64), self.path, "IMU"),
            s["acc"].astype(np.float64),
            s["gyro"].astype(np.float64) @ R_acc_gyro.T,
        )
        self.association = associate(self._color_ts, self._depth_ts, int(1e9 / fps / 2) + delay_ns)

    def _calibration(self, container) -> tuple[Calibration, np.ndarray]:
        att = next(
            (s for s in container.streams
             if s.type == "attachment" and ("K4A_CALIBRATION_FILE" in s.metadata or s.name == "calibration.json")),
            None,
        )
        if att is None:
            raise CalibrationError("recording has no calibration.json attachment", self.path)
        try:
            info = json.loads(att.data)["CalibrationInformation"]
            cams = {c["Location"]: c for c in info["Cameras"]}
            imus = {s["SensorType"]: s for s in info["InertialSensors"]}
            depth_cam, color_cam = cams["CALIBRATION_CameraLocationD0"], cams["CALIBRATION_CameraLocationPV0"]
            acc, gyro = imus["CALIBRATION_InertialSensorType_Accelerometer"], imus["CALIBRATION_InertialSensorType_Gyro"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"calibration.json attachment is invalid or incomplete: {exc!r}", self.path) from None
        T_depth, T_color = _Rt(depth_cam, "depth camera", self.path), _Rt(color_cam, "colour camera", self.path)
        T_acc, T_gyro = _Rt(acc, "accelerometer", self.path), _Rt(gyro, "gyroscope", self.path)
        cal = Calibration(
            color=_intrinsics(color_cam, self._color_size, False, self.path),
            depth=_intrinsics(depth_cam, self._depth_size, True, self.path),
            T_color_depth=T_color @ np.linalg.inv(T_depth),
            T_imu_camera=T_acc @ np.linalg.inv(T_color),
            depth_scale=1000.0,
        )
        return cal, T_acc[:3, :3] @ T_gyro[:3, :3].T

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.suffix.lower() != ".mkv" or not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(65536)
        return head[:4] == EBML_MAGIC and (b"K4A_" in head or b"calibration.json" in head)

    def timestamps(self) -> dict[str, np.ndarray]:
        return {
            "rgbd": self._color_ts[self.association.index_a],
            "color": self._color_ts,
            "depth": self._depth_ts,
            "imu": self._imu.timestamps_ns,
        }

    def imu(self) -> ImuSeries:
        return self._imu

    def _frame(self, k: int, color_data: bytes, depth_data: bytes):
        w, h = self._depth_size
        if len(depth_data) != w * h * 2:
            raise FormatError(f"depth frame {k} has {len(depth_data)} bytes, expected {w * h * 2} for {w}x{h}", self.path)
        depth = depth_to_metres(np.frombuffer(depth_data, ">u2").reshape(h, w), 1000.0)
        check_depth_units(depth, self.path, 1000.0)
        ci, di = self.association.index_a[k], self.association.index_b[k]
        where = f"{self.path} (colour frame {ci})"
        jpeg = self._color_format == "mjpeg"
        color = decode_color(color_data, where) if jpeg else _raw_color(color_data, self._color_format, self._color_size, where)
        return make_frame(
            int(self._color_ts[ci]), color, depth, self.calibration.color, self.path,
            depth_intrinsics=self.calibration.depth, depth_timestamp_ns=int(self._depth_ts[di]), index=k,
            color_encoded=color_data if jpeg else None, color_encoding="jpeg" if jpeg else None,
        )

    def _frame_records(self) -> Iterator[Record]:
        """Demux colour and depth again, yielding each pair as soon as both packets are read
        (memory stays bounded by the interleaving of the two tracks)."""
        pair_of = {(self._color_index, int(i)): k for k, i in enumerate(self.association.index_a)}
        pair_of.update({(self._depth_index, int(i)): k for k, i in enumerate(self.association.index_b)})
        pending: dict[int, dict[int, bytes]] = {}
        seen = {self._color_index: 0, self._depth_index: 0}
        nxt, n = 0, len(self.association)
        with av.open(str(self.path)) as container:
            streams = [container.streams[self._color_index], container.streams[self._depth_index]]
            for packet in container.demux(streams):
                if packet.size == 0:
                    continue
                key = (packet.stream.index, seen[packet.stream.index])
                seen[packet.stream.index] += 1
                if key in pair_of:
                    pending.setdefault(pair_of[key], {})[key[0]] = bytes(packet)
                while nxt < n and len(pending.get(nxt, ())) == 2:
                    parts = pending.pop(nxt)
                    t = int(self._color_ts[self.association.index_a[nxt]])
                    yield Record(t, "rgbd", partial(self._frame, nxt, parts[self._color_index], parts[self._depth_index]))
                    nxt += 1
        if nxt < n:
            raise FormatError(f"only {nxt} of {n} colour/depth pairs could be read again; was the file modified?", self.path)

    def records(self) -> Iterator[Record]:
        s = self._imu
        imu = (
            Record(t, "imu", ImuSample(t, a, g))
            for t, a, g in zip(s.timestamps_ns.tolist(), s.accel_mps2, s.gyro_radps, strict=True)
        )
        return heapq.merge(imu, self._frame_records(), key=lambda r: (r.timestamp_ns, r.kind == "rgbd"))


def _raw_color(data: bytes, pix_fmt: str, size: tuple[int, int], where: str) -> np.ndarray:
    """RGB uint8 from one raw NV12 / YUY2 / BGRA frame of ``size`` (width, height)."""
    w, h = size
    bpp, code = RAW_COLOR[pix_fmt]
    if len(data) != int(w * h * bpp):
        raise FormatError(f"{pix_fmt} frame has {len(data)} bytes, expected {int(w * h * bpp)} for {w}x{h}", where)
    a = np.frombuffer(data, np.uint8)
    if pix_fmt == "nv12":
        return cv2.cvtColor(a.reshape(h * 3 // 2, w), code)
    if pix_fmt == "yuyv422":
        return cv2.cvtColor(a.reshape(h, w, 2), code)
    return np.ascontiguousarray(a.reshape(h, w, 4)[..., 2::-1])
