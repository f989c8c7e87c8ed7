"""Sensor models of the simulated RGB-D camera: what turns ideal renderings into realistic images.

Depth (structured-light-like, e.g. Kinect v1 / RealSense class):

* axial noise ``σ(z, θ) = 0.0012 + 0.0019 (z − 0.4)² + 0.0001 / √z · θ² / (π/2 − θ)²`` metres for
  depth ``z`` (m) and incidence angle ``θ`` (rad) — the Kinect model of C. V. Nguyen, S. Izadi,
  D. Lovell, "Modeling Kinect Sensor Noise for Improved 3D Reconstruction and Tracking", 3DIMPVT
  2012 (eq. for σ_z), fitted there on 0.5–3 m and extrapolated beyond;
* disparity quantisation: a structured-light sensor measures disparity ``d = f·b / z`` in steps of
  ``disparity_step_px`` (1/8 px for Kinect v1, baseline ``baseline_m`` 7.5 cm), so depth comes in
  steps of ``z²·step / (f·b)`` (≈ 2.9 mm at 1 m, 1.2 cm at 2 m with f = 525 px; Khoshelham & Elberink,
  "Accuracy and Resolution of Kinect Depth Data", Sensors 2012); ``disparity_step_px = 0`` turns
  it off. Then quantisation to 1 mm: the depth is stored as uint16 millimetres and read back with
  :func:`sensors.formats._io.depth_to_metres`, exactly as a recorded session would be;
* holes (0) outside ``[min_depth_m, max_depth_m]``, at incidence beyond ``max_incidence_deg``, and
  on the far side of depth discontinuities (the projector's shadow), one pixel wide.

Colour: linear radiance × a slowly drifting exposure gain (sum of three slow sinusoids,
≤ ``exposure_drift`` relative, seeded), scaled to 8-bit units, plus Gaussian read noise and
signal-dependent shot noise (variance ``read_noise_dn² + shot_noise_gain · signal``), then a
gamma-2 tone curve and clipping to uint8.

Randomness comes from a :class:`NoiseBank` of standard normals drawn once per seed; each frame takes
contiguous slices at offsets drawn from the caller's generator, which keeps frames reproducible and
costs no random-number generation per pixel (per-pixel draws would eat a third of the frame budget).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from ..errors import ConfigError
from ..formats._io import depth_to_metres


@dataclass(frozen=True)
class SensorModel:
    """Parameters of the simulated RGB-D sensor (see the module doc for the models)."""

    min_depth_m: float = 0.3
    max_depth_m: float = 6.0
    max_incidence_deg: float = 75.0
    edge_jump: float = 0.04  # relative depth jump between neighbours that counts as a discontinuity
    depth_noise: bool = True
    read_noise_dn: float = 1.5  # 8-bit units
    shot_noise_gain: float = 0.05  # variance per unit of signal, 8-bit units
    exposure_drift: float = 0.1  # maximum relative exposure change
    disparity_step_px: float = 0.125  # structured-light disparity resolution (0: none)
    baseline_m: float = 0.075  # projector–camera baseline

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, bool) and (not np.isfinite(v) or v < 0):
                raise ConfigError(f"sensor model {f.name} must be a finite non-negative number, got {v}")
        if self.min_depth_m >= self.max_depth_m:
            raise ConfigError(f"sensor depth range is empty: {self.min_depth_m} m ≥ {self.max_depth_m} m")
        if not 0 < self.max_incidence_deg <= 90:
            raise ConfigError(f"max_incidence_deg must be in (0, 90], got {self.max_incidence_deg}")
        if self.exposure_drift >= 1:
            raise ConfigError(f"exposure_drift must be below 1, got {self.exposure_drift}")


def depth_sigma_m(z_m: np.ndarray, incidence_rad: np.ndarray) -> np.ndarray:
    """Axial depth noise standard deviation (m) of Nguyen et al. 2012 at depth ``z_m`` and incidence."""
    z = np.maximum(z_m, np.float32(1e-3))
    th = np.minimum(incidence_rad, np.float32(np.pi / 2 - 1e-3))
    return 0.0012 + 0.0019 * (z - 0.4) ** 2 + 0.0001 / np.sqrt(z) * th**2 / (np.pi / 2 - th) ** 2


class NoiseBank:
    """A fixed pool of standard-normal float32 samples; :meth:`take` returns a random slice."""

    def __init__(self, seed: int, size: int = 1 << 22) -> None:
        self._pool = np.random.default_rng([seed, 0x5E]).standard_normal(size, dtype=np.float32)
        self._pool.flags.writeable = False

    def take(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if n > len(self._pool) // 2:
            raise ConfigError(f"noise bank too small for {n} samples per draw")
        off = int(rng.integers(0, len(self._pool) - n))
        return self._pool[off: off + n]


def exposure_gain(t_s: float, seed: int, drift: float) -> float:
    """Slowly varying exposure multiplier at time ``t_s``: 1 ± ``drift`` (periods 7–30 s)."""
    freq, phase = _exposure_waves(seed)
    return float(1.0 + drift * np.dot([0.5, 0.3, 0.2], np.sin(2 * np.pi * freq * t_s + phase)))


@lru_cache(maxsize=16)
def _exposure_waves(seed: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng([seed, 0xE7]).random((3, 2))
    return 1 / (7 + 23 * r[:, 0]), 2 * np.pi * r[:, 1]


def noisy_depth(
    z_ideal: np.ndarray,
    cos_incidence: np.ndarray,
    model: SensorModel,
    normals: np.ndarray | None,
    focal_px: float | None = None,
) -> np.ndarray:
    """Sensor depth (H, W) float32 metres, 0 = invalid, from the ideal z-depth (0 = no surface),
    the cosine of the incidence angle (H, W) and standard normals (H·W,) (``None``: no noise).
    ``focal_px`` enables disparity quantisation (see the module doc)."""
    z = z_ideal
    valid = (z >= model.min_depth_m) & (z <= model.max_depth_m)
    valid &= cos_incidence >= np.float32(np.cos(np.radians(model.max_incidence_deg)))
    zf = z.copy()
    zf[z <= 0] = np.inf
    k = np.float32(model.edge_jump)
    with np.errstate(invalid="ignore"):
        for a, b in ((zf[:, :-1], zf[:, 1:]), (zf[:-1, :], zf[1:, :])):
            jump = np.abs(a - b) > k * np.minimum(a, b)
            far_a, far_b = jump & (a > b), jump & (b > a)
            if a.shape[0] == z.shape[0]:
                valid[:, :-1] &= ~far_a
                valid[:, 1:] &= ~far_b
            else:
                valid[:-1, :] &= ~far_a
                valid[1:, :] &= ~far_b
    if normals is not None and model.depth_noise:
        theta = np.arccos(np.clip(cos_incidence, 0.0, 1.0))
        z = z + depth_sigma_m(z, theta).astype(np.float32) * normals.reshape(z.shape)
    if focal_px and model.disparity_step_px > 0:
        fb = np.float32(focal_px * model.baseline_m / model.disparity_step_px)  # depth·disparity in steps
        with np.errstate(divide="ignore"):
            z = fb / np.maximum(np.rint(fb / np.maximum(z, np.float32(1e-3))), np.float32(1.0))
    raw = (np.rint(z * np.float32(1000.0)) * valid).astype(np.uint16)
    return depth_to_metres(raw, 1000.0, invalid=(0,))


def noisy_color(radiance: np.ndarray, gain: float, model: SensorModel, normals: np.ndarray | None) -> np.ndarray:
    """8-bit colour from linear radiance (float32, any shape; 1.0 = full scale before ``gain``) and
    standard normals of the same size (``None``: no noise)."""
    v = radiance * np.float32(255.0 * gain)
    if normals is not None:
        sigma = np.sqrt(np.float32(model.read_noise_dn**2) + np.float32(model.shot_noise_gain) * np.maximum(v, 0))
        v += sigma * normals.reshape(v.shape)
    np.clip(v, 0.0, 255.0, out=v)
    return np.rint(np.sqrt(v * np.float32(255.0))).astype(np.uint8)
