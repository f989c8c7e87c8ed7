"""IMU readings synthesised from a :class:`~sensors.sim.trajectory.ScanTrajectory`.

Measurement model (Kalibr/EuRoC convention, per axis, discrete time with period Δt):

* ``gyro = ω_imu + b_g + n_g``,  ``accel = R_world_imuᵀ (a_world − g) + b_a + n_a``
  with g = (0, 0, −9.81) m/s²;
* white noise ``n ~ N(0, σ²/Δt)`` for continuous densities σ (``*_noise_density``);
* biases start at zero and random-walk: ``b_{k+1} = b_k + σ_b √Δt · N(0, 1)``
  (``*_random_walk``).

Timestamps: sample ``k`` is *taken* at the true time ``t_k = round(k · 1e9 / rate_hz)`` ns on the
session (camera/trajectory) clock, where trajectory time ``t = t_k · 1e-9`` s. It is *stamped*
``t_k + clock_offset_ns + jitter_k`` with ``jitter_k ~ N(0, jitter_ns)`` clipped to ±0.45 of the
period (so stamps stay increasing). A consumer recovers session time with
``Calibration.time_offset_ns = −clock_offset_ns``. Each sample is dropped independently with
probability ``drop_rate``; the returned :class:`ImuTruth` describes the kept samples only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..sync import ImuSeries
from ..types import ImuNoise
from .trajectory import DEFAULT_T_IMU_CAMERA, ScanTrajectory, _sample_times_ns


@dataclass(frozen=True, eq=False)
class ImuTruth:
    """What the IMU really experienced at each kept sample (arrays aligned with the series)."""

    true_time_ns: np.ndarray  # (N,) int64, session clock, when each sample was taken
    gyro_radps: np.ndarray  # (N, 3) noise- and bias-free angular rate, IMU frame
    accel_mps2: np.ndarray  # (N, 3) noise- and bias-free specific force, IMU frame
    gyro_bias_radps: np.ndarray  # (N, 3)
    accel_bias_mps2: np.ndarray  # (N, 3)


def synthesize_imu(
    traj: ScanTrajectory,
    T_imu_camera: np.ndarray = DEFAULT_T_IMU_CAMERA,
    rate_hz: float = 200.0,
    noise: ImuNoise | None = ImuNoise(),
    rng: np.random.Generator | None = None,
    clock_offset_ns: int = 0,
    jitter_ns: float = 0.0,
    drop_rate: float = 0.0,
) -> tuple[ImuSeries, ImuTruth]:
    """IMU samples over the whole trajectory and the truth behind them (see the module doc for
    the noise and timestamp model). ``noise=None`` gives exact readings; ``rng`` is required
    whenever noise, jitter or drops are asked for."""
    if not np.isfinite(rate_hz) or rate_hz <= 0:
        raise ConfigError(f"IMU rate must be positive, got {rate_hz} Hz")
    if not 0.0 <= drop_rate < 1.0:
        raise ConfigError(f"IMU drop_rate must be in [0, 1), got {drop_rate}")
    if not np.isfinite(jitter_ns) or jitter_ns < 0:
        raise ConfigError(f"IMU jitter_ns must be ≥ 0, got {jitter_ns}")
    if rng is None and (noise is not None or jitter_ns > 0 or drop_rate > 0):
        raise ConfigError("synthesize_imu needs an rng for noise, jitter or drops")
    t_ns = _sample_times_ns(traj.duration_s, rate_hz)
    gyro, accel, _ = traj.imu_motion(t_ns * 1e-9, T_imu_camera)
    n, dt = len(t_ns), 1.0 / rate_hz
    bg, ba = np.zeros((n, 3)), np.zeros((n, 3))
    g_meas, a_meas = gyro.copy(), accel.copy()
    if noise is not None:
        for name, v in vars(noise).items():
            if not np.isfinite(v) or v < 0:
                raise ConfigError(f"IMU noise {name} must be ≥ 0, got {v}")
        steps = rng.standard_normal((4, n, 3))
        bg[1:] = np.cumsum(steps[0, :-1], axis=0) * noise.gyro_random_walk * np.sqrt(dt)
        ba[1:] = np.cumsum(steps[1, :-1], axis=0) * noise.accel_random_walk * np.sqrt(dt)
        g_meas += bg + steps[2] * noise.gyro_noise_density / np.sqrt(dt)
        a_meas += ba + steps[3] * noise.accel_noise_density / np.sqrt(dt)
    stamps = t_ns + int(clock_offset_ns)
    if jitter_ns > 0:
        lim = 0.45 * 1e9 / rate_hz
        stamps = stamps + np.rint(np.clip(rng.normal(0.0, jitter_ns, n), -lim, lim)).astype(np.int64)
    keep = rng.random(n) >= drop_rate if drop_rate > 0 else np.ones(n, bool)
    series = ImuSeries(stamps[keep], a_meas[keep], g_meas[keep])
    return series, ImuTruth(t_ns[keep], gyro[keep], accel[keep], bg[keep], ba[keep])
