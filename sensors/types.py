"""Core data types shared by every reader, driver and processing stage.

Conventions (see DESIGN.md):

* timestamps are ``int`` nanoseconds on the session clock;
* camera frames follow OpenCV (x right, y down, z forward); the world is z-up, metres;
* rigid transforms are 4x4 float64 matrices named ``T_<to>_<from>``: ``T_world_camera``
  maps points in the camera frame to the world frame;
* colour is ``uint8`` HxWx3 **RGB**, depth is ``float32`` HxW **metres** with 0 = invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import CalibrationError, SyncError

DISTORTION_MODELS = ("none", "radtan", "brown_conrady", "equidistant", "rational_polynomial")


def as_transform(T: np.ndarray | list, name: str = "transform") -> np.ndarray:
    """Return ``T`` as a validated 4x4 float64 rigid transform (rotation orthonormal to 1e-3)."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise CalibrationError(f"{name} must be a 4x4 matrix, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise CalibrationError(f"{name} contains NaN or infinite values")
    if not np.allclose(T[3], (0.0, 0.0, 0.0, 1.0), atol=1e-9):
        raise CalibrationError(f"{name} last row must be [0 0 0 1], got {T[3].tolist()}")
    R = T[:3, :3]
    if np.abs(R @ R.T - np.eye(3)).max() > 1e-3 or np.linalg.det(R) < 0:
        raise CalibrationError(f"{name} rotation block is not a proper rotation")
    return T


def orthonormalize(T: np.ndarray) -> np.ndarray:
    """Project the rotation block of a 4x4 transform onto SO(3) (SVD), keeping translation."""
    T = np.array(T, dtype=np.float64)
    U, _, Vt = np.linalg.svd(T[:3, :3])
    R = U @ Vt
    if np.linalg.det(R) < 0:
        U[:, -1] *= -1
        R = U @ Vt
    T[:3, :3] = R
    return T


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels, with optional lens distortion.

    ``distortion`` holds OpenCV-ordered coefficients for ``distortion_model``:
    ``radtan``/``brown_conrady``/``rational_polynomial`` → (k1, k2, p1, p2[, k3[, k4, k5, k6]]),
    ``equidistant`` → (k1, k2, k3, k4).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] = ()
    distortion_model: str = "none"

    def __post_init__(self) -> None:
        for name in ("fx", "fy"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise CalibrationError(f"intrinsics {name} must be a positive focal length in pixels, got {v}")
        if self.width <= 0 or self.height <= 0:
            raise CalibrationError(f"intrinsics image size must be positive, got {self.width}x{self.height}")
        if not (np.isfinite(self.cx) and np.isfinite(self.cy)):
            raise CalibrationError("intrinsics principal point is not finite")
        if self.distortion_model not in DISTORTION_MODELS:
            raise CalibrationError(
                f"unknown distortion model '{self.distortion_model}', expected one of {DISTORTION_MODELS}"
            )
        object.__setattr__(self, "distortion", tuple(float(d) for d in self.distortion))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def K(self) -> np.ndarray:
        """3x3 camera matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.width, self.height

    @property
    def has_distortion(self) -> bool:
        return self.distortion_model != "none" and any(d != 0.0 for d in self.distortion)

    @classmethod
    def from_K(cls, K: np.ndarray, width: int, height: int, **kw) -> CameraIntrinsics:
        K = np.asarray(K, dtype=np.float64)
        if K.shape != (3, 3):
            raise CalibrationError(f"camera matrix must be 3x3, got shape {K.shape}")
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), width, height, **kw)

    def scaled(self, factor: float) -> CameraIntrinsics:
        """Intrinsics for the image resized by ``factor`` (pixel-centre convention)."""
        return CameraIntrinsics(
            self.fx * factor,
            self.fy * factor,
            (self.cx + 0.5) * factor - 0.5,
            (self.cy + 0.5) * factor - 0.5,
            round(self.width * factor),
            round(self.height * factor),
            self.distortion,
            self.distortion_model,
        )

    def to_dict(self) -> dict:
        return {
            "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
            "width": self.width, "height": self.height,
            "distortion": list(self.distortion), "distortion_model": self.distortion_model,
        }

    @classmethod
    def from_dict(cls, d: dict) -> CameraIntrinsics:
        try:
            return cls(
                float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]),
                int(d["width"]), int(d["height"]),
                tuple(d.get("distortion", ())), d.get("distortion_model", "none"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"invalid intrinsics {d!r}: {exc}") from exc


@dataclass(frozen=True)
class ImuNoise:
    """Continuous-time IMU noise densities (Kalibr/EuRoC convention)."""

    gyro_noise_density: float = 1.6968e-4  # rad/s/sqrt(Hz)
    gyro_random_walk: float = 1.9393e-5  # rad/s^2/sqrt(Hz)
    accel_noise_density: float = 2.0e-3  # m/s^2/sqrt(Hz)
    accel_random_walk: float = 3.0e-3  # m/s^3/sqrt(Hz)


@dataclass(frozen=True)
class Calibration:
    """Everything needed to interpret a session's sensor data geometrically and in time.

    * ``color`` / ``depth``: intrinsics of the colour and depth cameras. When the depth image is
      registered to the colour image, ``depth`` is ``None`` and ``color`` applies to both.
    * ``T_color_depth``: maps depth-camera points into the colour-camera frame.
    * ``T_imu_camera``: maps colour-camera points into the IMU frame (``None`` without IMU).
    * ``depth_scale``: raw depth units per metre of the source (1000 for millimetre PNGs).
    * ``time_offset_ns``: added to IMU timestamps to put them on the camera clock
      (``t_camera = t_imu + time_offset_ns``); readers apply it, consumers see one clock.
    """

    color: CameraIntrinsics | None = None
    depth: CameraIntrinsics | None = None
    T_color_depth: np.ndarray = field(default_factory=lambda: np.eye(4))
    T_imu_camera: np.ndarray | None = None
    depth_scale: float = 1000.0
    time_offset_ns: int = 0
    imu_noise: ImuNoise | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "T_color_depth", as_transform(self.T_color_depth, "T_color_depth"))
        if self.T_imu_camera is not None:
            object.__setattr__(self, "T_imu_camera", as_transform(self.T_imu_camera, "T_imu_camera"))
        if not np.isfinite(self.depth_scale) or self.depth_scale <= 0:
            raise CalibrationError(f"depth_scale must be positive (raw units per metre), got {self.depth_scale}")
        object.__setattr__(self, "time_offset_ns", int(self.time_offset_ns))

    @property
    def depth_registered(self) -> bool:
        """True when depth pixels are aligned with colour pixels."""
        return self.depth is None

    def to_dict(self) -> dict:
        return {
            "color": self.color.to_dict() if self.color else None,
            "depth": self.depth.to_dict() if self.depth else None,
            "T_color_depth": self.T_color_depth.tolist(),
            "T_imu_camera": self.T_imu_camera.tolist() if self.T_imu_camera is not None else None,
            "depth_scale": self.depth_scale,
            "time_offset_ns": self.time_offset_ns,
            "imu_noise": vars(self.imu_noise) if self.imu_noise else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        try:
            return cls(
                color=CameraIntrinsics.from_dict(d["color"]) if d.get("color") else None,
                depth=CameraIntrinsics.from_dict(d["depth"]) if d.get("depth") else None,
                T_color_depth=np.array(d.get("T_color_depth", np.eye(4))),
                T_imu_camera=np.array(d["T_imu_camera"]) if d.get("T_imu_camera") is not None else None,
                depth_scale=float(d.get("depth_scale", 1000.0)),
                time_offset_ns=int(d.get("time_offset_ns", 0)),
                imu_noise=ImuNoise(**d["imu_noise"]) if d.get("imu_noise") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"invalid calibration: {exc}") from exc


@dataclass(frozen=True, eq=False)
class RGBDFrame:
    """One colour + depth capture.

    ``color``: HxWx3 uint8 RGB (``None`` for depth-only sessions); ``depth_m``: HxW float32 metres,
    0 where invalid (``None`` for colour-only sessions). ``intrinsics`` describe the colour image,
    and the depth image too when ``depth_intrinsics`` is ``None`` (registered depth).
    ``timestamp_ns`` is the colour timestamp (the depth one when there is no colour);
    ``depth_timestamp_ns`` is the associated depth image's own timestamp.
    ``color_encoded`` keeps the source's compressed colour bytes (``color_encoding`` is
    ``"jpeg"`` or ``"png"``) so writers can store the original losslessly.
    """

    timestamp_ns: int
    color: np.ndarray | None
    depth_m: np.ndarray | None
    intrinsics: CameraIntrinsics
    depth_intrinsics: CameraIntrinsics | None = None
    depth_timestamp_ns: int | None = None
    index: int = 0
    color_encoded: bytes | None = field(default=None, repr=False)
    color_encoding: str | None = None

    def __repr__(self) -> str:
        c = "x".join(map(str, self.color.shape)) if self.color is not None else "none"
        d = "x".join(map(str, self.depth_m.shape)) if self.depth_m is not None else "none"
        return f"RGBDFrame(index={self.index}, timestamp_ns={self.timestamp_ns}, color={c}, depth={d})"


@dataclass(frozen=True, eq=False)
class ImuSample:
    """One IMU reading in the IMU frame: specific force (m/s², gravity included) and angular rate."""

    timestamp_ns: int
    accel_mps2: np.ndarray
    gyro_radps: np.ndarray

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ImuSample)
            and self.timestamp_ns == other.timestamp_ns
            and np.array_equal(self.accel_mps2, other.accel_mps2)
            and np.array_equal(self.gyro_radps, other.gyro_radps)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class Pose:
    """A rigid pose at a time: ``T_world_body`` maps body points into the world frame."""

    timestamp_ns: int
    T_world_body: np.ndarray

    @property
    def position_m(self) -> np.ndarray:
        return self.T_world_body[:3, 3]


class Trajectory:
    """Time-stamped poses of one body (``"camera"`` or ``"imu"``) in the world frame.

    Stored as struct-of-arrays: ``timestamps_ns`` (N,) int64 strictly increasing and
    ``T_world_body`` (N, 4, 4) float64.
    """

    def __init__(self, timestamps_ns: np.ndarray, T_world_body: np.ndarray, body: str = "camera") -> None:
        ts = np.asarray(timestamps_ns, dtype=np.int64).reshape(-1)
        T = np.asarray(T_world_body, dtype=np.float64).reshape(-1, 4, 4)
        if len(ts) != len(T):
            raise SyncError(f"trajectory has {len(ts)} timestamps but {len(T)} poses")
        if len(ts) > 1 and np.any(np.diff(ts) <= 0):
            i = int(np.argmax(np.diff(ts) <= 0))
            raise SyncError(f"trajectory timestamps are not strictly increasing at pose {i + 1} ({ts[i]} -> {ts[i + 1]} ns)")
        if not np.all(np.isfinite(T)):
            raise CalibrationError("trajectory contains NaN or infinite poses")
        self.timestamps_ns = ts
        self.T_world_body = T
        self.body = body

    def __len__(self) -> int:
        return len(self.timestamps_ns)

    def __getitem__(self, i: int) -> Pose:
        return Pose(int(self.timestamps_ns[i]), self.T_world_body[i])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def positions_m(self) -> np.ndarray:
        return self.T_world_body[:, :3, 3]

    def camera_poses(self, T_imu_camera: np.ndarray | None = None) -> Trajectory | None:
        """These poses as ``T_world_camera``: themselves for a camera trajectory, moved with
        ``T_imu_camera`` for an IMU one; ``None`` when that is not possible (another body, or
        IMU poses without ``T_imu_camera``)."""
        if self.body == "camera":
            return self
        if self.body == "imu" and T_imu_camera is not None:
            return Trajectory(self.timestamps_ns, self.T_world_body @ T_imu_camera, body="camera")
        return None

    def index_of(self, timestamp_ns: int, max_gap_ns: int = 0) -> int | None:
        """Index of the pose nearest to ``timestamp_ns`` if within ``max_gap_ns``, else ``None``."""
        if len(self) == 0:
            return None
        j = int(np.searchsorted(self.timestamps_ns, timestamp_ns))
        best = min((k for k in (j - 1, j) if 0 <= k < len(self)), key=lambda k: abs(int(self.timestamps_ns[k]) - timestamp_ns))
        return best if abs(int(self.timestamps_ns[best]) - timestamp_ns) <= max_gap_ns else None

    def interpolate(self, timestamp_ns: int, max_gap_ns: int = 100_000_000) -> np.ndarray | None:
        """Pose at ``timestamp_ns`` (linear translation, slerp rotation) or ``None`` outside the
        trajectory or across a gap longer than ``max_gap_ns``."""
        from scipy.spatial.transform import Rotation, Slerp

        ts = self.timestamps_ns
        if len(ts) == 0 or timestamp_ns < ts[0] or timestamp_ns > ts[-1]:
            return None
        j = int(np.searchsorted(ts, timestamp_ns))
        if ts[j] == timestamp_ns:
            return self.T_world_body[j].copy()
        t0, t1 = int(ts[j - 1]), int(ts[j])
        if t1 - t0 > max_gap_ns:
            return None
        a = (timestamp_ns - t0) / (t1 - t0)
        T0, T1 = self.T_world_body[j - 1], self.T_world_body[j]
        rots = Rotation.from_matrix(np.stack([orthonormalize(T0)[:3, :3], orthonormalize(T1)[:3, :3]]))
        T = np.eye(4)
        T[:3, :3] = Slerp([0.0, 1.0], rots)([a]).as_matrix()[0]
        T[:3, 3] = (1 - a) * T0[:3, 3] + a * T1[:3, 3]
        return T


@dataclass(frozen=True)
class GroundTruth:
    """Ground truth that comes with a session: poses and, for synthetic sessions, files with the
    scene mesh (PLY, world frame, metres), the room description (:mod:`sensors.room` JSON) and the
    IMU truth (``.npz`` of per-sample true time, ``T_world_imu``, world velocity and biases)."""

    poses: Trajectory | None = None
    mesh_path: Path | None = None
    room_path: Path | None = None
    imu_path: Path | None = None
