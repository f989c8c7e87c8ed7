"""IMU processing: gtsam preintegration, inertial initialisation, camera–IMU time offset.

Conventions: the IMU measures specific force ``a = R_world_imuᵀ (acc_world − g)`` plus bias and
angular rate ``ω`` in its own frame; the world is z-up with ``g = (0, 0, −9.81)`` m/s².
Timestamps are int ns on the camera clock (``Calibration.time_offset_ns`` already applied).

* :func:`preintegration_params` / :func:`preintegrate`: gtsam ``PreintegratedCombinedMeasurements``
  between two times, refusing windows the IMU does not cover or where it has gaps;
* :func:`preintegrate_np`: the same deltas in numpy with their bias Jacobians (Forster et al.,
  TRO 2017), used by the closed-form initialisation;
* :func:`initialize`: gyro bias (rotation alignment), then gravity, velocities and accelerometer
  bias (linear least squares with gravity magnitude enforced), from camera poses of a few seconds;
* :func:`estimate_time_offset`: the camera–IMU clock offset that best aligns the gyro with the
  camera's rotation rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensors.errors import SyncError
from sensors.sync import ImuSeries
from sensors.types import ImuNoise

from .geometry import skew, so3_exp, so3_log

GRAVITY_MPS2 = 9.81


def preintegration_params(noise: ImuNoise | None = None, gravity_mps2: float = GRAVITY_MPS2):
    """gtsam combined-IMU parameters for a z-up world from continuous-time noise densities
    (EuRoC's when ``noise`` is ``None``)."""
    import gtsam

    n = noise or ImuNoise()
    p = gtsam.PreintegrationCombinedParams.MakeSharedU(gravity_mps2)
    I3 = np.eye(3)
    p.setGyroscopeCovariance(n.gyro_noise_density**2 * I3)
    p.setAccelerometerCovariance(n.accel_noise_density**2 * I3)
    p.setIntegrationCovariance(1e-8 * I3)
    p.setBiasOmegaCovariance(n.gyro_random_walk**2 * I3)
    p.setBiasAccCovariance(n.accel_random_walk**2 * I3)
    return p


def imu_gaps(imu: ImuSeries, max_gap_ns: int) -> list[tuple[int, int]]:
    """(start, end) ns of every interval between consecutive IMU samples longer than ``max_gap_ns``."""
    d = np.diff(imu.timestamps_ns)
    return [(int(imu.timestamps_ns[i]), int(imu.timestamps_ns[i + 1])) for i in np.flatnonzero(d > max_gap_ns)]


def _window(imu: ImuSeries, t0_ns: int, t1_ns: int, max_gap_ns: int) -> ImuSeries:
    if len(imu) == 0 or t0_ns < imu.timestamps_ns[0] or t1_ns > imu.timestamps_ns[-1]:
        raise SyncError(f"IMU does not cover {t0_ns}–{t1_ns} ns" + (
            f" (it spans {imu.timestamps_ns[0]}–{imu.timestamps_ns[-1]} ns)" if len(imu) else " (no IMU samples)"))
    sl = imu.between(t0_ns, t1_ns)
    if len(sl) > 1:
        d = np.diff(sl.timestamps_ns)
        if d.max() > max_gap_ns:
            i = int(np.argmax(d))
            raise SyncError(f"IMU gap of {d[i] / 1e6:.1f} ms at {sl.timestamps_ns[i]} ns (more than {max_gap_ns / 1e6:g} ms)")
    return sl


def preintegrate(imu: ImuSeries, t0_ns: int, t1_ns: int, params, bias=None, max_gap_ns: int = 50_000_000):
    """gtsam ``PreintegratedCombinedMeasurements`` of the readings in ``[t0_ns, t1_ns]`` (ends
    interpolated; each interval uses the mean of its two readings). Raises :class:`SyncError`
    when the IMU does not cover the window or has a gap longer than ``max_gap_ns`` inside it."""
    import gtsam

    sl = _window(imu, t0_ns, t1_ns, max_gap_ns)
    pim = gtsam.PreintegratedCombinedMeasurements(params, bias if bias is not None else gtsam.imuBias.ConstantBias())
    t, a, g = sl.timestamps_ns, sl.accel_mps2, sl.gyro_radps
    dt = np.diff(t) * 1e-9
    am, gm = 0.5 * (a[1:] + a[:-1]), 0.5 * (g[1:] + g[:-1])
    for k in range(len(dt)):
        if dt[k] > 0:
            pim.integrateMeasurement(am[k], gm[k], float(dt[k]))
    return pim


@dataclass
class Preintegrated:
    """IMU deltas between two times in the first IMU frame, at the linearisation biases, with
    first-order bias Jacobians (``J_<delta>_<bias>``)."""

    dt: float
    dR: np.ndarray
    dv: np.ndarray
    dp: np.ndarray
    J_R_bg: np.ndarray
    J_v_bg: np.ndarray
    J_v_ba: np.ndarray
    J_p_bg: np.ndarray
    J_p_ba: np.ndarray
    bg: np.ndarray
    ba: np.ndarray

    def rotation(self, bg: np.ndarray) -> np.ndarray:
        return self.dR @ so3_exp(self.J_R_bg @ (bg - self.bg))

    def velocity(self, bg: np.ndarray, ba: np.ndarray) -> np.ndarray:
        return self.dv + self.J_v_bg @ (bg - self.bg) + self.J_v_ba @ (ba - self.ba)

    def position(self, bg: np.ndarray, ba: np.ndarray) -> np.ndarray:
        return self.dp + self.J_p_bg @ (bg - self.bg) + self.J_p_ba @ (ba - self.ba)


def _right_jacobian(phi: np.ndarray) -> np.ndarray:
    th = float(np.linalg.norm(phi))
    K = skew(phi)
    if th < 1e-8:
        return np.eye(3) - 0.5 * K
    return np.eye(3) - (1 - np.cos(th)) / th**2 * K + (th - np.sin(th)) / th**3 * K @ K


def preintegrate_np(imu: ImuSeries, t0_ns: int, t1_ns: int, bg=None, ba=None, max_gap_ns: int = 50_000_000) -> Preintegrated:
    """Numpy preintegration of ``[t0_ns, t1_ns]`` (same sampling as :func:`preintegrate`)."""
    bg = np.zeros(3) if bg is None else np.asarray(bg, float)
    ba = np.zeros(3) if ba is None else np.asarray(ba, float)
    sl = _window(imu, t0_ns, t1_ns, max_gap_ns)
    t, a, g = sl.timestamps_ns, sl.accel_mps2, sl.gyro_radps
    dts = np.diff(t) * 1e-9
    am, gm = 0.5 * (a[1:] + a[:-1]) - ba, 0.5 * (g[1:] + g[:-1]) - bg
    dR, dv, dp = np.eye(3), np.zeros(3), np.zeros(3)
    JRg, Jvg, Jva, Jpg, Jpa = (np.zeros((3, 3)) for _ in range(5))
    for k, dt in enumerate(dts):
        acc, w = am[k], gm[k]
        dRa = dR @ skew(acc)
        Jpa = Jpa + Jva * dt - 0.5 * dR * dt * dt
        Jpg = Jpg + Jvg * dt - 0.5 * dRa @ JRg * dt * dt
        Jva = Jva - dR * dt
        Jvg = Jvg - dRa @ JRg * dt
        dp = dp + dv * dt + 0.5 * dR @ acc * dt * dt
        dv = dv + dR @ acc * dt
        dRk = so3_exp(w * dt)
        JRg = dRk.T @ JRg - _right_jacobian(w * dt) * dt
        dR = dR @ dRk
    return Preintegrated(float(dts.sum()), dR, dv, dp, JRg, Jvg, Jva, Jpg, Jpa, bg, ba)


@dataclass
class InertialInit:
    """Result of :func:`initialize`.

    ``R_world_ref`` rotates the reference (odometry) frame so that gravity is −z;
    ``gravity_ref`` is gravity in the reference frame (m/s²); ``velocities_world`` (N, 3) the IMU
    velocity at each pose; ``gyro_bias`` (rad/s) and ``accel_bias`` (m/s²) in the IMU frame;
    ``residual_rms`` the fit's RMS position/velocity residual (metres, m/s)."""

    R_world_ref: np.ndarray
    gravity_ref: np.ndarray
    velocities_world: np.ndarray
    gyro_bias: np.ndarray
    accel_bias: np.ndarray
    residual_rms: tuple[float, float]
    raw_gravity_norm: float
    stats: dict = field(default_factory=dict)


def rotation_aligning(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``a`` to direction ``b``."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v = np.cross(a, b)
    s, c = np.linalg.norm(v), float(a @ b)
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        axis = np.cross(a, [1.0, 0, 0] if abs(a[0]) < 0.9 else [0, 1.0, 0])
        return so3_exp(np.pi * axis / np.linalg.norm(axis))
    return so3_exp(v / s * np.arctan2(s, c))


def estimate_gyro_bias(R_ref_imu: np.ndarray, pre: list[Preintegrated]) -> np.ndarray:
    """Gyro bias making the preintegrated rotations agree with the pose rotations (least squares)."""
    bg = pre[0].bg.copy()
    for _ in range(3):
        A, rhs = np.zeros((3, 3)), np.zeros(3)
        for k, p in enumerate(pre):
            meas = R_ref_imu[k].T @ R_ref_imu[k + 1]
            e = so3_log(p.rotation(bg).T @ meas)
            A += p.J_R_bg.T @ p.J_R_bg
            rhs += p.J_R_bg.T @ e
        bg = bg + np.linalg.solve(A + 1e-9 * np.eye(3), rhs)
    return bg


def _tangent_basis(g: np.ndarray) -> np.ndarray:
    g = g / np.linalg.norm(g)
    a = np.array([1.0, 0, 0]) if abs(g[0]) < 0.9 else np.array([0, 1.0, 0])
    b1 = np.cross(g, a)
    b1 /= np.linalg.norm(b1)
    return np.stack([b1, np.cross(g, b1)], 1)


def initialize(
    T_ref_imu: np.ndarray,
    timestamps_ns: np.ndarray,
    imu: ImuSeries,
    sigma_p_m: float = 0.005,
    sigma_v_mps: float = 0.02,
    accel_bias_prior_mps2: float = 0.2,
    max_gap_ns: int = 50_000_000,
) -> InertialInit:
    """Gravity, velocities and IMU biases from IMU poses ``T_ref_imu`` (N, 4, 4) in an arbitrary,
    metric reference frame (RGB-D odometry: no scale) at ``timestamps_ns``.

    Poses should be ~0.1–0.3 s apart over a few seconds of varied motion. Steps: gyro bias by
    rotation alignment; gravity and velocities by linear least squares; then gravity direction
    (magnitude fixed to 9.81), velocities and accelerometer bias (prior ``accel_bias_prior_mps2``)
    refined by Gauss-Newton. Raises :class:`SyncError` if the IMU does not cover the poses."""
    ts = np.asarray(timestamps_ns, np.int64)
    N = len(ts)
    if N < 4:
        raise SyncError(f"inertial initialisation needs at least 4 poses, got {N}")
    R = T_ref_imu[:, :3, :3]
    P = T_ref_imu[:, :3, 3]
    pre = [preintegrate_np(imu, int(ts[k]), int(ts[k + 1]), max_gap_ns=max_gap_ns) for k in range(N - 1)]
    bg = estimate_gyro_bias(R, pre)
    pre = [preintegrate_np(imu, int(ts[k]), int(ts[k + 1]), bg, max_gap_ns=max_gap_ns) for k in range(N - 1)]
    ba = np.zeros(3)

    def system(gravity_mode: str, g0: np.ndarray, B: np.ndarray):
        ng = 3 if gravity_mode == "free" else 2
        nb = 0 if gravity_mode == "free" else 3
        nx = 3 * N + ng + nb
        rows, rhs = [], []
        for k, p in enumerate(pre):
            dt = p.dt
            Rk = R[k]
            # position: p_{k+1} - p_k - R_k dp = v_k dt + ½ g dt² + R_k J_p_ba δba
            A = np.zeros((3, nx))
            A[:, 3 * k:3 * k + 3] = dt * np.eye(3) / sigma_p_m
            b = P[k + 1] - P[k] - Rk @ p.position(bg, ba)
            if gravity_mode == "free":
                A[:, 3 * N:3 * N + 3] = 0.5 * dt * dt * np.eye(3) / sigma_p_m
            else:
                A[:, 3 * N:3 * N + 2] = 0.5 * dt * dt * B / sigma_p_m
                b = b - 0.5 * dt * dt * g0
                A[:, 3 * N + 2:] = Rk @ p.J_p_ba / sigma_p_m
            rows.append(A)
            rhs.append(b / sigma_p_m)
            # velocity: v_{k+1} - v_k - g dt = R_k (dv + J_v_ba ba)
            A = np.zeros((3, nx))
            A[:, 3 * (k + 1):3 * (k + 1) + 3] = np.eye(3) / sigma_v_mps
            A[:, 3 * k:3 * k + 3] = -np.eye(3) / sigma_v_mps
            b = Rk @ p.velocity(bg, ba)
            if gravity_mode == "free":
                A[:, 3 * N:3 * N + 3] = -dt * np.eye(3) / sigma_v_mps
            else:
                A[:, 3 * N:3 * N + 2] = -dt * B / sigma_v_mps
                b = b + dt * g0
                A[:, 3 * N + 2:] = -Rk @ p.J_v_ba / sigma_v_mps
            rows.append(A)
            rhs.append(b / sigma_v_mps)
        if nb:
            A = np.zeros((3, nx))
            A[:, 3 * N + 2:] = np.eye(3) / accel_bias_prior_mps2
            rows.append(A)
            rhs.append(-ba / accel_bias_prior_mps2)
        A, b = np.vstack(rows), np.concatenate(rhs)
        x = np.linalg.lstsq(A, b, rcond=None)[0]
        return x, A, b

    x, _, _ = system("free", np.zeros(3), np.zeros((3, 2)))
    g = x[3 * N:3 * N + 3]
    raw_norm = float(np.linalg.norm(g))
    if not 0.5 * GRAVITY_MPS2 < raw_norm < 1.5 * GRAVITY_MPS2:
        raise SyncError(f"inertial initialisation failed: gravity estimate {raw_norm:.2f} m/s² is implausible "
                        "(too little motion, wrong IMU calibration or clock offset)")
    g = g / raw_norm * GRAVITY_MPS2
    v = x[:3 * N].reshape(N, 3)
    for _ in range(3):
        B = _tangent_basis(g) * GRAVITY_MPS2
        x, A, b = system("refine", g, B)
        dth = x[3 * N:3 * N + 2]
        g = g + B @ dth
        g = g / np.linalg.norm(g) * GRAVITY_MPS2
        ba = ba + x[3 * N + 2:]
        pre = [_relinearise(p, bg, ba) for p in pre]
        v = x[:3 * N].reshape(N, 3)
    res = A @ x - b
    m = len(pre)
    rp = res[: 6 * m].reshape(m, 2, 3)
    R_wr = rotation_aligning(g, np.array([0.0, 0.0, -1.0]))
    return InertialInit(R_wr, g, v @ R_wr.T, bg, ba,
                        (float(np.sqrt(np.mean(rp[:, 0] ** 2)) * sigma_p_m), float(np.sqrt(np.mean(rp[:, 1] ** 2)) * sigma_v_mps)),
                        raw_norm)


def _relinearise(p: Preintegrated, bg: np.ndarray, ba: np.ndarray) -> Preintegrated:
    return Preintegrated(p.dt, p.rotation(bg), p.velocity(bg, ba), p.position(bg, ba), p.J_R_bg, p.J_v_bg, p.J_v_ba,
                         p.J_p_bg, p.J_p_ba, bg.copy(), ba.copy())


def estimate_time_offset(
    timestamps_ns: np.ndarray,
    R_ref_cam: np.ndarray,
    imu: ImuSeries,
    R_imu_cam: np.ndarray,
    max_offset_ns: int = 200_000_000,
    step_ns: int = 1_000_000,
) -> tuple[int, float]:
    """``(offset_ns, quality)``: the offset to add to IMU stamps to put them on the camera clock
    (``Calibration.time_offset_ns`` convention), found by aligning the gyro with the camera's
    rotation rate (from consecutive poses ``R_ref_cam``) over ``±max_offset_ns``.

    A constant gyro bias is removed for each candidate. ``quality`` is the fraction of the
    rotation-rate variance the best offset explains (near 1: a clear estimate; near 0: too
    little rotation to tell)."""
    ts = np.asarray(timestamps_ns, np.int64)
    if len(ts) < 10:
        raise SyncError(f"time-offset estimation needs at least 10 poses, got {len(ts)}")
    dt = np.diff(ts) * 1e-9
    w_cam = np.stack([so3_log(R_ref_cam[k].T @ R_ref_cam[k + 1]) for k in range(len(ts) - 1)]) / dt[:, None]
    w_imu_expected = w_cam @ R_imu_cam.T
    offsets = np.arange(-max_offset_ns, max_offset_ns + 1, step_ns)
    it = imu.timestamps_ns
    # mean gyro over each frame interval (what the pose difference measures), via a cumulative sum
    cum = np.concatenate([np.zeros((1, 3)), np.cumsum(0.5 * (imu.gyro_radps[1:] + imu.gyro_radps[:-1]) * np.diff(it)[:, None] * 1e-9, 0)])
    costs = np.full(len(offsets), np.inf)
    lo, hi = ts[:-1], ts[1:]
    for i, off in enumerate(offsets):
        a, b = lo - off, hi - off
        ok = (a >= it[0]) & (b <= it[-1])
        if ok.sum() < 0.5 * len(a):
            continue
        ang = np.stack([np.interp(b[ok], it, cum[:, j]) - np.interp(a[ok], it, cum[:, j]) for j in range(3)], 1)
        mean_w = ang / dt[ok, None]
        d = mean_w - w_imu_expected[ok]
        d -= d.mean(0)  # constant gyro bias
        costs[i] = float(np.mean(np.sum(d * d, 1)))
    if not np.isfinite(costs).any():
        raise SyncError("the IMU does not overlap the frames within the offset search range")
    i = int(np.argmin(costs))
    off = float(offsets[i])
    if 0 < i < len(offsets) - 1 and np.isfinite(costs[i - 1]) and np.isfinite(costs[i + 1]):
        c0, c1, c2 = costs[i - 1], costs[i], costs[i + 1]
        den = c0 - 2 * c1 + c2
        if den > 0:
            off += 0.5 * (c0 - c2) / den * step_ns
    var = float(np.mean(np.sum((w_imu_expected - w_imu_expected.mean(0)) ** 2, 1)))
    quality = 1.0 - costs[i] / var if var > 0 else 0.0
    return round(off), float(max(quality, 0.0))
