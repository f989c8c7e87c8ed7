"""Visual-inertial fusion: a gtsam fixed-lag smoother over IMU states at frame times.

State ``k`` (one per camera frame): IMU pose ``X_k = T_world_imu`` (z-up, gravity-aligned world),
world velocity ``V_k`` and IMU biases ``B_k``. Factors: ``CombinedImuFactor`` between consecutive
states (preintegrated readings, bias random walk) and, when vision tracked the frame, a pose prior
from frame-to-model odometry whose information comes from the ICP normal equations — so a
degenerate view (a bare wall constrains only 3 of 6 directions) adds information only where it
has some, and the IMU carries the rest. The smoother keeps ``lag_s`` seconds of states
(iSAM2 underneath); older ones are marginalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.sync import ImuSeries

from .geometry import adjoint, inv
from .imu import preintegrate


def _keys(k: int) -> tuple[int, int, int]:
    import gtsam

    return gtsam.symbol("x", k), gtsam.symbol("v", k), gtsam.symbol("b", k)


@dataclass(frozen=True)
class VioState:
    """The smoother's estimate at one frame: ``T_world_camera``, world velocity (m/s) and the
    gyro (rad/s) and accelerometer (m/s²) biases."""

    T_world_camera: np.ndarray
    velocity_mps: np.ndarray
    gyro_bias: np.ndarray
    accel_bias: np.ndarray


class VioSmoother:
    """Fixed-lag visual-inertial smoother (see the module doc).

    ``params``: gtsam preintegration parameters (:func:`~spatial.fusion.imu.preintegration_params`);
    ``T_imu_camera``: camera → IMU extrinsics; ``lag_s``: smoothing window."""

    def __init__(self, params, T_imu_camera: np.ndarray, lag_s: float = 1.5, max_gap_ns: int = 50_000_000) -> None:
        import gtsam

        self.params = params
        self.T_imu_camera = np.asarray(T_imu_camera, float)
        self.T_camera_imu = inv(self.T_imu_camera)
        self.max_gap_ns = max_gap_ns
        p = gtsam.ISAM2Params()
        p.setRelinearizeThreshold(0.01)
        p.relinearizeSkip = 1
        self._smoother = gtsam.IncrementalFixedLagSmoother(lag_s, p)
        self._k = -1
        self._t_ns = 0
        self._state: VioState | None = None
        self._nav = None
        self._bias = None
        self.estimates: dict[int, np.ndarray] = {}  # frame index -> latest T_world_camera

    @property
    def started(self) -> bool:
        return self._k >= 0

    @property
    def state(self) -> VioState | None:
        return self._state

    def start(self, frame: int, t_ns: int, T_world_camera: np.ndarray, velocity_mps: np.ndarray,
              gyro_bias: np.ndarray, accel_bias: np.ndarray, sigma_rot_rad: float = 0.01, sigma_pos_m: float = 0.01,
              sigma_vel_mps: float = 0.05, sigma_gyro_bias: float = 0.005, sigma_accel_bias: float = 0.1) -> None:
        """Anchor the first state (frame index ``frame`` at ``t_ns``)."""
        import gtsam

        X, V, B = _keys(frame)
        T_wi = np.asarray(T_world_camera) @ self.T_camera_imu
        bias = gtsam.imuBias.ConstantBias(np.asarray(accel_bias, float), np.asarray(gyro_bias, float))
        g = gtsam.NonlinearFactorGraph()
        g.add(gtsam.PriorFactorPose3(X, gtsam.Pose3(T_wi), gtsam.noiseModel.Diagonal.Sigmas(
            np.array([sigma_rot_rad] * 3 + [sigma_pos_m] * 3))))
        g.add(gtsam.PriorFactorVector(V, np.asarray(velocity_mps, float), gtsam.noiseModel.Isotropic.Sigma(3, sigma_vel_mps)))
        g.add(gtsam.PriorFactorConstantBias(B, bias, gtsam.noiseModel.Diagonal.Sigmas(
            np.array([sigma_accel_bias] * 3 + [sigma_gyro_bias] * 3))))
        vals = gtsam.Values()
        vals.insert(X, gtsam.Pose3(T_wi))
        vals.insert(V, np.asarray(velocity_mps, float))
        vals.insert(B, bias)
        self._smoother.update(g, vals, {X: t_ns * 1e-9, V: t_ns * 1e-9, B: t_ns * 1e-9})
        self._k, self._t_ns = frame, t_ns
        self._read(frame)

    def predict(self, t_ns: int, imu: ImuSeries) -> np.ndarray:
        """``T_world_camera`` at ``t_ns`` propagated from the latest state with the IMU (no update).
        Raises :class:`~sensors.errors.SyncError` when the IMU does not cover the interval."""
        pim = preintegrate(imu, self._t_ns, t_ns, self.params, self._bias, self.max_gap_ns)
        nav = pim.predict(self._nav, self._bias)
        return nav.pose().matrix() @ self.T_imu_camera

    def update(self, frame: int, t_ns: int, imu: ImuSeries, T_world_camera: np.ndarray | None = None,
               information: np.ndarray | None = None) -> VioState:
        """Add frame ``frame`` at ``t_ns``: an IMU factor from the previous state and, when given,
        the visual pose measurement ``T_world_camera`` with its 6x6 ``information`` (left twists
        ``(ω, v)`` on the camera pose, world frame). Returns the updated estimate at this frame.
        Raises :class:`~sensors.errors.SyncError` on IMU gaps (the caller restarts the smoother)."""
        import gtsam

        pim = preintegrate(imu, self._t_ns, t_ns, self.params, self._bias, self.max_gap_ns)
        X0, V0, B0 = _keys(self._k)
        X1, V1, B1 = _keys(frame)
        g = gtsam.NonlinearFactorGraph()
        g.add(gtsam.CombinedImuFactor(X0, V0, X1, V1, B0, B1, pim))
        pred = pim.predict(self._nav, self._bias)
        vals = gtsam.Values()
        vals.insert(X1, pred.pose())
        vals.insert(V1, pred.velocity())
        vals.insert(B1, self._bias)
        if T_world_camera is not None and information is not None:
            T_wi = np.asarray(T_world_camera) @ self.T_camera_imu
            # left twist on the camera pose = left twist on the IMU pose; gtsam's is on the right
            A = adjoint(T_wi)
            info = A.T @ information @ A
            info = 0.5 * (info + info.T) + 1e-9 * np.eye(6)
            g.add(gtsam.PriorFactorPose3(X1, gtsam.Pose3(T_wi), gtsam.noiseModel.Gaussian.Information(info)))
            vals.update(X1, gtsam.Pose3(T_wi))
        t = t_ns * 1e-9
        self._smoother.update(g, vals, {X1: t, V1: t, B1: t})
        self._k, self._t_ns = frame, t_ns
        return self._read(frame)

    def _read(self, frame: int) -> VioState:
        X, V, B = _keys(frame)
        est = self._smoother.calculateEstimate()
        pose = est.atPose3(X)
        vel = est.atVector(V)
        bias = est.atConstantBias(B)
        import gtsam

        self._nav = gtsam.NavState(pose, vel)
        self._bias = bias
        T_wc = pose.matrix() @ self.T_imu_camera
        self._state = VioState(T_wc, np.array(vel), np.array(bias.gyroscope()), np.array(bias.accelerometer()))
        # refresh smoothed poses still in the window
        for k in range(max(frame - 200, 0), frame + 1):
            key = _keys(k)[0]
            if est.exists(key):
                self.estimates[k] = est.atPose3(key).matrix() @ self.T_imu_camera
        return self._state
