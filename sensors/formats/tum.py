"""TUM RGB-D sequences: reader and writer.

Layout (https://vision.in.tum.de/data/datasets/rgbd-dataset/file_formats)::

    rgb.txt, depth.txt       "timestamp filename" lines, '#' comments, timestamps in seconds
    rgb/*.png, depth/*.png   8-bit RGB; 16-bit depth, 5000 units per metre, 0 = no data
    groundtruth.txt          optional "timestamp tx ty tz qx qy qz qw": T_world_camera (colour camera)
    accelerometer.txt        optional "timestamp ax ay az" in m/s^2

This project adds two optional sidecars, written by :func:`write_tum` and read back here:
``calibration.json`` (:meth:`Calibration.to_dict`; its ``depth_scale`` overrides 5000) and
``gyroscope.txt`` ("timestamp gx gy gz" in rad/s, same timestamps as ``accelerometer.txt``).

Timestamps are parsed from their decimal text straight to int nanoseconds (never through a
float, which cannot hold a Unix time to the nanosecond). Colour and depth are associated by
nearest timestamp within ``max_gap_ns`` (20 ms by default, as TUM's ``associate.py``).

TUM recorded only an accelerometer. Without ``gyroscope.txt`` the IMU samples carry a gyroscope
reading of NaN: zeros would silently claim the camera never rotated, NaN makes any consumer that
needs angular rate fail visibly instead.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from ..errors import CalibrationError, EmptySessionError, FormatError, SyncError
from ..session import Reader, Record, Session
from ..sync import NS, ImuSeries, associate, check_timestamps
from ..types import Calibration, CameraIntrinsics, GroundTruth, Trajectory, orthonormalize
from ._atomic import atomic_path
from ._io import (
    check_depth_units,
    decode_color,
    decode_depth_raw,
    depth_to_metres,
    encode_color,
    image_encoding,
    make_frame,
    metres_to_depth,
    read_bytes,
)

TUM_DEPTH_SCALE = 5000.0

# Calibrated colour intrinsics TUM publishes for its three Kinects (file_formats page, table
# "Calibration of the color camera"; full precision as in ORB-SLAM2's Examples/RGB-D/TUM{1,2,3}.yaml).
# Depth is registered to colour by the OpenNI driver, so these apply to both images. fr1 and fr2
# images are stored distorted (radtan k1 k2 p1 p2 k3 below); fr3 images are already undistorted.
# TUM's page also gives the ROS default (fx = fy = 525, cx = 319.5, cy = 239.5) as a fallback for
# all sequences; the per-camera calibration is the more accurate choice.
FREIBURG_INTRINSICS = {
    "freiburg1": CameraIntrinsics(
        517.306408, 516.469215, 318.643040, 255.313989, 640, 480,
        (0.262383, -0.953104, -0.005358, 0.002628, 1.163314), "radtan",
    ),
    "freiburg2": CameraIntrinsics(
        520.908620, 521.007327, 325.141442, 249.701764, 640, 480,
        (0.231222, -0.784899, -0.003257, -0.000105, 0.917205), "radtan",
    ),
    "freiburg3": CameraIntrinsics(535.4, 539.2, 320.1, 247.6, 640, 480),
}

_TIME = re.compile(r"^(-?)(\d+)(?:\.(\d*))?$")


def parse_time_ns(text: str) -> int:
    """Decimal seconds (``"1305031102.175304"``) → exact int nanoseconds; digits beyond the
    ninth decimal are rounded. Raises ``ValueError`` on anything else (e.g. ``1e9``)."""
    m = _TIME.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a decimal timestamp in seconds")
    sign, sec, frac = m.group(1), int(m.group(2)), m.group(3) or ""
    ns = sec * NS + int(frac[:9].ljust(9, "0"))
    if len(frac) > 9 and frac[9] >= "5":
        ns += 1
    return -ns if sign else ns


def format_time(ns: int) -> str:
    """Int nanoseconds → exact ``sec.nanosec`` text (9 decimals)."""
    sign = "-" if ns < 0 else ""
    sec, frac = divmod(abs(int(ns)), NS)
    return f"{sign}{sec}.{frac:09d}"


def _read_table(path: Path, ncols: int, layout: str) -> tuple[np.ndarray, list[list[str]]]:
    """Rows of a TUM text file: (timestamps ns, the other columns as strings). ``,`` and tabs
    count as spaces, as in TUM's tools. Malformed lines raise naming the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise FormatError(f"cannot read file: {exc.strerror}", path) from None
    ts, rows = [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.replace(",", " ").replace("\t", " ").split()
        if len(fields) != ncols:
            raise FormatError(f"line {n}: expected {ncols} fields '{layout}', got {len(fields)}: '{line}'", path)
        try:
            ts.append(parse_time_ns(fields[0]))
        except ValueError as exc:
            raise FormatError(f"line {n}: {exc}", path) from None
        rows.append(fields[1:])
    return np.array(ts, dtype=np.int64), rows


def _read_vectors(path: Path, ncols: int, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """A TUM table of numbers: (timestamps ns, float64 values), checked finite and increasing."""
    ts, rows = _read_table(path, ncols, layout)
    try:
        values = np.array(rows, dtype=np.float64).reshape(len(rows), ncols - 1)
    except ValueError as exc:
        raise FormatError(f"non-numeric value: {exc}", path) from None
    if not np.all(np.isfinite(values)):
        n = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise FormatError(f"entry {n + 1} contains NaN or infinite values", path)
    return check_timestamps(ts, path, path.stem), values


class TumReader(Reader):
    """Reader for one TUM RGB-D sequence folder (e.g. ``rgbd_dataset_freiburg1_xyz``).

    Options: ``max_gap_ns`` (colour↔depth association window, default 20 ms);
    ``intrinsics`` (:class:`CameraIntrinsics` or its dict; an explicit value wins over
    ``calibration.json`` and the freiburg table); ``depth_scale`` (raw units per metre; default
    ``calibration.json``'s, else TUM's 5000).
    """

    format_name = "tum"

    def __init__(
        self,
        path: str | Path,
        max_gap_ns: int = 20_000_000,
        intrinsics: CameraIntrinsics | dict | None = None,
        depth_scale: float | None = None,
    ) -> None:
        super().__init__(path)
        if not self.path.is_dir():
            raise FormatError("TUM input must be a sequence folder holding rgb.txt and depth.txt", self.path)
        if max_gap_ns < 0:
            raise SyncError(f"max_gap_ns must be >= 0, got {max_gap_ns}", self.path)
        self._color_ts, self._color = self._image_list("rgb.txt")
        self._depth_ts, self._depth = self._image_list("depth.txt")
        self.association = associate(self._color_ts, self._depth_ts, max_gap_ns)
        if len(self.association) == 0:
            raise SyncError(
                f"no colour image has a depth image within {max_gap_ns / 1e6:g} ms; "
                "check the timestamps or pass a larger max_gap_ns", self.path,
            )
        self.calibration = self._calibration(intrinsics, depth_scale)
        self._imu = self._read_imu()
        gt = self.path / "groundtruth.txt"
        if gt.exists():
            self.ground_truth = GroundTruth(poses=self._trajectory(gt))

    # -- metadata -----------------------------------------------------------------------------
    def _image_list(self, name: str) -> tuple[np.ndarray, list[Path]]:
        listing = self.path / name
        if not listing.is_file():
            raise FormatError(f"{name} is missing", listing)
        ts, rows = _read_table(listing, 2, "timestamp filename")
        if not rows:
            raise EmptySessionError(f"{name} lists no images", listing)
        check_timestamps(ts, listing, name.removesuffix(".txt"))
        files = [self.path / r[0] for r in rows]
        for k, f in enumerate(files):
            if not f.is_file():
                raise FormatError(f"image listed in {name} (entry {k + 1}) is missing", f)
        return ts, files

    def _calibration(self, intrinsics: CameraIntrinsics | dict | None, depth_scale: float | None) -> Calibration:
        sidecar = self.path / "calibration.json"
        d: dict = {}
        if sidecar.exists():
            try:
                d = json.loads(sidecar.read_text())
            except (OSError, ValueError) as exc:
                raise CalibrationError(f"cannot parse calibration JSON: {exc}", sidecar) from None
            if not isinstance(d, dict):
                raise CalibrationError("calibration JSON must be an object", sidecar)
        scale = depth_scale if depth_scale is not None else d.get("depth_scale", TUM_DEPTH_SCALE)
        try:
            calib = Calibration.from_dict({**d, "depth_scale": scale})
        except CalibrationError as exc:
            raise CalibrationError(exc.problem, sidecar if d else self.path) from None
        if isinstance(intrinsics, dict):
            intrinsics = CameraIntrinsics.from_dict(intrinsics)
        camera = re.search(r"freiburg[123]", self.path.resolve().name)
        color = intrinsics or calib.color or (FREIBURG_INTRINSICS[camera.group()] if camera else None)
        if color is None:
            raise CalibrationError(
                "no camera intrinsics: there is no calibration.json with colour intrinsics and the folder name "
                "does not say which TUM camera (freiburg1/2/3) took it; pass intrinsics=CameraIntrinsics(...) "
                "to the reader",
                self.path,
            )
        return replace(calib, color=color)

    def _read_imu(self) -> ImuSeries:
        accel_file, gyro_file = self.path / "accelerometer.txt", self.path / "gyroscope.txt"
        if not accel_file.exists():
            return ImuSeries(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))
        ts, accel = _read_vectors(accel_file, 4, "timestamp ax ay az")
        gyro = np.full_like(accel, np.nan)
        if gyro_file.exists():
            gts, gyro = _read_vectors(gyro_file, 4, "timestamp gx gy gz")
            if not np.array_equal(gts, ts):
                raise SyncError("gyroscope timestamps must equal those of accelerometer.txt", gyro_file)
        return ImuSeries(ts + self.calibration.time_offset_ns, accel, gyro)

    @staticmethod
    def _trajectory(path: Path) -> Trajectory:
        from scipy.spatial.transform import Rotation

        ts, v = _read_vectors(path, 8, "timestamp tx ty tz qx qy qz qw")
        norms = np.linalg.norm(v[:, 3:], axis=1)
        if np.any(norms < 1e-6):
            raise FormatError(f"entry {int(np.argmax(norms < 1e-6)) + 1} has a zero quaternion", path)
        T = np.tile(np.eye(4), (len(ts), 1, 1))
        if len(ts):
            T[:, :3, :3] = Rotation.from_quat(v[:, 3:]).as_matrix()  # scalar-last (x, y, z, w)
        T[:, :3, 3] = v[:, :3]
        return Trajectory(ts, T, body="camera")

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and (path / "rgb.txt").is_file() and (path / "depth.txt").is_file()

    # -- data ---------------------------------------------------------------------------------
    def timestamps(self) -> dict[str, np.ndarray]:
        ts = {"rgbd": self._color_ts[self.association.index_a], "color": self._color_ts, "depth": self._depth_ts}
        if len(self._imu):
            ts["imu"] = self._imu.timestamps_ns
        return ts

    def imu(self) -> ImuSeries:
        return self._imu

    def _load(self, k: int):
        i, j = int(self.association.index_a[k]), int(self.association.index_b[k])
        cpath, dpath = self._color[i], self._depth[j]
        color_data = read_bytes(cpath)
        color = decode_color(color_data, cpath)
        scale = self.calibration.depth_scale
        depth = depth_to_metres(decode_depth_raw(read_bytes(dpath), dpath), scale)
        check_depth_units(depth, dpath, scale)
        return make_frame(
            int(self._color_ts[i]), color, depth, self.calibration.color, cpath,
            depth_intrinsics=self.calibration.depth, depth_timestamp_ns=int(self._depth_ts[j]), index=k,
            color_encoded=color_data, color_encoding=image_encoding(color_data),
        )

    def records(self) -> Iterator[Record]:
        rgbd = (
            Record(int(self._color_ts[i]), "rgbd", partial(self._load, k))
            for k, i in enumerate(self.association.index_a)
        )
        imu = (Record(int(t), "imu", self._imu[n]) for n, t in enumerate(self._imu.timestamps_ns))
        return heapq.merge(rgbd, imu, key=lambda r: r.timestamp_ns)


# -- writer -----------------------------------------------------------------------------------
def _vector_lines(ts: np.ndarray, values: np.ndarray) -> str:
    # repr of a Python float is the shortest text that reads back to the same float64
    return "".join(
        f"{format_time(t)} {' '.join(repr(float(x)) for x in row)}\n" for t, row in zip(ts, values, strict=True)
    )


def _write_depth(path: Path, raw: np.ndarray) -> None:
    if not cv2.imwrite(str(path), raw):
        raise FormatError("could not write depth PNG", path)


def _rescale(files: list[Path], old: float, new: float) -> None:
    """Re-encode already written depth PNGs from ``old`` to ``new`` units per metre, exactly."""
    for f in files:
        raw = metres_to_depth(depth_to_metres(decode_depth_raw(read_bytes(f), f), old, invalid=()), new)
        if raw is None:
            raise FormatError(f"depth cannot be stored exactly at {new:g} units per metre", f)
        _write_depth(f, raw)


def write_tum(session: Session, out_dir: str | Path, progress: Callable[[int], None] | None = None) -> Path:
    """Write ``session`` as a TUM RGB-D folder at ``out_dir`` (atomically: the folder appears
    only when complete) and return its path.

    Colour keeps the source's encoded bytes when it has them (``.png``/``.jpg``, lossless), else
    it is written as PNG. Depth is stored as uint16 PNG at TUM's 5000 units/m when that is exact,
    else at the session's ``depth_scale`` when that is exact, else :class:`FormatError`; the scale
    used goes into ``calibration.json``. IMU goes to ``accelerometer.txt`` (+ ``gyroscope.txt``),
    ground truth to ``groundtruth.txt`` (colour-camera poses). ``progress(1)`` is called per frame.
    TUM stores depth registered to colour, so sessions with separate depth intrinsics are refused.
    """
    from scipy.spatial.transform import Rotation

    calib = session.calibration
    out_dir = Path(out_dir)
    if not calib.depth_registered:
        raise FormatError(
            "TUM stores depth registered to the colour image (one set of intrinsics); this session's "
            "depth has its own camera: register depth to colour first", session.path,
        )
    scales = list(dict.fromkeys([TUM_DEPTH_SCALE, calib.depth_scale]))
    with atomic_path(out_dir, directory=True) as tmp:
        (tmp / "rgb").mkdir()
        (tmp / "depth").mkdir()
        rgb_lines, depth_lines, depth_files = [], [], []
        scale, intrinsics, prev = scales[0], calib.color, None
        for frame in session.frames():
            t = frame.timestamp_ns
            if frame.color is None or frame.depth_m is None:
                raise FormatError(f"frame {frame.index} at {t} ns lacks colour or depth; TUM needs both", session.path)
            if prev is not None and t <= prev:
                raise SyncError(f"frame {frame.index} timestamp {t} ns does not increase", session.path)
            prev, intrinsics = t, intrinsics or frame.intrinsics
            name = format_time(t)
            if frame.color_encoded is not None and frame.color_encoding in ("png", "jpeg"):
                cfile = f"rgb/{name}.{'jpg' if frame.color_encoding == 'jpeg' else 'png'}"
                (tmp / cfile).write_bytes(frame.color_encoded)
            else:
                cfile = f"rgb/{name}.png"
                (tmp / cfile).write_bytes(encode_color(frame.color))
            raw = metres_to_depth(frame.depth_m, scale)
            if raw is None:  # try the other scale; earlier frames are re-encoded to match
                for other in scales:
                    raw = metres_to_depth(frame.depth_m, other) if other != scale else None
                    if raw is not None:
                        _rescale(depth_files, scale, other)
                        scale = other
                        break
                else:
                    raise FormatError(
                        f"frame {frame.index} depth cannot be stored exactly as uint16 at "
                        f"{' or '.join(f'{s:g}' for s in scales)} units per metre", session.path,
                    )
            dname = format_time(frame.depth_timestamp_ns if frame.depth_timestamp_ns is not None else t)
            dfile = tmp / f"depth/{dname}.png"
            _write_depth(dfile, raw)
            depth_files.append(dfile)
            rgb_lines.append(f"{name} {cfile}\n")
            depth_lines.append(f"{dname} depth/{dfile.name}\n")
            if progress is not None:
                progress(1)
        (tmp / "rgb.txt").write_text("# color images\n# timestamp filename\n" + "".join(rgb_lines))
        (tmp / "depth.txt").write_text("# depth maps\n# timestamp filename\n" + "".join(depth_lines))

        imu = session.imu()
        if len(imu):
            (tmp / "accelerometer.txt").write_text(
                "# accelerometer data\n# timestamp ax ay az\n" + _vector_lines(imu.timestamps_ns, imu.accel_mps2)
            )
            if not np.all(np.isnan(imu.gyro_radps)):
                (tmp / "gyroscope.txt").write_text(
                    "# gyroscope data (spatial extension, rad/s)\n# timestamp gx gy gz\n"
                    + _vector_lines(imu.timestamps_ns, imu.gyro_radps)
                )

        gt = session.ground_truth.poses if session.ground_truth else None
        if gt is not None and len(gt):
            T = gt.T_world_body
            if gt.body != "camera":
                if calib.T_imu_camera is None:
                    raise FormatError(
                        f"ground truth is for the '{gt.body}' body and the session has no T_imu_camera "
                        "to turn it into camera poses, which TUM's groundtruth.txt holds", session.path,
                    )
                T = T @ calib.T_imu_camera
            q = Rotation.from_matrix(np.stack([orthonormalize(M)[:3, :3] for M in T])).as_quat()
            (tmp / "groundtruth.txt").write_text(
                "# ground truth trajectory\n# timestamp tx ty tz qx qy qz qw\n"
                + _vector_lines(gt.timestamps_ns, np.hstack([T[:, :3, 3], q]))
            )

        # IMU timestamps above are already on the camera clock, hence time_offset_ns = 0
        out_calib = replace(calib, color=intrinsics, depth_scale=scale, time_offset_ns=0)
        (tmp / "calibration.json").write_text(json.dumps(out_calib.to_dict(), indent=2) + "\n")
    return out_dir
