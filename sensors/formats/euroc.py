"""EuRoC MAV / ASL folder layout (``mav0/``): IMU, one grayscale camera and ground truth.

Layout read (``path`` is the ``mav0`` folder or the folder holding it)::

    imu0/data.csv      timestamp [ns], w_RS_S_x/y/z [rad/s], a_RS_S_x/y/z [m/s²]  (gyro first)
    imu0/sensor.yaml   T_BS (IMU pose in the body frame), noise densities and random walks
    cam0/data.csv      timestamp [ns], filename        (images in cam0/data/<filename>)
    cam0/sensor.yaml   T_BS (camera pose in the body frame), pinhole intrinsics, distortion
    state_groundtruth_estimate0/data.csv   timestamp, p_RS_R xyz [m], q_RS wxyz (Hamilton), v, biases

Timestamps are parsed as int64 nanoseconds (never through float64, which would lose them).
``sensor.yaml`` files start with OpenCV's ``%YAML:1.0`` line, which is skipped.

* IMU and camera share the device clock, so ``Calibration.time_offset_ns`` is 0.
* ``Calibration.T_imu_camera = inv(T_BS_imu) @ T_BS_cam`` (identity ``T_BS_imu`` in EuRoC).
* The camera is monochrome: frames carry the grayscale image replicated to RGB in ``color``
  and ``depth_m = None``; ``Calibration.color`` holds its intrinsics (``radtan`` distortion).
* Ground truth is the pose of the IMU in the world (Vicon, z up): ``Trajectory(body="imu")``,
  ``T_world_imu = T_RS_gt @ inv(T_BS_gt) @ T_BS_imu`` (``T_BS_gt`` from
  ``state_groundtruth_estimate0/sensor.yaml``, identity when absent).
* Images may be left out of a copy while ``cam0/data.csv`` still lists them. When **none** of
  the listed images exists, :attr:`EurocReader.images_present` is ``False``: the session has
  IMU and ground truth only, :meth:`timestamps` still reports the camera times as ``"cam0"``
  (so rates show in ``spatial info``) but there is no ``"rgbd"`` stream. When only **some**
  are missing, that is lost data and a :class:`FormatError` names the first missing file.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import yaml

from ..errors import CalibrationError, FormatError
from ..session import Reader, Record
from ..sync import ImuSeries, check_timestamps
from ..types import (
    Calibration,
    CameraIntrinsics,
    GroundTruth,
    ImuNoise,
    ImuSample,
    Trajectory,
    as_transform,
    orthonormalize,
)
from ._io import decode_color, image_encoding, make_frame, read_bytes

log = logging.getLogger(__name__)

_GT = "state_groundtruth_estimate0"
_DISTORTION = {"radial-tangential": "radtan", "radtan": "radtan", "equidistant": "equidistant", "none": "none"}
_NOISE = {
    "gyro_noise_density": "gyroscope_noise_density",
    "gyro_random_walk": "gyroscope_random_walk",
    "accel_noise_density": "accelerometer_noise_density",
    "accel_random_walk": "accelerometer_random_walk",
}


def _data_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, text) of every non-blank, non-comment line of a CSV file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError("file is missing", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read file: {exc}", path) from None
    return [(i, s) for i, line in enumerate(text.splitlines(), 1) if (s := line.strip()) and not s.startswith("#")]


def _bad_row(path: Path, lineno: int, line: str, ncols: int) -> FormatError | None:
    """Explain what is wrong with one CSV row (``None`` when it parses)."""
    parts = line.split(",")
    if len(parts) != ncols + 1:
        return FormatError(f"line {lineno}: expected {ncols + 1} comma-separated values, got {len(parts)}", path)
    try:
        int(parts[0])
    except ValueError:
        try:
            float(parts[0])
            hint = " (it was written as a float, which loses nanoseconds: re-export with integer timestamps)"
        except ValueError:
            hint = ""
        return FormatError(f"line {lineno}: timestamp '{parts[0].strip()}' is not an integer of nanoseconds{hint}", path)
    for j, p in enumerate(parts[1:], 2):
        try:
            float(p)
        except ValueError:
            return FormatError(f"line {lineno}, column {j}: '{p.strip()}' is not a number", path)
    return None


def read_numeric_csv(path: Path, ncols: int, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse an ASL CSV of ``timestamp_ns`` + ``ncols`` numbers: (int64 (N,), float64 (N, ncols),
    file line numbers (N,)). Raises :class:`FormatError` naming the file and line of a malformed,
    NaN or infinite row and :class:`~sensors.errors.SyncError` on non-increasing timestamps."""
    rows = _data_lines(path)
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, ncols)), np.zeros(0, np.int64)
    dtype = [("t", "<i8"), ("v", "<f8", (ncols,))]
    try:
        arr = np.loadtxt([r for _, r in rows], delimiter=",", dtype=dtype, ndmin=1)
    except ValueError as exc:
        for lineno, line in rows:
            if (err := _bad_row(path, lineno, line, ncols)) is not None:
                raise err from None
        raise FormatError(f"cannot parse {what} rows: {exc}", path) from None
    lines = np.array([i for i, _ in rows], dtype=np.int64)
    values = arr["v"].reshape(-1, ncols)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if len(bad):
        raise FormatError(f"line {lines[bad[0]]}: NaN or infinite {what} value ({len(bad)} such rows)", path)
    return check_timestamps(arr["t"], path, what), values, lines


def read_sensor_yaml(path: Path) -> dict:
    """Load an ASL ``sensor.yaml`` (skipping OpenCV's ``%YAML:1.0`` line); missing or unreadable
    files raise :class:`CalibrationError`."""
    if not path.is_file():
        raise CalibrationError("sensor calibration file is missing", path)
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("%YAML"))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationError(f"cannot parse YAML: {exc}", path) from None
    if not isinstance(data, dict):
        raise CalibrationError("expected a YAML mapping of sensor parameters", path)
    return data


def _T_BS(cfg: dict, path: Path) -> np.ndarray:
    """The sensor's pose in the body frame, ``T_BS`` (``{rows, cols, data}`` or a nested list)."""
    raw = cfg.get("T_BS")
    if raw is None:
        raise CalibrationError("T_BS (sensor pose in the body frame) is missing", path)
    try:
        T = np.asarray(raw["data"] if isinstance(raw, dict) else raw, dtype=np.float64).reshape(4, 4)
        return orthonormalize(as_transform(T, "T_BS"))
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"T_BS must be a 4x4 matrix: {exc}", path) from None
    except CalibrationError as exc:
        raise CalibrationError(exc.problem, path) from None


def _intrinsics(cfg: dict, path: Path) -> CameraIntrinsics:
    if cfg.get("camera_model", "pinhole") != "pinhole":
        raise CalibrationError(f"camera_model '{cfg.get('camera_model')}' is not supported (only pinhole)", path)
    dist = str(cfg.get("distortion_model", "none"))
    if dist not in _DISTORTION:
        raise CalibrationError(f"distortion_model '{dist}' is not supported (expected one of {list(_DISTORTION)})", path)
    try:
        fx, fy, cx, cy = (float(v) for v in cfg["intrinsics"])
        w, h = (int(v) for v in cfg["resolution"])
        coeffs = tuple(float(v) for v in cfg.get("distortion_coefficients", ()))
        return CameraIntrinsics(fx, fy, cx, cy, w, h, coeffs, _DISTORTION[dist])
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"intrinsics [fu, fv, cu, cv] and resolution [w, h] are required: {exc}", path) from None
    except CalibrationError as exc:
        raise CalibrationError(exc.problem, path) from None


class EurocReader(Reader):
    """Reader for an ASL/EuRoC ``mav0`` folder (IMU, one camera, ground truth).

    ``camera``: which camera folder to read (``"cam0"`` or ``"cam1"``).
    """

    format_name = "euroc"

    def __init__(self, path: str | Path, camera: str = "cam0") -> None:
        super().__init__(path)
        root = self.path / "mav0" if (self.path / "mav0").is_dir() else self.path
        if not root.is_dir():
            raise FormatError("EuRoC input must be a mav0 folder or the folder holding it", self.path)
        self.root = root
        self.camera = camera
        imu_dir, cam_dir = root / "imu0", root / camera
        has_imu, has_cam = (imu_dir / "data.csv").is_file(), (cam_dir / "data.csv").is_file()
        if not (has_imu or has_cam):
            raise FormatError(f"no imu0/data.csv or {camera}/data.csv: not an ASL/EuRoC mav0 folder", root)

        T_B_imu = np.eye(4)
        noise = None
        empty = np.zeros((0, 3))
        self._imu = ImuSeries(np.zeros(0, np.int64), empty, empty)
        if has_imu:
            cfg_path = imu_dir / "sensor.yaml"
            cfg = read_sensor_yaml(cfg_path)
            T_B_imu = _T_BS(cfg, cfg_path)
            if all(k in cfg for k in _NOISE.values()):
                try:
                    noise = ImuNoise(**{ours: float(cfg[theirs]) for ours, theirs in _NOISE.items()})
                except (TypeError, ValueError) as exc:
                    raise CalibrationError(f"IMU noise parameters must be numbers: {exc}", cfg_path) from None
            ts, v, _ = read_numeric_csv(imu_dir / "data.csv", 6, "IMU")
            self._imu = ImuSeries(ts, v[:, 3:6], v[:, 0:3])  # file order: gyro, then accel

        color, T_imu_cam = None, None
        self._cam_ts = np.zeros(0, np.int64)
        self._images: list[Path] = []
        self.images_present = False
        if has_cam:
            cfg_path = cam_dir / "sensor.yaml"
            cfg = read_sensor_yaml(cfg_path)
            color = _intrinsics(cfg, cfg_path)
            T_imu_cam = np.linalg.inv(T_B_imu) @ _T_BS(cfg, cfg_path) if has_imu else None
            self._read_camera(cam_dir)

        self.calibration = Calibration(color=color, T_imu_camera=T_imu_cam, imu_noise=noise)
        self.ground_truth = self._ground_truth(root / _GT, T_B_imu)

    def _read_camera(self, cam_dir: Path) -> None:
        csv = cam_dir / "data.csv"
        ts, names, linenos = [], [], []
        for lineno, line in _data_lines(csv):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 2 or not parts[1]:
                raise FormatError(f"line {lineno}: expected 'timestamp [ns],filename', got '{line}'", csv)
            try:
                ts.append(int(parts[0]))
            except ValueError:
                raise FormatError(f"line {lineno}: timestamp '{parts[0]}' is not an integer of nanoseconds", csv) from None
            names.append(parts[1])
            linenos.append(lineno)
        self._cam_ts = check_timestamps(np.array(ts, dtype=np.int64), csv, f"{self.camera} image")
        data_dir = cam_dir / "data"
        present = {e.name for e in os.scandir(data_dir)} if data_dir.is_dir() else set()
        found = [n in present for n in names]
        if names and not any(found):
            log.info("%s: none of the %d listed images exists; reading IMU and ground truth only", data_dir, len(names))
        elif not all(found):
            k = found.index(False)
            raise FormatError(
                f"image listed on line {linenos[k]} of {csv} is missing "
                f"({found.count(False)} of {len(names)} listed images missing)", data_dir / names[k]
            )
        self.images_present = bool(names) and all(found)
        self._images = [data_dir / n for n in names] if self.images_present else []

    def _ground_truth(self, gt_dir: Path, T_B_imu: np.ndarray) -> GroundTruth | None:
        csv = gt_dir / "data.csv"
        if not csv.is_file():
            return None
        ts, v, lines = read_numeric_csv(csv, 16, "ground-truth")
        if len(ts) == 0:
            log.info("%s: ground-truth file holds no poses; ignoring it", csv)
            return None
        q = v[:, 3:7]  # w, x, y, z
        norm = np.linalg.norm(q, axis=1)
        bad = np.flatnonzero(np.abs(norm - 1.0) > 1e-3)
        if len(bad):
            raise FormatError(f"line {lines[bad[0]]}: orientation quaternion has norm {norm[bad[0]]:.6f}, expected 1", csv)
        from scipy.spatial.transform import Rotation

        T = np.tile(np.eye(4), (len(ts), 1, 1))
        T[:, :3, :3] = Rotation.from_quat((q / norm[:, None])[:, [1, 2, 3, 0]]).as_matrix()
        T[:, :3, 3] = v[:, 0:3]
        cfg_path = gt_dir / "sensor.yaml"
        T_B_gt = _T_BS(read_sensor_yaml(cfg_path), cfg_path) if cfg_path.is_file() else np.eye(4)
        T = T @ (np.linalg.inv(T_B_gt) @ T_B_imu)
        return GroundTruth(poses=Trajectory(ts, T, body="imu"))

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and any(
            (p / "imu0" / "data.csv").is_file() or (p / "cam0" / "data.csv").is_file() for p in (path, path / "mav0")
        )

    def timestamps(self) -> dict[str, np.ndarray]:
        out = {"imu": self._imu.timestamps_ns, self.camera: self._cam_ts}
        if self.images_present:
            out["rgbd"] = self._cam_ts
        return out

    def imu(self) -> ImuSeries:
        return self._imu

    def _load(self, k: int):
        f = self._images[k]
        data = read_bytes(f)
        return make_frame(
            int(self._cam_ts[k]), decode_color(data, f), None, self.calibration.color, f,
            index=k, color_encoded=data, color_encoding=image_encoding(data),
        )

    def _imu_records(self) -> Iterator[Record]:
        s = self._imu
        for t, a, g in zip(s.timestamps_ns.tolist(), s.accel_mps2, s.gyro_radps, strict=True):
            yield Record(t, "imu", ImuSample(t, a, g))

    def _frame_records(self) -> Iterator[Record]:
        for k, t in enumerate(self._cam_ts.tolist() if self.images_present else ()):
            yield Record(t, "rgbd", partial(self._load, k))

    def records(self) -> Iterator[Record]:
        # on equal timestamps the frame comes after the IMU reading taken at the same instant
        return heapq.merge(self._imu_records(), self._frame_records(), key=lambda r: (r.timestamp_ns, r.kind == "rgbd"))
